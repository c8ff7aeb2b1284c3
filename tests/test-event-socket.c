/* test-event-socket.c: events served on a UNIX socket and read back. */
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>

#include "kc-test.h"

#include "kc-error.h"
#include "kc-event.h"
#include "kc-event-bus.h"
#include "kc-event-socket.h"

#include <string.h>
#include <sys/stat.h>

#define WAIT_MS 10000

typedef gboolean (*Condition) (gpointer data);

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until @done holds; a failure cannot hang. */
static gboolean
run_until (Condition done, gpointer data)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add (WAIT_MS, on_deadline, &expired);

  while (!done (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return done (data);
}

/* What one KcEventClient saw. */
typedef struct {
  KcEventClient *client;
  GPtrArray     *events;
  GPtrArray     *errors;     /* GError* */
  gboolean       connected;
  gboolean       closed;
  GError        *connect_error;
  GError        *closed_error;
  guint          want;       /* for has_events() */
} Viewer;

static void
on_event (KcEventClient *client, KcEvent *event, Viewer *v)
{
  g_ptr_array_add (v->events, kc_event_ref (event));
}

static void
on_line_error (KcEventClient *client, GError *error, Viewer *v)
{
  g_ptr_array_add (v->errors, g_error_copy (error));
}

static void
on_closed (KcEventClient *client, GError *error, Viewer *v)
{
  v->closed = TRUE;
  v->closed_error = error ? g_error_copy (error) : NULL;
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Viewer *v = data;

  v->connected = kc_event_client_connect_finish (KC_EVENT_CLIENT (source), result,
                                                 &v->connect_error);
}

static gboolean
viewer_connect_done (gpointer data)
{
  Viewer *v = data;

  return v->connected || v->connect_error != NULL;
}

static void
viewer_init (Viewer *v, const char *path)
{
  memset (v, 0, sizeof *v);
  v->client = kc_event_client_new ();
  v->events = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_event_unref);
  v->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  g_signal_connect (v->client, "event", G_CALLBACK (on_event), v);
  g_signal_connect (v->client, "line-error", G_CALLBACK (on_line_error), v);
  g_signal_connect (v->client, "closed", G_CALLBACK (on_closed), v);
  kc_event_client_connect_async (v->client, path, NULL, on_connected, v);
  ck_assert (run_until (viewer_connect_done, v));
}

static void
viewer_clear (Viewer *v)
{
  g_clear_object (&v->client);
  g_ptr_array_unref (v->events);
  g_ptr_array_unref (v->errors);
  g_clear_error (&v->connect_error);
  g_clear_error (&v->closed_error);
}

static gboolean
has_events (gpointer data)
{
  Viewer *v = data;

  return v->events->len >= v->want;
}

static gboolean
is_closed (gpointer data)
{
  return ((Viewer *) data)->closed;
}

typedef struct {
  KcEventServer *server;
  guint          n;
} ClientCount;

static gboolean
has_n_clients (gpointer data)
{
  ClientCount *c = data;

  return kc_event_server_get_n_clients (c->server) == c->n;
}

static void
wait_clients (KcEventServer *server, guint n)
{
  ClientCount c = { server, n };

  ck_assert_msg (run_until (has_n_clients, &c), "server has %u clients, not %u",
                 kc_event_server_get_n_clients (server), n);
}

static void
emit_n (KcEventBus *bus, int n, gsize message_size)
{
  g_autofree char *message = message_size ? g_strnfill (message_size, 'm') : NULL;

  for (int i = 0; i < n; i++)
    {
      g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_SIP_RX);

      kc_event_set_lane (event, "controller:gc1");
      kc_event_set_summary_printf (event, "event %d", i);
      kc_event_set_message (event, message);
      kc_event_bus_emit (bus, event);
    }
}

