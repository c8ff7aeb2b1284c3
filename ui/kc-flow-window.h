/* kc-flow-window.h: the controller window: the FIG. 3 ladder of one model,
 * fed by event logs, event sockets (reconnected when their process comes
 * back) or, inside a controller, its own event bus (kc_flow_model_attach_bus).
 */
#pragma once

#include <adwaita.h>

#include "kc-flow-model.h"
#include "kc-flow-view.h"

G_BEGIN_DECLS

#define KC_TYPE_FLOW_WINDOW (kc_flow_window_get_type ())
G_DECLARE_FINAL_TYPE (KcFlowWindow, kc_flow_window, KC, FLOW_WINDOW, AdwApplicationWindow)

/* @model NULL: a new empty one. */
KcFlowWindow *kc_flow_window_new         (GtkApplication *app,
                                          KcFlowModel    *model);
KcFlowModel  *kc_flow_window_get_model   (KcFlowWindow   *window);
KcFlowView   *kc_flow_window_get_view    (KcFlowWindow   *window);
/* Shown under the title: what the diagram is drawn from. */
void          kc_flow_window_set_source  (KcFlowWindow   *window,
                                          const char     *source);
/* Subscribes to a process's event socket; retried every 2 s while it is
 * not there, so a window may be opened before its controller. */
void          kc_flow_window_add_socket  (KcFlowWindow   *window,
                                          const char     *path);

G_END_DECLS
