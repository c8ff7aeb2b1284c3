/* kc-cta-private.h: what KcCtaAccount and KcCtaCall share inside the CTA
 * library: the sofia-sip agent, the controller route, the peer check and
 * event helpers. Not for front ends.
 */
#pragma once

#define NTA_LEG_MAGIC_T      void
#define NTA_OUTGOING_MAGIC_T void
#define NTA_INCOMING_MAGIC_T void
#define NTA_RELIABLE_MAGIC_T void

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "kc-cta.h"
#include "kc-keys.h"
#include "kc-event.h"
#include "kc-profile.h"

G_BEGIN_DECLS

#define KC_CTA_USER_AGENT "Keycall/" PACKAGE_VERSION
#define KC_CTA_ALLOW      "INVITE, ACK, BYE, CANCEL, PRACK, OPTIONS, MESSAGE"
/* On REGISTER and INVITE when the subscriber asks for direct media
 * (kc_cta_account_set_direct_media). */
#define KC_CTA_MEDIA_DIRECT_HEADER "Keycall-Media: direct"

nta_agent_t      *kc_cta_account_get_agent    (KcCtaAccount    *self);
const KcProfile  *kc_cta_account_get_profile  (KcCtaAccount    *self);
/* The controller's URI: every request goes there, in-dialog ones too. */
const char       *kc_cta_account_get_route    (KcCtaAccount    *self);
const char       *kc_cta_account_get_domain   (KcCtaAccount    *self);
/* "\"Alice\" <sips:1001@domain>" */
const char       *kc_cta_account_get_aor      (KcCtaAccount    *self);
/* The numeric address this phone listens on (for its SDP). */
const char       *kc_cta_account_get_address  (KcCtaAccount    *self);
/* Media settings (kc-cta-account.h setters). */
const char       *kc_cta_account_get_audio_in (KcCtaAccount    *self);
const char       *kc_cta_account_get_audio_out (KcCtaAccount   *self);
const char * const *kc_cta_account_get_codecs (KcCtaAccount    *self);
GArray           *kc_cta_account_get_suites   (KcCtaAccount    *self);

/* Checks that @msg (being delivered right now, i.e. called from inside an
 * NTA callback) came over a verified TLS connection from our controller.
 * @orq for a response, @irq for a request. */
gboolean          kc_cta_account_check_peer   (KcCtaAccount    *self,
                                               nta_outgoing_t  *orq,
                                               nta_incoming_t  *irq,
                                               GError         **error);

/* For a final response being delivered now: logs it as sip-rx and checks
 * it came from our controller. Returns @status, or 403 with @error set
 * when the sender is not our controller; sofia's own internal responses
 * (timeouts) are neither logged nor checked. */
int               kc_cta_account_take_response (KcCtaAccount   *self,
                                               nta_outgoing_t  *orq,
                                               sip_t const     *sip,
                                               int              status,
                                               const char      *call_id,
                                               int              fig3,
                                               GError         **error);

/* A new event with lane, peer and @call_id filled in; emit with
 * kc_cta_account_emit(), which does nothing without a bus. */
KcEvent          *kc_cta_account_event_new    (KcCtaAccount    *self,
                                               KcEventKind      kind,
                                               const char      *call_id,
                                               int              fig3);
void              kc_cta_account_emit         (KcCtaAccount    *self,
                                               KcEvent         *event);
/* sip-rx / sip-tx with the whole message (redacted by the event), dated
 * @time_us (g_get_real_time) or now when 0. A message sent is dated just
 * before it went to sofia-sip, which writes it at once: in a ladder merged
 * by time the receiver's events would otherwise come before the sender's. */
void              kc_cta_account_emit_msg     (KcCtaAccount    *self,
                                               KcEventKind      kind,
                                               gint64           time_us,
                                               const char      *call_id,
                                               int              fig3,
                                               msg_t           *msg);

