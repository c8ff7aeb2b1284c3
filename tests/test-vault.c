/* test-vault.c: wrapped signaling secrets open only with the right vault and
 * owner, vault files are private, and secret files are never overwritten or
 * read when others may access them. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-vault.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static KcVault *
random_vault (void)
{
  g_autoptr(KcSecret) key = kc_secret_new_random (KC_VAULT_KEY_LEN, NULL);

  return kc_vault_new_from_key (key);
}

static GBytes *
flip (GBytes *bytes, gsize index)
{
  gsize len;
  guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));

  ck_assert_uint_lt (index, len);
  copy[index] ^= 0x01;
  return g_bytes_new_take (copy, len);
}

START_TEST (test_round_trip)
{
  g_autoptr(KcVault) vault = random_vault ();
  g_autoptr(KcSecret) secret = kc_secret_new_random (32, NULL);
  g_autoptr(GBytes) a = kc_vault_wrap (vault, secret, "1001", NULL);
  g_autoptr(GBytes) b = kc_vault_wrap (vault, secret, "1001", NULL);
  g_autoptr(KcSecret) back = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *data;

  ck_assert_uint_eq (g_bytes_get_size (a), 32 + KC_VAULT_OVERHEAD);
  data = g_bytes_get_data (a, NULL);
  ck_assert_uint_eq (data[0], KC_VAULT_VERSION);
  /* A fresh nonce each time, and the secret is not visible in the output. */
  ck_assert (!g_bytes_equal (a, b));
  ck_assert_ptr_null (memmem (data, g_bytes_get_size (a), kc_secret_get_data (secret), 8));

  back = kc_vault_unwrap (vault, a, "1001", &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert (kc_secret_equal (back, secret));
}
END_TEST

START_TEST (test_wrong_owner_or_vault)
{
  g_autoptr(KcVault) vault = random_vault ();
  g_autoptr(KcVault) other = random_vault ();
  g_autoptr(KcSecret) secret = kc_secret_new_random (32, NULL);
  g_autoptr(GBytes) wrapped = kc_vault_wrap (vault, secret, "1001", NULL);
  g_autoptr(GError) error = NULL;

  ck_assert_ptr_null (kc_vault_unwrap (vault, wrapped, "1002", &error));
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "wrong owner");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_vault_unwrap (other, wrapped, "1001", &error));
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "wrong vault key");
}
END_TEST

START_TEST (test_tampering)
{
  g_autoptr(KcVault) vault = random_vault ();
  g_autoptr(KcSecret) secret = kc_secret_new_random (32, NULL);
  g_autoptr(GBytes) wrapped = kc_vault_wrap (vault, secret, "1001", NULL);
  gsize size = g_bytes_get_size (wrapped);
  /* nonce, first and last ciphertext byte, tag */
  const gsize spots[] = { 1, 12, 1 + KC_VAULT_NONCE_LEN, size - KC_VAULT_TAG_LEN - 1,
                          size - KC_VAULT_TAG_LEN, size - 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) short_bytes = g_bytes_new_from_bytes (wrapped, 0, KC_VAULT_OVERHEAD);
  g_autoptr(GBytes) version = flip (wrapped, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (spots); i++) {
    g_autoptr(GBytes) bad = flip (wrapped, spots[i]);

    ck_assert_ptr_null (kc_vault_unwrap (vault, bad, "1001", &error));
    kc_test_assert_error (error, KC_ERROR_CRYPTO, "damaged");
    g_clear_error (&error);
  }
  ck_assert_ptr_null (kc_vault_unwrap (vault, short_bytes, "1001", &error));
  kc_test_assert_error (error, KC_ERROR_CORRUPT, "no vault produces");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_vault_unwrap (vault, version, "1001", &error));
  kc_test_assert_error (error, KC_ERROR_FOREIGN, "version");
}
END_TEST

