/* kc-sdp-key.c: a=key-mgmt:keycall, strictly; a=crypto is in
 * kc-sdp-key-crypto.c. Redaction for logs is in kc-sdp-redact.c and shares
 * the scanners (kc-sdp-key-private.h).
 *
 * Parsers work on (pointer, length) spans of the caller's text, so a line
 * inside an SDP body is never copied to the ordinary heap: base64 that may
 * be a key is only ever copied into a KcSecret. Error messages never quote
 * a field that could be a key.
 */
#define G_LOG_DOMAIN "kc-sdp-key"

#include "kc-sdp-key.h"
#include "kc-sdp-key-private.h"
#include "kc-sdp-key-util-private.h"
#include "kc-error.h"

#include <openssl/crypto.h>
#include <string.h>

#define PAYLOAD_HEADER_LEN  (2 + KC_KEY_ID_LEN)
#define PAYLOAD_KEY_LEN     (PAYLOAD_HEADER_LEN + 1 + KC_CALL_KEY_LEN)
#define PAYLOAD_ACK_LEN     (PAYLOAD_HEADER_LEN + 1 + KC_KEY_ACK_LEN)
#define PAYLOAD_DERIVE_LEN  (PAYLOAD_HEADER_LEN + KC_DERIVE_NONCE_LEN)

/* Indexed by KcKeyMgmtType. */
static const struct {
  const char *name;
  const char *article;
  gsize       len;
} payload_types[] = {
  [KC_KEY_MGMT_KEY]    = { "KEY", "a", PAYLOAD_KEY_LEN },
  [KC_KEY_MGMT_ACK]    = { "ACK", "an", PAYLOAD_ACK_LEN },
  [KC_KEY_MGMT_DERIVE] = { "DERIVE", "a", PAYLOAD_DERIVE_LEN },
};

gboolean
kc_sdp_is_base64_char (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/' || c == '=';
}

/* Case-insensitive; needles are short, so a naive scan is linear enough. */
const char *
kc_sdp_find_ci (const char *s, gsize len, const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= len; i++)
    if (g_ascii_strncasecmp (s + i, needle, n) == 0)
      return s + i;
  return NULL;
}

/* Both attributes are one line of printable ASCII. */
gboolean
kc_sdp_check_text (const char *s, gsize len, const char *what, GError **error)
{
  if (len > KC_SDP_KEY_MAX_LINE)
    return fail (error, KC_ERROR_TOO_LARGE, "%s attribute is over %d characters; "
                 "Keycall reads at most %d", what, KC_SDP_KEY_MAX_LINE, KC_SDP_KEY_MAX_LINE);
  for (gsize i = 0; i < len; i++)
    if (s[i] != '\t' && ((guchar) s[i] < 0x20 || (guchar) s[i] > 0x7e))
      return fail (error, KC_ERROR_INVALID, "%s attribute has a control or non-ASCII byte "
                   "at offset %" G_GSIZE_FORMAT, what, i);
  return TRUE;
}

/* The caller's base64 may be a key: copy it only into secure memory. */
KcSecret *
kc_sdp_decode_base64 (const char *s, gsize len, GError **error)
{
  g_autoptr(KcSecret) text = NULL;

  if (len == 0)
    return fail_null (error, KC_ERROR_INVALID, "Key text is empty");
  if (len > KC_SDP_KEY_MAX_LINE)
    return fail_null (error, KC_ERROR_TOO_LARGE, "Key text is over %d characters",
                      KC_SDP_KEY_MAX_LINE);
  text = kc_secret_new (len + 1);
  memcpy (kc_secret_get_mutable (text), s, len);
  return kc_secret_new_from_base64 ((const char *) kc_secret_get_data (text), 0, error);
}

/* @head and @tail are public, @secret_text is not: the result lives in the
 * secure heap and is freed with kc_secret_text_free(). */
char *
kc_sdp_secure_join (const char *head, const char *secret_text, const char *tail)
{
  gsize a = strlen (head), b = strlen (secret_text), c = strlen (tail);
  char *out = OPENSSL_secure_zalloc (a + b + c + 1);

  if (out == NULL)
    g_error ("out of secure memory for a %" G_GSIZE_FORMAT "-byte key attribute", a + b + c);
  memcpy (out, head, a);
  memcpy (out + a, secret_text, b);
  memcpy (out + a + b, tail, c);
  return out;
}

