/* kc-flow-render.h: the ladder diagram drawn with Cairo and Pango, shared by
 * the window (kc-flow-view) and the SVG/PNG export, which needs no display.
 * Rows are events, not time: one arrow or note per row, time on the left.
 */
#pragma once

#include <cairo.h>

#include "kc-flow-model.h"

G_BEGIN_DECLS

/* The whole diagram's size in pixels (at least the header when empty). */
void      kc_flow_render_get_size  (KcFlowModel  *model,
                                    int          *width,
                                    int          *height);
/* Draws what the clip covers; @selected is an item index or -1. */
void      kc_flow_render_draw      (KcFlowModel  *model,
                                    cairo_t      *cr,
                                    int           selected);
/* The item drawn at (@x, @y), or -1. */
int       kc_flow_render_item_at   (KcFlowModel  *model,
                                    double        x,
                                    double        y);
/* Top and bottom of item @index's row. */
void      kc_flow_render_item_rows (KcFlowModel  *model,
                                    guint         index,
                                    double       *top,
                                    double       *bottom);
/* By @path's extension: ".svg" (with the labels also as text in <desc>,
 * one per line, since Cairo writes glyphs as paths) or ".png".
 * KC_ERROR_UNSUPPORTED for another extension, KC_ERROR_TOO_LARGE for a PNG
 * over 32767 pixels high, KC_ERROR_IO when the file cannot be written. */
gboolean  kc_flow_render_export    (KcFlowModel  *model,
                                    const char   *path,
                                    GError      **error);

G_END_DECLS
