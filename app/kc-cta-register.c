/* kc-cta-register.c: the account's SIP side: registration with its
 * controller (FIG. 3 312/314) with refresh and retry, requests that belong
 * to no call, and the checks and events the calls share.
 *
 * Every response to our requests and every request we get is checked to
 * come over a verified TLS connection from our controller's certificate
 * (tport_delivered_from_subjects, inside the NTA callback) before anything
 * in it is used: sofia-sip's subject allow-list covers incoming
 * connections only.
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-account-private.h"
#include "kc-cta-keying.h"
#include "kc-error.h"

#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_strlst.h>
#include <sofia-sip/tport.h>

#include <string.h>

#define RETRY_MAX_SECONDS   30
/* Controllers keep bindings in memory only: refreshing at least this often
 * gives a restarted controller our binding back soon. */
#define REFRESH_MAX_SECONDS 30

const char *
kc_cta_sip_unknown_header (sip_t const *sip,
                           const char  *name)
{
  if (sip == NULL)
    return NULL;
  for (sip_unknown_t const *un = sip->sip_unknown; un != NULL; un = un->un_next)
    if (un->un_name != NULL && g_ascii_strcasecmp (un->un_name, name) == 0)
      return un->un_value;
  return NULL;
}

char *
kc_cta_sip_reason (sip_t const *sip,
                   int          status)
{
  if (sip != NULL && sip->sip_warning != NULL && sip->sip_warning->w_text != NULL)
    return g_strdup (sip->sip_warning->w_text);
  if (sip != NULL && sip->sip_status != NULL && sip->sip_status->st_phrase != NULL)
    return g_strdup (sip->sip_status->st_phrase);
  return g_strdup (sip_status_phrase (status) ? sip_status_phrase (status) : "Failed");
}

char *
kc_cta_sip_reason_text (sip_t const *sip)
{
  const char *text;
  GString *out;
  gsize len;

  if (sip == NULL || sip->sip_reason == NULL || (text = sip->sip_reason->re_text) == NULL)
    return NULL;
  len = strlen (text);
  if (len >= 2 && text[0] == '"' && text[len - 1] == '"')
    text++, len -= 2;
  out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++) {
    if (text[i] == '\\' && i + 1 < len)
      i++;
    if ((guchar) text[i] >= 0x20)
      g_string_append_c (out, text[i]);
  }
  return g_string_free (out, out->len == 0);
}

gboolean
kc_cta_account_check_peer (KcCtaAccount   *self,
                           nta_outgoing_t *orq,
                           nta_incoming_t *irq,
                           GError        **error)
{
  g_autoptr(GPtrArray) subjects = g_ptr_array_new ();
  g_autofree char *subject = NULL;
  su_strlst_t const *list = NULL;
  tport_t *tp;
  msg_t *msg;
  gboolean verified;

  if (orq != NULL) {
    msg = nta_outgoing_getresponse (orq);
    tp = nta_outgoing_transport (orq);
  } else {
    msg = nta_incoming_getrequest (irq);
    tp = nta_incoming_transport (self->agent, irq, msg);
  }
  verified = tp != NULL && tport_is_verified (tp);
  if (verified && msg != NULL)
    list = tport_delivered_from_subjects (tp, msg);
  for (usize_t i = 0; list != NULL && i < su_strlst_len (list); i++)
    g_ptr_array_add (subjects, (gpointer) su_strlst_item (list, i));
  g_ptr_array_add (subjects, NULL);

  if (!verified)
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The message did not come over a verified TLS connection; only controller "
                 "%s is trusted", self->profile->controller_name);
  else
    verified = kc_cta_subjects_check ((const char *const *) subjects->pdata,
                                      self->profile->controller_name, &subject, error);
  if (verified)
    kc_cta_account_set_verified (self, g_steal_pointer (&subject));
  tport_decref (&tp);
  msg_destroy (msg);
  return verified;
}

