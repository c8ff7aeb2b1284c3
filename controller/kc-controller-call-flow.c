/* kc-controller-call-flow.c: FIG. 3 on the wire, 318-330: the INVITE
 * onward with the key, the acknowledgments in reliable provisional
 * responses and PRACKs, the answer, and in-dialog requests both ways. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-call-private.h"
#include "kc-controller-call-dialog.h"

#include "kc-error.h"
#include "kc-li.h"
#include "kc-sdp-key.h"

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <string.h>

static int on_down_response (nta_outgoing_magic_t *magic, nta_outgoing_t *orq,
                             sip_t const *sip);
static int on_up_request (nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                          sip_t const *sip);
static int on_down_request (nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq,
                            sip_t const *sip);
static int on_up_cancel (nta_incoming_magic_t *magic, nta_incoming_t *irq, sip_t const *sip);
static int on_up_prack (nta_reliable_magic_t *magic, nta_reliable_t *rel, nta_incoming_t *irq,
                        sip_t const *sip);

/* In delivery mode "separate" the key arrows are MESSAGEs: the INVITE and
 * its provisional responses carry no FIG. 3 step then. */
static int
fig_invite (KcCall *call, int fig3)
{
  return kc_controller_get_config (call->ctrl)->delivery == KC_DELIVERY_SEPARATE ? 0 : fig3;
}

/* Downstream: INVITE 318/320 and its responses ------------------------------------ */

static void
send_invite_now (gpointer data)
{
  KcCall *call = data;
  KcController *ctrl = call->ctrl;
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  g_autofree char *from = g_strdup_printf ("<sips:%s@%s>", call->caller, config->domain);
  g_autofree char *to = g_strdup_printf ("<sips:%s@%s>", call->callee, config->domain);
  g_autofree char *call_header = g_strdup_printf ("%s: %s", KC_SIP_HEADER_CALL, call->id);
  g_autofree char *pai = g_strdup_printf ("P-Asserted-Identity: %s", from);
  g_autofree char *origin = kc_call_key_origin_header (call);
  char *value = NULL, *sdp = NULL;
  int fig3 = fig_invite (call, kc_call_fig_down_invite (call));
  gint64 sent_at;

  call->down_leg = nta_leg_tcreate (kc_controller_get_agent (ctrl), on_down_request,
                                    (nta_leg_magic_t *) call, SIPTAG_FROM_STR (from),
                                    SIPTAG_TO_STR (to), TAG_END ());
  if (call->down_leg == NULL) {
    kc_call_fail (call, 500, "Cannot create the outgoing call", NULL, NULL);
    return;
  }
  nta_leg_tag (call->down_leg, NULL);

  /* The source puts the key in; a destination passes the offer on as is. */
  if (call->source && config->delivery == KC_DELIVERY_SIGNALING) {
    if ((value = kc_keying_encode (call->keying, FALSE)) == NULL) {
      kc_call_fail (call, 500, "Cannot encode the key", NULL, NULL);
      return;
    }
    sdp = kc_sdp_with_key_mgmt (call->offer, value);
  }
  else
    sdp = g_strdup (call->offer);

  /* The step first, then the message, both before sofia-sip sends it. */
  if (config->delivery == KC_DELIVERY_SIGNALING)
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_SENT, fig3, call->down_lane, "%d key → %s", fig3,
                      call->down_lane);
  sent_at = g_get_real_time ();
  call->down_orq = nta_outgoing_tcreate (call->down_leg, on_down_response,
                                         (nta_outgoing_magic_t *) call,
                                         call->down_route ? URL_STRING_MAKE (call->down_route)
                                                          : NULL,
                                         SIP_METHOD_INVITE, URL_STRING_MAKE (call->down_uri),
                                         SIPTAG_CONTACT_STR (kc_controller_get_contact (ctrl)),
                                         SIPTAG_SUPPORTED_STR ("100rel"),
                                         SIPTAG_HEADER_STR (call_header),
                                         SIPTAG_HEADER_STR (pai),
                                         TAG_IF (origin != NULL, SIPTAG_HEADER_STR (origin)),
                                         SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                                         SIPTAG_PAYLOAD_STR (sdp),
                                         TAG_END ());
  if (value != NULL)
    kc_secret_text_free (value);
  kc_sip_text_free (sdp);
  if (call->down_orq == NULL) {
    kc_call_fail (call, 500, "Cannot send the INVITE onward", NULL, NULL);
    return;
  }
  kc_call_emit_request (call, fig3, call->down_lane, call->down_orq, sent_at);
  call->state = CALL_CALLING;
  if (!call->callee_acked)
    kc_call_start_ack_timer (call, !call->destination);
  kc_call_start_ring_timer (call);
}

