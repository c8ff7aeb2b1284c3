/* test-flow-window.c: the controller window (KcFlowWindow, KcFlowView) on
 * a display (Xvfb under scripts/with-test-env): the recorded two-controller
 * call (tests/data/flow-two-controllers.jsonl, a real run) shows FIG. 3 in
 * order, the lane headers stay on top while the rows scroll, the header
 * bar's filters drive the diagram, the side panels list what the events
 * say, exports write what is shown, and a replay fills the window.
 */
#define G_LOG_DOMAIN "test-flow-window"

#include "config.h"

#include "kc-flow-export.h"
#include "kc-flow-render.h"
#include "kc-flow-window.h"

#include "kc-event-socket.h"
#include "ui-test.h"

#include <adwaita.h>
#include <string.h>

#define CALL "a4220fa5-0de7-47a0-9343-105aab671ac0"

void flow_step_add_tests (void);

static char *tmp;

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @done or @seconds pass; whether @done. */
static gboolean
wait_until (gboolean (*done) (gpointer), gpointer data, int seconds)
{
  gboolean late = FALSE;
  guint id = g_timeout_add_seconds (seconds, on_deadline, &late);

  while (!done (data) && !late)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (id);
  return done (data);
}

static void
spin (int ms)
{
  gboolean late = FALSE;

  g_timeout_add (ms, on_deadline, &late);
  while (!late)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget);
}

static KcFlowWindow *
open_window (void)
{
  g_autoptr(KcFlowModel) model = kc_flow_model_new ();
  g_autoptr(GError) error = NULL;
  KcFlowWindow *window;

  g_assert_true (kc_flow_model_load_file (model, KC_FLOW_FIXTURE, &error));
  g_assert_no_error (error);
  window = kc_flow_window_new (NULL, model);
  gtk_window_set_default_size (GTK_WINDOW (window), 1300, 800);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_until (is_mapped, window, 10));
  kc_flow_window_flush (window);
  spin (100);
  return window;
}

static GtkWidget *
find_widget (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c)) {
    GtkWidget *found = find_widget (c, type);

    if (found != NULL)
      return found;
  }
  return NULL;
}

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

/* FIG. 3 in order, each step from its sender; selecting 318 shows its
 * words and its message with the key redacted to a fingerprint. */
static void
test_arrows (void)
{
  KcFlowWindow *window = open_window ();
  KcFlowView *view = kc_flow_window_get_view (window);
  KcFlowModel *model = kc_flow_view_get_model (view);
  const struct { int step; const char *from, *to; } steps[] = {
    { 316, "cta:1001", "controller:gc1" }, { 318, "controller:gc1", "controller:gc2" },
    { 320, "controller:gc2", "cta:2001" }, { 322, "cta:2001", "controller:gc2" },
    { 324, "controller:gc2", "controller:gc1" }, { 326, "controller:gc1", "cta:1001" },
    { 328, "cta:1001", "controller:gc1" }, { 330, "cta:2001", "controller:gc2" },
  };
  g_autofree char *details = NULL;
  int last = -1;

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    int index = first_arrow (model, steps[i].step);
    const KcFlowItem *item;

    g_assert_cmpint (index, >, last);
    item = kc_flow_model_get_item (model, index);
    g_assert_cmpstr (kc_flow_model_get_lane (model, item->from), ==, steps[i].from);
    g_assert_cmpstr (kc_flow_model_get_lane (model, item->to), ==, steps[i].to);
    last = index;
  }
  g_assert_true (kc_flow_view_select_step (view, 318));
  g_assert_cmpint (kc_flow_view_get_selected (view), ==, first_arrow (model, 318));
  details = kc_flow_view_get_details (view);
  g_assert_true (g_str_has_prefix (details, "318 INVITE + K — key → destination controller\n"));
  g_assert_nonnull (strstr (details, "INVITE sips:2001@keycall.test SIP/2.0"));
  g_assert_nonnull (strstr (details, "keycall [KEY id "));
  g_assert_nonnull (strstr (details, "the key event sent with it"));
  g_assert_false (kc_flow_view_select_step (view, 399));
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
bounds_in (GtkWidget *widget, GtkWidget *root, graphene_rect_t *rect)
{
  g_assert_true (gtk_widget_compute_bounds (widget, root, rect));
}

