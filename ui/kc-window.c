/* kc-window.c: the softphone window (kc-window.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-call-view.h"
#include "kc-dialpad.h"
#include "kc-contacts.h"
#include "kc-first-run.h"
#include "kc-history.h"
#include "kc-window.h"

#include <glib/gi18n.h>

struct _KcWindow {
  AdwApplicationWindow  parent_instance;

  KcApplication        *app;
  KcCtaAccount         *account;     /* the one whose signals we follow */
  char                 *reconnect_reason;

  GtkWidget            *toasts;
  GtkWidget            *stack;
  KcFirstRun           *first_run;   /* the import and activate pages */
  GtkWidget            *status_row;
  GtkWidget            *status_icon;
  GtkWidget            *dial_entry;
  GtkWidget            *dial_error;
  GtkWidget            *call_button;
  GtkWidget            *history_group;
  GtkWidget            *history_list;
  GtkWidget            *contacts_list;
  GtkWidget            *contact_form;     /* a revealer: name, number, Save */
  GtkWidget            *contact_name;
  GtkWidget            *contact_number;
  GtkWidget            *contact_error;
  char                 *contacts_path;
  GtkWidget            *call_view;
};

G_DEFINE_TYPE (KcWindow, kc_window, ADW_TYPE_APPLICATION_WINDOW)

static void
toast (KcWindow   *self,
       const char *message)
{
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (self->toasts), adw_toast_new (message));
}

static void
set_status_icon (KcWindow   *self,
                 const char *icon,
                 const char *css)
{
  const char *classes[] = { "success", "warning", "error", "dim-label" };

  gtk_image_set_from_icon_name (GTK_IMAGE (self->status_icon), icon);
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (self->status_icon, classes[i]);
  gtk_widget_add_css_class (self->status_icon, css);
}

static void
update_status (KcWindow *self)
{
  KcCtaAccount *account = self->account;
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  const char *ctl, *cert;
  KcCtaRegState state;

  if (account == NULL)
    return;
  ctl = kc_cta_account_get_controller_name (account);
  state = kc_cta_account_get_state (account);
  switch (state) {
  case KC_CTA_REG_REGISTERED:
    cert = kc_cta_account_get_verified_certificate (account);
    title = g_strdup_printf (_("Registered as %s at controller %s"),
                             kc_cta_account_get_number (account), ctl);
    subtitle = cert != NULL
      ? g_strdup_printf (_("Verified certificate %s · %s"), cert,
                         kc_cta_account_get_controller_uri (account))
      : g_strdup (kc_cta_account_get_controller_uri (account));
    set_status_icon (self, "emblem-ok-symbolic", "success");
    break;
  case KC_CTA_REG_RECONNECTING:
    title = g_strdup_printf (_("Reconnecting to controller %s…"), ctl);
    subtitle = g_strdup (self->reconnect_reason != NULL ? self->reconnect_reason
                                                        : kc_cta_account_get_controller_uri (account));
    set_status_icon (self, "network-error-symbolic", "warning");
    break;
  case KC_CTA_REG_FAILED:
    title = g_strdup_printf (_("Controller %s refused this phone"), ctl);
    subtitle = g_strdup (self->reconnect_reason != NULL ? self->reconnect_reason : "");
    set_status_icon (self, "dialog-error-symbolic", "error");
    break;
  case KC_CTA_REG_UNREGISTERING:
  case KC_CTA_REG_UNREGISTERED:
    title = g_strdup (_("Not registered"));
    subtitle = g_strdup (_("Calls can neither be placed nor received"));
    set_status_icon (self, "network-offline-symbolic", "dim-label");
    break;
  case KC_CTA_REG_IDLE:
  case KC_CTA_REG_REGISTERING:
  default:
    title = g_strdup_printf (_("Connecting to controller %s…"), ctl);
    subtitle = g_strdup (kc_cta_account_get_controller_uri (account));
    set_status_icon (self, "network-transmit-receive-symbolic", "dim-label");
    break;
  }
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->status_row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->status_row), subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->status_row),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, subtitle, -1);
  gtk_widget_set_sensitive (self->call_button, state == KC_CTA_REG_REGISTERED);
  adw_window_title_set_subtitle (ADW_WINDOW_TITLE (adw_header_bar_get_title_widget (
    ADW_HEADER_BAR (g_object_get_data (G_OBJECT (self), "kc-header")))),
    kc_cta_account_get_number (account));
}

