/* kc-audio-device.c: the microphone and speaker of a call, through PortAudio.
 *
 * One full-duplex PortAudio stream per device. Its callback runs on the
 * host's real-time thread (JACK's process thread, ALSA's callback thread) and
 * touches only a KcAudioShared: two KcRing buffers and a few atomics, no lock,
 * no allocation, no GLib call. After each period it wakes the main loop with
 * one write to an eventfd (non-blocking, as JACK's own clients signal each
 * other each cycle): the main loop then runs once per period, when a frame
 * is there, instead of polling the rings on a timer (twice as many wake-ups,
 * and a captured frame waited 5 ms on average). A slow timer still checks
 * that the stream runs.
 *
 * Loading PortAudio, its device list and reloading it are
 * kc-audio-devices.c's; a device object made before a reload finds its
 * device again by name when it starts.
 */
#define G_LOG_DOMAIN "keycall-audio"

#include "config.h"

#include "kc-audio-device-private.h"
#include "kc-error.h"
#include "kc-ring.h"

#include <pa_jack.h>
#include <portaudio.h>

#include <errno.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A period with no callback for this long means the device is gone even if
 * PortAudio still calls the stream active (a hung sound server). */
#define KC_AUDIO_STALL_MS 2000

/* What the real-time callback may touch. Owned by the device; abandoned
 * (never freed) together with a stream that cannot be closed safely. */
typedef struct {
  KcRing       *capture;
  KcRing       *playback;
  atomic_ulong  periods;
  atomic_ulong  xruns;
  atomic_ulong  bad_period;        /* frame count of a period we could not take */
  atomic_int    finished;          /* PortAudio's stream-finished callback ran */
  atomic_uint   min_left;          /* fewest frames left queued after a period */
  int           wake_fd;           /* eventfd the callback writes after each period */
} KcAudioShared;

struct _KcAudioDevice
{
  GObject        parent_instance;

  char          *name;
  char          *host_api;
  int            index;
  gboolean       is_jack;
  double         input_latency;
  double         output_latency;

  KcAudioShared *shared;
  PaStream      *stream;
  GSource       *poll_source;      /* health checks, every KC_AUDIO_CHECK_MS */
  GSource       *wake_source;      /* the callback's eventfd */
  gboolean       running;
  gboolean       holds_pa;
  guint          generation;       /* of PortAudio's device list, for index */
  guint64        last_periods;
  gint64         last_progress_us;
  gint16         frame[KC_AUDIO_FRAME_SAMPLES];
};

