/* kc-controller-call.c: a call's life: events, ending (CDR, wiping the
 * key, freeing the relay ports), hanging up either side, the
 * acknowledgment and ring timers, and media anchoring (the SDP pointed at
 * the relay). The FIG. 3 flow itself is in kc-controller-call-flow.c. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-call-private.h"

#include "kc-error.h"
#include "kc-li.h"
#include "kc-sdp-key.h"
#include "kc-step.h"

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <string.h>


/* Life cycle ----------------------------------------------------------------- */

KcCall *
kc_call_ref (KcCall *call)
{
  call->refs++;
  return call;
}

void
kc_call_unref (KcCall *call)
{
  if (--call->refs > 0)
    return;
  g_assert (call->up_leg == NULL && call->down_leg == NULL && call->down_orq == NULL);
  g_clear_pointer (&call->relay_call, kc_relay_call_free);
  kc_keying_free (call->keying);
  kc_peer_identity_clear (&call->up);
  g_free (call->id);
  g_free (call->caller);
  g_free (call->callee);
  g_free (call->up_lane);
  kc_sip_text_free (call->offer);
  g_free (call->up_contact);
  g_free (call->down_identity);
  g_free (call->down_lane);
  g_free (call->down_uri);
  g_free (call->down_route);
  kc_sip_text_free (call->early_answer);
  g_free (call->early_ack_value);
  kc_sip_text_free (call->answer);
  g_free (call);
}

/* A downstream INVITE still waiting for its final response is kept (unless
 * @force) so a late 2xx can still get its ACK and BYE; on_down_response
 * then finishes the job. */
void
kc_call_release (KcCall *call, gboolean force)
{
  g_clear_handle_id (&call->cleanup_id, g_source_remove);
  g_clear_pointer (&call->up_rel, nta_reliable_destroy);
  g_clear_pointer (&call->up_irq, nta_incoming_destroy);
  g_clear_pointer (&call->up_leg, nta_leg_destroy);
  if (call->down_orq != NULL && call->down_status == 0 && !force) {
    call->down_pending = TRUE;
    return;
  }
  call->down_pending = FALSE;
  g_clear_pointer (&call->down_orq, nta_outgoing_destroy);
  g_clear_pointer (&call->down_leg, nta_leg_destroy);
  kc_controller_remove_call (call->ctrl, call);
  kc_call_unref (call);
}

static gboolean
on_cleanup (gpointer data)
{
  KcCall *call = data;

  call->cleanup_id = 0;
  kc_call_release (call, FALSE);
  return G_SOURCE_REMOVE;
}

static const char *
outcome_for (int status)
{
  if (status >= 200 && status < 300)
    return "answered";
  switch (status) {
  case 486: case 600: return "busy";
  case 603: return "declined";
  case 487: return "cancelled";
  case 408: return "no-answer";
  case 480: return "unavailable";
  default: return "failed";
  }
}

static void
set_leg_attrs (KcEvent *event, const char *side, const KcRelayCounters *c)
{
  static const char *const names[] = { "packets_in", "bytes_in", "packets_out", "bytes_out",
                                       "dropped" };
  const guint64 values[] = { c->packets_in, c->bytes_in, c->packets_out, c->bytes_out,
                             c->dropped };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *name = g_strdup_printf ("%s_%s", side, names[i]);

    kc_event_set_attr_int (event, name, (gint64) values[i]);
  }
}

static char *
describe_legs (const KcRelayCounters *caller, const KcRelayCounters *callee)
{
  return g_strdup_printf ("caller side %" G_GUINT64_FORMAT " packets (%" G_GUINT64_FORMAT
                          " bytes) in, %" G_GUINT64_FORMAT " out; callee side %"
                          G_GUINT64_FORMAT " packets (%" G_GUINT64_FORMAT " bytes) in, %"
                          G_GUINT64_FORMAT " out; %" G_GUINT64_FORMAT " dropped",
                          caller->packets_in, caller->bytes_in, caller->packets_out,
                          callee->packets_in, callee->bytes_in, callee->packets_out,
                          caller->dropped + callee->dropped);
}

