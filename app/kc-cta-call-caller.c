/* kc-cta-call-caller.c: the caller's (A's) side of a call.
 *
 * INVITE without a key (316); the controller's reliable 183 carries KEY or
 * DERIVE (326); A takes K, deriving it from its signaling secret for
 * DERIVE, and PRACKs with its acknowledgment in a Keycall-Key-Mgmt header
 * (328); the 200 to that PRACK confirms it, and only then may the call
 * ring and be answered.
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

static void
send_ack (KcCtaCall   *self,
          sip_t const *sip)
{
  gint64 sent_at = g_get_real_time ();
  nta_outgoing_t *ack;

  ack = nta_outgoing_tcreate (self->leg, NULL, NULL,
                              URL_STRING_MAKE (kc_cta_account_get_route (self->account)),
                              SIP_METHOD_ACK, URL_STRING_MAKE (self->request_uri),
                              SIPTAG_CSEQ (sip->sip_cseq), TAG_END ());
  if (ack == NULL) {
    g_warning ("Call %s: cannot send the ACK", self->call_id);
    return;
  }
  kc_cta_call_emit_tx (self, ack, 330, sent_at);
  nta_outgoing_destroy (ack);
}

void
kc_cta_call_fail_outgoing (KcCtaCall  *self,
                           guint       status,
                           const char *reason)
{
  g_warning ("Call to %s: %s", self->peer_number, reason);
  kc_cta_call_cancel_invite (self, status, reason);
  kc_cta_call_finish (self, status, reason);
}

static int
on_key_prack_response (void           *magic,
                       nta_outgoing_t *orq,
                       sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;

  if (status < 200)
    return 0;
  if (self->account != NULL)
    status = kc_cta_account_take_response (self->account, orq, sip, status, self->call_id, 328,
                                           &error);
  if (status >= 300) {
    g_autofree char *why = error ? g_strdup (error->message) : kc_cta_sip_reason (sip, status);

    reason = g_strdup_printf ("The controller refused our key acknowledgment: %d %s", status,
                              why);
  }
  /* This frees the response: @sip is not to be used after it. */
  nta_outgoing_destroy (orq);
  sip = NULL;
  self->key_prack = NULL;
  if (kc_cta_call_state_is_final (self->state))
    return 0;

  if (status >= 200 && status < 300) {
    kc_cta_call_note_ack_confirmed (self);
    kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED);
    if (self->remote_ringing)
      kc_cta_call_set_state (self, KC_CTA_CALL_STATE_RINGING);
    return 0;
  }
  kc_cta_call_emit_key_failure (self, 328, reason);
  kc_cta_call_fail_outgoing (self, status, reason);
  return 0;
}

