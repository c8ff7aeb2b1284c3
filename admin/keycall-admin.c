/* keycall-admin.c: the provisioning server (FIG. 1, 122) and the customer
 * service tool (120) of a Keycall network: the network CA, controllers,
 * LEAs, gateways, subscriber accounts, CTA profiles and the CRL, all kept in
 * one network folder (docs/provisioning.md).
 * This file: the options, the command table and main(); the commands are
 * in keycall-admin-<family>.c, what they share in keycall-admin-private.h.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <string.h>
#include <sys/file.h>

#define EXIT_USAGE   2
#define DEFAULT_DIR  "./keycall-network"

G_DEFINE_QUARK (keycall-admin-usage-error, admin_usage_error)

enum {
  OPT_NAME = 1 << 0, OPT_DOMAIN = 1 << 1, OPT_HOST = 1 << 2, OPT_PORT = 1 << 3,
  OPT_PREFIX = 1 << 4, OPT_CONTROLLER = 1 << 5, OPT_LEA = 1 << 6, OPT_GATEWAY = 1 << 7,
  OPT_OUTPUT = 1 << 8, OPT_DAYS = 1 << 9, OPT_FORCE = 1 << 10, OPT_JSON = 1 << 11,
  OPT_LI_PORT = 1 << 12, OPT_STORE = 1 << 13,
};

AdminOptions opt = { .port = UNSET, .days = UNSET, .li_port = UNSET };

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

/* One keycall-admin at a time per network: the index and the CRL are
 * read, changed and written back. Held until the process exits. */
static gboolean
lock_network (Net *net, GError **error)
{
  g_autofree char *path = admin_net_path (net, ".lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0 || flock (fd, LOCK_EX) < 0) {
    int errsv = errno;

    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot lock %s: %s", path, g_strerror (errsv));
    return FALSE;
  }
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
  { NULL, "init", NULL, FALSE, OPT_NAME | OPT_DOMAIN | OPT_DAYS | OPT_FORCE, admin_cmd_init,
    "init --name NAME [--domain keycall.test]" },
  { "controller", "add", "NAME", FALSE,
    OPT_HOST | OPT_PORT | OPT_LI_PORT | OPT_PREFIX | OPT_DAYS | OPT_FORCE, admin_cmd_controller_add,
    "controller add NAME --host HOST [--port 5061] [--li-port PORT] [--prefix DIGITS ...]" },
  { "lea", "add", "NAME", FALSE, OPT_DAYS | OPT_FORCE, admin_cmd_lea_add, "lea add NAME" },
  { "gateway", "add", "NAME", FALSE, OPT_HOST | OPT_DAYS | OPT_FORCE, admin_cmd_gateway_add,
    "gateway add NAME [--host HOST]" },
  { "subscriber", "add", "NUMBER", FALSE, OPT_NAME | OPT_CONTROLLER | OPT_DAYS | OPT_FORCE,
    admin_cmd_subscriber_add, "subscriber add NUMBER --name NAME --controller NAME" },
  { "subscriber", "list", NULL, FALSE, OPT_CONTROLLER | OPT_JSON, admin_cmd_subscriber_list,
    "subscriber list [--controller NAME] [--json]" },
  { "subscriber", "suspend", "NUMBER", FALSE, 0, admin_cmd_subscriber_suspend,
    "subscriber suspend NUMBER" },
  { "subscriber", "resume", "NUMBER", FALSE, 0, admin_cmd_subscriber_resume,
    "subscriber resume NUMBER" },
  { "subscriber", "revoke", "NUMBER", FALSE, 0, admin_cmd_subscriber_revoke,
    "subscriber revoke NUMBER" },
  { "profile", "export", "NUMBER", FALSE, OPT_OUTPUT | OPT_FORCE, admin_cmd_profile_export,
    "profile export NUMBER [-o FILE] [--force]" },
  { "profile", "activation", "NUMBER", FALSE, OPT_OUTPUT | OPT_DAYS | OPT_FORCE,
    admin_cmd_profile_activation, "profile activation NUMBER [-o FILE] [--days 7] [--force]" },
  { "crl", "show", NULL, FALSE, OPT_JSON, admin_cmd_crl_show, "crl show [--json]" },
  { "crl", "update", NULL, FALSE, 0, admin_cmd_crl_update, "crl update" },
  { NULL, "revoke-cert", "SERIAL", TRUE, OPT_CONTROLLER | OPT_LEA | OPT_GATEWAY,
    admin_cmd_revoke_cert,
    "revoke-cert SERIAL | --controller NAME | --lea NAME | --gateway NAME" },
  { "audit", "verify", NULL, FALSE, OPT_CONTROLLER | OPT_STORE, admin_cmd_audit_verify,
    "audit verify --controller NAME | --store PATH" },
  { "audit", "list", NULL, FALSE, OPT_CONTROLLER | OPT_STORE | OPT_JSON, admin_cmd_audit_list,
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
    admin_usage (error, "missing command (see 'keycall-admin --help')");
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
    admin_usage (error, "unknown command '%s' (see 'keycall-admin --help')", args[0]);
  else if (args[1] == NULL)
    admin_usage (error, "missing subcommand after '%s' (see 'keycall-admin --help')", args[0]);
  else
    admin_usage (error, "unknown subcommand '%s %s' (see 'keycall-admin --help')", args[0],
                 args[1]);
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
    return admin_usage (error, "unknown option '%s'", rest[0]);
  if (command->operand != NULL && rest[0] != NULL)
    operand = *rest++;
  if (command->operand != NULL && operand == NULL && !command->optional)
    return admin_usage (error, "missing %s for '%s'", command->operand, label);
  if (rest[0] != NULL)
    return admin_usage (error, "unexpected argument '%s' for '%s'", rest[0], label);
  if ((extra = options_given () & ~command->options) != 0)
    return admin_usage (error, "option %s does not apply to '%s'", option_name (extra), label);
  if (opt.days != UNSET && (opt.days < 1 || opt.days > 36500))
    return admin_usage (error, "--days must be 1 to 36500");

  if (opt.dir == NULL)
    opt.dir = g_strdup (g_getenv ("KEYCALL_NETWORK") ? g_getenv ("KEYCALL_NETWORK") : DEFAULT_DIR);
  if (command->run == admin_cmd_init) {
    net = g_new0 (Net, 1);
    net->dir = g_strdup (opt.dir);
    if (!admin_make_dir (net->dir, error))
      return FALSE;
  } else if (opt.store != NULL) {
    /* A store on its own (a copy kept as evidence): no network needed. */
    return command->run (NULL, operand, error);
  } else if ((net = admin_net_open (opt.dir, error)) == NULL) {
    return FALSE;
  }
  /* Reading the audit log changes nothing: no lock, so it can run while
   * another keycall-admin works. */
  if (command->run == admin_cmd_audit_verify || command->run == admin_cmd_audit_list)
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
