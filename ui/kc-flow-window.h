/* kc-flow-window.h: the controller window: the FIG. 3 ladder of one model,
 * fed by event logs, event sockets (reconnected when their process comes
 * back), a replayed log or, inside a controller, its own event bus
 * (kc_flow_model_attach_bus); filters by call and number in the header bar,
 * side panels (CTAs, calls, keys, CDRs, taps), export to SVG/PNG/PDF/text.
 */
#pragma once

#include <adwaita.h>

#include "kc-flow-model.h"
#include "kc-flow-panels.h"
#include "kc-flow-replay.h"
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
/* The controller's private window socket (keycall-controller's own
 * window, or its --window-socket): subscribed like an event socket, and
 * the step bar (Step, Next, slow motion) drives the controller through it.
 * Only that socket takes commands. */
void          kc_flow_window_add_control (KcFlowWindow   *window,
                                          const char     *path);
/* The KcFlowStepBar (kc-flow-step.h), visible once a control socket is added. */
GtkWidget    *kc_flow_window_get_step_bar (KcFlowWindow  *window);
/* Shows the replay bar (play/pause, step, speed) for @replay, which must
 * feed this window's model. */
void          kc_flow_window_set_replay  (KcFlowWindow   *window,
                                          KcFlowReplay   *replay);
KcFlowReplay *kc_flow_window_get_replay  (KcFlowWindow   *window);
/* Sets the model's filter and the header bar's search and call list to
 * match (NULL or "" for none). */
void          kc_flow_window_set_filter  (KcFlowWindow   *window,
                                          const char     *call_id,
                                          const char     *number);
/* The list box of one side panel: a row per kc_flow_panels_build() row,
 * its title, subtitle and state as widgets. */
GtkListBox   *kc_flow_window_get_panel   (KcFlowWindow   *window,
                                          KcFlowPanel     panel);
/* Brings @panel to the front of the sidebar (Calls at first). */
void          kc_flow_window_show_panel  (KcFlowWindow   *window,
                                          KcFlowPanel     panel);
/* Applies pending model changes to the view, panels and call list now
 * (they are otherwise batched per main-loop pass). */
void          kc_flow_window_flush       (KcFlowWindow   *window);

G_END_DECLS
