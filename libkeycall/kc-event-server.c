/* kc-event-server.c: KcEventServer, events served as JSON lines on a
 * private UNIX socket (kc-event-socket.h).
 *
 * The server encodes each event once and shares the line (a GBytes) between
 * the replay ring and every client queue; writes are non-blocking, so the
 * only cost of a stuck client is its bounded queue.
 */
#define G_LOG_DOMAIN "kc-event-socket"

#include "kc-event-socket.h"
#include "kc-error.h"
#include "kc-json-strict.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define WRITE_BATCH 32            /* lines per writev */
/* sun_path (108) minus NUL and the ".xxxxxx" of the temporary name. */
#define PATH_MAX_LEN ((int) sizeof (((struct sockaddr_un *) NULL)->sun_path) - 8)

typedef struct {
  KcEventServer         *server;       /* not a reference: clients die first */
  GSocketConnection     *connection;
  GPollableOutputStream *out;
  GPollableInputStream  *in;
  GSource               *out_source;   /* while the socket is full */
  GSource               *in_source;    /* to notice a hang-up */
  GQueue                 lines;        /* GBytes*, each one JSON line */
  gsize                  offset;       /* bytes of the head line already sent */
  gsize                  queued;       /* bytes still to send */
  gboolean               dropping;
  guint64                dropped;
  char                  *dropped_process;
  GByteArray            *command;      /* an unfinished command line */
  gboolean               skipping;     /* inside an over-long command line */
  gboolean               told_read_only;
} Client;

struct _KcEventServer {
  gatomicrefcount  ref;
  char            *path;
  dev_t            dev;
  ino_t            ino;
  GMainContext    *context;
  GSocketService  *service;
  gulong           incoming_id;

  GMutex           mutex;           /* everything below */
  gboolean         closed;
  guint            replay_size;
  gsize            queue_limit;
  GQueue           replay;          /* GBytes*, oldest first */
  GList           *clients;         /* Client* */
  gboolean         flush_pending;

  gboolean         classroom;       /* key lines allowed (window socket only) */

  /* Only touched on the server's context. */
  KcEventCommandFunc command_func;  /* NULL: read-only */
  gpointer         command_data;
  GDestroyNotify   command_destroy;
};

static void     client_close_locked (Client *client);
static gboolean client_flush_locked (Client *client);
static void     schedule_flush_locked (KcEventServer *server);

static GBytes *
encode_line (KcEvent *event)
{
  g_autofree char *json = kc_event_to_json (event);
  char *line;

  if (json == NULL)
    return NULL;
  line = g_strconcat (json, "\n", NULL);
  return g_bytes_new_take (line, strlen (line));
}

static void
client_enqueue_locked (Client *client, GBytes *line, const char *process)
{
  gsize size = g_bytes_get_size (line);

  if (client->dropping || client->queued + size > client->server->queue_limit)
    {
      client->dropping = TRUE;
      client->dropped++;
      if (g_strcmp0 (client->dropped_process, process) != 0)
        {
          g_free (client->dropped_process);
          client->dropped_process = g_strdup (process);
        }
      return;
    }
  g_queue_push_tail (&client->lines, g_bytes_ref (line));
  client->queued += size;
}

/* Tells a client that caught up how much it missed; the gap in its "seq"
 * numbers then has an explanation. */
static void
client_enqueue_drop_notice_locked (Client *client)
{
  g_autoptr(KcEvent) notice = kc_event_new (KC_EVENT_KIND_LOG);
  g_autoptr(GBytes) line = NULL;

  kc_event_set_process (notice, client->dropped_process ? client->dropped_process : "keycall");
  kc_event_set_summary_printf (notice, "%" G_GUINT64_FORMAT " events dropped: this viewer "
                               "did not read them fast enough", client->dropped);
  kc_event_set_attr_int (notice, "dropped", (gint64) client->dropped);
  line = encode_line (notice);
  g_queue_push_tail (&client->lines, g_bytes_ref (line));
  client->queued += g_bytes_get_size (line);
  client->dropping = FALSE;
  client->dropped = 0;
}

