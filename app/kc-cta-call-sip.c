/* kc-cta-call-sip.c: what both directions of a call share on sofia-sip
 * NTA: requests inside the dialog (BYE, OPTIONS), hanging up, the key
 * events, and releasing the sofia-sip objects. The caller's side is in
 * kc-cta-call-caller.c, the callee's in kc-cta-call-callee.c. Every
 * message is checked to come from our controller's certificate before
 * anything in it is used (kc_cta_account_check_peer).
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-call-private.h"
#include "kc-error.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>

#include <string.h>

/* How long a CANCEL or BYE may go unanswered before the call ends anyway. */
#define HANGUP_TIMEOUT_S 10

void
kc_cta_call_note_ack_sent (KcCtaCall *self)
{
  self->ack_sent_time = g_get_real_time ();
  g_object_notify (G_OBJECT (self), "ack-sent-time");
}

void
kc_cta_call_note_ack_confirmed (KcCtaCall *self)
{
  g_autoptr(KcEvent) event = kc_cta_call_event_new (self, KC_EVENT_KIND_KEY_ACK,
                                                    self->direction == KC_CTA_CALL_OUTGOING
                                                    ? 328 : 322);

  self->ack_confirmed_time = g_get_real_time ();
  g_object_notify (G_OBJECT (self), "ack-confirmed-time");
  if (event != NULL) {
    kc_event_set_summary (event, "controller confirmed our key acknowledgment");
    kc_cta_call_emit (self, event);
  }
}

void
kc_cta_call_emit_key_events (KcCtaCall *self,
                             int        key_fig3,
                             int        ack_fig3)
{
  if (self->account != NULL && self->has_key)
    kc_cta_account_emit_key_events (self->account, self->call_id, &self->key_id, self->key,
                                    self->derived, self->direction == KC_CTA_CALL_OUTGOING,
                                    key_fig3, ack_fig3);
}

void
kc_cta_call_emit_key_failure (KcCtaCall  *self,
                              int         fig3,
                              const char *why)
{
  g_autoptr(KcEvent) event = kc_cta_call_event_new (self, KC_EVENT_KIND_KEY_ACK_FAILED, fig3);

  if (event != NULL) {
    kc_event_set_summary (event, why);
    kc_cta_call_emit (self, event);
  }
}

void
kc_cta_call_emit_tx (KcCtaCall      *self,
                     nta_outgoing_t *orq,
                     int             fig3,
                     gint64          sent_at)
{
  msg_t *msg = nta_outgoing_getrequest (orq);

  kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, fig3, msg);
  msg_destroy (msg);
}

static gboolean
on_hangup_timeout (gpointer user_data)
{
  KcCtaCall *self = user_data;

  self->hangup_timer = 0;
  kc_cta_call_finish (self, 408, self->state == KC_CTA_CALL_STATE_ANSWERED
                                 ? "hung up here; the controller never confirmed the BYE"
                                 : "cancelled here; the controller never confirmed");
  return G_SOURCE_REMOVE;
}

void
kc_cta_call_start_hangup_timer (KcCtaCall *self)
{
  if (self->hangup_timer == 0)
    self->hangup_timer = g_timeout_add_seconds (HANGUP_TIMEOUT_S, on_hangup_timeout, self);
}

char *
kc_cta_sip_quoted (const char *text)
{
  g_autofree char *clean = g_strdup (text);

  for (char *c = clean; *c != '\0'; c++)
    if (*c == '"' || *c == '\\' || (guchar) *c < 0x20)
      *c = '\'';
  return g_strdup_printf ("399 keycall \"%s\"", clean);
}

/* In-dialog requests, either direction */

/* @why (may be NULL) goes to the controller in a Reason header. */
void
kc_cta_call_cancel_invite (KcCtaCall  *self,
                           guint       status,
                           const char *why)
{
  g_autofree char *reason = NULL;

  if (self->invite == NULL || self->got_final)
    return;
  if (why != NULL) {
    g_autofree char *clean = g_strdup (why);

    for (char *c = clean; *c != '\0'; c++)
      if (*c == '"' || *c == '\\' || (guchar) *c < 0x20)
        *c = '\'';
    reason = g_strdup_printf ("SIP;cause=%u;text=\"%s\"", status, clean);
  }
  nta_outgoing_tcancel (self->invite, NULL, NULL,
                        TAG_IF (reason != NULL, SIPTAG_REASON_STR (reason)), TAG_END ());
}

