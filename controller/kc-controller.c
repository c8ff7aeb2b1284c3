/* kc-controller.c: the NTA agent, identities, registrar and the requests
 * outside any dialog; kc-controller-peer.c watches the peer controllers. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-private.h"

#include "kc-controller-call.h"
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-li.h"
#include "kc-pki.h"
#include "kc-sip-util.h"
#include "kc-step.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/x509.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/tport_tag.h>
#include <string.h>

#define DEFAULT_EXPIRES  600
#define MAX_EXPIRES      86400
#define ALLOW            "INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, REGISTER, MESSAGE"

typedef struct {
  char   *contact;              /* the URI of the registered Contact */
  char   *serial;               /* certificate that registered it */
  gint64  expires;              /* monotonic µs */
  gboolean direct_media;        /* the REGISTER said Keycall-Media: direct */
} KcBinding;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

/* Accessors --------------------------------------------------------------- */

nta_agent_t *kc_controller_get_agent (KcController *self) { return self->agent; }
su_root_t *kc_controller_get_root (KcController *self) { return self->root; }
KcControllerConfig *kc_controller_get_config (KcController *self) { return self->config; }
KcStore *kc_controller_get_store (KcController *self) { return self->store; }
KcVault *kc_controller_get_vault (KcController *self) { return self->vault; }
const guint8 *kc_controller_get_lea_key (KcController *self) { return self->lea_key; }
KcRelay *kc_controller_get_relay (KcController *self) { return self->relay; }
const char *kc_controller_get_contact (KcController *self) { return self->contact; }
const char *kc_controller_get_listen_uri (KcController *self) { return self->listen_uri; }
KcLi *kc_controller_get_li (KcController *self) { return self->li; }
KcStepGate *kc_controller_get_step_gate (KcController *self) { return self->step; }

void
kc_controller_set_key_func (KcController *self, KcControllerKeyFunc func, gpointer user_data)
{
  self->key_func = func;
  self->key_data = user_data;
}

void
kc_controller_reveal_key (KcController *self, const char *call_id, const char *key_id_hex,
                          const KcSecret *key)
{
  if (self->key_func != NULL && key != NULL)
    self->key_func (call_id, key_id_hex, key, self->key_data);
}

void
kc_controller_add_call (KcController *self, gpointer call)
{
  g_hash_table_add (self->calls, call);
}

void
kc_controller_remove_call (KcController *self, gpointer call)
{
  g_hash_table_remove (self->calls, call);
}

/* Events ------------------------------------------------------------------ */

KcEvent *
kc_controller_event (KcController *self, KcEventKind kind, int fig3, const char *call_id,
                     const char *peer)
{
  KcEvent *event = kc_event_new (kind);

  kc_event_set_lane (event, self->lane);
  kc_event_set_fig3 (event, fig3);
  kc_event_set_call_id (event, call_id);
  kc_event_set_peer (event, peer);
  return event;
}

void
kc_controller_emit (KcController *self, KcEvent *event)
{
  kc_event_bus_emit (self->bus, event);
  kc_event_unref (event);
}

void
kc_controller_emit_msg (KcController *self, gboolean sent, gint64 time_us, int fig3,
                        const char *call_id, const char *peer, msg_t *msg)
{
  sip_t const *sip = sip_object (msg);
  g_autofree char *text = NULL;
  KcEvent *event;

  if (sip == NULL)
    return;
  text = kc_sip_msg_to_text (msg);
  event = kc_controller_event (self, sent ? KC_EVENT_KIND_SIP_TX : KC_EVENT_KIND_SIP_RX, fig3,
                               call_id ? call_id : (sip->sip_call_id ? sip->sip_call_id->i_id
                                                                     : NULL), peer);
  if (time_us > 0)
    kc_event_set_time (event, time_us);
  if (sip->sip_request != NULL) {
    kc_event_set_attr (event, "method", sip->sip_request->rq_method_name);
    kc_event_set_summary_printf (event, "%s %s %s", sent ? "→" : "←",
                                 sip->sip_request->rq_method_name, peer ? peer : "");
  }
  else if (sip->sip_status != NULL) {
    kc_event_set_attr_int (event, "status", sip->sip_status->st_status);
    if (sip->sip_cseq != NULL)
      kc_event_set_attr (event, "method", sip->sip_cseq->cs_method_name);
    kc_event_set_summary_printf (event, "%s %d %s %s", sent ? "→" : "←",
                                 sip->sip_status->st_status,
                                 sip->sip_status->st_phrase ? sip->sip_status->st_phrase : "",
                                 peer ? peer : "");
  }
  kc_event_set_message (event, text);
  if (text != NULL)
    kc_sip_text_free (g_steal_pointer (&text));
  kc_controller_emit (self, event);
}

