/* kc-hpke.c: HPKE base mode (RFC 9180) on OpenSSL 3.0 primitives.
 *
 * OpenSSL 3.0 has no HPKE (it came in 3.2), so the KEM, key schedule and
 * AEAD steps are composed here from X25519, HMAC/HKDF-SHA256 and
 * AES-128-GCM, and checked against the RFC's vector A.1.1. The LEA key
 * files (PEM) are in kc-hpke-pem.c.
 */
#define G_LOG_DOMAIN "kc-hpke"

#include "kc-hpke.h"
#include "kc-hpke-private.h"
#include "kc-error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string.h>

#define NH            32    /* SHA-256 output; also Nsecret, Nsk, Npk */
#define NK            16    /* AES-128 key */
#define NN            12    /* GCM nonce */
#define MAX_LABEL     16    /* longest label used ("shared_secret") and slack */
#define MAX_IKM       1024  /* longest DeriveKeyPair seed */
#define MAX_CALL_ID   1024
#define CALL_KEY_INFO "keycall call-key v1"

/* suite_id of the KEM and of the whole suite (RFC 9180 4.1 and 5.1). */
static const guint8 suite_kem[] = { 'K', 'E', 'M', 0x00, 0x20 };
static const guint8 suite_hpke[] = { 'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x01 };

typedef enum {
  ROLE_SENDER,
  ROLE_RECEIVER,
} Role;

/* From the secure heap, wiped on free. There is no exporter secret:
 * Keycall never calls Export, so it is never derived. */
struct _KcHpkeContext {
  guint8  key[NK];
  guint8  base_nonce[NN];
  guint64 seq;
  Role    role;
};

/* The HMAC-SHA256 context of one setup, duplicated from a template keyed
 * with the all-zero salt, and reused for every step. A step under the key
 * the context already holds only restarts it: HMAC_Init_ex then reuses the
 * padded-key digests instead of hashing two more blocks.
 *
 * Both HKDF steps are HMAC itself (RFC 5869 2.2 and 2.3), run as EVP_MAC:
 * OpenSSL 3.0's HKDF in EXTRACT_ONLY mode frees its copy of the salt
 * without wiping it (in the key schedule the salt is the shared secret),
 * and an EVP_KDF context per setup, with its parameters parsed on every
 * derive, cost more than the hashing. */
typedef struct {
  EVP_MAC_CTX *hmac;
  gboolean     zero_keyed;   /* holds the all-zero salt (public), not a secret key */
} Kdf;

static struct {
  EVP_MAC_CTX *hmac;   /* HMAC-SHA256 under the zero salt, duplicated by kdf_init */
  EVP_CIPHER  *aead;
  EVP_PKEY    *base_point;   /* u = 9; immutable once made, so threads share it */
  guint8       psk_id_hash[NH];
  guint8       call_key_info_hash[NH];
} algs;

static const guint8 base_point[KC_HPKE_PUBLIC_KEY_LEN] = { 9 };
static const guint8 zero_salt[NH] = { 0 };

static gboolean kdf_init (Kdf *kdf);
static void kdf_clear (Kdf *kdf);
static gboolean labeled_extract (Kdf *kdf, const guint8 *suite_id, gsize suite_id_len,
                                 const guint8 *salt, const char *label,
                                 const guint8 *ikm, gsize ikm_len, guint8 out[NH]);

/* Fetched once: a fetch costs more than the step that uses it. */
static void
algorithms_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    EVP_MAC *mac = EVP_MAC_fetch (NULL, "HMAC", NULL);
    OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA256", 0),
      OSSL_PARAM_construct_end (),
    };
    Kdf kdf;

    algs.hmac = mac != NULL ? EVP_MAC_CTX_new (mac) : NULL;
    EVP_MAC_free (mac);
    algs.aead = EVP_CIPHER_fetch (NULL, "AES-128-GCM", NULL);
    algs.base_point = kc_hpke_x25519_import (NULL, base_point);
    if (algs.hmac == NULL || EVP_MAC_init (algs.hmac, zero_salt, NH, params) != 1
        || algs.aead == NULL || algs.base_point == NULL)
      g_error ("OpenSSL lacks HMAC-SHA256, HKDF, AES-128-GCM or X25519; "
               "the installation is broken");
    /* Base mode's psk_id is always empty, so its hash is a constant; so is
     * the info hash of every call key seal. */
    if (!kdf_init (&kdf)
        || !labeled_extract (&kdf, suite_hpke, sizeof suite_hpke, NULL, "psk_id_hash",
                             NULL, 0, algs.psk_id_hash)
        || !labeled_extract (&kdf, suite_hpke, sizeof suite_hpke, NULL, "info_hash",
                             (const guint8 *) CALL_KEY_INFO, strlen (CALL_KEY_INFO),
                             algs.call_key_info_hash))
      g_error ("HKDF-SHA256 failed in OpenSSL while starting HPKE");
    kdf_clear (&kdf);
    g_once_init_leave (&once, 1);
  }
}

static gboolean
kdf_init (Kdf *kdf)
{
  kdf->hmac = EVP_MAC_CTX_dup (algs.hmac);
  kdf->zero_keyed = TRUE;
  if (kdf->hmac == NULL) {
    ERR_clear_error ();
    return FALSE;
  }
  return TRUE;
}

static void
kdf_clear (Kdf *kdf)
{
  g_clear_pointer (&kdf->hmac, EVP_MAC_CTX_free);
}

