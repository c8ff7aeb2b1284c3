/* test-flow.c: the controller window's ladder (kc-flow-model, kc-flow-render)
 * from a recorded two-controller call (tests/data/flow-two-controllers.jsonl:
 * the events of gc1, gc2, Alice and Bob from `keycall-demo --keep`). No
 * display needed: the model is GLib only and exports are Cairo only.
 */
#define G_LOG_DOMAIN "test-flow"

#include "config.h"

#include "kc-flow-model.h"
#include "kc-flow-render.h"
#include "kc-flow-export.h"

#include "kc-error.h"

#include <cairo.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmp;

static KcFlowModel *
load_fixture (void)
{
  g_autoptr(GError) error = NULL;
  KcFlowModel *model = kc_flow_model_new ();

  g_assert_true (kc_flow_model_load_file (model, KC_FLOW_FIXTURE, &error));
  g_assert_no_error (error);
  return model;
}

/* The first arrow carrying FIG. 3 step @step, or -1. */
static int
first_arrow (KcFlowModel *model, int step)
{
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);

    if (item->kind == KC_FLOW_ITEM_ARROW && kc_event_get_fig3 (item->event) == step)
      return i;
  }
  return -1;
}

static void
assert_arrow (KcFlowModel *model, int index, const char *from, const char *to, gboolean key)
{
  const KcFlowItem *item = kc_flow_model_get_item (model, index);

  g_assert_cmpint (item->kind, ==, KC_FLOW_ITEM_ARROW);
  g_assert_cmpstr (kc_flow_model_get_lane (model, item->from), ==, from);
  g_assert_cmpstr (kc_flow_model_get_lane (model, item->to), ==, to);
  g_assert_cmpint (item->key_event != NULL, ==, key);
  if (key) {
    g_assert_cmpint (kc_event_get_kind (item->key_event), ==, KC_EVENT_KIND_KEY_SENT);
    g_assert_nonnull (strstr (item->label, "+ K"));
  }
}

/* Lanes: caller | source controller | destination controller | callee. */
static void
test_lanes (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  const char *lanes[] = { "cta:1001", "controller:gc1", "controller:gc2", "cta:2001" };
  KcFlowRole roles[] = { KC_FLOW_ROLE_CALLER, KC_FLOW_ROLE_SOURCE, KC_FLOW_ROLE_DESTINATION,
                         KC_FLOW_ROLE_CALLEE };

  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, 115);
  g_assert_cmpuint (kc_flow_model_get_n_lanes (model), ==, G_N_ELEMENTS (lanes));
  for (guint i = 0; i < G_N_ELEMENTS (lanes); i++) {
    g_assert_cmpstr (kc_flow_model_get_lane (model, i), ==, lanes[i]);
    g_assert_cmpint (kc_flow_model_get_lane_role (model, i), ==, roles[i]);
  }
  g_assert_cmpuint (kc_flow_model_find_lane (model, "lea:lea1"), ==, G_MAXUINT);
  /* Merged in time order though the fixture is one process after another. */
  for (guint i = 1; i < kc_flow_model_get_n_events (model); i++)
    g_assert_cmpint (kc_event_get_time (kc_flow_model_get_event (model, i - 1)), <=,
                     kc_event_get_time (kc_flow_model_get_event (model, i)));
}

/* The FIG. 3 arrows in order, each from its sender, the key arrows marked;
 * 408's notes on gc1 before 318. */
