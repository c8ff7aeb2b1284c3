/* test-store.c: the key store, CDRs, subscribers, taps and the audit log. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-store.h"
#include "kc-store-backend.h"

#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;

static void
setup (void)
{
  dir = kc_test_mkdtemp ();
}

static void
teardown (void)
{
  kc_test_rmtree (dir);
  g_clear_pointer (&dir, g_free);
}

static char *
path_in_dir (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static KcStore *
open_store (const char *path, KcStoreOpenFlags flags)
{
  g_autoptr(GError) error = NULL;
  KcStore *store = kc_store_open (path, flags, &error);

  ck_assert_msg (store != NULL, "cannot open %s: %s", path, error ? error->message : "?");
  return store;
}

#define assert_error(error, code_, part)                                              \
  do {                                                                                \
    ck_assert_msg ((error) != NULL, "expected an error containing “%s”", part);       \
    ck_assert_msg (g_error_matches ((error), KC_ERROR, (code_)),                      \
                   "wrong error code %d (want %d): %s", (error)->code, (code_),       \
                   (error)->message);                                                 \
    ck_assert_msg (strstr ((error)->message, part) != NULL,                           \
                   "message “%s” lacks “%s”", (error)->message, part);               \
  } while (0)

/* Key ids derived from @n, so a parent process can look up a child's keys. */
static void
key_id_for (guint n, KcKeyId *id)
{
  for (guint i = 0; i < KC_KEY_ID_LEN; i++)
    id->bytes[i] = (guint8) (0xa5 ^ (n >> (8 * (i % 4))) ^ (i * 37));
}

static GBytes *
random_bytes (gsize len)
{
  guint8 *data = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    data[i] = (guint8) g_random_int ();
  return g_bytes_new_take (data, len);
}

/* Fills @key; free its strings and bytes with clear_key(). */
static void
make_key (KcSealedKey *key, guint n, const char *caller, const char *callee, gint64 created_at)
{
  memset (key, 0, sizeof *key);
  key_id_for (n, &key->key_id);
  key->call_id = g_strdup_printf ("call-%u@keycall.test", n);
  key->caller = g_strdup (caller);
  key->callee = g_strdup (callee);
  key->controller = g_strdup ("gc1");
  key->created_at = created_at;
  key->enc = random_bytes (32);
  key->sealed = random_bytes (48);
  g_strlcpy (key->fingerprint, "3f2a 91c0 7d4e 0b18", sizeof key->fingerprint);
}

static void
clear_key (KcSealedKey *key)
{
  g_free (key->call_id);
  g_free (key->caller);
  g_free (key->callee);
  g_free (key->controller);
  g_bytes_unref (key->enc);
  g_bytes_unref (key->sealed);
}

static sqlite3 *
raw_open (const char *path)
{
  sqlite3 *db = NULL;

  ck_assert_int_eq (sqlite3_open (path, &db), SQLITE_OK);
  return db;
}

static gint64
raw_int (sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  ck_assert_int_eq (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), SQLITE_OK);
  ck_assert_int_eq (sqlite3_step (stmt), SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  return value;
}

static void
raw_exec (const char *path, const char *sql)
{
  sqlite3 *db = raw_open (path);
  char *message = NULL;

  ck_assert_msg (sqlite3_exec (db, sql, NULL, NULL, &message) == SQLITE_OK,
                 "%s: %s", sql, message);
  sqlite3_close (db);
}