static void
on_reconnecting (KcCtaAccount *account,
                 const char   *reason,
                 KcWindow     *self)
{
  g_free (self->reconnect_reason);
  self->reconnect_reason = g_strdup (reason);
  update_status (self);
}

static void
on_registration_failed (KcCtaAccount *account,
                        guint         status,
                        const char   *reason,
                        KcWindow     *self)
{
  g_free (self->reconnect_reason);
  self->reconnect_reason = g_strdup_printf ("%u %s", status, reason);
  update_status (self);
}

static void
show_page (KcWindow *self)
{
  const char *page = kc_application_get_call (self->app) != NULL ? "call"
                   : kc_first_run_get_activating (self->first_run) ? "activate"
                   : self->account != NULL ? "phone" : "import";

  gtk_stack_set_visible_child_name (GTK_STACK (self->stack), page);
}

static void
follow_account (KcWindow *self)
{
  KcCtaAccount *account = kc_application_get_account (self->app);

  if (self->account != NULL)
    g_signal_handlers_disconnect_by_data (self->account, self);
  g_set_object (&self->account, account);
  g_clear_pointer (&self->reconnect_reason, g_free);
  if (account != NULL) {
    g_signal_connect_swapped (account, "notify::state", G_CALLBACK (update_status), self);
    g_signal_connect_swapped (account, "notify::verified-certificate",
                              G_CALLBACK (update_status), self);
    g_signal_connect_swapped (account, "registered", G_CALLBACK (update_status), self);
    g_signal_connect (account, "reconnecting", G_CALLBACK (on_reconnecting), self);
    g_signal_connect (account, "registration-failed", G_CALLBACK (on_registration_failed), self);
    g_signal_connect_swapped (account, "unregistered", G_CALLBACK (update_status), self);
    update_status (self);
  }
  show_page (self);
}

static void
on_profile_error (KcWindow *self)
{
  kc_first_run_show_error (self->first_run, kc_application_get_profile_error (self->app));
}

static void
on_call_changed (KcWindow *self)
{
  kc_call_view_set_call (KC_CALL_VIEW (self->call_view), kc_application_get_call (self->app));
  show_page (self);
}

/* History */

static void
on_call_back (GtkButton *button,
              KcWindow  *self)
{
  const char *number = g_object_get_data (G_OBJECT (button), "kc-number");
  g_autoptr(GError) error = NULL;

  gtk_editable_set_text (GTK_EDITABLE (self->dial_entry), number);
  if (!kc_application_dial (self->app, number, &error))
    toast (self, error->message);
}

/* Contacts */

static void load_history (KcWindow *self);

static GPtrArray *
contacts (KcWindow *self)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *list = kc_contacts_load (self->contacts_path, &error);

  if (list == NULL) {
    g_message ("%s", error->message);
    list = g_ptr_array_new ();
  }
  return list;
}

static void
on_remove_contact (GtkButton *button,
                   KcWindow  *self)
{
  const char *number = g_object_get_data (G_OBJECT (button), "kc-number");
  g_autoptr(GError) error = NULL;

  if (!kc_contacts_remove (self->contacts_path, number, &error))
    toast (self, error->message);
  kc_window_load_contacts (self);
}