static void
send_invite_gated (gpointer data)
{
  KcCall *call = data;

  if (call->state != CALL_ENDED)
    send_invite_now (call);
  kc_call_unref (call);
}

/* The INVITE (and the key in it) is built only when the gate lets it go:
 * nothing of the key waits in memory meanwhile. */
void
kc_call_send_invite (KcCall *call)
{
  KcControllerConfig *config = kc_controller_get_config (call->ctrl);
  g_autofree char *what = g_strdup_printf ("INVITE%s → %s",
                                           call->source && config->delivery
                                           == KC_DELIVERY_SIGNALING ? " + K" : "",
                                           call->down_lane);

  kc_call_gate (call, fig_invite (call, kc_call_fig_down_invite (call)), call->down_lane, what,
                send_invite_gated, (KcStepFunc) kc_call_unref, kc_call_ref (call));
}

/* The key-mgmt payload of a message: the SDP line, else the header. */
static gboolean
find_key_mgmt (sip_t const *sip, KcKeyMgmt **out, char **sdp_out, GError **error)
{
  g_autofree char *sdp = NULL;
  const char *header = NULL;

  *out = NULL;
  sdp = kc_sip_get_sdp (sip, error);
  if (sdp == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (sdp != NULL && !kc_sdp_find_key_mgmt (sdp, out, error)) {
    kc_sip_text_free (g_steal_pointer (&sdp));
    return FALSE;
  }
  if (*out == NULL) {
    if (!kc_sip_header_get (sip, KC_SIP_HEADER_KEY_MGMT, &header, error))
      return FALSE;
    if (header != NULL && (*out = kc_key_mgmt_parse (header, error)) == NULL)
      return FALSE;
  }
  if (sdp_out != NULL)
    *sdp_out = g_steal_pointer (&sdp);
  else
    kc_sip_text_free (g_steal_pointer (&sdp));
  return TRUE;
}

static void
down_dialog (KcCall *call, sip_t const *sip)
{
  nta_outgoing_t *tagged;

  if (call->down_tagged || sip->sip_to == NULL || sip->sip_to->a_tag == NULL)
    return;
  nta_leg_rtag (call->down_leg, sip->sip_to->a_tag);
  nta_leg_client_route (call->down_leg, sip->sip_record_route, sip->sip_contact);
  call->down_tagged = TRUE;
  /* nta PRACKs only a transaction that knows the dialog's To tag (as NUA
   * does): continue on a tagged copy of the INVITE transaction. */
  if (sip->sip_status->st_status < 200
      && (tagged = nta_outgoing_tagged (call->down_orq, on_down_response,
                                        (nta_outgoing_magic_t *) call, sip->sip_to->a_tag,
                                        sip->sip_rseq)) != NULL) {
    nta_outgoing_destroy (call->down_orq);
    call->down_orq = tagged;
  }
}

static void
send_prack (KcCall *call, nta_outgoing_t *orq, sip_t const *sip)
{
  nta_outgoing_t *prack;
  gint64 sent_at = g_get_real_time ();

  if (sip->sip_rseq == NULL)
    return;
  prack = nta_outgoing_prack (call->down_leg, call->down_orq, NULL, NULL, NULL, sip, TAG_END ());
  kc_call_emit_request (call, fig_invite (call, kc_call_fig_down_ack (call)), call->down_lane,
                        prack, sent_at);
  if (prack != NULL && prack != NONE)
    nta_outgoing_destroy (prack);
}

/* 324 toward the source controller, or 326 toward the caller. */
static void
forward_early_now (KcCall *call)
{
  char *value = NULL, *sdp = NULL, *header = NULL;
  int fig3 = kc_call_fig_up_early (call);
  gint64 sent_at;

  if (call->source) {
    if ((value = kc_keying_encode (call->keying, TRUE)) == NULL) {
      kc_call_fail (call, 500, "Cannot encode the key", NULL, NULL);
      return;
    }
    if (call->early_answer != NULL)
      sdp = kc_sdp_with_key_mgmt (call->early_answer, value);
    else
      header = g_strdup_printf ("%s: %s", KC_SIP_HEADER_KEY_MGMT, value);
    kc_secret_text_free (value);
  }
  else if (call->early_answer != NULL)
    sdp = g_strdup (call->early_answer);
  else
    header = g_strdup_printf ("%s: %s", KC_SIP_HEADER_KEY_MGMT, call->early_ack_value);

  if (call->source)
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_SENT, 326, call->up_lane,
                      call->keying->derived ? "326 nonce → %s (it derives the key)"
                                            : "326 key → %s", call->up_lane);
  sent_at = g_get_real_time ();
  call->up_rel = nta_reliable_treply (call->up_irq, on_up_prack, (nta_reliable_magic_t *) call,
                                      call->source ? 183 : 180,
                                      call->source ? "Session Progress" : "Ringing",
                                      SIPTAG_CONTACT_STR (kc_controller_get_contact (call->ctrl)),
                                      TAG_IF (sdp, SIPTAG_CONTENT_TYPE_STR ("application/sdp")),
                                      TAG_IF (sdp, SIPTAG_PAYLOAD_STR (sdp)),
                                      TAG_IF (header, SIPTAG_HEADER_STR (header)),
                                      TAG_END ());
  kc_sip_text_free (sdp);
  kc_sip_text_free (header);
  if (call->up_rel == NULL) {
    kc_call_fail (call, 500, "Cannot send a reliable provisional response", NULL, NULL);
    return;
  }
  kc_call_emit_response (call, fig3, call->up_lane, call->up_irq, sent_at);
  if (call->source) {
    call->state = CALL_EARLY;
    kc_call_start_ack_timer (call, FALSE);
  }
}