START_TEST (test_two_clients_same_events)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "gc1.sock", NULL);
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEventServer) server = kc_event_server_new (path, &error);
  Viewer a, b;
  struct stat st;
  guint id;

  ck_assert_msg (server != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (lstat (path, &st), 0);
  ck_assert (S_ISSOCK (st.st_mode));
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  id = kc_event_server_attach (server, bus);

  viewer_init (&a, path);
  viewer_init (&b, path);
  ck_assert (a.connected && b.connected);
  ck_assert (kc_event_client_is_connected (a.client));
  wait_clients (server, 2);

  emit_n (bus, 50, 100);
  a.want = b.want = 50;
  ck_assert (run_until (has_events, &a));
  ck_assert (run_until (has_events, &b));
  ck_assert_uint_eq (a.events->len, 50);
  ck_assert_uint_eq (b.events->len, 50);
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *summary = g_strdup_printf ("event %u", i);

      ck_assert_uint_eq (kc_event_get_seq (a.events->pdata[i]), i + 1);
      ck_assert (kc_event_equal (a.events->pdata[i], b.events->pdata[i]));
      ck_assert_str_eq (kc_event_get_summary (a.events->pdata[i]), summary);
      ck_assert_str_eq (kc_event_get_process (a.events->pdata[i]), "gc1");
    }
  ck_assert_uint_eq (a.errors->len, 0);

  /* A viewer that leaves is forgotten; the other goes on. */
  kc_event_client_disconnect (a.client);
  ck_assert (!kc_event_client_is_connected (a.client));
  wait_clients (server, 1);
  emit_n (bus, 1, 0);
  b.want = 51;
  ck_assert (run_until (has_events, &b));
  ck_assert (!a.closed);   /* no "closed" for a disconnect we asked for */
  ck_assert_uint_eq (a.events->len, 50);

  /* The server going away is reported, cleanly, and takes its file along. */
  kc_event_bus_remove_listener (bus, id);
  g_clear_pointer (&server, kc_event_server_unref);
  ck_assert (run_until (is_closed, &b));
  ck_assert_ptr_null (b.closed_error);
  ck_assert (!kc_event_client_is_connected (b.client));
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));

  viewer_clear (&a);
  viewer_clear (&b);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_replay_for_late_client)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "gc1.sock", NULL);
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  g_autoptr(KcEventServer) server = kc_event_server_new (path, NULL);
  Viewer late, later;

  ck_assert_ptr_nonnull (server);
  kc_event_server_attach (server, bus);
  /* The default keeps the last 1000. */
  emit_n (bus, 1005, 0);
  viewer_init (&late, path);
  late.want = 1000;
  ck_assert (run_until (has_events, &late));
  ck_assert_uint_eq (kc_event_get_seq (late.events->pdata[0]), 6);
  ck_assert_uint_eq (kc_event_get_seq (late.events->pdata[999]), 1005);

  kc_event_server_set_replay_size (server, 3);
  emit_n (bus, 2, 0);
  viewer_init (&later, path);
  later.want = 3;
  ck_assert (run_until (has_events, &later));
  emit_n (bus, 1, 0);
  later.want = 4;
  late.want = 1003;
  ck_assert (run_until (has_events, &later));
  ck_assert (run_until (has_events, &late));
  /* Last 3 (1005..1007), then the live one, nothing twice. */
  ck_assert_uint_eq (later.events->len, 4);
  for (guint i = 0; i < 4; i++)
    ck_assert_uint_eq (kc_event_get_seq (later.events->pdata[i]), 1005 + i);
  ck_assert_uint_eq (kc_event_get_seq (late.events->pdata[1002]), 1008);

  viewer_clear (&late);
  viewer_clear (&later);
  kc_test_rmtree (dir);
}
END_TEST

/* Reads what is there from a raw socket, splitting lines into @lines. */
static gboolean
read_some (GSocket *socket, GString *partial, GPtrArray *events)
{
  char buffer[65536];
  gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);
  char *nl;

  if (n <= 0)
    return FALSE;
  g_string_append_len (partial, buffer, n);
  while ((nl = memchr (partial->str, '\n', partial->len)) != NULL)
    {
      g_autoptr(GError) error = NULL;
      KcEvent *event = kc_event_from_json (partial->str, nl - partial->str, &error);

      ck_assert_msg (event != NULL, "%s", error ? error->message : "");
      g_ptr_array_add (events, event);
      g_string_erase (partial, 0, nl - partial->str + 1);
    }
  return TRUE;
}

