/* kc-ringtone.c: the incoming-call ring (kc-ringtone.h).
 *
 * Two live sine sources mixed, gated by a volume element that a main-loop
 * timer mutes and unmutes: the cadence costs no sound file and no buffer
 * arithmetic, and live sources pace even a fakesink to real time.
 */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-ringtone.h"

#include "kc-error.h"

#include <gst/gst.h>

#define RING_ON_MS  2000
#define RING_OFF_MS 4000

/* Each tone at -14 dBFS: together loud enough to hear, far from clipping. */
#define RING_PIPELINE \
  "audiomixer name=mix ! volume name=gate ! audioconvert ! audioresample ! %s " \
  "audiotestsrc is-live=true freq=440 volume=0.2 ! audio/x-raw,rate=48000,channels=1 ! mix. " \
  "audiotestsrc is-live=true freq=480 volume=0.2 ! audio/x-raw,rate=48000,channels=1 ! mix."

struct _KcRingtone {
  GstElement *pipeline;
  GstElement *gate;
  guint       bus_watch;
  guint       cadence_id;
  gboolean    on;            /* in the 2 s of tone */
};

static const char *
sink_description (void)
{
  const char *sink = g_getenv ("KEYCALL_RINGTONE_SINK");
  g_autoptr(GstElementFactory) factory = NULL;

  if (sink != NULL && *sink != '\0')
    return sink;
  /* Without gst-plugins-good there is no autoaudiosink: ring silently
   * rather than fail the call. */
  factory = gst_element_factory_find ("autoaudiosink");
  return factory != NULL ? "autoaudiosink" : "fakesink";
}

static gboolean
on_cadence (gpointer data)
{
  KcRingtone *self = data;

  self->on = !self->on;
  g_object_set (self->gate, "mute", !self->on, NULL);
  self->cadence_id = g_timeout_add (self->on ? RING_ON_MS : RING_OFF_MS, on_cadence, self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    data)
{
  KcRingtone *self = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *debug = NULL;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ERROR)
    return G_SOURCE_CONTINUE;
  gst_message_parse_error (message, &error, &debug);
  g_message ("The ringtone stopped: %s", error->message);
  g_debug ("%s", debug != NULL ? debug : "");
  /* The watch is removed by stop; returning REMOVE as well would remove it twice. */
  self->bus_watch = 0;
  kc_ringtone_stop (self);
  return G_SOURCE_REMOVE;
}

KcRingtone *
kc_ringtone_new (void)
{
  return g_new0 (KcRingtone, 1);
}

void
kc_ringtone_free (KcRingtone *self)
{
  if (self == NULL)
    return;
  kc_ringtone_stop (self);
  g_free (self);
}

gboolean
kc_ringtone_start (KcRingtone  *self,
                   GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *description = NULL;
  g_autoptr(GstBus) bus = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->pipeline != NULL)
    return TRUE;
  if (!gst_is_initialized () && !gst_init_check (NULL, NULL, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "GStreamer cannot start: %s",
                 local->message);
    return FALSE;
  }
  description = g_strdup_printf (RING_PIPELINE, sink_description ());
  self->pipeline = gst_parse_launch_full (description, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &local);
  if (self->pipeline == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The ringtone cannot be played (%s); check the GStreamer plugins "
                 "(base and good) are installed", local->message);
    return FALSE;
  }
  self->gate = gst_bin_get_by_name (GST_BIN (self->pipeline), "gate");
  bus = gst_element_get_bus (self->pipeline);
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    kc_ringtone_stop (self);
    g_set_error (error, KC_ERROR, KC_ERROR_IO,
                 "The ringtone cannot be played: the sound output refused to start");
    return FALSE;
  }
  self->on = TRUE;
  self->cadence_id = g_timeout_add (RING_ON_MS, on_cadence, self);
  return TRUE;
}

void
kc_ringtone_stop (KcRingtone *self)
{
  g_return_if_fail (self != NULL);

  g_clear_handle_id (&self->cadence_id, g_source_remove);
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  if (self->pipeline != NULL)
    gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_object (&self->gate);
  g_clear_object (&self->pipeline);
  self->on = FALSE;
}

gboolean
kc_ringtone_is_playing (KcRingtone *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->pipeline != NULL;
}
