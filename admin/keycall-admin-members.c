/* keycall-admin-members.c: creating a network (init) and its members:
 * controllers, LEAs and gateways, and keeping the peers, LI addresses and
 * LEA key in every controller.ini and lea.ini in step with them.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

#include "kc-hpke.h"
#include "kc-profile.h"
#include "kc-vault.h"

#include <glib/gstdio.h>
#include <string.h>

/* A member folder for a new controller, LEA or gateway: refused when the
 * member exists, or when an interrupted run left files, unless --force. */
static char *
new_member_folder (Net *net, const char *kind, const char *what, const char *name,
                   const char *marker, GError **error)
{
  g_autofree char *folder = admin_net_path (net, kind, name, NULL);
  g_autofree char *ini = g_build_filename (folder, marker, NULL);
  GError *local = NULL;

  if (!admin_as_usage (kc_pki_check_name (name, &local), &local, error))
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
  g_autoptr(GPtrArray) list = admin_index_load (net, error);

  if (list == NULL)
    return NULL;
  for (guint i = 0; i < list->len; i++) {
    Issued *e = list->pdata[i];
    g_autofree char *ini = admin_net_path (net, "lea", e->identity, "lea.ini", NULL);

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
  g_autoptr(GPtrArray) names = admin_controllers (net);
  GHashTable *used = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < names->len; i++) {
    g_autoptr(GKeyFile) kf = NULL;
    g_autofree char *other_host = NULL;
    int port;

    if (g_strcmp0 (names->pdata[i], except) == 0
        || (kf = admin_controller_ini (net, names->pdata[i], NULL)) == NULL)
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
  g_autoptr(GPtrArray) names = admin_controllers (net);

  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = admin_net_path (net, "controllers", names->pdata[i], "controller.ini",
                                            NULL);
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
    if (!admin_write_keyfile (kf, path, error))
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
  g_autoptr(GPtrArray) leas = admin_net_members (net, "lea", "lea.ini");

  for (guint i = 0; i < leas->len; i++) {
    g_autofree char *path = admin_net_path (net, "lea", leas->pdata[i], "lea.ini", NULL);
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
    if (!admin_write_keyfile (kf, path, error))
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
  g_autoptr(GPtrArray) names = admin_controllers (net);
  g_autoptr(GPtrArray) inis = g_ptr_array_new_with_free_func ((GDestroyNotify) g_key_file_unref);
  g_autofree char *lea = NULL, *seal_pub = NULL, *seal_text = NULL;
  gsize seal_len = 0;
  GError *local = NULL;

  if ((lea = first_lea (net, &local)) == NULL && local != NULL) {
    g_propagate_error (error, local);
    return FALSE;
  }
  if (lea != NULL) {
    seal_pub = admin_net_path (net, "lea", lea, "seal.pub", NULL);
    if (!g_file_get_contents (seal_pub, &seal_text, &seal_len, error))
      return FALSE;
  }
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *path = admin_net_path (net, "controllers", names->pdata[i], "controller.ini",
                                            NULL);
    GKeyFile *kf = g_key_file_new ();

    g_ptr_array_add (inis, kf);
    if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, error))
      return FALSE;
  }
  for (guint i = 0; i < names->len; i++) {
    const char *name = names->pdata[i];
    GKeyFile *kf = inis->pdata[i];
    g_autofree char *path = admin_net_path (net, "controllers", name, "controller.ini", NULL);

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
      g_autofree char *copy = admin_net_path (net, "controllers", name, LEA_KEY_COPY, NULL);

      if (!kc_file_write (copy, seal_text, seal_len, 0644, TRUE, error))
        return FALSE;
      g_key_file_set_string (kf, "controller", "lea-public-key", LEA_KEY_COPY);
    }
    if (!admin_write_keyfile (kf, path, error))
      return FALSE;
  }
  return update_lea_inis (net, names, inis, error);
}

/* Commands --------------------------------------------------------------- */

gboolean
admin_cmd_init (Net *net, const char *operand, GError **error)
{
  static const char *const kinds[] = { "ca", "controllers", "lea", "gateways", "subscribers" };
  const char *domain = opt.domain ? opt.domain : DEFAULT_DOMAIN;
  g_autofree char *ini = admin_net_path (net, "network.ini", NULL);
  g_autofree char *ca_pem = admin_net_path (net, "ca", "ca.pem", NULL);
  g_autofree char *ca_key = admin_net_path (net, "ca", "ca.key", NULL);
  g_autoptr(GPtrArray) empty = g_ptr_array_new ();
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  guint8 *der = NULL;
  int der_len;
  char fingerprint[KC_FINGERPRINT_LEN];

  if (opt.name == NULL)
    return admin_usage (error, "missing --name NAME for 'init'");
  if (strlen (domain) > 253 || strstr (domain, "..") != NULL
      || !g_regex_match_simple ("^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$", domain, 0, 0))
    return admin_usage (error, "'%s' is not a valid domain name", domain);
  if (g_file_test (ini, G_FILE_TEST_EXISTS)) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "a Keycall network already exists in %s; refusing to initialise it again",
                 net->dir);
    return FALSE;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++) {
    g_autofree char *path = admin_net_path (net, kinds[i], NULL);

    if (!admin_make_dir (path, error))
      return FALSE;
  }
  if ((net->ca = kc_ca_new (opt.name, opt.days != UNSET ? (guint) opt.days : 0, error)) == NULL
      || !kc_ca_save (net->ca, ca_pem, ca_key, opt.force, error)
      || !admin_index_save (net, empty, error)
      || !admin_crl_publish (net, empty, NULL, error))
    return FALSE;

  /* network.ini last: its presence means "initialised". */
  g_key_file_set_string (kf, "network", "name", opt.name);
  g_key_file_set_string (kf, "network", "domain", domain);
  if (!admin_write_keyfile (kf, ini, error))
    return FALSE;

  /* The first bytes of `openssl x509 -fingerprint -sha256`, to check copies by. */
  der_len = i2d_X509 (kc_ca_get_cert (net->ca), &der);
  kc_fingerprint_bytes (der, (gsize) MAX (der_len, 0), fingerprint);
  OPENSSL_free (der);
  g_print ("Initialised Keycall network “%s” (domain %s) in %s\n", opt.name, domain, net->dir);
  g_print ("  CA certificate: %s (SHA-256 %s…)\n", ca_pem, fingerprint);
  return TRUE;
}