static GtkWidget *
contact_row (KcWindow        *self,
             const KcContact *contact)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *call = gtk_button_new_from_icon_name ("call-start-symbolic");
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
  g_autofree char *call_a11y = g_strdup_printf (_("Call %s"), contact->name);
  g_autofree char *remove_a11y = g_strdup_printf (_("Remove %s from contacts"), contact->name);
  g_autofree char *name = g_strdup_printf ("contact-%s", contact->number);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), contact->name);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), contact->number);
  gtk_widget_set_name (row, name);
  gtk_widget_set_name (call, "contact-call");
  gtk_widget_set_name (remove, "contact-remove");
  for (guint i = 0; i < 2; i++) {
    GtkWidget *b = i == 0 ? remove : call;
    const char *a11y = i == 0 ? remove_a11y : call_a11y;

    gtk_widget_set_valign (b, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class (b, "flat");
    gtk_widget_set_tooltip_text (b, a11y);
    gtk_accessible_update_property (GTK_ACCESSIBLE (b), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
    g_object_set_data_full (G_OBJECT (b), "kc-number", g_strdup (contact->number), g_free);
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), b);
  }
  g_signal_connect (call, "clicked", G_CALLBACK (on_call_back), self);
  g_signal_connect (remove, "clicked", G_CALLBACK (on_remove_contact), self);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), call);
  return row;
}

void
kc_window_load_contacts (KcWindow *self)
{
  g_autoptr(GPtrArray) list = contacts (self);
  GtkWidget *child;

  g_return_if_fail (KC_IS_WINDOW (self));

  while ((child = gtk_widget_get_first_child (self->contacts_list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (self->contacts_list), child);
  for (guint i = 0; i < list->len; i++)
    gtk_list_box_append (GTK_LIST_BOX (self->contacts_list),
                         contact_row (self, g_ptr_array_index (list, i)));
  gtk_widget_set_visible (self->contacts_list, list->len > 0);
  /* Recent calls show the names people gave. */
  load_history (self);
}

static void
show_contact_error (KcWindow   *self,
                    const char *message)
{
  gtk_label_set_text (GTK_LABEL (self->contact_error), message != NULL ? message : "");
  gtk_widget_set_visible (self->contact_error, message != NULL);
}

static void
on_add_contact (KcWindow *self)
{
  gboolean open = !gtk_revealer_get_reveal_child (GTK_REVEALER (self->contact_form));
  const char *typed = gtk_editable_get_text (GTK_EDITABLE (self->dial_entry));

  gtk_revealer_set_reveal_child (GTK_REVEALER (self->contact_form), open);
  show_contact_error (self, NULL);
  if (open) {
    gtk_editable_set_text (GTK_EDITABLE (self->contact_name), "");
    /* What is in the dial entry is likely the number being saved. */
    gtk_editable_set_text (GTK_EDITABLE (self->contact_number), typed);
    gtk_widget_grab_focus (self->contact_name);
  }
}

static void
on_save_contact (KcWindow *self)
{
  g_autoptr(KcContact) contact = NULL;
  g_autoptr(GError) error = NULL;

  contact = kc_contact_new_from_input (gtk_editable_get_text (GTK_EDITABLE (self->contact_name)),
                                       gtk_editable_get_text (GTK_EDITABLE (self->contact_number)),
                                       &error);
  if (contact == NULL || !kc_contacts_put (self->contacts_path, contact, &error)) {
    show_contact_error (self, error->message);
    return;
  }
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->contact_form), FALSE);
  show_contact_error (self, NULL);
  kc_window_load_contacts (self);
}

