/* test-activation.c: an activation file opens with its code into the very
 * profile that was sealed; a wrong code, a change to any part of the file,
 * a truncated file, another version and an expired file are each refused
 * with their own error; the file is written 0600 and never overwritten. */
#include "kc-test.h"

#include "kc-activation.h"
#include "kc-error.h"
#include "kc-keys.h"
#include "kc-pki.h"
#include "kc-profile.h"

#include <string.h>
#include <sys/stat.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

static KcProfile *
make_profile (const char *number)
{
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  KcCertRequest request = { KC_ROLE_CTA, number, NULL, 0 };
  g_autoptr(X509) cert = kc_ca_issue (ca, &request, key, NULL);
  KcProfile *p = g_new0 (KcProfile, 1);

  ck_assert_ptr_nonnull (cert);
  p->number = g_strdup (number);
  p->display_name = g_strdup ("Alice Ünal");
  p->controller = g_strdup ("sips:127.0.0.1:5061;transport=tls");
  p->controller_name = g_strdup ("gc1");
  p->domain = g_strdup ("keycall.test");
  p->certificate = kc_pki_cert_to_pem (cert);
  p->private_key = kc_pki_key_to_pem (key);
  p->ca = kc_pki_cert_to_pem (kc_ca_get_cert (ca));
  p->signaling_secret = kc_secret_new_random (KC_SIGNALING_SECRET_LEN, NULL);
  return p;
}

/* Writes an activation file for @profile in @dir; returns its path and
 * (in @code) its code. */
static char *
write_file (const char *dir, KcProfile *profile, gint64 expires, char **code)
{
  g_autofree char *path = g_build_filename (dir, "a" KC_ACTIVATION_SUFFIX, NULL);
  g_autoptr(KcSecret) secret = NULL;
  g_autoptr(GError) error = NULL;

  secret = kc_activation_write (profile, expires, path, TRUE, &error);
  ck_assert_msg (secret != NULL, "%s", error ? error->message : "");
  *code = g_strdup ((const char *) kc_secret_get_data (secret));
  return g_steal_pointer (&path);
}

/* Parses @text and unlocks it with @code; returns the error. */
static GError *
open_text (const char *text, gsize len, const char *code)
{
  g_autoptr(KcActivation) a = NULL;
  g_autoptr(KcProfile) profile = NULL;
  GError *error = NULL;

  if ((a = kc_activation_parse ((const guint8 *) text, len, &error)) == NULL)
    return error;
  profile = kc_activation_unlock (a, code, &error);
  ck_assert_msg ((profile == NULL) == (error != NULL), "a profile and an error, or neither");
  return error;
}

/* The file with @key set to @value (through GKeyFile, so the result is
 * still well-formed and only that one field differs). */
static char *
with_field (const char *text, const char *key, const char *value)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  ck_assert (g_key_file_load_from_data (kf, text, strlen (text), G_KEY_FILE_KEEP_COMMENTS, NULL));
  ck_assert (g_key_file_has_key (kf, KC_ACTIVATION_GROUP, key, NULL));
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, key, value);
  return g_key_file_to_data (kf, NULL, NULL);
}

/* The base64 field @key with one bit of its first byte flipped. */
static char *
with_flipped_bytes (const char *text, const char *key)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *b64 = NULL, *again = NULL;
  g_autofree guint8 *bytes = NULL;
  gsize n;

  ck_assert (g_key_file_load_from_data (kf, text, strlen (text), G_KEY_FILE_NONE, NULL));
  b64 = g_key_file_get_string (kf, KC_ACTIVATION_GROUP, key, NULL);
  bytes = g_base64_decode (b64, &n);
  ck_assert_uint_gt (n, 0);
  bytes[n / 2] ^= 0x01;
  again = g_base64_encode (bytes, n);
  return with_field (text, key, again);
}

