/* kc-controller-call-dialog.c: re-INVITEs of an answered call, either way
 * (hold and resume, docs/protocol.md "Hold and resume").
 *
 * The controller is a back-to-back user agent: a re-INVITE that comes on
 * one leg of the call goes out as a new transaction on the other, and its
 * final response comes back. Each leg ACKs its own 2xx (the far end's
 * 2xx is ACKed at once, as the initial answer is). The SDP in both
 * directions is pointed at the relay exactly as the initial offer and
 * answer were: the relay's ports for the call do not change. The call key
 * does not change either: keys only ever go out in FIG. 3, so a
 * re-INVITE, or its answer, that carries one is refused (488).
 */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-call-dialog.h"

#include "kc-error.h"
#include "kc-sdp-media.h"

#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <string.h>

/* RFC 3261 section 14.2: a re-INVITE that meets one still in progress is
 * retried after a random 0-10 s. */
#define RETRY_AFTER_MAX_S 10

/* One re-INVITE on its way through this controller. */
typedef struct {
  KcCall         *call;       /* a reference, until the transaction is over */
  gboolean        upstream;   /* it came from upstream (and goes downstream) */
  nta_incoming_t *irq;
  nta_outgoing_t *orq;
} KcReinvite;

/* The re-INVITE in progress of each call (KcCall * → KcReinvite *): at
 * most one at a time per call (RFC 3261 section 14). An entry lives only
 * while its transactions do. */
static GHashTable *in_progress;

static const char *
lane_of (KcCall *call, gboolean upstream)
{
  return upstream ? call->up_lane : call->down_lane;
}

static nta_leg_t *
leg_of (KcCall *call, gboolean upstream)
{
  return upstream ? call->up_leg : call->down_leg;
}

static void
reply (KcCall         *call,
       gboolean        upstream,
       nta_incoming_t *irq,
       int             status,
       const char     *phrase,
       tag_type_t      tag,
       tag_value_t     value,
       ...)
{
  gint64 sent_at = g_get_real_time ();
  ta_list ta;

  ta_start (ta, tag, value);
  nta_incoming_treply (irq, status, phrase, ta_tags (ta));
  (void) ta_end (ta);
  kc_call_emit_response (call, 0, lane_of (call, upstream), irq, sent_at);
}

static void
reinvite_free (KcReinvite *re)
{
  if (re->orq != NULL)
    nta_outgoing_destroy (re->orq);
  if (re->irq != NULL)
    nta_incoming_destroy (re->irq);
  kc_call_unref (re->call);
  g_free (re);
}

static void
reinvite_done (KcReinvite *re)
{
  if (in_progress != NULL && g_hash_table_lookup (in_progress, re->call) == re)
    g_hash_table_remove (in_progress, re->call);
  reinvite_free (re);
}

/* Whether @sdp holds a line that carries a key: a=key-mgmt (any
 * protocol) or a=crypto (RFC 4568). */
static gboolean
has_key_line (const char *sdp)
{
  for (const char *line = sdp; line != NULL && *line != '\0';) {
    if (g_ascii_strncasecmp (line, "a=key-mgmt", 10) == 0
        || g_ascii_strncasecmp (line, "a=crypto", 8) == 0)
      return TRUE;
    line = strpbrk (line, "\r\n");
    while (line != NULL && (*line == '\r' || *line == '\n'))
      line++;
  }
  return FALSE;
}

/* The SDP of @sip for the other leg: checked to carry no key, pointed at
 * the relay's port facing the other leg, and the relay told where the
 * sender (the party of @from_upstream's leg) now receives. NULL with
 * @error when it cannot be forwarded; *@status is what to answer. */
static char *
relay_sdp (KcCall       *call,
           gboolean      from_upstream,
           sip_t const  *sip,
           int          *status,
           GError      **error)
{
  KcRelay *relay = kc_controller_get_relay (call->ctrl);
  KcRelayLeg leg = from_upstream ? KC_RELAY_LEG_CALLER : KC_RELAY_LEG_CALLEE;
  KcRelayLeg other = from_upstream ? KC_RELAY_LEG_CALLEE : KC_RELAY_LEG_CALLER;
  const char *header = NULL;
  g_autoptr(KcSdpMedia) media = NULL;
  char *sdp;
  char *anchored;

  *status = 488;
  if (!kc_sip_header_get (sip, KC_SIP_HEADER_KEY_MGMT, &header, error))
    return NULL;
  sdp = kc_sip_get_sdp (sip, error);
  if (sdp == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                   "A re-INVITE must carry an SDP offer (hold: a=sendonly, resume: a=sendrecv)");
    return NULL;
  }
  if (header != NULL || has_key_line (sdp)) {
    kc_sip_text_free (sdp);
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The call key cannot change inside a call: a re-INVITE or its answer "
                 "must carry no key (keys come from the controller only, in FIG. 3)");
    return NULL;
  }
  if (call->relay_call == NULL)
    return sdp;
  media = kc_call_sdp_media (sdp, error);
  if (media == NULL) {
    kc_sip_text_free (sdp);
    return NULL;
  }
  /* Port 0 refuses the stream (RFC 3264): nothing to point at the relay. */
  if (media->port == 0)
    return sdp;
  if (!kc_relay_call_set_remote (call->relay_call, leg, media->address, media->port,
                                 media->rtcp_port, error)
      || (anchored = kc_call_sdp_anchor (sdp, kc_relay_get_address (relay),
                                         kc_relay_call_get_port (call->relay_call, other),
                                         error)) == NULL) {
    kc_sip_text_free (sdp);
    return NULL;
  }
  kc_sip_text_free (sdp);
  return anchored;
}

