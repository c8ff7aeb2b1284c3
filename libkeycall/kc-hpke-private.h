/* kc-hpke-private.h: what the HPKE core (kc-hpke.c) shares with the PEM key
 * files (kc-hpke-pem.c). Internal to libkeycall, not installed.
 *
 * Conversions between raw X25519 keys and OpenSSL's EVP_PKEY.
 */
#pragma once

#include <openssl/evp.h>

#include "kc-hpke.h"

G_BEGIN_DECLS

/* A public key, or private key @sk with @pk as its public half (@pk is
 * trusted, not recomputed). Uses a per-thread import context. NULL on
 * failure, with the OpenSSL error queue left to the caller. */
EVP_PKEY  *kc_hpke_x25519_import  (const guint8 *sk,
                                   const guint8  pk[KC_HPKE_PUBLIC_KEY_LEN]);
/* A full key pair, its public half computed by OpenSSL. */
EVP_PKEY  *kc_hpke_x25519_private (const guint8  sk[KC_HPKE_PRIVATE_KEY_LEN]);
gboolean   kc_hpke_raw_public     (EVP_PKEY     *pkey,
                                   guint8        out[KC_HPKE_PUBLIC_KEY_LEN]);
/* NULL when @pkey has no 32-byte private key. */
KcSecret  *kc_hpke_raw_private    (EVP_PKEY     *pkey);

G_END_DECLS
