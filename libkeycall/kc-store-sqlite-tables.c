/* kc-store-sqlite-tables.c: what the SQLite backend does with each table:
 * the durable writes of the writer thread (keys, CDRs, the audit chain) and
 * the main connection's subscribers, key and CDR reads, taps and audit log.
 */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store-sqlite-private.h"
#include "kc-error.h"

#include <string.h>

/* Reading rows ---------------------------------------------------------- */

static GBytes *
column_bytes (sqlite3_stmt *stmt, int i)
{
  if (sqlite3_column_type (stmt, i) == SQLITE_NULL)
    return NULL;
  return g_bytes_new (sqlite3_column_blob (stmt, i), sqlite3_column_bytes (stmt, i));
}

static gpointer
subscriber_from_row (sqlite3_stmt *stmt)
{
  KcSubscriber *sub = g_new0 (KcSubscriber, 1);

  sub->number = kc_store_sqlite_column_text (stmt, 0);
  sub->display_name = kc_store_sqlite_column_text (stmt, 1);
  kc_subscriber_state_from_string ((const char *) sqlite3_column_text (stmt, 2), &sub->state);
  sub->controller = kc_store_sqlite_column_text (stmt, 3);
  sub->cert_serial = kc_store_sqlite_column_text (stmt, 4);
  sub->wrapped_secret = column_bytes (stmt, 5);
  sub->created_at = sqlite3_column_int64 (stmt, 6);
  sub->updated_at = sqlite3_column_int64 (stmt, 7);
  return sub;
}

static gpointer
key_from_row (sqlite3_stmt *stmt)
{
  KcSealedKey *key = g_new0 (KcSealedKey, 1);
  int id_len = sqlite3_column_bytes (stmt, 0);

  memcpy (key->key_id.bytes, sqlite3_column_blob (stmt, 0), MIN (id_len, KC_KEY_ID_LEN));
  key->call_id = kc_store_sqlite_column_text (stmt, 1);
  key->caller = kc_store_sqlite_column_text (stmt, 2);
  key->callee = kc_store_sqlite_column_text (stmt, 3);
  key->controller = kc_store_sqlite_column_text (stmt, 4);
  key->created_at = sqlite3_column_int64 (stmt, 5);
  key->enc = column_bytes (stmt, 6);
  key->sealed = column_bytes (stmt, 7);
  if (sqlite3_column_type (stmt, 8) == SQLITE_TEXT)
    g_strlcpy (key->fingerprint, (const char *) sqlite3_column_text (stmt, 8),
               KC_FINGERPRINT_LEN);
  return key;
}

static gpointer
cdr_from_row (sqlite3_stmt *stmt)
{
  KcCdr *cdr = g_new0 (KcCdr, 1);

  cdr->call_id = kc_store_sqlite_column_text (stmt, 0);
  cdr->caller = kc_store_sqlite_column_text (stmt, 1);
  cdr->callee = kc_store_sqlite_column_text (stmt, 2);
  cdr->key_id = kc_store_sqlite_column_text (stmt, 3);
  cdr->started_at = sqlite3_column_int64 (stmt, 4);
  cdr->answered_at = sqlite3_column_int64 (stmt, 5);
  cdr->ended_at = sqlite3_column_int64 (stmt, 6);
  cdr->sip_status = sqlite3_column_int (stmt, 7);
  cdr->outcome = kc_store_sqlite_column_text (stmt, 8);
  cdr->reason = kc_store_sqlite_column_text (stmt, 9);
  return cdr;
}

static gpointer
tap_from_row (sqlite3_stmt *stmt)
{
  KcTap *tap = g_new0 (KcTap, 1);

  tap->tap_id = kc_store_sqlite_column_text (stmt, 0);
  tap->number = kc_store_sqlite_column_text (stmt, 1);
  kc_tap_kind_from_string ((const char *) sqlite3_column_text (stmt, 2), &tap->kind);
  tap->lea = kc_store_sqlite_column_text (stmt, 3);
  tap->from = sqlite3_column_int64 (stmt, 4);
  tap->until = sqlite3_column_int64 (stmt, 5);
  tap->created_at = sqlite3_column_int64 (stmt, 6);
  tap->stopped_at = sqlite3_column_int64 (stmt, 7);
  return tap;
}