static void
test_arrows (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  const struct { int step; const char *from, *to; gboolean key; } steps[] = {
    { 316, "cta:1001", "controller:gc1", FALSE },
    { 318, "controller:gc1", "controller:gc2", TRUE },
    { 320, "controller:gc2", "cta:2001", TRUE },
    { 322, "cta:2001", "controller:gc2", FALSE },
    { 324, "controller:gc2", "controller:gc1", FALSE },
    { 326, "controller:gc1", "cta:1001", TRUE },
    { 328, "cta:1001", "controller:gc1", FALSE },
    { 330, "cta:2001", "controller:gc2", FALSE },
  };
  const char *notes[] = { "408 random key created", "408 key sealed to the law-enforcement key",
                          "408 key stored (sealed, durable)" };
  int last = -1, note = 0;

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    int index = first_arrow (model, steps[i].step);

    g_assert_cmpint (index, >, last);
    assert_arrow (model, index, steps[i].from, steps[i].to, steps[i].key);
    last = index;
  }
  g_assert_cmpstr (kc_flow_model_get_item (model, first_arrow (model, 318))->label, ==,
                   "318 INVITE + K");
  g_assert_cmpstr (kc_flow_model_get_item (model, first_arrow (model, 322))->label, ==,
                   "322 180 Ringing");

  for (int i = 0; i < first_arrow (model, 318); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);

    if (item->kind != KC_FLOW_ITEM_NOTE || kc_event_get_fig3 (item->event) != 408)
      continue;
    g_assert_cmpint (note, <, G_N_ELEMENTS (notes));
    g_assert_cmpstr (item->label, ==, notes[note++]);
    g_assert_cmpstr (kc_flow_model_get_lane (model, item->from), ==, "controller:gc1");
    g_assert_cmpuint (item->from, ==, item->to);
  }
  g_assert_cmpint (note, ==, G_N_ELEMENTS (notes));
  /* Every message logged by both ends is drawn once. */
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++)
    g_assert_cmpint (kc_event_get_kind (kc_flow_model_get_item (model, i)->event), !=,
                     KC_EVENT_KIND_SIP_RX);
}

static char *
write_lines (const char *name, GPtrArray *lines)
{
  g_autofree char *data = NULL;
  char *path = g_build_filename (tmp, name, NULL);

  g_ptr_array_add (lines, NULL);
  data = g_strjoinv ("\n", (char **) lines->pdata);
  g_ptr_array_remove_index (lines, lines->len - 1);
  g_assert_true (g_file_set_contents (path, data, -1, NULL));
  return path;
}

static void
count (guint *n)
{
  (*n)++;
}

/* One log per process, loaded in any order, gives the same ladder; a log
 * loaded twice (or replayed by a socket) adds nothing. */
static void
test_merge (void)
{
  g_autoptr(KcFlowModel) whole = load_fixture ();
  g_autoptr(KcFlowModel) merged = kc_flow_model_new ();
  g_autoptr(GHashTable) by_proc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) g_ptr_array_unref);
  g_autofree char *data = NULL;
  g_auto(GStrv) lines = NULL;
  const char *procs[] = { "keycall-2001", "keycall-1001", "gc2", "gc1" };
  g_autofree char *gc1_path = NULL;
  guint changed = 0;

  g_assert_true (g_file_get_contents (KC_FLOW_FIXTURE, &data, NULL, NULL));
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr(KcEvent) e = *lines[i] ? kc_event_from_json (lines[i], -1, NULL) : NULL;
    GPtrArray *list;

    if (e == NULL)
      continue;
    list = g_hash_table_lookup (by_proc, kc_event_get_process (e));
    if (list == NULL)
      g_hash_table_insert (by_proc, g_strdup (kc_event_get_process (e)),
                           list = g_ptr_array_new ());
    g_ptr_array_add (list, lines[i]);
  }
  g_assert_cmpuint (g_hash_table_size (by_proc), ==, G_N_ELEMENTS (procs));

  for (guint i = 0; i < G_N_ELEMENTS (procs); i++) {
    g_autofree char *name = g_strdup_printf ("%s.events", procs[i]);
    g_autofree char *path = write_lines (name, g_hash_table_lookup (by_proc, procs[i]));
    g_autoptr(GError) error = NULL;

    g_assert_true (kc_flow_model_load_file (merged, path, &error));
    g_assert_no_error (error);
    if (strcmp (procs[i], "gc1") == 0)
      gc1_path = g_steal_pointer (&path);
  }
  g_assert_cmpuint (kc_flow_model_get_n_events (merged), ==, kc_flow_model_get_n_events (whole));
  g_assert_cmpuint (kc_flow_model_get_n_items (merged), ==, kc_flow_model_get_n_items (whole));
  for (guint i = 0; i < kc_flow_model_get_n_items (whole); i++)
    g_assert_cmpstr (kc_flow_model_get_item (merged, i)->label, ==,
                     kc_flow_model_get_item (whole, i)->label);

  g_signal_connect_swapped (merged, "changed", G_CALLBACK (count), &changed);
  g_assert_true (kc_flow_model_load_file (merged, gc1_path, NULL));
  g_assert_false (kc_flow_model_add_event (merged, kc_flow_model_get_event (whole, 0)));
  g_assert_cmpuint (kc_flow_model_get_n_events (merged), ==, kc_flow_model_get_n_events (whole));
  g_assert_cmpuint (changed, ==, 0);
  kc_flow_model_clear (merged);
  g_assert_cmpuint (changed, ==, 1);
  g_assert_cmpuint (kc_flow_model_get_n_lanes (merged), ==, 0);
  g_assert_true (kc_flow_model_add_event (merged, kc_flow_model_get_event (whole, 0)));
}