enum {
  SIGNAL_FRAME,
  SIGNAL_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (KcAudioDevice, kc_audio_device, G_TYPE_OBJECT)

/* ---- The real-time side ---- */

static int
on_process (const void                      *input,
            void                            *output,
            unsigned long                    n_frames,
            const PaStreamCallbackTimeInfo  *time_info,
            PaStreamCallbackFlags            flags,
            void                            *user_data)
{
  KcAudioShared *shared = user_data;

  /* PortAudio adapts the host's period to the 960 frames asked for; anything
   * else would overrun the rings' frames, so stop instead. */
  if (G_UNLIKELY (n_frames != KC_AUDIO_FRAME_SAMPLES))
    {
      atomic_store_explicit (&shared->bad_period, n_frames, memory_order_relaxed);
      return paAbort;
    }
  if (input != NULL)
    kc_ring_push (shared->capture, input);
  if (output != NULL)
    {
      guint left;

      if (!kc_ring_pop (shared->playback, output))
        memset (output, 0, KC_AUDIO_FRAME_SAMPLES * sizeof (gint16));
      /* Only this thread lowers it; the main thread resets it. */
      left = kc_ring_readable (shared->playback);
      if (left < atomic_load_explicit (&shared->min_left, memory_order_relaxed))
        atomic_store_explicit (&shared->min_left, left, memory_order_relaxed);
    }
  if (flags & (paInputUnderflow | paInputOverflow | paOutputUnderflow | paOutputOverflow))
    atomic_fetch_add_explicit (&shared->xruns, 1, memory_order_relaxed);
  atomic_fetch_add_explicit (&shared->periods, 1, memory_order_release);
  if (shared->wake_fd >= 0)
    {
      uint64_t one = 1;

      /* Cannot block: at worst EAGAIN when the counter is full, and the
       * main loop has wake-ups pending then anyway. */
      ssize_t n G_GNUC_UNUSED = write (shared->wake_fd, &one, sizeof one);
    }
  return paContinue;
}

static void
on_stream_finished (void *user_data)
{
  KcAudioShared *shared = user_data;

  atomic_store_explicit (&shared->finished, 1, memory_order_release);
}

static KcAudioShared *
shared_new (void)
{
  KcAudioShared *shared = g_new0 (KcAudioShared, 1);

  shared->capture = kc_ring_new (KC_AUDIO_FRAME_SAMPLES, KC_AUDIO_RING_FRAMES);
  shared->playback = kc_ring_new (KC_AUDIO_FRAME_SAMPLES, KC_AUDIO_RING_FRAMES);
  atomic_init (&shared->min_left, G_MAXUINT);
  /* Without one (out of descriptors) the health timer polls the rings. */
  shared->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (shared->wake_fd < 0)
    g_debug ("no eventfd (%s): polling the audio rings every %d ms",
             g_strerror (errno), KC_AUDIO_CHECK_MS);
  return shared;
}

static void
shared_free (KcAudioShared *shared)
{
  if (shared == NULL)
    return;
  kc_ring_free (shared->capture);
  kc_ring_free (shared->playback);
  if (shared->wake_fd >= 0)
    close (shared->wake_fd);
  g_free (shared);
}

/* ---- The main-loop side ---- */

/* Ends the stream after it stopped by itself. A JACK stream whose server
 * died or hung cannot be closed (see jack_lost in kc-audio-devices.c): it
 * is left alone, with the buffers its callback may still touch, for the rest
 * of the process (some 70 KB). */
static void
release_dead_stream (KcAudioDevice *self)
{
  gboolean callback_ended = atomic_load_explicit (&self->shared->finished,
                                                  memory_order_acquire);

  if (self->is_jack && !callback_ended)
    {
      g_debug ("abandoning the stream of “%s”: its JACK server is gone", self->name);
      self->stream = NULL;
      self->shared = shared_new ();
      kc_audio_stream_abandoned ();
      return;
    }
  Pa_CloseStream (self->stream);
  self->stream = NULL;
  kc_audio_stream_closed ();
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
stop_polling (KcAudioDevice *self)
{
  self->running = FALSE;
  destroy_source (&self->poll_source);
  destroy_source (&self->wake_source);
}

static void fail (KcAudioDevice *self, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (KcAudioDevice *self,
      const char    *format,
      ...)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  va_list args;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);

  stop_polling (self);
  release_dead_stream (self);
  error = g_error_new (KC_ERROR, KC_ERROR_IO,
                       "Audio stopped: the device “%s” (%s) %s. Check that it is "
                       "connected and its sound server runs, then start audio again "
                       "or choose another device.",
                       self->name, self->host_api, reason);
  g_debug ("%s", error->message);
  g_signal_emit (self, signals[SIGNAL_FAILED], 0, error);
}

/* How long the callback has not run, as far as the polls saw. */
static gint64
silent_for_us (KcAudioDevice *self)
{
  guint64 periods = atomic_load_explicit (&self->shared->periods, memory_order_acquire);
  gint64 now = g_get_monotonic_time ();

  if (periods != self->last_periods)
    {
      self->last_periods = periods;
      self->last_progress_us = now;
    }
  return now - self->last_progress_us;
}

/* Hands out the captured frames; FALSE when a handler stopped the device. */
static gboolean
take_frames (KcAudioDevice *self)
{
  KcAudioShared *shared = self->shared;

  while (self->running && kc_ring_readable (shared->capture) > 0)
    {
      kc_ring_pop (shared->capture, self->frame);
      g_signal_emit (self, signals[SIGNAL_FRAME], 0, self->frame);
    }
  return self->running;
}

static gboolean
on_wake (int           fd,
         GIOCondition  condition,
         gpointer      user_data)
{
  g_autoptr(KcAudioDevice) self = g_object_ref (KC_AUDIO_DEVICE (user_data));
  uint64_t count;

  (void) condition;
  /* Resets the counter; the rings say how many frames there are. */
  if (read (fd, &count, sizeof count) < 0 && errno != EAGAIN)
    g_debug ("reading the audio wake-up: %s", g_strerror (errno));
  return take_frames (self) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
on_poll (gpointer user_data)
{
  g_autoptr(KcAudioDevice) self = g_object_ref (KC_AUDIO_DEVICE (user_data));
  KcAudioShared *shared = self->shared;
  PaError active;

  /* Frames the wake-up missed (none, unless there is no eventfd). */
  if (!take_frames (self))
    return G_SOURCE_REMOVE;

  active = Pa_IsStreamActive (self->stream);
  if (active < 0)
    {
      fail (self, "reported an error: %s", Pa_GetErrorText (active));
      return G_SOURCE_REMOVE;
    }
  if (active == 0)
    {
      gulong bad = atomic_load_explicit (&shared->bad_period, memory_order_relaxed);

      if (bad != 0)
        fail (self, "delivered %lu-sample periods instead of %u", bad, KC_AUDIO_FRAME_SAMPLES);
      else
        fail (self, "stopped running (unplugged, or its sound server quit)");
      return G_SOURCE_REMOVE;
    }

  if (silent_for_us (self) > KC_AUDIO_STALL_MS * G_TIME_SPAN_MILLISECOND)
    {
      fail (self, "sent no audio for %d ms", KC_AUDIO_STALL_MS);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static KcAudioDevice *
device_new (PaDeviceIndex index)
{
  KcAudioDevice *self = g_object_new (KC_TYPE_AUDIO_DEVICE, NULL);
  const PaDeviceInfo *info = Pa_GetDeviceInfo (index);
  const PaHostApiInfo *api = Pa_GetHostApiInfo (info->hostApi);

  self->holds_pa = TRUE;
  self->index = index;
  self->generation = kc_audio_get_generation ();
  self->name = g_strdup (info->name);
  self->host_api = g_strdup (api ? api->name : "?");
  self->is_jack = api != NULL && api->type == paJACK;
  return self;
}

/**
 * kc_audio_device_new:
 * @name: (nullable): part of a device name (case-insensitive), or %NULL or ""
 *   for the default device (JACK's when a JACK server runs)
 *
 * Picks a device that can both capture and play; the stream opens at
 * kc_audio_device_start(). An exact name beats a substring, a JACK device
 * beats the same name elsewhere.
 *
 * Returns: (transfer full): the device, or %NULL with KC_ERROR_NOT_FOUND (the
 *   message lists the devices there are) or KC_ERROR_IO
 */
KcAudioDevice *
kc_audio_device_new (const char  *name,
                     GError     **error)
{
  PaDeviceIndex index;
  gboolean found_half = FALSE;

  if (!kc_audio_pa_ref (error))
    return NULL;

  if (name == NULL || *name == '\0')
    index = kc_audio_default_device ();
  else
    index = kc_audio_find_device_by_name (name, &found_half);

  if (index == paNoDevice)
    {
      g_autofree char *devices = kc_audio_describe_devices ();

      if (name == NULL || *name == '\0')
        g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                     "No audio device can both capture and play. Devices: %s", devices);
      else if (found_half)
        g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                     "The audio device “%s” cannot both capture and play; choose one "
                     "that can. Devices: %s", name, devices);
      else
        g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                     "No audio device is named like “%s”. Devices: %s", name, devices);
      kc_audio_pa_unref ();
      return NULL;
    }
  return device_new (index);
}

/**
 * kc_audio_device_new_for_index:
 * @index: a PortAudio device index, as kc_audio_list_devices() gave it
 *
 * Returns: (transfer full): the device, or %NULL with KC_ERROR_NOT_FOUND
 */
KcAudioDevice *
kc_audio_device_new_for_index (int      index,
                               GError **error)
{
  if (!kc_audio_pa_ref (error))
    return NULL;

  if (index < 0 || index >= Pa_GetDeviceCount () || !kc_audio_is_duplex (index))
    {
      g_autofree char *devices = kc_audio_describe_devices ();

      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                   "No audio device #%d that can both capture and play. Devices: %s",
                   index, devices);
      kc_audio_pa_unref ();
      return NULL;
    }
  return device_new (index);
}

