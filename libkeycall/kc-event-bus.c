/* kc-event-bus.c: numbering, logging and delivering a process's events.
 *
 * Emitters only queue under the lock; one thread at a time (the "drainer")
 * empties the queue into the listeners with the lock released, so listeners
 * never run concurrently, always see seq order, and may emit or remove
 * listeners themselves without deadlock.
 */
#define G_LOG_DOMAIN "kc-event-bus"

#include "kc-event-bus.h"
#include "kc-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  gatomicrefcount  ref;
  guint            id;
  int              removed;     /* atomic */
  KcEventListener  func;
  gpointer         user_data;
  GDestroyNotify   destroy;
} Listener;

typedef struct {
  char     *path;
  int       fd;
  gboolean  failed;             /* warned once; no more writes */
} LogFile;

struct _KcEventBus {
  gatomicrefcount  ref;
  char            *process;
  KcEventBusFlags  flags;
  GMainContext    *context;
  GThread         *owner;

  GMutex           mutex;
  GCond            cond;
  guint64          last_seq;
  guint            last_id;
  /* Copy-on-write: a drainer holds a reference to the array it started an
   * event with, so add/remove never wait for a delivery. */
  GPtrArray       *listeners;
  GPtrArray       *logs;
  GQueue           queue;       /* frozen KcEvent*, in seq order */
  guint64          enqueued;
  guint64          delivered;
  GThread         *drainer;
  gboolean         idle_pending;
};

static Listener *
listener_ref (Listener *listener)
{
  g_atomic_ref_count_inc (&listener->ref);
  return listener;
}

static gpointer
listener_copy (gconstpointer listener, gpointer user_data)
{
  return listener_ref ((Listener *) listener);
}

static void
listener_unref (Listener *listener)
{
  if (!g_atomic_ref_count_dec (&listener->ref))
    return;
  if (listener->destroy != NULL)
    listener->destroy (listener->user_data);
  g_free (listener);
}

static void
log_file_free (LogFile *log)
{
  if (log->fd >= 0)
    close (log->fd);
  g_free (log->path);
  g_free (log);
}

/* Called with the lock held; returns it held. */
static void
drain_locked (KcEventBus *bus)
{
  KcEvent *event;

  bus->drainer = g_thread_self ();
  while ((event = g_queue_pop_head (&bus->queue)) != NULL)
    {
      GPtrArray *listeners = g_ptr_array_ref (bus->listeners);

      g_mutex_unlock (&bus->mutex);
      for (guint i = 0; i < listeners->len; i++)
        {
          Listener *listener = listeners->pdata[i];

          if (!g_atomic_int_get (&listener->removed))
            listener->func (event, listener->user_data);
        }
      g_ptr_array_unref (listeners);
      kc_event_unref (event);
      g_mutex_lock (&bus->mutex);
      bus->delivered++;
      g_cond_broadcast (&bus->cond);
    }
  bus->drainer = NULL;
  g_cond_broadcast (&bus->cond);
}

static gboolean
on_idle_drain (gpointer user_data)
{
  KcEventBus *bus = user_data;

  g_mutex_lock (&bus->mutex);
  bus->idle_pending = FALSE;
  /* Another thread draining will empty the queue before it stops. */
  if (bus->drainer == NULL)
    drain_locked (bus);
  g_mutex_unlock (&bus->mutex);
  return G_SOURCE_REMOVE;
}

KcEventBus *
kc_event_bus_new (const char      *process,
                  KcEventBusFlags  flags)
{
  KcEventBus *bus;

  g_return_val_if_fail (process != NULL && *process != '\0', NULL);

  bus = g_new0 (KcEventBus, 1);
  g_atomic_ref_count_init (&bus->ref);
  bus->process = g_strdup (process);
  bus->flags = flags;
  bus->context = g_main_context_ref_thread_default ();
  bus->owner = g_thread_self ();
  g_mutex_init (&bus->mutex);
  g_cond_init (&bus->cond);
  bus->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) listener_unref);
  bus->logs = g_ptr_array_new_with_free_func ((GDestroyNotify) log_file_free);
  g_queue_init (&bus->queue);
  return bus;
}

KcEventBus *
kc_event_bus_ref (KcEventBus *bus)
{
  g_return_val_if_fail (bus != NULL, NULL);

  g_atomic_ref_count_inc (&bus->ref);
  return bus;
}

void
kc_event_bus_unref (KcEventBus *bus)
{
  g_return_if_fail (bus != NULL);

  if (!g_atomic_ref_count_dec (&bus->ref))
    return;
  /* No idle can be pending: it holds a reference. Events still queued were
   * logged but are never delivered. */
  g_queue_clear_full (&bus->queue, (GDestroyNotify) kc_event_unref);
  g_ptr_array_unref (bus->listeners);
  g_ptr_array_unref (bus->logs);
  g_main_context_unref (bus->context);
  g_mutex_clear (&bus->mutex);
  g_cond_clear (&bus->cond);
  g_free (bus->process);
  g_free (bus);
}

const char *
kc_event_bus_get_process (KcEventBus *bus)
{
  g_return_val_if_fail (bus != NULL, NULL);

  return bus->process;
}

