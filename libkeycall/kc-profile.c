/* kc-profile.c: reading, checking and writing CTA profiles.
 *
 * The file is GKeyFile syntax, but parsed and written here rather than by
 * GKeyFile so the private key and the signaling secret only ever sit in
 * wiped, locked memory (GKeyFile would copy them onto the ordinary heap).
 */
#define G_LOG_DOMAIN "kc-profile"

#include "kc-profile.h"
#include "kc-error.h"
#include "kc-keys.h"
#include "kc-pki.h"
#include "kc-vault.h"

#include <errno.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

/* The last key of every profile: a file cut short lacks it. */
#define END_KEY   "end"
#define END_VALUE "keycall-profile"

typedef struct {
  const char   *key;
  gsize         key_len;
  const guint8 *value;        /* escaped, as in the file */
  gsize         value_len;
} Entry;

char *
kc_profile_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "keycall", "profile" KC_PROFILE_SUFFIX, NULL);
}

void
kc_profile_free (KcProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->number);
  g_free (profile->display_name);
  g_free (profile->controller);
  g_free (profile->controller_name);
  g_free (profile->domain);
  g_free (profile->certificate);
  kc_secret_free (profile->private_key);
  g_free (profile->ca);
  kc_secret_free (profile->signaling_secret);
  g_free (profile->controller_host);
  g_free (profile);
}

/* Parsing */

/* GKeyFile escapes; returns the unescaped length, or -1 for a bad escape.
 * With @out NULL it only measures. */
static gssize
unescape (const guint8 *in, gsize len, guint8 *out)
{
  gsize n = 0;

  for (gsize i = 0; i < len; i++, n++) {
    guint8 c = in[i];

    if (c == '\\') {
      if (++i >= len)
        return -1;
      switch (in[i]) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case 's': c = ' '; break;
      case '\\': c = '\\'; break;
      default: return -1;
      }
    }
    if (out != NULL)
      out[n] = c;
  }
  return (gssize) n;
}

static gboolean
bad_escape (GError **error, const Entry *e)
{
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "The profile's “%.*s” holds an invalid backslash escape",
               (int) e->key_len, e->key);
  return FALSE;
}

static gboolean
get_text (const Entry *e, char **out, GError **error)
{
  gssize n = unescape (e->value, e->value_len, NULL);

  if (n < 0)
    return bad_escape (error, e);
  *out = g_malloc ((gsize) n + 1);
  unescape (e->value, e->value_len, (guint8 *) *out);
  (*out)[n] = '\0';
  if (!g_utf8_validate (*out, n, NULL) || strlen (*out) != (gsize) n) {
    g_clear_pointer (out, g_free);
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The profile's “%.*s” is not valid UTF-8 text", (int) e->key_len, e->key);
    return FALSE;
  }
  return TRUE;
}

/* Into locked memory, with a NUL after the @len bytes when @nul. */
static gboolean
get_secret (const Entry *e, gboolean nul, KcSecret **out, GError **error)
{
  gssize n = unescape (e->value, e->value_len, NULL);

  if (n < 0)
    return bad_escape (error, e);
  if (n == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The profile's “%.*s” is empty",
                 (int) e->key_len, e->key);
    return FALSE;
  }
  *out = kc_secret_new ((gsize) n + (nul ? 1 : 0));
  unescape (e->value, e->value_len, kc_secret_get_mutable (*out));
  return TRUE;
}

static const Entry *
find (GArray *entries, const char *key)
{
  for (guint i = 0; i < entries->len; i++) {
    const Entry *e = &g_array_index (entries, Entry, i);

    if (e->key_len == strlen (key) && memcmp (e->key, key, e->key_len) == 0)
      return e;
  }
  return NULL;
}

