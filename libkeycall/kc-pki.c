/* kc-pki.c: the network CA, certificates, CRLs and peer identities. */
#define G_LOG_DOMAIN "kc-pki"

#include "kc-pki.h"
#include "kc-error.h"
#include "kc-vault.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_EXTENSION, X509_EXTENSION_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_STORE_CTX, X509_STORE_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ASN1_INTEGER, ASN1_INTEGER_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ASN1_TIME, ASN1_TIME_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GENERAL_NAMES, GENERAL_NAMES_free)

struct _KcCa {
  X509     *cert;
  EVP_PKEY *key;
  char     *network;
};

static const char *const role_names[] = {
  [KC_ROLE_CONTROLLER] = "controller",
  [KC_ROLE_CTA]        = "cta",
  [KC_ROLE_LEA]        = "lea",
  [KC_ROLE_GATEWAY]    = "gateway",
};

/* OpenSSL's reason for the last failure, for messages; clears its queue. */
static const char *
ssl_reason (void)
{
  static char buf[160];
  unsigned long e = ERR_peek_last_error ();

  if (e == 0)
    return "unknown OpenSSL error";
  ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  return buf;
}

const char *
kc_role_to_string (KcRole role)
{
  g_return_val_if_fail (role >= 0 && role < (KcRole) G_N_ELEMENTS (role_names), NULL);
  return role_names[role];
}

KcRole
kc_role_from_string (const char *text)
{
  if (text == NULL)
    return KC_ROLE_INVALID;
  for (gsize i = 0; i < G_N_ELEMENTS (role_names); i++)
    if (strcmp (text, role_names[i]) == 0)
      return (KcRole) i;
  return KC_ROLE_INVALID;
}

gboolean
kc_pki_check_number (const char *number, GError **error)
{
  const char *p = number;
  gsize digits = 0;

  g_return_val_if_fail (number != NULL, FALSE);

  if (*p == '+')
    p++;
  for (; *p != '\0'; p++, digits++)
    if (!g_ascii_isdigit (*p))
      break;
  if (*p != '\0' || digits < 1 || digits > 15) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "“%s” is not a valid subscriber number: use 1 to 15 digits, "
                 "optionally after a '+'", number);
    return FALSE;
  }
  return TRUE;
}

gboolean
kc_pki_check_name (const char *name, GError **error)
{
  gsize len;

  g_return_val_if_fail (name != NULL, FALSE);

  len = strlen (name);
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_islower (name[i]) || g_ascii_isdigit (name[i]) || name[i] == '-'))
      goto bad;
  /* A DNS label, so it can also be a host name and a folder name. */
  if (len >= 1 && len <= 63 && name[0] != '-' && name[len - 1] != '-')
    return TRUE;
bad:
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "“%s” is not a valid name: use 1 to 63 lowercase letters, digits "
               "and inner '-'", name);
  return FALSE;
}

gboolean
kc_pki_check_identity (KcRole role, const char *identity, GError **error)
{
  g_return_val_if_fail (identity != NULL, FALSE);

  if (role == KC_ROLE_CTA)
    return kc_pki_check_number (identity, error);
  return kc_pki_check_name (identity, error);
}

/* Keys */

EVP_PKEY *
kc_pki_key_generate (GError **error)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");

  if (key == NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "Cannot generate a P-256 key: %s", ssl_reason ());
  return key;
}

KcSecret *
kc_pki_key_to_pem (EVP_PKEY *key)
{
  g_autoptr(BIO) bio = BIO_new (BIO_s_secmem ());
  char *data = NULL;
  long len;

  g_return_val_if_fail (key != NULL, NULL);

  /* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"). */
  if (bio == NULL || PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL) != 1)
    g_error ("cannot encode a private key: %s", ssl_reason ());
  len = BIO_get_mem_data (bio, &data);
  return kc_secret_new_from_data ((const guint8 *) data, (gsize) len);
}

