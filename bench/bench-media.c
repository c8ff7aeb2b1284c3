/* bench-media.c: mouth-to-ear latency and CPU of the softphone's media path.
 *
 * One process holds both ends of a call, built as the softphone builds
 * them: two KcMediaStreams on 127.0.0.1 keyed from a random call key, each
 * driven by a KcCtaAudio on the default (JACK) device. A measuring JACK
 * client of our own plays short 1 kHz tone bursts into one end's capture
 * port and listens on the other end's playback port; latency is the JACK
 * frame time from a burst leaving our output to its first sample over
 * -22 dBFS at our input. Both directions, Opus and PCMU, against the target
 * of <= 60 ms with 20 ms frames. Beside the call, so a reader sees where the
 * time goes: our output wired straight to our input (what the JACK graph
 * itself adds), a bare KcAudioDevice echoing what it captures (device, wake-up
 * and playback queue without codec or network), and, not the softphone's
 * settings, smaller jitter buffers and one end's audio started late.
 *
 * CPU: a call runs for --seconds with its audio on files (speech-like
 * input) and then on JACK devices; process CPU (getrusage) over wall time,
 * less an idle baseline and our own measuring client, halved: one
 * softphone's share, against the target of <= 3% of one core.
 *
 * It prints figures and never fails on speed. Exit status: 0 when measured;
 * 77 (meson's "skipped") when no JACK server answers, or it does not run at
 * 48 kHz with 960-frame (20 ms) periods, which KcAudioDevice requires;
 * 1 when the media path itself fails (a stream or device does not start,
 * or no burst comes through at all). scripts/run-bench runs it under
 * scripts/with-test-env, which starts such a server (dummy driver).
 */
#define G_LOG_DOMAIN "bench-media"

#include "config.h"

#include "kc-audio-device.h"
#include "kc-audio-file.h"
#include "kc-codec.h"
#include "kc-cta-audio.h"
#include "kc-keys.h"
#include "kc-media.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP        77
#define MAX_IMPULSES     1000
#define BURST_HZ         1000.0
#define BURST_MS         10
#define BURST_AMPLITUDE  0.5f
#define DETECT_LEVEL     0.08f     /* -16 dB under the burst, -22 dBFS */
#define QUIET_LEVEL      0.01f
#define QUIET_MS         250       /* before the next burst, plus up to 20 ms at random */
#define TIMEOUT_MS       1000      /* a burst not heard by then is lost */
/* Playout settled: a call starts one frame ahead and comes down to the
 * minimum after 10 s without the device running dry (app/kc-cta-audio.c). */
#define WARM_UP_MS       11500
#define TARGET_LATENCY_MS 60.0
#define TARGET_CPU_PERCENT 3.0
#define CPU_ROUNDS       5

static int impulses = 20;
static int seconds = 10;
static gboolean skip_cpu;
static gboolean skip_latency;

/* ---- The measuring JACK client ---- */

typedef enum {
  METER_SILENT,
  METER_MEASURE,
  METER_LOAD,                /* plays the speech-like signal, for the CPU run */
} MeterMode;

typedef enum {
  WAIT_QUIET,
  WAIT_BURST,
} MeterState;

typedef struct {
  jack_client_t  *client;
  jack_port_t    *out;
  jack_port_t    *in;
  jack_nframes_t  rate;
  jack_nframes_t  period;
  float          *burst;           /* BURST_MS of tone */
  jack_nframes_t  burst_len;
  const float    *load;
  gsize           load_len;

  /* Set by the main thread. */
  atomic_int      mode;
  atomic_uint     generation;      /* a new value starts a new measure */
  atomic_uint     wanted;

  /* The process callback's own. */
  unsigned        seen_generation;
  MeterState      state;
  jack_nframes_t  quiet_run;
  jack_nframes_t  quiet_needed;
  jack_nframes_t  emitted_at;
  jack_nframes_t  burst_pos;
  gsize           load_pos;
  guint32         rng;

  /* Published by the callback: latency[0 .. measured) is complete once
   * measured is read with acquire. */
  gint32          latency[MAX_IMPULSES];
  atomic_uint     measured;
  atomic_uint     lost;
  atomic_llong    callback_ns;     /* the callback's thread CPU, to leave out */
} Meter;

