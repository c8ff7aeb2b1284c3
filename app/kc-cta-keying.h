/* kc-cta-keying.h: what the softphone does with a call's key-management
 * payloads (FIG. 3 320/322 as callee, 326/328 as caller) and its own SDP,
 * with no SIP stack involved: finding and checking the key, deriving it in
 * derived mode, making the acknowledgment, checking who sent it.
 */
#pragma once

#include <glib.h>

#include "kc-keys.h"
#include "kc-sdp-key.h"
#include "kc-sdp-media.h"
#include "kc-secret.h"

G_BEGIN_DECLS

/* Header carrying a payload in a message without SDP (328's PRACK). */
#define KC_CTA_KEY_HEADER      "Keycall-Key-Mgmt"
/* Header carrying A's Call-ID, the one bound into K and the acknowledgments. */
#define KC_CTA_CALL_HEADER     "Keycall-Call"

/* Which side of FIG. 3 this softphone is on in a call. */
typedef enum {
  KC_CTA_SIDE_CALLER,    /* A: gets KEY or DERIVE in 326, acknowledges in 328 */
  KC_CTA_SIDE_CALLEE,    /* B: gets KEY in 320, acknowledges in 322 */
} KcCtaSide;

/* The SDP of this softphone (an offer or an answer): @build as
 * kc_sdp_media_build() writes it, with @key_mgmt ("keycall <base64>", may
 * be NULL) as a session-level a=key-mgmt line: the key belongs to the
 * call, not to one stream. */
char      *kc_cta_sdp_build          (const KcSdpBuild *build,
                                      const char      *key_mgmt);

/* The one key-management payload of a received message: from its SDP
 * (@sdp, @sdp_len bytes, may be NULL) or else from its Keycall-Key-Mgmt
 * header (@header, may be NULL); both at once is refused. NULL with
 * KC_ERROR_NOT_FOUND when there is none, KC_ERROR_INVALID when malformed
 * or repeated. @what names the message in errors ("the INVITE"). */
KcKeyMgmt *kc_cta_key_mgmt_find      (const char      *what,
                                      const char      *sdp,
                                      gsize            sdp_len,
                                      const char      *header,
                                      GError         **error);

/* The call key K that @mgmt gives @side: the callee accepts only KEY; the
 * caller accepts KEY, or DERIVE which it turns into K with its profile's
 * @signaling_secret, the key id, the nonce and @call_id (A's Call-ID).
 * *@out_derived tells which. KC_ERROR_INVALID for any other payload. */
KcSecret  *kc_cta_key_accept         (const KcKeyMgmt *mgmt,
                                      KcCtaSide        side,
                                      const KcSecret  *signaling_secret,
                                      const char      *call_id,
                                      gboolean        *out_derived,
                                      GError         **error);

/* The ACK payload value (role caller for A, callee for B) proving @side
 * holds @key for @key_id and @call_id. Secure memory: free it with
 * kc_secret_text_free(). */
char      *kc_cta_key_ack_value      (const KcSecret  *key,
                                      const KcKeyId   *key_id,
                                      const char      *call_id,
                                      KcCtaSide        side,
                                      GError         **error);

/* "Keycall-Key-Mgmt: <value>" for SIPTAG_HEADER_STR; g_free(). An ACK is
 * not secret, so plain memory is fine; any other payload is refused. */
char      *kc_cta_key_header_line    (const char      *ack_value,
                                      GError         **error);

/* "key received id 1a2b3c4d fingerprint 3f2a 91c0 7d4e 0b18", or "key
 * derived ...": the line a person (and the integration tests) read. */
char      *kc_cta_key_describe       (gboolean         derived,
                                      const char      *key_id_hex,
                                      const char      *fingerprint);

/* Whether the verified certificate subjects of a connection (as sofia-sip
 * collected them, NULL-terminated) are those of controller @name. FALSE
 * with KC_ERROR_PERMISSION saying whose they are otherwise. On success
 * *@out_subject (may be NULL) is "keycall:controller:NAME"; g_free(). */
gboolean   kc_cta_subjects_check     (const char *const *subjects,
                                      const char      *controller_name,
                                      char           **out_subject,
                                      GError         **error);

/* Parses "HOST[:PORT]" or "[IPv6][:PORT]" as given to --listen; HOST must
 * be a numeric address (sofia-sip resolves no names for binding). Port 0
 * when not given. */
gboolean   kc_cta_parse_listen       (const char      *text,
                                      char           **out_host,
                                      guint16         *out_port,
                                      GError         **error);

/* "sips:HOST:PORT" (IPv6 in brackets), as the stdout lines show addresses. */
char      *kc_cta_sips_uri           (const char      *host,
                                      guint16          port);

G_END_DECLS
