/* test-keys.c: call keys (claims 2 and 3), SRTP keys and acknowledgments,
 * checked against tests/data/keycall-key-vectors.txt, which an independent
 * implementation (gen-key-vectors.py, Python's hmac/hashlib) wrote. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-keys.h"

#include <string.h>

static GHashTable *vectors;

static void
load_vectors (void)
{
  g_autofree char *path = kc_test_data_path ("keycall-key-vectors.txt");
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  ck_assert_msg (g_file_get_contents (path, &text, NULL, NULL), "cannot read %s", path);
  vectors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    char *eq = strstr (*l, " = ");

    if (**l == '#' || eq == NULL)
      continue;
    g_hash_table_insert (vectors, g_strndup (*l, eq - *l), g_strdup (eq + 3));
  }
}

static void
free_vectors (void)
{
  g_clear_pointer (&vectors, g_hash_table_unref);
}

static const char *
vec (const char *name)
{
  const char *v = g_hash_table_lookup (vectors, name);

  ck_assert_msg (v != NULL, "vector %s missing", name);
  return v;
}

static KcSecret *
vec_secret (const char *name)
{
  const char *hex = vec (name);
  gsize len = strlen (hex) / 2;
  g_autofree guint8 *bytes = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    bytes[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
  return kc_secret_new_from_data (bytes, len);
}

static char *
hex (const guint8 *bytes, gsize len)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", bytes[i]);
  return g_string_free (s, FALSE);
}

static KcSecret *
vector_call_key (KcKeyId *key_id)
{
  g_autoptr(KcSecret) secret = vec_secret ("signaling_secret");
  g_autoptr(KcSecret) nonce = vec_secret ("nonce");
  g_autoptr(GError) error = NULL;
  KcSecret *key;

  ck_assert (kc_key_id_from_hex (key_id, vec ("key_id"), NULL));
  key = kc_call_key_derive (secret, key_id, kc_secret_get_data (nonce), vec ("call_id"), &error);
  ck_assert_ptr_null (error);
  return key;
}

START_TEST (test_derived_key_matches_reference)
{
  KcKeyId id;
  g_autoptr(KcSecret) key = vector_call_key (&id);
  g_autoptr(KcSecret) expected = vec_secret ("call_key");
  char fp[KC_FINGERPRINT_LEN];

  ck_assert (kc_secret_equal (key, expected));
  kc_secret_fingerprint (key, fp);
  ck_assert_str_eq (fp, vec ("fingerprint"));
}
END_TEST

START_TEST (test_derived_key_depends_on_every_input)
{
  KcKeyId id, other_id;
  g_autoptr(KcSecret) key = vector_call_key (&id);
  g_autoptr(KcSecret) secret = vec_secret ("signaling_secret");
  g_autoptr(KcSecret) nonce = vec_secret ("nonce");
  g_autoptr(KcSecret) k1 = NULL, k2 = NULL, k3 = NULL, k4 = NULL;
  guint8 other_nonce[KC_DERIVE_NONCE_LEN];

  memcpy (other_nonce, kc_secret_get_data (nonce), sizeof other_nonce);
  other_nonce[0] ^= 1;
  other_id = id;
  other_id.bytes[15] ^= 1;

  k1 = kc_call_key_derive (secret, &other_id, kc_secret_get_data (nonce), vec ("call_id"), NULL);
  k2 = kc_call_key_derive (secret, &id, other_nonce, vec ("call_id"), NULL);
  k3 = kc_call_key_derive (secret, &id, kc_secret_get_data (nonce), "other@keycall.test", NULL);
  kc_secret_get_mutable (secret)[0] ^= 1;
  k4 = kc_call_key_derive (secret, &id, kc_secret_get_data (nonce), vec ("call_id"), NULL);
  ck_assert (!kc_secret_equal (key, k1));
  ck_assert (!kc_secret_equal (key, k2));
  ck_assert (!kc_secret_equal (key, k3));
  ck_assert (!kc_secret_equal (key, k4));
}
END_TEST

START_TEST (test_derive_rejects_bad_inputs)
{
  KcKeyId id = { { 0 } };
  guint8 nonce[KC_DERIVE_NONCE_LEN] = { 0 };
  g_autoptr(KcSecret) short_secret = kc_secret_new (16);
  g_autoptr(KcSecret) secret = kc_secret_new (KC_SIGNALING_SECRET_LEN);
  g_autoptr(GError) e1 = NULL, e2 = NULL;
  g_autofree char *long_call_id = g_strnfill (1025, 'x');

  ck_assert_ptr_null (kc_call_key_derive (short_secret, &id, nonce, "c", &e1));
  ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (e1->message, "16 bytes"));
  ck_assert_ptr_null (kc_call_key_derive (secret, &id, nonce, long_call_id, &e2));
  ck_assert (g_error_matches (e2, KC_ERROR, KC_ERROR_INVALID));
}
END_TEST

START_TEST (test_srtp_keys_match_reference)
{
  KcKeyId id;
  g_autoptr(KcSecret) call_key = vector_call_key (&id);

  for (int suite = 0; suite < KC_SUITE_COUNT; suite++) {
    for (int dir = KC_DIRECTION_CALLER_TO_CALLEE; dir <= KC_DIRECTION_CALLEE_TO_CALLER; dir++) {
      g_autoptr(GError) error = NULL;
      g_autoptr(KcSecret) k = kc_srtp_key_derive (call_key, suite, dir, &error);
      g_autofree char *name = g_strdup_printf ("srtp %s %s", kc_suite_to_string (suite),
                                               kc_direction_to_string (dir));
      g_autofree char *actual = NULL;

      ck_assert_ptr_null (error);
      ck_assert_uint_eq (kc_secret_get_len (k), kc_suite_key_salt_len (suite));
      actual = hex (kc_secret_get_data (k), kc_secret_get_len (k));
      ck_assert_str_eq (actual, vec (name));
    }
  }
}
END_TEST

START_TEST (test_srtp_directions_differ)
{
  g_autoptr(KcSecret) call_key = kc_call_key_new_random (NULL);
  g_autoptr(KcSecret) a = kc_srtp_key_derive (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, NULL);
  g_autoptr(KcSecret) b = kc_srtp_key_derive (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLEE_TO_CALLER, NULL);
  g_autoptr(KcSecret) c = kc_srtp_key_derive (call_key, KC_SUITE_AES_CM_128_HMAC_SHA1_32,
                                              KC_DIRECTION_CALLER_TO_CALLEE, NULL);

  ck_assert (!kc_secret_equal (a, b));
  /* Same lengths, different suite: a different key, so a suite downgrade
   * cannot reuse a keystream. */
  ck_assert (!kc_secret_equal (a, c));
}
END_TEST

