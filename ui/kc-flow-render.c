/* kc-flow-render.c: the ladder, one row per arrow, note or media edge,
 * sngrep-style.
 *
 * Fixed geometry keeps hit-testing a division and lets a window and a file
 * export draw the very same picture. One Pango layout is reused for every
 * text of a frame: creating one per label was most of a frame's cost.
 */
#define G_LOG_DOMAIN "kc-flow-render"

#include "config.h"

#include "kc-flow-render.h"

#include <pango/pangocairo.h>
#include <string.h>

#define TIME_W    96.0   /* the time column */
#define LANE_W   210.0   /* from one lane to the next */
#define HEADER_H  KC_FLOW_RENDER_HEADER_H
#define ROW_H     KC_FLOW_RENDER_ROW_H
#define BOTTOM_H  24.0
#define NOTE_PAD   6.0
#define FONT      "Sans 9"
#define SMALL     "Sans 7"

typedef struct { double r, g, b; } Rgb;

static const Rgb ink = { 0.16, 0.16, 0.18 };
static const Rgb dim = { 0.45, 0.45, 0.48 };
static const Rgb arrow_ink = { 0.21, 0.35, 0.55 };
static const Rgb key_ink = { 0.80, 0.33, 0.00 };
static const Rgb fail_ink = { 0.75, 0.11, 0.16 };
static const Rgb media_ink = { 0.15, 0.45, 0.22 };
static const Rgb lea_ink = { 0.42, 0.25, 0.58 };
static const Rgb select_bg = { 0.85, 0.91, 0.99 };

typedef struct {
  cairo_t              *cr;
  PangoLayout          *layout;
  PangoFontDescription *font;
  PangoFontDescription *bold;
  PangoFontDescription *small;
} Painter;

static void
painter_init (Painter *p, cairo_t *cr)
{
  p->cr = cr;
  p->layout = pango_cairo_create_layout (cr);
  p->font = pango_font_description_from_string (FONT);
  p->bold = pango_font_description_from_string (FONT);
  pango_font_description_set_weight (p->bold, PANGO_WEIGHT_BOLD);
  p->small = pango_font_description_from_string (SMALL);
}

static void
painter_clear (Painter *p)
{
  g_clear_object (&p->layout);
  g_clear_pointer (&p->font, pango_font_description_free);
  g_clear_pointer (&p->bold, pango_font_description_free);
  g_clear_pointer (&p->small, pango_font_description_free);
}

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

