/* kc-controller-private.h: the controller's state, shared by kc-controller.c
 * (the NTA agent, identities, registrar, requests outside a dialog) and
 * kc-controller-peer.c (peer controllers and their OPTIONS keep-alive).
 */
#pragma once

#include "kc-controller.h"
#include "kc-hpke.h"

G_BEGIN_DECLS

typedef struct _KcPeer KcPeer;

struct _KcController {
  KcControllerConfig *config;
  KcEventBus         *bus;
  su_root_t          *root;
  nta_agent_t        *agent;
  nta_leg_t          *default_leg;
  KcStore            *store;
  KcVault            *vault;
  KcRelay            *relay;       /* NULL: media goes straight between the CTAs */
  KcLi               *li;          /* NULL: [lawful-intercept] enabled=false */
  guint8              lea_key[KC_HPKE_PUBLIC_KEY_LEN];
  X509_CRL           *crl;
  gint64              crl_mtime;
  char               *listen_uri;
  char               *contact;
  char               *lane;
  GHashTable         *bindings;  /* number -> KcBinding */
  GPtrArray          *peers;     /* KcPeer */
  GHashTable         *calls;     /* KcCall set */
  guint               keepalive_id;
  guint               stats_id;
  gsize               stats_last[4];  /* what the last "sip stats" line said */
  KcStepGate         *step;      /* step mode and slow motion; off unless the window asks */
  KcControllerKeyFunc key_func;  /* --classroom only */
  gpointer            key_data;
};

/* kc-controller-peer.c */
/* Creates a KcPeer per configured peer and starts the keep-alive. */
void kc_controller_start_peers     (KcController *self);
void kc_controller_peer_free       (KcPeer       *peer);
void kc_controller_peer_heard_from (KcController *self,
                                    const char   *name);

G_END_DECLS
