/* kc-cta.c: the CTA library's shared vocabulary: the state enums, the call
 * state machine, and the TLS 1.3 floor.
 */
#define G_LOG_DOMAIN "kc-cta"

#include "kc-cta.h"
#include "kc-error.h"

#include <glib/gstdio.h>

static const GEnumValue reg_state_values[] = {
  { KC_CTA_REG_IDLE, "KC_CTA_REG_IDLE", "idle" },
  { KC_CTA_REG_REGISTERING, "KC_CTA_REG_REGISTERING", "registering" },
  { KC_CTA_REG_REGISTERED, "KC_CTA_REG_REGISTERED", "registered" },
  { KC_CTA_REG_RECONNECTING, "KC_CTA_REG_RECONNECTING", "reconnecting" },
  { KC_CTA_REG_UNREGISTERING, "KC_CTA_REG_UNREGISTERING", "unregistering" },
  { KC_CTA_REG_UNREGISTERED, "KC_CTA_REG_UNREGISTERED", "unregistered" },
  { KC_CTA_REG_FAILED, "KC_CTA_REG_FAILED", "failed" },
  { 0, NULL, NULL },
};

static const GEnumValue call_direction_values[] = {
  { KC_CTA_CALL_OUTGOING, "KC_CTA_CALL_OUTGOING", "outgoing" },
  { KC_CTA_CALL_INCOMING, "KC_CTA_CALL_INCOMING", "incoming" },
  { 0, NULL, NULL },
};

static const GEnumValue call_state_values[] = {
  { KC_CTA_CALL_STATE_CALLING, "KC_CTA_CALL_STATE_CALLING", "calling" },
  { KC_CTA_CALL_STATE_INCOMING, "KC_CTA_CALL_STATE_INCOMING", "incoming" },
  { KC_CTA_CALL_STATE_KEY_RECEIVED, "KC_CTA_CALL_STATE_KEY_RECEIVED", "key-received" },
  { KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED, "KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED",
    "key-acknowledged" },
  { KC_CTA_CALL_STATE_RINGING, "KC_CTA_CALL_STATE_RINGING", "ringing" },
  { KC_CTA_CALL_STATE_ANSWERED, "KC_CTA_CALL_STATE_ANSWERED", "answered" },
  { KC_CTA_CALL_STATE_ENDED, "KC_CTA_CALL_STATE_ENDED", "ended" },
  { KC_CTA_CALL_STATE_FAILED, "KC_CTA_CALL_STATE_FAILED", "failed" },
  { 0, NULL, NULL },
};

#define DEFINE_ENUM_TYPE(func, Name, values)                            \
  GType                                                                 \
  func (void)                                                           \
  {                                                                     \
    static gsize type_id = 0;                                           \
                                                                        \
    if (g_once_init_enter (&type_id))                                   \
      g_once_init_leave (&type_id, g_enum_register_static (Name, values)); \
    return type_id;                                                     \
  }

DEFINE_ENUM_TYPE (kc_cta_reg_state_get_type, "KcCtaRegState", reg_state_values)
DEFINE_ENUM_TYPE (kc_cta_call_direction_get_type, "KcCtaCallDirection", call_direction_values)
DEFINE_ENUM_TYPE (kc_cta_call_state_get_type, "KcCtaCallState", call_state_values)

static const char *
nick (const GEnumValue *values, int value)
{
  for (const GEnumValue *v = values; v->value_name != NULL; v++)
    if (v->value == value)
      return v->value_nick;
  return NULL;
}

const char *
kc_cta_reg_state_to_string (KcCtaRegState state)
{
  return nick (reg_state_values, state);
}

const char *
kc_cta_call_direction_to_string (KcCtaCallDirection direction)
{
  return nick (call_direction_values, direction);
}

const char *
kc_cta_call_state_to_string (KcCtaCallState state)
{
  return nick (call_state_values, state);
}

gboolean
kc_cta_call_state_is_final (KcCtaCallState state)
{
  return state == KC_CTA_CALL_STATE_ENDED || state == KC_CTA_CALL_STATE_FAILED;
}

gboolean
kc_cta_call_state_can_change (KcCtaCallDirection direction,
                              KcCtaCallState     from,
                              KcCtaCallState     to)
{
  KcCtaCallState first = direction == KC_CTA_CALL_OUTGOING
                         ? KC_CTA_CALL_STATE_CALLING : KC_CTA_CALL_STATE_INCOMING;

  if (kc_cta_call_state_is_final (from))
    return FALSE;
  /* A call starts in the state of its direction and never goes back. */
  if ((from == KC_CTA_CALL_STATE_CALLING || from == KC_CTA_CALL_STATE_INCOMING) && from != first)
    return FALSE;

  switch (to) {
  case KC_CTA_CALL_STATE_KEY_RECEIVED:
    return from == first;
  case KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED:
    return from == KC_CTA_CALL_STATE_KEY_RECEIVED;
  case KC_CTA_CALL_STATE_RINGING:
    return from == KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED;
  case KC_CTA_CALL_STATE_ANSWERED:
    /* Never before both acknowledgments: no media without a confirmed key. */
    return from == KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED || from == KC_CTA_CALL_STATE_RINGING;
  case KC_CTA_CALL_STATE_ENDED:
    return from == KC_CTA_CALL_STATE_ANSWERED;
  case KC_CTA_CALL_STATE_FAILED:
    return from != KC_CTA_CALL_STATE_ANSWERED;
  case KC_CTA_CALL_STATE_CALLING:
  case KC_CTA_CALL_STATE_INCOMING:
  default:
    return FALSE;
  }
}

gboolean
kc_cta_tls13_only (const char *runtime_dir,
                   GError    **error)
{
  static const char config[] =
    "# Written by keycall: Keycall speaks TLS 1.3 only, without session tickets.\n"
    "openssl_conf = keycall_init\n"
    "[keycall_init]\n"
    "ssl_conf = keycall_ssl\n"
    "[keycall_ssl]\n"
    "system_default = keycall_tls\n"
    "[keycall_tls]\n"
    "MinProtocol = TLSv1.3\n"
    /* sofia-sip's TLS client can stall on a message that arrives right
     * behind a TLS 1.3 session ticket; it never resumes sessions anyway. */
    "NumTickets = 0\n";
  g_autofree char *path = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (runtime_dir != NULL, FALSE);

  if (g_getenv ("OPENSSL_CONF") != NULL)
    return TRUE;

  path = g_build_filename (runtime_dir, "openssl.cnf", NULL);
  if (!g_file_set_contents_full (path, config, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO,
                 "Cannot write the TLS 1.3 OpenSSL configuration: %s", local->message);
    return FALSE;
  }
  g_setenv ("OPENSSL_CONF", path, TRUE);
  return TRUE;
}