EVP_PKEY *
kc_pki_key_from_pem (const guint8 *pem, gsize len, GError **error)
{
  g_autoptr(BIO) bio = NULL;
  EVP_PKEY *key;

  g_return_val_if_fail (pem != NULL, NULL);

  if (len > KC_PKI_MAX_FILE) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE, "The private key is too large");
    return NULL;
  }
  bio = BIO_new_mem_buf (pem, (int) len);
  key = PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL);
  if (key == NULL) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The private key is not a readable unencrypted PEM key");
  }
  return key;
}

gboolean
kc_pki_key_save (EVP_PKEY *key, const char *path, gboolean replace, GError **error)
{
  g_autoptr(KcSecret) pem = kc_pki_key_to_pem (key);

  return kc_file_write (path, kc_secret_get_data (pem), kc_secret_get_len (pem),
                            0600, replace, error);
}

EVP_PKEY *
kc_pki_key_load (const char *path, GError **error)
{
  g_autoptr(KcSecret) pem = kc_private_file_read (path, KC_PKI_MAX_FILE, error);
  EVP_PKEY *key;

  if (pem == NULL)
    return NULL;
  key = kc_pki_key_from_pem (kc_secret_get_data (pem), kc_secret_get_len (pem), NULL);
  if (key == NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "%s is not a readable unencrypted PEM private key", path);
  return key;
}

/* Certificates */

char *
kc_pki_cert_to_pem (X509 *cert)
{
  g_autoptr(BIO) bio = BIO_new (BIO_s_mem ());
  char *data = NULL;
  long len;

  g_return_val_if_fail (cert != NULL, NULL);

  if (PEM_write_bio_X509 (bio, cert) != 1)
    g_error ("cannot encode a certificate: %s", ssl_reason ());
  len = BIO_get_mem_data (bio, &data);
  return g_strndup (data, (gsize) len);
}

X509 *
kc_pki_cert_from_pem (const char *pem, gsize len, GError **error)
{
  g_autoptr(BIO) bio = NULL;
  X509 *cert;

  g_return_val_if_fail (pem != NULL, NULL);

  if (len > KC_PKI_MAX_FILE) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE, "The certificate is too large");
    return NULL;
  }
  bio = BIO_new_mem_buf (pem, (int) len);
  cert = PEM_read_bio_X509 (bio, NULL, NULL, NULL);
  if (cert == NULL) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The certificate is not a readable PEM certificate");
  }
  return cert;
}

gboolean
kc_pki_cert_save (X509 *cert, const char *path, gboolean replace, GError **error)
{
  g_autofree char *pem = kc_pki_cert_to_pem (cert);

  return kc_file_write (path, pem, strlen (pem), 0644, replace, error);
}

static char *
read_public_file (const char *path, gsize *len, GError **error)
{
  g_autoptr(GError) local = NULL;
  char *data = NULL;

  if (!g_file_get_contents (path, &data, len, &local)) {
    g_set_error (error, KC_ERROR,
                 g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? KC_ERROR_NOT_FOUND : KC_ERROR_IO, "%s", local->message);
    return NULL;
  }
  return data;
}

X509 *
kc_pki_cert_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  X509 *cert;

  if ((data = read_public_file (path, &len, error)) == NULL)
    return NULL;
  cert = kc_pki_cert_from_pem (data, len, NULL);
  if (cert == NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "%s is not a readable PEM certificate", path);
  return cert;
}

static char *
integer_to_hex (const ASN1_INTEGER *value)
{
  g_autoptr(BIGNUM) bn = ASN1_INTEGER_to_BN (value, NULL);
  char *openssl_hex, *hex;

  openssl_hex = BN_bn2hex (bn);
  hex = g_strdup (openssl_hex);
  OPENSSL_free (openssl_hex);
  return hex;
}

char *
kc_pki_cert_serial (X509 *cert)
{
  g_return_val_if_fail (cert != NULL, NULL);
  return integer_to_hex (X509_get0_serialNumber (cert));
}