static gboolean
on_media_stats (gpointer data)
{
  KcCall *call = data;
  KcRelayCounters legs[2] = { { 0 } };
  g_autofree char *media = NULL;
  KcEvent *event;

  if (call->relay_call == NULL || call->state != CALL_ANSWERED) {
    call->stats_timer = 0;
    return G_SOURCE_REMOVE;
  }
  kc_relay_call_get_counters (call->relay_call, KC_RELAY_LEG_CALLER, &legs[0]);
  kc_relay_call_get_counters (call->relay_call, KC_RELAY_LEG_CALLEE, &legs[1]);
  media = describe_legs (&legs[0], &legs[1]);
  event = kc_call_event (call, KC_EVENT_KIND_MEDIA_STATS, 0, NULL);
  set_leg_attrs (event, "caller", &legs[0]);
  set_leg_attrs (event, "callee", &legs[1]);
  kc_event_set_summary_printf (event, "media relay: %s", media);
  kc_controller_emit (call->ctrl, event);
  return G_SOURCE_CONTINUE;
}

void
kc_call_start_media_stats (KcCall *call)
{
  g_clear_handle_id (&call->stats_timer, g_source_remove);
  if (call->relay_call == NULL)
    return;
  call->stats_timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, MEDIA_STATS_INTERVAL_S,
                                                  on_media_stats, kc_call_ref (call),
                                                  (GDestroyNotify) kc_call_unref);
}

/* Synchronous on purpose: nothing may tell an end that the call is over
 * (final response, 200 to BYE, BYE, CANCEL) before its CDR is durable, or
 * a kill -9 right after would lose it. It costs the loop one commit, which
 * it shares with the writer's other pending writes (group commit). */
