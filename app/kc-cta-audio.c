/* kc-cta-audio.c: a call's audio ends and their 20 ms clock. */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-audio.h"
#include "kc-audio-device.h"
#include "kc-audio-file.h"
#include "kc-error.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* Ticks a timer may make up at once after the main loop was held up;
 * more than this is dropped rather than sent in a burst. */
#define MAX_CATCH_UP 5
/* Ticks (periods) a standing lag may last before a frame is skipped. */
#define BACKLOG_TICKS 5
/* The cushion (frames a period may leave over without counting as lag):
 * a call starts with INITIAL_CUSHION (one frame of silence ahead of the
 * first), which grows by one, up to MAX_CUSHION, each time the device runs
 * dry mid-call and shrinks by one after CUSHION_DECAY_TICKS without that.
 * The start is when a busy machine (codecs starting, the other end's
 * first packets) is likeliest to miss a period; on a quiet machine and
 * network playout settles at the minimum, on a busy one it trades 20 ms of
 * latency for no gaps. */
#define INITIAL_CUSHION 1
#define MAX_CUSHION 2
#define WARM_UP_TICKS 50
#define CUSHION_DECAY_TICKS 500

struct _KcCtaAudio {
  KcMediaStream     *stream;
  KcCtaAudioKind     in_kind;
  KcCtaAudioKind     out_kind;
  char              *in_target;
  char              *out_target;

  KcAudioDevice     *device;
  KcAudioFileReader *reader;
  KcAudioFileWriter *writer;
  gboolean           input_ended;

  GSource           *timer;            /* the clock without a device */
  gint64             started_us;
  atomic_ullong      ticks;
  gulong             frame_handler;
  gulong             failed_handler;
  gboolean           playing;            /* frames go to the device from the decoder */

  gboolean           muted;
  atomic_bool        paused;             /* on hold: nothing sent, nothing played */
  double             input_dbfs;
  _Atomic double     output_dbfs;

  /* Playout to a device: deliver() runs in the decoder's thread, as each
   * frame is decoded (kc_media_stream_set_frame_func()), and the main
   * loop's tick() watches the device; what both touch is atomic. A race
   * between them costs at most one frame skipped more or less. */
  atomic_uint        backlog_ticks;
  atomic_ullong      dropped_late;
  atomic_uint        cushion;
  guint64            last_underrun_tick;
  guint64            underruns_seen;     /* the device's count when we last looked */
  guint64            underruns;          /* while frames were arriving */
  atomic_bool        delivering;         /* a frame has been played */
  atomic_ullong      delivering_since;   /* tick of the first */
};

#define SILENCE_DBFS -100.0

static double
level_dbfs (const gint16 *frame)
{
  /* Integer squares: exact (a frame's sum stays under 2^40) and cheaper
   * than doubles, twice every 20 ms. */
  gint64 sum = 0;

  for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
    sum += (gint32) frame[i] * frame[i];
  if (sum == 0)
    return SILENCE_DBFS;
  return MAX (SILENCE_DBFS,
              10 * log10 ((double) sum / KC_AUDIO_FRAME_SAMPLES / (32768.0 * 32768.0)));
}

gboolean
kc_cta_audio_parse_spec (const char      *spec,
                         const char      *option,
                         KcCtaAudioKind  *kind,
                         char           **target,
                         GError         **error)
{
  *target = NULL;
  if (spec == NULL || g_str_equal (spec, "none")) {
    *kind = KC_CTA_AUDIO_NONE;
    return TRUE;
  }
  if (g_str_equal (spec, "default")) {
    *kind = KC_CTA_AUDIO_DEVICE;
    return TRUE;
  }
  if (g_str_has_prefix (spec, "device:")) {
    *kind = KC_CTA_AUDIO_DEVICE;
    spec += strlen ("device:");
  } else {
    *kind = KC_CTA_AUDIO_FILE;
    if (g_str_has_prefix (spec, "file:"))
      spec += strlen ("file:");
  }
  if (*spec == '\0') {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s needs a %s after the colon", option,
                 *kind == KC_CTA_AUDIO_DEVICE ? "device name or index" : "file name");
    return FALSE;
  }
  *target = g_strdup (spec);
  return TRUE;
}

