/* kc-srtp-private.h: what kc-srtp.c takes from kc-srtp-ossl.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Puts Keycall's OpenSSL AES-CM (128, 256) and HMAC-SHA1 in place of
 * libsrtp's; a refusal (a failed self-test) leaves libsrtp's own, which
 * work, only slower. Once, after srtp_init(). */
void kc_srtp_use_openssl (void);

G_END_DECLS
