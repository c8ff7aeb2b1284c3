/* test-audio-device.c: capture and playback through a real JACK server.
 *
 * Integration test: needs a JACK server (scripts/with-test-env starts a dummy
 * one and exports JACK_DEFAULT_SERVER). The loopback test routes our own
 * output into our own input with jack_connect, plays a 1 kHz tone and finds
 * it in what comes back.
 */
#include "config.h"

#include "kc-audio-device.h"
#include "kc-audio-monitor.h"
#include "kc-error.h"

#include "kc-test.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TONE_HZ        1000.0
#define TONE_AMPLITUDE 16384.0            /* -6 dBFS */
#define TONE_FRAMES    50                 /* 1 s */
#define PRIME_FRAMES   4                  /* kept queued for playback: 80 ms */
#define SNR_FLOOR_DB   20.0
#define DETECT_LEVEL   1000               /* |sample| that marks the tone's start */

/* "running" when a JACK server answers (JACK_DEFAULT_SERVER, or the
 * default one); jack_wait exits 0 either way. */
static gboolean
jack_server_running (const char *server)
{
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  int status = -1;

  g_ptr_array_add (argv, (char *) "jack_wait");
  if (server != NULL)
    {
      g_ptr_array_add (argv, (char *) "-s");
      g_ptr_array_add (argv, (char *) server);
    }
  g_ptr_array_add (argv, (char *) "-c");
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL))
    return FALSE;
  return out != NULL && g_str_has_prefix (out, "running");
}

static void
run_jack_connect (const char *from,
                  const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err_out = NULL;
  const char *argv[] = { "jack_connect", from, to, NULL };
  int status = -1;

  ck_assert_msg (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, NULL, &err_out, &status, &error),
                 "cannot run jack_connect: %s", error ? error->message : "?");
  ck_assert_msg (g_spawn_check_wait_status (status, NULL),
                 "jack_connect %s %s failed: %s", from, to, err_out);
}

static KcAudioDeviceInfo *
find_jack_device (GPtrArray *list)
{
  for (guint i = 0; i < list->len; i++)
    {
      KcAudioDeviceInfo *info = g_ptr_array_index (list, i);

      if (strstr (info->host_api, "JACK") != NULL
          && info->max_input_channels > 0 && info->max_output_channels > 0)
        return info;
    }
  return NULL;
}

START_TEST (test_list_includes_jack)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = kc_audio_list_devices (&error);
  KcAudioDeviceInfo *jack;
  guint defaults = 0;

  ck_assert_msg (list != NULL, "%s", error ? error->message : "?");
  for (guint i = 0; i < list->len; i++)
    {
      KcAudioDeviceInfo *info = g_ptr_array_index (list, i);

      printf ("# device #%d “%s” (%s, %d in, %d out)%s\n", info->index, info->name,
              info->host_api, info->max_input_channels, info->max_output_channels,
              info->is_default ? " default" : "");
      ck_assert_int_eq (info->index, (int) i);
      defaults += info->is_default;
    }
  fflush (stdout);

  jack = find_jack_device (list);
  ck_assert_msg (jack != NULL, "no JACK device with input and output in the list");
  /* With a JACK server running, the default is a JACK device. */
  ck_assert_uint_eq (defaults, 1);
  for (guint i = 0; i < list->len; i++)
    {
      KcAudioDeviceInfo *info = g_ptr_array_index (list, i);

      if (info->is_default)
        ck_assert_msg (strstr (info->host_api, "JACK") != NULL,
                       "the default is “%s” (%s), not a JACK device", info->name, info->host_api);
    }
}
END_TEST