/* The clock ------------------------------------------------------------- */

static void
write_output (KcCtaAudio   *self,
              const gint16 *frame)
{
  g_autoptr(GError) error = NULL;

  if (self->writer != NULL && !kc_audio_file_writer_write_frame (self->writer, frame, &error)) {
    g_warning ("Audio: writing %s failed, received audio is no longer recorded: %s",
               self->out_target, error->message);
    kc_audio_file_writer_free (g_steal_pointer (&self->writer));
  }
}

/* Every decoded frame goes to the device as soon as it is there, from the
 * decoder's thread (the device's queue is the playout buffer): the main
 * loop neither waits for the decoder nor is woken once more per packet.
 * When every period for BACKLOG_TICKS ticks left a frame over (frames that
 * arrived before the device started, or after a stall), that lag would
 * last the whole call: one frame is skipped per tick until it is gone; a
 * burst after network jitter drains by itself and is left alone. Runs
 * under the decoder's lock: kc_cta_audio_free() and a failed device clear
 * the frame function, which waits for it, before the device goes. */
static void
deliver (const gint16 *frame,
         gpointer      user_data)
{
  KcCtaAudio *self = user_data;

  if (atomic_load_explicit (&self->paused, memory_order_relaxed))
    return;    /* on hold: dropped, so that resuming does not play it late */
  if (atomic_load_explicit (&self->backlog_ticks, memory_order_relaxed) >= BACKLOG_TICKS) {
    /* One frame skipped per tick while the lag lasts. */
    atomic_fetch_add_explicit (&self->dropped_late, 1, memory_order_relaxed);
    atomic_store_explicit (&self->backlog_ticks, BACKLOG_TICKS - 1, memory_order_relaxed);
    return;
  }
  if (!atomic_load_explicit (&self->delivering, memory_order_relaxed)) {
    gint16 silence[KC_AUDIO_FRAME_SAMPLES] = { 0, };
    guint cushion = atomic_load_explicit (&self->cushion, memory_order_relaxed);

    for (guint i = 0; i < cushion; i++)
      kc_audio_device_write (self->device, silence);
    atomic_store_explicit (&self->delivering_since,
                           atomic_load_explicit (&self->ticks, memory_order_relaxed),
                           memory_order_relaxed);
    atomic_store_explicit (&self->delivering, TRUE, memory_order_release);
  }
  kc_audio_device_write (self->device, frame);
  atomic_store_explicit (&self->output_dbfs, level_dbfs (frame), memory_order_relaxed);
}

static void
adapt_cushion (KcCtaAudio *self,
               guint64     ticks)
{
  KcAudioStats st;
  guint cushion = atomic_load_explicit (&self->cushion, memory_order_relaxed);

  kc_audio_device_get_stats (self->device, &st);
  /* Periods played as silence before the first frame, and in the first
   * second while the codecs and both ends' clocks settle, are the call's
   * start, not a sign of a busy machine. */
  if (atomic_load_explicit (&self->delivering, memory_order_acquire)
      && ticks - atomic_load_explicit (&self->delivering_since, memory_order_relaxed)
         > WARM_UP_TICKS
      && st.playback_underruns > self->underruns_seen) {
    self->underruns += st.playback_underruns - self->underruns_seen;
    atomic_store_explicit (&self->cushion, MIN (cushion + 1, MAX_CUSHION),
                           memory_order_relaxed);
    self->last_underrun_tick = ticks;
  } else if (cushion > 0 && ticks - self->last_underrun_tick > CUSHION_DECAY_TICKS) {
    atomic_store_explicit (&self->cushion, cushion - 1, memory_order_relaxed);
    self->last_underrun_tick = ticks;
  }
  self->underruns_seen = st.playback_underruns;
}

