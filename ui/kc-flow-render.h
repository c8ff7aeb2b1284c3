/* kc-flow-render.h: the ladder diagram drawn with Cairo and Pango, shared by
 * the window (kc-flow-view), the exports (kc-flow-export) and the benchmark,
 * none of which needs a display. Rows are events, not time: one arrow, note
 * or media edge per row, time and delta on the left.
 */
#pragma once

#include <cairo.h>

#include "kc-flow-model.h"

G_BEGIN_DECLS

/* Fixed geometry: hit-testing is a division, and a page of an export is a
 * whole number of rows under a repeated header. */
#define KC_FLOW_RENDER_HEADER_H 60.0
#define KC_FLOW_RENDER_ROW_H    30.0

/* The whole diagram's size in pixels (at least the header when empty). */
void      kc_flow_render_get_size    (KcFlowModel  *model,
                                      int          *width,
                                      int          *height);
/* Draws the rows the clip covers, the header at y 0 and the media bands;
 * @selected is an item index or -1. Only visible rows cost anything. */
void      kc_flow_render_draw        (KcFlowModel  *model,
                                      cairo_t      *cr,
                                      int           selected);
/* Only the lane headers (y 0 to KC_FLOW_RENDER_HEADER_H) on their
 * background: the view keeps them on top while the rows scroll. */
void      kc_flow_render_draw_header (KcFlowModel  *model,
                                      cairo_t      *cr);
/* The item drawn at (@x, @y), or -1. */
int       kc_flow_render_item_at     (KcFlowModel  *model,
                                      double        x,
                                      double        y);
/* Top and bottom of item @index's row. */
void      kc_flow_render_item_rows   (KcFlowModel  *model,
                                      guint         index,
                                      double       *top,
                                      double       *bottom);
/* What item @index says, as drawn: its label, and for a media edge the
 * packet counters of its band ("… 246 packets caller → callee, …"). */
char     *kc_flow_render_item_text   (KcFlowModel  *model,
                                      guint         index);

G_END_DECLS
