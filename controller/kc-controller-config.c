/* kc-controller-config.c: reading and checking controller.ini. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-config.h"

#include "kc-error.h"
#include "kc-pki.h"
#include "kc-profile.h"
#include "kc-relay.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP        "controller"
#define MEDIA_GROUP  "media"
#define LI_GROUP     "lawful-intercept"
#define PEER_PREFIX  "peer "
#define MAX_TIMEOUT  86400.0

static void
peer_free (KcPeerConfig *peer)
{
  g_free (peer->name);
  g_free (peer->address);
  g_free (peer->host);
  g_strfreev (peer->prefixes);
  g_free (peer);
}

void
kc_controller_config_free (KcControllerConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->name);
  g_free (config->network);
  g_free (config->domain);
  g_free (config->host);
  g_free (config->listen_host);
  g_strfreev (config->prefixes);
  g_free (config->tls_dir);
  g_free (config->store);
  g_free (config->vault);
  g_free (config->crl);
  g_free (config->lea_public_key);
  g_free (config->events);
  g_free (config->event_socket);
  g_free (config->relay_address);
  g_free (config->li_host);
  g_clear_pointer (&config->peers, g_ptr_array_unref);
  g_free (config);
}

const char *
kc_key_mode_to_string (KcKeyMode mode)
{
  return mode == KC_KEY_MODE_DERIVED ? "derived" : "random";
}

const char *
kc_delivery_to_string (KcDelivery delivery)
{
  return delivery == KC_DELIVERY_SEPARATE ? "separate" : "signaling";
}

/* Every error of this file reads "PATH: [GROUP] KEY: what is wrong". */
static gboolean
bad (GError **error, const char *path, const char *group, const char *key,
     const char *format, ...) G_GNUC_PRINTF (5, 6);

static gboolean
bad (GError **error, const char *path, const char *group, const char *key,
     const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list ap;

  va_start (ap, format);
  what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "%s: [%s] %s: %s", path, group, key, what);
  return FALSE;
}

/* A string value, NULL when absent; FALSE when present but not a string. */
static gboolean
get_string (GKeyFile *kf, const char *path, const char *group, const char *key,
            char **out, GError **error)
{
  g_autoptr(GError) local = NULL;

  *out = NULL;
  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  *out = g_key_file_get_string (kf, group, key, &local);
  if (*out == NULL)
    return bad (error, path, group, key, "%s", local->message);
  g_strstrip (*out);
  return TRUE;
}

static gboolean
require_string (GKeyFile *kf, const char *path, const char *group, const char *key,
                char **out, GError **error)
{
  if (!get_string (kf, path, group, key, out, error))
    return FALSE;
  if (*out == NULL || **out == '\0') {
    g_clear_pointer (out, g_free);
    return bad (error, path, group, key, "missing; keycall-admin writes it");
  }
  return TRUE;
}

/* Resolves @value against the folder of the file, unless absolute. */
static char *
resolve (const char *dir, const char *value)
{
  if (g_path_is_absolute (value))
    return g_strdup (value);
  return g_canonicalize_filename (value, dir);
}

static gboolean
parse_seconds (const char *text, double *out)
{
  char *end = NULL;
  double v;

  if (text == NULL || *text == '\0')
    return FALSE;
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !(v > 0) || v > MAX_TIMEOUT)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
get_seconds (GKeyFile *kf, const char *path, const char *key, double fallback, double *out,
             GError **error)
{
  g_autofree char *text = NULL;

  *out = fallback;
  if (!get_string (kf, path, GROUP, key, &text, error))
    return FALSE;
  if (text != NULL && !parse_seconds (text, out))
    return bad (error, path, GROUP, key, "'%s' is not a number of seconds above 0 (and at "
                "most %.0f)", text, MAX_TIMEOUT);
  return TRUE;
}

static gboolean
check_prefixes (char **prefixes, const char *path, const char *group, GError **error)
{
  for (gsize i = 0; prefixes != NULL && prefixes[i] != NULL; i++) {
    g_strstrip (prefixes[i]);
    if (!kc_pki_check_number (prefixes[i], NULL))
      return bad (error, path, group, "prefixes", "'%s' is not a number prefix", prefixes[i]);
  }
  return TRUE;
}

