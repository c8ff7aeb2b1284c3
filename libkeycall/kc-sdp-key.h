/* kc-sdp-key.h: the key attributes of SDP, strictly parsed and redacted.
 *
 * Inside the Keycall domain the call key travels as `a=key-mgmt:keycall
 * <base64>` (RFC 4567 syntax, private protocol id); toward other endpoints
 * as RFC 4568 `a=crypto`. kc_sdp_redact() makes any SIP or SDP text safe
 * to log. The wire format is in docs/sdp-key-attributes.md.
 */
#pragma once

#include <glib.h>

#include "kc-keys.h"
#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_KEY_MGMT_PROTOCOL  "keycall" /* RFC 4567 prtcl-id */
#define KC_KEY_MGMT_VERSION   1
/* Longest attribute text (as passed to a parser) Keycall reads or writes. */
#define KC_SDP_KEY_MAX_LINE   1024
/* Longest SDP body kc_sdp_find_key_mgmt() scans. */
#define KC_SDP_BODY_MAX       (64 * 1024)
#define KC_CRYPTO_MKI_MAX_LEN 128

typedef enum {
  KC_KEY_MGMT_KEY    = 1,  /* the call key: FIG. 3 318, 320, 326 */
  KC_KEY_MGMT_ACK    = 2,  /* key acknowledgment: 322, 324, 328 */
  KC_KEY_MGMT_DERIVE = 3,  /* derived mode (claim 3): the nonce instead of 326's key */
} KcKeyMgmtType;

typedef struct {
  KcKeyMgmtType type;
  KcKeyId       key_id;
  KcSecret     *key;                          /* KEY: KC_CALL_KEY_LEN bytes; owned */
  KcAckRole     role;                         /* ACK */
  guint8        mac[KC_KEY_ACK_LEN];          /* ACK */
  guint8        nonce[KC_DERIVE_NONCE_LEN];   /* DERIVE */
} KcKeyMgmt;

typedef struct {
  guint     tag;             /* 0..999999999 */
  KcSuite   suite;
  KcSecret *key_salt;        /* master key || master salt; owned */
  guint64   lifetime;        /* packets; 0 = not given */
  guint32   mki_value;
  guint     mki_len;         /* bytes, 1..128; 0 = no MKI */
  char    **session_params;  /* raw text of the kept ones; NULL or NULL-terminated */
} KcCrypto;

const char *kc_key_mgmt_type_to_string (KcKeyMgmtType   type);

/* Constructors copy @call_key, @mac and @nonce. */
KcKeyMgmt  *kc_key_mgmt_new_key      (const KcKeyId   *key_id,
                                      const KcSecret  *call_key);
KcKeyMgmt  *kc_key_mgmt_new_ack      (const KcKeyId   *key_id,
                                      KcAckRole        role,
                                      const guint8     mac[KC_KEY_ACK_LEN]);
KcKeyMgmt  *kc_key_mgmt_new_derive   (const KcKeyId   *key_id,
                                      const guint8     nonce[KC_DERIVE_NONCE_LEN]);
void        kc_key_mgmt_free         (KcKeyMgmt       *mgmt);

/* The attribute value "keycall <base64>", in secure memory: free it with
 * kc_secret_text_free(). KC_ERROR_INVALID if @mgmt is inconsistent. */
char       *kc_key_mgmt_encode       (const KcKeyMgmt *mgmt,
                                      GError         **error);
/* @value with or without a leading "a=key-mgmt:" or "key-mgmt:". */
KcKeyMgmt  *kc_key_mgmt_parse        (const char      *value,
                                      GError         **error);

/* Finds the one a=key-mgmt:keycall line of an SDP body (any level; other
 * protocols' key-mgmt lines are skipped). TRUE with *out_mgmt NULL when
 * there is none; FALSE on a bad or repeated one. */
gboolean    kc_sdp_find_key_mgmt     (const char      *sdp,
                                      KcKeyMgmt      **out_mgmt,
                                      GError         **error);

/* @key_salt is copied; lifetime, MKI and session params start unset. */
KcCrypto   *kc_crypto_new            (guint            tag,
                                      KcSuite          suite,
                                      const KcSecret  *key_salt);
void        kc_crypto_free           (KcCrypto        *crypto);
/* The value "<tag> <suite> inline:<key>[|lifetime][|mki:len][ params]",
 * in secure memory: free it with kc_secret_text_free(). */
char       *kc_crypto_encode         (const KcCrypto  *crypto,
                                      GError         **error);
/* @value with or without a leading "a=crypto:" or "crypto:". */
KcCrypto   *kc_crypto_parse          (const char      *value,
                                      GError         **error);

/* A g_free() copy of @text (SIP message, SDP body, log line) with every key
 * in a=crypto and a=key-mgmt replaced by its fingerprint, and any key
 * attribute that does not parse replaced entirely. Other bytes unchanged. */
char       *kc_sdp_redact            (const char      *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcKeyMgmt, kc_key_mgmt_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcCrypto, kc_crypto_free)

G_END_DECLS