START_TEST (test_unknown_device)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = kc_audio_list_devices (NULL);
  KcAudioDeviceInfo *jack = find_jack_device (list);
  g_autofree char *quoted = NULL;
  KcAudioDevice *device;

  ck_assert (jack != NULL);
  device = kc_audio_device_new ("no-such-device-4711", &error);
  ck_assert (device == NULL);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  ck_assert_msg (strstr (error->message, "no-such-device-4711") != NULL, "%s", error->message);
  /* The message lists what there is to choose from. */
  quoted = g_strdup_printf ("“%s”", jack->name);
  ck_assert_msg (strstr (error->message, quoted) != NULL, "%s lacks %s", error->message, quoted);
  ck_assert_msg (strstr (error->message, "JACK") != NULL, "%s", error->message);
  g_clear_error (&error);

  device = kc_audio_device_new_for_index (100000, &error);
  ck_assert (device == NULL);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  ck_assert_msg (strstr (error->message, quoted) != NULL, "%s", error->message);
}
END_TEST

START_TEST (test_choose_device)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioDevice) by_default = kc_audio_device_new (NULL, &error);
  g_autoptr(KcAudioDevice) by_name = NULL;
  g_autoptr(KcAudioDevice) by_index = NULL;
  g_autofree char *part = NULL;
  const char *name;

  ck_assert_msg (by_default != NULL, "%s", error ? error->message : "?");
  ck_assert_msg (strstr (kc_audio_device_get_host_api (by_default), "JACK") != NULL,
                 "default device is on %s, not JACK", kc_audio_device_get_host_api (by_default));
  name = kc_audio_device_get_name (by_default);

  /* A substring in another case finds the same device. */
  part = g_ascii_strup (name, MIN (strlen (name), 4));
  by_name = kc_audio_device_new (part, &error);
  ck_assert_msg (by_name != NULL, "“%s”: %s", part, error ? error->message : "?");
  ck_assert_int_eq (kc_audio_device_get_index (by_name), kc_audio_device_get_index (by_default));

  by_index = kc_audio_device_new_for_index (kc_audio_device_get_index (by_default), &error);
  ck_assert_msg (by_index != NULL, "%s", error ? error->message : "?");
  ck_assert_str_eq (kc_audio_device_get_name (by_index), name);
}
END_TEST

/* ---- Loopback ---- */

typedef struct {
  KcAudioDevice *device;
  GMainLoop *loop;
  GArray *played;         /* every sample written, in order */
  GArray *captured;       /* every sample captured, in order */
  gboolean connected;     /* our output is routed into our input */
  guint tone_start_frame; /* index of the first tone frame written */
  guint64 silence_before; /* periods played as silence before it */
  guint queued_before;    /* frames queued ahead of it */
  guint tone_frames;      /* tone frames written so far */
  guint frames_after;     /* captured since the last tone frame was written */
  GError *failure;
} Loopback;

static void
write_next (Loopback *lb)
{
  gint16 frame[KC_AUDIO_FRAME_SAMPLES] = { 0 };

  /* The tone starts with frames queued ahead of it, so a slow main loop
   * cannot open a gap in it. */
  if (lb->connected && lb->tone_frames < TONE_FRAMES
      && (lb->tone_frames > 0 || kc_audio_device_get_queued (lb->device) >= PRIME_FRAMES - 1))
    {
      if (lb->tone_frames == 0)
        {
          KcAudioStats stats;

          /* Silence the callback inserted for want of frames shifts what it
           * played against what we wrote; none can come between this write
           * and its playing, as the ring is not empty meanwhile. */
          kc_audio_device_get_stats (lb->device, &stats);
          lb->silence_before = stats.playback_underruns;
          lb->queued_before = kc_audio_device_get_queued (lb->device);
          lb->tone_start_frame = lb->played->len / KC_AUDIO_FRAME_SAMPLES;
        }
      for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
        {
          guint n = lb->tone_frames * KC_AUDIO_FRAME_SAMPLES + i;

          frame[i] = (gint16) lrint (TONE_AMPLITUDE * sin (2 * G_PI * TONE_HZ * n / KC_AUDIO_RATE));
        }
      lb->tone_frames++;
    }
  ck_assert_msg (kc_audio_device_write (lb->device, frame), "playback queue full");
  g_array_append_vals (lb->played, frame, KC_AUDIO_FRAME_SAMPLES);
}

