/* kc-store.c: the store's public face: location parsing, validation and
 * dispatch to a backend (kc-store-backend.h); durable writes go through the
 * group-commit writer (kc-store-writer.h). */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store.h"
#include "kc-store-backend.h"
#include "kc-store-writer.h"
#include "kc-error.h"

#include <string.h>

#define KC_NUMBER_MAX_LEN 32
#define KC_TEXT_ID_MAX_LEN 256

struct _KcStore {
  KcStoreBackend  *backend;
  char            *location;
  KcStoreWriter   *writer;      /* frees the store on its last unref */
};

/* Records ---------------------------------------------------------------- */

static KcSealedKey *
sealed_key_copy (const KcSealedKey *key)
{
  KcSealedKey *copy = g_new0 (KcSealedKey, 1);

  copy->key_id = key->key_id;
  copy->call_id = g_strdup (key->call_id);
  copy->caller = g_strdup (key->caller);
  copy->callee = g_strdup (key->callee);
  copy->controller = g_strdup (key->controller);
  copy->created_at = key->created_at ? key->created_at : g_get_real_time ();
  copy->enc = g_bytes_ref (key->enc);
  copy->sealed = g_bytes_ref (key->sealed);
  /* The caller's array need not be terminated; ours is. */
  memcpy (copy->fingerprint, key->fingerprint, KC_FINGERPRINT_LEN);
  copy->fingerprint[KC_FINGERPRINT_LEN - 1] = '\0';
  return copy;
}

static KcCdr *
cdr_copy (const KcCdr *cdr)
{
  KcCdr *copy = g_new0 (KcCdr, 1);

  copy->call_id = g_strdup (cdr->call_id);
  copy->caller = g_strdup (cdr->caller);
  copy->callee = g_strdup (cdr->callee);
  copy->key_id = g_ascii_strdown (cdr->key_id ? cdr->key_id : "", -1);
  if (copy->key_id[0] == '\0')
    g_clear_pointer (&copy->key_id, g_free);
  copy->started_at = cdr->started_at ? cdr->started_at : g_get_real_time ();
  copy->answered_at = cdr->answered_at;
  copy->ended_at = cdr->ended_at;
  copy->sip_status = cdr->sip_status;
  copy->outcome = g_strdup (cdr->outcome);
  copy->reason = g_strdup (cdr->reason);
  return copy;
}

void
kc_subscriber_free (KcSubscriber *subscriber)
{
  if (subscriber == NULL)
    return;
  g_free (subscriber->number);
  g_free (subscriber->display_name);
  g_free (subscriber->controller);
  g_free (subscriber->cert_serial);
  g_clear_pointer (&subscriber->wrapped_secret, g_bytes_unref);
  g_free (subscriber);
}

void
kc_sealed_key_free (KcSealedKey *key)
{
  if (key == NULL)
    return;
  g_free (key->call_id);
  g_free (key->caller);
  g_free (key->callee);
  g_free (key->controller);
  g_clear_pointer (&key->enc, g_bytes_unref);
  g_clear_pointer (&key->sealed, g_bytes_unref);
  g_free (key);
}

void
kc_cdr_free (KcCdr *cdr)
{
  if (cdr == NULL)
    return;
  g_free (cdr->call_id);
  g_free (cdr->caller);
  g_free (cdr->callee);
  g_free (cdr->key_id);
  g_free (cdr->outcome);
  g_free (cdr->reason);
  g_free (cdr);
}

void
kc_tap_free (KcTap *tap)
{
  if (tap == NULL)
    return;
  g_free (tap->tap_id);
  g_free (tap->number);
  g_free (tap->lea);
  g_free (tap);
}

void
kc_audit_record_free (KcAuditRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->actor);
  g_free (record->action);
  g_free (record->detail);
  g_free (record->hash);
  g_free (record);
}

/* Strings ---------------------------------------------------------------- */

static const char *const subscriber_states[] = { "active", "suspended", "revoked" };
static const char *const tap_kinds[] = { "future", "current", "past" };

const char *
kc_subscriber_state_to_string (KcSubscriberState state)
{
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (subscriber_states), NULL);
  return subscriber_states[state];
}