void
kc_call_end (KcCall *call, int status, const char *outcome, const char *reason)
{
  KcController *ctrl = call->ctrl;
  g_autoptr(GError) error = NULL;
  g_autofree char *media = NULL;
  KcRelayCounters legs[2] = { { 0 } };
  KcCdr cdr = { 0 };
  KcEvent *event;

  if (call->state == CALL_ENDED)
    return;
  call->state = CALL_ENDED;
  g_clear_handle_id (&call->ack_timer, g_source_remove);
  g_clear_handle_id (&call->ring_timer, g_source_remove);
  g_clear_handle_id (&call->stats_timer, g_source_remove);

  /* Law enforcement hears of the end while the relay call, whose copy hook
   * counted its content, still exists. */
  kc_li_call_ended (kc_controller_get_li (ctrl), call, outcome ? outcome : outcome_for (status));

  /* The relay's ports go back at once. The store has no column for the
   * counters: they go to the events and the log. */
  if (call->relay_call != NULL) {
    kc_relay_call_get_counters (call->relay_call, KC_RELAY_LEG_CALLER, &legs[0]);
    kc_relay_call_get_counters (call->relay_call, KC_RELAY_LEG_CALLEE, &legs[1]);
    g_clear_pointer (&call->relay_call, kc_relay_call_free);
    media = describe_legs (&legs[0], &legs[1]);
  }

  cdr.call_id = call->id;
  cdr.caller = call->caller;
  cdr.callee = call->callee;
  cdr.key_id = call->keying ? call->keying->id_hex : NULL;
  cdr.started_at = call->started_at;
  cdr.answered_at = call->answered_at;
  cdr.ended_at = g_get_real_time ();
  cdr.sip_status = status;
  cdr.outcome = (char *) (outcome ? outcome : outcome_for (status));
  cdr.reason = (char *) reason;
  if (!kc_store_put_cdr (kc_controller_get_store (ctrl), &cdr, &error))
    g_warning ("Could not store the CDR of call %s: %s", call->id, error->message);

  if (media != NULL) {
    event = kc_call_event (call, KC_EVENT_KIND_MEDIA_STOP, 0, NULL);
    set_leg_attrs (event, "caller", &legs[0]);
    set_leg_attrs (event, "callee", &legs[1]);
    kc_event_set_summary_printf (event, "media relay released: %s", media);
    kc_controller_emit (ctrl, event);
  }
  event = kc_call_event (call, KC_EVENT_KIND_CALL_STATE, 0, NULL);
  kc_event_set_attr (event, "state", "ended");
  kc_event_set_attr_int (event, "status", status);
  if (media != NULL) {
    set_leg_attrs (event, "caller", &legs[0]);
    set_leg_attrs (event, "callee", &legs[1]);
  }
  kc_event_set_summary_printf (event, "call %s → %s ended: %d %s", call->caller, call->callee,
                               status, reason ? reason : "");
  kc_controller_emit (ctrl, event);
  event = kc_call_event (call, KC_EVENT_KIND_CDR, 0, NULL);
  kc_event_set_attr (event, "outcome", cdr.outcome);
  kc_event_set_attr_int (event, "status", status);
  if (call->answered_at)
    kc_event_set_attr_int (event, "duration_ms", (cdr.ended_at - call->answered_at) / 1000);
  kc_event_set_attr (event, "reason", reason);
  if (call->keying)
    kc_event_set_key_id (event, call->keying->id_hex);
  kc_event_set_summary_printf (event, "CDR %s → %s: %s", call->caller, call->callee, cdr.outcome);
  kc_controller_emit (ctrl, event);
  g_message ("Call %s → %s (%s) ended: %d %s%s%s", call->caller, call->callee, call->id, status,
             reason ? reason : cdr.outcome, media ? "; media relay: " : "", media ? media : "");

  /* Whatever step mode still holds of this call never goes out; a held
   * PRACK gets its answer now, after the CDR, like every end. */
  kc_step_gate_drop_owner (kc_controller_get_step_gate (ctrl), call);

  /* The key is no use any more: wipe it now. */
  g_clear_pointer (&call->keying, kc_keying_free);
  call->cleanup_id = g_idle_add (on_cleanup, call);
}

/* Events and replies ------------------------------------------------------------ */

KcEvent *
kc_call_event (KcCall *call, KcEventKind kind, int fig3, const char *peer)
{
  KcEvent *event = kc_controller_event (call->ctrl, kind, fig3, call->id, peer);

  if (call->keying != NULL)
    kc_event_set_key (event, &call->keying->id, call->keying->key);
  return event;
}

void
kc_call_emit_key (KcCall *call, KcEventKind kind, int fig3, const char *peer,
                  const char *format, ...)
{
  KcEvent *event = kc_call_event (call, kind, fig3, peer);
  g_autofree char *summary = NULL;
  va_list ap;

  va_start (ap, format);
  summary = g_strdup_vprintf (format, ap);
  va_end (ap);
  kc_event_set_summary (event, summary);
  kc_controller_emit (call->ctrl, event);
}

void
kc_call_emit_request (KcCall *call, int fig3, const char *peer, nta_outgoing_t *orq,
                      gint64 sent_at)
{
  msg_t *msg = orq && orq != NONE ? nta_outgoing_getrequest (orq) : NULL;

  if (msg != NULL) {
    kc_controller_emit_msg (call->ctrl, TRUE, sent_at, fig3, call->id, peer, msg);
    msg_destroy (msg);
  }
}

void
kc_call_emit_response (KcCall *call, int fig3, const char *peer, nta_incoming_t *irq,
                       gint64 sent_at)
{
  msg_t *msg = nta_incoming_getresponse (irq);

  if (msg != NULL) {
    kc_controller_emit_msg (call->ctrl, TRUE, sent_at, fig3, call->id, peer, msg);
    msg_destroy (msg);
  }
}

void
kc_call_emit_received (KcCall *call, int fig3, const char *peer, msg_t *msg)
{
  if (msg != NULL)
    kc_controller_emit_msg (call->ctrl, FALSE, 0, fig3, call->id, peer, msg);
}