/* The frames themselves go to the device from the decoder (deliver());
 * the tick watches how far behind playout is. */
static void
watch_playout (KcCtaAudio *self,
               guint64     ticks)
{
  guint slack = kc_audio_device_take_playback_slack (self->device);
  guint backlog = atomic_load_explicit (&self->backlog_ticks, memory_order_relaxed);

  adapt_cushion (self, ticks);
  /* Behind: every period of the last tick left more than the cushion
   * over (a device that did not run since the last tick says nothing). */
  if (slack != G_MAXUINT)
    atomic_store_explicit (&self->backlog_ticks,
                           slack > atomic_load_explicit (&self->cushion, memory_order_relaxed)
                           ? backlog + 1 : 0,
                           memory_order_relaxed);
}

/* One 20 ms period: @captured is the device's frame, or NULL. */
static void
tick (KcCtaAudio   *self,
      const gint16 *captured)
{
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  const gint16 *send = frame;
  guint64 ticks = atomic_fetch_add_explicit (&self->ticks, 1, memory_order_relaxed) + 1;

  if (self->in_kind == KC_CTA_AUDIO_DEVICE && captured != NULL) {
    send = captured;
  } else if (self->reader != NULL && !self->input_ended) {
    g_autoptr(GError) error = NULL;

    if (!kc_audio_file_reader_read_frame (self->reader, frame, &error)) {
      if (error != NULL)
        g_warning ("Audio: reading %s failed, sending silence: %s", self->in_target,
                   error->message);
      else
        g_message ("Audio: %s has ended; sending silence", self->in_target);
      self->input_ended = TRUE;
      memset (frame, 0, sizeof frame);
    }
  } else {
    memset (frame, 0, sizeof frame);
  }
  if (self->muted) {
    memset (frame, 0, sizeof frame);
    send = frame;
  }
  if (atomic_load_explicit (&self->paused, memory_order_relaxed)) {
    /* Drain what arrives so that resuming does not play it late. */
    self->input_dbfs = SILENCE_DBFS;
    atomic_store_explicit (&self->output_dbfs, SILENCE_DBFS, memory_order_relaxed);
    while (kc_media_stream_receive_frame (self->stream, frame))
      ;
    memset (frame, 0, sizeof frame);
    if (!self->playing)
      write_output (self, frame);
    return;
  }
  self->input_dbfs = level_dbfs (send);
  kc_media_stream_send_frame (self->stream, send);

  if (self->playing) {
    watch_playout (self, ticks);
    return;
  }
  /* A file gets exactly one frame per period, silence for a gap, so its
   * time line is the call's. */
  if (!kc_media_stream_receive_frame (self->stream, frame))
    memset (frame, 0, sizeof frame);
  atomic_store_explicit (&self->output_dbfs, level_dbfs (frame), memory_order_relaxed);
  write_output (self, frame);
}

static void
on_device_frame (KcAudioDevice *device,
                 gpointer       samples,
                 gpointer       user_data)
{
  (void) device;
  tick (user_data, samples);
}

static gboolean
on_timer (gpointer user_data)
{
  KcCtaAudio *self = user_data;
  gint64 due = (g_get_monotonic_time () - self->started_us) / (KC_AUDIO_FRAME_MS * 1000) + 1;
  int n = 0;

  if ((gint64) self->ticks + MAX_CATCH_UP < due)
    self->ticks = (guint64) (due - MAX_CATCH_UP);
  while ((gint64) self->ticks < due && n++ < MAX_CATCH_UP)
    tick (self, NULL);
  /* Tick N is due N periods after the start: waking at exactly that time
   * (GLib rounds to the millisecond) is one wake-up a period and never
   * drifts, where a plain timeout restarts from each dispatch. */
  g_source_set_ready_time (self->timer,
                           self->started_us + (gint64) self->ticks * KC_AUDIO_FRAME_MS * 1000);
  return G_SOURCE_CONTINUE;
}

