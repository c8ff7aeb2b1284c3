/* kc-vault.h: secrets at rest on a controller.
 *
 * A vault is a 32-byte key file (0600) local to one controller; it wraps the
 * subscribers' signaling secrets (AES-256-GCM, bound to the number) so the
 * store never holds them in clear. Also the file helpers every secret on
 * disk goes through: created 0600 with O_EXCL, never silently overwritten,
 * and never read when group or others may access them.
 */
#pragma once

#include <glib.h>

#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_VAULT_KEY_LEN     32
#define KC_VAULT_VERSION     1
#define KC_VAULT_NONCE_LEN   12
#define KC_VAULT_TAG_LEN     16
/* version byte || nonce || ciphertext || tag */
#define KC_VAULT_OVERHEAD    (1 + KC_VAULT_NONCE_LEN + KC_VAULT_TAG_LEN)

typedef struct _KcVault KcVault;

/* Creates a fresh random vault key in @path (0600); KC_ERROR_EXISTS if the
 * file exists, unless @replace (which makes every wrapped secret useless). */
KcVault   *kc_vault_create          (const char     *path,
                                     gboolean        replace,
                                     GError        **error);
KcVault   *kc_vault_load            (const char     *path,
                                     GError        **error);
/* A vault from raw key bytes (KC_VAULT_KEY_LEN), copied. */
KcVault   *kc_vault_new_from_key    (const KcSecret *key);
void       kc_vault_free            (KcVault        *vault);
void       kc_vault_fingerprint     (KcVault        *vault,
                                     char            out[KC_FINGERPRINT_LEN]);

/* @aad binds the wrapped secret to its owner (the subscriber's number):
 * unwrapping it under another @aad fails. */
GBytes    *kc_vault_wrap            (KcVault        *vault,
                                     const KcSecret *secret,
                                     const char     *aad,
                                     GError        **error);
/* KC_ERROR_CRYPTO for a wrong vault, a wrong @aad or tampered bytes;
 * KC_ERROR_CORRUPT when too short; KC_ERROR_FOREIGN for another version. */
KcSecret  *kc_vault_unwrap          (KcVault        *vault,
                                     GBytes         *wrapped,
                                     const char     *aad,
                                     GError        **error);

/* Creates @path with @mode (O_EXCL); KC_ERROR_EXISTS when it exists, unless
 * @replace, in which case a temporary file is renamed over it. fsync'd. */
gboolean   kc_file_write            (const char     *path,
                                     const void     *data,
                                     gsize           len,
                                     int             mode,
                                     gboolean        replace,
                                     GError        **error);
/* Reads a file holding a secret (at most min (@max_len, KC_SECRET_MAX_LEN)
 * bytes); KC_ERROR_PERMISSION with the chmod to run when group or others
 * may access it. */
KcSecret  *kc_private_file_read     (const char     *path,
                                     gsize           max_len,
                                     GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcVault, kc_vault_free)

G_END_DECLS