gboolean
kc_subscriber_state_from_string (const char *text, KcSubscriberState *state)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (subscriber_states); i++) {
    if (g_str_equal (text, subscriber_states[i])) {
      if (state != NULL)
        *state = (KcSubscriberState) i;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
kc_tap_kind_to_string (KcTapKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (tap_kinds), NULL);
  return tap_kinds[kind];
}

gboolean
kc_tap_kind_from_string (const char *text, KcTapKind *kind)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (tap_kinds); i++) {
    if (g_str_equal (text, tap_kinds[i])) {
      if (kind != NULL)
        *kind = (KcTapKind) i;
      return TRUE;
    }
  }
  return FALSE;
}

void
kc_store_hex (const guint8 *data, gsize len, char *out)
{
  static const char digits[] = "0123456789abcdef";

  for (gsize i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0xf];
  }
  out[2 * len] = '\0';
}

/* Validation ------------------------------------------------------------- */

gboolean
kc_store_validate_number (const char *number, GError **error)
{
  gsize len = number ? strlen (number) : 0;

  if (len == 0 || len > KC_NUMBER_MAX_LEN
      || strspn (number, "0123456789+*#") != len) {
    g_autofree char *shown = number ? g_strescape (number, NULL) : g_strdup ("(none)");

    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "“%s” is not a valid number: use 1 to %d characters of digits, +, * and #",
                 shown, KC_NUMBER_MAX_LEN);
    return FALSE;
  }
  return TRUE;
}

static gboolean
validate_text_id (const char *what, const char *text, GError **error)
{
  gsize len = text ? strlen (text) : 0;

  if (len == 0 || len > KC_TEXT_ID_MAX_LEN || !g_utf8_validate (text, -1, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The %s must be 1 to %d bytes of UTF-8 text", what, KC_TEXT_ID_MAX_LEN);
    return FALSE;
  }
  return TRUE;
}

static gboolean
is_hex (const char *text, gsize min_len, gsize max_len)
{
  gsize len = strlen (text);

  if (len < min_len || len > max_len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (text[i]))
      return FALSE;
  return TRUE;
}

static gboolean
validate_key (const KcSealedKey *key, GError **error)
{
  if (!validate_text_id ("call id of a key", key->call_id, error)
      || !kc_store_validate_number (key->caller, error)
      || !kc_store_validate_number (key->callee, error)
      || !validate_text_id ("controller of a key", key->controller, error))
    return FALSE;
  if (key->enc == NULL || g_bytes_get_size (key->enc) == 0
      || key->sealed == NULL || g_bytes_get_size (key->sealed) == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A key record must carry the sealed key (enc and ciphertext)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
validate_cdr (const KcCdr *cdr, GError **error)
{
  if (!validate_text_id ("call id of a call record", cdr->call_id, error))
    return FALSE;
  if (cdr->key_id != NULL && cdr->key_id[0] != '\0'
      && !is_hex (cdr->key_id, 2 * KC_KEY_ID_LEN, 2 * KC_KEY_ID_LEN)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The key id of call record %s must be %d hex digits",
                 cdr->call_id, 2 * KC_KEY_ID_LEN);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_writable (KcStore *store, GError **error)
{
  return kc_store_writer_check_writable (store->writer, error);
}

/* Open and close --------------------------------------------------------- */

/* Called by the writer once nothing can reach the store any more. */
static void
store_free (KcStore *store)
{
  g_free (store->location);
  g_free (store);
}

KcStore *
kc_store_open (const char *location, KcStoreOpenFlags flags, GError **error)
{
  const char *scheme = NULL;
  KcStoreBackend *backend;
  const char *path = location;
  KcStore *store;

  g_return_val_if_fail (location != NULL, NULL);
  g_return_val_if_fail (!((flags & KC_STORE_OPEN_CREATE) && (flags & KC_STORE_OPEN_READONLY)),
                        NULL);

  if (g_str_has_prefix (location, "postgresql://") || g_str_has_prefix (location, "postgres://")) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "PostgreSQL backend is not built yet; use a SQLite store (a path or sqlite:PATH)");
    return NULL;
  }
  if (g_str_has_prefix (location, "sqlite:"))
    path = location + strlen ("sqlite:");
  else if ((scheme = g_uri_peek_scheme (location)) != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Unknown kind of store “%s:”; use a path, sqlite:PATH or postgresql://…",
                 scheme);
    return NULL;
  }
  if (*path == '\0') {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The store location is empty; give the path of the store");
    return NULL;
  }

  backend = kc_store_sqlite_open (path, flags, error);
  if (backend == NULL)
    return NULL;

  store = g_new0 (KcStore, 1);
  store->backend = backend;
  store->location = g_strdup (location);
  store->writer = kc_store_writer_new (store, backend, store->location,
                                       (flags & KC_STORE_OPEN_READONLY) != 0,
                                       (GDestroyNotify) store_free);
  return store;
}

void
kc_store_close (KcStore *store)
{
  if (store == NULL)
    return;

  kc_store_writer_shutdown (store->writer);
  store->backend->klass->close (g_steal_pointer (&store->backend));
  /* A callback still waiting for another thread's main context keeps the
   * store (not its backend) alive until it has run. */
  kc_store_writer_unref (store->writer);
}

const char *
kc_store_get_location (KcStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  return store->location;
}

int
kc_store_get_schema_version (KcStore *store)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, 0);
  return store->backend->schema_version;
}

