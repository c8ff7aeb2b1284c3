/* bench-media-latency.c: bench-media's latency run: bursts through the
 * JACK graph alone, a bare device echo and calls, their figures and where
 * the time goes. */
#define G_LOG_DOMAIN "bench-media"

#include "config.h"

#include "bench-media-private.h"

#include "kc-audio-device.h"

#include <glib.h>
#include <jack/jack.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Playout settled: a call starts one frame ahead and comes down to the
 * minimum after 10 s without the device running dry (app/kc-cta-audio.c). */
#define WARM_UP_MS       11500
#define TARGET_LATENCY_MS 60.0

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

  bm_set_connection (m, meter_out, capture_port, TRUE);
  if (playback_port != NULL)
    bm_set_connection (m, playback_port, meter_in, TRUE);
  bm_run_for (300);

  atomic_store (&m->measured, 0);
  atomic_store (&m->lost, 0);
  atomic_store (&m->wanted, (unsigned) bm_impulses);
  atomic_fetch_add (&m->generation, 1);
  atomic_store_explicit (&m->mode, METER_MEASURE, memory_order_release);

  deadline = g_get_monotonic_time ()
             + (gint64) bm_impulses * (QUIET_MS + 20 + TIMEOUT_MS) * 1000 + 5 * G_USEC_PER_SEC;
  while (atomic_load (&m->measured) + atomic_load (&m->lost) < (unsigned) bm_impulses
         && g_get_monotonic_time () < deadline)
    bm_run_for (20);
  atomic_store_explicit (&m->mode, METER_SILENT, memory_order_release);
  bm_run_for (50);

  bm_set_connection (m, meter_out, capture_port, FALSE);
  if (playback_port != NULL)
    bm_set_connection (m, playback_port, meter_in, FALSE);

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
  if (!bm_call_start (&call, codec, jitter_ms, "default", "default", stagger_ms, m, &error))
    {
      printf ("  %s call: did not start: %s\n", name, error->message);
      bm_call_stop (&call);
      memset (a_to_b, 0, sizeof *a_to_b);
      return FALSE;
    }
  bm_run_for (WARM_UP_MS);
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
  bm_call_stop (&call);
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
  g_autoptr(GPtrArray) before = bm_list_ports (m);
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
  after = bm_list_ports (m);
  in = bm_new_port (m, before, after, JackPortIsInput);
  out = bm_new_port (m, before, after, JackPortIsOutput);
  if (in == NULL || out == NULL)
    {
      printf ("  device echo: the device registered no JACK ports\n");
      return FALSE;
    }
  bm_run_for (500);
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
gboolean
bm_run_latency (Meter *m)
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
          bm_impulses, BURST_MS, BURST_HZ, 20 * log10 (DETECT_LEVEL));
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
