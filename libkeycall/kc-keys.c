/* kc-keys.c: call keys, per-direction SRTP keys and key acknowledgments. */
#define G_LOG_DOMAIN "kc-keys"

#include "kc-keys.h"
#include "kc-error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <string.h>

typedef struct {
  const char *name;
  gsize       key_len;
  gsize       salt_len;
} KcSuiteInfo;

/* RFC 4568 section 6.2 and RFC 7714 section 12. */
static const KcSuiteInfo suites[KC_SUITE_COUNT] = {
  [KC_SUITE_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 16, 14 },
  [KC_SUITE_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 16, 14 },
  [KC_SUITE_AEAD_AES_128_GCM]        = { "AEAD_AES_128_GCM",        16, 12 },
  [KC_SUITE_AEAD_AES_256_GCM]        = { "AEAD_AES_256_GCM",        32, 12 },
};

/* Domain-separation labels: changing any of them changes every key, so
 * they carry a version. */
#define LABEL_DERIVE "keycall call-key derive v1"
#define LABEL_SRTP   "keycall srtp v1"
#define LABEL_ACK    "keycall key-ack v1"

static gboolean
suite_is_valid (KcSuite suite)
{
  return suite >= 0 && suite < KC_SUITE_COUNT;
}

const char *
kc_suite_to_string (KcSuite suite)
{
  g_return_val_if_fail (suite_is_valid (suite), NULL);
  return suites[suite].name;
}

KcSuite
kc_suite_from_string (const char *name)
{
  if (name == NULL)
    return KC_SUITE_INVALID;
  for (int i = 0; i < KC_SUITE_COUNT; i++)
    if (strcmp (suites[i].name, name) == 0)
      return (KcSuite) i;
  return KC_SUITE_INVALID;
}

gsize
kc_suite_master_key_len (KcSuite suite)
{
  g_return_val_if_fail (suite_is_valid (suite), 0);
  return suites[suite].key_len;
}

gsize
kc_suite_master_salt_len (KcSuite suite)
{
  g_return_val_if_fail (suite_is_valid (suite), 0);
  return suites[suite].salt_len;
}

gsize
kc_suite_key_salt_len (KcSuite suite)
{
  g_return_val_if_fail (suite_is_valid (suite), 0);
  return suites[suite].key_len + suites[suite].salt_len;
}

const char *
kc_direction_to_string (KcDirection direction)
{
  switch (direction) {
  case KC_DIRECTION_CALLER_TO_CALLEE: return "caller-to-callee";
  case KC_DIRECTION_CALLEE_TO_CALLER: return "callee-to-caller";
  default: g_return_val_if_reached (NULL);
  }
}

const char *
kc_ack_role_to_string (KcAckRole role)
{
  switch (role) {
  case KC_ACK_ROLE_CALLER:  return "caller";
  case KC_ACK_ROLE_CALLEE:  return "callee";
  case KC_ACK_ROLE_GATEWAY: return "gateway";
  default: g_return_val_if_reached (NULL);
  }
}

void
kc_key_id_generate (KcKeyId *id)
{
  g_return_if_fail (id != NULL);

  /* Key ids are public; the public DRBG keeps them apart from key bytes. */
  if (RAND_bytes (id->bytes, sizeof id->bytes) != 1)
    g_error ("the random generator failed while making a key id");
}

void
kc_key_id_to_hex (const KcKeyId *id, char out[KC_KEY_ID_TEXT_LEN])
{
  static const char digits[] = "0123456789abcdef";

  g_return_if_fail (id != NULL);

  for (gsize i = 0; i < KC_KEY_ID_LEN; i++) {
    out[2 * i] = digits[id->bytes[i] >> 4];
    out[2 * i + 1] = digits[id->bytes[i] & 0xf];
  }
  out[2 * KC_KEY_ID_LEN] = '\0';
}

gboolean
kc_key_id_from_hex (KcKeyId *id, const char *hex, GError **error)
{
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (hex != NULL, FALSE);

  if (strlen (hex) != 2 * KC_KEY_ID_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A key id is %d hex digits; “%.40s” has %" G_GSIZE_FORMAT,
                 2 * KC_KEY_ID_LEN, hex, strlen (hex));
    return FALSE;
  }
  for (gsize i = 0; i < KC_KEY_ID_LEN; i++) {
    int hi = g_ascii_xdigit_value (hex[2 * i]);
    int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

    if (hi < 0 || lo < 0) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Key id “%s” has a character that is not a hex digit", hex);
      return FALSE;
    }
    id->bytes[i] = (guint8) (hi << 4 | lo);
  }
  return TRUE;
}