char *
kc_pki_serial_normalize (const char *text, GError **error)
{
  g_autoptr(GString) hex = g_string_new (NULL);
  const char *p = text;

  g_return_val_if_fail (text != NULL, NULL);

  if (g_ascii_strncasecmp (p, "0x", 2) == 0)
    p += 2;
  for (; *p != '\0'; p++) {
    if (*p == ':')
      continue;
    if (!g_ascii_isxdigit (*p) || hex->len >= 40) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "“%s” is not a certificate serial (up to 40 hex digits)", text);
      return NULL;
    }
    if (hex->len == 0 && *p == '0')
      continue;
    g_string_append_c (hex, g_ascii_toupper (*p));
  }
  if (hex->len == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "“%s” is not a certificate serial (up to 40 hex digits)", text);
    return NULL;
  }
  /* Whole bytes, as BN_bn2hex and `openssl x509 -serial` print them. */
  if (hex->len % 2 == 1)
    g_string_prepend_c (hex, '0');
  return g_string_free (g_steal_pointer (&hex), FALSE);
}

gboolean
kc_pki_cert_matches_key (X509 *cert, EVP_PKEY *key, GError **error)
{
  g_return_val_if_fail (cert != NULL && key != NULL, FALSE);

  if (X509_check_private_key (cert, key) != 1) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The private key does not belong to the certificate");
    return FALSE;
  }
  return TRUE;
}

/* Subjects */

GStrv
kc_pki_cert_subjects (X509 *cert)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  X509_NAME *subject;
  char cn[256];
  int index = -1;

  g_return_val_if_fail (cert != NULL, NULL);

  /* Mirrors tls_post_connection_check() in sofia-sip 1.12.11's
   * tport_tls.c: it looks for OpenSSL's i2v names "DNS", "IP" and "URI",
   * but OpenSSL names IP entries "IP Address", so those never match. */
  for (;;) {
    g_autoptr(GENERAL_NAMES) names = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, &index);

    if (names == NULL)
      break;
    for (int i = 0; i < sk_GENERAL_NAME_num (names); i++) {
      const GENERAL_NAME *name = sk_GENERAL_NAME_value (names, i);
      const ASN1_IA5STRING *text = NULL;

      if (name->type == GEN_DNS)
        text = name->d.dNSName;
      else if (name->type == GEN_URI)
        text = name->d.uniformResourceIdentifier;
      if (text != NULL)
        g_ptr_array_add (items, g_strndup ((const char *) ASN1_STRING_get0_data (text),
                                           (gsize) ASN1_STRING_length (text)));
    }
  }

  /* Its CN loop stops at the first item that differs from the CN, so the
   * CN is added only when all collected items equal it. */
  subject = X509_get_subject_name (cert);
  if (subject != NULL && X509_NAME_get_text_by_NID (subject, NID_commonName, cn, sizeof cn) > 0) {
    guint k;

    for (k = 0; k < items->len; k++)
      if (g_ascii_strcasecmp (g_ptr_array_index (items, k), cn) != 0)
        break;
    if (k >= items->len)
      g_ptr_array_add (items, g_strdup (cn));
  }

  for (guint i = 0; i < items->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (items, i));
  return g_strv_builder_end (builder);
}

#define SERIAL_PREFIX KC_PKI_URI_PREFIX "serial:"

gboolean
kc_pki_identity_from_subjects (const char *const *subjects,
                               KcRole             *role,
                               char              **identity,
                               GError            **error)
{
  const char *found = NULL;
  KcRole found_role = KC_ROLE_INVALID;
  gsize prefix_len = strlen (KC_PKI_URI_PREFIX);

  g_return_val_if_fail (role != NULL && identity != NULL, FALSE);

  if (subjects == NULL || subjects[0] == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The peer presented no certificate subjects; Keycall needs a "
                 "certificate issued by the network CA");
    return FALSE;
  }

  for (gsize i = 0; subjects[i] != NULL; i++) {
    const char *s = subjects[i], *colon;
    g_autofree char *role_text = NULL;
    g_autoptr(GError) local = NULL;
    KcRole r;

    if (g_ascii_strncasecmp (s, KC_PKI_URI_PREFIX, prefix_len) != 0
        || g_ascii_strncasecmp (s, SERIAL_PREFIX, strlen (SERIAL_PREFIX)) == 0)
      continue;
    colon = strchr (s + prefix_len, ':');
    if (colon == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Certificate subject “%s” is not of the form keycall:ROLE:IDENTITY", s);
      return FALSE;
    }
    role_text = g_strndup (s + prefix_len, (gsize) (colon - s) - prefix_len);
    r = kc_role_from_string (role_text);
    if (r == KC_ROLE_INVALID) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Certificate subject “%s” names an unknown role “%s”", s, role_text);
      return FALSE;
    }
    if (!kc_pki_check_identity (r, colon + 1, &local)) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Certificate subject “%s”: %s", s, local->message);
      return FALSE;
    }
    if (found != NULL && (found_role != r || strcmp (found, colon + 1) != 0)) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "The certificate names two Keycall identities (%s:%s and %s)",
                   kc_role_to_string (found_role), found, s + prefix_len);
      return FALSE;
    }
    found = colon + 1;
    found_role = r;
  }

  if (found == NULL) {
    g_autofree char *list = g_strjoinv (", ", (char **) subjects);

    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The certificate carries no Keycall identity (no keycall:ROLE:IDENTITY "
                 "among its subjects: %.200s)", list);
    return FALSE;
  }
  *role = found_role;
  *identity = g_strdup (found);
  return TRUE;
}

