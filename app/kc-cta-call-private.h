/* kc-cta-call-private.h: the inside of a KcCtaCall, shared by its object
 * code (kc-cta-call.c) and its SIP code (kc-cta-call-sip.c, -caller.c, -callee.c).
 */
#pragma once

#include "kc-cta-audio.h"
#include "kc-cta-keying.h"
#include "kc-cta-private.h"
#include "kc-sdp-media.h"

G_BEGIN_DECLS

struct _KcCtaCall {
  GObject             parent_instance;

  KcCtaAccount       *account;          /* weak */
  KcCtaCallDirection  direction;
  KcCtaCallState      state;
  char               *peer_number;
  char               *peer_name;
  char               *call_id;          /* A's Call-ID: bound into K and the ACKs */
  guint               status;
  char               *reason;

  KcSecret           *key;              /* K; wiped when the call ends */
  KcKeyId             key_id;
  char                key_id_hex[KC_KEY_ID_TEXT_LEN];
  char                fingerprint[KC_FINGERPRINT_LEN];
  gboolean            has_key;
  gboolean            derived;
  char               *key_origin;       /* the controller that created K, or NULL */
  KcSuite             suite;
  gint64              key_received_time;
  gint64              ack_sent_time;
  gint64              ack_confirmed_time;
  gint64              answered_time;

  /* sofia-sip */
  char               *request_uri;      /* outgoing: sips:NUMBER@domain */
  nta_leg_t          *leg;
  nta_outgoing_t     *invite;           /* outgoing: our INVITE */
  nta_outgoing_t     *key_prack;        /* outgoing: the PRACK carrying our ACK (328) */
  nta_outgoing_t     *bye;
  nta_incoming_t     *irq;              /* incoming: the INVITE */
  nta_reliable_t     *rel;              /* incoming: our reliable 180 (322) */
  guint32             rseq;             /* outgoing: last reliable 1xx PRACKed */
  guint64             sdp_session;
  guint64             sdp_version;      /* o= version of our last SDP; 0 before a re-INVITE */
  gboolean            got_final;        /* outgoing: the INVITE has its final response */
  gboolean            remote_ringing;   /* outgoing: 180 came before the ACK was confirmed */
  gboolean            answer_pending;   /* incoming: answer asked before the ACK was confirmed */
  gboolean            final_sent;       /* incoming: the INVITE has its final response */
  gboolean            separate;         /* the key came in a MESSAGE (delivery "separate") */
  gboolean            hanging_up;
  gboolean            local_hangup;
  guint               hangup_timer;
  guint               cleanup_idle;

  /* media (kc-cta-call-media.c) */
  KcMediaStream      *media;            /* bound with the first SDP, started at ANSWERED */
  KcCtaAudio         *audio;
  KcSdpMedia         *remote_media;     /* the offer (incoming) or answer (outgoing) */
  KcSdpChoice         media_choice;     /* codec, telephone events, suite */
  char               *media_summary;
  gboolean            muted;
  /* hold (kc-cta-call-hold.c) */
  gboolean            held;             /* we hold the call (our re-INVITE got its 2xx) */
  gboolean            remote_held;      /* the peer's last SDP takes receiving out */
  gboolean            hold_wanted;      /* what our re-INVITE in progress asks */
  nta_outgoing_t     *reinvite;         /* ours, until its final response */
  guint64             playout_underruns;  /* kept from the audio when it stops */
  guint64             playout_skipped;
};

/* kc-cta-call.c */
void      kc_cta_call_set_state   (KcCtaCall      *self,
                                   KcCtaCallState  state);
/* Ends the call (FAILED, or ENDED once answered) with @status and @reason,
 * wipes K and releases the sofia-sip objects from an idle. */
void      kc_cta_call_finish      (KcCtaCall      *self,
                                   guint           status,
                                   const char     *reason);