static void
forward_early_gated (gpointer data)
{
  KcCall *call = data;

  if (call->state != CALL_ENDED && call->up_irq != NULL)
    forward_early_now (call);
  kc_call_unref (call);
}

static void
forward_early (KcCall *call)
{
  g_autofree char *what = g_strdup_printf ("%s%s → %s", call->source ? "183 Session Progress"
                                                                     : "180 Ringing",
                                           call->source ? " + K" : " + acknowledgment",
                                           call->up_lane);

  kc_call_gate (call, kc_call_fig_up_early (call), call->up_lane, what, forward_early_gated,
                (KcStepFunc) kc_call_unref, kc_call_ref (call));
}

static void
down_provisional (KcCall *call, nta_outgoing_t *orq, sip_t const *sip)
{
  g_autoptr(KcKeyMgmt) ack = NULL;
  g_autoptr(GError) error = NULL;
  char *sdp = NULL;
  int fig3 = kc_call_fig_down_ack (call);

  down_dialog (call, sip);
  if (kc_controller_get_config (call->ctrl)->delivery == KC_DELIVERY_SEPARATE) {
    /* The keys went in MESSAGEs already: this is a plain call now. */
    send_prack (call, orq, sip);
    if (sip->sip_status->st_status == 180 && !call->ringing_sent) {
      KcEvent *event;

      call->ringing_sent = TRUE;
      kc_call_up_reply (call, 0, SIP_180_RINGING, TAG_END ());
      event = kc_call_event (call, KC_EVENT_KIND_CALL_STATE, 0, NULL);
      kc_event_set_attr (event, "state", "ringing");
      kc_event_set_summary_printf (event, "call %s → %s ringing", call->caller, call->callee);
      kc_controller_emit (call->ctrl, event);
    }
    return;
  }
  if (call->callee_acked) {
    send_prack (call, orq, sip);
    return;
  }
  if (!find_key_mgmt (sip, &ack, &sdp, &error)) {
    kc_call_key_ack_failed (call, fig3, call->down_lane, error->message, NULL);
    return;
  }
  if (ack == NULL) {
    /* A provisional response without the acknowledgment: keep waiting. */
    kc_sip_text_free (sdp);
    send_prack (call, orq, sip);
    return;
  }
  if (!kc_keying_check_ack (call->keying, ack, call->id, KC_ACK_ROLE_CALLEE, &error)) {
    kc_sip_text_free (sdp);
    kc_call_key_ack_failed (call, fig3, call->down_lane, error->message, NULL);
    return;
  }
  call->callee_acked = TRUE;
  kc_call_update_forwarding (call);
  g_clear_handle_id (&call->ack_timer, g_source_remove);
  kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK, fig3, call->down_lane,
                    "%d callee acknowledged the key", fig3);
  send_prack (call, orq, sip);

  kc_sip_text_free (call->early_answer);
  call->early_answer = sdp;
  if (!kc_call_media_answer (call, &call->early_answer))
    return;
  if (call->early_answer == NULL) {
    const char *header = NULL;

    kc_sip_header_get (sip, KC_SIP_HEADER_KEY_MGMT, &header, NULL);
    g_free (call->early_ack_value);
    call->early_ack_value = g_strdup (header);
  }
  forward_early (call);
}