typedef struct {
  gpointer      (*from_row) (sqlite3_stmt *stmt);
  GDestroyNotify  free_func;
  const char     *doing;
} RowKind;

static const RowKind subscriber_rows = {
  subscriber_from_row, (GDestroyNotify) kc_subscriber_free, "Cannot read subscribers from"
};
static const RowKind key_rows = {
  key_from_row, (GDestroyNotify) kc_sealed_key_free, "Cannot read keys from"
};
static const RowKind cdr_rows = {
  cdr_from_row, (GDestroyNotify) kc_cdr_free, "Cannot read call records from"
};
static const RowKind tap_rows = {
  tap_from_row, (GDestroyNotify) kc_tap_free, "Cannot read taps from"
};

/* A read on the main connection: every row as a record of @kind. */
static GPtrArray *
query (KcSqliteStore *self, const RowKind *kind, GError **error, const char *sql,
       const char *types, ...)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (kind->free_func);
  sqlite3_stmt *stmt = kc_store_sqlite_prepare (self, self->db, sql, 0, error);
  va_list args;
  int rc;

  if (stmt == NULL)
    return NULL;
  va_start (args, types);
  kc_store_sqlite_bind_args (stmt, types, args);
  va_end (args);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, kind->from_row (stmt));
  if (rc != SQLITE_DONE)
    kc_store_sqlite_set_db_error (error, self, self->db, rc, kind->doing);
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE ? g_steal_pointer (&rows) : NULL;
}

static gint64
upper_bound (gint64 until)
{
  return until ? until : G_MAXINT64;
}

/* Durable writes (writer thread) ----------------------------------------- */

static gboolean
write_key (KcSqliteStore *self, KcSealedKey *key, GError **error)
{
  int rc = kc_store_sqlite_step (self, self->insert_key, SQLITE_CONSTRAINT_PRIMARYKEY,
                                 "Cannot store a key in", error, "kttttibbt",
                                 &key->key_id, key->call_id, key->caller, key->callee,
                                 key->controller, key->created_at, key->enc, key->sealed,
                                 key->fingerprint);

  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    char hex[2 * KC_KEY_ID_LEN + 1];

    kc_store_hex (key->key_id.bytes, KC_KEY_ID_LEN, hex);
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "A key with id %s is already stored (call %s); key ids must be unique",
                 hex, key->call_id);
  }
  return rc == SQLITE_DONE;
}

static gboolean
write_cdr (KcSqliteStore *self, KcCdr *cdr, GError **error)
{
  return kc_store_sqlite_step (self, self->upsert_cdr, SQLITE_DONE,
                               "Cannot store a call record in", error,
                               "ttttiiiitt", cdr->call_id, cdr->caller, cdr->callee, cdr->key_id,
                               cdr->started_at, cdr->answered_at, cdr->ended_at,
                               (gint64) cdr->sip_status, cdr->outcome, cdr->reason) == SQLITE_DONE;
}

/* Chains @record to the last one inside the batch's transaction, so no
 * other writer can slip a record in between. */
static gboolean
write_audit (KcSqliteStore *self, KcAuditRecord *record, GError **error)
{
  char hash[KC_STORE_AUDIT_HASH_LEN];
  g_autofree char *prev = NULL;
  sqlite3_stmt *stmt = self->audit_last;
  gint64 last = 0;
  int rc;

  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW) {
    last = sqlite3_column_int64 (stmt, 0);
    prev = kc_store_sqlite_column_text (stmt, 1);
  } else if (rc != SQLITE_DONE) {
    kc_store_sqlite_set_db_error (error, self, self->writer, rc, "Cannot read the audit log of");
  }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return FALSE;

  record->seq = last + 1;
  kc_store_audit_hash (prev, record, hash);
  g_free (record->hash);
  record->hash = g_strdup (hash);
  return kc_store_sqlite_step (self, self->insert_audit, SQLITE_DONE,
                               "Cannot append to the audit log of", error, "iitttt",
                               record->seq, record->time, record->actor, record->action,
                               record->detail, record->hash) == SQLITE_DONE;
}