static GBytes *
file_bytes (const char *path)
{
  char *data = NULL;
  gsize len = 0;

  ck_assert (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

/* Opening ---------------------------------------------------------------- */

START_TEST (test_open_create_reopen)
{
  g_autofree char *path = path_in_dir ("store.db");
  g_autoptr(GError) error = NULL;
  KcSubscriber sub = { .number = (char *) "1001", .state = KC_SUBSCRIBER_ACTIVE };
  g_autoptr(KcSubscriber) got = NULL;
  KcStore *store;
  struct stat st;
  sqlite3 *db;

  store = kc_store_open (path, KC_STORE_OPEN_DEFAULT, &error);
  ck_assert_ptr_null (store);
  assert_error (error, KC_ERROR_NOT_FOUND, path);
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));

  store = open_store (path, KC_STORE_OPEN_CREATE);
  ck_assert_str_eq (kc_store_get_location (store), path);
  ck_assert_int_eq (kc_store_get_schema_version (store), KC_STORE_SCHEMA_VERSION);
  ck_assert (kc_store_subscriber_add (store, &sub, NULL));
  kc_store_close (store);

  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  db = raw_open (path);
  ck_assert_int_eq (raw_int (db, "PRAGMA application_id"), KC_STORE_APPLICATION_ID);
  ck_assert_int_eq (raw_int (db, "PRAGMA user_version"), KC_STORE_SCHEMA_VERSION);
  ck_assert_int_eq (raw_int (db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
  sqlite3_close (db);

  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  got = kc_store_subscriber_get (store, "1001", &error);
  ck_assert_msg (got != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (got->number, "1001");
  kc_store_close (store);
}
END_TEST

START_TEST (test_migrate_from_empty)
{
  const char *names[] = { "zero-bytes.db", "empty-sqlite.db" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = path_in_dir (names[i]);
    g_autoptr(GPtrArray) keys = NULL;
    KcStore *store;
    sqlite3 *db;

    if (i == 0)
      ck_assert (g_file_set_contents (path, "", 0, NULL));
    else
      raw_exec (path, "PRAGMA page_size = 4096; VACUUM;");
    db = raw_open (path);
    ck_assert_int_eq (raw_int (db, "PRAGMA user_version"), 0);
    sqlite3_close (db);

    /* No CREATE flag: the file exists and holds no data, so it is upgraded. */
    store = open_store (path, KC_STORE_OPEN_DEFAULT);
    ck_assert_int_eq (kc_store_get_schema_version (store), 1);
    keys = kc_store_key_list (store, 0, NULL);
    ck_assert_uint_eq (keys->len, 0);
    kc_store_close (store);

    db = raw_open (path);
    ck_assert_int_eq (raw_int (db, "PRAGMA user_version"), KC_STORE_SCHEMA_VERSION);
    ck_assert_int_eq (raw_int (db, "PRAGMA application_id"), KC_STORE_APPLICATION_ID);
    ck_assert_int_eq (raw_int (db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 2);
    sqlite3_close (db);
  }
}
END_TEST

START_TEST (test_newer_schema_refused)
{
  g_autofree char *path = path_in_dir ("store.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL, after = NULL;

  kc_store_close (open_store (path, KC_STORE_OPEN_CREATE));
  raw_exec (path, "PRAGMA user_version = 7");
  before = file_bytes (path);

  ck_assert_ptr_null (kc_store_open (path, KC_STORE_OPEN_CREATE, &error));
  assert_error (error, KC_ERROR_FOREIGN, "newer Keycall (schema 7, this build knows 1)");
  after = file_bytes (path);
  ck_assert (g_bytes_equal (before, after));
}
END_TEST

START_TEST (test_foreign_sqlite_refused)
{
  g_autofree char *path = path_in_dir ("notes.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) before = NULL, after = NULL;
  sqlite3 *db;

  raw_exec (path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
                  "INSERT INTO notes (text) VALUES ('keep me');");
  before = file_bytes (path);
  ck_assert_ptr_null (kc_store_open (path, KC_STORE_OPEN_CREATE, &error));
  assert_error (error, KC_ERROR_FOREIGN, "is not a Keycall store");
  after = file_bytes (path);
  ck_assert (g_bytes_equal (before, after));

  /* Another program's application id, even with no tables. */
  g_clear_error (&error);
  raw_exec (path, "DROP TABLE notes; PRAGMA application_id = 1234;");
  ck_assert_ptr_null (kc_store_open (path, KC_STORE_OPEN_DEFAULT, &error));
  assert_error (error, KC_ERROR_FOREIGN, "not a Keycall store");
  db = raw_open (path);
  ck_assert_int_eq (raw_int (db, "PRAGMA application_id"), 1234);
  ck_assert_int_eq (raw_int (db, "SELECT journal_mode = 'delete' FROM pragma_journal_mode"), 1);
  sqlite3_close (db);
}
END_TEST

START_TEST (test_garbage_file_corrupt)
{
  g_autofree char *path = path_in_dir ("garbage.db");
  g_autoptr(GBytes) garbage = random_bytes (8192);
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  GString *fake = g_string_new_len ("SQLite format 3", 16);

  ck_assert (g_file_set_contents (path, g_bytes_get_data (garbage, NULL), 8192, NULL));
  ck_assert_ptr_null (kc_store_open (path, KC_STORE_OPEN_CREATE, &error));
  assert_error (error, KC_ERROR_CORRUPT, path);
  assert_error (error, KC_ERROR_CORRUPT, "backup");
  after = file_bytes (path);
  ck_assert (g_bytes_equal (garbage, after));

  /* The right magic followed by garbage gets past the first look. */
  g_clear_error (&error);
  g_clear_pointer (&after, g_bytes_unref);
  g_string_append_len (fake, g_bytes_get_data (garbage, NULL), 8192 - 16);
  ck_assert (g_file_set_contents (path, fake->str, fake->len, NULL));
  ck_assert_ptr_null (kc_store_open (path, KC_STORE_OPEN_DEFAULT, &error));
  ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_CORRUPT), "%s", error->message);
  ck_assert (strstr (error->message, path) != NULL);
  after = file_bytes (path);
  ck_assert_int_eq (g_bytes_get_size (after), fake->len);
  ck_assert_int_eq (memcmp (g_bytes_get_data (after, NULL), fake->str, fake->len), 0);
  g_string_free (fake, TRUE);
}
END_TEST

/* Fills a store with enough keys to span many pages, then damages it. */
START_TEST (test_damaged_store)
{
  g_autofree char *path = path_in_dir ("store.db");
  g_autofree char *copy = path_in_dir ("copy.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  g_autoptr(GBytes) pristine = NULL;
  gsize len;

  for (guint i = 0; i < 300; i++) {
    KcSealedKey key;

    make_key (&key, i, "1001", "2002", 1000 + i);
    kc_store_put_key_async (store, &key, NULL, NULL);
    clear_key (&key);
  }
  kc_store_close (store);
  pristine = file_bytes (path);
  len = g_bytes_get_size (pristine);
  ck_assert_uint_gt (len, 16 * 4096);

  for (int damage = 0; damage < 2; damage++) {
    g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (pristine, NULL), len);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) after = NULL;
    gsize damaged_len = len;

    if (damage == 0) {
      damaged_len = len / 2;   /* truncated, e.g. by a full disk during a copy */
    } else {
      for (gsize page = 1; page * 4096 < len; page++)   /* scribbled over every page */
        memset (data + page * 4096, 0x5a, 64);
    }
    ck_assert (g_file_set_contents (copy, (char *) data, damaged_len, NULL));
    ck_assert_ptr_null (kc_store_open (copy, KC_STORE_OPEN_DEFAULT, &error));
    ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_CORRUPT), "damage %d: %s",
                   damage, error ? error->message : "no error");
    ck_assert (strstr (error->message, copy) != NULL);
    ck_assert (strstr (error->message, "backup") != NULL);
    after = file_bytes (copy);
    ck_assert_uint_eq (g_bytes_get_size (after), damaged_len);
    ck_assert_int_eq (memcmp (g_bytes_get_data (after, NULL), data, damaged_len), 0);
  }
}
END_TEST

START_TEST (test_locations)
{
  g_autofree char *path = path_in_dir ("prefixed.db");
  g_autofree char *location = g_strconcat ("sqlite:", path, NULL);
  g_autofree char *missing = g_build_filename (dir, "no", "such", "store.db", NULL);
  const char *pg[] = { "postgresql://kc@localhost/keycall", "postgres://db.example/kc" };
  GError *error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (pg); i++) {
    ck_assert_ptr_null (kc_store_open (pg[i], KC_STORE_OPEN_CREATE, &error));
    assert_error (error, KC_ERROR_UNSUPPORTED, "PostgreSQL backend is not built yet");
    g_clear_error (&error);
  }
  ck_assert_ptr_null (kc_store_open ("mysql://db/kc", KC_STORE_OPEN_CREATE, &error));
  assert_error (error, KC_ERROR_INVALID, "mysql");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_store_open ("sqlite:", KC_STORE_OPEN_CREATE, &error));
  assert_error (error, KC_ERROR_INVALID, "empty");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_store_open (missing, KC_STORE_OPEN_CREATE, &error));
  assert_error (error, KC_ERROR_NOT_FOUND, missing);
  g_clear_error (&error);
  ck_assert_ptr_null (kc_store_open (dir, KC_STORE_OPEN_DEFAULT, &error));
  assert_error (error, KC_ERROR_INVALID, "not a regular file");
  g_clear_error (&error);

  kc_store_close (open_store (location, KC_STORE_OPEN_CREATE));
  ck_assert (g_file_test (path, G_FILE_TEST_IS_REGULAR));
}
END_TEST

/* Subscribers ------------------------------------------------------------ */

