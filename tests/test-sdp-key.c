/* test-sdp-key.c: a=key-mgmt:keycall, a=crypto and redaction. */
#include "config.h"

#include "kc-error.h"
#include "kc-sdp-key.h"
#include "kc-test.h"

#include <string.h>

/* RFC 4568 section 5.1's example key (30 bytes of AES_CM_128 key || salt). */
#define RFC_KEY "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define RFC_LINE "1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "|2^20|1:4"

static const struct {
  const char *name;
  gsize       key_salt_len;
} suites[] = {
  { "AES_CM_128_HMAC_SHA1_80", 30 },
  { "AES_CM_128_HMAC_SHA1_32", 30 },
  { "AEAD_AES_128_GCM", 28 },
  { "AEAD_AES_256_GCM", 44 },
};

/* Bytes first, first+1, ...: a known key for byte-exact expectations. */
static KcSecret *
seq_secret (gsize len, guint8 first)
{
  KcSecret *secret = kc_secret_new (len);

  for (gsize i = 0; i < len; i++)
    kc_secret_get_mutable (secret)[i] = (guint8) (first + i);
  return secret;
}

static KcSecret *
random_secret (gsize len)
{
  g_autoptr(GError) error = NULL;
  KcSecret *secret = kc_secret_new_random (len, &error);

  ck_assert_msg (secret != NULL, "random: %s", error ? error->message : "?");
  return secret;
}

/* Test keys are not real: plain-heap encodings are fine here. */
static char *
b64_of (const KcSecret *secret)
{
  return g_base64_encode (kc_secret_get_data (secret), kc_secret_get_len (secret));
}

static char *
hex_of (const KcSecret *secret)
{
  GString *hex = g_string_new (NULL);

  for (gsize i = 0; i < kc_secret_get_len (secret); i++)
    g_string_append_printf (hex, "%02x", kc_secret_get_data (secret)[i]);
  return g_string_free (hex, FALSE);
}

static void
seq_key_id (KcKeyId *id, guint8 first)
{
  for (int i = 0; i < KC_KEY_ID_LEN; i++)
    id->bytes[i] = (guint8) (first + i);
}

static void
assert_error (const GError *error, int code, const char *substring)
{
  ck_assert_msg (error != NULL, "expected an error containing '%s'", substring);
  ck_assert_msg (error->domain == KC_ERROR && error->code == code,
                 "error code %d, expected %d: %s", error->code, code, error->message);
  ck_assert_msg (strstr (error->message, substring) != NULL,
                 "message '%s' lacks '%s'", error->message, substring);
}

static void
expect_mgmt_error (const char *value, int code, const char *substring)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcKeyMgmt) mgmt = kc_key_mgmt_parse (value, &error);

  ck_assert_msg (mgmt == NULL, "'%s' parsed", value);
  assert_error (error, code, substring);
}

static void
expect_crypto_error (const char *value, int code, const char *substring)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcCrypto) crypto = kc_crypto_parse (value, &error);

  ck_assert_msg (crypto == NULL, "'%s' parsed", value);
  assert_error (error, code, substring);
}

/* "keycall <base64 of bytes>" for hand-made payloads. */
static char *
mgmt_value (const guint8 *payload, gsize len)
{
  g_autofree char *b64 = g_base64_encode (payload, len);

  return g_strconcat ("keycall ", b64, NULL);
}

/* "<tag> <suite> inline:<base64 of a seq key of key_len bytes><tail>" */
static char *
crypto_line (const char *suite, gsize key_len, const char *tail)
{
  g_autoptr(KcSecret) key = seq_secret (key_len, 0x40);
  g_autofree char *b64 = b64_of (key);

  return g_strdup_printf ("1 %s inline:%s%s", suite, b64, tail);
}

/* ---- a=key-mgmt:keycall ------------------------------------------------ */

static KcKeyMgmt *
round_trip_mgmt (const KcKeyMgmt *mgmt, const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  char *value = kc_key_mgmt_encode (mgmt, &error);
  KcKeyMgmt *back;

  ck_assert_msg (value != NULL, "encode: %s", error ? error->message : "?");
  ck_assert (g_str_has_prefix (value, "keycall "));
  line = g_strconcat (prefix, value, NULL);
  kc_secret_text_free (value);
  back = kc_key_mgmt_parse (line, &error);
  ck_assert_msg (back != NULL, "parse: %s", error ? error->message : "?");
  ck_assert_int_eq (back->type, mgmt->type);
  ck_assert (kc_key_id_equal (&back->key_id, &mgmt->key_id));
  return back;
}

START_TEST (test_mgmt_key_round_trip)
{
  static const char *const prefixes[] = { "", "key-mgmt:", "a=key-mgmt:" };
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  KcKeyId id;

  kc_key_id_generate (&id);
  mgmt = kc_key_mgmt_new_key (&id, key);
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++) {
    g_autoptr(KcKeyMgmt) back = round_trip_mgmt (mgmt, prefixes[i]);

    ck_assert_ptr_nonnull (back->key);
    ck_assert (kc_secret_equal (back->key, key));
  }
}
END_TEST