static gint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits for quiet before the next burst, for a random extra so bursts
 * fall anywhere in a 20 ms frame. */
static void
rearm (Meter *m)
{
  m->rng ^= m->rng << 13;
  m->rng ^= m->rng >> 17;
  m->rng ^= m->rng << 5;
  m->state = WAIT_QUIET;
  m->quiet_run = 0;
  m->quiet_needed = m->rate * QUIET_MS / 1000 + m->rng % (m->rate / 50);
}

/* JACK's real-time thread: no lock, no allocation, no GLib. */
static int
meter_process (jack_nframes_t  nframes,
               void           *arg)
{
  Meter *m = arg;
  gint64 cpu0 = thread_cpu_ns ();
  float *out = jack_port_get_buffer (m->out, nframes);
  const float *in = jack_port_get_buffer (m->in, nframes);
  jack_nframes_t t0 = jack_last_frame_time (m->client);
  int mode = atomic_load_explicit (&m->mode, memory_order_acquire);
  unsigned generation = atomic_load_explicit (&m->generation, memory_order_acquire);
  unsigned wanted = atomic_load_explicit (&m->wanted, memory_order_relaxed);

  if (generation != m->seen_generation)
    {
      m->seen_generation = generation;
      m->burst_pos = m->burst_len;
      rearm (m);
    }
  memset (out, 0, nframes * sizeof (float));

  if (mode == METER_LOAD)
    {
      for (jack_nframes_t i = 0; i < nframes; i++)
        {
          out[i] = m->load[m->load_pos++];
          if (m->load_pos == m->load_len)
            m->load_pos = 0;
        }
    }
  else if (mode == METER_MEASURE)
    {
      for (jack_nframes_t i = 0; i < nframes; i++)
        {
          float level = fabsf (in[i]);
          jack_nframes_t now = t0 + i;
          unsigned done = atomic_load_explicit (&m->measured, memory_order_relaxed)
                          + atomic_load_explicit (&m->lost, memory_order_relaxed);

          if (m->state == WAIT_QUIET)
            {
              m->quiet_run = level > QUIET_LEVEL ? 0 : m->quiet_run + 1;
              if (m->quiet_run >= m->quiet_needed && done < wanted)
                {
                  m->state = WAIT_BURST;
                  m->emitted_at = now;
                  m->burst_pos = 0;
                }
            }
          else if (level > DETECT_LEVEL)
            {
              unsigned n = atomic_load_explicit (&m->measured, memory_order_relaxed);

              m->latency[n] = (gint32) (now - m->emitted_at);
              atomic_store_explicit (&m->measured, n + 1, memory_order_release);
              rearm (m);
            }
          else if (now - m->emitted_at > m->rate * TIMEOUT_MS / 1000)
            {
              atomic_fetch_add_explicit (&m->lost, 1, memory_order_release);
              rearm (m);
            }
          if (m->burst_pos < m->burst_len)
            out[i] = m->burst[m->burst_pos++];
        }
    }
  atomic_fetch_add_explicit (&m->callback_ns, thread_cpu_ns () - cpu0, memory_order_relaxed);
  return 0;
}

static void
on_jack_silent (const char *msg)
{
  (void) msg;
}

/* FALSE (and a message) when no JACK server answers or it is not one
 * KcAudioDevice can use. */
