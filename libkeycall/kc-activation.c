/* kc-activation.c: sealing a profile under an activation code, and opening it.
 *
 * The code (100 random bits) goes through scrypt into 64 bytes: the first 32
 * are an AES-256-GCM key (KcVault's wrapping, which adds a random nonce), the
 * last 32 a check value stored in the file. The check value lets a wrong
 * code be told apart from a file altered after sealing; it gives an attacker
 * nothing the GCM tag would not (each guess costs one scrypt either way).
 * Every clear field is bound to the sealed profile as associated data.
 */
#define G_LOG_DOMAIN "kc-activation"

#include "kc-activation.h"
#include "kc-error.h"
#include "kc-vault.h"

#include <glib/gstdio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <string.h>

#define END_KEY      "end"
#define END_VALUE    "keycall-activation"
#define KDF_NAME     "scrypt"
/* 64 MiB and about a quarter of a second per guess on a desktop; the code's
 * 100 bits carry the strength, scrypt only makes each guess dear. */
#define KDF_LOG2_N   16
#define KDF_R        8
#define KDF_P        1
/* What a reader accepts: a file cannot make it spend more than 256 MiB. */
#define KDF_MIN_LOG2_N 14
#define KDF_MAX_LOG2_N 18
#define SALT_LEN     16
#define CHECK_LEN    32
#define DERIVED_LEN  (KC_VAULT_KEY_LEN + CHECK_LEN)
#define CODE_GROUP   5

/* Crockford's base32: no I, L, O or U, so nothing reads as something else. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct _KcActivation {
  char    *number;
  char    *display_name;
  char    *controller;
  char    *controller_name;
  char    *domain;            /* or NULL */
  char    *ca;
  char    *expires_text;      /* ISO 8601, or NULL */
  gint64   expires;
  guint    log2_n;
  GBytes  *salt;
  GBytes  *check;
  GBytes  *sealed;            /* kc_vault_wrap's output */
};

void
kc_activation_free (KcActivation *a)
{
  if (a == NULL)
    return;
  g_free (a->number);
  g_free (a->display_name);
  g_free (a->controller);
  g_free (a->controller_name);
  g_free (a->domain);
  g_free (a->ca);
  g_free (a->expires_text);
  g_clear_pointer (&a->salt, g_bytes_unref);
  g_clear_pointer (&a->check, g_bytes_unref);
  g_clear_pointer (&a->sealed, g_bytes_unref);
  g_free (a);
}

const char *
kc_activation_get_number (KcActivation *a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return a->number;
}

const char *
kc_activation_get_display_name (KcActivation *a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return a->display_name;
}

const char *
kc_activation_get_controller (KcActivation *a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return a->controller;
}

const char *
kc_activation_get_controller_name (KcActivation *a)
{
  g_return_val_if_fail (a != NULL, NULL);
  return a->controller_name;
}

gint64
kc_activation_get_expires (KcActivation *a)
{
  g_return_val_if_fail (a != NULL, 0);
  return a->expires;
}

/* The associated data: every clear field as a netstring, in a fixed order,
 * so no field can be moved into another or changed without the seal
 * breaking. */
static char *
associated_data (KcActivation *a)
{
  g_autofree char *salt = g_base64_encode (g_bytes_get_data (a->salt, NULL), SALT_LEN);
  g_autofree char *kdf = g_strdup_printf ("%s:%u:%d:%d", KDF_NAME, a->log2_n, KDF_R, KDF_P);
  g_autofree char *version = g_strdup_printf ("%d", KC_ACTIVATION_VERSION);
  const char *fields[] = {
    END_VALUE, version, a->number, a->display_name, a->controller, a->controller_name,
    a->domain ? a->domain : "", a->expires_text ? a->expires_text : "", a->ca, kdf, salt,
  };
  GString *aad = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    g_string_append_printf (aad, "%" G_GSIZE_FORMAT ":%s,", strlen (fields[i]), fields[i]);
  return g_string_free (aad, FALSE);
}

