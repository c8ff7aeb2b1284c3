/* kc-store.c: the store's public face: location parsing, validation, the
 * group-commit writer and dispatch to a backend (kc-store-backend.h). */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store.h"
#include "kc-store-backend.h"
#include "kc-error.h"

#include <string.h>

#define KC_NUMBER_MAX_LEN 32
#define KC_TEXT_ID_MAX_LEN 256

/* A queued write and how to report it. The backend sees only ->write. */
typedef struct {
  KcStoreWrite     write;
  KcStoreDoneFunc  done;
  gpointer         user_data;
  GMainContext    *context;     /* async: where @done runs */
  gboolean         sync;        /* a thread waits in kc_store_put_* for it */
  gboolean         completed;
} KcStoreOp;

/* Completed async ops waiting to be reported on one main context; one idle
 * source per burst carries them over, not one per write. */
typedef struct {
  KcStore      *store;
  GMainContext *context;
  GQueue        ops;
  GSource      *source;         /* attached while @ops has entries */
} KcStoreOutbox;

struct _KcStore {
  gint             ref_count;   /* the caller's, plus one per attached outbox source */
  KcStoreBackend  *backend;
  char            *location;
  gboolean         readonly;

  GMutex           lock;        /* protects everything below */
  GCond            queue_cond;  /* the writer waits for work */
  GCond            done_cond;   /* sync writers wait for their op */
  GPtrArray       *queue;       /* KcStoreOp* */
  gboolean         closing;
  GThread         *writer;
  GHashTable      *outboxes;    /* GMainContext* -> KcStoreOutbox* */
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
  if (store->readonly) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The store %s was opened read-only", store->location);
    return FALSE;
  }
  return TRUE;
}

/* Completions ------------------------------------------------------------ */

static KcStore *
store_ref (KcStore *store)
{
  g_atomic_int_inc (&store->ref_count);
  return store;
}

static void
op_free (KcStoreOp *op)
{
  switch (op->write.kind) {
  case KC_STORE_WRITE_KEY: kc_sealed_key_free (op->write.key); break;
  case KC_STORE_WRITE_CDR: kc_cdr_free (op->write.cdr); break;
  case KC_STORE_WRITE_AUDIT: kc_audit_record_free (op->write.audit); break;
  default: g_assert_not_reached ();
  }
  g_clear_error (&op->write.error);
  g_clear_pointer (&op->context, g_main_context_unref);
  g_free (op);
}

static void
outbox_free (KcStoreOutbox *outbox)
{
  g_queue_clear_full (&outbox->ops, (GDestroyNotify) op_free);
  g_main_context_unref (outbox->context);
  g_free (outbox);
}

static void
store_unref (KcStore *store)
{
  if (!g_atomic_int_dec_and_test (&store->ref_count))
    return;
  g_hash_table_destroy (store->outboxes);
  g_ptr_array_free (store->queue, TRUE);
  g_cond_clear (&store->queue_cond);
  g_cond_clear (&store->done_cond);
  g_mutex_clear (&store->lock);
  g_free (store->location);
  g_free (store);
}

/* Runs the callbacks of every op waiting in @outbox, on the calling thread
 * (which owns the outbox's context). */
static void
outbox_flush (KcStoreOutbox *outbox)
{
  KcStore *store = outbox->store;
  GQueue ops = G_QUEUE_INIT;
  KcStoreOp *op;

  g_mutex_lock (&store->lock);
  ops = outbox->ops;
  g_queue_init (&outbox->ops);
  g_mutex_unlock (&store->lock);

  while ((op = g_queue_pop_head (&ops)) != NULL) {
    op->done (store, op->write.error, op->user_data);
    op_free (op);
  }
}

/* Each attached source keeps the store, and so the outbox, alive. */
static void
on_outbox_source_gone (gpointer user_data)
{
  KcStoreOutbox *outbox = user_data;

  store_unref (outbox->store);
}

static gboolean
on_outbox_ready (gpointer user_data)
{
  KcStoreOutbox *outbox = user_data;

  g_mutex_lock (&outbox->store->lock);
  outbox->source = NULL;   /* the next completion attaches a new one */
  g_mutex_unlock (&outbox->store->lock);
  outbox_flush (outbox);
  return G_SOURCE_REMOVE;
}

/* Reports @op: wakes its synchronous caller or queues its callback for the
 * caller's main context. Called with store->lock held. */
