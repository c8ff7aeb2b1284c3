/* kc-controller-call-private.h: the call record shared by the setup
 * (kc-controller-call-setup.c) and the state machine (kc-controller-call.c).
 */
#pragma once

#include "kc-controller-call.h"
#include "kc-keying.h"
#include "kc-relay.h"
#include "kc-sdp-media.h"
#include "kc-step.h"

G_BEGIN_DECLS

typedef enum {
  CALL_KEYING,        /* 408: the key is being stored */
  CALL_CALLING,       /* INVITE sent downstream (318/320) */
  CALL_EARLY,         /* callee acknowledged; 326 sent, waiting for 328 */
  CALL_RINGING,       /* both ends acknowledged */
  CALL_ANSWERED,
  CALL_ENDED,
} KcCallState;

typedef struct {
  int              refs;            /* the controller's list; store callbacks */
  KcController    *ctrl;
  KcCallState      state;
  char            *id;              /* A's Call-ID: keys, acks and the store use it */
  char            *caller;
  char            *callee;
  gboolean         source;          /* upstream is the caller's CTA: this controller made K */
  gboolean         destination;     /* downstream is the callee's CTA */
  gboolean         caller_direct;   /* source: the caller's INVITE asked for direct media */
  gboolean         callee_direct;   /* destination: the callee's REGISTER asked for it */
  KcKeying        *keying;
  gboolean         callee_acked;
  gboolean         caller_acked;
  gint64           started_at;
  gint64           answered_at;

  /* Upstream: the caller's CTA, or the source controller. */
  KcPeerIdentity   up;
  char            *up_lane;
  nta_leg_t       *up_leg;
  nta_incoming_t  *up_irq;
  uint32_t         up_invite_cseq;  /* the initial INVITE's: its ACK is 330, a re-INVITE's is not */
  nta_reliable_t  *up_rel;
  int              up_status;       /* final status sent upstream; 0 before */
  gboolean         up_bye_sent;
  char            *offer;           /* the SDP offer as received; pointed at the relay
                                     * once anchored (kc_call_media_offer) */
  char            *up_contact;      /* the caller's Contact URI (separate mode: 326) */
  gboolean         ringing_sent;    /* separate mode: 180 relayed upstream */

  /* Downstream: the callee's CTA, or the destination controller. */
  KcRole           down_role;
  char            *down_identity;
  char            *down_lane;
  char            *down_uri;        /* Request-URI */
  char            *down_route;      /* the peer's address, or NULL */
  nta_leg_t       *down_leg;
  nta_outgoing_t  *down_orq;
  int              down_status;     /* final status received; 0 before */
  gboolean         down_tagged;
  gboolean         down_cancelled;
  gboolean         down_bye_sent;
  gboolean         down_pending;    /* ended, waiting for the INVITE's final response */
  char            *early_answer;    /* SDP of the callee's 180 (with its ACK) */
  char            *early_ack_value; /* or its Keycall-Key-Mgmt header */
  char            *answer;          /* the 2xx SDP, held until 328 */
  gboolean         answer_held;

  /* Media anchoring: this call's two relay legs, from the offer until the
   * call ends; NULL when the controller does not relay media. */
  KcRelayCall     *relay_call;

  guint            ack_timer;
  guint            ring_timer;
  guint            stats_timer;     /* media-stats events while answered */
  guint            cleanup_id;
} KcCall;

/* How often an answered call's relay counters go out as a media-stats
 * event (the controller window's live packet counters). */
#define MEDIA_STATS_INTERVAL_S 2

/* A controller that hands a call to a peer waits a little longer than the
 * peer, so the peer, which sees the callee, reports first. */
#define PEER_SLACK_S  2.0

/* FIG. 3 numbers depend on where this controller sits on the path. */
static inline int kc_call_fig_down_invite (KcCall *call) { return call->destination ? 320 : 318; }
static inline int kc_call_fig_down_ack (KcCall *call) { return call->destination ? 322 : 324; }
static inline int kc_call_fig_up_early (KcCall *call) { return call->source ? 326 : 324; }

