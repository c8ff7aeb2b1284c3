/* keycall-admin.c: the provisioning server (FIG. 1, 122) and the customer
 * service tool (120) of a Keycall network: the network CA, controllers,
 * LEAs, gateways, subscriber accounts, CTA profiles and the CRL, all kept in
 * one network folder (docs/provisioning.md).
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "kc-activation.h"
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-pki.h"
#include "kc-profile.h"
#include "kc-store.h"
#include "kc-vault.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

#define EXIT_USAGE   2
#define UNSET        G_MININT   /* an integer option not given */
#define DEFAULT_DIR  "./keycall-network"
#define DEFAULT_DOMAIN "keycall.test"
#define ACTIVATION_DAYS 7       /* how long an activation file opens */

/* Usage errors exit with 2, every other failure with 1. */
#define USAGE_ERROR (usage_error_quark ())
static G_DEFINE_QUARK (keycall-admin-usage-error, usage_error)

enum {
  OPT_NAME = 1 << 0, OPT_DOMAIN = 1 << 1, OPT_HOST = 1 << 2, OPT_PORT = 1 << 3,
  OPT_PREFIX = 1 << 4, OPT_CONTROLLER = 1 << 5, OPT_LEA = 1 << 6, OPT_GATEWAY = 1 << 7,
  OPT_OUTPUT = 1 << 8, OPT_DAYS = 1 << 9, OPT_FORCE = 1 << 10, OPT_JSON = 1 << 11,
  OPT_LI_PORT = 1 << 12, OPT_STORE = 1 << 13,
};

static struct {
  char      *dir;
  char      *name;
  char      *domain;
  char      *host;
  int        port;
  char     **prefixes;
  char      *controller;
  char      *lea;
  char      *gateway;
  char      *output;
  int        days;
  gboolean   force;
  gboolean   json;
  int        li_port;
  char      *store;
} opt = { .port = UNSET, .days = UNSET, .li_port = UNSET };

static const GOptionEntry entries[] = {
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &opt.dir,
    "Network folder (default $KEYCALL_NETWORK, else " DEFAULT_DIR ")", "NET" },
  { "name", 'n', 0, G_OPTION_ARG_STRING, &opt.name,
    "Network name (init), display name (subscriber add)", "NAME" },
  { "domain", 0, 0, G_OPTION_ARG_STRING, &opt.domain,
    "SIP domain (init; default " DEFAULT_DOMAIN ")", "DOMAIN" },
  { "host", 0, 0, G_OPTION_ARG_STRING, &opt.host,
    "Address or host name of a controller or gateway", "HOST" },
  { "port", 0, 0, G_OPTION_ARG_INT, &opt.port,
    "SIP over TLS port of a controller (default 5061)", "PORT" },
  { "prefix", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt.prefixes,
    "Number prefix a controller serves (repeatable)", "DIGITS" },
  { "controller", 'c', 0, G_OPTION_ARG_STRING, &opt.controller, "Controller name", "NAME" },
  { "lea", 0, 0, G_OPTION_ARG_STRING, &opt.lea, "LEA name (revoke-cert)", "NAME" },
  { "gateway", 0, 0, G_OPTION_ARG_STRING, &opt.gateway, "Gateway name (revoke-cert)", "NAME" },
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt.output, "Where to write the profile or activation file",
    "FILE" },
  { "days", 0, 0, G_OPTION_ARG_INT, &opt.days,
    "Certificate validity in days (default 730; CA 3650); "
    "activation file validity (default 7)", "DAYS" },
  { "force", 'f', 0, G_OPTION_ARG_NONE, &opt.force,
    "Replace files left by an interrupted run, or an exported profile", NULL },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Machine-readable output (list commands)", NULL },
  { "li-port", 0, 0, G_OPTION_ARG_INT, &opt.li_port,
    "Lawful-intercept TLS port of a controller (default: SIP port + 1)", "PORT" },
  { "store", 0, 0, G_OPTION_ARG_FILENAME, &opt.store,
    "A controller store to read (audit), instead of --controller", "PATH" },
  { NULL }
};

typedef struct {
  char      *dir;
  char      *name;
  char      *domain;
  KcCa      *ca;        /* loaded on first use */
} Net;

typedef struct {
  char    *serial;
  KcRole   role;
  char    *identity;
  gboolean revoked;
  gint64   issued;      /* UNIX seconds */
  gint64   expires;
  gint64   revoked_at;
} Issued;

static void
issued_free (Issued *e)
{
  g_free (e->serial);
  g_free (e->identity);
  g_free (e);
}

static void
net_free (Net *net)
{
  g_free (net->dir);
  g_free (net->name);
  g_free (net->domain);
  kc_ca_free (net->ca);
  g_free (net);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Net, net_free)

static char *
net_path (Net *net, const char *first, ...)
  G_GNUC_NULL_TERMINATED;

static char *
net_path (Net *net, const char *first, ...)
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

static gboolean
usage (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
usage (GError **error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_propagate_error (error, g_error_new_valist (USAGE_ERROR, 0, format, ap));
  va_end (ap);
  return FALSE;
}

/* Bad syntax in an argument is the caller's mistake: a usage error. */
static gboolean
as_usage (gboolean ok, GError **local, GError **error)
{
  if (!ok)
    usage (error, "%s", (*local)->message);
  g_clear_error (local);
  return ok;
}

static gboolean
make_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0700) < 0) {
    int errsv = errno;

    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot create %s: %s", path, g_strerror (errsv));
    return FALSE;
  }
  return TRUE;
}

static gboolean
write_keyfile (GKeyFile *kf, const char *path, GError **error)
{
  g_autofree char *text = g_key_file_to_data (kf, NULL, NULL);

  return kc_file_write (path, text, strlen (text), 0644, TRUE, error);
}

static gint64
asn1_seconds (const ASN1_TIME *t)
{
  struct tm tm;

  return ASN1_TIME_to_tm (t, &tm) == 1 ? (gint64) timegm (&tm) : 0;
}

static char *
iso_time (gint64 seconds)
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

static void
json_member (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
print_json (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);

  g_print ("%s\n", text);
}

/* The network ----------------------------------------------------------- */

