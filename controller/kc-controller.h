/* kc-controller.h: the gateway controller's message processor (FIG. 2, 202).
 *
 * One sofia-sip NTA agent listening on TLS: it learns who sent each request
 * from the verified certificate, enforces roles, keeps registrations in
 * memory, watches its peer controllers with OPTIONS (FIG. 3, 310) and hands
 * INVITEs to the call state machine (kc-controller-call.h).
 */
#pragma once

#include <glib.h>

#include <openssl/x509.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/su_wait.h>

#include "kc-controller-config.h"
#include "kc-event-bus.h"
#include "kc-relay.h"
#include "kc-store.h"
#include "kc-vault.h"

G_BEGIN_DECLS

typedef struct _KcController KcController;
typedef struct _KcLi         KcLi;
typedef struct _KcStepGate   KcStepGate;

/* Opens the store, vault, CRL and LEA key of @config (borrowed; it must
 * outlive the controller), starts the media relay (unless [media]
 * relay=false) and listens. KC_ERROR_IO when the port cannot be opened or
 * the relay address is not this host's, the store's own errors otherwise. */
KcController       *kc_controller_new             (KcControllerConfig *config,
                                                   KcEventBus         *bus,
                                                   su_root_t          *root,
                                                   GError            **error);
/* Fails every call in progress (each gets its CDR) and stops peering; the
 * main loop should run a moment longer so the CANCELs and BYEs go out. */
void                kc_controller_stop            (KcController       *self);
/* Stops (if not yet), stops listening, drains the store. */
void                kc_controller_free            (KcController       *self);
/* Calls in progress. */
guint               kc_controller_count_calls     (KcController       *self);
/* "sips:HOST:PORT", where the TLS port listens. */
const char         *kc_controller_get_listen_uri  (KcController       *self);

/* For the call state machine. */
nta_agent_t        *kc_controller_get_agent       (KcController       *self);
su_root_t          *kc_controller_get_root        (KcController       *self);
KcControllerConfig *kc_controller_get_config      (KcController       *self);
KcStore            *kc_controller_get_store       (KcController       *self);
KcVault            *kc_controller_get_vault       (KcController       *self);
const guint8       *kc_controller_get_lea_key     (KcController       *self);
/* The media relay calls are anchored on, or NULL with [media] relay=false. */
KcRelay            *kc_controller_get_relay       (KcController       *self);
/* "<sips:HOST:PORT;transport=tls>", for Contact headers. */
const char         *kc_controller_get_contact     (KcController       *self);
/* The registered Contact URI of @number, or NULL; *@direct_media (may be
 * NULL) is whether its REGISTER asked for direct media (Keycall-Media). */
const char         *kc_controller_lookup_binding  (KcController       *self,
                                                   const char         *number,
                                                   gboolean           *direct_media);
/* TRUE once OPTIONS to @peer went unanswered (until it answers again). */
gboolean            kc_controller_peer_is_down    (KcController       *self,
                                                   const char         *peer);
/* 0 when the subscriber @number exists, is active and (when @serial is
 * given) holds that certificate; else the SIP status to refuse with and,
 * in @phrase, why. */
int                 kc_controller_check_subscriber (KcController     *self,
                                                   const char         *number,
                                                   const char         *serial,
                                                   char              **phrase);
/* The lawful-intercept port (kc-li.h), or NULL with [lawful-intercept]
 * enabled=false. */
KcLi               *kc_controller_get_li          (KcController       *self);
/* The step gate (kc-step.h) every call's outgoing messages pass through;
 * off unless the private window socket turns it on. */
KcStepGate         *kc_controller_get_step_gate   (KcController       *self);
/* Classroom only (keycall-controller --classroom, never --headless): @func
 * gets each call key once it is sealed and stored, for the private window
 * socket (kc_event_server_push_key). Unset, the default, keys go nowhere. */
typedef void      (*KcControllerKeyFunc)          (const char         *call_id,
                                                   const char         *key_id_hex,
                                                   const KcSecret     *key,
                                                   gpointer            user_data);
void                kc_controller_set_key_func    (KcController       *self,
                                                   KcControllerKeyFunc func,
                                                   gpointer            user_data);
/* For the call state machine: hands @key to the key function, if any. */
void                kc_controller_reveal_key      (KcController       *self,
                                                   const char         *call_id,
                                                   const char         *key_id_hex,
                                                   const KcSecret     *key);
/* The current CRL (re-read when keycall-admin replaced it), borrowed; NULL
 * when it cannot be read. */
X509_CRL           *kc_controller_get_crl         (KcController       *self);
/* Checks a verified peer against the CRL; KC_ERROR_PERMISSION if revoked. */
gboolean            kc_controller_check_crl       (KcController       *self,
                                                   const char         *serial,
                                                   GError            **error);

/* Events: a new event on this controller's lane; emit takes it over. */
KcEvent            *kc_controller_event           (KcController       *self,
                                                   KcEventKind         kind,
                                                   int                 fig3,
                                                   const char         *call_id,
                                                   const char         *peer);
void                kc_controller_emit            (KcController       *self,
                                                   KcEvent            *event);
/* A sip-rx or sip-tx event carrying @msg in full (redacted by the event),
 * dated @time_us (g_get_real_time) or now when 0. A sender takes the time
 * just before it hands the message to sofia-sip, which writes it at once:
 * in a ladder merged by time the receiver's events would otherwise come
 * first. The message is only complete (Via, tag) after that call. */
void                kc_controller_emit_msg        (KcController       *self,
                                                   gboolean            sent,
                                                   gint64              time_us,
                                                   int                 fig3,
                                                   const char         *call_id,
                                                   const char         *peer,
                                                   msg_t              *msg);

/* Calls in progress, so that shutdown can end them. */
void                kc_controller_add_call        (KcController       *self,
                                                   gpointer            call);
void                kc_controller_remove_call     (KcController       *self,
                                                   gpointer            call);
/* Live calls next to sofia-sip's live transactions and dialogs. Once the
 * calls are over they go back to what they were before the first call;
 * a debug line ("sip stats: …") says them whenever they change, checked
 * every --keepalive seconds. */
typedef struct {
  guint  calls;
  gsize  client_transactions;
  gsize  server_transactions;
  gsize  dialogs;
} KcSipStats;

void                kc_controller_get_sip_stats   (KcController       *self,
                                                   KcSipStats         *stats);
/* g_list_free() it; the calls are borrowed. */
GList              *kc_controller_list_calls      (KcController       *self);

G_END_DECLS
