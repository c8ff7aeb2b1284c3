/* bench-media-cpu.c: bench-media's CPU run: a call on files and on JACK
 * devices with a voice-like input, process CPU over wall time by rounds
 * and by thread. */
#define G_LOG_DOMAIN "bench-media"

#include "config.h"

#include "bench-media-private.h"

#include "kc-audio-device.h"
#include "kc-audio-file.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TARGET_CPU_PERCENT 3.0
#define CPU_ROUNDS       5

/* ---- CPU ---- */

/* Voice-like test signal: a gliding pitch with its harmonics, in syllables
 * and pauses, a little noise; Opus works on it as on speech, not on the
 * silence a silent microphone gives. */
static float *
make_voice (gsize n)
{
  float *x = g_new (float, n);
  double phase = 0;
  guint32 rng = 0x1234567u;

  for (gsize i = 0; i < n; i++)
    {
      double t = (double) i / KC_AUDIO_RATE;
      double f0 = 140 + 40 * sin (2 * G_PI * 0.7 * t);
      double syllable = 0.5 * (1 - cos (2 * G_PI * 4 * t));
      double pause = fmod (t, 2.0) < 1.6 ? 1.0 : 0.0;
      double v = 0;

      phase += 2 * G_PI * f0 / KC_AUDIO_RATE;
      for (int k = 1; k * f0 < 4000; k++)
        v += sin (k * phase) / k;
      rng = rng * 1664525u + 1013904223u;
      x[i] = (float) (0.15 * syllable * pause * v + 0.01 * ((double) rng / G_MAXUINT32 - 0.5));
    }
  return x;
}

static gboolean
write_wav (const char  *path,
           const float *x,
           gsize        n,
           GError     **error)
{
  g_autoptr(KcAudioFileWriter) writer = kc_audio_file_writer_new (path, error);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];

  if (writer == NULL)
    return FALSE;
  for (gsize i = 0; i + KC_AUDIO_FRAME_SAMPLES <= n; i += KC_AUDIO_FRAME_SAMPLES)
    {
      for (guint j = 0; j < KC_AUDIO_FRAME_SAMPLES; j++)
        frame[j] = (gint16) lrintf (x[i + j] * 32767);
      if (!kc_audio_file_writer_write_frame (writer, frame, error))
        return FALSE;
    }
  return kc_audio_file_writer_close (writer, error);
}

/* User + system seconds; *@sys_s the system part. */
static double
process_cpu_s (double *sys_s)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  *sys_s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + *sys_s;
}

/* Thread name → clock ticks of CPU so far (summed over threads of that
 * name), from /proc; the main thread tagged, as threads inherit the
 * program's name (JACK's, PortAudio's). */
static GHashTable *
thread_ticks (void)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
      g_autofree char *stat = NULL;
      g_auto(GStrv) fields = NULL;
      char *open, *close;
      char *name;

      if (!g_file_get_contents (path, &stat, NULL, NULL)
          || (open = strchr (stat, '(')) == NULL || (close = strrchr (stat, ')')) == NULL)
        continue;
      /* After "(name) ": state is field 0, utime 11, stime 12. */
      fields = g_strsplit (close + 2, " ", 0);
      if (g_strv_length (fields) < 13)
        continue;
      name = g_strdup_printf ("%.*s%s", (int) (close - open - 1), open + 1,
                              atoi (tid) == getpid () ? "(main)" : "");
      g_hash_table_insert (table, name,
                           GSIZE_TO_POINTER (GPOINTER_TO_SIZE (g_hash_table_lookup (table, name))
                                             + g_ascii_strtoull (fields[11], NULL, 10)
                                             + g_ascii_strtoull (fields[12], NULL, 10)));
    }
  return table;
}

typedef struct {
  const char *name;
  double      percent;
} ThreadShare;

static int
compare_share (gconstpointer a,
               gconstpointer b)
{
  double x = ((const ThreadShare *) a)->percent, y = ((const ThreadShare *) b)->percent;

  return (x < y) - (x > y);
}

/* The busiest thread names between two thread_ticks(), % of one core. */
static void
print_threads (GHashTable *before,
               GHashTable *after,
               double      wall_s)
{
  g_autoptr(GString) line = g_string_new ("    by thread:");
  g_autoptr(GArray) shares = g_array_new (FALSE, FALSE, sizeof (ThreadShare));
  GHashTableIter iter;
  gpointer name, ticks;
  double unit = 100.0 / sysconf (_SC_CLK_TCK) / wall_s;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &name, &ticks))
    {
      /* Signed: a thread of the same name that ended during the run may
       * have had more ticks before than its successor has after. */
      ThreadShare share = {
        name, unit * ((gint64) GPOINTER_TO_SIZE (ticks)
                      - (gint64) GPOINTER_TO_SIZE (g_hash_table_lookup (before, name))),
      };

      if (share.percent >= 0.1)
        g_array_append_val (shares, share);
    }
  g_array_sort (shares, compare_share);
  for (guint i = 0; i < shares->len; i++)
    g_string_append_printf (line, " %s %.1f%%", g_array_index (shares, ThreadShare, i).name,
                            g_array_index (shares, ThreadShare, i).percent);
  printf ("%s\n", line->str);
}

/* The process's CPU over @ms of main loop, less our measuring client's,
 * in % of one core; *@sys the system part. */
