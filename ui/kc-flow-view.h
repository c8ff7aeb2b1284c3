/* kc-flow-view.h: the ladder diagram as a widget: the drawing scrolls above
 * the selected event's details and full message (keys already redacted to
 * fingerprints by the event). Click an arrow or note, or use Up and Down.
 */
#pragma once

#include <gtk/gtk.h>

#include "kc-flow-model.h"

G_BEGIN_DECLS

#define KC_TYPE_FLOW_VIEW (kc_flow_view_get_type ())
G_DECLARE_FINAL_TYPE (KcFlowView, kc_flow_view, KC, FLOW_VIEW, GtkWidget)

GtkWidget   *kc_flow_view_new          (KcFlowModel  *model);
KcFlowModel *kc_flow_view_get_model    (KcFlowView   *view);
/* Item index (kc_flow_model_get_item), -1 for none. */
int          kc_flow_view_get_selected (KcFlowView   *view);
void         kc_flow_view_select       (KcFlowView   *view,
                                        int           index);
/* Selects the first arrow of FIG. 3 step @step; FALSE if there is none. */
gboolean     kc_flow_view_select_step  (KcFlowView   *view,
                                        int           step);
/* Keep the last event in sight as events arrive (on while scrolled to the
 * end; scrolling back turns it off). */
void         kc_flow_view_set_follow   (KcFlowView   *view,
                                        gboolean      follow);
/* The text the details pane shows for the selection ("" for none). */
char        *kc_flow_view_get_details  (KcFlowView   *view);
/* Classroom ("reveal keys"): the details pane also shows the key of an
 * event whose key id is in @keys (key id hex → KcSecret, borrowed; the
 * caller keeps it alive or sets NULL first). NULL, the default: never. */
void         kc_flow_view_set_revealed_keys (KcFlowView *view,
                                        GHashTable   *keys);
/* Model changes reach the widgets once per main-loop pass; this applies
 * them now (tests, exports of what is shown). */
void         kc_flow_view_flush        (KcFlowView   *view);
/* The lane headers, which stay above the scrolling rows. */
GtkWidget   *kc_flow_view_get_header   (KcFlowView   *view);
GtkAdjustment *kc_flow_view_get_vadjustment (KcFlowView *view);

G_END_DECLS
