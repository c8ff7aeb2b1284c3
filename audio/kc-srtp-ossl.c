/* kc-srtp-ossl.c: AES-CM and HMAC-SHA1 for libsrtp on OpenSSL, put in
 * place of libsrtp's own through its public transform API (kc-srtp.c calls
 * kc_srtp_use_openssl() once, after srtp_init()). */
#define G_LOG_DOMAIN "kc-srtp"

#include "config.h"

#include "kc-srtp-private.h"

#include <glib.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/crypto_types.h>
#include <srtp2/srtp.h>
#include <string.h>

/*
 * Debian builds libsrtp on NSS, whose AES-CM and HMAC make and destroy a
 * PK11 context for every packet: some 10% of a softphone's CPU in a call.
 * libsrtp lets a program put its own implementation of a transform in
 * place (srtp_replace_cipher_type(), srtp_replace_auth_type()); these run
 * on OpenSSL, the library Keycall already uses for its keys, with one
 * context per session that each packet only re-arms (a new IV; HMAC's
 * precomputed pads). libsrtp still does everything SRTP: key derivation,
 * packet layout, indexes and replay. It self-tests each replacement on its
 * known answers before taking it, and keeps its own when one fails. The
 * AEAD (GCM) suites keep libsrtp's. Same behaviour as libsrtp's own
 * OpenSSL backend (crypto/cipher/aes_icm_ossl.c, crypto/hash/hmac_ossl.c). */

typedef struct {
  guint8          counter[16];
  guint8          offset[16];    /* the salt, as libsrtp's AES-ICM keeps it */
  int             key_size;
  EVP_CIPHER_CTX *ctx;
} IcmState;

static const srtp_cipher_type_t icm_128;
static const srtp_cipher_type_t icm_256;

static srtp_err_status_t
icm_alloc (srtp_cipher_t **c,
           int             key_len,
           int             tag_len)
{
  IcmState *icm;

  (void) tag_len;
  if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT && key_len != SRTP_AES_ICM_256_KEY_LEN_WSALT)
    return srtp_err_status_bad_param;
  icm = g_new0 (IcmState, 1);
  icm->ctx = EVP_CIPHER_CTX_new ();
  if (icm->ctx == NULL)
    {
      g_free (icm);
      return srtp_err_status_alloc_fail;
    }
  icm->key_size = key_len - SRTP_SALT_LEN;
  *c = g_new0 (srtp_cipher_t, 1);
  (*c)->state = icm;
  (*c)->key_len = key_len;
  (*c)->type = key_len == SRTP_AES_ICM_128_KEY_LEN_WSALT ? &icm_128 : &icm_256;
  (*c)->algorithm = key_len == SRTP_AES_ICM_128_KEY_LEN_WSALT ? SRTP_AES_ICM_128
                                                               : SRTP_AES_ICM_256;
  return srtp_err_status_ok;
}

static srtp_err_status_t
icm_dealloc (srtp_cipher_t *c)
{
  IcmState *icm = c->state;

  EVP_CIPHER_CTX_free (icm->ctx);
  OPENSSL_cleanse (icm, sizeof *icm);
  g_free (icm);
  g_free (c);
  return srtp_err_status_ok;
}