static void
forward_answer (KcCall *call)
{
  KcEvent *event;

  call->answer_held = FALSE;
  kc_call_up_reply (call, 330, SIP_200_OK,
                    TAG_IF (call->answer, SIPTAG_CONTENT_TYPE_STR ("application/sdp")),
                    TAG_IF (call->answer, SIPTAG_PAYLOAD_STR (call->answer)),
                    TAG_END ());
  call->state = CALL_ANSWERED;
  call->answered_at = g_get_real_time ();
  kc_li_call_answered (kc_controller_get_li (call->ctrl), call);
  g_clear_handle_id (&call->ring_timer, g_source_remove);
  kc_call_start_media_stats (call);
  event = kc_call_event (call, KC_EVENT_KIND_CALL_STATE, 330, NULL);
  kc_event_set_attr (event, "state", "answered");
  kc_event_set_summary_printf (event, "call %s → %s answered", call->caller, call->callee);
  kc_controller_emit (call->ctrl, event);
}

static void
down_answered (KcCall *call, sip_t const *sip)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sdp = NULL;

  down_dialog (call, sip);
  kc_call_send_ack (call, sip);
  if (!call->callee_acked && kc_controller_get_config (call->ctrl)->delivery == KC_DELIVERY_SIGNALING) {
    kc_call_key_ack_failed (call, kc_call_fig_down_ack (call), call->down_lane,
                            "The callee answered without acknowledging the key", NULL);
    return;
  }
  sdp = kc_sip_get_sdp (sip, &error);
  if (error != NULL)
    g_message ("Call %s: ignoring the 2xx body: %s", call->id, error->message);
  kc_sip_text_free (call->answer);
  call->answer = sdp ? kc_sdp_with_key_mgmt (sdp, NULL) : NULL;
  kc_sip_text_free (g_steal_pointer (&sdp));
  if (!kc_call_media_answer (call, &call->answer))
    return;
  if (call->source && !call->caller_acked) {
    call->answer_held = TRUE;   /* until 328 */
    return;
  }
  forward_answer (call);
}

