/* kc-controller-call-separate.c: delivery mode "separate", the patent's
 * second embodiment: every key arrow of FIG. 3 (318-328) is a MESSAGE of
 * its own, with no body, a Keycall-Call and a Keycall-Key-Mgmt header. The
 * INVITE then goes on without key lines, as a plain call. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-call-private.h"

#include "kc-error.h"
#include "kc-sdp-key.h"

#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <string.h>

/* One key arrow in flight. */
typedef struct {
  KcCall     *call;
  nta_leg_t  *leg;
  int         fig3;
  char       *lane;
  KcRole      role;         /* who must answer it */
  char       *identity;
} KeyMessage;

KcCall *
kc_call_find (KcController *ctrl, const char *id)
{
  GList *calls = kc_controller_list_calls (ctrl);
  KcCall *found = NULL;

  for (GList *l = calls; l != NULL && found == NULL; l = l->next) {
    KcCall *call = l->data;

    if (call->state != CALL_ENDED && g_strcmp0 (call->id, id) == 0)
      found = call;
  }
  g_list_free (calls);
  return found;
}

static void
key_message_free (KeyMessage *m)
{
  g_clear_pointer (&m->leg, nta_leg_destroy);
  kc_call_unref (m->call);
  g_free (m->lane);
  g_free (m->identity);
  g_free (m);
}

static int
on_key_message_response (nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
  KeyMessage *m = (KeyMessage *) magic;
  KcCall *call = m->call;
  int status = sip ? sip->sip_status->st_status : 408;
  msg_t *msg;

  if (status < 200)
    return 0;
  msg = nta_outgoing_getresponse (orq);
  if (call->state != CALL_ENDED) {
    g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
    tport_t *tp = nta_outgoing_transport (orq);
    gboolean who = sip == NULL || nta_sip_is_internal (sip)
                   || (kc_sip_identify (kc_controller_get_agent (call->ctrl), tp, msg, &id, NULL)
                       && id.role == m->role && g_strcmp0 (id.identity, m->identity) == 0);

    tport_unref (tp);
    kc_call_emit_received (call, m->fig3, m->lane, msg);
    if (!who)
      kc_call_fail (call, 502, "The key went to the wrong party", "failed", NULL);
    else if (status >= 300) {
      g_autofree char *reason = g_strdup_printf ("%s refused the key (%d): %d %s", m->lane,
                                                 m->fig3, status,
                                                 sip && sip->sip_status->st_phrase
                                                 ? sip->sip_status->st_phrase : "");

      kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK_FAILED, m->fig3, m->lane, "%s", reason);
      kc_call_fail (call, 488, "Key delivery failed", "failed", reason);
    }
  }
  if (msg != NULL)
    msg_destroy (msg);
  nta_outgoing_destroy (orq);
  key_message_free (m);
  return 0;
}

/* Sends a MESSAGE carrying @value (a key-mgmt payload) for @call. */
static void
send_key_message (KcCall *call, int fig3, KcRole role, const char *identity,
                  const char *request_uri, const char *route, const char *value)
{
  KcController *ctrl = call->ctrl;
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  g_autofree char *from = g_strdup_printf ("<sips:%s@%s>", call->caller, config->domain);
  g_autofree char *to = g_strdup_printf ("<sips:%s@%s>", call->callee, config->domain);
  g_autofree char *call_header = g_strdup_printf ("%s: %s", KC_SIP_HEADER_CALL, call->id);
  char *key_header = g_strdup_printf ("%s: %s", KC_SIP_HEADER_KEY_MGMT, value);
  /* Only the 320 tells the callee which controller made K. */
  g_autofree char *origin = fig3 == 320 ? kc_call_key_origin_header (call) : NULL;
  KeyMessage *m = g_new0 (KeyMessage, 1);
  nta_outgoing_t *orq = NULL;
  gint64 sent_at = 0;

  m->call = kc_call_ref (call);
  m->fig3 = fig3;
  m->role = role;
  m->identity = g_strdup (identity);
  m->lane = kc_peer_lane (role, identity);
  m->leg = nta_leg_tcreate (kc_controller_get_agent (ctrl), NULL, NULL, SIPTAG_FROM_STR (from),
                            SIPTAG_TO_STR (to), TAG_END ());
  if (m->leg != NULL) {
    nta_leg_tag (m->leg, NULL);
    sent_at = g_get_real_time ();
    orq = nta_outgoing_tcreate (m->leg, on_key_message_response, (nta_outgoing_magic_t *) m,
                                route ? URL_STRING_MAKE (route) : NULL, SIP_METHOD_MESSAGE,
                                URL_STRING_MAKE (request_uri),
                                SIPTAG_HEADER_STR (call_header), SIPTAG_HEADER_STR (key_header),
                                TAG_IF (origin != NULL, SIPTAG_HEADER_STR (origin)),
                                TAG_END ());
  }
  kc_sip_text_free (key_header);
  if (orq == NULL) {
    key_message_free (m);
    kc_call_fail (call, 500, "Cannot send the key", "failed", NULL);
    return;
  }
  kc_call_emit_request (call, fig3, m->lane, orq, sent_at);
}

