/* kc-store.h: the key storage (FIG. 2, 206), the billing host's CDRs (124),
 * subscriber accounts, lawful-intercept taps and the audit log.
 *
 * One interface, several backends: SQLite is the embedded default; a
 * PostgreSQL backend implements the same vtable (kc-store-backend.h) without
 * callers changing. Call keys are only ever stored sealed (HPKE to the
 * law-enforcement public key); the store never sees a plaintext key.
 * Writes of keys and CDRs are durable (fsync'd) before their completion is
 * reported, and concurrent writes share one commit (group commit).
 *
 * Threads: every function may be called from any thread, concurrently,
 * except kc_store_close, which must be the last call on the store. Async
 * completions run on the thread-default main context of the thread that
 * called the _async function. kc_store_close makes every accepted write
 * durable and runs the callbacks still waiting for a context it can own
 * (normally the caller's); callbacks for contexts other threads are running
 * are left to those threads.
 */
#pragma once

#include <gio/gio.h>

#include "kc-keys.h"
#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_STORE_SCHEMA_VERSION 1

typedef struct _KcStore KcStore;

typedef enum {
  KC_STORE_OPEN_DEFAULT  = 0,
  KC_STORE_OPEN_CREATE   = 1 << 0,   /* create the database if it does not exist */
  KC_STORE_OPEN_READONLY = 1 << 1,
} KcStoreOpenFlags;

typedef enum {
  KC_SUBSCRIBER_ACTIVE,
  KC_SUBSCRIBER_SUSPENDED,
  KC_SUBSCRIBER_REVOKED,
} KcSubscriberState;

typedef enum {
  KC_TAP_FUTURE,    /* keys created from now on (until stopped or @until) */
  KC_TAP_CURRENT,   /* the key of the call in progress */
  KC_TAP_PAST,      /* keys used in [@from, @until] */
} KcTapKind;

/* Times are UNIX microseconds (g_get_real_time); 0 means "not set". In
 * queries (@from, @until) the bounds are inclusive and 0 means "no bound". */

typedef struct {
  char              *number;
  char              *display_name;
  KcSubscriberState  state;
  char              *controller;        /* name of the serving controller */
  char              *cert_serial;       /* hex serial of the current certificate, or NULL */
  GBytes            *wrapped_secret;    /* signaling secret wrapped by the controller's vault */
  gint64             created_at;
  gint64             updated_at;
} KcSubscriber;

typedef struct {
  KcKeyId  key_id;
  char    *call_id;
  char    *caller;                      /* number */
  char    *callee;                      /* number */
  char    *controller;                  /* the controller that created the key */
  gint64   created_at;
  GBytes  *enc;                         /* HPKE encapsulated key */
  GBytes  *sealed;                      /* HPKE ciphertext of the call key */
  char     fingerprint[KC_FINGERPRINT_LEN];
} KcSealedKey;

typedef struct {
  char   *call_id;
  char   *caller;
  char   *callee;
  char   *key_id;                       /* hex, or NULL */
  gint64  started_at;
  gint64  answered_at;
  gint64  ended_at;
  int     sip_status;                   /* final SIP status, 0 while in progress */
  char   *outcome;                      /* "answered", "busy", "declined", "cancelled",
                                           "no-answer", "failed", ... */
  char   *reason;                       /* a person's words for a failure, or NULL */
} KcCdr;

typedef struct {
  char      *tap_id;
  char      *number;
  KcTapKind  kind;
  char      *lea;                       /* identity of the requesting LEA */
  gint64     from;
  gint64     until;
  gint64     created_at;
  gint64     stopped_at;
} KcTap;

typedef struct {
  gint64  seq;
  gint64  time;
  char   *actor;
  char   *action;
  char   *detail;
  char   *hash;                         /* hex SHA-256 chaining this record to the previous */
} KcAuditRecord;

/* Called on the thread-default main context of the caller of the async
 * function once the write is durable, or failed. */
typedef void (*KcStoreDoneFunc) (KcStore      *store,
                                 const GError *error,
                                 gpointer      user_data);

/* @location: a path, "sqlite:PATH", or "postgresql://…" (not yet built:
 * KC_ERROR_UNSUPPORTED). A file that is not a Keycall store, is corrupt, or
 * comes from a newer Keycall gives KC_ERROR_FOREIGN / KC_ERROR_CORRUPT with
 * a clear message; it is never reset. */
KcStore        *kc_store_open               (const char        *location,
                                             KcStoreOpenFlags   flags,
                                             GError           **error);
/* Waits for queued writes to become durable, then closes. */
void            kc_store_close              (KcStore           *store);
const char     *kc_store_get_location       (KcStore           *store);
int             kc_store_get_schema_version (KcStore           *store);

