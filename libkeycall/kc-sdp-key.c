/* kc-sdp-key.c: a=key-mgmt:keycall and a=crypto, strictly. Redaction for
 * logs is in kc-sdp-redact.c and shares the scanners (kc-sdp-key-private.h).
 *
 * Parsers work on (pointer, length) spans of the caller's text, so a line
 * inside an SDP body is never copied to the ordinary heap: base64 that may
 * be a key is only ever copied into a KcSecret. Error messages never quote
 * a field that could be a key.
 */
#define G_LOG_DOMAIN "kc-sdp-key"

#include "kc-sdp-key.h"
#include "kc-sdp-key-private.h"
#include "kc-error.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <string.h>

#define PAYLOAD_HEADER_LEN  (2 + KC_KEY_ID_LEN)
#define PAYLOAD_KEY_LEN     (PAYLOAD_HEADER_LEN + 1 + KC_CALL_KEY_LEN)
#define PAYLOAD_ACK_LEN     (PAYLOAD_HEADER_LEN + 1 + KC_KEY_ACK_LEN)
#define PAYLOAD_DERIVE_LEN  (PAYLOAD_HEADER_LEN + KC_DERIVE_NONCE_LEN)

/* RFC 4568 (AES_CM) and RFC 7714 (AEAD): at most 2^48 SRTP packets per
 * master key; the lifetime parameter may not promise more. */
#define LIFETIME_MAX_LOG2   48
#define LIFETIME_MAX        (G_GUINT64_CONSTANT (1) << LIFETIME_MAX_LOG2)
#define TAG_MAX             999999999u

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

static void G_GNUC_PRINTF (3, 0)
set_error_va (GError **error, KcErrorCode code, const char *format, va_list args)
{
  if (error != NULL)
    g_propagate_error (error, g_error_new_valist (KC_ERROR, code, format, args));
}

/* Sets @error and returns FALSE, so a check reads "return fail (...)". */
static gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, KcErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (error, code, format, args);
  va_end (args);
  return FALSE;
}

static gpointer G_GNUC_PRINTF (3, 4)
fail_null (GError **error, KcErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (error, code, format, args);
  va_end (args);
  return NULL;
}

static int G_GNUC_PRINTF (3, 4)
refuse (GError **error, KcErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (error, code, format, args);
  va_end (args);
  return -1;
}

static gboolean
is_wsp (char c)
{
  return c == ' ' || c == '\t';
}

gboolean
kc_sdp_is_base64_char (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/' || c == '=';
}

static gboolean
span_equal (const char *s, gsize len, const char *lit)
{
  return strlen (lit) == len && memcmp (s, lit, len) == 0;
}

static gboolean
span_has_prefix (const char *s, gsize len, const char *prefix)
{
  return len >= strlen (prefix) && memcmp (s, prefix, strlen (prefix)) == 0;
}

/* Short names only: a long token in an error message could be a key. */
static gboolean
quotable (const char *s, gsize len, gsize max)
{
  if (len == 0 || len > max)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '_' && s[i] != '-')
      return FALSE;
  return TRUE;
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

/* 1..@max_digits decimal digits (at most 19, so no overflow), <= @max. */
static gboolean
parse_uint (const char *s, gsize len, gsize max_digits, guint64 max, guint64 *out)
{
  guint64 v = 0;

  if (len == 0 || len > max_digits)
    return FALSE;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
    v = v * 10 + (guint64) (s[i] - '0');
  }
  *out = v;
  return v <= max;
}