/* "HOST:PORT" with HOST an IPv4 address or [IPv6]. */
static gboolean
split_host_port (const char *text, char **host, guint *port)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *h = NULL;
  guint64 p;

  if (colon == NULL || colon == text)
    return FALSE;
  h = g_strndup (text, colon - text);
  if (h[0] == '[' && h[strlen (h) - 1] == ']') {
    char *inner = g_strndup (h + 1, strlen (h) - 2);

    g_free (h);
    h = inner;
  }
  if (!g_hostname_is_ip_address (h)
      || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &p, NULL))
    return FALSE;
  *host = g_steal_pointer (&h);
  *port = (guint) p;
  return TRUE;
}

/* sips:HOST:PORT[;params] with a numeric HOST: sofia ignores /etc/hosts. */
static gboolean
parse_peer_address (const char *address, char **host, guint *port)
{
  g_autofree char *hostport = NULL;
  const char *semi;

  if (!g_str_has_prefix (address, "sips:"))
    return FALSE;
  semi = strchr (address, ';');
  hostport = semi ? g_strndup (address + 5, semi - address - 5) : g_strdup (address + 5);
  if (strchr (hostport, '@') != NULL)
    return FALSE;
  if (strrchr (hostport, ':') == NULL || (hostport[0] == '[' && strstr (hostport, "]:") == NULL)) {
    if (!g_hostname_is_ip_address (hostport))
      return FALSE;
    *host = g_steal_pointer (&hostport);
    *port = KC_DEFAULT_SIPS_PORT;
    return TRUE;
  }
  return split_host_port (hostport, host, port);
}

