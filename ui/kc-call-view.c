/* kc-call-view.c: the call page (kc-call-view.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-call-view.h"
#include "kc-dialpad.h"

#include "kc-keys.h"

#include <adwaita.h>
#include <glib/gi18n.h>

/* Meters read the levels at 10 Hz; -60 dBFS is the bottom of the scale. */
#define METER_INTERVAL_MS 100
#define METER_FLOOR_DBFS  (-60.0)

struct _KcCallView {
  GtkBox         parent_instance;

  KcApplication *app;
  KcCtaCall     *call;
  guint          tick_id;

  GtkWidget     *peer_name;
  GtkWidget     *peer_number;
  GtkWidget     *state;
  GtkWidget     *incoming_box;
  GtkWidget     *active_box;
  GtkWidget     *mute;
  GtkWidget     *hold;
  gboolean       hold_syncing;    /* the hold toggle follows the call, not a click */
  GtkWidget     *keypad_toggle;
  GtkWidget     *keypad_revealer;
  GtkWidget     *input_level;
  GtkWidget     *output_level;
  GtkWidget     *security_icon;
  GtkWidget     *security_title;
  GtkWidget     *security_detail;
  GtkWidget     *fingerprint;
  GtkWidget     *fingerprint_hint;
  GtkWidget     *details_box;
  GtkWidget     *suite;
  GtkWidget     *ack_sent;
  GtkWidget     *ack_confirmed;
  GtkWidget     *intercept;
  GtkWidget     *media;
};

G_DEFINE_TYPE (KcCallView, kc_call_view, GTK_TYPE_BOX)

static void
toast (KcCallView *self,
       const char *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (GTK_WIDGET (self), ADW_TYPE_TOAST_OVERLAY);

  if (overlay != NULL)
    adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), adw_toast_new (message));
}

static char *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *hms = NULL;

  if (usec == 0)
    return g_strdup (_("not yet"));
  dt = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  hms = g_date_time_format (dt, "%H:%M:%S");
  return g_strdup_printf ("%s.%03d", hms, (int) (usec % G_USEC_PER_SEC / 1000));
}

static char *
format_duration (gint64 seconds)
{
  if (seconds >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", (int) (seconds / 3600), (int) (seconds / 60 % 60),
                            (int) (seconds % 60));
  return g_strdup_printf ("%d:%02d", (int) (seconds / 60), (int) (seconds % 60));
}

static const char *
controller_name (KcCallView *self)
{
  KcCtaAccount *account = kc_application_get_account (self->app);
  const char *name = account != NULL ? kc_cta_account_get_controller_name (account) : NULL;

  return name != NULL ? name : _("(unknown)");
}

static char *
state_text (KcCtaCall *call)
{
  gboolean incoming = kc_cta_call_get_direction (call) == KC_CTA_CALL_INCOMING;
  gint64 answered;

  switch (kc_cta_call_get_state (call)) {
  case KC_CTA_CALL_STATE_CALLING:
    return g_strdup (_("Calling…"));
  case KC_CTA_CALL_STATE_INCOMING:
    return g_strdup (_("Incoming call · checking the key…"));
  case KC_CTA_CALL_STATE_KEY_RECEIVED:
    return g_strdup (_("Key received · waiting for the controller"));
  case KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED:
    return g_strdup (incoming ? _("Incoming call") : _("Key confirmed · calling…"));
  case KC_CTA_CALL_STATE_RINGING:
    return g_strdup (incoming ? _("Incoming call") : _("Ringing…"));
  case KC_CTA_CALL_STATE_ANSWERED:
    answered = kc_cta_call_get_answered_time (call);
    {
      g_autofree char *d = format_duration ((g_get_real_time () - answered) / G_USEC_PER_SEC);
      const char *peer = kc_cta_call_get_peer_name (call);

      if (kc_cta_call_get_held (call))
        return g_strdup_printf (_("On hold · %s"), d);
      if (kc_cta_call_get_remote_held (call))
        /* TRANSLATORS: %s is the other person's name or number, then the call's duration. */
        return g_strdup_printf (_("Held by %s · %s"),
                                peer != NULL ? peer : kc_cta_call_get_peer_number (call), d);
      return g_strdup_printf (_("Connected · %s"), d);
    }
  case KC_CTA_CALL_STATE_ENDED:
  case KC_CTA_CALL_STATE_FAILED:
  default:
    return kc_cta_call_describe_end (call);
  }
}