/* Scrolled to the end, the lane headers are where they were, above the
 * rows, and the last row is in sight; selecting the first row scrolls
 * back to it. */
static void
test_sticky_header (void)
{
  KcFlowWindow *window = open_window ();
  KcFlowView *view = kc_flow_window_get_view (window);
  GtkWidget *header = kc_flow_view_get_header (view);
  GtkAdjustment *vadj = kc_flow_view_get_vadjustment (view);
  GtkWidget *area = find_widget (GTK_WIDGET (view), GTK_TYPE_SCROLLED_WINDOW);
  graphene_rect_t before, after, rows;

  bounds_in (header, GTK_WIDGET (window), &before);
  g_assert_cmpfloat (before.size.height, ==, 60);
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadj), >, gtk_adjustment_get_page_size (vadj));
  gtk_adjustment_set_value (vadj, gtk_adjustment_get_upper (vadj));
  spin (100);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadj), >, 0);
  bounds_in (header, GTK_WIDGET (window), &after);
  g_assert_cmpfloat (after.origin.y, ==, before.origin.y);
  g_assert_true (gtk_widget_get_mapped (header));
  bounds_in (area, GTK_WIDGET (window), &rows);
  g_assert_cmpfloat (rows.origin.y, >=, after.origin.y + after.size.height);
  /* The rows area is the diagram less its header. */
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadj), ==,
                     60 + 30 * kc_flow_model_get_n_items (kc_flow_view_get_model (view)) + 24 - 60);

  kc_flow_view_select (view, 0);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadj), ==, 0);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* A step selected as the window opens (keycall-flow --select) is scrolled
 * into sight once the window has its size. */
static void
test_select_on_open (void)
{
  g_autoptr(KcFlowModel) model = kc_flow_model_new ();
  KcFlowWindow *window;
  KcFlowView *view;
  GtkAdjustment *vadj;
  double top, bottom;

  g_assert_true (kc_flow_model_load_file (model, KC_FLOW_FIXTURE, NULL));
  window = kc_flow_window_new (NULL, model);
  gtk_window_set_default_size (GTK_WINDOW (window), 1300, 800);
  view = kc_flow_window_get_view (window);
  g_assert_true (kc_flow_view_select_step (view, 330));
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_until (is_mapped, window, 10));
  spin (300);
  vadj = kc_flow_view_get_vadjustment (view);
  kc_flow_render_item_rows (model, kc_flow_view_get_selected (view), &top, &bottom);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadj), >, 0);
  g_assert_cmpfloat (top - 60, >=, gtk_adjustment_get_value (vadj));
  g_assert_cmpfloat (bottom - 60, <=, gtk_adjustment_get_value (vadj) + gtk_adjustment_get_page_size (vadj));
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
number_filter_is_2001 (gpointer model)
{
  return g_strcmp0 (kc_flow_model_get_number_filter (model), "2001") == 0;
}

/* The search entry filters by number; the drop-down lists the call and
 * filters on it; kc_flow_window_set_filter() sets both back. */
static void
test_filters (void)
{
  KcFlowWindow *window = open_window ();
  KcFlowModel *model = kc_flow_window_get_model (window);
  GtkWidget *search = find_widget (GTK_WIDGET (window), GTK_TYPE_SEARCH_ENTRY);
  GtkDropDown *calls = GTK_DROP_DOWN (find_widget (GTK_WIDGET (window), GTK_TYPE_DROP_DOWN));
  GListModel *names = gtk_drop_down_get_model (calls);
  guint all = kc_flow_model_get_n_items (model);

  g_assert_cmpuint (g_list_model_get_n_items (names), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (names), 0), ==, "All calls");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (names), 1), ==, "1001 → 2001 (a4220fa5)");

  gtk_editable_set_text (GTK_EDITABLE (search), "2001");
  g_assert_true (wait_until (number_filter_is_2001, model, 5));
  kc_flow_window_flush (window);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), <, all);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), >, 0);

  gtk_drop_down_set_selected (calls, 1);
  g_assert_cmpstr (kc_flow_model_get_call_filter (model), ==, CALL);
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++)
    g_assert_cmpstr (kc_event_get_call_id (kc_flow_model_get_item (model, i)->event), ==, CALL);

  kc_flow_window_set_filter (window, NULL, NULL);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (search)), ==, "");
  g_assert_cmpuint (gtk_drop_down_get_selected (calls), ==, 0);
  spin (300);   /* past the entry's search delay: nothing comes back */
  g_assert_null (kc_flow_model_get_number_filter (model));
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, all);
  gtk_window_destroy (GTK_WINDOW (window));
}

