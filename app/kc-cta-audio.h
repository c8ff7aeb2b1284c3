/* kc-cta-audio.h: where a call's audio comes from and goes to: the sound
 * device (PortAudio), audio files (headless calls), or nothing. It drives
 * the call's KcMediaStream: every 20 ms it gives the stream a frame to send
 * and writes the frame the stream received, or silence, to the output
 * file; to a device, each received frame goes as soon as it is decoded,
 * from the decoder's thread.
 *
 * The clock is the device's when one is open (capture and playback run off
 * the same 20 ms period), else a main-loop timer that catches up on missed
 * ticks so a file stays in real time. A device that fails mid-call ends
 * audio with a warning; the call and its media go on with silence.
 */
#pragma once

#include "kc-media.h"

G_BEGIN_DECLS

typedef struct _KcCtaAudio KcCtaAudio;

typedef enum {
  KC_CTA_AUDIO_NONE,     /* "none": silence in, received audio discarded */
  KC_CTA_AUDIO_DEVICE,   /* "default", "device:NAME" or "device:INDEX" */
  KC_CTA_AUDIO_FILE,     /* "file:PATH", or any other text: a path */
} KcCtaAudioKind;

/* Parses @spec (NULL is "none"). *@target gets the device name (NULL for
 * the default device) or the path. KC_ERROR_INVALID for an empty device
 * name or path, naming @option ("--audio-in"). */
gboolean     kc_cta_audio_parse_spec   (const char      *spec,
                                        const char      *option,
                                        KcCtaAudioKind  *kind,
                                        char           **target,
                                        GError         **error);

/* Opens both ends and starts the clock; @stream must be running.
 * KC_ERROR_NOT_FOUND / _INVALID for a file, the device's errors
 * (kc-audio-device.h), KC_ERROR_INVALID when input and output name two
 * different devices (one full-duplex device per call). */
KcCtaAudio  *kc_cta_audio_new          (const char      *input,
                                        const char      *output,
                                        KcMediaStream   *stream,
                                        GError         **error);
/* Stops the clock, closes the device and finishes the output file. */
void         kc_cta_audio_free         (KcCtaAudio      *audio);
/* Sends silence instead of the input while @muted. */
void         kc_cta_audio_set_muted    (KcCtaAudio      *audio,
                                        gboolean         muted);
/* On hold (docs/protocol.md, "Hold and resume"): while @paused nothing is
 * sent (no RTP; the stream's RTCP goes on) and what arrives is discarded,
 * silence played or written in its place. The input file, if any, keeps
 * its time line: it goes on being read and dropped. */
void         kc_cta_audio_set_paused   (KcCtaAudio      *audio,
                                        gboolean         paused);
/* dBFS of the last frame sent and of the last one played or written;
 * -100 for digital silence. */
void         kc_cta_audio_get_levels   (KcCtaAudio      *audio,
                                        double          *input_dbfs,
                                        double          *output_dbfs);
/* Playout to a device: periods it played as silence while frames were
 * arriving (the call's gaps), and frames skipped to catch up a lag. */
void         kc_cta_audio_get_playout  (KcCtaAudio      *audio,
                                        guint64         *underruns,
                                        guint64         *skipped);
/* The JACK client of the open device ("PortAudio-2"), or NULL. */
const char  *kc_cta_audio_get_jack_client (KcCtaAudio   *audio);
/* "JACK device “system” (client PortAudio-2)", "file in.wav", "none". */
char        *kc_cta_audio_describe     (KcCtaAudio      *audio,
                                        gboolean         output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcCtaAudio, kc_cta_audio_free)

G_END_DECLS
