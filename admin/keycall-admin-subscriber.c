/* keycall-admin-subscriber.c: the subscriber commands (add, list,
 * suspend, resume, revoke) on the accounts the controllers' stores hold.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

#include "kc-vault.h"

#include <string.h>

/* The subscriber @number on whichever controller serves it. */
KcSubscriber *
admin_find_subscriber (Net *net, const char *number, GError **error)
{
  g_autoptr(GPtrArray) names = admin_controllers (net);

  for (guint i = 0; i < names->len; i++) {
    g_autoptr(KcStore) store = admin_controller_store (net, names->pdata[i], KC_STORE_OPEN_READONLY,
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
    return admin_usage (error, "--name must be 1 to 128 bytes of UTF-8 text");
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return admin_usage (error, "--name must not contain control characters");
  return TRUE;
}

gboolean
admin_cmd_subscriber_add (Net *net, const char *number, GError **error)
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

  if (!admin_as_usage (kc_pki_check_number (number, &check), &check, error))
    return FALSE;
  if (opt.name == NULL)
    return admin_usage (error, "missing --name NAME for 'subscriber add'");
  if (opt.controller == NULL)
    return admin_usage (error, "missing --controller NAME for 'subscriber add'");
  if (!check_display_name (opt.name, error)
      || (ini = admin_controller_ini (net, opt.controller, error)) == NULL)
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
  if ((existing = admin_find_subscriber (net, number, &local)) != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "subscriber %s already exists (%s, on %s)",
                 number, kc_subscriber_state_to_string (existing->state), existing->controller);
    return FALSE;
  }
  if (!g_error_matches (local, KC_ERROR, KC_ERROR_NOT_FOUND)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }

  folder = admin_net_path (net, "subscribers", number, NULL);
  if (g_file_test (folder, G_FILE_TEST_EXISTS) && !opt.force) {
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "%s exists but no controller knows %s (an earlier run stopped?); rerun with "
                 "--force to replace it", folder, number);
    return FALSE;
  }
  vault_path = admin_net_path (net, "controllers", opt.controller, "vault.key", NULL);
  if ((store = admin_controller_store (net, opt.controller, 0, error)) == NULL
      || (vault = kc_vault_load (vault_path, error)) == NULL
      || (serial = admin_issue_into (net, KC_ROLE_CTA, number, NULL, folder, FALSE, error)) == NULL
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
      || !admin_audit (store, "subscriber-add", detail, error))
    return FALSE;
  g_print ("Added subscriber %s (%s) on controller %s\n  certificate serial %s\n"
           "  next: keycall-admin profile export %s\n", number, opt.name, opt.controller, serial,
           number);
  return TRUE;
}

gboolean
admin_cmd_subscriber_list (Net *net, const char *operand, GError **error)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  guint count = 0;

  if (opt.controller != NULL) {
    g_autoptr(GKeyFile) ini = admin_controller_ini (net, opt.controller, error);

    if (ini == NULL)
      return FALSE;
    names = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (names, g_strdup (opt.controller));
  } else {
    names = admin_controllers (net);
  }

  json_builder_begin_array (builder);
  if (!opt.json)
    g_print ("%-16s %-24s %-12s %-10s %s\n", "NUMBER", "NAME", "CONTROLLER", "STATE",
             "CERT SERIAL");
  for (guint i = 0; i < names->len; i++) {
    g_autoptr(KcStore) store = admin_controller_store (net, names->pdata[i], KC_STORE_OPEN_READONLY,
                                                       error);
    g_autoptr(GPtrArray) subs = store ? kc_store_subscriber_list (store, error) : NULL;

    if (subs == NULL)
      return FALSE;
    for (guint j = 0; j < subs->len; j++, count++) {
      KcSubscriber *s = subs->pdata[j];
      const char *state = kc_subscriber_state_to_string (s->state);
      g_autofree char *created = admin_iso_time (s->created_at / G_USEC_PER_SEC);

      if (!opt.json) {
        g_print ("%-16s %-24s %-12s %-10s %s\n", s->number, s->display_name, s->controller,
                 state, s->cert_serial ? s->cert_serial : "-");
        continue;
      }
      json_builder_begin_object (builder);
      admin_json_member (builder, "number", s->number);
      admin_json_member (builder, "name", s->display_name);
      admin_json_member (builder, "controller", s->controller);
      admin_json_member (builder, "state", state);
      admin_json_member (builder, "cert_serial", s->cert_serial);
      admin_json_member (builder, "created", created);
      json_builder_end_object (builder);
    }
  }
  json_builder_end_array (builder);
  if (opt.json)
    admin_print_json (builder);
  else if (count == 0)
    g_print ("(no subscribers)\n");
  return TRUE;
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

  if (!admin_as_usage (kc_pki_check_number (number, &check), &check, error)
      || (sub = admin_find_subscriber (net, number, error)) == NULL)
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
      && !admin_revoke_serial (net, sub->cert_serial, &cert_was_revoked, error))
    return FALSE;
  if ((store = admin_controller_store (net, sub->controller, 0, error)) == NULL
      || !kc_store_subscriber_set_state (store, number, to, error))
    return FALSE;
  detail = g_strdup_printf ("number=%s controller=%s state=%s%s%s", number, sub->controller,
                            kc_subscriber_state_to_string (to),
                            to == KC_SUBSCRIBER_REVOKED ? " revoked-serial=" : "",
                            to == KC_SUBSCRIBER_REVOKED && sub->cert_serial
                            ? sub->cert_serial : "");
  if (!admin_audit (store, action, detail, error))
    return FALSE;
  g_print ("Subscriber %s is now %s%s\n", number, kc_subscriber_state_to_string (to),
           to == KC_SUBSCRIBER_REVOKED ? " (certificate on the CRL)" : "");
  return TRUE;
}

gboolean
admin_cmd_subscriber_suspend (Net *net, const char *number, GError **error)
{
  return subscriber_change (net, number, KC_SUBSCRIBER_SUSPENDED, error);
}

gboolean
admin_cmd_subscriber_resume (Net *net, const char *number, GError **error)
{
  return subscriber_change (net, number, KC_SUBSCRIBER_ACTIVE, error);
}

gboolean
admin_cmd_subscriber_revoke (Net *net, const char *number, GError **error)
{
  return subscriber_change (net, number, KC_SUBSCRIBER_REVOKED, error);
}
