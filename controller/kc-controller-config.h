/* kc-controller-config.h: the controller's settings.
 *
 * controller.ini (written by keycall-admin, docs/configuration.md) read with
 * GKeyFile, command-line overrides applied on top, everything validated
 * before the controller starts, with errors that name the file and the key.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  KC_KEY_MODE_RANDOM,       /* claim 2 */
  KC_KEY_MODE_DERIVED,      /* claim 3 */
} KcKeyMode;

typedef enum {
  KC_DELIVERY_SIGNALING,    /* the key rides in the call's own messages */
  KC_DELIVERY_SEPARATE,     /* a MESSAGE per FIG. 3 arrow */
} KcDelivery;

typedef struct {
  char   *name;
  char   *address;          /* sips:HOST:PORT;transport=tls */
  char   *host;
  guint   port;
  char  **prefixes;         /* NULL-terminated, may be empty */
} KcPeerConfig;

typedef struct {
  char        *path;        /* the file read */
  char        *name;
  char        *network;
  char        *domain;
  char        *host;        /* what CTAs and peers connect to */
  guint        port;
  char        *listen_host; /* what the TLS port binds to */
  guint        listen_port;
  char       **prefixes;
  char        *tls_dir;     /* absolute */
  char        *store;       /* a store location (path made absolute) */
  char        *vault;
  char        *crl;
  char        *lea_public_key;
  KcKeyMode    key_mode;
  KcDelivery   delivery;
  double       ack_timeout; /* seconds */
  double       ring_timeout;
  double       keepalive;
  guint        sip_t1x64;   /* ms; 0 = sofia's default (32 s) */
  char        *events;
  char        *event_socket;
  gboolean     verbose;
  GPtrArray   *peers;       /* KcPeerConfig */

  /* [media]: media anchoring through the controller's relay (kc-relay.h). */
  gboolean     relay;
  gboolean     relay_allow_direct; /* relay=allow-direct: a call whose subscribers here all
                                    * asked for direct media (Keycall-Media) is not anchored */
  char        *relay_address;   /* IP literal the relay binds and SDP names; NULL when off
                                 * and not given */
  guint16      relay_port_min;
  guint16      relay_port_max;

  /* [lawful-intercept]: the LI port (kc-li.h, docs/lawful-intercept.md). */
  gboolean     li_enabled;
  char        *li_host;         /* IP literal the LI port binds; default the SIP listen host */
  guint        li_port;         /* default the SIP listen port + 1 */
} KcControllerConfig;

/* Command-line values; NULL / negative / 0 means "not given". */
typedef struct {
  const char *listen;       /* HOST:PORT */
  const char *events;
  const char *event_socket;
  const char *key_mode;
  const char *delivery;
  double      ack_timeout;
  double      ring_timeout;
  double      keepalive;
  int         sip_t1x64;    /* ms */
  gboolean    verbose;
} KcControllerOverrides;

#define KC_CONTROLLER_OVERRIDES_INIT { NULL, NULL, NULL, NULL, NULL, -1, -1, -1, -1, FALSE }

/* KC_ERROR_INVALID (or the GKeyFile/file error) with a one-line message
 * naming @path and the key at fault. */
KcControllerConfig *kc_controller_config_load    (const char                  *path,
                                                  const KcControllerOverrides *overrides,
                                                  GError                     **error);
void                kc_controller_config_free    (KcControllerConfig          *config);

/* The peer serving @number by longest prefix, or NULL. */
KcPeerConfig       *kc_controller_config_route   (KcControllerConfig          *config,
                                                  const char                  *number);
/* TRUE when @number starts with one of this controller's prefixes (or the
 * controller lists none). */
gboolean            kc_controller_config_serves  (KcControllerConfig          *config,
                                                  const char                  *number);
KcPeerConfig       *kc_controller_config_peer    (KcControllerConfig          *config,
                                                  const char                  *name);

const char         *kc_key_mode_to_string        (KcKeyMode                    mode);
const char         *kc_delivery_to_string        (KcDelivery                   delivery);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcControllerConfig, kc_controller_config_free)

G_END_DECLS
