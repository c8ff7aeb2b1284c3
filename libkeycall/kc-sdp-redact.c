/* kc-sdp-redact.c: kc_sdp_redact(), SIP and SDP text made safe for logs:
 * every key becomes its fingerprint, and redacting twice changes nothing.
 * It reuses the parsers' scanners (kc-sdp-key-private.h). */
#define G_LOG_DOMAIN "kc-sdp-key"

#include "kc-sdp-key.h"
#include "kc-sdp-key-private.h"

#include <string.h>

/* The shortest payload (34 bytes) is 48 base64 characters; fewer after
 * "keycall " is prose ("Keycall softphone"), not a key. */
#define KEYCALL_B64_MIN     40

#define UNPARSED_FMT "[unparsed key attribute, %" G_GSIZE_FORMAT " bytes redacted]"

static void
append_hex (GString *out, const guint8 *bytes, gsize len)
{
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", bytes[i]);
}

/* "[KEY id 1a2b3c4d key <fingerprint>]", "[ACK callee id … mac <hex>]",
 * "[DERIVE id … nonce <hex>]": MAC and nonce are not secret. */
static void
append_key_mgmt_summary (GString *out, const KcKeyMgmt *mgmt)
{
  char fp[KC_FINGERPRINT_LEN];

  g_string_append_printf (out, "[%s", kc_key_mgmt_type_to_string (mgmt->type));
  if (mgmt->type == KC_KEY_MGMT_ACK)
    g_string_append_printf (out, " %s", kc_sdp_role_name (mgmt->role));
  g_string_append (out, " id ");
  append_hex (out, mgmt->key_id.bytes, 4);
  if (mgmt->type == KC_KEY_MGMT_KEY) {
    kc_secret_fingerprint (mgmt->key, fp);
    g_string_append_printf (out, " key %s", fp);
  } else if (mgmt->type == KC_KEY_MGMT_ACK) {
    g_string_append (out, " mac ");
    append_hex (out, mgmt->mac, KC_KEY_ACK_LEN);
  } else {
    g_string_append (out, " nonce ");
    append_hex (out, mgmt->nonce, KC_DERIVE_NONCE_LEN);
  }
  g_string_append_c (out, ']');
}

/* What the redactor writes, so that redacting twice changes nothing (a log
 * read back is redacted again). Only shapes that cannot hold a key match. */
#define RE_FP "[0-9a-f]{4}(?: [0-9a-f]{4}){3}"
#define RE_UNPARSED "\\[unparsed key attribute, [0-9]{1,20} bytes redacted\\]"

static gboolean
matches_whole (const char *pattern, const char *v, gsize len)
{
  static GHashTable *compiled;   /* pattern -> GRegex, never freed */
  static GMutex lock;
  g_autofree char *text = g_strndup (v, len);
  GRegex *re;

  g_mutex_lock (&lock);
  if (compiled == NULL)
    compiled = g_hash_table_new (g_str_hash, g_str_equal);
  re = g_hash_table_lookup (compiled, pattern);
  if (re == NULL) {
    re = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, NULL);
    g_assert (re != NULL);
    g_hash_table_insert (compiled, (gpointer) pattern, re);
  }
  g_mutex_unlock (&lock);
  return g_regex_match (re, text, 0, NULL);
}

static gboolean
is_redacted_key_mgmt (const char *v, gsize len)
{
  return matches_whole ("^(?:" RE_UNPARSED "|keycall \\[(?:KEY id [0-9a-f]{8} key " RE_FP
                        "|ACK (?:caller|callee|gateway) id [0-9a-f]{8} mac [0-9a-f]{32}"
                        "|DERIVE id [0-9a-f]{8} nonce [0-9a-f]{32})\\])$", v, len);
}

/* Every inline key already a fingerprint, and no other "inline:" anywhere
 * (a session parameter could carry one). */
static gboolean
is_redacted_crypto (const char *v, gsize len)
{
  g_autofree char *text = g_strndup (v, len);
  guint inlines = 0, redacted = 0;

  if (matches_whole ("^" RE_UNPARSED "$", v, len))
    return TRUE;
  for (const char *p = text; (p = strstr (p, "inline:")) != NULL; p += 7) {
    inlines++;
    if (g_str_has_prefix (p + 7, "[key "))
      redacted++;
  }
  return inlines > 0 && inlines == redacted
         && matches_whole ("^[0-9]{1,9} [A-Za-z0-9_]+ inline:\\[key " RE_FP "\\][^ ;\\[]*"
                           "(?:;inline:\\[key " RE_FP "\\][^ ;\\[]*)*(?: +[^ ]+)*$", v, len);
}

/* @v is the text after "a=key-mgmt:" up to the end of the line. */
static void
redact_key_mgmt_value (GString *out, const char *v, gsize len)
{
  g_autoptr(KcKeyMgmt) mgmt = NULL;

  if (is_redacted_key_mgmt (v, len)) {
    g_string_append_len (out, v, (gssize) len);
    return;
  }
  if (kc_sdp_check_text (v, len, "a=key-mgmt", NULL))
    mgmt = kc_sdp_key_mgmt_parse_span (v, len, NULL);
  if (mgmt == NULL) {
    g_string_append_printf (out, UNPARSED_FMT, len);
    return;
  }
  g_string_append (out, KC_KEY_MGMT_PROTOCOL " ");
  append_key_mgmt_summary (out, mgmt);
}

