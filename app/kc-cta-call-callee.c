/* kc-cta-call-callee.c: the callee's (B's) side of a call.
 *
 * The INVITE carries KEY (320); B answers with a reliable 180 whose SDP
 * carries its acknowledgment (322); the controller's PRACK confirms it,
 * and only then does the phone ring. An INVITE with a missing, malformed
 * or wrong kind of key is refused with 488 and a Warning saying why.
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

/* Callee (B) */

static char *
sdp_answer (KcCtaCall  *self,
            const char *key_mgmt)
{
  return kc_cta_call_media_answer (self, key_mgmt);
}

static int
on_prack (void           *magic,
          nta_reliable_t *rel,
          nta_incoming_t *prack,
          sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  msg_t *msg;

  if (prack == NULL) {
    /* No PRACK in time (or our final response flushed the 180). */
    if (!self->final_sent && !kc_cta_call_state_is_final (self->state)
        && self->state != KC_CTA_CALL_STATE_ANSWERED) {
      kc_cta_call_emit_key_failure (self, 322,
                                    "the controller never confirmed our key acknowledgment");
      kc_cta_call_finish (self, 504, "The controller never confirmed our key acknowledgment "
                          "(no PRACK for the 180)");
    }
    return 200;
  }

  msg = nta_incoming_getrequest (prack);
  kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0, 322, msg);
  msg_destroy (msg);
  if (self->account == NULL || !kc_cta_account_check_peer (self->account, NULL, prack, &error)) {
    g_warning ("Call %s: PRACK refused: %s", self->call_id, error ? error->message : "closed");
    return 403;
  }
  if (self->state != KC_CTA_CALL_STATE_KEY_RECEIVED)
    return 200;
  kc_cta_call_note_ack_confirmed (self);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_RINGING);
  if (self->answer_pending && self->state == KC_CTA_CALL_STATE_RINGING)
    kc_cta_call_sip_answer (self);
  return 200;
}

static int
on_invite_ack_cancel (void           *magic,
                      nta_incoming_t *irq,
                      sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) hold = g_object_ref (self);

  if (sip == NULL) {
    /* Our 200 was never ACKed (or the transaction timed out). */
    if (self->state == KC_CTA_CALL_STATE_ANSWERED) {
      kc_cta_call_send_bye (self);
      kc_cta_call_finish (self, 408, "the controller never ACKed our answer");
    }
    return 0;
  }
  if (sip->sip_request->rq_method == sip_method_cancel) {
    msg_t *msg = nta_incoming_getrequest_ackcancel (irq);
    g_autofree char *text = NULL;
    g_autofree char *reason = NULL;

    kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0, 0, msg);
    msg_destroy (msg);
    self->final_sent = TRUE;
    if (nta_incoming_status (irq) < 200)
      nta_incoming_treply (irq, SIP_487_REQUEST_CANCELLED, TAG_END ());
    text = kc_cta_sip_reason_text (sip);
    reason = g_strdup_printf ("cancelled by the caller or the controller%s%s%s",
                              text ? " (" : "", text ? text : "", text ? ")" : "");
    kc_cta_call_finish (self, 487, reason);
  }
  return 0;
}

/* Delivery "separate": the key came before the INVITE, in a MESSAGE (320),
 * and our acknowledgment went back in another (322). */
static void
take_delivered_key (KcCtaCall     *self,
                    KcCtaDelivery *delivery,
                    const char    *origin)
{
  KcSecret *key;
  KcKeyId key_id;
  gboolean derived;

  self->separate = TRUE;
  kc_cta_delivery_attach (delivery, self);
  key = kc_cta_delivery_copy_key (delivery, &key_id, &derived);
  kc_cta_call_take_key (self, key, &key_id, FALSE);
  /* The key MESSAGE names the origin; an INVITE's name is a fallback. */
  if (kc_cta_delivery_get_key_origin (delivery) != NULL)
    kc_cta_call_set_key_origin (self, kc_cta_delivery_get_key_origin (delivery));
  else
    kc_cta_call_set_key_origin (self, origin);
  kc_cta_delivery_get_times (delivery, &self->ack_sent_time, &self->ack_confirmed_time);
  g_object_notify (G_OBJECT (self), "ack-sent-time");
  /* Its key events went out with the MESSAGE (kc-cta-separate.c). */
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_RECEIVED);
  /* Unless the controller has yet to answer our acknowledgment. */
  if (kc_cta_delivery_get_state (delivery) != KC_CTA_DELIVERY_ACK_SENT)
    kc_cta_call_delivery_done (self, delivery);
}

