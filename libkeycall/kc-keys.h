/* kc-keys.h: the key creation module (FIG. 2, 204).
 *
 * Call keys are created at the source controller, either random (claim 2)
 * or derived from the caller's provisioned signaling secret (claim 3). From
 * one call key each side derives its own SRTP master key and salt per
 * direction, so the two directions never share a keystream. A key
 * acknowledgment proves possession of the call key without revealing it.
 */
#pragma once

#include <glib.h>

#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_CALL_KEY_LEN       32   /* bytes of a call key */
#define KC_SIGNALING_SECRET_LEN 32 /* bytes of a CTA's provisioned secret */
#define KC_KEY_ID_LEN         16   /* bytes of a key id (public) */
#define KC_KEY_ID_TEXT_LEN    33   /* hex + NUL */
#define KC_KEY_ACK_LEN        16   /* bytes of a key acknowledgment MAC */
#define KC_DERIVE_NONCE_LEN   16   /* bytes of the per-call nonce in derived mode */

typedef enum {
  KC_SUITE_AES_CM_128_HMAC_SHA1_80,   /* the default */
  KC_SUITE_AES_CM_128_HMAC_SHA1_32,
  KC_SUITE_AEAD_AES_128_GCM,
  KC_SUITE_AEAD_AES_256_GCM,
  KC_SUITE_COUNT,
  KC_SUITE_INVALID = -1,
} KcSuite;

#define KC_SUITE_DEFAULT KC_SUITE_AES_CM_128_HMAC_SHA1_80

/* Which way media flows; each has its own SRTP master key. */
typedef enum {
  KC_DIRECTION_CALLER_TO_CALLEE,
  KC_DIRECTION_CALLEE_TO_CALLER,
} KcDirection;

/* Who acknowledges a key (the role bound into the MAC). */
typedef enum {
  KC_ACK_ROLE_CALLER,        /* source CTA, FIG. 3 328 */
  KC_ACK_ROLE_CALLEE,        /* destination CTA, FIG. 3 322 */
  KC_ACK_ROLE_GATEWAY,       /* POTS gateway, FIG. 5 508 */
} KcAckRole;

typedef struct {
  guint8 bytes[KC_KEY_ID_LEN];
} KcKeyId;

const char *kc_suite_to_string        (KcSuite      suite);   /* RFC 4568 name */
KcSuite     kc_suite_from_string      (const char  *name);    /* KC_SUITE_INVALID if unknown */
gsize       kc_suite_master_key_len   (KcSuite      suite);
gsize       kc_suite_master_salt_len  (KcSuite      suite);
gsize       kc_suite_key_salt_len     (KcSuite      suite);   /* key + salt, as in a=crypto */

const char *kc_direction_to_string    (KcDirection  direction);
const char *kc_ack_role_to_string     (KcAckRole    role);

void        kc_key_id_generate        (KcKeyId     *id);
void        kc_key_id_to_hex          (const KcKeyId *id,
                                       char         out[KC_KEY_ID_TEXT_LEN]);
gboolean    kc_key_id_from_hex        (KcKeyId     *id,
                                       const char  *hex,
                                       GError     **error);
gboolean    kc_key_id_equal           (const KcKeyId *a,
                                       const KcKeyId *b);

/* Claim 2: a fresh random call key from OpenSSL's private DRBG. */
KcSecret   *kc_call_key_new_random    (GError     **error);

/* Claim 3: a call key derived from the caller's signaling secret and the
 * call's public inputs. Both the controller and the caller's CTA can compute
 * it, so message 326 need not carry the key itself, only @nonce. */
KcSecret   *kc_call_key_derive        (const KcSecret *signaling_secret,
                                       const KcKeyId  *key_id,
                                       const guint8    nonce[KC_DERIVE_NONCE_LEN],
                                       const char     *call_id,
                                       GError        **error);

/* The SRTP master key followed by the master salt for @direction, laid out
 * as RFC 4568 inline key material, length kc_suite_key_salt_len (suite). */
KcSecret   *kc_srtp_key_derive        (const KcSecret *call_key,
                                       KcSuite         suite,
                                       KcDirection     direction,
                                       GError        **error);

/* HMAC-SHA256 keyed with a key derived from the call key, over the key id,
 * the call id and the role; truncated to KC_KEY_ACK_LEN bytes. */
void        kc_key_ack_compute        (const KcSecret *call_key,
                                       const KcKeyId  *key_id,
                                       const char     *call_id,
                                       KcAckRole       role,
                                       guint8          out[KC_KEY_ACK_LEN]);
/* Constant-time check; FALSE with KC_ERROR_CRYPTO when the MAC is wrong. */
gboolean    kc_key_ack_verify         (const KcSecret *call_key,
                                       const KcKeyId  *key_id,
                                       const char     *call_id,
                                       KcAckRole       role,
                                       const guint8   *ack,
                                       gsize           ack_len,
                                       GError        **error);

G_END_DECLS