/* @key: the key followed by the 14-byte salt. */
static srtp_err_status_t
icm_init (void          *state,
          const uint8_t *key)
{
  IcmState *icm = state;

  memset (icm->counter, 0, sizeof icm->counter);
  memset (icm->offset, 0, sizeof icm->offset);
  memcpy (icm->counter, key + icm->key_size, SRTP_SALT_LEN);
  memcpy (icm->offset, key + icm->key_size, SRTP_SALT_LEN);
  if (!EVP_EncryptInit_ex (icm->ctx, icm->key_size == 16 ? EVP_aes_128_ctr ()
                                                          : EVP_aes_256_ctr (),
                           NULL, key, NULL))
    return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

/* The counter block is the salt XOR @iv; the key stays. */
static srtp_err_status_t
icm_set_iv (void                    *state,
            uint8_t                 *iv,
            srtp_cipher_direction_t  direction)
{
  IcmState *icm = state;

  (void) direction;
  for (int i = 0; i < 16; i++)
    icm->counter[i] = icm->offset[i] ^ iv[i];
  if (!EVP_EncryptInit_ex (icm->ctx, NULL, NULL, NULL, icm->counter))
    return srtp_err_status_fail;
  return srtp_err_status_ok;
}

/* In place; encrypting and decrypting are the same XOR with the stream. */
static srtp_err_status_t
icm_crypt (void         *state,
           uint8_t      *buf,
           unsigned int *len)
{
  IcmState *icm = state;
  int out = 0, tail = 0;

  if (*len > G_MAXINT || !EVP_EncryptUpdate (icm->ctx, buf, &out, buf, (int) *len)
      || !EVP_EncryptFinal_ex (icm->ctx, buf + out, &tail))
    return srtp_err_status_cipher_fail;
  *len = (unsigned int) (out + tail);
  return srtp_err_status_ok;
}

/* Known answers for libsrtp's self-test: RFC 3711 B.2 (AES-128) and
 * RFC 6188 7.1 (AES-256), the first two blocks of key stream. */
static const uint8_t icm_128_key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {
  0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t icm_128_stream[32] = {
  0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
  0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
};
static const uint8_t icm_256_key[SRTP_AES_ICM_256_KEY_LEN_WSALT] = {
  0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92,
  0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82, 0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98,
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static const uint8_t icm_256_stream[32] = {
  0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4,
  0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6, 0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac,
};
static uint8_t icm_index[16];
static const uint8_t icm_zeros[32];

static const srtp_cipher_test_case_t icm_128_test = {
  SRTP_AES_ICM_128_KEY_LEN_WSALT, icm_128_key, icm_index, sizeof icm_zeros, icm_zeros,
  sizeof icm_128_stream, icm_128_stream, 0, NULL, 0, NULL,
};
static const srtp_cipher_test_case_t icm_256_test = {
  SRTP_AES_ICM_256_KEY_LEN_WSALT, icm_256_key, icm_index, sizeof icm_zeros, icm_zeros,
  sizeof icm_256_stream, icm_256_stream, 0, NULL, 0, NULL,
};

static const srtp_cipher_type_t icm_128 = {
  icm_alloc, icm_dealloc, icm_init, NULL, icm_crypt, icm_crypt, icm_set_iv, NULL,
  "AES-128 integer counter mode (Keycall, OpenSSL)", &icm_128_test, SRTP_AES_ICM_128,
};
static const srtp_cipher_type_t icm_256 = {
  icm_alloc, icm_dealloc, icm_init, NULL, icm_crypt, icm_crypt, icm_set_iv, NULL,
  "AES-256 integer counter mode (Keycall, OpenSSL)", &icm_256_test, SRTP_AES_ICM_256,
};

#define SHA1_LEN 20

static const srtp_auth_type_t hmac_sha1;

static srtp_err_status_t
hmac_alloc (srtp_auth_t **a,
            int           key_len,
            int           out_len)
{
  EVP_MAC *mac;
  EVP_MAC_CTX *ctx;

  if (out_len > SHA1_LEN || key_len < 0)
    return srtp_err_status_bad_param;
  mac = EVP_MAC_fetch (NULL, OSSL_MAC_NAME_HMAC, NULL);
  ctx = mac != NULL ? EVP_MAC_CTX_new (mac) : NULL;
  EVP_MAC_free (mac);    /* the context holds its own reference */
  if (ctx == NULL)
    return srtp_err_status_alloc_fail;
  *a = g_new0 (srtp_auth_t, 1);
  (*a)->state = ctx;
  (*a)->type = &hmac_sha1;
  (*a)->out_len = out_len;
  (*a)->key_len = key_len;
  (*a)->prefix_len = 0;
  return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_dealloc (srtp_auth_t *a)
{
  EVP_MAC_CTX_free (a->state);
  g_free (a);
  return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_init (void          *state,
           const uint8_t *key,
           int            key_len)
{
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, (char *) "SHA1", 0),
    OSSL_PARAM_construct_end (),
  };

  return EVP_MAC_init (state, key, (size_t) key_len, params) ? srtp_err_status_ok
                                                              : srtp_err_status_auth_fail;
}

/* Each packet: the same key again, which OpenSSL keeps hashed into its
 * inner and outer pads. */
static srtp_err_status_t
hmac_start (void *state)
{
  return EVP_MAC_init (state, NULL, 0, NULL) ? srtp_err_status_ok : srtp_err_status_auth_fail;
}

static srtp_err_status_t
hmac_update (void          *state,
             const uint8_t *data,
             int            len)
{
  return len >= 0 && EVP_MAC_update (state, data, (size_t) len) ? srtp_err_status_ok
                                                                 : srtp_err_status_auth_fail;
}

static srtp_err_status_t
hmac_compute (void          *state,
              const uint8_t *data,
              int            len,
              int            tag_len,
              uint8_t       *tag)
{
  uint8_t digest[EVP_MAX_MD_SIZE];
  size_t digest_len = 0;

  if (tag_len < 0 || tag_len > SHA1_LEN || len < 0)
    return srtp_err_status_bad_param;
  if (!EVP_MAC_update (state, data, (size_t) len)
      || !EVP_MAC_final (state, digest, &digest_len, sizeof digest)
      || digest_len < (size_t) tag_len)
    return srtp_err_status_auth_fail;
  memcpy (tag, digest, (size_t) tag_len);
  OPENSSL_cleanse (digest, sizeof digest);
  return srtp_err_status_ok;
}

/* RFC 2202 test case 1. */
static const uint8_t hmac_key[20] = {
  0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
  0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t hmac_data[8] = { 'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e' };
static const uint8_t hmac_tag[20] = {
  0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
  0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const srtp_auth_test_case_t hmac_test = {
  sizeof hmac_key, hmac_key, sizeof hmac_data, hmac_data, sizeof hmac_tag, hmac_tag, NULL,
};

static const srtp_auth_type_t hmac_sha1 = {
  hmac_alloc, hmac_dealloc, hmac_init, hmac_compute, hmac_update, hmac_start,
  "HMAC-SHA1 (Keycall, OpenSSL)", &hmac_test, SRTP_HMAC_SHA1,
};

void
kc_srtp_use_openssl (void)
{
  srtp_err_status_t st;

  if ((st = srtp_replace_cipher_type (&icm_128, SRTP_AES_ICM_128)) != srtp_err_status_ok
      || (st = srtp_replace_cipher_type (&icm_256, SRTP_AES_ICM_256)) != srtp_err_status_ok
      || (st = srtp_replace_auth_type (&hmac_sha1, SRTP_HMAC_SHA1)) != srtp_err_status_ok)
    g_warning ("SRTP: libsrtp refused Keycall's AES-CM or HMAC-SHA1 (error %d); using its "
               "own, which are slower", (int) st);
}
