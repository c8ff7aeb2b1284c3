/* keycall-admin-audit.c: the audit commands: checking and listing a
 * controller store's hash-chained audit log, read-only.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

/* The store named by --store, or --controller's; read-only. @label: how
 * to name it to a person. */
static KcStore *
audit_store (Net *net, char **label, GError **error)
{
  g_autoptr(GKeyFile) kf = NULL;

  if ((opt.store != NULL) == (opt.controller != NULL)) {
    admin_usage (error, "give either --controller NAME or --store PATH");
    return NULL;
  }
  if (opt.store != NULL) {
    *label = g_strdup (opt.store);
    return kc_store_open (opt.store, KC_STORE_OPEN_READONLY, error);
  }
  if ((kf = admin_controller_ini (net, opt.controller, error)) == NULL)
    return NULL;
  *label = g_strdup (opt.controller);
  return admin_controller_store (net, opt.controller, KC_STORE_OPEN_READONLY, error);
}

gboolean
admin_cmd_audit_verify (Net *net, const char *operand, GError **error)
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

gboolean
admin_cmd_audit_list (Net *net, const char *operand, GError **error)
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
      admin_json_member (b, "time", when);
      admin_json_member (b, "actor", r->actor);
      admin_json_member (b, "action", r->action);
      admin_json_member (b, "detail", r->detail);
      admin_json_member (b, "hash", r->hash);
      json_builder_end_object (b);
    }
    else
      g_print ("%" G_GINT64_FORMAT "\t%s\t%s\t%s\t%s\n", r->seq, when, r->actor, r->action,
               r->detail);
  }
  json_builder_end_array (b);
  if (opt.json)
    admin_print_json (b);
  return TRUE;
}