/* LabeledExtract (RFC 9180 4): HMAC(salt, "HPKE-v1" || suite_id || label || ikm);
 * no salt means NH zero bytes. */
static gboolean
labeled_extract (Kdf *kdf, const guint8 *suite_id, gsize suite_id_len,
                 const guint8 *salt, const char *label,
                 const guint8 *ikm, gsize ikm_len, guint8 out[NH])
{
  guint8 prefix[7 + sizeof suite_hpke + MAX_LABEL];
  gsize label_len = strlen (label), n = 0, out_len = 0;
  gboolean ok;

  g_assert (label_len <= MAX_LABEL);
  memcpy (prefix, "HPKE-v1", 7);
  n += 7;
  memcpy (prefix + n, suite_id, suite_id_len);
  n += suite_id_len;
  memcpy (prefix + n, label, label_len);
  n += label_len;

  if (salt == NULL && kdf->zero_keyed)
    ok = EVP_MAC_init (kdf->hmac, NULL, 0, NULL) == 1;
  else
    ok = EVP_MAC_init (kdf->hmac, salt != NULL ? salt : zero_salt, NH, NULL) == 1;
  kdf->zero_keyed = salt == NULL;
  ok = ok
       && EVP_MAC_update (kdf->hmac, prefix, n) == 1
       && (ikm_len == 0 || EVP_MAC_update (kdf->hmac, ikm, ikm_len) == 1)
       && EVP_MAC_final (kdf->hmac, out, &out_len, NH) == 1
       && out_len == NH;
  if (!ok)
    ERR_clear_error ();
  return ok;
}

/* LabeledExpand (RFC 9180 4):
 * Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
 * Every L here is at most HashLen, so Expand is its first block alone:
 * T(1) = HMAC(prk, labeled_info || 0x01), truncated to L (RFC 5869 2.3).
 * A NULL @prk means the key of the previous expand on @kdf, already set. */
static gboolean
labeled_expand (Kdf *kdf, const guint8 *suite_id, gsize suite_id_len,
                const guint8 prk[NH], const char *label,
                const guint8 *info, gsize info_len, guint8 *out, gsize out_len)
{
  guint8 buf[2 + 7 + sizeof suite_hpke + MAX_LABEL + 1 + 2 * NH + 1];
  guint8 t1[NH];
  gsize label_len = strlen (label), n = 0, t1_len = 0;
  gboolean ok;

  g_assert (label_len <= MAX_LABEL && info_len <= 1 + 2 * NH && out_len <= NH);
  buf[n++] = (guint8) (out_len >> 8);
  buf[n++] = (guint8) out_len;
  memcpy (buf + n, "HPKE-v1", 7);
  n += 7;
  memcpy (buf + n, suite_id, suite_id_len);
  n += suite_id_len;
  memcpy (buf + n, label, label_len);
  n += label_len;
  if (info_len > 0)
    memcpy (buf + n, info, info_len);
  n += info_len;
  buf[n++] = 0x01;

  g_assert (prk != NULL || !kdf->zero_keyed);
  kdf->zero_keyed = FALSE;
  ok = EVP_MAC_init (kdf->hmac, prk, prk != NULL ? NH : 0, NULL) == 1
       && EVP_MAC_update (kdf->hmac, buf, n) == 1
       && EVP_MAC_final (kdf->hmac, t1, &t1_len, NH) == 1
       && t1_len == NH;
  if (ok)
    memcpy (out, t1, out_len);
  else
    ERR_clear_error ();
  OPENSSL_cleanse (t1, sizeof t1);
  return ok;
}

static void
set_kdf_error (GError **error)
{
  g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "HKDF-SHA256 failed in OpenSSL");
}

static void
set_open_error (GError **error)
{
  g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
               "Could not open the sealed data (wrong key or damaged record)");
}

/* A full X25519 key pair, for the paths where speed does not matter. */
EVP_PKEY *
kc_hpke_x25519_private (const guint8 sk[KC_HPKE_PRIVATE_KEY_LEN])
{
  return EVP_PKEY_new_raw_private_key_ex (NULL, "X25519", NULL, sk, KC_HPKE_PRIVATE_KEY_LEN);
}

gboolean
kc_hpke_raw_public (EVP_PKEY *pkey, guint8 out[KC_HPKE_PUBLIC_KEY_LEN])
{
  size_t len = KC_HPKE_PUBLIC_KEY_LEN;

  return EVP_PKEY_get_raw_public_key (pkey, out, &len) == 1 && len == KC_HPKE_PUBLIC_KEY_LEN;
}

KcSecret *
kc_hpke_raw_private (EVP_PKEY *pkey)
{
  g_autoptr(KcSecret) sk = kc_secret_new (KC_HPKE_PRIVATE_KEY_LEN);
  size_t len = KC_HPKE_PRIVATE_KEY_LEN;

  if (EVP_PKEY_get_raw_private_key (pkey, kc_secret_get_mutable (sk), &len) != 1
      || len != KC_HPKE_PRIVATE_KEY_LEN)
    return NULL;
  return g_steal_pointer (&sk);
}

/* Per thread, as OpenSSL contexts cannot be shared between threads: the
 * import context (a new one per call fetches X25519 again), and the last
 * recipient key, since the controller seals every call key to the same LEA
 * key. Public data only. */
typedef struct {
  EVP_PKEY_CTX *import;
  EVP_PKEY     *recipient;
  guint8        recipient_raw[KC_HPKE_PUBLIC_KEY_LEN];
} PerThread;

