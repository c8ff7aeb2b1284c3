/* kc-audio-monitor.c: tells when the sound devices change (kc-audio-monitor.h).
 *
 * Why these triggers and not a timer re-reading the list: loading PortAudio
 * probes every ALSA card and connects to JACK as a client, some tens of
 * milliseconds and a client appearing in the JACK graph each time; doing
 * that every few seconds for as long as a window is open costs more than
 * the list is worth. The system already says when devices change:
 * PulseAudio and PipeWire through GStreamer's device monitor (portable to
 * wherever GStreamer has a provider), the kernel through inotify on
 * /dev/snd when no sound server runs. What neither covers (a JACK server
 * started later) shows up the next time the list is read with no
 * KcAudioMonitor at all (PortAudio is loaded afresh per listing when
 * nothing holds it) or with kc_audio_monitor_poke().
 */
#define G_LOG_DOMAIN "keycall-audio"

#include "config.h"

#include "kc-audio-monitor.h"
#include "kc-audio-device.h"
#include "kc-gst-private.h"

#include <gio/gio.h>

/* A device plugged in makes several nodes and messages in a burst: one
 * reload for all of them. */
#define SETTLE_MS 500
/* Providers announce the devices already there when they start: not a
 * change. */
#define STARTUP_QUIET_MS 1000

struct _KcAudioMonitor
{
  GObject           parent_instance;

  GMainContext     *context;
  GstDeviceMonitor *gst_monitor;
  GSource          *bus_source;
  GFileMonitor     *snd_monitor;
  char             *snd_path;
  GSource          *settle;
  gulong            reload_id;
  gint64            started_us;
  char             *description;
};

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (KcAudioMonitor, kc_audio_monitor, G_TYPE_OBJECT)

static void
on_reloaded (gpointer user_data)
{
  g_signal_emit (KC_AUDIO_MONITOR (user_data), signals[SIGNAL_CHANGED], 0);
}

static gboolean
on_settled (gpointer user_data)
{
  KcAudioMonitor *self = KC_AUDIO_MONITOR (user_data);

  g_clear_pointer (&self->settle, g_source_unref);
  /* Reloaded now or when the last stream stops: on_reloaded() says when. */
  if (!kc_audio_refresh_devices ())
    g_debug ("sound devices changed; the list is re-read when the call's audio stops");
  return G_SOURCE_REMOVE;
}

static void
changed_soon (KcAudioMonitor *self)
{
  if (self->settle != NULL)
    return;
  self->settle = g_timeout_source_new (SETTLE_MS);
  g_source_set_name (self->settle, "[keycall] audio devices settle");
  g_source_set_callback (self->settle, on_settled, self, NULL);
  g_source_attach (self->settle, self->context);
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    user_data)
{
  KcAudioMonitor *self = KC_AUDIO_MONITOR (user_data);

  (void) bus;
  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_DEVICE_ADDED:
    case GST_MESSAGE_DEVICE_REMOVED:
    case GST_MESSAGE_DEVICE_CHANGED:
      if (g_get_monotonic_time () - self->started_us > STARTUP_QUIET_MS * G_TIME_SPAN_MILLISECOND)
        changed_soon (self);
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_snd_changed (GFileMonitor      *monitor,
                GFile             *file,
                GFile             *other,
                GFileMonitorEvent  event,
                gpointer           user_data)
{
  (void) monitor;
  (void) file;
  (void) other;
  if (event == G_FILE_MONITOR_EVENT_CREATED || event == G_FILE_MONITOR_EVENT_DELETED)
    changed_soon (KC_AUDIO_MONITOR (user_data));
}

static gboolean
start_gst (KcAudioMonitor *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GstBus) bus = NULL;

  if (!kc_gst_ensure (&error))
    {
      g_debug ("no GStreamer device monitor: %s", error->message);
      return FALSE;
    }
  self->gst_monitor = gst_device_monitor_new ();
  gst_device_monitor_add_filter (self->gst_monitor, "Audio/Source", NULL);
  gst_device_monitor_add_filter (self->gst_monitor, "Audio/Sink", NULL);
  bus = gst_device_monitor_get_bus (self->gst_monitor);
  self->bus_source = gst_bus_create_watch (bus);
  g_source_set_callback (self->bus_source, G_SOURCE_FUNC (on_bus_message), self, NULL);
  g_source_attach (self->bus_source, self->context);
  /* FALSE when no provider runs (no sound server): /dev/snd still works. */
  if (!gst_device_monitor_start (self->gst_monitor))
    {
      g_debug ("the GStreamer device monitor found no sound server to follow");
      g_source_destroy (self->bus_source);
      g_clear_pointer (&self->bus_source, g_source_unref);
      gst_clear_object (&self->gst_monitor);
      return FALSE;
    }
  return TRUE;
}

