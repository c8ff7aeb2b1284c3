/* kc-cta-keying.c: the softphone's key handling, independent of SIP.
 *
 * Everything here either reads untrusted input (a body or header the
 * controller sent) or produces what goes on the wire, so it is kept free of
 * sofia-sip and unit-tested on its own (tests/test-cta.c).
 */
#define G_LOG_DOMAIN "kc-cta"

#include "kc-cta-keying.h"
#include "kc-error.h"
#include "kc-pki.h"

#include <string.h>

char *
kc_cta_sdp_build (const KcSdpBuild *build,
                  const char       *key_mgmt)
{
  g_autofree char *sdp = kc_sdp_media_build (build);
  const char *m;

  if (key_mgmt == NULL)
    return g_steal_pointer (&sdp);
  /* Session level: after t=, before the media description. */
  m = strstr (sdp, "\r\nm=");
  g_return_val_if_fail (m != NULL, g_steal_pointer (&sdp));
  return g_strdup_printf ("%.*s\r\na=key-mgmt:%s%s", (int) (m - sdp), sdp, key_mgmt, m);
}

KcKeyMgmt *
kc_cta_key_mgmt_find (const char *what,
                      const char *sdp,
                      gsize       sdp_len,
                      const char *header,
                      GError    **error)
{
  g_autoptr(KcKeyMgmt) from_sdp = NULL;
  g_autoptr(KcKeyMgmt) from_header = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (what != NULL && *what != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (sdp != NULL && sdp_len > 0) {
    g_autoptr(KcSecret) text = NULL;

    /* The body may carry K itself: copy it only into wiped memory, which
     * bounds its size (a softphone's SDP is a few hundred bytes). */
    if (sdp_len >= KC_SECRET_MAX_LEN) {
      g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                   "The SDP of %s is %" G_GSIZE_FORMAT " bytes; a Keycall softphone reads "
                   "at most %d", what, sdp_len, KC_SECRET_MAX_LEN - 1);
      return NULL;
    }
    if (memchr (sdp, '\0', sdp_len) != NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "The SDP of %s contains a NUL byte", what);
      return NULL;
    }
    text = kc_secret_new (sdp_len + 1);
    memcpy (kc_secret_get_mutable (text), sdp, sdp_len);
    kc_secret_get_mutable (text)[sdp_len] = '\0';
    if (!kc_sdp_find_key_mgmt ((const char *) kc_secret_get_data (text), &from_sdp, &local)) {
      g_set_error (error, KC_ERROR, local->code, "The key in the SDP of %s is unusable: %s",
                   what, local->message);
      return NULL;
    }
  }

  if (header != NULL) {
    from_header = kc_key_mgmt_parse (header, &local);
    if (from_header == NULL) {
      g_set_error (error, KC_ERROR, local->code,
                   "The " KC_CTA_KEY_HEADER " header of %s is unusable: %s",
                   what, local->message);
      return NULL;
    }
  }

  if (from_sdp != NULL && from_header != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%c%s carries a key payload both in its SDP and in a " KC_CTA_KEY_HEADER
                 " header; Keycall sends exactly one", g_ascii_toupper (what[0]), what + 1);
    return NULL;
  }
  if (from_sdp == NULL && from_header == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                 "%c%s carries no a=key-mgmt:keycall line and no " KC_CTA_KEY_HEADER
                 " header: the controller sent no key", g_ascii_toupper (what[0]), what + 1);
    return NULL;
  }
  return from_sdp != NULL ? g_steal_pointer (&from_sdp) : g_steal_pointer (&from_header);
}

KcSecret *
kc_cta_key_accept (const KcKeyMgmt *mgmt,
                   KcCtaSide        side,
                   const KcSecret  *signaling_secret,
                   const char      *call_id,
                   gboolean        *out_derived,
                   GError         **error)
{
  g_return_val_if_fail (mgmt != NULL, NULL);
  g_return_val_if_fail (call_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (out_derived != NULL)
    *out_derived = FALSE;

  if (mgmt->type == KC_KEY_MGMT_KEY) {
    g_return_val_if_fail (mgmt->key != NULL, NULL);
    return kc_secret_copy (mgmt->key);
  }

  if (mgmt->type == KC_KEY_MGMT_DERIVE && side == KC_CTA_SIDE_CALLER) {
    KcSecret *key;

    g_return_val_if_fail (signaling_secret != NULL, NULL);
    key = kc_call_key_derive (signaling_secret, &mgmt->key_id, mgmt->nonce, call_id, error);
    if (key != NULL && out_derived != NULL)
      *out_derived = TRUE;
    return key;
  }

  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "Expected %s, but the payload is %s",
               side == KC_CTA_SIDE_CALLEE ? "the call key (KEY)" : "the call key (KEY or DERIVE)",
               kc_key_mgmt_type_to_string (mgmt->type));
  return NULL;
}