static void
complete_op_locked (KcStore *store, KcStoreOp *op)
{
  KcStoreOutbox *outbox;

  if (op->sync) {
    op->completed = TRUE;
    g_cond_broadcast (&store->done_cond);
    return;
  }
  if (op->done == NULL) {
    if (op->write.error != NULL)
      g_warning ("A write to the store %s failed and nobody asked to know: %s",
                 store->location, op->write.error->message);
    op_free (op);
    return;
  }

  outbox = g_hash_table_lookup (store->outboxes, op->context);
  if (outbox == NULL) {
    outbox = g_new0 (KcStoreOutbox, 1);
    outbox->store = store;
    outbox->context = g_main_context_ref (op->context);
    g_queue_init (&outbox->ops);
    g_hash_table_insert (store->outboxes, outbox->context, outbox);
  }
  g_queue_push_tail (&outbox->ops, op);
  if (outbox->source == NULL) {
    /* An idle source, not g_main_context_invoke(): invoke would run the
     * callback right here on the writer thread whenever nobody currently
     * owns the context. */
    outbox->source = g_idle_source_new ();
    g_source_set_priority (outbox->source, G_PRIORITY_DEFAULT);
    g_source_set_static_name (outbox->source, "[keycall] store completions");
    g_source_set_callback (outbox->source, on_outbox_ready, outbox, on_outbox_source_gone);
    store_ref (store);
    g_source_attach (outbox->source, outbox->context);
    g_source_unref (outbox->source);
  }
}

/* Runs every waiting callback whose context this thread can own now; the
 * others are left to the threads that are running those contexts. */
static void
flush_outboxes (KcStore *store)
{
  g_autoptr(GPtrArray) ready = g_ptr_array_new ();
  GHashTableIter iter;
  KcStoreOutbox *outbox;

  do {
    g_ptr_array_set_size (ready, 0);
    g_mutex_lock (&store->lock);
    g_hash_table_iter_init (&iter, store->outboxes);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &outbox)) {
      if (outbox->ops.length == 0 && outbox->source == NULL)
        continue;
      if (!g_main_context_acquire (outbox->context))
        continue;
      /* We own the context, so its source is not being dispatched; drop it
       * rather than leave it to fire after the store is gone. */
      if (outbox->source != NULL)
        g_source_destroy (g_steal_pointer (&outbox->source));
      if (outbox->ops.length > 0)
        g_ptr_array_add (ready, outbox);
      else
        g_main_context_release (outbox->context);
    }
    g_mutex_unlock (&store->lock);

    for (guint i = 0; i < ready->len; i++) {
      outbox = ready->pdata[i];
      outbox_flush (outbox);
      g_main_context_release (outbox->context);
    }
  } while (ready->len > 0);
}

/* The writer ------------------------------------------------------------- */

/* Takes everything queued, writes it in one transaction (one fsync) and
 * reports each op. Writes queued meanwhile form the next batch: under load
 * the batches grow and the cost of the fsync is shared. */
static gpointer
writer_thread (gpointer user_data)
{
  KcStore *store = user_data;

  g_mutex_lock (&store->lock);
  for (;;) {
    g_autoptr(GPtrArray) batch = NULL;

    while (store->queue->len == 0 && !store->closing)
      g_cond_wait (&store->queue_cond, &store->lock);
    if (store->queue->len == 0)
      break;

    batch = store->queue;
    store->queue = g_ptr_array_new ();
    g_mutex_unlock (&store->lock);

    store->backend->klass->write_batch (store->backend, (KcStoreWrite **) batch->pdata,
                                        batch->len);

    g_mutex_lock (&store->lock);
    for (guint i = 0; i < batch->len; i++)
      complete_op_locked (store, batch->pdata[i]);
  }
  g_mutex_unlock (&store->lock);
  return NULL;
}

static KcStoreOp *
op_new (KcStoreWriteKind kind, KcStoreDoneFunc done, gpointer user_data, gboolean sync)
{
  KcStoreOp *op = g_new0 (KcStoreOp, 1);

  op->write.kind = kind;
  op->done = done;
  op->user_data = user_data;
  op->sync = sync;
  if (!sync && done != NULL)
    op->context = g_main_context_ref_thread_default ();
  return op;
}

/* Queues @op, or completes it at once with @error (taken) or when the
 * store no longer accepts writes. */
static void
enqueue (KcStore *store, KcStoreOp *op, GError *error)
{
  g_mutex_lock (&store->lock);
  if (error == NULL && store->closing)
    error = g_error_new (KC_ERROR, KC_ERROR_CLOSED,
                         "The store %s is closing and accepts no more writes",
                         store->location);
  if (error == NULL)
    check_writable (store, &error);

  if (error != NULL) {
    op->write.error = error;
    complete_op_locked (store, op);
  } else {
    g_ptr_array_add (store->queue, op);
    g_cond_signal (&store->queue_cond);
  }
  g_mutex_unlock (&store->lock);
}