/* Replies to @irq and reports the reply. */
static void
reply (KcController *self, nta_incoming_t *irq, int fig3, const char *peer, int status,
       const char *phrase, tag_type_t tag, tag_value_t value, ...)
{
  gint64 sent_at = g_get_real_time ();
  ta_list ta;
  msg_t *msg;

  ta_start (ta, tag, value);
  nta_incoming_treply (irq, status, phrase, ta_tags (ta));
  (void) ta_end (ta);
  if ((msg = nta_incoming_getresponse (irq)) != NULL) {
    kc_controller_emit_msg (self, TRUE, sent_at, fig3, NULL, peer, msg);
    msg_destroy (msg);
  }
}

/* Certificates ------------------------------------------------------------ */

/* The CRL file is re-read when keycall-admin replaces it. */
static void
refresh_crl (KcController *self)
{
  GStatBuf st;
  g_autoptr(GError) error = NULL;
  X509_CRL *crl;

  if (g_stat (self->config->crl, &st) < 0) {
    if (self->crl_mtime != -1)
      g_warning ("%s: cannot read the CRL (%s); refusing every certificate until it is back",
                 self->config->crl, g_strerror (errno));
    g_clear_pointer (&self->crl, X509_CRL_free);
    self->crl_mtime = -1;
    return;
  }
  if ((gint64) st.st_mtime * G_USEC_PER_SEC + st.st_size == self->crl_mtime && self->crl)
    return;
  crl = kc_pki_crl_load (self->config->crl, &error);
  if (crl == NULL) {
    g_warning ("%s", error->message);
    return;
  }
  g_clear_pointer (&self->crl, X509_CRL_free);
  self->crl = crl;
  self->crl_mtime = (gint64) st.st_mtime * G_USEC_PER_SEC + st.st_size;
  g_debug ("CRL #%" G_GUINT64_FORMAT " loaded from %s", kc_pki_crl_number (crl), self->config->crl);
}

X509_CRL *
kc_controller_get_crl (KcController *self)
{
  refresh_crl (self);
  return self->crl;
}

gboolean
kc_controller_check_crl (KcController *self, const char *serial, GError **error)
{
  refresh_crl (self);
  if (serial == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "Certificate has no keycall:serial subject; reissue it with keycall-admin");
    return FALSE;
  }
  if (self->crl == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "No CRL to check the certificate against");
    return FALSE;
  }
  if (kc_pki_crl_contains (self->crl, serial)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Certificate revoked");
    return FALSE;
  }
  return TRUE;
}

/* Registrar (FIG. 3, 312/314) --------------------------------------------- */

static void
binding_free (KcBinding *binding)
{
  g_free (binding->contact);
  g_free (binding->serial);
  g_free (binding);
}

const char *
kc_controller_lookup_binding (KcController *self, const char *number, gboolean *direct_media)
{
  KcBinding *binding = g_hash_table_lookup (self->bindings, number);

  if (direct_media != NULL)
    *direct_media = binding != NULL && binding->direct_media;
  if (binding == NULL)
    return NULL;
  if (binding->expires <= g_get_monotonic_time ()) {
    g_hash_table_remove (self->bindings, number);
    return NULL;
  }
  return binding->contact;
}

/* The subscriber @number may use this controller: it exists, is active and
 * its current certificate is @serial. Otherwise the status to refuse with. */
