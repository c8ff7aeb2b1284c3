/* kc-event-bus.h: where a process emits its events.
 *
 * One bus per process numbers the events (seq), appends them to JSON-lines
 * log files and hands them to in-process listeners: an embedded window, the
 * event socket server (kc-event-socket.h).
 */
#pragma once

#include <glib.h>

#include "kc-event.h"

G_BEGIN_DECLS

typedef struct _KcEventBus KcEventBus;

typedef enum {
  /* Listeners run on the thread that created the bus, from its thread-default
   * main context: an emit from another thread is marshalled there. Right for
   * GTK. An emit on the creating thread delivers before it returns. */
  KC_EVENT_BUS_DEFAULT     = 0,
  /* Listeners run on an emitting thread before emit returns; they must be
   * thread-safe. */
  KC_EVENT_BUS_SYNCHRONOUS = 1 << 0,
} KcEventBusFlags;

/* @event is frozen; take a reference to keep it. */
typedef void (*KcEventListener) (KcEvent  *event,
                                 gpointer  user_data);

/* @process names the process in every event that does not name one. */
KcEventBus *kc_event_bus_new             (const char      *process,
                                          KcEventBusFlags  flags);
KcEventBus *kc_event_bus_ref             (KcEventBus      *bus);
void        kc_event_bus_unref           (KcEventBus      *bus);
const char *kc_event_bus_get_process     (KcEventBus      *bus);

/* Any thread. @destroy runs on @user_data once the listener is removed and
 * no delivery to it is running any more. Returns an id > 0. */
guint       kc_event_bus_add_listener    (KcEventBus      *bus,
                                          KcEventListener  listener,
                                          gpointer         user_data,
                                          GDestroyNotify   destroy);
/* Any thread, including from inside the listener itself; after it returns
 * the listener gets no event it was not already being given. */
void        kc_event_bus_remove_listener (KcEventBus      *bus,
                                          guint            id);

/* Any thread. Fills in what @event lacks (process, seq: the next of this
 * bus, 1 and up), freezes it (a frozen event that lacks something is copied
 * first), appends it to the log files, then delivers it. Listeners see
 * events in seq order, one at a time, never concurrently; an event emitted
 * from inside a listener is delivered after the current one. */
void        kc_event_bus_emit            (KcEventBus      *bus,
                                          KcEvent         *event);

/* Appends every later event to @path as one JSON line, written with one
 * write(2) on an O_APPEND descriptor before emit returns, so the log keeps
 * what happened even when the main loop is stuck. The file is created with
 * mode 0600 and an existing one is set to 0600: events say who called whom. */
gboolean    kc_event_bus_add_log_file    (KcEventBus      *bus,
                                          const char      *path,
                                          GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcEventBus, kc_event_bus_unref)

G_END_DECLS