static gboolean
meter_open (Meter *m)
{
  jack_status_t status = 0;

  /* libjack prints to stderr when it finds no server: we say it better. */
  jack_set_error_function (on_jack_silent);
  m->client = jack_client_open ("kc-bench-meter", JackNoStartServer, &status);
  if (m->client == NULL)
    {
      printf ("bench-media: no JACK server answers%s%s (status 0x%x). Start one at 48 kHz "
              "with 960-frame periods, or run scripts/with-test-env %s, which starts a "
              "dummy one. Skipped.\n",
              g_getenv ("JACK_DEFAULT_SERVER") ? " as " : "",
              g_getenv ("JACK_DEFAULT_SERVER") ? g_getenv ("JACK_DEFAULT_SERVER") : "",
              (unsigned) status, "build/bench/bench-media");
      return FALSE;
    }
  m->rate = jack_get_sample_rate (m->client);
  m->period = jack_get_buffer_size (m->client);
  if (m->rate != KC_AUDIO_RATE || m->period != KC_AUDIO_FRAME_SAMPLES)
    {
      printf ("bench-media: the JACK server runs at %u Hz with %u-frame periods; the "
              "softphone's device needs %d Hz and %d (20 ms). Skipped.\n",
              m->rate, m->period, KC_AUDIO_RATE, KC_AUDIO_FRAME_SAMPLES);
      jack_client_close (m->client);
      return FALSE;
    }
  m->out = jack_port_register (m->client, "out", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
  m->in = jack_port_register (m->client, "in", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
  if (m->out == NULL || m->in == NULL)
    {
      printf ("bench-media: cannot register the measuring client's JACK ports.\n");
      jack_client_close (m->client);
      return FALSE;
    }
  m->burst_len = m->rate * BURST_MS / 1000;
  m->burst = g_new (float, m->burst_len);
  for (jack_nframes_t i = 0; i < m->burst_len; i++)
    m->burst[i] = BURST_AMPLITUDE * (float) sin (2 * G_PI * BURST_HZ * i / m->rate);
  m->rng = 0x4b43u ^ (guint32) getpid ();
  jack_set_process_callback (m->client, meter_process, m);
  if (jack_activate (m->client) != 0)
    {
      printf ("bench-media: cannot activate the measuring JACK client.\n");
      jack_client_close (m->client);
      return FALSE;
    }
  return TRUE;
}

static void
meter_close (Meter *m)
{
  if (m->client != NULL)
    {
      jack_deactivate (m->client);
      jack_client_close (m->client);
    }
  g_free (m->burst);
}

/* ---- Main loop helpers ---- */

static gboolean
on_quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
run_for (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, on_quit, loop);
  g_main_loop_run (loop);
}

/* ---- JACK ports ---- */

static GPtrArray *
list_ports (Meter *m)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_free);
  const char **ports = jack_get_ports (m->client, NULL, JACK_DEFAULT_AUDIO_TYPE, 0);

  for (int i = 0; ports != NULL && ports[i] != NULL; i++)
    g_ptr_array_add (list, g_strdup (ports[i]));
  jack_free (ports);
  return list;
}

/* The port in @after, not in @before, whose flags include @flag: the one a
 * device opened in between registered (PortAudio numbers ports per process,
 * so names alone do not tell two streams apart). */
static char *
new_port (Meter     *m,
          GPtrArray *before,
          GPtrArray *after,
          int        flag)
{
  for (guint i = 0; i < after->len; i++)
    {
      const char *name = g_ptr_array_index (after, i);
      jack_port_t *port;

      if (g_ptr_array_find_with_equal_func (before, name, g_str_equal, NULL))
        continue;
      port = jack_port_by_name (m->client, name);
      if (port != NULL && (jack_port_flags (port) & flag))
        return g_strdup (name);
    }
  return NULL;
}

static void
set_connection (Meter      *m,
                const char *from,
                const char *to,
                gboolean    connect)
{
  int err = connect ? jack_connect (m->client, from, to) : jack_disconnect (m->client, from, to);

  if (err != 0)
    g_warning ("cannot %s %s → %s (%d)", connect ? "connect" : "disconnect", from, to, err);
}

/* ---- Latency ---- */

typedef struct {
  guint  n;
  guint  lost;
  double min, median, p95, max;
  int    held;                 /* frames received, not yet played out; -1: n/a */
} Figures;