static void
send_key_now (KcCall *call, int fig3, KcRole role, const char *identity, const char *request_uri,
              const char *route, gboolean for_caller)
{
  char *value = kc_keying_encode (call->keying, for_caller);
  g_autofree char *lane = kc_peer_lane (role, identity);

  if (value == NULL) {
    kc_call_fail (call, 500, "Cannot encode the key", "failed", NULL);
    return;
  }
  /* The step first, then the message (both before sofia-sip sends it). */
  kc_call_emit_key (call, KC_EVENT_KIND_KEY_SENT, fig3, lane,
                    for_caller && call->keying->derived ? "%d nonce → %s (MESSAGE)"
                                                        : "%d key → %s (MESSAGE)", fig3, lane);
  send_key_message (call, fig3, role, identity, request_uri, route, value);
  kc_secret_text_free (value);
}

/* A key arrow waiting in the step gate: the key is encoded only when it
 * goes, so nothing of it waits in memory. */
typedef struct {
  KcCall   *call;
  int       fig3;
  KcRole    role;
  char     *identity;
  char     *request_uri;
  char     *route;
  gboolean  for_caller;
} HeldKey;

static void
held_key_free (gpointer data)
{
  HeldKey *h = data;

  kc_call_unref (h->call);
  g_free (h->identity);
  g_free (h->request_uri);
  g_free (h->route);
  g_free (h);
}

static void
held_key_send (gpointer data)
{
  HeldKey *h = data;

  if (h->call->state != CALL_ENDED && h->call->keying != NULL)
    send_key_now (h->call, h->fig3, h->role, h->identity, h->request_uri, h->route,
                  h->for_caller);
  held_key_free (h);
}

static void
send_key (KcCall *call, int fig3, KcRole role, const char *identity, const char *request_uri,
          const char *route, gboolean for_caller)
{
  HeldKey *h = g_new0 (HeldKey, 1);
  g_autofree char *lane = kc_peer_lane (role, identity);
  g_autofree char *what = g_strdup_printf ("MESSAGE + %s → %s",
                                           for_caller && call->keying->derived ? "nonce" : "K",
                                           lane);

  h->call = kc_call_ref (call);
  h->fig3 = fig3;
  h->role = role;
  h->identity = g_strdup (identity);
  h->request_uri = g_strdup (request_uri);
  h->route = g_strdup (route);
  h->for_caller = for_caller;
  kc_call_gate (call, fig3, lane, what, held_key_send, held_key_free, h);
}

void
kc_call_separate_start (KcCall *call)
{
  call->state = CALL_CALLING;
  send_key (call, kc_call_fig_down_invite (call), call->down_role, call->down_identity,
            call->down_uri, call->down_route, FALSE);
  if (call->state != CALL_ENDED)
    kc_call_start_ack_timer (call, !call->destination);
}

