/* kc-flow-render.c: the ladder, one row per arrow or note, sngrep-style.
 *
 * Fixed geometry keeps hit-testing a division and lets a window and a file
 * export draw the very same picture.
 */
#define G_LOG_DOMAIN "kc-flow-render"

#include "config.h"

#include "kc-flow-render.h"

#include "kc-error.h"

#include <cairo-svg.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

#define TIME_W    96.0   /* the time column */
#define LANE_W   210.0   /* from one lane to the next */
#define HEADER_H  60.0
#define ROW_H     30.0
#define BOTTOM_H  24.0
#define NOTE_PAD   6.0
#define FONT      "Sans 9"
#define PNG_MAX   32767

typedef struct { double r, g, b; } Rgb;

static const Rgb ink = { 0.16, 0.16, 0.18 };
static const Rgb dim = { 0.45, 0.45, 0.48 };
static const Rgb arrow_ink = { 0.21, 0.35, 0.55 };
static const Rgb key_ink = { 0.80, 0.33, 0.00 };
static const Rgb fail_ink = { 0.75, 0.11, 0.16 };
static const Rgb select_bg = { 0.85, 0.91, 0.99 };

static void
set_rgb (cairo_t *cr, const Rgb *c)
{
  cairo_set_source_rgb (cr, c->r, c->g, c->b);
}

static double
lane_x (guint lane)
{
  return TIME_W + LANE_W * lane + LANE_W / 2;
}

static double
row_top (guint index)
{
  return HEADER_H + ROW_H * index;
}

/* A response's status code (0 for a request or no message). */
static int
response_status (KcEvent *e)
{
  const char *msg = kc_event_get_message (e), *attr = kc_event_get_attr (e, "status");

  if (msg != NULL && g_str_has_prefix (msg, "SIP/2.0 "))
    return atoi (msg + strlen ("SIP/2.0 "));
  if (msg != NULL)
    return 0;
  return attr ? atoi (attr) : 0;
}

static PangoLayout *
make_layout (cairo_t *cr, const char *text, gboolean bold, double max_width)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  g_autoptr(PangoFontDescription) font = pango_font_description_from_string (FONT);

  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  if (max_width > 0) {
    pango_layout_set_width (layout, (int) (max_width * PANGO_SCALE));
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  }
  return layout;
}

/* Draws @text with its centre at @cx and its top at @top; returns its size. */
static void
draw_text (cairo_t *cr, const char *text, gboolean bold, double cx, double top,
           double max_width, double *w, double *h)
{
  g_autoptr(PangoLayout) layout = make_layout (cr, text, bold, max_width);
  int pw, ph;

  pango_layout_get_pixel_size (layout, &pw, &ph);
  cairo_move_to (cr, cx - pw / 2.0, top);
  pango_cairo_show_layout (cr, layout);
  if (w != NULL)
    *w = pw;
  if (h != NULL)
    *h = ph;
}

static void
draw_headers (KcFlowModel *model, cairo_t *cr, double height)
{
  guint n = kc_flow_model_get_n_lanes (model);
  const double dashes[] = { 4.0, 3.0 };

  for (guint i = 0; i < n; i++) {
    const char *role = kc_flow_role_to_string (kc_flow_model_get_lane_role (model, i));
    double cx = lane_x (i);

    cairo_rectangle (cr, cx - LANE_W / 2 + 12, 8, LANE_W - 24, HEADER_H - 16);
    cairo_set_source_rgb (cr, 0.93, 0.94, 0.96);
    cairo_fill_preserve (cr);
    set_rgb (cr, &dim);
    cairo_set_line_width (cr, 1);
    cairo_stroke (cr);
    set_rgb (cr, &ink);
    draw_text (cr, kc_flow_model_get_lane (model, i), TRUE, cx, role ? 13 : 21,
               LANE_W - 32, NULL, NULL);
    if (role != NULL) {
      set_rgb (cr, &dim);
      draw_text (cr, role, FALSE, cx, 30, LANE_W - 32, NULL, NULL);
    }

    cairo_save (cr);
    cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
    set_rgb (cr, &dim);
    cairo_move_to (cr, cx + 0.5, HEADER_H - 8);
    cairo_line_to (cr, cx + 0.5, height - 8);
    cairo_stroke (cr);
    cairo_restore (cr);
  }
}