static Net *
net_open (const char *dir, GError **error)
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
    g_autofree char *cert = net_path (net, "ca", "ca.pem", NULL);
    g_autofree char *key = net_path (net, "ca", "ca.key", NULL);

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
static GPtrArray *
net_members (Net *net, const char *kind, const char *marker)
{
  g_autofree char *path = net_path (net, kind, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *ini = net_path (net, kind, name, marker, NULL);

    if (g_file_test (ini, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (names, g_strdup (name));
  }
  g_ptr_array_sort (names, compare_names);
  return names;
}

static GPtrArray *
controllers (Net *net)
{
  return net_members (net, "controllers", "controller.ini");
}

static GKeyFile *
controller_ini (Net *net, const char *name, GError **error)
{
  g_autofree char *path = net_path (net, "controllers", name, "controller.ini", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_autoptr(GPtrArray) all = controllers (net);
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

static KcStore *
controller_store (Net *net, const char *name, KcStoreOpenFlags flags, GError **error)
{
  g_autofree char *path = net_path (net, "controllers", name, "store.db", NULL);

  return kc_store_open (path, flags, error);
}

static gboolean
audit (KcStore *store, const char *action, const char *detail, GError **error)
{
  return kc_store_audit_append (store, "admin", action, detail, error);
}

/* For actions that concern the whole network: every controller's log. */
static gboolean
audit_all (Net *net, const char *action, const char *detail, GError **error)
{
  g_autoptr(GPtrArray) names = controllers (net);

  for (guint i = 0; i < names->len; i++) {
    g_autoptr(KcStore) store = controller_store (net, names->pdata[i], 0, error);

    if (store == NULL || !audit (store, action, detail, error))
      return FALSE;
  }
  return TRUE;
}

/* The issued-certificate index ------------------------------------------ */

static GPtrArray *
index_load (Net *net, GError **error)
{
  g_autofree char *path = net_path (net, "ca", "index.txt", NULL);
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

static gboolean
index_save (Net *net, GPtrArray *list, GError **error)
{
  g_autofree char *path = net_path (net, "ca", "index.txt", NULL);
  g_autoptr(GString) text = g_string_new (
    "# serial\trole\tidentity\tstate\tissued\texpires\trevoked\n");

  for (guint i = 0; i < list->len; i++) {
    Issued *e = list->pdata[i];
    g_autofree char *issued = iso_time (e->issued);
    g_autofree char *expires = iso_time (e->expires);
    g_autofree char *revoked = e->revoked ? iso_time (e->revoked_at) : g_strdup ("-");

    g_string_append_printf (text, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e->serial,
                            kc_role_to_string (e->role), e->identity,
                            e->revoked ? "revoked" : "valid", issued, expires, revoked);
  }
  return kc_file_write (path, text->str, text->len, 0644, TRUE, error);
}

static Issued *
index_find (GPtrArray *list, const char *serial, KcRole role, const char *identity)
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
static gboolean
crl_publish (Net *net, GPtrArray *list, guint64 *number_out, GError **error)
{
  g_autofree char *path = net_path (net, "crl.pem", NULL);
  g_autoptr(X509_CRL) old = kc_pki_crl_load (path, NULL);
  g_autoptr(X509_CRL) crl = NULL;
  g_autoptr(GArray) revoked = g_array_new (FALSE, FALSE, sizeof (KcRevokedCert));
  g_autoptr(GPtrArray) names = controllers (net);
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
    g_autofree char *copy = net_path (net, "controllers", names->pdata[i], "crl.pem", NULL);

    if (!kc_pki_crl_save (crl, copy, error))
      return FALSE;
  }
  if (number_out != NULL)
    *number_out = number;
  return TRUE;
}

/* Writes key.pem and cert.pem (and agent.pem/cafile.pem when @tls) into
 * @folder for a new certificate, and records it in the index. */
static char *
issue_into (Net *net, KcRole role, const char *identity, const char *host, const char *folder,
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

  if ((ca = net_ca (net, error)) == NULL || (list = index_load (net, error)) == NULL
      || !make_dir (folder, error) || (key = kc_pki_key_generate (error)) == NULL
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
  e->expires = asn1_seconds (X509_get0_notAfter (cert));
  g_ptr_array_add (list, e);
  if (!index_save (net, list, error))
    return NULL;
  return g_strdup (e->serial);
}

/* A member folder for a new controller, LEA or gateway: refused when the
 * member exists, or when an interrupted run left files, unless --force. */
static char *
new_member_folder (Net *net, const char *kind, const char *what, const char *name,
                   const char *marker, GError **error)
{
  g_autofree char *folder = net_path (net, kind, name, NULL);
  g_autofree char *ini = g_build_filename (folder, marker, NULL);
  GError *local = NULL;

  if (!as_usage (kc_pki_check_name (name, &local), &local, error))
    return NULL;
  if (g_file_test (ini, G_FILE_TEST_EXISTS)) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "%s '%s' already exists", what, name);
    return NULL;
  }
  if (g_file_test (folder, G_FILE_TEST_EXISTS) && !opt.force) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "%s exists but is incomplete (an earlier run stopped?); rerun with --force "
                 "to replace it", folder);
    return NULL;
  }
  return g_steal_pointer (&folder);
}

/* Peers and the LEA key in every controller.ini -------------------------- */

#define LEA_KEY_COPY "lea-seal.pub"

/* The LEA whose sealing key controllers use: the first one added. */
static char *
first_lea (Net *net, GError **error)
{
  g_autoptr(GPtrArray) list = index_load (net, error);

  if (list == NULL)
    return NULL;
  for (guint i = 0; i < list->len; i++) {
    Issued *e = list->pdata[i];
    g_autofree char *ini = net_path (net, "lea", e->identity, "lea.ini", NULL);

    if (e->role == KC_ROLE_LEA && g_file_test (ini, G_FILE_TEST_IS_REGULAR))
      return g_strdup (e->identity);
  }
  return NULL;
}

/* The port of controller @kf's [lawful-intercept] listen, or 0. */
static int
li_port_of (GKeyFile *kf)
{
  g_autofree char *listen = g_key_file_get_string (kf, "lawful-intercept", "listen", NULL);
  const char *colon = listen ? strrchr (listen, ':') : NULL;
  guint64 port;

  return colon && g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL)
         ? (int) port : 0;
}

/* Ports the controllers other than @except on @host use, SIP and LI. */
static GHashTable *
ports_on_host (Net *net, const char *host, const char *except)
{
  g_autoptr(GPtrArray) names = controllers (net);
  GHashTable *used = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < names->len; i++) {
    g_autoptr(GKeyFile) kf = NULL;
    g_autofree char *other_host = NULL;
    int port;

    if (g_strcmp0 (names->pdata[i], except) == 0
        || (kf = controller_ini (net, names->pdata[i], NULL)) == NULL)
      continue;
    other_host = g_key_file_get_string (kf, "controller", "host", NULL);
    if (g_strcmp0 (other_host, host) != 0)
      continue;
    port = g_key_file_get_integer (kf, "controller", "port", NULL);
    g_hash_table_add (used, GINT_TO_POINTER (port > 0 ? port : KC_DEFAULT_SIPS_PORT));
    if ((port = li_port_of (kf)) > 0)
      g_hash_table_add (used, GINT_TO_POINTER (port));
  }
  return used;
}

/* The first port from @from up that is not in @used, or 0. */
static int
next_free_port (GHashTable *used, int from)
{
  for (int port = from; port <= 65535; port++)
    if (!g_hash_table_contains (used, GINT_TO_POINTER (port)))
      return port;
  return 0;
}

