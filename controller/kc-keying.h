/* kc-keying.h: one call's key at a controller (FIG. 3, 408).
 *
 * The source controller creates the key (random, or derived from the
 * caller's signaling secret), seals it to the law-enforcement key for the
 * store, writes it into key-mgmt payloads and checks acknowledgments; a
 * destination controller only receives it. The key is wiped on free.
 */
#pragma once

#include <glib.h>

#include "kc-controller-config.h"
#include "kc-keys.h"
#include "kc-sdp-key.h"
#include "kc-store.h"
#include "kc-vault.h"

G_BEGIN_DECLS

typedef struct {
  KcKeyId    id;
  char       id_hex[KC_KEY_ID_TEXT_LEN];
  KcSecret  *key;
  gboolean   derived;
  guint8     nonce[KC_DERIVE_NONCE_LEN];   /* derived mode */
  char       fingerprint[KC_FINGERPRINT_LEN];
} KcKeying;

/* A new key for the call @call_id of @caller. Derived mode unwraps the
 * caller's signaling secret from the store with @vault. */
KcKeying  *kc_keying_create       (KcKeyMode          mode,
                                   KcStore           *store,
                                   KcVault           *vault,
                                   const char        *caller,
                                   const char        *call_id,
                                   GError           **error);
/* Takes the key out of a KEY payload (318 at a destination controller). */
KcKeying  *kc_keying_new_received (KcKeyMgmt         *mgmt,
                                   GError           **error);
void       kc_keying_free         (KcKeying          *keying);

/* The record kc_store_put_key_async stores: the key sealed (HPKE) to
 * @lea_key, bound to the key id and @call_id. */
KcSealedKey *kc_keying_seal       (KcKeying          *keying,
                                   const guint8      *lea_key,
                                   const char        *call_id,
                                   const char        *caller,
                                   const char        *callee,
                                   const char        *controller,
                                   GError           **error);

/* "keycall <base64>" of a KEY (or, derived mode, DERIVE when @for_caller)
 * payload, NULL on a programming error; free with kc_secret_text_free(). */
char      *kc_keying_encode       (KcKeying          *keying,
                                   gboolean           for_caller);

/* @value: a key-mgmt value (header or SDP line) that must be an ACK for
 * this key, @role, @call_id. KC_ERROR_CRYPTO for a wrong MAC. */
gboolean   kc_keying_check_ack    (KcKeying          *keying,
                                   const KcKeyMgmt   *ack,
                                   const char        *call_id,
                                   KcAckRole          role,
                                   GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcKeying, kc_keying_free)

G_END_DECLS