const char *
kc_audio_device_get_name (KcAudioDevice *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), NULL);
  return self->name;
}

const char *
kc_audio_device_get_host_api (KcAudioDevice *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), NULL);
  return self->host_api;
}

int
kc_audio_device_get_index (KcAudioDevice *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), -1);
  return self->index;
}

/**
 * kc_audio_device_get_jack_client_name:
 *
 * Our client's name in the JACK graph (ports "<name>:in_0", "<name>:out_0"
 * while started), to route audio with jack_connect.
 *
 * Returns: (nullable): the name, or %NULL when the device is not a JACK one
 */
const char *
kc_audio_device_get_jack_client_name (KcAudioDevice *self)
{
  const char *name = NULL;

  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), NULL);

  if (!self->is_jack || PaJack_GetClientName (&name) != paNoError)
    return NULL;
  return name;
}

/* PortAudio was reloaded since @self was made: its index may name another
 * device now, or none. The same name on the same host API is the device. */
static gboolean
find_again (KcAudioDevice  *self,
            GError        **error)
{
  int count = Pa_GetDeviceCount ();

  for (int i = 0; i < count; i++)
    {
      const PaDeviceInfo *info = Pa_GetDeviceInfo (i);
      const PaHostApiInfo *api = info ? Pa_GetHostApiInfo (info->hostApi) : NULL;

      if (kc_audio_is_duplex (i) && api != NULL && g_strcmp0 (info->name, self->name) == 0
          && g_strcmp0 (api->name, self->host_api) == 0)
        {
          self->index = i;
          self->generation = kc_audio_get_generation ();
          return TRUE;
        }
    }
  g_autofree char *devices = kc_audio_describe_devices ();
  g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
               "The audio device “%s” (%s) is gone (unplugged, or its sound server "
               "stopped); choose another. Devices: %s", self->name, self->host_api,
               devices);
  return FALSE;
}