static char *
li_listen_for (const char *host, int port)
{
  if (!g_hostname_is_ip_address (host))
    return g_strdup_printf ("0.0.0.0:%d", port);
  return g_strdup_printf (strchr (host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* A new controller on @host takes SIP port @port: a controller there whose
 * LI port that is moves its LI port to the next free one (lea.ini follows
 * in update_controller_inis). */
static gboolean
move_li_ports (Net *net, const char *name, const char *host, int port, GError **error)
{
  g_autoptr(GPtrArray) names = controllers (net);

  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = net_path (net, "controllers", names->pdata[i], "controller.ini", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autofree char *other_host = NULL, *listen = NULL;
    g_autoptr(GHashTable) used = NULL;
    int moved;

    if (g_str_equal (names->pdata[i], name)
        || !g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, NULL))
      continue;
    other_host = g_key_file_get_string (kf, "controller", "host", NULL);
    if (g_strcmp0 (other_host, host) != 0 || li_port_of (kf) != port)
      continue;
    used = ports_on_host (net, host, names->pdata[i]);
    g_hash_table_add (used, GINT_TO_POINTER (g_key_file_get_integer (kf, "controller", "port",
                                                                      NULL)));
    if ((moved = next_free_port (used, port + 1)) == 0)
      continue;
    listen = li_listen_for (host, moved);
    g_key_file_set_string (kf, "lawful-intercept", "listen", listen);
    if (!write_keyfile (kf, path, error))
      return FALSE;
    g_print ("Controller %s's lawful-intercept port moves from %d to %d (%d is %s's SIP port); "
             "restart it if it runs\n", (char *) names->pdata[i], port, moved, port, name);
  }
  return TRUE;
}

/* Where law enforcement reaches controller @kf's LI port: its
 * [lawful-intercept] listen, with a wildcard address replaced by the
 * controller's host. NULL when it has none or it is disabled. */
static char *
li_address (GKeyFile *kf)
{
  g_autofree char *listen = g_key_file_get_string (kf, "lawful-intercept", "listen", NULL);
  g_autofree char *enabled = g_key_file_get_string (kf, "lawful-intercept", "enabled", NULL);
  g_autofree char *host = g_key_file_get_string (kf, "controller", "host", NULL);
  const char *colon = listen ? strrchr (listen, ':') : NULL;

  if (colon == NULL || host == NULL || g_strcmp0 (enabled, "false") == 0)
    return NULL;
  if (g_str_has_prefix (listen, "0.0.0.0:") || g_str_has_prefix (listen, "[::]:"))
    return g_strdup_printf (strchr (host, ':') ? "[%s]%s" : "%s%s", host, colon);
  return g_steal_pointer (&listen);
}

/* Gives every lea.ini one [controller NAME] group per controller with its
 * li-address, so keycall-lea finds them; other keys and groups are kept,
 * groups of controllers that no longer listen for LI are removed. */
static gboolean
update_lea_inis (Net *net, GPtrArray *names, GPtrArray *inis, GError **error)
{
  g_autoptr(GPtrArray) leas = net_members (net, "lea", "lea.ini");

  for (guint i = 0; i < leas->len; i++) {
    g_autofree char *path = net_path (net, "lea", leas->pdata[i], "lea.ini", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new ();

    if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, error))
      return FALSE;
    for (guint j = 0; j < names->len; j++) {
      g_autofree char *group = g_strdup_printf ("controller %s", (char *) names->pdata[j]);
      g_autofree char *address = li_address (inis->pdata[j]);

      if (address != NULL)
        g_key_file_set_string (kf, group, "li-address", address);
      else
        g_key_file_remove_group (kf, group, NULL);
    }
    if (!write_keyfile (kf, path, error))
      return FALSE;
  }
  return TRUE;
}

/* Gives every controller.ini one [peer NAME] group per other controller
 * (address, prefixes) and lea-public-key (a copy of the first LEA's
 * seal.pub in the controller's folder). Other keys and groups are kept. */
static gboolean
update_controller_inis (Net *net, GError **error)
{
  g_autoptr(GPtrArray) names = controllers (net);
  g_autoptr(GPtrArray) inis = g_ptr_array_new_with_free_func ((GDestroyNotify) g_key_file_unref);
  g_autofree char *lea = NULL, *seal_pub = NULL, *seal_text = NULL;
  gsize seal_len = 0;
  GError *local = NULL;

  if ((lea = first_lea (net, &local)) == NULL && local != NULL) {
    g_propagate_error (error, local);
    return FALSE;
  }
  if (lea != NULL) {
    seal_pub = net_path (net, "lea", lea, "seal.pub", NULL);
    if (!g_file_get_contents (seal_pub, &seal_text, &seal_len, error))
      return FALSE;
  }
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = net_path (net, "controllers", names->pdata[i], "controller.ini", NULL);
    GKeyFile *kf = g_key_file_new ();

    g_ptr_array_add (inis, kf);
    if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, error))
      return FALSE;
  }
  for (guint i = 0; i < names->len; i++) {
    const char *name = names->pdata[i];
    GKeyFile *kf = inis->pdata[i];
    g_autofree char *path = net_path (net, "controllers", name, "controller.ini", NULL);

    for (guint j = 0; j < names->len; j++) {
      GKeyFile *other = inis->pdata[j];
      g_autofree char *group = g_strdup_printf ("peer %s", (char *) names->pdata[j]);
      g_autofree char *host = g_key_file_get_string (other, "controller", "host", NULL);
      g_auto(GStrv) prefixes = g_key_file_get_string_list (other, "controller", "prefixes", NULL,
                                                           NULL);
      int port = g_key_file_get_integer (other, "controller", "port", NULL);
      g_autofree char *address = NULL;

      if (j == i || host == NULL)
        continue;
      address = g_strdup_printf (strchr (host, ':') ? "sips:[%s]:%d;transport=tls"
                                                    : "sips:%s:%d;transport=tls",
                                 host, port > 0 ? port : KC_DEFAULT_SIPS_PORT);
      g_key_file_set_string (kf, group, "address", address);
      g_key_file_set_string_list (kf, group, "prefixes",
                                  (const char *const *) (prefixes ? prefixes
                                                                  : (char *[]) { NULL }),
                                  prefixes ? g_strv_length (prefixes) : 0);
    }
    if (seal_text != NULL) {
      g_autofree char *copy = net_path (net, "controllers", name, LEA_KEY_COPY, NULL);

      if (!kc_file_write (copy, seal_text, seal_len, 0644, TRUE, error))
        return FALSE;
      g_key_file_set_string (kf, "controller", "lea-public-key", LEA_KEY_COPY);
    }
    if (!write_keyfile (kf, path, error))
      return FALSE;
  }
  return update_lea_inis (net, names, inis, error);
}

/* Commands --------------------------------------------------------------- */

static gboolean
cmd_init (Net *net, const char *operand, GError **error)
{
  static const char *const kinds[] = { "ca", "controllers", "lea", "gateways", "subscribers" };
  const char *domain = opt.domain ? opt.domain : DEFAULT_DOMAIN;
  g_autofree char *ini = net_path (net, "network.ini", NULL);
  g_autofree char *ca_pem = net_path (net, "ca", "ca.pem", NULL);
  g_autofree char *ca_key = net_path (net, "ca", "ca.key", NULL);
  g_autoptr(GPtrArray) empty = g_ptr_array_new ();
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  guint8 *der = NULL;
  int der_len;
  char fingerprint[KC_FINGERPRINT_LEN];

  if (opt.name == NULL)
    return usage (error, "missing --name NAME for 'init'");
  if (strlen (domain) > 253 || strstr (domain, "..") != NULL
      || !g_regex_match_simple ("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$", domain, 0, 0))
    return usage (error, "'%s' is not a valid domain name", domain);
  if (g_file_test (ini, G_FILE_TEST_EXISTS)) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "a Keycall network already exists in %s; refusing to initialise it again",
                 net->dir);
    return FALSE;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++) {
    g_autofree char *path = net_path (net, kinds[i], NULL);

    if (!make_dir (path, error))
      return FALSE;
  }
  if ((net->ca = kc_ca_new (opt.name, opt.days != UNSET ? (guint) opt.days : 0, error)) == NULL
      || !kc_ca_save (net->ca, ca_pem, ca_key, opt.force, error)
      || !index_save (net, empty, error)
      || !crl_publish (net, empty, NULL, error))
    return FALSE;

  /* network.ini last: its presence means "initialised". */
  g_key_file_set_string (kf, "network", "name", opt.name);
  g_key_file_set_string (kf, "network", "domain", domain);
  if (!write_keyfile (kf, ini, error))
    return FALSE;

  /* The first bytes of `openssl x509 -fingerprint -sha256`, to check copies by. */
  der_len = i2d_X509 (kc_ca_get_cert (net->ca), &der);
  kc_fingerprint_bytes (der, (gsize) MAX (der_len, 0), fingerprint);
  OPENSSL_free (der);
  g_print ("Initialised Keycall network “%s” (domain %s) in %s\n", opt.name, domain, net->dir);
  g_print ("  CA certificate: %s (SHA-256 %s…)\n", ca_pem, fingerprint);
  return TRUE;
}