/* The step gate (kc-step.h) ----------------------------------------------------- */

void
kc_call_gate (KcCall *call, int fig3, const char *peer, const char *what, KcStepFunc send,
              KcStepFunc drop, gpointer data)
{
  g_autofree char *text = fig3 > 0 ? g_strdup_printf ("%d %s", fig3, what) : g_strdup (what);

  kc_step_gate_submit (kc_controller_get_step_gate (call->ctrl), call, call->id, fig3, peer,
                       text, send, drop, data);
}

/* A response upstream, built now and sent when the gate lets it. */
typedef struct {
  KcCall *call;
  int     fig3;
  int     status;
  msg_t  *msg;
} UpReply;

static void
up_reply_free (UpReply *r)
{
  if (r->msg != NULL)
    msg_destroy (r->msg);
  kc_call_unref (r->call);
  g_free (r);
}

static void
up_reply_send (gpointer data)
{
  UpReply *r = data;
  KcCall *call = r->call;

  if (call->up_irq != NULL && call->up_status == 0) {
    gint64 sent_at = g_get_real_time ();

    /* mreply takes the message, sent or not. */
    nta_incoming_mreply (call->up_irq, g_steal_pointer (&r->msg));
    if (r->status >= 200)
      call->up_status = r->status;
    kc_call_emit_response (call, r->fig3, call->up_lane, call->up_irq, sent_at);
  }
  up_reply_free (r);
}

static void
up_reply_drop (gpointer data)
{
  up_reply_free (data);
}

/* A response built ahead of time has no To tag yet (nta adds the
 * transaction's own only when it replies at once): the dialog's. */
static gboolean
with_to_tag (KcCall *call, msg_t *msg)
{
  sip_t *sip = sip_object (msg);
  const char *tag = nta_incoming_gettag (call->up_irq);

  if (sip == NULL || sip->sip_to == NULL)
    return FALSE;
  if (sip->sip_to->a_tag != NULL || tag == NULL)
    return TRUE;
  return sip_to_tag (msg_home (msg), sip->sip_to, tag) == 0;
}

/* 100 Trying and failures go at once: the first only keeps the caller's
 * transaction alive, the second ends the call (which drops what the gate
 * held of it). Everything else waits in the gate when step mode is on. */
void
kc_call_up_reply (KcCall *call, int fig3, int status, const char *phrase,
                  tag_type_t tag, tag_value_t value, ...)
{
  gint64 sent_at = g_get_real_time ();
  ta_list ta;

  if (call->up_irq == NULL || call->up_status != 0)
    return;
  ta_start (ta, tag, value);
  if (status == 100 || status >= 300) {
    if (status >= 300)
      kc_step_gate_drop_owner (kc_controller_get_step_gate (call->ctrl), call);
    nta_incoming_treply (call->up_irq, status, phrase,
                         SIPTAG_CONTACT_STR (kc_controller_get_contact (call->ctrl)),
                         ta_tags (ta));
    if (status >= 200)
      call->up_status = status;
    kc_call_emit_response (call, fig3, call->up_lane, call->up_irq, sent_at);
  }
  else {
    UpReply *r = g_new0 (UpReply, 1);
    g_autofree char *what = g_strdup_printf ("%d %s → %s", status, phrase, call->up_lane);

    r->call = kc_call_ref (call);
    r->fig3 = fig3;
    r->status = status;
    /* What nta_incoming_treply() does, short of sending. */
    r->msg = nta_msg_create (kc_controller_get_agent (call->ctrl), 0);
    if (r->msg == NULL
        || nta_incoming_complete_response (call->up_irq, r->msg, status, phrase,
                                           SIPTAG_CONTACT_STR (kc_controller_get_contact (call->ctrl)),
                                           ta_tags (ta)) < 0
        || !with_to_tag (call, r->msg)) {
      up_reply_free (r);
      g_warning ("Call %s: cannot build the %d response", call->id, status);
    }
    else
      kc_call_gate (call, fig3, call->up_lane, what, up_reply_send, up_reply_drop, r);
  }
  (void) ta_end (ta);
}

