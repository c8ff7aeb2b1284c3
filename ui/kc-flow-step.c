/* kc-flow-step.c: KcFlowStepBar (kc-flow-step.h). The bar keeps no state
 * of its own beyond what the controller's events say: a window opened on a
 * controller already in step mode shows it from the replayed events. */
#define G_LOG_DOMAIN "keycall-flow"

#include "config.h"

#include "kc-flow-step.h"

#include <glib/gi18n.h>

struct _KcFlowStepBar {
  GtkBox          parent_instance;

  KcEventClient  *client;     /* borrowed */
  GtkWidget      *step;       /* GtkToggleButton */
  GtkWidget      *next;       /* GtkButton */
  GtkWidget      *delay;      /* GtkSpinButton, ms */
  GtkWidget      *status;     /* GtkLabel */
  GtkWidget      *reveal;     /* GtkSwitch, shown only for a --classroom controller */
  GtkWidget      *reveal_label;
  guint           n_held;
  gboolean        syncing;    /* widgets being set from an event */
};

G_DEFINE_FINAL_TYPE (KcFlowStepBar, kc_flow_step_bar, GTK_TYPE_BOX)

static void
send (KcFlowStepBar *self, const char *json)
{
  g_autoptr(GError) error = NULL;

  if (self->client == NULL || self->syncing)
    return;
  if (!kc_event_client_send_command (self->client, json, &error))
    gtk_label_set_text (GTK_LABEL (self->status), error->message);
}

static void
update_sensitivity (KcFlowStepBar *self)
{
  gboolean up = self->client != NULL;

  gtk_widget_set_sensitive (self->step, up);
  gtk_widget_set_sensitive (self->delay, up);
  gtk_widget_set_sensitive (self->next, up && self->n_held > 0);
}

static void
on_step_toggled (GtkToggleButton *button, gpointer user_data)
{
  KcFlowStepBar *self = user_data;

  send (self, gtk_toggle_button_get_active (button) ? "{\"v\":1,\"op\":\"step\",\"on\":true}"
                                                    : "{\"v\":1,\"op\":\"step\",\"on\":false}");
}

static void
on_next_clicked (GtkButton *button, gpointer user_data)
{
  send (user_data, "{\"v\":1,\"op\":\"next\"}");
}

static void
on_delay_changed (GtkSpinButton *spin, gpointer user_data)
{
  g_autofree char *json = g_strdup_printf ("{\"v\":1,\"op\":\"slow\",\"delay_ms\":%d}",
                                           gtk_spin_button_get_value_as_int (spin));

  send (user_data, json);
}

void
kc_flow_step_bar_add_event (KcFlowStepBar *self, KcEvent *event)
{
  KcEventKind kind = kc_event_get_kind (event);
  const char *held = kc_event_get_attr (event, "held");
  const char *refused = kc_event_get_attr (event, "refused");
  const char *step = kc_event_get_attr (event, "step");
  const char *delay = kc_event_get_attr (event, "delay_ms");
  const char *next = kc_event_get_attr (event, "next");

  g_return_if_fail (KC_IS_FLOW_STEP_BAR (self));

  if (kind == KC_EVENT_KIND_LOG && g_strcmp0 (kc_event_get_attr (event, "classroom"), "on") == 0) {
    gtk_widget_set_visible (self->reveal, TRUE);
    gtk_widget_set_visible (self->reveal_label, TRUE);
    return;
  }
  if (kind == KC_EVENT_KIND_LOG && refused != NULL) {
    gtk_label_set_text (GTK_LABEL (self->status), kc_event_get_summary (event));
    return;
  }
  if ((kind != KC_EVENT_KIND_STEP_HOLD && kind != KC_EVENT_KIND_STEP_RELEASE
       && kind != KC_EVENT_KIND_LOG) || held == NULL || step == NULL)
    return;

  self->n_held = (guint) g_ascii_strtoull (held, NULL, 10);
  self->syncing = TRUE;
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->step), g_str_equal (step, "on"));
  if (delay != NULL)
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (self->delay), g_ascii_strtod (delay, NULL));
  self->syncing = FALSE;

  if (self->n_held > 0 && next != NULL) {
    g_autofree char *label = g_strdup_printf (_("_Next: %s"), next);
    g_autofree char *status = g_strdup_printf (g_dngettext (NULL, "%u message held",
                                                            "%u messages held", self->n_held),
                                               self->n_held);

    gtk_button_set_label (GTK_BUTTON (self->next), label);
    gtk_label_set_text (GTK_LABEL (self->status), status);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->next), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    label + 1, -1);
  }
  else {
    gtk_button_set_label (GTK_BUTTON (self->next), _("_Next"));
    gtk_label_set_text (GTK_LABEL (self->status), g_str_equal (step, "on")
                        ? _("Step mode: nothing held yet") : "");
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->next), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Next: nothing held"), -1);
  }
  update_sensitivity (self);
}