int
kc_cta_call_on_leg_request (void           *magic,
                            nta_leg_t      *leg,
                            nta_incoming_t *irq,
                            sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *reason = NULL;
  msg_t *msg = nta_incoming_getrequest (irq);

  kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0, 330, msg);
  msg_destroy (msg);

  if (sip->sip_request->rq_method == sip_method_ack)
    return 0;
  if (self->account == NULL || !kc_cta_account_check_peer (self->account, NULL, irq, &error)) {
    g_warning ("Call %s: refused %s: %s", self->call_id, sip->sip_request->rq_method_name,
               error ? error->message : "no account");
    nta_incoming_treply (irq, 403, "Only this phone's controller may send it requests",
                         TAG_END ());
    return 0;
  }

  switch (sip->sip_request->rq_method) {
  case sip_method_bye:
    nta_incoming_treply (irq, SIP_200_OK, SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT),
                         TAG_END ());
    if (self->irq != NULL && nta_incoming_status (self->irq) < 200) {
      self->final_sent = TRUE;
      nta_incoming_treply (self->irq, SIP_487_REQUEST_CANCELLED, TAG_END ());
    }
    kc_cta_call_cancel_invite (self, 0, NULL);
    text = kc_cta_sip_reason_text (sip);
    reason = g_strdup_printf ("%s%s%s%s", self->state == KC_CTA_CALL_STATE_ANSWERED
                              ? "remote hangup"
                              : "the controller ended the call before it was answered",
                              text ? " (" : "", text ? text : "", text ? ")" : "");
    kc_cta_call_finish (self, 200, reason);
    return 0;
  case sip_method_options:
    nta_incoming_treply (irq, SIP_200_OK, SIPTAG_ALLOW_STR (KC_CTA_ALLOW), TAG_END ());
    return 0;
  case sip_method_invite:
    /* Hold or resume: only the direction may change, never K. */
    kc_cta_call_hold_incoming (self, irq, sip);
    return 0;
  case sip_method_prack:
    return 481;
  default:
    nta_incoming_treply (irq, SIP_405_METHOD_NOT_ALLOWED, SIPTAG_ALLOW_STR (KC_CTA_ALLOW),
                         TAG_END ());
    return 0;
  }
}

guint
kc_cta_call_bye_end_status (guint    status,
                            gboolean answered)
{
  if (status >= 200 && status < 300)
    return 200;
  if (answered && (status == 481 || status == 408))
    return 200;
  return status;
}

static int
on_bye_response (void           *magic,
                 nta_outgoing_t *orq,
                 sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;
  guint end;

  if (status < 200)
    return 0;
  if (self->account != NULL)
    status = kc_cta_account_take_response (self->account, orq, sip, status, self->call_id, 330,
                                           &error);
  nta_outgoing_destroy (orq);
  self->bye = NULL;
  end = kc_cta_call_bye_end_status ((guint) status,
                                    self->state == KC_CTA_CALL_STATE_ANSWERED);
  if (status >= 200 && status < 300)
    reason = g_strdup ("local hangup");
  else if (end == 200 && status == 481)
    reason = g_strdup ("local hangup; the call had ended at the controller already (the BYE "
                       "got 481 Call/Transaction Does Not Exist)");
  else if (end == 200)
    reason = g_strdup_printf ("local hangup; the controller did not answer the BYE (%d %s)",
                              status, sip_status_phrase (status) ? sip_status_phrase (status)
                                                                 : "");
  else
    reason = g_strdup_printf ("local hangup; the BYE got %d %s", status,
                              error ? error->message : sip_status_phrase (status)
                              ? sip_status_phrase (status) : "");
  kc_cta_call_finish (self, end, reason);
  return 0;
}

