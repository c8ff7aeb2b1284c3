/* kc-lea-window.c: see kc-lea-window.h.
 *
 * Everything shown comes from keycall-lea's own events (the facts it
 * prints on stdout), so the window holds no state the program does not
 * already report, and a window fed from another bus (a test, a recorded
 * run) shows the same thing. A finished recording's per-direction counts
 * and times come from the JSON record the recorder wrote beside the WAV.
 * Keys never reach the window's files: fingerprints only.
 *
 * This file: the controllers, the taps and the events; the calls are in
 * kc-lea-window-calls.c, the "Add a tap" form in kc-lea-window-actions.c.
 */
#define G_LOG_DOMAIN "kc-lea-window"

#include "config.h"

#include "kc-lea-window-private.h"

#include <glib/gi18n.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_TYPE (KcLeaWindow, kc_lea_window, ADW_TYPE_APPLICATION_WINDOW)

static void
tap_free (Tap *t)
{
  g_free (t->controller);
  g_free (t->kind);
  g_free (t->number);
  g_free (t->req);
  g_free (t->tap_id);
  g_free (t->stop_req);
  g_free (t);
}

/* Widget names are what the tests (and a person reading GtkInspector) find
 * rows by; only characters a CSS name allows. */
char *
kc_lea_window_widget_name (const char *first, ...)
{
  GString *s = g_string_new (first);
  const char *part;
  va_list ap;

  va_start (ap, first);
  while ((part = va_arg (ap, const char *)) != NULL) {
    g_string_append_c (s, '-');
    for (const char *p = part; *p; p++)
      g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '_' ? *p : '_');
  }
  va_end (ap);
  return g_string_free (s, FALSE);
}


static void
set_subtitle (GtkWidget *row, const char *text)
{
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  text, -1);
}

static GtkWidget *
state_icon (GtkWidget *row)
{
  return g_object_get_data (G_OBJECT (row), "kc-state-icon");
}

static void
set_state (GtkWidget *row, const char *icon, const char *css)
{
  GtkWidget *image = state_icon (row);

  gtk_image_set_from_icon_name (GTK_IMAGE (image), icon);
  gtk_widget_remove_css_class (image, "success");
  gtk_widget_remove_css_class (image, "error");
  gtk_widget_remove_css_class (image, "warning");
  if (css != NULL)
    gtk_widget_add_css_class (image, css);
}

static GtkWidget *
action_row (const char *name, const char *title)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *image = gtk_image_new ();

  gtk_widget_set_name (row, name);
  /* Reasons and paths come from the network and the disk: never markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  /* Keyboard users reach the row itself (Tab, arrows), not only its
   * buttons: the row says the state in its subtitle. */
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (image), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("State"), -1);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), image);
  g_object_set_data (G_OBJECT (row), "kc-state-icon", image);
  return row;
}

/* Controllers ------------------------------------------------------------- */

static GtkWidget *
controller_row (KcLeaWindow *self, const char *name)
{
  GtkWidget *row;
  g_autofree char *wname = NULL;
  g_autofree char *title = NULL;

  if (name == NULL)
    return NULL;
  row = g_hash_table_lookup (self->controllers, name);
  if (row != NULL)
    return row;
  wname = kc_lea_window_widget_name ("controller", name, NULL);
  /* Translators: %s is a controller's name, e.g. gc1. */
  title = g_strdup_printf (_("Controller %s"), name);
  row = action_row (wname, title);
  set_state (row, "network-transmit-receive-symbolic", NULL);
  set_subtitle (row, _("Connecting"));
  adw_preferences_group_add (self->controller_group, row);
  g_hash_table_insert (self->controllers, g_strdup (name), row);
  return row;
}

void
kc_lea_window_add_controller (KcLeaWindow *self, const char *name, const char *address)
{
  GtkWidget *row;
  g_autofree char *text = NULL;

  g_return_if_fail (KC_IS_LEA_WINDOW (self) && name != NULL);

  row = controller_row (self, name);
  /* Translators: %s is HOST:PORT, the controller's lawful-intercept port. */
  text = address ? g_strdup_printf (_("Connecting to %s"), address) : g_strdup (_("Connecting"));
  set_subtitle (row, text);
}