gboolean
kc_pki_identity_from_cert (X509 *cert, KcRole *role, char **identity, GError **error)
{
  g_auto(GStrv) subjects = kc_pki_cert_subjects (cert);

  return kc_pki_identity_from_subjects ((const char *const *) subjects, role, identity, error);
}

char *
kc_pki_serial_from_subjects (const char *const *subjects)
{
  for (gsize i = 0; subjects != NULL && subjects[i] != NULL; i++)
    if (g_ascii_strncasecmp (subjects[i], SERIAL_PREFIX, strlen (SERIAL_PREFIX)) == 0)
      return kc_pki_serial_normalize (subjects[i] + strlen (SERIAL_PREFIX), NULL);
  return NULL;
}

/* The CA */

static gboolean
add_ext (X509 *cert, X509 *issuer, int nid, const char *value, GError **error)
{
  g_autoptr(X509_EXTENSION) ext = NULL;
  X509V3_CTX ctx;

  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, issuer, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  if (ext == NULL || X509_add_ext (cert, ext, -1) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot add the %s extension “%s”: %s",
                 OBJ_nid2sn (nid), value, ssl_reason ());
    return FALSE;
  }
  return TRUE;
}

static gboolean
set_name (X509_NAME *name, const char *network, const char *unit, const char *common,
          GError **error)
{
  const char *const fields[] = { "O", network, "OU", unit, "CN", common };

  for (gsize i = 0; i < G_N_ELEMENTS (fields); i += 2)
    if (X509_NAME_add_entry_by_txt (name, fields[i], MBSTRING_UTF8,
                                    (const guchar *) fields[i + 1], -1, -1, 0) != 1)
      {
        g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                     "Cannot build the certificate name O=%s, OU=%s, CN=%s (at most 64 "
                     "characters each): %s", network, unit, common, ssl_reason ());
        return FALSE;
      }
  return TRUE;
}

/* A fresh certificate with a random positive 128-bit serial. */
static X509 *
cert_new (EVP_PKEY *key, guint days, GError **error)
{
  g_autoptr(X509) cert = X509_new ();
  g_autoptr(BIGNUM) bn = BN_new ();

  do {
    if (BN_rand (bn, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "The random generator failed");
      return NULL;
    }
  } while (BN_is_zero (bn));

  if (X509_set_version (cert, X509_VERSION_3) != 1
      || BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (cert)) == NULL
      /* Five minutes back, for peers whose clocks run a little behind. */
      || X509_gmtime_adj (X509_getm_notBefore (cert), -300) == NULL
      || X509_time_adj_ex (X509_getm_notAfter (cert), (int) days, 0, NULL) == NULL
      || X509_set_pubkey (cert, key) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot build a certificate: %s", ssl_reason ());
    return NULL;
  }
  return g_steal_pointer (&cert);
}