/* RFC 3326: a controller that ends a call tells the next hop why, so its
 * CDR says more than "hung up". */
static char *
reason_header (int status, const char *phrase)
{
  g_autofree char *text = NULL;

  if (status <= 0)
    return NULL;
  text = g_strdelimit (g_strdup (phrase ? phrase : ""), "\"\\\r\n", '\'');
  return g_strdup_printf ("SIP;cause=%d;text=\"%s\"", status, text);
}

/* Why the other side ended it, from its Reason header (or NULL). */
char *
kc_call_reason_of (KcCall *call, sip_t const *sip, const char *lane)
{
  g_autofree char *text = NULL;

  if (sip == NULL || sip->sip_reason == NULL || sip->sip_reason->re_text == NULL)
    return NULL;
  text = g_strdup (sip->sip_reason->re_text);
  if (text[0] == '"' && strlen (text) >= 2 && text[strlen (text) - 1] == '"') {
    memmove (text, text + 1, strlen (text));
    text[strlen (text) - 1] = '\0';
  }
  return g_strdup_printf ("%s (reported by %s)", text, lane);
}

void
kc_call_send_bye (KcCall *call, gboolean upstream, const char *reason)
{
  nta_leg_t *leg = upstream ? call->up_leg : call->down_leg;
  gint64 sent_at = g_get_real_time ();
  nta_outgoing_t *bye;

  if (leg == NULL)
    return;
  bye = nta_outgoing_tcreate (leg, NULL, NULL, NULL, SIP_METHOD_BYE, NULL,
                              TAG_IF (reason, SIPTAG_REASON_STR (reason)), TAG_END ());
  kc_call_emit_request (call, 0, upstream ? call->up_lane : call->down_lane, bye, sent_at);
  if (bye != NULL && bye != NONE)
    nta_outgoing_destroy (bye);
  if (upstream)
    call->up_bye_sent = TRUE;
  else
    call->down_bye_sent = TRUE;
}

void
kc_call_send_ack (KcCall *call, sip_t const *response)
{
  gint64 sent_at = g_get_real_time ();
  nta_outgoing_t *ack = nta_outgoing_tcreate (call->down_leg, NULL, NULL, NULL, SIP_METHOD_ACK,
                                              NULL, SIPTAG_CSEQ (response->sip_cseq), TAG_END ());

  kc_call_emit_request (call, 330, call->down_lane, ack, sent_at);
  if (ack != NULL && ack != NONE)
    nta_outgoing_destroy (ack);
}

/* @status > 0: the call failed with it, say so in a Reason header. */
void
kc_call_stop_downstream (KcCall *call, int status, const char *phrase)
{
  g_autofree char *reason = reason_header (status, phrase);

  if (call->down_orq != NULL && call->down_status == 0 && !call->down_cancelled) {
    KcEvent *event = kc_call_event (call, KC_EVENT_KIND_SIP_TX, 0, call->down_lane);

    /* Emitted before the CANCEL goes, like every message sent. */
    call->down_cancelled = TRUE;
    kc_event_set_attr (event, "method", "CANCEL");
    kc_event_set_summary_printf (event, "→ CANCEL %s", call->down_lane);
    kc_controller_emit (call->ctrl, event);
    nta_outgoing_tcancel (call->down_orq, NULL, NULL,
                          TAG_IF (reason, SIPTAG_REASON_STR (reason)), TAG_END ());
  }
  else if (call->down_status >= 200 && call->down_status < 300 && !call->down_bye_sent)
    kc_call_send_bye (call, FALSE, reason);
}

