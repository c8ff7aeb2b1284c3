/* kc-audio-file.h: audio files as a call's microphone and speaker, so
 * calls run headless: any file GStreamer decodes comes in as 20 ms frames
 * (48 kHz mono int16, as kc-audio-device.h), and frames go out to a WAV
 * file. Reading and writing are paced by the caller (one frame per 20 ms
 * tick in a call), not by a clock: a test can also read a file as fast as
 * it likes. Each object is for one thread at a time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KcAudioFileReader KcAudioFileReader;
typedef struct _KcAudioFileWriter KcAudioFileWriter;

/* Opens and starts decoding @path (WAV, Ogg/Opus, FLAC, MP3, … whatever
 * the installed GStreamer plugins read), converted and resampled to 48 kHz
 * mono; the first audio stream is used. @loop: start over at the end
 * instead of ending (a file without samples ends all the same).
 * KC_ERROR_NOT_FOUND for a missing file, KC_ERROR_IO for an unreadable one,
 * KC_ERROR_INVALID (naming the file and GStreamer's reason) for one that is
 * not audio, cannot be decoded, or is not a regular file (a FIFO could
 * block where no timeout reaches). Returns within a few seconds at worst. */
KcAudioFileReader *kc_audio_file_reader_new        (const char         *path,
                                                    gboolean            loop,
                                                    GError            **error);
void               kc_audio_file_reader_free       (KcAudioFileReader  *reader);
/* Fills @frame (KC_AUDIO_FRAME_SAMPLES samples), waiting for the decoder
 * as long as it needs (a decoder silent for 10 s is taken for stuck:
 * KC_ERROR_FAILED). At the end (not looping) it returns FALSE with
 * @error unset and @frame silent, a last partial frame padded with
 * silence first; FALSE with @error set when decoding failed midway
 * (KC_ERROR_INVALID, or KC_ERROR_IO for a read error), and the same error
 * from then on. */
gboolean           kc_audio_file_reader_read_frame (KcAudioFileReader  *reader,
                                                    gint16             *frame,
                                                    GError            **error);
/* Frames returned so far (the first is frame 0). */
guint64            kc_audio_file_reader_get_frames (KcAudioFileReader  *reader);

/* Creates (or truncates) @path as a 48 kHz mono 16-bit WAV file.
 * KC_ERROR_IO naming the file when it cannot be written. Frames are
 * written by GStreamer's thread, so a write error (a full disk) is
 * reported by a later write_frame() or by close(). */
KcAudioFileWriter *kc_audio_file_writer_new        (const char         *path,
                                                    GError            **error);
gboolean           kc_audio_file_writer_write_frame (KcAudioFileWriter *writer,
                                                    const gint16       *frame,
                                                    GError            **error);
/* Finishes the file (its header's lengths) and closes it; idempotent.
 * Freeing an unclosed writer closes it and logs a failure. */
gboolean           kc_audio_file_writer_close      (KcAudioFileWriter  *writer,
                                                    GError            **error);
void               kc_audio_file_writer_free       (KcAudioFileWriter  *writer);
guint64            kc_audio_file_writer_get_frames (KcAudioFileWriter  *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcAudioFileReader, kc_audio_file_reader_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcAudioFileWriter, kc_audio_file_writer_free)

G_END_DECLS