static gboolean
cmd_controller_add (Net *net, const char *name, GError **error)
{
  g_autofree char *folder = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *vault_path = NULL, *store_path = NULL, *ini_path = NULL, *detail = NULL;
  g_autofree char *prefixes = NULL;
  g_autoptr(KcVault) vault = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  int port = opt.port == UNSET ? KC_DEFAULT_SIPS_PORT : opt.port;
  int li_port = opt.li_port;
  g_autofree char *li_listen = NULL;
  g_autoptr(GHashTable) used = NULL;
  gsize n_prefixes = opt.prefixes ? g_strv_length (opt.prefixes) : 0;
  GError *local = NULL;

  if (opt.host == NULL)
    return usage (error, "missing --host HOST for 'controller add'");
  if (port < 1 || port > 65535)
    return usage (error, "--port must be 1 to 65535");
  /* Default: the SIP port + 1, or the next port no controller on this
   * host uses (SIP or LI). */
  used = ports_on_host (net, opt.host, name);
  if (li_port == UNSET) {
    g_hash_table_add (used, GINT_TO_POINTER (port));
    if ((li_port = next_free_port (used, port + 1)) == 0)
      return usage (error, "no port above %d is free on %s for the LI port; give --li-port",
                    port, opt.host);
  }
  else if (li_port < 1 || li_port > 65535)
    return usage (error, "--li-port must be 1 to 65535");
  else if (li_port == port)
    return usage (error, "--li-port must differ from the SIP port %d", port);
  else if (g_hash_table_contains (used, GINT_TO_POINTER (li_port)))
    return usage (error, "--li-port %d is a port another controller on %s already uses",
                  li_port, opt.host);
  if (!as_usage (kc_pki_check_host (opt.host, &local), &local, error))
    return FALSE;
  for (gsize i = 0; i < n_prefixes; i++)
    if (!as_usage (kc_pki_check_number (opt.prefixes[i], &local), &local, error))
      return FALSE;
  if ((folder = new_member_folder (net, "controllers", "controller", name, "controller.ini",
                                   error)) == NULL)
    return FALSE;
  if ((serial = issue_into (net, KC_ROLE_CONTROLLER, name, opt.host, folder, TRUE, error)) == NULL)
    return FALSE;

  /* Keep a vault left by an interrupted run: a store may already use it. */
  vault_path = g_build_filename (folder, "vault.key", NULL);
  vault = g_file_test (vault_path, G_FILE_TEST_EXISTS) ? kc_vault_load (vault_path, error)
                                                       : kc_vault_create (vault_path, FALSE, error);
  store_path = g_build_filename (folder, "store.db", NULL);
  if (vault == NULL
      || (store = kc_store_open (store_path, KC_STORE_OPEN_CREATE, error)) == NULL)
    return FALSE;

  g_key_file_set_comment (kf, NULL, NULL,
                          " Keycall controller; paths are relative to this folder", NULL);
  g_key_file_set_string (kf, "controller", "name", name);
  g_key_file_set_string (kf, "controller", "network", net->name);
  g_key_file_set_string (kf, "controller", "domain", net->domain ? net->domain : DEFAULT_DOMAIN);
  g_key_file_set_string (kf, "controller", "host", opt.host);
  g_key_file_set_integer (kf, "controller", "port", port);
  g_key_file_set_string_list (kf, "controller", "prefixes",
                              (const char *const *) (opt.prefixes ? opt.prefixes
                                                                   : (char *[]) { NULL }),
                              n_prefixes);
  g_key_file_set_string (kf, "controller", "tls-dir", ".");
  g_key_file_set_string (kf, "controller", "store", "store.db");
  g_key_file_set_string (kf, "controller", "vault", "vault.key");
  g_key_file_set_string (kf, "controller", "crl", "crl.pem");
  /* The LI port binds where SIP does (kc-controller-config.c's rule). */
  li_listen = li_listen_for (opt.host, li_port);
  g_key_file_set_string (kf, "lawful-intercept", "listen", li_listen);
  ini_path = g_build_filename (folder, "controller.ini", NULL);

  /* A copy of the CRL, then controller.ini: from now on the controller exists. */
  {
    g_autofree char *crl_copy = g_build_filename (folder, "crl.pem", NULL);
    g_autofree char *crl_path = net_path (net, "crl.pem", NULL);
    g_autoptr(X509_CRL) crl = kc_pki_crl_load (crl_path, error);

    if (crl == NULL || !kc_pki_crl_save (crl, crl_copy, error)
        || !write_keyfile (kf, ini_path, error))
      return FALSE;
  }

  prefixes = opt.prefixes ? g_strjoinv (",", opt.prefixes) : g_strdup ("");
  detail = g_strdup_printf ("controller=%s host=%s port=%d li-listen=%s prefixes=%s serial=%s",
                            name, opt.host, port, li_listen, prefixes, serial);
  if (!audit (store, "controller-add", detail, error)
      || !move_li_ports (net, name, opt.host, port, error)
      || !update_controller_inis (net, error))
    return FALSE;
  g_print ("Added controller %s (sips:%s:%d, prefixes %s) in %s\n  certificate serial %s\n"
           "  lawful intercept on %s\n", name, opt.host, port, *prefixes ? prefixes : "any",
           folder, serial, li_listen);
  return TRUE;
}

static gboolean
cmd_lea_add (Net *net, const char *name, GError **error)
{
  g_autofree char *folder = NULL, *serial = NULL, *detail = NULL;
  g_autofree char *seal_key = NULL, *seal_pub = NULL, *ini_path = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(KcSecret) sk = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  char fingerprint[KC_FINGERPRINT_LEN];

  if ((folder = new_member_folder (net, "lea", "LEA", name, "lea.ini", error)) == NULL
      || (serial = issue_into (net, KC_ROLE_LEA, name, NULL, folder, TRUE, error)) == NULL)
    return FALSE;

  /* The sealing key pair every controller seals call keys to (claim 10). */
  seal_key = g_build_filename (folder, "seal.key", NULL);
  seal_pub = g_build_filename (folder, "seal.pub", NULL);
  if (opt.force) {
    g_unlink (seal_key);
    g_unlink (seal_pub);
  }
  if (!kc_hpke_keypair_generate (&sk, pk, error)
      || !kc_hpke_private_key_save_pem (sk, seal_key, error)
      || !kc_hpke_public_key_save_pem (pk, seal_pub, error))
    return FALSE;
  kc_fingerprint_bytes (pk, sizeof pk, fingerprint);

  g_key_file_set_string (kf, "lea", "name", name);
  g_key_file_set_string (kf, "lea", "network", net->name);
  g_key_file_set_string (kf, "lea", "tls-dir", ".");
  g_key_file_set_string (kf, "lea", "seal-private-key", "seal.key");
  g_key_file_set_string (kf, "lea", "seal-public-key", "seal.pub");
  ini_path = g_build_filename (folder, "lea.ini", NULL);
  detail = g_strdup_printf ("lea=%s serial=%s seal-key=%s", name, serial, fingerprint);
  if (!write_keyfile (kf, ini_path, error) || !audit_all (net, "lea-add", detail, error)
      || !update_controller_inis (net, error))
    return FALSE;
  g_print ("Added LEA %s in %s\n  certificate serial %s\n  sealing public key %s "
           "(fingerprint %s)\n", name, folder, serial, seal_pub, fingerprint);
  return TRUE;
}

static gboolean
cmd_gateway_add (Net *net, const char *name, GError **error)
{
  g_autofree char *folder = NULL, *serial = NULL, *detail = NULL, *ini_path = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GError *local = NULL;

  if (opt.host != NULL && !as_usage (kc_pki_check_host (opt.host, &local), &local, error))
    return FALSE;
  if ((folder = new_member_folder (net, "gateways", "gateway", name, "gateway.ini", error)) == NULL
      || (serial = issue_into (net, KC_ROLE_GATEWAY, name, opt.host, folder, TRUE, error)) == NULL)
    return FALSE;
  g_key_file_set_string (kf, "gateway", "name", name);
  g_key_file_set_string (kf, "gateway", "network", net->name);
  if (opt.host != NULL)
    g_key_file_set_string (kf, "gateway", "host", opt.host);
  g_key_file_set_string (kf, "gateway", "tls-dir", ".");
  ini_path = g_build_filename (folder, "gateway.ini", NULL);
  detail = g_strdup_printf ("gateway=%s serial=%s", name, serial);
  if (!write_keyfile (kf, ini_path, error) || !audit_all (net, "gateway-add", detail, error))
    return FALSE;
  g_print ("Added gateway %s in %s\n  certificate serial %s\n", name, folder, serial);
  return TRUE;
}

/* The subscriber @number on whichever controller serves it. */
static KcSubscriber *
find_subscriber (Net *net, const char *number, GError **error)
{
  g_autoptr(GPtrArray) names = controllers (net);

  for (guint i = 0; i < names->len; i++) {
    g_autoptr(KcStore) store = controller_store (net, names->pdata[i], KC_STORE_OPEN_READONLY,
                                                 error);
    g_autoptr(GError) local = NULL;
    KcSubscriber *sub;

    if (store == NULL)
      return NULL;
    if ((sub = kc_store_subscriber_get (store, number, &local)) != NULL)
      return sub;
    if (!g_error_matches (local, KC_ERROR, KC_ERROR_NOT_FOUND)) {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  }
  g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
               "unknown subscriber %s (see 'keycall-admin subscriber list')", number);
  return NULL;
}