gboolean
kc_key_id_equal (const KcKeyId *a, const KcKeyId *b)
{
  return memcmp (a->bytes, b->bytes, KC_KEY_ID_LEN) == 0;
}

/* The HKDF implementation is fetched once: fetching per call costs more
 * than the derivation itself. */
static EVP_KDF *
hkdf_algorithm (void)
{
  static gsize kdf;

  if (g_once_init_enter (&kdf)) {
    EVP_KDF *fetched = EVP_KDF_fetch (NULL, "HKDF", NULL);

    if (fetched == NULL)
      g_error ("OpenSSL has no HKDF; the installation is broken");
    g_once_init_leave (&kdf, (gsize) fetched);
  }
  return (EVP_KDF *) kdf;
}

/* RFC 5869 HKDF-SHA256 (extract then expand). */
static gboolean
hkdf_sha256 (const guint8 *salt, gsize salt_len,
             const guint8 *ikm, gsize ikm_len,
             const guint8 *info, gsize info_len,
             guint8 *out, gsize out_len,
             GError **error)
{
  EVP_KDF_CTX *ctx = EVP_KDF_CTX_new (hkdf_algorithm ());
  OSSL_PARAM params[5], *p = params;
  gboolean ok;

  *p++ = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, (char *) "SHA256", 0);
  *p++ = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) ikm, ikm_len);
  /* No salt means HashLen zero bytes (RFC 5869 2.2), OpenSSL's default. */
  if (salt_len > 0)
    *p++ = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt, salt_len);
  *p++ = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, (void *) info, info_len);
  *p = OSSL_PARAM_construct_end ();

  ok = ctx != NULL && EVP_KDF_derive (ctx, out, out_len, params) == 1;
  EVP_KDF_CTX_free (ctx);
  if (!ok)
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "HKDF-SHA256 failed in OpenSSL");
  return ok;
}

/* Appends a 16-bit length then the bytes, so no two field lists share an
 * encoding ("ab","c" vs "a","bc"). */
static void
append_field (GByteArray *buf, const void *data, gsize len)
{
  guint8 prefix[2] = { (guint8) (len >> 8), (guint8) len };

  g_assert (len <= G_MAXUINT16);
  g_byte_array_append (buf, prefix, 2);
  g_byte_array_append (buf, data, (guint) len);
}

KcSecret *
kc_call_key_new_random (GError **error)
{
  return kc_secret_new_random (KC_CALL_KEY_LEN, error);
}

KcSecret *
kc_call_key_derive (const KcSecret *signaling_secret,
                    const KcKeyId  *key_id,
                    const guint8    nonce[KC_DERIVE_NONCE_LEN],
                    const char     *call_id,
                    GError        **error)
{
  g_autoptr(GByteArray) info = g_byte_array_new ();
  g_autoptr(KcSecret) key = NULL;

  g_return_val_if_fail (signaling_secret != NULL, NULL);
  g_return_val_if_fail (key_id != NULL && nonce != NULL && call_id != NULL, NULL);

  if (kc_secret_get_len (signaling_secret) != KC_SIGNALING_SECRET_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The signaling secret is %" G_GSIZE_FORMAT " bytes; it must be %d",
                 kc_secret_get_len (signaling_secret), KC_SIGNALING_SECRET_LEN);
    return NULL;
  }
  if (strlen (call_id) == 0 || strlen (call_id) > 1024) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A call id must be 1 to 1024 characters");
    return NULL;
  }

  append_field (info, LABEL_DERIVE, strlen (LABEL_DERIVE));
  append_field (info, key_id->bytes, KC_KEY_ID_LEN);
  append_field (info, call_id, strlen (call_id));

  key = kc_secret_new (KC_CALL_KEY_LEN);
  if (!hkdf_sha256 (nonce, KC_DERIVE_NONCE_LEN,
                    kc_secret_get_data (signaling_secret), KC_SIGNALING_SECRET_LEN,
                    info->data, info->len,
                    kc_secret_get_mutable (key), KC_CALL_KEY_LEN, error))
    return NULL;
  return g_steal_pointer (&key);
}

