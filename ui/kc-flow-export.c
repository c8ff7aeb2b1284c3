/* kc-flow-export.c: SVG, PNG, PDF and plain text of the ladder.
 *
 * Everything goes through kc-flow-render, so a file shows what the window
 * shows. A PDF is cut into pages of whole rows with the lane headers
 * repeated; one tall page would be refused by most viewers.
 */
#define G_LOG_DOMAIN "kc-flow-export"

#include "config.h"

#include "kc-flow-export.h"

#include "kc-flow-render.h"

#include "kc-error.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <string.h>

#define PNG_MAX       32767
#define PAGE_ROWS     40

char *
kc_flow_export_text (KcFlowModel *model)
{
  GString *text;
  gint64 t0;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);

  text = g_string_new ("FIG. 3 key distribution, from Keycall events");
  t0 = kc_flow_model_get_start_time (model);
  if (kc_flow_model_get_call_filter (model) != NULL)
    g_string_append_printf (text, "; call %s", kc_flow_model_get_call_filter (model));
  if (kc_flow_model_get_number_filter (model) != NULL)
    g_string_append_printf (text, "; number %s", kc_flow_model_get_number_filter (model));
  g_string_append_c (text, '\n');
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);
    g_autofree char *what = kc_flow_render_item_text (model, i);
    g_autofree char *delta = g_strdup_printf ("+%.1f", item->delta_us / 1000.0);

    g_string_append_printf (text, "%9.1f ms %8s  %s %s %s  %s", (kc_event_get_time (item->event) - t0) / 1000.0,
                            delta, kc_flow_model_get_lane (model, item->from),
                            item->kind == KC_FLOW_ITEM_NOTE ? "·" : item->kind == KC_FLOW_ITEM_MEDIA ? "⇄" : "→",
                            kc_flow_model_get_lane (model, item->to), what);
    if (item->words != NULL)
      g_string_append_printf (text, "  (%s)", item->words);
    if (item->failed)
      g_string_append (text, "  FAILED");
    g_string_append_c (text, '\n');
  }
  return g_string_free (text, FALSE);
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static gboolean
write_bytes (const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (!g_file_set_contents (path, data, len, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot write %s: %s", path, local->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
surface_ok (cairo_surface_t *surface, const char *format, GError **error)
{
  cairo_status_t status = cairo_surface_status (surface);

  if (status != CAIRO_STATUS_SUCCESS) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot draw the diagram as %s: %s", format,
                 cairo_status_to_string (status));
    return FALSE;
  }
  return TRUE;
}

/* Cairo's SVG is glyph outlines; a <desc> makes the steps searchable text. */
static gboolean
write_svg (KcFlowModel *model, const char *path, int width, int height, GError **error)
{
  g_autoptr(GByteArray) svg = g_byte_array_new ();
  g_autofree char *text = kc_flow_export_text (model);
  g_autofree char *desc = g_markup_printf_escaped ("\n<desc>%s</desc>", text);
  g_autoptr(GString) out = NULL;
  cairo_surface_t *surface;
  const char *open, *end;
  gboolean ok;
  cairo_t *cr;

  surface = cairo_svg_surface_create_for_stream (append_bytes, svg, width, height);
  cr = cairo_create (surface);
  kc_flow_render_draw (model, cr, -1);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  ok = surface_ok (surface, "SVG", error);
  cairo_surface_destroy (surface);
  if (!ok)
    return FALSE;
  g_byte_array_append (svg, (const guint8 *) "", 1);
  out = g_string_new ((const char *) svg->data);
  open = strstr (out->str, "<svg");
  end = open ? strchr (open, '>') : NULL;
  if (end != NULL)
    g_string_insert (out, end + 1 - out->str, desc);
  return write_bytes (path, out->str, out->len, error);
}

static gboolean
write_png (KcFlowModel *model, const char *path, int width, int height, GError **error)
{
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  if (height > PNG_MAX || width > PNG_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The diagram is %d × %d pixels, over PNG export's %d; export SVG or PDF instead",
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

/* Outline titles stay ASCII, so a PDF's outline reads as plain strings. */
static char *
outline_title (KcFlowModel *model, const KcFlowItem *item)
{
  g_autofree char *title = g_strdup_printf ("%s%s%s", item->label, item->words ? ": " : "",
                                            item->words ? item->words : "");
  GString *ascii = g_string_new (NULL);

  for (const char *c = title; *c != '\0'; c = g_utf8_next_char (c)) {
    gunichar u = g_utf8_get_char (c);

    if (u == 0x2192)   /* → */
      g_string_append (ascii, "->");
    else if (u >= 0x20 && u < 0x7f)
      g_string_append_c (ascii, (char) u);
    else
      g_string_append_c (ascii, '?');
  }
  return g_string_free (ascii, FALSE);
}

static gboolean
write_pdf (KcFlowModel *model, const char *path, int width, GError **error)
{
  g_autoptr(GByteArray) pdf = g_byte_array_new ();
  guint n = kc_flow_model_get_n_items (model);
  guint pages = MAX (1, (n + PAGE_ROWS - 1) / PAGE_ROWS);
  double page_h = KC_FLOW_RENDER_HEADER_H + PAGE_ROWS * KC_FLOW_RENDER_ROW_H + 24;
  cairo_surface_t *surface;
  gboolean ok;
  cairo_t *cr;

  surface = cairo_pdf_surface_create_for_stream (append_bytes, pdf, width, page_h);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, "FIG. 3 key distribution");
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "keycall-flow");
  cr = cairo_create (surface);
  for (guint page = 0; page < pages; page++) {
    double shift = page * PAGE_ROWS * KC_FLOW_RENDER_ROW_H;
    g_autofree char *footer = g_strdup_printf ("page %u of %u", page + 1, pages);
    cairo_text_extents_t ext;

    cairo_save (cr);
    cairo_rectangle (cr, 0, KC_FLOW_RENDER_HEADER_H, width, page_h - KC_FLOW_RENDER_HEADER_H);
    cairo_clip (cr);
    cairo_translate (cr, 0, -shift);
    kc_flow_render_draw (model, cr, -1);
    cairo_restore (cr);
    kc_flow_render_draw_header (model, cr);

    cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size (cr, 8);
    cairo_text_extents (cr, footer, &ext);
    cairo_set_source_rgb (cr, 0.45, 0.45, 0.48);
    cairo_move_to (cr, width - ext.width - 12, page_h - 8);
    cairo_show_text (cr, footer);

    for (guint i = page * PAGE_ROWS; i < MIN (n, (page + 1) * PAGE_ROWS); i++) {
      const KcFlowItem *item = kc_flow_model_get_item (model, i);
      g_autofree char *title = NULL, *link = NULL;

      if (item->kind == KC_FLOW_ITEM_NOTE || kc_event_get_fig3 (item->event) == 0)
        continue;
      title = outline_title (model, item);
      link = g_strdup_printf ("page=%u pos=[0 %g]", page + 1,
                              KC_FLOW_RENDER_HEADER_H + (i - page * PAGE_ROWS) * KC_FLOW_RENDER_ROW_H);
      cairo_pdf_surface_add_outline (surface, CAIRO_PDF_OUTLINE_ROOT, title, link, 0);
    }
    cairo_show_page (cr);
  }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  ok = surface_ok (surface, "PDF", error);
  cairo_surface_destroy (surface);
  return ok && write_bytes (path, pdf->data, pdf->len, error);
}

gboolean
kc_flow_export (KcFlowModel *model, const char *path, GError **error)
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
  if (g_str_has_suffix (lower, ".pdf"))
    return write_pdf (model, path, width, error);
  if (g_str_has_suffix (lower, ".txt")) {
    g_autofree char *text = kc_flow_export_text (model);

    return write_bytes (path, text, strlen (text), error);
  }
  g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
               "Cannot tell the format of %s: name it .svg, .png, .pdf or .txt", path);
  return FALSE;
}
