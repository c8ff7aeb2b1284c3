/* kc-gst.c: what the GStreamer users of audio/ share. */
#define G_LOG_DOMAIN "kc-audio"

#include "kc-gst-private.h"
#include "kc-error.h"

#include <gst/gst.h>

gboolean
kc_gst_ensure (GError **error)
{
  g_autoptr(GError) local = NULL;

  if (gst_is_initialized ())
    return TRUE;
  if (!gst_init_check (NULL, NULL, &local))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "Cannot start GStreamer: %s", local->message);
      return FALSE;
    }
  return TRUE;
}

GstElement *
kc_gst_parse (const char  *what,
              const char  *desc,
              GError     **error)
{
  g_autoptr(GError) local = NULL;
  GstElement *pipeline;

  if (!kc_gst_ensure (error))
    return NULL;
  pipeline = gst_parse_launch_full (desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &local);
  if (pipeline == NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                 "Cannot build the %s (%s): %s; are "
                 "gstreamer1.0-plugins-base and -good installed?",
                 what, desc, local->message);
  return pipeline;
}