static void
update_levels (KcCallView *self)
{
  double in = -100, out = -100;

  if (self->call != NULL && kc_cta_call_get_state (self->call) == KC_CTA_CALL_STATE_ANSWERED)
    kc_cta_call_get_levels (self->call, &in, &out);
  gtk_level_bar_set_value (GTK_LEVEL_BAR (self->input_level),
                           CLAMP ((in - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS, 0.0, 1.0));
  gtk_level_bar_set_value (GTK_LEVEL_BAR (self->output_level),
                           CLAMP ((out - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS, 0.0, 1.0));
}

static void
update_security (KcCallView *self)
{
  KcCtaCall *call = self->call;
  const char *fingerprint = kc_cta_call_get_key_fingerprint (call);
  gint64 confirmed = kc_cta_call_get_ack_confirmed_time (call);
  gboolean incoming = kc_cta_call_get_direction (call) == KC_CTA_CALL_INCOMING;
  gboolean secure = fingerprint != NULL && confirmed != 0
                    && kc_cta_call_get_state (call) != KC_CTA_CALL_STATE_FAILED;
  g_autofree char *title = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *sent = NULL;
  g_autofree char *conf = NULL;

  if (secure) {
    /* The source controller creates K (FIG. 3, 408): ours for our calls;
     * for an incoming call, the one our controller named in its 320
     * (kc_cta_call_get_key_origin), which ours delivered. */
    const char *origin = kc_cta_call_get_key_origin (call);

    if (origin == NULL && incoming)
      title = g_strdup_printf (_("Encrypted with a key created by the caller’s controller, "
                                 "delivered by controller %s"), controller_name (self));
    else if (origin == NULL || g_strcmp0 (origin, controller_name (self)) == 0)
      /* Created and delivered by the same one; the words stay those
       * tests/ui/ui-test.c (call_secure) looks for. */
      title = g_strdup_printf (_("Encrypted with a key created by controller %s"),
                               controller_name (self));
    else
      title = g_strdup_printf (_("Encrypted with a key created by controller %s, "
                                 "delivered by controller %s"), origin, controller_name (self));
    /* Only our own acknowledgment's confirmation is visible from here. */
    detail = kc_cta_call_get_key_derived (call)
      ? g_strdup_printf (_("This phone derived the key from its signaling secret; controller %s "
                           "confirmed this phone’s acknowledgment."), controller_name (self))
      : g_strdup_printf (_("Controller %s confirmed this phone’s acknowledgment of the key."),
                         controller_name (self));
    gtk_image_set_from_icon_name (GTK_IMAGE (self->security_icon), "security-high-symbolic");
    gtk_widget_remove_css_class (self->security_icon, "warning");
    gtk_widget_add_css_class (self->security_icon, "success");
  } else {
    title = g_strdup (_("This call is NOT secure yet"));
    detail = fingerprint == NULL
      ? g_strdup_printf (_("No key has arrived from controller %s. Say nothing confidential."),
                         controller_name (self))
      : g_strdup_printf (_("A key arrived, but controller %s has not confirmed this phone’s "
                           "acknowledgment yet. Say nothing confidential."),
                         controller_name (self));
    gtk_image_set_from_icon_name (GTK_IMAGE (self->security_icon), "dialog-warning-symbolic");
    gtk_widget_remove_css_class (self->security_icon, "success");
    gtk_widget_add_css_class (self->security_icon, "warning");
  }
  gtk_label_set_text (GTK_LABEL (self->security_title), title);
  gtk_label_set_text (GTK_LABEL (self->security_detail), detail);

  gtk_label_set_text (GTK_LABEL (self->fingerprint), fingerprint != NULL ? fingerprint : "");
  gtk_widget_set_visible (self->fingerprint, fingerprint != NULL);
  gtk_widget_set_visible (self->fingerprint_hint, fingerprint != NULL);
  gtk_widget_set_visible (self->details_box, fingerprint != NULL);
  gtk_widget_set_visible (self->intercept, fingerprint != NULL);
  if (fingerprint != NULL) {
    g_autofree char *a11y = g_strdup_printf (_("Key fingerprint %s"), fingerprint);

    gtk_accessible_update_property (GTK_ACCESSIBLE (self->fingerprint),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
    gtk_label_set_text (GTK_LABEL (self->suite), kc_suite_to_string (kc_cta_call_get_suite (call)));
  }
  sent = format_time (kc_cta_call_get_ack_sent_time (call));
  conf = format_time (confirmed);
  gtk_label_set_text (GTK_LABEL (self->ack_sent), sent);
  gtk_label_set_text (GTK_LABEL (self->ack_confirmed), conf);
}

/* The hold toggle shows what the call is (held once the other side
 * agreed), and waits while a hold or resume is on its way. */
static void
sync_hold (KcCallView *self)
{
  KcCtaCall *call = self->call;
  gboolean held = call != NULL && kc_cta_call_get_held (call);
  gboolean pending = call != NULL && kc_cta_call_get_hold_pending (call);

  self->hold_syncing = TRUE;
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->hold), held);
  self->hold_syncing = FALSE;
  gtk_widget_set_sensitive (self->hold, call != NULL && !pending
                            && kc_cta_call_get_state (call) == KC_CTA_CALL_STATE_ANSWERED
                            && kc_cta_call_get_media (call) != NULL);
  gtk_button_set_icon_name (GTK_BUTTON (self->hold), held ? "media-playback-start-symbolic"
                                                          : "media-playback-pause-symbolic");
  gtk_widget_set_tooltip_text (self->hold, held ? _("Resume") : _("Hold"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->hold), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  held ? _("Resume the call") : _("Put the call on hold"), -1);
}

static void
update (KcCallView *self)
{
  KcCtaCall *call = self->call;
  KcCtaCallState state;
  g_autofree char *text = NULL;
  const char *name, *media;
  gboolean incoming;

  if (call == NULL)
    return;
  state = kc_cta_call_get_state (call);
  incoming = kc_cta_call_get_direction (call) == KC_CTA_CALL_INCOMING;
  name = kc_cta_call_get_peer_name (call);
  gtk_label_set_text (GTK_LABEL (self->peer_name),
                      name != NULL ? name : kc_cta_call_get_peer_number (call));
  gtk_label_set_text (GTK_LABEL (self->peer_number), kc_cta_call_get_peer_number (call));
  gtk_widget_set_visible (self->peer_number, name != NULL);
  text = state_text (call);
  gtk_label_set_text (GTK_LABEL (self->state), text);

  gtk_widget_set_visible (self->incoming_box, incoming && state != KC_CTA_CALL_STATE_ANSWERED
                                              && !kc_cta_call_state_is_final (state));
  gtk_widget_set_visible (self->active_box, !gtk_widget_get_visible (self->incoming_box));
  gtk_widget_set_sensitive (self->mute, state == KC_CTA_CALL_STATE_ANSWERED);
  sync_hold (self);
  gtk_widget_set_sensitive (self->keypad_toggle, state == KC_CTA_CALL_STATE_ANSWERED);
  media = kc_cta_call_describe_media (call);
  gtk_label_set_text (GTK_LABEL (self->media), media != NULL ? media : "");
  gtk_widget_set_visible (self->media, media != NULL);
  update_security (self);
}

static gboolean
on_tick (gpointer data)
{
  KcCallView *self = data;

  update_levels (self);
  if (self->call != NULL && kc_cta_call_get_state (self->call) == KC_CTA_CALL_STATE_ANSWERED) {
    g_autofree char *text = state_text (self->call);

    gtk_label_set_text (GTK_LABEL (self->state), text);
  }
  return G_SOURCE_CONTINUE;
}

static void
on_call_notify (GObject    *object,
                GParamSpec *pspec,
                KcCallView *self)
{
  update (self);
}

static void
on_call_state (KcCtaCall      *call,
               KcCtaCallState  old,
               KcCtaCallState  state,
               KcCallView     *self)
{
  update (self);
}

static void
on_mute_toggled (GtkToggleButton *button,
                 KcCallView      *self)
{
  gboolean muted = gtk_toggle_button_get_active (button);

  if (self->call != NULL)
    kc_cta_call_set_muted (self->call, muted);
  gtk_button_set_icon_name (GTK_BUTTON (button), muted ? "microphone-disabled-symbolic"
                                                       : "audio-input-microphone-symbolic");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  muted ? _("Unmute the microphone") : _("Mute the microphone"),
                                  -1);
}