START_TEST (test_slow_client_dropped_notice)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "gc1.sock", NULL);
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  g_autoptr(KcEventServer) server = kc_event_server_new (path, NULL);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_event_unref);
  g_autoptr(GString) partial = g_string_new (NULL);
  const int total = 3000;
  gint64 deadline;
  KcEvent *notice = NULL;
  guint64 dropped, before = 0;
  gboolean after_seen = FALSE;

  ck_assert_ptr_nonnull (server);
  kc_event_server_set_replay_size (server, 0);
  kc_event_server_set_queue_limit (server, 64 * 1024);
  kc_event_server_attach (server, bus);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
  ck_assert (g_socket_connect (socket, address, NULL, NULL));
  wait_clients (server, 1);

  /* ~3 MB to a viewer that reads nothing: far over socket buffers plus the
   * 64 KiB queue. The loop runs between emits, as a controller's would; a
   * blocking write would hang it here until Check's timeout fails the test. */
  for (int i = 0; i < total; i++)
    {
      emit_n (bus, 1, 1000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  ck_assert_uint_eq (kc_event_server_get_n_clients (server), 1);

  /* The viewer catches up: what was queued, then the notice. */
  g_socket_set_blocking (socket, FALSE);
  deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (!after_seen && g_get_monotonic_time () < deadline)
    {
      gboolean got = read_some (socket, partial, events);

      while (g_main_context_iteration (NULL, FALSE))
        ;
      for (guint i = before; i < events->len; i++)
        {
          KcEvent *event = events->pdata[i];

          if (kc_event_get_kind (event) == KC_EVENT_KIND_LOG && notice == NULL)
            {
              notice = event;
              emit_n (bus, 1, 0);   /* after catching up, delivery resumes */
            }
          else if (notice != NULL)
            after_seen = TRUE;
        }
      before = events->len;
      if (!got)
        g_usleep (1000);
    }
  ck_assert_msg (notice != NULL, "no dropped notice among %u events", events->len);
  ck_assert (after_seen);
  ck_assert_ptr_nonnull (kc_event_get_attr (notice, "dropped"));
  dropped = g_ascii_strtoull (kc_event_get_attr (notice, "dropped"), NULL, 10);
  ck_assert_uint_gt (dropped, 0);
  ck_assert_ptr_nonnull (strstr (kc_event_get_summary (notice), "dropped"));
  ck_assert_str_eq (kc_event_get_process (notice), "gc1");

  /* Before the notice: seq 1..k without a gap; the notice explains the
   * gap up to the event after it. */
  {
    guint k = 0;

    while (events->pdata[k] != notice)
      {
        ck_assert_uint_eq (kc_event_get_seq (events->pdata[k]), k + 1);
        k++;
      }
    ck_assert_uint_lt (k, total);
    ck_assert_uint_eq (k + dropped, total);
    ck_assert_uint_eq (kc_event_get_seq (events->pdata[k + 1]), total + 1);
    ck_assert_uint_eq (events->len, k + 2);
  }
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_client_hangs_up_mid_stream)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "gc1.sock", NULL);
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  g_autoptr(KcEventServer) server = kc_event_server_new (path, NULL);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);

  ck_assert_ptr_nonnull (server);
  kc_event_server_attach (server, bus);
  ck_assert (g_socket_connect (socket, address, NULL, NULL));
  wait_clients (server, 1);
  /* Fill its socket and queue, then hang up: the server's next writes hit
   * a closed peer, which must not raise SIGPIPE in the controller. */
  emit_n (bus, 500, 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_socket_close (socket, NULL);
  for (int i = 0; i < 100; i++)
    {
      emit_n (bus, 1, 1000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  wait_clients (server, 0);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_socket_path_safety)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "gc1.sock", NULL);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  struct stat st, st2;

  /* A stale socket file (its process died): replaced. */
  {
    g_autoptr(GSocket) dead = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
    g_autoptr(KcEventServer) server = NULL;

    ck_assert (g_socket_bind (dead, address, FALSE, NULL));
    g_socket_close (dead, NULL);
    ck_assert (g_file_test (path, G_FILE_TEST_EXISTS));
    server = kc_event_server_new (path, &error);
    ck_assert_msg (server != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq (stat (path, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0600);
  }
  ck_assert (!g_file_test (path, G_FILE_TEST_EXISTS));

  /* A live one: left alone. */
  {
    g_autoptr(GSocket) live = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
    g_autoptr(KcEventServer) server = NULL;

    ck_assert (g_socket_bind (live, address, FALSE, NULL));
    ck_assert (g_socket_listen (live, NULL));
    ck_assert_int_eq (stat (path, &st), 0);
    server = kc_event_server_new (path, &error);
    ck_assert_ptr_null (server);
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_EXISTS));
    ck_assert_ptr_nonnull (strstr (error->message, "Another process"));
    ck_assert_int_eq (stat (path, &st2), 0);
    ck_assert_int_eq (st.st_ino, st2.st_ino);
    g_clear_error (&error);
    g_socket_close (live, NULL);
    unlink (path);
  }

  /* Not a socket: refused, untouched. */
  ck_assert (g_file_set_contents (path, "precious", -1, NULL));
  {
    g_autoptr(KcEventServer) server = kc_event_server_new (path, &error);

    ck_assert_ptr_null (server);
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_EXISTS));
    ck_assert_ptr_nonnull (strstr (error->message, "not a socket"));
    ck_assert (g_file_get_contents (path, &contents, NULL, NULL));
    ck_assert_str_eq (contents, "precious");
    g_clear_error (&error);
  }

  /* Too long for sun_path: said so. */
  {
    g_autofree char *name = g_strnfill (120, 's');
    g_autofree char *long_path = g_build_filename (dir, name, NULL);
    g_autoptr(KcEventServer) server = kc_event_server_new (long_path, &error);

    ck_assert_ptr_null (server);
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
    ck_assert_ptr_nonnull (strstr (error->message, "too long"));
  }
  kc_test_rmtree (dir);
}
END_TEST

