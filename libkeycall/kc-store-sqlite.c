/* kc-store-sqlite.c: the embedded store backend.
 *
 * Two connections to one WAL database: the main one (reads, subscribers,
 * taps; serialized by a mutex) and the writer's, used only by the writer
 * thread for group-committed keys, CDRs and audit records. synchronous=FULL
 * makes every commit fsync the WAL before it returns.
 */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store-backend.h"
#include "kc-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a statement waits for another process's lock before failing. */
#define BUSY_TIMEOUT_MS 10000

#define RESTORE_ADVICE "Keycall never repairs or resets a store: stop every program using it " \
                       "and restore it from a backup"

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

#define KEY_COLUMNS "key_id, call_id, caller, callee, controller, created_at, enc, sealed, fingerprint"
#define SUBSCRIBER_COLUMNS \
  "number, display_name, state, controller, cert_serial, wrapped_secret, created_at, updated_at"
#define CDR_COLUMNS \
  "call_id, caller, callee, key_id, started_at, answered_at, ended_at, sip_status, outcome, reason"
#define TAP_COLUMNS "tap_id, number, kind, lea, from_time, until_time, created_at, stopped_at"

/* Errors ----------------------------------------------------------------- */

/* "@doing @path: what SQLite said" plus what a person can do about it. */
static void
set_db_error (GError **error, KcSqliteStore *self, sqlite3 *db, int rc, const char *doing)
{
  const char *advice = "";
  int code;

  switch (rc & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    code = KC_ERROR_CORRUPT;
    advice = ". " RESTORE_ADVICE;
    break;
  case SQLITE_CONSTRAINT:
    code = (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
           ? KC_ERROR_EXISTS : KC_ERROR_INVALID;
    break;
  case SQLITE_FULL:
    code = KC_ERROR_IO;
    advice = ". Free some disk space and retry";
    break;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    code = KC_ERROR_PERMISSION;
    break;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    code = KC_ERROR_IO;
    advice = ". Another program kept the store locked for too long";
    break;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
    code = KC_ERROR_IO;
    break;
  default:
    code = KC_ERROR_FAILED;
  }
  g_set_error (error, KC_ERROR, code, "%s %s: %s%s", doing, self->path,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc), advice);
}

static gboolean
exec (KcSqliteStore *self, sqlite3 *db, const char *sql, const char *doing, GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK) {
    set_db_error (error, self, db, rc, doing);
    return FALSE;
  }
  return TRUE;
}

static sqlite3_stmt *
prepare (KcSqliteStore *self, sqlite3 *db, const char *sql, guint flags, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3 (db, sql, -1, flags, &stmt, NULL);

  if (rc != SQLITE_OK) {
    set_db_error (error, self, db, rc, "Cannot read the store");
    return NULL;
  }
  return stmt;
}

/* Binding and reading ---------------------------------------------------- */

static void
bind_text (sqlite3_stmt *stmt, int i, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, i, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (stmt, i);
}

/* One argument per letter of @types: t text or NULL, i gint64, b GBytes or
 * NULL, k KcKeyId. */
static void
bind_args (sqlite3_stmt *stmt, const char *types, va_list args)
{
  g_assert ((int) strlen (types) == sqlite3_bind_parameter_count (stmt));
  for (int i = 0; types[i] != '\0'; i++) {
    switch (types[i]) {
    case 't':
      bind_text (stmt, i + 1, va_arg (args, const char *));
      break;
    case 'i':
      sqlite3_bind_int64 (stmt, i + 1, va_arg (args, gint64));
      break;
    case 'b': {
      GBytes *bytes = va_arg (args, GBytes *);
      gsize len = 0;
      gconstpointer data = bytes ? g_bytes_get_data (bytes, &len) : NULL;

      if (bytes == NULL)
        sqlite3_bind_null (stmt, i + 1);
      else
        sqlite3_bind_blob64 (stmt, i + 1, data ? data : "", len, SQLITE_STATIC);
      break;
    }
    case 'k':
      sqlite3_bind_blob (stmt, i + 1, va_arg (args, const KcKeyId *)->bytes, KC_KEY_ID_LEN,
                         SQLITE_STATIC);
      break;
    default:
      g_assert_not_reached ();
    }
  }
}

/* Binds and steps a statement once, then resets it. Sets @error unless
 * the result is SQLITE_DONE, SQLITE_ROW or @quiet_rc, which the caller
 * turns into a better message. */