#define BACKEND(store) ((store)->backend->klass)

/* Subscribers ------------------------------------------------------------ */

gboolean
kc_store_subscriber_add (KcStore *store, const KcSubscriber *subscriber, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);
  g_return_val_if_fail (subscriber != NULL, FALSE);

  g_return_val_if_fail ((guint) subscriber->state < G_N_ELEMENTS (subscriber_states), FALSE);

  if (!check_writable (store, error) || !kc_store_validate_number (subscriber->number, error))
    return FALSE;
  if (subscriber->cert_serial != NULL && !is_hex (subscriber->cert_serial, 1, 64)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The certificate serial of %s must be 1 to 64 hex digits", subscriber->number);
    return FALSE;
  }
  return BACKEND (store)->subscriber_add (store->backend, subscriber, error);
}

KcSubscriber *
kc_store_subscriber_get (KcStore *store, const char *number, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);

  if (!kc_store_validate_number (number, error))
    return NULL;
  return BACKEND (store)->subscriber_get (store->backend, number, error);
}

GPtrArray *
kc_store_subscriber_list (KcStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);
  return BACKEND (store)->subscriber_list (store->backend, error);
}

gboolean
kc_store_subscriber_set_state (KcStore           *store,
                               const char        *number,
                               KcSubscriberState  state,
                               GError           **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);
  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (subscriber_states), FALSE);

  if (!check_writable (store, error) || !kc_store_validate_number (number, error))
    return FALSE;
  return BACKEND (store)->subscriber_set_state (store->backend, number, state,
                                                g_get_real_time (), error);
}

gboolean
kc_store_subscriber_set_cert (KcStore     *store,
                              const char  *number,
                              const char  *cert_serial,
                              GError     **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);

  if (!check_writable (store, error) || !kc_store_validate_number (number, error))
    return FALSE;
  if (cert_serial != NULL && !is_hex (cert_serial, 1, 64)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The certificate serial of %s must be 1 to 64 hex digits", number);
    return FALSE;
  }
  return BACKEND (store)->subscriber_set_cert (store->backend, number, cert_serial,
                                               g_get_real_time (), error);
}

/* Keys and CDRs ---------------------------------------------------------- */

/* A private copy of @key to queue, or NULL with @error set. */
static KcSealedKey *
key_for_writer (const KcSealedKey *key, GError **error)
{
  return validate_key (key, error) ? sealed_key_copy (key) : NULL;
}

void
kc_store_put_key_async (KcStore           *store,
                        const KcSealedKey *key,
                        KcStoreDoneFunc    done,
                        gpointer           user_data)
{
  GError *error = NULL;
  KcSealedKey *copy;

  g_return_if_fail (store != NULL && key != NULL);

  copy = key_for_writer (key, &error);
  kc_store_writer_submit (store->writer, KC_STORE_WRITE_KEY, copy, error, done, user_data);
}

gboolean
kc_store_put_key (KcStore *store, const KcSealedKey *key, GError **error)
{
  GError *local_error = NULL;
  KcSealedKey *copy;

  g_return_val_if_fail (store != NULL && key != NULL, FALSE);

  copy = key_for_writer (key, &local_error);
  return kc_store_writer_run (store->writer, KC_STORE_WRITE_KEY, copy, local_error, error);
}

