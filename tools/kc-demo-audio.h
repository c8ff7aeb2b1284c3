/* kc-demo-audio.h: the demo's voices and what each softphone heard.
 *
 * Alice and Bob speak from audio files (espeak-ng when it is installed,
 * otherwise a tone of their own pitch), and each records what reached it
 * to a WAV file; the demo then says how much sound came through.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes @path: @text spoken by espeak-ng, or, without espeak-ng, two
 * seconds of a @tone_hz tone (GStreamer). */
gboolean  kc_demo_audio_make_voice (const char  *path,
                                    const char  *text,
                                    guint        tone_hz,
                                    GError     **error);

/* "2.4 s of sound, peak -9 dBFS" for a recording, or why not. */
char     *kc_demo_audio_describe   (const char  *path);

G_END_DECLS