KcEvent *
kc_cta_account_event_new (KcCtaAccount *self,
                          KcEventKind   kind,
                          const char   *call_id,
                          int           fig3)
{
  g_autofree char *lane = g_strconcat ("cta:", self->profile->number, NULL);
  g_autofree char *peer = g_strconcat ("controller:", self->profile->controller_name, NULL);
  KcEvent *event = kc_event_new (kind);

  kc_event_set_lane (event, lane);
  kc_event_set_peer (event, peer);
  kc_event_set_call_id (event, call_id);
  kc_event_set_fig3 (event, fig3);
  return event;
}

void
kc_cta_account_emit (KcCtaAccount *self,
                     KcEvent      *event)
{
  if (self->bus != NULL)
    kc_event_bus_emit (self->bus, event);
}

int
kc_cta_account_take_response (KcCtaAccount   *self,
                              nta_outgoing_t *orq,
                              sip_t const    *sip,
                              int             status,
                              const char     *call_id,
                              int             fig3,
                              GError        **error)
{
  msg_t *msg;

  if (sip == NULL || nta_sip_is_internal (sip))
    return status;
  msg = nta_outgoing_getresponse (orq);
  kc_cta_account_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0, call_id, fig3, msg);
  msg_destroy (msg);
  return kc_cta_account_check_peer (self, orq, NULL, error) ? status : 403;
}

void
kc_cta_account_emit_msg (KcCtaAccount *self,
                         KcEventKind   kind,
                         gint64        time_us,
                         const char   *call_id,
                         int           fig3,
                         msg_t        *msg)
{
  g_autoptr(KcEvent) event = NULL;
  g_autofree char *first_line = NULL;
  size_t len = 0;
  char *text;

  if (self->bus == NULL || msg == NULL)
    return;
  if ((text = msg_as_string (self->home, msg, NULL, 0, &len)) == NULL)
    return;
  first_line = g_strndup (text, strcspn (text, "\r\n"));
  event = kc_cta_account_event_new (self, kind, call_id, fig3);
  if (time_us > 0)
    kc_event_set_time (event, time_us);
  kc_event_set_summary_printf (event, "%s %s", kind == KC_EVENT_KIND_SIP_RX ? "←" : "→",
                               first_line);
  kc_event_set_message (event, text);   /* redacted by the setter */
  /* The text may hold K (an INVITE's KEY): do not leave it in the heap. */
  explicit_bzero (text, len);
  su_free (self->home, text);
  kc_cta_account_emit (self, event);
}

void
kc_cta_account_emit_key_events (KcCtaAccount   *self,
                                const char     *call_id,
                                const KcKeyId  *key_id,
                                const KcSecret *key,
                                gboolean        derived,
                                gboolean        caller,
                                int             key_fig3,
                                int             ack_fig3)
{
  g_autoptr(KcEvent) received = NULL;
  g_autoptr(KcEvent) ack = NULL;

  received = kc_cta_account_event_new (self, derived ? KC_EVENT_KIND_KEY_DERIVED
                                                     : KC_EVENT_KIND_CALL_STATE,
                                       call_id, key_fig3);
  kc_event_set_key (received, key_id, key);
  kc_event_set_summary (received, derived ? "call key derived from the signaling secret"
                                          : "call key received from the controller");
  kc_cta_account_emit (self, received);
  ack = kc_cta_account_event_new (self, KC_EVENT_KIND_KEY_ACK, call_id, ack_fig3);
  kc_event_set_key (ack, key_id, key);
  kc_event_set_summary_printf (ack, "key acknowledgment (role %s) → controller",
                               caller ? "caller" : "callee");
  kc_cta_account_emit (self, ack);
}

void
kc_cta_account_call_done (KcCtaAccount *self,
                          KcCtaCall    *call)
{
  g_ptr_array_remove (self->calls, call);
}

/* Registration */


