/* kc-secret.c: wiping, unprintable key material. */
#define G_LOG_DOMAIN "kc-secret"

#include "kc-secret.h"
#include "kc-error.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

struct _KcSecret {
  gsize   len;
  guint8 *data;
};

/* 64 KiB of locked memory holds ~1,000 call keys in flight. When it is
 * full, OpenSSL 3.0 returns NULL; secure_zalloc() then takes the ordinary
 * heap, still wiped on free. */
#define KC_SECURE_HEAP_SIZE (64 * 1024)
#define KC_SECURE_HEAP_MIN  32

gboolean
kc_process_refuse_core_dumps (GError **error)
{
  struct rlimit none = { 0, 0 };

  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit (RLIMIT_CORE, &none) < 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot disable core dumps: %s",
                 g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

void
kc_secure_heap_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    if (!CRYPTO_secure_malloc_initialized ()
        && CRYPTO_secure_malloc_init (KC_SECURE_HEAP_SIZE, KC_SECURE_HEAP_MIN) == 0)
      g_debug ("secure heap unavailable (mlock limit?); secrets use the wiped ordinary heap");
    g_once_init_leave (&once, 1);
  }
}

/* Locked memory when there is some left, the ordinary heap otherwise;
 * secure_clear_free() tells them apart, so both are always wiped. */
static void *
secure_zalloc (gsize len)
{
  void *p = NULL;

  if (CRYPTO_secure_malloc_initialized ())
    p = OPENSSL_secure_zalloc (len);
  if (p == NULL)
    p = OPENSSL_zalloc (len);
  if (p == NULL)
    g_error ("out of memory allocating %" G_GSIZE_FORMAT " bytes for a secret", len);
  return p;
}

static void
secure_clear_free (void *p, gsize len)
{
  if (p == NULL)
    return;
  if (CRYPTO_secure_allocated (p))
    OPENSSL_secure_clear_free (p, len);
  else
    OPENSSL_clear_free (p, len);
}

KcSecret *
kc_secret_new (gsize len)
{
  KcSecret *secret;

  g_return_val_if_fail (len > 0 && len <= KC_SECRET_MAX_LEN, NULL);

  secret = g_new0 (KcSecret, 1);
  secret->len = len;
  secret->data = secure_zalloc (len);
  return secret;
}

KcSecret *
kc_secret_new_random (gsize len, GError **error)
{
  g_autoptr(KcSecret) secret = kc_secret_new (len);

  /* The private DRBG: its output never leaves through a public RAND_bytes
   * caller (nonces, ids), so those cannot reveal its state. */
  if (RAND_priv_bytes (secret->data, (int) len) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The random generator failed; no key was created");
    return NULL;
  }
  return g_steal_pointer (&secret);
}

KcSecret *
kc_secret_new_from_data (const guint8 *data, gsize len)
{
  KcSecret *secret = kc_secret_new (len);

  memcpy (secret->data, data, len);
  return secret;
}

static gboolean
is_base64_text (const char *text, gsize len)
{
  gsize pad = 0;

  if (len == 0 || len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = text[i];

    if (c == '=') {
      pad++;
      if (i < len - 2 || pad > 2)
        return FALSE;
    } else if (pad > 0 || !(g_ascii_isalnum (c) || c == '+' || c == '/')) {
      return FALSE;
    }
  }
  return TRUE;
}

KcSecret *
kc_secret_new_from_base64 (const char *text, gsize expected_len, GError **error)
{
  g_autoptr(KcSecret) secret = NULL;
  gsize text_len, decoded_len, pad = 0;
  guint8 *buf;
  int n;

  g_return_val_if_fail (text != NULL, NULL);

  text_len = strlen (text);
  if (text_len > 4 * ((KC_SECRET_MAX_LEN + 2) / 3)) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "Key text is %" G_GSIZE_FORMAT " characters; the limit is %d",
                 text_len, 4 * ((KC_SECRET_MAX_LEN + 2) / 3));
    return NULL;
  }
  if (!is_base64_text (text, text_len)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Key text is not valid base64 (RFC 4648, padded)");
    return NULL;
  }
  if (text_len >= 1 && text[text_len - 1] == '=')
    pad++;
  if (text_len >= 2 && text[text_len - 2] == '=')
    pad++;
  decoded_len = text_len / 4 * 3 - pad;
  if (expected_len != 0 && decoded_len != expected_len) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Key is %" G_GSIZE_FORMAT " bytes; expected %" G_GSIZE_FORMAT,
                 decoded_len, expected_len);
    return NULL;
  }
  if (decoded_len == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Key is empty");
    return NULL;
  }

  buf = secure_zalloc (text_len / 4 * 3);
  n = EVP_DecodeBlock (buf, (const unsigned char *) text, (int) text_len);
  if (n < 0 || (gsize) n != text_len / 4 * 3) {
    secure_clear_free (buf, text_len / 4 * 3);
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Key text is not valid base64");
    return NULL;
  }
  secret = kc_secret_new_from_data (buf, decoded_len);
  secure_clear_free (buf, text_len / 4 * 3);
  return g_steal_pointer (&secret);
}

KcSecret *
kc_secret_copy (const KcSecret *secret)
{
  g_return_val_if_fail (secret != NULL, NULL);

  return kc_secret_new_from_data (secret->data, secret->len);
}

void
kc_secret_free (KcSecret *secret)
{
  if (secret == NULL)
    return;
  secure_clear_free (secret->data, secret->len);
  secret->data = NULL;
  secret->len = 0;
  g_free (secret);
}

const guint8 *
kc_secret_get_data (const KcSecret *secret)
{
  g_return_val_if_fail (secret != NULL, NULL);
  return secret->data;
}

guint8 *
kc_secret_get_mutable (KcSecret *secret)
{
  g_return_val_if_fail (secret != NULL, NULL);
  return secret->data;
}

gsize
kc_secret_get_len (const KcSecret *secret)
{
  g_return_val_if_fail (secret != NULL, 0);
  return secret->len;
}

gboolean
kc_secret_equal (const KcSecret *a, const KcSecret *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return a->len == b->len && CRYPTO_memcmp (a->data, b->data, a->len) == 0;
}

char *
kc_secret_to_base64 (const KcSecret *secret)
{
  gsize out_len;
  char *out;

  g_return_val_if_fail (secret != NULL, NULL);

  out_len = 4 * ((secret->len + 2) / 3) + 1;
  out = secure_zalloc (out_len);
  EVP_EncodeBlock ((unsigned char *) out, secret->data, (int) secret->len);
  return out;
}

void
kc_secret_text_free (char *text)
{
  if (text != NULL)
    secure_clear_free (text, strlen (text) + 1);
}

void
kc_fingerprint_bytes (const guint8 *data, gsize len, char out[KC_FINGERPRINT_LEN])
{
  guint8 digest[SHA256_DIGEST_LENGTH];

  SHA256 (data, len, digest);
  g_snprintf (out, KC_FINGERPRINT_LEN, "%02x%02x %02x%02x %02x%02x %02x%02x",
              digest[0], digest[1], digest[2], digest[3],
              digest[4], digest[5], digest[6], digest[7]);
  OPENSSL_cleanse (digest, sizeof digest);
}

void
kc_secret_fingerprint (const KcSecret *secret, char out[KC_FINGERPRINT_LEN])
{
  g_return_if_fail (secret != NULL);

  kc_fingerprint_bytes (secret->data, secret->len, out);
}
