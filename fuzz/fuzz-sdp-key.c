/* fuzz-sdp-key.c: every SDP key parser and the redactor on arbitrary bytes.
 *
 * Besides memory safety (ASan, UBSan) it checks two properties and aborts
 * when one fails: whatever parses encodes and parses back to the same
 * value, and the redacted form of an accepted attribute never holds the
 * base64 of its key.
 */
#include "config.h"

#include "kc-sdp-key.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (gboolean ok, const char *what)
{
  if (!ok) {
    fprintf (stderr, "property failed: %s\n", what);
    abort ();
  }
}

static void
check_redacted (const char *attribute, const KcSecret *key)
{
  g_autofree char *redacted = kc_sdp_redact (attribute);
  char *b64 = kc_secret_to_base64 (key);

  check (strstr (redacted, b64) == NULL, "redacted attribute holds its key");
  kc_secret_text_free (b64);
}

static void
fuzz_key_mgmt (const char *text)
{
  g_autoptr(KcKeyMgmt) mgmt = kc_key_mgmt_parse (text, NULL);
  g_autoptr(KcKeyMgmt) back = NULL;
  g_autofree char *line = NULL;
  char *value;

  if (mgmt == NULL)
    return;
  value = kc_key_mgmt_encode (mgmt, NULL);
  check (value != NULL, "a parsed key-mgmt encodes");
  back = kc_key_mgmt_parse (value, NULL);
  line = g_strconcat ("a=key-mgmt:", value, NULL);
  kc_secret_text_free (value);
  check (back != NULL, "an encoded key-mgmt parses");
  check (back->type == mgmt->type && kc_key_id_equal (&back->key_id, &mgmt->key_id)
         && back->role == mgmt->role
         && memcmp (back->mac, mgmt->mac, sizeof mgmt->mac) == 0
         && memcmp (back->nonce, mgmt->nonce, sizeof mgmt->nonce) == 0
         && (mgmt->key == NULL) == (back->key == NULL)
         && (mgmt->key == NULL || kc_secret_equal (mgmt->key, back->key)),
         "key-mgmt round trip");
  if (mgmt->key != NULL)
    check_redacted (line, mgmt->key);
}

static void
fuzz_crypto (const char *text)
{
  g_autoptr(KcCrypto) crypto = kc_crypto_parse (text, NULL);
  g_autoptr(KcCrypto) back = NULL;
  g_autofree char *line = NULL;
  char *value;

  if (crypto == NULL)
    return;
  value = kc_crypto_encode (crypto, NULL);
  check (value != NULL, "a parsed a=crypto encodes");
  back = kc_crypto_parse (value, NULL);
  line = g_strconcat ("a=crypto:", value, NULL);
  kc_secret_text_free (value);
  check (back != NULL, "an encoded a=crypto parses");
  check (back->tag == crypto->tag && back->suite == crypto->suite
         && kc_secret_equal (back->key_salt, crypto->key_salt)
         && back->lifetime == crypto->lifetime && back->mki_value == crypto->mki_value
         && back->mki_len == crypto->mki_len
         && (crypto->session_params == NULL) == (back->session_params == NULL)
         && (crypto->session_params == NULL
             || g_strv_equal ((const char *const *) crypto->session_params,
                              (const char *const *) back->session_params)),
         "a=crypto round trip");
  check_redacted (line, crypto->key_salt);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = NULL;
  g_autofree char *redacted = NULL;
  KcKeyMgmt *found = NULL;

  kc_secure_heap_init ();
  /* Stops at the first NUL: every entry point takes a C string. */
  text = g_strndup ((const char *) data, size);

  fuzz_key_mgmt (text);
  fuzz_crypto (text);
  if (kc_sdp_find_key_mgmt (text, &found, NULL))
    kc_key_mgmt_free (found);
  redacted = kc_sdp_redact (text);
  check (redacted != NULL, "redaction returns text");
  return 0;
}