static void
on_hold_toggled (GtkToggleButton *button,
                 KcCallView      *self)
{
  g_autoptr(GError) error = NULL;

  if (self->hold_syncing || self->call == NULL)
    return;
  if (!kc_cta_call_hold (self->call, gtk_toggle_button_get_active (button), &error))
    toast (self, error->message);
  sync_hold (self);
}

static void
on_hold_failed (KcCtaCall  *call,
                const char *message,
                KcCallView *self)
{
  toast (self, message);
  sync_hold (self);
}

static void
on_dtmf (char     digit,
         gpointer data)
{
  KcCallView *self = data;
  g_autoptr(GError) error = NULL;

  if (self->call != NULL && !kc_cta_call_send_dtmf (self->call, digit, &error))
    toast (self, error->message);
}

static void
on_answer_clicked (GtkButton  *button,
                   KcCallView *self)
{
  g_autoptr(GError) error = NULL;

  if (!kc_application_answer (self->app, &error))
    toast (self, error->message);
}

static void
on_decline_clicked (GtkButton  *button,
                    KcCallView *self)
{
  g_autoptr(GError) error = NULL;

  if (!kc_application_decline (self->app, &error))
    toast (self, error->message);
}

static void
on_hangup_clicked (GtkButton  *button,
                   KcCallView *self)
{
  kc_application_hangup (self->app);
}