/* A final response after the call ended: ACK and hang up a late answer. */
static void
late_response (KcCall *call, nta_outgoing_t *orq, sip_t const *sip, int status)
{
  if (status < 200)
    return;
  call->down_status = status;
  if (status < 300 && sip != NULL && call->down_leg != NULL) {
    down_dialog (call, sip);
    kc_call_send_ack (call, sip);
    kc_call_send_bye (call, FALSE, NULL);
  }
  if (call->down_pending)
    kc_call_release (call, TRUE);
}

/* The responder must be who the request went to. */
static gboolean
check_responder (KcCall *call, nta_outgoing_t *orq, msg_t *msg, GError **error)
{
  g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
  tport_t *tp = nta_outgoing_transport (orq);
  gboolean ok;

  ok = kc_sip_identify (kc_controller_get_agent (call->ctrl), tp, msg, &id, error)
       && kc_controller_check_crl (call->ctrl, id.serial, error);
  tport_unref (tp);
  if (ok && (id.role != call->down_role || g_strcmp0 (id.identity, call->down_identity) != 0)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Answered by %s:%s, not %s",
                 kc_role_to_string (id.role), id.identity, call->down_lane);
    ok = FALSE;
  }
  return ok;
}

static int
on_down_response (nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
  KcCall *call = (KcCall *) magic;
  int status = sip ? sip->sip_status->st_status : 408;
  msg_t *msg;

  if (call->state == CALL_ENDED) {
    late_response (call, orq, sip, status);
    return 0;
  }
  msg = nta_outgoing_getresponse (orq);
  kc_call_emit_received (call, status < 200 ? fig_invite (call, kc_call_fig_down_ack (call))
                               : status < 300 ? 330 : 0, call->down_lane, msg);
  if (status > 100 && sip != NULL && msg != NULL && !nta_sip_is_internal (sip)) {
    g_autoptr(GError) error = NULL;

    if (!check_responder (call, orq, msg, &error)) {
      msg_destroy (msg);
      g_warning ("Call %s: %s", call->id, error->message);
      if (status >= 200)
        call->down_status = status;
      kc_call_fail (call, 502, error->message, "failed", NULL);
      return 0;
    }
  }
  if (msg != NULL)
    msg_destroy (msg);
  if (status < 200) {
    if (status > 100 && sip != NULL)
      down_provisional (call, orq, sip);
    return 0;
  }
  call->down_status = status;
  if (status < 300)
    down_answered (call, sip);
  else {
    const char *phrase = sip && sip->sip_status->st_phrase ? sip->sip_status->st_phrase : "";

    kc_call_end (call, status, NULL, phrase);
    kc_call_stop_upstream (call, status, phrase);
  }
  return 0;
}