static gboolean
send_prack (KcCtaCall   *self,
            sip_t const *sip,
            const char  *key_header)
{
  nta_outgoing_t *prack;
  sip_rack_t rack[1];
  gint64 sent_at;

  sip_rack_init (rack);
  rack->ra_response = sip->sip_rseq->rs_response;
  rack->ra_cseq = sip->sip_cseq->cs_seq;
  rack->ra_method = sip->sip_cseq->cs_method;
  rack->ra_method_name = sip->sip_cseq->cs_method_name;

  /* Built here rather than with nta_outgoing_prack(), which has no room
   * for our header's purpose and adds a Route to the Contact. */
  sent_at = g_get_real_time ();
  prack = nta_outgoing_tcreate (self->leg, key_header ? on_key_prack_response : NULL,
                                key_header ? self : NULL,
                                URL_STRING_MAKE (kc_cta_account_get_route (self->account)),
                                SIP_METHOD_PRACK, URL_STRING_MAKE (self->request_uri),
                                SIPTAG_RACK (rack),
                                TAG_IF (key_header != NULL, SIPTAG_HEADER_STR (key_header)),
                                SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
  if (prack == NULL)
    return FALSE;
  self->rseq = rack->ra_response;
  nta_outgoing_setrseq (self->invite, self->rseq);
  kc_cta_call_emit_tx (self, prack, key_header ? 328 : 0, sent_at);
  if (key_header != NULL)
    self->key_prack = prack;
  return TRUE;
}

/* 326: K (or its nonce) in the controller's reliable 183; answer with 328. */
static void
take_caller_key (KcCtaCall   *self,
                 sip_t const *sip,
                 KcKeyMgmt   *mgmt)
{
  const KcProfile *profile = kc_cta_account_get_profile (self->account);
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *header = NULL;
  KcSecret *key;
  char *ack;
  gboolean derived;

  if (sip->sip_rseq == NULL) {
    kc_cta_call_fail_outgoing (self, 488, "The key came in a provisional response that is not "
                               "reliable (no RSeq): Keycall acknowledges keys in a PRACK");
    return;
  }
  key = kc_cta_key_accept (mgmt, KC_CTA_SIDE_CALLER, profile->signaling_secret, self->call_id,
                           &derived, &error);
  if (key == NULL) {
    reason = g_strdup_printf ("The key in the %d %s is unusable: %s",
                              sip->sip_status->st_status, sip->sip_status->st_phrase,
                              error->message);
    kc_cta_call_emit_key_failure (self, 326, reason);
    kc_cta_call_fail_outgoing (self, 488, reason);
    return;
  }
  kc_cta_call_take_key (self, key, &mgmt->key_id, derived);
  /* Our controller is the source: it made K (408). */
  kc_cta_call_set_key_origin (self, self->account != NULL
                              ? kc_cta_account_get_controller_name (self->account) : NULL);
  ack = kc_cta_key_ack_value (self->key, &self->key_id, self->call_id, KC_CTA_SIDE_CALLER,
                              &error);
  if (ack != NULL) {
    header = kc_cta_key_header_line (ack, &error);
    kc_secret_text_free (ack);
  }
  if (header == NULL) {
    reason = g_strdup_printf ("Cannot acknowledge the key: %s", error->message);
    kc_cta_call_fail_outgoing (self, 500, reason);
    return;
  }
  /* The key received and our acknowledgment, then the PRACK carrying it. */
  kc_cta_call_emit_key_events (self, 326, 328);
  if (!send_prack (self, sip, header)) {
    kc_cta_call_fail_outgoing (self, 500, "Cannot acknowledge the key: the PRACK could not "
                               "be sent");
    return;
  }
  kc_cta_call_note_ack_sent (self);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_RECEIVED);
}

/* The callee's SDP answer, in whichever response carries one (the 183 of
 * 326, a reliable 180, the 200). FALSE when it is unusable: the call has
 * been ended. */
static gboolean
take_answer (KcCtaCall   *self,
             sip_t const *sip)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;

  if (sip->sip_payload == NULL || sip->sip_payload->pl_len == 0 || sip->sip_content_type == NULL
      || g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") != 0)
    return TRUE;
  if (kc_cta_call_media_take_answer (self, sip->sip_payload->pl_data, sip->sip_payload->pl_len,
                                     &error))
    return TRUE;
  reason = g_strdup_printf ("The SDP answer is unusable: %s", error->message);
  if (sip->sip_status->st_status >= 200) {
    kc_cta_call_send_bye (self);
    kc_cta_call_finish (self, 488, reason);
  } else {
    kc_cta_call_fail_outgoing (self, 488, reason);
  }
  return FALSE;
}

