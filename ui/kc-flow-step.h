/* kc-flow-step.h: the controller window's step-mode bar: a Step toggle, a
 * Next button naming the held message, a slow-motion delay. It drives the
 * controller through its private window socket (keycall-flow --control)
 * and learns what is held from the controller's step events.
 */
#pragma once

#include <gtk/gtk.h>

#include "kc-event-socket.h"

G_BEGIN_DECLS

#define KC_TYPE_FLOW_STEP_BAR (kc_flow_step_bar_get_type ())
G_DECLARE_FINAL_TYPE (KcFlowStepBar, kc_flow_step_bar, KC, FLOW_STEP_BAR, GtkBox)

GtkWidget *kc_flow_step_bar_new          (void);
/* The window socket's client while it is connected, NULL while not (the
 * controls are then insensitive). Borrowed: clear it before it goes. */
void       kc_flow_step_bar_set_client   (KcFlowStepBar *bar,
                                          KcEventClient *client);
/* An event from the window socket: step-hold, step-release and the mode
 * log events update what the bar shows; a refused command is shown. */
void       kc_flow_step_bar_add_event    (KcFlowStepBar *bar,
                                          KcEvent       *event);
/* The "Reveal keys" switch: visible only while connected to a controller
 * started with --classroom (it says so when the window connects). */
GtkWidget *kc_flow_step_bar_get_reveal_switch (KcFlowStepBar *bar);
/* Messages the controller holds, as its last step event said. */
guint      kc_flow_step_bar_get_n_held   (KcFlowStepBar *bar);

/* The red banner a window shows across its top while keys are revealed
 * (hidden until then). */
GtkWidget *kc_flow_reveal_banner_new         (void);

G_END_DECLS
