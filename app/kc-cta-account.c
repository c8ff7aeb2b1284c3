/* kc-cta-account.c: the account object and its sofia-sip agent.
 *
 * Built on sofia-sip NTA rather than NUA: only NTA tells which certificate
 * a message came with (tport_delivered_from_subjects, inside the callback),
 * and a controller provisioned with an IP address cannot be checked any
 * other way: sofia matches TPTAG_TLS_VERIFY_SUBJECTS only on incoming
 * connections, and against the host name on outgoing ones. So the listener
 * admits only our controller's certificate, and kc-cta-register.c checks
 * every message before anything in it is used.
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-account-private.h"
#include "kc-cta-keying.h"
#include "kc-error.h"

#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_strlst.h>
#include <sofia-sip/tport_tag.h>

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

/* A transaction that gets no response gives up after this (sofia's
 * default is 32 s, which is also how long a failed TLS handshake shows
 * as nothing at all). */
#define TRANSACTION_TIMEOUT_MS 8000

enum {
  PROP_0,
  PROP_NUMBER,
  PROP_DISPLAY_NAME,
  PROP_CONTROLLER_NAME,
  PROP_CONTROLLER_URI,
  PROP_STATE,
  PROP_VERIFIED_CERTIFICATE,
  PROP_CONTACT,
  PROP_EXPIRES,
  N_PROPS
};

static GParamSpec *props[N_PROPS];
static guint signals[KC_CTA_ACCOUNT_N_SIGNALS];

G_DEFINE_TYPE (KcCtaAccount, kc_cta_account, G_TYPE_OBJECT)

/* Not in sofia-sip's public headers, but exported. */
extern su_log_t nta_log[];
extern su_log_t tport_log[];

/* sofia-sip logs in pieces of lines; pass whole lines to GLib (debug). */
static void
su_logger (void       *stream,
           char const *fmt,
           va_list     ap)
{
  static GString *pending;
  char *newline;

  if (pending == NULL)
    pending = g_string_new (NULL);
  g_string_append_vprintf (pending, fmt, ap);
  while ((newline = strchr (pending->str, '\n')) != NULL) {
    g_debug ("sofia-sip: %.*s", (int) (newline - pending->str), pending->str);
    g_string_erase (pending, 0, newline - pending->str + 1);
  }
}
/* Helpers shared with the calls */

nta_agent_t *
kc_cta_account_get_agent (KcCtaAccount *self)
{
  return self->agent;
}

const KcProfile *
kc_cta_account_get_profile (KcCtaAccount *self)
{
  return self->profile;
}

const char *
kc_cta_account_get_route (KcCtaAccount *self)
{
  return self->route;
}

const char *
kc_cta_account_get_domain (KcCtaAccount *self)
{
  return self->domain;
}

const char *
kc_cta_account_get_aor (KcCtaAccount *self)
{
  return self->aor;
}

const char *
kc_cta_account_get_address (KcCtaAccount *self)
{
  return self->address;
}

/* Internal, for kc-cta-register.c */

void
kc_cta_account_set_state (KcCtaAccount  *self,
                          KcCtaRegState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
}

void
kc_cta_account_set_verified (KcCtaAccount *self,
                             char         *subject)
{
  if (g_strcmp0 (subject, self->verified_subject) == 0) {
    g_free (subject);
    return;
  }
  g_free (self->verified_subject);
  self->verified_subject = subject;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_VERIFIED_CERTIFICATE]);
}

void
kc_cta_account_signal (KcCtaAccount *self,
                       KcCtaAccountSignal which,
                       ...)
{
  va_list args;

  va_start (args, which);
  g_signal_emit_valist (self, signals[which], 0, args);
  va_end (args);
}

/* Setup */