/* Sets the shared layout up; @markup TRUE for Pango markup. */
static PangoLayout *
layout_text (Painter *p, const char *text, const PangoFontDescription *font, double max_width,
             gboolean markup)
{
  pango_layout_set_font_description (p->layout, font);
  pango_layout_set_attributes (p->layout, NULL);
  if (markup)
    pango_layout_set_markup (p->layout, text, -1);
  else
    pango_layout_set_text (p->layout, text, -1);
  pango_layout_set_width (p->layout, max_width > 0 ? (int) (max_width * PANGO_SCALE) : -1);
  pango_layout_set_ellipsize (p->layout, max_width > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
  return p->layout;
}

/* Draws @text with its centre at @cx and its top at @top. */
static void
draw_text (Painter *p, const char *text, const PangoFontDescription *font, double cx, double top,
           double max_width, gboolean markup)
{
  int pw, ph;

  layout_text (p, text, font, max_width, markup);
  pango_layout_get_pixel_size (p->layout, &pw, &ph);
  cairo_move_to (p->cr, cx - pw / 2.0, top);
  pango_cairo_show_layout (p->cr, p->layout);
}

static void
draw_lifelines (KcFlowModel *model, cairo_t *cr, double y1, double y2, double height)
{
  const double dashes[] = { 4.0, 3.0 };
  guint n = kc_flow_model_get_n_lanes (model);

  /* Whole dash periods from the top, so a frame starting mid-way matches. */
  y1 = MAX (HEADER_H - 8, HEADER_H - 8 + 7.0 * (int) ((y1 - HEADER_H) / 7.0) - 7);
  y2 = MIN (y2, height - 8);
  if (y2 <= y1)
    return;
  cairo_save (cr);
  cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  set_rgb (cr, &dim);
  cairo_set_line_width (cr, 1);
  for (guint i = 0; i < n; i++) {
    cairo_move_to (cr, lane_x (i) + 0.5, y1);
    cairo_line_to (cr, lane_x (i) + 0.5, y2);
  }
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_header (KcFlowModel *model, Painter *p)
{
  cairo_t *cr = p->cr;
  guint n = kc_flow_model_get_n_lanes (model);
  int width;

  kc_flow_render_get_size (model, &width, NULL);
  cairo_rectangle (cr, 0, 0, width, HEADER_H);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  for (guint i = 0; i < n; i++) {
    KcFlowRole role_id = kc_flow_model_get_lane_role (model, i);
    const char *role = kc_flow_role_to_string (role_id);
    double cx = lane_x (i);

    cairo_rectangle (cr, cx - LANE_W / 2 + 12.5, 8.5, LANE_W - 24, HEADER_H - 16);
    if (role_id == KC_FLOW_ROLE_LEA)
      cairo_set_source_rgb (cr, 0.95, 0.92, 0.98);
    else
      cairo_set_source_rgb (cr, 0.93, 0.94, 0.96);
    cairo_fill_preserve (cr);
    set_rgb (cr, &dim);
    cairo_set_line_width (cr, 1);
    cairo_stroke (cr);
    set_rgb (cr, &ink);
    draw_text (p, kc_flow_model_get_lane (model, i), p->bold, cx, role ? 13 : 21, LANE_W - 32, FALSE);
    if (role != NULL) {
      set_rgb (cr, &dim);
      draw_text (p, role, p->font, cx, 30, LANE_W - 32, FALSE);
    }
  }
  set_rgb (cr, &dim);
  draw_text (p, "ms  (+Δ)", p->bold, TIME_W / 2, HEADER_H / 2 - 8, 0, FALSE);
  cairo_move_to (cr, 0, HEADER_H - 0.5);
  cairo_line_to (cr, width, HEADER_H - 0.5);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.12);
  cairo_stroke (cr);
}

static char *
label_markup (const KcFlowItem *item, const char *text)
{
  if (item->words == NULL)
    return g_markup_escape_text (text, -1);
  return g_markup_printf_escaped ("%s  <span foreground=\"#6b6b73\" weight=\"normal\">%s</span>",
                                  text, item->words);
}

static void
draw_arrow (Painter *p, const KcFlowItem *item, double top)
{
  cairo_t *cr = p->cr;
  double x0 = lane_x (item->from), x1 = lane_x (item->to);
  double y = top + ROW_H - 7.5, dir = x1 >= x0 ? 1 : -1;
  KcEventKind kind = kc_event_get_kind (item->event);
  gboolean lea = kind == KC_EVENT_KIND_TAP_REQUEST || kind == KC_EVENT_KIND_KEY_DELIVERED
                 || kind == KC_EVENT_KIND_CONTENT_DELIVERED || kind == KC_EVENT_KIND_TAP_REFUSED;
  gboolean key = item->key_event != NULL || kind == KC_EVENT_KIND_KEY_DELIVERED;
  const Rgb *c = item->failed ? &fail_ink : key ? &key_ink : lea ? &lea_ink : &arrow_ink;
  g_autofree char *markup = label_markup (item, item->label);

  set_rgb (cr, c);
  cairo_set_line_width (cr, key ? 2.2 : 1.2);
  if (kind == KC_EVENT_KIND_CONTENT_DELIVERED) {
    const double dashes[] = { 6.0, 3.0 };

    cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0);
  }
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
  cairo_set_dash (cr, NULL, 0, 0);
  cairo_move_to (cr, x1, y);
  cairo_line_to (cr, x1 - dir * 9, y - 4.5);
  cairo_line_to (cr, x1 - dir * 9, y + 4.5);
  cairo_close_path (cr);
  cairo_fill (cr);
  if (item->failed) {
    /* A cross at the head: refused, not merely red. */
    cairo_set_line_width (cr, 2);
    cairo_move_to (cr, x1 - dir * 18 - 4, y - 4);
    cairo_line_to (cr, x1 - dir * 18 + 4, y + 4);
    cairo_move_to (cr, x1 - dir * 18 - 4, y + 4);
    cairo_line_to (cr, x1 - dir * 18 + 4, y - 4);
    cairo_stroke (cr);
  }

  set_rgb (cr, c);
  draw_text (p, markup, key ? p->bold : p->font, (x0 + x1) / 2 + (x0 == x1 ? 60 : 0), top + 3,
             MAX (ABS (x1 - x0), LANE_W) + LANE_W / 2 - 16, TRUE);
}

