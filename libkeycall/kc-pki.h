/* kc-pki.h: the network certificate authority of the provisioning server
 * (FIG. 1, 122): ECDSA P-256 certificates for controllers, CTAs, LEAs and
 * gateways, the CRL, and how a controller reads a peer's role and identity
 * from the subject list sofia-sip collects (docs/provisioning.md).
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kc-secret.h"

G_BEGIN_DECLS

typedef enum {
  KC_ROLE_CONTROLLER,
  KC_ROLE_CTA,
  KC_ROLE_LEA,
  KC_ROLE_GATEWAY,
  KC_ROLE_INVALID = -1,
} KcRole;

#define KC_PKI_CA_DAYS      3650   /* the network CA: 10 years */
#define KC_PKI_LEAF_DAYS    730    /* default for every other certificate */
#define KC_PKI_CRL_DAYS     30     /* nextUpdate of a freshly signed CRL */
#define KC_PKI_MAX_FILE     (64 * 1024)

/* Subject URIs: "keycall:cta:1001" names the holder, "keycall:serial:HEX"
 * repeats the serial so a peer that only sees subjects can check the CRL. */
#define KC_PKI_URI_PREFIX   "keycall:"

const char *kc_role_to_string             (KcRole              role);
KcRole      kc_role_from_string           (const char         *text);

/* A subscriber number: an optional '+' then 1 to 15 digits (E.164 length). */
gboolean    kc_pki_check_number           (const char         *number,
                                           GError            **error);
/* A controller, LEA or gateway name: a lowercase DNS label. */
gboolean    kc_pki_check_name             (const char         *name,
                                           GError            **error);
/* An IP address or a host name, as a DNS or IP SAN. */
gboolean    kc_pki_check_host             (const char         *host,
                                           GError            **error);
gboolean    kc_pki_check_identity         (KcRole              role,
                                           const char         *identity,
                                           GError            **error);

/* Keys: ECDSA P-256, PKCS#8 PEM, files 0600 written with kc_file_write()
 * (never overwritten unless @replace) and read with kc_private_file_read(). */
EVP_PKEY   *kc_pki_key_generate           (GError            **error);
KcSecret   *kc_pki_key_to_pem             (EVP_PKEY           *key);
EVP_PKEY   *kc_pki_key_from_pem           (const guint8       *pem,
                                           gsize               len,
                                           GError            **error);
gboolean    kc_pki_key_save               (EVP_PKEY           *key,
                                           const char         *path,
                                           gboolean            replace,
                                           GError            **error);
EVP_PKEY   *kc_pki_key_load               (const char         *path,
                                           GError            **error);

/* Certificates. */
char       *kc_pki_cert_to_pem            (X509               *cert);
X509       *kc_pki_cert_from_pem          (const char         *pem,
                                           gsize               len,
                                           GError            **error);
gboolean    kc_pki_cert_save              (X509               *cert,
                                           const char         *path,
                                           gboolean            replace,
                                           GError            **error);
X509       *kc_pki_cert_load              (const char         *path,
                                           GError            **error);
/* Upper-case hex, as `openssl x509 -serial` prints it. */
char       *kc_pki_cert_serial            (X509               *cert);
/* Canonical form of a serial typed by a person ("0x", colons, case), or
 * NULL with KC_ERROR_INVALID. */
char       *kc_pki_serial_normalize       (const char         *text,
                                           GError            **error);
gboolean    kc_pki_cert_matches_key       (X509               *cert,
                                           EVP_PKEY           *key,
                                           GError            **error);

/* The subject list sofia-sip's tport_delivered_from_subjects() gives for
 * @cert: DNS and URI SANs in order, never IP SANs, and the CN only when
 * every collected SAN equals it (in practice: when there is no SAN). */
GStrv       kc_pki_cert_subjects          (X509               *cert);
/* Role and identity of a verified peer, from its subject list. No subject
 * at all, or no keycall: subject: KC_ERROR_PERMISSION; a malformed or
 * ambiguous one: KC_ERROR_INVALID. */
gboolean    kc_pki_identity_from_subjects (const char *const  *subjects,
                                           KcRole             *role,
                                           char              **identity,
                                           GError            **error);
gboolean    kc_pki_identity_from_cert     (X509               *cert,
                                           KcRole             *role,
                                           char              **identity,
                                           GError            **error);
/* The serial named by a "keycall:serial:" subject, or NULL. */
char       *kc_pki_serial_from_subjects   (const char *const  *subjects);

/* The network CA. */
typedef struct _KcCa KcCa;

typedef struct {
  KcRole      role;
  const char *identity;   /* a number for a CTA, a name otherwise */
  const char *host;       /* optional: a DNS SAN, or an IP SAN for addresses */
  guint       days;       /* 0 means KC_PKI_LEAF_DAYS */
} KcCertRequest;

typedef struct {
  const char *serial;     /* hex */
  gint64      revoked_at; /* UNIX seconds */
} KcRevokedCert;

KcCa       *kc_ca_new                     (const char         *network,
                                           guint               days,
                                           GError            **error);
KcCa       *kc_ca_load                    (const char         *cert_path,
                                           const char         *key_path,
                                           GError            **error);
gboolean    kc_ca_save                    (KcCa               *ca,
                                           const char         *cert_path,
                                           const char         *key_path,
                                           gboolean            replace,
                                           GError            **error);
X509       *kc_ca_get_cert                (KcCa               *ca);   /* borrowed */
const char *kc_ca_get_network             (KcCa               *ca);
/* Signs a certificate for @key (a public key is enough). */
X509       *kc_ca_issue                   (KcCa               *ca,
                                           const KcCertRequest *request,
                                           EVP_PKEY           *key,
                                           GError            **error);
X509_CRL   *kc_ca_make_crl                (KcCa               *ca,
                                           const KcRevokedCert *revoked,
                                           gsize               n_revoked,
                                           guint64             crl_number,
                                           guint               days,
                                           GError            **error);
void        kc_ca_free                    (KcCa               *ca);

/* CRLs. */
gboolean    kc_pki_crl_save               (X509_CRL           *crl,
                                           const char         *path,
                                           GError            **error);
X509_CRL   *kc_pki_crl_load               (const char         *path,
                                           GError            **error);
guint64     kc_pki_crl_number             (X509_CRL           *crl);
gboolean    kc_pki_crl_contains           (X509_CRL           *crl,
                                           const char         *serial);

/* Checks @cert against the network CA @ca, and against @crl when not NULL.
 * KC_ERROR_CRYPTO with OpenSSL's reason ("certificate revoked", ...). */
gboolean    kc_pki_verify                 (X509               *ca,
                                           X509_CRL           *crl,
                                           X509               *cert,
                                           GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcCa, kc_ca_free)

G_END_DECLS