/* A new call from @from (its upstream), in the controller's list. */
KcCall  *kc_call_new                  (KcController *ctrl,
                                       const char  *id,
                                       const char  *caller,
                                       const char  *callee,
                                       const KcPeerIdentity *from);
/* Picks the downstream side (peer or registered subscriber); FALSE, with
 * the call failed, when there is none. */
gboolean kc_call_route                (KcCall      *call);
KcCall  *kc_call_ref                  (KcCall      *call);
void     kc_call_unref                (KcCall      *call);
/* Drops the sofia objects and the controller's reference (@force: even a
 * downstream INVITE still waiting for its final response). */
void     kc_call_release              (KcCall      *call,
                                       gboolean     force);
/* Creates the server leg of the upstream dialog for @irq. */
gboolean kc_call_bind_upstream        (KcCall      *call,
                                       nta_incoming_t *irq,
                                       sip_t const *sip);

KcEvent *kc_call_event                (KcCall      *call,
                                       KcEventKind  kind,
                                       int          fig3,
                                       const char  *peer);
void     kc_call_emit_key             (KcCall      *call,
                                       KcEventKind  kind,
                                       int          fig3,
                                       const char  *peer,
                                       const char  *format,
                                       ...) G_GNUC_PRINTF (5, 6);
void     kc_call_up_reply             (KcCall      *call,
                                       int          fig3,
                                       int          status,
                                       const char  *phrase,
                                       tag_type_t   tag,
                                       tag_value_t  value,
                                       ...);

/* An outgoing message of @call through the controller's step gate
 * (kc-step.h): @send(@data) runs now, or once the teacher says Next (step
 * mode) or the slow-motion delay passed; @drop(@data) instead if the call
 * ends first. @what names the message for the window ("INVITE + K →
 * controller:gc2"); @fig3 is put in front of it. Responses through
 * kc_call_up_reply() go through it by themselves. */
void     kc_call_gate                 (KcCall      *call,
                                       int          fig3,
                                       const char  *peer,
                                       const char  *what,
                                       KcStepFunc   send,
                                       KcStepFunc   drop,
                                       gpointer     data);

/* sip-tx / sip-rx events for messages of this call. A message sent is
 * dated @sent_at, taken before it went to sofia-sip (see
 * kc_controller_emit_msg); the step event that goes with it (key-sent …)
 * is emitted before it too, so a merged ladder shows the sender first. */
void     kc_call_emit_request         (KcCall      *call,
                                       int          fig3,
                                       const char  *peer,
                                       nta_outgoing_t *orq,
                                       gint64       sent_at);
void     kc_call_emit_response        (KcCall      *call,
                                       int          fig3,
                                       const char  *peer,
                                       nta_incoming_t *irq,
                                       gint64       sent_at);
void     kc_call_emit_received        (KcCall      *call,
                                       int          fig3,
                                       const char  *peer,
                                       msg_t       *msg);
/* @reason: a Reason header value (RFC 3326) or NULL. */
void     kc_call_send_bye             (KcCall      *call,
                                       gboolean     upstream,
                                       const char  *reason);
void     kc_call_send_ack             (KcCall      *call,
                                       sip_t const *response);
/* Cancels or hangs up downstream; @status > 0 says why in a Reason. */
void     kc_call_stop_downstream      (KcCall      *call,
                                       int          status,
                                       const char  *phrase);
/* Answers upstream with @status if it still waits, else hangs up. */
void     kc_call_stop_upstream        (KcCall      *call,
                                       int          status,
                                       const char  *phrase);
/* "text (reported by LANE)" from a Reason header, or NULL. */
char    *kc_call_reason_of            (KcCall      *call,
                                       sip_t const *sip,
                                       const char  *lane);

void     kc_call_send_invite          (KcCall      *call);
/* Which controller created K, for the callee's security panel: the
 * destination controller names the source in its 320 (INVITE, or the key
 * MESSAGE in delivery mode "separate"). Only this controller's certificate
 * check says who that is, so a Keycall-Key-Origin from upstream is never
 * copied: the downstream requests are built afresh. */