static gboolean
on_client_writable (GObject *stream, gpointer user_data)
{
  Client *client = user_data;
  KcEventServer *server = client->server;

  g_mutex_lock (&server->mutex);
  /* This source is being dispatched: GLib holds it until we return. */
  g_clear_pointer (&client->out_source, g_source_unref);
  if (!client_flush_locked (client))
    client_close_locked (client);
  g_mutex_unlock (&server->mutex);
  return G_SOURCE_REMOVE;
}

/* FALSE when the client is gone and must be closed. */
static gboolean
client_flush_locked (Client *client)
{
  for (;;)
    {
      GOutputVector vectors[WRITE_BATCH];
      g_autoptr(GError) error = NULL;
      GPollableReturn result;
      gsize n_vectors = 0, written = 0;

      if (g_queue_is_empty (&client->lines))
        {
          if (!client->dropping)
            break;
          client_enqueue_drop_notice_locked (client);
        }
      for (GList *l = client->lines.head; l != NULL && n_vectors < WRITE_BATCH; l = l->next)
        {
          gsize size;
          const guint8 *data = g_bytes_get_data (l->data, &size);
          gsize skip = n_vectors == 0 ? client->offset : 0;

          vectors[n_vectors].buffer = data + skip;
          vectors[n_vectors].size = size - skip;
          n_vectors++;
        }
      result = g_pollable_output_stream_writev_nonblocking (client->out, vectors, n_vectors,
                                                            &written, NULL, &error);
      if (result == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          if (client->out_source == NULL)
            {
              client->out_source = g_pollable_output_stream_create_source (client->out, NULL);
              g_source_set_callback (client->out_source, G_SOURCE_FUNC (on_client_writable),
                                     client, NULL);
              g_source_attach (client->out_source, client->server->context);
            }
          return TRUE;
        }
      if (result != G_POLLABLE_RETURN_OK)
        {
          g_debug ("Dropping an event viewer: %s", error ? error->message : "write failed");
          return FALSE;
        }
      client->queued -= written;
      while (written > 0)
        {
          gsize size = g_bytes_get_size (client->lines.head->data) - client->offset;

          if (written < size)
            {
              client->offset += written;
              break;
            }
          written -= size;
          client->offset = 0;
          g_bytes_unref (g_queue_pop_head (&client->lines));
        }
    }
  if (client->out_source != NULL)
    {
      g_source_destroy (client->out_source);
      g_clear_pointer (&client->out_source, g_source_unref);
    }
  return TRUE;
}

/* Queues a "log" event for @client alone: the answer to what it sent. */
static void
client_tell (Client *client, const char *refused, const char *text)
{
  KcEventServer *server = client->server;
  g_autoptr(KcEvent) notice = kc_event_new (KC_EVENT_KIND_LOG);
  g_autoptr(GBytes) line = NULL;

  kc_event_set_process (notice, "keycall");
  kc_event_set_summary (notice, text);
  kc_event_set_attr (notice, "refused", refused);
  line = encode_line (notice);
  g_mutex_lock (&server->mutex);
  if (!server->closed)
    {
      client_enqueue_locked (client, line, "keycall");
      schedule_flush_locked (server);
    }
  g_mutex_unlock (&server->mutex);
}