START_TEST (test_srtp_rejects_bad_inputs)
{
  g_autoptr(KcSecret) short_key = kc_secret_new (16);
  g_autoptr(KcSecret) key = kc_secret_new (KC_CALL_KEY_LEN);
  g_autoptr(GError) e1 = NULL, e2 = NULL;

  ck_assert_ptr_null (kc_srtp_key_derive (short_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, &e1));
  ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_ptr_null (kc_srtp_key_derive (key, (KcSuite) 17, KC_DIRECTION_CALLER_TO_CALLEE, &e2));
  ck_assert (g_error_matches (e2, KC_ERROR, KC_ERROR_UNSUPPORTED));
}
END_TEST

START_TEST (test_random_keys_are_fresh)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < 1000; i++) {
    g_autoptr(KcSecret) k = kc_call_key_new_random (NULL);

    ck_assert_uint_eq (kc_secret_get_len (k), KC_CALL_KEY_LEN);
    ck_assert (g_hash_table_add (seen, hex (kc_secret_get_data (k), KC_CALL_KEY_LEN)));
  }
}
END_TEST

START_TEST (test_ack_matches_reference)
{
  KcKeyId id;
  g_autoptr(KcSecret) call_key = vector_call_key (&id);

  for (int role = KC_ACK_ROLE_CALLER; role <= KC_ACK_ROLE_GATEWAY; role++) {
    guint8 mac[KC_KEY_ACK_LEN];
    g_autofree char *name = g_strdup_printf ("ack %s", kc_ack_role_to_string (role));
    g_autofree char *actual = NULL;

    kc_key_ack_compute (call_key, &id, vec ("call_id"), role, mac);
    actual = hex (mac, sizeof mac);
    ck_assert_str_eq (actual, vec (name));
    ck_assert (kc_key_ack_verify (call_key, &id, vec ("call_id"), role, mac, sizeof mac, NULL));
  }
}
END_TEST