/* ---- a=key-mgmt:keycall ------------------------------------------------ */

const char *
kc_key_mgmt_type_to_string (KcKeyMgmtType type)
{
  return type >= KC_KEY_MGMT_KEY && type <= KC_KEY_MGMT_DERIVE ? payload_types[type].name : NULL;
}

/* Our own names, not kc_ack_role_to_string(): the redacted form is a
 * documented format that must not change with a UI label. */
const char *
kc_sdp_role_name (int role)
{
  static const char *const names[] = { "caller", "callee", "gateway" };

  return role >= KC_ACK_ROLE_CALLER && role <= KC_ACK_ROLE_GATEWAY ? names[role] : NULL;
}

static KcKeyMgmt *
key_mgmt_new (KcKeyMgmtType type, const KcKeyId *key_id)
{
  KcKeyMgmt *mgmt = g_new0 (KcKeyMgmt, 1);

  mgmt->type = type;
  mgmt->key_id = *key_id;
  return mgmt;
}

KcKeyMgmt *
kc_key_mgmt_new_key (const KcKeyId *key_id, const KcSecret *call_key)
{
  KcKeyMgmt *mgmt;

  g_return_val_if_fail (key_id != NULL && call_key != NULL, NULL);

  mgmt = key_mgmt_new (KC_KEY_MGMT_KEY, key_id);
  mgmt->key = kc_secret_copy (call_key);
  return mgmt;
}

KcKeyMgmt *
kc_key_mgmt_new_ack (const KcKeyId *key_id, KcAckRole role, const guint8 mac[KC_KEY_ACK_LEN])
{
  KcKeyMgmt *mgmt;

  g_return_val_if_fail (key_id != NULL && mac != NULL && kc_sdp_role_name (role) != NULL, NULL);

  mgmt = key_mgmt_new (KC_KEY_MGMT_ACK, key_id);
  mgmt->role = role;
  memcpy (mgmt->mac, mac, KC_KEY_ACK_LEN);
  return mgmt;
}

KcKeyMgmt *
kc_key_mgmt_new_derive (const KcKeyId *key_id, const guint8 nonce[KC_DERIVE_NONCE_LEN])
{
  KcKeyMgmt *mgmt;

  g_return_val_if_fail (key_id != NULL && nonce != NULL, NULL);

  mgmt = key_mgmt_new (KC_KEY_MGMT_DERIVE, key_id);
  memcpy (mgmt->nonce, nonce, KC_DERIVE_NONCE_LEN);
  return mgmt;
}

void
kc_key_mgmt_free (KcKeyMgmt *mgmt)
{
  if (mgmt == NULL)
    return;
  kc_secret_free (mgmt->key);
  g_free (mgmt);
}

char *
kc_key_mgmt_encode (const KcKeyMgmt *mgmt, GError **error)
{
  g_autoptr(KcSecret) payload = NULL;
  guint8 *buf, *body;
  char *b64, *out;

  g_return_val_if_fail (mgmt != NULL, NULL);

  if (kc_key_mgmt_type_to_string (mgmt->type) == NULL)
    return fail_null (error, KC_ERROR_INVALID,
                      "key-mgmt type %d is unknown (1 KEY, 2 ACK, 3 DERIVE)", (int) mgmt->type);
  if (mgmt->type == KC_KEY_MGMT_KEY
      && (mgmt->key == NULL || kc_secret_get_len (mgmt->key) != KC_CALL_KEY_LEN))
    return fail_null (error, KC_ERROR_INVALID, "A KEY key-mgmt needs a %d-byte call key",
                      KC_CALL_KEY_LEN);
  if (mgmt->type == KC_KEY_MGMT_ACK && kc_sdp_role_name (mgmt->role) == NULL)
    return fail_null (error, KC_ERROR_INVALID,
                      "ACK role %d is unknown (0 caller, 1 callee, 2 gateway)", (int) mgmt->role);

  /* The payload holds the call key for KEY, so it is built in a KcSecret. */
  payload = kc_secret_new (payload_types[mgmt->type].len);
  buf = kc_secret_get_mutable (payload);
  body = buf + PAYLOAD_HEADER_LEN;
  buf[0] = KC_KEY_MGMT_VERSION;
  buf[1] = (guint8) mgmt->type;
  memcpy (buf + 2, mgmt->key_id.bytes, KC_KEY_ID_LEN);
  if (mgmt->type == KC_KEY_MGMT_KEY) {
    body[0] = KC_CALL_KEY_LEN;
    memcpy (body + 1, kc_secret_get_data (mgmt->key), KC_CALL_KEY_LEN);
  } else if (mgmt->type == KC_KEY_MGMT_ACK) {
    body[0] = (guint8) mgmt->role;
    memcpy (body + 1, mgmt->mac, KC_KEY_ACK_LEN);
  } else {
    memcpy (body, mgmt->nonce, KC_DERIVE_NONCE_LEN);
  }

  b64 = kc_secret_to_base64 (payload);
  out = kc_sdp_secure_join (KC_KEY_MGMT_PROTOCOL " ", b64, "");
  kc_secret_text_free (b64);
  return out;
}