static void
per_thread_free (gpointer data)
{
  PerThread *t = data;

  EVP_PKEY_CTX_free (t->import);
  EVP_PKEY_free (t->recipient);
  g_free (t);
}

static PerThread *
per_thread (void)
{
  static GPrivate key = G_PRIVATE_INIT (per_thread_free);
  PerThread *t = g_private_get (&key);

  if (t == NULL) {
    t = g_new0 (PerThread, 1);
    g_private_set (&key, t);
  }
  return t;
}

/* A public key, or private key @sk with @pk as its public half. */
EVP_PKEY *
kc_hpke_x25519_import (const guint8 *sk, const guint8 pk[KC_HPKE_PUBLIC_KEY_LEN])
{
  PerThread *t = per_thread ();
  OSSL_PARAM params[3], *p = params;
  EVP_PKEY *pkey = NULL;

  if (t->import == NULL) {
    t->import = EVP_PKEY_CTX_new_from_name (NULL, "X25519", NULL);
    if (t->import == NULL || EVP_PKEY_fromdata_init (t->import) != 1) {
      g_clear_pointer (&t->import, EVP_PKEY_CTX_free);
      return NULL;
    }
  }
  if (sk != NULL)
    *p++ = OSSL_PARAM_construct_octet_string (OSSL_PKEY_PARAM_PRIV_KEY, (void *) sk,
                                              KC_HPKE_PRIVATE_KEY_LEN);
  *p++ = OSSL_PARAM_construct_octet_string (OSSL_PKEY_PARAM_PUB_KEY, (void *) pk,
                                            KC_HPKE_PUBLIC_KEY_LEN);
  *p = OSSL_PARAM_construct_end ();
  if (EVP_PKEY_fromdata (t->import, &pkey, sk != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                         params) != 1)
    return NULL;
  return pkey;
}

/* Borrowed; valid until this thread's next call. */
static EVP_PKEY *
recipient_key (const guint8 pk_r[KC_HPKE_PUBLIC_KEY_LEN])
{
  PerThread *t = per_thread ();

  if (t->recipient == NULL || memcmp (t->recipient_raw, pk_r, KC_HPKE_PUBLIC_KEY_LEN) != 0) {
    g_clear_pointer (&t->recipient, EVP_PKEY_free);
    t->recipient = kc_hpke_x25519_import (NULL, pk_r);
    memcpy (t->recipient_raw, pk_r, KC_HPKE_PUBLIC_KEY_LEN);
  }
  return t->recipient;
}

/* pk = X25519(sk, 9) and dh = X25519(sk, peer), on one derive context.
 *
 * RFC 7748 6.1 defines the public key as X25519(sk, 9). OpenSSL 3.0 would
 * compute it on import with a fixed-base routine that takes about 1.6 times
 * as long here as its variable-base ladder (assembly on x86-64). So the key
 * is imported with a placeholder public half, never read, and both values
 * come from the ladder: about a fifth off every seal and open.
 *
 * A small-order peer gives the all-zero secret, which RFC 9180 7.1.4 says
 * to refuse; OpenSSL refuses it too, but this check does not depend on it. */
static gboolean
x25519_public_and_dh (const guint8 sk[KC_HPKE_PRIVATE_KEY_LEN], EVP_PKEY *peer,
                      guint8 pk[KC_HPKE_PUBLIC_KEY_LEN], guint8 dh[NH])
{
  static const guint8 zeros[NH] = { 0 };
  EVP_PKEY *pkey = kc_hpke_x25519_import (sk, base_point);
  EVP_PKEY_CTX *dctx = pkey != NULL ? EVP_PKEY_CTX_new_from_pkey (NULL, pkey, NULL) : NULL;
  size_t pk_len = KC_HPKE_PUBLIC_KEY_LEN, dh_len = NH;
  gboolean ok;

  /* No peer validation: for X25519 it only checks that a public key is
   * there, at the cost of another context. */
  ok = dctx != NULL
       && EVP_PKEY_derive_init (dctx) == 1
       && EVP_PKEY_derive_set_peer_ex (dctx, algs.base_point, 0) == 1
       && EVP_PKEY_derive (dctx, pk, &pk_len) == 1
       && EVP_PKEY_derive_set_peer_ex (dctx, peer, 0) == 1
       && EVP_PKEY_derive (dctx, dh, &dh_len) == 1
       && pk_len == KC_HPKE_PUBLIC_KEY_LEN && dh_len == NH
       && CRYPTO_memcmp (dh, zeros, NH) != 0;
  EVP_PKEY_CTX_free (dctx);
  EVP_PKEY_free (pkey);
  if (!ok)
    OPENSSL_cleanse (dh, NH);
  return ok;
}

/* ExtractAndExpand (RFC 9180 4.1), kem_context = enc || pkRm. */
static gboolean
extract_and_expand (Kdf *kdf, const guint8 dh[NH], const guint8 enc[KC_HPKE_ENC_LEN],
                    const guint8 pk_r[KC_HPKE_PUBLIC_KEY_LEN], guint8 shared_secret[NH])
{
  guint8 kem_context[KC_HPKE_ENC_LEN + KC_HPKE_PUBLIC_KEY_LEN];
  guint8 eae_prk[NH];
  gboolean ok;

  memcpy (kem_context, enc, KC_HPKE_ENC_LEN);
  memcpy (kem_context + KC_HPKE_ENC_LEN, pk_r, KC_HPKE_PUBLIC_KEY_LEN);
  ok = labeled_extract (kdf, suite_kem, sizeof suite_kem, NULL, "eae_prk", dh, NH, eae_prk)
       && labeled_expand (kdf, suite_kem, sizeof suite_kem, eae_prk, "shared_secret",
                          kem_context, sizeof kem_context, shared_secret, NH);
  OPENSSL_cleanse (eae_prk, sizeof eae_prk);
  return ok;
}