/* @code: the normalized code (KC_ACTIVATION_CODE_CHARS characters). */
static KcSecret *
derive (const KcSecret *code, GBytes *salt, guint log2_n, GError **error)
{
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, OSSL_KDF_NAME_SCRYPT, NULL);
  EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  g_autoptr(KcSecret) out = kc_secret_new (DERIVED_LEN);
  uint64_t n = (uint64_t) 1 << log2_n, maxmem = ((uint64_t) 1 << log2_n) * 128 * KDF_R * 2;
  uint32_t r = KDF_R, p = KDF_P;
  gsize salt_len;
  const guint8 *salt_data = g_bytes_get_data (salt, &salt_len);
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_PASSWORD,
                                       (void *) kc_secret_get_data (code),
                                       kc_secret_get_len (code)),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt_data, salt_len),
    OSSL_PARAM_construct_uint64 (OSSL_KDF_PARAM_SCRYPT_N, &n),
    OSSL_PARAM_construct_uint32 (OSSL_KDF_PARAM_SCRYPT_R, &r),
    OSSL_PARAM_construct_uint32 (OSSL_KDF_PARAM_SCRYPT_P, &p),
    OSSL_PARAM_construct_uint64 (OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
    OSSL_PARAM_construct_end (),
  };
  gboolean ok;

  ok = ctx != NULL
       && EVP_KDF_derive (ctx, kc_secret_get_mutable (out), DERIVED_LEN, params) == 1;
  EVP_KDF_CTX_free (ctx);
  EVP_KDF_free (kdf);
  if (!ok) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "Cannot derive a key from the activation code (OpenSSL's scrypt failed; "
                 "is memory short?)");
    return NULL;
  }
  return g_steal_pointer (&out);
}

/* The code without dashes or spaces, upper case, with the look-alikes
 * Crockford's alphabet leaves out read as what they look like. */
static KcSecret *
normalize_code (const char *code, GError **error)
{
  g_autoptr(KcSecret) out = kc_secret_new (KC_ACTIVATION_CODE_CHARS);
  guint8 *p = kc_secret_get_mutable (out);
  gsize n = 0;

  for (const char *c = code; *c != '\0'; c++) {
    char u = g_ascii_toupper (*c);

    if (u == '-' || u == ' ' || u == '\t')
      continue;
    if (u == 'O')
      u = '0';
    else if (u == 'I' || u == 'L')
      u = '1';
    if (strchr (alphabet, u) == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "The activation code holds a character that is not in activation codes "
                   "(they use digits and the letters A to Z except U)");
      return NULL;
    }
    if (n < KC_ACTIVATION_CODE_CHARS)
      p[n] = (guint8) u;
    n++;
  }
  if (n != KC_ACTIVATION_CODE_CHARS) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The activation code has %" G_GSIZE_FORMAT " letters and digits; it should "
                 "have %d (four groups of five)", n, KC_ACTIVATION_CODE_CHARS);
    return NULL;
  }
  return g_steal_pointer (&out);
}

/* Writing */

static KcSecret *
new_code (KcSecret **display, GError **error)
{
  g_autoptr(KcSecret) bytes = kc_secret_new_random (KC_ACTIVATION_CODE_CHARS, error);
  g_autoptr(KcSecret) code = NULL;
  guint8 *c, *d;

  if (bytes == NULL)
    return NULL;
  code = kc_secret_new (KC_ACTIVATION_CODE_CHARS);
  /* Four groups, three dashes, a NUL. */
  *display = kc_secret_new (KC_ACTIVATION_CODE_CHARS + KC_ACTIVATION_CODE_CHARS / CODE_GROUP);
  c = kc_secret_get_mutable (code);
  d = kc_secret_get_mutable (*display);
  for (gsize i = 0; i < KC_ACTIVATION_CODE_CHARS; i++) {
    /* 256 is a multiple of 32: the low five bits are uniform. */
    c[i] = (guint8) alphabet[kc_secret_get_data (bytes)[i] & 31];
    if (i > 0 && i % CODE_GROUP == 0)
      *d++ = '-';
    *d++ = c[i];
  }
  *d = '\0';
  return g_steal_pointer (&code);
}

