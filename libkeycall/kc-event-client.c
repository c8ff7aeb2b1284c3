/* kc-event-client.c: KcEventClient, which reads the JSON lines of an event
 * socket (kc-event-server.c) and emits each one as a KcEvent; a bad line is
 * reported and skipped, the stream goes on.
 */
#define G_LOG_DOMAIN "kc-event-socket"

#include "kc-event-socket.h"
#include "kc-error.h"
#include "kc-json-strict.h"

#include <gio/gunixsocketaddress.h>
#include <openssl/crypto.h>
#include <string.h>

#define READ_CHUNK  (64 * 1024)

enum {
  SIGNAL_EVENT,
  SIGNAL_LINE_ERROR,
  SIGNAL_CLOSED,
  SIGNAL_KEY,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _KcEventClient {
  GObject             parent_instance;

  GSocketConnection  *connection;
  GInputStream       *input;
  GCancellable       *cancellable;   /* reads of the current connection */
  GByteArray         *partial;       /* an unfinished line */
  gboolean            skipping;      /* inside an over-long line: drop to its end */
  guint64             line_number;
  guint               generation;    /* bumped on every disconnect */
};

G_DEFINE_FINAL_TYPE (KcEventClient, kc_event_client, G_TYPE_OBJECT)

static void start_read (KcEventClient *self);

static void
client_reset (KcEventClient *self)
{
  self->generation++;
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->connection != NULL)
    g_io_stream_close (G_IO_STREAM (self->connection), NULL, NULL);
  g_clear_object (&self->connection);
  self->input = NULL;
  g_byte_array_set_size (self->partial, 0);
  self->skipping = FALSE;
  self->line_number = 0;
}

static void
report_line_error (KcEventClient *self, GError *error)
{
  g_prefix_error (&error, "Event stream line %" G_GUINT64_FORMAT ": ", self->line_number);
  g_signal_emit (self, signals[SIGNAL_LINE_ERROR], 0, error);
  g_error_free (error);
}

#define REVEAL_PREFIX "{\"v\":1,\"reveal\":\"key\","

/* A classroom server's key line (kc_event_server_push_key). */
static void
handle_key_line (KcEventClient *self, const char *line, gsize len)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(KcSecret) key = NULL;
  GError *error = NULL;
  JsonObject *object;
  const char *call_id, *key_id, *text;

  if (!kc_json_strict_check_object (line, len, 1, "A key line", &error)
      || !json_parser_load_from_data (parser, line, len, &error))
    {
      report_line_error (self, error);
      return;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  call_id = json_object_get_string_member_with_default (object, "call", NULL);
  key_id = json_object_get_string_member_with_default (object, "key_id", NULL);
  text = json_object_get_string_member_with_default (object, "key", NULL);
  if (call_id == NULL || key_id == NULL || text == NULL
      || (key = kc_secret_new_from_base64 (text, 0, &error)) == NULL)
    {
      report_line_error (self, error ? error : g_error_new_literal (KC_ERROR, KC_ERROR_INVALID,
                                                                    "A key line lacks a field"));
      return;
    }
  g_signal_emit (self, signals[SIGNAL_KEY], 0, call_id, key_id, key);
}

static void
handle_line (KcEventClient *self, const char *line, gsize len)
{
  g_autoptr(KcEvent) event = NULL;
  GError *error = NULL;

  if (len == 0 || (len == 1 && line[0] == '\r'))
    return;
  if (len > strlen (REVEAL_PREFIX) && memcmp (line, REVEAL_PREFIX, strlen (REVEAL_PREFIX)) == 0)
    {
      handle_key_line (self, line, len);
      return;
    }
  event = kc_event_from_json (line, len, &error);
  if (event == NULL)
    {
      report_line_error (self, error);
      return;
    }
  kc_event_freeze (event);
  g_signal_emit (self, signals[SIGNAL_EVENT], 0, event);
}

/* Splits @data into lines; stops early when a signal handler disconnected
 * (or reconnected) the client. */
static void
feed (KcEventClient *self, const guint8 *data, gsize len)
{
  guint generation = self->generation;

  while (len > 0 && generation == self->generation)
    {
      const guint8 *nl = memchr (data, '\n', len);
      gsize chunk = nl ? (gsize) (nl - data) : len;
      gsize consumed = nl ? chunk + 1 : chunk;

      if (!self->skipping && self->partial->len + chunk > KC_EVENT_LINE_MAX + 1)
        {
          self->line_number++;
          self->skipping = TRUE;
          g_byte_array_set_size (self->partial, 0);
          report_line_error (self, g_error_new (KC_ERROR, KC_ERROR_TOO_LARGE,
                                                "line over the limit of %d bytes, skipped",
                                                KC_EVENT_LINE_MAX));
        }
      if (self->skipping)
        {
          if (nl != NULL)
            self->skipping = FALSE;
        }
      else
        {
          g_byte_array_append (self->partial, data, chunk);
          if (nl != NULL)
            {
              /* Copy out: a handler may reconnect and reset the buffer. */
              gsize n = self->partial->len;
              char *line = g_malloc (n + 1);

              memcpy (line, self->partial->data, n);
              line[n] = '\0';
              /* A classroom key line must not stay behind in buffers. */
              memset (self->partial->data, 0, n);
              g_byte_array_set_size (self->partial, 0);
              self->line_number++;
              handle_line (self, line, n);
              OPENSSL_cleanse (line, n);
              g_free (line);
            }
        }
      data += consumed;
      len -= consumed;
    }
}

