/* kc-flow-window.c: a header bar (title, what is drawn, filters, Export)
 * over the flow view and its side panels, a replay bar when a log is
 * replayed, and the event sockets that feed it.
 *
 * Panels and the call list are rebuilt from all events, which costs a pass
 * over them: at most every PANELS_MS, however fast events arrive.
 */
#define G_LOG_DOMAIN "kc-flow-window"

#include "config.h"

#include "kc-flow-window.h"

#include "kc-flow-export.h"
#include "kc-event-socket.h"
#include "kc-flow-step.h"

#define RETRY_S   2
#define PANELS_MS 250

static const double speeds[] = { 0.1, 0.25, 0.5, 1, 2, 5, 10, 100 };
static const char *const speed_names[] = { "0.1×", "0.25×", "0.5×", "1×", "2×", "5×", "10×", "100×", NULL };

typedef struct {
  KcFlowWindow  *window;     /* owns this */
  char          *path;
  KcEventClient *client;
  GCancellable  *cancellable;
  guint          retry_id;
  gboolean       up;
  gboolean       control;    /* the controller's private window socket */
} Socket;

struct _KcFlowWindow {
  AdwApplicationWindow  parent_instance;

  KcFlowModel          *model;
  KcFlowView           *view;
  AdwWindowTitle       *title;
  AdwToastOverlay      *toasts;
  char                 *source;
  GPtrArray            *sockets;   /* Socket */

  GtkWidget            *search;    /* number filter */
  GtkWidget            *calls;     /* GtkDropDown: all calls, then each call */
  GtkStringList        *call_names;
  GPtrArray            *call_ids;  /* char *, parallel to call_names from index 1 */
  gboolean              syncing;   /* widgets being set from the filter */
  GtkListBox           *panels[KC_FLOW_N_PANELS];
  GtkWidget            *panel_buttons[KC_FLOW_N_PANELS];
  guint                 panels_id;
  gint64                panels_at;

  KcFlowReplay         *replay;
  GtkWidget            *replay_bar;
  GtkWidget            *play;
  GtkWidget            *speed;
  GtkWidget            *progress;

  GtkWidget            *step_bar;  /* KcFlowStepBar, shown with a window socket */
  GtkWidget            *banner;    /* red, while keys are revealed */
  GHashTable           *keys;      /* classroom: key id → KcSecret, from the window socket */
};

G_DEFINE_TYPE (KcFlowWindow, kc_flow_window, ADW_TYPE_APPLICATION_WINDOW)

static void socket_connect (Socket *s);


static void
update_subtitle (KcFlowWindow *self)
{
  g_autoptr(GString) text = g_string_new (self->source);
  guint up = 0;

  for (guint i = 0; i < self->sockets->len; i++)
    up += ((Socket *) self->sockets->pdata[i])->up;
  if (self->sockets->len > 0)
    g_string_append_printf (text, "%slive: %u of %u event socket%s connected",
                            text->len ? " · " : "", up, self->sockets->len,
                            self->sockets->len == 1 ? "" : "s");
  adw_window_title_set_subtitle (self->title, text->str);
}

static void
toast (KcFlowWindow *self, const char *message)
{
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
}

static void
socket_free (gpointer data)
{
  Socket *s = data;

  g_cancellable_cancel (s->cancellable);
  g_clear_handle_id (&s->retry_id, g_source_remove);
  if (s->control && s->window->step_bar != NULL)
    kc_flow_step_bar_set_client (KC_FLOW_STEP_BAR (s->window->step_bar), NULL);
  if (s->client != NULL) {
    g_signal_handlers_disconnect_by_data (s->client, s);
    kc_event_client_disconnect (s->client);
  }
  g_clear_object (&s->client);
  g_clear_object (&s->cancellable);
  g_free (s->path);
  g_free (s);
}

static gboolean
on_retry (gpointer user_data)
{
  Socket *s = user_data;

  s->retry_id = 0;
  socket_connect (s);
  return G_SOURCE_REMOVE;
}

static void
socket_down (Socket *s)
{
  s->up = FALSE;
  if (s->control)
    kc_flow_step_bar_set_client (KC_FLOW_STEP_BAR (s->window->step_bar), NULL);
  update_subtitle (s->window);
  if (s->retry_id == 0)
    s->retry_id = g_timeout_add_seconds (RETRY_S, on_retry, s);
}