START_TEST (test_subscribers)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  g_autoptr(GBytes) wrapped = random_bytes (60);
  KcSubscriber alice = {
    .number = (char *) "+4930123*9#", .display_name = (char *) "Alice",
    .state = KC_SUBSCRIBER_ACTIVE, .controller = (char *) "gc1",
    .cert_serial = (char *) "0a1b2c", .wrapped_secret = wrapped, .created_at = 1000,
  };
  KcSubscriber bob = { .number = (char *) "1002", .state = KC_SUBSCRIBER_SUSPENDED };
  const char *bad[] = { "", "12a4", "12 34", "sip:1001", "123456789012345678901234567890123" };
  g_autoptr(KcSubscriber) got = NULL;
  g_autoptr(GPtrArray) list = NULL;
  GError *error = NULL;
  KcSubscriberState state;

  ck_assert (kc_store_subscriber_add (store, &bob, NULL));
  ck_assert (kc_store_subscriber_add (store, &alice, NULL));
  ck_assert (!kc_store_subscriber_add (store, &alice, &error));
  assert_error (error, KC_ERROR_EXISTS, "+4930123*9#");
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    KcSubscriber s = { .number = (char *) bad[i] };

    ck_assert_msg (!kc_store_subscriber_add (store, &s, &error), "accepted “%s”", bad[i]);
    assert_error (error, KC_ERROR_INVALID, "not a valid number");
    g_clear_error (&error);
  }
  ck_assert (kc_store_validate_number ("12345678901234567890123456789012", NULL));

  got = kc_store_subscriber_get (store, "+4930123*9#", NULL);
  ck_assert_str_eq (got->display_name, "Alice");
  ck_assert_str_eq (got->controller, "gc1");
  ck_assert_str_eq (got->cert_serial, "0a1b2c");
  ck_assert_int_eq (got->state, KC_SUBSCRIBER_ACTIVE);
  ck_assert (g_bytes_equal (got->wrapped_secret, wrapped));
  ck_assert_int_eq (got->created_at, 1000);
  g_clear_pointer (&got, kc_subscriber_free);

  ck_assert_ptr_null (kc_store_subscriber_get (store, "1234", &error));
  assert_error (error, KC_ERROR_NOT_FOUND, "subscriber 1234");
  g_clear_error (&error);
  ck_assert (!kc_store_subscriber_set_state (store, "1234", KC_SUBSCRIBER_REVOKED, &error));
  assert_error (error, KC_ERROR_NOT_FOUND, "subscriber 1234");
  g_clear_error (&error);
  ck_assert (!kc_store_subscriber_set_cert (store, "1234", "ff", &error));
  assert_error (error, KC_ERROR_NOT_FOUND, "subscriber 1234");
  g_clear_error (&error);
  ck_assert (!kc_store_subscriber_set_cert (store, "1002", "not-hex", &error));
  assert_error (error, KC_ERROR_INVALID, "hex");
  g_clear_error (&error);

  ck_assert (kc_store_subscriber_set_state (store, "+4930123*9#", KC_SUBSCRIBER_REVOKED, NULL));
  ck_assert (kc_store_subscriber_set_cert (store, "1002", "ff01", NULL));
  list = kc_store_subscriber_list (store, NULL);
  ck_assert_uint_eq (list->len, 2);
  got = g_ptr_array_steal_index (list, 0);
  ck_assert_str_eq (got->number, "+4930123*9#");
  ck_assert_int_eq (got->state, KC_SUBSCRIBER_REVOKED);
  ck_assert_int_gt (got->updated_at, 1000);
  ck_assert_str_eq (((KcSubscriber *) list->pdata[0])->cert_serial, "ff01");
  ck_assert_int_eq (((KcSubscriber *) list->pdata[0])->state, KC_SUBSCRIBER_SUSPENDED);

  ck_assert_str_eq (kc_subscriber_state_to_string (KC_SUBSCRIBER_SUSPENDED), "suspended");
  ck_assert (kc_subscriber_state_from_string ("revoked", &state));
  ck_assert_int_eq (state, KC_SUBSCRIBER_REVOKED);
  ck_assert (!kc_subscriber_state_from_string ("Active", &state));
  kc_store_close (store);
}
END_TEST

/* Keys ------------------------------------------------------------------- */

START_TEST (test_key_round_trip)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  g_autoptr(KcSealedKey) got = NULL;
  GError *error = NULL;
  KcSealedKey key;
  KcKeyId other;

  make_key (&key, 1, "1001", "2002", 1234567);
  ck_assert (kc_store_put_key (store, &key, &error));
  ck_assert (!kc_store_put_key (store, &key, &error));
  assert_error (error, KC_ERROR_EXISTS, "already stored");
  g_clear_error (&error);
  kc_store_close (store);

  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  got = kc_store_get_key (store, &key.key_id, &error);
  ck_assert_msg (got != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (memcmp (got->key_id.bytes, key.key_id.bytes, KC_KEY_ID_LEN), 0);
  ck_assert_str_eq (got->call_id, key.call_id);
  ck_assert_str_eq (got->caller, "1001");
  ck_assert_str_eq (got->callee, "2002");
  ck_assert_str_eq (got->controller, "gc1");
  ck_assert_int_eq (got->created_at, 1234567);
  ck_assert (g_bytes_equal (got->enc, key.enc));
  ck_assert (g_bytes_equal (got->sealed, key.sealed));
  ck_assert_str_eq (got->fingerprint, key.fingerprint);

  key_id_for (2, &other);
  ck_assert_ptr_null (kc_store_get_key (store, &other, &error));
  assert_error (error, KC_ERROR_NOT_FOUND, "No key with id");
  g_clear_error (&error);

  /* Bad input is refused before it reaches the disk. */
  g_free (key.callee);
  key.callee = g_strdup ("sip:bob@example.org");
  key_id_for (3, &key.key_id);
  ck_assert (!kc_store_put_key (store, &key, &error));
  assert_error (error, KC_ERROR_INVALID, "not a valid number");
  g_clear_error (&error);
  clear_key (&key);
  kc_store_close (store);
}
END_TEST