/* A controller's own log alone (the controller window's case): the CTAs'
 * messages come from its sip-rx lines, and the lanes still get their roles. */
static void
test_one_controller (void)
{
  g_autoptr(KcFlowModel) whole = load_fixture ();
  g_autoptr(KcFlowModel) gc1 = kc_flow_model_new ();
  int invite;

  for (guint i = 0; i < kc_flow_model_get_n_events (whole); i++)
    if (g_strcmp0 (kc_event_get_process (kc_flow_model_get_event (whole, i)), "gc1") == 0)
      kc_flow_model_add_event (gc1, kc_flow_model_get_event (whole, i));
  g_assert_cmpuint (kc_flow_model_get_n_lanes (gc1), ==, 3);
  g_assert_cmpstr (kc_flow_model_get_lane (gc1, 0), ==, "cta:1001");
  g_assert_cmpstr (kc_flow_model_get_lane (gc1, 1), ==, "controller:gc1");
  g_assert_cmpstr (kc_flow_model_get_lane (gc1, 2), ==, "controller:gc2");
  g_assert_cmpint (kc_flow_model_get_lane_role (gc1, 2), ==, KC_FLOW_ROLE_DESTINATION);

  invite = first_arrow (gc1, 316);
  g_assert_cmpint (invite, >=, 0);
  assert_arrow (gc1, invite, "cta:1001", "controller:gc1", FALSE);
  g_assert_cmpint (kc_event_get_kind (kc_flow_model_get_item (gc1, invite)->event), ==,
                   KC_EVENT_KIND_SIP_RX);
  assert_arrow (gc1, first_arrow (gc1, 324), "controller:gc2", "controller:gc1", FALSE);
  assert_arrow (gc1, first_arrow (gc1, 326), "controller:gc1", "cta:1001", TRUE);
  g_assert_cmpint (first_arrow (gc1, 320), ==, -1);
}

/* Bad lines are skipped and named; good ones still load. */
static void
test_bad_file (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autoptr(KcFlowModel) partial = kc_flow_model_new ();
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *path = NULL, *missing = g_build_filename (tmp, "missing.events", NULL);
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (lines, kc_event_to_json (kc_flow_model_get_event (model, 0)));
  g_ptr_array_add (lines, g_strdup ("{\"v\":1,\"kind\":"));
  g_ptr_array_add (lines, g_strdup (""));
  g_ptr_array_add (lines, kc_event_to_json (kc_flow_model_get_event (model, 1)));
  g_ptr_array_add (lines, g_strdup ("{\"v\":9}"));
  path = write_lines ("bad.events", lines);

  g_assert_false (kc_flow_model_load_file (partial, path, &error));
  g_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "2 bad lines"));
  g_assert_nonnull (strstr (error->message, "line 2:"));
  g_assert_cmpuint (kc_flow_model_get_n_events (partial), ==, 2);
  g_clear_error (&error);

  g_assert_false (kc_flow_model_load_file (partial, missing, &error));
  g_assert_error (error, KC_ERROR, KC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
}