void
kc_call_view_set_call (KcCallView *self,
                       KcCtaCall  *call)
{
  g_return_if_fail (KC_IS_CALL_VIEW (self));

  if (self->call == call)
    return;
  if (self->call != NULL)
    g_signal_handlers_disconnect_by_data (self->call, self);
  g_clear_object (&self->call);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  if (call == NULL)
    return;

  self->call = g_object_ref (call);
  g_signal_connect (call, "notify", G_CALLBACK (on_call_notify), self);
  g_signal_connect (call, "state-changed", G_CALLBACK (on_call_state), self);
  g_signal_connect_swapped (call, "media-started", G_CALLBACK (update), self);
  g_signal_connect (call, "hold-failed", G_CALLBACK (on_hold_failed), self);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->mute), FALSE);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->keypad_toggle), FALSE);
  self->tick_id = g_timeout_add (METER_INTERVAL_MS, on_tick, self);
  update (self);
  update_levels (self);
}

/* Construction */

static GtkWidget *
round_button (const char *icon,
              const char *name,
              const char *a11y,
              const char *css)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_set_name (button, name);
  gtk_widget_add_css_class (button, "circular");
  if (css != NULL)
    gtk_widget_add_css_class (button, css);
  gtk_widget_set_size_request (button, 64, 64);
  gtk_widget_set_tooltip_text (button, a11y);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y,
                                  -1);
  return button;
}

static GtkWidget *
named_label (const char *name,
             const char *css)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_widget_set_name (label, name);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_justify (GTK_LABEL (label), GTK_JUSTIFY_CENTER);
  if (css != NULL)
    gtk_widget_add_css_class (label, css);
  return label;
}

static GtkWidget *
meter (GtkWidget  *box,
       const char *title,
       const char *name)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *label = gtk_label_new (title);
  GtkWidget *bar = gtk_level_bar_new_for_interval (0.0, 1.0);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_size_request (label, 90, -1);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_name (bar, name);
  gtk_widget_set_hexpand (bar, TRUE);
  gtk_widget_set_valign (bar, GTK_ALIGN_CENTER);
  /* The default offsets color a loud voice as a warning; a meter is plain. */
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_accessible_update_property (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (bar), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                  label, NULL, -1);
  gtk_box_append (GTK_BOX (row), label);
  gtk_box_append (GTK_BOX (row), bar);
  gtk_box_append (GTK_BOX (box), row);
  return bar;
}

static GtkWidget *
detail_row (GtkWidget  *grid,
            int         row,
            const char *title,
            const char *name)
{
  GtkWidget *label = gtk_label_new (title);
  GtkWidget *value = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (value), 0);
  gtk_label_set_selectable (GTK_LABEL (value), TRUE);
  gtk_label_set_wrap (GTK_LABEL (value), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (value), PANGO_WRAP_WORD_CHAR);
  gtk_widget_set_hexpand (value, TRUE);
  gtk_widget_set_name (value, name);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (value), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                  label, NULL, -1);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), value, 1, row, 1, 1);
  return value;
}