static gboolean
check_display_name (const char *name, GError **error)
{
  if (*name == '\0' || strlen (name) > 128 || !g_utf8_validate (name, -1, NULL))
    return usage (error, "--name must be 1 to 128 bytes of UTF-8 text");
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return usage (error, "--name must not contain control characters");
  return TRUE;
}

static gboolean
cmd_subscriber_add (Net *net, const char *number, GError **error)
{
  g_autoptr(GKeyFile) ini = NULL;
  g_autoptr(KcSubscriber) existing = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autoptr(KcVault) vault = NULL;
  g_autoptr(KcSecret) secret = NULL;
  g_autoptr(GBytes) wrapped = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *folder = NULL, *vault_path = NULL, *serial = NULL, *detail = NULL;
  g_auto(GStrv) prefixes = NULL;
  GError *check = NULL;
  gboolean matches;
  KcSubscriber sub = { 0 };

  if (!as_usage (kc_pki_check_number (number, &check), &check, error))
    return FALSE;
  if (opt.name == NULL)
    return usage (error, "missing --name NAME for 'subscriber add'");
  if (opt.controller == NULL)
    return usage (error, "missing --controller NAME for 'subscriber add'");
  if (!check_display_name (opt.name, error)
      || (ini = controller_ini (net, opt.controller, error)) == NULL)
    return FALSE;

  prefixes = g_key_file_get_string_list (ini, "controller", "prefixes", NULL, NULL);
  matches = prefixes == NULL || prefixes[0] == NULL;
  for (gsize i = 0; prefixes != NULL && prefixes[i] != NULL; i++)
    matches |= g_str_has_prefix (number, prefixes[i]);
  if (!matches) {
    g_autofree char *list = g_strjoinv (", ", prefixes);

    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "controller %s serves numbers starting with %s, not %s", opt.controller, list,
                 number);
    return FALSE;
  }
  if ((existing = find_subscriber (net, number, &local)) != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "subscriber %s already exists (%s, on %s)",
                 number, kc_subscriber_state_to_string (existing->state), existing->controller);
    return FALSE;
  }
  if (!g_error_matches (local, KC_ERROR, KC_ERROR_NOT_FOUND)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }

  folder = net_path (net, "subscribers", number, NULL);
  if (g_file_test (folder, G_FILE_TEST_EXISTS) && !opt.force) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "%s exists but no controller knows %s (an earlier run stopped?); rerun with "
                 "--force to replace it", folder, number);
    return FALSE;
  }
  vault_path = net_path (net, "controllers", opt.controller, "vault.key", NULL);
  if ((store = controller_store (net, opt.controller, 0, error)) == NULL
      || (vault = kc_vault_load (vault_path, error)) == NULL
      || (serial = issue_into (net, KC_ROLE_CTA, number, NULL, folder, FALSE, error)) == NULL
      || (secret = kc_secret_new_random (KC_SIGNALING_SECRET_LEN, error)) == NULL
      || (wrapped = kc_vault_wrap (vault, secret, number, error)) == NULL)
    return FALSE;

  sub.number = (char *) number;
  sub.display_name = opt.name;
  sub.state = KC_SUBSCRIBER_ACTIVE;
  sub.controller = opt.controller;
  sub.cert_serial = serial;
  sub.wrapped_secret = wrapped;
  sub.created_at = sub.updated_at = g_get_real_time ();
  detail = g_strdup_printf ("number=%s controller=%s serial=%s", number, opt.controller, serial);
  if (!kc_store_subscriber_add (store, &sub, error)
      || !audit (store, "subscriber-add", detail, error))
    return FALSE;
  g_print ("Added subscriber %s (%s) on controller %s\n  certificate serial %s\n"
           "  next: keycall-admin profile export %s\n", number, opt.name, opt.controller, serial,
           number);
  return TRUE;
}

static gboolean
cmd_subscriber_list (Net *net, const char *operand, GError **error)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint count = 0;

  if (opt.controller != NULL) {
    g_autoptr(GKeyFile) ini = controller_ini (net, opt.controller, error);

    if (ini == NULL)
      return FALSE;
    names = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (names, g_strdup (opt.controller));
  } else {
    names = controllers (net);
  }

  json_builder_begin_array (builder);
  if (!opt.json)
    g_print ("%-16s %-24s %-12s %-10s %s\n", "NUMBER", "NAME", "CONTROLLER", "STATE",
             "CERT SERIAL");
  for (guint i = 0; i < names->len; i++) {
    g_autoptr(KcStore) store = controller_store (net, names->pdata[i], KC_STORE_OPEN_READONLY,
                                                 error);
    g_autoptr(GPtrArray) subs = store ? kc_store_subscriber_list (store, error) : NULL;

    if (subs == NULL)
      return FALSE;
    for (guint j = 0; j < subs->len; j++, count++) {
      KcSubscriber *s = subs->pdata[j];
      const char *state = kc_subscriber_state_to_string (s->state);
      g_autofree char *created = iso_time (s->created_at / G_USEC_PER_SEC);

      if (!opt.json) {
        g_print ("%-16s %-24s %-12s %-10s %s\n", s->number, s->display_name, s->controller,
                 state, s->cert_serial ? s->cert_serial : "-");
        continue;
      }
      json_builder_begin_object (builder);
      json_member (builder, "number", s->number);
      json_member (builder, "name", s->display_name);
      json_member (builder, "controller", s->controller);
      json_member (builder, "state", state);
      json_member (builder, "cert_serial", s->cert_serial);
      json_member (builder, "created", created);
      json_builder_end_object (builder);
    }
  }
  json_builder_end_array (builder);
  if (opt.json)
    print_json (builder);
  else if (count == 0)
    g_print ("(no subscribers)\n");
  return TRUE;
}

/* Marks @serial revoked in the index and re-signs the CRL. */
static gboolean
revoke_serial (Net *net, const char *serial, gboolean *was_revoked, GError **error)
{
  g_autoptr(GPtrArray) list = index_load (net, error);
  Issued *e;

  if (list == NULL)
    return FALSE;
  if ((e = index_find (list, serial, KC_ROLE_INVALID, NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                 "no certificate with serial %s was issued in this network", serial);
    return FALSE;
  }
  *was_revoked = e->revoked;
  if (e->revoked)
    return TRUE;
  e->revoked = TRUE;
  e->revoked_at = g_get_real_time () / G_USEC_PER_SEC;
  return index_save (net, list, error) && crl_publish (net, list, NULL, error);
}

static gboolean
subscriber_change (Net *net, const char *number, KcSubscriberState to, GError **error)
{
  static const char *const verbs[] = { "resume", "suspend", "revoke" };
  g_autoptr(KcSubscriber) sub = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *action = g_strconcat ("subscriber-", verbs[to], NULL);
  gboolean cert_was_revoked = FALSE;
  GError *check = NULL;

  if (!as_usage (kc_pki_check_number (number, &check), &check, error)
      || (sub = find_subscriber (net, number, error)) == NULL)
    return FALSE;
  if (sub->state == to) {
    g_print ("Subscriber %s is already %s\n", number, kc_subscriber_state_to_string (to));
    return TRUE;
  }
  if (sub->state == KC_SUBSCRIBER_REVOKED) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "subscriber %s is revoked and cannot be %sd; add the account again under a "
                 "new number", number, verbs[to]);
    return FALSE;
  }
  /* The certificate first: a revoked state then always means a revoked
   * certificate, and a failed run can simply be repeated. */
  if (to == KC_SUBSCRIBER_REVOKED && sub->cert_serial != NULL
      && !revoke_serial (net, sub->cert_serial, &cert_was_revoked, error))
    return FALSE;
  if ((store = controller_store (net, sub->controller, 0, error)) == NULL
      || !kc_store_subscriber_set_state (store, number, to, error))
    return FALSE;
  detail = g_strdup_printf ("number=%s controller=%s state=%s%s%s", number, sub->controller,
                            kc_subscriber_state_to_string (to),
                            to == KC_SUBSCRIBER_REVOKED ? " revoked-serial=" : "",
                            to == KC_SUBSCRIBER_REVOKED && sub->cert_serial
                            ? sub->cert_serial : "");
  if (!audit (store, action, detail, error))
    return FALSE;
  g_print ("Subscriber %s is now %s%s\n", number, kc_subscriber_state_to_string (to),
           to == KC_SUBSCRIBER_REVOKED ? " (certificate on the CRL)" : "");
  return TRUE;
}