static gboolean
clock_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  (void) source;
  return callback (user_data);
}

static GSourceFuncs clock_funcs = { .dispatch = clock_dispatch };

static void
start_timer (KcCtaAudio *self)
{
  self->started_us = g_get_monotonic_time ();
  self->ticks = 0;
  self->timer = g_source_new (&clock_funcs, sizeof (GSource));
  g_source_set_name (self->timer, "[keycall] call audio clock");
  g_source_set_callback (self->timer, on_timer, self, NULL);
  g_source_set_ready_time (self->timer, self->started_us);
  g_source_attach (self->timer, NULL);
}

static void
stop_timer (KcCtaAudio *self)
{
  if (self->timer != NULL) {
    g_source_destroy (self->timer);
    g_clear_pointer (&self->timer, g_source_unref);
  }
}

/* After this, no frame goes to the device from the decoder's thread, and
 * received frames wait for tick() (which throws them away without a
 * device or writes them to the output file). */
static void
stop_playing (KcCtaAudio *self)
{
  if (self->playing) {
    kc_media_stream_set_frame_func (self->stream, NULL, NULL);
    self->playing = FALSE;
  }
}

static void
on_device_failed (KcAudioDevice *device,
                  GError        *error,
                  gpointer       user_data)
{
  KcCtaAudio *self = user_data;

  g_warning ("Audio: the sound device “%s” stopped: %s. The call goes on without sound "
             "from this device.", kc_audio_device_get_name (device), error->message);
  stop_playing (self);
  g_clear_signal_handler (&self->frame_handler, device);
  g_clear_signal_handler (&self->failed_handler, device);
  g_clear_object (&self->device);
  start_timer (self);
}

/* Opening --------------------------------------------------------------- */

static KcAudioDevice *
open_device (const char *target,
             GError    **error)
{
  char *end = NULL;
  gint64 index;

  if (target != NULL && *target != '\0') {
    index = g_ascii_strtoll (target, &end, 10);
    if (end != NULL && *end == '\0' && index >= 0 && index < G_MAXINT)
      return kc_audio_device_new_for_index ((int) index, error);
  }
  return kc_audio_device_new (target, error);
}

KcCtaAudio *
kc_cta_audio_new (const char     *input,
                  const char     *output,
                  KcMediaStream  *stream,
                  GError        **error)
{
  g_autoptr(KcCtaAudio) self = g_new0 (KcCtaAudio, 1);

  g_return_val_if_fail (KC_IS_MEDIA_STREAM (stream), NULL);

  self->stream = g_object_ref (stream);
  self->input_dbfs = self->output_dbfs = SILENCE_DBFS;
  self->cushion = INITIAL_CUSHION;
  if (!kc_cta_audio_parse_spec (input, "--audio-in", &self->in_kind, &self->in_target, error)
      || !kc_cta_audio_parse_spec (output, "--audio-out", &self->out_kind, &self->out_target,
                                   error))
    return NULL;

  if (self->in_kind == KC_CTA_AUDIO_DEVICE && self->out_kind == KC_CTA_AUDIO_DEVICE
      && g_strcmp0 (self->in_target, self->out_target) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The input (%s) and output (%s) are different sound devices; a call uses "
                 "one device for both", self->in_target ? self->in_target : "default",
                 self->out_target ? self->out_target : "default");
    return NULL;
  }
  if (self->in_kind == KC_CTA_AUDIO_FILE) {
    self->reader = kc_audio_file_reader_new (self->in_target, FALSE, error);
    if (self->reader == NULL)
      return NULL;
  }
  if (self->out_kind == KC_CTA_AUDIO_FILE) {
    self->writer = kc_audio_file_writer_new (self->out_target, error);
    if (self->writer == NULL)
      return NULL;
  }
  if (self->in_kind == KC_CTA_AUDIO_DEVICE || self->out_kind == KC_CTA_AUDIO_DEVICE) {
    self->device = open_device (self->in_kind == KC_CTA_AUDIO_DEVICE ? self->in_target
                                                                     : self->out_target, error);
    if (self->device == NULL)
      return NULL;
    self->frame_handler = g_signal_connect (self->device, "frame",
                                            G_CALLBACK (on_device_frame), self);
    self->failed_handler = g_signal_connect (self->device, "failed",
                                             G_CALLBACK (on_device_failed), self);
    if (!kc_audio_device_start (self->device, error))
      return NULL;
    if (self->out_kind == KC_CTA_AUDIO_DEVICE) {
      self->playing = TRUE;
      kc_media_stream_set_frame_func (stream, deliver, self);
    }
  } else {
    start_timer (self);
  }
  return g_steal_pointer (&self);
}

