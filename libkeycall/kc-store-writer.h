/* kc-store-writer.h: the store's write queue and writer thread (internal).
 *
 * kc-store.c validates and copies each key, CDR or audit record; the writer
 * hands everything queued to the backend as one transaction (group commit)
 * and reports each write to a waiting caller or on the caller's main context.
 */
#pragma once

#include "kc-store-backend.h"

G_BEGIN_DECLS

typedef struct _KcStoreWriter KcStoreWriter;

/* Starts the writer thread of @backend, unless @readonly (then every write
 * is refused). @store is what callbacks receive and @location names it in
 * messages; both must stay valid until @store_free (@store) runs. That is on
 * the writer's last unref, which a completion still waiting for another
 * thread's main context may delay past kc_store_writer_unref(). */
KcStoreWriter *kc_store_writer_new            (KcStore          *store,
                                               KcStoreBackend   *backend,
                                               const char       *location,
                                               gboolean          readonly,
                                               GDestroyNotify    store_free);

/* KC_ERROR_PERMISSION when the store was opened read-only. */
gboolean       kc_store_writer_check_writable (KcStoreWriter    *writer,
                                               GError          **error);

/* Queues a write of @record (taken: a KcSealedKey, KcCdr or KcAuditRecord
 * as @kind says). When @error (taken) is set, the write fails with it
 * (@record is then NULL) but still takes its turn in the queue, so that
 * completions on one context come in the order of the calls. @done, when
 * not NULL, runs on the thread-default main context of the caller. */
void           kc_store_writer_submit         (KcStoreWriter    *writer,
                                               KcStoreWriteKind  kind,
                                               gpointer          record,
                                               GError           *error,
                                               KcStoreDoneFunc   done,
                                               gpointer          user_data);
/* The same, but waits until the write is durable or has failed. */
gboolean       kc_store_writer_run            (KcStoreWriter    *writer,
                                               KcStoreWriteKind  kind,
                                               gpointer          record,
                                               GError           *error,
                                               GError          **out_error);

/* Refuses new writes, waits until every accepted one is durable (the
 * backend is then no longer used) and runs the callbacks whose main
 * context this thread can own now. */
void           kc_store_writer_shutdown       (KcStoreWriter    *writer);
void           kc_store_writer_unref          (KcStoreWriter    *writer);

G_END_DECLS