/* "call key received from the controller" (or derived) at @key_fig3, then
 * "key acknowledgment … → controller" at @ack_fig3, for @call_id; emitted
 * before the message carrying the acknowledgment goes out. */
void              kc_cta_account_emit_key_events (KcCtaAccount    *self,
                                                  const char      *call_id,
                                                  const KcKeyId   *key_id,
                                                  const KcSecret  *key,
                                                  gboolean         derived,
                                                  gboolean         caller,
                                                  int              key_fig3,
                                                  int              ack_fig3);

/* Called by a call when it becomes final. */
void              kc_cta_account_call_done    (KcCtaAccount    *self,
                                               KcCtaCall       *call);

/* Calls are made by the account only. */
KcCtaCall        *kc_cta_call_new_outgoing    (KcCtaAccount    *account,
                                               const char      *number,
                                               GError         **error);
/* A call for a new INVITE that arrived on the default leg (already checked
 * to come from our controller), in state incoming, with its dialog set up
 * but nothing replied yet; the account announces it, then hands the INVITE
 * to kc_cta_call_handle_invite(), which checks it and its key and replies. */
KcCtaCall        *kc_cta_call_new_incoming    (KcCtaAccount    *account,
                                               nta_incoming_t  *irq,
                                               sip_t const     *sip);
void              kc_cta_call_handle_invite   (KcCtaCall       *self,
                                               sip_t const     *sip);
/* The account goes away: drop every sofia-sip object, no more signalling. */
void              kc_cta_call_abandon         (KcCtaCall       *self);

/* Delivery mode "separate" (kc-cta-separate.c): a key that came in a
 * MESSAGE, and our acknowledgment MESSAGE. */
typedef struct _KcCtaDelivery KcCtaDelivery;

typedef enum {
  KC_CTA_DELIVERY_RECEIVED,
  KC_CTA_DELIVERY_ACK_SENT,
  KC_CTA_DELIVERY_CONFIRMED,   /* the controller answered our ACK with 2xx */
  KC_CTA_DELIVERY_FAILED,
} KcCtaDeliveryState;

/* A MESSAGE from our controller (already checked): takes its key. */
void                kc_cta_account_on_message     (KcCtaAccount    *self,
                                                   nta_incoming_t  *irq,
                                                   sip_t const     *sip);
/* The key waiting for the INVITE of @call_id (callee side), or NULL. */
KcCtaDelivery      *kc_cta_account_find_delivery  (KcCtaAccount    *self,
                                                   const char      *call_id);
void                kc_cta_account_drop_delivery  (KcCtaAccount    *self,
                                                   const char      *call_id);
void                kc_cta_delivery_free          (KcCtaDelivery   *self);
KcCtaDeliveryState  kc_cta_delivery_get_state     (KcCtaDelivery   *self);
const char         *kc_cta_delivery_get_failure   (KcCtaDelivery   *self);
void                kc_cta_delivery_get_times     (KcCtaDelivery   *self,
                                                   gint64          *ack_sent,
                                                   gint64          *ack_confirmed);
KcSecret           *kc_cta_delivery_copy_key      (KcCtaDelivery   *self,
                                                   KcKeyId         *key_id,
                                                   gboolean        *derived);
/* @call now owns the delivery's fate (holds a reference to it). */
void                kc_cta_delivery_attach        (KcCtaDelivery   *self,
                                                   KcCtaCall       *call);

/* The value of the first header called @name (case-insensitive) that sofia
 * did not parse itself, or NULL. */
const char       *kc_cta_sip_unknown_header   (sip_t const     *sip,
                                               const char      *name);
/* The text of a Reason header (RFC 3326) unquoted, or NULL. */
char             *kc_cta_sip_reason_text      (sip_t const     *sip);
/* Warning text or reason phrase of a response, for a person. */
char             *kc_cta_sip_reason           (sip_t const     *sip,
                                               int              status);

G_END_DECLS