START_TEST (test_mgmt_ack_and_derive_round_trip)
{
  guint8 mac[KC_KEY_ACK_LEN], nonce[KC_DERIVE_NONCE_LEN];
  KcKeyId id;

  kc_key_id_generate (&id);
  for (guint i = 0; i < sizeof mac; i++)
    mac[i] = (guint8) (0x90 + i);
  for (guint i = 0; i < sizeof nonce; i++)
    nonce[i] = (guint8) (0x11 * i);
  for (int role = KC_ACK_ROLE_CALLER; role <= KC_ACK_ROLE_GATEWAY; role++) {
    g_autoptr(KcKeyMgmt) ack = kc_key_mgmt_new_ack (&id, role, mac);
    g_autoptr(KcKeyMgmt) back = round_trip_mgmt (ack, "a=key-mgmt:");

    ck_assert_int_eq (back->role, role);
    ck_assert_ptr_null (back->key);
    ck_assert_mem_eq (back->mac, mac, sizeof mac);
  }
  {
    g_autoptr(KcKeyMgmt) derive = kc_key_mgmt_new_derive (&id, nonce);
    g_autoptr(KcKeyMgmt) back = round_trip_mgmt (derive, "");

    ck_assert_ptr_null (back->key);
    ck_assert_mem_eq (back->nonce, nonce, sizeof nonce);
  }
}
END_TEST

/* Byte layout pinned by vectors computed independently (Python). */
START_TEST (test_mgmt_known_encoding)
{
  g_autoptr(KcSecret) key = seq_secret (KC_CALL_KEY_LEN, 0x20);
  g_autoptr(KcKeyMgmt) key_mgmt = NULL, ack = NULL, derive = NULL;
  guint8 mac[KC_KEY_ACK_LEN], nonce[KC_DERIVE_NONCE_LEN];
  char *text;
  KcKeyId id;

  seq_key_id (&id, 0);
  for (guint i = 0; i < 16; i++) {
    mac[i] = (guint8) (0xa0 + i);
    nonce[i] = (guint8) (0xc0 + i);
  }
  key_mgmt = kc_key_mgmt_new_key (&id, key);
  ack = kc_key_mgmt_new_ack (&id, KC_ACK_ROLE_CALLEE, mac);
  derive = kc_key_mgmt_new_derive (&id, nonce);

  text = kc_key_mgmt_encode (key_mgmt, NULL);
  ck_assert_str_eq (text, "keycall AQEAAQIDBAUGBwgJCgsMDQ4PICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/");
  kc_secret_text_free (text);
  text = kc_key_mgmt_encode (ack, NULL);
  ck_assert_str_eq (text, "keycall AQIAAQIDBAUGBwgJCgsMDQ4PAaChoqOkpaanqKmqq6ytrq8=");
  kc_secret_text_free (text);
  text = kc_key_mgmt_encode (derive, NULL);
  ck_assert_str_eq (text, "keycall AQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw==");
  kc_secret_text_free (text);
}
END_TEST

START_TEST (test_mgmt_rejects_bad_payloads)
{
  guint8 p[64] = { 1, 1 };
  g_autofree char *v40 = NULL, *v52 = NULL, *ack36 = NULL, *v2 = NULL, *type9 = NULL;
  g_autofree char *role3 = NULL, *keylen16 = NULL, *one = NULL;

  p[18] = KC_CALL_KEY_LEN;
  v40 = mgmt_value (p, 40);
  v52 = mgmt_value (p, 52);
  expect_mgmt_error (v40, KC_ERROR_INVALID, "key-mgmt payload is 40 bytes; a KEY payload is 51");
  expect_mgmt_error (v52, KC_ERROR_INVALID, "is 52 bytes; a KEY payload is 51");
  p[1] = KC_KEY_MGMT_ACK;
  p[18] = 0;
  ack36 = mgmt_value (p, 36);
  expect_mgmt_error (ack36, KC_ERROR_INVALID, "is 36 bytes; an ACK payload is 35");
  p[18] = 3;
  role3 = mgmt_value (p, 35);
  expect_mgmt_error (role3, KC_ERROR_INVALID, "role 3 is unknown");
  p[0] = 2;
  v2 = mgmt_value (p, 35);
  expect_mgmt_error (v2, KC_ERROR_INVALID, "version 2 is unknown");
  p[0] = 1;
  p[1] = 9;
  type9 = mgmt_value (p, 35);
  expect_mgmt_error (type9, KC_ERROR_INVALID, "type 9 is unknown");
  p[1] = KC_KEY_MGMT_KEY;
  p[18] = 16;
  keylen16 = mgmt_value (p, 51);
  expect_mgmt_error (keylen16, KC_ERROR_INVALID, "declares a 16-byte key");
  one = mgmt_value (p, 1);
  expect_mgmt_error (one, KC_ERROR_INVALID, "payload is 1 bytes");
}
END_TEST

START_TEST (test_mgmt_rejects_bad_syntax)
{
  expect_mgmt_error ("a=key-mgmt:mikey AQAFgM0XflABAAAAAAAAAAAAAAsAyO/gfwAA",
                     KC_ERROR_UNSUPPORTED,
                     "key-mgmt protocol 'mikey' is not supported; Keycall uses 'keycall'");
  expect_mgmt_error ("key-mgmt:keycall", KC_ERROR_INVALID, "no data");
  expect_mgmt_error ("keycall ", KC_ERROR_INVALID, "no data");
  expect_mgmt_error ("", KC_ERROR_INVALID, "empty");
  expect_mgmt_error (" keycall AQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw==",
                     KC_ERROR_INVALID, "one space");
  expect_mgmt_error ("keycall\tAQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw==",
                     KC_ERROR_INVALID, "one space");
  /* Base64: wrong alphabet, missing or misplaced padding, inner space. */
  expect_mgmt_error ("keycall AQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw-_",
                     KC_ERROR_INVALID, "base64");
  expect_mgmt_error ("keycall AQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw",
                     KC_ERROR_INVALID, "base64");
  expect_mgmt_error ("keycall AQMAAQIDBAUGBwgJ=gsMDQ4PwMHCw8TFxsfIycrLzM3Ozw==",
                     KC_ERROR_INVALID, "base64");
  expect_mgmt_error ("keycall AQMAAQIDBAUGBwgJ gsMDQ4PwMHCw8TFxsfIycrLzM3Ozw==",
                     KC_ERROR_INVALID, "base64");
  expect_mgmt_error ("keycall AQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw==\r\n",
                     KC_ERROR_INVALID, "control");
}
END_TEST

