/* kc-store-sqlite.c: the embedded store backend: opening a store.
 *
 * Two connections to one WAL database: the main one (reads, subscribers,
 * taps; serialized by a mutex) and the writer's, used only by the writer
 * thread for group-committed keys, CDRs and audit records. synchronous=FULL
 * makes every commit fsync the WAL before it returns. This file checks,
 * opens, upgrades and closes a store; kc-store-sqlite-stmt.c runs statements
 * and kc-store-sqlite-tables.c holds what the backend does with each table.
 */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store-sqlite-private.h"
#include "kc-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a statement waits for another process's lock before failing. */
#define BUSY_TIMEOUT_MS 10000

/* Step N brings a store from schema N to N + 1, in one transaction. There is
 * deliberately no column that could hold a plaintext key: sealed_keys keeps
 * only the HPKE output (enc, sealed) and subscribers only a vault-wrapped
 * signaling secret. */
static const char *const migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE subscribers ("
  "  number         TEXT PRIMARY KEY NOT NULL,"
  "  display_name   TEXT,"
  "  state          TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'revoked')),"
  "  controller     TEXT,"
  "  cert_serial    TEXT,"
  "  wrapped_secret BLOB,"
  "  created_at     INTEGER NOT NULL,"
  "  updated_at     INTEGER NOT NULL);"
  "CREATE TABLE sealed_keys ("
  "  key_id      BLOB PRIMARY KEY NOT NULL CHECK (length (key_id) = 16),"
  "  call_id     TEXT NOT NULL,"
  "  caller      TEXT NOT NULL,"
  "  callee      TEXT NOT NULL,"
  "  controller  TEXT NOT NULL,"
  "  created_at  INTEGER NOT NULL,"
  "  enc         BLOB NOT NULL,"
  "  sealed      BLOB NOT NULL,"
  "  fingerprint TEXT NOT NULL) WITHOUT ROWID;"
  "CREATE INDEX sealed_keys_by_caller ON sealed_keys (caller, created_at);"
  "CREATE INDEX sealed_keys_by_callee ON sealed_keys (callee, created_at);"
  "CREATE INDEX sealed_keys_by_time ON sealed_keys (created_at);"
  "CREATE TABLE cdrs ("
  "  call_id     TEXT PRIMARY KEY NOT NULL,"
  "  caller      TEXT,"
  "  callee      TEXT,"
  "  key_id      TEXT,"
  "  started_at  INTEGER NOT NULL,"
  "  answered_at INTEGER NOT NULL,"
  "  ended_at    INTEGER NOT NULL,"
  "  sip_status  INTEGER NOT NULL,"
  "  outcome     TEXT,"
  "  reason      TEXT);"
  "CREATE INDEX cdrs_by_time ON cdrs (started_at);"
  "CREATE TABLE taps ("
  "  tap_id     TEXT PRIMARY KEY NOT NULL,"
  "  number     TEXT NOT NULL,"
  "  kind       TEXT NOT NULL CHECK (kind IN ('future', 'current', 'past')),"
  "  lea        TEXT NOT NULL,"
  "  from_time  INTEGER NOT NULL,"
  "  until_time INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  stopped_at INTEGER NOT NULL);"
  "CREATE INDEX taps_by_number ON taps (number);"
  "CREATE TABLE audit ("
  "  seq    INTEGER PRIMARY KEY NOT NULL,"
  "  time   INTEGER NOT NULL,"
  "  actor  TEXT NOT NULL,"
  "  action TEXT NOT NULL,"
  "  detail TEXT NOT NULL,"
  "  hash   TEXT NOT NULL);"
  "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
  "  BEGIN SELECT RAISE (ABORT, 'the audit log is append-only'); END;"
  "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
  "  BEGIN SELECT RAISE (ABORT, 'the audit log is append-only'); END;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == KC_STORE_SCHEMA_VERSION);

/* Opening ---------------------------------------------------------------- */

/* Refuses, before SQLite sees it, a path that cannot be a store; creates
 * the file with mode 0600 when asked to (SQLite gives its -wal and -shm
 * files the same mode). */
static gboolean
prepare_file (const char *path, KcStoreOpenFlags flags, GError **error)
{
  static const char magic[16] = "SQLite format 3";
  char header[16];
  struct stat st;
  ssize_t got;
  int fd;

  if (stat (path, &st) != 0) {
    int saved = errno;

    if (saved != ENOENT) {
      g_set_error (error, KC_ERROR, saved == EACCES ? KC_ERROR_PERMISSION : KC_ERROR_IO,
                   "Cannot look at the store %s: %s", path, g_strerror (saved));
      return FALSE;
    }
    if (!(flags & KC_STORE_OPEN_CREATE)) {
      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                   "There is no Keycall store at %s; check the path (a new store is only "
                   "created when asked to)", path);
      return FALSE;
    }
    fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      saved = errno;
      g_set_error (error, KC_ERROR,
                   saved == ENOENT ? KC_ERROR_NOT_FOUND
                   : saved == EACCES ? KC_ERROR_PERMISSION : KC_ERROR_IO,
                   "Cannot create the store %s: %s", path, g_strerror (saved));
      return FALSE;
    }
    if (fd >= 0)
      close (fd);
    return TRUE;
  }

  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s is not a regular file, so it cannot be a Keycall store", path);
    return FALSE;
  }
  if (st.st_size == 0)
    return TRUE;   /* an empty database: it becomes a new store */

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int saved = errno;

    g_set_error (error, KC_ERROR, saved == EACCES ? KC_ERROR_PERMISSION : KC_ERROR_IO,
                 "Cannot read the store %s: %s", path, g_strerror (saved));
    return FALSE;
  }
  got = read (fd, header, sizeof header);
  close (fd);
  if (got != (ssize_t) sizeof header || memcmp (header, magic, sizeof magic) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "%s is not a SQLite database, or its first bytes are damaged. Keycall left "
                 "it untouched: if it is a Keycall store, restore it from a backup; "
                 "otherwise check the path", path);
    return FALSE;
  }
  return TRUE;
}