static GPtrArray *
panel_titles (KcFlowWindow *window, KcFlowPanel panel)
{
  GPtrArray *titles = g_ptr_array_new ();
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (kc_flow_window_get_panel (window, panel), i)); i++)
    g_ptr_array_add (titles, (gpointer) adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)));
  return titles;
}

static gboolean
has (GPtrArray *titles, const char *title)
{
  for (guint i = 0; i < titles->len; i++)
    if (g_strcmp0 (titles->pdata[i], title) == 0)
      return TRUE;
  return FALSE;
}

/* Each panel's rows; activating the call row filters on the call, a CTA
 * row on its number. */
static void
test_panels (void)
{
  KcFlowWindow *window = open_window ();
  KcFlowModel *model = kc_flow_window_get_model (window);
  g_autoptr(GPtrArray) ctas = panel_titles (window, KC_FLOW_PANEL_CTAS);
  g_autoptr(GPtrArray) calls = panel_titles (window, KC_FLOW_PANEL_CALLS);
  g_autoptr(GPtrArray) keys = panel_titles (window, KC_FLOW_PANEL_KEYS);
  g_autoptr(GPtrArray) cdrs = panel_titles (window, KC_FLOW_PANEL_CDRS);
  g_autoptr(GPtrArray) taps = panel_titles (window, KC_FLOW_PANEL_TAPS);
  GtkListBoxRow *row;

  g_assert_cmpuint (ctas->len, ==, 4);
  g_assert_true (has (ctas, "1001") && has (ctas, "2001") && has (ctas, "gc1 → gc2"));
  g_assert_cmpuint (calls->len, ==, 1);
  g_assert_true (has (calls, "1001 → 2001"));
  g_assert_cmpuint (keys->len, ==, 1);
  g_assert_true (has (keys, "key 6abd 7565 fdbe 6f1f"));
  g_assert_cmpuint (cdrs->len, ==, 2);
  g_assert_cmpuint (taps->len, ==, 0);
  row = gtk_list_box_get_row_at_index (kc_flow_window_get_panel (window, KC_FLOW_PANEL_CALLS), 0);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "key 6abd 7565 fdbe 6f1f · created → sent → acknowledged by the callee → "
                   "acknowledged by the caller → media flowing → ended");

  g_signal_emit_by_name (kc_flow_window_get_panel (window, KC_FLOW_PANEL_CALLS), "row-activated", row);
  g_assert_cmpstr (kc_flow_model_get_call_filter (model), ==, CALL);
  /* A controller link filters on nothing; a CTA on its number. */
  for (int i = 0; (row = gtk_list_box_get_row_at_index (kc_flow_window_get_panel (window, KC_FLOW_PANEL_CTAS), i)); i++) {
    const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row));

    g_signal_emit_by_name (kc_flow_window_get_panel (window, KC_FLOW_PANEL_CTAS), "row-activated", row);
    if (strchr (title, ' ') != NULL) {
      g_assert_false (gtk_list_box_row_get_activatable (row));
      continue;
    }
    g_assert_null (kc_flow_model_get_call_filter (model));
    g_assert_cmpstr (kc_flow_model_get_number_filter (model), ==, title);
  }
  g_assert_nonnull (kc_flow_model_get_number_filter (model));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* What the window shows is what is exported: with a call filter the text
 * has only that call's rows; every format writes. */