START_TEST (test_mgmt_length_limit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  GString *value = g_string_new ("keycall ");

  while (value->len < KC_SDP_KEY_MAX_LINE)
    g_string_append_c (value, 'A');
  /* At the limit the length is fine and the payload is what fails. */
  mgmt = kc_key_mgmt_parse (value->str, &error);
  ck_assert_ptr_null (mgmt);
  ck_assert_msg (!g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE), "%s", error->message);
  g_clear_error (&error);
  g_string_append_c (value, 'A');
  mgmt = kc_key_mgmt_parse (value->str, &error);
  ck_assert_ptr_null (mgmt);
  assert_error (error, KC_ERROR_TOO_LARGE, "1024");
  g_string_free (value, TRUE);
}
END_TEST

START_TEST (test_mgmt_encode_rejects_inconsistent)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) short_key = random_secret (16);
  KcKeyMgmt mgmt = { .type = KC_KEY_MGMT_KEY };

  ck_assert_ptr_null (kc_key_mgmt_encode (&mgmt, &error));
  assert_error (error, KC_ERROR_INVALID, "32-byte call key");
  g_clear_error (&error);
  mgmt.key = short_key;
  ck_assert_ptr_null (kc_key_mgmt_encode (&mgmt, &error));
  assert_error (error, KC_ERROR_INVALID, "32-byte call key");
  g_clear_error (&error);
  mgmt.key = NULL;
  mgmt.type = 7;
  ck_assert_ptr_null (kc_key_mgmt_encode (&mgmt, &error));
  assert_error (error, KC_ERROR_INVALID, "type 7");
  g_clear_error (&error);
  mgmt.type = KC_KEY_MGMT_ACK;
  mgmt.role = 5;
  ck_assert_ptr_null (kc_key_mgmt_encode (&mgmt, &error));
  assert_error (error, KC_ERROR_INVALID, "role 5");
}
END_TEST

#define DERIVE_B64 "AQMAAQIDBAUGBwgJCgsMDQ4PwMHCw8TFxsfIycrLzM3Ozw=="
#define ACK_B64    "AQIAAQIDBAUGBwgJCgsMDQ4PAaChoqOkpaanqKmqq6ytrq8="

START_TEST (test_find_key_mgmt_in_sdp)
{
  g_autoptr(GError) error = NULL;
  KcKeyMgmt *found = NULL;

  /* Media level, after another protocol's offer, CRLF endings. */
  ck_assert (kc_sdp_find_key_mgmt ("v=0\r\ns=-\r\nt=0 0\r\na=key-mgmt:mikey AQAF\r\n"
                                   "m=audio 4000 RTP/SAVP 0\r\na=key-mgmt:keycall " DERIVE_B64 "\r\n",
                                   &found, &error));
  ck_assert_ptr_nonnull (found);
  ck_assert_int_eq (found->type, KC_KEY_MGMT_DERIVE);
  g_clear_pointer (&found, kc_key_mgmt_free);

  /* Session level, LF endings, no final newline. */
  ck_assert (kc_sdp_find_key_mgmt ("v=0\na=key-mgmt:keycall " ACK_B64 "\nm=audio 4000 RTP/SAVP 0",
                                   &found, &error));
  ck_assert_ptr_nonnull (found);
  ck_assert_int_eq (found->role, KC_ACK_ROLE_CALLEE);
  g_clear_pointer (&found, kc_key_mgmt_free);

  /* None: success with nothing found. */
  ck_assert (kc_sdp_find_key_mgmt ("v=0\r\nm=audio 4000 RTP/AVP 0\r\n", &found, &error));
  ck_assert_ptr_null (found);
  ck_assert_ptr_null (error);

  ck_assert (!kc_sdp_find_key_mgmt ("v=0\r\na=key-mgmt:keycall " ACK_B64 "\r\nm=audio 4000 RTP/SAVP 0\r\n"
                                    "a=key-mgmt:keycall " DERIVE_B64 "\r\n", &found, &error));
  ck_assert_ptr_null (found);
  assert_error (error, KC_ERROR_INVALID, "second a=key-mgmt:keycall attribute (lines 2 and 4)");
  g_clear_error (&error);

  ck_assert (!kc_sdp_find_key_mgmt ("v=0\na=sendrecv\na=key-mgmt:keycall AQID\n", &found, &error));
  assert_error (error, KC_ERROR_INVALID, "SDP line 3: ");
}
END_TEST

/* ---- a=crypto ---------------------------------------------------------- */

START_TEST (test_crypto_rfc_example)
{
  static const char *const forms[] = { RFC_LINE, "crypto:" RFC_LINE, "a=crypto:" RFC_LINE };

  for (guint i = 0; i < G_N_ELEMENTS (forms); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(KcCrypto) crypto = kc_crypto_parse (forms[i], &error);
    g_autofree char *b64 = NULL;
    char *text;

    ck_assert_msg (crypto != NULL, "%s", error ? error->message : "?");
    ck_assert_uint_eq (crypto->tag, 1);
    ck_assert_int_eq (crypto->suite, KC_SUITE_AES_CM_128_HMAC_SHA1_80);
    ck_assert_uint_eq (crypto->lifetime, 1 << 20);
    ck_assert_uint_eq (crypto->mki_value, 1);
    ck_assert_uint_eq (crypto->mki_len, 4);
    ck_assert_ptr_null (crypto->session_params);
    b64 = b64_of (crypto->key_salt);
    ck_assert_str_eq (b64, RFC_KEY);
    text = kc_crypto_encode (crypto, &error);
    ck_assert_str_eq (text, RFC_LINE);
    kc_secret_text_free (text);
  }
}
END_TEST