static sqlite3 *
open_connection (KcSqliteStore *self, gboolean readonly, GError **error)
{
  int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  sqlite3 *db = NULL;
  int rc;

  rc = sqlite3_open_v2 (self->path, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    kc_store_sqlite_set_db_error (error, self, db, rc, "Cannot open the store");
    sqlite3_close_v2 (db);
    return NULL;
  }
  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  /* A store file is data, not code: no schema-defined functions run on our
   * connections and the schema cannot be edited through them. */
  sqlite3_db_config (db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  if (!kc_store_sqlite_exec (self, db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
                             "Cannot set up the store", error)) {
    sqlite3_close_v2 (db);
    return NULL;
  }
  return db;
}

static gboolean
query_int (KcSqliteStore *self, sqlite3 *db, const char *sql, gint64 *value, GError **error)
{
  sqlite3_stmt *stmt = kc_store_sqlite_prepare (self, db, sql, 0, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  else
    kc_store_sqlite_set_db_error (error, self, db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                                  "Cannot read the store");
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW;
}

/* Sets *@version to the store's schema, or refuses a database that belongs
 * to something else or to a newer Keycall. Reads only. */
static gboolean
check_identity (KcSqliteStore *self, int *version, GError **error)
{
  gint64 app_id, user_version, tables;

  if (!query_int (self, self->db, "PRAGMA application_id", &app_id, error)
      || !query_int (self, self->db, "PRAGMA user_version", &user_version, error)
      || !query_int (self, self->db, "SELECT count(*) FROM sqlite_master", &tables, error))
    return FALSE;

  if (app_id == 0 && tables == 0 && user_version == 0) {
    *version = 0;
    return TRUE;
  }
  if (app_id != KC_STORE_APPLICATION_ID) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "%s is not a Keycall store (it is a SQLite database with application id "
                 "0x%08x and %" G_GINT64_FORMAT " schema objects); Keycall left it untouched. "
                 "Check the path", self->path, (guint) app_id, tables);
    return FALSE;
  }
  if (user_version > KC_STORE_SCHEMA_VERSION || user_version < 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "The store %s was created by a newer Keycall (schema %" G_GINT64_FORMAT
                 ", this build knows %d); open it with that version or a later one",
                 self->path, user_version, KC_STORE_SCHEMA_VERSION);
    return FALSE;
  }
  *version = (int) user_version;
  return TRUE;
}

/* Damage shows up here, at start, rather than in the middle of a call. */
static gboolean
quick_check (KcSqliteStore *self, GError **error)
{
  sqlite3_stmt *stmt = kc_store_sqlite_prepare (self, self->db, "PRAGMA quick_check (1)", 0, error);
  g_autofree char *result = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    result = kc_store_sqlite_column_text (stmt, 0);
  else
    kc_store_sqlite_set_db_error (error, self, self->db, rc, "Cannot check the store");
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return FALSE;
  if (g_strcmp0 (result, "ok") != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The store %s is damaged (%s). " KC_STORE_SQLITE_RESTORE_ADVICE, self->path,
                 result ? result : "no result from the check");
    return FALSE;
  }
  return TRUE;
}

static gboolean
migrate (KcSqliteStore *self, int version, GError **error)
{
  for (int v = version; v < KC_STORE_SCHEMA_VERSION; v++) {
    g_autofree char *doing = g_strdup_printf ("Cannot upgrade to schema %d the store", v + 1);
    g_autofree char *stamp = g_strdup_printf ("PRAGMA application_id = %d; "
                                              "PRAGMA user_version = %d;",
                                              KC_STORE_APPLICATION_ID, v + 1);
    gint64 current;

    if (!kc_store_sqlite_exec (self, self->db, "BEGIN IMMEDIATE", doing, error))
      return FALSE;
    /* Another process may have upgraded it while we waited for the lock. */
    if (!query_int (self, self->db, "PRAGMA user_version", &current, error))
      goto fail;
    if (current > v) {
      kc_store_sqlite_exec (self, self->db, "ROLLBACK", doing, NULL);
      v = (int) MIN (current, KC_STORE_SCHEMA_VERSION) - 1;
      continue;
    }
    if (!kc_store_sqlite_exec (self, self->db, migrations[v], doing, error)
        || !kc_store_sqlite_exec (self, self->db, stamp, doing, error)
        || !kc_store_sqlite_exec (self, self->db, "COMMIT", doing, error))
      goto fail;
    g_debug ("upgraded %s to schema %d", self->path, v + 1);
    continue;
fail:
    if (!sqlite3_get_autocommit (self->db))
      kc_store_sqlite_exec (self, self->db, "ROLLBACK", doing, NULL);
    return FALSE;
  }
  return TRUE;
}