/* No SAVEPOINT per record: each record is a single INSERT, and SQLite undoes
 * a failed statement without touching the rest of the transaction. Only
 * errors that roll the whole transaction back (disk full, I/O) fail the
 * batch, and then every write in it is reported failed. */
static void
sqlite_write_batch (KcStoreBackend *backend, KcStoreWrite **writes, guint n_writes)
{
  KcSqliteStore *self = (KcSqliteStore *) backend;
  g_autoptr(GError) fatal = NULL;

  if (!kc_store_sqlite_exec (self, self->writer, "BEGIN IMMEDIATE", "Cannot write to the store",
                             &fatal))
    goto report;

  for (guint i = 0; i < n_writes; i++) {
    KcStoreWrite *w = writes[i];
    gboolean ok = FALSE;

    if (w->error != NULL)
      continue;
    switch (w->kind) {
    case KC_STORE_WRITE_KEY: ok = write_key (self, w->key, &w->error); break;
    case KC_STORE_WRITE_CDR: ok = write_cdr (self, w->cdr, &w->error); break;
    case KC_STORE_WRITE_AUDIT: ok = write_audit (self, w->audit, &w->error); break;
    default: g_assert_not_reached ();
    }
    if (!ok && sqlite3_get_autocommit (self->writer)) {
      fatal = g_error_copy (w->error);
      g_prefix_error (&fatal, "Nothing in this batch was stored: ");
      goto report;
    }
  }
  if (kc_store_sqlite_exec (self, self->writer, "COMMIT", "Cannot commit to the store", &fatal))
    return;

report:
  if (!sqlite3_get_autocommit (self->writer))
    kc_store_sqlite_exec (self, self->writer, "ROLLBACK", "Cannot roll back a write to the store",
                          NULL);
  /* A record that failed on its own keeps its own reason. */
  for (guint i = 0; i < n_writes; i++)
    if (writes[i]->error == NULL)
      writes[i]->error = g_error_copy (fatal);
}

/* Subscribers ------------------------------------------------------------ */

static gboolean
sqlite_subscriber_add (KcStoreBackend *backend, const KcSubscriber *sub, GError **error)
{
  KcSqliteStore *self = (KcSqliteStore *) backend;
  gint64 now = sub->created_at ? sub->created_at : g_get_real_time ();
  int rc;

  rc = kc_store_sqlite_modify (self, SQLITE_CONSTRAINT_PRIMARYKEY, NULL,
                               "Cannot add a subscriber to", error,
                               "INSERT INTO subscribers (" KC_STORE_SQLITE_SUBSCRIBER_COLUMNS ") "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               "tttttbii", sub->number, sub->display_name,
                               kc_subscriber_state_to_string (sub->state), sub->controller,
                               sub->cert_serial, sub->wrapped_secret, now,
                               sub->updated_at ? sub->updated_at : now);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "Subscriber %s already exists", sub->number);
  return rc == SQLITE_DONE;
}

static KcSubscriber *
sqlite_subscriber_get (KcStoreBackend *backend, const char *number, GError **error)
{
  g_autoptr(GPtrArray) rows = query ((KcSqliteStore *) backend, &subscriber_rows, error,
                                     "SELECT " KC_STORE_SQLITE_SUBSCRIBER_COLUMNS
                                     " FROM subscribers WHERE number = ?", "t", number);

  if (rows != NULL && rows->len == 0)
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "No subscriber %s in the store", number);
  return rows && rows->len > 0 ? g_ptr_array_steal_index (rows, 0) : NULL;
}

static GPtrArray *
sqlite_subscriber_list (KcStoreBackend *backend, GError **error)
{
  return query ((KcSqliteStore *) backend, &subscriber_rows, error,
                "SELECT " KC_STORE_SQLITE_SUBSCRIBER_COLUMNS " FROM subscribers "
                "ORDER BY number", "");
}

