/* keycall-admin-profile.c: the profile commands: a subscriber's CTA
 * profile exported as it is, or sealed in an activation file.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

#include "kc-activation.h"
#include "kc-profile.h"
#include "kc-vault.h"

#include <glib/gstdio.h>
#include <string.h>


#define ACTIVATION_DAYS 7       /* how long an activation file opens */

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

  if (!admin_as_usage (kc_pki_check_number (number, &check), &check, error)
      || (sub = admin_find_subscriber (net, number, error)) == NULL)
    return NULL;
  if (sub->state == KC_SUBSCRIBER_REVOKED) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "subscriber %s is revoked; its profile can no longer be exported", number);
    return NULL;
  }
  if ((ini = admin_controller_ini (net, sub->controller, error)) == NULL)
    return NULL;
  host = g_key_file_get_string (ini, "controller", "host", NULL);
  port = g_key_file_get_integer (ini, "controller", "port", NULL);

  cert_path = admin_net_path (net, "subscribers", number, "cert.pem", NULL);
  key_path = admin_net_path (net, "subscribers", number, "key.pem", NULL);
  ca_path = admin_net_path (net, "ca", "ca.pem", NULL);
  vault_path = admin_net_path (net, "controllers", sub->controller, "vault.key", NULL);
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
  return admin_net_path (net, "subscribers", number, file, NULL);
}

gboolean
admin_cmd_profile_export (Net *net, const char *number, GError **error)
{
  g_autoptr(KcSubscriber) sub = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autoptr(KcProfile) profile = NULL;
  g_autofree char *output = NULL, *detail = NULL, *cert_serial = NULL;

  if ((profile = subscriber_profile (net, number, &sub, &cert_serial, error)) == NULL)
    return FALSE;
  output = output_path (net, number, KC_PROFILE_SUFFIX);
  if (!kc_profile_save (profile, output, opt.force, error)
      || (store = admin_controller_store (net, sub->controller, 0, error)) == NULL)
    return FALSE;
  detail = g_strdup_printf ("number=%s controller=%s serial=%s file=%s", number,
                            sub->controller, cert_serial, output);
  if (!admin_audit (store, "profile-export", detail, error))
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
gboolean
admin_cmd_profile_activation (Net *net, const char *number, GError **error)
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
    return admin_usage (error, "--days for an activation file must be 1 to 365");
  if ((profile = subscriber_profile (net, number, &sub, &cert_serial, error)) == NULL)
    return FALSE;
  /* Open the store first: a file whose handover is not audited is not
   * written. */
  if ((store = admin_controller_store (net, sub->controller, 0, error)) == NULL)
    return FALSE;
  expires = g_date_time_add_days (now, days);
  output = output_path (net, number, KC_ACTIVATION_SUFFIX);
  if ((code = kc_activation_write (profile, g_date_time_to_unix (expires), output, opt.force,
                                   error)) == NULL)
    return FALSE;
  when = g_date_time_format (expires, "%Y-%m-%d %H:%M UTC");
  detail = g_strdup_printf ("number=%s controller=%s serial=%s file=%s expires=%s", number,
                            sub->controller, cert_serial, output, when);
  if (!admin_audit (store, "profile-activation", detail, error)) {
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
