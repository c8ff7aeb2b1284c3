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
 *
 * This file: the measuring JACK client, its ports and a call's set-up;
 * the latency run is in bench-media-latency.c, the CPU run in
 * bench-media-cpu.c.
 */
#define G_LOG_DOMAIN "bench-media"

#include "config.h"

#include "bench-media-private.h"

#include "kc-audio-device.h"

#include <glib.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP        77
#define BURST_AMPLITUDE  0.5f
#define QUIET_LEVEL      0.01f

int bm_impulses = 20;
int bm_seconds = 10;
static gboolean skip_cpu;
static gboolean skip_latency;

/* ---- The measuring JACK client ---- */

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

void
bm_run_for (guint ms)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, on_quit, loop);
  g_main_loop_run (loop);
}

/* ---- JACK ports ---- */

GPtrArray *
bm_list_ports (Meter *m)
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
char *
bm_new_port (Meter     *m,
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

void
bm_set_connection (Meter      *m,
                   const char *from,
                   const char *to,
                   gboolean    connect)
{
  int err = connect ? jack_connect (m->client, from, to) : jack_disconnect (m->client, from, to);

  if (err != 0)
    g_warning ("cannot %s %s → %s (%d)", connect ? "connect" : "disconnect", from, to, err);
}

/* ---- A call: both ends in this process ---- */

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

void
bm_call_stop (Call *call)
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
gboolean
bm_call_start (Call        *call,
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
    before = bm_list_ports (m);
  call->audio_a = kc_cta_audio_new (in, out, call->a, error);
  if (call->audio_a == NULL)
    return FALSE;
  if (m != NULL)
    after_a = bm_list_ports (m);
  if (stagger_ms > 0)
    bm_run_for (stagger_ms);
  call->audio_b = kc_cta_audio_new (in, out, call->b, error);
  if (call->audio_b == NULL)
    return FALSE;
  if (m == NULL)
    return TRUE;

  after_b = bm_list_ports (m);
  call->a_in = bm_new_port (m, before, after_a, JackPortIsInput);
  call->a_out = bm_new_port (m, before, after_a, JackPortIsOutput);
  call->b_in = bm_new_port (m, after_a, after_b, JackPortIsInput);
  call->b_out = bm_new_port (m, after_a, after_b, JackPortIsOutput);
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

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  Meter *m;
  gboolean ok = TRUE;
  GOptionEntry entries[] = {
    { "impulses", 'n', 0, G_OPTION_ARG_INT, &bm_impulses, "Bursts per latency path (20)", "N" },
    { "seconds", 's', 0, G_OPTION_ARG_INT, &bm_seconds, "Seconds per CPU run (10)", "S" },
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
  bm_impulses = CLAMP (bm_impulses, 1, MAX_IMPULSES);
  bm_seconds = MAX (bm_seconds, 1);

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
    ok = bm_run_latency (m);
  if (!skip_cpu)
    ok = bm_run_cpu (m) && ok;

  meter_close (m);
  g_free (m);
  return ok ? 0 : 1;
}