START_TEST (test_crypto_round_trip_all_suites)
{
  for (guint i = 0; i < G_N_ELEMENTS (suites); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(KcSecret) key = random_secret (suites[i].key_salt_len);
    KcSuite suite = kc_suite_from_string (suites[i].name);
    g_autoptr(KcCrypto) crypto = kc_crypto_new (100 + i, suite, key);
    g_autoptr(KcCrypto) back = NULL;
    const char *params[] = { "KDR=0", "WSH=128", "FEC_ORDER=SRTP_FEC", NULL };
    char *text;

    crypto->lifetime = i % 2 ? 1000000 : G_GUINT64_CONSTANT (1) << 31;
    crypto->mki_value = 7 * i;
    crypto->mki_len = i + 1;
    crypto->session_params = g_strdupv ((char **) params);
    text = kc_crypto_encode (crypto, &error);
    ck_assert_msg (text != NULL, "%s: %s", suites[i].name, error ? error->message : "?");
    ck_assert (strstr (text, suites[i].name) != NULL);
    back = kc_crypto_parse (text, &error);
    kc_secret_text_free (text);
    ck_assert_msg (back != NULL, "%s: %s", suites[i].name, error ? error->message : "?");
    ck_assert_uint_eq (back->tag, 100 + i);
    ck_assert_int_eq (back->suite, suite);
    ck_assert (kc_secret_equal (back->key_salt, key));
    ck_assert_uint_eq (back->lifetime, crypto->lifetime);
    ck_assert_uint_eq (back->mki_value, crypto->mki_value);
    ck_assert_uint_eq (back->mki_len, crypto->mki_len);
    ck_assert_uint_eq (g_strv_length (back->session_params), 3);
    ck_assert (g_strv_equal ((const char *const *) back->session_params, params));
  }
}
END_TEST

START_TEST (test_crypto_suite_and_key_checks)
{
  g_autofree char *unknown = crypto_line ("AES_256_CM_HMAC_SHA1_80", 46, "");
  g_autofree char *gcm30 = crypto_line ("AEAD_AES_128_GCM", 30, "");
  g_autofree char *cm28 = crypto_line ("AES_CM_128_HMAC_SHA1_32", 28, "");
  g_autofree char *two = crypto_line ("AES_CM_128_HMAC_SHA1_80", 30, ";inline:" RFC_KEY);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcCrypto) crypto = kc_crypto_parse (unknown, &error);

  ck_assert_ptr_null (crypto);
  assert_error (error, KC_ERROR_UNSUPPORTED, "crypto-suite AES_256_CM_HMAC_SHA1_80 is not supported");
  assert_error (error, KC_ERROR_UNSUPPORTED,
                "AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM");
  expect_crypto_error (gcm30, KC_ERROR_INVALID,
                       "AEAD_AES_128_GCM needs 28 bytes of key and salt; this line has 30");
  expect_crypto_error (cm28, KC_ERROR_INVALID,
                       "AES_CM_128_HMAC_SHA1_32 needs 30 bytes of key and salt; this line has 28");
  expect_crypto_error (two, KC_ERROR_UNSUPPORTED, "2 key parameters; Keycall supports one");
  expect_crypto_error ("1 AES_CM_128_HMAC_SHA1_80 uri:http://example.com/key", KC_ERROR_UNSUPPORTED,
                       "key method 'uri' is not supported");
  expect_crypto_error ("1 AES_CM_128_HMAC_SHA1_80 " RFC_KEY, KC_ERROR_INVALID, "no key method");
  expect_crypto_error ("1 AES_CM_128_HMAC_SHA1_80 inline:", KC_ERROR_INVALID, "key is empty");
  expect_crypto_error ("1 AES_CM_128_HMAC_SHA1_80", KC_ERROR_INVALID, "no key parameters");
  expect_crypto_error ("1", KC_ERROR_INVALID, "no crypto-suite");
  expect_crypto_error ("1 AES-CM inline:" RFC_KEY, KC_ERROR_INVALID, "letters, digits and '_'");
  expect_crypto_error ("1234567890 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY, KC_ERROR_INVALID,
                       "tag must be 1 to 9");
  expect_crypto_error ("x AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY, KC_ERROR_INVALID, "tag");
  expect_crypto_error (RFC_LINE " ", KC_ERROR_INVALID, "white space");
  /* Base64: foreign characters, missing and misplaced padding. */
  expect_crypto_error ("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!",
                       KC_ERROR_INVALID, "not base64");
  expect_crypto_error ("1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGw",
                       KC_ERROR_INVALID, "base64");
  expect_crypto_error ("1 AEAD_AES_128_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB=aGw==",
                       KC_ERROR_INVALID, "base64");
}
END_TEST