#define KC_SIP_HEADER_KEY_ORIGIN "Keycall-Key-Origin"
/* "Keycall-Key-Origin: controller:NAME" for @call's 320, NAME being this
 * controller when it made K, else the verified identity of the source
 * controller upstream; NULL when this controller is not the destination
 * (318 goes to a peer, which knows its upstream itself). */
char    *kc_call_key_origin_header    (KcCall      *call);
/* Seals call->keying to the law-enforcement key and stores it; once it is
 * durable the call goes on downstream (INVITE, or the first key MESSAGE in
 * delivery mode "separate"). The source controller does it for the key it
 * made (408), the destination for the key it received. */
void     kc_call_store_key            (KcCall      *call);
/* Delivery mode "separate" (kc-controller-call-separate.c): sends the
 * first key arrow (318 or 320 as a MESSAGE) once the key is stored. */
void     kc_call_separate_start       (KcCall      *call);
/* The call whose Keycall-Call is @id and that has not ended, or NULL. */
KcCall  *kc_call_find                 (KcController *ctrl,
                                       const char  *id);
void     kc_call_start_ack_timer      (KcCall      *call,
                                       gboolean     via_peer);
void     kc_call_start_ring_timer     (KcCall      *call);
/* From the answer on, while the call is relayed. */
void     kc_call_start_media_stats    (KcCall      *call);
/* After the 200 to the caller's acknowledgment (328): ringing, and the
 * answer held until then. */
void     kc_call_caller_acknowledged  (KcCall      *call);
/* Opens the relay to the call's media once its acknowledgments are in. */
void     kc_call_update_forwarding    (KcCall      *call);
/* Reports the failed acknowledgment, answers @request (the PRACK or
 * MESSAGE that carried it; may be NULL) with 488, then fails the call. */
void     kc_call_key_ack_failed       (KcCall      *call,
                                       int          fig3,
                                       const char  *peer,
                                       const char  *reason,
                                       nta_incoming_t *request);
/* Ends the call (its CDR durable first), then hangs up or cancels both
 * sides as needed and answers upstream with @status if it is still waiting. */
void     kc_call_fail                 (KcCall      *call,
                                       int          status,
                                       const char  *phrase,
                                       const char  *outcome,
                                       const char  *reason);
/* Writes the CDR and waits until it is durable, wipes the key, schedules
 * the release. Call it before sending whatever tells an end the call is
 * over (final response, 200 to BYE, BYE, CANCEL). */
void     kc_call_end                  (KcCall      *call,
                                       int          status,
                                       const char  *outcome,
                                       const char  *reason);

/* Media anchoring (kc-controller-call.c); both do nothing when the
 * controller does not relay media, or relays it but lets this call's
 * media go direct (relay=allow-direct and its subscribers here asked). The offer: takes the relay's ports for
 * the call, tells the relay where the caller receives and points
 * call->offer at the relay's callee side. FALSE, with the call failed, when
 * the relay has no ports left (503) or the offer cannot be relayed (488). */
gboolean     kc_call_media_offer      (KcCall      *call);
/* An answer (reliable 18x or 2xx): tells the relay where the callee
 * receives and replaces *@sdp by one pointing at the relay's caller side.
 * FALSE, with the call failed (488), when it cannot be relayed. */
gboolean     kc_call_media_answer     (KcCall      *call,
                                       char       **sdp);
/* Lawful intercept plugs in here: the relay call carrying @call's media
 * (NULL when not anchored), whose copy hook (kc_relay_call_set_copy_func)
 * sees every packet; kc-li.c sets it for tapped calls. */
KcRelayCall *kc_call_get_relay_call   (KcCall      *call);
/* The audio stream of @sdp, read with its key lines taken out. */
KcSdpMedia  *kc_call_sdp_media        (const char  *sdp,
                                       GError     **error);
/* @sdp pointed at @address:@port (kc_sdp_media_rewrite), its
 * a=key-mgmt:keycall line kept: the line is taken out first and put back
 * after, so a key never passes through buffers nobody wipes. Free the
 * result with kc_sip_text_free(). */
char        *kc_call_sdp_anchor       (const char  *sdp,
                                       const char  *address,
                                       guint16      port,
                                       GError     **error);

G_END_DECLS
