/* kc-cta-account-private.h: the inside of a KcCtaAccount, shared by its
 * object code (kc-cta-account.c) and its SIP code (kc-cta-register.c).
 */
#pragma once

#include "kc-cta-private.h"

G_BEGIN_DECLS

typedef enum {
  KC_CTA_ACCOUNT_SIGNAL_REGISTERED,
  KC_CTA_ACCOUNT_SIGNAL_RECONNECTING,
  KC_CTA_ACCOUNT_SIGNAL_REGISTRATION_FAILED,
  KC_CTA_ACCOUNT_SIGNAL_UNREGISTERED,
  KC_CTA_ACCOUNT_SIGNAL_INCOMING_CALL,
  KC_CTA_ACCOUNT_SIGNAL_CALL_ADDED,
  KC_CTA_ACCOUNT_N_SIGNALS
} KcCtaAccountSignal;

struct _KcCtaAccount {
  GObject        parent_instance;

  KcProfile     *profile;
  KcEventBus    *bus;
  char          *listen_host;
  guint16        listen_port;
  guint          expires;

  su_home_t     *home;
  su_root_t     *root;
  GSource       *source;         /* borrowed from root */
  nta_agent_t   *agent;
  nta_leg_t     *default_leg;
  nta_leg_t     *reg_leg;
  nta_outgoing_t *reg_orq;

  char          *address;        /* where we listen */
  guint16        port;
  char          *route;
  char          *controller_uri;
  char          *domain;
  char          *aor;
  char          *contact;
  char          *verified_subject;

  KcCtaRegState  state;
  gboolean       unregistering;
  guint          refresh_id;
  guint          retry_seconds;

  GPtrArray     *calls;
  GHashTable    *deliveries;     /* A's Call-ID → KcCtaDelivery (separate mode) */

  /* media (kc_cta_account_set_audio, _set_codecs, _set_suites) */
  char          *audio_in;
  char          *audio_out;
  GStrv          codecs;         /* encoding names, best first */
  GArray        *suites;         /* KcSuite, best first */
  gboolean       direct_media;   /* Keycall-Media: direct on REGISTER and INVITE */
};

/* kc-cta-account.c */
void  kc_cta_account_set_state    (KcCtaAccount       *self,
                                   KcCtaRegState       state);
/* Takes @subject. */
void  kc_cta_account_set_verified (KcCtaAccount       *self,
                                   char               *subject);
/* Emits @which with its arguments. */
void  kc_cta_account_signal       (KcCtaAccount       *self,
                                   KcCtaAccountSignal  which,
                                   ...);

/* kc-cta-register.c */
void  kc_cta_account_send_register (KcCtaAccount      *self);
/* The default leg: requests outside any call (OPTIONS, new INVITEs). */
int   kc_cta_account_on_request    (void              *magic,
                                    nta_leg_t         *leg,
                                    nta_incoming_t    *irq,
                                    sip_t const       *sip);

G_END_DECLS