/* The local address that routes to the controller: what it can reach us at. */
static char *
route_address (const KcProfile *profile,
               GError         **error)
{
  g_autoptr(GInetAddress) target = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autofree char *maddr = NULL;
  const char *param = strstr (profile->controller, ";maddr=");

  if (param != NULL)
    maddr = g_strndup (param + 7, strcspn (param + 7, ";"));
  target = g_inet_address_new_from_string (maddr != NULL ? maddr : profile->controller_host);
  if (target == NULL) {
    g_autoptr(GList) found = NULL;

    found = g_resolver_lookup_by_name (g_resolver_get_default (), profile->controller_host,
                                       NULL, error);
    if (found == NULL)
      return NULL;
    target = g_object_ref (found->data);
    g_list_free_full (g_steal_pointer (&found), g_object_unref);
  }
  remote = g_inet_socket_address_new (target, profile->controller_port);
  socket = g_socket_new (g_inet_address_get_family (target), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL || !g_socket_connect (socket, remote, NULL, error))
    return NULL;
  if ((local = g_socket_get_local_address (socket, error)) == NULL)
    return NULL;
  return g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
}

static gboolean
check_bindable (const char *host,
                guint16     port,
                GError    **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);
  g_autoptr(GSocketAddress) where = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *uri = kc_cta_sips_uri (host, port);

  if (address == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Cannot listen on %s: not a numeric address",
                 uri);
    return FALSE;
  }
  where = g_inet_socket_address_new (address, port);
  socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, &local);
  if (socket == NULL || !g_socket_bind (socket, where, TRUE, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot listen on %s: %s", uri, local->message);
    return FALSE;
  }
  return TRUE;
}

static void
remove_tls_dir (const char *dir)
{
  g_autofree char *tls = g_build_filename (dir, "tls", NULL);
  g_autofree char *agent = g_build_filename (tls, "agent.pem", NULL);
  g_autofree char *cafile = g_build_filename (tls, "cafile.pem", NULL);

  g_unlink (agent);
  g_unlink (cafile);
  g_rmdir (tls);
  g_rmdir (dir);
}

gboolean
kc_cta_account_start (KcCtaAccount *self,
                      GError      **error)
{
  g_autofree char *tmp = NULL;
  g_autofree char *tls = NULL;
  g_autofree char *bind = NULL;
  g_autofree char *host_uri = NULL;
  g_autoptr(GError) local = NULL;
  su_strlst_t *allowed;
  sip_contact_t const *contact;
  int saved_errno;

  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), FALSE);
  g_return_val_if_fail (self->agent == NULL, FALSE);

  if (self->listen_host != NULL)
    self->address = g_strdup (self->listen_host);
  else if ((self->address = route_address (self->profile, &local)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO,
                 "Cannot find a local address toward controller %s (%s): %s; use --listen",
                 self->profile->controller_name, self->controller_uri, local->message);
    return FALSE;
  }

  /* sofia-sip says nothing useful when it cannot bind: try it here first. */
  if (!check_bindable (self->address, self->listen_port, error))
    return FALSE;

  /* sofia-sip reads the certificate and key from files: give it a private
   * folder for the moment the listener is created, then remove them. */
  if ((tmp = g_dir_make_tmp ("keycall-XXXXXX", &local)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot make a private folder: %s",
                 local->message);
    return FALSE;
  }
  tls = g_build_filename (tmp, "tls", NULL);
  if (!kc_profile_write_tls_dir (self->profile, tls, FALSE, error)) {
    remove_tls_dir (tmp);
    return FALSE;
  }

  self->root = su_glib_root_create (self);
  self->source = su_glib_root_gsource (self->root);
  g_source_attach (self->source, g_main_context_get_thread_default ());

  allowed = su_strlst_create (self->home);
  su_strlst_append (allowed, su_sprintf (self->home, "keycall:controller:%s",
                                         self->profile->controller_name));

  host_uri = kc_cta_sips_uri (self->address, self->listen_port);
  bind = g_strconcat (host_uri, ";transport=tls", NULL);
  self->agent = nta_agent_create (self->root, URL_STRING_MAKE (bind), NULL, NULL,
                                  TPTAG_CERTIFICATE (tls),
                                  /* Chains both ways; incoming connections only
                                   * from our controller's certificate. */
                                  TPTAG_TLS_VERIFY_POLICY (TPTLS_VERIFY_ALL
                                                           | TPTLS_VERIFY_SUBJECTS_IN),
                                  TPTAG_TLS_VERIFY_SUBJECTS (allowed),
                                  NTATAG_UA (1),
                                  NTATAG_REL100 (1),
                                  NTATAG_PASS_408 (1),
                                  NTATAG_SIP_T1X64 (TRANSACTION_TIMEOUT_MS),
                                  NTATAG_USE_NAPTR (0),
                                  NTATAG_USE_SRV (0),
                                  TAG_END ());
  saved_errno = errno;
  remove_tls_dir (tmp);
  if (self->agent == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot listen on %s (%s)", host_uri,
                 g_strerror (saved_errno));
    return FALSE;
  }

  contact = nta_agent_contact (self->agent);
  self->port = (guint16) strtoul (contact->m_url->url_port ? contact->m_url->url_port : "5061",
                                  NULL, 10);
  g_free (host_uri);
  host_uri = kc_cta_sips_uri (self->address, self->port);
  self->contact = g_strdup_printf ("<sips:%s@%s;transport=tls>", self->profile->number,
                                   host_uri + 5);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONTACT]);

  self->default_leg = nta_leg_tcreate (self->agent, kc_cta_account_on_request, self,
                                       NTATAG_NO_DIALOG (1), TAG_END ());
  self->reg_leg = nta_leg_tcreate (self->agent, NULL, NULL,
                                   SIPTAG_FROM_STR (self->aor), SIPTAG_TO_STR (self->aor),
                                   TAG_END ());
  if (self->default_leg == NULL || self->reg_leg == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot set up the SIP agent");
    return FALSE;
  }
  nta_leg_tag (self->reg_leg, NULL);
  g_debug ("Listening on %s, registering %s at %s", host_uri, self->profile->number,
           self->route);
  kc_cta_account_send_register (self);
  return TRUE;
}

