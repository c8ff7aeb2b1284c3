/* test-profile.c: a CTA profile survives a save and load, every kind of bad
 * profile is refused with its own error, and the TLS folder it writes is
 * what OpenSSL (as sofia-sip uses it) accepts. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-keys.h"
#include "kc-pki.h"
#include "kc-profile.h"
#include "kc-vault.h"

#include <openssl/ssl.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SSL_CTX, SSL_CTX_free)

/* A certificate and key for @role/@identity from @ca, as PEM. */
static void
issue_pem (KcCa *ca, KcRole role, const char *identity, char **cert_pem, KcSecret **key_pem)
{
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  KcCertRequest request = { role, identity, NULL, 0 };
  g_autoptr(X509) cert = kc_ca_issue (ca, &request, key, NULL);

  ck_assert_ptr_nonnull (cert);
  *cert_pem = kc_pki_cert_to_pem (cert);
  if (key_pem != NULL)
    *key_pem = kc_pki_key_to_pem (key);
}

static KcProfile *
make_profile (KcCa *ca, const char *number)
{
  KcProfile *p = g_new0 (KcProfile, 1);

  p->number = g_strdup (number);
  p->display_name = g_strdup (" Alice Ünal\\ ");
  p->controller = g_strdup ("sips:127.0.0.1:5061;transport=tls");
  p->controller_name = g_strdup ("gc1");
  issue_pem (ca, KC_ROLE_CTA, number, &p->certificate, &p->private_key);
  p->ca = kc_pki_cert_to_pem (kc_ca_get_cert (ca));
  p->signaling_secret = kc_secret_new_random (KC_SIGNALING_SECRET_LEN, NULL);
  return p;
}