static gboolean
cmd_subscriber_suspend (Net *net, const char *number, GError **error)
{
  return subscriber_change (net, number, KC_SUBSCRIBER_SUSPENDED, error);
}

static gboolean
cmd_subscriber_resume (Net *net, const char *number, GError **error)
{
  return subscriber_change (net, number, KC_SUBSCRIBER_ACTIVE, error);
}

static gboolean
cmd_subscriber_revoke (Net *net, const char *number, GError **error)
{
  return subscriber_change (net, number, KC_SUBSCRIBER_REVOKED, error);
}

/* The profile of @number as the network folder and its controller's store
 * hold it; @sub_out and @serial_out get the account and certificate serial. */
static KcProfile *
subscriber_profile (Net           *net,
                    const char    *number,
                    KcSubscriber **sub_out,
                    char         **serial_out,
                    GError       **error)
{
  g_autoptr(KcSubscriber) sub = NULL;
  g_autoptr(GKeyFile) ini = NULL;
  g_autoptr(KcVault) vault = NULL;
  g_autoptr(KcProfile) profile = g_new0 (KcProfile, 1);
  g_autoptr(X509) cert = NULL;
  g_autofree char *host = NULL, *vault_path = NULL, *cert_path = NULL, *key_path = NULL;
  g_autofree char *ca_path = NULL;
  g_autofree char *cert_serial = NULL;
  int port;
  GError *check = NULL;

  if (!as_usage (kc_pki_check_number (number, &check), &check, error)
      || (sub = find_subscriber (net, number, error)) == NULL)
    return NULL;
  if (sub->state == KC_SUBSCRIBER_REVOKED) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "subscriber %s is revoked; its profile can no longer be exported", number);
    return NULL;
  }
  if ((ini = controller_ini (net, sub->controller, error)) == NULL)
    return NULL;
  host = g_key_file_get_string (ini, "controller", "host", NULL);
  port = g_key_file_get_integer (ini, "controller", "port", NULL);

  cert_path = net_path (net, "subscribers", number, "cert.pem", NULL);
  key_path = net_path (net, "subscribers", number, "key.pem", NULL);
  ca_path = net_path (net, "ca", "ca.pem", NULL);
  vault_path = net_path (net, "controllers", sub->controller, "vault.key", NULL);
  if ((cert = kc_pki_cert_load (cert_path, error)) == NULL)
    return NULL;
  cert_serial = kc_pki_cert_serial (cert);
  if (sub->cert_serial != NULL && g_ascii_strcasecmp (cert_serial, sub->cert_serial) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "%s has serial %s but the store expects %s", cert_path, cert_serial,
                 sub->cert_serial);
    return NULL;
  }

  profile->number = g_strdup (number);
  profile->display_name = g_strdup (sub->display_name);
  profile->controller_name = g_strdup (sub->controller);
  /* The domain the controllers write in From and To (controller.ini). */
  profile->domain = g_strdup (net->domain ? net->domain : DEFAULT_DOMAIN);
  /* IPv6 addresses go in brackets (RFC 3261 section 19.1.1). */
  profile->controller = g_strdup_printf (strchr (host ? host : "", ':')
                                         ? "sips:[%s]:%d;transport=tls"
                                         : "sips:%s:%d;transport=tls", host ? host : "", port);
  profile->certificate = kc_pki_cert_to_pem (cert);
  if (!g_file_get_contents (ca_path, &profile->ca, NULL, error)
      || (profile->private_key = kc_private_file_read (key_path, KC_PKI_MAX_FILE, error)) == NULL
      || (vault = kc_vault_load (vault_path, error)) == NULL
      || (profile->signaling_secret = kc_vault_unwrap (vault, sub->wrapped_secret, number,
                                                       error)) == NULL)
    return NULL;
  *sub_out = g_steal_pointer (&sub);
  *serial_out = g_steal_pointer (&cert_serial);
  return g_steal_pointer (&profile);
}

/* -o FILE, else subscribers/NUMBER/NUMBER@suffix in the network folder. */
static char *
output_path (Net *net, const char *number, const char *suffix)
{
  g_autofree char *file = g_strconcat (number, suffix, NULL);

  if (opt.output != NULL)
    return g_strdup (opt.output);
  return net_path (net, "subscribers", number, file, NULL);
}

static gboolean
cmd_profile_export (Net *net, const char *number, GError **error)
{
  g_autoptr(KcSubscriber) sub = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autoptr(KcProfile) profile = NULL;
  g_autofree char *output = NULL, *detail = NULL, *cert_serial = NULL;

  if ((profile = subscriber_profile (net, number, &sub, &cert_serial, error)) == NULL)
    return FALSE;
  output = output_path (net, number, KC_PROFILE_SUFFIX);
  if (!kc_profile_save (profile, output, opt.force, error)
      || (store = controller_store (net, sub->controller, 0, error)) == NULL)
    return FALSE;
  detail = g_strdup_printf ("number=%s controller=%s serial=%s file=%s", number,
                            sub->controller, cert_serial, output);
  if (!audit (store, "profile-export", detail, error))
    return FALSE;
  if (sub->state == KC_SUBSCRIBER_SUSPENDED)
    g_printerr ("keycall-admin: note: subscriber %s is suspended; the profile works once "
                "'keycall-admin subscriber resume %s' runs\n", number, number);
  g_print ("Exported the profile of %s to %s\n  It holds the private key and signaling secret: "
           "hand it over privately and delete it after import.\n", number, output);
  return TRUE;
}

/* The profile sealed under a one-time code (docs/provisioning.md,
 * "Activation files"): the file may travel by mail, the code goes by
 * another channel. The code is printed once and kept nowhere. */
static gboolean
cmd_profile_activation (Net *net, const char *number, GError **error)
{
  g_autoptr(KcSubscriber) sub = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autoptr(KcProfile) profile = NULL;
  g_autoptr(KcSecret) code = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) expires = NULL;
  g_autofree char *output = NULL, *detail = NULL, *cert_serial = NULL, *when = NULL;
  int days = opt.days != UNSET ? opt.days : ACTIVATION_DAYS;

  if (days > 365)
    return usage (error, "--days for an activation file must be 1 to 365");
  if ((profile = subscriber_profile (net, number, &sub, &cert_serial, error)) == NULL)
    return FALSE;
  /* Open the store first: a file whose handover is not audited is not
   * written. */
  if ((store = controller_store (net, sub->controller, 0, error)) == NULL)
    return FALSE;
  expires = g_date_time_add_days (now, days);
  output = output_path (net, number, KC_ACTIVATION_SUFFIX);
  if ((code = kc_activation_write (profile, g_date_time_to_unix (expires), output, opt.force,
                                   error)) == NULL)
    return FALSE;
  when = g_date_time_format (expires, "%Y-%m-%d %H:%M UTC");
  detail = g_strdup_printf ("number=%s controller=%s serial=%s file=%s expires=%s", number,
                            sub->controller, cert_serial, output, when);
  if (!audit (store, "profile-activation", detail, error)) {
    g_unlink (output);
    return FALSE;
  }
  if (sub->state == KC_SUBSCRIBER_SUSPENDED)
    g_printerr ("keycall-admin: note: subscriber %s is suspended; the activation works once "
                "'keycall-admin subscriber resume %s' runs\n", number, number);
  g_print ("Wrote the activation file of %s to %s (valid until %s)\n"
           "  Activation code: %s\n"
           "  Give the code to the user another way than the file (in person, by phone);\n"
           "  it is shown only this once and kept nowhere.\n",
           number, output, when, (const char *) kc_secret_get_data (code));
  return TRUE;
}

