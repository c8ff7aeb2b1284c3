/* kc-host.h: the embedded controller: a gateway controller (controller/)
 * run inside the softphone, so two desktops can call with no server. Its
 * events feed a flow model from the moment it starts; the controller
 * window draws that model.
 */
#pragma once

#include <glib-object.h>

#include "kc-flow-model.h"

G_BEGIN_DECLS

#define KC_TYPE_HOST (kc_host_get_type ())
G_DECLARE_FINAL_TYPE (KcHost, kc_host, KC, HOST, GObject)

KcHost      *kc_host_new            (void);
/* Properties (read-only, notified): running (boolean), error (string). */

/* Reads @config_path (a controller.ini made by keycall-admin) and starts the
 * controller on the thread-default main context: it listens, anchors media
 * and writes its store as keycall-controller would. A running controller is
 * stopped first. The errors of kc_controller_config_load and
 * kc_controller_new (bad file, port in use, store, …). */
gboolean     kc_host_start          (KcHost      *self,
                                     const char  *config_path,
                                     GError     **error);
/* Ends its calls (each gets its CDR and a BYE or CANCEL), then closes it
 * after a moment for those to leave. Nothing when not running. */
void         kc_host_stop           (KcHost      *self);
gboolean     kc_host_is_running     (KcHost      *self);
/* The controller's name and "sips:HOST:PORT" while running, else NULL. */
const char  *kc_host_get_name       (KcHost      *self);
const char  *kc_host_get_listen_uri (KcHost      *self);
guint        kc_host_count_calls    (KcHost      *self);
/* Why the last start failed, until the next start; NULL otherwise. */
const char  *kc_host_get_error      (KcHost      *self);
/* The events of the controllers this host ran, in order; never NULL. */
KcFlowModel *kc_host_get_model      (KcHost      *self);

G_END_DECLS