void
kc_flow_step_bar_set_client (KcFlowStepBar *self, KcEventClient *client)
{
  g_return_if_fail (KC_IS_FLOW_STEP_BAR (self));

  self->client = client;
  if (client == NULL) {
    self->n_held = 0;
    /* A controller that comes back says again whether it is a classroom. */
    gtk_switch_set_active (GTK_SWITCH (self->reveal), FALSE);
    gtk_widget_set_visible (self->reveal, FALSE);
    gtk_widget_set_visible (self->reveal_label, FALSE);
  }
  update_sensitivity (self);
}

GtkWidget *
kc_flow_step_bar_get_reveal_switch (KcFlowStepBar *self)
{
  g_return_val_if_fail (KC_IS_FLOW_STEP_BAR (self), NULL);
  return self->reveal;
}

guint
kc_flow_step_bar_get_n_held (KcFlowStepBar *self)
{
  g_return_val_if_fail (KC_IS_FLOW_STEP_BAR (self), 0);
  return self->n_held;
}

static void
kc_flow_step_bar_class_init (KcFlowStepBarClass *klass)
{
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "stepbar");
}

static void
kc_flow_step_bar_init (KcFlowStepBar *self)
{
  GtkWidget *delay_label;

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  g_object_set (self, "margin-start", 6, "margin-end", 6, "margin-top", 4, "margin-bottom", 4,
                NULL);

  self->step = gtk_toggle_button_new_with_mnemonic (_("_Step"));
  gtk_widget_set_name (self->step, "step-toggle");
  gtk_widget_set_tooltip_text (self->step, _("Hold each message the controller sends until "
                                             "Next is pressed"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->step), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Step mode"), -1);
  g_signal_connect (self->step, "toggled", G_CALLBACK (on_step_toggled), self);

  self->next = gtk_button_new_with_mnemonic (_("_Next"));
  gtk_widget_set_name (self->next, "step-next");
  gtk_widget_set_tooltip_text (self->next, _("Send the message the controller holds"));
  gtk_widget_add_css_class (self->next, "suggested-action");
  g_signal_connect (self->next, "clicked", G_CALLBACK (on_next_clicked), self);

  delay_label = gtk_label_new_with_mnemonic (_("S_low motion (ms)"));
  self->delay = gtk_spin_button_new_with_range (0, 60000, 100);
  gtk_widget_set_name (self->delay, "step-delay");
  gtk_label_set_mnemonic_widget (GTK_LABEL (delay_label), self->delay);
  gtk_widget_set_tooltip_text (self->delay, _("Outside step mode, hold each message this long "
                                              "(0: off)"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->delay), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Slow-motion delay in milliseconds"), -1);
  g_signal_connect (self->delay, "value-changed", G_CALLBACK (on_delay_changed), self);

  self->status = gtk_label_new (NULL);
  gtk_widget_set_name (self->status, "step-status");
  gtk_widget_set_hexpand (self->status, TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->status), 0);
  gtk_label_set_ellipsize (GTK_LABEL (self->status), PANGO_ELLIPSIZE_END);

  gtk_box_append (GTK_BOX (self), self->step);
  gtk_box_append (GTK_BOX (self), self->next);
  gtk_box_append (GTK_BOX (self), delay_label);
  gtk_box_append (GTK_BOX (self), self->delay);
  self->reveal_label = gtk_label_new_with_mnemonic (_("_Reveal keys"));
  self->reveal = gtk_switch_new ();
  gtk_widget_set_name (self->reveal, "reveal-keys");
  gtk_widget_set_valign (self->reveal, GTK_ALIGN_CENTER);
  gtk_label_set_mnemonic_widget (GTK_LABEL (self->reveal_label), self->reveal);
  gtk_widget_set_tooltip_text (self->reveal, _("Classroom: show each call's key in the message "
                                               "details, under a red banner"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->reveal), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Reveal keys"), -1);
  gtk_widget_set_visible (self->reveal, FALSE);
  gtk_widget_set_visible (self->reveal_label, FALSE);

  gtk_box_append (GTK_BOX (self), self->status);
  gtk_box_append (GTK_BOX (self), self->reveal_label);
  gtk_box_append (GTK_BOX (self), self->reveal);
  update_sensitivity (self);
}

GtkWidget *
kc_flow_step_bar_new (void)
{
  return g_object_new (KC_TYPE_FLOW_STEP_BAR, NULL);
}

GtkWidget *
kc_flow_reveal_banner_new (void)
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
  GtkWidget *banner = gtk_label_new (_("KEYS REVEALED — every call key is on screen for the "
                                       "class. Turn Reveal keys off before real calls."));

  gtk_widget_set_name (banner, "reveal-banner");
  gtk_widget_add_css_class (banner, "kc-reveal-banner");
  gtk_label_set_wrap (GTK_LABEL (banner), TRUE);
  gtk_widget_set_visible (banner, FALSE);
  gtk_css_provider_load_from_data (css, ".kc-reveal-banner { background-color: #c01c28; "
                                   "color: white; font-weight: bold; padding: 8px; }", -1);
  gtk_style_context_add_provider_for_display (gtk_widget_get_display (banner),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  return banner;
}