KcSealedKey *
kc_store_get_key (KcStore *store, const KcKeyId *key_id, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);
  g_return_val_if_fail (key_id != NULL, NULL);
  return BACKEND (store)->key_get (store->backend, key_id, error);
}

GPtrArray *
kc_store_keys_for_number (KcStore     *store,
                          const char  *number,
                          gint64       from,
                          gint64       until,
                          GError     **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);

  if (!kc_store_validate_number (number, error))
    return NULL;
  return BACKEND (store)->keys_for_number (store->backend, number, from, until, error);
}

GPtrArray *
kc_store_key_list (KcStore *store, guint limit, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);
  return BACKEND (store)->key_list (store->backend, limit, error);
}

/* A private copy of @cdr to queue, or NULL with @error set. */
static KcCdr *
cdr_for_writer (const KcCdr *cdr, GError **error)
{
  return validate_cdr (cdr, error) ? cdr_copy (cdr) : NULL;
}

void
kc_store_put_cdr_async (KcStore         *store,
                        const KcCdr     *cdr,
                        KcStoreDoneFunc  done,
                        gpointer         user_data)
{
  GError *error = NULL;
  KcCdr *copy;

  g_return_if_fail (store != NULL && cdr != NULL);

  copy = cdr_for_writer (cdr, &error);
  kc_store_writer_submit (store->writer, KC_STORE_WRITE_CDR, copy, error, done, user_data);
}

gboolean
kc_store_put_cdr (KcStore *store, const KcCdr *cdr, GError **error)
{
  GError *local_error = NULL;
  KcCdr *copy;

  g_return_val_if_fail (store != NULL && cdr != NULL, FALSE);

  copy = cdr_for_writer (cdr, &local_error);
  return kc_store_writer_run (store->writer, KC_STORE_WRITE_CDR, copy, local_error, error);
}

GPtrArray *
kc_store_cdr_list (KcStore *store, gint64 from, gint64 until, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);
  return BACKEND (store)->cdr_list (store->backend, from, until, error);
}

/* RFC 4180: quote a field holding a comma, quote, CR or LF; double quotes. */
static void
csv_append_field (GString *line, const char *text)
{
  if (line->len > 0)
    g_string_append_c (line, ',');
  if (text == NULL)
    return;
  if (strpbrk (text, ",\"\r\n") == NULL) {
    g_string_append (line, text);
    return;
  }
  g_string_append_c (line, '"');
  for (const char *p = text; *p; p++) {
    if (*p == '"')
      g_string_append_c (line, '"');
    g_string_append_c (line, *p);
  }
  g_string_append_c (line, '"');
}

/* ISO 8601 UTC with milliseconds, or an empty field for "not set". */
static void
csv_append_time (GString *line, gint64 usec)
{
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *text = NULL;

  if (usec != 0)
    time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  if (time != NULL) {
    g_autofree char *seconds = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");
    gint64 msec = (usec % G_USEC_PER_SEC) / 1000;

    text = g_strdup_printf ("%s.%03" G_GINT64_FORMAT "Z", seconds, ABS (msec));
  }
  csv_append_field (line, text);
}

gboolean
kc_store_cdr_export_csv (KcStore        *store,
                         gint64          from,
                         gint64          until,
                         GOutputStream  *out,
                         GError        **error)
{
  g_autoptr(GPtrArray) cdrs = NULL;
  g_autoptr(GString) text = g_string_new (NULL);

  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);

  cdrs = kc_store_cdr_list (store, from, until, error);
  if (cdrs == NULL)
    return FALSE;

  g_string_append (text, "call_id,caller,callee,key_id,started_at,answered_at,ended_at,"
                         "sip_status,outcome,reason\r\n");
  for (guint i = 0; i < cdrs->len; i++) {
    const KcCdr *cdr = cdrs->pdata[i];
    g_autoptr(GString) line = g_string_new (NULL);
    char status[16];

    csv_append_field (line, cdr->call_id);
    csv_append_field (line, cdr->caller);
    csv_append_field (line, cdr->callee);
    csv_append_field (line, cdr->key_id);
    csv_append_time (line, cdr->started_at);
    csv_append_time (line, cdr->answered_at);
    csv_append_time (line, cdr->ended_at);
    g_snprintf (status, sizeof status, "%d", cdr->sip_status);
    csv_append_field (line, status);
    csv_append_field (line, cdr->outcome);
    csv_append_field (line, cdr->reason);
    g_string_append (text, line->str);
    g_string_append (text, "\r\n");
  }
  if (!g_output_stream_write_all (out, text->str, text->len, NULL, NULL, error)) {
    g_prefix_error (error, "Cannot write the call records: ");
    return FALSE;
  }
  return TRUE;
}