/* The recorded log carries fingerprints and key ids, never a key: every
 * key-mgmt payload is in its redacted form. */
static void
test_no_key_material (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autoptr(GRegex) raw = g_regex_new ("keycall [A-Za-z0-9+/=]{16,}|inline:|[A-Za-z0-9+/]{40,}", 0, 0, NULL);
  g_autofree char *data = NULL;
  guint redacted = 0;

  g_assert_true (g_file_get_contents (KC_FLOW_FIXTURE, &data, NULL, NULL));
  g_assert_false (g_regex_match (raw, data, 0, NULL));
  for (guint i = 0; i < kc_flow_model_get_n_events (model); i++) {
    const char *msg = kc_event_get_message (kc_flow_model_get_event (model, i));

    if (msg != NULL && strstr (msg, "keycall [KEY id ") != NULL)
      redacted++;
  }
  g_assert_cmpuint (redacted, >=, 4);   /* 318, 320 at both ends; 326 */
}

typedef struct {
  int       depth;
  gboolean  svg_root;
  GString  *text;
  char     *width;
} SvgParse;

static void
svg_start (GMarkupParseContext *context, const char *name, const char **attr_names,
           const char **attr_values, gpointer user_data, GError **error)
{
  SvgParse *p = user_data;

  if (p->depth++ == 0) {
    p->svg_root = strcmp (name, "svg") == 0;
    for (guint i = 0; attr_names[i] != NULL; i++)
      if (strcmp (attr_names[i], "width") == 0)
        p->width = g_strdup (attr_values[i]);
  }
}

static void
svg_end (GMarkupParseContext *context, const char *name, gpointer user_data, GError **error)
{
  ((SvgParse *) user_data)->depth--;
}

static void
svg_text (GMarkupParseContext *context, const char *text, gsize len, gpointer user_data,
          GError **error)
{
  if (strcmp (g_markup_parse_context_get_element (context), "desc") == 0)
    g_string_append_len (((SvgParse *) user_data)->text, text, len);
}