START_TEST (test_crypto_key_param_limits)
{
  static const struct {
    const char *tail;
    guint64     lifetime;
    guint32     mki_value;
    guint       mki_len;
  } good[] = {
    { "|2^48", G_GUINT64_CONSTANT (1) << 48, 0, 0 },
    { "|281474976710656", G_GUINT64_CONSTANT (281474976710656), 0, 0 },
    { "|1", 1, 0, 0 },
    { "|255:1", 0, 255, 1 },
    { "|4294967295:128", 0, G_MAXUINT32, 128 },
    { "|2^10|65535:2", 1024, 65535, 2 },
  };
  static const struct {
    const char *tail;
    int         code;
    const char *message;
  } bad[] = {
    { "|2^49", KC_ERROR_INVALID, "lifetime must be 1 to 2^48" },
    { "|281474976710657", KC_ERROR_INVALID, "lifetime" },
    { "|0", KC_ERROR_INVALID, "lifetime" },
    { "|", KC_ERROR_INVALID, "lifetime" },
    { "|2^", KC_ERROR_INVALID, "lifetime" },
    { "|1:0", KC_ERROR_INVALID, "MKI length must be 1 to 128" },
    { "|1:129", KC_ERROR_INVALID, "MKI length must be 1 to 128" },
    { "|256:1", KC_ERROR_INVALID, "MKI value 256 does not fit in 1 bytes" },
    { "|x:4", KC_ERROR_INVALID, "MKI value must be a decimal" },
    { "|4294967296:8", KC_ERROR_UNSUPPORTED, "32-bit MKI" },
    { "|1:4|2^20", KC_ERROR_INVALID, "before the MKI" },
    { "|1:4|2:4", KC_ERROR_INVALID, "more than one MKI" },
    { "|2^20|2^21", KC_ERROR_INVALID, "one lifetime" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autofree char *line = crypto_line ("AES_CM_128_HMAC_SHA1_80", 30, good[i].tail);
    g_autoptr(GError) error = NULL;
    g_autoptr(KcCrypto) crypto = kc_crypto_parse (line, &error);

    ck_assert_msg (crypto != NULL, "%s: %s", good[i].tail, error ? error->message : "?");
    ck_assert_uint_eq (crypto->lifetime, good[i].lifetime);
    ck_assert_uint_eq (crypto->mki_value, good[i].mki_value);
    ck_assert_uint_eq (crypto->mki_len, good[i].mki_len);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *line = crypto_line ("AES_CM_128_HMAC_SHA1_80", 30, bad[i].tail);

    expect_crypto_error (line, bad[i].code, bad[i].message);
  }
}
END_TEST

START_TEST (test_crypto_session_params)
{
  static const struct {
    const char *params;
    guint       kept;
  } good[] = {
    { " KDR=24", 1 },
    { " WSH=64 FEC_ORDER=FEC_SRTP", 2 },
    { " -X_VENDOR=1 KDR=0", 1 },  /* '-' marks an optional one: ignored */
    { "\t-ONLY", 0 },
  };
  static const struct {
    const char *params;
    int         code;
    const char *message;
  } bad[] = {
    { " UNENCRYPTED_SRTP", KC_ERROR_UNSUPPORTED, "UNENCRYPTED_SRTP is refused" },
    { " UNENCRYPTED_SRTCP", KC_ERROR_UNSUPPORTED, "UNENCRYPTED_SRTCP is refused" },
    { " KDR=1 UNAUTHENTICATED_SRTP", KC_ERROR_UNSUPPORTED, "UNAUTHENTICATED_SRTP is refused" },
    { " FOO=1", KC_ERROR_UNSUPPORTED, "FOO is unknown" },
    { " KDR=25", KC_ERROR_INVALID, "KDR must be 0 to 24" },
    { " WSH=63", KC_ERROR_INVALID, "WSH must be" },
    { " FEC_ORDER=RAW", KC_ERROR_INVALID, "FEC_ORDER must be" },
    { " FEC_KEY=inline:" RFC_KEY, KC_ERROR_UNSUPPORTED, "FEC_KEY" },
    { " -X=inline:" RFC_KEY, KC_ERROR_INVALID, "holds an inline key" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autofree char *line = crypto_line ("AEAD_AES_256_GCM", 44, good[i].params);
    g_autoptr(GError) error = NULL;
    g_autoptr(KcCrypto) crypto = kc_crypto_parse (line, &error);

    ck_assert_msg (crypto != NULL, "'%s': %s", good[i].params, error ? error->message : "?");
    ck_assert_uint_eq (crypto->session_params ? g_strv_length (crypto->session_params) : 0,
                       good[i].kept);
    for (guint k = 0; k < good[i].kept; k++)
      ck_assert (strstr (good[i].params, crypto->session_params[k]) != NULL);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *line = crypto_line ("AEAD_AES_256_GCM", 44, bad[i].params);

    expect_crypto_error (line, bad[i].code, bad[i].message);
  }
}
END_TEST

/* An error message is logged: it must never quote the key. */
START_TEST (test_crypto_errors_never_quote_the_key)
{
  static const char *const lines[] = {
    "1 AEAD_AES_128_GCM inline:" RFC_KEY,
    "1 NOPE inline:" RFC_KEY,
    "1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY " BAD",
    "1 AES_CM_128_HMAC_SHA1_80 " RFC_KEY ":" RFC_KEY,
    "1 " RFC_KEY " inline:" RFC_KEY,
    "1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY " " RFC_KEY,
  };

  for (guint i = 0; i < G_N_ELEMENTS (lines); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(KcCrypto) crypto = kc_crypto_parse (lines[i], &error);

    ck_assert_ptr_null (crypto);
    ck_assert_msg (strstr (error->message, "PS1uQCVe") == NULL, "leak: %s", error->message);
  }
}
END_TEST

START_TEST (test_crypto_length_limit)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcCrypto) crypto = NULL;
  GString *line = g_string_new ("a=crypto:" RFC_LINE " -PAD=");

  while (line->len < KC_SDP_KEY_MAX_LINE)
    g_string_append_c (line, 'x');
  crypto = kc_crypto_parse (line->str, &error);
  ck_assert_msg (crypto != NULL, "%s", error ? error->message : "?");
  g_string_append_c (line, 'x');
  g_clear_pointer (&crypto, kc_crypto_free);
  crypto = kc_crypto_parse (line->str, &error);
  ck_assert_ptr_null (crypto);
  assert_error (error, KC_ERROR_TOO_LARGE, "1024");
  g_string_free (line, TRUE);
}
END_TEST

