/* kc-flow-export.h: the ladder diagram written to a file with no display:
 * SVG, PNG and PDF drawn by kc-flow-render, and plain text, one line per
 * row. Exports draw what the model's filter lets through.
 */
#pragma once

#include "kc-flow-model.h"

G_BEGIN_DECLS

/* One line per row: "12.3 ms  +0.4  controller:gc1 → controller:gc2  318
 * INVITE + K  (key → destination controller)", under a title line. */
char     *kc_flow_export_text (KcFlowModel  *model);
/* By @path's extension: ".svg" (the rows also as text in <desc>, since
 * Cairo writes glyphs as paths), ".png", ".pdf" (pages of rows under the
 * lane headers, an outline entry per FIG. 3 arrow) or ".txt".
 * KC_ERROR_UNSUPPORTED for another extension, KC_ERROR_TOO_LARGE for a PNG
 * over 32767 pixels high, KC_ERROR_IO when the file cannot be written. */
gboolean  kc_flow_export      (KcFlowModel  *model,
                               const char   *path,
                               GError      **error);

G_END_DECLS