gboolean        kc_store_subscriber_add     (KcStore            *store,
                                             const KcSubscriber *subscriber,
                                             GError            **error);
KcSubscriber   *kc_store_subscriber_get     (KcStore            *store,
                                             const char         *number,
                                             GError            **error);
GPtrArray      *kc_store_subscriber_list    (KcStore            *store,
                                             GError            **error);
gboolean        kc_store_subscriber_set_state (KcStore          *store,
                                             const char         *number,
                                             KcSubscriberState   state,
                                             GError            **error);
gboolean        kc_store_subscriber_set_cert (KcStore           *store,
                                             const char         *number,
                                             const char         *cert_serial,
                                             GError            **error);

void            kc_store_put_key_async      (KcStore           *store,
                                             const KcSealedKey *key,
                                             KcStoreDoneFunc    done,
                                             gpointer           user_data);
gboolean        kc_store_put_key            (KcStore           *store,
                                             const KcSealedKey *key,
                                             GError           **error);
KcSealedKey    *kc_store_get_key            (KcStore           *store,
                                             const KcKeyId     *key_id,
                                             GError           **error);
GPtrArray      *kc_store_keys_for_number    (KcStore           *store,
                                             const char        *number,
                                             gint64             from,
                                             gint64             until,
                                             GError           **error);
GPtrArray      *kc_store_key_list           (KcStore           *store,
                                             guint              limit,
                                             GError           **error);

void            kc_store_put_cdr_async      (KcStore           *store,
                                             const KcCdr       *cdr,
                                             KcStoreDoneFunc    done,
                                             gpointer           user_data);
gboolean        kc_store_put_cdr            (KcStore           *store,
                                             const KcCdr       *cdr,
                                             GError           **error);
GPtrArray      *kc_store_cdr_list           (KcStore           *store,
                                             gint64             from,
                                             gint64             until,
                                             GError           **error);
gboolean        kc_store_cdr_export_csv     (KcStore           *store,
                                             gint64             from,
                                             gint64             until,
                                             GOutputStream     *out,
                                             GError           **error);

gboolean        kc_store_tap_add            (KcStore           *store,
                                             const KcTap       *tap,
                                             GError           **error);
gboolean        kc_store_tap_stop           (KcStore           *store,
                                             const char        *tap_id,
                                             gint64             stopped_at,
                                             GError           **error);
GPtrArray      *kc_store_tap_list           (KcStore           *store,
                                             gboolean           active_only,
                                             GError           **error);

/* Durable when it returns: it goes through the writer and shares its
 * commits. @detail may be NULL (stored as ""). */
gboolean        kc_store_audit_append       (KcStore           *store,
                                             const char        *actor,
                                             const char        *action,
                                             const char        *detail,
                                             GError           **error);
/* The same without waiting: @done (may be NULL) runs on the caller's
 * thread-default main context once the record is durable, or failed (an
 * invalid actor or action, a read-only or closing store, a failed commit);
 * a failed record is not in the chain. Records are chained in the order
 * the appends were made (sync and async alike: one writer), and the
 * callbacks of one context run in that order, so a caller may act on a
 * record's completion knowing every earlier record of its own is durable. */
void            kc_store_audit_append_async (KcStore           *store,
                                             const char        *actor,
                                             const char        *action,
                                             const char        *detail,
                                             KcStoreDoneFunc    done,
                                             gpointer           user_data);
GPtrArray      *kc_store_audit_list         (KcStore           *store,
                                             GError           **error);
/* FALSE with KC_ERROR_CORRUPT naming the first record whose chain breaks. */
gboolean        kc_store_audit_verify       (KcStore           *store,
                                             gint64            *first_bad_seq,
                                             GError           **error);

const char     *kc_subscriber_state_to_string   (KcSubscriberState state);
gboolean        kc_subscriber_state_from_string (const char *text, KcSubscriberState *state);
const char     *kc_tap_kind_to_string           (KcTapKind kind);
gboolean        kc_tap_kind_from_string         (const char *text, KcTapKind *kind);

/* 1-32 characters of digits, '+', '*' and '#'; KC_ERROR_INVALID otherwise. */
gboolean        kc_store_validate_number        (const char *number, GError **error);

void            kc_subscriber_free   (KcSubscriber  *subscriber);
void            kc_sealed_key_free   (KcSealedKey   *key);
void            kc_cdr_free          (KcCdr         *cdr);
void            kc_tap_free          (KcTap         *tap);
void            kc_audit_record_free (KcAuditRecord *record);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcStore, kc_store_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcSubscriber, kc_subscriber_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcSealedKey, kc_sealed_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcCdr, kc_cdr_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcTap, kc_tap_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcAuditRecord, kc_audit_record_free)

G_END_DECLS