static void
draw_box (Painter *p, const char *markup, double cx, double top, double max_w, double width,
          const Rgb *fill, const Rgb *stroke)
{
  cairo_t *cr = p->cr;
  double x, w, h;
  int pw, ph;

  layout_text (p, markup, p->font, max_w, TRUE);
  pango_layout_get_pixel_size (p->layout, &pw, &ph);
  w = pw + 2 * NOTE_PAD;
  h = ph + 6;
  /* Kept inside the diagram: the outer lanes' notes would stick out. */
  x = CLAMP (cx - w / 2, TIME_W + 2, MAX (TIME_W + 2, width - w - 2));
  cairo_rectangle (cr, (int) x + 0.5, (int) (top + (ROW_H - h) / 2) + 0.5, (int) w, (int) h);
  set_rgb (cr, fill);
  cairo_fill_preserve (cr);
  set_rgb (cr, stroke);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  set_rgb (cr, &ink);
  cairo_move_to (cr, x + NOTE_PAD, top + (ROW_H - ph) / 2);
  pango_cairo_show_layout (cr, p->layout);
}

static void
draw_note (Painter *p, const KcFlowItem *item, double top, double width)
{
  KcEventKind kind = kc_event_get_kind (item->event);
  g_autofree char *markup = g_markup_escape_text (item->label, -1);
  Rgb fill = { 1.0, 0.96, 0.81 }, stroke = { 0.78, 0.62, 0.0 };

  if (kind == KC_EVENT_KIND_KEY_ACK) {
    fill = (Rgb) { 0.88, 0.96, 0.89 };
    stroke = (Rgb) { 0.18, 0.49, 0.20 };
  } else if (item->failed) {
    fill = (Rgb) { 0.99, 0.89, 0.88 };
    stroke = fail_ink;
  } else if (kind == KC_EVENT_KIND_MEDIA_START || kind == KC_EVENT_KIND_MEDIA_STOP) {
    fill = (Rgb) { 0.94, 0.95, 0.97 };
    stroke = dim;
  }
  draw_box (p, markup, lane_x (item->from), top, 2 * LANE_W - 40, width, &fill, &stroke);
}

static const KcFlowMedia *
band_of (KcFlowModel *model, guint index)
{
  for (guint b = 0; b < kc_flow_model_get_n_media (model); b++) {
    const KcFlowMedia *band = kc_flow_model_get_media (model, b);

    if (band->first == index || band->last == index)
      return band;
  }
  return NULL;
}

static char *
count_text (gint64 n)
{
  return n >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, n) : g_strdup ("–");
}

char *
kc_flow_render_item_text (KcFlowModel *model, guint index)
{
  const KcFlowItem *item;
  const KcFlowMedia *band;
  g_autofree char *a = NULL, *b = NULL;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  g_return_val_if_fail (index < kc_flow_model_get_n_items (model), NULL);

  item = kc_flow_model_get_item (model, index);
  if (item->kind != KC_FLOW_ITEM_MEDIA || (band = band_of (model, index)) == NULL)
    return g_strdup (item->label);
  if (band->packets[0] < 0 && band->packets[1] < 0)
    return g_strdup_printf ("%s: %s", item->label,
                            band->last == G_MAXUINT ? "flowing, no packet counts reported yet"
                                                    : "no packet counts reported");
  a = count_text (band->packets[0]);
  b = count_text (band->packets[1]);
  return g_strdup_printf ("%s: %s packets caller → callee, %s callee → caller%s%s", item->label,
                          a, b, band->last == G_MAXUINT ? ", flowing" : "",
                          band->lost > 0 ? ", some lost" : "");
}