/* Encap (RFC 9180 4.1) with the ephemeral private key given. */
static gboolean
encap (Kdf *kdf, const guint8 pk_r[KC_HPKE_PUBLIC_KEY_LEN], const guint8 sk_e[NH],
       guint8 enc[KC_HPKE_ENC_LEN], guint8 shared_secret[NH], GError **error)
{
  EVP_PKEY *pkey_r = recipient_key (pk_r);
  guint8 dh[NH];
  gboolean ok = FALSE;

  if (pkey_r == NULL || !x25519_public_and_dh (sk_e, pkey_r, enc, dh))
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The recipient public key is a small-order X25519 point, which would "
                 "seal to a key anyone can compute; check the sealing public key file");
  else if (!extract_and_expand (kdf, dh, enc, pk_r, shared_secret))
    set_kdf_error (error);
  else
    ok = TRUE;
  OPENSSL_cleanse (dh, sizeof dh);
  ERR_clear_error ();
  return ok;
}

/* Decap (RFC 9180 4.1). */
static gboolean
decap (Kdf *kdf, const KcSecret *sk_r, const guint8 enc[KC_HPKE_ENC_LEN],
       guint8 shared_secret[NH], GError **error)
{
  EVP_PKEY *pkey_e = kc_hpke_x25519_import (NULL, enc);
  guint8 pk_r[KC_HPKE_PUBLIC_KEY_LEN];
  guint8 dh[NH];
  gboolean ok = FALSE;

  if (pkey_e == NULL || !x25519_public_and_dh (kc_secret_get_data (sk_r), pkey_e, pk_r, dh))
    set_open_error (error);
  else if (!extract_and_expand (kdf, dh, enc, pk_r, shared_secret))
    set_kdf_error (error);
  else
    ok = TRUE;
  OPENSSL_cleanse (dh, sizeof dh);
  EVP_PKEY_free (pkey_e);
  ERR_clear_error ();
  return ok;
}

/* KeySchedule (RFC 9180 5.1) for mode_base, without the exporter secret. */
static KcHpkeContext *
key_schedule_base (Kdf *kdf, Role role, const guint8 shared_secret[NH],
                   const guint8 *info, gsize info_len, GError **error)
{
  KcHpkeContext *ctx;
  guint8 ksc[1 + 2 * NH];   /* mode || psk_id_hash || info_hash */
  guint8 secret[NH];
  gboolean ok;

  ksc[0] = 0x00;            /* mode_base */
  memcpy (ksc + 1, algs.psk_id_hash, NH);
  ctx = OPENSSL_secure_zalloc (sizeof *ctx);
  if (ctx == NULL)
    g_error ("out of memory allocating an HPKE context");
  ctx->role = role;

  if (info_len == strlen (CALL_KEY_INFO) && memcmp (info, CALL_KEY_INFO, info_len) == 0) {
    memcpy (ksc + 1 + NH, algs.call_key_info_hash, NH);
    ok = TRUE;
  } else {
    ok = labeled_extract (kdf, suite_hpke, sizeof suite_hpke, NULL, "info_hash",
                          info, info_len, ksc + 1 + NH);
  }
  /* base_nonce comes from the same secret as key, so reuses its key. */
  ok = ok
       && labeled_extract (kdf, suite_hpke, sizeof suite_hpke, shared_secret, "secret",
                           NULL, 0, secret)
       && labeled_expand (kdf, suite_hpke, sizeof suite_hpke, secret, "key",
                          ksc, sizeof ksc, ctx->key, NK)
       && labeled_expand (kdf, suite_hpke, sizeof suite_hpke, NULL, "base_nonce",
                          ksc, sizeof ksc, ctx->base_nonce, NN);
  OPENSSL_cleanse (secret, sizeof secret);
  if (!ok) {
    kc_hpke_context_free (ctx);
    set_kdf_error (error);
    return NULL;
  }
  return ctx;
}

/* DeriveKeyPair (RFC 9180 7.1.3) for X25519: the expanded bytes are the
 * private key as they are; X25519 clamps them when it uses them. */
static gboolean
derive_private (const guint8 *ikm, gsize ikm_len, guint8 sk[KC_HPKE_PRIVATE_KEY_LEN],
                GError **error)
{
  Kdf kdf = { NULL, FALSE };
  guint8 dkp_prk[NH];
  gboolean ok;

  if (ikm_len < KC_HPKE_PRIVATE_KEY_LEN || ikm_len > MAX_IKM) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A key pair seed is %d to %d bytes, not %" G_GSIZE_FORMAT,
                 KC_HPKE_PRIVATE_KEY_LEN, MAX_IKM, ikm_len);
    return FALSE;
  }
  algorithms_init ();
  ok = kdf_init (&kdf)
       && labeled_extract (&kdf, suite_kem, sizeof suite_kem, NULL, "dkp_prk",
                           ikm, ikm_len, dkp_prk)
       && labeled_expand (&kdf, suite_kem, sizeof suite_kem, dkp_prk, "sk", NULL, 0,
                          sk, KC_HPKE_PRIVATE_KEY_LEN);
  kdf_clear (&kdf);
  OPENSSL_cleanse (dkp_prk, sizeof dkp_prk);
  if (!ok) {
    OPENSSL_cleanse (sk, KC_HPKE_PRIVATE_KEY_LEN);
    set_kdf_error (error);
  }
  return ok;
}