static gboolean
sign (X509 *cert, EVP_PKEY *ca_key, GError **error)
{
  if (X509_sign (cert, ca_key, EVP_sha256 ()) <= 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot sign the certificate: %s",
                 ssl_reason ());
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_network_name (const char *network, GError **error)
{
  gsize len = strlen (network);

  if (len == 0 || len > 64 || !g_utf8_validate (network, -1, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The network name must be 1 to 64 bytes of UTF-8");
    return FALSE;
  }
  for (const char *p = network; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "The network name must not contain control characters");
      return FALSE;
    }
  return TRUE;
}

KcCa *
kc_ca_new (const char *network, guint days, GError **error)
{
  g_autoptr(KcCa) ca = g_new0 (KcCa, 1);
  X509_NAME *name;

  g_return_val_if_fail (network != NULL, NULL);

  if (!check_network_name (network, error))
    return NULL;
  ca->network = g_strdup (network);
  if ((ca->key = kc_pki_key_generate (error)) == NULL
      || (ca->cert = cert_new (ca->key, days ? days : KC_PKI_CA_DAYS, error)) == NULL)
    return NULL;

  name = X509_get_subject_name (ca->cert);
  if (!set_name (name, network, "ca", "Keycall CA", error)
      || X509_set_issuer_name (ca->cert, name) != 1
      || !add_ext (ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", error)
      || !add_ext (ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign", error)
      || !add_ext (ca->cert, ca->cert, NID_subject_key_identifier, "hash", error)
      || !add_ext (ca->cert, ca->cert, NID_authority_key_identifier, "keyid:always", error)
      || !sign (ca->cert, ca->key, error))
    return NULL;
  return g_steal_pointer (&ca);
}

KcCa *
kc_ca_load (const char *cert_path, const char *key_path, GError **error)
{
  g_autoptr(KcCa) ca = g_new0 (KcCa, 1);
  char org[256];

  if ((ca->cert = kc_pki_cert_load (cert_path, error)) == NULL
      || (ca->key = kc_pki_key_load (key_path, error)) == NULL)
    return NULL;
  if (X509_check_ca (ca->cert) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "%s is not a CA certificate", cert_path);
    return NULL;
  }
  if (X509_check_private_key (ca->cert, ca->key) != 1) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "%s is not the private key of %s",
                 key_path, cert_path);
    return NULL;
  }
  if (X509_NAME_get_text_by_NID (X509_get_subject_name (ca->cert), NID_organizationName,
                                 org, sizeof org) <= 0)
    g_strlcpy (org, "", sizeof org);
  ca->network = g_strdup (org);
  return g_steal_pointer (&ca);
}

gboolean
kc_ca_save (KcCa *ca, const char *cert_path, const char *key_path, gboolean replace,
            GError **error)
{
  g_return_val_if_fail (ca != NULL, FALSE);

  /* The key first: a certificate without its key is useless. */
  return kc_pki_key_save (ca->key, key_path, replace, error)
         && kc_pki_cert_save (ca->cert, cert_path, replace, error);
}

X509 *
kc_ca_get_cert (KcCa *ca)
{
  g_return_val_if_fail (ca != NULL, NULL);
  return ca->cert;
}

const char *
kc_ca_get_network (KcCa *ca)
{
  g_return_val_if_fail (ca != NULL, NULL);
  return ca->network;
}

gboolean
kc_pki_check_host (const char *host, GError **error)
{
  gsize len = strlen (host);

  if (g_hostname_is_ip_address (host))
    return TRUE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (host[i]) || host[i] == '-' || host[i] == '.'))
      goto bad;
  if (len >= 1 && len <= 253 && host[0] != '.' && host[0] != '-' && strstr (host, "..") == NULL)
    return TRUE;
bad:
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "“%s” is neither an IP address nor a host name", host);
  return FALSE;
}