void
kc_cta_account_unregister (KcCtaAccount *self)
{
  g_return_if_fail (KC_IS_CTA_ACCOUNT (self));

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (self->agent == NULL || self->state == KC_CTA_REG_FAILED
      || self->state == KC_CTA_REG_UNREGISTERED || self->state == KC_CTA_REG_IDLE) {
    kc_cta_account_set_state (self, KC_CTA_REG_UNREGISTERED);
    g_signal_emit (self, signals[KC_CTA_ACCOUNT_SIGNAL_UNREGISTERED], 0);
    return;
  }
  self->unregistering = TRUE;
  kc_cta_account_set_state (self, KC_CTA_REG_UNREGISTERING);
  kc_cta_account_send_register (self);
}

KcCtaCall *
kc_cta_account_call (KcCtaAccount *self,
                     const char   *number,
                     GError      **error)
{
  KcCtaCall *call;

  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  g_return_val_if_fail (number != NULL, NULL);

  if (self->state != KC_CTA_REG_REGISTERED) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED,
                 "Cannot call %s: %s is not registered with controller %s", number,
                 self->profile->number, self->profile->controller_name);
    return NULL;
  }
  if ((call = kc_cta_call_new_outgoing (self, number, error)) == NULL)
    return NULL;
  g_ptr_array_add (self->calls, g_object_ref (call));
  g_signal_emit (self, signals[KC_CTA_ACCOUNT_SIGNAL_CALL_ADDED], 0, call);
  return call;
}

/* Public getters and setters */

