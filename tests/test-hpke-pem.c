/* test-hpke-pem.c: the LEA sealing key pair as PEM files (kc-hpke-pem.c):
 * round trips, OpenSSL's own files, wrong types, damaged or missing files,
 * and private key files others can read. */
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>

static void
write_file (const char *path, const char *data, gsize len, int mode)
{
  g_autoptr(GError) error = NULL;

  ck_assert_msg (g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_NONE,
                                           mode, &error), "%s", error ? error->message : "?");
  ck_assert_int_eq (g_chmod (path, mode), 0);
}

/* A key written by OpenSSL itself, the way `openssl genpkey` would. */
static void
write_openssl_key (const char *path, EVP_PKEY *pkey, gboolean private)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data;
  long len;

  ck_assert (private ? PEM_write_bio_PrivateKey (bio, pkey, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_PUBKEY (bio, pkey));
  len = BIO_get_mem_data (bio, &data);
  write_file (path, data, (gsize) len, 0600);
  BIO_free (bio);
}

START_TEST (test_pem_round_trip_and_mode)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *sk_path = g_build_filename (dir, "lea-sealing.key", NULL);
  g_autofree char *pk_path = g_build_filename (dir, "lea-sealing.pub", NULL);
  g_autoptr(KcSecret) sk = NULL, loaded = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN], pk_loaded[KC_HPKE_PUBLIC_KEY_LEN];
  struct stat st;

  /* With no umask help, the file must still come out 0600. */
  umask (0);
  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  ck_assert_msg (kc_hpke_private_key_save_pem (sk, sk_path, &error), "%s", error ? error->message : "?");
  ck_assert (kc_hpke_public_key_save_pem (pk, pk_path, &error));
  ck_assert_int_eq (stat (sk_path, &st), 0);
  ck_assert_uint_eq (st.st_mode & 07777, 0600);

  loaded = kc_hpke_private_key_load_pem (sk_path, &error);
  ck_assert_msg (loaded != NULL, "%s", error ? error->message : "?");
  ck_assert (kc_secret_equal (loaded, sk));
  ck_assert (kc_hpke_public_key_load_pem (pk_path, pk_loaded, &error));
  ck_assert_mem_eq (pk_loaded, pk, sizeof pk);

  /* Standard formats: OpenSSL reads both files as the same X25519 key. */
  {
    BIO *bio = BIO_new_file (sk_path, "r");
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
    guint8 raw[32];
    size_t len = sizeof raw;

    ck_assert_ptr_nonnull (pkey);
    ck_assert (EVP_PKEY_is_a (pkey, "X25519"));
    ck_assert (EVP_PKEY_get_raw_public_key (pkey, raw, &len) == 1);
    ck_assert_mem_eq (raw, pk, sizeof pk);
    EVP_PKEY_free (pkey);
    BIO_free (bio);
  }

  /* Never overwritten: the old key stays as it was. */
  {
    g_autoptr(KcSecret) sk2 = NULL;
    g_autoptr(KcSecret) still = NULL;
    guint8 pk2[KC_HPKE_PUBLIC_KEY_LEN];

    ck_assert (kc_hpke_keypair_generate (&sk2, pk2, &error));
    ck_assert (!kc_hpke_private_key_save_pem (sk2, sk_path, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_EXISTS));
    g_clear_error (&error);
    still = kc_hpke_private_key_load_pem (sk_path, &error);
    ck_assert (still != NULL && kc_secret_equal (still, sk));
  }
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_pem_reads_openssl_x25519_keys)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *sk_path = g_build_filename (dir, "x.key", NULL);
  g_autofree char *pk_path = g_build_filename (dir, "x.pub", NULL);
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(GError) error = NULL;
  EVP_PKEY *pkey = EVP_PKEY_Q_keygen (NULL, NULL, "X25519");
  guint8 raw[32], pk[KC_HPKE_PUBLIC_KEY_LEN];
  size_t len = sizeof raw;

  write_openssl_key (sk_path, pkey, TRUE);
  write_openssl_key (pk_path, pkey, FALSE);
  ck_assert (EVP_PKEY_get_raw_public_key (pkey, raw, &len) == 1);

  sk = kc_hpke_private_key_load_pem (sk_path, &error);
  ck_assert_msg (sk != NULL, "%s", error ? error->message : "?");
  ck_assert (kc_hpke_private_key_get_public (sk, pk, &error));
  ck_assert_mem_eq (pk, raw, sizeof raw);
  ck_assert (kc_hpke_public_key_load_pem (pk_path, pk, &error));
  ck_assert_mem_eq (pk, raw, sizeof raw);
  EVP_PKEY_free (pkey);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_pem_wrong_key_type)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *sk_path = g_build_filename (dir, "p256.key", NULL);
  g_autofree char *pk_path = g_build_filename (dir, "p256.pub", NULL);
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(GError) error = NULL;
  EVP_PKEY *pkey = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];

  write_openssl_key (sk_path, pkey, TRUE);
  write_openssl_key (pk_path, pkey, FALSE);
  EVP_PKEY_free (pkey);

  sk = kc_hpke_private_key_load_pem (sk_path, &error);
  ck_assert_ptr_null (sk);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_UNSUPPORTED));
  ck_assert_msg (strstr (error->message, "is an EC P-256 key; the law-enforcement sealing key "
                                         "must be X25519") != NULL, "message: %s", error->message);
  g_clear_error (&error);
  ck_assert (!kc_hpke_public_key_load_pem (pk_path, pk, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_UNSUPPORTED));
  ck_assert_msg (strstr (error->message, "EC P-256") != NULL, "message: %s", error->message);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_pem_garbage_and_missing)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *junk = g_build_filename (dir, "junk.key", NULL);
  g_autofree char *bad_pem = g_build_filename (dir, "bad.key", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.key", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.pem", NULL);
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  static const char bad[] = "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n";

  write_file (junk, "hello, this is not a key\n", 25, 0600);
  write_file (empty, "", 0, 0600);
  write_file (bad_pem, bad, sizeof bad - 1, 0600);

  sk = kc_hpke_private_key_load_pem (junk, &error);
  ck_assert_ptr_null (sk);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "not a PEM file") != NULL, "message: %s", error->message);
  g_clear_error (&error);
  ck_assert (!kc_hpke_public_key_load_pem (junk, pk, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert (strstr (error->message, "not a PEM file") != NULL);
  g_clear_error (&error);

  sk = kc_hpke_private_key_load_pem (empty, &error);
  ck_assert (sk == NULL && g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  ck_assert (!kc_hpke_public_key_load_pem (empty, pk, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);

  sk = kc_hpke_private_key_load_pem (bad_pem, &error);
  ck_assert_ptr_null (sk);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);

  /* The private key file given where the public one belongs. */
  ck_assert (!kc_hpke_public_key_load_pem (bad_pem, pk, &error));
  ck_assert_msg (strstr (error->message, "holds a private key") != NULL, "message: %s", error->message);
  g_clear_error (&error);

  sk = kc_hpke_private_key_load_pem (missing, &error);
  ck_assert_ptr_null (sk);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  ck_assert (strstr (error->message, missing) != NULL);
  g_clear_error (&error);
  ck_assert (!kc_hpke_public_key_load_pem (missing, pk, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_pem_group_readable_refused)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *sk_path = g_build_filename (dir, "lea.key", NULL);
  g_autoptr(KcSecret) sk = NULL, loaded = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  static const int modes[] = { 0640, 0604, 0660, 0700 | 0004 };

  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  ck_assert (kc_hpke_private_key_save_pem (sk, sk_path, &error));
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++) {
    ck_assert_int_eq (g_chmod (sk_path, modes[i]), 0);
    loaded = kc_hpke_private_key_load_pem (sk_path, &error);
    ck_assert_ptr_null (loaded);
    ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_PERMISSION),
                   "mode %o: %s", modes[i], error ? error->message : "loaded");
    ck_assert_msg (strstr (error->message, "chmod 600") != NULL, "message: %s", error->message);
    g_clear_error (&error);
  }
  ck_assert_int_eq (g_chmod (sk_path, 0600), 0);
  loaded = kc_hpke_private_key_load_pem (sk_path, &error);
  ck_assert (loaded != NULL && kc_secret_equal (loaded, sk));
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("hpke-pem");
  TCase *pem = tcase_create ("pem");

  tcase_add_test (pem, test_pem_round_trip_and_mode);
  tcase_add_test (pem, test_pem_reads_openssl_x25519_keys);
  tcase_add_test (pem, test_pem_wrong_key_type);
  tcase_add_test (pem, test_pem_garbage_and_missing);
  tcase_add_test (pem, test_pem_group_readable_refused);
  suite_add_tcase (s, pem);
  return s;
}

KC_TEST_MAIN (make_suite)