static gboolean
prepare_writer (KcSqliteStore *self, GError **error)
{
  self->writer = open_connection (self, FALSE, error);
  if (self->writer == NULL)
    return FALSE;
  self->insert_key =
    kc_store_sqlite_prepare (self, self->writer,
                             "INSERT INTO sealed_keys (" KC_STORE_SQLITE_KEY_COLUMNS ") "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             SQLITE_PREPARE_PERSISTENT, error);
  if (self->insert_key == NULL)
    return FALSE;
  self->upsert_cdr =
    kc_store_sqlite_prepare (self, self->writer,
                             "INSERT INTO cdrs (" KC_STORE_SQLITE_CDR_COLUMNS ") "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                             "ON CONFLICT (call_id) DO UPDATE SET "
                             "caller = excluded.caller, callee = excluded.callee, "
                             "key_id = excluded.key_id, started_at = excluded.started_at, "
                             "answered_at = excluded.answered_at, ended_at = excluded.ended_at, "
                             "sip_status = excluded.sip_status, outcome = excluded.outcome, "
                             "reason = excluded.reason",
                             SQLITE_PREPARE_PERSISTENT, error);
  if (self->upsert_cdr == NULL)
    return FALSE;
  self->audit_last =
    kc_store_sqlite_prepare (self, self->writer,
                             "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                             SQLITE_PREPARE_PERSISTENT, error);
  if (self->audit_last == NULL)
    return FALSE;
  self->insert_audit =
    kc_store_sqlite_prepare (self, self->writer,
                             "INSERT INTO audit (seq, time, actor, action, detail, hash) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             SQLITE_PREPARE_PERSISTENT, error);
  return self->insert_audit != NULL;
}

void
kc_store_sqlite_close (KcStoreBackend *backend)
{
  KcSqliteStore *self = (KcSqliteStore *) backend;

  sqlite3_finalize (self->insert_key);
  sqlite3_finalize (self->upsert_cdr);
  sqlite3_finalize (self->audit_last);
  sqlite3_finalize (self->insert_audit);
  sqlite3_close_v2 (self->writer);
  /* Last: closing the last connection checkpoints the WAL into the file. */
  sqlite3_close_v2 (self->db);
  g_mutex_clear (&self->lock);
  g_free (self->path);
  g_free (self);
}

KcStoreBackend *
kc_store_sqlite_open (const char *path, KcStoreOpenFlags flags, GError **error)
{
  gboolean readonly = (flags & KC_STORE_OPEN_READONLY) != 0;
  KcSqliteStore *self;
  int version = 0;

  if (!prepare_file (path, flags, error))
    return NULL;

  self = g_new0 (KcSqliteStore, 1);
  self->parent.klass = &kc_store_sqlite_class;
  self->path = g_strdup (path);
  g_mutex_init (&self->lock);

  /* Identity and integrity are checked with reads only, so a file that is
   * not ours, or is damaged, is never written to. */
  self->db = open_connection (self, readonly, error);
  if (self->db == NULL || !check_identity (self, &version, error) || !quick_check (self, error))
    goto fail;

  if (readonly && version < KC_STORE_SCHEMA_VERSION) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The store %s has schema %d and needs an upgrade to %d; open it once "
                 "read-write", path, version, KC_STORE_SCHEMA_VERSION);
    goto fail;
  }
  if (!readonly) {
    g_autofree char *mode = NULL;
    sqlite3_stmt *stmt = kc_store_sqlite_prepare (self, self->db, "PRAGMA journal_mode = WAL", 0,
                                                  error);

    if (stmt == NULL)
      goto fail;
    if (sqlite3_step (stmt) == SQLITE_ROW)
      mode = kc_store_sqlite_column_text (stmt, 0);
    sqlite3_finalize (stmt);
    if (g_strcmp0 (mode, "wal") != 0) {
      g_set_error (error, KC_ERROR, KC_ERROR_IO,
                   "Cannot switch the store %s to write-ahead logging (%s); is it on a "
                   "network file system?", path, sqlite3_errmsg (self->db));
      goto fail;
    }
    if (!migrate (self, version, error) || !prepare_writer (self, error))
      goto fail;
  }
  self->parent.schema_version = KC_STORE_SCHEMA_VERSION;
  return &self->parent;

fail:
  kc_store_sqlite_close (&self->parent);
  return NULL;
}