static KcKeyMgmt *
key_mgmt_from_payload (const guint8 *buf, gsize len, GError **error)
{
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  const guint8 *body;
  KcKeyId key_id;
  const char *name;

  if (len < 2)
    return fail_null (error, KC_ERROR_INVALID, "key-mgmt payload is %" G_GSIZE_FORMAT
                      " bytes; the shortest (DERIVE) is %d", len, PAYLOAD_DERIVE_LEN);
  if (buf[0] != KC_KEY_MGMT_VERSION)
    return fail_null (error, KC_ERROR_INVALID, "key-mgmt payload version %u is unknown; "
                      "this Keycall reads version %d", buf[0], KC_KEY_MGMT_VERSION);
  name = kc_key_mgmt_type_to_string (buf[1]);
  if (name == NULL)
    return fail_null (error, KC_ERROR_INVALID,
                      "key-mgmt payload type %u is unknown (1 KEY, 2 ACK, 3 DERIVE)", buf[1]);
  if (len != payload_types[buf[1]].len)
    return fail_null (error, KC_ERROR_INVALID, "key-mgmt payload is %" G_GSIZE_FORMAT
                      " bytes; %s %s payload is %" G_GSIZE_FORMAT,
                      len, payload_types[buf[1]].article, name, payload_types[buf[1]].len);
  body = buf + PAYLOAD_HEADER_LEN;
  if (buf[1] == KC_KEY_MGMT_KEY && body[0] != KC_CALL_KEY_LEN)
    return fail_null (error, KC_ERROR_INVALID, "KEY payload declares a %u-byte key; "
                      "Keycall call keys are %d bytes", body[0], KC_CALL_KEY_LEN);
  if (buf[1] == KC_KEY_MGMT_ACK && kc_sdp_role_name (body[0]) == NULL)
    return fail_null (error, KC_ERROR_INVALID,
                      "ACK payload role %u is unknown (0 caller, 1 callee, 2 gateway)", body[0]);

  memcpy (key_id.bytes, buf + 2, KC_KEY_ID_LEN);
  mgmt = key_mgmt_new (buf[1], &key_id);
  if (mgmt->type == KC_KEY_MGMT_KEY) {
    mgmt->key = kc_secret_new_from_data (body + 1, KC_CALL_KEY_LEN);
  } else if (mgmt->type == KC_KEY_MGMT_ACK) {
    mgmt->role = body[0];
    memcpy (mgmt->mac, body + 1, KC_KEY_ACK_LEN);
  } else {
    memcpy (mgmt->nonce, body, KC_DERIVE_NONCE_LEN);
  }
  return g_steal_pointer (&mgmt);
}

/* The base64 keymgmt-data; the decoded payload is wiped when freed. */
KcKeyMgmt *
kc_sdp_key_mgmt_parse_data (const char *data, gsize len, GError **error)
{
  g_autoptr(KcSecret) payload = kc_sdp_decode_base64 (data, len, error);

  if (payload == NULL) {
    g_prefix_error (error, "a=key-mgmt:keycall data: ");
    return NULL;
  }
  return key_mgmt_from_payload (kc_secret_get_data (payload), kc_secret_get_len (payload), error);
}

