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

#include <glib/gi18n.h>

/* Each tone at -14 dBFS: together loud enough to hear, far from clipping. */
#define RING_PIPELINE \
  "audiomixer name=mix ! volume name=gate ! audioconvert ! audioresample ! %s " \
  "audiotestsrc is-live=true freq=%u volume=0.2 ! audio/x-raw,rate=48000,channels=1 ! mix. " \
  "audiotestsrc is-live=true freq=%u volume=0.2 ! audio/x-raw,rate=48000,channels=1 ! mix."

/* National ringing tones (ITU-T E.180 supplement 2): two frequencies (the
 * same twice for a single tone) and the cadence, on/off pairs in ms
 * repeated; no tones at all for "silent". */
typedef struct {
  const char *id;
  const char *name;
  guint       freq[2];
  guint       cadence[4];     /* on, off, on, off; 0 ends it */
} RingStyle;

static const RingStyle styles[] = {
  { "north-american", N_("North American (440 + 480 Hz)"), { 440, 480 }, { 2000, 4000, 0, 0 } },
  { "european", N_("European (425 Hz)"), { 425, 425 }, { 1000, 4000, 0, 0 } },
  { "british", N_("British double ring (400 + 450 Hz)"), { 400, 450 }, { 400, 200, 400, 2000 } },
  { "silent", N_("Silent (the window and the notification only)"), { 0, 0 }, { 0, 0, 0, 0 } },
};

struct _KcRingtone {
  GstElement      *pipeline;
  GstElement      *gate;
  guint            bus_watch;
  guint            cadence_id;
  guint            step;       /* index in the style's cadence */
  const RingStyle *style;
};

const char *const *
kc_ringtone_styles (void)
{
  static const char *ids[G_N_ELEMENTS (styles) + 1];

  for (guint i = 0; i < G_N_ELEMENTS (styles); i++)
    ids[i] = styles[i].id;
  return ids;
}

static const RingStyle *
find_style (const char *id)
{
  for (guint i = 0; id != NULL && i < G_N_ELEMENTS (styles); i++)
    if (g_str_equal (styles[i].id, id))
      return &styles[i];
  return NULL;
}

const char *
kc_ringtone_style_name (const char *style)
{
  const RingStyle *s = find_style (style);

  return s != NULL ? _(s->name) : NULL;
}

void
kc_ringtone_set_style (KcRingtone *self,
                       const char *style)
{
  g_return_if_fail (self != NULL);

  self->style = find_style (style);
  if (self->style == NULL) {
    if (style != NULL)
      g_message ("Unknown ringtone “%s”; using the North American ring", style);
    self->style = &styles[0];
  }
}

const char *
kc_ringtone_get_style (KcRingtone *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->style->id;
}

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

/* Steps through on, off (, on, off): even steps sound, odd ones are quiet. */
static gboolean
on_cadence (gpointer data)
{
  KcRingtone *self = data;
  const guint *cadence = self->style->cadence;

  self->step++;
  if (self->step >= G_N_ELEMENTS (self->style->cadence) || cadence[self->step] == 0)
    self->step = 0;
  g_object_set (self->gate, "mute", self->step % 2 == 1, NULL);
  self->cadence_id = g_timeout_add (cadence[self->step], on_cadence, self);
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
  KcRingtone *self = g_new0 (KcRingtone, 1);

  self->style = &styles[0];
  return self;
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

  if (self->pipeline != NULL || self->style->cadence[0] == 0)
    return TRUE;
  if (!gst_is_initialized () && !gst_init_check (NULL, NULL, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "GStreamer cannot start: %s",
                 local->message);
    return FALSE;
  }
  description = g_strdup_printf (RING_PIPELINE, sink_description (), self->style->freq[0],
                                 self->style->freq[1]);
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
  self->step = 0;
  self->cadence_id = g_timeout_add (self->style->cadence[0], on_cadence, self);
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
  self->step = 0;
}

gboolean
kc_ringtone_is_playing (KcRingtone *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->pipeline != NULL;
}