static int
step_args (KcSqliteStore *self, sqlite3 *db, sqlite3_stmt *stmt, int quiet_rc,
           const char *doing, GError **error, const char *types, va_list args)
{
  int rc;

  bind_args (stmt, types, args);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW && rc != quiet_rc)
    set_db_error (error, self, db, rc, doing);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc;
}

static int
step (KcSqliteStore *self, sqlite3_stmt *stmt, int quiet_rc, const char *doing,
      GError **error, const char *types, ...)
{
  va_list args;
  int rc;

  va_start (args, types);
  rc = step_args (self, sqlite3_db_handle (stmt), stmt, quiet_rc, doing, error, types, args);
  va_end (args);
  return rc;
}

/* A write on the main connection; *@changes gets the rows it changed. */
static int
modify (KcSqliteStore *self, int quiet_rc, int *changes, const char *doing, GError **error,
        const char *sql, const char *types, ...)
{
  /* Held for its scope only; clang calls such a variable unused. */
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *stmt = prepare (self, self->db, sql, 0, error);
  va_list args;
  int rc;

  if (stmt == NULL)
    return SQLITE_ERROR;
  va_start (args, types);
  rc = step_args (self, self->db, stmt, quiet_rc, doing, error, types, args);
  va_end (args);
  if (changes != NULL)
    *changes = sqlite3_changes (self->db);
  sqlite3_finalize (stmt);
  return rc;
}

static char *
column_text (sqlite3_stmt *stmt, int i)
{
  if (sqlite3_column_type (stmt, i) == SQLITE_NULL)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, i));
}

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

  sub->number = column_text (stmt, 0);
  sub->display_name = column_text (stmt, 1);
  kc_subscriber_state_from_string ((const char *) sqlite3_column_text (stmt, 2), &sub->state);
  sub->controller = column_text (stmt, 3);
  sub->cert_serial = column_text (stmt, 4);
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
  key->call_id = column_text (stmt, 1);
  key->caller = column_text (stmt, 2);
  key->callee = column_text (stmt, 3);
  key->controller = column_text (stmt, 4);
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

  cdr->call_id = column_text (stmt, 0);
  cdr->caller = column_text (stmt, 1);
  cdr->callee = column_text (stmt, 2);
  cdr->key_id = column_text (stmt, 3);
  cdr->started_at = sqlite3_column_int64 (stmt, 4);
  cdr->answered_at = sqlite3_column_int64 (stmt, 5);
  cdr->ended_at = sqlite3_column_int64 (stmt, 6);
  cdr->sip_status = sqlite3_column_int (stmt, 7);
  cdr->outcome = column_text (stmt, 8);
  cdr->reason = column_text (stmt, 9);
  return cdr;
}

static gpointer
tap_from_row (sqlite3_stmt *stmt)
{
  KcTap *tap = g_new0 (KcTap, 1);

  tap->tap_id = column_text (stmt, 0);
  tap->number = column_text (stmt, 1);
  kc_tap_kind_from_string ((const char *) sqlite3_column_text (stmt, 2), &tap->kind);
  tap->lea = column_text (stmt, 3);
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
  sqlite3_stmt *stmt = prepare (self, self->db, sql, 0, error);
  va_list args;
  int rc;

  if (stmt == NULL)
    return NULL;
  va_start (args, types);
  bind_args (stmt, types, args);
  va_end (args);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (rows, kind->from_row (stmt));
  if (rc != SQLITE_DONE)
    set_db_error (error, self, self->db, rc, kind->doing);
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE ? g_steal_pointer (&rows) : NULL;
}

static gint64
upper_bound (gint64 until)
{
  return until ? until : G_MAXINT64;
}

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
    set_db_error (error, self, db, rc, "Cannot open the store");
    sqlite3_close_v2 (db);
    return NULL;
  }
  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  /* A store file is data, not code: no schema-defined functions run on our
   * connections and the schema cannot be edited through them. */
  sqlite3_db_config (db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  if (!exec (self, db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
             "Cannot set up the store", error)) {
    sqlite3_close_v2 (db);
    return NULL;
  }
  return db;
}