static gboolean
cmd_crl_show (Net *net, const char *operand, GError **error)
{
  g_autofree char *path = net_path (net, "crl.pem", NULL);
  g_autoptr(X509_CRL) crl = kc_pki_crl_load (path, error);
  g_autoptr(GPtrArray) list = crl ? index_load (net, error) : NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *last = NULL, *next = NULL;
  STACK_OF(X509_REVOKED) *revoked;
  int n;

  if (list == NULL)
    return FALSE;
  revoked = X509_CRL_get_REVOKED (crl);
  n = sk_X509_REVOKED_num (revoked);
  last = iso_time (asn1_seconds (X509_CRL_get0_lastUpdate (crl)));
  next = iso_time (asn1_seconds (X509_CRL_get0_nextUpdate (crl)));
  if (!opt.json)
    g_print ("CRL #%" G_GUINT64_FORMAT " of %s, signed %s, next update %s: %d revoked\n",
             kc_pki_crl_number (crl), net->name, last, next, n);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "number");
  json_builder_add_int_value (b, (gint64) kc_pki_crl_number (crl));
  json_member (b, "last_update", last);
  json_member (b, "next_update", next);
  json_builder_set_member_name (b, "revoked");
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++) {
    X509_REVOKED *r = sk_X509_REVOKED_value (revoked, i);
    BIGNUM *bn = ASN1_INTEGER_to_BN (X509_REVOKED_get0_serialNumber (r), NULL);
    char *hex = BN_bn2hex (bn);
    g_autofree char *when = iso_time (asn1_seconds (X509_REVOKED_get0_revocationDate (r)));
    Issued *e = index_find (list, hex, KC_ROLE_INVALID, NULL);

    if (!opt.json) {
      g_print ("  %-34s %s  %s:%s\n", hex, when, e ? kc_role_to_string (e->role) : "?",
               e ? e->identity : "?");
    } else {
      json_builder_begin_object (b);
      json_member (b, "serial", hex);
      json_member (b, "revoked_at", when);
      json_member (b, "role", e ? kc_role_to_string (e->role) : NULL);
      json_member (b, "identity", e ? e->identity : NULL);
      json_builder_end_object (b);
    }
    OPENSSL_free (hex);
    BN_free (bn);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (opt.json)
    print_json (b);
  return TRUE;
}

static gboolean
cmd_crl_update (Net *net, const char *operand, GError **error)
{
  g_autoptr(GPtrArray) list = index_load (net, error);
  guint64 number;

  if (list == NULL || !crl_publish (net, list, &number, error)
      || !audit_all (net, "crl-update", "", error))
    return FALSE;
  g_print ("Signed CRL #%" G_GUINT64_FORMAT " (%s/crl.pem, copied to every controller)\n",
           number, net->dir);
  return TRUE;
}

static gboolean
cmd_revoke_cert (Net *net, const char *serial_arg, GError **error)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *detail = NULL;
  int selectors = (serial_arg != NULL) + (opt.controller != NULL) + (opt.lea != NULL)
                  + (opt.gateway != NULL);
  gboolean was_revoked = FALSE;
  Issued *e;

  if (selectors != 1)
    return usage (error, "'revoke-cert' needs exactly one of SERIAL, --controller NAME, "
                  "--lea NAME or --gateway NAME");
  if (serial_arg != NULL) {
    GError *local = NULL;

    if (!as_usage ((serial = kc_pki_serial_normalize (serial_arg, &local)) != NULL, &local, error))
      return FALSE;
  } else {
    KcRole role = opt.controller ? KC_ROLE_CONTROLLER : opt.lea ? KC_ROLE_LEA : KC_ROLE_GATEWAY;
    const char *name = opt.controller ? opt.controller : opt.lea ? opt.lea : opt.gateway;

    if ((list = index_load (net, error)) == NULL)
      return FALSE;
    if ((e = index_find (list, NULL, role, name)) == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "no valid certificate for %s '%s'",
                   kc_role_to_string (role), name);
      return FALSE;
    }
    serial = g_strdup (e->serial);
  }
  if (!revoke_serial (net, serial, &was_revoked, error))
    return FALSE;
  if (was_revoked) {
    g_print ("Certificate %s was already revoked\n", serial);
    return TRUE;
  }
  detail = g_strdup_printf ("serial=%s", serial);
  if (!audit_all (net, "cert-revoke", detail, error))
    return FALSE;
  g_print ("Revoked certificate %s; the CRL is re-signed and copied to every controller\n", serial);
  return TRUE;
}

/* One keycall-admin at a time per network: the index and the CRL are
 * read, changed and written back. Held until the process exits. */
static gboolean
lock_network (Net *net, GError **error)
{
  g_autofree char *path = net_path (net, ".lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0 || flock (fd, LOCK_EX) < 0) {
    int errsv = errno;

    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot lock %s: %s", path, g_strerror (errsv));
    return FALSE;
  }
  return TRUE;
}

/* Audit ------------------------------------------------------------------ */

/* The store named by --store, or --controller's; read-only. @label: how
 * to name it to a person. */
static KcStore *
audit_store (Net *net, char **label, GError **error)
{
  g_autoptr(GKeyFile) kf = NULL;

  if ((opt.store != NULL) == (opt.controller != NULL)) {
    usage (error, "give either --controller NAME or --store PATH");
    return NULL;
  }
  if (opt.store != NULL) {
    *label = g_strdup (opt.store);
    return kc_store_open (opt.store, KC_STORE_OPEN_READONLY, error);
  }
  if ((kf = controller_ini (net, opt.controller, error)) == NULL)
    return NULL;
  *label = g_strdup (opt.controller);
  return controller_store (net, opt.controller, KC_STORE_OPEN_READONLY, error);
}

static gboolean
cmd_audit_verify (Net *net, const char *operand, GError **error)
{
  g_autofree char *label = NULL;
  g_autoptr(KcStore) store = audit_store (net, &label, error);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) local = NULL;
  gint64 bad = 0;

  if (store == NULL)
    return FALSE;
  if (!kc_store_audit_verify (store, &bad, &local)) {
    if (bad > 0)
      g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "audit log of %s: record %" G_GINT64_FORMAT
                   " does not fit the chain: %s", label, bad, local->message);
    else
      g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if ((records = kc_store_audit_list (store, error)) == NULL)
    return FALSE;
  g_print ("audit log of %s: %u records, chain intact\n", label, records->len);
  return TRUE;
}

static gboolean
cmd_audit_list (Net *net, const char *operand, GError **error)
{
  g_autofree char *label = NULL;
  g_autoptr(KcStore) store = audit_store (net, &label, error);
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();

  if (store == NULL || (records = kc_store_audit_list (store, error)) == NULL)
    return FALSE;
  json_builder_begin_array (b);
  for (guint i = 0; i < records->len; i++) {
    KcAuditRecord *r = records->pdata[i];
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (r->time / G_USEC_PER_SEC);
    g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("-");

    if (opt.json) {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, r->seq);
      json_member (b, "time", when);
      json_member (b, "actor", r->actor);
      json_member (b, "action", r->action);
      json_member (b, "detail", r->detail);
      json_member (b, "hash", r->hash);
      json_builder_end_object (b);
    }
    else
      g_print ("%" G_GINT64_FORMAT "\t%s\t%s\t%s\t%s\n", r->seq, when, r->actor, r->action,
               r->detail);
  }
  json_builder_end_array (b);
  if (opt.json)
    print_json (b);
  return TRUE;
}

/* Dispatch --------------------------------------------------------------- */

typedef struct {
  const char *group;       /* first word, or NULL for one-word commands */
  const char *name;
  const char *operand;     /* "NUMBER", …, or NULL */
  gboolean    optional;
  guint       options;
  gboolean  (*run)  (Net *net, const char *operand, GError **error);
  const char *synopsis;
} Command;

