/* kc-gst-private.h: what the GStreamer users of audio/ share. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Initialises GStreamer once per process; KC_ERROR_FAILED with its reason
 * when it cannot start. Safe to call from any thread, any number of times. */
gboolean    kc_gst_ensure (GError     **error);

/* Starts GStreamer if needed and builds @desc. KC_ERROR_FAILED naming
 * @what ("audio pipeline"), @desc and GStreamer's reason, which is usually
 * a missing plugin (Opus lives in plugins-base, RTP in plugins-good). */
GstElement *kc_gst_parse  (const char  *what,
                           const char  *desc,
                           GError     **error);

G_END_DECLS