static void
test_exports (void)
{
  KcFlowWindow *window = open_window ();
  KcFlowModel *model = kc_flow_window_get_model (window);
  const char *names[] = { "w.svg", "w.png", "w.pdf", "w.txt" };
  g_autofree char *text = NULL;

  kc_flow_window_set_filter (window, CALL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = g_build_filename (tmp, names[i], NULL), *data = NULL;
    g_autoptr(GError) error = NULL;
    gsize len;

    g_assert_true (kc_flow_export (model, path, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (path, &data, &len, NULL));
    g_assert_cmpuint (len, >, 100);
    if (g_str_has_suffix (names[i], ".pdf"))
      g_assert_true (g_str_has_prefix (data, "%PDF-"));
    if (g_str_has_suffix (names[i], ".txt"))
      text = g_steal_pointer (&data);
  }
  g_assert_true (g_str_has_prefix (text, "FIG. 3 key distribution, from Keycall events; call " CALL "\n"));
  g_assert_null (strstr (text, "REGISTER"));
  g_assert_nonnull (strstr (text, "318 INVITE + K  (key → destination controller)"));
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean label_is (GtkWidget *root, const char *text);

typedef struct {
  KcFlowModel *model;
  guint        want;
} Count;

static gboolean
has_events (gpointer data)
{
  Count *c = data;

  return kc_flow_model_get_n_events (c->model) >= c->want;
}

/* Live: each controller's events come from its own event socket (a real
 * KcEventServer: half replayed on connect, half pushed after), the CTAs'
 * from their log; the window merges the three into the one FIG. 3 ladder
 * the whole log gives, and says both sockets are connected. */
static void
test_live_sockets (void)
{
  g_autoptr(KcFlowModel) whole = kc_flow_model_new ();
  g_autoptr(GPtrArray) ctas = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *gc1_path = g_build_filename (tmp, "gc1.sock", NULL);
  g_autofree char *gc2_path = g_build_filename (tmp, "gc2.sock", NULL);
  g_autofree char *cta_log = g_build_filename (tmp, "ctas.events", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEventServer) gc1 = kc_event_server_new (gc1_path, &error);
  g_autoptr(KcEventServer) gc2 = kc_event_server_new (gc2_path, &error);
  g_autoptr(KcFlowModel) model = kc_flow_model_new ();
  KcFlowWindow *window;
  Count count;
  guint half;

  g_assert_no_error (error);
  g_assert_true (kc_flow_model_load_file (whole, KC_FLOW_FIXTURE, NULL));
  for (guint i = 0; i < kc_flow_model_get_n_events (whole); i++) {
    KcEvent *e = kc_flow_model_get_event (whole, i);

    if (g_str_has_prefix (kc_event_get_process (e), "keycall-"))
      g_ptr_array_add (ctas, kc_event_to_json (e));
  }
  g_ptr_array_add (ctas, NULL);
  {
    g_autofree char *data = g_strjoinv ("\n", (char **) ctas->pdata);

    g_assert_true (g_file_set_contents (cta_log, data, -1, NULL));
  }
  g_assert_true (kc_flow_model_load_file (model, cta_log, NULL));

  half = kc_flow_model_get_n_events (whole) / 2;
  for (guint i = 0; i < half; i++) {
    KcEvent *e = kc_flow_model_get_event (whole, i);

    if (g_strcmp0 (kc_event_get_process (e), "gc1") == 0)
      kc_event_server_push (gc1, e);
    else if (g_strcmp0 (kc_event_get_process (e), "gc2") == 0)
      kc_event_server_push (gc2, e);
  }
  window = kc_flow_window_new (NULL, model);
  kc_flow_window_add_socket (window, gc1_path);
  kc_flow_window_add_socket (window, gc2_path);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_until (is_mapped, window, 10));
  spin (300);
  for (guint i = half; i < kc_flow_model_get_n_events (whole); i++) {
    KcEvent *e = kc_flow_model_get_event (whole, i);

    if (g_strcmp0 (kc_event_get_process (e), "gc1") == 0)
      kc_event_server_push (gc1, e);
    else if (g_strcmp0 (kc_event_get_process (e), "gc2") == 0)
      kc_event_server_push (gc2, e);
  }
  count.model = model;
  count.want = kc_flow_model_get_n_events (whole);
  g_assert_true (wait_until (has_events, &count, 20));
  kc_flow_window_flush (window);
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, kc_flow_model_get_n_events (whole));
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, kc_flow_model_get_n_items (whole));
  for (guint i = 0; i < kc_flow_model_get_n_items (whole); i++)
    g_assert_cmpstr (kc_flow_model_get_item (model, i)->label, ==, kc_flow_model_get_item (whole, i)->label);
  g_assert_true (label_is (GTK_WIDGET (window), "live: 2 of 2 event sockets connected"));
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
replay_done (gpointer replay)
{
  return kc_flow_replay_get_position (replay) == kc_flow_replay_get_n_events (replay)
         && !kc_flow_replay_is_playing (replay);
}