static int
compare_int (const void *a,
             const void *b)
{
  return *(const gint32 *) a - *(const gint32 *) b;
}

/* Bursts from our output into @capture_port (an end's input), heard from
 * @playback_port (an end's output) at our input; NULL for @playback_port
 * wires @capture_port (then our own input) straight. FALSE when no burst
 * came through. */
static gboolean
measure (Meter      *m,
         const char *capture_port,
         const char *playback_port,
         Figures    *f)
{
  g_autofree gint32 *sorted = NULL;
  g_autofree char *meter_out = g_strdup (jack_port_name (m->out));
  g_autofree char *meter_in = g_strdup (jack_port_name (m->in));
  gint64 deadline;
  double ms = 1000.0 / m->rate;

  set_connection (m, meter_out, capture_port, TRUE);
  if (playback_port != NULL)
    set_connection (m, playback_port, meter_in, TRUE);
  run_for (300);

  atomic_store (&m->measured, 0);
  atomic_store (&m->lost, 0);
  atomic_store (&m->wanted, (unsigned) impulses);
  atomic_fetch_add (&m->generation, 1);
  atomic_store_explicit (&m->mode, METER_MEASURE, memory_order_release);

  deadline = g_get_monotonic_time ()
             + (gint64) impulses * (QUIET_MS + 20 + TIMEOUT_MS) * 1000 + 5 * G_USEC_PER_SEC;
  while (atomic_load (&m->measured) + atomic_load (&m->lost) < (unsigned) impulses
         && g_get_monotonic_time () < deadline)
    run_for (20);
  atomic_store_explicit (&m->mode, METER_SILENT, memory_order_release);
  run_for (50);

  set_connection (m, meter_out, capture_port, FALSE);
  if (playback_port != NULL)
    set_connection (m, playback_port, meter_in, FALSE);

  memset (f, 0, sizeof *f);
  f->held = -1;
  f->n = atomic_load_explicit (&m->measured, memory_order_acquire);
  f->lost = atomic_load (&m->lost);
  if (f->n == 0)
    return FALSE;
  sorted = g_memdup2 (m->latency, f->n * sizeof (gint32));
  qsort (sorted, f->n, sizeof (gint32), compare_int);
  f->min = sorted[0] * ms;
  f->median = (f->n % 2 ? sorted[f->n / 2] : (sorted[f->n / 2 - 1] + sorted[f->n / 2]) / 2.0) * ms;
  f->p95 = sorted[(guint) ceil (0.95 * f->n) - 1] * ms;
  f->max = sorted[f->n - 1] * ms;
  return TRUE;
}

/* For a call path, @echo_ms is the device echo with the softphone's
 * playback queue: what the path takes beyond it is split into whole
 * periods (frames waiting at the receiving end) and the rest (the codec's
 * delay); everything else moves in whole periods. NAN for other paths. */
static void
print_figures (const char    *label,
               const Figures *f,
               double         echo_ms)
{
  g_autofree char *held = f->held >= 0 ? g_strdup_printf ("%d", f->held) : g_strdup ("");
  double beyond = f->median - echo_ms;
  int frames = (int) floor ((beyond + 0.5) / KC_AUDIO_FRAME_MS);

  /* Padded by characters: the arrows are three bytes. */
  printf ("  %s%*s", label, (int) MAX (0, 40 - g_utf8_strlen (label, -1)), "");
  if (f->n == 0)
    {
      printf ("  no burst came through (%u lost)\n", f->lost);
      return;
    }
  printf (" %6.1f %6.1f %6.1f %6.1f %4u %4s", f->min, f->median, f->p95, f->max, f->lost,
          held);
  if (!isnan (echo_ms))
    printf ("  %2d + %4.1f", frames, beyond - frames * KC_AUDIO_FRAME_MS);
  printf ("\n");
}

/* ---- A call: both ends in this process ---- */