static gboolean
update_subscriber (KcSqliteStore *self, const char *sql, const char *value, gint64 now,
                   const char *number, GError **error)
{
  int changes = 0;

  if (kc_store_sqlite_modify (self, SQLITE_DONE, &changes, "Cannot change a subscriber in",
                              error, sql, "tit", value, now, number) != SQLITE_DONE)
    return FALSE;
  if (changes == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "No subscriber %s in the store", number);
    return FALSE;
  }
  return TRUE;
}

static gboolean
sqlite_subscriber_set_state (KcStoreBackend *backend, const char *number,
                             KcSubscriberState state, gint64 now, GError **error)
{
  return update_subscriber ((KcSqliteStore *) backend,
                            "UPDATE subscribers SET state = ?1, updated_at = ?2 WHERE number = ?3",
                            kc_subscriber_state_to_string (state), now, number, error);
}

static gboolean
sqlite_subscriber_set_cert (KcStoreBackend *backend, const char *number,
                            const char *cert_serial, gint64 now, GError **error)
{
  return update_subscriber ((KcSqliteStore *) backend,
                            "UPDATE subscribers SET cert_serial = ?1, updated_at = ?2 "
                            "WHERE number = ?3", cert_serial, now, number, error);
}

/* Keys and CDRs ---------------------------------------------------------- */

static KcSealedKey *
sqlite_key_get (KcStoreBackend *backend, const KcKeyId *key_id, GError **error)
{
  g_autoptr(GPtrArray) rows = query ((KcSqliteStore *) backend, &key_rows, error,
                                     "SELECT " KC_STORE_SQLITE_KEY_COLUMNS " FROM sealed_keys "
                                     "WHERE key_id = ?", "k", key_id);

  if (rows != NULL && rows->len == 0) {
    char hex[2 * KC_KEY_ID_LEN + 1];

    kc_store_hex (key_id->bytes, KC_KEY_ID_LEN, hex);
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "No key with id %s in the store", hex);
  }
  return rows && rows->len > 0 ? g_ptr_array_steal_index (rows, 0) : NULL;
}

/* Two indexed lookups; UNION drops the duplicate of a call to oneself. */
static GPtrArray *
sqlite_keys_for_number (KcStoreBackend *backend, const char *number, gint64 from,
                        gint64 until, GError **error)
{
  return query ((KcSqliteStore *) backend, &key_rows, error,
                "SELECT " KC_STORE_SQLITE_KEY_COLUMNS " FROM sealed_keys "
                "WHERE caller = ?1 AND created_at BETWEEN ?2 AND ?3 "
                "UNION SELECT " KC_STORE_SQLITE_KEY_COLUMNS " FROM sealed_keys "
                "WHERE callee = ?1 AND created_at BETWEEN ?2 AND ?3 "
                "ORDER BY created_at, key_id", "tii", number, from, upper_bound (until));
}

static GPtrArray *
sqlite_key_list (KcStoreBackend *backend, guint limit, GError **error)
{
  return query ((KcSqliteStore *) backend, &key_rows, error,
                "SELECT " KC_STORE_SQLITE_KEY_COLUMNS " FROM sealed_keys "
                "ORDER BY created_at DESC, key_id LIMIT ?",
                "i", limit ? (gint64) limit : (gint64) -1);
}

static GPtrArray *
sqlite_cdr_list (KcStoreBackend *backend, gint64 from, gint64 until, GError **error)
{
  return query ((KcSqliteStore *) backend, &cdr_rows, error,
                "SELECT " KC_STORE_SQLITE_CDR_COLUMNS " FROM cdrs WHERE started_at BETWEEN ? AND ? "
                "ORDER BY started_at, call_id", "ii", from, upper_bound (until));
}

/* Taps ------------------------------------------------------------------- */