static void
on_tls_up (KcLeaWindow *self, KcEvent *e)
{
  GtkWidget *row = controller_row (self, controller_of (e));
  g_autofree char *text = NULL;

  if (row == NULL)
    return;
  if (attr (e, "subject") != NULL)
    /* Translators: the certificate's name, e.g. keycall:controller:gc1, then its serial. */
    text = g_strdup_printf (_("Connected, certificate %s verified (serial %s)"),
                            attr (e, "subject"), attr (e, "serial") ? attr (e, "serial") : "?");
  else
    text = g_strdup_printf (_("Connected: %s"), kc_event_get_summary (e));
  set_state (row, "emblem-ok-symbolic", "success");
  set_subtitle (row, text);
}

static void
on_tls_down (KcLeaWindow *self, KcEvent *e)
{
  GtkWidget *row = controller_row (self, controller_of (e));
  g_autofree char *text = NULL;

  if (row == NULL)
    return;
  if (attr (e, "reason") != NULL && attr (e, "retry") != NULL)
    /* Translators: why the connection ended, then seconds until the next attempt. */
    text = g_strdup_printf (_("Not connected: %s; retrying in %s s"), attr (e, "reason"),
                            attr (e, "retry"));
  else
    text = g_strdup_printf (_("Not connected: %s"), kc_event_get_summary (e));
  set_state (row, "network-error-symbolic", "warning");
  set_subtitle (row, text);
}

/* Taps --------------------------------------------------------------------- */

static const char *
kind_label (const char *kind)
{
  if (g_strcmp0 (kind, "future") == 0)
    return _("future calls");
  if (g_strcmp0 (kind, "current") == 0)
    return _("current calls");
  if (g_strcmp0 (kind, "past") == 0)
    return _("past calls");
  return kind;
}

static Tap *
find_tap (KcLeaWindow *self, const char *controller, const char *kind, const char *number,
          const char *req)
{
  for (guint i = 0; i < self->taps->len; i++) {
    Tap *t = self->taps->pdata[i];

    if (g_strcmp0 (t->controller, controller) != 0)
      continue;
    if (req != NULL ? g_strcmp0 (t->req, req) == 0 || g_strcmp0 (t->stop_req, req) == 0
                    : g_strcmp0 (t->kind, kind) == 0 && g_strcmp0 (t->number, number) == 0)
      return t;
  }
  return NULL;
}

static Tap *
find_tap_id (KcLeaWindow *self, const char *controller, const char *tap_id)
{
  for (guint i = 0; tap_id != NULL && i < self->taps->len; i++) {
    Tap *t = self->taps->pdata[i];

    if (g_strcmp0 (t->controller, controller) == 0 && g_strcmp0 (t->tap_id, tap_id) == 0)
      return t;
  }
  return NULL;
}

static void on_stop_clicked (GtkButton *button, KcLeaWindow *self);

