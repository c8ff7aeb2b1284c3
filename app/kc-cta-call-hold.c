/* kc-cta-call-hold.c: hold and resume (docs/protocol.md, "Hold and
 * resume"): our re-INVITE (a=sendonly to hold, a=sendrecv to resume) and
 * the peer's, which the controllers pass on. Only the direction changes:
 * the codec, the SRTP suite and the stream's ports stay, and so does K, so
 * no key line is ever sent, and one received is refused (488).
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-call-private.h"
#include "kc-error.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

/* Replies to the peer's re-INVITE and logs the response (sip-tx), then
 * lets the transaction go (nta keeps a 2xx going until its ACK). */
static void
reply_reinvite (KcCtaCall      *self,
                nta_incoming_t *irq,
                int             status,
                const char     *phrase,
                const char     *warning,
                const char     *sdp)
{
  gint64 sent_at = g_get_real_time ();
  msg_t *msg;

  nta_incoming_treply (irq, status, phrase,
                       TAG_IF (status < 300 && self->account != NULL,
                               SIPTAG_CONTACT_STR (self->account
                                                   ? kc_cta_account_get_contact (self->account)
                                                   : NULL)),
                       TAG_IF (warning != NULL, SIPTAG_WARNING_STR (warning)),
                       TAG_IF (sdp != NULL, SIPTAG_CONTENT_TYPE_STR ("application/sdp")),
                       TAG_IF (sdp != NULL, SIPTAG_PAYLOAD_STR (sdp)),
                       SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
  msg = nta_incoming_getresponse (irq);
  if (msg != NULL) {
    kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, 0, msg);
    msg_destroy (msg);
  }
  nta_incoming_destroy (irq);
}

static void
send_ack (KcCtaCall   *self,
          sip_t const *sip)
{
  gint64 sent_at = g_get_real_time ();
  nta_outgoing_t *ack;

  if (self->leg == NULL || self->account == NULL)
    return;
  ack = nta_outgoing_tcreate (self->leg, NULL, NULL,
                              URL_STRING_MAKE (kc_cta_account_get_route (self->account)),
                              SIP_METHOD_ACK,
                              self->request_uri ? URL_STRING_MAKE (self->request_uri) : NULL,
                              SIPTAG_CSEQ (sip->sip_cseq), TAG_END ());
  if (ack == NULL) {
    g_warning ("Call %s: cannot send the ACK of the re-INVITE", self->call_id);
    return;
  }
  kc_cta_call_emit_tx (self, ack, 0, sent_at);
  nta_outgoing_destroy (ack);
}

static char *
failure_message (gboolean    hold,
                 int         status,
                 const char *phrase)
{
  const char *what = hold ? "Hold" : "Resume";

  switch (status) {
  case 491:
  case 500:
    return g_strdup_printf ("%s did not happen: the other side was changing the call at the "
                            "same time (%d %s); try again", what, status, phrase);
  case 408:
    return g_strdup_printf ("%s did not happen: no answer from the other side (%d %s)", what,
                            status, phrase);
  default:
    return g_strdup_printf ("%s did not happen: %d %s", what, status, phrase);
  }
}

static int
on_reinvite_response (void           *magic,
                      nta_outgoing_t *orq,
                      sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) keep = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) answer = NULL;
  g_autofree char *message = NULL;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;
  const char *phrase = sip != NULL && sip->sip_status != NULL && sip->sip_status->st_phrase
                       ? sip->sip_status->st_phrase : "Request Timeout";
  gboolean hold = self->hold_wanted;

  if (status < 200)
    return 0;
  if (self->account != NULL)
    status = kc_cta_account_take_response (self->account, orq, sip, status, self->call_id, 0,
                                           &error);
  nta_outgoing_destroy (orq);
  self->reinvite = NULL;
  if (status >= 200 && status < 300 && sip != NULL) {
    send_ack (self, sip);
    answer = kc_cta_call_media_read_update (self, sip->sip_payload ? sip->sip_payload->pl_data
                                                                   : NULL,
                                            sip->sip_payload ? sip->sip_payload->pl_len : 0,
                                            &error);
    if (answer == NULL)
      message = g_strdup_printf ("%s did not happen: the answer is unusable: %s",
                                 hold ? "Hold" : "Resume", error->message);
  }
  else if (error != NULL)
    message = g_strdup_printf ("%s did not happen: %s", hold ? "Hold" : "Resume",
                               error->message);
  else
    message = failure_message (hold, status, phrase);

  if (kc_cta_call_state_is_final (self->state)) {
    kc_cta_call_notify_hold_pending (self);
    return 0;
  }
  if (answer != NULL) {
    g_debug ("Call %s: %s, the peer answered %s", self->call_id, hold ? "held" : "resumed",
             kc_sdp_direction_to_string (answer->direction));
    kc_cta_call_set_hold_state (self, hold, !kc_sdp_direction_receives (answer->direction));
    kc_cta_call_notify_hold_pending (self);
    return 0;
  }
  g_message ("Call %s: %s", self->call_id, message);
  kc_cta_call_notify_hold_pending (self);
  kc_cta_call_emit_hold_failed (self, message);
  return 0;
}