static void
on_client_event (KcEventClient *client, KcEvent *event, gpointer user_data)
{
  Socket *s = user_data;

  if (s->control)
    kc_flow_step_bar_add_event (KC_FLOW_STEP_BAR (s->window->step_bar), event);
  /* The answer to a command is for the bar, not the diagram. */
  if (kc_event_get_kind (event) != KC_EVENT_KIND_LOG || kc_event_get_attr (event, "refused") == NULL)
    kc_flow_model_add_event (s->window->model, event);
}

/* Kept even while the switch is off, so turning it on shows the keys of
 * calls already made; wiped with the window. */
static void
on_client_key (KcEventClient *client, const char *call_id, const char *key_id, gpointer key,
               gpointer user_data)
{
  Socket *s = user_data;

  g_hash_table_replace (s->window->keys, g_strdup (key_id), kc_secret_copy (key));
  if (gtk_widget_get_visible (s->window->banner))
    kc_flow_view_set_revealed_keys (s->window->view, s->window->keys);
}

static void
on_reveal_toggled (GtkSwitch *reveal, GParamSpec *pspec, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  gboolean on = gtk_switch_get_active (reveal);

  gtk_widget_set_visible (self->banner, on);
  kc_flow_view_set_revealed_keys (self->view, on ? self->keys : NULL);
}

static void
on_client_closed (KcEventClient *client, GError *error, gpointer user_data)
{
  Socket *s = user_data;
  g_autofree char *message = g_strdup_printf ("%s closed%s%s", s->path,
                                              error ? ": " : "", error ? error->message : "");

  toast (s->window, message);
  socket_down (s);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  Socket *s;

  if (!kc_event_client_connect_finish (KC_EVENT_CLIENT (source), result, &error)) {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      return;   /* the window is gone: @user_data with it */
    s = user_data;
    g_debug ("%s: %s", s->path, error->message);
    socket_down (s);
    return;
  }
  s = user_data;
  s->up = TRUE;
  if (s->control)
    kc_flow_step_bar_set_client (KC_FLOW_STEP_BAR (s->window->step_bar), s->client);
  update_subtitle (s->window);
}

static void
socket_connect (Socket *s)
{
  g_clear_object (&s->client);
  s->client = kc_event_client_new ();
  g_signal_connect (s->client, "event", G_CALLBACK (on_client_event), s);
  g_signal_connect (s->client, "closed", G_CALLBACK (on_client_closed), s);
  if (s->control)
    g_signal_connect (s->client, "key", G_CALLBACK (on_client_key), s);
  kc_event_client_connect_async (s->client, s->path, s->cancellable, on_connected, s);
}

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  path = file ? g_file_get_path (file) : NULL;
  if (path != NULL) {
    /* What the window shows: the filtered diagram. */
    if (kc_flow_export (self->model, path, &error)) {
      g_autofree char *message = g_strdup_printf ("Exported to %s", path);

      toast (self, message);
    } else {
      toast (self, error->message);
    }
  }
  g_object_unref (dialog);
}

static void
on_export_clicked (GtkButton *button, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new ("Export the diagram (.svg, .png, .pdf or .txt)", GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "flow.svg");
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}


/* Filters ------------------------------------------------------------------------ */

static void
sync_filter_widgets (KcFlowWindow *self)
{
  const char *call = kc_flow_model_get_call_filter (self->model);
  const char *number = kc_flow_model_get_number_filter (self->model);
  guint selected = 0;

  self->syncing = TRUE;
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->search)), number ? number : "") != 0)
    gtk_editable_set_text (GTK_EDITABLE (self->search), number ? number : "");
  for (guint i = 0; call != NULL && i < self->call_ids->len; i++)
    if (g_strcmp0 (self->call_ids->pdata[i], call) == 0)
      selected = i + 1;
  if (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->calls)) != selected)
    gtk_drop_down_set_selected (GTK_DROP_DOWN (self->calls), selected);
  self->syncing = FALSE;
}