/* Requests from downstream inside the dialog: BYE. */
static int
on_down_request (nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
  KcCall *call = (KcCall *) magic;
  msg_t *msg = nta_incoming_getrequest (irq);
  g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
  g_autoptr(GError) error = NULL;
  tport_t *tp = nta_incoming_transport (kc_controller_get_agent (call->ctrl), irq, msg);
  gboolean ok = kc_sip_identify (kc_controller_get_agent (call->ctrl), tp, msg, &id, &error);
  sip_method_t method = sip->sip_request->rq_method;
  gint64 sent_at;

  tport_unref (tp);
  kc_call_emit_received (call, 0, call->down_lane, msg);
  msg_destroy (msg);
  if (method == sip_method_ack) {
    nta_incoming_destroy (irq);
    return 0;
  }
  if (!ok || id.role != call->down_role || g_strcmp0 (id.identity, call->down_identity) != 0) {
    g_autofree char *phrase = g_strdup_printf ("Only %s may send requests in this dialog",
                                               call->down_lane);

    nta_incoming_treply (irq, 403, phrase, TAG_END ());
    nta_incoming_destroy (irq);
    return 0;
  }
  sent_at = g_get_real_time ();
  if (method != sip_method_bye)
    return kc_call_dialog_request (call, FALSE, irq, sip);
  call->down_bye_sent = TRUE;   /* the dialog is over downstream */
  if (call->state == CALL_ENDED) {
    nta_incoming_treply (irq, SIP_200_OK, TAG_END ());
    kc_call_emit_response (call, 0, call->down_lane, irq, sent_at);
  }
  else {
    g_autofree char *reason = kc_call_reason_of (call, sip, call->down_lane);

    if (reason == NULL)
      reason = g_strdup_printf ("%s hung up", call->callee);
    /* The CDR is durable before the 200 tells the callee the call is over. */
    kc_call_end (call, call->state == CALL_ANSWERED ? 200 : 480, NULL, reason);
    sent_at = g_get_real_time ();
    nta_incoming_treply (irq, SIP_200_OK, TAG_END ());
    kc_call_emit_response (call, 0, call->down_lane, irq, sent_at);
    kc_call_stop_upstream (call, 480, "Callee hung up");
  }
  nta_incoming_destroy (irq);
  return 0;
}

/* Upstream: the caller (or the source controller) ----------------------------- */

gboolean
kc_call_bind_upstream (KcCall *call, nta_incoming_t *irq, sip_t const *sip)
{
  /* Local is the To of the request, remote its From: the dialog as the
   * caller sees it, so its in-dialog requests find this leg. */
  call->up_leg = nta_leg_tcreate (kc_controller_get_agent (call->ctrl), on_up_request,
                                  (nta_leg_magic_t *) call,
                                  SIPTAG_CALL_ID (sip->sip_call_id),
                                  SIPTAG_FROM (sip->sip_to),
                                  SIPTAG_TO (sip->sip_from),
                                  NTATAG_REMOTE_CSEQ (sip->sip_cseq->cs_seq),
                                  TAG_END ());
  if (call->up_leg == NULL)
    return FALSE;
  nta_leg_tag (call->up_leg, NULL);
  nta_incoming_tag (irq, nta_leg_get_tag (call->up_leg));
  nta_leg_server_route (call->up_leg, sip->sip_record_route, sip->sip_contact);
  call->up_irq = irq;
  call->up_invite_cseq = sip->sip_cseq->cs_seq;
  nta_incoming_bind (irq, on_up_cancel, (nta_incoming_magic_t *) call);
  return TRUE;
}

static gboolean
from_upstream (KcCall *call, nta_incoming_t *irq, msg_t *msg)
{
  g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
  tport_t *tp = nta_incoming_transport (kc_controller_get_agent (call->ctrl), irq, msg);
  gboolean ok = kc_sip_identify (kc_controller_get_agent (call->ctrl), tp, msg, &id, NULL);

  tport_unref (tp);
  return ok && id.role == call->up.role && g_strcmp0 (id.identity, call->up.identity) == 0;
}