void
kc_cta_audio_free (KcCtaAudio *self)
{
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    return;
  stop_timer (self);
  stop_playing (self);
  if (self->device != NULL) {
    g_clear_signal_handler (&self->frame_handler, self->device);
    g_clear_signal_handler (&self->failed_handler, self->device);
    kc_audio_device_stop (self->device);
    g_clear_object (&self->device);
  }
  g_clear_pointer (&self->reader, kc_audio_file_reader_free);
  if (self->writer != NULL && !kc_audio_file_writer_close (self->writer, &error))
    g_warning ("Audio: %s", error->message);
  g_clear_pointer (&self->writer, kc_audio_file_writer_free);
  g_clear_object (&self->stream);
  g_free (self->in_target);
  g_free (self->out_target);
  g_free (self);
}

void
kc_cta_audio_set_muted (KcCtaAudio *self,
                        gboolean    muted)
{
  g_return_if_fail (self != NULL);
  self->muted = muted;
}

void
kc_cta_audio_set_paused (KcCtaAudio *self,
                         gboolean    paused)
{
  atomic_store_explicit (&self->paused, !!paused, memory_order_relaxed);
}

void
kc_cta_audio_get_levels (KcCtaAudio *self,
                         double     *input_dbfs,
                         double     *output_dbfs)
{
  g_return_if_fail (self != NULL);
  if (input_dbfs != NULL)
    *input_dbfs = self->input_dbfs;
  if (output_dbfs != NULL)
    *output_dbfs = atomic_load_explicit (&self->output_dbfs, memory_order_relaxed);
}

void
kc_cta_audio_get_playout (KcCtaAudio *self,
                          guint64    *underruns,
                          guint64    *skipped)
{
  g_return_if_fail (self != NULL);
  if (underruns != NULL)
    *underruns = self->underruns;
  if (skipped != NULL)
    *skipped = atomic_load_explicit (&self->dropped_late, memory_order_relaxed);
}

const char *
kc_cta_audio_get_jack_client (KcCtaAudio *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->device != NULL ? kc_audio_device_get_jack_client_name (self->device) : NULL;
}

char *
kc_cta_audio_describe (KcCtaAudio *self,
                       gboolean    output)
{
  KcCtaAudioKind kind = output ? self->out_kind : self->in_kind;
  const char *client;

  switch (kind) {
  case KC_CTA_AUDIO_NONE:
    return g_strdup ("none");
  case KC_CTA_AUDIO_FILE:
    return g_strdup_printf ("file %s", output ? self->out_target : self->in_target);
  case KC_CTA_AUDIO_DEVICE:
  default:
    if (self->device == NULL)
      return g_strdup ("device (stopped)");
    client = kc_audio_device_get_jack_client_name (self->device);
    if (client != NULL)
      return g_strdup_printf ("device “%s” (%s, JACK client %s)",
                              kc_audio_device_get_name (self->device),
                              kc_audio_device_get_host_api (self->device), client);
    return g_strdup_printf ("device “%s” (%s)", kc_audio_device_get_name (self->device),
                            kc_audio_device_get_host_api (self->device));
  }
}
