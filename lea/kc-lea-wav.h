/* kc-lea-wav.h: the LEA's recordings: 16-bit PCM WAV files with any number
 * of interleaved channels (audio/kc-audio-file.h writes mono only, and an
 * intercepted call is two voices), and the JSON record beside each.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _KcLeaWav KcLeaWav;

/* Creates @path (never overwrites: KC_ERROR_EXISTS) with mode 0600.
 * KC_ERROR_IO naming the file otherwise. */
KcLeaWav *kc_lea_wav_open       (const char    *path,
                                 guint          rate,
                                 guint          channels,
                                 GError       **error);
/* @frames frames of interleaved native-endian samples. */
gboolean  kc_lea_wav_write      (KcLeaWav      *wav,
                                 const gint16  *samples,
                                 gsize          frames,
                                 GError       **error);
guint64   kc_lea_wav_get_frames (KcLeaWav      *wav);
/* Writes the header's lengths, closes and frees (also on failure). */
gboolean  kc_lea_wav_close      (KcLeaWav      *wav,
                                 GError       **error);

/* Writes @object, pretty-printed, to @path atomically with mode 0600. */
gboolean  kc_lea_json_write     (JsonObject    *object,
                                 const char    *path,
                                 GError       **error);

G_END_DECLS