static GtkWidget *
build_contacts (KcWindow *self)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *add = gtk_button_new_from_icon_name ("list-add-symbolic");
  GtkWidget *form = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *fields = gtk_list_box_new ();
  GtkWidget *save = gtk_button_new_with_mnemonic (_("_Save Contact"));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Contacts"));
  gtk_widget_set_name (add, "contact-add");
  gtk_widget_add_css_class (add, "flat");
  gtk_widget_set_tooltip_text (add, _("Add Contact"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (add), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Add a contact"), -1);
  g_signal_connect_swapped (add, "clicked", G_CALLBACK (on_add_contact), self);
  adw_preferences_group_set_header_suffix (ADW_PREFERENCES_GROUP (group), add);

  self->contact_name = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->contact_name), _("Name"));
  gtk_widget_set_name (self->contact_name, "contact-name");
  self->contact_number = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->contact_number), _("Number"));
  gtk_widget_set_name (self->contact_number, "contact-number");
  g_signal_connect_swapped (self->contact_name, "entry-activated",
                            G_CALLBACK (on_save_contact), self);
  g_signal_connect_swapped (self->contact_number, "entry-activated",
                            G_CALLBACK (on_save_contact), self);
  adw_entry_row_set_show_apply_button (ADW_ENTRY_ROW (self->contact_name), FALSE);
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (fields), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (fields, "boxed-list");
  gtk_list_box_append (GTK_LIST_BOX (fields), self->contact_name);
  gtk_list_box_append (GTK_LIST_BOX (fields), self->contact_number);
  gtk_box_append (GTK_BOX (form), fields);

  self->contact_error = gtk_label_new (NULL);
  gtk_widget_set_name (self->contact_error, "contact-error");
  gtk_widget_add_css_class (self->contact_error, "error");
  gtk_label_set_wrap (GTK_LABEL (self->contact_error), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->contact_error), 0);
  gtk_widget_set_visible (self->contact_error, FALSE);
  gtk_box_append (GTK_BOX (form), self->contact_error);

  gtk_widget_set_name (save, "contact-save");
  gtk_widget_set_halign (save, GTK_ALIGN_END);
  gtk_widget_add_css_class (save, "suggested-action");
  g_signal_connect_swapped (save, "clicked", G_CALLBACK (on_save_contact), self);
  gtk_box_append (GTK_BOX (form), save);
  gtk_widget_set_margin_bottom (form, 12);

  self->contact_form = gtk_revealer_new ();
  gtk_revealer_set_child (GTK_REVEALER (self->contact_form), form);
  gtk_revealer_set_reveal_child (GTK_REVEALER (self->contact_form), FALSE);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), self->contact_form);

  self->contacts_list = gtk_list_box_new ();
  gtk_widget_set_name (self->contacts_list, "contacts");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->contacts_list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (self->contacts_list, "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->contacts_list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Contacts"), -1);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), self->contacts_list);
  return group;
}

static void
load_history (KcWindow *self)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) known = contacts (self);
  g_autoptr(GError) error = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (self->history_list)) != NULL)
    gtk_list_box_remove (GTK_LIST_BOX (self->history_list), child);
  entries = kc_history_load (kc_application_get_history_path (self->app), &error);
  if (entries == NULL) {
    g_message ("%s", error->message);
    return;
  }
  gtk_widget_set_visible (self->history_group, entries->len > 0);
  for (guint i = 0; i < entries->len && i < 10; i++) {
    const KcHistoryEntry *e = g_ptr_array_index (entries, i);
    g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (e->time / G_USEC_PER_SEC);
    g_autofree char *date = g_date_time_format (when, "%x %H:%M");
    g_autofree char *subtitle = NULL;
    g_autofree char *a11y = g_strdup_printf (_("Call %s back"), e->number);
    GtkWidget *row = adw_action_row_new ();
    GtkWidget *icon = gtk_image_new_from_icon_name (
      !e->answered ? "call-missed-symbolic"
      : e->incoming ? "call-incoming-symbolic" : "call-outgoing-symbolic");
    GtkWidget *back = gtk_button_new_from_icon_name ("call-start-symbolic");

    if (e->answered) {
      g_autofree char *d = g_strdup_printf ("%u:%02u", e->duration / 60, e->duration % 60);
      subtitle = g_strdup_printf ("%s · %s", date, d);
    } else {
      subtitle = g_strdup_printf ("%s · %s", date, e->outcome != NULL ? e->outcome : "");
    }
    const KcContact *contact = kc_contacts_lookup (known, e->number);

    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                   contact != NULL ? contact->name
                                   : e->name != NULL ? e->name : e->number);
    adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
    adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
    gtk_widget_set_valign (back, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class (back, "flat");
    gtk_widget_set_tooltip_text (back, a11y);
    gtk_accessible_update_property (GTK_ACCESSIBLE (back), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y,
                                    -1);
    g_object_set_data_full (G_OBJECT (back), "kc-number", g_strdup (e->number), g_free);
    g_signal_connect (back, "clicked", G_CALLBACK (on_call_back), self);
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), back);
    adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), back);
    gtk_list_box_append (GTK_LIST_BOX (self->history_list), row);
  }
}

