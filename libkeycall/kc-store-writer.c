/* kc-store-writer.c: the store's write queue: one writer thread per store,
 * group commit, and completions reported where each caller waits. */
#define G_LOG_DOMAIN "kc-store"

#include "kc-store-writer.h"
#include "kc-error.h"

/* A queued write and how to report it. The backend sees only ->write. */
typedef struct {
  KcStoreWrite     write;
  KcStoreDoneFunc  done;
  gpointer         user_data;
  GMainContext    *context;     /* async: where @done runs */
  gboolean         sync;        /* a thread waits in kc_store_writer_run() for it */
  gboolean         completed;
} KcStoreOp;

/* Completed async ops waiting to be reported on one main context; one idle
 * source per burst carries them over, not one per write. */
typedef struct {
  KcStoreWriter *writer;
  GMainContext  *context;
  GQueue         ops;
  GSource       *source;        /* attached while @ops has entries */
} KcStoreOutbox;

struct _KcStoreWriter {
  gint             ref_count;   /* the store's, plus one per attached outbox source */
  KcStore         *store;       /* what callbacks receive; freed with the writer */
  GDestroyNotify   store_free;
  KcStoreBackend  *backend;
  const char      *location;    /* the store's */
  gboolean         readonly;

  GMutex           lock;        /* protects everything below */
  GCond            queue_cond;  /* the writer waits for work */
  GCond            done_cond;   /* sync writers wait for their op */
  GPtrArray       *queue;       /* KcStoreOp* */
  gboolean         closing;
  GThread         *thread;
  GHashTable      *outboxes;    /* GMainContext* -> KcStoreOutbox* */
};

gboolean
kc_store_writer_check_writable (KcStoreWriter *writer, GError **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);

  if (writer->readonly) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The store %s was opened read-only", writer->location);
    return FALSE;
  }
  return TRUE;
}

/* Completions ------------------------------------------------------------ */