static void
draw_arrow (cairo_t *cr, const KcFlowItem *item, double top)
{
  double x0 = lane_x (item->from), x1 = lane_x (item->to);
  double y = top + ROW_H - 7.5, dir = x1 >= x0 ? 1 : -1;
  const Rgb *c = item->key_event ? &key_ink
                 : response_status (item->event) >= 300 ? &fail_ink : &arrow_ink;

  set_rgb (cr, c);
  cairo_set_line_width (cr, item->key_event ? 2.2 : 1.2);
  if (item->from == item->to) {
    /* A message to itself: a small loop to the right. */
    cairo_move_to (cr, x0, y - 8);
    cairo_line_to (cr, x0 + 24, y - 8);
    cairo_line_to (cr, x0 + 24, y);
    cairo_line_to (cr, x0 + 6, y);
    cairo_stroke (cr);
    x1 = x0;
    dir = -1;
  } else {
    cairo_move_to (cr, x0, y);
    cairo_line_to (cr, x1 - dir * 6, y);
    cairo_stroke (cr);
  }
  cairo_move_to (cr, x1, y);
  cairo_line_to (cr, x1 - dir * 9, y - 4.5);
  cairo_line_to (cr, x1 - dir * 9, y + 4.5);
  cairo_close_path (cr);
  cairo_fill (cr);

  draw_text (cr, item->label, item->key_event != NULL, (x0 + x1) / 2 + (x0 == x1 ? 60 : 0),
             top + 3, MAX (ABS (x1 - x0), LANE_W) + LANE_W / 2 - 16, NULL, NULL);
}

static void
draw_note (cairo_t *cr, const KcFlowItem *item, double top, double width)
{
  KcEventKind kind = kc_event_get_kind (item->event);
  g_autoptr(PangoLayout) layout = make_layout (cr, item->label, FALSE, 2 * LANE_W - 40);
  double cx = lane_x (item->from), x, w, h;
  int pw, ph;
  Rgb fill = { 1.0, 0.96, 0.81 }, stroke = { 0.78, 0.62, 0.0 };

  if (kind == KC_EVENT_KIND_KEY_ACK) {
    fill = (Rgb) { 0.88, 0.96, 0.89 };
    stroke = (Rgb) { 0.18, 0.49, 0.20 };
  } else if (kind == KC_EVENT_KIND_KEY_ACK_FAILED || kind == KC_EVENT_KIND_ERROR) {
    fill = (Rgb) { 0.99, 0.89, 0.88 };
    stroke = fail_ink;
  }
  pango_layout_get_pixel_size (layout, &pw, &ph);
  w = pw + 2 * NOTE_PAD;
  h = ph + 6;
  /* Kept inside the diagram: the outer lanes' notes would stick out. */
  x = CLAMP (cx - w / 2, TIME_W + 2, MAX (TIME_W + 2, width - w - 2));
  cairo_rectangle (cr, x + 0.5, top + (ROW_H - h) / 2 + 0.5, w, h);
  set_rgb (cr, &fill);
  cairo_fill_preserve (cr);
  set_rgb (cr, &stroke);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  set_rgb (cr, &ink);
  cairo_move_to (cr, x + NOTE_PAD, top + (ROW_H - ph) / 2);
  pango_cairo_show_layout (cr, layout);
}

void
kc_flow_render_get_size (KcFlowModel *model, int *width, int *height)
{
  g_return_if_fail (KC_IS_FLOW_MODEL (model));

  if (width != NULL)
    *width = (int) (TIME_W + LANE_W * MAX (kc_flow_model_get_n_lanes (model), 2) + 8);
  if (height != NULL)
    *height = (int) (row_top (kc_flow_model_get_n_items (model)) + BOTTOM_H);
}

void
kc_flow_render_draw (KcFlowModel *model, cairo_t *cr, int selected)
{
  gint64 t0 = kc_flow_model_get_start_time (model);
  guint n = kc_flow_model_get_n_items (model), first, last;
  double x1, y1, x2, y2;
  int width, height;

  g_return_if_fail (KC_IS_FLOW_MODEL (model));
  g_return_if_fail (cr != NULL);

  kc_flow_render_get_size (model, &width, &height);
  cairo_clip_extents (cr, &x1, &y1, &x2, &y2);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);

  first = y1 > HEADER_H ? (guint) ((y1 - HEADER_H) / ROW_H) : 0;
  last = y2 > HEADER_H ? MIN ((guint) ((y2 - HEADER_H) / ROW_H) + 1, n) : 0;
  if (selected >= 0 && (guint) selected >= first && (guint) selected < last) {
    cairo_rectangle (cr, x1, row_top (selected), x2 - x1, ROW_H);   /* the window may be wider */
    set_rgb (cr, &select_bg);
    cairo_fill (cr);
  }
  draw_headers (model, cr, height);

  set_rgb (cr, &dim);
  draw_text (cr, "ms", TRUE, TIME_W / 2, HEADER_H / 2 - 8, 0, NULL, NULL);
  for (guint i = first; i < last; i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);
    double top = row_top (i);
    g_autofree char *time = g_strdup_printf ("%.1f", (kc_event_get_time (item->event) - t0) / 1000.0);

    set_rgb (cr, &dim);
    draw_text (cr, time, FALSE, TIME_W / 2, top + 8, 0, NULL, NULL);
    if (item->kind == KC_FLOW_ITEM_ARROW)
      draw_arrow (cr, item, top);
    else
      draw_note (cr, item, top, width);
  }
}