void
kc_flow_window_set_filter (KcFlowWindow *window, const char *call_id, const char *number)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));

  kc_flow_model_set_filter (window->model, call_id, number);
  sync_filter_widgets (window);
}

static void
on_search_changed (GtkSearchEntry *entry, gpointer user_data)
{
  KcFlowWindow *self = user_data;

  if (self->syncing)
    return;
  kc_flow_model_set_filter (self->model, kc_flow_model_get_call_filter (self->model),
                            gtk_editable_get_text (GTK_EDITABLE (entry)));
}

static void
on_call_selected (GtkDropDown *calls, GParamSpec *pspec, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  guint selected = gtk_drop_down_get_selected (calls);

  if (self->syncing)
    return;
  kc_flow_model_set_filter (self->model,
                            selected > 0 && selected <= self->call_ids->len
                            ? self->call_ids->pdata[selected - 1] : NULL,
                            kc_flow_model_get_number_filter (self->model));
}

/* The drop-down lists the calls of the Calls panel; rebuilt only when
 * the calls themselves change, so an open list is not reset by events. */
static void
update_call_list (KcFlowWindow *self, GPtrArray *rows)
{
  gboolean same = rows->len == self->call_ids->len;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; same && i < rows->len; i++)
    same = g_strcmp0 (((KcFlowPanelRow *) rows->pdata[i])->id, self->call_ids->pdata[i]) == 0;
  g_ptr_array_add (names, g_strdup ("All calls"));
  for (guint i = 0; i < rows->len; i++) {
    KcFlowPanelRow *row = rows->pdata[i];

    g_ptr_array_add (names, g_strdup_printf ("%s (%.8s)", row->title, row->id));
  }
  g_ptr_array_add (names, NULL);
  self->syncing = TRUE;
  if (!same) {
    g_ptr_array_set_size (self->call_ids, 0);
    for (guint i = 0; i < rows->len; i++)
      g_ptr_array_add (self->call_ids, g_strdup (((KcFlowPanelRow *) rows->pdata[i])->id));
  }
  /* Titles change as a call proceeds ("1001 → …" → "1001 → 2001"). */
  gtk_string_list_splice (self->call_names, 0, g_list_model_get_n_items (G_LIST_MODEL (self->call_names)),
                          (const char *const *) names->pdata);
  self->syncing = FALSE;
  sync_filter_widgets (self);
}

/* Panels ------------------------------------------------------------------------- */

static GtkWidget *
panel_row (const KcFlowPanelRow *row)
{
  GtkWidget *widget = adw_action_row_new ();
  GtkWidget *state = gtk_label_new (row->state);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (widget), row->title ? row->title : "");
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (widget), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (widget), row->subtitle ? row->subtitle : "");
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (widget), 3);
  gtk_widget_add_css_class (state, row->bad ? "error" : "dim-label");
  gtk_label_set_xalign (GTK_LABEL (state), 1);
  adw_action_row_add_suffix (ADW_ACTION_ROW (widget), state);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (widget), row->id != NULL);
  g_object_set_data_full (G_OBJECT (widget), "kc-id", g_strdup (row->id), g_free);
  return widget;
}

static void
update_panels (KcFlowWindow *self)
{
  self->panels_at = g_get_monotonic_time ();
  for (KcFlowPanel p = 0; p < KC_FLOW_N_PANELS; p++) {
    g_autoptr(GPtrArray) rows = kc_flow_panels_build (self->model, p);
    GtkWidget *child;

    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->panels[p]))) != NULL)
      gtk_list_box_remove (self->panels[p], child);
    for (guint i = 0; i < rows->len; i++)
      gtk_list_box_append (self->panels[p], panel_row (rows->pdata[i]));
    if (p == KC_FLOW_PANEL_CALLS)
      update_call_list (self, rows);
  }
}

static gboolean
on_panels_due (gpointer user_data)
{
  KcFlowWindow *self = user_data;

  self->panels_id = 0;
  update_panels (self);
  return G_SOURCE_REMOVE;
}

static void
on_model_changed (KcFlowModel *model, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  gint64 wait_ms;

  if (self->panels_id != 0)
    return;
  wait_ms = PANELS_MS - (g_get_monotonic_time () - self->panels_at) / 1000;
  self->panels_id = g_timeout_add (CLAMP (wait_ms, 0, PANELS_MS), on_panels_due, self);
}

