/* test-pki.c: the network CA issues certificates with the specified profile,
 * peers' identities come out of sofia-sip's subject list, the CRL revokes,
 * and key files are private. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-pki.h"
#include "kc-vault.h"

#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

static KcCa *
make_ca (const char *network)
{
  g_autoptr(GError) error = NULL;
  KcCa *ca = kc_ca_new (network, 0, &error);

  ck_assert_msg (ca != NULL, "%s", error ? error->message : "?");
  return ca;
}

static X509 *
issue (KcCa *ca, KcRole role, const char *identity, const char *host, EVP_PKEY **key_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (&error);
  KcCertRequest request = { role, identity, host, 0 };
  X509 *cert;

  ck_assert_ptr_nonnull (key);
  cert = kc_ca_issue (ca, &request, key, &error);
  ck_assert_msg (cert != NULL, "%s", error ? error->message : "?");
  if (key_out != NULL)
    *key_out = g_steal_pointer (&key);
  return cert;
}

static gboolean
strv_has (GStrv strv, const char *item)
{
  return strv != NULL && g_strv_contains ((const char *const *) strv, item);
}

static int
days_valid (X509 *cert)
{
  int days = 0, secs = 0;

  ck_assert (ASN1_TIME_diff (&days, &secs, X509_get0_notBefore (cert), X509_get0_notAfter (cert)));
  return days;
}

START_TEST (test_ca_profile)
{
  g_autoptr(KcCa) ca = make_ca ("Example Net");
  X509 *cert = kc_ca_get_cert (ca);
  BASIC_CONSTRAINTS *bc;
  int crit = -1;
  char text[256];

  bc = X509_get_ext_d2i (cert, NID_basic_constraints, &crit, NULL);
  ck_assert_ptr_nonnull (bc);
  ck_assert_int_eq (crit, 1);
  ck_assert (bc->ca);
  ck_assert_int_eq (ASN1_INTEGER_get (bc->pathlen), 0);
  BASIC_CONSTRAINTS_free (bc);

  ck_assert_uint_eq (X509_get_key_usage (cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  ck_assert_int_eq (X509_get_ext_by_NID (cert, NID_key_usage, -1) >= 0, 1);
  ck_assert (X509_EXTENSION_get_critical (
    X509_get_ext (cert, X509_get_ext_by_NID (cert, NID_key_usage, -1))));
  ck_assert_ptr_nonnull (X509_get0_subject_key_id (cert));
  ck_assert_int_eq (X509_get_signature_nid (cert), NID_ecdsa_with_SHA256);
  ck_assert_int_eq (EVP_PKEY_get_bits (X509_get0_pubkey (cert)), 256);
  ck_assert (EVP_PKEY_is_a (X509_get0_pubkey (cert), "EC"));
  ck_assert_int_ge (days_valid (cert), 3650);
  ck_assert_int_le (days_valid (cert), 3651);
  X509_NAME_get_text_by_NID (X509_get_subject_name (cert), NID_organizationName, text, sizeof text);
  ck_assert_str_eq (text, "Example Net");
  ck_assert_str_eq (kc_ca_get_network (ca), "Example Net");
  /* Self-signed and valid as its own trust anchor. */
  ck_assert (kc_pki_verify (cert, NULL, cert, NULL));
}
END_TEST

