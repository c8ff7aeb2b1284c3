/* kc-cta-call.h: one call of the softphone, either direction: its state
 * machine (kc-cta.h), its peer, and its call key K with what the window
 * shows about it (key id, fingerprint, suite, when each acknowledgment
 * happened). K itself never leaves the object except as the per-direction
 * SRTP keys the media code asks for.
 */
#pragma once

#include <glib-object.h>

#include "kc-cta.h"
#include "kc-keys.h"
#include "kc-media.h"
#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_TYPE_CTA_CALL (kc_cta_call_get_type ())
G_DECLARE_FINAL_TYPE (KcCtaCall, kc_cta_call, KC, CTA_CALL, GObject)

/* Signals:
 *   state-changed (KcCtaCallState old, KcCtaCallState new)   after every change
 *   media-started ()   the SRTP stream runs (after "answered")
 *   hold-failed (const char *message)   kc_cta_call_hold() did not happen:
 *                      the call goes on as it was; @message is for a person
 * Properties (read-only, each notified): direction, state, peer-number,
 * peer-name, call-id (A's Call-ID, bound into K), status, reason, key-id
 * (32 hex digits), key-fingerprint, key-origin, key-derived, suite, key-received-time,
 * ack-sent-time, ack-confirmed-time (UNIX µs, 0 until it happens), held,
 * remote-held, hold-pending (see kc_cta_call_hold). */

KcCtaCallDirection kc_cta_call_get_direction       (KcCtaCall     *self);
KcCtaCallState     kc_cta_call_get_state           (KcCtaCall     *self);
const char        *kc_cta_call_get_peer_number     (KcCtaCall     *self);
/* The peer's display name, or NULL. */
const char        *kc_cta_call_get_peer_name       (KcCtaCall     *self);
const char        *kc_cta_call_get_call_id         (KcCtaCall     *self);
/* The SIP status that ended the call (or the last one seen), and why, for a
 * person: "Busy Here", "The key in the INVITE is unusable: ...". */
guint              kc_cta_call_get_status          (KcCtaCall     *self);
const char        *kc_cta_call_get_reason          (KcCtaCall     *self);

/* Once the key is received: its id (32 hex), its fingerprint, whether it
 * was derived from the signaling secret (claim 3). NULL / FALSE before. */
const char        *kc_cta_call_get_key_id          (KcCtaCall     *self);
const char        *kc_cta_call_get_key_fingerprint (KcCtaCall     *self);
gboolean           kc_cta_call_get_key_derived     (KcCtaCall     *self);
/* The name of the controller that created K (FIG. 3, 408): this phone's
 * own for a call it placed; for an incoming call, the caller's controller
 * as our controller verified it from its certificate. NULL before the key,
 * or when our controller did not say. */
const char        *kc_cta_call_get_key_origin      (KcCtaCall     *self);
KcSuite            kc_cta_call_get_suite           (KcCtaCall     *self);
gint64             kc_cta_call_get_key_received_time  (KcCtaCall  *self);
gint64             kc_cta_call_get_ack_sent_time      (KcCtaCall  *self);
gint64             kc_cta_call_get_ack_confirmed_time (KcCtaCall  *self);
/* UNIX µs when the call was answered; 0 before. */
gint64             kc_cta_call_get_answered_time   (KcCtaCall     *self);
/* "ended 200 remote hangup" / "failed 486 Busy Here": one line for a person. */
char              *kc_cta_call_describe_end        (KcCtaCall     *self);

/* The SRTP master key and salt for @direction, derived from K with
 * kc_srtp_key_derive() for the call's suite. KC_ERROR_CLOSED before the key
 * is acknowledged or after the call ended. */
KcSecret          *kc_cta_call_get_srtp_key        (KcCtaCall     *self,
                                                    KcDirection    direction,
                                                    GError       **error);

/* The call's audio stream (NULL before the first SDP); its statistics
 * stay readable after the call ended. */
KcMediaStream     *kc_cta_call_get_media           (KcCtaCall     *self);
gboolean           kc_cta_call_get_media_stats     (KcCtaCall     *self,
                                                    KcMediaStats  *stats);
/* "SRTP AES_CM_128_HMAC_SHA1_80, opus/48000, 127.0.0.1:40002 → …, audio in
 * …, out …" once media started; NULL before. */
const char        *kc_cta_call_describe_media      (KcCtaCall     *self);
/* Microphone mute: silence is sent instead of what is captured (the
 * stream, its SRTP and RTCP go on). Property "muted", notified. */
void               kc_cta_call_set_muted           (KcCtaCall     *self,
                                                    gboolean       muted);
gboolean           kc_cta_call_get_muted           (KcCtaCall     *self);
/* The level of the last 20 ms sent (@input, after mute) and played or
 * written (@output), in dBFS (-100 for silence or no media); for meters,
 * read at any rate from the main thread. */
void               kc_cta_call_get_levels          (KcCtaCall     *self,
                                                    double        *input_dbfs,
                                                    double        *output_dbfs);
/* RFC 4733: @digit (0-9, *, #, A-D) for 100 ms. KC_ERROR_CLOSED when no
 * media runs, KC_ERROR_UNSUPPORTED when the peer takes no telephone events. */
gboolean           kc_cta_call_send_dtmf           (KcCtaCall     *self,
                                                    char           digit,
                                                    GError       **error);
/* Playout to a sound device: periods played as silence while audio was
 * arriving (gaps a person hears), frames skipped to catch up a lag. */
void               kc_cta_call_get_playout         (KcCtaCall     *self,
                                                    guint64       *underruns,
                                                    guint64       *skipped);
/* The JACK client name of the call's sound device, or NULL. */
const char        *kc_cta_call_get_jack_client     (KcCtaCall     *self);

/* Incoming call: answer (200) once ringing; asked earlier, it answers as
 * soon as the key is acknowledged. */
gboolean           kc_cta_call_answer              (KcCtaCall     *self,
                                                    GError       **error);
/* Incoming call not answered yet: refuse with @status (400..699). */
gboolean           kc_cta_call_reject              (KcCtaCall     *self,
                                                    guint          status,
                                                    GError       **error);
/* Hold and resume (docs/protocol.md): an in-dialog re-INVITE with the same
 * codec, suite and key (no key line), a=sendonly to hold, a=sendrecv to
 * resume. Asynchronous: "hold-pending" is TRUE until the answer; a 2xx
 * sets "held", anything else emits "hold-failed" and leaves the call as
 * it was. While either end holds (held or remote-held), this phone sends
 * no RTP (RTCP goes on) and plays silence; the SRTP stream, its ports and
 * keys stay. KC_ERROR_CLOSED when the call is not answered or has no
 * media, KC_ERROR_EXISTS while a hold or resume is in progress. Asking
 * for the state the call is in already does nothing and returns TRUE. */
gboolean           kc_cta_call_hold                (KcCtaCall     *self,
                                                    gboolean       hold,
                                                    GError       **error);
/* We hold the call (our re-INVITE was accepted). */
gboolean           kc_cta_call_get_held            (KcCtaCall     *self);
/* The peer holds it (its last SDP takes receiving out). */
gboolean           kc_cta_call_get_remote_held     (KcCtaCall     *self);
gboolean           kc_cta_call_get_hold_pending    (KcCtaCall     *self);
/* Either direction, any state: CANCEL before the answer, BYE after. The
 * call ends once the controller replied (or the transaction timed out). */
void               kc_cta_call_hangup              (KcCtaCall     *self);

G_END_DECLS
