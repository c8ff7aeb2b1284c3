/* kc-lea-window-actions.c: the window's "Add a tap" form, shown when the
 * program gives the window tap actions (kc_lea_window_set_tap_actions).
 */
#define G_LOG_DOMAIN "kc-lea-window"

#include "config.h"

#include "kc-lea-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

static void
show_add_error (KcLeaWindow *self, const char *text)
{
  /* Plain text: the reasons come from the program and the network. */
  gtk_label_set_text (GTK_LABEL (self->add_error), text ? text : "");
  gtk_widget_set_visible (self->add_error, text != NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->add_number),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text ? text : "", -1);
  if (text != NULL)
    gtk_widget_add_css_class (self->add_number, "error");
  else
    gtk_widget_remove_css_class (self->add_number, "error");
}

static gboolean
number_valid (const char *number)
{
  const char *p = number[0] == '+' ? number + 1 : number;
  gsize n = strlen (p);

  if (n < 1 || n > 15)
    return FALSE;
  for (; *p; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

static void
on_add_clicked (KcLeaWindow *self)
{
  g_autofree char *number = g_strstrip (g_strdup (gtk_editable_get_text (
                                                    GTK_EDITABLE (self->add_number))));
  guint kind = adw_combo_row_get_selected (ADW_COMBO_ROW (self->add_kind));
  guint ci = adw_combo_row_get_selected (ADW_COMBO_ROW (self->add_controller));
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (self->add_tap == NULL)
    return;
  if (!number_valid (number)) {
    /* Translators: %s is what was typed. */
    text = g_strdup_printf (_("Not added: “%s” is not a subscriber number (1 to 15 digits, "
                              "optionally after a +)."), number);
    show_add_error (self, text);
    gtk_widget_grab_focus (self->add_number);
    return;
  }
  if (self->controller_names == NULL || ci >= g_strv_length (self->controller_names)) {
    show_add_error (self, _("Not added: choose a controller."));
    return;
  }
  if (!self->add_tap (self->controller_names[ci], kind == 1 ? "current" : "future", number,
                      self->actions_data, &error)) {
    /* Translators: %s is why the tap could not be asked. */
    text = g_strdup_printf (_("Not added: %s"), error->message);
    show_add_error (self, text);
    return;
  }
  show_add_error (self, NULL);
  gtk_editable_set_text (GTK_EDITABLE (self->add_number), "");
}

static GtkWidget *
combo_row (const char *name, const char *title, const char *const *items)
{
  GtkWidget *row = adw_combo_row_new ();
  g_autoptr(GtkStringList) model = gtk_string_list_new (items);

  gtk_widget_set_name (row, name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (model));
  return row;
}

void
kc_lea_window_set_tap_actions (KcLeaWindow        *self,
                               const char *const  *controllers,
                               KcLeaWindowAddTap   add,
                               KcLeaWindowStopTap  stop,
                               gpointer            user_data)
{
  const char *kinds[] = { _("Future calls"), _("Current calls"), NULL };
  GtkWidget *box;

  g_return_if_fail (KC_IS_LEA_WINDOW (self) && controllers != NULL && self->add_tap == NULL);

  self->add_tap = add;
  self->stop_tap = stop;
  self->actions_data = user_data;
  self->controller_names = g_strdupv ((char **) controllers);
  for (guint i = 0; stop != NULL && i < self->taps->len; i++) {
    Tap *t = self->taps->pdata[i];

    if (t->stop == NULL)
      kc_lea_window_add_stop_button (self, t);
  }
  adw_preferences_group_set_description (self->tap_group,
    _("Asked on the command line or with the form below; kept across reconnects. "
      "Stop ends a tap at its controller."));

  self->add_number = adw_entry_row_new ();
  gtk_widget_set_name (self->add_number, "add-tap-number");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->add_number),
                                 _("Subscriber number"));
  gtk_editable_set_max_width_chars (GTK_EDITABLE (self->add_number), 16);
  g_signal_connect_swapped (self->add_number, "entry-activated", G_CALLBACK (on_add_clicked),
                            self);
  self->add_kind = combo_row ("add-tap-kind", _("Calls to tap"), kinds);
  self->add_controller = combo_row ("add-tap-controller", _("Controller"), controllers);
  self->add_error = gtk_label_new (NULL);
  gtk_widget_set_name (self->add_error, "add-tap-error");
  gtk_label_set_use_markup (GTK_LABEL (self->add_error), FALSE);
  gtk_label_set_wrap (GTK_LABEL (self->add_error), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->add_error), 0);
  gtk_label_set_selectable (GTK_LABEL (self->add_error), TRUE);
  gtk_widget_add_css_class (self->add_error, "error");
  gtk_widget_set_visible (self->add_error, FALSE);
  self->add_button = gtk_button_new_with_mnemonic (_("_Add tap"));
  gtk_widget_set_name (self->add_button, "add-tap-button");
  gtk_widget_add_css_class (self->add_button, "suggested-action");
  gtk_widget_set_halign (self->add_button, GTK_ALIGN_END);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->add_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Ask the chosen controller for this tap"), -1);
  g_signal_connect_swapped (self->add_button, "clicked", G_CALLBACK (on_add_clicked), self);
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_top (box, 12);
  gtk_box_append (GTK_BOX (box), self->add_error);
  gtk_box_append (GTK_BOX (box), self->add_button);
  adw_preferences_group_add (self->add_group, self->add_number);
  adw_preferences_group_add (self->add_group, self->add_kind);
  adw_preferences_group_add (self->add_group, self->add_controller);
  adw_preferences_group_add (self->add_group, box);
  gtk_widget_set_visible (GTK_WIDGET (self->add_group), TRUE);
}
