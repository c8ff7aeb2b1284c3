/* kc-pki-ca.c: the network CA: making and loading it, issuing the
 * certificates of controllers, softphones, gateways and agencies, and
 * signing CRLs. Reading and checking certificates is in kc-pki.c.
 */
#define G_LOG_DOMAIN "kc-pki"

#include "kc-pki-private.h"
#include "kc-error.h"

#include <openssl/err.h>
#include <string.h>

struct _KcCa {
  X509     *cert;
  EVP_PKEY *key;
  char     *network;
};

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
                 OBJ_nid2sn (nid), value, kc_pki_ssl_reason ());
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
                     "characters each): %s", network, unit, common, kc_pki_ssl_reason ());
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
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot build a certificate: %s",
                 kc_pki_ssl_reason ());
    return NULL;
  }
  return g_steal_pointer (&cert);
}

static gboolean
sign (X509 *cert, EVP_PKEY *ca_key, GError **error)
{
  if (X509_sign (cert, ca_key, EVP_sha256 ()) <= 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot sign the certificate: %s",
                 kc_pki_ssl_reason ());
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
  san = g_strdup_printf ("URI:" KC_PKI_URI_PREFIX "%s:%s,URI:" KC_PKI_SERIAL_PREFIX "%s%s%s",
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
  g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot build the CRL: %s", kc_pki_ssl_reason ());
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