static const Command commands[] = {
  { NULL, "init", NULL, FALSE, OPT_NAME | OPT_DOMAIN | OPT_DAYS | OPT_FORCE, cmd_init,
    "init --name NAME [--domain keycall.test]" },
  { "controller", "add", "NAME", FALSE,
    OPT_HOST | OPT_PORT | OPT_LI_PORT | OPT_PREFIX | OPT_DAYS | OPT_FORCE, cmd_controller_add,
    "controller add NAME --host HOST [--port 5061] [--li-port PORT] [--prefix DIGITS ...]" },
  { "lea", "add", "NAME", FALSE, OPT_DAYS | OPT_FORCE, cmd_lea_add, "lea add NAME" },
  { "gateway", "add", "NAME", FALSE, OPT_HOST | OPT_DAYS | OPT_FORCE, cmd_gateway_add,
    "gateway add NAME [--host HOST]" },
  { "subscriber", "add", "NUMBER", FALSE, OPT_NAME | OPT_CONTROLLER | OPT_DAYS | OPT_FORCE,
    cmd_subscriber_add, "subscriber add NUMBER --name NAME --controller NAME" },
  { "subscriber", "list", NULL, FALSE, OPT_CONTROLLER | OPT_JSON, cmd_subscriber_list,
    "subscriber list [--controller NAME] [--json]" },
  { "subscriber", "suspend", "NUMBER", FALSE, 0, cmd_subscriber_suspend,
    "subscriber suspend NUMBER" },
  { "subscriber", "resume", "NUMBER", FALSE, 0, cmd_subscriber_resume, "subscriber resume NUMBER" },
  { "subscriber", "revoke", "NUMBER", FALSE, 0, cmd_subscriber_revoke, "subscriber revoke NUMBER" },
  { "profile", "export", "NUMBER", FALSE, OPT_OUTPUT | OPT_FORCE, cmd_profile_export,
    "profile export NUMBER [-o FILE] [--force]" },
  { "profile", "activation", "NUMBER", FALSE, OPT_OUTPUT | OPT_DAYS | OPT_FORCE,
    cmd_profile_activation, "profile activation NUMBER [-o FILE] [--days 7] [--force]" },
  { "crl", "show", NULL, FALSE, OPT_JSON, cmd_crl_show, "crl show [--json]" },
  { "crl", "update", NULL, FALSE, 0, cmd_crl_update, "crl update" },
  { NULL, "revoke-cert", "SERIAL", TRUE, OPT_CONTROLLER | OPT_LEA | OPT_GATEWAY, cmd_revoke_cert,
    "revoke-cert SERIAL | --controller NAME | --lea NAME | --gateway NAME" },
  { "audit", "verify", NULL, FALSE, OPT_CONTROLLER | OPT_STORE, cmd_audit_verify,
    "audit verify --controller NAME | --store PATH" },
  { "audit", "list", NULL, FALSE, OPT_CONTROLLER | OPT_STORE | OPT_JSON, cmd_audit_list,
    "audit list --controller NAME | --store PATH [--json]" },
};

static guint
options_given (void)
{
  return (opt.name ? OPT_NAME : 0) | (opt.domain ? OPT_DOMAIN : 0) | (opt.host ? OPT_HOST : 0)
         | (opt.port != UNSET ? OPT_PORT : 0) | (opt.prefixes ? OPT_PREFIX : 0)
         | (opt.controller ? OPT_CONTROLLER : 0) | (opt.lea ? OPT_LEA : 0)
         | (opt.gateway ? OPT_GATEWAY : 0) | (opt.output ? OPT_OUTPUT : 0)
         | (opt.days != UNSET ? OPT_DAYS : 0) | (opt.force ? OPT_FORCE : 0) | (opt.json ? OPT_JSON : 0)
         | (opt.li_port != UNSET ? OPT_LI_PORT : 0) | (opt.store ? OPT_STORE : 0);
}

static const char *
option_name (guint bit)
{
  static const char *const names[] = { "--name", "--domain", "--host", "--port", "--prefix",
    "--controller", "--lea", "--gateway", "--output", "--days", "--force", "--json", "--li-port",
    "--store" };

  return names[g_bit_nth_lsf (bit, -1)];
}

/* Finds the command in @args (after the program name); @rest gets its operands. */
static const Command *
find_command (char **args, char ***rest, GError **error)
{
  gboolean group_known = FALSE;

  if (args[0] == NULL) {
    usage (error, "missing command (see 'keycall-admin --help')");
    return NULL;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++) {
    const Command *c = &commands[i];

    if (c->group == NULL && g_str_equal (args[0], c->name)) {
      *rest = args + 1;
      return c;
    }
    if (c->group != NULL && g_str_equal (args[0], c->group)) {
      group_known = TRUE;
      if (args[1] != NULL && g_str_equal (args[1], c->name)) {
        *rest = args + 2;
        return c;
      }
    }
  }
  if (!group_known)
    usage (error, "unknown command '%s' (see 'keycall-admin --help')", args[0]);
  else if (args[1] == NULL)
    usage (error, "missing subcommand after '%s' (see 'keycall-admin --help')", args[0]);
  else
    usage (error, "unknown subcommand '%s %s' (see 'keycall-admin --help')", args[0], args[1]);
  return NULL;
}

static gboolean
run (int argc, char **argv, GError **error)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("COMMAND [ARGUMENT]");
  g_autoptr(GString) summary = g_string_new ("Commands:");
  g_autofree char *label = NULL;
  g_autoptr(Net) net = NULL;
  const Command *command;
  char **rest = NULL;
  const char *operand = NULL;
  guint extra;

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (summary, "\n  keycall-admin %s", commands[i].synopsis);
  g_option_context_set_summary (context, summary->str);
  g_option_context_set_description (context, "See docs/provisioning.md for the network folder.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, error)) {
    (*error)->domain = USAGE_ERROR;
    return FALSE;
  }
  if ((command = find_command (argv + 1, &rest, error)) == NULL)
    return FALSE;
  label = command->group ? g_strdup_printf ("%s %s", command->group, command->name)
                         : g_strdup (command->name);
  if (rest[0] != NULL && rest[0][0] == '-' && rest[0][1] != '\0')
    return usage (error, "unknown option '%s'", rest[0]);
  if (command->operand != NULL && rest[0] != NULL)
    operand = *rest++;
  if (command->operand != NULL && operand == NULL && !command->optional)
    return usage (error, "missing %s for '%s'", command->operand, label);
  if (rest[0] != NULL)
    return usage (error, "unexpected argument '%s' for '%s'", rest[0], label);
  if ((extra = options_given () & ~command->options) != 0)
    return usage (error, "option %s does not apply to '%s'", option_name (extra), label);
  if (opt.days != UNSET && (opt.days < 1 || opt.days > 36500))
    return usage (error, "--days must be 1 to 36500");

  if (opt.dir == NULL)
    opt.dir = g_strdup (g_getenv ("KEYCALL_NETWORK") ? g_getenv ("KEYCALL_NETWORK") : DEFAULT_DIR);
  if (command->run == cmd_init) {
    net = g_new0 (Net, 1);
    net->dir = g_strdup (opt.dir);
    if (!make_dir (net->dir, error))
      return FALSE;
  } else if (opt.store != NULL) {
    /* A store on its own (a copy kept as evidence): no network needed. */
    return command->run (NULL, operand, error);
  } else if ((net = net_open (opt.dir, error)) == NULL) {
    return FALSE;
  }
  /* Reading the audit log changes nothing: no lock, so it can run while
   * another keycall-admin works. */
  if (command->run == cmd_audit_verify || command->run == cmd_audit_list)
    return command->run (net, operand, error);
  return lock_network (net, error) && command->run (net, operand, error);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  kc_secure_heap_init ();
  if (run (argc, argv, &error))
    return EXIT_SUCCESS;

  if (error->domain == KC_ERROR && error->code == KC_ERROR_EXISTS
      && strstr (error->message, "refusing to overwrite") != NULL)
    g_printerr ("keycall-admin: %s; use --force to replace it\n", error->message);
  else
    g_printerr ("keycall-admin: %s\n", error->message);
  return error->domain == USAGE_ERROR ? EXIT_USAGE : EXIT_FAILURE;
}