/* @s is "<prtcl-id> <keymgmt-data>", the text after "key-mgmt:". */
KcKeyMgmt *
kc_sdp_key_mgmt_parse_span (const char *s, gsize len, GError **error)
{
  const char *sp = memchr (s, ' ', len);
  gsize id_len = sp ? (gsize) (sp - s) : len;

  if (len == 0)
    return fail_null (error, KC_ERROR_INVALID, "a=key-mgmt attribute is empty");
  if (id_len == 0 || memchr (s, '\t', id_len) != NULL)
    return fail_null (error, KC_ERROR_INVALID,
                      "a=key-mgmt must be '<protocol> <data>' with one space between");
  if (!span_equal (s, id_len, KC_KEY_MGMT_PROTOCOL) && quotable (s, id_len, 16))
    return fail_null (error, KC_ERROR_UNSUPPORTED, "key-mgmt protocol '%.*s' is not "
                      "supported; Keycall uses '%s'", (int) id_len, s, KC_KEY_MGMT_PROTOCOL);
  if (!span_equal (s, id_len, KC_KEY_MGMT_PROTOCOL))
    return fail_null (error, KC_ERROR_UNSUPPORTED, "key-mgmt protocol (%" G_GSIZE_FORMAT
                      " characters) is not supported; Keycall uses '%s'",
                      id_len, KC_KEY_MGMT_PROTOCOL);
  if (sp == NULL || id_len + 1 == len)
    return fail_null (error, KC_ERROR_INVALID, "a=key-mgmt:%s has no data after the protocol",
                      KC_KEY_MGMT_PROTOCOL);
  return kc_sdp_key_mgmt_parse_data (sp + 1, len - id_len - 1, error);
}

KcKeyMgmt *
kc_key_mgmt_parse (const char *value, GError **error)
{
  gsize len;

  g_return_val_if_fail (value != NULL, NULL);

  len = strnlen (value, KC_SDP_KEY_MAX_LINE + 1);
  if (!kc_sdp_check_text (value, len, "a=key-mgmt", error))
    return NULL;
  if (span_has_prefix (value, len, "a=key-mgmt:")) {
    value += 11;
    len -= 11;
  } else if (span_has_prefix (value, len, "key-mgmt:")) {
    value += 9;
    len -= 9;
  }
  return kc_sdp_key_mgmt_parse_span (value, len, error);
}

gboolean
kc_sdp_find_key_mgmt (const char *sdp, KcKeyMgmt **out_mgmt, GError **error)
{
  g_autoptr(KcKeyMgmt) found = NULL;
  const char *line = sdp;
  guint line_no = 0, found_line = 0;

  g_return_val_if_fail (sdp != NULL, FALSE);
  g_return_val_if_fail (out_mgmt != NULL && *out_mgmt == NULL, FALSE);

  if (strnlen (sdp, KC_SDP_BODY_MAX + 1) > KC_SDP_BODY_MAX)
    return fail (error, KC_ERROR_TOO_LARGE, "SDP body is over %d bytes; Keycall reads at most %d",
                 KC_SDP_BODY_MAX, KC_SDP_BODY_MAX);

  while (*line != '\0') {
    gsize len = strcspn (line, "\r\n"), id_len = 0;

    line_no++;
    if (span_has_prefix (line, len, "a=key-mgmt:")) {
      const char *v = line + 11;

      while (id_len < len - 11 && !is_wsp (v[id_len]))
        id_len++;
      /* RFC 4567 lets an offer list several protocols; only ours counts. */
      if (span_equal (v, id_len, KC_KEY_MGMT_PROTOCOL)) {
        if (found != NULL)
          return fail (error, KC_ERROR_INVALID, "SDP has a second a=key-mgmt:%s attribute "
                       "(lines %u and %u); Keycall sends exactly one",
                       KC_KEY_MGMT_PROTOCOL, found_line, line_no);
        if (!kc_sdp_check_text (line, len, "a=key-mgmt", error)
            || (found = kc_sdp_key_mgmt_parse_span (v, len - 11, error)) == NULL) {
          g_prefix_error (error, "SDP line %u: ", line_no);
          return FALSE;
        }
        found_line = line_no;
      }
    }
    line += len;
    if (*line == '\r')
      line++;
    if (*line == '\n')
      line++;
  }
  *out_mgmt = g_steal_pointer (&found);
  return TRUE;
}