/* Splits the [keycall-profile] group into entries that point into @data. */
static GArray *
split (const guint8 *data, gsize len, GError **error)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  gboolean any_group = FALSE, seen_group = FALSE, in_group = FALSE;
  gsize pos = 0, line_no = 0;

  if (memchr (data, '\0', len) != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN, "This is not a Keycall profile (binary data)");
    return NULL;
  }
  while (pos < len) {
    const guint8 *line = data + pos, *nl = memchr (line, '\n', len - pos);
    gsize n = nl ? (gsize) (nl - line) : len - pos;
    const guint8 *eq;
    Entry e;

    pos += n + (nl ? 1 : 0);
    line_no++;
    if (n > 0 && line[n - 1] == '\r')
      n--;
    while (n > 0 && (*line == ' ' || *line == '\t'))
      line++, n--;
    if (n == 0 || line[0] == '#')
      continue;
    if (line[0] != '[' && !any_group) {
      /* A key before any group: not GKeyFile, so not ours. */
      g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                   "This is not a Keycall profile (no [" KC_PROFILE_GROUP "] group)");
      return NULL;
    }
    if (line[0] == '[') {
      if (line[n - 1] != ']') {
        g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                     "Line %" G_GSIZE_FORMAT " of the profile is not a valid group header",
                     line_no);
        return NULL;
      }
      in_group = n - 2 == strlen (KC_PROFILE_GROUP)
                 && memcmp (line + 1, KC_PROFILE_GROUP, n - 2) == 0;
      seen_group |= in_group;
      any_group = TRUE;
      continue;
    }
    eq = memchr (line, '=', n);
    if (eq == NULL || eq == line) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Line %" G_GSIZE_FORMAT " of the profile is not of the form key=value", line_no);
      return NULL;
    }
    if (!in_group)
      continue;   /* other groups: left for later versions */
    e.key = (const char *) line;
    e.key_len = (gsize) (eq - line);
    while (e.key_len > 0 && (e.key[e.key_len - 1] == ' ' || e.key[e.key_len - 1] == '\t'))
      e.key_len--;
    for (gsize i = 0; i < e.key_len; i++)
      if ((guchar) e.key[i] <= ' ' || (guchar) e.key[i] >= 0x7f) {
        g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                     "Line %" G_GSIZE_FORMAT " of the profile has an invalid key", line_no);
        return NULL;
      }
    e.value = eq + 1;
    e.value_len = (gsize) (line + n - e.value);
    while (e.value_len > 0 && (*e.value == ' ' || *e.value == '\t'))
      e.value++, e.value_len--;
    for (guint i = 0; i < entries->len; i++) {
      const Entry *o = &g_array_index (entries, Entry, i);

      if (o->key_len == e.key_len && memcmp (o->key, e.key, e.key_len) == 0) {
        g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The profile names “%.*s” twice",
                     (int) e.key_len, e.key);
        return NULL;
      }
    }
    g_array_append_val (entries, e);
  }
  if (!seen_group) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "This is not a Keycall profile (no [" KC_PROFILE_GROUP "] group)");
    return NULL;
  }
  return g_steal_pointer (&entries);
}

KcProfile *
kc_profile_parse (const guint8 *data, gsize len, GError **error)
{
  static const char *const required[] = {
    "number", "display-name", "controller", "controller-name",
    "certificate", "private-key", "ca", "signaling-secret",
  };
  g_autoptr(KcProfile) profile = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(KcSecret) secret_text = NULL;
  g_autofree char *version = NULL;
  const Entry *last;
  guint64 v;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > KC_PROFILE_MAX_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The profile is %" G_GSIZE_FORMAT " bytes; the limit is %d",
                 len, KC_PROFILE_MAX_LEN);
    return NULL;
  }
  if ((entries = split (data, len, error)) == NULL)
    return NULL;

  last = entries->len > 0 ? &g_array_index (entries, Entry, entries->len - 1) : NULL;
  if (last == NULL
      || last->key_len != strlen (END_KEY) || memcmp (last->key, END_KEY, last->key_len) != 0
      || last->value_len != strlen (END_VALUE)
      || memcmp (last->value, END_VALUE, last->value_len) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The profile is truncated (its last line is not “" END_KEY "=" END_VALUE "”); "
                 "export it again");
    return NULL;
  }

  if (find (entries, "version") == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The profile lacks “version”");
    return NULL;
  }
  if (!get_text (find (entries, "version"), &version, error))
    return NULL;
  if (!g_ascii_string_to_unsigned (version, 10, 1, G_MAXUINT32, &v, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The profile's version “%s” is not a number", version);
    return NULL;
  }
  if (v != KC_PROFILE_VERSION) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "The profile has version %" G_GUINT64_FORMAT "; this Keycall reads version %d "
                 "(a newer Keycall wrote it)", v, KC_PROFILE_VERSION);
    return NULL;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
    if (find (entries, required[i]) == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The profile lacks “%s”", required[i]);
      return NULL;
    }

  profile = g_new0 (KcProfile, 1);
  if (!get_text (find (entries, "number"), &profile->number, error)
      || !get_text (find (entries, "display-name"), &profile->display_name, error)
      || !get_text (find (entries, "controller"), &profile->controller, error)
      || !get_text (find (entries, "controller-name"), &profile->controller_name, error)
      || !get_text (find (entries, "certificate"), &profile->certificate, error)
      || !get_text (find (entries, "ca"), &profile->ca, error)
      || !get_secret (find (entries, "private-key"), FALSE, &profile->private_key, error)
      || !get_secret (find (entries, "signaling-secret"), TRUE, &secret_text, error))
    return NULL;
  /* Optional: profiles exported before it existed name no domain. */
  if (find (entries, "domain") != NULL
      && !get_text (find (entries, "domain"), &profile->domain, error))
    return NULL;

  {
    g_autoptr(GError) local = NULL;

    profile->signaling_secret = kc_secret_new_from_base64 (
      (const char *) kc_secret_get_data (secret_text), KC_SIGNALING_SECRET_LEN, &local);
    if (profile->signaling_secret == NULL) {
      g_set_error (error, KC_ERROR, local->code, "The profile's signaling secret: %s",
                   local->message);
      return NULL;
    }
  }
  if (!kc_profile_validate (profile, error))
    return NULL;
  return g_steal_pointer (&profile);
}

