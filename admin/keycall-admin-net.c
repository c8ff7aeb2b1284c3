/* keycall-admin-net.c: the network folder keycall-admin works in: its
 * paths, the CA, the controllers and their stores and audit logs, the
 * issued-certificate index, the CRL, and issuing certificates.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

#include "kc-profile.h"
#include "kc-vault.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void
issued_free (Issued *e)
{
  g_free (e->serial);
  g_free (e->identity);
  g_free (e);
}

void
admin_net_free (Net *net)
{
  g_free (net->dir);
  g_free (net->name);
  g_free (net->domain);
  kc_ca_free (net->ca);
  g_free (net);
}

char *
admin_net_path (Net *net, const char *first, ...)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *part;
  va_list ap;

  g_ptr_array_add (parts, net->dir);
  va_start (ap, first);
  for (part = first; part != NULL; part = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

gboolean
admin_usage (GError **error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_propagate_error (error, g_error_new_valist (USAGE_ERROR, 0, format, ap));
  va_end (ap);
  return FALSE;
}

/* Bad syntax in an argument is the caller's mistake: a usage error. */
gboolean
admin_as_usage (gboolean ok, GError **local, GError **error)
{
  if (!ok)
    admin_usage (error, "%s", (*local)->message);
  g_clear_error (local);
  return ok;
}

gboolean
admin_make_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0700) < 0) {
    int errsv = errno;

    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot create %s: %s", path, g_strerror (errsv));
    return FALSE;
  }
  return TRUE;
}

gboolean
admin_write_keyfile (GKeyFile *kf, const char *path, GError **error)
{
  g_autofree char *text = g_key_file_to_data (kf, NULL, NULL);

  return kc_file_write (path, text, strlen (text), 0644, TRUE, error);
}

gint64
admin_asn1_seconds (const ASN1_TIME *t)
{
  struct tm tm;

  return ASN1_TIME_to_tm (t, &tm) == 1 ? (gint64) timegm (&tm) : 0;
}

char *
admin_iso_time (gint64 seconds)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (seconds);

  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("-");
}

static gint64
parse_time (const char *text)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);

  return dt ? g_date_time_to_unix (dt) : 0;
}

void
admin_json_member (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
admin_print_json (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);

  g_print ("%s\n", text);
}

/* The network ----------------------------------------------------------- */

Net *
admin_net_open (const char *dir, GError **error)
{
  g_autoptr(Net) net = g_new0 (Net, 1);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *ini = g_build_filename (dir, "network.ini", NULL);

  net->dir = g_strdup (dir);
  if (!g_file_test (ini, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                 "no Keycall network in %s; run 'keycall-admin init --name NAME' first", dir);
    return NULL;
  }
  if (!g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, NULL)
      || (net->name = g_key_file_get_string (kf, "network", "name", NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "%s is damaged: it lacks [network] name", ini);
    return NULL;
  }
  net->domain = g_key_file_get_string (kf, "network", "domain", NULL);
  return g_steal_pointer (&net);
}