typedef struct {
  KcSecret      *key;
  KcMediaStream *a;            /* the caller */
  KcMediaStream *b;            /* the callee */
  KcCtaAudio    *audio_a;
  KcCtaAudio    *audio_b;
  char          *a_in, *a_out, *b_in, *b_out;   /* JACK ports, when on devices */
} Call;

static gboolean
start_end (KcMediaStream  *s,
           KcMediaStream  *peer,
           const KcSecret *k,
           gboolean        caller,
           KcCodec         codec,
           guint           jitter_ms,
           GError        **error)
{
  g_autoptr(KcSecret) send = NULL;
  g_autoptr(KcSecret) recv = NULL;
  KcDirection ours = caller ? KC_DIRECTION_CALLER_TO_CALLEE : KC_DIRECTION_CALLEE_TO_CALLER;
  KcDirection theirs = caller ? KC_DIRECTION_CALLEE_TO_CALLER : KC_DIRECTION_CALLER_TO_CALLEE;
  KcMediaParams p = {
    .remote_address = "127.0.0.1",
    .remote_rtp_port = kc_media_stream_get_port (peer),
    .codec = codec,
    .pt = kc_codec_get_default_pt (codec),
    .dtmf_pt = KC_CODEC_DTMF_PT_DEFAULT,
    .suite = KC_SUITE_DEFAULT,
    .send_direction = ours,
    .cname = caller ? "a@bench" : "b@bench",
    .jitter_ms = jitter_ms,
  };

  send = kc_srtp_key_derive (k, p.suite, ours, error);
  if (send == NULL)
    return FALSE;
  recv = kc_srtp_key_derive (k, p.suite, theirs, error);
  if (recv == NULL)
    return FALSE;
  return kc_media_stream_start (s, &p, send, recv, error);
}

static void
call_stop (Call *call)
{
  g_clear_pointer (&call->audio_a, kc_cta_audio_free);
  g_clear_pointer (&call->audio_b, kc_cta_audio_free);
  if (call->a != NULL)
    kc_media_stream_stop (call->a);
  if (call->b != NULL)
    kc_media_stream_stop (call->b);
  g_clear_object (&call->a);
  g_clear_object (&call->b);
  g_clear_pointer (&call->key, kc_secret_free);
  g_clear_pointer (&call->a_in, g_free);
  g_clear_pointer (&call->a_out, g_free);
  g_clear_pointer (&call->b_in, g_free);
  g_clear_pointer (&call->b_out, g_free);
}

/* @in, @out: KcCtaAudio specs for both ends; @stagger_ms: main loop run
 * between starting A's audio and B's, as between two phones picking up;
 * @m: to find the devices' JACK ports when they are on devices. */
static gboolean
call_start (Call        *call,
            KcCodec      codec,
            guint        jitter_ms,
            const char  *in,
            const char  *out,
            guint        stagger_ms,
            Meter       *m,
            GError     **error)
{
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after_a = NULL;
  g_autoptr(GPtrArray) after_b = NULL;

  memset (call, 0, sizeof *call);
  call->key = kc_call_key_new_random (error);
  if (call->key == NULL)
    return FALSE;
  call->a = kc_media_stream_new ("127.0.0.1", error);
  if (call->a == NULL)
    return FALSE;
  call->b = kc_media_stream_new ("127.0.0.1", error);
  if (call->b == NULL
      || !start_end (call->a, call->b, call->key, TRUE, codec, jitter_ms, error)
      || !start_end (call->b, call->a, call->key, FALSE, codec, jitter_ms, error))
    return FALSE;

  if (m != NULL)
    before = list_ports (m);
  call->audio_a = kc_cta_audio_new (in, out, call->a, error);
  if (call->audio_a == NULL)
    return FALSE;
  if (m != NULL)
    after_a = list_ports (m);
  if (stagger_ms > 0)
    run_for (stagger_ms);
  call->audio_b = kc_cta_audio_new (in, out, call->b, error);
  if (call->audio_b == NULL)
    return FALSE;
  if (m == NULL)
    return TRUE;

  after_b = list_ports (m);
  call->a_in = new_port (m, before, after_a, JackPortIsInput);
  call->a_out = new_port (m, before, after_a, JackPortIsOutput);
  call->b_in = new_port (m, after_a, after_b, JackPortIsInput);
  call->b_out = new_port (m, after_a, after_b, JackPortIsOutput);
  if (call->a_in == NULL || call->a_out == NULL || call->b_in == NULL || call->b_out == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the call's devices registered no JACK ports (JACK client %s)",
                   kc_cta_audio_get_jack_client (call->audio_a)
                   ? kc_cta_audio_get_jack_client (call->audio_a) : "none");
      return FALSE;
    }
  return TRUE;
}