/**
 * kc_audio_device_start:
 *
 * Opens and starts the stream, and polls it from the thread-default main
 * context. Frames written before the start are played first.
 *
 * Returns: %FALSE with KC_ERROR_IO when the device refuses the stream
 */
gboolean
kc_audio_device_start (KcAudioDevice  *self,
                       GError        **error)
{
  const PaDeviceInfo *info;
  const PaStreamInfo *stream_info;
  PaStreamParameters in = { 0 }, out = { 0 };
  PaStream *stream = NULL;
  PaError err;
  g_autoptr(GMainContext) context = NULL;

  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->running)
    return TRUE;
  if (self->is_jack && kc_audio_jack_is_lost ())
    {
      /* Opening would fail anyway, with PortAudio's "Insufficient memory". */
      g_set_error (error, KC_ERROR, KC_ERROR_IO,
                   "Cannot open the audio device “%s” (%s): its JACK server quit or hung "
                   "earlier, and JACK audio needs Keycall to be restarted after that.",
                   self->name, self->host_api);
      return FALSE;
    }

  if (self->generation != kc_audio_get_generation () && !find_again (self, error))
    return FALSE;
  info = Pa_GetDeviceInfo (self->index);
  in.device = out.device = self->index;
  in.channelCount = out.channelCount = 1;
  in.sampleFormat = out.sampleFormat = paInt16;
  in.suggestedLatency = info->defaultLowInputLatency;
  out.suggestedLatency = info->defaultLowOutputLatency;

  /* No dither: voice through a 16-bit codec gains nothing from it, and
   * without it a digital loopback is bit-exact (the tests rely on it). */
  err = Pa_OpenStream (&stream, &in, &out, KC_AUDIO_RATE, KC_AUDIO_FRAME_SAMPLES,
                       paDitherOff, on_process, self->shared);
  if (err == paNoError)
    {
      Pa_SetStreamFinishedCallback (stream, on_stream_finished);
      atomic_store (&self->shared->finished, 0);
      atomic_store (&self->shared->bad_period, 0);
      err = Pa_StartStream (stream);
      if (err != paNoError)
        Pa_CloseStream (stream);
    }
  if (err != paNoError)
    {
      g_autofree char *text = kc_audio_pa_error_text (err);

      if (err == paInvalidSampleRate)
        g_set_error (error, KC_ERROR, KC_ERROR_IO,
                     "The audio device “%s” (%s) cannot run at %d Hz (it runs at %.0f Hz): "
                     "set its sound server to %d Hz or choose another device.",
                     self->name, self->host_api, KC_AUDIO_RATE, info->defaultSampleRate,
                     KC_AUDIO_RATE);
      else
        g_set_error (error, KC_ERROR, KC_ERROR_IO,
                     "Cannot open the audio device “%s” (%s) for 48 kHz mono: %s",
                     self->name, self->host_api, text);
      return FALSE;
    }

  self->stream = stream;
  kc_audio_stream_opened ();
  stream_info = Pa_GetStreamInfo (stream);
  self->input_latency = stream_info ? stream_info->inputLatency : 0;
  self->output_latency = stream_info ? stream_info->outputLatency : 0;
  self->running = TRUE;
  self->last_periods = atomic_load (&self->shared->periods);
  self->last_progress_us = g_get_monotonic_time ();

  context = g_main_context_ref_thread_default ();
  self->poll_source = g_timeout_source_new (self->shared->wake_fd >= 0 ? KC_AUDIO_CHECK_MS
                                                                       : KC_AUDIO_FRAME_MS / 2);
  g_source_set_name (self->poll_source, "[keycall] audio device check");
  g_source_set_callback (self->poll_source, on_poll, self, NULL);
  g_source_attach (self->poll_source, context);
  if (self->shared->wake_fd >= 0)
    {
      self->wake_source = g_unix_fd_source_new (self->shared->wake_fd, G_IO_IN);
      g_source_set_name (self->wake_source, "[keycall] audio device period");
      g_source_set_callback (self->wake_source, G_SOURCE_FUNC (on_wake), self, NULL);
      /* Else GLib takes the fd out of the poll set and back in around each
       * dispatch, waking its own context twice a period to say so; the
       * "frame" handlers run no nested main loop. */
      g_source_set_can_recurse (self->wake_source, TRUE);
      g_source_attach (self->wake_source, context);
    }
  g_debug ("started “%s” (%s), latency in %.1f ms, out %.1f ms", self->name,
           self->host_api, self->input_latency * 1000, self->output_latency * 1000);
  return TRUE;
}

