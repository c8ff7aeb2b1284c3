/* kc-sip-util.c: identity of a connection, Keycall headers, SDP editing. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-sip-util.h"

#include "kc-error.h"
#include "kc-sdp-key.h"
#include "kc-sdp-media.h"

#include <openssl/crypto.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_strlst.h>
#include <string.h>

void
kc_peer_identity_clear (KcPeerIdentity *id)
{
  g_clear_pointer (&id->identity, g_free);
  g_clear_pointer (&id->serial, g_free);
  id->role = KC_ROLE_INVALID;
}

char *
kc_peer_lane (KcRole role, const char *identity)
{
  return g_strdup_printf ("%s:%s", kc_role_to_string (role), identity);
}

gboolean
kc_sip_identify (nta_agent_t    *agent,
                 tport_t        *tp,
                 msg_t          *msg,
                 KcPeerIdentity *out,
                 GError        **error)
{
  tport_t *master = nta_agent_tports (agent);
  tport_t *conn = tp ? tp : tport_delivered_by (master, msg);
  su_strlst_t const *list;
  g_autoptr(GPtrArray) subjects = g_ptr_array_new ();
  usize_t n;

  g_return_val_if_fail (agent != NULL && msg != NULL && out != NULL, FALSE);

  out->role = KC_ROLE_INVALID;
  out->identity = out->serial = NULL;
  if (conn == NULL || !tport_is_verified (conn)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "No verified client certificate on this connection");
    return FALSE;
  }
  list = tport_delivered_from_subjects (master, msg);
  n = list ? su_strlst_len (list) : 0;
  for (usize_t i = 0; i < n; i++)
    g_ptr_array_add (subjects, (gpointer) su_strlst_item (list, i));
  g_ptr_array_add (subjects, NULL);
  if (!kc_pki_identity_from_subjects ((const char *const *) subjects->pdata, &out->role,
                                      &out->identity, error))
    return FALSE;
  out->serial = kc_pki_serial_from_subjects ((const char *const *) subjects->pdata);
  if (out->serial != NULL) {
    g_autofree char *canonical = kc_pki_serial_normalize (out->serial, NULL);

    if (canonical != NULL)
      g_free (out->serial), out->serial = g_steal_pointer (&canonical);
  }
  return TRUE;
}

gboolean
kc_sip_header_get (sip_t const *sip, const char *name, const char **value, GError **error)
{
  *value = NULL;
  for (sip_unknown_t const *u = sip->sip_unknown; u != NULL; u = u->un_next) {
    if (u->un_name == NULL || g_ascii_strcasecmp (u->un_name, name) != 0)
      continue;
    if (*value != NULL) {
      *value = NULL;
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "%s appears more than once", name);
      return FALSE;
    }
    *value = u->un_value ? u->un_value : "";
  }
  return TRUE;
}

gboolean
kc_sip_wants_direct_media (sip_t const *sip)
{
  const char *value = NULL;

  /* A preference, not a requirement: an unknown value (a later version's)
   * is no request rather than a refused call. */
  return kc_sip_header_get (sip, KC_SIP_HEADER_MEDIA, &value, NULL) && value != NULL
         && g_ascii_strcasecmp (value, "direct") == 0;
}

char *
kc_sip_msg_to_text (msg_t *msg)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  size_t len = 0;
  char *text, *copy;

  if (msg == NULL)
    return NULL;
  text = msg_as_string (home, msg, NULL, 0, &len);
  copy = text ? g_strndup (text, len) : NULL;
  if (text)
    OPENSSL_cleanse (text, len);
  su_home_deinit (home);
  return copy;
}

char *
kc_sip_get_sdp (sip_t const *sip, GError **error)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  sdp_parser_t *parser;
  const char *problem = NULL;
  char *body;

  if (sip->sip_payload == NULL || sip->sip_payload->pl_len == 0)
    return NULL;
  if (sip->sip_content_type == NULL || sip->sip_content_type->c_type == NULL
      || g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The body is not application/sdp");
    return NULL;
  }
  if (sip->sip_payload->pl_len > KC_SDP_BODY_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE, "The SDP body is too large");
    return NULL;
  }
  if (memchr (sip->sip_payload->pl_data, '\0', sip->sip_payload->pl_len) != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The SDP body holds a NUL byte");
    return NULL;
  }
  body = g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  /* Debian's sofia-sip 1.12.11 loops forever on some m= lines. */
  if (!kc_sdp_sofia_safe (body, error)) {
    kc_sip_text_free (body);
    return NULL;
  }
  parser = sdp_parse (home, body, (issize_t) strlen (body), 0);
  if (sdp_session (parser) == NULL)
    problem = sdp_parsing_error (parser);
  else if (sdp_session (parser)->sdp_media == NULL)
    problem = "no media line";
  if (problem != NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The SDP does not parse: %s", problem);
  sdp_parser_free (parser);
  su_home_deinit (home);
  if (problem != NULL) {
    kc_sip_text_free (body);
    return NULL;
  }
  return body;
}

static gboolean
is_keycall_key_mgmt (const char *line, gsize len)
{
  static const char prefix[] = "a=key-mgmt:" KC_KEY_MGMT_PROTOCOL;

  return len >= sizeof prefix - 1 && g_ascii_strncasecmp (line, prefix, sizeof prefix - 1) == 0
         && (len == sizeof prefix - 1 || line[sizeof prefix - 1] == ' ');
}

char *
kc_sdp_with_key_mgmt (const char *sdp, const char *value)
{
  GString *out = g_string_sized_new (2 * strlen (sdp) + (value ? strlen (value) : 0) + 32);
  gboolean inserted = value == NULL;
  const char *p = sdp;
  char *text;

  while (*p != '\0') {
    const char *end = p + strcspn (p, "\r\n");
    gsize len = end - p;

    if (!inserted && len >= 2 && p[0] == 'm' && p[1] == '=') {
      g_string_append_printf (out, "a=key-mgmt:%s\r\n", value);
      inserted = TRUE;
    }
    if (len > 0 && !is_keycall_key_mgmt (p, len)) {
      g_string_append_len (out, p, len);
      g_string_append (out, "\r\n");
    }
    p = end;
    if (*p == '\r')
      p++;
    if (*p == '\n')
      p++;
  }
  if (!inserted)
    g_string_append_printf (out, "a=key-mgmt:%s\r\n", value);

  /* g_string_free would leave the old buffers of a grown GString unwiped;
   * the size is reserved up front so it never grows. */
  text = g_strndup (out->str, out->len);
  OPENSSL_cleanse (out->str, out->allocated_len);
  g_string_free (out, TRUE);
  return text;
}

void
kc_sip_text_free (char *text)
{
  if (text == NULL)
    return;
  OPENSSL_cleanse (text, strlen (text));
  g_free (text);
}

const char *
kc_sip_url_user (url_t const *url)
{
  return url != NULL && url->url_user != NULL && *url->url_user != '\0' ? url->url_user : NULL;
}