void
kc_call_stop_upstream (KcCall *call, int status, const char *phrase)
{
  if (call->up_status == 0)
    kc_call_up_reply (call, 0, status, phrase, TAG_END ());
  else if (call->up_status < 300 && !call->up_bye_sent) {
    g_autofree char *reason = status >= 300 ? reason_header (status, phrase) : NULL;

    kc_call_send_bye (call, TRUE, reason);
  }
}

void
kc_call_fail (KcCall *call, int status, const char *phrase, const char *outcome,
              const char *reason)
{
  if (call->state == CALL_ENDED)
    return;
  kc_call_end (call, status, outcome ? outcome : "failed", reason ? reason : phrase);
  kc_call_stop_downstream (call, status, phrase);
  kc_call_stop_upstream (call, status, phrase);
}

void
kc_call_key_ack_failed (KcCall *call, int fig3, const char *peer, const char *reason,
                        nta_incoming_t *request)
{
  gboolean ending = call->state != CALL_ENDED;

  kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK_FAILED, fig3, peer, "%d key acknowledgment "
                    "failed: %s", fig3, reason);
  /* The 488 to the acknowledgment already tells its sender the call failed. */
  if (ending)
    kc_call_end (call, 488, "failed", reason);
  if (request != NULL) {
    gint64 sent_at = g_get_real_time ();

    nta_incoming_treply (request, 488, "Key acknowledgment failed", TAG_END ());
    kc_call_emit_response (call, fig3, peer, request, sent_at);
  }
  if (ending) {
    kc_call_stop_downstream (call, 488, "Key acknowledgment failed");
    kc_call_stop_upstream (call, 488, "Key acknowledgment failed");
  }
}

/* Media anchoring ---------------------------------------------------------------- */

KcRelayCall *
kc_call_get_relay_call (KcCall *call)
{
  return call->relay_call;
}

/* The relay forwards a call's media only once the ends this controller
 * answers for have acknowledged the key: the callee's (322, or 324 relayed
 * by the destination controller) and, where this controller made the key,
 * the caller's (328). Until then packets are dropped and counted. */
void
kc_call_update_forwarding (KcCall *call)
{
  gboolean acked = call->callee_acked && (!call->source || call->caller_acked);

  if (call->relay_call != NULL)
    kc_relay_call_set_forwarding (call->relay_call, acked);
}

/* The value ("keycall …") of @sdp's a=key-mgmt:keycall line, or NULL.
 * Free with kc_sip_text_free(): it may be a key. */
static char *
key_mgmt_value (const char *sdp)
{
  static const char attr[] = "a=key-mgmt:";
  static const char protocol[] = KC_KEY_MGMT_PROTOCOL " ";

  for (const char *p = sdp; *p != '\0'; p += strspn (p, "\r\n")) {
    gsize len = strcspn (p, "\r\n");

    if (len > strlen (attr) + strlen (protocol)
        && g_ascii_strncasecmp (p, attr, strlen (attr)) == 0
        && g_ascii_strncasecmp (p + strlen (attr), protocol, strlen (protocol)) == 0)
      return g_strndup (p + strlen (attr), len - strlen (attr));
    p += len;
  }
  return NULL;
}

KcSdpMedia *
kc_call_sdp_media (const char *sdp, GError **error)
{
  char *plain = kc_sdp_with_key_mgmt (sdp, NULL);
  KcSdpMedia *media = kc_sdp_media_parse (plain, error);

  kc_sip_text_free (plain);
  return media;
}

char *
kc_call_sdp_anchor (const char *sdp, const char *address, guint16 port, GError **error)
{
  char *value = key_mgmt_value (sdp);
  char *plain = kc_sdp_with_key_mgmt (sdp, NULL);
  g_autofree char *rewritten = kc_sdp_media_rewrite (plain, address, port, error);
  char *anchored = rewritten ? kc_sdp_with_key_mgmt (rewritten, value) : NULL;

  kc_sip_text_free (plain);
  kc_sip_text_free (value);
  return anchored;
}

/* Ends the call with @status; the upstream side's final response also
 * carries a Warning (RFC 3261, 20.43) saying what went wrong. */
