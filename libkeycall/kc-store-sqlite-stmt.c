/* kc-store-sqlite-stmt.c: how the SQLite backend runs a statement: errors
 * worded for a person, binding arguments, stepping, and writes on the main
 * connection.
 */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store-sqlite-private.h"
#include "kc-error.h"

#include <stdarg.h>
#include <string.h>

/* Errors ----------------------------------------------------------------- */

/* "@doing @path: what SQLite said" plus what a person can do about it. */
void
kc_store_sqlite_set_db_error (GError **error, KcSqliteStore *self, sqlite3 *db, int rc,
                              const char *doing)
{
  const char *advice = "";
  int code;

  switch (rc & 0xff) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    code = KC_ERROR_CORRUPT;
    advice = ". " KC_STORE_SQLITE_RESTORE_ADVICE;
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

gboolean
kc_store_sqlite_exec (KcSqliteStore *self, sqlite3 *db, const char *sql, const char *doing,
                      GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK) {
    kc_store_sqlite_set_db_error (error, self, db, rc, doing);
    return FALSE;
  }
  return TRUE;
}

sqlite3_stmt *
kc_store_sqlite_prepare (KcSqliteStore *self, sqlite3 *db, const char *sql, guint flags,
                         GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3 (db, sql, -1, flags, &stmt, NULL);

  if (rc != SQLITE_OK) {
    kc_store_sqlite_set_db_error (error, self, db, rc, "Cannot read the store");
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
void
kc_store_sqlite_bind_args (sqlite3_stmt *stmt, const char *types, va_list args)
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

  kc_store_sqlite_bind_args (stmt, types, args);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW && rc != quiet_rc)
    kc_store_sqlite_set_db_error (error, self, db, rc, doing);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc;
}

int
kc_store_sqlite_step (KcSqliteStore *self, sqlite3_stmt *stmt, int quiet_rc, const char *doing,
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
int
kc_store_sqlite_modify (KcSqliteStore *self, int quiet_rc, int *changes, const char *doing,
                        GError **error, const char *sql, const char *types, ...)
{
  /* Held for its scope only; clang calls such a variable unused. */
  G_GNUC_UNUSED g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  sqlite3_stmt *stmt = kc_store_sqlite_prepare (self, self->db, sql, 0, error);
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

char *
kc_store_sqlite_column_text (sqlite3_stmt *stmt, int i)
{
  if (sqlite3_column_type (stmt, i) == SQLITE_NULL)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, i));
}

