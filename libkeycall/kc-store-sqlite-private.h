/* kc-store-sqlite-private.h: what the SQLite backend's files share:
 * kc-store-sqlite.c (opening a store), kc-store-sqlite-stmt.c (running
 * statements) and kc-store-sqlite-tables.c (what it does with each table).
 */
#pragma once

#include <sqlite3.h>
#include <stdarg.h>

#include "kc-store-backend.h"

G_BEGIN_DECLS

#define KC_STORE_SQLITE_RESTORE_ADVICE \
  "Keycall never repairs or resets a store: stop every program using it " \
  "and restore it from a backup"

/* The columns of each table, in the order the *_from_row readers expect. */
#define KC_STORE_SQLITE_KEY_COLUMNS \
  "key_id, call_id, caller, callee, controller, created_at, enc, sealed, fingerprint"
#define KC_STORE_SQLITE_SUBSCRIBER_COLUMNS \
  "number, display_name, state, controller, cert_serial, wrapped_secret, created_at, updated_at"
#define KC_STORE_SQLITE_CDR_COLUMNS \
  "call_id, caller, callee, key_id, started_at, answered_at, ended_at, sip_status, outcome, reason"
#define KC_STORE_SQLITE_TAP_COLUMNS \
  "tap_id, number, kind, lea, from_time, until_time, created_at, stopped_at"

typedef struct {
  KcStoreBackend  parent;
  char           *path;
  GMutex          lock;          /* serializes use of @db */
  sqlite3        *db;
  sqlite3        *writer;        /* NULL when read-only */
  sqlite3_stmt   *insert_key;
  sqlite3_stmt   *upsert_cdr;
  sqlite3_stmt   *audit_last;
  sqlite3_stmt   *insert_audit;
} KcSqliteStore;

/* kc-store-sqlite.c */
void          kc_store_sqlite_close        (KcStoreBackend *backend);

/* kc-store-sqlite-stmt.c */
void          kc_store_sqlite_set_db_error (GError        **error,
                                            KcSqliteStore  *self,
                                            sqlite3        *db,
                                            int             rc,
                                            const char     *doing);
gboolean      kc_store_sqlite_exec         (KcSqliteStore  *self,
                                            sqlite3        *db,
                                            const char     *sql,
                                            const char     *doing,
                                            GError        **error);
sqlite3_stmt *kc_store_sqlite_prepare      (KcSqliteStore  *self,
                                            sqlite3        *db,
                                            const char     *sql,
                                            guint           flags,
                                            GError        **error);
void          kc_store_sqlite_bind_args    (sqlite3_stmt   *stmt,
                                            const char     *types,
                                            va_list         args);
int           kc_store_sqlite_step         (KcSqliteStore  *self,
                                            sqlite3_stmt   *stmt,
                                            int             quiet_rc,
                                            const char     *doing,
                                            GError        **error,
                                            const char     *types,
                                            ...);
int           kc_store_sqlite_modify       (KcSqliteStore  *self,
                                            int             quiet_rc,
                                            int            *changes,
                                            const char     *doing,
                                            GError        **error,
                                            const char     *sql,
                                            const char     *types,
                                            ...);
char         *kc_store_sqlite_column_text  (sqlite3_stmt   *stmt,
                                            int             i);

/* kc-store-sqlite-tables.c */
extern const KcStoreBackendClass kc_store_sqlite_class;

G_END_DECLS