/* Frames @s received and has not handed out yet: in the jitter buffer,
 * the decoder, or waiting for the device to take them. One packet is one
 * 20 ms frame here (no DTMF). */
static int
held_frames (KcMediaStream *s)
{
  KcMediaStats st;

  kc_media_stream_get_stats (s, &st);
  return (int) (st.rtp_received - st.frames_received);
}

/* One call on the default JACK device, A → B and, if @both_ways, B → A. */
static gboolean
latency_call (Meter      *m,
              KcCodec     codec,
              guint       jitter_ms,
              guint       stagger_ms,
              gboolean    both_ways,
              const char *note,
              double      echo_ms,
              Figures    *a_to_b,
              Figures    *b_to_a)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *label = NULL;
  const char *name = codec == KC_CODEC_OPUS ? "Opus" : "PCMU";
  Call call;
  gboolean ok;

  memset (b_to_a, 0, sizeof *b_to_a);
  if (!call_start (&call, codec, jitter_ms, "default", "default", stagger_ms, m, &error))
    {
      printf ("  %s call: did not start: %s\n", name, error->message);
      call_stop (&call);
      memset (a_to_b, 0, sizeof *a_to_b);
      return FALSE;
    }
  run_for (WARM_UP_MS);
  label = g_strdup_printf ("%s, A → B%s", name, note);
  ok = measure (m, call.a_in, call.b_out, a_to_b);
  a_to_b->held = held_frames (call.b);
  print_figures (label, a_to_b, echo_ms);
  if (both_ways)
    {
      g_free (label);
      label = g_strdup_printf ("%s, B → A%s", name, note);
      ok = measure (m, call.b_in, call.a_out, b_to_a) && ok;
      b_to_a->held = held_frames (call.a);
      print_figures (label, b_to_a, echo_ms);
    }
  fflush (stdout);
  call_stop (&call);
  return ok;
}

/* What the device layer adds without codec or network: a KcAudioDevice
 * playing back each frame it captures, behind @prime frames of silence
 * (kc-cta-audio plays each frame as soon as it is decoded: prime 0). */
static void
on_echo_frame (KcAudioDevice *device,
               gpointer       samples,
               gpointer       user_data)
{
  (void) user_data;
  kc_audio_device_write (device, samples);
}

static gboolean
latency_device_echo (Meter   *m,
                     guint    prime,
                     Figures *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioDevice) device = NULL;
  g_autoptr(GPtrArray) before = list_ports (m);
  g_autoptr(GPtrArray) after = NULL;
  g_autofree char *in = NULL, *out = NULL, *label = NULL;
  gint16 silence[KC_AUDIO_FRAME_SAMPLES] = { 0 };
  gboolean ok;

  memset (f, 0, sizeof *f);
  device = kc_audio_device_new (NULL, &error);
  for (guint i = 0; device != NULL && i < prime; i++)
    kc_audio_device_write (device, silence);
  if (device != NULL)
    g_signal_connect (device, "frame", G_CALLBACK (on_echo_frame), NULL);
  if (device == NULL || !kc_audio_device_start (device, &error))
    {
      printf ("  device echo: did not start: %s\n", error->message);
      return FALSE;
    }
  after = list_ports (m);
  in = new_port (m, before, after, JackPortIsInput);
  out = new_port (m, before, after, JackPortIsOutput);
  if (in == NULL || out == NULL)
    {
      printf ("  device echo: the device registered no JACK ports\n");
      return FALSE;
    }
  run_for (500);
  ok = measure (m, in, out, f);
  label = g_strdup_printf ("device echo, %u frames queued", prime);
  print_figures (label, f, NAN);
  kc_audio_device_stop (device);
  return ok;
}