static gboolean
next_field (const char *v, gsize len, gsize *pos, KcSdpSpan *field)
{
  gsize i = *pos;

  while (i < len && is_wsp (v[i]))
    i++;
  if (i >= len)
    return FALSE;
  field->start = i;
  while (i < len && !is_wsp (v[i]))
    i++;
  field->len = i - field->start;
  *pos = i;
  return TRUE;
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
static char *
secure_join (const char *head, const char *secret_text, const char *tail)
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
  out = secure_join (KC_KEY_MGMT_PROTOCOL " ", b64, "");
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

/* ---- a=crypto (RFC 4568) ----------------------------------------------- */

static gboolean
scan_lifetime (const char *s, gsize len, guint64 *out, GError **error)
{
  guint64 n;

  if (span_has_prefix (s, len, "2^") && parse_uint (s + 2, len - 2, 2, LIFETIME_MAX_LOG2, &n)) {
    *out = G_GUINT64_CONSTANT (1) << n;
    return TRUE;
  }
  if (!span_has_prefix (s, len, "2^") && parse_uint (s, len, 19, LIFETIME_MAX, &n) && n > 0) {
    *out = n;
    return TRUE;
  }
  return fail (error, KC_ERROR_INVALID, "a=crypto lifetime must be 1 to 2^%d packets, "
               "in decimal or as 2^n", LIFETIME_MAX_LOG2);
}

/* "value:length", @s containing the colon. */
static gboolean
scan_mki (const char *s, gsize len, guint32 *value, guint *mki_len, GError **error)
{
  gsize vlen = (gsize) ((const char *) memchr (s, ':', len) - s);
  gboolean digits = vlen > 0;
  guint64 v, l;

  if (!parse_uint (s + vlen + 1, len - vlen - 1, 3, KC_CRYPTO_MKI_MAX_LEN, &l) || l == 0)
    return fail (error, KC_ERROR_INVALID, "a=crypto MKI length must be 1 to %d bytes",
                 KC_CRYPTO_MKI_MAX_LEN);
  for (gsize i = 0; i < vlen; i++)
    digits = digits && g_ascii_isdigit (s[i]);
  if (!digits)
    return fail (error, KC_ERROR_INVALID, "a=crypto MKI value must be a decimal number");
  if (!parse_uint (s, vlen, 19, G_MAXUINT32, &v))
    return fail (error, KC_ERROR_UNSUPPORTED, "a=crypto MKI value is over %u; "
                 "Keycall supports 32-bit MKI values", G_MAXUINT32);
  if (l < 4 && (v >> (8 * l)) != 0)
    return fail (error, KC_ERROR_INVALID, "a=crypto MKI value %" G_GUINT64_FORMAT
                 " does not fit in %" G_GUINT64_FORMAT " bytes", v, l);
  *value = (guint32) v;
  *mki_len = (guint) l;
  return TRUE;
}

/* One key-param, v[start..start+len): "inline:<key||salt>[|lifetime][|mki:len]".
 * Lifetime and MKI are stored only when @store (the line's own key). */
static gboolean
scan_key_param (const char *v, gsize start, gsize len, gboolean store,
                KcSdpCryptoScan *scan, GError **error)
{
  const char *s = v + start, *end = s + len;
  const char *colon = memchr (s, ':', len);
  const char *key, *rest;
  gsize key_len = 0, method_len = colon ? (gsize) (colon - s) : 0;
  gboolean have_lifetime = FALSE, have_mki = FALSE;
  guint64 lifetime = 0;
  guint32 mki_value = 0;
  guint mki_len = 0;

  if (colon == NULL)
    return fail (error, KC_ERROR_INVALID,
                 "a=crypto key parameter has no key method; expected inline:<key||salt>");
  if (!span_equal (s, method_len, "inline") && quotable (s, method_len, 16))
    return fail (error, KC_ERROR_UNSUPPORTED, "a=crypto key method '%.*s' is not supported; "
                 "Keycall uses inline", (int) method_len, s);
  if (!span_equal (s, method_len, "inline"))
    return fail (error, KC_ERROR_UNSUPPORTED,
                 "a=crypto key method is not inline, the only one Keycall supports");

  key = colon + 1;
  while (key + key_len < end && key[key_len] != '|')
    key_len++;
  if (key_len == 0)
    return fail (error, KC_ERROR_INVALID, "a=crypto inline key is empty");
  for (gsize i = 0; i < key_len; i++)
    if (!kc_sdp_is_base64_char (key[i]))
      return fail (error, KC_ERROR_INVALID,
                   "a=crypto inline key has a character that is not base64");
  if (scan->n_keys == KC_SDP_MAX_KEYS)
    return fail (error, KC_ERROR_INVALID, "a=crypto line has more than %d inline keys",
                 KC_SDP_MAX_KEYS);
  scan->keys[scan->n_keys].start = start + (gsize) (key - s);
  scan->keys[scan->n_keys].len = key_len;
  scan->n_keys++;

  for (rest = key + key_len; rest < end;) {
    const char *part = rest + 1;
    gsize plen = 0;

    while (part + plen < end && part[plen] != '|')
      plen++;
    if (memchr (part, ':', plen) != NULL) {
      if (have_mki)
        return fail (error, KC_ERROR_INVALID, "a=crypto key parameter has more than one MKI");
      if (!scan_mki (part, plen, &mki_value, &mki_len, error))
        return FALSE;
      have_mki = TRUE;
    } else {
      if (have_lifetime || have_mki)
        return fail (error, KC_ERROR_INVALID,
                     "a=crypto key parameter may have one lifetime, before the MKI");
      if (!scan_lifetime (part, plen, &lifetime, error))
        return FALSE;
      have_lifetime = TRUE;
    }
    rest = part + plen;
  }

  if (store) {
    scan->lifetime = lifetime;
    scan->mki_value = mki_value;
    scan->mki_len = mki_len;
  }
  return TRUE;
}

/* key-params = key-param *(";" key-param) */
static gboolean
scan_key_params (const char *v, KcSdpSpan f, gboolean main_field, KcSdpCryptoScan *scan,
                 GError **error)
{
  gsize i = f.start, end = f.start + f.len;
  guint count = 0;

  for (;;) {
    gsize j = i;

    while (j < end && v[j] != ';')
      j++;
    if (!scan_key_param (v, i, j - i, main_field && count == 0, scan, error))
      return FALSE;
    count++;
    if (j >= end)
      break;
    i = j + 1;
  }
  if (main_field)
    scan->n_key_params = count;
  return TRUE;
}

/* Syntax only (RFC 4568 section 9): what the parser and the redactor share.
 * Policy (suite, key length, session params) is kc_crypto_parse()'s. */
gboolean
kc_sdp_crypto_scan (const char *v, gsize len, KcSdpCryptoScan *scan, GError **error)
{
  gsize pos = 0;
  guint64 tag;
  KcSdpSpan f;

  memset (scan, 0, sizeof *scan);
  if (len == 0 || is_wsp (v[0]) || is_wsp (v[len - 1]))
    return fail (error, KC_ERROR_INVALID,
                 "a=crypto attribute is empty or starts or ends with white space");
  if (!next_field (v, len, &pos, &f) || !parse_uint (v + f.start, f.len, 9, TAG_MAX, &tag))
    return fail (error, KC_ERROR_INVALID, "a=crypto tag must be 1 to 9 decimal digits");
  scan->tag = (guint) tag;

  if (!next_field (v, len, &pos, &f))
    return fail (error, KC_ERROR_INVALID, "a=crypto attribute has no crypto-suite");
  for (gsize i = f.start; i < f.start + f.len; i++)
    if (!g_ascii_isalnum (v[i]) && v[i] != '_')
      return fail (error, KC_ERROR_INVALID,
                   "a=crypto crypto-suite may only have letters, digits and '_'");
  scan->suite = f;

  if (!next_field (v, len, &pos, &f))
    return fail (error, KC_ERROR_INVALID, "a=crypto attribute has no key parameters");
  if (!scan_key_params (v, f, TRUE, scan, error))
    return FALSE;

  scan->params_start = pos;
  while (next_field (v, len, &pos, &f)) {
    if (span_has_prefix (v + f.start, f.len, "FEC_KEY=")) {
      KcSdpSpan fec_key = { f.start + 8, f.len - 8 };

      if (!scan_key_params (v, fec_key, FALSE, scan, error))
        return FALSE;
    } else if (kc_sdp_find_ci (v + f.start, f.len, "inline:") != NULL) {
      /* Not a key by the grammar, but it looks like one: never keep it. */
      return fail (error, KC_ERROR_INVALID,
                   "a=crypto session parameter other than FEC_KEY holds an inline key");
    }
  }
  return TRUE;
}

/* 1 = a known parameter Keycall keeps, 0 = an optional one it ignores,
 * -1 = refused (@error set). */
static int
check_session_param (const char *p, gsize len, GError **error)
{
  gsize name_len = 0;
  guint64 n;

  if (span_equal (p, len, "UNENCRYPTED_SRTP") || span_equal (p, len, "UNENCRYPTED_SRTCP")
      || span_equal (p, len, "UNAUTHENTICATED_SRTP"))
    return refuse (error, KC_ERROR_UNSUPPORTED, "a=crypto session parameter %.*s is refused: "
                   "Keycall never sends or accepts media in clear or unauthenticated",
                   (int) len, p);
  if (span_has_prefix (p, len, "KDR="))
    return parse_uint (p + 4, len - 4, 2, 24, &n)
           ? 1 : refuse (error, KC_ERROR_INVALID, "a=crypto KDR must be 0 to 24 "
                         "(the power of two of the key derivation rate)");
  if (span_has_prefix (p, len, "FEC_ORDER="))
    return span_equal (p + 10, len - 10, "FEC_SRTP") || span_equal (p + 10, len - 10, "SRTP_FEC")
           ? 1 : refuse (error, KC_ERROR_INVALID, "a=crypto FEC_ORDER must be FEC_SRTP or SRTP_FEC");
  /* Keeping FEC_KEY would put a second key in plain char**. */
  if (span_has_prefix (p, len, "FEC_KEY="))
    return refuse (error, KC_ERROR_UNSUPPORTED, "a=crypto session parameter FEC_KEY carries a "
                   "separate key for SRTP FEC, which Keycall does not use");
  if (span_has_prefix (p, len, "WSH="))
    return len - 4 >= 2 && parse_uint (p + 4, len - 4, 9, G_MAXUINT32, &n) && n >= 64
           ? 1 : refuse (error, KC_ERROR_INVALID,
                         "a=crypto WSH must be a replay window of at least 64 packets");
  /* RFC 4568 section 6.3.7: unknown parameters are mandatory (so the line
   * is refused) unless they start with '-', which may be ignored. */
  if (len > 0 && p[0] == '-')
    return 0;
  while (name_len < len && p[name_len] != '=')
    name_len++;
  if (quotable (p, name_len, 32))
    return refuse (error, KC_ERROR_UNSUPPORTED, "a=crypto session parameter %.*s is unknown; "
                   "RFC 4568 makes unknown parameters mandatory unless they start with '-'",
                   (int) name_len, p);
  return refuse (error, KC_ERROR_UNSUPPORTED, "a=crypto has an unknown session parameter; "
                 "RFC 4568 makes unknown parameters mandatory unless they start with '-'");
}

KcCrypto *
kc_crypto_new (guint tag, KcSuite suite, const KcSecret *key_salt)
{
  KcCrypto *crypto;

  g_return_val_if_fail (tag <= TAG_MAX, NULL);
  g_return_val_if_fail (suite >= 0 && suite < KC_SUITE_COUNT, NULL);
  g_return_val_if_fail (key_salt != NULL, NULL);

  crypto = g_new0 (KcCrypto, 1);
  crypto->tag = tag;
  crypto->suite = suite;
  crypto->key_salt = kc_secret_copy (key_salt);
  return crypto;
}

void
kc_crypto_free (KcCrypto *crypto)
{
  if (crypto == NULL)
    return;
  kc_secret_free (crypto->key_salt);
  g_strfreev (crypto->session_params);
  g_free (crypto);
}

KcCrypto *
kc_crypto_parse (const char *value, GError **error)
{
  g_autoptr(KcCrypto) crypto = NULL;
  g_autoptr(KcSecret) key_salt = NULL;
  g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *suite_name = NULL;
  const char *v = value;
  KcSdpCryptoScan scan;
  KcSuite suite;
  gsize len, pos;
  KcSdpSpan f;

  g_return_val_if_fail (value != NULL, NULL);

  len = strnlen (value, KC_SDP_KEY_MAX_LINE + 1);
  if (!kc_sdp_check_text (value, len, "a=crypto", error))
    return NULL;
  if (span_has_prefix (v, len, "a=crypto:")) {
    v += 9;
    len -= 9;
  } else if (span_has_prefix (v, len, "crypto:")) {
    v += 7;
    len -= 7;
  }
  if (!kc_sdp_crypto_scan (v, len, &scan, error))
    return NULL;

  if (scan.n_key_params > 1)
    return fail_null (error, KC_ERROR_UNSUPPORTED, "a=crypto line has %u key parameters; "
                      "Keycall supports one per line (offer several a=crypto lines instead)",
                      scan.n_key_params);

  suite_name = g_strndup (v + scan.suite.start, scan.suite.len);
  suite = kc_suite_from_string (suite_name);
  if (suite == KC_SUITE_INVALID) {
    GString *list = g_string_new (NULL);

    for (int s = 0; s < KC_SUITE_COUNT; s++)
      g_string_append_printf (list, "%s%s", s > 0 ? ", " : "", kc_suite_to_string (s));
    if (quotable (suite_name, scan.suite.len, 32))
      fail (error, KC_ERROR_UNSUPPORTED, "crypto-suite %s is not supported; Keycall supports %s",
            suite_name, list->str);
    else
      fail (error, KC_ERROR_UNSUPPORTED, "a=crypto crypto-suite is not supported; "
            "Keycall supports %s", list->str);
    g_string_free (list, TRUE);
    return NULL;
  }

  key_salt = kc_sdp_decode_base64 (v + scan.keys[0].start, scan.keys[0].len, error);
  if (key_salt == NULL) {
    g_prefix_error (error, "a=crypto inline key: ");
    return NULL;
  }
  if (kc_secret_get_len (key_salt) != kc_suite_key_salt_len (suite))
    return fail_null (error, KC_ERROR_INVALID, "%s needs %" G_GSIZE_FORMAT " bytes of key and "
                      "salt; this line has %" G_GSIZE_FORMAT, suite_name,
                      kc_suite_key_salt_len (suite), kc_secret_get_len (key_salt));

  pos = scan.params_start;
  while (next_field (v, len, &pos, &f)) {
    int keep = check_session_param (v + f.start, f.len, error);

    if (keep < 0)
      return NULL;
    if (keep > 0)
      g_ptr_array_add (params, g_strndup (v + f.start, f.len));
  }

  crypto = g_new0 (KcCrypto, 1);
  crypto->tag = scan.tag;
  crypto->suite = suite;
  crypto->key_salt = g_steal_pointer (&key_salt);
  crypto->lifetime = scan.lifetime;
  crypto->mki_value = scan.mki_value;
  crypto->mki_len = scan.mki_len;
  if (params->len > 0) {
    g_ptr_array_add (params, NULL);
    crypto->session_params = (char **) g_ptr_array_free (g_steal_pointer (&params), FALSE);
  }
  return g_steal_pointer (&crypto);
}

char *
kc_crypto_encode (const KcCrypto *crypto, GError **error)
{
  g_autofree char *head = NULL;
  g_autoptr(GString) tail = g_string_new (NULL);
  guint64 lifetime;
  char *b64, *out;

  g_return_val_if_fail (crypto != NULL, NULL);

  lifetime = crypto->lifetime;
  if (crypto->suite < 0 || crypto->suite >= KC_SUITE_COUNT)
    return fail_null (error, KC_ERROR_INVALID, "a=crypto suite %d is not one Keycall knows",
                      (int) crypto->suite);
  if (crypto->key_salt == NULL
      || kc_secret_get_len (crypto->key_salt) != kc_suite_key_salt_len (crypto->suite))
    return fail_null (error, KC_ERROR_INVALID, "%s needs %" G_GSIZE_FORMAT " bytes of key and "
                      "salt; this one has %" G_GSIZE_FORMAT, kc_suite_to_string (crypto->suite),
                      kc_suite_key_salt_len (crypto->suite),
                      crypto->key_salt ? kc_secret_get_len (crypto->key_salt) : 0);
  if (crypto->tag > TAG_MAX || lifetime > LIFETIME_MAX || crypto->mki_len > KC_CRYPTO_MKI_MAX_LEN
      || (crypto->mki_len > 0 && crypto->mki_len < 4
          && (crypto->mki_value >> (8 * crypto->mki_len)) != 0))
    return fail_null (error, KC_ERROR_INVALID, "a=crypto tag, lifetime or MKI out of range "
                      "(tag <= %u, lifetime <= 2^%d, MKI length <= %d bytes and holding the "
                      "value)", TAG_MAX, LIFETIME_MAX_LOG2, KC_CRYPTO_MKI_MAX_LEN);

  /* 2^n from 2^10 up, where it is never longer than the decimal: so the
   * encoding of anything parsed is never longer than its input. */
  if (lifetime >= 1024 && (lifetime & (lifetime - 1)) == 0)
    g_string_append_printf (tail, "|2^%d", __builtin_ctzll (lifetime));
  else if (lifetime != 0)
    g_string_append_printf (tail, "|%" G_GUINT64_FORMAT, lifetime);
  if (crypto->mki_len != 0)
    g_string_append_printf (tail, "|%u:%u", crypto->mki_value, crypto->mki_len);
  for (char **p = crypto->session_params; p != NULL && *p != NULL; p++) {
    int keep = check_session_param (*p, strlen (*p), error);

    if (keep < 0)
      return NULL;
    if (keep == 0)
      return fail_null (error, KC_ERROR_INVALID,
                        "a=crypto session parameters starting with '-' are not ones Keycall sends");
    g_string_append_printf (tail, " %s", *p);
  }

  head = g_strdup_printf ("%u %s inline:", crypto->tag, kc_suite_to_string (crypto->suite));
  b64 = kc_secret_to_base64 (crypto->key_salt);
  out = secure_join (head, b64, tail->str);
  kc_secret_text_free (b64);
  if (strlen (out) > KC_SDP_KEY_MAX_LINE) {
    kc_secret_text_free (out);
    return fail_null (error, KC_ERROR_TOO_LARGE, "a=crypto attribute would be over %d "
                      "characters", KC_SDP_KEY_MAX_LINE);
  }
  return out;
}