/**
 * kc_audio_device_stop:
 *
 * Stops and closes the stream; frames still queued either way are dropped.
 * Safe to call when stopped, or after "failed".
 */
void
kc_audio_device_stop (KcAudioDevice *self)
{
  g_return_if_fail (KC_IS_AUDIO_DEVICE (self));

  if (!self->running)
    return;
  stop_polling (self);

  /* A stream that already died (between two polls) must not be stopped:
   * see release_dead_stream(). Nor a JACK one silent for ten periods: its
   * server hangs, and Pa_StopStream would wait for it. */
  if (Pa_IsStreamActive (self->stream) == 1
      && !(self->is_jack && silent_for_us (self) > 10 * KC_AUDIO_FRAME_MS * G_TIME_SPAN_MILLISECOND))
    {
      Pa_StopStream (self->stream);
      Pa_CloseStream (self->stream);
      self->stream = NULL;
      /* No callback any more: this thread is both sides of both rings now. */
      kc_ring_drop (self->shared->capture);
      kc_ring_drop (self->shared->playback);
      kc_audio_stream_closed ();
      return;
    }
  release_dead_stream (self);
  kc_ring_drop (self->shared->capture);
  kc_ring_drop (self->shared->playback);
}

gboolean
kc_audio_device_is_running (KcAudioDevice *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), FALSE);
  return self->running;
}

