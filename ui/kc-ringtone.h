/* kc-ringtone.h: the incoming-call ring, generated rather than shipped: the
 * North American cadence (440 + 480 Hz, 2 s on, 4 s off) through GStreamer
 * to the default sound output. KEYCALL_RINGTONE_SINK (a gst-launch sink
 * description, e.g. "fakesink") replaces that output, for tests.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KcRingtone KcRingtone;

KcRingtone *kc_ringtone_new        (void);
void        kc_ringtone_free       (KcRingtone  *self);

/* Starts ringing (nothing if it already rings). FALSE if GStreamer cannot
 * build or start the pipeline; a sound device that fails later stops the
 * ring with a logged message. */
gboolean    kc_ringtone_start      (KcRingtone  *self,
                                    GError     **error);
void        kc_ringtone_stop       (KcRingtone  *self);
/* Whether the ring plays (started, not stopped, no error since). */
gboolean    kc_ringtone_is_playing (KcRingtone  *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcRingtone, kc_ringtone_free)

G_END_DECLS