START_TEST (test_ack_rejects_forgeries)
{
  KcKeyId id;
  g_autoptr(KcSecret) call_key = vector_call_key (&id);
  g_autoptr(KcSecret) other_key = kc_call_key_new_random (NULL);
  guint8 mac[KC_KEY_ACK_LEN], forged[KC_KEY_ACK_LEN];
  g_autoptr(GError) wrong_key = NULL, wrong_role = NULL, wrong_call = NULL, flipped = NULL, short_mac = NULL;

  kc_key_ack_compute (call_key, &id, "call-1", KC_ACK_ROLE_CALLEE, mac);
  kc_key_ack_compute (other_key, &id, "call-1", KC_ACK_ROLE_CALLEE, forged);

  ck_assert (!kc_key_ack_verify (call_key, &id, "call-1", KC_ACK_ROLE_CALLEE, forged, sizeof forged, &wrong_key));
  ck_assert (g_error_matches (wrong_key, KC_ERROR, KC_ERROR_CRYPTO));
  ck_assert_ptr_nonnull (strstr (wrong_key->message, "callee"));

  /* An acknowledgment cannot be replayed for another role or call. */
  ck_assert (!kc_key_ack_verify (call_key, &id, "call-1", KC_ACK_ROLE_CALLER, mac, sizeof mac, &wrong_role));
  ck_assert (!kc_key_ack_verify (call_key, &id, "call-2", KC_ACK_ROLE_CALLEE, mac, sizeof mac, &wrong_call));

  mac[7] ^= 0x80;
  ck_assert (!kc_key_ack_verify (call_key, &id, "call-1", KC_ACK_ROLE_CALLEE, mac, sizeof mac, &flipped));
  ck_assert (!kc_key_ack_verify (call_key, &id, "call-1", KC_ACK_ROLE_CALLEE, mac, 8, &short_mac));
  ck_assert (g_error_matches (short_mac, KC_ERROR, KC_ERROR_INVALID));
}
END_TEST

START_TEST (test_suites_and_ids)
{
  static const gsize lens[] = { 30, 30, 28, 44 };
  KcKeyId a, b;
  char text[KC_KEY_ID_TEXT_LEN];
  g_autoptr(GError) e1 = NULL, e2 = NULL;

  for (int s = 0; s < KC_SUITE_COUNT; s++) {
    ck_assert_int_eq (kc_suite_from_string (kc_suite_to_string (s)), s);
    ck_assert_uint_eq (kc_suite_key_salt_len (s), lens[s]);
  }
  ck_assert_int_eq (kc_suite_from_string ("AES_CM_128_HMAC_SHA1_81"), KC_SUITE_INVALID);
  ck_assert_int_eq (kc_suite_from_string ("F8_128_HMAC_SHA1_80"), KC_SUITE_INVALID);

  kc_key_id_generate (&a);
  kc_key_id_to_hex (&a, text);
  ck_assert (kc_key_id_from_hex (&b, text, NULL));
  ck_assert (kc_key_id_equal (&a, &b));
  ck_assert (!kc_key_id_from_hex (&b, "00ff", &e1));
  ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_INVALID));
  ck_assert (!kc_key_id_from_hex (&b, "zz112233445566778899aabbccddeeff", &e2));
  ck_assert_ptr_nonnull (strstr (e2->message, "hex"));
}
END_TEST

static Suite *
keys_suite (void)
{
  Suite *s = suite_create ("keys");
  TCase *tc = tcase_create ("core");

  tcase_add_checked_fixture (tc, load_vectors, free_vectors);
  tcase_add_test (tc, test_derived_key_matches_reference);
  tcase_add_test (tc, test_derived_key_depends_on_every_input);
  tcase_add_test (tc, test_derive_rejects_bad_inputs);
  tcase_add_test (tc, test_srtp_keys_match_reference);
  tcase_add_test (tc, test_srtp_directions_differ);
  tcase_add_test (tc, test_srtp_rejects_bad_inputs);
  tcase_add_test (tc, test_random_keys_are_fresh);
  tcase_add_test (tc, test_ack_matches_reference);
  tcase_add_test (tc, test_ack_rejects_forgeries);
  tcase_add_test (tc, test_suites_and_ids);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (keys_suite)
