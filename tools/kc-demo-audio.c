/* kc-demo-audio.c: voices for the demo's softphones, and what they heard. */
#define G_LOG_DOMAIN "keycall-demo"

#include "kc-demo-audio.h"

#include "kc-audio-device.h"
#include "kc-audio-file.h"
#include "kc-error.h"

#include <gio/gio.h>
#include <math.h>

/* A frame louder than this counts as sound (speech is -30 to -10 dBFS). */
#define SOUND_DBFS -45.0

static gboolean
run (const char * const *argv,
     GError            **error)
{
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                      | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                error);

  if (p == NULL || !g_subprocess_wait_check (p, NULL, error))
    return FALSE;
  return TRUE;
}

gboolean
kc_demo_audio_make_voice (const char  *path,
                          const char  *text,
                          guint        tone_hz,
                          GError     **error)
{
  g_autofree char *espeak = g_find_program_in_path ("espeak-ng");
  g_autofree char *freq = g_strdup_printf ("freq=%u", tone_hz);
  g_autofree char *location = g_strdup_printf ("location=%s", path);

  if (espeak != NULL) {
    const char *argv[] = { espeak, "-s", "150", "-w", path, text, NULL };

    if (run (argv, NULL))
      return TRUE;
  }
  {
    /* 100 buffers of 1024 samples at 48 kHz: about 2 s. */
    const char *argv[] = { "gst-launch-1.0", "-q", "audiotestsrc", freq, "volume=0.3",
                           "num-buffers=100", "!", "audio/x-raw,rate=48000,channels=1", "!",
                           "wavenc", "!", "filesink", location, NULL };

    return run (argv, error);
  }
}

char *
kc_demo_audio_describe (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioFileReader) reader = kc_audio_file_reader_new (path, FALSE, &error);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  guint loud = 0, frames = 0;
  double peak = 0;

  if (reader == NULL)
    return g_strdup_printf ("nothing usable (%s)", error->message);
  while (kc_audio_file_reader_read_frame (reader, frame, &error)) {
    double sum = 0;

    for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++) {
      double x = frame[i] / 32768.0;

      sum += x * x;
      peak = MAX (peak, fabs (x));
    }
    frames++;
    if (10 * log10 (sum / KC_AUDIO_FRAME_SAMPLES + 1e-12) > SOUND_DBFS)
      loud++;
  }
  if (error != NULL)
    return g_strdup_printf ("unreadable (%s)", error->message);
  if (loud == 0)
    return g_strdup_printf ("silence only (%.1f s recorded)", frames * KC_AUDIO_FRAME_MS / 1000.0);
  return g_strdup_printf ("%.1f s of sound in %.1f s, peak %.0f dBFS",
                          loud * KC_AUDIO_FRAME_MS / 1000.0, frames * KC_AUDIO_FRAME_MS / 1000.0,
                          20 * log10 (peak));
}