int
kc_controller_check_subscriber (KcController *self, const char *number, const char *serial,
                                char **phrase)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSubscriber) sub = kc_store_subscriber_get (self->store, number, &error);

  if (sub == NULL) {
    if (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND)) {
      *phrase = g_strdup_printf ("No subscriber %s", number);
      return 404;
    }
    g_warning ("Store: %s", error->message);
    *phrase = g_strdup ("Store unavailable");
    return 500;
  }
  if (sub->state != KC_SUBSCRIBER_ACTIVE) {
    *phrase = g_strdup_printf ("Subscriber %s is %s", number,
                               kc_subscriber_state_to_string (sub->state));
    return 403;
  }
  if (serial != NULL && sub->cert_serial != NULL
      && g_ascii_strcasecmp (sub->cert_serial, serial) != 0) {
    *phrase = g_strdup_printf ("Certificate %s is not the current certificate of %s", serial,
                               number);
    return 403;
  }
  return 0;
}

static const char *
role_title (KcRole role)
{
  switch (role) {
  case KC_ROLE_CONTROLLER: return "Controller";
  case KC_ROLE_LEA: return "LEA";
  case KC_ROLE_GATEWAY: return "Gateway";
  default: return "CTA";
  }
}

static void
on_register (KcController *self, nta_incoming_t *irq, sip_t const *sip, KcPeerIdentity *id,
             const char *lane)
{
  const char *number = sip->sip_to ? kc_sip_url_user (sip->sip_to->a_url) : NULL;
  g_autofree char *phrase = NULL;
  g_autofree char *contact = NULL;
  sip_contact_t const *m = sip->sip_contact;
  sip_expires_t expires[1];
  unsigned long delta = DEFAULT_EXPIRES;
  int status;
  KcEvent *event;

  if (id->role != KC_ROLE_CTA) {
    phrase = g_strdup_printf ("%s certificate cannot register", role_title (id->role));
    reply (self, irq, 312, lane, 403, phrase, TAG_END ());
    return;
  }
  if (number == NULL || g_strcmp0 (number, id->identity) != 0) {
    phrase = g_strdup_printf ("Certificate is for %s, not %s", id->identity,
                              number ? number : "an empty user");
    reply (self, irq, 312, lane, 403, phrase, TAG_END ());
    return;
  }
  if ((status = kc_controller_check_subscriber (self, number, id->serial, &phrase)) != 0) {
    reply (self, irq, 312, lane, status, phrase, TAG_END ());
    return;
  }
  if (m == NULL || m->m_url->url_host == NULL || m->m_next != NULL) {
    reply (self, irq, 312, lane, 400, "Exactly one Contact is needed", TAG_END ());
    return;
  }
  if (m->m_expires != NULL)
    delta = strtoul (m->m_expires, NULL, 10);
  else if (sip->sip_expires != NULL)
    delta = sip->sip_expires->ex_delta;
  delta = MIN (delta, MAX_EXPIRES);

  {
    char *text = url_as_string (NULL, m->m_url);

    contact = g_strdup (text);
    su_free (NULL, text);
  }
  if (delta == 0) {
    g_hash_table_remove (self->bindings, number);
    event = kc_controller_event (self, KC_EVENT_KIND_UNREGISTER, 312, NULL, lane);
    kc_event_set_summary_printf (event, "%s unregistered", number);
  }
  else {
    KcBinding *binding = g_new0 (KcBinding, 1);

    binding->contact = g_strdup (contact);
    binding->serial = g_strdup (id->serial);
    binding->expires = g_get_monotonic_time () + (gint64) delta * G_USEC_PER_SEC;
    binding->direct_media = kc_sip_wants_direct_media (sip);
    g_hash_table_replace (self->bindings, g_strdup (number), binding);
    event = kc_controller_event (self, KC_EVENT_KIND_REGISTER, 312, NULL, lane);
    kc_event_set_summary_printf (event, "%s registered at %s for %lu s%s", number, contact, delta,
                                 binding->direct_media ? ", asking for direct media" : "");
    kc_event_set_attr (event, "contact", contact);
    if (binding->direct_media)
      kc_event_set_attr (event, "media", "direct");
  }
  kc_controller_emit (self, event);
  sip_expires_init (expires)->ex_delta = delta;
  reply (self, irq, 312, lane, SIP_200_OK, SIPTAG_CONTACT (delta ? m : NULL),
         SIPTAG_EXPIRES (expires), TAG_END ());
}


/* sofia-sip's live transactions and dialogs ------------------------------ */

