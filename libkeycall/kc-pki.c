/* kc-pki.c: certificates, keys, CRLs and peer identities (the network CA
 * that issues them: kc-pki-ca.c). */
#define G_LOG_DOMAIN "kc-pki"

#include "kc-pki-private.h"
#include "kc-error.h"
#include "kc-vault.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

static const char *const role_names[] = {
  [KC_ROLE_CONTROLLER] = "controller",
  [KC_ROLE_CTA]        = "cta",
  [KC_ROLE_LEA]        = "lea",
  [KC_ROLE_GATEWAY]    = "gateway",
};

/* OpenSSL's reason for the last failure, for messages; clears its queue. */
const char *
kc_pki_ssl_reason (void)
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
                 "Cannot generate a P-256 key: %s", kc_pki_ssl_reason ());
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
    g_error ("cannot encode a private key: %s", kc_pki_ssl_reason ());
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
    g_error ("cannot encode a certificate: %s", kc_pki_ssl_reason ());
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
        || g_ascii_strncasecmp (s, KC_PKI_SERIAL_PREFIX, strlen (KC_PKI_SERIAL_PREFIX)) == 0)
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
    if (g_ascii_strncasecmp (subjects[i], KC_PKI_SERIAL_PREFIX, strlen (KC_PKI_SERIAL_PREFIX)) == 0)
      return kc_pki_serial_normalize (subjects[i] + strlen (KC_PKI_SERIAL_PREFIX), NULL);
  return NULL;
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
    g_error ("cannot encode a CRL: %s", kc_pki_ssl_reason ());
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
                 kc_pki_ssl_reason ());
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