static void
media_fail (KcCall *call, int status, const char *phrase, const char *why)
{
  const char *host = kc_controller_get_config (call->ctrl)->host;
  g_autofree char *text = g_strdelimit (g_strdup (why), "\"\\\r\n", '\'');
  g_autofree char *warning = g_strdup_printf (strchr (host, ':') ? "399 [%s] \"%s\""
                                                                 : "399 %s \"%s\"", host, text);

  g_warning ("Call %s: %s", call->id, why);
  kc_call_end (call, status, "failed", why);
  kc_call_up_reply (call, 0, status, phrase, SIPTAG_WARNING_STR (warning), TAG_END ());
  kc_call_stop_downstream (call, status, phrase);
  kc_call_stop_upstream (call, status, phrase);
}

/* Tells the relay where @leg's endpoint receives, from @sdp (which it
 * sent), and replaces *@sdp with one pointing at the other leg: what goes
 * to the other endpoint. */
static gboolean
anchor_side (KcCall *call, KcRelayLeg leg, char **sdp, GError **error)
{
  KcRelay *relay = kc_controller_get_relay (call->ctrl);
  KcRelayLeg other = leg == KC_RELAY_LEG_CALLER ? KC_RELAY_LEG_CALLEE : KC_RELAY_LEG_CALLER;
  g_autoptr(KcSdpMedia) media = kc_call_sdp_media (*sdp, error);
  char *anchored;

  if (media == NULL)
    return FALSE;
  /* Port 0 refuses the stream (RFC 3264): nothing to relay, nothing to hide. */
  if (media->port == 0)
    return TRUE;
  if (!kc_relay_call_set_remote (call->relay_call, leg, media->address, media->port,
                                 media->rtcp_port, error)
      || (anchored = kc_call_sdp_anchor (*sdp, kc_relay_get_address (relay),
                                         kc_relay_call_get_port (call->relay_call, other),
                                         error)) == NULL)
    return FALSE;
  kc_sip_text_free (*sdp);
  *sdp = anchored;
  return TRUE;
}

/* [media] relay=allow-direct: the call is not anchored when every
 * subscriber this controller serves in it asked for direct media. The rule
 * reads only the subscribers' requests, never whether a tap matches, so a
 * tapped call takes the same path as any other (claim 5). */
static gboolean
media_goes_direct (KcCall *call)
{
  if (!kc_controller_get_config (call->ctrl)->relay_allow_direct
      || (!call->source && !call->destination))
    return FALSE;
  return (!call->source || call->caller_direct) && (!call->destination || call->callee_direct);
}

static void
emit_media_direct (KcCall *call)
{
  KcEvent *event = kc_call_event (call, KC_EVENT_KIND_MEDIA_START, 0, NULL);
  const char *who = call->source && call->destination ? "caller and callee"
                    : call->source ? "the caller" : "the callee";

  kc_event_set_attr (event, "path", "direct");
  kc_event_set_summary_printf (event, "media not anchored: %s asked for direct media "
                               "([media] relay=allow-direct)", who);
  kc_controller_emit (call->ctrl, event);
}