/* SVG: well-formed XML, an <svg> of the diagram's size, the steps as text. */
static void
test_export_svg (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autofree char *path = g_build_filename (tmp, "flow.svg", NULL);
  g_autofree char *data = NULL, *width = NULL;
  GMarkupParser parser = { svg_start, svg_end, svg_text, NULL, NULL };
  SvgParse p = { 0, FALSE, g_string_new (NULL), NULL };
  g_autoptr(GMarkupParseContext) context =
    g_markup_parse_context_new (&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &p, NULL);
  g_autoptr(GError) error = NULL;
  int w, h;

  g_assert_true (kc_flow_export (model, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  g_assert_true (g_markup_parse_context_parse (context, data, -1, &error)
                 && g_markup_parse_context_end_parse (context, &error));
  g_assert_no_error (error);
  g_assert_true (p.svg_root);
  kc_flow_render_get_size (model, &w, &h);
  width = g_strdup_printf ("%dpt", w);
  g_assert_cmpstr (p.width, ==, width);
  for (int step = 316; step <= 330; step += 2) {
    g_autofree char *label = g_strdup_printf ("%d ", step);

    g_assert_nonnull (strstr (p.text->str, label));
  }
  g_assert_nonnull (strstr (p.text->str, "controller:gc1 → controller:gc2  318 INVITE + K  (key → destination controller)"));
  g_assert_nonnull (strstr (p.text->str, "322 180 Ringing  (key acknowledged by the callee)"));
  g_assert_nonnull (strstr (p.text->str, "408 key stored"));
  g_string_free (p.text, TRUE);
  g_free (p.width);
}

static gboolean
row_has_key_colour (cairo_surface_t *png, double top, double bottom)
{
  int stride = cairo_image_surface_get_stride (png);
  const guint8 *data = cairo_image_surface_get_data (png);

  for (int y = (int) top; y < (int) bottom; y++)
    for (int x = 0; x < cairo_image_surface_get_width (png); x++) {
      guint32 px = *(const guint32 *) (data + y * stride + 4 * x);
      int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;

      /* The orange of a key-carrying arrow (0.80, 0.33, 0.00). */
      if (r > 180 && g > 60 && g < 110 && b < 40)
        return TRUE;
    }
  return FALSE;
}

/* PNG: the diagram's size; the key arrows drawn in their colour, others not. */
static void
test_export_png (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autofree char *path = g_build_filename (tmp, "flow.png", NULL);
  g_autofree char *other = g_build_filename (tmp, "flow.odg", NULL);
  g_autofree char *nowhere = g_build_filename (tmp, "no-such-dir", "flow.png", NULL);
  g_autoptr(GError) error = NULL;
  cairo_surface_t *png;
  double top, bottom;
  int w, h;

  g_assert_true (kc_flow_export (model, path, &error));
  g_assert_no_error (error);
  png = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (png), ==, CAIRO_STATUS_SUCCESS);
  kc_flow_render_get_size (model, &w, &h);
  g_assert_cmpint (cairo_image_surface_get_width (png), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (png), ==, h);
  g_assert_cmpint (h, >, 40 * kc_flow_model_get_n_items (model) / 2);

  kc_flow_render_item_rows (model, first_arrow (model, 318), &top, &bottom);
  g_assert_true (row_has_key_colour (png, top, bottom));
  kc_flow_render_item_rows (model, first_arrow (model, 316), &top, &bottom);
  g_assert_false (row_has_key_colour (png, top, bottom));
  cairo_surface_destroy (png);

  g_assert_false (kc_flow_export (model, other, &error));
  g_assert_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_false (kc_flow_export (model, nowhere, &error));
  g_assert_error (error, KC_ERROR, KC_ERROR_IO);
}

/* The titles of a PDF (outline entries, the document's): literal "(…)"
 * or UTF-16 "<FEFF…>" strings after "/Title", as Cairo writes them. */
static GString *
pdf_titles (const char *data, gsize len)
{
  GString *out = g_string_new (NULL);
  const char *end = data + len, *at;

  for (at = data; (at = memmem (at, end - at, "/Title", 6)) != NULL; ) {
    at += 6;
    while (at < end && *at == ' ')
      at++;
    if (at < end && *at == '(') {
      for (at++; at < end && *at != ')'; at++)
        g_string_append_c (out, *at == '\\' && at + 1 < end ? *++at : *at);
    } else if (end - at > 5 && strncmp (at, "<FEFF", 5) == 0) {
      for (at += 5; end - at > 3 && g_ascii_isxdigit (*at); at += 4) {
        char hex[5] = { at[0], at[1], at[2], at[3], 0 };

        g_string_append_unichar (out, (gunichar) strtoul (hex, NULL, 16));
      }
    }
    g_string_append_c (out, '\n');
  }
  return out;
}

/* PDF: a PDF file; its outline names every FIG. 3 step, key arrows
 * marked, in FIG. 3 order; pages of 40 rows; pdftotext, when installed,
 * finds the steps in the drawn text too. */
static void
test_export_pdf (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autofree char *path = g_build_filename (tmp, "flow.pdf", NULL);
  g_autofree char *data = NULL, *pdftotext = g_find_program_in_path ("pdftotext");
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) strings = NULL;
  const char *steps[] = { "316 INVITE: call request", "318 INVITE + K: key -> destination controller",
                          "320 INVITE + K: key -> callee", "322 180 Ringing: key acknowledged by the callee",
                          "324 180 Ringing", "326 183 Session Progress + K: key -> caller",
                          "328 PRACK: key acknowledged by the caller", "330 200 OK" };
  const char *at;
  gsize len;
  guint pages = 0;

  g_assert_true (kc_flow_export (model, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >, 1000);
  g_assert_true (g_str_has_prefix (data, "%PDF-"));
  for (at = data; (at = memmem (at, data + len - at, "/Type /Page", 11)) != NULL; at++)
    pages += at[strlen ("/Type /Page")] != 's';
  g_assert_cmpuint (pages, ==, (kc_flow_model_get_n_items (model) + 39) / 40);
  strings = pdf_titles (data, len);
  at = strings->str;
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    const char *found = strstr (at, steps[i]);

    if (found == NULL)
      g_error ("the PDF outline lacks \"%s\" (after the steps before it)", steps[i]);
    at = found;
  }
  g_assert_nonnull (strstr (strings->str, "FIG. 3 key distribution"));

  if (pdftotext != NULL) {
    g_autofree char *text_path = g_build_filename (tmp, "flow-pdf.txt", NULL), *text = NULL;
    const char *argv[] = { pdftotext, path, text_path, NULL };
    int status;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                 NULL, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (text_path, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "318 INVITE + K"));
    g_assert_nonnull (strstr (text, "408 key stored"));
  } else {
    g_test_message ("pdftotext not installed: the drawn text is not checked");
  }
}