/* @v is the text after "a=crypto:" up to the end of the line. Only the
 * inline keys change; tag, suite, lifetime, MKI and params stay readable,
 * even when policy would refuse the line (that is what a log must show). */
static void
redact_crypto_value (GString *out, const char *v, gsize len)
{
  char fps[KC_SDP_MAX_KEYS][KC_FINGERPRINT_LEN];
  KcSdpCryptoScan scan;
  gsize pos = 0;

  if (is_redacted_crypto (v, len)) {
    g_string_append_len (out, v, (gssize) len);
    return;
  }
  if (!kc_sdp_check_text (v, len, "a=crypto", NULL) || !kc_sdp_crypto_scan (v, len, &scan, NULL)) {
    g_string_append_printf (out, UNPARSED_FMT, len);
    return;
  }
  for (guint i = 0; i < scan.n_keys; i++) {
    g_autoptr(KcSecret) key = kc_sdp_decode_base64 (v + scan.keys[i].start, scan.keys[i].len, NULL);

    if (key == NULL) {
      g_string_append_printf (out, UNPARSED_FMT, len);
      return;
    }
    kc_secret_fingerprint (key, fps[i]);
  }
  for (guint i = 0; i < scan.n_keys; i++) {
    g_string_append_len (out, v + pos, (gssize) (scan.keys[i].start - pos));
    g_string_append_printf (out, "[key %s]", fps[i]);
    pos = scan.keys[i].start + scan.keys[i].len;
  }
  g_string_append_len (out, v + pos, (gssize) (len - pos));
}

/* Text outside any attribute can still quote a key (a log line with a bare
 * value, a header): catch "inline:<base64>" and "keycall <base64>". */
static void
redact_loose (GString *out, const char *s, gsize len)
{
  gsize pos = 0, next_inline = 0, next_keycall = 0;
  gboolean stale_inline = TRUE, stale_keycall = TRUE;

  while (pos < len) {
    gboolean is_inline;
    gsize run_start, run = 0;

    /* Search again only once a hit is behind us: linear on long input. */
    if (stale_inline || next_inline < pos) {
      const char *p = kc_sdp_find_ci (s + pos, len - pos, "inline:");

      next_inline = p ? (gsize) (p - s) : len;
      stale_inline = FALSE;
    }
    if (stale_keycall || next_keycall < pos) {
      const char *p = kc_sdp_find_ci (s + pos, len - pos, KC_KEY_MGMT_PROTOCOL " ");

      next_keycall = p ? (gsize) (p - s) : len;
      stale_keycall = FALSE;
    }
    if (next_inline == len && next_keycall == len)
      break;
    is_inline = next_inline <= next_keycall;
    run_start = is_inline ? next_inline + 7 : next_keycall + strlen (KC_KEY_MGMT_PROTOCOL) + 1;
    while (run_start + run < len && kc_sdp_is_base64_char (s[run_start + run]))
      run++;
    g_string_append_len (out, s + pos, (gssize) (run_start - pos));
    pos = run_start;
    if (run == 0 || (!is_inline && run < KEYCALL_B64_MIN))
      continue;

    if (is_inline) {
      g_autoptr(KcSecret) key = kc_sdp_decode_base64 (s + run_start, run, NULL);
      char fp[KC_FINGERPRINT_LEN];

      if (key != NULL) {
        kc_secret_fingerprint (key, fp);
        g_string_append_printf (out, "[key %s]", fp);
      } else {
        g_string_append_printf (out, UNPARSED_FMT, run);
      }
    } else {
      g_autoptr(KcKeyMgmt) mgmt = kc_sdp_key_mgmt_parse_data (s + run_start, run, NULL);

      if (mgmt != NULL)
        append_key_mgmt_summary (out, mgmt);
      else
        g_string_append_printf (out, UNPARSED_FMT, run);
    }
    pos = run_start + run;
  }
  g_string_append_len (out, s + pos, (gssize) (len - pos));
}

/* An attribute runs from its marker to the end of the line, wherever on
 * the line the marker is (log prefixes, indented dumps). */
static void
redact_line (GString *out, const char *line, gsize len)
{
  const char *crypto = kc_sdp_find_ci (line, len, "a=crypto:");
  const char *mgmt = kc_sdp_find_ci (line, len, "a=key-mgmt:");
  gboolean is_crypto = crypto != NULL && (mgmt == NULL || crypto < mgmt);
  const char *attr = is_crypto ? crypto : mgmt;
  gsize marker_len = is_crypto ? 9 : 11, value_len;

  if (attr == NULL) {
    redact_loose (out, line, len);
    return;
  }
  redact_loose (out, line, (gsize) (attr - line));
  g_string_append_len (out, attr, (gssize) marker_len);
  value_len = len - (gsize) (attr - line) - marker_len;
  if (is_crypto)
    redact_crypto_value (out, attr + marker_len, value_len);
  else
    redact_key_mgmt_value (out, attr + marker_len, value_len);
}

char *
kc_sdp_redact (const char *text)
{
  GString *out;
  const char *p = text;

  g_return_val_if_fail (text != NULL, NULL);

  out = g_string_sized_new (strlen (text) + 64);
  while (*p != '\0') {
    gsize len = strcspn (p, "\r\n");

    redact_line (out, p, len);
    p += len;
    while (*p == '\r' || *p == '\n')
      g_string_append_c (out, *p++);
  }
  return g_string_free (out, FALSE);
}