/* The backend gets one batch holding a duplicate: only that record fails. */
START_TEST (test_duplicate_in_batch)
{
  g_autofree char *path = path_in_dir ("store.db");
  g_autoptr(GError) error = NULL;
  KcStoreBackend *backend = kc_store_sqlite_open (path, KC_STORE_OPEN_CREATE, &error);
  KcSealedKey keys[4];
  KcStoreWrite writes[5] = { 0 };
  KcStoreWrite *batch[5];
  KcCdr cdr = { .call_id = (char *) "c1", .started_at = 5 };
  KcStore *store;

  ck_assert_msg (backend != NULL, "%s", error ? error->message : "");
  for (guint i = 0; i < 4; i++) {
    make_key (&keys[i], i == 2 ? 0 : i, "1001", "2002", 100 + i);   /* 2 repeats 0's id */
    writes[i].kind = KC_STORE_WRITE_KEY;
    writes[i].key = &keys[i];
    batch[i] = &writes[i];
  }
  writes[4].kind = KC_STORE_WRITE_CDR;
  writes[4].cdr = &cdr;
  batch[4] = &writes[4];
  backend->klass->write_batch (backend, batch, 5);
  for (guint i = 0; i < 5; i++) {
    if (i == 2)
      assert_error (writes[i].error, KC_ERROR_EXISTS, "already stored");
    else
      ck_assert_msg (writes[i].error == NULL, "write %u: %s", i, writes[i].error->message);
  }
  g_clear_error (&writes[2].error);
  backend->klass->close (backend);

  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  for (guint i = 0; i < 4; i++) {
    g_autoptr(KcSealedKey) got = kc_store_get_key (store, &keys[i].key_id, NULL);

    ck_assert_ptr_nonnull (got);
    /* The stored record for the repeated id is the first one. */
    ck_assert (g_bytes_equal (got->sealed, keys[i == 2 ? 0 : i].sealed));
  }
  for (guint i = 0; i < 4; i++)
    clear_key (&keys[i]);
  kc_store_close (store);
}
END_TEST

typedef struct {
  int     calls;
  int     code[64];
} AsyncResults;

typedef struct {
  AsyncResults *results;
  int           index;
} AsyncSlot;

static void
on_slot_done (KcStore *store, const GError *error, gpointer user_data)
{
  AsyncSlot *slot = user_data;

  slot->results->calls++;
  slot->results->code[slot->index] = error ? error->code : -1;
}

/* A burst of async puts with repeats and an invalid record: each callback
 * reports its own record, and never before the call returns. */
START_TEST (test_async_errors_per_record)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  AsyncResults results = { 0 };
  AsyncSlot slots[40];
  g_autoptr(GPtrArray) all = NULL;

  for (int i = 0; i < 40; i++) {
    KcSealedKey key;

    make_key (&key, i % 10 == 9 ? (guint) i - 9 : (guint) i, "1001", i == 13 ? "20x" : "2002", 1);
    slots[i] = (AsyncSlot) { &results, i };
    kc_store_put_key_async (store, &key, on_slot_done, &slots[i]);
    clear_key (&key);
  }
  ck_assert_int_eq (results.calls, 0);
  while (results.calls < 40)
    g_main_context_iteration (NULL, TRUE);

  for (int i = 0; i < 40; i++) {
    int want = i == 13 ? KC_ERROR_INVALID : i % 10 == 9 ? KC_ERROR_EXISTS : -1;

    ck_assert_msg (results.code[i] == want, "put %d: code %d, want %d", i, results.code[i], want);
  }
  all = kc_store_key_list (store, 0, NULL);
  ck_assert_uint_eq (all->len, 40 - 4 - 1);
  kc_store_close (store);
}
END_TEST

START_TEST (test_keys_for_number)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  /* n, caller, callee, time */
  struct { const char *caller, *callee; gint64 at; } calls[] = {
    { "1001", "2002", 100 }, { "2002", "1001", 200 }, { "3003", "2002", 300 },
    { "1001", "3003", 400 }, { "1001", "1001", 500 }, { "1001", "2002", 600 },
  };
  g_autoptr(GPtrArray) found = NULL;
  GError *error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++) {
    KcSealedKey key;

    make_key (&key, i, calls[i].caller, calls[i].callee, calls[i].at);
    ck_assert (kc_store_put_key (store, &key, NULL));
    clear_key (&key);
  }

  found = kc_store_keys_for_number (store, "1001", 150, 500, NULL);
  ck_assert_uint_eq (found->len, 3);   /* 200 as callee, 400 as caller, 500 both (once) */
  ck_assert_int_eq (((KcSealedKey *) found->pdata[0])->created_at, 200);
  ck_assert_int_eq (((KcSealedKey *) found->pdata[1])->created_at, 400);
  ck_assert_int_eq (((KcSealedKey *) found->pdata[2])->created_at, 500);
  g_clear_pointer (&found, g_ptr_array_unref);

  found = kc_store_keys_for_number (store, "1001", 0, 0, NULL);
  ck_assert_uint_eq (found->len, 5);
  g_clear_pointer (&found, g_ptr_array_unref);
  found = kc_store_keys_for_number (store, "2002", 300, 0, NULL);
  ck_assert_uint_eq (found->len, 2);
  ck_assert_str_eq (((KcSealedKey *) found->pdata[0])->caller, "3003");
  g_clear_pointer (&found, g_ptr_array_unref);
  found = kc_store_keys_for_number (store, "4004", 0, 0, NULL);
  ck_assert_uint_eq (found->len, 0);
  g_clear_pointer (&found, g_ptr_array_unref);
  ck_assert_ptr_null (kc_store_keys_for_number (store, "sip:1001", 0, 0, &error));
  assert_error (error, KC_ERROR_INVALID, "sip:1001");
  g_clear_error (&error);

  found = kc_store_key_list (store, 2, NULL);
  ck_assert_uint_eq (found->len, 2);
  ck_assert_int_eq (((KcSealedKey *) found->pdata[0])->created_at, 600);
  ck_assert_int_eq (((KcSealedKey *) found->pdata[1])->created_at, 500);
  kc_store_close (store);
}
END_TEST

#define THREADS 8
#define PUTS_PER_THREAD 200

typedef struct {
  KcStore      *store;
  guint         index;
  GMainContext *context;
  GThread      *thread;
  int           done;
  int           failed;
} Putter;

static gint wrong_context;

static void
on_putter_done (KcStore *store, const GError *error, gpointer user_data)
{
  Putter *p = user_data;

  if (g_thread_self () != p->thread || !g_main_context_is_owner (p->context)
      || g_main_context_get_thread_default () != p->context)
    g_atomic_int_inc (&wrong_context);
  if (error != NULL)
    p->failed++;
  p->done++;
}