static KcCa *
net_ca (Net *net, GError **error)
{
  if (net->ca == NULL) {
    g_autofree char *cert = admin_net_path (net, "ca", "ca.pem", NULL);
    g_autofree char *key = admin_net_path (net, "ca", "ca.key", NULL);

    net->ca = kc_ca_load (cert, key, error);
  }
  return net->ca;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Names of the complete members of a kind ("controllers", …), sorted. */
GPtrArray *
admin_net_members (Net *net, const char *kind, const char *marker)
{
  g_autofree char *path = admin_net_path (net, kind, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *ini = admin_net_path (net, kind, name, marker, NULL);

    if (g_file_test (ini, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (names, g_strdup (name));
  }
  g_ptr_array_sort (names, compare_names);
  return names;
}

GPtrArray *
admin_controllers (Net *net)
{
  return admin_net_members (net, "controllers", "controller.ini");
}

GKeyFile *
admin_controller_ini (Net *net, const char *name, GError **error)
{
  g_autofree char *path = admin_net_path (net, "controllers", name, "controller.ini", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_autoptr(GPtrArray) all = admin_controllers (net);
    g_autoptr(GString) known = g_string_new (NULL);

    for (guint i = 0; i < all->len; i++)
      g_string_append_printf (known, "%s%s", i ? ", " : "", (char *) all->pdata[i]);
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "unknown controller '%s' (known: %s)",
                 name, all->len ? known->str : "none yet; see 'keycall-admin controller add'");
    return NULL;
  }
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    return NULL;
  return g_steal_pointer (&kf);
}

KcStore *
admin_controller_store (Net *net, const char *name, KcStoreOpenFlags flags, GError **error)
{
  g_autofree char *path = admin_net_path (net, "controllers", name, "store.db", NULL);

  return kc_store_open (path, flags, error);
}

gboolean
admin_audit (KcStore *store, const char *action, const char *detail, GError **error)
{
  return kc_store_audit_append (store, "admin", action, detail, error);
}

/* For actions that concern the whole network: every controller's log. */
gboolean
admin_audit_all (Net *net, const char *action, const char *detail, GError **error)
{
  g_autoptr(GPtrArray) names = admin_controllers (net);

  for (guint i = 0; i < names->len; i++) {
    g_autoptr(KcStore) store = admin_controller_store (net, names->pdata[i], 0, error);

    if (store == NULL || !admin_audit (store, action, detail, error))
      return FALSE;
  }
  return TRUE;
}

/* The issued-certificate index ------------------------------------------ */

GPtrArray *
admin_index_load (Net *net, GError **error)
{
  g_autofree char *path = admin_net_path (net, "ca", "index.txt", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) issued_free);
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++) {
    g_auto(GStrv) f = g_strsplit (lines[i], "\t", -1);
    Issued *e;

    if (lines[i][0] == '#' || lines[i][0] == '\0')
      continue;
    if (g_strv_length (f) != 7 || kc_role_from_string (f[1]) == KC_ROLE_INVALID) {
      g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "%s is damaged at line %" G_GSIZE_FORMAT,
                   path, i + 1);
      return NULL;
    }
    e = g_new0 (Issued, 1);
    e->serial = g_strdup (f[0]);
    e->role = kc_role_from_string (f[1]);
    e->identity = g_strdup (f[2]);
    e->revoked = g_str_equal (f[3], "revoked");
    e->issued = parse_time (f[4]);
    e->expires = parse_time (f[5]);
    e->revoked_at = e->revoked ? parse_time (f[6]) : 0;
    g_ptr_array_add (list, e);
  }
  return g_steal_pointer (&list);
}

gboolean
admin_index_save (Net *net, GPtrArray *list, GError **error)
{
  g_autofree char *path = admin_net_path (net, "ca", "index.txt", NULL);
  g_autoptr(GString) text = g_string_new (
    "# serial\trole\tidentity\tstate\tissued\texpires\trevoked\n");

  for (guint i = 0; i < list->len; i++) {
    Issued *e = list->pdata[i];
    g_autofree char *issued = admin_iso_time (e->issued);
    g_autofree char *expires = admin_iso_time (e->expires);
    g_autofree char *revoked = e->revoked ? admin_iso_time (e->revoked_at) : g_strdup ("-");

    g_string_append_printf (text, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e->serial,
                            kc_role_to_string (e->role), e->identity,
                            e->revoked ? "revoked" : "valid", issued, expires, revoked);
  }
  return kc_file_write (path, text->str, text->len, 0644, TRUE, error);
}

Issued *
admin_index_find (GPtrArray *list, const char *serial, KcRole role, const char *identity)
{
  /* Newest first: a re-issued identity's current certificate wins. */
  for (guint i = list->len; i-- > 0;) {
    Issued *e = list->pdata[i];

    if (serial != NULL ? g_ascii_strcasecmp (e->serial, serial) == 0
                       : (e->role == role && strcmp (e->identity, identity) == 0 && !e->revoked))
      return e;
  }
  return NULL;
}