void
kc_controller_get_sip_stats (KcController *self,
                             KcSipStats   *stats)
{
  usize_t orq = 0, irq = 0, legs = 0;

  if (self->agent != NULL)
    nta_agent_get_stats (self->agent, NTATAG_S_ORQ_HASH_USED_REF (orq),
                         NTATAG_S_IRQ_HASH_USED_REF (irq), NTATAG_S_LEG_HASH_USED_REF (legs),
                         TAG_END ());
  stats->calls = self->calls ? g_hash_table_size (self->calls) : 0;
  stats->client_transactions = orq;
  stats->server_transactions = irq;
  stats->dialogs = legs;
}

/* A debug line whenever the counts changed: once the calls are over, they
 * go back to what they were before any call (a soak shows it); anything
 * sofia-sip keeps beyond that is memory held until shutdown. */
static gboolean
on_stats (gpointer data)
{
  KcController *self = data;
  KcSipStats s;
  gsize now[4];

  kc_controller_get_sip_stats (self, &s);
  now[0] = s.calls;
  now[1] = s.client_transactions;
  now[2] = s.server_transactions;
  now[3] = s.dialogs;
  if (memcmp (now, self->stats_last, sizeof now) != 0) {
    memcpy (self->stats_last, now, sizeof now);
    g_debug ("sip stats: %u calls, %" G_GSIZE_FORMAT " client transactions, %" G_GSIZE_FORMAT
             " server transactions, %" G_GSIZE_FORMAT " dialogs", s.calls,
             s.client_transactions, s.server_transactions, s.dialogs);
  }
  return G_SOURCE_CONTINUE;
}

/* Requests outside any dialog --------------------------------------------- */

/* TRUE when a call took @irq; everything else is answered before this
 * returns. */
static gboolean
handle_request (KcController *self, nta_incoming_t *irq, sip_t const *sip)
{
  g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *lane = NULL;
  g_autofree char *phrase = NULL;
  sip_method_t method = sip->sip_request->rq_method;
  msg_t *msg = nta_incoming_getrequest (irq);
  tport_t *tp = nta_incoming_transport (self->agent, irq, msg);
  gboolean known;
  int fig3 = method == sip_method_register ? 312 : method == sip_method_invite ? 316 : 0;

  known = kc_sip_identify (self->agent, tp, msg, &id, &error)
          && kc_controller_check_crl (self, id.serial, &error);
  tport_unref (tp);
  lane = known ? kc_peer_lane (id.role, id.identity) : NULL;
  /* A peer's INVITE is 318, unless the key went ahead in a MESSAGE (318). */
  if (id.role == KC_ROLE_CONTROLLER && known && method == sip_method_invite)
    fig3 = self->config->delivery == KC_DELIVERY_SEPARATE ? 0 : 318;
  /* Peers' keep-alives would drown everything else; a MESSAGE is reported
   * by the call code, which knows its FIG. 3 arrow. */
  if ((method != sip_method_options || id.role != KC_ROLE_CONTROLLER)
      && (method != sip_method_message || !known))
    kc_controller_emit_msg (self, FALSE, 0, fig3, NULL, lane, msg);
  msg_destroy (msg);

  if (method == sip_method_ack)
    return FALSE;   /* stray ACK: nothing to answer */
  if (!known) {
    g_message ("Refused %s: %s", sip->sip_request->rq_method_name, error->message);
    reply (self, irq, fig3, NULL, 403, error->message, TAG_END ());
    return FALSE;
  }
  if (id.role == KC_ROLE_CONTROLLER && kc_controller_config_peer (self->config, id.identity) == NULL) {
    phrase = g_strdup_printf ("Unknown peer controller %s", id.identity);
    reply (self, irq, fig3, lane, 403, phrase, TAG_END ());
    return FALSE;
  }
  if (id.role == KC_ROLE_CONTROLLER)
    kc_controller_peer_heard_from (self, id.identity);
  /* A To tag means a dialog this controller does not know; REGISTER,
   * OPTIONS and MESSAGE never belong to one here, so a tag is harmless. */
  if (sip->sip_to != NULL && sip->sip_to->a_tag != NULL && method != sip_method_options
      && method != sip_method_register && method != sip_method_message) {
    reply (self, irq, fig3, lane, SIP_481_NO_TRANSACTION, TAG_END ());
    return FALSE;
  }

  switch (method) {
  case sip_method_register:
    on_register (self, irq, sip, &id, lane);
    break;
  case sip_method_options:
    if (id.role != KC_ROLE_CTA && id.role != KC_ROLE_CONTROLLER) {
      phrase = g_strdup_printf ("Certificate role %s has no business here",
                                kc_role_to_string (id.role));
      reply (self, irq, 0, lane, 403, phrase, TAG_END ());
    }
    else
      nta_incoming_treply (irq, SIP_200_OK, SIPTAG_ALLOW_STR (ALLOW),
                           SIPTAG_SUPPORTED_STR ("100rel"),
                           SIPTAG_ACCEPT_STR ("application/sdp"), TAG_END ());
    break;
  case sip_method_invite:
    if (id.role != KC_ROLE_CTA && id.role != KC_ROLE_CONTROLLER) {
      phrase = g_strdup_printf ("Certificate role %s cannot place calls",
                                kc_role_to_string (id.role));
      reply (self, irq, fig3, lane, 403, phrase, TAG_END ());
    }
    else
      return kc_call_incoming (self, irq, sip, &id);
    break;
  case sip_method_message:
    kc_call_incoming_message (self, irq, sip, &id);
    break;
  case sip_method_bye:
  case sip_method_prack:
  case sip_method_cancel:
    reply (self, irq, 0, lane, SIP_481_NO_TRANSACTION, TAG_END ());
    break;
  default:
    reply (self, irq, 0, lane, SIP_405_METHOD_NOT_ALLOWED, SIPTAG_ALLOW_STR (ALLOW), TAG_END ());
    break;
  }
  return FALSE;
}