KcSecret *
kc_srtp_key_derive (const KcSecret *call_key,
                    KcSuite         suite,
                    KcDirection     direction,
                    GError        **error)
{
  g_autoptr(GByteArray) info = g_byte_array_new ();
  g_autoptr(KcSecret) key = NULL;
  const char *suite_name, *direction_name;

  g_return_val_if_fail (call_key != NULL, NULL);

  if (!suite_is_valid (suite)) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "Unknown SRTP suite %d", suite);
    return NULL;
  }
  if (direction != KC_DIRECTION_CALLER_TO_CALLEE && direction != KC_DIRECTION_CALLEE_TO_CALLER) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Unknown media direction %d", direction);
    return NULL;
  }
  if (kc_secret_get_len (call_key) != KC_CALL_KEY_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The call key is %" G_GSIZE_FORMAT " bytes; it must be %d",
                 kc_secret_get_len (call_key), KC_CALL_KEY_LEN);
    return NULL;
  }

  suite_name = kc_suite_to_string (suite);
  direction_name = kc_direction_to_string (direction);
  append_field (info, LABEL_SRTP, strlen (LABEL_SRTP));
  append_field (info, suite_name, strlen (suite_name));
  append_field (info, direction_name, strlen (direction_name));

  key = kc_secret_new (kc_suite_key_salt_len (suite));
  if (!hkdf_sha256 (NULL, 0,
                    kc_secret_get_data (call_key), KC_CALL_KEY_LEN,
                    info->data, info->len,
                    kc_secret_get_mutable (key), kc_secret_get_len (key), error))
    return NULL;
  return g_steal_pointer (&key);
}

/* The MAC key is derived from the call key rather than being the call key,
 * so a MAC never exposes the key that encrypts media to a related-key
 * argument. */
static gboolean
key_ack_mac (const KcSecret *call_key,
             const KcKeyId  *key_id,
             const char     *call_id,
             KcAckRole       role,
             guint8          out[KC_KEY_ACK_LEN])
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 mac_key[32], mac[32];
  guint8 role_byte = (guint8) role;
  gsize mac_len = 0;
  gboolean ok;

  if (!hkdf_sha256 (NULL, 0, kc_secret_get_data (call_key), kc_secret_get_len (call_key),
                    (const guint8 *) LABEL_ACK, strlen (LABEL_ACK),
                    mac_key, sizeof mac_key, NULL))
    return FALSE;

  append_field (data, LABEL_ACK, strlen (LABEL_ACK));
  append_field (data, key_id->bytes, KC_KEY_ID_LEN);
  append_field (data, call_id, strlen (call_id));
  append_field (data, &role_byte, 1);

  ok = EVP_Q_mac (NULL, "HMAC", NULL, "SHA256", NULL, mac_key, sizeof mac_key,
                  data->data, data->len, mac, sizeof mac, &mac_len) != NULL
       && mac_len == sizeof mac;
  if (ok)
    memcpy (out, mac, KC_KEY_ACK_LEN);
  OPENSSL_cleanse (mac_key, sizeof mac_key);
  OPENSSL_cleanse (mac, sizeof mac);
  return ok;
}

void
kc_key_ack_compute (const KcSecret *call_key,
                    const KcKeyId  *key_id,
                    const char     *call_id,
                    KcAckRole       role,
                    guint8          out[KC_KEY_ACK_LEN])
{
  g_return_if_fail (call_key != NULL && key_id != NULL && call_id != NULL && out != NULL);

  if (!key_ack_mac (call_key, key_id, call_id, role, out))
    g_error ("HMAC-SHA256 failed in OpenSSL");
}

gboolean
kc_key_ack_verify (const KcSecret *call_key,
                   const KcKeyId  *key_id,
                   const char     *call_id,
                   KcAckRole       role,
                   const guint8   *ack,
                   gsize           ack_len,
                   GError        **error)
{
  guint8 expected[KC_KEY_ACK_LEN];
  gboolean ok;

  g_return_val_if_fail (call_key != NULL && key_id != NULL && call_id != NULL, FALSE);

  if (ack == NULL || ack_len != KC_KEY_ACK_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A key acknowledgment is %d bytes; this one is %" G_GSIZE_FORMAT,
                 KC_KEY_ACK_LEN, ack_len);
    return FALSE;
  }
  if (!key_ack_mac (call_key, key_id, call_id, role, expected)) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "HMAC-SHA256 failed in OpenSSL");
    return FALSE;
  }
  ok = CRYPTO_memcmp (expected, ack, KC_KEY_ACK_LEN) == 0;
  OPENSSL_cleanse (expected, sizeof expected);
  if (!ok)
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The %s's key acknowledgment does not match the call key: "
                 "it does not hold the key this controller sent",
                 kc_ack_role_to_string (role));
  return ok;
}