KcCtaAccount *
kc_cta_account_new (KcProfile *profile)
{
  KcCtaAccount *self;
  g_autofree char *host = NULL;

  g_return_val_if_fail (profile != NULL && profile->controller_host != NULL, NULL);

  self = g_object_new (KC_TYPE_CTA_ACCOUNT, NULL);
  self->profile = profile;
  self->controller_uri = kc_cta_sips_uri (profile->controller_host, profile->controller_port);
  self->route = strstr (profile->controller, "transport=") != NULL
                ? g_strdup (profile->controller)
                : g_strconcat (profile->controller, ";transport=tls", NULL);
  /* The network's domain, as the controllers write it in From and To;
   * profiles exported before it existed name none: the controller's host
   * stands in. */
  if (profile->domain != NULL)
    host = g_strdup (profile->domain);
  else if (strchr (profile->controller_host, ':') != NULL)
    host = g_strdup_printf ("[%s]", profile->controller_host);
  else
    host = g_strdup (profile->controller_host);
  self->domain = g_strdup (host);
  if (profile->display_name != NULL && *profile->display_name != '\0') {
    g_autoptr(GString) quoted = g_string_new ("\"");

    for (const char *c = profile->display_name; *c != '\0'; c++) {
      if (*c == '"' || *c == '\\')
        g_string_append_c (quoted, '\\');
      if ((guchar) *c >= 0x20)
        g_string_append_c (quoted, *c);
    }
    self->aor = g_strdup_printf ("%s\" <sips:%s@%s>", quoted->str, profile->number,
                                 self->domain);
  } else {
    self->aor = g_strdup_printf ("<sips:%s@%s>", profile->number, self->domain);
  }
  return self;
}

void
kc_cta_account_set_listen (KcCtaAccount *self,
                           const char   *host,
                           guint16       port)
{
  g_return_if_fail (KC_IS_CTA_ACCOUNT (self));
  g_return_if_fail (self->agent == NULL);

  g_free (self->listen_host);
  self->listen_host = g_strdup (host);
  self->listen_port = port;
}

void
kc_cta_account_set_event_bus (KcCtaAccount *self,
                              KcEventBus   *bus)
{
  g_return_if_fail (KC_IS_CTA_ACCOUNT (self));

  g_clear_pointer (&self->bus, kc_event_bus_unref);
  if (bus != NULL)
    self->bus = kc_event_bus_ref (bus);
}

void
kc_cta_account_set_expires (KcCtaAccount *self,
                            guint         seconds)
{
  g_return_if_fail (KC_IS_CTA_ACCOUNT (self));
  g_return_if_fail (seconds > 0);

  self->expires = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_EXPIRES]);
}

void
kc_cta_account_set_audio (KcCtaAccount *self,
                          const char   *input,
                          const char   *output)
{
  g_return_if_fail (KC_IS_CTA_ACCOUNT (self));

  g_free (self->audio_in);
  self->audio_in = g_strdup (input);
  g_free (self->audio_out);
  self->audio_out = g_strdup (output);
}

void
kc_cta_account_set_direct_media (KcCtaAccount *self, gboolean direct)
{
  g_return_if_fail (KC_IS_CTA_ACCOUNT (self));

  if (self->direct_media == !!direct)
    return;
  self->direct_media = !!direct;
  /* The controller reads it from the binding when a call comes in. */
  if (self->state == KC_CTA_REG_REGISTERED)
    kc_cta_account_send_register (self);
}

gboolean
kc_cta_account_get_direct_media (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), FALSE);
  return self->direct_media;
}

gboolean
kc_cta_account_set_codecs (KcCtaAccount        *self,
                           const char * const  *codecs,
                           GError             **error)
{
  static const char * const known[] = { "opus", "PCMU", "PCMA", NULL };
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), FALSE);

  for (guint i = 0; codecs != NULL && codecs[i] != NULL; i++) {
    const char *name = NULL;

    for (guint k = 0; known[k] != NULL; k++)
      if (g_ascii_strcasecmp (codecs[i], known[k]) == 0)
        name = known[k];
    if (name == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                   "Codec “%s” is not supported; Keycall speaks opus, PCMU and PCMA", codecs[i]);
      return FALSE;
    }
    g_strv_builder_add (builder, name);
  }
  g_clear_pointer (&self->codecs, g_strfreev);
  self->codecs = g_strv_builder_end (builder);
  if (self->codecs[0] == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "At least one codec is needed");
    g_clear_pointer (&self->codecs, g_strfreev);
    kc_cta_account_set_codecs (self, known, NULL);
    return FALSE;
  }
  return TRUE;
}