static gpointer
putter_thread (gpointer user_data)
{
  Putter *p = user_data;

  p->context = g_main_context_new ();
  p->thread = g_thread_self ();
  g_main_context_push_thread_default (p->context);
  for (guint i = 0; i < PUTS_PER_THREAD; i++) {
    KcSealedKey key;

    make_key (&key, p->index * PUTS_PER_THREAD + i, "1001", "2002", 1 + i);
    kc_store_put_key_async (p->store, &key, on_putter_done, p);
    clear_key (&key);
  }
  while (p->done < PUTS_PER_THREAD)
    g_main_context_iteration (p->context, TRUE);
  g_main_context_pop_thread_default (p->context);
  g_main_context_unref (p->context);
  return NULL;
}

START_TEST (test_concurrent_async)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  Putter putters[THREADS];
  GThread *threads[THREADS];
  g_autoptr(GPtrArray) all = NULL;

  for (guint t = 0; t < THREADS; t++) {
    putters[t] = (Putter) { .store = store, .index = t };
    threads[t] = g_thread_new ("putter", putter_thread, &putters[t]);
  }
  for (guint t = 0; t < THREADS; t++) {
    g_thread_join (threads[t]);
    ck_assert_int_eq (putters[t].done, PUTS_PER_THREAD);
    ck_assert_int_eq (putters[t].failed, 0);
  }
  ck_assert_int_eq (g_atomic_int_get (&wrong_context), 0);

  all = kc_store_key_list (store, 0, NULL);
  ck_assert_uint_eq (all->len, THREADS * PUTS_PER_THREAD);
  for (guint n = 0; n < THREADS * PUTS_PER_THREAD; n++) {
    g_autoptr(KcSealedKey) got = NULL;
    KcKeyId id;

    key_id_for (n, &id);
    got = kc_store_get_key (store, &id, NULL);
    ck_assert_msg (got != NULL, "key %u missing", n);
  }
  kc_store_close (store);
}
END_TEST

static int child_async_done;

static void
on_child_put (KcStore *store, const GError *error, gpointer user_data)
{
  if (error != NULL)
    _exit (3);
  child_async_done++;
}

static gpointer
child_sync_thread (gpointer user_data)
{
  KcStore *store = user_data;
  static gint next = 200;

  for (int n; (n = g_atomic_int_add (&next, 1)) < 400; ) {
    KcSealedKey key;

    make_key (&key, (guint) n, "1001", "2002", n + 1);
    if (!kc_store_put_key (store, &key, NULL))
      _exit (4);
    clear_key (&key);
  }
  return NULL;
}

/* kill -9 right after the last put reports success: every key is there. */
START_TEST (test_durability_sigkill)
{
  g_autofree char *path = path_in_dir ("store.db");
  g_autoptr(GPtrArray) all = NULL;
  KcStore *store;
  int status = 0;
  pid_t pid;

  pid = fork ();
  ck_assert_int_ge (pid, 0);
  if (pid == 0) {
    GThread *threads[3];

    store = kc_store_open (path, KC_STORE_OPEN_CREATE, NULL);
    if (store == NULL)
      _exit (2);
    for (guint n = 0; n < 200; n++) {
      KcSealedKey key;

      make_key (&key, n, "1001", "2002", n + 1);
      kc_store_put_key_async (store, &key, on_child_put, NULL);
      clear_key (&key);
    }
    while (child_async_done < 200)
      g_main_context_iteration (NULL, TRUE);
    for (int t = 0; t < 3; t++)
      threads[t] = g_thread_new ("sync-putter", child_sync_thread, store);
    for (int t = 0; t < 3; t++)
      g_thread_join (threads[t]);
    kill (getpid (), SIGKILL);
    _exit (5);
  }

  ck_assert_int_eq (waitpid (pid, &status, 0), pid);
  ck_assert_msg (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL,
                 "the child did not die by SIGKILL (status 0x%x)", status);
  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  all = kc_store_key_list (store, 0, NULL);
  ck_assert_uint_eq (all->len, 400);
  for (guint n = 0; n < 400; n++) {
    g_autoptr(KcSealedKey) got = NULL;
    KcKeyId id;

    key_id_for (n, &id);
    got = kc_store_get_key (store, &id, NULL);
    ck_assert_msg (got != NULL && got->created_at == n + 1, "key %u lost", n);
  }
  kc_store_close (store);
}
END_TEST

static void
count_done (KcStore *store, const GError *error, gpointer user_data)
{
  if (error == NULL)
    (*(int *) user_data)++;
}

/* Close makes queued writes durable and runs their callbacks first. */
START_TEST (test_close_drains)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  g_autoptr(GPtrArray) all = NULL;
  int done = 0;

  for (guint n = 0; n < 100; n++) {
    KcSealedKey key;
    KcCdr cdr = { .call_id = g_strdup_printf ("c%u", n), .started_at = 10 };

    make_key (&key, n, "1001", "2002", 1);
    kc_store_put_key_async (store, &key, count_done, &done);
    kc_store_put_cdr_async (store, &cdr, count_done, &done);
    clear_key (&key);
    g_free (cdr.call_id);
  }
  kc_store_close (store);
  ck_assert_int_eq (done, 200);
  ck_assert (!g_main_context_pending (NULL));

  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  all = kc_store_key_list (store, 0, NULL);
  ck_assert_uint_eq (all->len, 100);
  g_clear_pointer (&all, g_ptr_array_unref);
  all = kc_store_cdr_list (store, 0, 0, NULL);
  ck_assert_uint_eq (all->len, 100);
  kc_store_close (store);
}
END_TEST

START_TEST (test_readonly)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  KcSubscriber sub = { .number = (char *) "1001" };
  g_autoptr(KcSealedKey) got = NULL;
  GError *error = NULL;
  KcSealedKey key;

  make_key (&key, 1, "1001", "2002", 1);
  ck_assert (kc_store_put_key (store, &key, NULL));
  kc_store_close (store);

  store = open_store (path, KC_STORE_OPEN_READONLY);
  got = kc_store_get_key (store, &key.key_id, NULL);
  ck_assert_ptr_nonnull (got);
  key_id_for (2, &key.key_id);
  ck_assert (!kc_store_put_key (store, &key, &error));
  assert_error (error, KC_ERROR_PERMISSION, "read-only");
  g_clear_error (&error);
  ck_assert (!kc_store_subscriber_add (store, &sub, &error));
  assert_error (error, KC_ERROR_PERMISSION, "read-only");
  g_clear_error (&error);
  ck_assert (!kc_store_audit_append (store, "admin", "login", NULL, &error));
  assert_error (error, KC_ERROR_PERMISSION, "read-only");
  g_clear_error (&error);
  kc_store_close (store);
  clear_key (&key);
}
END_TEST

/* CDRs, taps, audit ------------------------------------------------------ */