static gboolean
label_is (GtkWidget *root, const char *text)
{
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (root)), text) == 0)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (label_is (c, text))
      return TRUE;
  return FALSE;
}

/* A replay at 100× fills an empty window with the whole call; its bar
 * counts the events. */
static void
test_replay (void)
{
  g_autoptr(KcFlowModel) model = kc_flow_model_new ();
  g_autoptr(KcFlowReplay) replay = kc_flow_replay_new (model);
  g_autoptr(KcFlowModel) whole = kc_flow_model_new ();
  char *paths[] = { (char *) KC_FLOW_FIXTURE, NULL };
  KcFlowWindow *window = kc_flow_window_new (NULL, model);
  g_autofree char *done = NULL;

  g_assert_true (kc_flow_model_load_file (whole, KC_FLOW_FIXTURE, NULL));
  g_assert_true (kc_flow_replay_load (replay, paths, NULL));
  kc_flow_replay_set_speed (replay, 100);
  kc_flow_window_set_replay (window, replay);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (label_is (GTK_WIDGET (window), "0 of 115 events"));
  kc_flow_replay_play (replay);
  g_assert_true (wait_until (replay_done, replay, 20));
  kc_flow_window_flush (window);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, kc_flow_model_get_n_items (whole));
  done = g_strdup_printf ("%u of %u events", kc_flow_model_get_n_events (whole), kc_flow_model_get_n_events (whole));
  g_assert_true (label_is (GTK_WIDGET (window), done));
  g_assert_cmpuint (g_list_model_get_n_items (gtk_drop_down_get_model (
    GTK_DROP_DOWN (find_widget (GTK_WIDGET (window), GTK_TYPE_DROP_DOWN)))), ==, 2);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  int status;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  tmp = g_dir_make_tmp ("keycall-test-flow-window-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  /* The step-mode tests (test-flow-step.c) run real processes here. */
  T.tmp = g_strdup (tmp);
  private_dirs ();

  g_test_add_func ("/flow-window/arrows", test_arrows);
  g_test_add_func ("/flow-window/sticky-header", test_sticky_header);
  g_test_add_func ("/flow-window/select-on-open", test_select_on_open);
  g_test_add_func ("/flow-window/filters", test_filters);
  g_test_add_func ("/flow-window/panels", test_panels);
  g_test_add_func ("/flow-window/exports", test_exports);
  g_test_add_func ("/flow-window/replay", test_replay);
  g_test_add_func ("/flow-window/live-sockets", test_live_sockets);
  flow_step_add_tests ();
  status = g_test_run ();

  {
    g_autoptr(GFile) dir = g_file_new_for_path (tmp);
    g_autoptr(GFileEnumerator) children = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                                                     0, NULL, NULL);
    GFileInfo *info;

    while (children && (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL) {
      g_autoptr(GFile) child = g_file_get_child (dir, g_file_info_get_name (info));

      g_file_delete (child, NULL, NULL);
      g_object_unref (info);
    }
    g_file_delete (dir, NULL, NULL);
  }
  remove_tree (tmp);
  g_free (T.net);
  g_free (T.tmp);
  g_free (tmp);
  return status;
}