static GtkWidget *
build_security (KcCallView *self)
{
  GtkWidget *card = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *frame = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *head = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *grid = gtk_grid_new ();

  gtk_widget_add_css_class (card, "card");
  gtk_widget_set_name (card, "security-panel");
  gtk_widget_set_margin_top (card, 12);
  gtk_accessible_update_property (GTK_ACCESSIBLE (card), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Call security"), -1);
  g_object_set (frame, "margin-top", 12, "margin-bottom", 12, "margin-start", 12,
                "margin-end", 12, NULL);
  gtk_box_append (GTK_BOX (card), frame);

  self->security_icon = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
  gtk_image_set_pixel_size (GTK_IMAGE (self->security_icon), 24);
  gtk_widget_set_valign (self->security_icon, GTK_ALIGN_START);
  self->security_title = named_label ("security-title", "heading");
  gtk_label_set_xalign (GTK_LABEL (self->security_title), 0);
  gtk_label_set_justify (GTK_LABEL (self->security_title), GTK_JUSTIFY_LEFT);
  gtk_widget_set_hexpand (self->security_title, TRUE);
  gtk_box_append (GTK_BOX (head), self->security_icon);
  gtk_box_append (GTK_BOX (head), self->security_title);
  gtk_box_append (GTK_BOX (frame), head);

  self->security_detail = named_label ("security-detail", NULL);
  gtk_label_set_xalign (GTK_LABEL (self->security_detail), 0);
  gtk_label_set_justify (GTK_LABEL (self->security_detail), GTK_JUSTIFY_LEFT);
  gtk_box_append (GTK_BOX (frame), self->security_detail);

  self->fingerprint = named_label ("fingerprint", "title-1");
  gtk_widget_add_css_class (self->fingerprint, "monospace");
  gtk_label_set_selectable (GTK_LABEL (self->fingerprint), TRUE);
  gtk_widget_set_margin_top (self->fingerprint, 6);
  gtk_box_append (GTK_BOX (frame), self->fingerprint);
  self->fingerprint_hint = named_label ("fingerprint-hint", "caption");
  gtk_widget_add_css_class (self->fingerprint_hint, "dim-label");
  gtk_label_set_text (GTK_LABEL (self->fingerprint_hint),
                      _("Compare it aloud: the other phone shows the same fingerprint for "
                        "this call."));
  gtk_box_append (GTK_BOX (frame), self->fingerprint_hint);

  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  self->suite = detail_row (grid, 0, _("SRTP suite"), "suite");
  self->ack_sent = detail_row (grid, 1, _("Our acknowledgment sent"), "ack-sent");
  self->ack_confirmed = detail_row (grid, 2, _("Confirmed by the controller"), "ack-confirmed");
  self->details_box = grid;
  gtk_box_append (GTK_BOX (frame), grid);

  self->intercept = named_label ("intercept-note", "caption");
  gtk_label_set_xalign (GTK_LABEL (self->intercept), 0);
  gtk_label_set_justify (GTK_LABEL (self->intercept), GTK_JUSTIFY_LEFT);
  gtk_label_set_text (GTK_LABEL (self->intercept),
                      _("The key comes from the controller, not from the two phones: the "
                        "controller — and so lawful intercept — can know this key. It keeps a "
                        "copy sealed for law enforcement."));
  gtk_box_append (GTK_BOX (frame), self->intercept);
  return card;
}

static void
kc_call_view_dispose (GObject *object)
{
  KcCallView *self = KC_CALL_VIEW (object);

  kc_call_view_set_call (self, NULL);
  G_OBJECT_CLASS (kc_call_view_parent_class)->dispose (object);
}

static void
kc_call_view_class_init (KcCallViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = kc_call_view_dispose;
}

static void
kc_call_view_init (KcCallView *self)
{
  GtkWidget *box = GTK_WIDGET (self);
  GtkWidget *buttons, *meters, *pad, *answer, *decline, *hangup;

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 8);
  g_object_set (self, "margin-top", 18, "margin-bottom", 18, "margin-start", 12,
                "margin-end", 12, NULL);

  self->peer_name = named_label ("peer-name", "title-1");
  self->peer_number = named_label ("peer-number", "dim-label");
  self->state = named_label ("call-state", NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->state), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Call state"), -1);
  gtk_box_append (GTK_BOX (box), self->peer_name);
  gtk_box_append (GTK_BOX (box), self->peer_number);
  gtk_box_append (GTK_BOX (box), self->state);

  /* Incoming, not answered: answer or decline. */
  self->incoming_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 48);
  gtk_widget_set_halign (self->incoming_box, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_top (self->incoming_box, 12);
  decline = round_button ("call-stop-symbolic", "decline-button", _("Decline the call"),
                          "destructive-action");
  answer = round_button ("call-start-symbolic", "answer-button", _("Answer the call"),
                         "suggested-action");
  gtk_widget_add_css_class (answer, "success");
  g_signal_connect (answer, "clicked", G_CALLBACK (on_answer_clicked), self);
  g_signal_connect (decline, "clicked", G_CALLBACK (on_decline_clicked), self);
  gtk_box_append (GTK_BOX (self->incoming_box), decline);
  gtk_box_append (GTK_BOX (self->incoming_box), answer);
  gtk_box_append (GTK_BOX (box), self->incoming_box);

  /* Placed or answered: mute, keypad, hang up. */
  self->active_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 24);
  gtk_widget_set_halign (buttons, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_top (buttons, 12);
  self->mute = gtk_toggle_button_new ();
  gtk_button_set_icon_name (GTK_BUTTON (self->mute), "audio-input-microphone-symbolic");
  gtk_widget_set_name (self->mute, "mute-button");
  gtk_widget_add_css_class (self->mute, "circular");
  gtk_widget_set_size_request (self->mute, 64, 64);
  gtk_widget_set_tooltip_text (self->mute, _("Mute"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->mute), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Mute the microphone"), -1);
  g_signal_connect (self->mute, "toggled", G_CALLBACK (on_mute_toggled), self);
  self->hold = gtk_toggle_button_new ();
  gtk_button_set_icon_name (GTK_BUTTON (self->hold), "media-playback-pause-symbolic");
  gtk_widget_set_name (self->hold, "hold-button");
  gtk_widget_add_css_class (self->hold, "circular");
  gtk_widget_set_size_request (self->hold, 64, 64);
  gtk_widget_set_tooltip_text (self->hold, _("Hold"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->hold), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Put the call on hold"), -1);
  g_signal_connect (self->hold, "toggled", G_CALLBACK (on_hold_toggled), self);
  hangup = round_button ("call-stop-symbolic", "hangup-button", _("Hang up"),
                         "destructive-action");
  g_signal_connect (hangup, "clicked", G_CALLBACK (on_hangup_clicked), self);
  self->keypad_toggle = gtk_toggle_button_new ();
  gtk_button_set_icon_name (GTK_BUTTON (self->keypad_toggle), "input-dialpad-symbolic");
  gtk_widget_set_name (self->keypad_toggle, "keypad-button");
  gtk_widget_add_css_class (self->keypad_toggle, "circular");
  gtk_widget_set_size_request (self->keypad_toggle, 64, 64);
  gtk_widget_set_tooltip_text (self->keypad_toggle, _("Keypad"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->keypad_toggle),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Show the keypad to send tones"), -1);
  gtk_box_append (GTK_BOX (buttons), self->mute);
  gtk_box_append (GTK_BOX (buttons), self->hold);
  gtk_box_append (GTK_BOX (buttons), hangup);
  gtk_box_append (GTK_BOX (buttons), self->keypad_toggle);
  gtk_box_append (GTK_BOX (self->active_box), buttons);

  self->keypad_revealer = gtk_revealer_new ();
  pad = kc_dialpad_new ("dtmf-key", on_dtmf, self);
  gtk_widget_set_margin_top (pad, 8);
  gtk_revealer_set_child (GTK_REVEALER (self->keypad_revealer), pad);
  g_object_bind_property (self->keypad_toggle, "active", self->keypad_revealer,
                          "reveal-child", G_BINDING_SYNC_CREATE);
  gtk_box_append (GTK_BOX (self->active_box), self->keypad_revealer);

  meters = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  g_object_set (meters, "margin-top", 12, "margin-start", 12, "margin-end", 12, NULL);
  self->input_level = meter (meters, _("Microphone"), "input-level");
  self->output_level = meter (meters, _("Speaker"), "output-level");
  gtk_box_append (GTK_BOX (self->active_box), meters);
  gtk_box_append (GTK_BOX (box), self->active_box);

  gtk_box_append (GTK_BOX (box), build_security (self));
  self->media = named_label ("media", "caption");
  gtk_widget_add_css_class (self->media, "dim-label");
  gtk_label_set_selectable (GTK_LABEL (self->media), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (self->media), PANGO_WRAP_WORD_CHAR);
  gtk_box_append (GTK_BOX (box), self->media);
}

GtkWidget *
kc_call_view_new (KcApplication *app)
{
  KcCallView *self = g_object_new (KC_TYPE_CALL_VIEW, NULL);

  self->app = app;
  return GTK_WIDGET (self);
}