static void
on_frame (KcAudioDevice *device,
          gpointer       samples,
          Loopback      *lb)
{
  g_array_append_vals (lb->captured, samples, KC_AUDIO_FRAME_SAMPLES);
  /* Keep PRIME_FRAMES queued, also when a backlog of captured frames
   * arrives at once after the main loop was held up. */
  while (kc_audio_device_get_queued (device) < PRIME_FRAMES)
    write_next (lb);
  if (lb->tone_frames == TONE_FRAMES && ++lb->frames_after > 25)
    g_main_loop_quit (lb->loop);
}

static void
on_failed (KcAudioDevice *device,
           const GError  *error,
           gpointer       user_data)
{
  GError **failure = user_data;

  g_clear_error (failure);
  *failure = g_error_copy (error);
}

static void
on_loopback_failed (KcAudioDevice *device,
                    const GError  *error,
                    Loopback      *lb)
{
  on_failed (device, error, &lb->failure);
  g_main_loop_quit (lb->loop);
}

static gboolean
on_timeout (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static gssize
first_loud (const gint16 *x,
            gsize         n)
{
  for (gsize i = 0; i < n; i++)
    if (abs (x[i]) > DETECT_LEVEL)
      return i;
  return -1;
}

/* Mean-square power of the component at @hz (Goertzel). */
static double
goertzel_power (const gint16 *x,
                gsize         n,
                double        hz)
{
  double w = 2 * G_PI * hz / KC_AUDIO_RATE;
  double coeff = 2 * cos (w), s1 = 0, s2 = 0, re, im;

  for (gsize i = 0; i < n; i++)
    {
      double s0 = x[i] + coeff * s1 - s2;

      s2 = s1;
      s1 = s0;
    }
  re = s1 - s2 * cos (w);
  im = s2 * sin (w);
  return 2 * (re * re + im * im) / ((double) n * n);
}

START_TEST (test_loopback_tone)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioDevice) device = kc_audio_device_new (NULL, &error);
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree char *out_port = NULL;
  g_autofree char *in_port = NULL;
  Loopback lb = { 0 };
  KcAudioStats stats;
  const char *client;
  gssize played_at, captured_at;
  const gint16 *window;
  gsize n = KC_AUDIO_RATE / 2;           /* 0.5 s: 500 whole periods of 1 kHz */
  double tone, total, off, snr, level_db, latency;
  guint timeout;

  ck_assert_msg (device != NULL, "%s", error ? error->message : "?");
  lb.device = device;
  lb.loop = loop;
  lb.played = g_array_new (FALSE, FALSE, sizeof (gint16));
  lb.captured = g_array_new (FALSE, FALSE, sizeof (gint16));
  g_signal_connect (device, "frame", G_CALLBACK (on_frame), &lb);
  g_signal_connect (device, "failed", G_CALLBACK (on_loopback_failed), &lb);

  for (guint i = 0; i < PRIME_FRAMES; i++)
    write_next (&lb);
  ck_assert_uint_eq (kc_audio_device_get_queued (device), PRIME_FRAMES);
  ck_assert_msg (kc_audio_device_start (device, &error), "%s", error ? error->message : "?");
  ck_assert (kc_audio_device_is_running (device));

  client = kc_audio_device_get_jack_client_name (device);
  ck_assert_msg (client != NULL, "“%s” is not a JACK device", kc_audio_device_get_name (device));
  out_port = g_strdup_printf ("%s:out_0", client);
  in_port = g_strdup_printf ("%s:in_0", client);
  run_jack_connect (out_port, in_port);
  lb.connected = TRUE;

  timeout = g_timeout_add_seconds (10, on_timeout, loop);
  g_main_loop_run (loop);
  g_source_remove (timeout);
  ck_assert_msg (lb.failure == NULL, "%s", lb.failure ? lb.failure->message : "");
  ck_assert_msg (lb.tone_frames == TONE_FRAMES && lb.frames_after > 25,
                 "audio stalled: %u tone frames written, %u captured after",
                 lb.tone_frames, lb.frames_after);

  kc_audio_device_get_stats (device, &stats);
  kc_audio_device_stop (device);
  ck_assert (!kc_audio_device_is_running (device));

  /* Where the tone starts in what we played and in what came back. */
  played_at = first_loud ((gint16 *) lb.played->data, lb.played->len);
  captured_at = first_loud ((gint16 *) lb.captured->data, lb.captured->len);
  ck_assert_int_eq (played_at / KC_AUDIO_FRAME_SAMPLES, lb.tone_start_frame);
  ck_assert_msg (captured_at >= 0, "no tone captured (%u samples, all below %d)",
                 lb.captured->len, DETECT_LEVEL);
  /* Position in what the callback played, not in what we wrote. */
  played_at += lb.silence_before * KC_AUDIO_FRAME_SAMPLES;
  ck_assert_msg (captured_at > played_at, "tone captured at %zd before it was played at %zd",
                 captured_at, played_at);
  latency = (double) (captured_at - played_at);
  printf ("# loopback latency: %.0f samples (%.1f ms) from the callback playing the tone's "
          "first sample to it capturing it; PortAudio reports in %.1f ms + out %.1f ms; "
          "%u frames (%u ms) were queued ahead of the tone\n",
          latency, latency * 1000 / KC_AUDIO_RATE, stats.input_latency * 1000,
          stats.output_latency * 1000, lb.queued_before, lb.queued_before * KC_AUDIO_FRAME_MS);
  printf ("# periods %" G_GUINT64_FORMAT ", playback underruns %" G_GUINT64_FORMAT
          ", capture overruns %" G_GUINT64_FORMAT ", xruns %" G_GUINT64_FORMAT "\n",
          stats.periods, stats.playback_underruns, stats.capture_overruns, stats.xruns);
  ck_assert_msg (latency < 0.5 * KC_AUDIO_RATE, "latency %.0f samples is over 500 ms", latency);
  ck_assert_msg (stats.playback_underruns == lb.silence_before,
                 "%" G_GUINT64_FORMAT " periods of silence broke the tone (main loop too slow)",
                 stats.playback_underruns - lb.silence_before);

  /* Half a second from the middle of the tone, clear of both edges. */
  ck_assert_uint_ge (lb.captured->len, captured_at + KC_AUDIO_FRAME_SAMPLES + n);
  window = (gint16 *) lb.captured->data + captured_at + KC_AUDIO_FRAME_SAMPLES;
  tone = goertzel_power (window, n, TONE_HZ);
  off = goertzel_power (window, n, 1500.0);
  total = 0;
  for (gsize i = 0; i < n; i++)
    total += (double) window[i] * window[i];
  total /= n;
  snr = 10 * log10 (tone / MAX (total - tone, 1e-3));
  level_db = 10 * log10 (tone / (TONE_AMPLITUDE * TONE_AMPLITUDE / 2));
  printf ("# 1 kHz tone: SNR %.1f dB (floor %.0f dB), level %+.2f dB from played, "
          "1.5 kHz at %.1f dB below the tone\n",
          snr, SNR_FLOOR_DB, level_db, 10 * log10 (tone / MAX (off, 1e-3)));
  fflush (stdout);
  ck_assert_msg (snr >= SNR_FLOOR_DB, "SNR %.1f dB under the %.0f dB floor", snr, SNR_FLOOR_DB);
  ck_assert_msg (fabs (level_db) < 1.0, "tone level off by %.2f dB", level_db);
  ck_assert_msg (tone > 1000 * off, "the captured signal is not a 1 kHz tone");

  g_array_unref (lb.played);
  g_array_unref (lb.captured);
}
END_TEST