/* The responder must be the party of the leg the request went to. */
static gboolean
check_responder (KcReinvite  *re,
                 msg_t       *msg,
                 GError     **error)
{
  KcCall *call = re->call;
  g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
  tport_t *tp = nta_outgoing_transport (re->orq);
  gboolean to_upstream = !re->upstream;
  KcRole role = to_upstream ? call->up.role : call->down_role;
  const char *identity = to_upstream ? call->up.identity : call->down_identity;
  gboolean ok;

  ok = kc_sip_identify (kc_controller_get_agent (call->ctrl), tp, msg, &id, error)
       && kc_controller_check_crl (call->ctrl, id.serial, error);
  tport_unref (tp);
  if (ok && (id.role != role || g_strcmp0 (id.identity, identity) != 0)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Answered by %s:%s, not %s",
                 kc_role_to_string (id.role), id.identity, lane_of (call, to_upstream));
    ok = FALSE;
  }
  return ok;
}

static void
send_ack (KcReinvite  *re,
          sip_t const *response)
{
  KcCall *call = re->call;
  nta_leg_t *leg = leg_of (call, !re->upstream);
  gint64 sent_at = g_get_real_time ();
  nta_outgoing_t *ack;

  if (leg == NULL)
    return;
  ack = nta_outgoing_tcreate (leg, NULL, NULL, NULL, SIP_METHOD_ACK, NULL,
                              SIPTAG_CSEQ (response->sip_cseq), TAG_END ());
  kc_call_emit_request (call, 0, lane_of (call, !re->upstream), ack, sent_at);
  if (ack != NULL && ack != NONE)
    nta_outgoing_destroy (ack);
}

/* The other leg's final response: its 2xx goes back with the answer
 * pointed at the relay, anything else as it came. */
static int
on_forward_response (nta_outgoing_magic_t *magic,
                     nta_outgoing_t       *orq,
                     sip_t const          *sip)
{
  KcReinvite *re = (KcReinvite *) magic;
  KcCall *call = re->call;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;
  const char *phrase = sip != NULL && sip->sip_status != NULL && sip->sip_status->st_phrase
                       ? sip->sip_status->st_phrase : "Request Timeout";
  g_autoptr(GError) error = NULL;
  char *answer = NULL;
  msg_t *msg;
  int refuse = 0;

  (void) orq;
  if (status < 200)
    return 0;
  msg = nta_outgoing_getresponse (re->orq);
  if (call->state != CALL_ENDED)
    kc_call_emit_received (call, 0, lane_of (call, !re->upstream), msg);
  if (sip != NULL && msg != NULL && !nta_sip_is_internal (sip)
      && !check_responder (re, msg, &error)) {
    g_warning ("Call %s: re-INVITE response refused: %s", call->id, error->message);
    refuse = 502;
  }
  if (msg != NULL)
    msg_destroy (msg);

  if (status < 300 && sip != NULL && refuse == 0) {
    send_ack (re, sip);
    answer = relay_sdp (call, !re->upstream, sip, &refuse, &error);
    if (answer == NULL)
      g_warning ("Call %s: the answer to a re-INVITE from %s cannot go back: %s", call->id,
                 lane_of (call, re->upstream), error->message);
  }
  else if (status < 300 && sip != NULL)
    send_ack (re, sip);

  if (call->state == CALL_ENDED)
    reply (call, re->upstream, re->irq, SIP_481_NO_TRANSACTION, TAG_END ());
  else if (answer != NULL)
    reply (call, re->upstream, re->irq, SIP_200_OK,
           SIPTAG_CONTACT_STR (kc_controller_get_contact (call->ctrl)),
           SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (answer),
           TAG_END ());
  else if (refuse != 0) {
    g_autofree char *why = g_strdelimit (g_strdup (error ? error->message : phrase),
                                         "\"\\\r\n", '\'');
    g_autofree char *warning = g_strdup_printf ("399 keycall-controller \"%s\"", why);

    reply (call, re->upstream, re->irq, refuse,
           refuse == 502 ? "Bad Gateway" : "Not Acceptable Here",
           SIPTAG_WARNING_STR (warning), TAG_END ());
    /* The far end took an offer whose answer cannot go back: its media
     * direction and the sender's now differ until the next re-INVITE. */
    if (status < 300)
      g_warning ("Call %s: %s accepted a re-INVITE that could not be passed back",
                 call->id, lane_of (call, !re->upstream));
  }
  else
    reply (call, re->upstream, re->irq, status, phrase,
           TAG_IF (status == 491 || status == 500, SIPTAG_RETRY_AFTER (sip ? sip->sip_retry_after
                                                                          : NULL)),
           TAG_END ());
  kc_sip_text_free (answer);
  reinvite_done (re);
  return 0;
}