/* A hand-written server for the client tests: writes @data then hangs up. */
typedef struct {
  GSocketConnection *connection;
  GBytes            *data;
} Feed;

static gpointer
feed_thread (gpointer user_data)
{
  Feed *feed = user_data;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (feed->connection));

  /* Blocking is fine here: the client reads on the main thread. */
  g_output_stream_write_all (out, g_bytes_get_data (feed->data, NULL),
                             g_bytes_get_size (feed->data), NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (feed->connection), NULL, NULL);
  g_object_unref (feed->connection);
  g_bytes_unref (feed->data);
  g_free (feed);
  return NULL;
}

static gboolean
on_feed_incoming (GSocketService *service, GSocketConnection *connection,
                  GObject *source, gpointer data)
{
  Feed *feed = g_new0 (Feed, 1);

  g_socket_set_blocking (g_socket_connection_get_socket (connection), TRUE);
  feed->connection = g_object_ref (connection);
  feed->data = g_bytes_ref (data);
  g_thread_unref (g_thread_new ("feed", feed_thread, feed));
  return TRUE;
}

static void
unref_bytes (gpointer data, GClosure *closure)
{
  g_bytes_unref (data);
}

static GSocketService *
feed_server (const char *path, GBytes *data)
{
  GSocketService *service = g_socket_service_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);

  ck_assert (g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                            G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                            NULL, NULL, NULL));
  g_signal_connect_data (service, "incoming", G_CALLBACK (on_feed_incoming),
                         g_bytes_ref (data), unref_bytes, 0);
  g_socket_service_start (service);
  return service;
}

static char *
good_line (guint64 seq)
{
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_KEY_ACK);

  kc_event_set_process (event, "gc2");
  kc_event_set_seq (event, seq);
  return kc_event_to_json (event);
}

START_TEST (test_client_skips_bad_lines)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "feed.sock", NULL);
  g_autofree char *one = good_line (1), *two = good_line (2), *three = good_line (3);
  g_autofree char *huge = g_strnfill (KC_EVENT_LINE_MAX + 10, 'x');
  g_autofree char *text = g_strconcat ("this is not json\n", one, "\n\n",
                                       "{\"v\":2}\r\n", two, "\n",
                                       huge, "\n", three, "\n",
                                       "{\"v\":1,\"ts_us\":1", NULL);
  gsize text_len = strlen (text);
  g_autoptr(GBytes) data = g_bytes_new_take (g_steal_pointer (&text), text_len);
  g_autoptr(GSocketService) service = feed_server (path, data);
  Viewer v;
  GError **errors;

  viewer_init (&v, path);
  ck_assert (v.connected);
  ck_assert (run_until (is_closed, &v));
  ck_assert_ptr_null (v.closed_error);

  /* Every good line, in order, and each bad one reported by line number. */
  ck_assert_uint_eq (v.events->len, 3);
  for (guint i = 0; i < 3; i++)
    ck_assert_uint_eq (kc_event_get_seq (v.events->pdata[i]), i + 1);
  ck_assert_uint_eq (v.errors->len, 4);
  errors = (GError **) v.errors->pdata;
  ck_assert (g_error_matches (errors[0], KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (g_str_has_prefix (errors[0]->message, "Event stream line 1: "), "%s",
                 errors[0]->message);
  ck_assert (g_error_matches (errors[1], KC_ERROR, KC_ERROR_UNSUPPORTED));
  ck_assert (g_str_has_prefix (errors[1]->message, "Event stream line 4: "));
  ck_assert (g_error_matches (errors[2], KC_ERROR, KC_ERROR_TOO_LARGE));
  ck_assert (g_str_has_prefix (errors[2]->message, "Event stream line 6: "));
  ck_assert (g_error_matches (errors[3], KC_ERROR, KC_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (errors[3]->message, "ended inside a line"));

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  viewer_clear (&v);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_client_connect_errors)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "nobody.sock", NULL);
  g_autoptr(KcEventServer) server = NULL;
  Viewer v;

  viewer_init (&v, path);
  ck_assert (!v.connected);
  ck_assert (g_error_matches (v.connect_error, KC_ERROR, KC_ERROR_IO));
  ck_assert_ptr_nonnull (strstr (v.connect_error->message, path));
  viewer_clear (&v);

  /* Dropping a connected client without disconnecting is clean too. */
  server = kc_event_server_new (path, NULL);
  ck_assert_ptr_nonnull (server);
  viewer_init (&v, path);
  ck_assert (v.connected);
  wait_clients (server, 1);
  viewer_clear (&v);
  wait_clients (server, 0);
  kc_test_rmtree (dir);
}
END_TEST