START_TEST (test_vault_file)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "vault.key", NULL);
  g_autoptr(KcVault) created = NULL;
  g_autoptr(KcVault) loaded = NULL;
  g_autoptr(KcVault) again = NULL;
  g_autoptr(KcSecret) secret = kc_secret_new_random (32, NULL);
  g_autoptr(GBytes) wrapped = NULL;
  g_autoptr(KcSecret) back = NULL;
  g_autoptr(GError) error = NULL;
  char fp1[KC_FINGERPRINT_LEN], fp2[KC_FINGERPRINT_LEN];
  struct stat st;

  umask (0);
  created = kc_vault_create (path, FALSE, &error);
  ck_assert_msg (created != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  ck_assert_int_eq (st.st_size, KC_VAULT_KEY_LEN);

  wrapped = kc_vault_wrap (created, secret, "1001", NULL);
  loaded = kc_vault_load (path, &error);
  ck_assert_ptr_nonnull (loaded);
  back = kc_vault_unwrap (loaded, wrapped, "1001", NULL);
  ck_assert (back != NULL && kc_secret_equal (back, secret));
  kc_vault_fingerprint (created, fp1);
  kc_vault_fingerprint (loaded, fp2);
  ck_assert_str_eq (fp1, fp2);

  /* Creating again would orphan every wrapped secret: refused. */
  again = kc_vault_create (path, FALSE, &error);
  ck_assert_ptr_null (again);
  kc_test_assert_error (error, KC_ERROR_EXISTS, "already exists");
  g_clear_error (&error);
  g_clear_pointer (&loaded, kc_vault_free);
  loaded = kc_vault_load (path, NULL);
  kc_vault_fingerprint (loaded, fp2);
  ck_assert_str_eq (fp1, fp2);

  /* Readable by the group: refused. */
  ck_assert_int_eq (chmod (path, 0640), 0);
  g_clear_pointer (&loaded, kc_vault_free);
  loaded = kc_vault_load (path, &error);
  ck_assert_ptr_null (loaded);
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "chmod 600");
  g_clear_error (&error);

  /* Not 32 bytes: not a vault. */
  ck_assert_int_eq (chmod (path, 0600), 0);
  ck_assert_int_eq (truncate (path, 31), 0);
  loaded = kc_vault_load (path, &error);
  ck_assert_ptr_null (loaded);
  kc_test_assert_error (error, KC_ERROR_CORRUPT, "not a Keycall vault key");
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_file_write_modes)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "secret", NULL);
  g_autofree char *link = g_build_filename (dir, "link", NULL);
  g_autofree char *target = g_build_filename (dir, "target", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  struct stat st;
  int count = 0;

  umask (077);
  ck_assert (kc_file_write (path, "one", 3, 0644, FALSE, NULL));
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0644);   /* exactly the mode asked for */

  ck_assert (!kc_file_write (path, "two", 3, 0600, FALSE, &error));
  kc_test_assert_error (error, KC_ERROR_EXISTS, "refusing to overwrite");
  g_clear_error (&error);
  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  ck_assert_str_eq (text, "one");
  g_clear_pointer (&text, g_free);

  ck_assert (kc_file_write (path, "two", 3, 0600, TRUE, NULL));
  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  ck_assert_str_eq (text, "two");
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);

  /* A planted symlink is not followed. */
  ck_assert_int_eq (symlink (target, link), 0);
  ck_assert (!kc_file_write (link, "x", 1, 0600, FALSE, &error));
  ck_assert (!g_file_test (target, G_FILE_TEST_EXISTS));

  /* No temporary files left behind. */
  listing = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (listing) != NULL)
    count++;
  ck_assert_int_eq (count, 2);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_private_file_read_errors)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *empty = g_build_filename (dir, "empty", NULL);
  g_autofree char *big = g_build_filename (dir, "big", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  g_autofree char *filler = g_strnfill (KC_SECRET_MAX_LEN + 1, 'x');
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) ok = NULL;

  ck_assert (kc_file_write (empty, "", 0, 0600, FALSE, NULL));
  ck_assert (kc_file_write (big, filler, strlen (filler), 0600, FALSE, NULL));

  ck_assert_ptr_null (kc_private_file_read (empty, 100, &error));
  kc_test_assert_error (error, KC_ERROR_CORRUPT, "empty");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_private_file_read (big, 1 << 20, &error));
  kc_test_assert_error (error, KC_ERROR_TOO_LARGE, "limit");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_private_file_read (missing, 100, &error));
  kc_test_assert_error (error, KC_ERROR_NOT_FOUND, "missing");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_private_file_read (dir, 100, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "not a regular file");

  ck_assert_int_eq (truncate (big, 10), 0);
  ok = kc_private_file_read (big, 100, NULL);
  ck_assert (ok != NULL && kc_secret_get_len (ok) == 10);
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
vault_suite (void)
{
  Suite *s = suite_create ("vault");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_wrong_owner_or_vault);
  tcase_add_test (tc, test_tampering);
  tcase_add_test (tc, test_vault_file);
  tcase_add_test (tc, test_file_write_modes);
  tcase_add_test (tc, test_private_file_read_errors);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (vault_suite)