KcProfile *
kc_profile_load (const char *path, GError **error)
{
  g_autoptr(KcSecret) data = NULL;
  g_autoptr(GError) local = NULL;
  KcProfile *profile;

  g_return_val_if_fail (path != NULL, NULL);

  if ((data = kc_private_file_read (path, KC_PROFILE_MAX_LEN, error)) == NULL)
    return NULL;
  profile = kc_profile_parse (kc_secret_get_data (data), kc_secret_get_len (data), &local);
  if (profile == NULL)
    g_set_error (error, KC_ERROR, local->code, "%s: %s", path, local->message);
  return profile;
}

/* Validation */

/* A DNS name as keycall-admin init accepts it (RFC 1035 letters, digits,
 * hyphens and dots; no empty label). */
static gboolean
check_domain (const char *domain, GError **error)
{
  gsize len = strlen (domain);
  gboolean ok = len > 0 && len <= 253 && strstr (domain, "..") == NULL
                && g_ascii_isalnum (domain[0]) && g_ascii_isalnum (domain[len - 1]);

  for (const char *c = domain; ok && *c != '\0'; c++)
    ok = g_ascii_isalnum (*c) || *c == '-' || *c == '.';
  if (!ok)
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The profile's domain “%s” is not a domain name (letters, digits, '-' and "
                 "'.', e.g. keycall.test)", domain);
  return ok;
}

static gboolean
parse_controller (KcProfile *profile, GError **error)
{
  const char *uri = profile->controller, *p, *end;
  g_autofree char *host = NULL;
  guint64 port = KC_DEFAULT_SIPS_PORT;

  if (g_ascii_strncasecmp (uri, "sips:", 5) != 0)
    goto bad;
  p = uri + 5;
  if (*p == '[') {
    if ((end = strchr (p, ']')) == NULL)
      goto bad;
    host = g_strndup (p + 1, (gsize) (end - p - 1));
    if (!g_hostname_is_ip_address (host) || strchr (host, ':') == NULL)
      goto bad;
    end++;
  } else {
    end = p + strcspn (p, ":;");
    host = g_strndup (p, (gsize) (end - p));
    if (*host == '\0' || host[0] == '-' || host[0] == '.')
      goto bad;
    for (const char *c = host; *c != '\0'; c++)
      if (!(g_ascii_isalnum (*c) || *c == '-' || *c == '.'))
        goto bad;
  }
  if (*end == ':') {
    gsize digits = strspn (end + 1, "0123456789");
    g_autofree char *text = g_strndup (end + 1, digits);

    if (!g_ascii_string_to_unsigned (text, 10, 1, 65535, &port, NULL))
      goto bad;
    end += 1 + digits;
  }
  if (*end != '\0' && *end != ';')
    goto bad;
  for (const char *c = end; *c != '\0'; c++)
    if ((guchar) *c <= ' ' || (guchar) *c >= 0x7f || *c == '?')
      goto bad;

  g_free (profile->controller_host);
  profile->controller_host = g_steal_pointer (&host);
  profile->controller_port = (guint16) port;
  return TRUE;

bad:
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "The profile's controller “%s” is not a sips: URI "
               "(sips:HOST[:PORT][;transport=tls])", uri);
  return FALSE;
}

