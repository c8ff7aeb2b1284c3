/* kc-gst-private.h: what the GStreamer users of audio/ share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Initialises GStreamer once per process; KC_ERROR_FAILED with its reason
 * when it cannot start. Safe to call from any thread, any number of times. */
gboolean kc_gst_ensure (GError **error);

G_END_DECLS