static void
handle_provisional (KcCtaCall   *self,
                    sip_t const *sip)
{
  int status = sip->sip_status->st_status;
  gboolean reliable = sip->sip_rseq != NULL;
  const char *header = kc_cta_sip_unknown_header (sip, KC_CTA_KEY_HEADER);
  const char *body = sip->sip_payload ? sip->sip_payload->pl_data : NULL;
  gsize body_len = sip->sip_payload ? sip->sip_payload->pl_len : 0;
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *what = NULL;

  if (sip->sip_to != NULL && sip->sip_to->a_tag != NULL) {
    if (nta_leg_get_rtag (self->leg) == NULL)
      nta_leg_rtag (self->leg, sip->sip_to->a_tag);
    nta_leg_client_route (self->leg, sip->sip_record_route, sip->sip_contact);
  }
  if (reliable && self->rseq != 0 && sip->sip_rseq->rs_response <= self->rseq)
    return;    /* a retransmission we already PRACKed */
  if (!take_answer (self, sip))
    return;

  if (self->state == KC_CTA_CALL_STATE_CALLING) {
    what = g_strdup_printf ("the %d %s", status, sip->sip_status->st_phrase);
    mgmt = kc_cta_key_mgmt_find (what, body, body_len, header, &error);
    if (mgmt != NULL) {
      take_caller_key (self, sip, mgmt);
      return;
    }
    if (!g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND)) {
      kc_cta_call_emit_key_failure (self, 326, error->message);
      kc_cta_call_fail_outgoing (self, 488, error->message);
      return;
    }
  }

  if (reliable && !send_prack (self, sip, NULL))
    g_warning ("Call %s: cannot PRACK the %d", self->call_id, status);
  if (status == 180 || status == 182) {
    /* Ringing counts only once both acknowledgments are in (after 328). */
    if (self->state == KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED)
      kc_cta_call_set_state (self, KC_CTA_CALL_STATE_RINGING);
    else
      self->remote_ringing = TRUE;
  }
}

static int
on_invite_response (void           *magic,
                    nta_outgoing_t *orq,
                    sip_t const    *sip)
{
  KcCtaCall *self = magic;
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;
  gboolean internal = sip == NULL || nta_sip_is_internal (sip);

  if (self->account == NULL)
    return 0;
  if (!internal) {
    msg_t *msg = nta_outgoing_getresponse (orq);

    kc_cta_call_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0,
                          status == 183 ? 326 : status >= 200 ? 330 : 0, msg);
    msg_destroy (msg);
    if (status != 100 && !kc_cta_account_check_peer (self->account, orq, NULL, &error)) {
      /* Use nothing from it; just stop the transaction. */
      if (status >= 200 && status < 300)
        send_ack (self, sip);
      self->got_final = status >= 200;
      kc_cta_call_fail_outgoing (self, 403, error->message);
      return 0;
    }
  }
  if (status == 100)
    return 0;

  if (status < 200) {
    if (!kc_cta_call_state_is_final (self->state))
      handle_provisional (self, sip);
    return 0;
  }

  if (status < 300) {
    if (sip->sip_to != NULL && sip->sip_to->a_tag != NULL && nta_leg_get_rtag (self->leg) == NULL)
      nta_leg_rtag (self->leg, sip->sip_to->a_tag);
    nta_leg_client_route (self->leg, sip->sip_record_route, sip->sip_contact);
    send_ack (self, sip);
    if (self->got_final)
      return 0;      /* a retransmitted 200: ACKed again, nothing else */
    self->got_final = TRUE;
    if (kc_cta_call_state_is_final (self->state) || self->hanging_up) {
      kc_cta_call_send_bye (self);
      return 0;
    }
    if (self->state != KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED
        && self->state != KC_CTA_CALL_STATE_RINGING) {
      /* No media may flow without a key both sides acknowledged. */
      kc_cta_call_send_bye (self);
      kc_cta_call_finish (self, 488, "The call was answered before its key was acknowledged");
      return 0;
    }
    if (!take_answer (self, sip))
      return 0;
    kc_cta_call_set_state (self, KC_CTA_CALL_STATE_ANSWERED);
    if (self->hanging_up)
      kc_cta_call_send_bye (self);
    return 0;
  }

  self->got_final = TRUE;
  if (self->local_hangup && status == 487)
    reason = g_strdup ("cancelled here");
  else
    reason = kc_cta_sip_reason (sip, status);
  kc_cta_call_finish (self, status, reason);
  return 0;
}

