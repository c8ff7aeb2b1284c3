/* kc-cta.h: the CTA library, the softphone's call logic (the patent's
 * telephony adapter, FIG. 3 312-330 on the CTA side) that the headless front
 * end and the GTK window drive alike. Include this header only.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Registration with the controller. */
typedef enum {
  KC_CTA_REG_IDLE,           /* not started */
  KC_CTA_REG_REGISTERING,    /* first REGISTER on its way */
  KC_CTA_REG_REGISTERED,
  KC_CTA_REG_RECONNECTING,   /* a REGISTER failed for a reason that may pass; retrying */
  KC_CTA_REG_UNREGISTERING,
  KC_CTA_REG_UNREGISTERED,
  KC_CTA_REG_FAILED,         /* refused for good (403, 404, wrong certificate): no retry */
} KcCtaRegState;

typedef enum {
  KC_CTA_CALL_OUTGOING,      /* this phone is A, the caller */
  KC_CTA_CALL_INCOMING,      /* this phone is B, the callee */
} KcCtaCallDirection;

/* A call's life. Both directions go key-received, key-acknowledged, ringing,
 * answered, ended; failed ends a call that was never answered. An incoming
 * call rings only after the controller confirmed its acknowledgment. */
typedef enum {
  KC_CTA_CALL_STATE_CALLING,          /* outgoing: INVITE sent (316) */
  KC_CTA_CALL_STATE_INCOMING,         /* incoming: INVITE arrived (320) */
  KC_CTA_CALL_STATE_KEY_RECEIVED,     /* K accepted (320, or 326) and acknowledged */
  KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED, /* the controller accepted our acknowledgment */
  KC_CTA_CALL_STATE_RINGING,          /* the callee is being alerted */
  KC_CTA_CALL_STATE_ANSWERED,
  KC_CTA_CALL_STATE_ENDED,            /* an answered call hung up */
  KC_CTA_CALL_STATE_FAILED,           /* never answered: refused, cancelled, bad key, timeout */
} KcCtaCallState;

#define KC_TYPE_CTA_REG_STATE      (kc_cta_reg_state_get_type ())
#define KC_TYPE_CTA_CALL_DIRECTION (kc_cta_call_direction_get_type ())
#define KC_TYPE_CTA_CALL_STATE     (kc_cta_call_state_get_type ())

GType       kc_cta_reg_state_get_type       (void) G_GNUC_CONST;
GType       kc_cta_call_direction_get_type  (void) G_GNUC_CONST;
GType       kc_cta_call_state_get_type      (void) G_GNUC_CONST;

/* Stable lowercase words ("key-received"), as in events. */
const char *kc_cta_reg_state_to_string      (KcCtaRegState       state);
const char *kc_cta_call_direction_to_string (KcCtaCallDirection  direction);
const char *kc_cta_call_state_to_string     (KcCtaCallState      state);
gboolean    kc_cta_call_state_is_final      (KcCtaCallState      state);
/* Whether a call may go from @from to @to; the call refuses anything else. */
gboolean    kc_cta_call_state_can_change    (KcCtaCallDirection  direction,
                                             KcCtaCallState      from,
                                             KcCtaCallState      to);

/* Forbids TLS below 1.3 for this process (docs/protocol.md): unless the
 * user set OPENSSL_CONF, writes an OpenSSL configuration with MinProtocol =
 * TLSv1.3 (and no session tickets, NumTickets = 0) into @runtime_dir and
 * points OPENSSL_CONF at it. Call it before anything else uses OpenSSL. */
gboolean    kc_cta_tls13_only               (const char         *runtime_dir,
                                             GError            **error);

G_END_DECLS

#include "kc-cta-account.h"
#include "kc-cta-call.h"