void
kc_cta_call_sip_ring (KcCtaCall *self)
{
  gint64 sent_at = g_get_real_time ();
  msg_t *msg;

  if (self->irq == NULL || nta_incoming_status (self->irq) >= 200)
    return;
  nta_incoming_treply (self->irq, SIP_180_RINGING,
                       SIPTAG_CONTACT_STR (kc_cta_account_get_contact (self->account)),
                       SIPTAG_ALLOW_STR (KC_CTA_ALLOW),
                       SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
  msg = nta_incoming_getresponse (self->irq);
  kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, 0, msg);
  msg_destroy (msg);
}

gboolean
kc_cta_call_sip_accept (KcCtaCall      *self,
                        nta_incoming_t *irq,
                        sip_t const    *sip)
{
  const char *call = kc_cta_sip_unknown_header (sip, KC_CTA_CALL_HEADER);

  self->irq = irq;
  self->peer_number = g_strdup (sip->sip_from && sip->sip_from->a_url->url_user
                                ? sip->sip_from->a_url->url_user : "anonymous");
  if (sip->sip_from && sip->sip_from->a_display && *sip->sip_from->a_display != '\0') {
    g_autofree char *display = g_strdup (sip->sip_from->a_display);

    self->peer_name = g_strdup (g_strstrip (g_strdelimit (display, "\"", ' ')));
  }
  /* The key and the acknowledgments are bound to A's Call-ID, which the
   * controllers carry in Keycall-Call since their legs have their own. */
  self->call_id = g_strdup (call != NULL && *call != '\0' ? call : sip->sip_call_id->i_id);

  self->leg = nta_leg_tcreate (kc_cta_account_get_agent (self->account),
                               kc_cta_call_on_leg_request, self,
                               SIPTAG_CALL_ID (sip->sip_call_id),
                               SIPTAG_FROM (sip->sip_to), SIPTAG_TO (sip->sip_from),
                               NTATAG_REMOTE_CSEQ (sip->sip_cseq->cs_seq), TAG_END ());
  if (self->leg == NULL || nta_leg_tag (self->leg, NULL) == NULL) {
    nta_incoming_treply (irq, SIP_500_INTERNAL_SERVER_ERROR, TAG_END ());
    self->irq = NULL;
    return FALSE;
  }
  nta_leg_server_route (self->leg, sip->sip_record_route, sip->sip_contact);
  nta_incoming_tag (irq, nta_leg_get_tag (self->leg));
  nta_incoming_bind (irq, on_invite_ack_cancel, self);
  return TRUE;
}