X509 *
kc_ca_issue (KcCa *ca, const KcCertRequest *request, EVP_PKEY *key, GError **error)
{
  g_autoptr(X509) cert = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *san = NULL;
  const char *role;

  g_return_val_if_fail (ca != NULL && request != NULL && key != NULL, NULL);
  g_return_val_if_fail (request->identity != NULL, NULL);

  role = kc_role_to_string (request->role);
  g_return_val_if_fail (role != NULL, NULL);

  if (!kc_pki_check_identity (request->role, request->identity, error)
      || (request->host != NULL && !kc_pki_check_host (request->host, error)))
    return NULL;
  if ((cert = cert_new (key, request->days ? request->days : KC_PKI_LEAF_DAYS, error)) == NULL)
    return NULL;

  /* Identity and role go into a URI SAN because sofia-sip hands the
   * controller DNS and URI SANs only, and drops the CN when a SAN exists. */
  serial = kc_pki_cert_serial (cert);
  san = g_strdup_printf ("URI:" KC_PKI_URI_PREFIX "%s:%s,URI:" SERIAL_PREFIX "%s%s%s",
                         role, request->identity, serial,
                         request->host == NULL ? ""
                         : g_hostname_is_ip_address (request->host) ? ",IP:" : ",DNS:",
                         request->host == NULL ? "" : request->host);

  if (!set_name (X509_get_subject_name (cert), ca->network, role, request->identity, error)
      || X509_set_issuer_name (cert, X509_get_subject_name (ca->cert)) != 1
      || !add_ext (cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE", error)
      || !add_ext (cert, ca->cert, NID_key_usage, "critical,digitalSignature", error)
      || !add_ext (cert, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth", error)
      || !add_ext (cert, ca->cert, NID_subject_key_identifier, "hash", error)
      || !add_ext (cert, ca->cert, NID_authority_key_identifier, "keyid:always", error)
      || !add_ext (cert, ca->cert, NID_subject_alt_name, san, error)
      || !sign (cert, ca->key, error))
    return NULL;
  return g_steal_pointer (&cert);
}

X509_CRL *
kc_ca_make_crl (KcCa               *ca,
                const KcRevokedCert *revoked,
                gsize               n_revoked,
                guint64             crl_number,
                guint               days,
                GError            **error)
{
  g_autoptr(X509_CRL) crl = X509_CRL_new ();
  g_autoptr(ASN1_TIME) now = ASN1_TIME_set (NULL, time (NULL));
  g_autoptr(ASN1_TIME) next = X509_time_adj_ex (NULL, (int) (days ? days : KC_PKI_CRL_DAYS), 0,
                                                NULL);
  g_autoptr(ASN1_INTEGER) number = ASN1_INTEGER_new ();
  g_autoptr(X509_EXTENSION) aki = NULL;
  X509V3_CTX ctx;

  g_return_val_if_fail (ca != NULL && (revoked != NULL || n_revoked == 0), NULL);

  if (X509_CRL_set_version (crl, X509_CRL_VERSION_2) != 1
      || X509_CRL_set_issuer_name (crl, X509_get_subject_name (ca->cert)) != 1
      || X509_CRL_set1_lastUpdate (crl, now) != 1
      || X509_CRL_set1_nextUpdate (crl, next) != 1)
    goto fail;

  for (gsize i = 0; i < n_revoked; i++) {
    g_autofree char *hex = kc_pki_serial_normalize (revoked[i].serial, error);
    g_autoptr(BIGNUM) bn = NULL;
    g_autoptr(ASN1_INTEGER) serial = NULL;
    g_autoptr(ASN1_TIME) when = NULL;
    X509_REVOKED *entry;

    if (hex == NULL)
      return NULL;
    if (BN_hex2bn (&bn, hex) == 0 || (serial = BN_to_ASN1_INTEGER (bn, NULL)) == NULL
        || (when = ASN1_TIME_set (NULL, (time_t) revoked[i].revoked_at)) == NULL)
      goto fail;
    entry = X509_REVOKED_new ();
    if (X509_REVOKED_set_serialNumber (entry, serial) != 1
        || X509_REVOKED_set_revocationDate (entry, when) != 1
        || X509_CRL_add0_revoked (crl, entry) != 1) {
      X509_REVOKED_free (entry);
      goto fail;
    }
  }
  X509_CRL_sort (crl);

  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, ca->cert, NULL, NULL, crl, 0);
  aki = X509V3_EXT_conf_nid (NULL, &ctx, NID_authority_key_identifier, "keyid:always");
  if (aki == NULL || X509_CRL_add_ext (crl, aki, -1) != 1
      || ASN1_INTEGER_set_uint64 (number, crl_number) != 1
      || X509_CRL_add1_ext_i2d (crl, NID_crl_number, number, 0, 0) != 1
      || X509_CRL_sign (crl, ca->key, EVP_sha256 ()) <= 0)
    goto fail;
  return g_steal_pointer (&crl);

fail:
  g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot build the CRL: %s", ssl_reason ());
  return NULL;
}

void
kc_ca_free (KcCa *ca)
{
  if (ca == NULL)
    return;
  X509_free (ca->cert);
  EVP_PKEY_free (ca->key);
  g_free (ca->network);
  g_free (ca);
}

/* CRLs */

gboolean
kc_pki_crl_save (X509_CRL *crl, const char *path, GError **error)
{
  g_autoptr(BIO) bio = BIO_new (BIO_s_mem ());
  char *data = NULL;
  long len;

  g_return_val_if_fail (crl != NULL && path != NULL, FALSE);

  if (PEM_write_bio_X509_CRL (bio, crl) != 1)
    g_error ("cannot encode a CRL: %s", ssl_reason ());
  len = BIO_get_mem_data (bio, &data);
  /* The CRL is re-signed in place: replacing it is its purpose. */
  return kc_file_write (path, data, (gsize) len, 0644, TRUE, error);
}

X509_CRL *
kc_pki_crl_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr(BIO) bio = NULL;
  gsize len;
  X509_CRL *crl;

  if ((data = read_public_file (path, &len, error)) == NULL)
    return NULL;
  bio = BIO_new_mem_buf (data, (int) MIN (len, (gsize) G_MAXINT));
  crl = PEM_read_bio_X509_CRL (bio, NULL, NULL, NULL);
  if (crl == NULL) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "%s is not a readable PEM CRL", path);
  }
  return crl;
}