static void
on_read (GObject *stream, GAsyncResult *result, gpointer user_data)
{
  GWeakRef *weak = user_data;
  g_autoptr(KcEventClient) self = g_weak_ref_get (weak);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint generation;

  g_weak_ref_clear (weak);
  g_free (weak);
  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (stream), result, &error);
  if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || G_INPUT_STREAM (stream) != self->input)
    return;

  if (bytes != NULL && g_bytes_get_size (bytes) > 0)
    {
      generation = self->generation;
      feed (self, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      if (generation == self->generation)
        start_read (self);
      return;
    }

  if (error == NULL && self->partial->len > 0 && !self->skipping)
    {
      generation = self->generation;
      self->line_number++;
      report_line_error (self, g_error_new_literal (KC_ERROR, KC_ERROR_INVALID,
                                                    "the stream ended inside a line"));
      if (generation != self->generation)
        return;
    }
  client_reset (self);
  if (error != NULL)
    {
      GError *closed = g_error_new (KC_ERROR, KC_ERROR_IO, "The event stream broke: %s",
                                    error->message);

      g_signal_emit (self, signals[SIGNAL_CLOSED], 0, closed);
      g_error_free (closed);
    }
  else
    g_signal_emit (self, signals[SIGNAL_CLOSED], 0, NULL);
}

static void
start_read (KcEventClient *self)
{
  /* A weak reference: dropping the client must not wait for the server. */
  GWeakRef *weak = g_new0 (GWeakRef, 1);

  g_weak_ref_init (weak, self);
  g_input_stream_read_bytes_async (self->input, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_read, weak);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  KcEventClient *self = g_task_get_source_object (task);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      g_task_return_new_error (task, KC_ERROR, KC_ERROR_IO,
                               "Cannot connect to the event socket %s: %s",
                               (const char *) g_task_get_task_data (task), error->message);
      return;
    }
  if (self->connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      g_task_return_new_error (task, KC_ERROR, KC_ERROR_EXISTS,
                               "The event client is already connected; disconnect first");
      return;
    }
  client_reset (self);
  self->connection = g_steal_pointer (&connection);
  self->input = g_io_stream_get_input_stream (G_IO_STREAM (self->connection));
  self->cancellable = g_cancellable_new ();
  start_read (self);
  g_task_return_boolean (task, TRUE);
}

KcEventClient *
kc_event_client_new (void)
{
  return g_object_new (KC_TYPE_EVENT_CLIENT, NULL);
}

void
kc_event_client_connect_async (KcEventClient       *self,
                               const char          *path,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GSocketClient) socket_client = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  GTask *task;

  g_return_if_fail (KC_IS_EVENT_CLIENT (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, kc_event_client_connect_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  if (self->connection != NULL)
    {
      g_task_return_new_error (task, KC_ERROR, KC_ERROR_EXISTS,
                               "The event client is already connected; disconnect first");
      g_object_unref (task);
      return;
    }
  socket_client = g_socket_client_new ();
  address = g_unix_socket_address_new (path);
  g_socket_client_connect_async (socket_client, G_SOCKET_CONNECTABLE (address), cancellable,
                                 on_connected, task);
}

gboolean
kc_event_client_connect_finish (KcEventClient  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
kc_event_client_is_connected (KcEventClient *self)
{
  g_return_val_if_fail (KC_IS_EVENT_CLIENT (self), FALSE);

  return self->connection != NULL;
}

void
kc_event_client_disconnect (KcEventClient *self)
{
  g_return_if_fail (KC_IS_EVENT_CLIENT (self));

  client_reset (self);
}

static void
kc_event_client_dispose (GObject *object)
{
  KcEventClient *self = KC_EVENT_CLIENT (object);

  client_reset (self);
  G_OBJECT_CLASS (kc_event_client_parent_class)->dispose (object);
}

static void
kc_event_client_finalize (GObject *object)
{
  KcEventClient *self = KC_EVENT_CLIENT (object);

  g_byte_array_unref (self->partial);
  G_OBJECT_CLASS (kc_event_client_parent_class)->finalize (object);
}

static void
kc_event_client_class_init (KcEventClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_event_client_dispose;
  object_class->finalize = kc_event_client_finalize;

  signals[SIGNAL_EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, KC_TYPE_EVENT);
  signals[SIGNAL_LINE_ERROR] =
    g_signal_new ("line-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[SIGNAL_KEY] =
    g_signal_new ("key", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_POINTER);
}

static void
kc_event_client_init (KcEventClient *self)
{
  self->partial = g_byte_array_new ();
}

gboolean
kc_event_client_send_command (KcEventClient  *self,
                              const char     *json,
                              GError        **error)
{
  g_autofree char *line = NULL;
  g_autoptr(GError) local_error = NULL;
  GOutputStream *out;

  g_return_val_if_fail (KC_IS_EVENT_CLIENT (self), FALSE);
  g_return_val_if_fail (json != NULL && strchr (json, '\n') == NULL, FALSE);

  if (self->connection == NULL)
    {
      g_set_error_literal (error, KC_ERROR, KC_ERROR_IO,
                           "Not connected to the controller's window socket");
      return FALSE;
    }
  line = g_strconcat (json, "\n", NULL);
  out = g_io_stream_get_output_stream (G_IO_STREAM (self->connection));
  /* A few bytes on a local socket: writing at once never waits long. */
  if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &local_error))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot send the command: %s",
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}