gboolean
kc_profile_validate (KcProfile *profile, GError **error)
{
  g_autoptr(X509) cert = NULL;
  g_autoptr(X509) ca = NULL;
  g_autoptr(EVP_PKEY) key = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *identity = NULL;
  KcRole role;

  g_return_val_if_fail (profile != NULL, FALSE);
  g_return_val_if_fail (profile->number && profile->display_name && profile->controller
                        && profile->controller_name && profile->certificate
                        && profile->private_key && profile->ca && profile->signaling_secret,
                        FALSE);

  if (!kc_pki_check_number (profile->number, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The profile's number: %s", local->message);
    return FALSE;
  }
  if (!kc_pki_check_name (profile->controller_name, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The profile's controller name: %s",
                 local->message);
    return FALSE;
  }
  if (!parse_controller (profile, error))
    return FALSE;
  if (profile->domain != NULL && !check_domain (profile->domain, error))
    return FALSE;
  if (strlen (profile->display_name) > 128 || !g_utf8_validate (profile->display_name, -1, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The profile's display name must be at most 128 bytes of UTF-8");
    return FALSE;
  }

  cert = kc_pki_cert_from_pem (profile->certificate, strlen (profile->certificate), NULL);
  if (cert == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The profile's certificate is not a readable PEM certificate");
    return FALSE;
  }
  if ((ca = kc_pki_cert_from_pem (profile->ca, strlen (profile->ca), NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The profile's CA certificate is not a readable PEM certificate");
    return FALSE;
  }
  if ((key = kc_pki_key_from_pem (kc_secret_get_data (profile->private_key),
                                  kc_secret_get_len (profile->private_key), NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The profile's private key is not a readable unencrypted PEM key");
    return FALSE;
  }
  if (!kc_pki_cert_matches_key (cert, key, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The profile's private key does not belong to its certificate");
    return FALSE;
  }
  if (!kc_pki_verify (ca, NULL, cert, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The profile's certificate was not issued by its CA: %s", local->message);
    return FALSE;
  }
  if (!kc_pki_identity_from_cert (cert, &role, &identity, &local)) {
    g_set_error (error, KC_ERROR, local->code, "The profile's certificate: %s", local->message);
    return FALSE;
  }
  if (role != KC_ROLE_CTA) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The profile's certificate is for %s “%s”, not for a CTA",
                 kc_role_to_string (role), identity);
    return FALSE;
  }
  if (strcmp (identity, profile->number) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The profile's certificate is for number %s, but the profile is for %s",
                 identity, profile->number);
    return FALSE;
  }
  if (kc_secret_get_len (profile->signaling_secret) != KC_SIGNALING_SECRET_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The profile's signaling secret is %" G_GSIZE_FORMAT " bytes; expected %d",
                 kc_secret_get_len (profile->signaling_secret), KC_SIGNALING_SECRET_LEN);
    return FALSE;
  }
  return TRUE;
}

gboolean
kc_profile_set_controller (KcProfile *profile, const char *controller, GError **error)
{
  char *old;

  g_return_val_if_fail (profile != NULL && controller != NULL, FALSE);

  old = profile->controller;
  profile->controller = g_strdup (controller);
  if (!parse_controller (profile, error)) {
    g_free (profile->controller);
    profile->controller = old;
    return FALSE;
  }
  g_free (old);
  return TRUE;
}

/* Writing */

typedef struct {
  guint8 *buf;   /* NULL while measuring */
  gsize   len;
} Out;

static void
out_bytes (Out *o, const void *data, gsize n)
{
  if (o->buf != NULL)
    memcpy (o->buf + o->len, data, n);
  o->len += n;
}

static void
out_entry (Out *o, const char *key, const guint8 *value, gsize n)
{
  out_bytes (o, key, strlen (key));
  out_bytes (o, "=", 1);
  for (gsize i = 0; i < n; i++) {
    const char *esc = NULL;

    switch (value[i]) {
    case '\n': esc = "\\n"; break;
    case '\t': esc = "\\t"; break;
    case '\r': esc = "\\r"; break;
    case '\\': esc = "\\\\"; break;
    case ' ': esc = i == 0 ? "\\s" : NULL; break;   /* GKeyFile strips leading blanks */
    default: break;
    }
    if (esc != NULL)
      out_bytes (o, esc, 2);
    else
      out_bytes (o, value + i, 1);
  }
  out_bytes (o, "\n", 1);
}

static void
out_text (Out *o, const char *key, const char *value)
{
  out_entry (o, key, (const guint8 *) value, strlen (value));
}

static void
emit (Out *o, const KcProfile *profile, const char *secret_b64)
{
  g_autofree char *header = g_strdup_printf (
    "# Keycall CTA profile for %s. It holds a private key and a secret:\n"
    "# keep it private, import it into the Keycall softphone, then delete it.\n"
    "[" KC_PROFILE_GROUP "]\n", profile->number);
  g_autofree char *version = g_strdup_printf ("%d", KC_PROFILE_VERSION);

  out_bytes (o, header, strlen (header));
  out_text (o, "version", version);
  out_text (o, "number", profile->number);
  out_text (o, "display-name", profile->display_name);
  out_text (o, "controller", profile->controller);
  out_text (o, "controller-name", profile->controller_name);
  if (profile->domain != NULL)
    out_text (o, "domain", profile->domain);
  out_text (o, "certificate", profile->certificate);
  out_entry (o, "private-key", kc_secret_get_data (profile->private_key),
             kc_secret_get_len (profile->private_key));
  out_text (o, "ca", profile->ca);
  out_text (o, "signaling-secret", secret_b64);
  out_text (o, END_KEY, END_VALUE);
}

KcSecret *
kc_profile_serialize (KcProfile *profile, GError **error)
{
  KcSecret *data;
  char *secret_b64;
  Out o = { NULL, 0 };

  g_return_val_if_fail (profile != NULL, NULL);

  if (!kc_profile_validate (profile, error))
    return NULL;

  secret_b64 = kc_secret_to_base64 (profile->signaling_secret);
  emit (&o, profile, secret_b64);
  if (o.len > KC_PROFILE_MAX_LEN) {
    kc_secret_text_free (secret_b64);
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The profile would be %" G_GSIZE_FORMAT " bytes; the limit is %d",
                 o.len, KC_PROFILE_MAX_LEN);
    return NULL;
  }
  data = kc_secret_new (o.len);
  o.buf = kc_secret_get_mutable (data);
  o.len = 0;
  emit (&o, profile, secret_b64);
  kc_secret_text_free (secret_b64);
  return data;
}

gboolean
kc_profile_save (KcProfile *profile, const char *path, gboolean replace, GError **error)
{
  g_autoptr(KcSecret) data = NULL;

  g_return_val_if_fail (profile != NULL && path != NULL, FALSE);

  if ((data = kc_profile_serialize (profile, error)) == NULL)
    return FALSE;
  return kc_file_write (path, kc_secret_get_data (data), kc_secret_get_len (data), 0600, replace,
                        error);
}

gboolean
kc_tls_dir_write (const char     *dir,
                  const char     *cert_pem,
                  const KcSecret *key_pem,
                  const char     *ca_pem,
                  gboolean        replace,
                  GError        **error)
{
  g_autofree char *agent_path = NULL;
  g_autofree char *ca_path = NULL;
  g_autoptr(KcSecret) agent = NULL;
  gsize cert_len, key_len;
  guint8 *p;

  g_return_val_if_fail (dir != NULL && cert_pem != NULL && key_pem != NULL && ca_pem != NULL,
                        FALSE);

  if (g_mkdir_with_parents (dir, 0700) < 0) {
    int errsv = errno;

    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot create the folder %s: %s", dir,
                 g_strerror (errsv));
    return FALSE;
  }
  agent_path = g_build_filename (dir, "agent.pem", NULL);
  ca_path = g_build_filename (dir, "cafile.pem", NULL);

  /* Certificate then key, assembled in locked memory. */
  cert_len = strlen (cert_pem);
  key_len = kc_secret_get_len (key_pem);
  agent = kc_secret_new (cert_len + key_len + 1);
  p = kc_secret_get_mutable (agent);
  memcpy (p, cert_pem, cert_len);
  if (cert_len > 0 && cert_pem[cert_len - 1] != '\n')
    p[cert_len++] = '\n';
  memcpy (p + cert_len, kc_secret_get_data (key_pem), key_len);

  return kc_file_write (agent_path, p, cert_len + key_len, 0600, replace, error)
         && kc_file_write (ca_path, ca_pem, strlen (ca_pem), 0600, replace, error);
}

gboolean
kc_profile_write_tls_dir (const KcProfile *profile, const char *dir, gboolean replace,
                          GError **error)
{
  g_return_val_if_fail (profile != NULL, FALSE);

  return kc_tls_dir_write (dir, profile->certificate, profile->private_key, profile->ca,
                           replace, error);
}