gboolean
kc_cta_account_set_suites (KcCtaAccount        *self,
                           const char * const  *suites,
                           GError             **error)
{
  g_autoptr(GArray) list = g_array_new (FALSE, FALSE, sizeof (KcSuite));

  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), FALSE);

  for (guint i = 0; suites != NULL && suites[i] != NULL; i++) {
    KcSuite suite = kc_suite_from_string (suites[i]);

    if (suite == KC_SUITE_INVALID) {
      g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                   "SRTP suite “%s” is not supported; Keycall has AES_CM_128_HMAC_SHA1_80, "
                   "AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM and AEAD_AES_256_GCM", suites[i]);
      return FALSE;
    }
    g_array_append_val (list, suite);
  }
  if (list->len == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "At least one SRTP suite is needed");
    return FALSE;
  }
  g_array_unref (self->suites);
  self->suites = g_steal_pointer (&list);
  return TRUE;
}

const char *
kc_cta_account_get_audio_in (KcCtaAccount *self)
{
  return self->audio_in;
}

const char *
kc_cta_account_get_audio_out (KcCtaAccount *self)
{
  return self->audio_out;
}

const char * const *
kc_cta_account_get_codecs (KcCtaAccount *self)
{
  return (const char * const *) self->codecs;
}

GArray *
kc_cta_account_get_suites (KcCtaAccount *self)
{
  return self->suites;
}

const char *
kc_cta_account_get_number (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->profile->number;
}

const char *
kc_cta_account_get_display_name (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->profile->display_name;
}

const char *
kc_cta_account_get_controller_name (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->profile->controller_name;
}

const char *
kc_cta_account_get_controller_uri (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->controller_uri;
}

KcCtaRegState
kc_cta_account_get_state (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), KC_CTA_REG_IDLE);
  return self->state;
}

const char *
kc_cta_account_get_verified_certificate (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->verified_subject;
}

const char *
kc_cta_account_get_contact (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->contact;
}

GPtrArray *
kc_cta_account_get_calls (KcCtaAccount *self)
{
  g_return_val_if_fail (KC_IS_CTA_ACCOUNT (self), NULL);
  return self->calls;
}

/* GObject */