START_TEST (test_round_trip)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autoptr(KcProfile) profile = make_profile ("1001");
  g_autoptr(KcActivation) a = NULL;
  g_autoptr(KcProfile) opened = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *code = NULL, *text = NULL, *path = NULL, *sloppy = NULL;
  g_autoptr(GRegex) shape = g_regex_new ("^([0-9A-HJKMNP-TV-Z]{5}-){3}[0-9A-HJKMNP-TV-Z]{5}$",
                                         0, 0, NULL);
  gint64 expires = g_get_real_time () / G_USEC_PER_SEC + 3600;

  path = write_file (dir, profile, expires, &code);
  ck_assert_msg (g_regex_match (shape, code, 0, NULL), "code “%s” is not 4 groups of 5", code);
  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  /* The clear part is readable; the key and the secret are not in it. */
  ck_assert_ptr_nonnull (strstr (text, "number=1001"));
  ck_assert_ptr_null (strstr (text, "PRIVATE KEY"));
  ck_assert_ptr_null (strstr (text, "signaling-secret"));
  ck_assert_ptr_null (strstr (text, code));

  a = kc_activation_load (path, &error);
  ck_assert_msg (a != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (kc_activation_get_number (a), "1001");
  ck_assert_str_eq (kc_activation_get_display_name (a), "Alice Ünal");
  ck_assert_str_eq (kc_activation_get_controller (a), profile->controller);
  ck_assert_str_eq (kc_activation_get_controller_name (a), "gc1");
  ck_assert_int_eq (kc_activation_get_expires (a), expires);

  /* As a person types it: lower case, spaces for dashes, O for 0, L for 1. */
  sloppy = g_ascii_strdown (code, -1);
  g_strdelimit (sloppy, "-", ' ');
  g_strdelimit (sloppy, "0", 'o');
  g_strdelimit (sloppy, "1", 'l');
  opened = kc_activation_unlock (a, sloppy, &error);
  ck_assert_msg (opened != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (opened->number, profile->number);
  ck_assert_str_eq (opened->display_name, profile->display_name);
  ck_assert_str_eq (opened->controller, profile->controller);
  ck_assert_str_eq (opened->domain, profile->domain);
  ck_assert_str_eq (opened->certificate, profile->certificate);
  ck_assert_str_eq (opened->ca, profile->ca);
  ck_assert (kc_secret_equal (opened->private_key, profile->private_key));
  ck_assert (kc_secret_equal (opened->signaling_secret, profile->signaling_secret));

  /* Another controller address: validated, and kept only when valid. */
  ck_assert (kc_profile_set_controller (opened, "sips:[::1]:5071", &error));
  ck_assert_str_eq (opened->controller_host, "::1");
  ck_assert_uint_eq (opened->controller_port, 5071);
  ck_assert (!kc_profile_set_controller (opened, "http://x", &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "not a sips: URI");
  ck_assert_str_eq (opened->controller, "sips:[::1]:5071");
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_wrong_code)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autoptr(KcProfile) profile = make_profile ("1002");
  g_autofree char *code = NULL, *text = NULL, *path = write_file (dir, profile, 0, &code);
  g_autofree char *other = g_strdup (code);
  GError *error;
  gsize len;

  ck_assert (g_file_get_contents (path, &text, &len, NULL));
  /* One character different. */
  other[0] = other[0] == 'A' ? 'B' : 'A';
  error = open_text (text, len, other);
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "activation code is wrong");
  g_clear_error (&error);

  error = open_text (text, len, "ABCDE-FGHJK");
  kc_test_assert_error (error, KC_ERROR_INVALID, "has 10 letters and digits");
  g_clear_error (&error);
  error = open_text (text, len, "UUUUU-UUUUU-UUUUU-UUUUU");
  kc_test_assert_error (error, KC_ERROR_INVALID, "not in activation codes");
  g_clear_error (&error);
  error = open_text (text, len, "");
  kc_test_assert_error (error, KC_ERROR_INVALID, "has 0 letters");
  g_clear_error (&error);

  /* A code from another activation of the same profile does not open it. */
  {
    g_autofree char *path2 = g_build_filename (dir, "b" KC_ACTIVATION_SUFFIX, NULL);
    g_autoptr(KcSecret) code2 = kc_activation_write (profile, 0, path2, FALSE, NULL);

    ck_assert_ptr_nonnull (code2);
    ck_assert_str_ne ((const char *) kc_secret_get_data (code2), code);
    error = open_text (text, len, (const char *) kc_secret_get_data (code2));
    kc_test_assert_error (error, KC_ERROR_CRYPTO, "activation code is wrong");
    g_clear_error (&error);
  }
  kc_test_rmtree (dir);
}
END_TEST