gboolean
kc_cta_call_sip_invite (KcCtaCall *self,
                        GError   **error)
{
  KcCtaAccount *account = self->account;
  const char *domain = kc_cta_account_get_domain (account);
  g_autofree char *to = g_strdup_printf ("<sips:%s@%s>", self->peer_number, domain);
  g_autofree char *sdp = NULL;
  g_autoptr(KcEvent) event = NULL;
  gint64 sent_at;

  self->request_uri = g_strdup_printf ("sips:%s@%s", self->peer_number, domain);
  self->call_id = g_uuid_string_random ();
  self->leg = nta_leg_tcreate (kc_cta_account_get_agent (account), kc_cta_call_on_leg_request, self,
                               SIPTAG_CALL_ID_STR (self->call_id),
                               SIPTAG_FROM_STR (kc_cta_account_get_aor (account)),
                               SIPTAG_TO_STR (to), TAG_END ());
  if (self->leg == NULL || nta_leg_tag (self->leg, NULL) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot set up a SIP dialog for the call");
    return FALSE;
  }
  sdp = kc_cta_call_media_offer (self, error);
  if (sdp == NULL)
    return FALSE;
  /* The step, then the INVITE: both before sofia-sip sends it (316). */
  if ((event = kc_cta_call_event_new (self, KC_EVENT_KIND_CALL_STATE, 316)) != NULL) {
    kc_event_set_summary_printf (event, "calling %s", self->peer_number);
    kc_event_set_attr (event, "state", "calling");
    kc_event_set_attr (event, "direction", "outgoing");
    kc_cta_call_emit (self, event);
  }
  sent_at = g_get_real_time ();
  self->invite = nta_outgoing_tcreate (self->leg, on_invite_response, self,
                                       URL_STRING_MAKE (kc_cta_account_get_route (account)),
                                       SIP_METHOD_INVITE, URL_STRING_MAKE (self->request_uri),
                                       SIPTAG_CONTACT_STR (kc_cta_account_get_contact (account)),
                                       SIPTAG_SUPPORTED_STR ("100rel"),
                                       SIPTAG_ALLOW_STR (KC_CTA_ALLOW),
                                       TAG_IF (kc_cta_account_get_direct_media (account),
                                               SIPTAG_HEADER_STR (KC_CTA_MEDIA_DIRECT_HEADER)),
                                       SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT),
                                       SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                                       SIPTAG_PAYLOAD_STR (sdp), TAG_END ());
  if (self->invite == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot send the INVITE to %s",
                 self->peer_number);
    return FALSE;
  }
  kc_cta_call_emit_tx (self, self->invite, 316, sent_at);
  return TRUE;
}

/* 326 in a MESSAGE (delivery "separate"): the account took the key and
 * sent our acknowledgment (328) already. */
void
kc_cta_call_delivery_key (KcCtaCall     *self,
                          KcCtaDelivery *delivery)
{
  g_autoptr(KcCtaCall) hold = g_object_ref (self);
  KcSecret *key;
  KcKeyId key_id;
  gboolean derived;

  if (self->state != KC_CTA_CALL_STATE_CALLING) {
    g_warning ("Call to %s: a second key, ignored", self->peer_number);
    return;
  }
  self->separate = TRUE;
  key = kc_cta_delivery_copy_key (delivery, &key_id, &derived);
  kc_cta_call_take_key (self, key, &key_id, derived);
  kc_cta_call_set_key_origin (self, self->account != NULL
                              ? kc_cta_account_get_controller_name (self->account) : NULL);
  if (kc_cta_delivery_get_state (delivery) == KC_CTA_DELIVERY_FAILED) {
    kc_cta_call_delivery_failed (self, kc_cta_delivery_get_failure (delivery));
    return;
  }
  /* Its key events went out with the MESSAGE (kc-cta-separate.c). */
  kc_cta_call_note_ack_sent (self);
  kc_cta_call_set_state (self, KC_CTA_CALL_STATE_KEY_RECEIVED);
}

void
kc_cta_call_delivery_failed (KcCtaCall  *self,
                             const char *reason)
{
  g_autoptr(KcCtaCall) hold = g_object_ref (self);

  if (self->state != KC_CTA_CALL_STATE_CALLING)
    return;
  kc_cta_call_emit_key_failure (self, 326, reason);
  kc_cta_call_fail_outgoing (self, 488, reason);
}