static void
reply (KcController *ctrl, nta_incoming_t *irq, int fig3, const char *call_id, const char *lane,
       int status, const char *phrase)
{
  gint64 sent_at = g_get_real_time ();
  msg_t *msg;

  nta_incoming_treply (irq, status, phrase, TAG_END ());
  if ((msg = nta_incoming_getresponse (irq)) != NULL) {
    kc_controller_emit_msg (ctrl, TRUE, sent_at, fig3, call_id, lane, msg);
    msg_destroy (msg);
  }
}

/* 318 at a destination controller: a peer hands over a key. */
static void
on_key (KcController *ctrl, nta_incoming_t *irq, sip_t const *sip, const KcPeerIdentity *from,
        const char *id, KcKeyMgmt *mgmt, const char *lane)
{
  const char *callee = kc_sip_url_user (sip->sip_request->rq_url);
  const char *caller = sip->sip_from ? kc_sip_url_user (sip->sip_from->a_url) : NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KcKeying) keying = NULL;
  KcCall *call;

  if (from->role != KC_ROLE_CONTROLLER) {
    reply (ctrl, irq, 0, id, lane, 403, "Only a peer controller may hand over a key");
    return;
  }
  if (callee == NULL || caller == NULL || !kc_pki_check_number (callee, NULL)
      || !kc_pki_check_number (caller, NULL)) {
    reply (ctrl, irq, 318, id, lane, 400, "From and Request-URI must name subscribers");
    return;
  }
  if (kc_call_find (ctrl, id) != NULL) {
    reply (ctrl, irq, 318, id, lane, 400, "This call already has a key");
    return;
  }
  if ((keying = kc_keying_new_received (mgmt, &error)) == NULL) {
    reply (ctrl, irq, 318, id, lane, 488, error->message);
    return;
  }
  call = kc_call_new (ctrl, id, caller, callee, from);
  call->keying = g_steal_pointer (&keying);
  if (!kc_call_route (call)) {
    /* kc_call_fail could not answer: there is no INVITE yet. */
    reply (ctrl, irq, 318, id, lane, 480, "The callee cannot take this call");
    return;
  }
  reply (ctrl, irq, 318, id, lane, SIP_200_OK);
  kc_call_store_key (call);   /* then kc_call_separate_start */
}

/* An acknowledgment: 322 (callee to its controller), 324 (destination to
 * source controller) or 328 (caller to its controller). */
static void
on_ack (KcController *ctrl, nta_incoming_t *irq, const KcPeerIdentity *from, const char *id,
        KcKeyMgmt *mgmt, const char *value, const char *lane)
{
  KcCall *call = kc_call_find (ctrl, id);
  g_autoptr(GError) error = NULL;
  gboolean from_down, from_up;
  int fig3;

  if (call == NULL || call->keying == NULL) {
    reply (ctrl, irq, 0, id, lane, 481, "No call with this Keycall-Call");
    return;
  }
  from_down = from->role == call->down_role && g_strcmp0 (from->identity, call->down_identity) == 0;
  from_up = call->source && from->role == call->up.role
            && g_strcmp0 (from->identity, call->up.identity) == 0;
  if ((mgmt->role == KC_ACK_ROLE_CALLEE && (!from_down || call->callee_acked))
      || (mgmt->role == KC_ACK_ROLE_CALLER && (!from_up || !call->callee_acked
                                               || call->caller_acked))
      || mgmt->role == KC_ACK_ROLE_GATEWAY) {
    reply (ctrl, irq, 0, id, lane, 403, "This acknowledgment is not expected from you");
    return;
  }
  fig3 = mgmt->role == KC_ACK_ROLE_CALLER ? 328 : kc_call_fig_down_ack (call);
  if (!kc_keying_check_ack (call->keying, mgmt, call->id, mgmt->role, &error)) {
    kc_call_key_ack_failed (call, fig3, lane, error->message, irq);
    return;
  }
  /* The step, then its answer. */
  g_clear_handle_id (&call->ack_timer, g_source_remove);
  if (mgmt->role == KC_ACK_ROLE_CALLER) {
    call->caller_acked = TRUE;
    kc_call_update_forwarding (call);
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK, 328, lane,
                      "328 caller acknowledged the key: both ends hold it");
    reply (ctrl, irq, fig3, id, lane, SIP_200_OK);
    kc_call_send_invite (call);
    return;
  }
  call->callee_acked = TRUE;
  kc_call_update_forwarding (call);
  kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK, fig3, lane, "%d callee acknowledged the key",
                    fig3);
  reply (ctrl, irq, fig3, id, lane, SIP_200_OK);
  if (call->source) {
    send_key (call, 326, call->up.role, call->up.identity, call->up_contact, NULL, TRUE);
  }
  else {
    /* Pass the callee's acknowledgment on to the source controller (324). */
    KcPeerConfig *peer = kc_controller_config_peer (kc_controller_get_config (ctrl),
                                                    call->up.identity);

    if (peer == NULL) {
      kc_call_fail (call, 500, "The source controller is not a peer", "failed", NULL);
      return;
    }
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK, 324, call->up_lane,
                      "324 callee's acknowledgment → %s (MESSAGE)", call->up_lane);
    send_key_message (call, 324, call->up.role, call->up.identity, peer->address, NULL, value);
  }
  /* Now the caller must acknowledge (326/328) and the INVITE arrive. */
  if (call->state != CALL_ENDED)
    kc_call_start_ack_timer (call, FALSE);
}