static void
client_command (Client *client, const char *line, gsize len)
{
  KcEventServer *server = client->server;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  JsonNode *node;

  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
    len--;
  if (len == 0)
    return;
  if (server->command_func == NULL)
    {
      /* Once is enough: a client that keeps writing learns nothing new. */
      if (!client->told_read_only)
        client_tell (client, "read-only", "This event socket is read-only: only the "
                     "controller's own window may send commands (step mode, slow motion)");
      client->told_read_only = TRUE;
      return;
    }
  if (!g_utf8_validate (line, len, NULL))
    g_set_error_literal (&error, KC_ERROR, KC_ERROR_INVALID, "The command is not UTF-8");
  else if (kc_json_strict_check_object (line, len, 2, "The command", &error))
    {
      parser = json_parser_new ();
      if (json_parser_load_from_data (parser, line, len, &error))
        {
          node = json_parser_get_root (parser);
          object = json_node_get_object (node);
          if (!json_object_has_member (object, "v")
              || json_node_get_value_type (json_object_get_member (object, "v")) != G_TYPE_INT64
              || json_object_get_int_member (object, "v") != 1)
            g_set_error_literal (&error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                                 "The command must have \"v\": 1");
          else if (!json_object_has_member (object, "op")
                   || json_node_get_value_type (json_object_get_member (object, "op"))
                      != G_TYPE_STRING)
            g_set_error_literal (&error, KC_ERROR, KC_ERROR_INVALID,
                                 "The command must have a string \"op\"");
          else
            server->command_func (object, server->command_data, &error);
        }
    }
  if (error != NULL)
    client_tell (client, "invalid", error->message);
}

/* Splits what a client sent into command lines. The client stays alive
 * meanwhile: only this context closes clients. */
static void
client_feed (Client *client, const char *data, gsize len)
{
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      gsize chunk = nl ? (gsize) (nl - data) : len;

      if (!client->skipping && client->command->len + chunk >= KC_EVENT_COMMAND_MAX)
        {
          client->skipping = TRUE;
          g_byte_array_set_size (client->command, 0);
          client_tell (client, "too-large", "Command line over the limit, skipped");
        }
      if (client->skipping)
        client->skipping = nl == NULL;
      else
        {
          g_byte_array_append (client->command, (const guint8 *) data, chunk);
          if (nl != NULL)
            {
              g_autoptr(GByteArray) line = client->command;

              client->command = g_byte_array_new ();
              client_command (client, (const char *) line->data, line->len);
            }
        }
      data += nl ? chunk + 1 : chunk;
      len -= nl ? chunk + 1 : chunk;
    }
}