char *
kc_cta_key_ack_value (const KcSecret *key,
                      const KcKeyId  *key_id,
                      const char     *call_id,
                      KcCtaSide       side,
                      GError        **error)
{
  g_autoptr(KcKeyMgmt) ack = NULL;
  guint8 mac[KC_KEY_ACK_LEN];
  KcAckRole role;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (key_id != NULL, NULL);
  g_return_val_if_fail (call_id != NULL, NULL);

  role = side == KC_CTA_SIDE_CALLER ? KC_ACK_ROLE_CALLER : KC_ACK_ROLE_CALLEE;
  kc_key_ack_compute (key, key_id, call_id, role, mac);
  ack = kc_key_mgmt_new_ack (key_id, role, mac);
  return kc_key_mgmt_encode (ack, error);
}

char *
kc_cta_key_header_line (const char *ack_value,
                        GError    **error)
{
  g_autoptr(KcKeyMgmt) mgmt = NULL;

  g_return_val_if_fail (ack_value != NULL, NULL);

  if ((mgmt = kc_key_mgmt_parse (ack_value, error)) == NULL)
    return NULL;
  /* Only an acknowledgment may leave the secure heap as plain text. */
  if (mgmt->type != KC_KEY_MGMT_ACK) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A softphone only sends ACK payloads in a " KC_CTA_KEY_HEADER
                 " header, not %s", kc_key_mgmt_type_to_string (mgmt->type));
    return NULL;
  }
  return g_strdup_printf (KC_CTA_KEY_HEADER ": %s", ack_value);
}

char *
kc_cta_key_describe (gboolean    derived,
                     const char *key_id_hex,
                     const char *fingerprint)
{
  g_return_val_if_fail (key_id_hex != NULL && strlen (key_id_hex) >= 8, NULL);
  g_return_val_if_fail (fingerprint != NULL, NULL);

  /* The first 4 bytes of the id, as the redacted SDP and events show it. */
  return g_strdup_printf ("key %s id %.8s fingerprint %s",
                          derived ? "derived" : "received", key_id_hex, fingerprint);
}

gboolean
kc_cta_subjects_check (const char *const *subjects,
                       const char        *controller_name,
                       char             **out_subject,
                       GError           **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *identity = NULL;
  KcRole role;

  g_return_val_if_fail (controller_name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (subjects == NULL || subjects[0] == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The peer presented no verified certificate; only controller %s is trusted",
                 controller_name);
    return FALSE;
  }
  if (!kc_pki_identity_from_subjects (subjects, &role, &identity, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The peer's certificate names no usable Keycall identity (%s); only "
                 "controller %s is trusted", local->message, controller_name);
    return FALSE;
  }
  if (role != KC_ROLE_CONTROLLER || g_strcmp0 (identity, controller_name) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The peer's certificate is for %s %s, not for controller %s",
                 kc_role_to_string (role), identity, controller_name);
    return FALSE;
  }
  if (out_subject != NULL)
    *out_subject = g_strconcat (KC_PKI_URI_PREFIX, kc_role_to_string (role), ":",
                                identity, NULL);
  return TRUE;
}

gboolean
kc_cta_parse_listen (const char *text,
                     char      **out_host,
                     guint16    *out_port,
                     GError    **error)
{
  g_autofree char *host = NULL;
  const char *port_text = NULL;
  guint64 port = 0;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (out_host != NULL && out_port != NULL, FALSE);

  if (text[0] == '[') {
    const char *end = strchr (text, ']');

    if (end == NULL || (end[1] != '\0' && end[1] != ':'))
      goto bad;
    host = g_strndup (text + 1, (gsize) (end - text - 1));
    if (end[1] == ':')
      port_text = end + 2;
  } else if (g_hostname_is_ip_address (text)) {
    host = g_strdup (text);       /* a bare IPv6 literal has no port */
  } else {
    const char *colon = strrchr (text, ':');

    host = colon != NULL ? g_strndup (text, (gsize) (colon - text)) : g_strdup (text);
    if (colon != NULL)
      port_text = colon + 1;
  }

  if (!g_hostname_is_ip_address (host))
    goto bad;
  if (port_text != NULL
      && (*port_text == '\0' || *port_text == '+' || *port_text == '-'
          || !g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &port, NULL)))
    goto bad;

  *out_host = g_steal_pointer (&host);
  *out_port = (guint16) port;
  return TRUE;

bad:
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "“%s” is not HOST[:PORT] with a numeric address (e.g. 127.0.0.1:5071 "
               "or [::1]:5071)", text);
  return FALSE;
}

char *
kc_cta_sips_uri (const char *host,
                 guint16     port)
{
  g_return_val_if_fail (host != NULL, NULL);

  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("sips:[%s]:%u", host, port);
  return g_strdup_printf ("sips:%s:%u", host, port);
}