/* A row of a panel filters the diagram on its call (or number). */
static void
on_panel_activated (GtkListBox *box, GtkListBoxRow *row, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  const char *id = g_object_get_data (G_OBJECT (row), "kc-id");
  gboolean number = box == self->panels[KC_FLOW_PANEL_CTAS] || box == self->panels[KC_FLOW_PANEL_TAPS];

  if (id == NULL)
    return;
  if (number)
    kc_flow_window_set_filter (self, NULL, id);
  else
    kc_flow_window_set_filter (self, id, NULL);
}

static void
on_panel_toggled (GtkToggleButton *button, gpointer user_data)
{
  if (gtk_toggle_button_get_active (button))
    gtk_stack_set_visible_child_name (g_object_get_data (G_OBJECT (button), "kc-stack"), user_data);
}

static GtkWidget *
build_sidebar (KcFlowWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *stack = gtk_stack_new ();
  GtkWidget *switcher = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *group = NULL;
  static const char *const empty[] = {
    "No registrations yet", "No calls yet", "No keys sealed yet", "No CDRs yet",
    "No lawful-intercept taps",
  };

  /* GtkStackSwitcher's homogeneous buttons would make the sidebar 660 px
   * wide at least; linked toggle buttons keep it narrow. */
  gtk_widget_add_css_class (switcher, "linked");
  gtk_widget_set_halign (switcher, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_top (switcher, 6);
  for (KcFlowPanel p = 0; p < KC_FLOW_N_PANELS; p++) {
    GtkWidget *scroller = gtk_scrolled_window_new ();
    GtkWidget *list = gtk_list_box_new ();
    GtkWidget *placeholder = gtk_label_new (empty[p]);

    gtk_widget_add_css_class (placeholder, "dim-label");
    gtk_widget_set_margin_top (placeholder, 18);
    gtk_widget_set_margin_bottom (placeholder, 18);
    gtk_list_box_set_placeholder (GTK_LIST_BOX (list), placeholder);
    gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
    gtk_widget_add_css_class (list, "boxed-list");
    gtk_widget_set_margin_start (list, 8);
    gtk_widget_set_margin_end (list, 8);
    gtk_widget_set_margin_bottom (list, 8);
    gtk_widget_set_valign (list, GTK_ALIGN_START);
    g_signal_connect (list, "row-activated", G_CALLBACK (on_panel_activated), self);
    self->panels[p] = GTK_LIST_BOX (list);
    gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), list);
    gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                    GTK_POLICY_AUTOMATIC);
    gtk_stack_add_titled (GTK_STACK (stack), scroller, kc_flow_panel_get_title (p),
                          kc_flow_panel_get_title (p));
    {
      GtkWidget *button = gtk_toggle_button_new_with_label (kc_flow_panel_get_title (p));

      if (group != NULL)
        gtk_toggle_button_set_group (GTK_TOGGLE_BUTTON (button), GTK_TOGGLE_BUTTON (group));
      group = group ? group : button;
      g_object_set_data (G_OBJECT (button), "kc-stack", stack);
      g_signal_connect (button, "toggled", G_CALLBACK (on_panel_toggled), (gpointer) kc_flow_panel_get_title (p));
      gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button), p == KC_FLOW_PANEL_CALLS);
      self->panel_buttons[p] = button;
      gtk_box_append (GTK_BOX (switcher), button);
    }
  }
  gtk_widget_set_vexpand (stack, TRUE);
  gtk_box_append (GTK_BOX (box), switcher);
  gtk_box_append (GTK_BOX (box), stack);
  gtk_widget_set_size_request (box, 330, -1);
  gtk_widget_add_css_class (box, "background");
  return box;
}

/* The diagram gets what the sidebar does not need: set once the paned
 * knows its width (GtkPaned ignores a position set before that). */
static void
on_paned_allocated (GtkPaned *paned, GParamSpec *pspec, gpointer user_data)
{
  int width = gtk_widget_get_width (GTK_WIDGET (paned));

  if (width <= 0)
    return;
  g_signal_handlers_disconnect_by_func (paned, on_paned_allocated, user_data);
  gtk_paned_set_position (paned, MAX (width / 2, width - 360));
}