static gboolean
on_client_readable (GObject *stream, gpointer user_data)
{
  Client *client = user_data;
  KcEventServer *server = client->server;
  g_autoptr(GError) error = NULL;
  char buffer[4096];
  gssize n;

  /* Viewers send commands on the window socket only; reading also tells
   * us when one hangs up. */
  n = g_pollable_input_stream_read_nonblocking (client->in, buffer, sizeof buffer, NULL, &error);
  if (n > 0)
    {
      client_feed (client, buffer, n);
      return G_SOURCE_CONTINUE;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;

  g_mutex_lock (&server->mutex);
  client_close_locked (client);
  g_mutex_unlock (&server->mutex);
  return G_SOURCE_REMOVE;
}

static void
client_close_locked (Client *client)
{
  KcEventServer *server = client->server;

  server->clients = g_list_remove (server->clients, client);
  if (client->out_source != NULL)
    g_source_destroy (client->out_source);
  g_clear_pointer (&client->out_source, g_source_unref);
  if (client->in_source != NULL)
    g_source_destroy (client->in_source);
  g_clear_pointer (&client->in_source, g_source_unref);
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_object_unref (client->connection);
  g_queue_clear_full (&client->lines, (GDestroyNotify) g_bytes_unref);
  g_free (client->dropped_process);
  g_byte_array_unref (client->command);
  g_free (client);
}

static gboolean
on_flush (gpointer user_data)
{
  KcEventServer *server = user_data;
  GList *l, *next;

  g_mutex_lock (&server->mutex);
  server->flush_pending = FALSE;
  for (l = server->clients; l != NULL; l = next)
    {
      next = l->next;
      if (!client_flush_locked (l->data))
        client_close_locked (l->data);
    }
  g_mutex_unlock (&server->mutex);
  return G_SOURCE_REMOVE;
}

static void
schedule_flush_locked (KcEventServer *server)
{
  GSource *source;

  if (server->flush_pending || server->closed)
    return;
  server->flush_pending = TRUE;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, on_flush, kc_event_server_ref (server),
                         (GDestroyNotify) kc_event_server_unref);
  g_source_set_static_name (source, "[keycall] event server flush");
  g_source_attach (source, server->context);
  g_source_unref (source);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           user_data)
{
  KcEventServer *server = user_data;
  Client *client;
  gsize fits = 0;
  GList *first;

  client = g_new0 (Client, 1);
  client->server = server;
  client->connection = g_object_ref (connection);
  client->out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (connection)));
  client->in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_queue_init (&client->lines);
  client->command = g_byte_array_new ();

  g_mutex_lock (&server->mutex);
  if (server->closed)
    {
      g_mutex_unlock (&server->mutex);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      g_object_unref (client->connection);
      g_byte_array_unref (client->command);
      g_free (client);
      return TRUE;
    }
  /* The newest replayed lines that fit in one queue; older ones are
   * history the viewer can live without. */
  for (first = server->replay.tail; first != NULL; first = first->prev)
    {
      gsize size = g_bytes_get_size (first->data);

      if (fits + size > server->queue_limit)
        break;
      fits += size;
    }
  for (GList *l = first ? first->next : server->replay.head; l != NULL; l = l->next)
    {
      g_queue_push_tail (&client->lines, g_bytes_ref (l->data));
      client->queued += g_bytes_get_size (l->data);
    }
  if (server->classroom)
    {
      g_autoptr(KcEvent) notice = kc_event_new (KC_EVENT_KIND_LOG);
      g_autoptr(GBytes) line = NULL;

      kc_event_set_process (notice, "keycall");
      kc_event_set_summary (notice, "classroom: this window may reveal call keys");
      kc_event_set_attr (notice, "classroom", "on");
      line = encode_line (notice);
      g_queue_push_tail (&client->lines, g_bytes_ref (line));
      client->queued += g_bytes_get_size (line);
    }
  client->in_source = g_pollable_input_stream_create_source (client->in, NULL);
  g_source_set_callback (client->in_source, G_SOURCE_FUNC (on_client_readable), client, NULL);
  g_source_attach (client->in_source, server->context);
  server->clients = g_list_prepend (server->clients, client);
  schedule_flush_locked (server);
  g_mutex_unlock (&server->mutex);
  return TRUE;
}

/* A leftover socket file from a process that died is replaced; anything
 * else at @path is somebody's and stays. */
static gboolean
clear_stale_socket (const char *path, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct stat st;
  int fd, saved;

  if (lstat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      saved = errno;
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot check the event socket path %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISSOCK (st.st_mode))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                   "Refusing to replace %s with the event socket: it is not a socket. "
                   "Remove it or choose another path", path);
      return FALSE;
    }
  g_strlcpy (addr.sun_path, path, sizeof addr.sun_path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot create a socket: %s", g_strerror (saved));
      return FALSE;
    }
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0 || errno == EAGAIN)
    {
      close (fd);
      g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                   "Another process is already serving events on %s", path);
      return FALSE;
    }
  saved = errno;
  close (fd);
  if (saved != ECONNREFUSED)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot check whether %s is in use: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  if (unlink (path) != 0 && errno != ENOENT)
    {
      saved = errno;
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot remove the stale event socket %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* Binds under a temporary name, restricts it, and only then renames it into
 * place, so the socket never exists at @path with looser permissions (the
 * umask is process-wide and cannot be changed safely with threads). */
static GSocket *
bind_private_socket (const char *path, dev_t *dev, ino_t *ino, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.%06x", path, g_random_int () & 0xffffff);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  struct stat st;
  int saved;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return NULL;
  address = g_unix_socket_address_new (tmp);
  if (!g_socket_bind (socket, address, FALSE, error))
    {
      g_prefix_error (error, "Cannot create the event socket %s: ", path);
      return NULL;
    }
  if (chmod (tmp, 0600) != 0 || rename (tmp, path) != 0 || lstat (path, &st) != 0)
    {
      saved = errno;
      unlink (tmp);
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot put the event socket at %s: %s",
                   path, g_strerror (saved));
      return NULL;
    }
  *dev = st.st_dev;
  *ino = st.st_ino;
  if (!g_socket_listen (socket, error))
    {
      unlink (path);
      return NULL;
    }
  return g_steal_pointer (&socket);
}