/* Taps ------------------------------------------------------------------- */

gboolean
kc_store_tap_add (KcStore *store, const KcTap *tap, GError **error)
{
  KcTap copy;

  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);
  g_return_val_if_fail (tap != NULL, FALSE);
  g_return_val_if_fail ((guint) tap->kind < G_N_ELEMENTS (tap_kinds), FALSE);

  if (!check_writable (store, error)
      || !validate_text_id ("tap id", tap->tap_id, error)
      || !kc_store_validate_number (tap->number, error)
      || !validate_text_id ("requesting agency of a tap", tap->lea, error))
    return FALSE;
  if (tap->kind == KC_TAP_PAST && (tap->until == 0 || tap->from > tap->until)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Tap %s asks for past keys: it needs a time range with from <= until",
                 tap->tap_id);
    return FALSE;
  }
  if (tap->until != 0 && tap->from > tap->until) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Tap %s ends before it starts", tap->tap_id);
    return FALSE;
  }

  copy = *tap;
  if (copy.created_at == 0)
    copy.created_at = g_get_real_time ();
  return BACKEND (store)->tap_add (store->backend, &copy, error);
}

gboolean
kc_store_tap_stop (KcStore *store, const char *tap_id, gint64 stopped_at, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);

  if (!check_writable (store, error) || !validate_text_id ("tap id", tap_id, error))
    return FALSE;
  return BACKEND (store)->tap_stop (store->backend, tap_id,
                                    stopped_at ? stopped_at : g_get_real_time (), error);
}

GPtrArray *
kc_store_tap_list (KcStore *store, gboolean active_only, GError **error)
{
  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);
  return BACKEND (store)->tap_list (store->backend, active_only, g_get_real_time (), error);
}

/* Audit ------------------------------------------------------------------ */

static void
hash_int (GChecksum *sum, guint64 value)
{
  guint64 be = GUINT64_TO_BE (value);

  g_checksum_update (sum, (const guchar *) &be, sizeof be);
}

static void
hash_text (GChecksum *sum, const char *text)
{
  gsize len = text ? strlen (text) : 0;

  hash_int (sum, len);
  g_checksum_update (sum, (const guchar *) (text ? text : ""), len);
}

void
kc_store_audit_hash (const char          *prev_hash,
                     const KcAuditRecord *record,
                     char                 out[KC_STORE_AUDIT_HASH_LEN])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 prev[32] = { 0 };

  /* A malformed previous hash leaves zeros: the chain then breaks at the
   * next record, which is where verify should point. */
  if (prev_hash != NULL && strlen (prev_hash) == 64) {
    for (int i = 0; i < 32; i++) {
      int hi = g_ascii_xdigit_value (prev_hash[2 * i]);
      int lo = g_ascii_xdigit_value (prev_hash[2 * i + 1]);

      prev[i] = (hi < 0 || lo < 0) ? 0 : (guint8) (hi << 4 | lo);
    }
  }
  g_checksum_update (sum, prev, sizeof prev);
  hash_int (sum, (guint64) record->seq);
  hash_int (sum, (guint64) record->time);
  hash_text (sum, record->actor);
  hash_text (sum, record->action);
  hash_text (sum, record->detail);
  g_strlcpy (out, g_checksum_get_string (sum), KC_STORE_AUDIT_HASH_LEN);
}

/* The record to queue, or NULL with @error set. Its time is taken now, so
 * times follow the order of the appends. */