/* Returning 0 leaves @irq to this controller: sofia-sip frees a server
 * transaction only once it is destroyed, so every one no call took (a
 * REGISTER, an OPTIONS, a MESSAGE, a refusal) is destroyed here, answered;
 * it then lingers only as long as SIP's timers say. */
static int
on_request (nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
  KcController *self = (KcController *) magic;

  (void) leg;
  if (!handle_request (self, irq, sip))
    nta_incoming_destroy (irq);
  return 0;
}

/* Life cycle --------------------------------------------------------------- */

static gboolean
check_tls_dir (const char *dir, GError **error)
{
  static const char *const files[] = { "agent.pem", "cafile.pem" };

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *path = g_build_filename (dir, files[i], NULL);

    /* sofia would carry on without a certificate, silently. */
    if (g_access (path, R_OK) < 0) {
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "%s: %s; the controller folder is incomplete",
                   path, g_strerror (errno));
      return FALSE;
    }
  }
  return TRUE;
}

/* The relay binds its ports only when a call comes: try the address now, so
 * a wrong relay-address stops the start instead of failing every call. */
static KcRelay *
start_relay (KcControllerConfig *config, GError **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (config->relay_address);
  g_autoptr(GSocketAddress) any_port = NULL;
  g_autoptr(GSocket) probe = NULL;
  g_autoptr(GError) local = NULL;
  KcRelay *relay;

  if (inet == NULL)   /* the config checked it */
    return kc_relay_new (config->relay_address, config->relay_port_min, config->relay_port_max,
                         error);
  any_port = g_inet_socket_address_new (inet, 0);
  probe = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_DATAGRAM,
                        G_SOCKET_PROTOCOL_UDP, &local);
  if (probe == NULL || !g_socket_bind (probe, any_port, FALSE, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "%s: [media] relay-address: cannot use %s (%s); "
                 "give an address of this host, or set relay=false", config->path,
                 config->relay_address, local->message);
    return NULL;
  }
  relay = kc_relay_new (config->relay_address, config->relay_port_min, config->relay_port_max,
                        error);
  if (relay != NULL)
    g_message ("Anchoring media on %s, UDP ports %u-%u", kc_relay_get_address (relay),
               config->relay_port_min, config->relay_port_max);
  return relay;
}