static void
draw_bands (KcFlowModel *model, cairo_t *cr, guint first, guint last, double y1, double y2)
{
  guint n = kc_flow_model_get_n_items (model);

  for (guint b = 0; b < kc_flow_model_get_n_media (model); b++) {
    const KcFlowMedia *band = kc_flow_model_get_media (model, b);
    double top = row_top (band->first) + ROW_H / 2;
    double bottom = band->last == G_MAXUINT ? row_top (n) + BOTTOM_H / 2 : row_top (band->last) + ROW_H / 2;
    double x0 = lane_x (MIN (band->from, band->to)) - 14, x1 = lane_x (MAX (band->from, band->to)) + 14;

    if (band->first >= last || (band->last != G_MAXUINT && band->last < first))
      continue;
    top = MAX (top, y1 - 2);
    bottom = MIN (bottom, y2 + 2);
    cairo_rectangle (cr, x0, top, x1 - x0, bottom - top);
    cairo_set_source_rgba (cr, media_ink.r, media_ink.g, media_ink.b, 0.09);
    cairo_fill (cr);
    cairo_set_source_rgba (cr, media_ink.r, media_ink.g, media_ink.b, 0.55);
    cairo_set_line_width (cr, 3);
    cairo_move_to (cr, x0 + 1.5, top);
    cairo_line_to (cr, x0 + 1.5, bottom);
    cairo_move_to (cr, x1 - 1.5, top);
    cairo_line_to (cr, x1 - 1.5, bottom);
    cairo_stroke (cr);
  }
}

static void
draw_media (Painter *p, KcFlowModel *model, guint index, double top, double width)
{
  const KcFlowItem *item = kc_flow_model_get_item (model, index);
  g_autofree char *text = kc_flow_render_item_text (model, index);
  g_autofree char *markup = g_markup_printf_escaped ("<b>%s</b>", text);
  Rgb fill = { 0.90, 0.96, 0.91 };
  double x0 = lane_x (MIN (item->from, item->to)), x1 = lane_x (MAX (item->from, item->to));

  draw_box (p, markup, (x0 + x1) / 2, top, MAX (x1 - x0 + LANE_W - 40, LANE_W), width, &fill,
            &media_ink);
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
kc_flow_render_draw_header (KcFlowModel *model, cairo_t *cr)
{
  Painter p;

  g_return_if_fail (KC_IS_FLOW_MODEL (model));
  g_return_if_fail (cr != NULL);

  painter_init (&p, cr);
  draw_header (model, &p);
  painter_clear (&p);
}

void
kc_flow_render_draw (KcFlowModel *model, cairo_t *cr, int selected)
{
  gint64 t0 = kc_flow_model_get_start_time (model);
  guint n = kc_flow_model_get_n_items (model), first, last;
  double x1, y1, x2, y2;
  int width, height;
  Painter p;

  g_return_if_fail (KC_IS_FLOW_MODEL (model));
  g_return_if_fail (cr != NULL);

  kc_flow_render_get_size (model, &width, &height);
  cairo_clip_extents (cr, &x1, &y1, &x2, &y2);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  painter_init (&p, cr);

  first = y1 > HEADER_H ? (guint) ((y1 - HEADER_H) / ROW_H) : 0;
  last = y2 > HEADER_H ? MIN ((guint) ((y2 - HEADER_H) / ROW_H) + 1, n) : 0;
  if (selected >= 0 && (guint) selected >= first && (guint) selected < last) {
    cairo_rectangle (cr, x1, row_top (selected), x2 - x1, ROW_H);   /* the window may be wider */
    set_rgb (cr, &select_bg);
    cairo_fill (cr);
  }
  draw_bands (model, cr, first, last, y1, y2);
  draw_lifelines (model, cr, y1, y2, height);

  for (guint i = first; i < last; i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);
    double top = row_top (i);
    char time[32];

    g_snprintf (time, sizeof time, "%.1f", (kc_event_get_time (item->event) - t0) / 1000.0);
    set_rgb (cr, &dim);
    draw_text (&p, time, p.font, TIME_W / 2, top + 2, 0, FALSE);
    if (i > 0) {
      g_snprintf (time, sizeof time, "+%.1f", item->delta_us / 1000.0);
      draw_text (&p, time, p.small, TIME_W / 2, top + 16, 0, FALSE);
    }
    if (item->kind == KC_FLOW_ITEM_ARROW)
      draw_arrow (&p, item, top);
    else if (item->kind == KC_FLOW_ITEM_MEDIA)
      draw_media (&p, model, i, top, width);
    else
      draw_note (&p, item, top, width);
  }
  if (y1 < HEADER_H)
    draw_header (model, &p);
  painter_clear (&p);
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