/* Start, stop, start again: frames flow both times; stop drops the queue. */
static void
on_count (KcAudioDevice *device,
          gpointer       samples,
          guint         *count)
{
  (*count)++;
}

static void
run_for (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, on_timeout, loop);
  g_main_loop_run (loop);
}

START_TEST (test_restart)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioDevice) device = kc_audio_device_new (NULL, &error);
  gint16 silence[KC_AUDIO_FRAME_SAMPLES] = { 0 };
  guint count = 0;
  KcAudioStats stats;

  ck_assert_msg (device != NULL, "%s", error ? error->message : "?");
  g_signal_connect (device, "frame", G_CALLBACK (on_count), &count);
  for (guint round = 0; round < 2; round++)
    {
      count = 0;
      ck_assert_msg (kc_audio_device_start (device, &error), "%s", error ? error->message : "?");
      run_for (300);
      kc_audio_device_stop (device);
      /* 300 ms is 15 periods; allow for a slow start. */
      ck_assert_msg (count >= 5 && count <= 20, "round %u: %u frames in 300 ms", round, count);
    }
  kc_audio_device_get_stats (device, &stats);
  ck_assert_uint_ge (stats.periods, 10);
  /* Nothing was written: every period played silence and said so. */
  ck_assert_uint_eq (stats.playback_underruns, stats.periods);

  for (guint i = 0; i < KC_AUDIO_RING_FRAMES; i++)
    ck_assert (kc_audio_device_write (device, silence));
  ck_assert (!kc_audio_device_write (device, silence));
  kc_audio_device_get_stats (device, &stats);
  ck_assert_uint_eq (stats.playback_overruns, 1);
}
END_TEST