START_TEST (test_leaf_profile_each_role)
{
  static const struct { KcRole role; const char *identity; } cases[] = {
    { KC_ROLE_CONTROLLER, "gc1" }, { KC_ROLE_CTA, "1001" },
    { KC_ROLE_LEA, "lea1" }, { KC_ROLE_GATEWAY, "gw1" },
  };
  g_autoptr(KcCa) ca = make_ca ("Example Net");
  g_autofree char *first_serial = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(EVP_PKEY) key = NULL;
    g_autoptr(X509) cert = issue (ca, cases[i].role, cases[i].identity, NULL, &key);
    g_autoptr(GError) error = NULL;
    g_autofree char *serial = kc_pki_cert_serial (cert);
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id (cert);
    BASIC_CONSTRAINTS *bc;
    X509_NAME *name;
    int crit = -1;
    char text[256];

    ck_assert_msg (kc_pki_verify (kc_ca_get_cert (ca), NULL, cert, &error), "%s",
                   error ? error->message : "");
    bc = X509_get_ext_d2i (cert, NID_basic_constraints, &crit, NULL);
    ck_assert_ptr_nonnull (bc);
    ck_assert (!bc->ca);
    BASIC_CONSTRAINTS_free (bc);
    ck_assert_int_eq (X509_check_ca (cert), 0);
    ck_assert_uint_eq (X509_get_key_usage (cert), KU_DIGITAL_SIGNATURE);
    ck_assert_uint_eq (X509_get_extended_key_usage (cert), XKU_SSL_SERVER | XKU_SSL_CLIENT);
    /* Both ends of a TLS connection, as sofia opens connections toward CTAs. */
    ck_assert_int_eq (X509_check_purpose (cert, X509_PURPOSE_SSL_SERVER, 0), 1);
    ck_assert_int_eq (X509_check_purpose (cert, X509_PURPOSE_SSL_CLIENT, 0), 1);
    ck_assert_ptr_nonnull (X509_get0_subject_key_id (cert));
    ck_assert_ptr_nonnull (aki);
    ck_assert_int_eq (ASN1_OCTET_STRING_cmp (aki, X509_get0_subject_key_id (kc_ca_get_cert (ca))),
                      0);
    ck_assert_int_eq (X509_get_signature_nid (cert), NID_ecdsa_with_SHA256);
    ck_assert_int_ge (days_valid (cert), 730);
    ck_assert_int_le (days_valid (cert), 731);
    ck_assert (kc_pki_cert_matches_key (cert, key, NULL));

    name = X509_get_subject_name (cert);
    X509_NAME_get_text_by_NID (name, NID_organizationName, text, sizeof text);
    ck_assert_str_eq (text, "Example Net");
    X509_NAME_get_text_by_NID (name, NID_organizationalUnitName, text, sizeof text);
    ck_assert_str_eq (text, kc_role_to_string (cases[i].role));
    X509_NAME_get_text_by_NID (name, NID_commonName, text, sizeof text);
    ck_assert_str_eq (text, cases[i].identity);

    /* Random 128-bit serials: positive, at most 16 bytes, never repeated. */
    ck_assert_int_le (strlen (serial), 32);
    ck_assert_int_ge (strlen (serial), 24);
    if (first_serial != NULL)
      ck_assert_str_ne (serial, first_serial);
    else
      first_serial = g_strdup (serial);
  }
}
END_TEST

START_TEST (test_validity_configurable)
{
  g_autoptr(KcCa) ca = make_ca ("n");
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  KcCertRequest request = { KC_ROLE_CTA, "1001", NULL, 30 };
  g_autoptr(X509) cert = kc_ca_issue (ca, &request, key, NULL);

  ck_assert_int_ge (days_valid (cert), 30);
  ck_assert_int_le (days_valid (cert), 31);
}
END_TEST

START_TEST (test_identity_each_role)
{
  static const struct { KcRole role; const char *identity; const char *uri; } cases[] = {
    { KC_ROLE_CONTROLLER, "gc1", "keycall:controller:gc1" },
    { KC_ROLE_CTA, "+15551001", "keycall:cta:+15551001" },
    { KC_ROLE_LEA, "lea1", "keycall:lea:lea1" },
    { KC_ROLE_GATEWAY, "gw-2", "keycall:gateway:gw-2" },
  };
  g_autoptr(KcCa) ca = make_ca ("Example Net");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(X509) cert = issue (ca, cases[i].role, cases[i].identity, NULL, NULL);
    g_auto(GStrv) subjects = kc_pki_cert_subjects (cert);
    g_autofree char *identity = NULL;
    g_autofree char *serial = kc_pki_cert_serial (cert);
    g_autofree char *serial_subject = g_strconcat ("keycall:serial:", serial, NULL);
    g_autofree char *from_subjects = NULL;
    g_autoptr(GError) error = NULL;
    KcRole role = KC_ROLE_INVALID;

    /* What sofia hands the controller: the URIs, and not the CN. */
    ck_assert_uint_eq (g_strv_length (subjects), 2);
    ck_assert (strv_has (subjects, cases[i].uri));
    ck_assert (strv_has (subjects, serial_subject));
    ck_assert (!strv_has (subjects, cases[i].identity));

    ck_assert_msg (kc_pki_identity_from_subjects ((const char *const *) subjects, &role,
                                                  &identity, &error), "%s",
                   error ? error->message : "");
    ck_assert_int_eq (role, cases[i].role);
    ck_assert_str_eq (identity, cases[i].identity);
    g_clear_pointer (&identity, g_free);
    ck_assert (kc_pki_identity_from_cert (cert, &role, &identity, NULL));
    ck_assert_str_eq (identity, cases[i].identity);

    from_subjects = kc_pki_serial_from_subjects ((const char *const *) subjects);
    ck_assert_str_eq (from_subjects, serial);
  }
}
END_TEST