static KcStoreWriter *
writer_ref (KcStoreWriter *writer)
{
  g_atomic_int_inc (&writer->ref_count);
  return writer;
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

void
kc_store_writer_unref (KcStoreWriter *writer)
{
  if (!g_atomic_int_dec_and_test (&writer->ref_count))
    return;
  g_hash_table_destroy (writer->outboxes);
  g_ptr_array_free (writer->queue, TRUE);
  g_cond_clear (&writer->queue_cond);
  g_cond_clear (&writer->done_cond);
  g_mutex_clear (&writer->lock);
  writer->store_free (writer->store);
  g_free (writer);
}

/* Runs the callbacks of every op waiting in @outbox, on the calling thread
 * (which owns the outbox's context). */
static void
outbox_flush (KcStoreOutbox *outbox)
{
  KcStoreWriter *writer = outbox->writer;
  GQueue ops = G_QUEUE_INIT;
  KcStoreOp *op;

  g_mutex_lock (&writer->lock);
  ops = outbox->ops;
  g_queue_init (&outbox->ops);
  g_mutex_unlock (&writer->lock);

  while ((op = g_queue_pop_head (&ops)) != NULL) {
    op->done (writer->store, op->write.error, op->user_data);
    op_free (op);
  }
}

/* Each attached source keeps the writer (and the store), and so the
 * outbox, alive. */
static void
on_outbox_source_gone (gpointer user_data)
{
  KcStoreOutbox *outbox = user_data;

  kc_store_writer_unref (outbox->writer);
}

static gboolean
on_outbox_ready (gpointer user_data)
{
  KcStoreOutbox *outbox = user_data;

  g_mutex_lock (&outbox->writer->lock);
  outbox->source = NULL;   /* the next completion attaches a new one */
  g_mutex_unlock (&outbox->writer->lock);
  outbox_flush (outbox);
  return G_SOURCE_REMOVE;
}

/* Reports @op: wakes its synchronous caller or queues its callback for the
 * caller's main context. Called with writer->lock held. */
static void
complete_op_locked (KcStoreWriter *writer, KcStoreOp *op)
{
  KcStoreOutbox *outbox;

  if (op->sync) {
    op->completed = TRUE;
    g_cond_broadcast (&writer->done_cond);
    return;
  }
  if (op->done == NULL) {
    if (op->write.error != NULL)
      g_warning ("A write to the store %s failed and nobody asked to know: %s",
                 writer->location, op->write.error->message);
    op_free (op);
    return;
  }

  outbox = g_hash_table_lookup (writer->outboxes, op->context);
  if (outbox == NULL) {
    outbox = g_new0 (KcStoreOutbox, 1);
    outbox->writer = writer;
    outbox->context = g_main_context_ref (op->context);
    g_queue_init (&outbox->ops);
    g_hash_table_insert (writer->outboxes, outbox->context, outbox);
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
    writer_ref (writer);
    g_source_attach (outbox->source, outbox->context);
    g_source_unref (outbox->source);
  }
}

/* Runs every waiting callback whose context this thread can own now; the
 * others are left to the threads that are running those contexts. */
static void
flush_outboxes (KcStoreWriter *writer)
{
  g_autoptr(GPtrArray) ready = g_ptr_array_new ();
  GHashTableIter iter;
  KcStoreOutbox *outbox;

  do {
    g_ptr_array_set_size (ready, 0);
    g_mutex_lock (&writer->lock);
    g_hash_table_iter_init (&iter, writer->outboxes);
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
    g_mutex_unlock (&writer->lock);

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
  KcStoreWriter *writer = user_data;

  g_mutex_lock (&writer->lock);
  for (;;) {
    g_autoptr(GPtrArray) batch = NULL;

    while (writer->queue->len == 0 && !writer->closing)
      g_cond_wait (&writer->queue_cond, &writer->lock);
    if (writer->queue->len == 0)
      break;

    batch = writer->queue;
    writer->queue = g_ptr_array_new ();
    g_mutex_unlock (&writer->lock);

    writer->backend->klass->write_batch (writer->backend, (KcStoreWrite **) batch->pdata,
                                         batch->len);

    g_mutex_lock (&writer->lock);
    for (guint i = 0; i < batch->len; i++)
      complete_op_locked (writer, batch->pdata[i]);
  }
  g_mutex_unlock (&writer->lock);
  return NULL;
}

static KcStoreOp *
op_new (KcStoreWriteKind kind, gpointer record, KcStoreDoneFunc done, gpointer user_data,
        gboolean sync)
{
  KcStoreOp *op = g_new0 (KcStoreOp, 1);

  op->write.kind = kind;
  switch (kind) {
  case KC_STORE_WRITE_KEY: op->write.key = record; break;
  case KC_STORE_WRITE_CDR: op->write.cdr = record; break;
  case KC_STORE_WRITE_AUDIT: op->write.audit = record; break;
  default: g_assert_not_reached ();
  }
  op->done = done;
  op->user_data = user_data;
  op->sync = sync;
  if (!sync && done != NULL)
    op->context = g_main_context_ref_thread_default ();
  return op;
}

/* Queues @op, or completes it at once when the store no longer accepts
 * writes. An op already refused (@error, taken) is queued all the same, so
 * that completions keep the order of the calls (the backend skips it). */
static void
enqueue (KcStoreWriter *writer, KcStoreOp *op, GError *error)
{
  gboolean refused_now;

  g_mutex_lock (&writer->lock);
  refused_now = writer->closing || writer->readonly;
  if (error == NULL && writer->closing)
    error = g_error_new (KC_ERROR, KC_ERROR_CLOSED,
                         "The store %s is closing and accepts no more writes",
                         writer->location);
  if (error == NULL)
    kc_store_writer_check_writable (writer, &error);

  op->write.error = error;
  if (refused_now) {
    complete_op_locked (writer, op);
  } else {
    g_ptr_array_add (writer->queue, op);
    g_cond_signal (&writer->queue_cond);
  }
  g_mutex_unlock (&writer->lock);
}

void
kc_store_writer_submit (KcStoreWriter    *writer,
                        KcStoreWriteKind  kind,
                        gpointer          record,
                        GError           *error,
                        KcStoreDoneFunc   done,
                        gpointer          user_data)
{
  g_return_if_fail (writer != NULL);

  enqueue (writer, op_new (kind, record, done, user_data, FALSE), error);
}

/* Queues the op and waits until it is durable or failed. */
gboolean
kc_store_writer_run (KcStoreWriter     *writer,
                     KcStoreWriteKind   kind,
                     gpointer           record,
                     GError            *error,
                     GError           **out_error)
{
  KcStoreOp *op;
  gboolean ok;

  g_return_val_if_fail (writer != NULL, FALSE);

  op = op_new (kind, record, NULL, NULL, TRUE);
  enqueue (writer, op, error);
  g_mutex_lock (&writer->lock);
  while (!op->completed)
    g_cond_wait (&writer->done_cond, &writer->lock);
  g_mutex_unlock (&writer->lock);

  ok = op->write.error == NULL;
  if (!ok)
    g_propagate_error (out_error, g_steal_pointer (&op->write.error));
  op_free (op);
  return ok;
}

/* Start and stop ---------------------------------------------------------- */

KcStoreWriter *
kc_store_writer_new (KcStore        *store,
                     KcStoreBackend *backend,
                     const char     *location,
                     gboolean        readonly,
                     GDestroyNotify  store_free)
{
  KcStoreWriter *writer;

  g_return_val_if_fail (store != NULL && backend != NULL && location != NULL, NULL);
  g_return_val_if_fail (store_free != NULL, NULL);

  writer = g_new0 (KcStoreWriter, 1);
  writer->ref_count = 1;
  writer->store = store;
  writer->store_free = store_free;
  writer->backend = backend;
  writer->location = location;
  writer->readonly = readonly;
  g_mutex_init (&writer->lock);
  g_cond_init (&writer->queue_cond);
  g_cond_init (&writer->done_cond);
  writer->queue = g_ptr_array_new ();
  writer->outboxes = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) outbox_free);
  if (!readonly)
    writer->thread = g_thread_new ("kc-store-writer", writer_thread, writer);
  return writer;
}

void
kc_store_writer_shutdown (KcStoreWriter *writer)
{
  g_return_if_fail (writer != NULL);

  g_mutex_lock (&writer->lock);
  writer->closing = TRUE;
  g_cond_signal (&writer->queue_cond);
  g_mutex_unlock (&writer->lock);
  /* The writer drains the queue before it exits: every accepted write is
   * durable once the join returns. */
  if (writer->thread != NULL)
    g_thread_join (g_steal_pointer (&writer->thread));

  flush_outboxes (writer);
}