/* Re-signs the CRL from the index and copies it to every controller. */
gboolean
admin_crl_publish (Net *net, GPtrArray *list, guint64 *number_out, GError **error)
{
  g_autofree char *path = admin_net_path (net, "crl.pem", NULL);
  g_autoptr(X509_CRL) old = kc_pki_crl_load (path, NULL);
  g_autoptr(X509_CRL) crl = NULL;
  g_autoptr(GArray) revoked = g_array_new (FALSE, FALSE, sizeof (KcRevokedCert));
  g_autoptr(GPtrArray) names = admin_controllers (net);
  guint64 number = old ? kc_pki_crl_number (old) + 1 : 1;
  KcCa *ca = net_ca (net, error);

  if (ca == NULL)
    return FALSE;
  for (guint i = 0; i < list->len; i++) {
    Issued *e = list->pdata[i];
    KcRevokedCert r = { e->serial, e->revoked_at };

    if (e->revoked)
      g_array_append_val (revoked, r);
  }
  crl = kc_ca_make_crl (ca, (KcRevokedCert *) revoked->data, revoked->len, number, 0, error);
  if (crl == NULL || !kc_pki_crl_save (crl, path, error))
    return FALSE;
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *copy = admin_net_path (net, "controllers", names->pdata[i], "crl.pem", NULL);

    if (!kc_pki_crl_save (crl, copy, error))
      return FALSE;
  }
  if (number_out != NULL)
    *number_out = number;
  return TRUE;
}

/* Marks @serial revoked in the index and re-signs the CRL. */
gboolean
admin_revoke_serial (Net *net, const char *serial, gboolean *was_revoked, GError **error)
{
  g_autoptr(GPtrArray) list = admin_index_load (net, error);
  Issued *e;

  if (list == NULL)
    return FALSE;
  if ((e = admin_index_find (list, serial, KC_ROLE_INVALID, NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                 "no certificate with serial %s was issued in this network", serial);
    return FALSE;
  }
  *was_revoked = e->revoked;
  if (e->revoked)
    return TRUE;
  e->revoked = TRUE;
  e->revoked_at = g_get_real_time () / G_USEC_PER_SEC;
  return admin_index_save (net, list, error) && admin_crl_publish (net, list, NULL, error);
}

/* Writes key.pem and cert.pem (and agent.pem/cafile.pem when @tls) into
 * @folder for a new certificate, and records it in the index. */
char *
admin_issue_into (Net *net, KcRole role, const char *identity, const char *host, const char *folder,
                  gboolean tls, GError **error)
{
  g_autofree char *key_path = g_build_filename (folder, "key.pem", NULL);
  g_autofree char *cert_path = g_build_filename (folder, "cert.pem", NULL);
  KcCertRequest request = { role, identity, host, opt.days != UNSET ? (guint) opt.days : 0 };
  g_autoptr(EVP_PKEY) key = NULL;
  g_autoptr(X509) cert = NULL;
  g_autoptr(GPtrArray) list = NULL;
  KcCa *ca;
  Issued *e;

  if ((ca = net_ca (net, error)) == NULL || (list = admin_index_load (net, error)) == NULL
      || !admin_make_dir (folder, error) || (key = kc_pki_key_generate (error)) == NULL
      || (cert = kc_ca_issue (ca, &request, key, error)) == NULL
      || !kc_pki_key_save (key, key_path, opt.force, error)
      || !kc_pki_cert_save (cert, cert_path, opt.force, error))
    return NULL;
  if (tls) {
    g_autofree char *cert_pem = kc_pki_cert_to_pem (cert);
    g_autofree char *ca_pem = kc_pki_cert_to_pem (kc_ca_get_cert (ca));
    g_autoptr(KcSecret) key_pem = kc_pki_key_to_pem (key);

    if (!kc_tls_dir_write (folder, cert_pem, key_pem, ca_pem, opt.force, error))
      return NULL;
  }
  e = g_new0 (Issued, 1);
  e->serial = kc_pki_cert_serial (cert);
  e->role = role;
  e->identity = g_strdup (identity);
  e->issued = g_get_real_time () / G_USEC_PER_SEC;
  e->expires = admin_asn1_seconds (X509_get0_notAfter (cert));
  g_ptr_array_add (list, e);
  if (!admin_index_save (net, list, error))
    return NULL;
  return g_strdup (e->serial);
}