START_TEST (test_controller_host_sans)
{
  g_autoptr(KcCa) ca = make_ca ("n");
  g_autoptr(X509) named = issue (ca, KC_ROLE_CONTROLLER, "gc1", "gc1.keycall.test", NULL);
  g_autoptr(X509) numeric = issue (ca, KC_ROLE_CONTROLLER, "gc2", "127.0.0.1", NULL);
  g_auto(GStrv) named_subjects = kc_pki_cert_subjects (named);
  g_auto(GStrv) numeric_subjects = kc_pki_cert_subjects (numeric);
  g_autofree char *identity = NULL;
  KcRole role;

  ck_assert (strv_has (named_subjects, "gc1.keycall.test"));
  ck_assert (strv_has (named_subjects, "keycall:controller:gc1"));
  /* The IP SAN is there for other TLS clients, but sofia never reports it. */
  ck_assert_int_eq (X509_check_ip_asc (numeric, "127.0.0.1", 0), 1);
  ck_assert (!strv_has (numeric_subjects, "127.0.0.1"));
  ck_assert_uint_eq (g_strv_length (numeric_subjects), 2);
  ck_assert (kc_pki_identity_from_subjects ((const char *const *) named_subjects, &role,
                                            &identity, NULL));
  ck_assert_int_eq (role, KC_ROLE_CONTROLLER);
  ck_assert_str_eq (identity, "gc1");
}
END_TEST

/* A certificate without SANs, signed by hand: sofia then reports its CN. */
START_TEST (test_subjects_cn_only_without_san)
{
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  g_autoptr(X509) cert = X509_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) subjects = NULL;
  g_autofree char *identity = NULL;
  KcRole role;

  X509_set_version (cert, X509_VERSION_3);
  ASN1_INTEGER_set (X509_get_serialNumber (cert), 7);
  X509_NAME_add_entry_by_txt (X509_get_subject_name (cert), "CN", MBSTRING_UTF8,
                              (const guchar *) "keycall-like", -1, -1, 0);
  X509_set_issuer_name (cert, X509_get_subject_name (cert));
  X509_gmtime_adj (X509_getm_notBefore (cert), 0);
  X509_gmtime_adj (X509_getm_notAfter (cert), 3600);
  X509_set_pubkey (cert, key);
  X509_sign (cert, key, EVP_sha256 ());

  subjects = kc_pki_cert_subjects (cert);
  ck_assert_uint_eq (g_strv_length (subjects), 1);
  ck_assert_str_eq (subjects[0], "keycall-like");
  ck_assert (!kc_pki_identity_from_cert (cert, &role, &identity, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "no Keycall identity");
}
END_TEST