gboolean
kc_call_media_offer (KcCall *call)
{
  KcRelay *relay = kc_controller_get_relay (call->ctrl);
  g_autoptr(GError) error = NULL;
  KcEvent *event;
  guint16 caller_port, callee_port;

  if (relay == NULL || call->offer == NULL || call->relay_call != NULL)
    return TRUE;
  if (media_goes_direct (call)) {
    emit_media_direct (call);
    return TRUE;
  }
  if ((call->relay_call = kc_relay_call_new (relay, call->id, &error)) == NULL) {
    media_fail (call, 503, "No media relay ports free", error->message);
    return FALSE;
  }
  kc_call_update_forwarding (call);
  if (!anchor_side (call, KC_RELAY_LEG_CALLER, &call->offer, &error)) {
    g_autofree char *why = g_strdup_printf ("The SDP offer cannot be relayed: %s",
                                            error->message);

    media_fail (call, 488, "The SDP offer cannot be relayed", why);
    return FALSE;
  }

  kc_li_call_anchored (kc_controller_get_li (call->ctrl), call);
  caller_port = kc_relay_call_get_port (call->relay_call, KC_RELAY_LEG_CALLER);
  callee_port = kc_relay_call_get_port (call->relay_call, KC_RELAY_LEG_CALLEE);
  event = kc_call_event (call, KC_EVENT_KIND_MEDIA_START, 0, NULL);
  kc_event_set_attr (event, "path", "relay");
  kc_event_set_attr (event, "relay_address", kc_relay_get_address (relay));
  kc_event_set_attr_int (event, "caller_port", caller_port);
  kc_event_set_attr_int (event, "callee_port", callee_port);
  kc_event_set_summary_printf (event, "media anchored on %s: %s sends to port %u, %s to %u",
                               kc_relay_get_address (relay), call->up_lane, caller_port,
                               call->down_lane ? call->down_lane : call->callee, callee_port);
  kc_controller_emit (call->ctrl, event);
  return TRUE;
}

gboolean
kc_call_media_answer (KcCall *call, char **sdp)
{
  g_autoptr(GError) error = NULL;

  if (call->relay_call == NULL || *sdp == NULL)
    return TRUE;
  if (!anchor_side (call, KC_RELAY_LEG_CALLEE, sdp, &error)) {
    g_autofree char *why = g_strdup_printf ("The SDP answer of %s cannot be relayed: %s",
                                            call->down_lane, error->message);

    media_fail (call, 488, "The SDP answer cannot be relayed", why);
    return FALSE;
  }
  return TRUE;
}

/* Timers ------------------------------------------------------------------------ */

static gboolean
on_ack_timeout (gpointer data)
{
  KcCall *call = data;
  const char *reason = !call->callee_acked
                       ? "The callee never acknowledged the key (322)"
                       : "The caller never acknowledged the key (328)";

  /* A class stepping through the call takes its time. */
  if (kc_step_gate_is_active (kc_controller_get_step_gate (call->ctrl)))
    return G_SOURCE_CONTINUE;
  call->ack_timer = 0;
  kc_call_emit_key (call, KC_EVENT_KIND_KEY_ACK_FAILED,
                    call->callee_acked ? 328 : kc_call_fig_down_ack (call),
                    call->callee_acked ? call->up_lane : call->down_lane, "%s", reason);
  kc_call_fail (call, 504, "Key acknowledgment timed out", "failed", reason);
  return G_SOURCE_REMOVE;
}

void
kc_call_start_ack_timer (KcCall *call, gboolean via_peer)
{
  double seconds = kc_controller_get_config (call->ctrl)->ack_timeout;

  g_clear_handle_id (&call->ack_timer, g_source_remove);
  call->ack_timer = g_timeout_add ((guint) ((seconds + (via_peer ? PEER_SLACK_S : 0)) * 1000),
                                   on_ack_timeout, call);
}

static gboolean
on_ring_timeout (gpointer data)
{
  KcCall *call = data;
  g_autofree char *reason = NULL;

  if (kc_step_gate_is_active (kc_controller_get_step_gate (call->ctrl)))
    return G_SOURCE_CONTINUE;
  reason = g_strdup_printf ("No answer within %g s",
                            kc_controller_get_config (call->ctrl)->ring_timeout);
  call->ring_timer = 0;
  kc_call_fail (call, 480, "No answer", "no-answer", reason);
  return G_SOURCE_REMOVE;
}

void
kc_call_start_ring_timer (KcCall *call)
{
  double seconds = kc_controller_get_config (call->ctrl)->ring_timeout;

  g_clear_handle_id (&call->ring_timer, g_source_remove);
  call->ring_timer = g_timeout_add ((guint) ((seconds + (call->destination ? 0 : PEER_SLACK_S))
                                             * 1000), on_ring_timeout, call);
}