/**
 * kc_audio_device_write:
 * @frame: %KC_AUDIO_FRAME_SAMPLES samples to play after those queued
 *
 * Returns: %FALSE when %KC_AUDIO_RING_FRAMES frames are already waiting (the
 *   frame is dropped and counted in playback_overruns)
 */
gboolean
kc_audio_device_write (KcAudioDevice *self,
                       const gint16  *frame)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  return kc_ring_push (self->shared->playback, frame);
}

/* Frames waiting to be played: the part of the output latency that is ours. */
guint
kc_audio_device_take_playback_slack (KcAudioDevice *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), G_MAXUINT);
  return atomic_exchange_explicit (&self->shared->min_left, G_MAXUINT, memory_order_relaxed);
}

guint
kc_audio_device_get_queued (KcAudioDevice *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_DEVICE (self), 0);
  return kc_ring_get_capacity (self->shared->playback) - kc_ring_writable (self->shared->playback);
}

void
kc_audio_device_get_stats (KcAudioDevice *self,
                           KcAudioStats  *stats)
{
  g_return_if_fail (KC_IS_AUDIO_DEVICE (self));
  g_return_if_fail (stats != NULL);

  stats->periods = atomic_load (&self->shared->periods);
  stats->capture_overruns = kc_ring_get_overruns (self->shared->capture);
  stats->playback_underruns = kc_ring_get_underruns (self->shared->playback);
  stats->playback_overruns = kc_ring_get_overruns (self->shared->playback);
  stats->xruns = atomic_load (&self->shared->xruns);
  stats->input_latency = self->input_latency;
  stats->output_latency = self->output_latency;
}

static void
kc_audio_device_dispose (GObject *object)
{
  KcAudioDevice *self = KC_AUDIO_DEVICE (object);

  kc_audio_device_stop (self);
  G_OBJECT_CLASS (kc_audio_device_parent_class)->dispose (object);
}

static void
kc_audio_device_finalize (GObject *object)
{
  KcAudioDevice *self = KC_AUDIO_DEVICE (object);

  shared_free (self->shared);
  g_free (self->name);
  g_free (self->host_api);
  if (self->holds_pa)
    kc_audio_pa_unref ();
  G_OBJECT_CLASS (kc_audio_device_parent_class)->finalize (object);
}

static void
kc_audio_device_class_init (KcAudioDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_audio_device_dispose;
  object_class->finalize = kc_audio_device_finalize;

  /**
   * KcAudioDevice::frame:
   * @samples: (type gpointer): %KC_AUDIO_FRAME_SAMPLES captured samples
   *   (const gint16 *), valid during the emission only
   */
  signals[SIGNAL_FRAME] =
    g_signal_new ("frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, g_cclosure_marshal_VOID__POINTER,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);

  /**
   * KcAudioDevice::failed:
   * @error: why audio stopped (KC_ERROR_IO), for the person on the call
   *
   * The stream ended without kc_audio_device_stop(); the device is stopped.
   */
  signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, g_cclosure_marshal_VOID__BOXED,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
kc_audio_device_init (KcAudioDevice *self)
{
  self->index = paNoDevice;
  self->shared = shared_new ();
}
