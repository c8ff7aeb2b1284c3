/* keycall-admin-private.h: what the parts of keycall-admin share: the
 * options, the network folder and its helpers (keycall-admin-net.c), and
 * the commands keycall-admin.c dispatches to. Not installed.
 */
#pragma once

#include "kc-error.h"
#include "kc-keys.h"
#include "kc-pki.h"
#include "kc-store.h"

#include <json-glib/json-glib.h>
#include <openssl/x509.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

#define UNSET        G_MININT   /* an integer option not given */
#define DEFAULT_DOMAIN "keycall.test"

/* Usage errors exit with 2, every other failure with 1. */
#define USAGE_ERROR (admin_usage_error_quark ())
GQuark admin_usage_error_quark (void);

typedef struct {
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
} AdminOptions;

/* The command line, as keycall-admin.c parsed it. */
extern AdminOptions opt;

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

void        admin_net_free          (Net              *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Net, admin_net_free)

/* Usage errors and small helpers */
gboolean    admin_usage             (GError          **error,
                                     const char       *format,
                                     ...) G_GNUC_PRINTF (2, 3);
gboolean    admin_as_usage          (gboolean          ok,
                                     GError          **local,
                                     GError          **error);
gboolean    admin_make_dir          (const char       *path,
                                     GError          **error);
gboolean    admin_write_keyfile     (GKeyFile         *kf,
                                     const char       *path,
                                     GError          **error);
gint64      admin_asn1_seconds      (const ASN1_TIME  *t);
char       *admin_iso_time          (gint64            seconds);
void        admin_json_member       (JsonBuilder      *b,
                                     const char       *name,
                                     const char       *value);
void        admin_print_json        (JsonBuilder      *b);

/* The network folder */
Net        *admin_net_open          (const char       *dir,
                                     GError          **error);
char       *admin_net_path          (Net              *net,
                                     const char       *first,
                                     ...) G_GNUC_NULL_TERMINATED;
GPtrArray  *admin_net_members       (Net              *net,
                                     const char       *kind,
                                     const char       *marker);
GPtrArray  *admin_controllers       (Net              *net);
GKeyFile   *admin_controller_ini    (Net              *net,
                                     const char       *name,
                                     GError          **error);
KcStore    *admin_controller_store  (Net              *net,
                                     const char       *name,
                                     KcStoreOpenFlags  flags,
                                     GError          **error);
gboolean    admin_audit             (KcStore          *store,
                                     const char       *action,
                                     const char       *detail,
                                     GError          **error);
gboolean    admin_audit_all         (Net              *net,
                                     const char       *action,
                                     const char       *detail,
                                     GError          **error);

/* The issued-certificate index, the CRL, issuing */
GPtrArray  *admin_index_load        (Net              *net,
                                     GError          **error);
gboolean    admin_index_save        (Net              *net,
                                     GPtrArray        *list,
                                     GError          **error);
Issued     *admin_index_find        (GPtrArray        *list,
                                     const char       *serial,
                                     KcRole            role,
                                     const char       *identity);
gboolean    admin_crl_publish       (Net              *net,
                                     GPtrArray        *list,
                                     guint64          *number_out,
                                     GError          **error);
gboolean    admin_revoke_serial     (Net              *net,
                                     const char       *serial,
                                     gboolean         *was_revoked,
                                     GError          **error);
char       *admin_issue_into        (Net              *net,
                                     KcRole            role,
                                     const char       *identity,
                                     const char       *host,
                                     const char       *folder,
                                     gboolean          tls,
                                     GError          **error);

/* keycall-admin-subscriber.c */
KcSubscriber *admin_find_subscriber (Net              *net,
                                     const char       *number,
                                     GError          **error);

/* The commands (keycall-admin-<family>.c); @operand is the command's
 * argument, or NULL when it takes none. */
gboolean    admin_cmd_init          (Net *net, const char *operand, GError **error);
gboolean    admin_cmd_controller_add (Net *net, const char *name, GError **error);
gboolean    admin_cmd_lea_add       (Net *net, const char *name, GError **error);
gboolean    admin_cmd_gateway_add   (Net *net, const char *name, GError **error);
gboolean    admin_cmd_subscriber_add (Net *net, const char *number, GError **error);
gboolean    admin_cmd_subscriber_list (Net *net, const char *operand, GError **error);
gboolean    admin_cmd_subscriber_suspend (Net *net, const char *number, GError **error);
gboolean    admin_cmd_subscriber_resume (Net *net, const char *number, GError **error);
gboolean    admin_cmd_subscriber_revoke (Net *net, const char *number, GError **error);
gboolean    admin_cmd_profile_export (Net *net, const char *number, GError **error);
gboolean    admin_cmd_profile_activation (Net *net, const char *number, GError **error);
gboolean    admin_cmd_crl_show      (Net *net, const char *operand, GError **error);
gboolean    admin_cmd_crl_update    (Net *net, const char *operand, GError **error);
gboolean    admin_cmd_revoke_cert   (Net *net, const char *serial_arg, GError **error);
gboolean    admin_cmd_audit_verify  (Net *net, const char *operand, GError **error);
gboolean    admin_cmd_audit_list    (Net *net, const char *operand, GError **error);

G_END_DECLS