START_TEST (test_cdrs_and_csv)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *csv = NULL;
  GError *error = NULL;
  KcCdr first = {
    .call_id = (char *) "a@gc1", .caller = (char *) "+4930111", .callee = (char *) "2001",
    .started_at = G_GINT64_CONSTANT (1700000000123456),
  };
  KcCdr final = first;
  KcCdr second = {
    .call_id = (char *) "b@gc1", .caller = (char *) "2001", .callee = (char *) "+4930111",
    .key_id = (char *) "00112233445566778899AABBCCDDEEFF",
    .started_at = G_GINT64_CONSTANT (1700000100000000),
    .answered_at = G_GINT64_CONSTANT (1700000102500000),
    .ended_at = G_GINT64_CONSTANT (1700000160000000), .sip_status = 200,
    .outcome = (char *) "answered",
  };
  KcCdr later = { .call_id = (char *) "c@gc1", .started_at = G_GINT64_CONSTANT (1800000000000000) };

  ck_assert (kc_store_put_cdr (store, &first, NULL));
  final.ended_at = G_GINT64_CONSTANT (1700000060000000);
  final.sip_status = 486;
  final.outcome = (char *) "busy";
  final.reason = (char *) "Busy, \"really\"\nhere";
  ck_assert (kc_store_put_cdr (store, &final, NULL));   /* replaces the first version */
  ck_assert (kc_store_put_cdr (store, &second, NULL));
  ck_assert (kc_store_put_cdr (store, &later, NULL));
  later.key_id = (char *) "xyz";
  ck_assert (!kc_store_put_cdr (store, &later, &error));
  assert_error (error, KC_ERROR_INVALID, "hex");
  g_clear_error (&error);

  list = kc_store_cdr_list (store, 0, 0, NULL);
  ck_assert_uint_eq (list->len, 3);
  ck_assert_int_eq (((KcCdr *) list->pdata[0])->sip_status, 486);
  ck_assert_str_eq (((KcCdr *) list->pdata[0])->outcome, "busy");
  ck_assert_str_eq (((KcCdr *) list->pdata[1])->key_id, "00112233445566778899aabbccddeeff");
  ck_assert_ptr_null (((KcCdr *) list->pdata[2])->caller);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = kc_store_cdr_list (store, G_GINT64_CONSTANT (1700000050000000),
                            G_GINT64_CONSTANT (1700000100000000), NULL);
  ck_assert_uint_eq (list->len, 1);
  ck_assert_str_eq (((KcCdr *) list->pdata[0])->call_id, "b@gc1");

  ck_assert (kc_store_cdr_export_csv (store, 0, G_GINT64_CONSTANT (1700000100000000), out, NULL));
  ck_assert (g_output_stream_write_all (out, "", 1, NULL, NULL, NULL));
  ck_assert (g_output_stream_close (out, NULL, NULL));
  csv = g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (out));
  ck_assert_str_eq (csv,
    "call_id,caller,callee,key_id,started_at,answered_at,ended_at,sip_status,outcome,reason\r\n"
    "a@gc1,+4930111,2001,,2023-11-14T22:13:20.123Z,,2023-11-14T22:14:20.000Z,486,busy,"
    "\"Busy, \"\"really\"\"\nhere\"\r\n"
    "b@gc1,2001,+4930111,00112233445566778899aabbccddeeff,2023-11-14T22:15:00.000Z,"
    "2023-11-14T22:15:02.500Z,2023-11-14T22:16:00.000Z,200,answered,\r\n");
  kc_store_close (store);
}
END_TEST

START_TEST (test_taps)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  gint64 now = g_get_real_time (), hour = G_GINT64_CONSTANT (3600000000);
  KcTap taps[] = {
    { .tap_id = (char *) "t1", .number = (char *) "1001", .kind = KC_TAP_FUTURE },
    { .tap_id = (char *) "t2", .number = (char *) "1001", .kind = KC_TAP_FUTURE,
      .until = now - 1000000 },
    { .tap_id = (char *) "t3", .number = (char *) "2002", .kind = KC_TAP_FUTURE,
      .until = now + hour },
    { .tap_id = (char *) "t4", .number = (char *) "2002", .kind = KC_TAP_PAST,
      .from = now - 2 * hour, .until = now - hour },
    { .tap_id = (char *) "t5", .number = (char *) "3003", .kind = KC_TAP_CURRENT },
  };
  KcTap bad_past = { .tap_id = (char *) "t6", .number = (char *) "1001", .kind = KC_TAP_PAST };
  g_autoptr(GPtrArray) list = NULL;
  GError *error = NULL;
  KcTapKind kind;

  for (guint i = 0; i < G_N_ELEMENTS (taps); i++) {
    taps[i].lea = (char *) "LEA Berlin";
    taps[i].created_at = now + i;
    ck_assert (kc_store_tap_add (store, &taps[i], NULL));
  }
  ck_assert (!kc_store_tap_add (store, &taps[0], &error));
  assert_error (error, KC_ERROR_EXISTS, "t1");
  g_clear_error (&error);
  bad_past.lea = (char *) "LEA";
  ck_assert (!kc_store_tap_add (store, &bad_past, &error));
  assert_error (error, KC_ERROR_INVALID, "time range");
  g_clear_error (&error);
  bad_past.kind = KC_TAP_FUTURE;
  bad_past.number = (char *) "10 01";
  ck_assert (!kc_store_tap_add (store, &bad_past, &error));
  assert_error (error, KC_ERROR_INVALID, "not a valid number");
  g_clear_error (&error);

  list = kc_store_tap_list (store, TRUE, NULL);
  ck_assert_uint_eq (list->len, 4);   /* t2 has expired */
  ck_assert_str_eq (((KcTap *) list->pdata[1])->tap_id, "t3");
  g_clear_pointer (&list, g_ptr_array_unref);

  ck_assert (kc_store_tap_stop (store, "t5", 4242, NULL));
  ck_assert (kc_store_tap_stop (store, "t5", 9999, NULL));   /* the first stop counts */
  ck_assert (!kc_store_tap_stop (store, "t9", 0, &error));
  assert_error (error, KC_ERROR_NOT_FOUND, "t9");
  g_clear_error (&error);

  list = kc_store_tap_list (store, TRUE, NULL);
  ck_assert_uint_eq (list->len, 3);
  ck_assert_str_eq (((KcTap *) list->pdata[0])->tap_id, "t1");
  ck_assert_str_eq (((KcTap *) list->pdata[1])->tap_id, "t3");
  ck_assert_str_eq (((KcTap *) list->pdata[2])->tap_id, "t4");
  ck_assert_int_eq (((KcTap *) list->pdata[2])->kind, KC_TAP_PAST);
  ck_assert_int_eq (((KcTap *) list->pdata[2])->from, now - 2 * hour);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = kc_store_tap_list (store, FALSE, NULL);
  ck_assert_uint_eq (list->len, 5);
  ck_assert_int_eq (((KcTap *) list->pdata[4])->stopped_at, 4242);
  ck_assert_str_eq (((KcTap *) list->pdata[4])->lea, "LEA Berlin");

  ck_assert_str_eq (kc_tap_kind_to_string (KC_TAP_CURRENT), "current");
  ck_assert (kc_tap_kind_from_string ("past", &kind) && kind == KC_TAP_PAST);
  ck_assert (!kc_tap_kind_from_string ("all", &kind));
  kc_store_close (store);
}
END_TEST