static gboolean
start_snd (KcAudioMonitor *self)
{
  /* Another folder only to try the monitor by hand, where no sound card
   * can be plugged in (a container, CI). */
  const char *path = g_getenv ("KC_AUDIO_DEVICE_DIR");
  g_autoptr(GFile) dir = g_file_new_for_path (path != NULL && *path != '\0' ? path : "/dev/snd");
  g_autoptr(GError) error = NULL;

  if (!g_file_query_exists (dir, NULL))
    return FALSE;
  self->snd_monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_NONE, NULL, &error);
  if (self->snd_monitor == NULL)
    {
      g_debug ("cannot watch %s: %s", g_file_peek_path (dir), error->message);
      return FALSE;
    }
  g_signal_connect (self->snd_monitor, "changed", G_CALLBACK (on_snd_changed), self);
  self->snd_path = g_file_get_path (dir);
  return TRUE;
}

/**
 * kc_audio_monitor_new:
 *
 * Returns: (transfer full): a monitor; it watches whatever it can (possibly
 *   nothing, see kc_audio_monitor_describe()) and never fails
 */
KcAudioMonitor *
kc_audio_monitor_new (void)
{
  KcAudioMonitor *self = g_object_new (KC_TYPE_AUDIO_MONITOR, NULL);
  g_autoptr(GString) what = g_string_new (NULL);

  self->context = g_main_context_ref_thread_default ();
  self->started_us = g_get_monotonic_time ();
  self->reload_id = kc_audio_add_reload_notify (on_reloaded, self);
  if (start_gst (self))
    {
      g_auto(GStrv) names = gst_device_monitor_get_providers (self->gst_monitor);

      g_string_append (what, "GStreamer");
      if (names != NULL && names[0] != NULL)
        {
          g_autofree char *joined = g_strjoinv (", ", names);

          g_string_append_printf (what, " (%s)", joined);
        }
    }
  /* The GFileMonitor reports on the thread-default context it was made in. */
  g_main_context_push_thread_default (self->context);
  if (start_snd (self))
    g_string_append_printf (what, "%s%s", what->len ? ", " : "", self->snd_path);
  g_main_context_pop_thread_default (self->context);
  if (what->len == 0)
    g_string_append (what, "nothing (no sound server, no /dev/snd)");
  self->description = g_string_free (g_steal_pointer (&what), FALSE);
  g_debug ("watching sound devices through %s", self->description);
  return self;
}

const char *
kc_audio_monitor_describe (KcAudioMonitor *self)
{
  g_return_val_if_fail (KC_IS_AUDIO_MONITOR (self), NULL);
  return self->description;
}

void
kc_audio_monitor_poke (KcAudioMonitor *self)
{
  g_return_if_fail (KC_IS_AUDIO_MONITOR (self));
  changed_soon (self);
}

static void
kc_audio_monitor_dispose (GObject *object)
{
  KcAudioMonitor *self = KC_AUDIO_MONITOR (object);

  kc_audio_remove_reload_notify (self->reload_id);
  self->reload_id = 0;
  if (self->settle != NULL)
    {
      g_source_destroy (self->settle);
      g_clear_pointer (&self->settle, g_source_unref);
    }
  if (self->gst_monitor != NULL)
    {
      gst_device_monitor_stop (self->gst_monitor);
      g_source_destroy (self->bus_source);
      g_clear_pointer (&self->bus_source, g_source_unref);
      gst_clear_object (&self->gst_monitor);
    }
  if (self->snd_monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->snd_monitor, self);
      g_file_monitor_cancel (self->snd_monitor);
      g_clear_object (&self->snd_monitor);
    }
  G_OBJECT_CLASS (kc_audio_monitor_parent_class)->dispose (object);
}

static void
kc_audio_monitor_finalize (GObject *object)
{
  KcAudioMonitor *self = KC_AUDIO_MONITOR (object);

  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->description);
  g_free (self->snd_path);
  G_OBJECT_CLASS (kc_audio_monitor_parent_class)->finalize (object);
}

static void
kc_audio_monitor_class_init (KcAudioMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_audio_monitor_dispose;
  object_class->finalize = kc_audio_monitor_finalize;

  /**
   * KcAudioMonitor::changed:
   *
   * PortAudio's device list was read again: kc_audio_list_devices() gives
   * the new one.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kc_audio_monitor_init (KcAudioMonitor *self)
{
  (void) self;
}