/* The saved text of a valid profile. */
static char *
profile_text (KcCa *ca, const char *dir)
{
  g_autoptr(KcProfile) profile = make_profile (ca, "1001");
  g_autofree char *path = g_build_filename (dir, "base.keycall", NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  ck_assert_msg (kc_profile_save (profile, path, TRUE, &error), "%s", error ? error->message : "");
  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static char *
escape (const char *pem)
{
  g_autoptr(GString) s = g_string_new (pem);

  g_string_replace (s, "\n", "\\n", 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* @text with the line of @key replaced by key=@value, or dropped. */
static char *
set_line (const char *text, const char *key, const char *value)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *prefix = g_strconcat (key, "=", NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean found = FALSE;

  for (gsize i = 0; lines[i] != NULL; i++) {
    if (g_str_has_prefix (lines[i], prefix)) {
      found = TRUE;
      if (value != NULL)
        g_string_append_printf (out, "%s=%s\n", key, value);
    } else if (lines[i][0] != '\0' || lines[i + 1] != NULL) {
      g_string_append_printf (out, "%s\n", lines[i]);
    }
  }
  ck_assert_msg (found, "no %s line", key);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

START_TEST (test_round_trip)
{
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(KcProfile) profile = make_profile (ca, "1001");
  g_autoptr(KcProfile) loaded = NULL;
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "1001" KC_PROFILE_SUFFIX, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *kf_cert = NULL;
  g_autofree char *kf_name = NULL;
  struct stat st;

  umask (0);
  ck_assert_msg (kc_profile_save (profile, path, FALSE, &error), "%s", error ? error->message : "");
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);

  loaded = kc_profile_load (path, &error);
  ck_assert_msg (loaded != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (loaded->number, "1001");
  ck_assert_str_eq (loaded->display_name, profile->display_name);
  ck_assert_str_eq (loaded->controller, profile->controller);
  ck_assert_str_eq (loaded->controller_name, "gc1");
  ck_assert_str_eq (loaded->controller_host, "127.0.0.1");
  ck_assert_uint_eq (loaded->controller_port, 5061);
  ck_assert_str_eq (loaded->certificate, profile->certificate);
  ck_assert_str_eq (loaded->ca, profile->ca);
  ck_assert (kc_secret_equal (loaded->private_key, profile->private_key));
  ck_assert (kc_secret_equal (loaded->signaling_secret, profile->signaling_secret));

  /* The file is GKeyFile syntax: GLib reads the same values. */
  ck_assert (g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, NULL));
  kf_cert = g_key_file_get_string (keyfile, KC_PROFILE_GROUP, "certificate", NULL);
  kf_name = g_key_file_get_string (keyfile, KC_PROFILE_GROUP, "display-name", NULL);
  ck_assert_str_eq (kf_cert, profile->certificate);
  ck_assert_str_eq (kf_name, profile->display_name);
  ck_assert_int_eq (g_key_file_get_integer (keyfile, KC_PROFILE_GROUP, "version", NULL), 1);

  /* Never overwritten silently; others may not read it. */
  ck_assert (!kc_profile_save (profile, path, FALSE, &error));
  kc_test_assert_error (error, KC_ERROR_EXISTS, "already exists");
  g_clear_error (&error);
  ck_assert_int_eq (chmod (path, 0644), 0);
  g_clear_pointer (&loaded, kc_profile_free);
  loaded = kc_profile_load (path, &error);
  ck_assert_ptr_null (loaded);
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "chmod 600");
  kc_test_rmtree (dir);
}
END_TEST

/* @text with a new certificate (and its key) for @role/@identity from @ca;
 * with @key_only, only a new key, which then matches nothing. */
static char *
with_identity (const char *text, KcCa *ca, KcRole role, const char *identity, gboolean key_only)
{
  g_autofree char *cert_pem = NULL;
  g_autoptr(KcSecret) key_pem = NULL;
  g_autofree char *key_text = NULL;
  g_autofree char *cert_line = NULL;
  g_autofree char *key_line = NULL;
  g_autofree char *step = NULL;

  issue_pem (ca, role, identity, &cert_pem, &key_pem);
  key_text = g_strndup ((const char *) kc_secret_get_data (key_pem), kc_secret_get_len (key_pem));
  cert_line = escape (cert_pem);
  key_line = escape (key_text);
  step = set_line (text, "private-key", key_line);
  return key_only ? g_steal_pointer (&step) : set_line (step, "certificate", cert_line);
}

START_TEST (test_each_failure_has_its_own_error)
{
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(KcCa) other_ca = kc_ca_new ("Net", 0, NULL);
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *base = profile_text (ca, dir);
  g_autofree char *other_ca_pem = kc_pki_cert_to_pem (kc_ca_get_cert (other_ca));
  g_autofree char *other_ca_line = escape (other_ca_pem);
  g_autoptr(GHashTable) messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  struct {
    const char *what;
    char       *text;
    int         code;
    const char *words;
  } cases[32];
  gsize n = 0;

#define CASE(w, t, c, s) do { cases[n].what = w; cases[n].text = t; cases[n].code = c; \
                              cases[n].words = s; n++; } while (0)
  {
    g_autofree char *tmp = NULL;

    CASE ("corrupt certificate PEM",
          set_line (base, "certificate",
                    "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n"),
          KC_ERROR_CORRUPT, "certificate is not a readable PEM");
    CASE ("corrupt key PEM",
          set_line (base, "private-key",
                    "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"),
          KC_ERROR_CORRUPT, "private key is not a readable");
    CASE ("corrupt CA PEM", set_line (base, "ca", "garbage"),
          KC_ERROR_CORRUPT, "CA certificate is not a readable");
    CASE ("key not matching", with_identity (base, ca, KC_ROLE_CTA, "1001", TRUE),
          KC_ERROR_CRYPTO, "does not belong to its certificate");
    CASE ("certificate from another CA", with_identity (base, other_ca, KC_ROLE_CTA, "1001", FALSE),
          KC_ERROR_CRYPTO, "not issued by its CA");
    CASE ("CA replaced", set_line (base, "ca", other_ca_line),
          KC_ERROR_CRYPTO, "not issued by its CA: Certificate");
    CASE ("LEA certificate", with_identity (base, ca, KC_ROLE_LEA, "lea1", FALSE),
          KC_ERROR_PERMISSION, "for lea “lea1”, not for a CTA");
    CASE ("another number's certificate", with_identity (base, ca, KC_ROLE_CTA, "1002", FALSE),
          KC_ERROR_INVALID, "for number 1002, but the profile is for 1001");
    CASE ("bad number", set_line (base, "number", "10a1"),
          KC_ERROR_INVALID, "number: “10a1” is not a valid subscriber number");
    CASE ("missing field", set_line (base, "ca", NULL), KC_ERROR_INVALID, "lacks “ca”");
    CASE ("missing version", set_line (base, "version", NULL),
          KC_ERROR_INVALID, "lacks “version”");
    CASE ("version 2", set_line (base, "version", "2"), KC_ERROR_FOREIGN, "version 2");
    CASE ("version not a number", set_line (base, "version", "one"), KC_ERROR_INVALID,
          "version “one” is not a number");
    CASE ("truncated", g_strndup (base, strlen (base) / 2), KC_ERROR_CORRUPT, "truncated");
    CASE ("truncated last line", g_strndup (base, strlen (base) - 4),
          KC_ERROR_CORRUPT, "truncated");
    CASE ("short secret", set_line (base, "signaling-secret", "AAAAAAAAAAAAAAAAAAAAAA=="),
          KC_ERROR_INVALID, "signaling secret: Key is 16 bytes; expected 32");
    CASE ("secret not base64", set_line (base, "signaling-secret", "!!!!"),
          KC_ERROR_INVALID, "signaling secret: Key text is not valid base64");
    CASE ("plain sip controller", set_line (base, "controller", "sip:127.0.0.1:5060"),
          KC_ERROR_INVALID, "controller “sip:127.0.0.1:5060” is not a sips: URI");
    CASE ("controller port", set_line (base, "controller", "sips:127.0.0.1:99999"),
          KC_ERROR_INVALID, "controller “sips:127.0.0.1:99999”");
    CASE ("controller name", set_line (base, "controller-name", "GC 1"),
          KC_ERROR_INVALID, "controller name");
    CASE ("bad domain", set_line (base, "controller-name", "gc1\ndomain=keycall..test"),
          KC_ERROR_INVALID, "domain “keycall..test” is not a domain name");
    CASE ("bad escape", set_line (base, "display-name", "Al\\qice"),
          KC_ERROR_INVALID, "invalid backslash escape");
    tmp = set_line (base, "number", "1001\nnumber=1001");   /* two lines */
    CASE ("duplicate key", g_steal_pointer (&tmp), KC_ERROR_INVALID, "names “number” twice");
    CASE ("not a profile", g_strdup ("{\"number\": \"1001\"}\n"), KC_ERROR_FOREIGN,
          "not a Keycall profile");
    CASE ("other group only", g_strdup ("[Desktop Entry]\nName=x\n"), KC_ERROR_FOREIGN,
          "no [keycall-profile] group");
    CASE ("junk line", g_strdup ("[keycall-profile]\nversion=1\n\001\002"), KC_ERROR_INVALID,
          "Line 3 of the profile is not of the form key=value");
    CASE ("empty", g_strdup (""), KC_ERROR_FOREIGN, "not a Keycall profile");
  }
#undef CASE

  for (gsize i = 0; i < n; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(KcProfile) p = kc_profile_parse ((const guint8 *) cases[i].text,
                                               strlen (cases[i].text), &error);

    ck_assert_msg (p == NULL, "%s: accepted", cases[i].what);
    ck_assert_msg (error != NULL, "%s: no error", cases[i].what);
    ck_assert_msg (g_error_matches (error, KC_ERROR, cases[i].code), "%s: code %d (%s)",
                   cases[i].what, error->code, error->message);
    ck_assert_msg (strstr (error->message, cases[i].words) != NULL, "%s: “%s” lacks “%s”",
                   cases[i].what, error->message, cases[i].words);
    g_hash_table_add (messages, g_strdup (error->message));
    g_free (cases[i].text);
  }
  /* Different problems never share a message (only the two truncations
   * and the three files that are no profile at all do). */
  ck_assert_uint_eq (g_hash_table_size (messages), n - 3);
  /* And the untouched text parses. */
  {
    g_autoptr(KcProfile) good = kc_profile_parse ((const guint8 *) base, strlen (base), NULL);

    ck_assert_ptr_nonnull (good);
  }
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_controller_uris)
{
  static const struct { const char *uri; const char *host; guint port; } cases[] = {
    { "sips:127.0.0.1:5061;transport=tls", "127.0.0.1", 5061 },
    { "sips:127.0.0.1", "127.0.0.1", 5061 },
    { "sips:[::1]:5062", "::1", 5062 },
    { "sips:gc1.keycall.test;maddr=127.0.0.1", "gc1.keycall.test", 5061 },
  };
  static const char *const bad[] = {
    "sips:", "sips:user@host", "sips:[::1", "sips:[gc1]:5061", "sips:host:0",
    "sips:host:12ab", "sips:host?x=y", "sips:host;a b", "tel:1001",
  };
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(KcProfile) p = make_profile (ca, "1001");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;

    g_free (p->controller);
    p->controller = g_strdup (cases[i].uri);
    ck_assert_msg (kc_profile_validate (p, &error), "%s: %s", cases[i].uri,
                   error ? error->message : "");
    ck_assert_str_eq (p->controller_host, cases[i].host);
    ck_assert_uint_eq (p->controller_port, cases[i].port);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;

    g_free (p->controller);
    p->controller = g_strdup (bad[i]);
    ck_assert_msg (!kc_profile_validate (p, &error), "%s accepted", bad[i]);
    kc_test_assert_error (error, KC_ERROR_INVALID, "is not a sips: URI");
  }
}
END_TEST

/* The optional domain: written and read back when there is one, absent
 * (NULL) from profiles without it, checked when present. */
START_TEST (test_domain)
{
  static const char *const good[] = {
    "keycall.test", "a", "ex-ample.org", "Net1.Example.COM", "10.0.0.1",
  };
  static const char *const bad[] = {
    "", "-keycall.test", "keycall.test-", "keycall..test", ".keycall.test", "keycall.test.",
    "key call.test", "kéycall.test", "keycall.test;x", "sips:keycall.test",
  };
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(KcProfile) p = make_profile (ca, "1001");
  g_autoptr(KcProfile) loaded = NULL;
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *with = g_build_filename (dir, "with.keycall", NULL);
  g_autofree char *without = g_build_filename (dir, "without.keycall", NULL);
  g_autofree char *text = NULL;
  g_autofree char *kf_domain = NULL;
  g_autofree char *long_domain = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  /* Without: no line, and it loads as NULL (profiles exported before). */
  ck_assert_msg (kc_profile_save (p, without, FALSE, &error), "%s", error ? error->message : "");
  ck_assert (g_file_get_contents (without, &text, NULL, NULL));
  ck_assert_ptr_null (strstr (text, "\ndomain="));
  loaded = kc_profile_load (without, &error);
  ck_assert_msg (loaded != NULL, "%s", error ? error->message : "");
  ck_assert_ptr_null (loaded->domain);
  g_clear_pointer (&loaded, kc_profile_free);
  g_clear_pointer (&text, g_free);

  /* With: one line, read back by Keycall and by GKeyFile. */
  p->domain = g_strdup ("keycall.test");
  ck_assert_msg (kc_profile_save (p, with, FALSE, &error), "%s", error ? error->message : "");
  ck_assert (g_file_get_contents (with, &text, NULL, NULL));
  ck_assert_ptr_nonnull (strstr (text, "\ndomain=keycall.test\n"));
  loaded = kc_profile_load (with, &error);
  ck_assert_msg (loaded != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (loaded->domain, "keycall.test");
  ck_assert (g_key_file_load_from_file (keyfile, with, G_KEY_FILE_NONE, NULL));
  kf_domain = g_key_file_get_string (keyfile, KC_PROFILE_GROUP, "domain", NULL);
  ck_assert_str_eq (kf_domain, "keycall.test");

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++) {
    g_free (p->domain);
    p->domain = g_strdup (good[i]);
    ck_assert_msg (kc_profile_validate (p, &error), "%s: %s", good[i],
                   error ? error->message : "");
  }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) local = NULL;

    g_free (p->domain);
    p->domain = g_strdup (bad[i]);
    ck_assert_msg (!kc_profile_validate (p, &local), "“%s” accepted", bad[i]);
    kc_test_assert_error (local, KC_ERROR_INVALID, "is not a domain name");
  }
  /* At most 253 characters, as in DNS. */
  long_domain = g_strnfill (254, 'a');
  g_free (p->domain);
  p->domain = g_strdup (long_domain);
  ck_assert (!kc_profile_validate (p, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "is not a domain name");
  g_clear_error (&error);
  long_domain[253] = '\0';
  g_free (p->domain);
  p->domain = g_strdup (long_domain);
  ck_assert_msg (kc_profile_validate (p, &error), "%s", error ? error->message : "");

  /* An invalid domain is never written. */
  g_free (p->domain);
  p->domain = g_strdup ("bad domain");
  ck_assert (!kc_profile_save (p, with, TRUE, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "“bad domain” is not a domain name");
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_save_refuses_invalid)
{
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(KcProfile) p = make_profile (ca, "1001");
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "x.keycall", NULL);
  g_autoptr(GError) error = NULL;

  g_free (p->number);
  p->number = g_strdup ("1002");
  ck_assert (!kc_profile_save (p, path, FALSE, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "for number 1001");
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_tls_dir_loads_in_openssl)
{
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(KcProfile) p = make_profile (ca, "1001");
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *tls = g_build_filename (dir, "tls", NULL);
  g_autofree char *agent = g_build_filename (tls, "agent.pem", NULL);
  g_autofree char *cafile = g_build_filename (tls, "cafile.pem", NULL);
  g_autoptr(SSL_CTX) ctx = SSL_CTX_new (TLS_method ());
  g_autoptr(GError) error = NULL;
  struct stat st;

  umask (0);
  ck_assert_msg (kc_profile_write_tls_dir (p, tls, FALSE, &error), "%s",
                 error ? error->message : "");
  ck_assert_int_eq (stat (tls, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0700);
  ck_assert_int_eq (stat (agent, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  ck_assert_int_eq (stat (cafile, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);

  /* What sofia-sip's tls_create_ctx does with the folder. */
  ck_assert_int_eq (SSL_CTX_use_certificate_file (ctx, agent, SSL_FILETYPE_PEM), 1);
  ck_assert_int_eq (SSL_CTX_use_PrivateKey_file (ctx, agent, SSL_FILETYPE_PEM), 1);
  ck_assert_int_eq (SSL_CTX_check_private_key (ctx), 1);
  ck_assert_int_eq (SSL_CTX_load_verify_locations (ctx, cafile, NULL), 1);

  ck_assert (!kc_profile_write_tls_dir (p, tls, FALSE, &error));
  kc_test_assert_error (error, KC_ERROR_EXISTS, "agent.pem");
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
profile_suite (void)
{
  Suite *s = suite_create ("profile");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_each_failure_has_its_own_error);
  tcase_add_test (tc, test_controller_uris);
  tcase_add_test (tc, test_domain);
  tcase_add_test (tc, test_save_refuses_invalid);
  tcase_add_test (tc, test_tls_dir_loads_in_openssl);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (profile_suite)