guint
kc_event_bus_add_listener (KcEventBus      *bus,
                           KcEventListener  func,
                           gpointer         user_data,
                           GDestroyNotify   destroy)
{
  Listener *listener;
  GPtrArray *old;

  g_return_val_if_fail (bus != NULL, 0);
  g_return_val_if_fail (func != NULL, 0);

  listener = g_new0 (Listener, 1);
  g_atomic_ref_count_init (&listener->ref);
  listener->func = func;
  listener->user_data = user_data;
  listener->destroy = destroy;

  g_mutex_lock (&bus->mutex);
  listener->id = ++bus->last_id;
  old = bus->listeners;
  bus->listeners = g_ptr_array_copy (old, listener_copy, NULL);
  g_ptr_array_set_free_func (bus->listeners, (GDestroyNotify) listener_unref);
  g_ptr_array_add (bus->listeners, listener);
  g_mutex_unlock (&bus->mutex);

  g_ptr_array_unref (old);
  return listener->id;
}

void
kc_event_bus_remove_listener (KcEventBus *bus,
                              guint       id)
{
  GPtrArray *old = NULL;

  g_return_if_fail (bus != NULL);
  g_return_if_fail (id > 0);

  g_mutex_lock (&bus->mutex);
  for (guint i = 0; i < bus->listeners->len; i++)
    {
      Listener *listener = bus->listeners->pdata[i];

      if (listener->id != id)
        continue;
      g_atomic_int_set (&listener->removed, TRUE);
      old = bus->listeners;
      bus->listeners = g_ptr_array_copy (old, listener_copy, NULL);
      g_ptr_array_set_free_func (bus->listeners, (GDestroyNotify) listener_unref);
      g_ptr_array_remove_index (bus->listeners, i);
      break;
    }
  g_mutex_unlock (&bus->mutex);

  /* Outside the lock: the destroy notify may be arbitrary code. */
  if (old != NULL)
    g_ptr_array_unref (old);
  else
    g_critical ("%s: no listener with id %u", G_STRFUNC, id);
}

static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* With the lock held, so the files are in seq order. Returns the message
 * of a first failure, to be logged once the lock is released (a GLib log
 * handler might emit an event itself). */
static char *
write_logs_locked (KcEventBus *bus, KcEvent *event)
{
  g_autofree char *json = NULL;
  g_autofree char *line = NULL;
  char *problem = NULL;
  gsize len;

  if (bus->logs->len == 0)
    return NULL;
  json = kc_event_to_json (event);
  line = g_strconcat (json, "\n", NULL);
  len = strlen (line);
  for (guint i = 0; i < bus->logs->len; i++)
    {
      LogFile *log = bus->logs->pdata[i];

      if (log->failed)
        continue;
      if (!write_all (log->fd, line, len))
        {
          log->failed = TRUE;
          g_free (problem);
          problem = g_strdup_printf ("Cannot write the event log %s: %s; "
                                     "no more events are written there",
                                     log->path, g_strerror (errno));
        }
    }
  return problem;
}

void
kc_event_bus_emit (KcEventBus *bus,
                   KcEvent    *event)
{
  g_autofree char *problem = NULL;
  gboolean needs_process, needs_seq;
  guint64 ticket;

  g_return_if_fail (bus != NULL);
  g_return_if_fail (event != NULL);

  needs_process = kc_event_get_process (event) == NULL;
  needs_seq = kc_event_get_seq (event) == 0;
  if (kc_event_is_frozen (event) && (needs_process || needs_seq))
    event = kc_event_copy (event);
  else
    kc_event_ref (event);
  if (needs_process)
    kc_event_set_process (event, bus->process);

  g_mutex_lock (&bus->mutex);
  if (needs_seq)
    kc_event_set_seq (event, ++bus->last_seq);
  kc_event_freeze (event);
  problem = write_logs_locked (bus, event);
  g_queue_push_tail (&bus->queue, event);
  ticket = ++bus->enqueued;

  if (!(bus->flags & KC_EVENT_BUS_SYNCHRONOUS) && g_thread_self () != bus->owner)
    {
      if (!bus->idle_pending)
        {
          GSource *source = g_idle_source_new ();

          bus->idle_pending = TRUE;
          g_source_set_priority (source, G_PRIORITY_DEFAULT);
          g_source_set_callback (source, on_idle_drain, kc_event_bus_ref (bus),
                                 (GDestroyNotify) kc_event_bus_unref);
          g_source_set_static_name (source, "[keycall] event bus");
          g_source_attach (source, bus->context);
          g_source_unref (source);
        }
    }
  else if (bus->drainer != g_thread_self ())
    {
      /* Not nested in a listener: deliver before returning, waiting for
       * (or taking over from) another thread that is delivering. */
      while (bus->drainer != NULL && bus->delivered < ticket)
        g_cond_wait (&bus->cond, &bus->mutex);
      if (bus->delivered < ticket)
        drain_locked (bus);
    }
  g_mutex_unlock (&bus->mutex);

  if (problem != NULL)
    g_warning ("%s", problem);
}

gboolean
kc_event_bus_add_log_file (KcEventBus  *bus,
                           const char  *path,
                           GError     **error)
{
  LogFile *log;
  struct stat st;
  int fd;

  g_return_val_if_fail (bus != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot open the event log %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Cannot log events to %s: it is not a regular file", path);
      return FALSE;
    }
  if ((st.st_mode & 07777) != 0600 && fchmod (fd, 0600) != 0)
    {
      int saved = errno;

      close (fd);
      g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                   "Cannot make the event log %s private (mode 0600): %s",
                   path, g_strerror (saved));
      return FALSE;
    }

  log = g_new0 (LogFile, 1);
  log->path = g_strdup (path);
  log->fd = fd;
  g_mutex_lock (&bus->mutex);
  g_ptr_array_add (bus->logs, log);
  g_mutex_unlock (&bus->mutex);
  return TRUE;
}