static double
median_of (const Figures *f)
{
  return f->n > 0 ? f->median : NAN;
}

/* Returns FALSE when the call path carried nothing at all. */
static gboolean
run_latency (Meter *m)
{
  Figures floor_f, echo0, echo2, opus_ab, opus_ba, pcmu_ab, pcmu_ba, f, unused;
  g_autofree char *meter_in = g_strdup (jack_port_name (m->in));
  double floor_ms, echo_ms;
  gboolean ok;

  printf ("\nLatency: %d bursts of %d ms at %.0f Hz per path, timed from leaving the\n"
          "measuring client's JACK output to crossing %.0f dBFS at its JACK input.\n"
          "held: frames the receiving end had received and not yet given its device,\n"
          "after the measure (a snapshot, may count one in flight). frames + codec: the\n"
          "median beyond the device's own echo, in whole 20 ms periods (frames waiting\n"
          "at the receiver) and the rest (the codec's own delay).\n",
          impulses, BURST_MS, BURST_HZ, 20 * log10 (DETECT_LEVEL));
  printf ("  %-40s %6s %6s %6s %6s %4s %4s  %s\n", "path (ms)", "min", "median", "p95",
          "max", "lost", "held", "frames + codec");

  /* What JACK adds to any loop through the graph: a feedback edge waits a
   * period. Every path below includes it. */
  measure (m, meter_in, NULL, &floor_f);
  print_figures ("JACK graph alone (our out → our in)", &floor_f, NAN);
  latency_device_echo (m, 0, &echo0);
  latency_device_echo (m, 2, &echo2);
  floor_ms = median_of (&floor_f);
  echo_ms = median_of (&echo0);
  fflush (stdout);

  ok = latency_call (m, KC_CODEC_OPUS, 0, 0, TRUE, "", echo_ms, &opus_ab, &opus_ba);
  ok = latency_call (m, KC_CODEC_PCMU, 0, 0, TRUE, "", echo_ms, &pcmu_ab, &pcmu_ba) && ok;
  /* Not the softphone's settings: how much the jitter buffer's latency
   * (KcMediaParams.jitter_ms) counts, and what a late start of the
   * receiving end's audio leaves behind. */
  printf ("  not the softphone's settings:\n");
  latency_call (m, KC_CODEC_OPUS, 20, 0, TRUE, ", jitter 20 ms", echo_ms, &f, &unused);
  latency_call (m, KC_CODEC_OPUS, 1, 0, TRUE, ", jitter 1 ms", echo_ms, &f, &unused);
  latency_call (m, KC_CODEC_OPUS, 0, 200, FALSE, ", B's audio 200 ms late", echo_ms, &f,
                &unused);

  printf ("\nWhere the time goes (medians):\n"
          "  %5.1f ms  JACK graph: this measuring loop's feedback edge (one %u-frame\n"
          "            period); not the softphone's, left out of the figures below\n"
          "  %5.1f ms  device: PortAudio in and out, the main loop woken each period\n"
          "  frames waiting at the receiving end, 20 ms each: app/kc-cta-audio.c plays\n"
          "            a frame as soon as its packet is decoded and skips a frame per\n"
          "            period while every period leaves one over (a late start, a stall)\n"
          "  codec: Opus' lookahead (6.5 ms); for PCMU the resamplers' filter delay\n"
          "            (the encoder's is primed, so a packet does not wait for the next frame)\n"
          "  (for comparison, a device echo behind 2 queued frames: %.1f ms)\n",
          floor_ms, m->period, median_of (&echo0) - floor_ms,
          median_of (&echo2) - floor_ms);
  printf ("\nmouth-to-ear latency (median less the JACK graph's %.0f ms; target ≤ %.0f ms):\n"
          "  Opus A → B %.1f ms, B → A %.1f ms; PCMU A → B %.1f ms, B → A %.1f ms\n",
          floor_ms, TARGET_LATENCY_MS,
          median_of (&opus_ab) - floor_ms, median_of (&opus_ba) - floor_ms,
          median_of (&pcmu_ab) - floor_ms, median_of (&pcmu_ba) - floor_ms);
  fflush (stdout);
  return ok;
}

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

  run_for (ms);
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
      round[i] = cpu_percent (m, (guint) seconds * 1000 / CPU_ROUNDS, &s);
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

  if (!call_start (&call, codec, 0, in, out, 0, devices ? m : NULL, &error))
    {
      printf ("  %s: the call did not start: %s\n", label, error->message);
      call_stop (&call);
      return FALSE;
    }
  if (devices)
    {
      g_autofree char *meter_out = g_strdup (jack_port_name (m->out));

      set_connection (m, meter_out, call.a_in, TRUE);
      set_connection (m, meter_out, call.b_in, TRUE);
      atomic_store_explicit (&m->mode, METER_LOAD, memory_order_release);
    }
  run_for (1000);
  printf ("  %s:\n", label);
  total = cpu_rounds (m, TRUE, &lo, &hi);
  atomic_store_explicit (&m->mode, METER_SILENT, memory_order_release);
  *per_end = (total - idle) / 2;
  printf ("    process %.2f%% (rounds %.2f to %.2f), less idle: per end %.2f%% of one core\n",
          total, lo, hi, *per_end);
  fflush (stdout);
  call_stop (&call);
  return TRUE;
}