static void
on_call_finished (KcApplication *app,
                  KcCtaCall     *call,
                  const char    *description,
                  KcWindow      *self)
{
  g_autofree char *message = g_strdup_printf (_("Call with %s: %s"),
                                              kc_cta_call_get_peer_number (call), description);

  toast (self, message);
  load_history (self);
}

/* Dialing */

static gboolean
dial_entry_text (KcWindow *self)
{
  g_autoptr(GError) error = NULL;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->dial_entry));

  if (!kc_application_dial (self->app, text, &error)) {
    gtk_label_set_text (GTK_LABEL (self->dial_error), error->message);
    gtk_widget_set_visible (self->dial_error, TRUE);
    /* A URI opened during a call: the entry is not in sight. */
    if (g_strcmp0 (gtk_stack_get_visible_child_name (GTK_STACK (self->stack)), "phone") != 0)
      toast (self, error->message);
    return FALSE;
  }
  gtk_widget_set_visible (self->dial_error, FALSE);
  return TRUE;
}

static void
on_dial (KcWindow *self)
{
  dial_entry_text (self);
}

void
kc_window_set_dial_text (KcWindow   *self,
                         const char *text)
{
  g_return_if_fail (KC_IS_WINDOW (self));
  g_return_if_fail (text != NULL);

  gtk_editable_set_text (GTK_EDITABLE (self->dial_entry), text);
  gtk_editable_set_position (GTK_EDITABLE (self->dial_entry), -1);
  gtk_widget_set_visible (self->dial_error, FALSE);
}

gboolean
kc_window_dial (KcWindow   *self,
                const char *text)
{
  g_return_val_if_fail (KC_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  kc_window_set_dial_text (self, text);
  return dial_entry_text (self);
}

static void
on_dial_key (char     digit,
             gpointer data)
{
  KcWindow *self = data;
  int pos = -1;
  char text[2] = { digit, '\0' };

  gtk_editable_insert_text (GTK_EDITABLE (self->dial_entry), text, 1, &pos);
  gtk_editable_set_position (GTK_EDITABLE (self->dial_entry), -1);
}

static void
on_entry_icon (GtkEntry             *entry,
               GtkEntryIconPosition  position,
               KcWindow             *self)
{
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
}

/* First run (kc-first-run.c) */

gboolean
kc_window_import_file (KcWindow *self,
                       GFile    *file)
{
  g_return_val_if_fail (KC_IS_WINDOW (self), FALSE);

  return kc_first_run_import_file (self->first_run, file);
}

gboolean
kc_window_open_activation (KcWindow *self,
                           GFile    *file)
{
  g_return_val_if_fail (KC_IS_WINDOW (self), FALSE);

  return kc_first_run_open_activation (self->first_run, file);
}

gboolean
kc_window_activate (KcWindow *self)
{
  g_return_val_if_fail (KC_IS_WINDOW (self), FALSE);

  return kc_first_run_activate (self->first_run);
}

static void
on_first_run_toast (KcFirstRun *first_run,
                    const char *message,
                    KcWindow   *self)
{
  toast (self, message);
}

static void
on_import_action (GtkWidget  *widget,
                  const char *action,
                  GVariant   *parameter)
{
  KcWindow *self = KC_WINDOW (widget);

  /* Before kc_window_new has made the pages there is nothing to open. */
  if (self->first_run != NULL)
    kc_first_run_choose_file (self->first_run, GTK_WINDOW (self),
                              g_str_equal (action, "win.activate"));
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         KcWindow      *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  if (files == NULL)
    return FALSE;
  if (files->next != NULL)
    toast (self, _("Drop one profile at a time"));
  return kc_first_run_open_file (self->first_run, files->data);
}

/* Construction */

static GtkWidget *
clamped_page (GtkWidget *child)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *clamp = adw_clamp_new ();

  adw_clamp_set_maximum_size (ADW_CLAMP (clamp), 480);
  adw_clamp_set_child (ADW_CLAMP (clamp), child);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), clamp);
  gtk_widget_set_vexpand (scroller, TRUE);
  return scroller;
}