void
kc_call_incoming_message (KcController          *ctrl,
                          nta_incoming_t        *irq,
                          sip_t const           *sip,
                          const KcPeerIdentity  *from)
{
  g_autofree char *lane = kc_peer_lane (from->role, from->identity);
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  const char *id = NULL, *value = NULL;
  msg_t *msg = nta_incoming_getrequest (irq);
  int fig3 = 0;

  /* Reported here rather than by the dispatcher: only now is the arrow known. */
  if (kc_sip_header_get (sip, KC_SIP_HEADER_KEY_MGMT, &value, NULL) && value != NULL
      && (mgmt = kc_key_mgmt_parse (value, NULL)) != NULL) {
    KcCall *call = kc_call_find (ctrl, kc_sip_header_get (sip, KC_SIP_HEADER_CALL, &id, NULL)
                                       ? id : NULL);

    if (mgmt->type == KC_KEY_MGMT_KEY)
      fig3 = 318;
    else if (mgmt->role == KC_ACK_ROLE_CALLER)
      fig3 = 328;
    else if (call != NULL)
      fig3 = kc_call_fig_down_ack (call);
    g_clear_pointer (&mgmt, kc_key_mgmt_free);
  }
  kc_controller_emit_msg (ctrl, FALSE, 0, fig3, id, lane, msg);
  msg_destroy (msg);
  id = value = NULL;

  if (kc_controller_get_config (ctrl)->delivery != KC_DELIVERY_SEPARATE) {
    reply (ctrl, irq, 0, NULL, lane, 405, "MESSAGE is only used in delivery mode separate");
    return;
  }
  if (!kc_sip_header_get (sip, KC_SIP_HEADER_CALL, &id, &error) || id == NULL || *id == '\0'
      || strlen (id) > 256) {
    reply (ctrl, irq, 0, NULL, lane, 400, "Missing or bad Keycall-Call header");
    return;
  }
  if (!kc_sip_header_get (sip, KC_SIP_HEADER_KEY_MGMT, &value, &error) || value == NULL) {
    reply (ctrl, irq, 0, id, lane, 400, "Missing or repeated Keycall-Key-Mgmt header");
    return;
  }
  if ((mgmt = kc_key_mgmt_parse (value, &error)) == NULL) {
    reply (ctrl, irq, 0, id, lane, 488, error->message);
    return;
  }
  switch (mgmt->type) {
  case KC_KEY_MGMT_KEY:
    on_key (ctrl, irq, sip, from, id, mgmt, lane);
    break;
  case KC_KEY_MGMT_ACK:
    on_ack (ctrl, irq, from, id, mgmt, value, lane);
    break;
  default:
    reply (ctrl, irq, 0, id, lane, 488, "A controller takes KEY and ACK payloads only");
    break;
  }
}