static void
set_bytes (GKeyFile *kf, const char *key, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = g_base64_encode (data, len);

  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, key, text);
}

KcSecret *
kc_activation_write (KcProfile  *profile,
                     gint64      expires,
                     const char *path,
                     gboolean    replace,
                     GError    **error)
{
  g_autoptr(KcActivation) a = g_new0 (KcActivation, 1);
  g_autoptr(KcSecret) text = NULL, code = NULL, display = NULL, derived = NULL, key = NULL;
  g_autoptr(KcVault) vault = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *aad = NULL, *comment = NULL, *data = NULL;
  guint8 salt[SALT_LEN];
  gsize len;

  g_return_val_if_fail (profile != NULL && path != NULL && expires >= 0, NULL);

  if ((text = kc_profile_serialize (profile, error)) == NULL
      || (code = new_code (&display, error)) == NULL)
    return NULL;
  if (RAND_bytes (salt, sizeof salt) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot draw random bytes (OpenSSL failed)");
    return NULL;
  }
  a->number = g_strdup (profile->number);
  a->display_name = g_strdup (profile->display_name);
  a->controller = g_strdup (profile->controller);
  a->controller_name = g_strdup (profile->controller_name);
  a->domain = g_strdup (profile->domain);
  a->ca = g_strdup (profile->ca);
  if (expires > 0) {
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (expires);

    a->expires = expires;
    a->expires_text = g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ");
  }
  a->log2_n = KDF_LOG2_N;
  a->salt = g_bytes_new (salt, sizeof salt);
  aad = associated_data (a);

  if ((derived = derive (code, a->salt, a->log2_n, error)) == NULL)
    return NULL;
  key = kc_secret_new_from_data (kc_secret_get_data (derived), KC_VAULT_KEY_LEN);
  vault = kc_vault_new_from_key (key);
  if ((a->sealed = kc_vault_wrap (vault, text, aad, error)) == NULL)
    return NULL;
  a->check = g_bytes_new (kc_secret_get_data (derived) + KC_VAULT_KEY_LEN, CHECK_LEN);

  g_key_file_set_integer (kf, KC_ACTIVATION_GROUP, "version", KC_ACTIVATION_VERSION);
  comment = g_strdup_printf (
    " Keycall activation file for %s. Its credentials are sealed: the Keycall\n"
    " softphone opens it with the activation code your administrator gives you\n"
    " separately.", a->number);
  g_key_file_set_comment (kf, KC_ACTIVATION_GROUP, NULL, comment, NULL);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "number", a->number);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "display-name", a->display_name);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "controller", a->controller);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "controller-name", a->controller_name);
  if (a->domain != NULL)
    g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "domain", a->domain);
  if (a->expires_text != NULL)
    g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "expires", a->expires_text);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "ca", a->ca);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, "kdf", KDF_NAME);
  g_key_file_set_integer (kf, KC_ACTIVATION_GROUP, "kdf-log2-n", (int) a->log2_n);
  set_bytes (kf, "kdf-salt", a->salt);
  set_bytes (kf, "code-check", a->check);
  set_bytes (kf, "sealed", a->sealed);
  g_key_file_set_string (kf, KC_ACTIVATION_GROUP, END_KEY, END_VALUE);

  data = g_key_file_to_data (kf, &len, NULL);
  if (!kc_file_write (path, data, len, 0600, replace, error))
    return NULL;
  return g_steal_pointer (&display);
}

/* Reading */

static gboolean
damaged (GError **error, const char *key, const char *why)
{
  g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
               "The activation file is damaged (its “%s” %s); ask your administrator for "
               "a new one", key, why);
  return FALSE;
}

static gboolean
get_text (GKeyFile *kf, const char *key, gboolean optional, char **out, GError **error)
{
  if (!g_key_file_has_key (kf, KC_ACTIVATION_GROUP, key, NULL))
    return optional || damaged (error, key, "is missing");
  if ((*out = g_key_file_get_string (kf, KC_ACTIVATION_GROUP, key, NULL)) == NULL)
    return damaged (error, key, "is not valid text");
  return TRUE;
}