static int
on_up_request (nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
  KcCall *call = (KcCall *) magic;
  msg_t *msg = nta_incoming_getrequest (irq);
  gboolean ok = from_upstream (call, irq, msg);
  sip_method_t method = sip->sip_request->rq_method;
  gboolean ending;
  gint64 sent_at;

  kc_call_emit_received (call,
                         method == sip_method_ack && sip->sip_cseq != NULL
                         && sip->sip_cseq->cs_seq == call->up_invite_cseq ? 330 : 0,
                         call->up_lane, msg);
  msg_destroy (msg);
  if (method == sip_method_ack) {
    nta_incoming_destroy (irq);
    return 0;
  }
  ending = ok && method == sip_method_bye && call->state != CALL_ENDED;
  if (ending) {
    g_autofree char *reason = kc_call_reason_of (call, sip, call->up_lane);

    if (reason == NULL)
      reason = g_strdup_printf ("%s hung up", call->caller);
    /* The CDR is durable before the 200 tells the caller the call is over. */
    kc_call_end (call, call->state == CALL_ANSWERED ? 200 : 487,
                 call->state == CALL_ANSWERED ? "answered" : "cancelled", reason);
  }
  sent_at = g_get_real_time ();
  if (!ok) {
    g_autofree char *phrase = g_strdup_printf ("Only %s may send requests in this dialog",
                                               call->up_lane);

    nta_incoming_treply (irq, 403, phrase, TAG_END ());
  }
  else if (method == sip_method_bye)
    nta_incoming_treply (irq, SIP_200_OK, TAG_END ());
  else
    return kc_call_dialog_request (call, TRUE, irq, sip);
  kc_call_emit_response (call, 0, call->up_lane, irq, sent_at);
  if (ok && method == sip_method_bye)
    call->up_bye_sent = TRUE;
  if (ending)
    kc_call_stop_downstream (call, 0, NULL);
  nta_incoming_destroy (irq);
  return 0;
}

static int
on_up_cancel (nta_incoming_magic_t *magic, nta_incoming_t *irq, sip_t const *sip)
{
  KcCall *call = (KcCall *) magic;

  if (call->state == CALL_ENDED)
    return 0;
  if (sip == NULL) {
    /* sofia gave up on a reliable response (no PRACK) or on the ACK. */
    if (nta_incoming_status (irq) < 200)
      kc_call_fail (call, 504, "Key acknowledgment timed out", "failed",
                    "No PRACK for the reliable provisional response");
    return 0;
  }
  if (sip->sip_request != NULL && sip->sip_request->rq_method == sip_method_ack) {
    /* nta hands the ACK of a 2xx to the INVITE transaction. */
    KcEvent *event = kc_call_event (call, KC_EVENT_KIND_SIP_RX, 330, call->up_lane);

    kc_event_set_attr (event, "method", "ACK");
    kc_event_set_summary_printf (event, "← ACK %s", call->up_lane);
    kc_controller_emit (call->ctrl, event);
    return 0;
  }
  if (sip->sip_request == NULL || sip->sip_request->rq_method != sip_method_cancel)
    return 0;
  {
    KcEvent *event = kc_call_event (call, KC_EVENT_KIND_SIP_RX, 0, call->up_lane);

    kc_event_set_attr (event, "method", "CANCEL");
    kc_event_set_summary_printf (event, "← CANCEL %s", call->up_lane);
    kc_controller_emit (call->ctrl, event);
  }
  {
    g_autofree char *reason = kc_call_reason_of (call, sip, call->up_lane);

    /* The CDR is durable before the 487. */
    kc_call_end (call, 487, "cancelled", reason ? reason : "The caller cancelled");
  }
  if (nta_incoming_status (irq) < 200)
    kc_call_up_reply (call, 0, SIP_487_REQUEST_CANCELLED, TAG_END ());
  else
    call->up_status = nta_incoming_status (irq);
  kc_call_stop_downstream (call, 0, NULL);
  return 0;
}

/* The 200 to a PRACK, through the step gate. */
typedef struct {
  KcCall         *call;
  nta_incoming_t *prack;
  int             fig3;
  gboolean        key_prack;
} PrackReply;

static void
prack_reply_send (gpointer data)
{
  PrackReply *r = data;
  KcCall *call = r->call;
  gint64 sent_at = g_get_real_time ();

  nta_incoming_treply (r->prack, SIP_200_OK, TAG_END ());
  kc_call_emit_response (call, r->fig3, call->up_lane, r->prack, sent_at);
  nta_incoming_destroy (r->prack);
  if (r->key_prack && call->state != CALL_ENDED)
    kc_call_caller_acknowledged (call);
  kc_call_unref (call);
  g_free (r);
}

/* The call ended while the 200 was held: the PRACK's transaction is
 * answered for what it is now, one that no longer exists (RFC 3262). */