static gboolean
run_cpu (Meter *m)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("keycall-bench-XXXXXX", &error);
  g_autofree char *wav = NULL, *spec = NULL;
  g_autofree float *voice = NULL;
  gsize n = (gsize) (seconds + 3) * KC_AUDIO_RATE;
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
          seconds, CPU_ROUNDS);
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

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Meter *m;
  gboolean ok = TRUE;
  GOptionEntry entries[] = {
    { "impulses", 'n', 0, G_OPTION_ARG_INT, &impulses, "Bursts per latency path (20)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_INT, &seconds, "Seconds per CPU run (10)", "S" },
    { "no-cpu", 0, 0, G_OPTION_ARG_NONE, &skip_cpu, "Measure latency only", NULL },
    { "no-latency", 0, 0, G_OPTION_ARG_NONE, &skip_latency, "Measure CPU only", NULL },
    { NULL },
  };

  context = g_option_context_new ("- softphone media latency and CPU on JACK");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-media: %s\n", error->message);
      return 1;
    }
  impulses = CLAMP (impulses, 1, MAX_IMPULSES);
  seconds = MAX (seconds, 1);

  /* The latency array is big and touched by the real-time thread: keep it
   * off the stack and zeroed (faulted in) before the callback runs. */
  m = g_new0 (Meter, 1);
  if (!meter_open (m))
    {
      g_free (m);
      return EXIT_SKIP;
    }
  printf ("bench-media: the softphone's media path (KcCtaAudio → KcMediaStream → SRTP over\n"
          "UDP on 127.0.0.1 → KcMediaStream → KcCtaAudio), both ends in this process,\n"
          "on JACK server %s at %u Hz, %u-frame periods (%.0f ms).\n",
          g_getenv ("JACK_DEFAULT_SERVER") ? g_getenv ("JACK_DEFAULT_SERVER") : "default",
          m->rate, m->period, 1000.0 * m->period / m->rate);
  fflush (stdout);

  if (!skip_latency)
    ok = run_latency (m);
  if (!skip_cpu)
    ok = run_cpu (m) && ok;

  meter_close (m);
  g_free (m);
  return ok ? 0 : 1;
}