/* Strict base64 of exactly @len bytes (any @len when 0). */
static gboolean
get_bytes (GKeyFile *kf, const char *key, gsize len, GBytes **out, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *again = NULL;
  guint8 *data;
  gsize n;

  if (!get_text (kf, key, FALSE, &text, error))
    return FALSE;
  data = g_base64_decode (text, &n);
  /* g_base64_decode skips what is not base64: encode back to be sure. */
  again = g_base64_encode (data, n);
  if (n == 0 || strcmp (again, text) != 0 || (len != 0 && n != len)) {
    g_free (data);
    return damaged (error, key, "is not what keycall-admin writes");
  }
  *out = g_bytes_new_take (data, n);
  return TRUE;
}

KcActivation *
kc_activation_parse (const guint8 *data, gsize len, GError **error)
{
  g_autoptr(KcActivation) a = g_new0 (KcActivation, 1);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *version = NULL, *end = NULL, *kdf = NULL, *log2_n = NULL;
  guint64 v;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > KC_ACTIVATION_MAX_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The file is %" G_GSIZE_FORMAT " bytes: too large to be a Keycall activation "
                 "file (at most %d)", len, KC_ACTIVATION_MAX_LEN);
    return NULL;
  }
  if (len == 0 || memchr (data, '\0', len) != NULL
      || g_strstr_len ((const char *) data, (gssize) len, "[" KC_ACTIVATION_GROUP "]") == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "This is not a Keycall activation file (no [" KC_ACTIVATION_GROUP "] group)");
    return NULL;
  }
  /* Ours, but a line cut in two may not even be key file syntax: a missing
   * last line says why better than the syntax error would. */
  if (g_strstr_len ((const char *) data, (gssize) len, "\n" END_KEY "=" END_VALUE) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The activation file is truncated (its last line is not “" END_KEY "="
                 END_VALUE "”); copy it again");
    return NULL;
  }
  if (!g_key_file_load_from_data (kf, (const char *) data, len, G_KEY_FILE_NONE, NULL)
      || !g_key_file_has_group (kf, KC_ACTIVATION_GROUP)) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The activation file is damaged (it is not key file syntax); ask your "
                 "administrator for a new one");
    return NULL;
  }
  if ((version = g_key_file_get_string (kf, KC_ACTIVATION_GROUP, "version", NULL)) == NULL
      || !g_ascii_string_to_unsigned (version, 10, 1, G_MAXUINT32, &v, NULL)) {
    damaged (error, "version", "is missing or not a number");
    return NULL;
  }
  if (v != KC_ACTIVATION_VERSION) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "The activation file has version %" G_GUINT64_FORMAT "; this Keycall reads "
                 "version %d (a newer keycall-admin wrote it: update Keycall)",
                 v, KC_ACTIVATION_VERSION);
    return NULL;
  }
  end = g_key_file_get_string (kf, KC_ACTIVATION_GROUP, END_KEY, NULL);
  if (g_strcmp0 (end, END_VALUE) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The activation file is truncated (its last line is not “" END_KEY "="
                 END_VALUE "”); copy it again");
    return NULL;
  }
  if (!get_text (kf, "number", FALSE, &a->number, error)
      || !get_text (kf, "display-name", FALSE, &a->display_name, error)
      || !get_text (kf, "controller", FALSE, &a->controller, error)
      || !get_text (kf, "controller-name", FALSE, &a->controller_name, error)
      || !get_text (kf, "domain", TRUE, &a->domain, error)
      || !get_text (kf, "expires", TRUE, &a->expires_text, error)
      || !get_text (kf, "ca", FALSE, &a->ca, error)
      || !get_text (kf, "kdf", FALSE, &kdf, error)
      || !get_text (kf, "kdf-log2-n", FALSE, &log2_n, error)
      || !get_bytes (kf, "kdf-salt", SALT_LEN, &a->salt, error)
      || !get_bytes (kf, "code-check", CHECK_LEN, &a->check, error)
      || !get_bytes (kf, "sealed", 0, &a->sealed, error))
    return NULL;
  if (strcmp (kdf, KDF_NAME) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The activation file uses the key derivation “%s”; Keycall knows only "
                 KDF_NAME, kdf);
    return NULL;
  }
  if (!g_ascii_string_to_unsigned (log2_n, 10, KDF_MIN_LOG2_N, KDF_MAX_LOG2_N, &v, NULL)) {
    damaged (error, "kdf-log2-n", "is out of range");
    return NULL;
  }
  a->log2_n = (guint) v;
  if (a->expires_text != NULL) {
    g_autoptr(GDateTime) t = g_date_time_new_from_iso8601 (a->expires_text, NULL);

    if (t == NULL || g_date_time_to_unix (t) <= 0) {
      damaged (error, "expires", "is not a date and time");
      return NULL;
    }
    a->expires = g_date_time_to_unix (t);
  }
  return g_steal_pointer (&a);
}