/* Replay ------------------------------------------------------------------------- */

static void
on_replay_progress (KcFlowReplay *replay, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  g_autofree char *text = g_strdup_printf ("%u of %u events", kc_flow_replay_get_position (replay),
                                           kc_flow_replay_get_n_events (replay));
  gboolean playing = kc_flow_replay_is_playing (replay);

  gtk_label_set_text (GTK_LABEL (self->progress), text);
  gtk_button_set_icon_name (GTK_BUTTON (self->play),
                            playing ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (self->play, playing ? "Pause" : "Play");
}

static void
on_play_clicked (GtkButton *button, gpointer user_data)
{
  KcFlowWindow *self = user_data;

  if (kc_flow_replay_is_playing (self->replay))
    kc_flow_replay_pause (self->replay);
  else {
    if (kc_flow_replay_get_position (self->replay) >= kc_flow_replay_get_n_events (self->replay))
      kc_flow_replay_restart (self->replay);
    kc_flow_replay_play (self->replay);
  }
}

static void
on_step_clicked (GtkButton *button, gpointer user_data)
{
  kc_flow_replay_step (((KcFlowWindow *) user_data)->replay);
}

static void
on_restart_clicked (GtkButton *button, gpointer user_data)
{
  kc_flow_replay_restart (((KcFlowWindow *) user_data)->replay);
}

static void
on_speed_selected (GtkDropDown *speed, GParamSpec *pspec, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  guint selected = gtk_drop_down_get_selected (speed);

  if (self->replay != NULL && selected < G_N_ELEMENTS (speeds))
    kc_flow_replay_set_speed (self->replay, speeds[selected]);
}

static GtkWidget *
build_replay_bar (KcFlowWindow *self)
{
  GtkWidget *bar = gtk_action_bar_new ();
  GtkWidget *restart = gtk_button_new_from_icon_name ("media-skip-backward-symbolic");
  GtkWidget *step = gtk_button_new_with_mnemonic ("_Next event");
  GtkWidget *label = gtk_label_new ("Replay speed");

  self->play = gtk_button_new_from_icon_name ("media-playback-start-symbolic");
  gtk_widget_set_tooltip_text (restart, "Back to the first event");
  gtk_widget_set_tooltip_text (step, "Add the next event of the log now");
  g_signal_connect (self->play, "clicked", G_CALLBACK (on_play_clicked), self);
  g_signal_connect (step, "clicked", G_CALLBACK (on_step_clicked), self);
  g_signal_connect (restart, "clicked", G_CALLBACK (on_restart_clicked), self);
  self->speed = gtk_drop_down_new_from_strings (speed_names);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (self->speed), 3);
  g_signal_connect (self->speed, "notify::selected", G_CALLBACK (on_speed_selected), self);
  self->progress = gtk_label_new ("");
  gtk_widget_add_css_class (self->progress, "dim-label");
  gtk_widget_add_css_class (self->progress, "numeric");
  gtk_action_bar_pack_start (GTK_ACTION_BAR (bar), restart);
  gtk_action_bar_pack_start (GTK_ACTION_BAR (bar), self->play);
  gtk_action_bar_pack_start (GTK_ACTION_BAR (bar), step);
  gtk_action_bar_pack_start (GTK_ACTION_BAR (bar), self->progress);
  gtk_action_bar_pack_end (GTK_ACTION_BAR (bar), self->speed);
  gtk_action_bar_pack_end (GTK_ACTION_BAR (bar), label);
  gtk_widget_set_visible (bar, FALSE);
  return bar;
}