static gboolean
on_refresh (gpointer user_data)
{
  KcCtaAccount *self = user_data;

  self->refresh_id = 0;
  kc_cta_account_send_register (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_register (KcCtaAccount *self,
                   guint         seconds)
{
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  self->refresh_id = g_timeout_add_seconds (MAX (seconds, 1), on_refresh, self);
}

static guint
granted_expires (KcCtaAccount *self,
                 sip_t const  *sip)
{
  for (sip_contact_t const *m = sip->sip_contact; m != NULL; m = m->m_next)
    if (m->m_expires != NULL && m->m_url->url_port != NULL
        && g_strcmp0 (m->m_url->url_user, self->profile->number) == 0)
      return (guint) strtoul (m->m_expires, NULL, 10);
  if (sip->sip_expires != NULL)
    return (guint) sip->sip_expires->ex_delta;
  return self->expires;
}

static void
emit_register_event (KcCtaAccount *self,
                     KcEventKind   kind,
                     const char   *summary)
{
  g_autoptr(KcEvent) event = kc_cta_account_event_new (self, kind, NULL, 312);

  kc_event_set_summary (event, summary);
  kc_cta_account_emit (self, event);
}

static int
on_register_response (void           *magic,
                      nta_outgoing_t *orq,
                      sip_t const    *sip)
{
  KcCtaAccount *self = magic;
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *summary = NULL;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;
  gboolean internal = sip == NULL || nta_sip_is_internal (sip);
  guint expires;

  if (status < 200)
    return 0;

  if (!internal) {
    msg_t *msg = nta_outgoing_getresponse (orq);

    kc_cta_account_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0, NULL, 312, msg);
    msg_destroy (msg);
  }
  if (!internal && !kc_cta_account_check_peer (self, orq, NULL, &error))
    status = 403;
  reason = error != NULL ? g_strdup (error->message) : kc_cta_sip_reason (sip, status);
  expires = status >= 200 && status < 300 ? granted_expires (self, sip) : 0;
  /* This frees the response: @sip is not to be used after it. */
  if (orq == self->reg_orq)
    self->reg_orq = NULL;
  nta_outgoing_destroy (orq);
  sip = NULL;

  if (self->unregistering) {
    self->unregistering = FALSE;
    kc_cta_account_set_state (self, KC_CTA_REG_UNREGISTERED);
    emit_register_event (self, KC_EVENT_KIND_UNREGISTER, "unregistered");
    kc_cta_account_signal (self, KC_CTA_ACCOUNT_SIGNAL_UNREGISTERED);
    return 0;
  }

  if (status >= 200 && status < 300) {
    self->retry_seconds = 0;
    schedule_register (self, CLAMP (expires / 2, 1, REFRESH_MAX_SECONDS));
    kc_cta_account_set_state (self, KC_CTA_REG_REGISTERED);
    summary = g_strdup_printf ("registered %s at %s for %u s", self->profile->number,
                               self->profile->controller_name, expires);
    emit_register_event (self, KC_EVENT_KIND_REGISTER, summary);
    kc_cta_account_signal (self, KC_CTA_ACCOUNT_SIGNAL_REGISTERED);
    return 0;
  }

  /* Timeouts, transport errors and overload may pass; a refusal will not. */
  if (internal || status == 408 || (status >= 500 && status < 600)) {
    self->retry_seconds = CLAMP (self->retry_seconds * 2, 1, RETRY_MAX_SECONDS);
    schedule_register (self, self->retry_seconds);
    kc_cta_account_set_state (self, KC_CTA_REG_RECONNECTING);
    summary = g_strdup_printf ("REGISTER failed: %d %s; retrying in %u s", status, reason,
                               self->retry_seconds);
    emit_register_event (self, KC_EVENT_KIND_ERROR, summary);
    kc_cta_account_signal (self, KC_CTA_ACCOUNT_SIGNAL_RECONNECTING, summary);
    return 0;
  }

  kc_cta_account_set_state (self, KC_CTA_REG_FAILED);
  summary = g_strdup_printf ("REGISTER refused: %d %s", status, reason);
  emit_register_event (self, KC_EVENT_KIND_ERROR, summary);
  kc_cta_account_signal (self, KC_CTA_ACCOUNT_SIGNAL_REGISTRATION_FAILED, (guint) status, reason);
  return 0;
}

void
kc_cta_account_send_register (KcCtaAccount *self)
{
  g_autofree char *expires = g_strdup_printf ("%u", self->unregistering ? 0 : self->expires);
  gint64 sent_at;
  msg_t *msg;

  if (self->reg_orq != NULL) {
    nta_outgoing_destroy (self->reg_orq);
    self->reg_orq = NULL;
  }
  if (self->state == KC_CTA_REG_IDLE)
    kc_cta_account_set_state (self, KC_CTA_REG_REGISTERING);

  sent_at = g_get_real_time ();
  self->reg_orq = nta_outgoing_tcreate (self->reg_leg, on_register_response, self,
                                        URL_STRING_MAKE (self->route),
                                        SIP_METHOD_REGISTER,
                                        URL_STRING_MAKE (self->route),
                                        SIPTAG_CONTACT_STR (self->contact),
                                        SIPTAG_EXPIRES_STR (expires),
                                        TAG_IF (self->direct_media && !self->unregistering,
                                                SIPTAG_HEADER_STR (KC_CTA_MEDIA_DIRECT_HEADER)),
                                        SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT),
                                        TAG_END ());
  if (self->reg_orq == NULL) {
    g_warning ("Cannot create a REGISTER request; retrying");
    self->retry_seconds = CLAMP (self->retry_seconds * 2, 1, RETRY_MAX_SECONDS);
    schedule_register (self, self->retry_seconds);
    return;
  }
  msg = nta_outgoing_getrequest (self->reg_orq);
  kc_cta_account_emit_msg (self, KC_EVENT_KIND_SIP_TX, sent_at, NULL, 312, msg);
  msg_destroy (msg);
}