/* Queues @op and waits until it is durable or failed. */
static gboolean
run_sync (KcStore *store, KcStoreOp *op, GError *error, GError **out_error)
{
  gboolean ok;

  enqueue (store, op, error);
  g_mutex_lock (&store->lock);
  while (!op->completed)
    g_cond_wait (&store->done_cond, &store->lock);
  g_mutex_unlock (&store->lock);

  ok = op->write.error == NULL;
  if (!ok)
    g_propagate_error (out_error, g_steal_pointer (&op->write.error));
  op_free (op);
  return ok;
}

/* Open and close --------------------------------------------------------- */

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
  store->ref_count = 1;
  store->backend = backend;
  store->location = g_strdup (location);
  store->readonly = (flags & KC_STORE_OPEN_READONLY) != 0;
  g_mutex_init (&store->lock);
  g_cond_init (&store->queue_cond);
  g_cond_init (&store->done_cond);
  store->queue = g_ptr_array_new ();
  store->outboxes = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) outbox_free);
  if (!store->readonly)
    store->writer = g_thread_new ("kc-store-writer", writer_thread, store);
  return store;
}

void
kc_store_close (KcStore *store)
{
  if (store == NULL)
    return;

  g_mutex_lock (&store->lock);
  store->closing = TRUE;
  g_cond_signal (&store->queue_cond);
  g_mutex_unlock (&store->lock);
  /* The writer drains the queue before it exits: every accepted write is
   * durable once the join returns. */
  if (store->writer != NULL)
    g_thread_join (g_steal_pointer (&store->writer));

  flush_outboxes (store);
  store->backend->klass->close (g_steal_pointer (&store->backend));
  store_unref (store);
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

static KcStoreOp *
key_op_new (const KcSealedKey *key, KcStoreDoneFunc done, gpointer user_data,
            gboolean sync, GError **error)
{
  KcStoreOp *op = op_new (KC_STORE_WRITE_KEY, done, user_data, sync);

  if (validate_key (key, error))
    op->write.key = sealed_key_copy (key);
  return op;
}

void
kc_store_put_key_async (KcStore           *store,
                        const KcSealedKey *key,
                        KcStoreDoneFunc    done,
                        gpointer           user_data)
{
  GError *error = NULL;
  KcStoreOp *op;

  g_return_if_fail (store != NULL && key != NULL);

  op = key_op_new (key, done, user_data, FALSE, &error);
  enqueue (store, op, error);
}

gboolean
kc_store_put_key (KcStore *store, const KcSealedKey *key, GError **error)
{
  GError *local_error = NULL;
  KcStoreOp *op;

  g_return_val_if_fail (store != NULL && key != NULL, FALSE);

  op = key_op_new (key, NULL, NULL, TRUE, &local_error);
  return run_sync (store, op, local_error, error);
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

static KcStoreOp *
cdr_op_new (const KcCdr *cdr, KcStoreDoneFunc done, gpointer user_data,
            gboolean sync, GError **error)
{
  KcStoreOp *op = op_new (KC_STORE_WRITE_CDR, done, user_data, sync);

  if (validate_cdr (cdr, error))
    op->write.cdr = cdr_copy (cdr);
  return op;
}

void
kc_store_put_cdr_async (KcStore         *store,
                        const KcCdr     *cdr,
                        KcStoreDoneFunc  done,
                        gpointer         user_data)
{
  GError *error = NULL;
  KcStoreOp *op;

  g_return_if_fail (store != NULL && cdr != NULL);

  op = cdr_op_new (cdr, done, user_data, FALSE, &error);
  enqueue (store, op, error);
}

gboolean
kc_store_put_cdr (KcStore *store, const KcCdr *cdr, GError **error)
{
  GError *local_error = NULL;
  KcStoreOp *op;

  g_return_val_if_fail (store != NULL && cdr != NULL, FALSE);

  op = cdr_op_new (cdr, NULL, NULL, TRUE, &local_error);
  return run_sync (store, op, local_error, error);
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

gboolean
kc_store_audit_append (KcStore     *store,
                       const char  *actor,
                       const char  *action,
                       const char  *detail,
                       GError     **error)
{
  GError *local_error = NULL;
  KcStoreOp *op;

  g_return_val_if_fail (store != NULL, FALSE);

  op = op_new (KC_STORE_WRITE_AUDIT, NULL, NULL, TRUE);
  if (validate_text_id ("actor of an audit record", actor, &local_error)
      && validate_text_id ("action of an audit record", action, &local_error)) {
    op->write.audit = g_new0 (KcAuditRecord, 1);
    op->write.audit->time = g_get_real_time ();
    op->write.audit->actor = g_strdup (actor);
    op->write.audit->action = g_strdup (action);
    op->write.audit->detail = g_strdup (detail ? detail : "");
  }
  return run_sync (store, op, local_error, error);
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