static KcAuditRecord *
audit_record_new (const char *actor, const char *action, const char *detail, GError **error)
{
  KcAuditRecord *record;

  if (!validate_text_id ("actor of an audit record", actor, error)
      || !validate_text_id ("action of an audit record", action, error))
    return NULL;
  record = g_new0 (KcAuditRecord, 1);
  record->time = g_get_real_time ();
  record->actor = g_strdup (actor);
  record->action = g_strdup (action);
  record->detail = g_strdup (detail ? detail : "");
  return record;
}

gboolean
kc_store_audit_append (KcStore     *store,
                       const char  *actor,
                       const char  *action,
                       const char  *detail,
                       GError     **error)
{
  GError *local_error = NULL;
  KcAuditRecord *record;

  g_return_val_if_fail (store != NULL, FALSE);

  record = audit_record_new (actor, action, detail, &local_error);
  return kc_store_writer_run (store->writer, KC_STORE_WRITE_AUDIT, record, local_error, error);
}

void
kc_store_audit_append_async (KcStore         *store,
                             const char      *actor,
                             const char      *action,
                             const char      *detail,
                             KcStoreDoneFunc  done,
                             gpointer         user_data)
{
  GError *local_error = NULL;
  KcAuditRecord *record;

  g_return_if_fail (store != NULL);

  record = audit_record_new (actor, action, detail, &local_error);
  kc_store_writer_submit (store->writer, KC_STORE_WRITE_AUDIT, record, local_error, done,
                          user_data);
}

static gboolean
collect_audit (const KcAuditRecord *record, gpointer user_data)
{
  KcAuditRecord *copy = g_new0 (KcAuditRecord, 1);

  *copy = *record;
  copy->actor = g_strdup (record->actor);
  copy->action = g_strdup (record->action);
  copy->detail = g_strdup (record->detail);
  copy->hash = g_strdup (record->hash);
  g_ptr_array_add (user_data, copy);
  return TRUE;
}

GPtrArray *
kc_store_audit_list (KcStore *store, GError **error)
{
  g_autoptr(GPtrArray) records = NULL;

  g_return_val_if_fail (store != NULL && store->backend != NULL, NULL);

  records = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_audit_record_free);
  if (!BACKEND (store)->audit_foreach (store->backend, collect_audit, records, error))
    return NULL;
  return g_steal_pointer (&records);
}

typedef struct {
  gint64 expected_seq;
  char   prev_hash[KC_STORE_AUDIT_HASH_LEN];
  gint64 bad_seq;
  char  *problem;
} AuditWalk;

static gboolean
check_audit (const KcAuditRecord *record, gpointer user_data)
{
  AuditWalk *walk = user_data;
  char hash[KC_STORE_AUDIT_HASH_LEN];

  if (record->seq != walk->expected_seq) {
    walk->bad_seq = walk->expected_seq;
    walk->problem = g_strdup_printf ("record %" G_GINT64_FORMAT " is missing (the next one is %"
                                     G_GINT64_FORMAT ")", walk->expected_seq, record->seq);
    return FALSE;
  }
  kc_store_audit_hash (walk->expected_seq == 1 ? NULL : walk->prev_hash, record, hash);
  if (record->hash == NULL || g_ascii_strcasecmp (hash, record->hash) != 0) {
    walk->bad_seq = record->seq;
    walk->problem = g_strdup_printf ("record %" G_GINT64_FORMAT " does not match its hash",
                                     record->seq);
    return FALSE;
  }
  g_strlcpy (walk->prev_hash, hash, sizeof walk->prev_hash);
  walk->expected_seq++;
  return TRUE;
}

gboolean
kc_store_audit_verify (KcStore *store, gint64 *first_bad_seq, GError **error)
{
  AuditWalk walk = { .expected_seq = 1 };

  g_return_val_if_fail (store != NULL && store->backend != NULL, FALSE);

  if (first_bad_seq != NULL)
    *first_bad_seq = 0;
  if (!BACKEND (store)->audit_foreach (store->backend, check_audit, &walk, error))
    return FALSE;
  if (walk.problem == NULL)
    return TRUE;

  if (first_bad_seq != NULL)
    *first_bad_seq = walk.bad_seq;
  g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
               "The audit log of %s was altered: %s. Records before %" G_GINT64_FORMAT
               " are intact; keep this store as evidence and compare it with a backup",
               store->location, walk.problem, walk.bad_seq);
  g_free (walk.problem);
  return FALSE;
}