static gboolean
sqlite_tap_add (KcStoreBackend *backend, const KcTap *tap, GError **error)
{
  int rc = kc_store_sqlite_modify ((KcSqliteStore *) backend, SQLITE_CONSTRAINT_PRIMARYKEY, NULL,
                                   "Cannot add a tap to", error,
                                   "INSERT INTO taps (" KC_STORE_SQLITE_TAP_COLUMNS ") "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                   "ttttiiii", tap->tap_id, tap->number,
                                   kc_tap_kind_to_string (tap->kind), tap->lea, tap->from,
                                   tap->until, tap->created_at, tap->stopped_at);

  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "A tap with id %s already exists",
                 tap->tap_id);
  return rc == SQLITE_DONE;
}

/* Stopping a stopped tap keeps the first stop time and succeeds. */
static gboolean
sqlite_tap_stop (KcStoreBackend *backend, const char *tap_id, gint64 stopped_at,
                 GError **error)
{
  int changes = 0;

  if (kc_store_sqlite_modify ((KcSqliteStore *) backend, SQLITE_DONE, &changes,
                              "Cannot stop a tap in", error,
                              "UPDATE taps SET stopped_at = CASE WHEN stopped_at = 0 THEN ?1 "
                              "ELSE stopped_at END WHERE tap_id = ?2",
                              "it", stopped_at, tap_id) != SQLITE_DONE)
    return FALSE;
  if (changes == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "No tap with id %s in the store", tap_id);
    return FALSE;
  }
  return TRUE;
}

static GPtrArray *
sqlite_tap_list (KcStoreBackend *backend, gboolean active_only, gint64 now, GError **error)
{
  return query ((KcSqliteStore *) backend, &tap_rows, error,
                "SELECT " KC_STORE_SQLITE_TAP_COLUMNS " FROM taps "
                "WHERE NOT ?1 OR (stopped_at = 0 AND "
                "(kind <> 'future' OR until_time = 0 OR until_time > ?2)) "
                "ORDER BY created_at, tap_id", "ii", (gint64) active_only, now);
}

/* Audit ------------------------------------------------------------------ */

static gboolean
sqlite_audit_foreach (KcStoreBackend *backend, KcStoreAuditFunc func, gpointer user_data,
                      GError **error)
{
  KcSqliteStore *self = (KcSqliteStore *) backend;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *stmt;
  int rc;

  stmt = kc_store_sqlite_prepare (self, self->db,
                                  "SELECT seq, time, actor, action, detail, hash FROM audit "
                                  "ORDER BY seq", 0, error);
  if (stmt == NULL)
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
    KcAuditRecord record = {
      .seq = sqlite3_column_int64 (stmt, 0),
      .time = sqlite3_column_int64 (stmt, 1),
      .actor = (char *) sqlite3_column_text (stmt, 2),
      .action = (char *) sqlite3_column_text (stmt, 3),
      .detail = (char *) sqlite3_column_text (stmt, 4),
      .hash = (char *) sqlite3_column_text (stmt, 5),
    };

    if (!func (&record, user_data)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  if (rc != SQLITE_DONE)
    kc_store_sqlite_set_db_error (error, self, self->db, rc, "Cannot read the audit log of");
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE;
}

const KcStoreBackendClass kc_store_sqlite_class = {
  .name = "sqlite",
  .close = kc_store_sqlite_close,
  .write_batch = sqlite_write_batch,
  .subscriber_add = sqlite_subscriber_add,
  .subscriber_get = sqlite_subscriber_get,
  .subscriber_list = sqlite_subscriber_list,
  .subscriber_set_state = sqlite_subscriber_set_state,
  .subscriber_set_cert = sqlite_subscriber_set_cert,
  .key_get = sqlite_key_get,
  .keys_for_number = sqlite_keys_for_number,
  .key_list = sqlite_key_list,
  .cdr_list = sqlite_cdr_list,
  .tap_add = sqlite_tap_add,
  .tap_stop = sqlite_tap_stop,
  .tap_list = sqlite_tap_list,
  .audit_foreach = sqlite_audit_foreach,
};