int
kc_flow_render_item_at (KcFlowModel *model, double x, double y)
{
  const KcFlowItem *item;
  double x0, x1;
  guint row;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), -1);

  if (y < HEADER_H || x < TIME_W)
    return -1;
  row = (guint) ((y - HEADER_H) / ROW_H);
  if (row >= kc_flow_model_get_n_items (model))
    return -1;
  item = kc_flow_model_get_item (model, row);
  x0 = MIN (lane_x (item->from), lane_x (item->to));
  x1 = MAX (lane_x (item->from), lane_x (item->to));
  /* Generous: the label may be wider than a short arrow, a note than its lane. */
  if (x < x0 - LANE_W / 2 || x > x1 + LANE_W / 2)
    return -1;
  return row;
}

void
kc_flow_render_item_rows (KcFlowModel *model, guint index, double *top, double *bottom)
{
  g_return_if_fail (KC_IS_FLOW_MODEL (model));

  if (top != NULL)
    *top = row_top (index);
  if (bottom != NULL)
    *bottom = row_top (index) + ROW_H;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static char *
diagram_text (KcFlowModel *model)
{
  GString *text = g_string_new ("FIG. 3 key distribution, from Keycall events\n");
  gint64 t0 = kc_flow_model_get_start_time (model);

  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);

    g_string_append_printf (text, "%.1f ms  %s %s %s: %s\n",
                            (kc_event_get_time (item->event) - t0) / 1000.0,
                            kc_flow_model_get_lane (model, item->from),
                            item->kind == KC_FLOW_ITEM_ARROW ? "→" : "·",
                            kc_flow_model_get_lane (model, item->to), item->label);
  }
  return g_string_free (text, FALSE);
}

/* Cairo's SVG is glyph outlines; a <desc> makes the steps searchable text. */
static gboolean
write_svg (KcFlowModel *model, const char *path, int width, int height, GError **error)
{
  g_autoptr(GByteArray) svg = g_byte_array_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *text = diagram_text (model);
  g_autofree char *desc = g_markup_printf_escaped ("\n<desc>%s</desc>", text);
  g_autoptr(GString) out = NULL;
  cairo_surface_t *surface;
  cairo_status_t status;
  const char *open, *end;
  cairo_t *cr;

  surface = cairo_svg_surface_create_for_stream (append_bytes, svg, width, height);
  cr = cairo_create (surface);
  kc_flow_render_draw (model, cr, -1);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot draw the diagram as SVG: %s",
                 cairo_status_to_string (status));
    return FALSE;
  }
  g_byte_array_append (svg, (const guint8 *) "", 1);
  out = g_string_new ((const char *) svg->data);
  open = strstr (out->str, "<svg");
  end = open ? strchr (open, '>') : NULL;
  if (end != NULL)
    g_string_insert (out, end + 1 - out->str, desc);
  if (!g_file_set_contents (path, out->str, out->len, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot write %s: %s", path, local->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
write_png (KcFlowModel *model, const char *path, int width, int height, GError **error)
{
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  if (height > PNG_MAX || width > PNG_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The diagram is %d × %d pixels, over PNG export's %d; export SVG instead",
                 width, height, PNG_MAX);
    return FALSE;
  }
  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cr = cairo_create (surface);
  kc_flow_render_draw (model, cr, -1);
  cairo_destroy (cr);
  status = cairo_surface_write_to_png (surface, path);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot write %s: %s", path,
                 cairo_status_to_string (status));
    return FALSE;
  }
  return TRUE;
}

gboolean
kc_flow_render_export (KcFlowModel *model, const char *path, GError **error)
{
  g_autofree char *lower = NULL;
  int width, height;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  lower = g_ascii_strdown (path, -1);
  kc_flow_render_get_size (model, &width, &height);
  if (g_str_has_suffix (lower, ".svg"))
    return write_svg (model, path, width, height, error);
  if (g_str_has_suffix (lower, ".png"))
    return write_png (model, path, width, height, error);
  g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
               "Cannot tell the format of %s: name it .svg or .png", path);
  return FALSE;
}