/* ---- The server goes away under a running stream ----
 *
 * A private JACK server per test, so the shared one stays up. Never SIGKILL
 * it: JACK keeps a machine-wide table of eight servers and only a clean exit
 * (or a new server of the same name) frees a slot. */

static void
wait_child (GPid pid)
{
  int status;

  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* What JACK leaves in /dev/shm for a server that quit with a client still
 * attached (our abandoned one). */
static void
remove_jack_leftovers (const char *server)
{
  g_autoptr(GDir) dir = g_dir_open ("/dev/shm", 0, NULL);
  g_autofree char *infix = g_strdup_printf ("_%s_", server);
  g_autofree char *prefix = g_strdup_printf ("jack_%s_", server);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if ((g_str_has_prefix (name, "jack_sem.") && strstr (name, infix) != NULL)
        || g_str_has_prefix (name, prefix))
      {
        g_autofree char *path = g_build_filename ("/dev/shm", name, NULL);

        g_unlink (path);
      }
}

static GPid
start_private_jackd (const char *server)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "jackd", "-n", server, "-r", "-d", "dummy", "-r", "48000",
                         "-p", "960", NULL };
  GPid pid;

  g_setenv ("JACK_NO_AUDIO_RESERVATION", "1", TRUE);
  ck_assert_msg (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
                                | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                                die_with_parent, NULL, &pid, &error),
                 "cannot start jackd: %s", error ? error->message : "?");
  for (guint i = 0; i < 100 && !jack_server_running (server); i++)
    g_usleep (100 * 1000);
  if (!jack_server_running (server))
    {
      kill (pid, SIGTERM);
      wait_child (pid);
      ck_abort_msg ("the private JACK server “%s” did not start in 10 s", server);
    }
  return pid;
}

/* @sig: SIGTERM, the server quits (PortAudio marks the stream inactive), or
 * SIGSTOP, it hangs (only our watchdog notices). */
