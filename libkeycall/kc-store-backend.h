/* kc-store-backend.h: what a storage backend implements (internal).
 *
 * kc-store.c parses the location, validates input and dispatches to a
 * KcStoreBackendClass; kc-store-writer.c owns the write queue and the
 * writer thread (group commit) that calls the backend's batch write. SQLite is the embedded backend; a PostgreSQL backend
 * fills in the same table and callers of kc-store.h never notice.
 */
#pragma once

#include "kc-store.h"

G_BEGIN_DECLS

/* "KCAL": PRAGMA application_id of a Keycall SQLite store. */
#define KC_STORE_APPLICATION_ID 0x4B43414C

/* Hex SHA-256 plus NUL. */
#define KC_STORE_AUDIT_HASH_LEN 65

typedef struct _KcStoreBackend      KcStoreBackend;
typedef struct _KcStoreBackendClass KcStoreBackendClass;

/* A backend's own state embeds this as its first member. */
struct _KcStoreBackend {
  const KcStoreBackendClass *klass;
  int                        schema_version;
};

typedef enum {
  KC_STORE_WRITE_KEY,
  KC_STORE_WRITE_CDR,
  KC_STORE_WRITE_AUDIT,
} KcStoreWriteKind;

/* One queued durable write. The records are private copies, already
 * validated by kc-store.c. For an audit record the backend assigns seq and
 * hash (kc_store_audit_hash over the previous record's hash) inside the
 * transaction that inserts it. */
typedef struct {
  KcStoreWriteKind kind;
  union {
    KcSealedKey   *key;
    KcCdr         *cdr;
    KcAuditRecord *audit;
  };
  GError          *error;   /* set by the backend when this write failed */
} KcStoreWrite;

typedef gboolean (*KcStoreAuditFunc) (const KcAuditRecord *record,
                                      gpointer             user_data);

/* Every method may be called from any thread at the same time, except:
 * write_batch only ever runs on the writer thread (one call at a time), and
 * close runs once, after the writer thread has been joined.
 * Time bounds are inclusive; 0 means "no bound". Lists are GPtrArrays that
 * own their records (free functions of kc-store.h). */
struct _KcStoreBackendClass {
  const char   *name;

  void          (*close)             (KcStoreBackend      *backend);

  /* Writes all @writes in one transaction and makes it durable before
   * returning. A failing record sets its own ->error and does not fail the
   * others; a failed commit sets ->error on every write. */
  void          (*write_batch)       (KcStoreBackend      *backend,
                                      KcStoreWrite       **writes,
                                      guint                n_writes);

  gboolean      (*subscriber_add)    (KcStoreBackend      *backend,
                                      const KcSubscriber  *subscriber,
                                      GError             **error);
  KcSubscriber *(*subscriber_get)    (KcStoreBackend      *backend,
                                      const char          *number,
                                      GError             **error);
  GPtrArray    *(*subscriber_list)   (KcStoreBackend      *backend,
                                      GError             **error);
  gboolean      (*subscriber_set_state) (KcStoreBackend   *backend,
                                      const char          *number,
                                      KcSubscriberState    state,
                                      gint64               now,
                                      GError             **error);
  gboolean      (*subscriber_set_cert) (KcStoreBackend    *backend,
                                      const char          *number,
                                      const char          *cert_serial,
                                      gint64               now,
                                      GError             **error);

  KcSealedKey  *(*key_get)           (KcStoreBackend      *backend,
                                      const KcKeyId       *key_id,
                                      GError             **error);
  GPtrArray    *(*keys_for_number)   (KcStoreBackend      *backend,
                                      const char          *number,
                                      gint64               from,
                                      gint64               until,
                                      GError             **error);
  GPtrArray    *(*key_list)          (KcStoreBackend      *backend,
                                      guint                limit,
                                      GError             **error);

  GPtrArray    *(*cdr_list)          (KcStoreBackend      *backend,
                                      gint64               from,
                                      gint64               until,
                                      GError             **error);

  gboolean      (*tap_add)           (KcStoreBackend      *backend,
                                      const KcTap         *tap,
                                      GError             **error);
  gboolean      (*tap_stop)          (KcStoreBackend      *backend,
                                      const char          *tap_id,
                                      gint64               stopped_at,
                                      GError             **error);
  GPtrArray    *(*tap_list)          (KcStoreBackend      *backend,
                                      gboolean             active_only,
                                      gint64               now,
                                      GError             **error);

  /* Calls @func for every audit record in seq order until it returns
   * FALSE; returns FALSE only with @error set. */
  gboolean      (*audit_foreach)     (KcStoreBackend      *backend,
                                      KcStoreAuditFunc     func,
                                      gpointer             user_data,
                                      GError             **error);
};

/* Backends. @path / @uri is the location without the "sqlite:" prefix. */
KcStoreBackend *kc_store_sqlite_open (const char        *path,
                                      KcStoreOpenFlags   flags,
                                      GError           **error);

/* hash = SHA-256 (previous hash (32 bytes; zeros for the first record) ||
 * seq || time || actor || action || detail), each field preceded by its
 * length as a 64-bit big-endian integer, integers as 64-bit big-endian. */
void            kc_store_audit_hash  (const char          *prev_hash,
                                      const KcAuditRecord *record,
                                      char                 out[KC_STORE_AUDIT_HASH_LEN]);

/* Lower-case hex of @len bytes into @out (2 * len + 1 bytes). */
void            kc_store_hex         (const guint8        *data,
                                      gsize                len,
                                      char                *out);

G_END_DECLS