void
kc_flow_window_set_replay (KcFlowWindow *window, KcFlowReplay *replay)
{
  double speed;
  guint best = 3;

  g_return_if_fail (KC_IS_FLOW_WINDOW (window));
  g_return_if_fail (KC_IS_FLOW_REPLAY (replay));

  if (window->replay != NULL)
    g_signal_handlers_disconnect_by_data (window->replay, window);
  g_set_object (&window->replay, replay);
  g_signal_connect (replay, "progress", G_CALLBACK (on_replay_progress), window);
  g_signal_connect (replay, "finished", G_CALLBACK (on_replay_progress), window);
  speed = kc_flow_replay_get_speed (replay);
  for (guint i = 0; i < G_N_ELEMENTS (speeds); i++)
    if (ABS (speeds[i] - speed) < ABS (speeds[best] - speed))
      best = i;
  /* The drop-down shows the nearest; the replay keeps the exact --speed. */
  g_signal_handlers_block_by_func (window->speed, on_speed_selected, window);
  gtk_drop_down_set_selected (GTK_DROP_DOWN (window->speed), best);
  g_signal_handlers_unblock_by_func (window->speed, on_speed_selected, window);
  gtk_widget_set_visible (window->replay_bar, TRUE);
  kc_flow_view_set_follow (window->view, TRUE);
  on_replay_progress (replay, window);
}

KcFlowReplay *
kc_flow_window_get_replay (KcFlowWindow *window)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  return window->replay;
}

GtkListBox *
kc_flow_window_get_panel (KcFlowWindow *window, KcFlowPanel panel)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  g_return_val_if_fail (panel < KC_FLOW_N_PANELS, NULL);
  return window->panels[panel];
}

void
kc_flow_window_show_panel (KcFlowWindow *window, KcFlowPanel panel)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));
  g_return_if_fail (panel < KC_FLOW_N_PANELS);

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (window->panel_buttons[panel]), TRUE);
}

void
kc_flow_window_flush (KcFlowWindow *window)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));

  g_clear_handle_id (&window->panels_id, g_source_remove);
  update_panels (window);
  kc_flow_view_flush (window->view);
}

static void
kc_flow_window_dispose (GObject *object)
{
  KcFlowWindow *self = KC_FLOW_WINDOW (object);

  g_clear_pointer (&self->sockets, g_ptr_array_unref);
  if (self->view != NULL)
    kc_flow_view_set_revealed_keys (self->view, NULL);
  g_clear_pointer (&self->keys, g_hash_table_unref);
  g_clear_handle_id (&self->panels_id, g_source_remove);
  if (self->replay != NULL) {
    g_signal_handlers_disconnect_by_data (self->replay, self);
    kc_flow_replay_pause (self->replay);
    g_clear_object (&self->replay);
  }
  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);

  G_OBJECT_CLASS (kc_flow_window_parent_class)->dispose (object);
}

static void
kc_flow_window_finalize (GObject *object)
{
  KcFlowWindow *self = KC_FLOW_WINDOW (object);

  g_clear_object (&self->model);
  g_free (self->source);
  g_ptr_array_unref (self->call_ids);

  G_OBJECT_CLASS (kc_flow_window_parent_class)->finalize (object);
}

static void
kc_flow_window_class_init (KcFlowWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_flow_window_dispose;
  object_class->finalize = kc_flow_window_finalize;
}

static void
kc_flow_window_init (KcFlowWindow *self)
{
  self->sockets = g_ptr_array_new_with_free_func (socket_free);
  self->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) kc_secret_free);
  self->source = g_strdup ("");
  self->call_ids = g_ptr_array_new_with_free_func (g_free);
}