/* Every clear field is bound to the seal; the key parameters and the check
 * value turn a change into a wrong code; the sealed bytes into a broken
 * seal. */
START_TEST (test_tamper_each_part)
{
  static const struct {
    const char *key;
    const char *value;   /* NULL: flip a bit of the base64 bytes */
    int         code;
    const char *words;
  } cases[] = {
    { "number", "1003", KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "display-name", "Mallory", KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "controller", "sips:203.0.113.9:5061", KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "controller-name", "gc2", KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "domain", "evil.test", KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "expires", "2999-01-01T00:00:00Z", KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "ca", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "sealed", NULL, KC_ERROR_CORRUPT, "changed after it was sealed" },
    { "kdf-salt", NULL, KC_ERROR_CRYPTO, "activation code is wrong" },
    { "code-check", NULL, KC_ERROR_CRYPTO, "activation code is wrong" },
    { "kdf-log2-n", "15", KC_ERROR_CRYPTO, "activation code is wrong" },
    { "kdf-log2-n", "40", KC_ERROR_CORRUPT, "“kdf-log2-n” is out of range" },
    { "kdf", "argon2id", KC_ERROR_UNSUPPORTED, "knows only scrypt" },
    { "sealed", "not base64!", KC_ERROR_CORRUPT, "“sealed” is not what keycall-admin writes" },
    { "kdf-salt", "AAAA", KC_ERROR_CORRUPT, "“kdf-salt” is not what keycall-admin writes" },
    { "expires", "next week", KC_ERROR_CORRUPT, "“expires” is not a date" },
  };
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autoptr(KcProfile) profile = make_profile ("1002");
  gint64 expires = g_get_real_time () / G_USEC_PER_SEC + 3600;
  g_autofree char *code = NULL, *text = NULL, *path = write_file (dir, profile, expires, &code);
  GError *error;

  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  /* The untouched file opens, so each refusal below is the change's. */
  error = open_text (text, strlen (text), code);
  ck_assert_msg (error == NULL, "%s", error ? error->message : "");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *changed = cases[i].value != NULL
                               ? with_field (text, cases[i].key, cases[i].value)
                               : with_flipped_bytes (text, cases[i].key);

    error = open_text (changed, strlen (changed), code);
    ck_assert_msg (error != NULL, "changing “%s” went unnoticed", cases[i].key);
    kc_test_assert_error (error, cases[i].code, cases[i].words);
    g_clear_error (&error);
  }
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_truncated_and_foreign)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autoptr(KcProfile) profile = make_profile ("1004");
  g_autofree char *code = NULL, *text = NULL, *path = write_file (dir, profile, 0, &code);
  g_autofree char *profile_path = g_build_filename (dir, "p" KC_PROFILE_SUFFIX, NULL);
  g_autofree char *profile_text = NULL, *v2 = NULL, *no_version = NULL;
  GError *error;
  gsize len;

  ck_assert (g_file_get_contents (path, &text, &len, NULL));
  /* Cut anywhere after the group header: never opened, always "truncated". */
  for (gsize cut = len / 8; cut < len; cut += len / 8) {
    error = open_text (text, cut, code);
    ck_assert_msg (error != NULL, "a file cut at %" G_GSIZE_FORMAT " opened", cut);
    kc_test_assert_error (error, KC_ERROR_CORRUPT, "truncated");
    g_clear_error (&error);
  }
  error = open_text (text, 0, code);
  kc_test_assert_error (error, KC_ERROR_FOREIGN, "not a Keycall activation file");
  g_clear_error (&error);

  v2 = with_field (text, "version", "2");
  error = open_text (v2, strlen (v2), code);
  kc_test_assert_error (error, KC_ERROR_FOREIGN, "has version 2; this Keycall reads version 1");
  g_clear_error (&error);
  no_version = with_field (text, "version", "one");
  error = open_text (no_version, strlen (no_version), code);
  kc_test_assert_error (error, KC_ERROR_CORRUPT, "“version” is missing or not a number");
  g_clear_error (&error);

  /* A profile is not an activation file, and says so. */
  ck_assert (kc_profile_save (profile, profile_path, FALSE, NULL));
  ck_assert (g_file_get_contents (profile_path, &profile_text, &len, NULL));
  error = open_text (profile_text, len, code);
  kc_test_assert_error (error, KC_ERROR_FOREIGN, "not a Keycall activation file");
  g_clear_error (&error);
  error = open_text ("\x7f" "ELF\0\0", 6, code);
  kc_test_assert_error (error, KC_ERROR_FOREIGN, "not a Keycall activation file");
  g_clear_error (&error);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_expired)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autoptr(KcProfile) profile = make_profile ("1005");
  gint64 past = g_get_real_time () / G_USEC_PER_SEC - 60;
  g_autofree char *code = NULL, *text = NULL, *path = write_file (dir, profile, past, &code);
  GError *error;

  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  error = open_text (text, strlen (text), code);
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "expired on");
  g_clear_error (&error);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_permissions)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autoptr(KcProfile) profile = make_profile ("1006");
  g_autoptr(KcProfile) bad = make_profile ("1007");
  g_autofree char *code = NULL, *before = NULL, *after = NULL;
  g_autofree char *path = write_file (dir, profile, 0, &code);
  g_autofree char *other = g_build_filename (dir, "bad" KC_ACTIVATION_SUFFIX, NULL);
  g_autoptr(KcActivation) a = NULL;
  g_autoptr(KcProfile) opened = NULL;
  g_autoptr(KcSecret) code2 = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  ck_assert_int_eq (g_stat (path, &st), 0);
  ck_assert_uint_eq (st.st_mode & 0777, 0600);

  /* Never overwritten without being told to. */
  ck_assert (g_file_get_contents (path, &before, NULL, NULL));
  code2 = kc_activation_write (profile, 0, path, FALSE, &error);
  ck_assert_ptr_null (code2);
  kc_test_assert_error (error, KC_ERROR_EXISTS, path);
  g_clear_error (&error);
  ck_assert (g_file_get_contents (path, &after, NULL, NULL));
  ck_assert_str_eq (before, after);

  /* An invalid profile is refused before anything is written. */
  g_free (bad->number);
  bad->number = g_strdup ("1008");
  ck_assert_ptr_null (kc_activation_write (bad, 0, other, FALSE, &error));
  ck_assert_ptr_nonnull (error);
  ck_assert (!g_file_test (other, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* A copy others may read (a download) still opens: the code protects it. */
  ck_assert_int_eq (g_chmod (path, 0644), 0);
  a = kc_activation_load (path, &error);
  ck_assert_msg (a != NULL, "%s", error ? error->message : "");
  opened = kc_activation_unlock (a, code, &error);
  ck_assert_msg (opened != NULL, "%s", error ? error->message : "");

  g_clear_pointer (&a, kc_activation_free);
  a = kc_activation_load ("/nonexistent/x.kcactivation", &error);
  ck_assert_ptr_null (a);
  kc_test_assert_error (error, KC_ERROR_IO, "Cannot read");
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
activation_suite (void)
{
  Suite *s = suite_create ("activation");
  TCase *tc = tcase_create ("core");

  /* Each opening costs one scrypt (64 MiB): give slow machines room. */
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_wrong_code);
  tcase_add_test (tc, test_tamper_each_part);
  tcase_add_test (tc, test_truncated_and_foreign);
  tcase_add_test (tc, test_expired);
  tcase_add_test (tc, test_permissions);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (activation_suite)