KcEventServer *
kc_event_server_new (const char *path, GError **error)
{
  g_autoptr(KcEventServer) server = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL && *path != '\0', NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Room for the temporary name bind_private_socket() uses. */
  if (strlen (path) > PATH_MAX_LEN)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Event socket path %s is too long: at most %d bytes", path, PATH_MAX_LEN);
      return NULL;
    }
  if (!clear_stale_socket (path, error))
    return NULL;

  server = g_new0 (KcEventServer, 1);
  g_atomic_ref_count_init (&server->ref);
  g_mutex_init (&server->mutex);
  g_queue_init (&server->replay);
  server->replay_size = KC_EVENT_SERVER_REPLAY_DEFAULT;
  server->queue_limit = KC_EVENT_SERVER_QUEUE_LIMIT_DEFAULT;
  server->context = g_main_context_ref_thread_default ();
  server->closed = TRUE;   /* until listening: nothing to remove at @path */

  socket = bind_private_socket (path, &server->dev, &server->ino, error);
  if (socket == NULL)
    return NULL;
  server->path = g_strdup (path);
  server->closed = FALSE;
  server->service = g_socket_service_new ();
  if (!g_socket_listener_add_socket (G_SOCKET_LISTENER (server->service), socket, NULL,
                                     &local_error))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot listen on the event socket %s: %s",
                   path, local_error->message);
      return NULL;
    }
  server->incoming_id = g_signal_connect (server->service, "incoming",
                                          G_CALLBACK (on_incoming), server);
  g_socket_service_start (server->service);
  return g_steal_pointer (&server);
}

KcEventServer *
kc_event_server_ref (KcEventServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  g_atomic_ref_count_inc (&server->ref);
  return server;
}

void
kc_event_server_close (KcEventServer *server)
{
  struct stat st;

  g_return_if_fail (server != NULL);

  g_mutex_lock (&server->mutex);
  if (server->closed)
    {
      g_mutex_unlock (&server->mutex);
      return;
    }
  server->closed = TRUE;
  while (server->clients != NULL)
    client_close_locked (server->clients->data);
  g_queue_clear_full (&server->replay, (GDestroyNotify) g_bytes_unref);
  g_mutex_unlock (&server->mutex);

  if (server->service != NULL)
    {
      g_socket_service_stop (server->service);
      g_socket_listener_close (G_SOCKET_LISTENER (server->service));
      g_clear_signal_handler (&server->incoming_id, server->service);
    }
  /* Only our own socket: another server may have taken the path since. */
  if (lstat (server->path, &st) == 0 && st.st_dev == server->dev && st.st_ino == server->ino)
    unlink (server->path);
}

void
kc_event_server_unref (KcEventServer *server)
{
  g_return_if_fail (server != NULL);

  if (!g_atomic_ref_count_dec (&server->ref))
    return;
  kc_event_server_close (server);
  if (server->command_destroy != NULL)
    server->command_destroy (server->command_data);
  g_clear_object (&server->service);
  g_main_context_unref (server->context);
  g_mutex_clear (&server->mutex);
  g_free (server->path);
  g_free (server);
}

const char *
kc_event_server_get_path (KcEventServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);

  return server->path;
}

void
kc_event_server_set_replay_size (KcEventServer *server, guint n)
{
  g_return_if_fail (server != NULL);

  g_mutex_lock (&server->mutex);
  server->replay_size = n;
  while (server->replay.length > n)
    g_bytes_unref (g_queue_pop_head (&server->replay));
  g_mutex_unlock (&server->mutex);
}

void
kc_event_server_set_queue_limit (KcEventServer *server, gsize bytes)
{
  g_return_if_fail (server != NULL);
  g_return_if_fail (bytes > 0);

  g_mutex_lock (&server->mutex);
  server->queue_limit = bytes;
  g_mutex_unlock (&server->mutex);
}