void
kc_lea_window_add_stop_button (KcLeaWindow *self, Tap *t)
{
  g_autofree char *name = kc_lea_window_widget_name ("stop", t->controller, t->kind, t->number,
                                                     NULL);
  /* Translators: %s is a subscriber number. */
  g_autofree char *label = g_strdup_printf (_("Stop the tap on %s"), t->number);

  t->stop = gtk_button_new_with_mnemonic (_("_Stop"));
  gtk_widget_set_name (t->stop, name);
  gtk_widget_set_valign (t->stop, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (t->stop, "destructive-action");
  gtk_widget_set_tooltip_text (t->stop, label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (t->stop), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  label, -1);
  gtk_widget_set_visible (t->stop, FALSE);
  g_object_set_data (G_OBJECT (t->stop), "kc-tap", t);
  g_signal_connect (t->stop, "clicked", G_CALLBACK (on_stop_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (t->row), t->stop);
}

/* Offered only for a tap the controller holds and no stop is in flight. */
static void
update_stop (Tap *t, gboolean active)
{
  if (t->stop == NULL)
    return;
  gtk_widget_set_visible (t->stop, active && t->tap_id != NULL
                                   && g_strcmp0 (t->kind, "past") != 0);
  gtk_widget_set_sensitive (t->stop, t->stop_req == NULL);
}

static Tap *
tap_row (KcLeaWindow *self, const char *controller, const char *kind, const char *number)
{
  Tap *t = find_tap (self, controller, kind, number, NULL);
  g_autofree char *wname = NULL;
  g_autofree char *title = NULL;

  if (t != NULL || controller == NULL || kind == NULL || number == NULL)
    return t;
  t = g_new0 (Tap, 1);
  t->controller = g_strdup (controller);
  t->kind = g_strdup (kind);
  t->number = g_strdup (number);
  wname = kc_lea_window_widget_name ("tap", controller, kind, number, NULL);
  /* Translators: a number, what is tapped ("future calls", …) and the controller. */
  title = g_strdup_printf (_("%s, %s, at %s"), number, kind_label (kind), controller);
  t->row = action_row (wname, title);
  if (self->stop_tap != NULL)
    kc_lea_window_add_stop_button (self, t);
  gtk_widget_set_visible (self->no_taps, FALSE);
  adw_preferences_group_add (self->tap_group, t->row);
  g_ptr_array_add (self->taps, t);
  return t;
}

static void
on_tap_stop (KcLeaWindow *self, KcEvent *e, const char *op)
{
  Tap *t = find_tap_id (self, controller_of (e), attr (e, "tap"));
  g_autofree char *text = NULL;

  if (t == NULL)
    return;   /* not a tap this window shows (an earlier run's) */
  if (g_strcmp0 (op, "stop") == 0) {
    g_free (t->stop_req);
    t->stop_req = g_strdup (attr (e, "req"));
    /* Translators: %s is the controller's tap id. */
    text = g_strdup_printf (_("Stopping (tap %s); waiting for the controller's answer"),
                            t->tap_id);
    update_stop (t, TRUE);
  } else {
    g_clear_pointer (&t->stop_req, g_free);
    /* Translators: %s is the controller's tap id. */
    text = g_strdup_printf (_("Stopped (tap %s): no more keys for new calls"), t->tap_id);
    set_state (t->row, "media-playback-stop-symbolic", NULL);
    update_stop (t, FALSE);
  }
  set_subtitle (t->row, text);
}

static void
on_tap_request (KcLeaWindow *self, KcEvent *e)
{
  const char *op = attr (e, "op");
  Tap *t;
  g_autofree char *text = NULL;

  if (g_strcmp0 (op, "stop") == 0 || g_strcmp0 (op, "stopped") == 0) {
    on_tap_stop (self, e, op);
    return;
  }
  t = tap_row (self, controller_of (e), attr (e, "kind"), attr (e, "number"));
  if (t == NULL)
    return;
  if (g_strcmp0 (op, "ok") != 0) {
    g_free (t->req);
    t->req = g_strdup (attr (e, "req"));
    set_state (t->row, "mail-send-symbolic", NULL);
    set_subtitle (t->row, _("Asked; waiting for the controller's answer"));
    update_stop (t, FALSE);
    return;
  }
  g_free (t->tap_id);
  t->tap_id = g_strdup (attr (e, "tap"));
  g_clear_pointer (&t->stop_req, g_free);
  if (g_strcmp0 (t->kind, "past") == 0) {
    /* Translators: %s is how many keys the controller sent. */
    text = g_strdup_printf (_("Answered: %s keys sent"), attr (e, "calls") ? attr (e, "calls") : "?");
    set_state (t->row, "emblem-ok-symbolic", "success");
  } else if (g_strcmp0 (t->kind, "current") == 0 && g_strcmp0 (attr (e, "calls"), "0") == 0) {
    /* The controller ends a current tap that found no call at once. */
    text = g_strdup (_("No call in progress: the tap ended at once"));
    set_state (t->row, "emblem-ok-symbolic", NULL);
    update_stop (t, FALSE);
    set_subtitle (t->row, text);
    return;
  } else if (g_strcmp0 (t->kind, "current") == 0) {
    /* Translators: how many calls are in progress, then the controller's tap id. */
    text = g_strdup_printf (_("Active for %s calls in progress (tap %s)"), attr (e, "calls"),
                            attr (e, "tap") ? attr (e, "tap") : "?");
    set_state (t->row, "media-record-symbolic", "success");
  } else if (g_strcmp0 (attr (e, "resumed"), "true") == 0) {
    /* Translators: %s is the controller's tap id. */
    text = g_strdup_printf (_("Active (tap %s, resumed after reconnecting)"), attr (e, "tap"));
    set_state (t->row, "media-record-symbolic", "success");
  } else {
    text = g_strdup_printf (_("Active (tap %s)"), attr (e, "tap") ? attr (e, "tap") : "?");
    set_state (t->row, "media-record-symbolic", "success");
  }
  update_stop (t, g_strcmp0 (t->kind, "past") != 0);
  set_subtitle (t->row, text);
}

static void
on_refused (KcLeaWindow *self, KcEvent *e)
{
  const char *controller = controller_of (e);
  const char *reason = attr (e, "reason") ? attr (e, "reason") : kc_event_get_summary (e);
  Tap *t = attr (e, "req") ? find_tap (self, controller, NULL, NULL, attr (e, "req")) : NULL;
  GtkWidget *row = t ? t->row : controller_row (self, controller);
  g_autofree char *text = NULL;

  if (row == NULL)
    return;
  if (t != NULL && t->stop_req != NULL && g_strcmp0 (t->stop_req, attr (e, "req")) == 0) {
    /* A refused stop leaves the tap as it was: active. */
    g_clear_pointer (&t->stop_req, g_free);
    /* Translators: the controller's tap id, then its reason for refusing the stop. */
    text = g_strdup_printf (_("Still active (tap %s): the stop was refused: %s"), t->tap_id,
                            reason);
    update_stop (t, TRUE);
    set_subtitle (row, text);
    return;
  }
  /* An `error` that names no request of ours is a protocol problem of the
   * connection, not a refusal of this LEA. */
  if (t == NULL && g_strcmp0 (attr (e, "op"), "error") == 0)
    text = g_strdup_printf (_("Problem: %s"), reason);
  else
    text = g_strdup_printf (_("Refused: %s"), reason);
  set_state (row, "dialog-error-symbolic", "error");
  set_subtitle (row, text);
}

static void
on_stop_clicked (GtkButton *button, KcLeaWindow *self)
{
  Tap *t = g_object_get_data (G_OBJECT (button), "kc-tap");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (t == NULL || t->tap_id == NULL || self->stop_tap == NULL)
    return;
  if (!self->stop_tap (t->controller, t->tap_id, self->actions_data, &error)) {
    /* Translators: the controller's tap id, then why it could not be stopped. */
    text = g_strdup_printf (_("Not stopped (tap %s): %s"), t->tap_id, error->message);
    set_subtitle (t->row, text);
  }
}

/* Events -------------------------------------------------------------------- */

static void
on_event (KcEvent *e, gpointer user_data)
{
  KcLeaWindow *self = user_data;
  const char *lane = kc_event_get_lane (e);

  if (lane == NULL || !g_str_has_prefix (lane, "lea:"))
    return;
  switch (kc_event_get_kind (e)) {
  case KC_EVENT_KIND_TLS_UP:
    on_tls_up (self, e);
    break;
  case KC_EVENT_KIND_TLS_DOWN:
    on_tls_down (self, e);
    break;
  case KC_EVENT_KIND_TAP_REQUEST:
    on_tap_request (self, e);
    break;
  case KC_EVENT_KIND_TAP_REFUSED:
    on_refused (self, e);
    break;
  case KC_EVENT_KIND_KEY_DELIVERED:
    kc_lea_window_on_key_delivered (self, e);
    break;
  case KC_EVENT_KIND_CONTENT_DELIVERED:
    kc_lea_window_on_content (self, e);
    break;
  case KC_EVENT_KIND_MEDIA_STOP:
    kc_lea_window_on_media_stop (self, e);
    break;
  case KC_EVENT_KIND_ERROR:
    kc_lea_window_on_call_error (self, e);
    break;
  default:
    break;
  }
}

/* Building ------------------------------------------------------------------ */

static GtkWidget *
placeholder (AdwPreferencesGroup *group, const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "dim-label");
  adw_preferences_group_add (group, label);
  return label;
}

void
kc_lea_window_set_record_dir (KcLeaWindow *self, const char *dir)
{
  g_autofree char *text = NULL;
  g_autofree char *escaped = NULL;

  g_return_if_fail (KC_IS_LEA_WINDOW (self));
  /* The description is markup; a folder is not. */
  escaped = dir ? g_markup_escape_text (dir, -1) : NULL;
  /* Translators: %s is a folder. */
  text = dir ? g_strdup_printf (_("Each call's WAV and JSON record are written to %s."), escaped)
             : g_strdup (_("Keys only: no content is recorded."));
  adw_preferences_group_set_description (self->call_group, text);
}

static void
kc_lea_window_dispose (GObject *object)
{
  KcLeaWindow *self = KC_LEA_WINDOW (object);

  if (self->listener != 0) {
    kc_event_bus_remove_listener (self->bus, self->listener);
    self->listener = 0;
  }
  g_clear_pointer (&self->bus, kc_event_bus_unref);
  if (self->player != NULL)
    gtk_media_controls_set_media_stream (GTK_MEDIA_CONTROLS (self->player), NULL);
  G_OBJECT_CLASS (kc_lea_window_parent_class)->dispose (object);
}

static void
kc_lea_window_finalize (GObject *object)
{
  KcLeaWindow *self = KC_LEA_WINDOW (object);

  g_hash_table_unref (self->controllers);
  g_ptr_array_unref (self->taps);
  g_hash_table_unref (self->calls);
  g_strfreev (self->controller_names);
  G_OBJECT_CLASS (kc_lea_window_parent_class)->finalize (object);
}

static void
kc_lea_window_class_init (KcLeaWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_lea_window_dispose;
  object_class->finalize = kc_lea_window_finalize;
}

static void
kc_lea_window_init (KcLeaWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *page = adw_preferences_page_new ();

  self->controllers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->taps = g_ptr_array_new_with_free_func ((GDestroyNotify) tap_free);
  self->calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) kc_lea_window_call_free);

  gtk_window_set_default_size (GTK_WINDOW (self), 720, 640);
  gtk_box_append (GTK_BOX (box), header);

  self->controller_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (self->controller_group, _("Controllers"));
  adw_preferences_group_set_description (self->controller_group,
    _("Each controller's lawful-intercept port: mutual TLS, its certificate checked against the network's CA."));
  self->tap_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (self->tap_group, _("Taps"));
  adw_preferences_group_set_description (self->tap_group,
    _("Asked on the command line (--tap, --past); kept across reconnects."));
  self->no_taps = placeholder (self->tap_group, _("No tap asked yet."));
  self->add_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (self->add_group, _("Add a tap"));
  adw_preferences_group_set_description (self->add_group,
    _("Sent to the controller at once; the controller writes every request to its audit log."));
  gtk_widget_set_visible (GTK_WIDGET (self->add_group), FALSE);
  self->call_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (self->call_group, _("Intercepted calls"));
  self->no_calls = placeholder (self->call_group, _("No key delivered yet."));

  self->player_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_name (self->player_box, "player");
  self->player_title = gtk_label_new (NULL);
  gtk_label_set_ellipsize (GTK_LABEL (self->player_title), PANGO_ELLIPSIZE_START);
  gtk_label_set_xalign (GTK_LABEL (self->player_title), 0);
  gtk_widget_add_css_class (self->player_title, "caption");
  self->player = gtk_media_controls_new (NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->player), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Recording playback"), -1);
  gtk_box_append (GTK_BOX (self->player_box), self->player_title);
  gtk_box_append (GTK_BOX (self->player_box), self->player);
  gtk_widget_set_visible (self->player_box, FALSE);
  gtk_widget_set_margin_top (self->player_box, 12);
  adw_preferences_group_add (self->call_group, self->player_box);

  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), self->controller_group);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), self->tap_group);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), self->add_group);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), self->call_group);
  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (box), page);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), box);
}

KcLeaWindow *
kc_lea_window_new (GtkApplication *app, const char *lea_name, KcEventBus *bus)
{
  KcLeaWindow *self;
  g_autofree char *title = NULL;

  g_return_val_if_fail (lea_name != NULL && bus != NULL, NULL);

  self = g_object_new (KC_TYPE_LEA_WINDOW, "application", app, NULL);
  /* Translators: %s is the agency's name, e.g. lea1. */
  title = g_strdup_printf (_("Lawful intercept: %s"), lea_name);
  gtk_window_set_title (GTK_WINDOW (self), title);
  self->bus = kc_event_bus_ref (bus);
  self->listener = kc_event_bus_add_listener (bus, on_event, self, NULL);
  return self;
}