gboolean
admin_cmd_controller_add (Net *net, const char *name, GError **error)
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
    return admin_usage (error, "missing --host HOST for 'controller add'");
  if (port < 1 || port > 65535)
    return admin_usage (error, "--port must be 1 to 65535");
  /* Default: the SIP port + 1, or the next port no controller on this
   * host uses (SIP or LI). */
  used = ports_on_host (net, opt.host, name);
  if (li_port == UNSET) {
    g_hash_table_add (used, GINT_TO_POINTER (port));
    if ((li_port = next_free_port (used, port + 1)) == 0)
      return admin_usage (error, "no port above %d is free on %s for the LI port; give --li-port",
                          port, opt.host);
  }
  else if (li_port < 1 || li_port > 65535)
    return admin_usage (error, "--li-port must be 1 to 65535");
  else if (li_port == port)
    return admin_usage (error, "--li-port must differ from the SIP port %d", port);
  else if (g_hash_table_contains (used, GINT_TO_POINTER (li_port)))
    return admin_usage (error, "--li-port %d is a port another controller on %s already uses",
                        li_port, opt.host);
  if (!admin_as_usage (kc_pki_check_host (opt.host, &local), &local, error))
    return FALSE;
  for (gsize i = 0; i < n_prefixes; i++)
    if (!admin_as_usage (kc_pki_check_number (opt.prefixes[i], &local), &local, error))
      return FALSE;
  if ((folder = new_member_folder (net, "controllers", "controller", name, "controller.ini",
                                   error)) == NULL)
    return FALSE;
  if ((serial = admin_issue_into (net, KC_ROLE_CONTROLLER, name, opt.host, folder, TRUE,
                                 error)) == NULL)
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
    g_autofree char *crl_path = admin_net_path (net, "crl.pem", NULL);
    g_autoptr(X509_CRL) crl = kc_pki_crl_load (crl_path, error);

    if (crl == NULL || !kc_pki_crl_save (crl, crl_copy, error)
        || !admin_write_keyfile (kf, ini_path, error))
      return FALSE;
  }

  prefixes = opt.prefixes ? g_strjoinv (",", opt.prefixes) : g_strdup ("");
  detail = g_strdup_printf ("controller=%s host=%s port=%d li-listen=%s prefixes=%s serial=%s",
                            name, opt.host, port, li_listen, prefixes, serial);
  if (!admin_audit (store, "controller-add", detail, error)
      || !move_li_ports (net, name, opt.host, port, error)
      || !update_controller_inis (net, error))
    return FALSE;
  g_print ("Added controller %s (sips:%s:%d, prefixes %s) in %s\n  certificate serial %s\n"
           "  lawful intercept on %s\n", name, opt.host, port, *prefixes ? prefixes : "any",
           folder, serial, li_listen);
  return TRUE;
}

gboolean
admin_cmd_lea_add (Net *net, const char *name, GError **error)
{
  g_autofree char *folder = NULL, *serial = NULL, *detail = NULL;
  g_autofree char *seal_key = NULL, *seal_pub = NULL, *ini_path = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(KcSecret) sk = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  char fingerprint[KC_FINGERPRINT_LEN];

  if ((folder = new_member_folder (net, "lea", "LEA", name, "lea.ini", error)) == NULL
      || (serial = admin_issue_into (net, KC_ROLE_LEA, name, NULL, folder, TRUE, error)) == NULL)
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
  if (!admin_write_keyfile (kf, ini_path, error) || !admin_audit_all (net, "lea-add", detail, error)
      || !update_controller_inis (net, error))
    return FALSE;
  g_print ("Added LEA %s in %s\n  certificate serial %s\n  sealing public key %s "
           "(fingerprint %s)\n", name, folder, serial, seal_pub, fingerprint);
  return TRUE;
}

gboolean
admin_cmd_gateway_add (Net *net, const char *name, GError **error)
{
  g_autofree char *folder = NULL, *serial = NULL, *detail = NULL, *ini_path = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GError *local = NULL;

  if (opt.host != NULL && !admin_as_usage (kc_pki_check_host (opt.host, &local), &local, error))
    return FALSE;
  if ((folder = new_member_folder (net, "gateways", "gateway", name, "gateway.ini", error)) == NULL
      || (serial = admin_issue_into (net, KC_ROLE_GATEWAY, name, opt.host, folder, TRUE,
                                     error)) == NULL)
    return FALSE;
  g_key_file_set_string (kf, "gateway", "name", name);
  g_key_file_set_string (kf, "gateway", "network", net->name);
  if (opt.host != NULL)
    g_key_file_set_string (kf, "gateway", "host", opt.host);
  g_key_file_set_string (kf, "gateway", "tls-dir", ".");
  ini_path = g_build_filename (folder, "gateway.ini", NULL);
  detail = g_strdup_printf ("gateway=%s serial=%s", name, serial);
  if (!admin_write_keyfile (kf, ini_path, error)
      || !admin_audit_all (net, "gateway-add", detail, error))
    return FALSE;
  g_print ("Added gateway %s in %s\n  certificate serial %s\n", name, folder, serial);
  return TRUE;
}