/* Stores K and what is shown about it. */
void      kc_cta_call_take_key    (KcCtaCall      *self,
                                   KcSecret       *key,
                                   const KcKeyId  *key_id,
                                   gboolean        derived);
/* The controller that created K (property "key-origin"): our own for a
 * call we place; for an incoming call, what our controller's 320 named in
 * Keycall-Key-Origin. That header is believed only because it came from
 * our controller over the TLS connection its certificate was checked on
 * (the controller never passes one on from upstream). */
void      kc_cta_call_set_key_origin (KcCtaCall   *self,
                                      const char  *name);
/* NAME of a Keycall-Key-Origin value "controller:NAME", or NULL when
 * @value is NULL or not of that form. */
char     *kc_cta_key_origin_parse (const char     *value);
#define KC_CTA_KEY_ORIGIN_HEADER "Keycall-Key-Origin"
KcEvent  *kc_cta_call_event_new   (KcCtaCall      *self,
                                   KcEventKind     kind,
                                   int             fig3);
void      kc_cta_call_emit        (KcCtaCall      *self,
                                   KcEvent        *event);
/* @time_us: see kc_cta_account_emit_msg(). */
void      kc_cta_call_emit_msg    (KcCtaCall      *self,
                                   KcEventKind     kind,
                                   gint64          time_us,
                                   int             fig3,
                                   msg_t          *msg);
/* Drops every sofia-sip object (no callback comes after); in
 * kc-cta-call-sip.c. */
void      kc_cta_call_release     (KcCtaCall      *self);

/* kc-cta-call-sip.c: both directions */
void      kc_cta_call_note_ack_sent      (KcCtaCall      *self);
void      kc_cta_call_note_ack_confirmed (KcCtaCall      *self);
void      kc_cta_call_emit_key_events    (KcCtaCall      *self,
                                          int             key_fig3,
                                          int             ack_fig3);
void      kc_cta_call_emit_key_failure   (KcCtaCall      *self,
                                          int             fig3,
                                          const char     *why);
/* sip-tx for @orq, dated @sent_at (taken before it was created). The
 * step event that goes with a message (calling, the key received, our
 * acknowledgment) is emitted before the message is handed to sofia-sip. */
void      kc_cta_call_emit_tx            (KcCtaCall      *self,
                                          nta_outgoing_t *orq,
                                          int             fig3,
                                          gint64          sent_at);
void      kc_cta_call_start_hangup_timer (KcCtaCall      *self);
/* "399 keycall \"text\"" with @text made safe for a quoted string. */
char     *kc_cta_sip_quoted              (const char     *text);
void      kc_cta_call_cancel_invite      (KcCtaCall      *self,
                                          guint           status,
                                          const char     *why);
void      kc_cta_call_send_bye           (KcCtaCall      *self);
/* The status a call this phone hung up ends with when its BYE got
 * @status: a 2xx, or a 481 or 408 once the call was @answered, is a
 * normal end (200): both ends hung up at once, and the controller had
 * ended the call on the other end's BYE before ours came (RFC 3261: a
 * request for a dialog that is over gets 481). Anything else stays. */
guint     kc_cta_call_bye_end_status     (guint           status,
                                          gboolean        answered);
int       kc_cta_call_on_leg_request     (void           *magic,
                                          nta_leg_t      *leg,
                                          nta_incoming_t *irq,
                                          sip_t const    *sip);
void      kc_cta_call_sip_hangup         (KcCtaCall      *self);

/* The acknowledgment MESSAGE of a separate delivery got its answer. */
void      kc_cta_call_delivery_done      (KcCtaCall      *self,
                                          KcCtaDelivery  *delivery);
/* What the key MESSAGE (320) named as the key's origin, or NULL
 * (kc-cta-separate.c). */
const char *kc_cta_delivery_get_key_origin (KcCtaDelivery *self);

/* kc-cta-call-caller.c */
gboolean  kc_cta_call_sip_invite         (KcCtaCall      *self,
                                          GError        **error);