/* Takes @pkey; writes its raw key pair. */
static gboolean
export_keypair (EVP_PKEY *pkey, KcSecret **private_key, guint8 public_key[KC_HPKE_PUBLIC_KEY_LEN],
                GError **error)
{
  KcSecret *sk = NULL;

  if (pkey != NULL && kc_hpke_raw_public (pkey, public_key))
    sk = kc_hpke_raw_private (pkey);
  EVP_PKEY_free (pkey);
  if (sk == NULL) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "OpenSSL could not make an X25519 key pair");
    return FALSE;
  }
  *private_key = sk;
  return TRUE;
}

gboolean
kc_hpke_keypair_generate (KcSecret **private_key,
                          guint8     public_key[KC_HPKE_PUBLIC_KEY_LEN],
                          GError   **error)
{
  g_return_val_if_fail (private_key != NULL && public_key != NULL, FALSE);

  return export_keypair (EVP_PKEY_Q_keygen (NULL, NULL, "X25519"), private_key, public_key, error);
}

gboolean
kc_hpke_derive_keypair (const guint8 *ikm,
                        gsize         ikm_len,
                        KcSecret    **private_key,
                        guint8        public_key[KC_HPKE_PUBLIC_KEY_LEN],
                        GError      **error)
{
  guint8 sk[KC_HPKE_PRIVATE_KEY_LEN];
  gboolean ok;

  g_return_val_if_fail (ikm != NULL || ikm_len == 0, FALSE);
  g_return_val_if_fail (private_key != NULL && public_key != NULL, FALSE);

  ok = derive_private (ikm, ikm_len, sk, error)
       && export_keypair (kc_hpke_x25519_private (sk), private_key, public_key, error);
  OPENSSL_cleanse (sk, sizeof sk);
  return ok;
}

gboolean
kc_hpke_private_key_get_public (const KcSecret *private_key,
                                guint8          public_key[KC_HPKE_PUBLIC_KEY_LEN],
                                GError        **error)
{
  EVP_PKEY *pkey;
  gboolean ok;

  g_return_val_if_fail (private_key != NULL && public_key != NULL, FALSE);
  g_return_val_if_fail (kc_secret_get_len (private_key) == KC_HPKE_PRIVATE_KEY_LEN, FALSE);

  pkey = kc_hpke_x25519_private (kc_secret_get_data (private_key));
  ok = pkey != NULL && kc_hpke_raw_public (pkey, public_key);
  EVP_PKEY_free (pkey);
  if (!ok) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "OpenSSL rejected the X25519 private key");
  }
  return ok;
}

static gboolean
check_info (const guint8 *info, gsize info_len, GError **error)
{
  if (info_len > KC_HPKE_MAX_INFO_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "HPKE info is %" G_GSIZE_FORMAT " bytes; the limit is %d",
                 info_len, KC_HPKE_MAX_INFO_LEN);
    return FALSE;
  }
  return TRUE;
}

/* Encap then, when @info_len is not -1, the key schedule. Wipes @sk_e. */
static KcHpkeContext *
setup_sender (const guint8 pk_r[KC_HPKE_PUBLIC_KEY_LEN], const guint8 *info, gssize info_len,
              guint8 sk_e[KC_HPKE_PRIVATE_KEY_LEN], guint8 enc[KC_HPKE_ENC_LEN],
              KcSecret **shared_secret_out, GError **error)
{
  KcHpkeContext *ctx = NULL;
  Kdf kdf = { NULL, FALSE };
  guint8 shared_secret[NH];

  algorithms_init ();
  if (!kdf_init (&kdf))
    set_kdf_error (error);
  else if (encap (&kdf, pk_r, sk_e, enc, shared_secret, error)) {
    if (shared_secret_out != NULL)
      *shared_secret_out = kc_secret_new_from_data (shared_secret, NH);
    if (info_len >= 0)
      ctx = key_schedule_base (&kdf, ROLE_SENDER, shared_secret, info, (gsize) info_len, error);
  }
  OPENSSL_cleanse (shared_secret, sizeof shared_secret);
  OPENSSL_cleanse (sk_e, KC_HPKE_PRIVATE_KEY_LEN);
  kdf_clear (&kdf);
  return ctx;
}

KcHpkeContext *
kc_hpke_setup_base_sender (const guint8  pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                           const guint8 *info,
                           gsize         info_len,
                           guint8        enc[KC_HPKE_ENC_LEN],
                           GError      **error)
{
  guint8 sk_e[KC_HPKE_PRIVATE_KEY_LEN];

  g_return_val_if_fail (pk_r != NULL && enc != NULL, NULL);
  g_return_val_if_fail (info != NULL || info_len == 0, NULL);

  if (!check_info (info, info_len, error))
    return NULL;
  /* Any 32 random bytes are an X25519 private key (RFC 7748 5); the
   * private DRBG keeps them apart from public randomness. */
  if (RAND_priv_bytes (sk_e, sizeof sk_e) != 1) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The random generator failed; nothing was sealed");
    return NULL;
  }
  return setup_sender (pk_r, info, (gssize) info_len, sk_e, enc, NULL, error);
}