guint
kc_event_server_get_n_clients (KcEventServer *server)
{
  guint n;

  g_return_val_if_fail (server != NULL, 0);

  g_mutex_lock (&server->mutex);
  n = g_list_length (server->clients);
  g_mutex_unlock (&server->mutex);
  return n;
}

void
kc_event_server_push (KcEventServer *server, KcEvent *event)
{
  g_autoptr(GBytes) line = NULL;

  g_return_if_fail (server != NULL);
  g_return_if_fail (event != NULL);
  g_return_if_fail (kc_event_get_process (event) != NULL);

  line = encode_line (event);
  g_mutex_lock (&server->mutex);
  if (!server->closed)
    {
      if (server->replay_size > 0)
        {
          g_queue_push_tail (&server->replay, g_bytes_ref (line));
          if (server->replay.length > server->replay_size)
            g_bytes_unref (g_queue_pop_head (&server->replay));
        }
      for (GList *l = server->clients; l != NULL; l = l->next)
        client_enqueue_locked (l->data, line, kc_event_get_process (event));
      if (server->clients != NULL)
        schedule_flush_locked (server);
    }
  g_mutex_unlock (&server->mutex);
}

static void
on_bus_event (KcEvent *event, gpointer user_data)
{
  kc_event_server_push (user_data, event);
}

guint
kc_event_server_attach (KcEventServer *server, KcEventBus *bus)
{
  g_return_val_if_fail (server != NULL, 0);
  g_return_val_if_fail (bus != NULL, 0);

  return kc_event_bus_add_listener (bus, on_bus_event, kc_event_server_ref (server),
                                    (GDestroyNotify) kc_event_server_unref);
}

void
kc_event_server_set_command_func (KcEventServer      *server,
                                  KcEventCommandFunc  func,
                                  gpointer            user_data,
                                  GDestroyNotify      destroy)
{
  g_return_if_fail (server != NULL);

  if (server->command_destroy != NULL)
    server->command_destroy (server->command_data);
  server->command_func = func;
  server->command_data = user_data;
  server->command_destroy = destroy;
}

void
kc_event_server_set_classroom (KcEventServer *server)
{
  g_return_if_fail (server != NULL);

  g_mutex_lock (&server->mutex);
  server->classroom = TRUE;
  g_mutex_unlock (&server->mutex);
}

static void
wipe_line (gpointer data)
{
  OPENSSL_cleanse (data, strlen (data));
  g_free (data);
}

void
kc_event_server_push_key (KcEventServer  *server,
                          const char     *call_id,
                          const char     *key_id_hex,
                          const KcSecret *key)
{
  g_autoptr(GBytes) line = NULL;
  char *key_text, *text;

  g_return_if_fail (server != NULL);
  g_return_if_fail (call_id != NULL && key_id_hex != NULL && key != NULL);

  if (!server->classroom)
    return;
  /* Identifiers are ours (a Call-ID the controller checked, hex); the
   * JSON escaping of json-glib is not needed, but quotes never pass. */
  if (strpbrk (call_id, "\"\\\n\r") != NULL || strpbrk (key_id_hex, "\"\\\n\r") != NULL)
    return;
  key_text = kc_secret_to_base64 (key);
  text = g_strdup_printf ("{\"v\":1,\"reveal\":\"key\",\"call\":\"%s\",\"key_id\":\"%s\","
                          "\"key\":\"%s\"}\n", call_id, key_id_hex, key_text);
  kc_secret_text_free (key_text);
  line = g_bytes_new_with_free_func (text, strlen (text), wipe_line, text);
  g_mutex_lock (&server->mutex);
  if (!server->closed)
    {
      /* Never into the replay ring: a key is for who watches now. */
      for (GList *l = server->clients; l != NULL; l = l->next)
        client_enqueue_locked (l->data, line, "keycall");
      if (server->clients != NULL)
        schedule_flush_locked (server);
    }
  g_mutex_unlock (&server->mutex);
}