static gboolean
load_peers (KcControllerConfig *config, GKeyFile *kf, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (gsize i = 0; groups[i] != NULL; i++) {
    g_autoptr(GError) local = NULL;
    KcPeerConfig *peer;
    const char *name;

    if (!g_str_has_prefix (groups[i], PEER_PREFIX))
      continue;
    name = groups[i] + strlen (PEER_PREFIX);
    if (!kc_pki_check_name (name, NULL))
      return bad (error, config->path, groups[i], "name", "'%s' is not a controller name", name);
    if (g_strcmp0 (name, config->name) == 0)
      return bad (error, config->path, groups[i], "name",
                  "a controller cannot be its own peer");
    peer = g_new0 (KcPeerConfig, 1);
    g_ptr_array_add (config->peers, peer);
    peer->name = g_strdup (name);
    if (!require_string (kf, config->path, groups[i], "address", &peer->address, error))
      return FALSE;
    if (!parse_peer_address (peer->address, &peer->host, &peer->port))
      return bad (error, config->path, groups[i], "address",
                  "'%s' is not sips:HOST:PORT with a numeric HOST (sofia-sip does not read "
                  "/etc/hosts)", peer->address);
    if (g_key_file_has_key (kf, groups[i], "prefixes", NULL)) {
      peer->prefixes = g_key_file_get_string_list (kf, groups[i], "prefixes", NULL, &local);
      if (peer->prefixes == NULL)
        peer->prefixes = g_new0 (char *, 1);
    }
    else
      peer->prefixes = g_new0 (char *, 1);
    if (!check_prefixes (peer->prefixes, config->path, groups[i], error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
parse_key_mode (const char *text, KcKeyMode *mode)
{
  if (g_strcmp0 (text, "random") == 0)
    *mode = KC_KEY_MODE_RANDOM;
  else if (g_strcmp0 (text, "derived") == 0)
    *mode = KC_KEY_MODE_DERIVED;
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_delivery (const char *text, KcDelivery *delivery)
{
  if (g_strcmp0 (text, "signaling") == 0)
    *delivery = KC_DELIVERY_SIGNALING;
  else if (g_strcmp0 (text, "separate") == 0)
    *delivery = KC_DELIVERY_SEPARATE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
load_paths (KcControllerConfig *config, GKeyFile *kf, const char *dir, GError **error)
{
  static const struct { const char *key, *fallback; gsize offset; } paths[] = {
    { "tls-dir", ".", G_STRUCT_OFFSET (KcControllerConfig, tls_dir) },
    { "store", "store.db", G_STRUCT_OFFSET (KcControllerConfig, store) },
    { "vault", "vault.key", G_STRUCT_OFFSET (KcControllerConfig, vault) },
    { "crl", "crl.pem", G_STRUCT_OFFSET (KcControllerConfig, crl) },
    { "lea-public-key", NULL, G_STRUCT_OFFSET (KcControllerConfig, lea_public_key) },
    { "events", NULL, G_STRUCT_OFFSET (KcControllerConfig, events) },
    { "event-socket", NULL, G_STRUCT_OFFSET (KcControllerConfig, event_socket) },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++) {
    g_autofree char *value = NULL;
    char **slot = G_STRUCT_MEMBER_P (config, paths[i].offset);

    if (!get_string (kf, config->path, GROUP, paths[i].key, &value, error))
      return FALSE;
    if (value == NULL || *value == '\0') {
      g_clear_pointer (&value, g_free);
      value = g_strdup (paths[i].fallback);
    }
    if (value == NULL)
      continue;
    /* A store may be "sqlite:PATH" or a URL; only plain paths are resolved. */
    if (g_str_equal (paths[i].key, "store") && strchr (value, ':') != NULL)
      *slot = g_steal_pointer (&value);
    else
      *slot = resolve (dir, value);
  }
  if (config->lea_public_key == NULL)
    return bad (error, config->path, GROUP, "lea-public-key",
                "not set: no law-enforcement key to seal call keys to; run 'keycall-admin lea "
                "add NAME' (it updates every controller.ini)");
  return TRUE;
}

static gboolean
apply_overrides (KcControllerConfig *config, const KcControllerOverrides *o, GError **error)
{
  g_autofree char *cwd = g_get_current_dir ();

  if (o->listen != NULL) {
    g_clear_pointer (&config->listen_host, g_free);
    if (!split_host_port (o->listen, &config->listen_host, &config->listen_port))
      return bad (error, config->path, GROUP, "--listen",
                  "'%s' is not HOST:PORT with a numeric HOST", o->listen);
  }
  if (o->events != NULL)
    g_free (config->events), config->events = resolve (cwd, o->events);
  if (o->event_socket != NULL)
    g_free (config->event_socket), config->event_socket = resolve (cwd, o->event_socket);
  if (o->key_mode != NULL && !parse_key_mode (o->key_mode, &config->key_mode))
    return bad (error, config->path, GROUP, "--key-mode", "'%s' is not random or derived",
                o->key_mode);
  if (o->delivery != NULL && !parse_delivery (o->delivery, &config->delivery))
    return bad (error, config->path, GROUP, "--delivery", "'%s' is not signaling or separate",
                o->delivery);
  if (o->ack_timeout >= 0) {
    if (!(o->ack_timeout > 0) || o->ack_timeout > MAX_TIMEOUT)
      return bad (error, config->path, GROUP, "--ack-timeout", "must be above 0 seconds");
    config->ack_timeout = o->ack_timeout;
  }
  if (o->ring_timeout >= 0) {
    if (!(o->ring_timeout > 0) || o->ring_timeout > MAX_TIMEOUT)
      return bad (error, config->path, GROUP, "--ring-timeout", "must be above 0 seconds");
    config->ring_timeout = o->ring_timeout;
  }
  if (o->keepalive >= 0) {
    if (!(o->keepalive > 0) || o->keepalive > MAX_TIMEOUT)
      return bad (error, config->path, GROUP, "--keepalive", "must be above 0 seconds");
    config->keepalive = o->keepalive;
  }
  if (o->sip_t1x64 >= 0) {
    if (o->sip_t1x64 < 500 || o->sip_t1x64 > 600000)
      return bad (error, config->path, GROUP, "--sip-timeout",
                  "must be 500 to 600000 milliseconds");
    config->sip_t1x64 = (guint) o->sip_t1x64;
  }
  config->verbose = config->verbose || o->verbose;
  return TRUE;
}

/* [media] ------------------------------------------------------------------ */

/* GKeyFile's spellings, in any case. */
static gboolean
parse_boolean (const char *text, gboolean *out)
{
  if (g_ascii_strcasecmp (text, "true") == 0 || g_str_equal (text, "1"))
    *out = TRUE;
  else if (g_ascii_strcasecmp (text, "false") == 0 || g_str_equal (text, "0"))
    *out = FALSE;
  else
    return FALSE;
  return TRUE;
}

/* The relay binds this address and every anchored SDP names it, so it must
 * be one address a CTA or a peer can send to. */
static gboolean
check_relay_address (const char *text, const char **why)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (text);

  if (inet == NULL)
    *why = "is not an IPv4 or IPv6 address";
  else if (g_inet_address_get_is_any (inet))
    *why = "is a wildcard; the SDP must name the address CTAs and peers send media to";
  else if (g_inet_address_get_is_multicast (inet))
    *why = "is a multicast address";
  else
    return TRUE;
  return FALSE;
}

static gboolean
get_relay_port (GKeyFile *kf, const char *path, const char *key, guint16 fallback,
                guint16 *out, GError **error)
{
  g_autofree char *text = NULL;
  guint64 v;

  *out = fallback;
  if (!get_string (kf, path, MEDIA_GROUP, key, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 1024, 65535, &v, NULL))
    return bad (error, path, MEDIA_GROUP, key, "'%s' is not a UDP port number (1024 to 65535)",
                text);
  *out = (guint16) v;
  return TRUE;
}

/* After the overrides: the relay's default address is the listen address. */
static gboolean
load_media (KcControllerConfig *config, GKeyFile *kf, GError **error)
{
  g_autofree char *text = NULL;
  const char *why = NULL;
  guint first;

  config->relay = TRUE;
  if (!get_string (kf, config->path, MEDIA_GROUP, "relay", &text, error))
    return FALSE;
  /* allow-direct is one rule for every call, never a per-call exception:
   * docs/configuration.md, "Direct media". */
  if (g_strcmp0 (text, "always") == 0)
    config->relay = TRUE;
  else if (g_strcmp0 (text, "allow-direct") == 0)
    config->relay = config->relay_allow_direct = TRUE;
  else if (text != NULL && !parse_boolean (text, &config->relay))
    return bad (error, config->path, MEDIA_GROUP, "relay", "'%s' is not true (or always), "
                "allow-direct or false", text);

  if (!get_relay_port (kf, config->path, "relay-port-min", KC_RELAY_DEFAULT_PORT_MIN,
                       &config->relay_port_min, error)
      || !get_relay_port (kf, config->path, "relay-port-max", KC_RELAY_DEFAULT_PORT_MAX,
                          &config->relay_port_max, error))
    return FALSE;
  if (config->relay_port_max < config->relay_port_min)
    return bad (error, config->path, MEDIA_GROUP, "relay-port-max", "%u is below relay-port-min "
                "(%u)", config->relay_port_max, config->relay_port_min);
  first = config->relay_port_min + (config->relay_port_min & 1u);
  if (first + 3 > config->relay_port_max)
    return bad (error, config->path, MEDIA_GROUP, "relay-port-max", "%u-%u is too small: a call "
                "takes four ports, two even/odd pairs (e.g. %u-%u)", config->relay_port_min,
                config->relay_port_max, KC_RELAY_DEFAULT_PORT_MIN, KC_RELAY_DEFAULT_PORT_MAX);

  if (!get_string (kf, config->path, MEDIA_GROUP, "relay-address", &config->relay_address, error))
    return FALSE;
  if (config->relay_address != NULL && *config->relay_address == '\0')
    g_clear_pointer (&config->relay_address, g_free);
  if (config->relay_address != NULL) {
    if (!check_relay_address (config->relay_address, &why))
      return bad (error, config->path, MEDIA_GROUP, "relay-address", "'%s' %s",
                  config->relay_address, why);
    return TRUE;
  }
  if (!config->relay)
    return TRUE;
  /* The listen address is surely this host's; the advertised one may not be. */
  if (check_relay_address (config->listen_host, &why))
    config->relay_address = g_strdup (config->listen_host);
  else if (check_relay_address (config->host, &why))
    config->relay_address = g_strdup (config->host);
  else
    return bad (error, config->path, MEDIA_GROUP, "relay-address", "not set, and neither the "
                "listen address (%s) nor host (%s) is one media can be sent to; set it to the "
                "address of this host that CTAs and peers reach, or set relay=false",
                config->listen_host, config->host);
  return TRUE;
}

/* [lawful-intercept] --------------------------------------------------------- */

/* After the overrides, so the default follows --listen. */
static gboolean
load_lawful_intercept (KcControllerConfig *config, GKeyFile *kf, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *listen = NULL;

  config->li_enabled = TRUE;
  if (!get_string (kf, config->path, LI_GROUP, "enabled", &text, error))
    return FALSE;
  if (text != NULL && !parse_boolean (text, &config->li_enabled))
    return bad (error, config->path, LI_GROUP, "enabled", "'%s' is not true or false", text);
  if (!get_string (kf, config->path, LI_GROUP, "listen", &listen, error))
    return FALSE;
  if (listen != NULL && *listen != '\0') {
    if (!split_host_port (listen, &config->li_host, &config->li_port))
      return bad (error, config->path, LI_GROUP, "listen",
                  "'%s' is not HOST:PORT with a numeric HOST", listen);
  }
  else {
    if (config->listen_port >= 65535 && config->li_enabled)
      return bad (error, config->path, LI_GROUP, "listen", "not set, and the SIP port %u has no "
                  "next port to default to; set HOST:PORT", config->listen_port);
    config->li_host = g_strdup (config->listen_host);
    config->li_port = config->listen_port + 1;
  }
  if (config->li_enabled && g_str_equal (config->li_host, config->listen_host)
      && config->li_port == config->listen_port)
    return bad (error, config->path, LI_GROUP, "listen", "%s:%u is the SIP port; the LI port "
                "must be a port of its own", config->li_host, config->li_port);
  return TRUE;
}

KcControllerConfig *
kc_controller_config_load (const char                  *path,
                           const KcControllerOverrides *overrides,
                           GError                     **error)
{
  static const KcControllerOverrides none = KC_CONTROLLER_OVERRIDES_INIT;
  g_autoptr(KcControllerConfig) config = g_new0 (KcControllerConfig, 1);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_autofree char *dir = NULL, *text = NULL, *listen = NULL;
  gint64 port;

  g_return_val_if_fail (path != NULL, NULL);

  config->path = g_canonicalize_filename (path, NULL);
  config->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_free);
  dir = g_path_get_dirname (config->path);
  if (!g_key_file_load_from_file (kf, config->path, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "%s: %s", config->path, local->message);
    return NULL;
  }
  if (!g_key_file_has_group (kf, GROUP)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s: no [controller] group; is this a controller.ini written by keycall-admin?",
                 config->path);
    return NULL;
  }

  if (!require_string (kf, config->path, GROUP, "name", &config->name, error))
    return NULL;
  if (!kc_pki_check_name (config->name, NULL)) {
    bad (error, config->path, GROUP, "name", "'%s' is not a controller name", config->name);
    return NULL;
  }
  if (!get_string (kf, config->path, GROUP, "network", &config->network, error)
      || !require_string (kf, config->path, GROUP, "domain", &config->domain, error)
      || !require_string (kf, config->path, GROUP, "host", &config->host, error))
    return NULL;
  if (!kc_pki_check_host (config->host, NULL)) {
    bad (error, config->path, GROUP, "host", "'%s' is not an address or host name", config->host);
    return NULL;
  }

  config->port = KC_DEFAULT_SIPS_PORT;
  if (!get_string (kf, config->path, GROUP, "port", &text, error))
    return NULL;
  if (text != NULL) {
    if (!g_ascii_string_to_signed (text, 10, 1, 65535, &port, NULL)) {
      bad (error, config->path, GROUP, "port", "'%s' is not a port number (1 to 65535)", text);
      return NULL;
    }
    config->port = (guint) port;
  }
  g_clear_pointer (&text, g_free);

  if (g_key_file_has_key (kf, GROUP, "prefixes", NULL))
    config->prefixes = g_key_file_get_string_list (kf, GROUP, "prefixes", NULL, NULL);
  if (config->prefixes == NULL)
    config->prefixes = g_new0 (char *, 1);
  if (!check_prefixes (config->prefixes, config->path, GROUP, error)
      || !load_paths (config, kf, dir, error))
    return NULL;

  if (!get_string (kf, config->path, GROUP, "key-mode", &text, error))
    return NULL;
  if (text != NULL && !parse_key_mode (text, &config->key_mode)) {
    bad (error, config->path, GROUP, "key-mode", "'%s' is not random or derived", text);
    return NULL;
  }
  g_clear_pointer (&text, g_free);
  if (!get_string (kf, config->path, GROUP, "delivery", &text, error))
    return NULL;
  if (text != NULL && !parse_delivery (text, &config->delivery)) {
    bad (error, config->path, GROUP, "delivery", "'%s' is not signaling or separate", text);
    return NULL;
  }
  if (!get_seconds (kf, config->path, "ack-timeout", 10, &config->ack_timeout, error)
      || !get_seconds (kf, config->path, "ring-timeout", 60, &config->ring_timeout, error)
      || !get_seconds (kf, config->path, "keepalive", 10, &config->keepalive, error))
    return NULL;

  /* Bind to the advertised address when it is one; a host name binds all. */
  if (!get_string (kf, config->path, GROUP, "listen", &listen, error))
    return NULL;
  if (listen != NULL) {
    if (!split_host_port (listen, &config->listen_host, &config->listen_port)) {
      bad (error, config->path, GROUP, "listen", "'%s' is not HOST:PORT with a numeric HOST",
           listen);
      return NULL;
    }
  }
  else {
    config->listen_host = g_strdup (g_hostname_is_ip_address (config->host) ? config->host
                                                                             : "0.0.0.0");
    config->listen_port = config->port;
  }

  if (!load_peers (config, kf, error)
      || !apply_overrides (config, overrides ? overrides : &none, error)
      || !load_media (config, kf, error)
      || !load_lawful_intercept (config, kf, error))
    return NULL;
  return g_steal_pointer (&config);
}

/* Length of the longest of @prefixes that starts @number, or -1. */
static int
longest_prefix (char **prefixes, const char *number)
{
  int best = -1;

  for (gsize i = 0; prefixes != NULL && prefixes[i] != NULL; i++)
    if (g_str_has_prefix (number, prefixes[i]) && (int) strlen (prefixes[i]) > best)
      best = (int) strlen (prefixes[i]);
  return best;
}

gboolean
kc_controller_config_serves (KcControllerConfig *config, const char *number)
{
  g_return_val_if_fail (config != NULL && number != NULL, FALSE);

  return config->prefixes[0] == NULL || longest_prefix (config->prefixes, number) >= 0;
}

KcPeerConfig *
kc_controller_config_route (KcControllerConfig *config, const char *number)
{
  KcPeerConfig *best = NULL;
  int own, best_len = -1;

  g_return_val_if_fail (config != NULL && number != NULL, NULL);

  own = longest_prefix (config->prefixes, number);
  for (guint i = 0; i < config->peers->len; i++) {
    KcPeerConfig *peer = config->peers->pdata[i];
    int len = longest_prefix (peer->prefixes, number);

    if (len > best_len)
      best = peer, best_len = len;
  }
  /* A longer own prefix (or an equal one) keeps the call here. */
  return best != NULL && best_len > own ? best : NULL;
}

KcPeerConfig *
kc_controller_config_peer (KcControllerConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);

  for (guint i = 0; name != NULL && i < config->peers->len; i++) {
    KcPeerConfig *peer = config->peers->pdata[i];

    if (g_str_equal (peer->name, name))
      return peer;
  }
  return NULL;
}
