/* kc-hpke.h: sealing call keys for law enforcement (claim 10).
 *
 * HPKE base mode (RFC 9180) with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
 * AES-128-GCM. The controller seals every call key to the law-enforcement
 * public key; only the LEA private key opens it, so the controller cannot
 * read its own store.
 */
#pragma once

#include <glib.h>

#include "kc-keys.h"
#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_HPKE_PUBLIC_KEY_LEN  32   /* X25519 public key, also the size of enc */
#define KC_HPKE_PRIVATE_KEY_LEN 32   /* X25519 private key */
#define KC_HPKE_ENC_LEN         32   /* encapsulated key */
#define KC_HPKE_TAG_LEN         16   /* AES-GCM tag appended to every ciphertext */
#define KC_HPKE_MAX_INFO_LEN    1024 /* longest info string accepted */

/* Plaintexts are 1 to KC_SECRET_MAX_LEN bytes: opening yields a KcSecret. */

typedef struct _KcHpkeContext KcHpkeContext;

/* Key pairs. */
gboolean       kc_hpke_keypair_generate           (KcSecret      **private_key,
                                                   guint8          public_key[KC_HPKE_PUBLIC_KEY_LEN],
                                                   GError        **error);
/* RFC 9180 DeriveKeyPair; @ikm must hold at least 32 bytes of entropy. */
gboolean       kc_hpke_derive_keypair             (const guint8   *ikm,
                                                   gsize           ikm_len,
                                                   KcSecret      **private_key,
                                                   guint8          public_key[KC_HPKE_PUBLIC_KEY_LEN],
                                                   GError        **error);
gboolean       kc_hpke_private_key_get_public     (const KcSecret *private_key,
                                                   guint8          public_key[KC_HPKE_PUBLIC_KEY_LEN],
                                                   GError        **error);

/* Contexts (RFC 9180 5.1.1). Each seal or open uses the next sequence
 * number; a sender context only seals, a receiver context only opens. */
KcHpkeContext *kc_hpke_setup_base_sender          (const guint8    pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                                                   const guint8   *info,
                                                   gsize           info_len,
                                                   guint8          enc[KC_HPKE_ENC_LEN],
                                                   GError        **error);
KcHpkeContext *kc_hpke_setup_base_receiver        (const KcSecret *sk_r,
                                                   const guint8    enc[KC_HPKE_ENC_LEN],
                                                   const guint8   *info,
                                                   gsize           info_len,
                                                   GError        **error);
/* @ct receives the ciphertext followed by the 16-byte tag. */
gboolean       kc_hpke_context_seal               (KcHpkeContext  *ctx,
                                                   const guint8   *aad,
                                                   gsize           aad_len,
                                                   const guint8   *pt,
                                                   gsize           pt_len,
                                                   GBytes        **ct,
                                                   GError        **error);
/* KC_ERROR_CRYPTO for a wrong key, info or aad and for any damage; never
 * partial plaintext. A failed open does not advance the sequence number. */
KcSecret      *kc_hpke_context_open               (KcHpkeContext  *ctx,
                                                   const guint8   *aad,
                                                   gsize           aad_len,
                                                   const guint8   *ct,
                                                   gsize           ct_len,
                                                   GError        **error);
guint64        kc_hpke_context_get_seq            (const KcHpkeContext *ctx);
/* Receiver only: to open a message out of order (RFC 9180 9.7.1). */
void           kc_hpke_context_set_seq            (KcHpkeContext  *ctx,
                                                   guint64         seq);
void           kc_hpke_context_free               (KcHpkeContext  *ctx);

/* Single shot: one message per encapsulation. */
gboolean       kc_hpke_seal                       (const guint8    pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                                                   const guint8   *info,
                                                   gsize           info_len,
                                                   const guint8   *aad,
                                                   gsize           aad_len,
                                                   const KcSecret *pt,
                                                   GBytes        **enc,
                                                   GBytes        **ct,
                                                   GError        **error);
KcSecret      *kc_hpke_open                       (const KcSecret *sk_r,
                                                   const guint8   *info,
                                                   gsize           info_len,
                                                   const guint8   *aad,
                                                   gsize           aad_len,
                                                   GBytes         *enc,
                                                   GBytes         *ct,
                                                   GError        **error);

/* Call keys: info "keycall call-key v1", aad binds the key id and the call
 * id, so a sealed key moved to another call's record does not open. */
gboolean       kc_hpke_seal_call_key              (const guint8    lea_pk[KC_HPKE_PUBLIC_KEY_LEN],
                                                   const KcKeyId  *key_id,
                                                   const char     *call_id,
                                                   const KcSecret *call_key,
                                                   GBytes        **enc,
                                                   GBytes        **sealed,
                                                   GError        **error);
KcSecret      *kc_hpke_open_call_key              (const KcSecret *lea_sk,
                                                   const KcKeyId  *key_id,
                                                   const char     *call_id,
                                                   GBytes         *enc,
                                                   GBytes         *sealed,
                                                   GError        **error);

/* The LEA sealing key pair as PEM (PKCS#8 and SubjectPublicKeyInfo). The
 * private key file is created with mode 0600 and never overwritten; loading
 * refuses a private key file that group or others can access. */
gboolean       kc_hpke_private_key_save_pem       (const KcSecret *private_key,
                                                   const char     *path,
                                                   GError        **error);
gboolean       kc_hpke_public_key_save_pem        (const guint8    public_key[KC_HPKE_PUBLIC_KEY_LEN],
                                                   const char     *path,
                                                   GError        **error);
KcSecret      *kc_hpke_private_key_load_pem       (const char     *path,
                                                   GError        **error);
gboolean       kc_hpke_public_key_load_pem        (const char     *path,
                                                   guint8          public_key[KC_HPKE_PUBLIC_KEY_LEN],
                                                   GError        **error);

/* RFC 9180 test-vector hooks. Never use them outside tests: a fixed
 * ephemeral key destroys the sender's security. */
gboolean       kc_hpke_encap_with_ikm             (const guint8    pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                                                   const guint8   *ikm_e,
                                                   gsize           ikm_e_len,
                                                   guint8          enc[KC_HPKE_ENC_LEN],
                                                   KcSecret      **shared_secret,
                                                   GError        **error);
KcSecret      *kc_hpke_decap                      (const KcSecret *sk_r,
                                                   const guint8    enc[KC_HPKE_ENC_LEN],
                                                   GError        **error);
KcHpkeContext *kc_hpke_setup_base_sender_with_ikm (const guint8    pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                                                   const guint8   *info,
                                                   gsize           info_len,
                                                   const guint8   *ikm_e,
                                                   gsize           ikm_e_len,
                                                   guint8          enc[KC_HPKE_ENC_LEN],
                                                   GError        **error);
void           kc_hpke_context_get_key_schedule   (const KcHpkeContext *ctx,
                                                   KcSecret      **key,
                                                   KcSecret      **base_nonce);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcHpkeContext, kc_hpke_context_free)

G_END_DECLS
