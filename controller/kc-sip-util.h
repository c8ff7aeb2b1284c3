/* kc-sip-util.h: small SIP and SDP helpers of the controller.
 *
 * Who sent a message (from the TLS certificate sofia-sip verified, never
 * from a header), Keycall's own headers, SDP checked with sofia's parser and
 * the a=key-mgmt:keycall line put in or taken out of an SDP body.
 */
#pragma once

#include <glib.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/tport.h>

#include "kc-pki.h"

G_BEGIN_DECLS

#define KC_SIP_HEADER_KEY_MGMT   "Keycall-Key-Mgmt"
#define KC_SIP_HEADER_CALL       "Keycall-Call"
/* "Keycall-Media: direct" on a CTA's REGISTER and INVITE: its subscriber
 * asks for media straight between the phones; honoured only under
 * [media] relay=allow-direct (docs/protocol.md, "Direct media"). */
#define KC_SIP_HEADER_MEDIA      "Keycall-Media"
#define KC_SIP_MAX_MESSAGE       (64 * 1024)   /* NTATAG_MAXSIZE: bigger gets 413 */

/* What some nta functions return instead of an object ("(void *) -1"). */
#ifndef NONE
#define NONE ((void *) -1)
#endif

/* The holder of the verified certificate a message arrived with. */
typedef struct {
  KcRole  role;
  char   *identity;
  char   *serial;      /* upper-case hex, from the keycall:serial: subject */
} KcPeerIdentity;

void      kc_peer_identity_clear   (KcPeerIdentity *id);
/* "cta:1001", "controller:gc2": the event lane of a peer. */
char     *kc_peer_lane             (KcRole          role,
                                    const char     *identity);

/* Only valid inside the nta callback that delivers @msg (sofia keeps the
 * subjects of the delivering connection for that long). @tp is the
 * connection (nta_incoming_transport) or NULL to look it up from @msg.
 * KC_ERROR_PERMISSION when the connection is not verified TLS or the
 * certificate names nobody. */
gboolean  kc_sip_identify          (nta_agent_t    *agent,
                                    tport_t        *tp,
                                    msg_t          *msg,
                                    KcPeerIdentity *out,
                                    GError        **error);

/* The value of a header sofia does not know (Keycall-Call, …): NULL when
 * absent; FALSE with KC_ERROR_INVALID when it appears twice. */
gboolean  kc_sip_header_get        (sip_t const    *sip,
                                    const char     *name,
                                    const char    **value,
                                    GError        **error);

/* TRUE when @sip says "Keycall-Media: direct" (once, that value only:
 * anything else, or the header twice, counts as no request). */
gboolean  kc_sip_wants_direct_media (sip_t const   *sip);

/* The message as text for an event (the event redacts keys); g_free(). */
char     *kc_sip_msg_to_text       (msg_t          *msg);

/* The body of @sip as a NUL-terminated copy, or NULL without body.
 * KC_ERROR_INVALID when it is not application/sdp or does not parse;
 * wipe it with kc_sip_text_free() when it may hold a key. */
char     *kc_sip_get_sdp           (sip_t const    *sip,
                                    GError        **error);

/* @sdp with every a=key-mgmt:keycall line removed and, when @value is not
 * NULL, "a=key-mgmt:<value>" added at session level (before the first m=).
 * CRLF line ends. Free with kc_sip_text_free(): it may hold a key. */
char     *kc_sdp_with_key_mgmt     (const char     *sdp,
                                    const char     *value);

/* Wipes, then frees. */
void      kc_sip_text_free         (char           *text);

/* The user part of a SIP URI, or NULL. */
const char *kc_sip_url_user        (url_t const    *url);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (KcPeerIdentity, kc_peer_identity_clear)

G_END_DECLS