void
kc_cta_call_sip_invite_in (KcCtaCall   *self,
                           sip_t const *sip)
{
  const char *number = kc_cta_account_get_number (self->account);
  const char *user = sip->sip_request->rq_url->url_user;
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *sdp = NULL;
  g_autofree char *warning = NULL;
  /* Our controller's word only: see kc_cta_call_set_key_origin(). */
  g_autofree char *origin
    = kc_cta_key_origin_parse (kc_cta_sip_unknown_header (sip, KC_CTA_KEY_ORIGIN_HEADER));
  KcCtaDelivery *delivery;
  KcSecret *key;
  char *ack;
  msg_t *msg;
  gint64 sent_at;

  if (user != NULL && g_strcmp0 (user, number) != 0) {
    reason = g_strdup_printf ("The INVITE is for %s; this phone is %s", user, number);
    kc_cta_call_sip_reject (self, 404, "Not This Phone", reason);
    return;
  }
  if (!sip_has_feature (sip->sip_supported, "100rel")
      && !sip_has_feature (sip->sip_require, "100rel")) {
    self->final_sent = TRUE;
    nta_incoming_treply (self->irq, SIP_421_EXTENSION_REQUIRED, SIPTAG_REQUIRE_STR ("100rel"),
                         TAG_END ());
    kc_cta_call_finish (self, 421, "The INVITE does not support 100rel; the key "
                        "acknowledgment needs a reliable 180");
    return;
  }
  if (sip->sip_payload != NULL && (sip->sip_content_type == NULL
      || g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") != 0)) {
    kc_cta_call_sip_reject (self, 415, NULL, "Keycall calls carry application/sdp only");
    return;
  }
  if (!kc_cta_call_media_take_offer (self, sip->sip_payload ? sip->sip_payload->pl_data : NULL,
                                     sip->sip_payload ? sip->sip_payload->pl_len : 0, &error)) {
    g_autofree char *why = g_strdup_printf ("The SDP offer is unusable: %s", error->message);

    kc_cta_call_sip_reject (self, 488, "Not Acceptable Here", why);
    return;
  }

  mgmt = kc_cta_key_mgmt_find ("the INVITE",
                               sip->sip_payload ? sip->sip_payload->pl_data : NULL,
                               sip->sip_payload ? sip->sip_payload->pl_len : 0,
                               kc_cta_sip_unknown_header (sip, KC_CTA_KEY_HEADER), &error);
  if (mgmt == NULL && g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND)
      && (delivery = kc_cta_account_find_delivery (self->account, self->call_id)) != NULL) {
    take_delivered_key (self, delivery, origin);
    return;
  }
  key = mgmt != NULL ? kc_cta_key_accept (mgmt, KC_CTA_SIDE_CALLEE, NULL, self->call_id, NULL,
                                          &error)
                     : NULL;
  if (key == NULL) {
    kc_cta_call_emit_key_failure (self, 320, error->message);
    kc_cta_call_sip_reject (self, 488, "No Usable Call Key", error->message);
    return;
  }
  kc_cta_call_take_key (self, key, &mgmt->key_id, FALSE);
  kc_cta_call_set_key_origin (self, origin);

  ack = kc_cta_key_ack_value (self->key, &self->key_id, self->call_id, KC_CTA_SIDE_CALLEE,
                              &error);
  if (ack == NULL) {
    kc_cta_call_sip_reject (self, 500, NULL, error->message);
    return;
  }
  sdp = sdp_answer (self, ack);
  kc_secret_text_free (ack);
  /* The key received and our acknowledgment, then the 180 carrying it. */
  kc_cta_call_emit_key_events (self, 320, 322);
  sent_at = g_get_real_time ();
  self->rel = nta_reliable_treply (self->irq, on_prack, self, SIP_180_RINGING,
                                   SIPTAG_CONTACT_STR (kc_cta_account_get_contact (self->account)),
                                   SIPTAG_ALLOW_STR (KC_CTA_ALLOW),
                                   SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT),
                                   SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                                   SIPTAG_PAYLOAD_STR (sdp), TAG_END ());
  if (self->rel == NULL) {
    kc_cta_call_sip_reject (self, 500, NULL, "Cannot send the reliable 180");
    return;
  }
  msg = nta_incoming_getresponse (self->irq);
  kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, 322, msg);
  msg_destroy (msg);
  kc_cta_call_note_ack_sent (self);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_RECEIVED);
}

void
kc_cta_call_sip_answer (KcCtaCall *self)
{
  g_autofree char *sdp = NULL;
  gint64 sent_at;
  msg_t *msg;

  self->answer_pending = FALSE;
  if (self->irq == NULL || nta_incoming_status (self->irq) >= 200)
    return;
  /* The answer again, without the key line (330). */
  sdp = sdp_answer (self, NULL);
  self->final_sent = TRUE;
  sent_at = g_get_real_time ();
  nta_incoming_treply (self->irq, SIP_200_OK,
                       SIPTAG_CONTACT_STR (kc_cta_account_get_contact (self->account)),
                       SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT),
                       SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                       SIPTAG_PAYLOAD_STR (sdp), TAG_END ());
  msg = nta_incoming_getresponse (self->irq);
  kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, 330, msg);
  msg_destroy (msg);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_ANSWERED);
}

void
kc_cta_call_sip_reject (KcCtaCall  *self,
                        guint       status,
                        const char *phrase,
                        const char *warning)
{
  g_autofree char *value = warning != NULL ? kc_cta_sip_quoted (warning) : NULL;
  g_autofree char *reason = NULL;

  if (phrase == NULL)
    phrase = sip_status_phrase ((int) status) ? sip_status_phrase ((int) status) : "Refused";
  if (self->irq != NULL && nta_incoming_status (self->irq) < 200) {
    gint64 sent_at = g_get_real_time ();
    msg_t *msg;

    self->final_sent = TRUE;
    nta_incoming_treply (self->irq, (int) status, phrase,
                         TAG_IF (value != NULL, SIPTAG_WARNING_STR (value)),
                         SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
    msg = nta_incoming_getresponse (self->irq);
    kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, 0, msg);
    msg_destroy (msg);
  }
  reason = warning != NULL ? g_strdup (warning) : g_strdup_printf ("%s (refused here)", phrase);
  kc_cta_call_finish (self, status, reason);
}