/* Commands: only a server given a command function takes them. */
typedef struct {
  GPtrArray *ops;   /* char *, what the function was given */
} Commands;

static gboolean
on_command (JsonObject *command, gpointer user_data, GError **error)
{
  Commands *c = user_data;
  const char *op = json_object_get_string_member (command, "op");

  if (g_str_equal (op, "bad")) {
    g_set_error_literal (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "Unknown command \"bad\"");
    return FALSE;
  }
  g_ptr_array_add (c->ops, g_strdup (op));
  return TRUE;
}

static const char *
refusal (Viewer *v, guint i)
{
  KcEvent *e = i < v->events->len ? g_ptr_array_index (v->events, i) : NULL;

  return e && kc_event_get_kind (e) == KC_EVENT_KIND_LOG ? kc_event_get_attr (e, "refused") : NULL;
}

START_TEST (test_read_only_by_default)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "events.sock", NULL);
  g_autoptr(KcEventServer) server = kc_event_server_new (path, NULL);
  g_autoptr(GError) error = NULL;
  Viewer v, other;

  ck_assert_ptr_nonnull (server);
  viewer_init (&v, path);
  viewer_init (&other, path);
  wait_clients (server, 2);
  ck_assert (kc_event_client_send_command (v.client, "{\"v\":1,\"op\":\"step\",\"on\":true}",
                                           &error));
  ck_assert (kc_event_client_send_command (v.client, "{\"v\":1,\"op\":\"next\"}", &error));
  v.want = 1;
  ck_assert (run_until (has_events, &v));
  ck_assert_str_eq (refusal (&v, 0), "read-only");
  /* Told once, and only the client that wrote. */
  g_usleep (100 * 1000);
  g_main_context_iteration (NULL, FALSE);
  ck_assert_uint_eq (v.events->len, 1);
  ck_assert_uint_eq (other.events->len, 0);
  viewer_clear (&v);
  viewer_clear (&other);
  kc_test_rmtree (dir);
}
END_TEST

START_TEST (test_commands_when_enabled)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "window.sock", NULL);
  g_autoptr(KcEventServer) server = kc_event_server_new (path, NULL);
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *huge = g_strnfill (KC_EVENT_COMMAND_MAX + 10, 'x');
  Commands c = { ops };
  const char *bad[] = {
    "not json", "{\"v\":2,\"op\":\"next\"}", "{\"op\":\"next\"}", "{\"v\":1}",
    "{\"v\":1,\"op\":7}", "{\"v\":1,\"op\":\"next\"} {}", "[1]", "{\"v\":1,\"op\":\"bad\"}",
  };
  Viewer v;

  ck_assert_ptr_nonnull (server);
  kc_event_server_set_command_func (server, on_command, &c, NULL);
  viewer_init (&v, path);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    ck_assert (kc_event_client_send_command (v.client, bad[i], NULL));
  ck_assert (kc_event_client_send_command (v.client, huge, NULL));
  ck_assert (kc_event_client_send_command (v.client, "{\"v\":1,\"op\":\"next\"}", NULL));
  v.want = G_N_ELEMENTS (bad) + 1;
  ck_assert (run_until (has_events, &v));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    ck_assert_msg (g_strcmp0 (refusal (&v, i), "invalid") == 0, "%s: %s", bad[i],
                   refusal (&v, i));
  ck_assert_str_eq (refusal (&v, G_N_ELEMENTS (bad)), "too-large");
  /* The good one after all that still arrives, once. */
  while (ops->len == 0 && g_main_context_iteration (NULL, TRUE))
    ;
  ck_assert_uint_eq (ops->len, 1);
  ck_assert_str_eq (g_ptr_array_index (ops, 0), "next");
  ck_assert_ptr_nonnull (strstr (kc_event_get_summary (g_ptr_array_index (v.events, 7)),
                                 "Unknown command"));
  viewer_clear (&v);
  kc_test_rmtree (dir);
}
END_TEST