START_TEST (test_identity_rejects_malformed)
{
  static const struct { const char *subjects[4]; int code; const char *words; } cases[] = {
    { { NULL }, KC_ERROR_PERMISSION, "no certificate subjects" },
    { { "gc1.keycall.test", NULL }, KC_ERROR_PERMISSION, "no Keycall identity" },
    { { "keycall:serial:0A0B", NULL }, KC_ERROR_PERMISSION, "no Keycall identity" },
    { { "keycall:boss:x", NULL }, KC_ERROR_INVALID, "unknown role" },
    { { "keycall:cta", NULL }, KC_ERROR_INVALID, "not of the form" },
    { { "keycall:cta:10a1", NULL }, KC_ERROR_INVALID, "not a valid subscriber number" },
    { { "keycall:cta:", NULL }, KC_ERROR_INVALID, "not a valid subscriber number" },
    { { "keycall:controller:GC1", NULL }, KC_ERROR_INVALID, "not a valid name" },
    { { "keycall:controller:gc1", "keycall:cta:1001", NULL }, KC_ERROR_INVALID,
      "two Keycall identities" },
    { { "keycall:cta:1001", "keycall:cta:1002", NULL }, KC_ERROR_INVALID,
      "two Keycall identities" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *identity = NULL;
    KcRole role = KC_ROLE_INVALID;

    ck_assert_msg (!kc_pki_identity_from_subjects (cases[i].subjects, &role, &identity, &error),
                   "case %zu accepted", i);
    ck_assert_ptr_null (identity);
    kc_test_assert_error (error, cases[i].code, cases[i].words);
  }
  ck_assert (!kc_pki_identity_from_subjects (NULL, &(KcRole) { 0 }, &(char *) { NULL }, NULL));
}
END_TEST

START_TEST (test_identity_tolerates_repeats_and_others)
{
  const char *subjects[] = { "gc1.keycall.test", "keycall:controller:gc1",
                             "KEYCALL:controller:gc1", "keycall:serial:01", NULL };
  g_autofree char *identity = NULL;
  KcRole role;

  ck_assert (kc_pki_identity_from_subjects (subjects, &role, &identity, NULL));
  ck_assert_int_eq (role, KC_ROLE_CONTROLLER);
  ck_assert_str_eq (identity, "gc1");
}
END_TEST

START_TEST (test_foreign_ca_rejected)
{
  g_autoptr(KcCa) ours = make_ca ("Ours");
  g_autoptr(KcCa) theirs = make_ca ("Ours");   /* same name, different key */
  g_autoptr(X509) cert = issue (theirs, KC_ROLE_CTA, "1001", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *identity = NULL;
  KcRole role;

  /* The subjects look right; only verification can tell. */
  ck_assert (kc_pki_identity_from_cert (cert, &role, &identity, NULL));
  ck_assert (!kc_pki_verify (kc_ca_get_cert (ours), NULL, cert, &error));
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "unable to get local issuer certificate");
  ck_assert (kc_pki_verify (kc_ca_get_cert (theirs), NULL, cert, NULL));
}
END_TEST

START_TEST (test_crl_revokes)
{
  g_autoptr(KcCa) ca = make_ca ("n");
  g_autoptr(KcCa) other = make_ca ("n");
  g_autoptr(X509) bad = issue (ca, KC_ROLE_CTA, "1001", NULL, NULL);
  g_autoptr(X509) good = issue (ca, KC_ROLE_CTA, "1002", NULL, NULL);
  g_autofree char *bad_serial = kc_pki_cert_serial (bad);
  g_autofree char *good_serial = kc_pki_cert_serial (good);
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "crl.pem", NULL);
  g_autofree char *lower = g_ascii_strdown (bad_serial, -1);
  KcRevokedCert revoked[] = { { bad_serial, g_get_real_time () / G_USEC_PER_SEC - 60 } };
  g_autoptr(X509_CRL) crl = kc_ca_make_crl (ca, revoked, 1, 7, 0, NULL);
  g_autoptr(X509_CRL) foreign = kc_ca_make_crl (other, NULL, 0, 1, 0, NULL);
  g_autoptr(X509_CRL) loaded = NULL;
  g_autoptr(GError) error = NULL;

  ck_assert_ptr_nonnull (crl);
  ck_assert_int_eq (X509_CRL_verify (crl, X509_get0_pubkey (kc_ca_get_cert (ca))), 1);
  ck_assert (kc_pki_crl_contains (crl, bad_serial));
  ck_assert (kc_pki_crl_contains (crl, lower));
  ck_assert (!kc_pki_crl_contains (crl, good_serial));
  ck_assert_uint_eq (kc_pki_crl_number (crl), 7);

  ck_assert (!kc_pki_verify (kc_ca_get_cert (ca), crl, bad, &error));
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "certificate revoked");
  g_clear_error (&error);
  ck_assert_msg (kc_pki_verify (kc_ca_get_cert (ca), crl, good, &error), "%s",
                 error ? error->message : "");
  /* Without the CRL the revoked certificate still chains. */
  ck_assert (kc_pki_verify (kc_ca_get_cert (ca), NULL, bad, NULL));
  /* A CRL from another CA does not count. */
  ck_assert (!kc_pki_verify (kc_ca_get_cert (ca), foreign, good, &error));
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "CRL");

  ck_assert (kc_pki_crl_save (crl, path, NULL));
  loaded = kc_pki_crl_load (path, NULL);
  ck_assert_ptr_nonnull (loaded);
  ck_assert (kc_pki_crl_contains (loaded, bad_serial));
  ck_assert_uint_eq (kc_pki_crl_number (loaded), 7);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_key_files_private)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *cert_path = g_build_filename (dir, "cert.pem", NULL);
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  g_autoptr(EVP_PKEY) other = kc_pki_key_generate (NULL);
  g_autoptr(EVP_PKEY) loaded = NULL;
  g_autoptr(KcCa) ca = make_ca ("n");
  g_autoptr(X509) cert = issue (ca, KC_ROLE_LEA, "lea1", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  struct stat st;

  umask (0);   /* the mode must not depend on the caller's umask */
  ck_assert (kc_pki_key_save (key, path, FALSE, &error));
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  ck_assert (kc_pki_cert_save (cert, cert_path, FALSE, NULL));
  ck_assert_int_eq (stat (cert_path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0644);

  ck_assert (g_file_get_contents (path, &before, NULL, NULL));
  ck_assert (g_str_has_prefix (before, "-----BEGIN PRIVATE KEY-----"));   /* PKCS#8 */

  /* Never overwritten silently. */
  ck_assert (!kc_pki_key_save (other, path, FALSE, &error));
  kc_test_assert_error (error, KC_ERROR_EXISTS, "already exists");
  g_clear_error (&error);
  ck_assert (g_file_get_contents (path, &after, NULL, NULL));
  ck_assert_str_eq (before, after);
  loaded = kc_pki_key_load (path, NULL);
  ck_assert_int_eq (EVP_PKEY_eq (loaded, key), 1);
  g_clear_pointer (&loaded, EVP_PKEY_free);

  /* Unless asked to; the replacement is private too. */
  umask (022);
  ck_assert (kc_pki_key_save (other, path, TRUE, NULL));
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  loaded = kc_pki_key_load (path, NULL);
  ck_assert_int_eq (EVP_PKEY_eq (loaded, other), 1);
  g_clear_pointer (&loaded, EVP_PKEY_free);

  /* A key others can read is refused, with the fix in the message. */
  ck_assert_int_eq (chmod (path, 0640), 0);
  loaded = kc_pki_key_load (path, &error);
  ck_assert_ptr_null (loaded);
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "chmod 600");
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_key_pem_errors)
{
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  g_autoptr(KcSecret) pem = kc_pki_key_to_pem (key);
  g_autoptr(EVP_PKEY) back = kc_pki_key_from_pem (kc_secret_get_data (pem),
                                                  kc_secret_get_len (pem), NULL);
  g_autoptr(GError) error = NULL;
  const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

  ck_assert_int_eq (EVP_PKEY_eq (back, key), 1);
  ck_assert_ptr_null (kc_pki_key_from_pem ((const guint8 *) junk, sizeof junk - 1, &error));
  kc_test_assert_error (error, KC_ERROR_CORRUPT, "not a readable");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_pki_cert_from_pem (junk, sizeof junk - 1, &error));
  kc_test_assert_error (error, KC_ERROR_CORRUPT, "not a readable PEM certificate");
}
END_TEST