KcHpkeContext *
kc_hpke_setup_base_sender_with_ikm (const guint8  pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                                    const guint8 *info,
                                    gsize         info_len,
                                    const guint8 *ikm_e,
                                    gsize         ikm_e_len,
                                    guint8        enc[KC_HPKE_ENC_LEN],
                                    GError      **error)
{
  guint8 sk_e[KC_HPKE_PRIVATE_KEY_LEN];

  g_return_val_if_fail (pk_r != NULL && enc != NULL, NULL);
  g_return_val_if_fail (info != NULL || info_len == 0, NULL);

  if (!check_info (info, info_len, error) || !derive_private (ikm_e, ikm_e_len, sk_e, error))
    return NULL;
  return setup_sender (pk_r, info, (gssize) info_len, sk_e, enc, NULL, error);
}

gboolean
kc_hpke_encap_with_ikm (const guint8  pk_r[KC_HPKE_PUBLIC_KEY_LEN],
                        const guint8 *ikm_e,
                        gsize         ikm_e_len,
                        guint8        enc[KC_HPKE_ENC_LEN],
                        KcSecret    **shared_secret,
                        GError      **error)
{
  guint8 sk_e[KC_HPKE_PRIVATE_KEY_LEN];

  g_return_val_if_fail (pk_r != NULL && enc != NULL && shared_secret != NULL, FALSE);

  *shared_secret = NULL;
  if (derive_private (ikm_e, ikm_e_len, sk_e, error))
    setup_sender (pk_r, NULL, -1, sk_e, enc, shared_secret, error);
  return *shared_secret != NULL;
}

/* Decap then, when @ctx_out is given, the key schedule. */
static gboolean
setup_receiver (const KcSecret *sk_r, const guint8 enc[KC_HPKE_ENC_LEN],
                const guint8 *info, gsize info_len,
                guint8 shared_secret[NH], KcHpkeContext **ctx_out, GError **error)
{
  Kdf kdf = { NULL, FALSE };
  gboolean ok = FALSE;

  algorithms_init ();
  if (!kdf_init (&kdf))
    set_kdf_error (error);
  else if (decap (&kdf, sk_r, enc, shared_secret, error))
    ok = ctx_out == NULL
         || (*ctx_out = key_schedule_base (&kdf, ROLE_RECEIVER, shared_secret,
                                           info, info_len, error)) != NULL;
  kdf_clear (&kdf);
  return ok;
}

KcSecret *
kc_hpke_decap (const KcSecret *sk_r,
               const guint8    enc[KC_HPKE_ENC_LEN],
               GError        **error)
{
  g_autoptr(KcSecret) ss = NULL;

  g_return_val_if_fail (sk_r != NULL && enc != NULL, NULL);
  g_return_val_if_fail (kc_secret_get_len (sk_r) == KC_HPKE_PRIVATE_KEY_LEN, NULL);

  ss = kc_secret_new (NH);
  if (!setup_receiver (sk_r, enc, NULL, 0, kc_secret_get_mutable (ss), NULL, error))
    return NULL;
  return g_steal_pointer (&ss);
}

KcHpkeContext *
kc_hpke_setup_base_receiver (const KcSecret *sk_r,
                             const guint8    enc[KC_HPKE_ENC_LEN],
                             const guint8   *info,
                             gsize           info_len,
                             GError        **error)
{
  KcHpkeContext *ctx = NULL;
  guint8 shared_secret[NH];

  g_return_val_if_fail (sk_r != NULL && enc != NULL, NULL);
  g_return_val_if_fail (kc_secret_get_len (sk_r) == KC_HPKE_PRIVATE_KEY_LEN, NULL);
  g_return_val_if_fail (info != NULL || info_len == 0, NULL);

  if (check_info (info, info_len, error))
    setup_receiver (sk_r, enc, info, info_len, shared_secret, &ctx, error);
  OPENSSL_cleanse (shared_secret, sizeof shared_secret);
  return ctx;
}

/* ComputeNonce (RFC 9180 5.2). The sequence number never wraps: that would
 * reuse a nonce under the same key. */
static gboolean
compute_nonce (const KcHpkeContext *ctx, gsize aad_len, guint8 nonce[NN], GError **error)
{
  if (aad_len > G_MAXINT) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "HPKE associated data is %" G_GSIZE_FORMAT " bytes; the limit is %d",
                 aad_len, G_MAXINT);
    return FALSE;
  }
  if (ctx->seq == G_MAXUINT64) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "This HPKE context has used all its sequence numbers; set up a new one");
    return FALSE;
  }
  memcpy (nonce, ctx->base_nonce, NN);
  for (guint i = 0; i < 8; i++)
    nonce[NN - 1 - i] ^= (guint8) (ctx->seq >> (8 * i));
  return TRUE;
}