START_TEST (test_crypto_encode_rejects)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) key = random_secret (30);
  g_autoptr(KcCrypto) crypto = kc_crypto_new (1, KC_SUITE_AEAD_AES_128_GCM, key);
  char *params[] = { "UNENCRYPTED_SRTP", NULL };

  ck_assert_ptr_null (kc_crypto_encode (crypto, &error));
  assert_error (error, KC_ERROR_INVALID, "AEAD_AES_128_GCM needs 28 bytes");
  g_clear_error (&error);
  crypto->suite = KC_SUITE_AES_CM_128_HMAC_SHA1_80;
  crypto->mki_len = 1;
  crypto->mki_value = 300;
  ck_assert_ptr_null (kc_crypto_encode (crypto, &error));
  assert_error (error, KC_ERROR_INVALID, "MKI");
  g_clear_error (&error);
  crypto->mki_len = 0;
  crypto->session_params = g_strdupv (params);
  ck_assert_ptr_null (kc_crypto_encode (crypto, &error));
  assert_error (error, KC_ERROR_UNSUPPORTED, "UNENCRYPTED_SRTP");
}
END_TEST

/* ---- redaction --------------------------------------------------------- */

static char *
fingerprint_of (const KcSecret *secret)
{
  char fp[KC_FINGERPRINT_LEN];

  kc_secret_fingerprint (secret, fp);
  return g_strdup (fp);
}

static void
assert_no_leak (const char *out, const KcSecret *key)
{
  g_autofree char *b64 = b64_of (key);
  g_autofree char *hex = hex_of (key);
  g_autofree char *b64_head = g_strndup (b64, 12);

  ck_assert_msg (strstr (out, b64_head) == NULL, "base64 of the key in: %s", out);
  ck_assert_msg (strstr (out, hex) == NULL, "hex of the key in: %s", out);
}

START_TEST (test_redact_each_attribute)
{
  g_autoptr(KcSecret) call_key = seq_secret (KC_CALL_KEY_LEN, 0x20);
  g_autoptr(KcSecret) srtp_key = random_secret (30);
  g_autofree char *srtp_b64 = b64_of (srtp_key), *srtp_fp = fingerprint_of (srtp_key);
  g_autofree char *in = NULL, *out = NULL, *want = NULL;

  in = g_strdup_printf ("a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31|3:2 KDR=0\r\n"
                        "a=key-mgmt:keycall AQEAAQIDBAUGBwgJCgsMDQ4PICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/\r\n"
                        "a=key-mgmt:keycall " ACK_B64 "\r\n"
                        "a=key-mgmt:keycall " DERIVE_B64 "\r\n", srtp_b64);
  out = kc_sdp_redact (in);
  want = g_strdup_printf ("a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:[key %s]|2^31|3:2 KDR=0\r\n"
                          "a=key-mgmt:keycall [KEY id 00010203 key 72db b733 6c76 7800]\r\n"
                          "a=key-mgmt:keycall [ACK callee id 00010203 mac a0a1a2a3a4a5a6a7a8a9aaabacadaeaf]\r\n"
                          "a=key-mgmt:keycall [DERIVE id 00010203 nonce c0c1c2c3c4c5c6c7c8c9cacbcccdcecf]\r\n",
                          srtp_fp);
  ck_assert_str_eq (out, want);
  assert_no_leak (out, srtp_key);
  assert_no_leak (out, call_key);
}
END_TEST

/* Well-formed but refused by policy: still readable, key still hidden. */
START_TEST (test_redact_keeps_refused_lines_readable)
{
  g_autoptr(KcSecret) key = seq_secret (46, 0x40);
  g_autofree char *in = crypto_line ("AES_256_CM_HMAC_SHA1_80", 46, " UNENCRYPTED_SRTCP");
  g_autofree char *line = g_strconcat ("a=crypto:", in, "\n", NULL);
  g_autofree char *fp = fingerprint_of (key), *out = kc_sdp_redact (line);
  g_autofree char *want = g_strdup_printf ("a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:[key %s]"
                                           " UNENCRYPTED_SRTCP\n", fp);

  ck_assert_str_eq (out, want);
}
END_TEST

START_TEST (test_redact_malformed)
{
  static const char *const values[] = {
    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!",
    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^99",
    "1 AES_CM_128_HMAC_SHA1_80 PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR ",
    "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV",
  };
  static const char *const mgmt_values[] = {
    "mikey PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
    "keycall PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
    "keycall  PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
  };

  for (guint i = 0; i < G_N_ELEMENTS (values) + G_N_ELEMENTS (mgmt_values); i++) {
    gboolean crypto = i < G_N_ELEMENTS (values);
    const char *value = crypto ? values[i] : mgmt_values[i - G_N_ELEMENTS (values)];
    const char *name = crypto ? "a=crypto:" : "a=key-mgmt:";
    g_autofree char *in = g_strconcat ("v=0\r\n", name, value, "\r\nm=audio 1 RTP/SAVP 0\r\n", NULL);
    g_autofree char *out = kc_sdp_redact (in);
    g_autofree char *want = g_strdup_printf ("v=0\r\n%s[unparsed key attribute, %" G_GSIZE_FORMAT
                                             " bytes redacted]\r\nm=audio 1 RTP/SAVP 0\r\n",
                                             name, strlen (value));

    ck_assert_str_eq (out, want);
  }
}
END_TEST

