/* kc-ringtone.h: the incoming-call ring, generated rather than shipped: a
 * telephone ring in one of a few national styles (North American 440 +
 * 480 Hz, 2 s on, 4 s off by default) through GStreamer to the default
 * sound output, or none. KEYCALL_RINGTONE_SINK (a gst-launch sink
 * description, e.g. "fakesink") replaces that output, for tests.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KcRingtone KcRingtone;

KcRingtone *kc_ringtone_new        (void);
void        kc_ringtone_free       (KcRingtone  *self);

/* The styles, by id: "north-american", "european", "british", "silent"
 * (NULL-terminated, static). */
const char *const *kc_ringtone_styles (void);
/* A person's name for @style (translated), or NULL for an unknown id. */
const char *kc_ringtone_style_name (const char  *style);
/* From the next start on; an unknown id falls back to the default. */
void        kc_ringtone_set_style  (KcRingtone  *self,
                                    const char  *style);
const char *kc_ringtone_get_style  (KcRingtone  *self);

/* Starts ringing (nothing if it already rings). FALSE if GStreamer cannot
 * build or start the pipeline; a sound device that fails later stops the
 * ring with a logged message. */
gboolean    kc_ringtone_start      (KcRingtone  *self,
                                    GError     **error);
void        kc_ringtone_stop       (KcRingtone  *self);
/* Whether the ring plays (started, not stopped, no error since); never
 * for "silent", which rings only in the window and the notification. */
gboolean    kc_ringtone_is_playing (KcRingtone  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcRingtone, kc_ringtone_free)

G_END_DECLS