gboolean
kc_hpke_context_seal (KcHpkeContext *ctx,
                      const guint8  *aad,
                      gsize          aad_len,
                      const guint8  *pt,
                      gsize          pt_len,
                      GBytes       **ct,
                      GError       **error)
{
  EVP_CIPHER_CTX *cctx;
  guint8 nonce[NN];
  guint8 *out;
  int len;
  gboolean ok;

  g_return_val_if_fail (ctx != NULL && ctx->role == ROLE_SENDER, FALSE);
  g_return_val_if_fail (aad != NULL || aad_len == 0, FALSE);
  g_return_val_if_fail ((pt != NULL || pt_len == 0) && ct != NULL, FALSE);

  if (pt_len == 0 || pt_len > KC_SECRET_MAX_LEN) {
    g_set_error (error, KC_ERROR, pt_len == 0 ? KC_ERROR_INVALID : KC_ERROR_TOO_LARGE,
                 "Sealed data must be 1 to %d bytes; this is %" G_GSIZE_FORMAT,
                 KC_SECRET_MAX_LEN, pt_len);
    return FALSE;
  }
  if (!compute_nonce (ctx, aad_len, nonce, error))
    return FALSE;

  out = g_malloc (pt_len + KC_HPKE_TAG_LEN);
  cctx = EVP_CIPHER_CTX_new ();
  ok = cctx != NULL
       && EVP_EncryptInit_ex2 (cctx, algs.aead, ctx->key, nonce, NULL) == 1
       && (aad_len == 0 || EVP_EncryptUpdate (cctx, NULL, &len, aad, (int) aad_len) == 1)
       && EVP_EncryptUpdate (cctx, out, &len, pt, (int) pt_len) == 1
       && EVP_EncryptFinal_ex (cctx, out + len, &len) == 1
       && EVP_CIPHER_CTX_ctrl (cctx, EVP_CTRL_AEAD_GET_TAG, KC_HPKE_TAG_LEN, out + pt_len) == 1;
  EVP_CIPHER_CTX_free (cctx);
  if (!ok) {
    g_free (out);
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "AES-128-GCM failed in OpenSSL");
    return FALSE;
  }
  ctx->seq++;
  *ct = g_bytes_new_take (out, pt_len + KC_HPKE_TAG_LEN);
  return TRUE;
}

KcSecret *
kc_hpke_context_open (KcHpkeContext *ctx,
                      const guint8  *aad,
                      gsize          aad_len,
                      const guint8  *ct,
                      gsize          ct_len,
                      GError       **error)
{
  g_autoptr(KcSecret) pt = NULL;
  EVP_CIPHER_CTX *cctx;
  guint8 nonce[NN];
  gsize pt_len;
  int len;
  gboolean ok;

  g_return_val_if_fail (ctx != NULL && ctx->role == ROLE_RECEIVER, NULL);
  g_return_val_if_fail (aad != NULL || aad_len == 0, NULL);
  g_return_val_if_fail (ct != NULL || ct_len == 0, NULL);

  if (ct_len <= KC_HPKE_TAG_LEN) {
    set_open_error (error);
    return NULL;
  }
  pt_len = ct_len - KC_HPKE_TAG_LEN;
  if (pt_len > KC_SECRET_MAX_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "Sealed data is %" G_GSIZE_FORMAT " bytes; Keycall never seals more than %d",
                 ct_len, KC_SECRET_MAX_LEN + KC_HPKE_TAG_LEN);
    return NULL;
  }
  if (!compute_nonce (ctx, aad_len, nonce, error))
    return NULL;

  /* Decrypted straight into secure memory; on a bad tag it is wiped, so
   * no caller ever sees unauthenticated bytes. */
  pt = kc_secret_new (pt_len);
  cctx = EVP_CIPHER_CTX_new ();
  ok = cctx != NULL
       && EVP_DecryptInit_ex2 (cctx, algs.aead, ctx->key, nonce, NULL) == 1
       && EVP_CIPHER_CTX_ctrl (cctx, EVP_CTRL_AEAD_SET_TAG, KC_HPKE_TAG_LEN,
                               (void *) (ct + pt_len)) == 1
       && (aad_len == 0 || EVP_DecryptUpdate (cctx, NULL, &len, aad, (int) aad_len) == 1)
       && EVP_DecryptUpdate (cctx, kc_secret_get_mutable (pt), &len, ct, (int) pt_len) == 1
       && EVP_DecryptFinal_ex (cctx, kc_secret_get_mutable (pt) + len, &len) == 1;
  EVP_CIPHER_CTX_free (cctx);
  if (!ok) {
    ERR_clear_error ();
    set_open_error (error);
    return NULL;
  }
  ctx->seq++;
  return g_steal_pointer (&pt);
}

guint64
kc_hpke_context_get_seq (const KcHpkeContext *ctx)
{
  g_return_val_if_fail (ctx != NULL, 0);
  return ctx->seq;
}

void
kc_hpke_context_set_seq (KcHpkeContext *ctx, guint64 seq)
{
  /* A sender that moved its sequence number could reuse a nonce. */
  g_return_if_fail (ctx != NULL && ctx->role == ROLE_RECEIVER);
  ctx->seq = seq;
}

void
kc_hpke_context_get_key_schedule (const KcHpkeContext *ctx,
                                  KcSecret           **key,
                                  KcSecret           **base_nonce)
{
  g_return_if_fail (ctx != NULL && key != NULL && base_nonce != NULL);

  *key = kc_secret_new_from_data (ctx->key, NK);
  *base_nonce = kc_secret_new_from_data (ctx->base_nonce, NN);
}

void
kc_hpke_context_free (KcHpkeContext *ctx)
{
  if (ctx != NULL)
    OPENSSL_secure_clear_free (ctx, sizeof *ctx);
}

gboolean
kc_hpke_seal (const guint8    pk_r[KC_HPKE_PUBLIC_KEY_LEN],
              const guint8   *info,
              gsize           info_len,
              const guint8   *aad,
              gsize           aad_len,
              const KcSecret *pt,
              GBytes        **enc,
              GBytes        **ct,
              GError        **error)
{
  g_autoptr(KcHpkeContext) ctx = NULL;
  guint8 enc_buf[KC_HPKE_ENC_LEN];

  g_return_val_if_fail (pt != NULL && enc != NULL && ct != NULL, FALSE);

  ctx = kc_hpke_setup_base_sender (pk_r, info, info_len, enc_buf, error);
  if (ctx == NULL
      || !kc_hpke_context_seal (ctx, aad, aad_len, kc_secret_get_data (pt),
                                kc_secret_get_len (pt), ct, error))
    return FALSE;
  *enc = g_bytes_new (enc_buf, sizeof enc_buf);
  return TRUE;
}