static void
on_key (KcEventClient *client, const char *call_id, const char *key_id, KcSecret *key,
        GPtrArray *keys)
{
  g_ptr_array_add (keys, kc_secret_copy (key));
}

/* Classroom: a key goes only to clients of a classroom server, as a key
 * line (never an event, never replayed to a later client). */
START_TEST (test_key_lines_classroom_only)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "window.sock", NULL);
  g_autofree char *plain_path = g_build_filename (dir, "events.sock", NULL);
  g_autoptr(KcEventServer) server = kc_event_server_new (path, NULL);
  g_autoptr(KcEventServer) plain = kc_event_server_new (plain_path, NULL);
  g_autoptr(KcSecret) key = kc_secret_new_random (32, NULL);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_secret_free);
  g_autoptr(GPtrArray) plain_keys = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_secret_free);
  g_autoptr(GPtrArray) late_keys = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_secret_free);
  g_autoptr(KcEvent) marker = kc_event_new (KC_EVENT_KIND_LOG);
  Viewer v, p, late;

  ck_assert_ptr_nonnull (key);
  kc_event_server_set_classroom (server);
  viewer_init (&v, path);
  viewer_init (&p, plain_path);
  g_signal_connect (v.client, "key", G_CALLBACK (on_key), keys);
  g_signal_connect (p.client, "key", G_CALLBACK (on_key), plain_keys);
  wait_clients (server, 1);
  wait_clients (plain, 1);
  kc_event_server_push_key (server, "call-1", "00112233445566778899aabbccddeeff", key);
  kc_event_server_push_key (plain, "call-1", "00112233445566778899aabbccddeeff", key);
  kc_event_set_process (marker, "gc1");
  kc_event_server_push (server, marker);
  kc_event_server_push (plain, marker);
  v.want = 2;   /* the classroom notice, the marker */
  p.want = 1;
  ck_assert (run_until (has_events, &v));
  ck_assert (run_until (has_events, &p));
  ck_assert_uint_eq (keys->len, 1);
  ck_assert (kc_secret_equal (g_ptr_array_index (keys, 0), key));
  ck_assert_str_eq (kc_event_get_attr (g_ptr_array_index (v.events, 0), "classroom"), "on");
  ck_assert_uint_eq (v.errors->len, 0);
  ck_assert_uint_eq (plain_keys->len, 0);
  ck_assert_uint_eq (p.events->len, 1);

  viewer_init (&late, path);
  g_signal_connect (late.client, "key", G_CALLBACK (on_key), late_keys);
  late.want = 2;   /* the notice, the replayed marker: no key */
  ck_assert (run_until (has_events, &late));
  ck_assert_uint_eq (late_keys->len, 0);
  viewer_clear (&v);
  viewer_clear (&p);
  viewer_clear (&late);
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *suite = suite_create ("event-socket");
  TCase *tc = tcase_create ("socket");

  tcase_add_test (tc, test_two_clients_same_events);
  tcase_add_test (tc, test_replay_for_late_client);
  tcase_add_test (tc, test_slow_client_dropped_notice);
  tcase_add_test (tc, test_client_hangs_up_mid_stream);
  tcase_add_test (tc, test_socket_path_safety);
  tcase_add_test (tc, test_client_skips_bad_lines);
  tcase_add_test (tc, test_client_connect_errors);
  tcase_add_test (tc, test_read_only_by_default);
  tcase_add_test (tc, test_commands_when_enabled);
  tcase_add_test (tc, test_key_lines_classroom_only);
  suite_add_tcase (suite, tc);
  return suite;
}

KC_TEST_MAIN (make_suite)