static void
prack_reply_drop (gpointer data)
{
  PrackReply *r = data;
  gint64 sent_at = g_get_real_time ();

  nta_incoming_treply (r->prack, SIP_481_NO_TRANSACTION, TAG_END ());
  kc_call_emit_response (r->call, r->fig3, r->call->up_lane, r->prack, sent_at);
  nta_incoming_destroy (r->prack);
  kc_call_unref (r->call);
  g_free (r);
}

/* PRACK of 326 (328, with the caller's acknowledgment) or of 324. The
 * acknowledgment is checked before the PRACK is answered: one the
 * controller refuses gets 488 on the PRACK itself (and the INVITE fails
 * with 488), so the caller never sees a 200 for a key nobody confirmed. */
static int
on_up_prack (nta_reliable_magic_t *magic, nta_reliable_t *rel, nta_incoming_t *prack,
             sip_t const *sip)
{
  KcCall *call = (KcCall *) magic;
  g_autoptr(KcKeyMgmt) ack = NULL;
  g_autoptr(GError) error = NULL;
  msg_t *msg;
  gboolean ok, key_prack;
  int fig3 = call->source ? 328 : 324;

  if (prack == NULL || sip == NULL)
    return 200;   /* flushed by a final response */
  msg = nta_incoming_getrequest (prack);
  ok = from_upstream (call, prack, msg);
  kc_call_emit_received (call, fig3, call->up_lane, msg);
  msg_destroy (msg);
  if (!ok) {
    g_autofree char *phrase = g_strdup_printf ("Only %s may send requests in this dialog",
                                               call->up_lane);

    nta_incoming_treply (prack, 403, phrase, TAG_END ());
    nta_incoming_destroy (prack);
    return 0;
  }
  key_prack = call->state != CALL_ENDED && call->source && !call->caller_acked
              && kc_controller_get_config (call->ctrl)->delivery == KC_DELIVERY_SIGNALING;

  if (key_prack
      && (!find_key_mgmt (sip, &ack, NULL, &error)
          || (ack == NULL && (g_set_error (&error, KC_ERROR, KC_ERROR_INVALID,
                                           "The PRACK carries no acknowledgment"), TRUE))
          || !kc_keying_check_ack (call->keying, ack, call->id, KC_ACK_ROLE_CALLER, &error))) {
    kc_call_key_ack_failed (call, 328, call->up_lane, error->message, prack);
    nta_incoming_destroy (prack);
    return 0;
  }
  if (key_prack) {
    call->caller_acked = TRUE;
    kc_call_update_forwarding (call);
    g_clear_handle_id (&call->ack_timer, g_source_remove);
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK, 328, call->up_lane,
                      "328 caller acknowledged the key: both ends hold it");
  }
  {
    PrackReply *r = g_new0 (PrackReply, 1);
    g_autofree char *what = g_strdup_printf ("200 OK (PRACK) → %s", call->up_lane);

    r->call = kc_call_ref (call);
    r->prack = prack;
    r->fig3 = fig3;
    r->key_prack = key_prack;
    kc_call_gate (call, fig3, call->up_lane, what, prack_reply_send, prack_reply_drop, r);
  }
  return 0;
}

/* 328 done (the caller's PRACK has its 200): both sides hold the key;
 * now the caller may hear ringing. */
void
kc_call_caller_acknowledged (KcCall *call)
{
  KcEvent *event;

  call->state = CALL_RINGING;
  kc_call_up_reply (call, 328, SIP_180_RINGING, TAG_END ());
  event = kc_call_event (call, KC_EVENT_KIND_CALL_STATE, 328, NULL);
  kc_event_set_attr (event, "state", "ringing");
  kc_event_set_summary_printf (event, "call %s → %s ringing", call->caller, call->callee);
  kc_controller_emit (call->ctrl, event);
  if (call->answer_held)
    forward_answer (call);
}
