/* kc-sdp-key-private.h: what the SDP key parsers (kc-sdp-key.c) share with
 * the redactor (kc-sdp-redact.c). Internal to libkeycall, not installed.
 *
 * Everything works on (pointer, length) spans of the caller's text; base64
 * that may be a key is only ever copied into a KcSecret.
 */
#pragma once

#include "kc-sdp-key.h"

G_BEGIN_DECLS

/* Inline keys on one a=crypto line, FEC_KEY's included. */
#define KC_SDP_MAX_KEYS 16

typedef struct {
  gsize start;
  gsize len;
} KcSdpSpan;

/* The syntax of one a=crypto value, as offsets into it. */
typedef struct {
  guint      tag;
  KcSdpSpan  suite;
  guint      n_key_params;             /* in the key-params field */
  KcSdpSpan  keys[KC_SDP_MAX_KEYS];    /* base64 of every inline key, in text order */
  guint      n_keys;
  guint64    lifetime;
  guint32    mki_value;
  guint      mki_len;
  gsize      params_start;             /* where the session params begin */
} KcSdpCryptoScan;

gboolean     kc_sdp_is_base64_char      (char              c);
/* Case-insensitive search for @needle in @s[0..@len). */
const char  *kc_sdp_find_ci             (const char       *s,
                                         gsize             len,
                                         const char       *needle);
/* Printable ASCII (and tab), at most KC_SDP_KEY_MAX_LINE; @what names the
 * attribute in the error. */
gboolean     kc_sdp_check_text          (const char       *s,
                                         gsize             len,
                                         const char       *what,
                                         GError          **error);
KcSecret    *kc_sdp_decode_base64       (const char       *s,
                                         gsize             len,
                                         GError          **error);
/* "caller", "callee", "gateway", or NULL for anything else. */
const char  *kc_sdp_role_name           (int               role);

/* @data is the base64 keymgmt-data alone. */
KcKeyMgmt   *kc_sdp_key_mgmt_parse_data (const char       *data,
                                         gsize             len,
                                         GError          **error);
/* @s is "<prtcl-id> <keymgmt-data>", the text after "key-mgmt:". */
KcKeyMgmt   *kc_sdp_key_mgmt_parse_span (const char       *s,
                                         gsize             len,
                                         GError          **error);
/* @v is the text after "crypto:". Syntax only (RFC 4568 section 9); the
 * policy (suite, key length, session params) is kc_crypto_parse()'s. */
gboolean     kc_sdp_crypto_scan         (const char       *v,
                                         gsize             len,
                                         KcSdpCryptoScan  *scan,
                                         GError          **error);

G_END_DECLS