void
kc_cta_call_send_bye (KcCtaCall *self)
{
  gint64 sent_at = g_get_real_time ();

  if (self->bye != NULL || self->leg == NULL || self->account == NULL)
    return;
  self->bye = nta_outgoing_tcreate (self->leg, on_bye_response, self,
                                    URL_STRING_MAKE (kc_cta_account_get_route (self->account)),
                                    SIP_METHOD_BYE,
                                    self->request_uri ? URL_STRING_MAKE (self->request_uri)
                                                      : NULL,
                                    SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
  if (self->bye == NULL) {
    kc_cta_call_finish (self, 500, "hung up here, but the BYE could not be sent");
    return;
  }
  kc_cta_call_emit_tx (self, self->bye, 330, sent_at);
  kc_cta_call_start_hangup_timer (self);
}

void
kc_cta_call_sip_hangup (KcCtaCall *self)
{
  if (self->direction == KC_CTA_CALL_INCOMING) {
    if (self->state == KC_CTA_CALL_STATE_ANSWERED)
      kc_cta_call_send_bye (self);
    else
      kc_cta_call_sip_reject (self, 603, "Decline", NULL);
    return;
  }
  if (self->state == KC_CTA_CALL_STATE_ANSWERED || self->got_final) {
    kc_cta_call_send_bye (self);
    return;
  }
  kc_cta_call_cancel_invite (self, 0, NULL);
  kc_cta_call_start_hangup_timer (self);
}

/* Delivery "separate" */

void
kc_cta_call_delivery_done (KcCtaCall     *self,
                           KcCtaDelivery *delivery)
{
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  gint64 sent;

  if (kc_cta_call_state_is_final (self->state) || self->state != KC_CTA_CALL_STATE_KEY_RECEIVED)
    return;
  if (kc_cta_delivery_get_state (delivery) != KC_CTA_DELIVERY_CONFIRMED) {
    const char *why = kc_cta_delivery_get_failure (delivery);

    kc_cta_call_emit_key_failure (self, self->direction == KC_CTA_CALL_OUTGOING ? 328 : 322,
                                  why);
    if (self->direction == KC_CTA_CALL_OUTGOING)
      kc_cta_call_fail_outgoing (self, 488, why);
    else
      kc_cta_call_sip_reject (self, 488, "No Usable Call Key", why);
    return;
  }
  kc_cta_delivery_get_times (delivery, &sent, &self->ack_confirmed_time);
  g_object_notify (G_OBJECT (self), "ack-confirmed-time");
  kc_cta_call_note_ack_confirmed (self);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED);
  if (self->direction == KC_CTA_CALL_OUTGOING) {
    if (self->remote_ringing)
      kc_cta_call_set_state (self, KC_CTA_CALL_STATE_RINGING);
    return;
  }
  kc_cta_call_sip_ring (self);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_RINGING);
  if (self->answer_pending && self->state == KC_CTA_CALL_STATE_RINGING)
    kc_cta_call_sip_answer (self);
}

/* Release */

void
kc_cta_call_release (KcCtaCall *self)
{
  if (self->key_prack != NULL)
    nta_outgoing_destroy (self->key_prack);
  self->key_prack = NULL;
  if (self->reinvite != NULL)
    nta_outgoing_destroy (self->reinvite);
  self->reinvite = NULL;
  if (self->bye != NULL)
    nta_outgoing_destroy (self->bye);
  self->bye = NULL;
  if (self->invite != NULL)
    nta_outgoing_destroy (self->invite);
  self->invite = NULL;
  if (self->rel != NULL)
    nta_reliable_destroy (self->rel);
  self->rel = NULL;
  if (self->irq != NULL) {
    self->final_sent = TRUE;
    if (nta_incoming_status (self->irq) < 200)
      nta_incoming_treply (self->irq, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END ());
    nta_incoming_destroy (self->irq);
  }
  self->irq = NULL;
  g_clear_pointer (&self->leg, nta_leg_destroy);
  /* The delivery holds the call: drop it, and the key waiting in it. */
  if (self->separate && self->account != NULL) {
    self->separate = FALSE;
    kc_cta_account_drop_delivery (self->account, self->call_id);
  }
}
