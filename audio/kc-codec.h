/* kc-codec.h: audio frames to RTP packets and back, through GStreamer.
 *
 * The encoder turns 20 ms frames (48 kHz mono int16, KC_AUDIO_FRAME_SAMPLES)
 * into RTP packets (Opus, or G.711 µ-law/A-law at 8 kHz) and sends DTMF as
 * RFC 4733 telephone events in the same stream; the decoder puts received
 * packets through a jitter buffer and gives back 20 ms frames, concealing
 * lost packets, and reports telephone events through a callback. Neither
 * needs a running GMainLoop: the encoder runs in the caller's thread (a
 * packet is ready when kc_encoder_push_frame() returns), the decoder on
 * GStreamer's threads behind its jitter buffer, and the caller pushes and
 * pulls, or has each decoded frame handed to a function of its own in the
 * jitter buffer's thread. Each object is for one thread at a time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  KC_CODEC_OPUS,  /* "opus/48000/2", dynamic PT (default 111) */
  KC_CODEC_PCMU,  /* "PCMU/8000", PT 0 */
  KC_CODEC_PCMA,  /* "PCMA/8000", PT 8 */
} KcCodec;

#define KC_CODEC_DTMF_PT_DEFAULT   101
#define KC_CODEC_JITTER_MS_DEFAULT 60

/* SDP rtpmap names ("opus/48000/2", "PCMU/8000", "PCMA/8000"). */
const char *kc_codec_get_sdp_name      (KcCodec codec);
/* The telephone-event rtpmap that goes with @codec: RFC 4733 §2.1 wants
 * events on the audio stream's clock, so "telephone-event/8000" for G.711
 * and "telephone-event/48000" for Opus. */
const char *kc_codec_get_dtmf_sdp_name (KcCodec codec);
guint       kc_codec_get_clock_rate    (KcCodec codec);
guint       kc_codec_get_default_pt    (KcCodec codec);
/* From an rtpmap name, case-insensitive; KC_ERROR_UNSUPPORTED otherwise. */
gboolean    kc_codec_from_sdp_name     (const char  *name,
                                        KcCodec     *codec,
                                        GError     **error);

/* Encoder ---------------------------------------------------------------- */

typedef struct _KcEncoder KcEncoder;

/* @pt: the negotiated payload type (0-127) of the audio; @dtmf_pt that of
 * telephone-event. Sequence numbers and timestamps start at random offsets
 * (RFC 3550) and come from the payloader; KC_ERROR_FAILED when a GStreamer
 * plugin is missing (the message names it). */
KcEncoder  *kc_encoder_new          (KcCodec      codec,
                                     guint        pt,
                                     guint        dtmf_pt,
                                     guint32      ssrc,
                                     GError     **error);
void        kc_encoder_free         (KcEncoder   *enc);

/* Queues one frame of KC_AUDIO_FRAME_SAMPLES samples (copied). */
gboolean    kc_encoder_push_frame   (KcEncoder   *enc,
                                     const gint16 *frame,
                                     GError     **error);
/* The next RTP packet; NULL when none is ready (and @error unset) or the
 * pipeline failed (@error set). The encoder runs in the thread that pushes,
 * so what a frame gives is ready when kc_encoder_push_frame() (or
 * kc_encoder_finish()) returns: there is nothing to wait for.
 * Packets come out in sequence-number order, DTMF interleaved with audio. */
GBytes     *kc_encoder_pull_packet  (KcEncoder   *enc,
                                     GError     **error);
/* Flushes what the codec still holds (the resampler's tail); after this the
 * remaining packets can be pulled and no frame may be pushed. */
void        kc_encoder_finish       (KcEncoder   *enc);

/* Sends @digit (0-9, *, #, A-D) as an RFC 4733 event of @duration_ms
 * (40 ms to 1 s), timestamped at the next frame pushed. One event packet is
 * released per frame pushed afterwards (20 ms apart, as RFC 4733 asks), the
 * end packet three times. KC_ERROR_INVALID for another character or a
 * duration out of range; a digit sent while one is playing queues behind it. */
gboolean    kc_encoder_send_dtmf    (KcEncoder   *enc,
                                     char         digit,
                                     guint        duration_ms,
                                     GError     **error);

guint32     kc_encoder_get_ssrc     (KcEncoder   *enc);
KcCodec     kc_encoder_get_codec    (KcEncoder   *enc);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcEncoder, kc_encoder_free)

/* Decoder ---------------------------------------------------------------- */

typedef struct _KcDecoder KcDecoder;

/* Called from kc_decoder_push_packet() once per received event, when its
 * end packet arrives (or the next event starts without one). */
typedef void (*KcDtmfFunc) (char      digit,
                            guint     duration_ms,
                            gpointer  user_data);

typedef struct {
  guint64 packets_in;         /* handed to kc_decoder_push_packet() */
  guint64 dropped_malformed;  /* not RTP version 2, or truncated */
  guint64 dropped_pt;         /* a payload type neither audio nor DTMF */
  guint64 dtmf_packets;
  guint64 dtmf_events;        /* digits reported */
  guint64 frames_out;
  guint64 frames_concealed;   /* silence inserted for a gap no decoder filled */
} KcDecoderStats;

/* @jitter_ms: the jitter buffer's latency (0: KC_CODEC_JITTER_MS_DEFAULT). */
KcDecoder  *kc_decoder_new          (KcCodec      codec,
                                     guint        pt,
                                     guint        dtmf_pt,
                                     guint        jitter_ms,
                                     GError     **error);
void        kc_decoder_free         (KcDecoder   *dec);

void        kc_decoder_set_dtmf_func (KcDecoder  *dec,
                                      KcDtmfFunc  func,
                                      gpointer    user_data);

/* One received RTP packet (copied). KC_ERROR_INVALID for one that is not
 * RTP or carries a payload type not negotiated: it is counted and dropped,
 * the stream goes on. */
gboolean    kc_decoder_push_packet  (KcDecoder   *dec,
                                     const guint8 *data,
                                     gsize        len,
                                     GError     **error);
/* Called in the jitter buffer's thread with each decoded frame
 * (KC_AUDIO_FRAME_SAMPLES samples, valid during the call) instead of
 * keeping it for kc_decoder_pull_frame(): the frame is played without the
 * caller's thread waiting for it. It must not block; it runs under the
 * decoder's lock, so it must not call the decoder either. */
typedef void (*KcFrameFunc) (const gint16 *frame,
                             gpointer      user_data);

/* Sets or (@func NULL) clears the frame function; frames decoded while
 * none is set wait for kc_decoder_pull_frame(). Once this returns the
 * previous function is not running and will not run again. */
void        kc_decoder_set_frame_func (KcDecoder   *dec,
                                       KcFrameFunc  func,
                                       gpointer     user_data);
/* Fills @frame (KC_AUDIO_FRAME_SAMPLES samples) with the next decoded
 * frame, waiting up to @timeout_ms; FALSE when none is ready in time or
 * the stream has ended (a last partial frame is dropped). */
gboolean    kc_decoder_pull_frame   (KcDecoder   *dec,
                                     gint16      *frame,
                                     guint        timeout_ms);
/* End of stream: the jitter buffer gives up on missing packets at once and
 * the decoder flushes; the rest can be pulled, nothing more pushed. */
void        kc_decoder_finish       (KcDecoder   *dec);
void        kc_decoder_get_stats    (KcDecoder   *dec,
                                     KcDecoderStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcDecoder, kc_decoder_free)

G_END_DECLS