static gboolean
query_int (KcSqliteStore *self, sqlite3 *db, const char *sql, gint64 *value, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, db, sql, 0, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  else
    set_db_error (error, self, db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
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
  sqlite3_stmt *stmt = prepare (self, self->db, "PRAGMA quick_check (1)", 0, error);
  g_autofree char *result = NULL;
  int rc;

  if (stmt == NULL)
    return FALSE;
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    result = column_text (stmt, 0);
  else
    set_db_error (error, self, self->db, rc, "Cannot check the store");
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    return FALSE;
  if (g_strcmp0 (result, "ok") != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The store %s is damaged (%s). " RESTORE_ADVICE, self->path,
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

    if (!exec (self, self->db, "BEGIN IMMEDIATE", doing, error))
      return FALSE;
    /* Another process may have upgraded it while we waited for the lock. */
    if (!query_int (self, self->db, "PRAGMA user_version", &current, error))
      goto fail;
    if (current > v) {
      exec (self, self->db, "ROLLBACK", doing, NULL);
      v = (int) MIN (current, KC_STORE_SCHEMA_VERSION) - 1;
      continue;
    }
    if (!exec (self, self->db, migrations[v], doing, error)
        || !exec (self, self->db, stamp, doing, error)
        || !exec (self, self->db, "COMMIT", doing, error))
      goto fail;
    g_debug ("upgraded %s to schema %d", self->path, v + 1);
    continue;
fail:
    if (!sqlite3_get_autocommit (self->db))
      exec (self, self->db, "ROLLBACK", doing, NULL);
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
  self->insert_key = prepare (self, self->writer,
                              "INSERT INTO sealed_keys (" KEY_COLUMNS ") "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              SQLITE_PREPARE_PERSISTENT, error);
  if (self->insert_key == NULL)
    return FALSE;
  self->upsert_cdr = prepare (self, self->writer,
                              "INSERT INTO cdrs (" CDR_COLUMNS ") "
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
  self->audit_last = prepare (self, self->writer,
                              "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                              SQLITE_PREPARE_PERSISTENT, error);
  if (self->audit_last == NULL)
    return FALSE;
  self->insert_audit = prepare (self, self->writer,
                                "INSERT INTO audit (seq, time, actor, action, detail, hash) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                SQLITE_PREPARE_PERSISTENT, error);
  return self->insert_audit != NULL;
}

static void
sqlite_close (KcStoreBackend *backend)
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

static const KcStoreBackendClass sqlite_class;

KcStoreBackend *
kc_store_sqlite_open (const char *path, KcStoreOpenFlags flags, GError **error)
{
  gboolean readonly = (flags & KC_STORE_OPEN_READONLY) != 0;
  KcSqliteStore *self;
  int version = 0;

  if (!prepare_file (path, flags, error))
    return NULL;

  self = g_new0 (KcSqliteStore, 1);
  self->parent.klass = &sqlite_class;
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
    sqlite3_stmt *stmt = prepare (self, self->db, "PRAGMA journal_mode = WAL", 0, error);

    if (stmt == NULL)
      goto fail;
    if (sqlite3_step (stmt) == SQLITE_ROW)
      mode = column_text (stmt, 0);
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
  sqlite_close (&self->parent);
  return NULL;
}

/* Durable writes (writer thread) ----------------------------------------- */

static gboolean
write_key (KcSqliteStore *self, KcSealedKey *key, GError **error)
{
  int rc = step (self, self->insert_key, SQLITE_CONSTRAINT_PRIMARYKEY,
                 "Cannot store a key in", error, "kttttibbt",
                 &key->key_id, key->call_id, key->caller, key->callee, key->controller,
                 key->created_at, key->enc, key->sealed, key->fingerprint);

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
  return step (self, self->upsert_cdr, SQLITE_DONE, "Cannot store a call record in", error,
               "ttttiiiitt", cdr->call_id, cdr->caller, cdr->callee, cdr->key_id,
               cdr->started_at, cdr->answered_at, cdr->ended_at, (gint64) cdr->sip_status,
               cdr->outcome, cdr->reason) == SQLITE_DONE;
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
    prev = column_text (stmt, 1);
  } else if (rc != SQLITE_DONE) {
    set_db_error (error, self, self->writer, rc, "Cannot read the audit log of");
  }
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return FALSE;

  record->seq = last + 1;
  kc_store_audit_hash (prev, record, hash);
  g_free (record->hash);
  record->hash = g_strdup (hash);
  return step (self, self->insert_audit, SQLITE_DONE, "Cannot append to the audit log of",
               error, "iitttt", record->seq, record->time, record->actor, record->action,
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

  if (!exec (self, self->writer, "BEGIN IMMEDIATE", "Cannot write to the store", &fatal))
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
  if (exec (self, self->writer, "COMMIT", "Cannot commit to the store", &fatal))
    return;

report:
  if (!sqlite3_get_autocommit (self->writer))
    exec (self, self->writer, "ROLLBACK", "Cannot roll back a write to the store", NULL);
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

  rc = modify (self, SQLITE_CONSTRAINT_PRIMARYKEY, NULL, "Cannot add a subscriber to", error,
               "INSERT INTO subscribers (" SUBSCRIBER_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               "tttttbii", sub->number, sub->display_name,
               kc_subscriber_state_to_string (sub->state), sub->controller, sub->cert_serial,
               sub->wrapped_secret, now, sub->updated_at ? sub->updated_at : now);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "Subscriber %s already exists", sub->number);
  return rc == SQLITE_DONE;
}

static KcSubscriber *
sqlite_subscriber_get (KcStoreBackend *backend, const char *number, GError **error)
{
  g_autoptr(GPtrArray) rows = query ((KcSqliteStore *) backend, &subscriber_rows, error,
                                     "SELECT " SUBSCRIBER_COLUMNS " FROM subscribers "
                                     "WHERE number = ?", "t", number);

  if (rows != NULL && rows->len == 0)
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "No subscriber %s in the store", number);
  return rows && rows->len > 0 ? g_ptr_array_steal_index (rows, 0) : NULL;
}

static GPtrArray *
sqlite_subscriber_list (KcStoreBackend *backend, GError **error)
{
  return query ((KcSqliteStore *) backend, &subscriber_rows, error,
                "SELECT " SUBSCRIBER_COLUMNS " FROM subscribers ORDER BY number", "");
}

static gboolean
update_subscriber (KcSqliteStore *self, const char *sql, const char *value, gint64 now,
                   const char *number, GError **error)
{
  int changes = 0;

  if (modify (self, SQLITE_DONE, &changes, "Cannot change a subscriber in", error, sql,
              "tit", value, now, number) != SQLITE_DONE)
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
                                     "SELECT " KEY_COLUMNS " FROM sealed_keys WHERE key_id = ?",
                                     "k", key_id);

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
                "SELECT " KEY_COLUMNS " FROM sealed_keys "
                "WHERE caller = ?1 AND created_at BETWEEN ?2 AND ?3 "
                "UNION SELECT " KEY_COLUMNS " FROM sealed_keys "
                "WHERE callee = ?1 AND created_at BETWEEN ?2 AND ?3 "
                "ORDER BY created_at, key_id", "tii", number, from, upper_bound (until));
}

static GPtrArray *
sqlite_key_list (KcStoreBackend *backend, guint limit, GError **error)
{
  return query ((KcSqliteStore *) backend, &key_rows, error,
                "SELECT " KEY_COLUMNS " FROM sealed_keys ORDER BY created_at DESC, key_id "
                "LIMIT ?", "i", limit ? (gint64) limit : (gint64) -1);
}

static GPtrArray *
sqlite_cdr_list (KcStoreBackend *backend, gint64 from, gint64 until, GError **error)
{
  return query ((KcSqliteStore *) backend, &cdr_rows, error,
                "SELECT " CDR_COLUMNS " FROM cdrs WHERE started_at BETWEEN ? AND ? "
                "ORDER BY started_at, call_id", "ii", from, upper_bound (until));
}

/* Taps ------------------------------------------------------------------- */

static gboolean
sqlite_tap_add (KcStoreBackend *backend, const KcTap *tap, GError **error)
{
  int rc = modify ((KcSqliteStore *) backend, SQLITE_CONSTRAINT_PRIMARYKEY, NULL,
                   "Cannot add a tap to", error,
                   "INSERT INTO taps (" TAP_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   "ttttiiii", tap->tap_id, tap->number, kc_tap_kind_to_string (tap->kind),
                   tap->lea, tap->from, tap->until, tap->created_at, tap->stopped_at);

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

  if (modify ((KcSqliteStore *) backend, SQLITE_DONE, &changes, "Cannot stop a tap in", error,
              "UPDATE taps SET stopped_at = CASE WHEN stopped_at = 0 THEN ?1 "
              "ELSE stopped_at END WHERE tap_id = ?2", "it", stopped_at, tap_id) != SQLITE_DONE)
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
                "SELECT " TAP_COLUMNS " FROM taps WHERE NOT ?1 OR (stopped_at = 0 AND "
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

  stmt = prepare (self, self->db, "SELECT seq, time, actor, action, detail, hash FROM audit "
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
    set_db_error (error, self, self->db, rc, "Cannot read the audit log of");
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE;
}

static const KcStoreBackendClass sqlite_class = {
  .name = "sqlite",
  .close = sqlite_close,
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