static void
kc_cta_account_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  KcCtaAccount *self = KC_CTA_ACCOUNT (object);

  switch (prop_id) {
  case PROP_NUMBER:
    g_value_set_string (value, self->profile ? self->profile->number : NULL);
    break;
  case PROP_DISPLAY_NAME:
    g_value_set_string (value, self->profile ? self->profile->display_name : NULL);
    break;
  case PROP_CONTROLLER_NAME:
    g_value_set_string (value, self->profile ? self->profile->controller_name : NULL);
    break;
  case PROP_CONTROLLER_URI:
    g_value_set_string (value, self->controller_uri);
    break;
  case PROP_STATE:
    g_value_set_enum (value, self->state);
    break;
  case PROP_VERIFIED_CERTIFICATE:
    g_value_set_string (value, self->verified_subject);
    break;
  case PROP_CONTACT:
    g_value_set_string (value, self->contact);
    break;
  case PROP_EXPIRES:
    g_value_set_uint (value, self->expires);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_cta_account_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  KcCtaAccount *self = KC_CTA_ACCOUNT (object);

  switch (prop_id) {
  case PROP_EXPIRES:
    kc_cta_account_set_expires (self, g_value_get_uint (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_cta_account_dispose (GObject *object)
{
  KcCtaAccount *self = KC_CTA_ACCOUNT (object);

  g_clear_handle_id (&self->refresh_id, g_source_remove);
  /* Calls hold sofia-sip objects that must go before the agent does. */
  for (guint i = 0; i < self->calls->len; i++)
    kc_cta_call_abandon (g_ptr_array_index (self->calls, i));
  g_ptr_array_set_size (self->calls, 0);
  g_hash_table_remove_all (self->deliveries);

  if (self->agent != NULL) {
    if (self->reg_orq != NULL)
      nta_outgoing_destroy (self->reg_orq);
    self->reg_orq = NULL;
    g_clear_pointer (&self->reg_leg, nta_leg_destroy);
    g_clear_pointer (&self->default_leg, nta_leg_destroy);
    g_clear_pointer (&self->agent, nta_agent_destroy);
  }
  if (self->source != NULL) {
    g_source_destroy (self->source);   /* borrowed: destroyed, never unreffed */
    self->source = NULL;
  }
  g_clear_pointer (&self->root, su_root_destroy);
  g_clear_pointer (&self->bus, kc_event_bus_unref);

  G_OBJECT_CLASS (kc_cta_account_parent_class)->dispose (object);
}

static void
kc_cta_account_finalize (GObject *object)
{
  KcCtaAccount *self = KC_CTA_ACCOUNT (object);

  g_ptr_array_unref (self->calls);
  g_hash_table_unref (self->deliveries);
  g_clear_pointer (&self->profile, kc_profile_free);
  g_free (self->listen_host);
  g_free (self->address);
  g_free (self->route);
  g_free (self->controller_uri);
  g_free (self->domain);
  g_free (self->aor);
  g_free (self->contact);
  g_free (self->verified_subject);
  g_free (self->audio_in);
  g_free (self->audio_out);
  g_strfreev (self->codecs);
  g_array_unref (self->suites);
  su_home_unref (self->home);

  G_OBJECT_CLASS (kc_cta_account_parent_class)->finalize (object);
}

static void
kc_cta_account_class_init (KcCtaAccountClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = kc_cta_account_get_property;
  object_class->set_property = kc_cta_account_set_property;
  object_class->dispose = kc_cta_account_dispose;
  object_class->finalize = kc_cta_account_finalize;

  su_init ();
  /* Unless someone asked for sofia-sip's own debugging on stderr. */
  if (g_getenv ("SU_DEBUG") == NULL && g_getenv ("NTA_DEBUG") == NULL
      && g_getenv ("TPORT_DEBUG") == NULL && g_getenv ("TPORT_LOG") == NULL) {
    su_log_redirect (su_log_default, su_logger, NULL);
    su_log_redirect (nta_log, su_logger, NULL);
    su_log_redirect (tport_log, su_logger, NULL);
  }

  props[PROP_NUMBER] =
    g_param_spec_string ("number", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_CONTROLLER_NAME] =
    g_param_spec_string ("controller-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_CONTROLLER_URI] =
    g_param_spec_string ("controller-uri", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, KC_TYPE_CTA_REG_STATE, KC_CTA_REG_IDLE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_VERIFIED_CERTIFICATE] =
    g_param_spec_string ("verified-certificate", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_CONTACT] =
    g_param_spec_string ("contact", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_EXPIRES] =
    g_param_spec_uint ("expires", NULL, NULL, 1, G_MAXUINT32, KC_CTA_DEFAULT_EXPIRES,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[KC_CTA_ACCOUNT_SIGNAL_REGISTERED] =
    g_signal_new ("registered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[KC_CTA_ACCOUNT_SIGNAL_RECONNECTING] =
    g_signal_new ("reconnecting", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[KC_CTA_ACCOUNT_SIGNAL_REGISTRATION_FAILED] =
    g_signal_new ("registration-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_STRING);
  signals[KC_CTA_ACCOUNT_SIGNAL_UNREGISTERED] =
    g_signal_new ("unregistered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[KC_CTA_ACCOUNT_SIGNAL_INCOMING_CALL] =
    g_signal_new ("incoming-call", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, KC_TYPE_CTA_CALL);
  signals[KC_CTA_ACCOUNT_SIGNAL_CALL_ADDED] =
    g_signal_new ("call-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, KC_TYPE_CTA_CALL);
}

static void
kc_cta_account_init (KcCtaAccount *self)
{
  self->home = su_home_new (sizeof (su_home_t));
  self->expires = KC_CTA_DEFAULT_EXPIRES;
  self->calls = g_ptr_array_new_with_free_func (g_object_unref);
  self->deliveries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) kc_cta_delivery_free);
  {
    static const char * const codecs[] = { "opus", "PCMU", "PCMA", NULL };
    static const char * const suites[] = { "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM",
                                           "AEAD_AES_256_GCM", "AES_CM_128_HMAC_SHA1_32", NULL };

    self->suites = g_array_new (FALSE, FALSE, sizeof (KcSuite));
    kc_cta_account_set_codecs (self, codecs, NULL);
    kc_cta_account_set_suites (self, suites, NULL);
  }
}