/* Ends an outgoing call not answered yet: CANCEL with a Reason, failed. */
void      kc_cta_call_fail_outgoing      (KcCtaCall      *self,
                                          guint           status,
                                          const char     *reason);
/* 326 as a MESSAGE: the key (acknowledged already), or why it was refused. */
void      kc_cta_call_delivery_key       (KcCtaCall      *self,
                                          KcCtaDelivery  *delivery);
void      kc_cta_call_delivery_failed    (KcCtaCall      *self,
                                          const char     *reason);

/* kc-cta-call-media.c */
/* A: binds the stream and writes the offer (every codec and suite of the
 * account). */
char     *kc_cta_call_media_offer        (KcCtaCall      *self,
                                          GError        **error);
/* B: reads A's offer, picks the codec and suite, binds the stream.
 * KC_ERROR_UNSUPPORTED / _INVALID: answer 488 with the message. */
gboolean  kc_cta_call_media_take_offer   (KcCtaCall      *self,
                                          const char     *body,
                                          gsize           len,
                                          GError        **error);
/* B: the answer, with @key_mgmt (may be NULL) at session level. */
char     *kc_cta_call_media_answer       (KcCtaCall      *self,
                                          const char     *key_mgmt);
/* A: reads B's answer (from the 183/180 or the 200). */
gboolean  kc_cta_call_media_take_answer  (KcCtaCall      *self,
                                          const char     *body,
                                          gsize           len,
                                          GError        **error);
/* The SDP of the agreed stream (codec, suite, port) with @direction, for
 * a re-INVITE or its answer; bump self->sdp_version first. */
char     *kc_cta_call_media_sdp          (KcCtaCall      *self,
                                          KcSdpDirection  direction,
                                          const char     *key_mgmt);
/* A re-offer or its answer: the same stream, codec and suite as agreed,
 * no key line (KC_ERROR_PERMISSION), else KC_ERROR_UNSUPPORTED naming
 * what changed. */
KcSdpMedia *kc_cta_call_media_read_update (KcCtaCall     *self,
                                           const char    *body,
                                           gsize          len,
                                           GError       **error);
/* Pauses the audio while either end holds the call, resumes it after. */
void      kc_cta_call_media_apply_hold   (KcCtaCall      *self);
void      kc_cta_call_media_start        (KcCtaCall      *self);
void      kc_cta_call_media_stop         (KcCtaCall      *self);

/* kc-cta-call-hold.c */
/* A re-INVITE from the controller (the peer holds or resumes). */
void      kc_cta_call_hold_incoming      (KcCtaCall      *self,
                                          nta_incoming_t *irq,
                                          sip_t const    *sip);
/* Sets held / remote-held, notifies them and applies them to the audio. */
void      kc_cta_call_set_hold_state     (KcCtaCall      *self,
                                          gboolean        held,
                                          gboolean        remote_held);
void      kc_cta_call_notify_hold_pending (KcCtaCall     *self);
/* Emitted by kc-cta-call.c: "hold-failed". */
void      kc_cta_call_emit_hold_failed   (KcCtaCall      *self,
                                          const char     *message);

/* kc-cta-call-callee.c */
gboolean  kc_cta_call_sip_accept         (KcCtaCall      *self,
                                          nta_incoming_t *irq,
                                          sip_t const    *sip);
void      kc_cta_call_sip_invite_in      (KcCtaCall      *self,
                                          sip_t const    *sip);
void      kc_cta_call_sip_answer         (KcCtaCall      *self);
/* A plain 180 (separate delivery: no key in it, nothing to PRACK). */
void      kc_cta_call_sip_ring           (KcCtaCall      *self);
void      kc_cta_call_sip_reject         (KcCtaCall      *self,
                                          guint           status,
                                          const char     *phrase,
                                          const char     *warning);

G_END_DECLS