START_TEST (test_audit_chain)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  g_autoptr(GPtrArray) list = NULL;
  GError *error = NULL;
  gint64 bad = -1;
  char *message = NULL;
  sqlite3 *db;

  ck_assert (kc_store_audit_verify (store, &bad, NULL));   /* empty is fine */
  for (int i = 1; i <= 5; i++) {
    g_autofree char *detail = g_strdup_printf ("tap t%d for 1001", i);

    ck_assert (kc_store_audit_append (store, "lea:berlin", "tap-request", detail, NULL));
  }
  ck_assert (kc_store_audit_verify (store, &bad, &error));
  ck_assert_int_eq (bad, 0);
  list = kc_store_audit_list (store, NULL);
  ck_assert_uint_eq (list->len, 5);
  ck_assert_int_eq (((KcAuditRecord *) list->pdata[2])->seq, 3);
  ck_assert_str_eq (((KcAuditRecord *) list->pdata[2])->detail, "tap t3 for 1001");
  ck_assert_int_eq (strlen (((KcAuditRecord *) list->pdata[2])->hash), 64);
  ck_assert_str_ne (((KcAuditRecord *) list->pdata[2])->hash,
                    ((KcAuditRecord *) list->pdata[3])->hash);
  kc_store_close (store);

  /* The triggers stop a casual edit; an attacker with the file drops them. */
  db = raw_open (path);
  ck_assert_int_ne (sqlite3_exec (db, "UPDATE audit SET detail = 'x' WHERE seq = 3",
                                  NULL, NULL, &message), SQLITE_OK);
  ck_assert_msg (strstr (message, "append-only") != NULL, "%s", message);
  sqlite3_free (message);
  ck_assert_int_ne (sqlite3_exec (db, "DELETE FROM audit WHERE seq = 5", NULL, NULL, NULL),
                    SQLITE_OK);
  ck_assert_int_eq (raw_int (db, "SELECT count(*) FROM audit"), 5);
  ck_assert_int_eq (sqlite3_exec (db, "DROP TRIGGER audit_no_update;"
                                      "UPDATE audit SET detail = 'tap t3 for 1002' WHERE seq = 3",
                                  NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close (db);

  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  ck_assert (!kc_store_audit_verify (store, &bad, &error));
  ck_assert_int_eq (bad, 3);
  assert_error (error, KC_ERROR_CORRUPT, "record 3 ");
  g_clear_error (&error);
  kc_store_close (store);

  /* Restore record 3, then remove record 2 instead. */
  raw_exec (path, "UPDATE audit SET detail = 'tap t3 for 1001' WHERE seq = 3;"
                  "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2;");
  store = open_store (path, KC_STORE_OPEN_DEFAULT);
  ck_assert (!kc_store_audit_verify (store, &bad, &error));
  ck_assert_int_eq (bad, 2);
  assert_error (error, KC_ERROR_CORRUPT, "record 2 is missing");
  g_clear_error (&error);
  kc_store_close (store);
}
END_TEST

/* kc_store_audit_append_async: records are chained in the order of the
 * appends (async and sync mixed), callbacks run on the appending thread's
 * context in that order, and a refused record fails alone. */
#define AUDIT_ASYNC_N 40
#define AUDIT_ASYNC_BAD 17   /* an empty actor: refused */

typedef struct {
  KcStore      *store;
  GMainContext *context;
  GThread      *thread;
  int           order[AUDIT_ASYNC_N];
  int           done;
  int           wrong_context;
  int           ran_early;
  GError       *bad_error;
} AuditAppender;

typedef struct {
  AuditAppender *a;
  int            n;
} AuditAppend;

static void
on_audit_appended (KcStore *store, const GError *error, gpointer user_data)
{
  AuditAppend *one = user_data;
  AuditAppender *a = one->a;

  if (g_thread_self () != a->thread || !g_main_context_is_owner (a->context)
      || g_main_context_get_thread_default () != a->context)
    a->wrong_context++;
  if (one->n == AUDIT_ASYNC_BAD)
    a->bad_error = error ? g_error_copy (error) : NULL;
  else
    ck_assert_msg (error == NULL, "record %d failed: %s", one->n, error->message);
  a->order[a->done++] = one->n;
  g_free (one);
}

static gpointer
audit_appender_thread (gpointer user_data)
{
  AuditAppender *a = user_data;

  a->context = g_main_context_new ();
  a->thread = g_thread_self ();
  g_main_context_push_thread_default (a->context);
  for (int n = 0; n < AUDIT_ASYNC_N; n++) {
    g_autofree char *detail = g_strdup_printf ("n=%d", n);
    AuditAppend *one = g_new0 (AuditAppend, 1);

    one->a = a;
    one->n = n;
    kc_store_audit_append_async (a->store, n == AUDIT_ASYNC_BAD ? "" : "lea:berlin",
                                 "key-delivered", detail, on_audit_appended, one);
    /* Never from inside the call, even for a refused record. */
    if (a->done > 0 && n < 3)
      a->ran_early++;
    /* A synchronous append now and then takes its place in the same order. */
    if (n % 10 == 5) {
      g_autofree char *sync_detail = g_strdup_printf ("sync after n=%d", n);

      ck_assert (kc_store_audit_append (a->store, "admin", "login", sync_detail, NULL));
    }
  }
  while (a->done < AUDIT_ASYNC_N)
    g_main_context_iteration (a->context, TRUE);
  g_main_context_pop_thread_default (a->context);
  g_main_context_unref (a->context);
  return NULL;
}

START_TEST (test_audit_async)
{
  g_autofree char *path = path_in_dir ("store.db");
  KcStore *store = open_store (path, KC_STORE_OPEN_CREATE);
  AuditAppender a = { .store = store };
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;
  gint64 bad = -1;
  guint r = 0;

  thread = g_thread_new ("audit-appender", audit_appender_thread, &a);
  g_thread_join (thread);
  ck_assert_int_eq (a.done, AUDIT_ASYNC_N);
  ck_assert_int_eq (a.wrong_context, 0);
  ck_assert_int_eq (a.ran_early, 0);
  for (int i = 0; i < AUDIT_ASYNC_N; i++)
    ck_assert_int_eq (a.order[i], i);
  assert_error (a.bad_error, KC_ERROR_INVALID, "actor of an audit record");
  g_clear_error (&a.bad_error);

  /* Every accepted record, in the order appended, chained. */
  ck_assert (kc_store_audit_verify (store, &bad, &error));
  ck_assert_int_eq (bad, 0);
  list = kc_store_audit_list (store, NULL);
  ck_assert_uint_eq (list->len, AUDIT_ASYNC_N - 1 + AUDIT_ASYNC_N / 10);
  for (int n = 0; n < AUDIT_ASYNC_N; n++) {
    KcAuditRecord *record;
    g_autofree char *want = g_strdup_printf ("n=%d", n);

    if (n == AUDIT_ASYNC_BAD)
      continue;
    record = list->pdata[r++];
    ck_assert_int_eq (record->seq, r);
    ck_assert_str_eq (record->detail, want);
    ck_assert_str_eq (record->actor, "lea:berlin");
    if (n % 10 == 5) {
      g_autofree char *sync_want = g_strdup_printf ("sync after n=%d", n);

      record = list->pdata[r++];
      ck_assert_str_eq (record->detail, sync_want);
      ck_assert_str_eq (record->action, "login");
    }
  }
  ck_assert_uint_eq (r, list->len);
  kc_store_close (store);

  /* A read-only store refuses the record through the callback. */
  store = open_store (path, KC_STORE_OPEN_READONLY);
  {
    AuditAppender ro = { .store = store, .context = g_main_context_new (),
                         .thread = g_thread_self () };
    AuditAppend *one = g_new0 (AuditAppend, 1);

    g_main_context_push_thread_default (ro.context);
    one->a = &ro;
    one->n = AUDIT_ASYNC_BAD;
    kc_store_audit_append_async (store, "admin", "login", NULL, on_audit_appended, one);
    ck_assert_int_eq (ro.done, 0);
    while (ro.done < 1)
      g_main_context_iteration (ro.context, TRUE);
    ck_assert_int_eq (ro.wrong_context, 0);
    assert_error (ro.bad_error, KC_ERROR_PERMISSION, "read-only");
    g_clear_error (&ro.bad_error);
    g_main_context_pop_thread_default (ro.context);
    g_main_context_unref (ro.context);
  }
  g_clear_pointer (&list, g_ptr_array_unref);
  list = kc_store_audit_list (store, NULL);
  ck_assert_uint_eq (list->len, AUDIT_ASYNC_N - 1 + AUDIT_ASYNC_N / 10);
  kc_store_close (store);
}
END_TEST

/* The complete list of columns: a new one (say, a plaintext "key") fails
 * here and has to be argued for. Key bytes live only in the sealed form. */
START_TEST (test_schema_columns)
{
  g_autofree char *path = path_in_dir ("store.db");
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GString) blobs = g_string_new (NULL);
  sqlite3_stmt *stmt = NULL;
  sqlite3 *db;

  kc_store_close (open_store (path, KC_STORE_OPEN_CREATE));
  db = raw_open (path);
  ck_assert_int_eq (sqlite3_prepare_v2 (db,
      "SELECT m.name, p.name, upper (p.type) FROM sqlite_master m, pragma_table_info (m.name) p "
      "WHERE m.type = 'table' ORDER BY m.name, p.cid", -1, &stmt, NULL), SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW) {
    g_string_append_printf (columns, "%s.%s ", sqlite3_column_text (stmt, 0),
                            sqlite3_column_text (stmt, 1));
    if (g_str_equal ((const char *) sqlite3_column_text (stmt, 2), "BLOB"))
      g_string_append_printf (blobs, "%s.%s ", sqlite3_column_text (stmt, 0),
                              sqlite3_column_text (stmt, 1));
  }
  sqlite3_finalize (stmt);
  sqlite3_close (db);

  ck_assert_str_eq (columns->str,
    "audit.seq audit.time audit.actor audit.action audit.detail audit.hash "
    "cdrs.call_id cdrs.caller cdrs.callee cdrs.key_id cdrs.started_at cdrs.answered_at "
    "cdrs.ended_at cdrs.sip_status cdrs.outcome cdrs.reason "
    "sealed_keys.key_id sealed_keys.call_id sealed_keys.caller sealed_keys.callee "
    "sealed_keys.controller sealed_keys.created_at sealed_keys.enc sealed_keys.sealed "
    "sealed_keys.fingerprint "
    "subscribers.number subscribers.display_name subscribers.state subscribers.controller "
    "subscribers.cert_serial subscribers.wrapped_secret subscribers.created_at "
    "subscribers.updated_at "
    "taps.tap_id taps.number taps.kind taps.lea taps.from_time taps.until_time "
    "taps.created_at taps.stopped_at ");
  /* Bytes: the public key id, the HPKE output, the vault-wrapped secret. */
  ck_assert_str_eq (blobs->str, "sealed_keys.key_id sealed_keys.enc sealed_keys.sealed "
                                "subscribers.wrapped_secret ");
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *suite = suite_create ("store");
  TCase *tc = tcase_create ("store");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_open_create_reopen);
  tcase_add_test (tc, test_migrate_from_empty);
  tcase_add_test (tc, test_newer_schema_refused);
  tcase_add_test (tc, test_foreign_sqlite_refused);
  tcase_add_test (tc, test_garbage_file_corrupt);
  tcase_add_test (tc, test_damaged_store);
  tcase_add_test (tc, test_locations);
  tcase_add_test (tc, test_subscribers);
  tcase_add_test (tc, test_key_round_trip);
  tcase_add_test (tc, test_duplicate_in_batch);
  tcase_add_test (tc, test_async_errors_per_record);
  tcase_add_test (tc, test_keys_for_number);
  tcase_add_test (tc, test_concurrent_async);
  tcase_add_test (tc, test_durability_sigkill);
  tcase_add_test (tc, test_close_drains);
  tcase_add_test (tc, test_readonly);
  tcase_add_test (tc, test_cdrs_and_csv);
  tcase_add_test (tc, test_taps);
  tcase_add_test (tc, test_audit_chain);
  tcase_add_test (tc, test_audit_async);
  tcase_add_test (tc, test_schema_columns);
  suite_add_tcase (suite, tc);
  return suite;
}

KC_TEST_MAIN (make_suite)