gboolean
kc_cta_call_hold (KcCtaCall *self,
                  gboolean   hold,
                  GError   **error)
{
  g_autofree char *sdp = NULL;
  KcCtaAccount *account;
  gint64 sent_at;

  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  hold = !!hold;
  if (self->state != KC_CTA_CALL_STATE_ANSWERED || self->hanging_up || self->bye != NULL
      || self->leg == NULL || self->account == NULL || self->media == NULL
      || self->remote_media == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED,
                 "Only an answered call with audio can be put on hold or resumed");
    return FALSE;
  }
  if (self->reinvite != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "The call is being %s already; wait for the other side's answer",
                 self->hold_wanted ? "put on hold" : "resumed");
    return FALSE;
  }
  if (self->held == hold)
    return TRUE;

  self->sdp_version = MAX (self->sdp_version, self->sdp_session) + 1;
  sdp = kc_cta_call_media_sdp (self, hold ? KC_SDP_SENDONLY : KC_SDP_SENDRECV, NULL);
  sent_at = g_get_real_time ();
  account = self->account;
  self->reinvite = nta_outgoing_tcreate (self->leg, on_reinvite_response, self,
                                         URL_STRING_MAKE (kc_cta_account_get_route (account)),
                                         SIP_METHOD_INVITE,
                                         self->request_uri ? URL_STRING_MAKE (self->request_uri)
                                                           : NULL,
                                         SIPTAG_CONTACT_STR (kc_cta_account_get_contact (account)),
                                         SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT),
                                         SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                                         SIPTAG_PAYLOAD_STR (sdp),
                                         TAG_END ());
  if (self->reinvite == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "The re-INVITE could not be sent");
    return FALSE;
  }
  self->hold_wanted = hold;
  kc_cta_call_emit_tx (self, self->reinvite, 0, sent_at);
  kc_cta_call_notify_hold_pending (self);
  return TRUE;
}

void
kc_cta_call_hold_incoming (KcCtaCall      *self,
                           nta_incoming_t *irq,
                           sip_t const    *sip)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) offer = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *warning = NULL;
  KcSdpDirection direction;

  if (self->state != KC_CTA_CALL_STATE_ANSWERED || self->reinvite != NULL) {
    /* RFC 3261 section 14.2: our own INVITE is pending (the initial one
     * before the answer, or our re-INVITE: glare). */
    reply_reinvite (self, irq, SIP_491_REQUEST_PENDING, NULL, NULL);
    return;
  }
  if (kc_cta_sip_unknown_header (sip, KC_CTA_KEY_HEADER) != NULL)
    g_set_error (&error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The re-INVITE carries a key: the call key never changes inside a call");
  else
    offer = kc_cta_call_media_read_update (self,
                                           sip->sip_payload ? sip->sip_payload->pl_data : NULL,
                                           sip->sip_payload ? sip->sip_payload->pl_len : 0,
                                           &error);
  if (offer == NULL) {
    g_message ("Call %s: refused a re-INVITE: %s", self->call_id, error->message);
    warning = kc_cta_sip_quoted (error->message);
    reply_reinvite (self, irq, 488, "Not Acceptable Here", warning, NULL);
    return;
  }
  direction = kc_sdp_direction_answer (offer->direction, self->held);
  self->sdp_version = MAX (self->sdp_version, self->sdp_session) + 1;
  answer = kc_cta_call_media_sdp (self, direction, NULL);
  reply_reinvite (self, irq, SIP_200_OK, NULL, answer);
  g_debug ("Call %s: the peer offered %s, answered %s", self->call_id,
           kc_sdp_direction_to_string (offer->direction), kc_sdp_direction_to_string (direction));
  kc_cta_call_set_hold_state (self, self->held, !kc_sdp_direction_receives (offer->direction));
}