/* Requests outside any call: OPTIONS, and new INVITEs. */

int
kc_cta_account_on_request (void           *magic,
                           nta_leg_t      *leg,
                           nta_incoming_t *irq,
                           sip_t const    *sip)
{
  KcCtaAccount *self = magic;
  g_autoptr(GError) error = NULL;
  KcCtaCall *call;
  msg_t *msg = nta_incoming_getrequest (irq);

  kc_cta_account_emit_msg (self, KC_EVENT_KIND_SIP_RX, 0, NULL, 0, msg);
  msg_destroy (msg);

  if (sip->sip_request->rq_method == sip_method_ack)
    return 0;
  /* The listener admits only our controller; check again, per message. */
  if (!kc_cta_account_check_peer (self, NULL, irq, &error)) {
    g_warning ("Refused %s: %s", sip->sip_request->rq_method_name, error->message);
    nta_incoming_treply (irq, 403, "Only this phone's controller may send it requests",
                         TAG_END ());
    return 0;
  }

  switch (sip->sip_request->rq_method) {
  case sip_method_options:
    nta_incoming_treply (irq, SIP_200_OK,
                         SIPTAG_ALLOW_STR (KC_CTA_ALLOW),
                         SIPTAG_SUPPORTED_STR ("100rel"),
                         SIPTAG_ACCEPT_STR ("application/sdp"), TAG_END ());
    return 0;
  case sip_method_invite:
    if (sip->sip_to != NULL && sip->sip_to->a_tag != NULL)
      return 481;    /* a re-INVITE for a dialog we do not have */
    if ((call = kc_cta_call_new_incoming (self, irq, sip)) == NULL)
      return 500;
    g_ptr_array_add (self->calls, g_object_ref (call));
    kc_cta_account_signal (self, KC_CTA_ACCOUNT_SIGNAL_CALL_ADDED, call);
    kc_cta_account_signal (self, KC_CTA_ACCOUNT_SIGNAL_INCOMING_CALL, call);
    kc_cta_call_handle_invite (call, sip);
    g_object_unref (call);
    return 0;
  case sip_method_message:
    kc_cta_account_on_message (self, irq, sip);
    return 0;
  case sip_method_bye:
  case sip_method_cancel:
  case sip_method_prack:
    return 481;
  default:
    nta_incoming_treply (irq, SIP_405_METHOD_NOT_ALLOWED,
                         SIPTAG_ALLOW_STR (KC_CTA_ALLOW),
                         TAG_END ());
    return 0;
  }
}