static void
server_vanishes (int sig)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) failure = NULL;
  g_autoptr(KcAudioDevice) device = NULL;
  g_autofree char *server = g_strdup_printf ("keycall-vanish-%d", (int) getpid ());
  g_autofree char *quoted = NULL;
  gint16 silence[KC_AUDIO_FRAME_SAMPLES] = { 0 };
  guint count = 0;
  gint64 deadline;
  GPid pid;

  pid = start_private_jackd (server);
  g_setenv ("JACK_DEFAULT_SERVER", server, TRUE);

  device = kc_audio_device_new (NULL, &error);
  ck_assert_msg (device != NULL, "%s", error ? error->message : "?");
  ck_assert (kc_audio_device_get_jack_client_name (device) != NULL);
  g_signal_connect (device, "frame", G_CALLBACK (on_count), &count);
  g_signal_connect (device, "failed", G_CALLBACK (on_failed), &failure);
  ck_assert_msg (kc_audio_device_start (device, &error), "%s", error ? error->message : "?");
  run_for (200);
  ck_assert_uint_gt (count, 0);

  kill (pid, sig);
  if (sig != SIGSTOP)
    wait_child (pid);

  /* The failure must come, by the stream going inactive or by the stall
   * watchdog, well within a few seconds. */
  deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  while (failure == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_msg (failure != NULL, "no “failed” signal 5 s after the JACK server died");
  ck_assert (g_error_matches (failure, KC_ERROR, KC_ERROR_IO));
  quoted = g_strdup_printf ("“%s”", kc_audio_device_get_name (device));
  ck_assert_msg (strstr (failure->message, quoted) != NULL, "%s", failure->message);
  printf ("# %s\n", failure->message);
  fflush (stdout);
  ck_assert (!kc_audio_device_is_running (device));

  /* Everything after stays harmless: stop, write, stats, a new start. */
  kc_audio_device_stop (device);
  ck_assert (kc_audio_device_write (device, silence));
  ck_assert (!kc_audio_device_start (device, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_IO));
  ck_assert_msg (strstr (error->message, "restart") != NULL, "%s", error->message);
  printf ("# start again: %s\n", error->message);
  fflush (stdout);
  g_clear_error (&error);

  /* The dead server's devices are no longer offered. */
  {
    g_autoptr(GPtrArray) list = kc_audio_list_devices (&error);
    g_autoptr(KcAudioDevice) other = NULL;

    ck_assert (list != NULL);
    ck_assert (find_jack_device (list) == NULL);
    other = kc_audio_device_new (NULL, &error);
    ck_assert (other == NULL || strstr (kc_audio_device_get_host_api (other), "JACK") == NULL);
  }

  if (sig == SIGSTOP)
    {
      kill (pid, SIGCONT);
      kill (pid, SIGTERM);
      wait_child (pid);
    }
  remove_jack_leftovers (server);
}

START_TEST (test_server_terminated)
{
  server_vanishes (SIGTERM);
}
END_TEST

START_TEST (test_server_hangs)
{
  server_vanishes (SIGSTOP);
}
END_TEST

