/* kc-lea-wav.c: see kc-lea-wav.h. A plain RIFF/WAVE writer on stdio: the
 * header is written first with zero lengths and rewritten on close, so a
 * file cut short by a crash still holds its samples for a repair tool.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-wav.h"

#include "kc-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEADER_LEN 44

struct _KcLeaWav {
  FILE    *file;
  char    *path;
  guint    rate;
  guint    channels;
  guint64  frames;
  gboolean failed;
};

static void
put_le16 (guint8 *p, guint16 v)
{
  p[0] = v & 0xff;
  p[1] = v >> 8;
}

static void
put_le32 (guint8 *p, guint32 v)
{
  put_le16 (p, v & 0xffff);
  put_le16 (p + 2, v >> 16);
}

static void
make_header (guint8 h[HEADER_LEN], guint rate, guint channels, guint64 frames)
{
  guint64 data = frames * channels * 2;
  guint32 data32 = data > G_MAXUINT32 - 36 ? G_MAXUINT32 - 36 : (guint32) data;

  memcpy (h, "RIFF", 4);
  put_le32 (h + 4, 36 + data32);
  memcpy (h + 8, "WAVEfmt ", 8);
  put_le32 (h + 16, 16);
  put_le16 (h + 20, 1);                       /* PCM */
  put_le16 (h + 22, channels);
  put_le32 (h + 24, rate);
  put_le32 (h + 28, rate * channels * 2);     /* bytes per second */
  put_le16 (h + 32, channels * 2);            /* block align */
  put_le16 (h + 34, 16);
  memcpy (h + 36, "data", 4);
  put_le32 (h + 40, data32);
}

static gboolean
io_error (KcLeaWav *wav, const char *what, int err, GError **error)
{
  wav->failed = TRUE;
  g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot %s the recording %s: %s", what, wav->path,
               g_strerror (err));
  return FALSE;
}

KcLeaWav *
kc_lea_wav_open (const char *path, guint rate, guint channels, GError **error)
{
  guint8 header[HEADER_LEN];
  KcLeaWav *wav;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (rate > 0 && channels > 0 && channels <= 8, NULL);

  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;

    g_set_error (error, KC_ERROR, err == EEXIST ? KC_ERROR_EXISTS : KC_ERROR_IO,
                 "Cannot create the recording %s: %s", path, g_strerror (err));
    return NULL;
  }
  wav = g_new0 (KcLeaWav, 1);
  wav->file = fdopen (fd, "wb");
  wav->path = g_strdup (path);
  wav->rate = rate;
  wav->channels = channels;
  if (wav->file == NULL) {
    close (fd);
    io_error (wav, "open", errno, error);
    g_free (wav->path);
    g_free (wav);
    return NULL;
  }
  make_header (header, rate, channels, 0);
  if (fwrite (header, 1, sizeof header, wav->file) != sizeof header) {
    io_error (wav, "write", errno, error);
    kc_lea_wav_close (wav, NULL);
    return NULL;
  }
  return wav;
}

gboolean
kc_lea_wav_write (KcLeaWav *wav, const gint16 *samples, gsize frames, GError **error)
{
  gsize n;

  g_return_val_if_fail (wav != NULL, FALSE);

  if (wav->failed) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "The recording %s failed earlier", wav->path);
    return FALSE;
  }
  n = frames * wav->channels;
#if G_BYTE_ORDER == G_BIG_ENDIAN
  for (gsize i = 0; i < n; i++) {
    guint16 le = GUINT16_TO_LE ((guint16) samples[i]);

    if (fwrite (&le, 2, 1, wav->file) != 1)
      return io_error (wav, "write", errno, error);
  }
#else
  if (n > 0 && fwrite (samples, 2, n, wav->file) != n)
    return io_error (wav, "write", errno, error);
#endif
  wav->frames += frames;
  return TRUE;
}

guint64
kc_lea_wav_get_frames (KcLeaWav *wav)
{
  g_return_val_if_fail (wav != NULL, 0);
  return wav->frames;
}

gboolean
kc_lea_wav_close (KcLeaWav *wav, GError **error)
{
  guint8 header[HEADER_LEN];
  gboolean ok;

  if (wav == NULL)
    return TRUE;
  ok = !wav->failed;
  make_header (header, wav->rate, wav->channels, wav->frames);
  if (ok && (fseek (wav->file, 0, SEEK_SET) != 0
             || fwrite (header, 1, sizeof header, wav->file) != sizeof header
             || fflush (wav->file) != 0 || fsync (fileno (wav->file)) != 0))
    ok = io_error (wav, "finish", errno, error);
  if (fclose (wav->file) != 0 && ok)
    ok = io_error (wav, "close", errno, error);
  g_free (wav->path);
  g_free (wav);
  return ok;
}

gboolean
kc_lea_json_write (JsonObject *object, const char *path, GError **error)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  json_node_set_object (node, object);
  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot write the call record %s: %s", path,
                 local->message);
    return FALSE;
  }
  return TRUE;
}