static GtkWidget *
build_phone_page (KcWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *status = adw_preferences_group_new ();
  GtkWidget *pad, *dial_box;

  g_object_set (box, "margin-top", 18, "margin-bottom", 18, "margin-start", 12,
                "margin-end", 12, NULL);

  self->status_row = adw_action_row_new ();
  gtk_widget_set_name (self->status_row, "account-status");
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (self->status_row), 3);
  self->status_icon = gtk_image_new_from_icon_name ("network-transmit-receive-symbolic");
  adw_action_row_add_prefix (ADW_ACTION_ROW (self->status_row), self->status_icon);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (status), self->status_row);
  gtk_box_append (GTK_BOX (box), status);

  dial_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  self->dial_entry = gtk_entry_new ();
  gtk_widget_set_name (self->dial_entry, "dial-entry");
  gtk_entry_set_placeholder_text (GTK_ENTRY (self->dial_entry), _("Number or sips: address"));
  gtk_entry_set_input_purpose (GTK_ENTRY (self->dial_entry), GTK_INPUT_PURPOSE_PHONE);
  gtk_entry_set_icon_from_icon_name (GTK_ENTRY (self->dial_entry), GTK_ENTRY_ICON_SECONDARY,
                                     "edit-clear-symbolic");
  gtk_entry_set_icon_tooltip_text (GTK_ENTRY (self->dial_entry), GTK_ENTRY_ICON_SECONDARY,
                                   _("Clear"));
  gtk_widget_add_css_class (self->dial_entry, "title-3");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->dial_entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Number to call"), -1);
  g_signal_connect_swapped (self->dial_entry, "activate", G_CALLBACK (on_dial), self);
  g_signal_connect (self->dial_entry, "icon-release", G_CALLBACK (on_entry_icon), self);
  gtk_box_append (GTK_BOX (dial_box), self->dial_entry);

  self->dial_error = gtk_label_new (NULL);
  gtk_widget_set_name (self->dial_error, "dial-error");
  gtk_widget_add_css_class (self->dial_error, "error");
  gtk_label_set_wrap (GTK_LABEL (self->dial_error), TRUE);
  gtk_widget_set_visible (self->dial_error, FALSE);
  gtk_box_append (GTK_BOX (dial_box), self->dial_error);

  pad = kc_dialpad_new ("dial-key", on_dial_key, self);
  gtk_box_append (GTK_BOX (dial_box), pad);

  self->call_button = gtk_button_new_from_icon_name ("call-start-symbolic");
  gtk_widget_set_name (self->call_button, "call-button");
  gtk_widget_add_css_class (self->call_button, "circular");
  gtk_widget_add_css_class (self->call_button, "suggested-action");
  gtk_widget_set_size_request (self->call_button, 64, 64);
  gtk_widget_set_halign (self->call_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (self->call_button, _("Call"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->call_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Call the number"), -1);
  gtk_widget_set_sensitive (self->call_button, FALSE);
  g_signal_connect_swapped (self->call_button, "clicked", G_CALLBACK (on_dial), self);
  gtk_box_append (GTK_BOX (dial_box), self->call_button);
  gtk_box_append (GTK_BOX (box), dial_box);

  gtk_box_append (GTK_BOX (box), build_contacts (self));

  self->history_group = adw_preferences_group_new ();
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (self->history_group),
                                   _("Recent Calls"));
  self->history_list = gtk_list_box_new ();
  gtk_widget_set_name (self->history_list, "history");
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->history_list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (self->history_list, "boxed-list");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->history_list),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Recent calls"), -1);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self->history_group), self->history_list);
  gtk_box_append (GTK_BOX (box), self->history_group);
  return clamped_page (box);
}

static GMenuModel *
primary_menu (void)
{
  GMenu *menu = g_menu_new ();

  g_menu_append (menu, _("_Import Profile…"), "win.import");
  g_menu_append (menu, _("_Activate with Controller…"), "win.activate");
  g_menu_append (menu, _("_Controller Flow"), "app.controller-flow");
  g_menu_append (menu, _("_Preferences"), "app.preferences");
  g_menu_append (menu, _("_About Keycall"), "app.about");
  return G_MENU_MODEL (menu);
}

