/* kc-application-call.c: the one call KcApplication shows: its ring and
 * incoming-call notification, the answer/decline actions' state, the
 * call history, and dial, answer, decline and hang up. */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-application.h"
#include "kc-application-private.h"
#include "kc-history.h"
#include "kc-number.h"

#include "kc-error.h"

#include <glib/gi18n.h>

/* The call */

void
kc_application_withdraw_notification (KcApplication *self)
{
  if (!self->notified)
    return;
  g_application_withdraw_notification (G_APPLICATION (self), "incoming-call");
  self->notified = FALSE;
}

static void
start_ringing (KcApplication *self)
{
  g_autoptr(GError) error = NULL;

  /* Without sound the call still rings in the window and the notification. */
  if (!kc_ringtone_start (self->ringtone, &error))
    g_message ("%s", error->message);
}

void
kc_application_stop_ringing (KcApplication *self)
{
  kc_ringtone_stop (self->ringtone);
}

void
kc_application_update_actions (KcApplication *self)
{
  gboolean ringing = FALSE;
  GAction *action;

  if (self->call != NULL && kc_cta_call_get_direction (self->call) == KC_CTA_CALL_INCOMING) {
    KcCtaCallState state = kc_cta_call_get_state (self->call);

    ringing = state != KC_CTA_CALL_STATE_ANSWERED && !kc_cta_call_state_is_final (state);
  }
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "answer");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), ringing);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "decline");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action), ringing);
  /* The window of a stopped controller stays open on its past events. */
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "controller-flow");
  g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                               kc_host_is_running (self->host) || self->flow_window != NULL);
}

static void
record_history (KcApplication *self,
                KcCtaCall     *call,
                const char    *description)
{
  g_autoptr(GError) error = NULL;
  gint64 answered = kc_cta_call_get_answered_time (call);
  KcHistoryEntry entry = {
    .time = g_get_real_time (),
    .number = (char *) kc_cta_call_get_peer_number (call),
    .name = (char *) kc_cta_call_get_peer_name (call),
    .incoming = kc_cta_call_get_direction (call) == KC_CTA_CALL_INCOMING,
    .answered = answered != 0,
    .duration = answered != 0 ? (guint) ((g_get_real_time () - answered) / G_USEC_PER_SEC) : 0,
    .outcome = (char *) description,
  };

  if (entry.number == NULL)
    return;
  if (!kc_history_add (self->history_path, &entry, &error))
    g_message ("The call history was not updated: %s", error->message);
}

static void
on_call_state (KcCtaCall      *call,
               KcCtaCallState  old,
               KcCtaCallState  state,
               KcApplication  *self)
{
  g_autoptr(KcCtaCall) keep = NULL;
  g_autofree char *description = NULL;

  /* The CTA lets an incoming call ring only once the controller confirmed
   * its key acknowledgment: the ring never announces an unkeyed call. */
  if (state == KC_CTA_CALL_STATE_RINGING
      && kc_cta_call_get_direction (call) == KC_CTA_CALL_INCOMING)
    start_ringing (self);
  if (state == KC_CTA_CALL_STATE_ANSWERED || kc_cta_call_state_is_final (state)) {
    kc_application_stop_ringing (self);
    kc_application_withdraw_notification (self);
  }
  if (!kc_cta_call_state_is_final (state)) {
    kc_application_update_actions (self);
    return;
  }

  keep = g_object_ref (call);
  description = kc_cta_call_describe_end (call);
  g_signal_handlers_disconnect_by_data (call, self);
  if (self->call == call) {
    g_clear_object (&self->call);
    g_object_notify_by_pspec (G_OBJECT (self), kc_application_props[PROP_CALL]);
  }
  kc_application_update_actions (self);
  record_history (self, call, description);
  g_signal_emit (self, kc_application_signals[SIGNAL_CALL_FINISHED], 0, call, description);
}

static void
set_call (KcApplication *self,
          KcCtaCall     *call)
{
  g_assert (self->call == NULL);
  self->call = g_object_ref (call);
  g_signal_connect (call, "state-changed", G_CALLBACK (on_call_state), self);
  kc_application_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), kc_application_props[PROP_CALL]);
}

void
kc_application_on_incoming_call (KcCtaAccount  *account,
                                 KcCtaCall     *call,
                                 KcApplication *self)
{
  g_autoptr(GNotification) notification = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *body = NULL;
  const char *name = kc_cta_call_get_peer_name (call);

  if (self->call != NULL) {
    /* One call at a time: the library answers the newcomer Busy Here. */
    if (!kc_cta_call_reject (call, 486, &error))
      g_message ("Could not refuse a second call: %s", error->message);
    return;
  }
  kc_application_apply_settings (self);
  set_call (self, call);

  body = name != NULL ? g_strdup_printf (_("%s (%s) is calling"), name,
                                         kc_cta_call_get_peer_number (call))
                      : g_strdup_printf (_("%s is calling"), kc_cta_call_get_peer_number (call));
  notification = g_notification_new (_("Incoming Keycall call"));
  g_notification_set_body (notification, body);
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_URGENT);
  g_notification_add_button (notification, _("Answer"), "app.answer");
  g_notification_add_button (notification, _("Decline"), "app.decline");
  g_application_send_notification (G_APPLICATION (self), "incoming-call", notification);
  self->notified = TRUE;
}

gboolean
kc_application_dial (KcApplication  *self,
                     const char     *text,
                     GError        **error)
{
  g_autofree char *number = NULL;
  g_autoptr(KcCtaCall) call = NULL;

  g_return_val_if_fail (KC_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (self->account == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED, _("Import a profile before calling"));
    return FALSE;
  }
  if (self->call != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, _("Hang up the current call first"));
    return FALSE;
  }
  if ((number = kc_number_from_input (text, error)) == NULL)
    return FALSE;
  kc_application_apply_settings (self);
  if ((call = kc_cta_account_call (self->account, number, error)) == NULL)
    return FALSE;
  set_call (self, call);
  return TRUE;
}

gboolean
kc_application_answer (KcApplication  *self,
                       GError        **error)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), FALSE);

  if (self->call == NULL || kc_cta_call_get_direction (self->call) != KC_CTA_CALL_INCOMING) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, _("No call is waiting to be answered"));
    return FALSE;
  }
  kc_application_stop_ringing (self);
  kc_application_withdraw_notification (self);
  return kc_cta_call_answer (self->call, error);
}

gboolean
kc_application_decline (KcApplication  *self,
                        GError        **error)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), FALSE);

  if (self->call == NULL || kc_cta_call_get_direction (self->call) != KC_CTA_CALL_INCOMING) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, _("No call is waiting to be answered"));
    return FALSE;
  }
  kc_application_stop_ringing (self);
  kc_application_withdraw_notification (self);
  return kc_cta_call_reject (self->call, 603, error);
}

void
kc_application_hangup (KcApplication *self)
{
  g_return_if_fail (KC_IS_APPLICATION (self));

  if (self->call != NULL)
    kc_cta_call_hangup (self->call);
}
