/* kc-cta-account.h: one subscriber's softphone account: its profile, its
 * TLS listener, its registration with its own controller (FIG. 3 312/314),
 * and the calls it places and receives. Only the controller named in the
 * profile is trusted: it alone may connect to the listener, and every
 * response and request is checked against its verified certificate.
 */
#pragma once

#include <glib-object.h>

#include "kc-event-bus.h"
#include "kc-profile.h"

G_BEGIN_DECLS

typedef struct _KcCtaCall KcCtaCall;

#define KC_CTA_DEFAULT_EXPIRES 600

#define KC_TYPE_CTA_ACCOUNT (kc_cta_account_get_type ())
G_DECLARE_FINAL_TYPE (KcCtaAccount, kc_cta_account, KC, CTA_ACCOUNT, GObject)

/* Signals:
 *   registered ()                                 every successful REGISTER
 *   reconnecting (const char *reason)             a REGISTER failed; retrying
 *   registration-failed (guint status, const char *reason)   refused for good
 *   unregistered ()
 *   incoming-call (KcCtaCall *call)               a new incoming call, state incoming
 *   call-added (KcCtaCall *call)                  any new call, either direction
 * Properties (read-only unless said): number, display-name, controller-name,
 * controller-uri ("sips:HOST:PORT"), state (KcCtaRegState), verified-certificate
 * ("keycall:controller:gc1" once a response came over a verified connection),
 * contact (our sips: Contact), expires (read-write, before start). */

/* Takes ownership of @profile (validated, e.g. by kc_profile_load()). */
KcCtaAccount  *kc_cta_account_new                (KcProfile      *profile);

/* Before start: the address and port to listen on (numeric; port 0 picks
 * one). Default: the local address that routes to the controller. */
void           kc_cta_account_set_listen         (KcCtaAccount   *self,
                                                  const char     *host,
                                                  guint16         port);
/* Optional, before start: events go to @bus (lane "cta:<number>"). */
void           kc_cta_account_set_event_bus      (KcCtaAccount   *self,
                                                  KcEventBus     *bus);
void           kc_cta_account_set_expires        (KcCtaAccount   *self,
                                                  guint           seconds);

/* Opens the TLS listener on the thread-default main context and starts
 * registering. FALSE if the listener cannot be opened. */
/* Where calls' audio comes from and goes to (kc-cta-audio.h): "none"
 * (the default), "default", "device:NAME|INDEX", "file:PATH" or a path.
 * Checked when a call starts its media; a bad one is reported then and
 * the call goes on with silence. */
void           kc_cta_account_set_audio          (KcCtaAccount   *self,
                                                  const char     *input,
                                                  const char     *output);
/* The codecs offered and accepted, best first: encoding names among
 * "opus", "PCMU", "PCMA" (the default is all three in that order).
 * KC_ERROR_UNSUPPORTED for another name, KC_ERROR_INVALID for none. */
gboolean       kc_cta_account_set_codecs         (KcCtaAccount   *self,
                                                  const char * const *codecs,
                                                  GError        **error);
/* The SRTP suites offered and accepted, best first, by RFC 4568 name
 * (default: AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM, AEAD_AES_256_GCM,
 * AES_CM_128_HMAC_SHA1_32). */
gboolean       kc_cta_account_set_suites         (KcCtaAccount   *self,
                                                  const char * const *suites,
                                                  GError        **error);

/* Asks the controller to let this subscriber's media go straight to the
 * other phone instead of through its relay ("Keycall-Media: direct" on
 * REGISTER and INVITE). Only a controller with [media] relay=allow-direct
 * honours it, and then for every call alike; keys, acknowledgments and SRTP
 * are the same either way. When registered, a REGISTER carries the change
 * at once; calls already placed keep their path. */
void           kc_cta_account_set_direct_media   (KcCtaAccount   *self,
                                                  gboolean        direct);
gboolean       kc_cta_account_get_direct_media   (KcCtaAccount   *self);
gboolean       kc_cta_account_start              (KcCtaAccount   *self,
                                                  GError        **error);
/* Removes the binding (Expires: 0); "unregistered" follows. */
void           kc_cta_account_unregister         (KcCtaAccount   *self);

/* Places a call to @number (digits, optional '+'); transfer full. NULL with
 * KC_ERROR_CLOSED when not registered, KC_ERROR_INVALID for a bad number. */
KcCtaCall     *kc_cta_account_call               (KcCtaAccount   *self,
                                                  const char     *number,
                                                  GError        **error);

const char    *kc_cta_account_get_number         (KcCtaAccount   *self);
const char    *kc_cta_account_get_display_name   (KcCtaAccount   *self);
const char    *kc_cta_account_get_controller_name (KcCtaAccount  *self);
const char    *kc_cta_account_get_controller_uri (KcCtaAccount   *self);
KcCtaRegState  kc_cta_account_get_state          (KcCtaAccount   *self);
const char    *kc_cta_account_get_verified_certificate (KcCtaAccount *self);
const char    *kc_cta_account_get_contact        (KcCtaAccount   *self);
/* The calls not yet ended or failed; borrowed. */
GPtrArray     *kc_cta_account_get_calls          (KcCtaAccount   *self);

G_END_DECLS