KcController *
kc_controller_new (KcControllerConfig *config, KcEventBus *bus, su_root_t *root, GError **error)
{
  KcController *self = g_new0 (KcController, 1);
  g_autofree char *bind_url = NULL;
  gboolean v6 = strchr (config->listen_host, ':') != NULL;

  self->config = config;
  self->bus = kc_event_bus_ref (bus);
  self->root = root;
  self->lane = kc_peer_lane (KC_ROLE_CONTROLLER, config->name);
  self->bindings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) binding_free);
  self->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_controller_peer_free);
  self->calls = g_hash_table_new (NULL, NULL);
  self->step = kc_step_gate_new (kc_step_notify_controller, self);
  self->crl_mtime = 0;
  self->listen_uri = g_strdup_printf (v6 ? "sips:[%s]:%u" : "sips:%s:%u", config->listen_host,
                                      config->listen_port);
  self->contact = g_strdup_printf (strchr (config->host, ':') ? "<sips:[%s]:%u;transport=tls>"
                                                              : "<sips:%s:%u;transport=tls>",
                                   config->host, config->port);

  if (!kc_hpke_public_key_load_pem (config->lea_public_key, self->lea_key, error)
      || (self->vault = kc_vault_load (config->vault, error)) == NULL
      || (self->store = kc_store_open (config->store, KC_STORE_OPEN_DEFAULT, error)) == NULL
      || !check_tls_dir (config->tls_dir, error)
      || (config->relay && (self->relay = start_relay (config, error)) == NULL)) {
    kc_controller_free (self);
    return NULL;
  }
  refresh_crl (self);
  if (self->crl == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "%s: cannot load the CRL", config->crl);
    kc_controller_free (self);
    return NULL;
  }

  bind_url = g_strdup_printf ("%s;transport=tls", self->listen_uri);
  self->agent = nta_agent_create (root, URL_STRING_MAKE (bind_url), NULL, NULL,
                                  TPTAG_CERTIFICATE (config->tls_dir),
                                  TPTAG_TLS_VERIFY_POLICY (TPTLS_VERIFY_ALL),
                                  NTATAG_MAXSIZE (KC_SIP_MAX_MESSAGE),
                                  NTATAG_UA (1),
                                  NTATAG_USE_NAPTR (0),
                                  NTATAG_USE_SRV (0),
                                  TAG_IF (config->sip_t1x64, NTATAG_SIP_T1X64 (config->sip_t1x64)),
                                  TAG_END ());
  if (self->agent == NULL) {
    /* sofia leaves no useful errno behind. */
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot listen on %s: is the port in use, or "
                 "the address not one of this host's?", self->listen_uri);
    kc_controller_free (self);
    return NULL;
  }
  self->default_leg = nta_leg_tcreate (self->agent, on_request, (nta_leg_magic_t *) self,
                                       NTATAG_NO_DIALOG (1), TAG_END ());
  if (config->li_enabled && (self->li = kc_li_new (self, error)) == NULL) {
    kc_controller_free (self);
    return NULL;
  }
  kc_controller_start_peers (self);
  self->stats_last[1] = G_MAXSIZE;  /* the first line always goes out */
  on_stats (self);
  self->stats_id = g_timeout_add ((guint) (self->config->keepalive * 1000), on_stats, self);
  return self;
}

void
kc_controller_stop (KcController *self)
{
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  kc_call_end_all (self, FALSE);
}

guint
kc_controller_count_calls (KcController *self)
{
  return g_hash_table_size (self->calls);
}

void
kc_controller_free (KcController *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->stats_id, g_source_remove);
  kc_call_end_all (self, TRUE);
  /* Every call dropped what it had held: nothing left to send. */
  g_clear_pointer (&self->step, kc_step_gate_free);
  g_clear_pointer (&self->li, kc_li_free);
  /* Every call freed its relay call: this stops the relay thread. */
  g_clear_pointer (&self->relay, kc_relay_unref);
  g_clear_pointer (&self->peers, g_ptr_array_unref);
  if (self->default_leg != NULL)
    nta_leg_destroy (self->default_leg);
  if (self->agent != NULL)
    nta_agent_destroy (self->agent);
  g_clear_pointer (&self->store, kc_store_close);
  g_clear_pointer (&self->vault, kc_vault_free);
  g_clear_pointer (&self->crl, X509_CRL_free);
  g_clear_pointer (&self->bindings, g_hash_table_unref);
  g_clear_pointer (&self->calls, g_hash_table_unref);
  g_clear_pointer (&self->bus, kc_event_bus_unref);
  g_free (self->listen_uri);
  g_free (self->contact);
  g_free (self->lane);
  g_free (self);
}

GList *
kc_controller_list_calls (KcController *self)
{
  return self->calls ? g_hash_table_get_keys (self->calls) : NULL;
}