KcActivation *
kc_activation_load (const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *data = NULL;
  KcActivation *a;
  GStatBuf st;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  /* The clear part is not secret, and the sealed part only opens with the
   * code: a downloaded copy readable by others is accepted. */
  if (g_stat (path, &st) == 0 && st.st_size > KC_ACTIVATION_MAX_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "%s is too large to be a Keycall activation file", path);
    return NULL;
  }
  if (!g_file_get_contents (path, &data, &len, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot read %s: %s", path, local->message);
    return NULL;
  }
  a = kc_activation_parse ((const guint8 *) data, len, &local);
  if (a == NULL)
    g_set_error (error, KC_ERROR, local->code, "%s: %s", path, local->message);
  return a;
}

KcProfile *
kc_activation_unlock (KcActivation *a, const char *code, GError **error)
{
  g_autoptr(KcSecret) normal = NULL, derived = NULL, key = NULL, text = NULL;
  g_autoptr(KcVault) vault = NULL;
  g_autoptr(KcProfile) profile = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *aad = NULL;

  g_return_val_if_fail (a != NULL && code != NULL, NULL);

  if (a->expires != 0 && g_get_real_time () / G_USEC_PER_SEC >= a->expires) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "This activation file expired on %s; ask your administrator for a new one",
                 a->expires_text);
    return NULL;
  }
  if ((normal = normalize_code (code, error)) == NULL
      || (derived = derive (normal, a->salt, a->log2_n, error)) == NULL)
    return NULL;
  if (CRYPTO_memcmp (kc_secret_get_data (derived) + KC_VAULT_KEY_LEN,
                     g_bytes_get_data (a->check, NULL), CHECK_LEN) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The activation code is wrong: compare it with the one your administrator "
                 "gave you for %s", a->number);
    return NULL;
  }
  key = kc_secret_new_from_data (kc_secret_get_data (derived), KC_VAULT_KEY_LEN);
  vault = kc_vault_new_from_key (key);
  aad = associated_data (a);
  if ((text = kc_vault_unwrap (vault, a->sealed, aad, NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The activation file was changed after it was sealed (the code is right, "
                 "but the file no longer matches its seal); ask your administrator for a "
                 "new one");
    return NULL;
  }
  if ((profile = kc_profile_parse (kc_secret_get_data (text), kc_secret_get_len (text),
                                   &local)) == NULL) {
    g_set_error (error, KC_ERROR, local->code, "The sealed profile: %s", local->message);
    return NULL;
  }
  /* The seal covers the clear fields; still, what is shown must be what is
   * used. */
  if (strcmp (profile->number, a->number) != 0 || strcmp (profile->controller, a->controller) != 0
      || strcmp (profile->ca, a->ca) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The activation file's sealed profile does not match its clear part; ask "
                 "your administrator for a new one");
    return NULL;
  }
  return g_steal_pointer (&profile);
}