/* Cut a line anywhere: no stretch of the key may survive. */
START_TEST (test_redact_truncated_lines)
{
  const char *line = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "|2^20|1:4";

  for (gsize cut = strlen ("a=crypto:"); cut <= strlen (line); cut++) {
    g_autofree char *in = g_strndup (line, cut);
    g_autofree char *out = kc_sdp_redact (in);

    for (gsize k = 0; k + 8 <= strlen (RFC_KEY); k++) {
      g_autofree char *piece = g_strndup (&RFC_KEY[k], 8);

      ck_assert_msg (strstr (out, piece) == NULL, "cut %" G_GSIZE_FORMAT ": %s", cut, out);
    }
  }
}
END_TEST

START_TEST (test_redact_loose_occurrences)
{
  g_autofree char *out = NULL;

  /* Inside a log line, a bare value, a header; other text untouched. */
  out = kc_sdp_redact ("12:00 rx a=CRYPTO:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "\n"
                       "value=\"1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "|2^20\"\n"
                       "X-Debug: keycall " DERIVE_B64 "; keycall softphone\n"
                       "X-Broken: inline:AAA; Content-Disposition: inline\n");
  ck_assert_str_eq (out,
                    "12:00 rx a=CRYPTO:1 AES_CM_128_HMAC_SHA1_80 inline:[key f2ac 3875 5d43 3918]\n"
                    "value=\"1 AES_CM_128_HMAC_SHA1_80 inline:[key f2ac 3875 5d43 3918]|2^20\"\n"
                    "X-Debug: keycall [DERIVE id 00010203 nonce c0c1c2c3c4c5c6c7c8c9cacbcccdcecf]; "
                    "keycall softphone\n"
                    "X-Broken: inline:[unparsed key attribute, 3 bytes redacted]; "
                    "Content-Disposition: inline\n");
}
END_TEST

START_TEST (test_redact_line_endings_and_plain_text)
{
  const char *plain = "no keys here\r\n\r\nmixed\nendings\r\rand a=fmtp:101 0-15\n";
  g_autofree char *same = kc_sdp_redact (plain);
  g_autofree char *empty = kc_sdp_redact ("");

  ck_assert_str_eq (same, plain);
  ck_assert_str_eq (empty, "");
}
END_TEST

START_TEST (test_redact_long_input)
{
  g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
  GString *in = g_string_new (NULL);
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;

  /* Keys are freed as we go: the secure heap holds about a thousand. */
  for (guint i = 0; i < 2000; i++) {
    g_autoptr(KcSecret) key = random_secret (suites[i % 4].key_salt_len);
    g_autofree char *b64 = b64_of (key), *fp = fingerprint_of (key);

    g_string_append_printf (in, "a=rtpmap:%u opus/48000/2\r\na=crypto:%u %s inline:%s\r\n",
                            i, i, suites[i % 4].name, b64);
    g_ptr_array_add (want, g_strdup_printf ("a=crypto:%u %s inline:[key %s]",
                                            i, suites[i % 4].name, fp));
  }
  g_string_append_c (in, 'x');
  for (guint i = 0; i < 200000; i++)
    g_string_append (in, "inline");  /* one 1.2 MB line, no key in it */
  out = kc_sdp_redact (in->str);
  lines = g_strsplit (out, "\r\n", -1);
  ck_assert_uint_eq (g_strv_length (lines), 4001);
  for (guint i = 0; i < want->len; i++) {
    g_autofree char *rtpmap = g_strdup_printf ("a=rtpmap:%u opus/48000/2", i);

    ck_assert_str_eq (lines[2 * i], rtpmap);
    ck_assert_str_eq (lines[2 * i + 1], want->pdata[i]);
  }
  ck_assert_uint_eq (strlen (lines[4000]), 1 + 6 * 200000);
  g_string_free (in, TRUE);
}
END_TEST

#define INVITE \
  "INVITE sip:bob@gc2.example.net SIP/2.0\r\n" \
  "Via: SIP/2.0/TLS gc1.example.net:5061;branch=z9hG4bK74bf9\r\n" \
  "Max-Forwards: 69\r\n" \
  "From: \"Alice\" <sip:alice@gc1.example.net>;tag=9fxced76sl\r\n" \
  "To: <sip:bob@gc2.example.net>\r\n" \
  "Call-ID: 3848276298220188511@gc1.example.net\r\n" \
  "CSeq: 1 INVITE\r\n" \
  "Contact: <sip:alice@10.0.0.5:5061;transport=tls>\r\n" \
  "User-Agent: Keycall controller 0.1.0\r\n" \
  "Content-Type: application/sdp\r\n" \
  "Content-Length: 412\r\n" \
  "\r\n" \
  "v=0\r\n" \
  "o=alice 2890844526 2890844526 IN IP4 10.0.0.5\r\n" \
  "s=-\r\n" \
  "c=IN IP4 10.0.0.5\r\n" \
  "t=0 0\r\n" \
  "a=key-mgmt:keycall %s\r\n" \
  "m=audio 49170 RTP/SAVP 111 0 101\r\n" \
  "a=rtpmap:111 opus/48000/2\r\n" \
  "a=rtpmap:0 PCMU/8000\r\n" \
  "a=rtpmap:101 telephone-event/8000\r\n" \
  "a=fmtp:101 0-15\r\n" \
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^20|1:4\r\n" \
  "a=crypto:2 AEAD_AES_256_GCM inline:%s\r\n" \
  "a=sendrecv\r\n"