START_TEST (test_ca_save_load)
{
  g_autoptr(KcCa) ca = make_ca ("Example Net");
  g_autoptr(KcCa) other = make_ca ("Other");
  g_autoptr(KcCa) loaded = NULL;
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *cert = g_build_filename (dir, "ca.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "ca.key", NULL);
  g_autofree char *cert2 = g_build_filename (dir, "other.pem", NULL);
  g_autofree char *key2 = g_build_filename (dir, "other.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(X509) leaf = NULL;

  ck_assert (kc_ca_save (ca, cert, key, FALSE, NULL));
  ck_assert (kc_ca_save (other, cert2, key2, FALSE, NULL));
  ck_assert (!kc_ca_save (ca, cert, key, FALSE, &error));
  kc_test_assert_error (error, KC_ERROR_EXISTS, "already exists");
  g_clear_error (&error);

  loaded = kc_ca_load (cert, key, &error);
  ck_assert_msg (loaded != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (kc_ca_get_network (loaded), "Example Net");
  leaf = issue (loaded, KC_ROLE_CTA, "1001", NULL, NULL);
  ck_assert (kc_pki_verify (kc_ca_get_cert (ca), NULL, leaf, NULL));

  g_clear_pointer (&loaded, kc_ca_free);
  loaded = kc_ca_load (cert, key2, &error);
  ck_assert_ptr_null (loaded);
  kc_test_assert_error (error, KC_ERROR_CRYPTO, "is not the private key");
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_issue_rejects_bad_input)
{
  g_autoptr(KcCa) ca = make_ca ("n");
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  static const struct {
    KcRole      role;
    const char *identity;
    const char *host;
    const char *words;
  } cases[] = {
    { KC_ROLE_CTA, "alice", NULL, "not a valid subscriber number" },
    { KC_ROLE_CTA, "1234567890123456", NULL, "not a valid subscriber number" },
    { KC_ROLE_CONTROLLER, "gc_1", NULL, "not a valid name" },
    { KC_ROLE_CONTROLLER, "-gc", NULL, "not a valid name" },
    { KC_ROLE_CONTROLLER, "gc1", "bad host,DNS:evil", "neither an IP address nor a host name" },
  };
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    KcCertRequest request = { cases[i].role, cases[i].identity, cases[i].host, 0 };

    ck_assert_ptr_null (kc_ca_issue (ca, &request, key, &error));
    kc_test_assert_error (error, KC_ERROR_INVALID, cases[i].words);
    g_clear_error (&error);
  }
  ck_assert_ptr_null (kc_ca_new ("", 0, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "network name");
}
END_TEST

START_TEST (test_roles_and_serials)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = kc_pki_serial_normalize ("0x0a:1B:2c", NULL);
  g_autofree char *b = kc_pki_serial_normalize ("A1B2C", NULL);

  for (int r = KC_ROLE_CONTROLLER; r <= KC_ROLE_GATEWAY; r++)
    ck_assert_int_eq (kc_role_from_string (kc_role_to_string (r)), r);
  ck_assert_int_eq (kc_role_from_string ("CTA"), KC_ROLE_INVALID);
  ck_assert_int_eq (kc_role_from_string (NULL), KC_ROLE_INVALID);
  ck_assert_str_eq (a, "0A1B2C");
  ck_assert_str_eq (b, "0A1B2C");
  ck_assert_ptr_null (kc_pki_serial_normalize ("xyz", &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "not a certificate serial");
  ck_assert (kc_pki_check_number ("+4930123", NULL));
  ck_assert (!kc_pki_check_number ("+", NULL));
  ck_assert (!kc_pki_check_number ("12 3", NULL));
}
END_TEST

static Suite *
pki_suite (void)
{
  Suite *s = suite_create ("pki");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_ca_profile);
  tcase_add_test (tc, test_leaf_profile_each_role);
  tcase_add_test (tc, test_validity_configurable);
  tcase_add_test (tc, test_identity_each_role);
  tcase_add_test (tc, test_controller_host_sans);
  tcase_add_test (tc, test_subjects_cn_only_without_san);
  tcase_add_test (tc, test_identity_rejects_malformed);
  tcase_add_test (tc, test_identity_tolerates_repeats_and_others);
  tcase_add_test (tc, test_foreign_ca_rejected);
  tcase_add_test (tc, test_crl_revokes);
  tcase_add_test (tc, test_key_files_private);
  tcase_add_test (tc, test_key_pem_errors);
  tcase_add_test (tc, test_ca_save_load);
  tcase_add_test (tc, test_issue_rejects_bad_input);
  tcase_add_test (tc, test_roles_and_serials);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (pki_suite)