static void
kc_window_dispose (GObject *object)
{
  KcWindow *self = KC_WINDOW (object);

  if (self->account != NULL)
    g_signal_handlers_disconnect_by_data (self->account, self);
  g_clear_object (&self->account);
  if (self->app != NULL)
    g_signal_handlers_disconnect_by_data (self->app, self);
  if (self->first_run != NULL)
    g_signal_handlers_disconnect_by_data (self->first_run, self);
  g_clear_object (&self->first_run);
  G_OBJECT_CLASS (kc_window_parent_class)->dispose (object);
}

static void
kc_window_finalize (GObject *object)
{
  KcWindow *self = KC_WINDOW (object);

  g_free (self->reconnect_reason);
  g_free (self->contacts_path);
  G_OBJECT_CLASS (kc_window_parent_class)->finalize (object);
}

static void
kc_window_class_init (KcWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = kc_window_dispose;
  object_class->finalize = kc_window_finalize;
  gtk_widget_class_install_action (widget_class, "win.import", NULL, on_import_action);
  gtk_widget_class_install_action (widget_class, "win.activate", NULL, on_import_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK,
                                       "win.import", NULL);
}

static void
kc_window_init (KcWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *header = adw_header_bar_new ();
  GtkWidget *menu_button = gtk_menu_button_new ();
  g_autoptr(GMenuModel) menu = primary_menu ();
  GtkDropTarget *drop;

  self->contacts_path = kc_contacts_default_path ();
  gtk_window_set_title (GTK_WINDOW (self), _("Keycall"));
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header),
                                   adw_window_title_new (_("Keycall"), NULL));
  g_object_set_data (G_OBJECT (self), "kc-header", header);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (menu_button), "open-menu-symbolic");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (menu_button), menu);
  gtk_menu_button_set_primary (GTK_MENU_BUTTON (menu_button), TRUE);
  gtk_widget_set_tooltip_text (menu_button, _("Main Menu"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (menu_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Main menu"), -1);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), menu_button);
  gtk_box_append (GTK_BOX (box), header);

  self->stack = gtk_stack_new ();
  gtk_stack_set_transition_type (GTK_STACK (self->stack), GTK_STACK_TRANSITION_TYPE_CROSSFADE);
  gtk_box_append (GTK_BOX (box), self->stack);

  self->toasts = adw_toast_overlay_new ();
  adw_toast_overlay_set_child (ADW_TOAST_OVERLAY (self->toasts), box);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), self->toasts);

  /* A profile dropped anywhere on the window is imported; an activation
   * file asks for its code. */
  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

KcWindow *
kc_window_new (KcApplication *app)
{
  KcWindow *self = g_object_new (KC_TYPE_WINDOW, "application", app, NULL);
  GSettings *settings = kc_application_get_settings (app);

  self->app = app;
  /* The pages in the order they always had: import, phone, activate, call. */
  self->first_run = kc_first_run_new (app);
  g_signal_connect (self->first_run, "toast", G_CALLBACK (on_first_run_toast), self);
  g_signal_connect_swapped (self->first_run, "notify::activating", G_CALLBACK (show_page), self);
  gtk_stack_add_named (GTK_STACK (self->stack), kc_first_run_get_welcome_page (self->first_run),
                       "import");
  gtk_stack_add_named (GTK_STACK (self->stack), build_phone_page (self), "phone");
  gtk_stack_add_named (GTK_STACK (self->stack),
                       clamped_page (kc_first_run_get_activate_page (self->first_run)),
                       "activate");
  self->call_view = kc_call_view_new (app);
  gtk_stack_add_named (GTK_STACK (self->stack), clamped_page (self->call_view), "call");
  g_settings_bind (settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_swapped (app, "notify::account", G_CALLBACK (follow_account), self);
  g_signal_connect_swapped (app, "notify::call", G_CALLBACK (on_call_changed), self);
  g_signal_connect_swapped (app, "notify::profile-error", G_CALLBACK (on_profile_error), self);
  g_signal_connect (app, "call-finished", G_CALLBACK (on_call_finished), self);
  on_profile_error (self);
  kc_window_load_contacts (self);
  follow_account (self);
  on_call_changed (self);
  return self;
}