START_TEST (test_redact_full_invite)
{
  g_autoptr(KcSecret) call_key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(KcSecret) cm_key = random_secret (30), gcm_key = random_secret (44);
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autofree char *cm_b64 = b64_of (cm_key), *gcm_b64 = b64_of (gcm_key);
  g_autofree char *call_fp = fingerprint_of (call_key);
  g_autofree char *cm_fp = fingerprint_of (cm_key), *gcm_fp = fingerprint_of (gcm_key);
  g_autofree char *in = NULL, *out = NULL, *want = NULL, *mgmt_want = NULL, *cm_want = NULL;
  g_autofree char *gcm_want = NULL, *id_hex = NULL;
  char *value;
  KcKeyId id;

  kc_key_id_generate (&id);
  mgmt = kc_key_mgmt_new_key (&id, call_key);
  value = kc_key_mgmt_encode (mgmt, NULL);
  in = g_strdup_printf (INVITE, value + strlen ("keycall "), cm_b64, gcm_b64);
  kc_secret_text_free (value);

  id_hex = g_strdup_printf ("%02x%02x%02x%02x", id.bytes[0], id.bytes[1], id.bytes[2], id.bytes[3]);
  mgmt_want = g_strdup_printf ("[KEY id %s key %s]", id_hex, call_fp);
  cm_want = g_strdup_printf ("[key %s]", cm_fp);
  gcm_want = g_strdup_printf ("[key %s]", gcm_fp);
  want = g_strdup_printf (INVITE, mgmt_want, cm_want, gcm_want);

  out = kc_sdp_redact (in);
  ck_assert_str_eq (out, want);
  assert_no_leak (out, call_key);
  assert_no_leak (out, cm_key);
  assert_no_leak (out, gcm_key);
}
END_TEST

/* Logs are redacted again when read back; a second pass must not blank
 * what the first one made readable, nor let a key hide behind its shape. */
START_TEST (test_redact_is_idempotent)
{
  g_autoptr(KcSecret) call_key = random_secret (KC_CALL_KEY_LEN), cm_key = random_secret (30);
  g_autoptr(KcKeyMgmt) key = NULL, ack = NULL;
  g_autofree char *cm_b64 = b64_of (cm_key), *in = NULL, *once = NULL, *twice = NULL;
  g_autofree char *sneaky = NULL, *sneaky_out = NULL;
  guint8 mac[KC_KEY_ACK_LEN] = { 1, 2, 3 };
  char *key_value, *ack_value;
  KcKeyId id;

  kc_key_id_generate (&id);
  key = kc_key_mgmt_new_key (&id, call_key);
  ack = kc_key_mgmt_new_ack (&id, KC_ACK_ROLE_CALLER, mac);
  key_value = kc_key_mgmt_encode (key, NULL);
  ack_value = kc_key_mgmt_encode (ack, NULL);
  in = g_strdup_printf ("a=key-mgmt:%s\r\na=key-mgmt:%s\r\n"
                        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^20|1:4 KDR=0\r\n"
                        "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:%s!\r\n",
                        key_value, ack_value, cm_b64, cm_b64);
  kc_secret_text_free (key_value);
  kc_secret_text_free (ack_value);

  once = kc_sdp_redact (in);
  twice = kc_sdp_redact (once);
  ck_assert_str_eq (twice, once);
  ck_assert_ptr_nonnull (strstr (once, "[KEY id "));
  ck_assert_ptr_nonnull (strstr (once, "[ACK caller id "));
  ck_assert_ptr_nonnull (strstr (once, "inline:[key "));

  /* A real key placed after a redacted one is still caught. */
  sneaky = g_strdup_printf ("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:[key 0000 0000 0000 0000]"
                            ";inline:%s\r\n", cm_b64);
  sneaky_out = kc_sdp_redact (sneaky);
  assert_no_leak (sneaky_out, cm_key);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("sdp-key");
  TCase *mgmt = tcase_create ("key-mgmt");
  TCase *crypto = tcase_create ("crypto");
  TCase *redact = tcase_create ("redact");

  kc_secure_heap_init ();

  tcase_add_test (mgmt, test_mgmt_key_round_trip);
  tcase_add_test (mgmt, test_mgmt_ack_and_derive_round_trip);
  tcase_add_test (mgmt, test_mgmt_known_encoding);
  tcase_add_test (mgmt, test_mgmt_rejects_bad_payloads);
  tcase_add_test (mgmt, test_mgmt_rejects_bad_syntax);
  tcase_add_test (mgmt, test_mgmt_length_limit);
  tcase_add_test (mgmt, test_mgmt_encode_rejects_inconsistent);
  tcase_add_test (mgmt, test_find_key_mgmt_in_sdp);
  suite_add_tcase (s, mgmt);

  tcase_add_test (crypto, test_crypto_rfc_example);
  tcase_add_test (crypto, test_crypto_round_trip_all_suites);
  tcase_add_test (crypto, test_crypto_suite_and_key_checks);
  tcase_add_test (crypto, test_crypto_key_param_limits);
  tcase_add_test (crypto, test_crypto_session_params);
  tcase_add_test (crypto, test_crypto_errors_never_quote_the_key);
  tcase_add_test (crypto, test_crypto_length_limit);
  tcase_add_test (crypto, test_crypto_encode_rejects);
  suite_add_tcase (s, crypto);

  tcase_add_test (redact, test_redact_each_attribute);
  tcase_add_test (redact, test_redact_keeps_refused_lines_readable);
  tcase_add_test (redact, test_redact_malformed);
  tcase_add_test (redact, test_redact_truncated_lines);
  tcase_add_test (redact, test_redact_loose_occurrences);
  tcase_add_test (redact, test_redact_line_endings_and_plain_text);
  tcase_add_test (redact, test_redact_long_input);
  tcase_add_test (redact, test_redact_full_invite);
  tcase_add_test (redact, test_redact_is_idempotent);
  suite_add_tcase (s, redact);

  return s;
}

KC_TEST_MAIN (make_suite)
