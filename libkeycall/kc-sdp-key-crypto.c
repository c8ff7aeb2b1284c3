/* kc-sdp-key-crypto.c: RFC 4568 a=crypto, strictly: the syntax scan the
 * redactor shares (kc_sdp_crypto_scan), the parser that adds Keycall's
 * policy, and the encoder. a=key-mgmt:keycall is in kc-sdp-key.c; the
 * same rules hold here: spans of the caller's text, key text only in a
 * KcSecret, no field that could be a key quoted in an error.
 */
#define G_LOG_DOMAIN "kc-sdp-key"

#include "kc-sdp-key.h"
#include "kc-sdp-key-private.h"
#include "kc-sdp-key-util-private.h"
#include "kc-error.h"

#include <stdarg.h>
#include <string.h>

/* RFC 4568 (AES_CM) and RFC 7714 (AEAD): at most 2^48 SRTP packets per
 * master key; the lifetime parameter may not promise more. */
#define LIFETIME_MAX_LOG2   48
#define LIFETIME_MAX        (G_GUINT64_CONSTANT (1) << LIFETIME_MAX_LOG2)
#define TAG_MAX             999999999u

static int G_GNUC_PRINTF (3, 4)
refuse (GError **error, KcErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (error, code, format, args);
  va_end (args);
  return -1;
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
  out = kc_sdp_secure_join (head, b64, tail->str);
  kc_secret_text_free (b64);
  if (strlen (out) > KC_SDP_KEY_MAX_LINE) {
    kc_secret_text_free (out);
    return fail_null (error, KC_ERROR_TOO_LARGE, "a=crypto attribute would be over %d "
                      "characters", KC_SDP_KEY_MAX_LINE);
  }
  return out;
}
