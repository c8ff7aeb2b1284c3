/* kc-event-socket.h: events streamed over a local UNIX socket.
 *
 * A process serves its events (kc-event-bus.h) as JSON lines on a socket
 * private to its user; a window, opened now or later, connects and draws
 * them. A slow window loses events (and is told how many), never slows the
 * process down.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "kc-event.h"
#include "kc-event-bus.h"

G_BEGIN_DECLS

#define KC_EVENT_SERVER_REPLAY_DEFAULT       1000
#define KC_EVENT_SERVER_QUEUE_LIMIT_DEFAULT  (4 * 1024 * 1024)

/* Plain reference-counted struct; its sockets live on the thread-default
 * main context of the thread that created it. */
typedef struct _KcEventServer KcEventServer;

/* Listens on @path (mode 0600). A socket file nothing listens on is
 * replaced; KC_ERROR_EXISTS if another server listens there or the path is
 * not a socket. */
KcEventServer *kc_event_server_new             (const char     *path,
                                                GError        **error);
KcEventServer *kc_event_server_ref             (KcEventServer  *server);
/* The last unref closes, like kc_event_server_close(). */
void           kc_event_server_unref           (KcEventServer  *server);
/* Stops listening, drops every client and removes the socket file if it
 * is still ours. Later pushes are ignored. */
void           kc_event_server_close           (KcEventServer  *server);
const char    *kc_event_server_get_path        (KcEventServer  *server);

/* A client that connects first gets up to @n recent events (0: none;
 * default KC_EVENT_SERVER_REPLAY_DEFAULT). */
void           kc_event_server_set_replay_size (KcEventServer  *server,
                                                guint           n);
/* Bytes queued for one client before its events are dropped (default
 * KC_EVENT_SERVER_QUEUE_LIMIT_DEFAULT). Once over, the client gets nothing
 * until it has read everything queued, then one "log" event whose "dropped"
 * attribute says how many it missed. */
void           kc_event_server_set_queue_limit (KcEventServer  *server,
                                                gsize           bytes);
guint          kc_event_server_get_n_clients   (KcEventServer  *server);

/* Longest command line a client may send (bytes, newline included). */
#define KC_EVENT_COMMAND_MAX 4096

/* A command from a client: one JSON object (checked strictly first) with
 * "v": 1 and a string "op". Return FALSE with @error to refuse it. */
typedef gboolean (*KcEventCommandFunc) (JsonObject  *command,
                                        gpointer     user_data,
                                        GError     **error);
/* Makes the socket accept commands, called on the server's main context.
 * Only the controller's private window socket does: by default a socket is
 * read-only, and a client that writes to it gets one "log" event saying
 * so (attribute "refused"). A refused command is answered the same way,
 * to that client only. */
void           kc_event_server_set_command_func (KcEventServer      *server,
                                                 KcEventCommandFunc  func,
                                                 gpointer            user_data,
                                                 GDestroyNotify      destroy);

/* Any thread; never blocks on a client. @event must name its process. */
void           kc_event_server_push            (KcEventServer  *server,
                                                KcEvent        *event);
/* Pushes every event of @bus; returns the bus listener id (holds a
 * reference on @server until kc_event_bus_remove_listener()). */
guint          kc_event_server_attach          (KcEventServer  *server,
                                                KcEventBus     *bus);

/* Classroom ("reveal keys", keycall-controller --classroom): the one path
 * by which a call key leaves a controller in clear, and only to the
 * clients of a server set to classroom mode (its private window socket).
 * A key line is never an event: it passes no bus, no log file, no replay
 * ring, and its buffers are wiped. A classroom server tells each client
 * that connects with a "log" event whose attribute "classroom" is "on". */
void           kc_event_server_set_classroom   (KcEventServer  *server);
/* Does nothing on a server not in classroom mode. */
void           kc_event_server_push_key        (KcEventServer  *server,
                                                const char     *call_id,
                                                const char     *key_id_hex,
                                                const KcSecret *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcEventServer, kc_event_server_unref)


/* A GObject so windows can connect to its signals:
 *   "event"      (KcEvent *event)        one per good line, in order
 *   "line-error" (GError *error)         a bad line, skipped; the stream goes on
 *   "closed"     (GError *error or NULL) the server went away (NULL: cleanly);
 *                                        not emitted by kc_event_client_disconnect()
 *   "key"        (const char *call_id, const char *key_id, KcSecret *key)
 *                                        a classroom server revealed a call key;
 *                                        @key is the handler's to copy, freed after
 * Signals are emitted on the thread-default main context of the thread
 * that called kc_event_client_connect_async(). Reconnecting is the caller's
 * job: connect again after "closed". */
#define KC_TYPE_EVENT_CLIENT (kc_event_client_get_type ())
G_DECLARE_FINAL_TYPE (KcEventClient, kc_event_client, KC, EVENT_CLIENT, GObject)

KcEventClient *kc_event_client_new             (void);
void           kc_event_client_connect_async   (KcEventClient        *client,
                                                const char           *path,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
gboolean       kc_event_client_connect_finish  (KcEventClient        *client,
                                                GAsyncResult         *result,
                                                GError              **error);
gboolean       kc_event_client_is_connected    (KcEventClient        *client);
/* Sends one command line (@json: a JSON object, no newline) to the server;
 * only a controller's private window socket accepts commands (see
 * kc_event_server_set_command_func()). KC_ERROR_IO when not connected or
 * the write fails. */
gboolean       kc_event_client_send_command    (KcEventClient        *client,
                                                const char           *json,
                                                GError              **error);
void           kc_event_client_disconnect      (KcEventClient        *client);

G_END_DECLS
