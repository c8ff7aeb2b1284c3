/* keycall-admin-crl.c: the certificate revocation commands: crl show,
 * crl update and revoke-cert.
 */
#define G_LOG_DOMAIN "keycall-admin"

#include "config.h"

#include "keycall-admin-private.h"

#include <openssl/bn.h>
#include <string.h>

gboolean
admin_cmd_crl_show (Net *net, const char *operand, GError **error)
{
  g_autofree char *path = admin_net_path (net, "crl.pem", NULL);
  g_autoptr(X509_CRL) crl = kc_pki_crl_load (path, error);
  g_autoptr(GPtrArray) list = crl ? admin_index_load (net, error) : NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *last = NULL, *next = NULL;
  STACK_OF(X509_REVOKED) *revoked;
  int n;

  if (list == NULL)
    return FALSE;
  revoked = X509_CRL_get_REVOKED (crl);
  n = sk_X509_REVOKED_num (revoked);
  last = admin_iso_time (admin_asn1_seconds (X509_CRL_get0_lastUpdate (crl)));
  next = admin_iso_time (admin_asn1_seconds (X509_CRL_get0_nextUpdate (crl)));
  if (!opt.json)
    g_print ("CRL #%" G_GUINT64_FORMAT " of %s, signed %s, next update %s: %d revoked\n",
             kc_pki_crl_number (crl), net->name, last, next, n);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "number");
  json_builder_add_int_value (b, (gint64) kc_pki_crl_number (crl));
  admin_json_member (b, "last_update", last);
  admin_json_member (b, "next_update", next);
  json_builder_set_member_name (b, "revoked");
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++) {
    X509_REVOKED *r = sk_X509_REVOKED_value (revoked, i);
    BIGNUM *bn = ASN1_INTEGER_to_BN (X509_REVOKED_get0_serialNumber (r), NULL);
    char *hex = BN_bn2hex (bn);
    g_autofree char *when = admin_iso_time (admin_asn1_seconds (
                                              X509_REVOKED_get0_revocationDate (r)));
    Issued *e = admin_index_find (list, hex, KC_ROLE_INVALID, NULL);

    if (!opt.json) {
      g_print ("  %-34s %s  %s:%s\n", hex, when, e ? kc_role_to_string (e->role) : "?",
               e ? e->identity : "?");
    } else {
      json_builder_begin_object (b);
      admin_json_member (b, "serial", hex);
      admin_json_member (b, "revoked_at", when);
      admin_json_member (b, "role", e ? kc_role_to_string (e->role) : NULL);
      admin_json_member (b, "identity", e ? e->identity : NULL);
      json_builder_end_object (b);
    }
    OPENSSL_free (hex);
    BN_free (bn);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (opt.json)
    admin_print_json (b);
  return TRUE;
}

gboolean
admin_cmd_crl_update (Net *net, const char *operand, GError **error)
{
  g_autoptr(GPtrArray) list = admin_index_load (net, error);
  guint64 number;

  if (list == NULL || !admin_crl_publish (net, list, &number, error)
      || !admin_audit_all (net, "crl-update", "", error))
    return FALSE;
  g_print ("Signed CRL #%" G_GUINT64_FORMAT " (%s/crl.pem, copied to every controller)\n",
           number, net->dir);
  return TRUE;
}

gboolean
admin_cmd_revoke_cert (Net *net, const char *serial_arg, GError **error)
{
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *serial = NULL;
  g_autofree char *detail = NULL;
  int selectors = (serial_arg != NULL) + (opt.controller != NULL) + (opt.lea != NULL)
                  + (opt.gateway != NULL);
  gboolean was_revoked = FALSE;
  Issued *e;

  if (selectors != 1)
    return admin_usage (error, "'revoke-cert' needs exactly one of SERIAL, --controller NAME, "
                        "--lea NAME or --gateway NAME");
  if (serial_arg != NULL) {
    GError *local = NULL;

    if (!admin_as_usage ((serial = kc_pki_serial_normalize (serial_arg, &local)) != NULL, &local,
                         error))
      return FALSE;
  } else {
    KcRole role = opt.controller ? KC_ROLE_CONTROLLER : opt.lea ? KC_ROLE_LEA : KC_ROLE_GATEWAY;
    const char *name = opt.controller ? opt.controller : opt.lea ? opt.lea : opt.gateway;

    if ((list = admin_index_load (net, error)) == NULL)
      return FALSE;
    if ((e = admin_index_find (list, NULL, role, name)) == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "no valid certificate for %s '%s'",
                   kc_role_to_string (role), name);
      return FALSE;
    }
    serial = g_strdup (e->serial);
  }
  if (!admin_revoke_serial (net, serial, &was_revoked, error))
    return FALSE;
  if (was_revoked) {
    g_print ("Certificate %s was already revoked\n", serial);
    return TRUE;
  }
  detail = g_strdup_printf ("serial=%s", serial);
  if (!admin_audit_all (net, "cert-revoke", detail, error))
    return FALSE;
  g_print ("Revoked certificate %s; the CRL is re-signed and copied to every controller\n", serial);
  return TRUE;
}
