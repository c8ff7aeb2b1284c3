/* kc-pki-private.h: what the certificate code (kc-pki.c) shares with the
 * network CA (kc-pki-ca.c). Internal to libkeycall, not installed.
 */
#pragma once

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "kc-pki.h"

G_BEGIN_DECLS

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

/* The URI SAN that carries a certificate's serial. */
#define KC_PKI_SERIAL_PREFIX KC_PKI_URI_PREFIX "serial:"

/* OpenSSL's reason for the last failure, for messages; clears its queue. */
const char *kc_pki_ssl_reason (void);

G_END_DECLS
