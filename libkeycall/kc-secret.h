/* kc-secret.h: bytes that must never leak.
 *
 * A KcSecret holds key material in OpenSSL's secure heap when one is set up
 * (locked, guarded pages) and wipes it with OPENSSL_cleanse when freed. The
 * type is opaque and has no to-string: code that wants to show a key shows
 * its fingerprint.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KcSecret KcSecret;

/* Largest secret Keycall handles; anything bigger is a programming error. */
#define KC_SECRET_MAX_LEN 4096

/* Text form of a fingerprint: "3f2a 91c0 7d4e 0b18" plus NUL. */
#define KC_FINGERPRINT_LEN 20

void           kc_secure_heap_init      (void);
/* Every process that holds keys calls this first: no core file, and no
 * ptrace or /proc/PID/mem from other processes of the same user. Fails
 * (KC_ERROR_FAILED, with errno's words) only if the kernel refuses. */
gboolean       kc_process_refuse_core_dumps (GError **error);

KcSecret      *kc_secret_new            (gsize           len);
KcSecret      *kc_secret_new_random     (gsize           len,
                                         GError        **error);
KcSecret      *kc_secret_new_from_data  (const guint8   *data,
                                         gsize           len);
KcSecret      *kc_secret_new_from_base64 (const char    *text,
                                         gsize           expected_len,
                                         GError        **error);
KcSecret      *kc_secret_copy           (const KcSecret *secret);
void           kc_secret_free           (KcSecret       *secret);

const guint8  *kc_secret_get_data       (const KcSecret *secret);
guint8        *kc_secret_get_mutable    (KcSecret       *secret);
gsize          kc_secret_get_len        (const KcSecret *secret);
gboolean       kc_secret_equal          (const KcSecret *a,
                                         const KcSecret *b);

/* Base64 in secure memory; free with kc_secret_text_free().  Only for
 * writing a secret where the protocol or file format requires it. */
char          *kc_secret_to_base64      (const KcSecret *secret);
void           kc_secret_text_free      (char           *text);

void           kc_fingerprint_bytes     (const guint8   *data,
                                         gsize           len,
                                         char            out[KC_FINGERPRINT_LEN]);
void           kc_secret_fingerprint    (const KcSecret *secret,
                                         char            out[KC_FINGERPRINT_LEN]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcSecret, kc_secret_free)

G_END_DECLS