KcSecret *
kc_hpke_open (const KcSecret *sk_r,
              const guint8   *info,
              gsize           info_len,
              const guint8   *aad,
              gsize           aad_len,
              GBytes         *enc,
              GBytes         *ct,
              GError        **error)
{
  g_autoptr(KcHpkeContext) ctx = NULL;
  const guint8 *ct_data;
  gsize ct_len;

  g_return_val_if_fail (sk_r != NULL && enc != NULL && ct != NULL, NULL);

  if (g_bytes_get_size (enc) != KC_HPKE_ENC_LEN) {
    set_open_error (error);
    return NULL;
  }
  ctx = kc_hpke_setup_base_receiver (sk_r, g_bytes_get_data (enc, NULL), info, info_len, error);
  if (ctx == NULL)
    return NULL;
  ct_data = g_bytes_get_data (ct, &ct_len);
  return kc_hpke_context_open (ctx, aad, aad_len, ct_data, ct_len, error);
}

/* aad = len || key id || len || call id with 16-bit lengths, so no two
 * (key id, call id) pairs share an encoding. */
static gboolean
call_key_aad (const KcKeyId *key_id, const char *call_id,
              guint8 out[2 + KC_KEY_ID_LEN + 2 + MAX_CALL_ID], gsize *out_len, GError **error)
{
  gsize call_id_len = strlen (call_id), n = 0;

  if (call_id_len == 0 || call_id_len > MAX_CALL_ID) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A call id must be 1 to %d characters", MAX_CALL_ID);
    return FALSE;
  }
  out[n++] = 0;
  out[n++] = KC_KEY_ID_LEN;
  memcpy (out + n, key_id->bytes, KC_KEY_ID_LEN);
  n += KC_KEY_ID_LEN;
  out[n++] = (guint8) (call_id_len >> 8);
  out[n++] = (guint8) call_id_len;
  memcpy (out + n, call_id, call_id_len);
  *out_len = n + call_id_len;
  return TRUE;
}

gboolean
kc_hpke_seal_call_key (const guint8    lea_pk[KC_HPKE_PUBLIC_KEY_LEN],
                       const KcKeyId  *key_id,
                       const char     *call_id,
                       const KcSecret *call_key,
                       GBytes        **enc,
                       GBytes        **sealed,
                       GError        **error)
{
  guint8 aad[2 + KC_KEY_ID_LEN + 2 + MAX_CALL_ID];
  gsize aad_len;

  g_return_val_if_fail (lea_pk != NULL && key_id != NULL && call_id != NULL, FALSE);
  g_return_val_if_fail (call_key != NULL && enc != NULL && sealed != NULL, FALSE);

  if (kc_secret_get_len (call_key) != KC_CALL_KEY_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The call key is %" G_GSIZE_FORMAT " bytes; it must be %d",
                 kc_secret_get_len (call_key), KC_CALL_KEY_LEN);
    return FALSE;
  }
  return call_key_aad (key_id, call_id, aad, &aad_len, error)
         && kc_hpke_seal (lea_pk, (const guint8 *) CALL_KEY_INFO, strlen (CALL_KEY_INFO),
                          aad, aad_len, call_key, enc, sealed, error);
}

KcSecret *
kc_hpke_open_call_key (const KcSecret *lea_sk,
                       const KcKeyId  *key_id,
                       const char     *call_id,
                       GBytes         *enc,
                       GBytes         *sealed,
                       GError        **error)
{
  g_autoptr(KcSecret) call_key = NULL;
  g_autoptr(GError) local_error = NULL;
  guint8 aad[2 + KC_KEY_ID_LEN + 2 + MAX_CALL_ID];
  char key_id_hex[KC_KEY_ID_TEXT_LEN];
  gsize aad_len;

  g_return_val_if_fail (lea_sk != NULL && key_id != NULL && call_id != NULL, NULL);
  g_return_val_if_fail (enc != NULL && sealed != NULL, NULL);

  if (!call_key_aad (key_id, call_id, aad, &aad_len, error))
    return NULL;
  kc_key_id_to_hex (key_id, key_id_hex);
  call_key = kc_hpke_open (lea_sk, (const guint8 *) CALL_KEY_INFO, strlen (CALL_KEY_INFO),
                           aad, aad_len, enc, sealed, &local_error);
  if (call_key == NULL) {
    if (g_error_matches (local_error, KC_ERROR, KC_ERROR_CRYPTO))
      g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                   "Could not open the sealed call key %s of call “%s” (wrong key or "
                   "damaged record: is this the law-enforcement key it was sealed to, "
                   "and the record it was stored in?)", key_id_hex, call_id);
    else
      g_propagate_error (error, g_steal_pointer (&local_error));
    return NULL;
  }
  if (kc_secret_get_len (call_key) != KC_CALL_KEY_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The sealed call key %s opened to %" G_GSIZE_FORMAT " bytes, not %d",
                 key_id_hex, kc_secret_get_len (call_key), KC_CALL_KEY_LEN);
    return NULL;
  }
  return g_steal_pointer (&call_key);
}