static void
refuse_busy (KcCall         *call,
             gboolean        upstream,
             nta_incoming_t *irq,
             int             status)
{
  g_autofree char *retry = g_strdup_printf ("%u", g_random_int_range (0, RETRY_AFTER_MAX_S + 1));

  if (status == 491)
    reply (call, upstream, irq, SIP_491_REQUEST_PENDING, TAG_END ());
  else
    reply (call, upstream, irq, 500, "Another INVITE of this call is in progress",
           SIPTAG_RETRY_AFTER_STR (retry), TAG_END ());
}

static void
forward_reinvite (KcCall         *call,
                  gboolean        upstream,
                  nta_incoming_t *irq,
                  sip_t const    *sip)
{
  g_autoptr(GError) error = NULL;
  KcReinvite *re;
  nta_leg_t *leg = leg_of (call, !upstream);
  char *sdp;
  int status = 0;
  gint64 sent_at;

  if (call->state == CALL_ENDED || leg == NULL) {
    reply (call, upstream, irq, SIP_481_NO_TRANSACTION, TAG_END ());
    nta_incoming_destroy (irq);
    return;
  }
  if (in_progress == NULL)
    in_progress = g_hash_table_new (NULL, NULL);
  re = g_hash_table_lookup (in_progress, call);
  /* RFC 3261 section 14.2: one re-INVITE at a time. Against one going the
   * other way (glare: both ends hold at once) the sender gets 491, as a
   * UAS with its own INVITE pending answers; against one of its own still
   * in progress, 500 with Retry-After. */
  if (re != NULL) {
    refuse_busy (call, upstream, irq, re->upstream == upstream ? 500 : 491);
    nta_incoming_destroy (irq);
    return;
  }
  /* The call is still being set up: the initial INVITE is the caller's
   * pending request (500) and the callee's pending answer (491). */
  if (call->state != CALL_ANSWERED) {
    refuse_busy (call, upstream, irq, upstream ? 500 : 491);
    nta_incoming_destroy (irq);
    return;
  }
  sdp = relay_sdp (call, upstream, sip, &status, &error);
  if (sdp == NULL) {
    g_autofree char *why = g_strdelimit (g_strdup (error->message), "\"\\\r\n", '\'');
    g_autofree char *warning = g_strdup_printf ("399 keycall-controller \"%s\"", why);

    g_message ("Call %s: re-INVITE from %s refused: %s", call->id, lane_of (call, upstream),
               error->message);
    reply (call, upstream, irq, status, "Not Acceptable Here", SIPTAG_WARNING_STR (warning),
           TAG_END ());
    nta_incoming_destroy (irq);
    return;
  }

  re = g_new0 (KcReinvite, 1);
  re->call = kc_call_ref (call);
  re->upstream = upstream;
  re->irq = irq;
  sent_at = g_get_real_time ();
  re->orq = nta_outgoing_tcreate (leg, on_forward_response, (nta_outgoing_magic_t *) re,
                                  NULL, SIP_METHOD_INVITE, NULL,
                                  SIPTAG_CONTACT_STR (kc_controller_get_contact (call->ctrl)),
                                  SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
                                  SIPTAG_PAYLOAD_STR (sdp),
                                  TAG_END ());
  kc_sip_text_free (sdp);
  if (re->orq == NULL) {
    reply (call, upstream, irq, 500, "Cannot forward the re-INVITE", TAG_END ());
    reinvite_free (re);
    return;
  }
  kc_call_emit_request (call, 0, lane_of (call, !upstream), re->orq, sent_at);
  g_hash_table_insert (in_progress, call, re);
}

int
kc_call_dialog_request (KcCall         *call,
                        gboolean        upstream,
                        nta_incoming_t *irq,
                        sip_t const    *sip)
{
  g_return_val_if_fail (call != NULL && irq != NULL && sip != NULL, 500);

  if (sip->sip_request->rq_method != sip_method_invite) {
    reply (call, upstream, irq, SIP_501_NOT_IMPLEMENTED, TAG_END ());
    nta_incoming_destroy (irq);
    return 0;
  }
  forward_reinvite (call, upstream, irq, sip);
  return 0;
}