static void
on_reload_count (gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
on_changed_count (KcAudioMonitor *monitor,
                  gpointer        user_data)
{
  (*(guint *) user_data)++;
}

/* PortAudio re-reads its devices only with no stream open: a refresh asked
 * for during a call waits for the call's stream to stop, then happens once;
 * a device object made before the reload still opens its device. */
START_TEST (test_refresh_deferred)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioDevice) device = NULL;
  g_autoptr(KcAudioDevice) older = NULL;
  g_autoptr(KcAudioMonitor) monitor = NULL;
  g_autoptr(GPtrArray) list = NULL;
  guint reloads = 0, changes = 0, count = 0, generation;
  gulong id = kc_audio_add_reload_notify (on_reload_count, &reloads);

  /* Nothing open: at once. */
  generation = kc_audio_get_generation ();
  ck_assert (kc_audio_refresh_devices ());
  ck_assert_uint_eq (reloads, 1);
  ck_assert_uint_ne (kc_audio_get_generation (), generation);
  ck_assert (!kc_audio_refresh_is_pending ());

  device = kc_audio_device_new (NULL, &error);
  ck_assert_msg (device != NULL, "%s", error ? error->message : "?");
  older = kc_audio_device_new (NULL, &error);
  ck_assert_msg (older != NULL, "%s", error ? error->message : "?");
  /* Loaded but no stream open (device objects only): still at once. */
  ck_assert (kc_audio_refresh_devices ());
  ck_assert_uint_eq (reloads, 2);

  monitor = kc_audio_monitor_new ();
  printf ("# monitor watches %s\n", kc_audio_monitor_describe (monitor));
  fflush (stdout);
  g_signal_connect (monitor, "changed", G_CALLBACK (on_changed_count), &changes);

  ck_assert_msg (kc_audio_device_start (device, &error), "%s", error ? error->message : "?");
  ck_assert_uint_eq (kc_audio_get_open_streams (), 1);
  generation = kc_audio_get_generation ();
  /* A stream is open: deferred, twice over, and the list still reads. */
  ck_assert (!kc_audio_refresh_devices ());
  kc_audio_monitor_poke (monitor);
  run_for (800);
  ck_assert (kc_audio_refresh_is_pending ());
  ck_assert_uint_eq (reloads, 2);
  ck_assert_uint_eq (changes, 0);
  ck_assert_uint_eq (kc_audio_get_generation (), generation);
  list = kc_audio_list_devices (&error);
  ck_assert_msg (list != NULL && find_jack_device (list) != NULL, "no JACK device listed");
  ck_assert (kc_audio_device_is_running (device));

  /* The last stream stops: one reload, and the monitor says so. */
  kc_audio_device_stop (device);
  ck_assert_uint_eq (kc_audio_get_open_streams (), 0);
  ck_assert (!kc_audio_refresh_is_pending ());
  ck_assert_uint_eq (reloads, 3);
  ck_assert_uint_eq (changes, 1);
  ck_assert_uint_ne (kc_audio_get_generation (), generation);

  /* Made before two reloads, it finds its device again by name. */
  g_signal_connect (older, "frame", G_CALLBACK (on_count), &count);
  ck_assert_msg (kc_audio_device_start (older, &error), "%s", error ? error->message : "?");
  run_for (300);
  kc_audio_device_stop (older);
  ck_assert_msg (count >= 5, "%u frames in 300 ms after a reload", count);
  ck_assert_str_eq (kc_audio_device_get_name (older), kc_audio_device_get_name (device));

  kc_audio_remove_reload_notify (id);
  ck_assert (kc_audio_refresh_devices ());
  ck_assert_uint_eq (reloads, 3);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("audio-device");
  TCase *tc = tcase_create ("jack");

  tcase_add_test (tc, test_list_includes_jack);
  tcase_add_test (tc, test_unknown_device);
  tcase_add_test (tc, test_choose_device);
  tcase_add_test (tc, test_loopback_tone);
  tcase_add_test (tc, test_restart);
  tcase_add_test (tc, test_refresh_deferred);
  tcase_add_test (tc, test_server_terminated);
  tcase_add_test (tc, test_server_hangs);
  suite_add_tcase (s, tc);
  return s;
}

int
main (void)
{
  SRunner *runner;
  int failed;

  if (!jack_server_running (g_getenv ("JACK_DEFAULT_SERVER")))
    {
      const char *server = g_getenv ("JACK_DEFAULT_SERVER");

      if (g_getenv ("KC_REQUIRE_JACK") != NULL)
        {
          printf ("Bail out! no JACK server “%s” answers (jack_wait -c); these tests need "
                  "one: run them under scripts/with-test-env\n", server ? server : "default");
          return EXIT_FAILURE;
        }
      printf ("1..0 # SKIP no JACK server (run under scripts/with-test-env)\n");
      return EXIT_SUCCESS;
    }

  runner = srunner_create (make_suite ());
  srunner_run_all (runner, CK_ENV);
  failed = srunner_ntests_failed (runner);
  srunner_free (runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