static double
cpu_percent (Meter  *m,
             guint   ms,
             double *sys)
{
  gint64 meter0 = atomic_load (&m->callback_ns);
  gint64 t0 = g_get_monotonic_time ();
  double sys0, sys1;
  double c0 = process_cpu_s (&sys0);
  double wall, cpu;

  bm_run_for (ms);
  cpu = process_cpu_s (&sys1) - c0 - (atomic_load (&m->callback_ns) - meter0) / 1e9;
  wall = (g_get_monotonic_time () - t0) / 1e6;
  *sys = 100.0 * (sys1 - sys0) / wall;
  return 100.0 * cpu / wall;
}

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* --seconds in CPU_ROUNDS rounds: the median round, *@lo and *@hi the
 * range (other processes on a busy machine disturb some rounds); with
 * @threads, printed by thread over all rounds. */
static double
cpu_rounds (Meter    *m,
            gboolean  threads,
            double   *lo,
            double   *hi)
{
  g_autoptr(GHashTable) before = thread_ticks ();
  g_autoptr(GHashTable) after = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double round[CPU_ROUNDS], sys = 0, s;

  for (int i = 0; i < CPU_ROUNDS; i++)
    {
      round[i] = cpu_percent (m, (guint) bm_seconds * 1000 / CPU_ROUNDS, &s);
      sys += s / CPU_ROUNDS;
    }
  qsort (round, CPU_ROUNDS, sizeof (double), compare_double);
  if (threads)
    {
      after = thread_ticks ();
      print_threads (before, after, (g_get_monotonic_time () - t0) / 1e6);
      printf ("    system time %.1f%% of it\n", sys);
    }
  *lo = round[0];
  *hi = round[CPU_ROUNDS - 1];
  return round[CPU_ROUNDS / 2];
}

/* One call, both ends here, for --seconds; the % of one core of one end. */
static gboolean
cpu_call (Meter      *m,
          const char *label,
          KcCodec     codec,
          const char *in,
          const char *out,
          double      idle,
          double     *per_end)
{
  g_autoptr(GError) error = NULL;
  gboolean devices = g_strcmp0 (in, "default") == 0;
  Call call;
  double total, lo, hi;

  if (!bm_call_start (&call, codec, 0, in, out, 0, devices ? m : NULL, &error))
    {
      printf ("  %s: the call did not start: %s\n", label, error->message);
      bm_call_stop (&call);
      return FALSE;
    }
  if (devices)
    {
      g_autofree char *meter_out = g_strdup (jack_port_name (m->out));

      bm_set_connection (m, meter_out, call.a_in, TRUE);
      bm_set_connection (m, meter_out, call.b_in, TRUE);
      atomic_store_explicit (&m->mode, METER_LOAD, memory_order_release);
    }
  bm_run_for (1000);
  printf ("  %s:\n", label);
  total = cpu_rounds (m, TRUE, &lo, &hi);
  atomic_store_explicit (&m->mode, METER_SILENT, memory_order_release);
  *per_end = (total - idle) / 2;
  printf ("    process %.2f%% (rounds %.2f to %.2f), less idle: per end %.2f%% of one core\n",
          total, lo, hi, *per_end);
  fflush (stdout);
  bm_call_stop (&call);
  return TRUE;
}

gboolean
bm_run_cpu (Meter *m)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("keycall-bench-XXXXXX", &error);
  g_autofree char *wav = NULL, *spec = NULL;
  g_autofree float *voice = NULL;
  gsize n = (gsize) (bm_seconds + 3) * KC_AUDIO_RATE;
  double idle, lo, hi, files = NAN, opus = NAN, pcmu = NAN;
  gboolean ok;

  if (dir == NULL)
    {
      printf ("CPU: no temporary directory: %s\n", error->message);
      return FALSE;
    }
  voice = make_voice (n);
  wav = g_build_filename (dir, "voice.wav", NULL);
  if (!write_wav (wav, voice, n, &error))
    {
      printf ("CPU: cannot write %s: %s\n", wav, error->message);
      g_rmdir (dir);
      return FALSE;
    }
  spec = g_strdup_printf ("file:%s", wav);
  m->load = voice;
  m->load_len = n;

  printf ("\nCPU: %d s per run in %d rounds, the median round: process user + system\n"
          "time (getrusage) over wall time, less this bench's own JACK client; both\n"
          "ends run here, so one end is half of what a call adds to the idle process.\n",
          bm_seconds, CPU_ROUNDS);
  idle = cpu_rounds (m, FALSE, &lo, &hi);
  printf ("  idle process (no call): %.2f%% (rounds %.2f to %.2f)\n", idle, lo, hi);
  ok = cpu_call (m, "Opus call, audio from a voice-like file, received audio discarded",
                 KC_CODEC_OPUS, spec, "none", idle, &files);
  ok = cpu_call (m, "Opus call on JACK devices, voice-like input", KC_CODEC_OPUS,
                 "default", "default", idle, &opus) && ok;
  ok = cpu_call (m, "PCMU call on JACK devices, voice-like input", KC_CODEC_PCMU,
                 "default", "default", idle, &pcmu) && ok;
  printf ("\nsoftphone CPU per call: %.1f%% of one core (target ≤ %.0f%%), Opus on JACK devices;\n"
          "  PCMU %.1f%%, Opus on files %.1f%%\n",
          opus, TARGET_CPU_PERCENT, pcmu, files);
  fflush (stdout);
  m->load = NULL;
  g_unlink (wav);
  g_rmdir (dir);
  return ok;
}