KcFlowWindow *
kc_flow_window_new (GtkApplication *app, KcFlowModel *model)
{
  KcFlowWindow *self;
  GtkWidget *box, *header, *export, *paned, *sidebar, *sidebar_toggle, *filters;

  g_return_val_if_fail (app == NULL || GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (model == NULL || KC_IS_FLOW_MODEL (model), NULL);

  self = g_object_new (KC_TYPE_FLOW_WINDOW, "application", app,
                       "title", "Keycall flow", "default-width", 1400, "default-height", 820, NULL);
  self->model = model ? g_object_ref (model) : kc_flow_model_new ();

  self->title = ADW_WINDOW_TITLE (adw_window_title_new ("FIG. 3 key distribution", NULL));
  header = adw_header_bar_new ();
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), GTK_WIDGET (self->title));
  export = gtk_button_new_with_mnemonic ("_Export…");
  gtk_widget_set_tooltip_text (export, "Save the diagram as SVG, PNG, PDF or plain text");
  g_signal_connect (export, "clicked", G_CALLBACK (on_export_clicked), self);
  sidebar_toggle = gtk_toggle_button_new ();
  gtk_button_set_icon_name (GTK_BUTTON (sidebar_toggle), "sidebar-show-right-symbolic");
  gtk_widget_set_tooltip_text (sidebar_toggle, "CTAs, calls, keys, CDRs and taps");
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (sidebar_toggle), TRUE);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), sidebar_toggle);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), export);

  self->search = gtk_search_entry_new ();
  g_object_set (self->search, "placeholder-text", "Filter by number", NULL);
  gtk_editable_set_width_chars (GTK_EDITABLE (self->search), 16);
  g_signal_connect (self->search, "search-changed", G_CALLBACK (on_search_changed), self);
  self->call_names = gtk_string_list_new ((const char *const[]) { "All calls", NULL });
  self->calls = gtk_drop_down_new (G_LIST_MODEL (self->call_names), NULL);
  gtk_widget_set_tooltip_text (self->calls, "Show one call");
  g_signal_connect (self->calls, "notify::selected", G_CALLBACK (on_call_selected), self);
  filters = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_box_append (GTK_BOX (filters), self->search);
  gtk_box_append (GTK_BOX (filters), self->calls);
  adw_header_bar_pack_start (ADW_HEADER_BAR (header), filters);

  self->view = KC_FLOW_VIEW (kc_flow_view_new (self->model));
  gtk_widget_set_vexpand (GTK_WIDGET (self->view), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->view), TRUE);
  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  sidebar = build_sidebar (self);
  g_object_bind_property (sidebar_toggle, "active", sidebar, "visible", G_BINDING_SYNC_CREATE);
  paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  gtk_paned_set_start_child (GTK_PANED (paned), GTK_WIDGET (self->view));
  gtk_paned_set_end_child (GTK_PANED (paned), sidebar);
  gtk_paned_set_resize_end_child (GTK_PANED (paned), FALSE);
  gtk_paned_set_shrink_end_child (GTK_PANED (paned), FALSE);
  g_signal_connect (paned, "notify::max-position", G_CALLBACK (on_paned_allocated), NULL);
  adw_toast_overlay_set_child (self->toasts, paned);
  self->replay_bar = build_replay_bar (self);
  self->step_bar = kc_flow_step_bar_new ();
  gtk_widget_set_visible (self->step_bar, FALSE);
  g_signal_connect (kc_flow_step_bar_get_reveal_switch (KC_FLOW_STEP_BAR (self->step_bar)),
                    "notify::active", G_CALLBACK (on_reveal_toggled), self);
  self->banner = kc_flow_reveal_banner_new ();

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), self->banner);
  gtk_box_append (GTK_BOX (box), self->step_bar);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->toasts));
  gtk_box_append (GTK_BOX (box), self->replay_bar);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), box);

  g_signal_connect (self->model, "changed", G_CALLBACK (on_model_changed), self);
  update_panels (self);
  return self;
}

KcFlowModel *
kc_flow_window_get_model (KcFlowWindow *window)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  return window->model;
}

KcFlowView *
kc_flow_window_get_view (KcFlowWindow *window)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  return window->view;
}

void
kc_flow_window_set_source (KcFlowWindow *window, const char *source)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));

  g_free (window->source);
  window->source = g_strdup (source ? source : "");
  update_subtitle (window);
}

static void
add_socket (KcFlowWindow *window, const char *path, gboolean control)
{
  Socket *s;

  s = g_new0 (Socket, 1);
  s->window = window;
  s->control = control;
  s->path = g_strdup (path);
  s->cancellable = g_cancellable_new ();
  g_ptr_array_add (window->sockets, s);
  kc_flow_view_set_follow (window->view, TRUE);
  update_subtitle (window);
  socket_connect (s);
}

void
kc_flow_window_add_socket (KcFlowWindow *window, const char *path)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));
  g_return_if_fail (path != NULL);

  add_socket (window, path, FALSE);
}

void
kc_flow_window_add_control (KcFlowWindow *window, const char *path)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));
  g_return_if_fail (path != NULL);

  gtk_widget_set_visible (window->step_bar, TRUE);
  add_socket (window, path, TRUE);
}

GtkWidget *
kc_flow_window_get_step_bar (KcFlowWindow *window)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  return window->step_bar;
}