/* Plain text: a title, then one line per row in order, with time, lanes,
 * FIG. 3 number, message and words; the media band's packet counters. */
static void
test_export_text (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autofree char *path = g_build_filename (tmp, "flow.txt", NULL);
  g_autofree char *data = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  int line_318 = -1, line_326 = -1;

  g_assert_true (kc_flow_export (model, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  lines = g_strsplit (data, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, kc_flow_model_get_n_items (model) + 2);   /* title, last "" */
  g_assert_true (g_str_has_prefix (lines[0], "FIG. 3 key distribution"));
  for (int i = 1; lines[i] != NULL; i++) {
    if (strstr (lines[i], "controller:gc1 → controller:gc2  318 INVITE + K  (key → destination controller)"))
      line_318 = i;
    if (strstr (lines[i], "controller:gc1 → cta:1001  326 183 Session Progress + K  (key → caller)"))
      line_326 = i;
  }
  g_assert_cmpint (line_318, >, 0);
  g_assert_cmpint (line_326, >, line_318);
  g_assert_true (g_regex_match_simple ("^ +[0-9]+\\.[0-9] ms +\\+[0-9]+\\.[0-9]  controller:gc1",
                                       lines[line_318], 0, 0));
  g_assert_nonnull (strstr (data, "cta:1001 ⇄ cta:2001  330 secure media ended: 245 packets caller → callee, "
                                  "247 callee → caller"));
}

/* A click on an arrow's row finds it; the header and the margins find nothing. */
static void
test_hit (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  int index = first_arrow (model, 318), w, h, hits = 0;
  double top, bottom;

  kc_flow_render_get_size (model, &w, &h);
  kc_flow_render_item_rows (model, index, &top, &bottom);
  for (int x = 0; x < w; x += 4) {
    int at = kc_flow_render_item_at (model, x, (top + bottom) / 2);

    g_assert_true (at == -1 || at == index);
    hits += at == index;
  }
  g_assert_cmpint (hits, >, 0);
  g_assert_cmpint (hits, <, w / 4);
  g_assert_cmpint (kc_flow_render_item_at (model, w / 2, 10), ==, -1);
  g_assert_cmpint (kc_flow_render_item_at (model, w / 2, h + 100), ==, -1);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("keycall-test-flow-XXXXXX", NULL);
  g_assert_nonnull (tmp);

  g_test_add_func ("/flow/lanes", test_lanes);
  g_test_add_func ("/flow/arrows", test_arrows);
  g_test_add_func ("/flow/merge", test_merge);
  g_test_add_func ("/flow/one-controller", test_one_controller);
  g_test_add_func ("/flow/bad-file", test_bad_file);
  g_test_add_func ("/flow/no-key-material", test_no_key_material);
  g_test_add_func ("/flow/export-svg", test_export_svg);
  g_test_add_func ("/flow/export-png", test_export_png);
  g_test_add_func ("/flow/export-pdf", test_export_pdf);
  g_test_add_func ("/flow/export-text", test_export_text);
  g_test_add_func ("/flow/hit", test_hit);
  status = g_test_run ();

  {
    g_autofree char *quoted = g_shell_quote (tmp);
    g_autofree char *cmd = g_strdup_printf ("rm -rf %s", quoted);

    if (system (cmd) != 0)
      g_warning ("could not remove %s", tmp);
  }
  g_free (tmp);
  return status;
}