guint64
kc_pki_crl_number (X509_CRL *crl)
{
  g_autoptr(ASN1_INTEGER) number = NULL;
  uint64_t value = 0;

  g_return_val_if_fail (crl != NULL, 0);

  number = X509_CRL_get_ext_d2i (crl, NID_crl_number, NULL, NULL);
  if (number == NULL || ASN1_INTEGER_get_uint64 (&value, number) != 1)
    return 0;
  return value;
}

gboolean
kc_pki_crl_contains (X509_CRL *crl, const char *serial)
{
  g_autofree char *want = NULL;
  STACK_OF(X509_REVOKED) *entries;

  g_return_val_if_fail (crl != NULL && serial != NULL, FALSE);

  if ((want = kc_pki_serial_normalize (serial, NULL)) == NULL)
    return FALSE;
  entries = X509_CRL_get_REVOKED (crl);
  for (int i = 0; i < sk_X509_REVOKED_num (entries); i++) {
    g_autofree char *hex = integer_to_hex (
      X509_REVOKED_get0_serialNumber (sk_X509_REVOKED_value (entries, i)));

    if (g_ascii_strcasecmp (hex, want) == 0)
      return TRUE;
  }
  return FALSE;
}

gboolean
kc_pki_verify (X509 *ca, X509_CRL *crl, X509 *cert, GError **error)
{
  g_autoptr(X509_STORE) store = X509_STORE_new ();
  g_autoptr(X509_STORE_CTX) ctx = X509_STORE_CTX_new ();
  int err;

  g_return_val_if_fail (ca != NULL && cert != NULL, FALSE);

  if (X509_STORE_add_cert (store, ca) != 1
      || (crl != NULL && X509_STORE_add_crl (store, crl) != 1)
      || X509_STORE_CTX_init (ctx, store, cert, NULL) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot set up verification: %s",
                 ssl_reason ());
    return FALSE;
  }
  if (crl != NULL)
    X509_STORE_CTX_set_flags (ctx, X509_V_FLAG_CRL_CHECK);
  if (X509_verify_cert (ctx) == 1)
    return TRUE;

  err = X509_STORE_CTX_get_error (ctx);
  ERR_clear_error ();
  {
    g_autofree char *serial = kc_pki_cert_serial (cert);

    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "Certificate %s does not verify against the network CA: %s",
                 serial, X509_verify_cert_error_string (err));
  }
  return FALSE;
}
