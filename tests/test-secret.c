/* test-secret.c: KcSecret wipes, compares, encodes and fingerprints. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-secret.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* Check forks each test: what this changes ends with the test's process. */
START_TEST (test_refuse_core_dumps)
{
  g_autoptr(GError) error = NULL;
  struct rlimit core = { 1, 1 };

  /* As a shell might leave it: dumps on. */
  ck_assert_int_eq (prctl (PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
  ck_assert_int_eq (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  ck_assert (kc_process_refuse_core_dumps (&error));
  ck_assert_ptr_null (error);
  ck_assert_int_eq (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  ck_assert_int_eq (getrlimit (RLIMIT_CORE, &core), 0);
  ck_assert_uint_eq (core.rlim_cur, 0);
  ck_assert_uint_eq (core.rlim_max, 0);
}
END_TEST

START_TEST (test_random_secrets_differ)
{
  g_autoptr(KcSecret) a = kc_secret_new_random (32, NULL);
  g_autoptr(KcSecret) b = kc_secret_new_random (32, NULL);

  ck_assert_ptr_nonnull (a);
  ck_assert_uint_eq (kc_secret_get_len (a), 32);
  ck_assert (!kc_secret_equal (a, b));
}
END_TEST

START_TEST (test_copy_and_equal)
{
  const guint8 bytes[] = { 1, 2, 3, 4, 5 };
  g_autoptr(KcSecret) a = kc_secret_new_from_data (bytes, sizeof bytes);
  g_autoptr(KcSecret) b = kc_secret_copy (a);
  g_autoptr(KcSecret) c = kc_secret_new_from_data (bytes, 4);

  ck_assert (kc_secret_get_data (a) != kc_secret_get_data (b));
  ck_assert (kc_secret_equal (a, b));
  ck_assert (!kc_secret_equal (a, c));
  kc_secret_get_mutable (b)[0] ^= 1;
  ck_assert (!kc_secret_equal (a, b));
}
END_TEST

START_TEST (test_base64_round_trip)
{
  g_autoptr(KcSecret) a = kc_secret_new_random (30, NULL);
  g_autoptr(KcSecret) b = NULL;
  g_autoptr(GError) error = NULL;
  char *text = kc_secret_to_base64 (a);

  ck_assert_uint_eq (strlen (text), 40);
  b = kc_secret_new_from_base64 (text, 30, &error);
  ck_assert_ptr_null (error);
  ck_assert (kc_secret_equal (a, b));
  kc_secret_text_free (text);
}
END_TEST

START_TEST (test_base64_rejects)
{
  static const struct { const char *text; gsize expected; int code; const char *words; } cases[] = {
    { "AAAA*AAA", 0, KC_ERROR_INVALID, "not valid base64" },
    { "AAA", 0, KC_ERROR_INVALID, "not valid base64" },
    { "AA=A", 0, KC_ERROR_INVALID, "not valid base64" },
    { "AAAAAA==", 5, KC_ERROR_INVALID, "4 bytes; expected 5" },
    { "", 0, KC_ERROR_INVALID, "not valid base64" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(KcSecret) s = kc_secret_new_from_base64 (cases[i].text, cases[i].expected, &error);

    ck_assert_ptr_null (s);
    ck_assert_msg (g_error_matches (error, KC_ERROR, cases[i].code), "case %zu", i);
    ck_assert_msg (strstr (error->message, cases[i].words) != NULL,
                   "case %zu: “%s” lacks “%s”", i, error->message, cases[i].words);
  }
}
END_TEST

START_TEST (test_base64_too_large)
{
  g_autofree char *text = g_strnfill (8000, 'A');
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) s = kc_secret_new_from_base64 (text, 0, &error);

  ck_assert_ptr_null (s);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE));
}
END_TEST

START_TEST (test_fingerprint_is_sha256_prefix)
{
  const guint8 bytes[] = "keycall";
  guint8 digest[SHA256_DIGEST_LENGTH];
  char expected[KC_FINGERPRINT_LEN], actual[KC_FINGERPRINT_LEN];
  g_autoptr(KcSecret) s = kc_secret_new_from_data (bytes, 7);

  SHA256 (bytes, 7, digest);
  g_snprintf (expected, sizeof expected, "%02x%02x %02x%02x %02x%02x %02x%02x",
              digest[0], digest[1], digest[2], digest[3],
              digest[4], digest[5], digest[6], digest[7]);
  kc_secret_fingerprint (s, actual);
  ck_assert_str_eq (actual, expected);
  ck_assert_uint_eq (strlen (actual), KC_FINGERPRINT_LEN - 1);
}
END_TEST

START_TEST (test_secure_heap_used)
{
  g_autoptr(KcSecret) s = NULL;

  kc_secure_heap_init ();
  s = kc_secret_new (32);
  /* If the kernel allows locking memory (CI does), the secret lives there. */
  if (CRYPTO_secure_malloc_initialized ())
    ck_assert (CRYPTO_secure_allocated (kc_secret_get_data (s)));
}
END_TEST

START_TEST (test_more_secrets_than_the_secure_heap_holds)
{
  /* 4,000 x 32 bytes is twice the locked arena: the rest must come from
   * the ordinary heap, and every one must still be usable and freed. */
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_secret_free);

  kc_secure_heap_init ();
  for (int i = 0; i < 4000; i++) {
    KcSecret *s = kc_secret_new_random (32, NULL);

    ck_assert_ptr_nonnull (s);
    g_ptr_array_add (held, s);
  }
  ck_assert (!kc_secret_equal (held->pdata[0], held->pdata[3999]));
}
END_TEST

static Suite *
secret_suite (void)
{
  Suite *s = suite_create ("secret");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_refuse_core_dumps);
  tcase_add_test (tc, test_random_secrets_differ);
  tcase_add_test (tc, test_copy_and_equal);
  tcase_add_test (tc, test_base64_round_trip);
  tcase_add_test (tc, test_base64_rejects);
  tcase_add_test (tc, test_base64_too_large);
  tcase_add_test (tc, test_fingerprint_is_sha256_prefix);
  tcase_add_test (tc, test_secure_heap_used);
  tcase_add_test (tc, test_more_secrets_than_the_secure_heap_holds);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (secret_suite)
