/* kc-li.c: the lawful-intercept port: TLS, the agencies' certificates and
 * connections (X1 requests: kc-li-x1.c; deliveries: kc-li-deliver.c). */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-li-private.h"

#include "kc-error.h"
#include "kc-li-wire.h"
#include "kc-pki.h"
#include "kc-sip-util.h"

#include <errno.h>
#include <gio/gio.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

/* A client that has not finished its handshake by then is dropped: an
 * unauthenticated peer must not hold a connection open. */
#define HANDSHAKE_TIMEOUT_S 10

/* Writing -------------------------------------------------------------------- */

static void conn_write_next (LiConn *conn);
static void conn_drop (LiConn *conn, const char *why);

static void
li_out_free (LiOut *out)
{
  g_clear_pointer (&out->bytes, g_bytes_unref);
  g_free (out);
}

static LiConn *
conn_ref (LiConn *conn)
{
  conn->refs++;
  return conn;
}

static void
conn_unref (LiConn *conn)
{
  if (--conn->refs > 0)
    return;
  g_queue_clear_full (&conn->out, (GDestroyNotify) li_out_free);
  g_clear_pointer (&conn->writing, g_bytes_unref);
  g_clear_object (&conn->cancellable);
  g_clear_object (&conn->tls);
  g_clear_object (&conn->base);
  g_byte_array_unref (conn->in);
  g_free (conn->peer);
  g_free (conn->lea);
  g_free (conn->lane);
  g_free (conn);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  LiConn *conn = data;

  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  conn_unref (conn);
}

static void
conn_close_now (LiConn *conn)
{
  GIOStream *stream = conn->tls ? G_IO_STREAM (conn->tls) : conn->base;

  g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, on_closed, conn_ref (conn));
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  LiConn *conn = data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&conn->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error)) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      conn_drop (conn, error->message);
  }
  else
    conn_write_next (conn);
  conn_unref (conn);
}

LiConn *
kc_li_conn_ref (LiConn *conn)
{
  return conn_ref (conn);
}

void
kc_li_conn_unref (LiConn *conn)
{
  conn_unref (conn);
}

static void
conn_write_next (LiConn *conn)
{
  LiOut *out;
  gsize size;
  gconstpointer data;

  if (conn->writing != NULL || g_cancellable_is_cancelled (conn->cancellable))
    return;
  if ((out = g_queue_peek_head (&conn->out)) == NULL) {
    if (conn->closing)
      conn_drop (conn, NULL);
    return;
  }
  /* Lines keep their order: one waiting for its audit record holds back
   * those queued after it. */
  if (!out->ready)
    return;
  g_queue_pop_head (&conn->out);
  conn->writing = g_steal_pointer (&out->bytes);   /* alive until on_written */
  li_out_free (out);
  data = g_bytes_get_data (conn->writing, &size);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (conn->tls)),
                                   data, size, G_PRIORITY_DEFAULT, conn->cancellable,
                                   on_written, conn_ref (conn));
}

LiOut *
kc_li_conn_hold_line (LiConn *conn, char *line)
{
  LiOut *out = g_new0 (LiOut, 1);

  out->bytes = g_bytes_new_take (line, strlen (line));
  g_queue_push_tail (&conn->out, out);
  return out;
}

gboolean
kc_li_conn_release (LiConn *conn, LiOut *out, gboolean send)
{
  /* Dropped: its queue goes with it, unwritten. */
  if (g_cancellable_is_cancelled (conn->cancellable))
    return FALSE;
  if (send)
    out->ready = TRUE;
  else if (g_queue_remove (&conn->out, out))
    li_out_free (out);
  conn_write_next (conn);
  return send;
}

/* Stops reading and writing; @why is logged when not NULL. */
static void
conn_drop (LiConn *conn, const char *why)
{
  KcLi *li = conn->li;
  GList *link = g_list_find (li->conns, conn);

  if (link == NULL)
    return;
  if (why != NULL)
    g_message ("Lawful intercept: connection from %s%s%s closed: %s", conn->peer,
               conn->lea ? " (" : "", conn->lea ? conn->lane : "", why);
  li->conns = g_list_delete_link (li->conns, link);
  g_clear_handle_id (&conn->timeout_id, g_source_remove);
  g_cancellable_cancel (conn->cancellable);
  conn_close_now (conn);
  conn_unref (conn);
}

/* Reading -------------------------------------------------------------------- */

static void conn_read_next (LiConn *conn);

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  LiConn *conn = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  guint8 *nl;

  if (g_cancellable_is_cancelled (conn->cancellable) || conn->closing) {
    conn_unref (conn);
    return;
  }
  if (n <= 0) {
    conn_drop (conn, n == 0 ? "closed by the agency" : error->message);
    conn_unref (conn);
    return;
  }
  g_byte_array_append (conn->in, conn->chunk, (guint) n);
  while (!conn->closing && (nl = memchr (conn->in->data, '\n', conn->in->len)) != NULL) {
    gsize len = nl - conn->in->data;
    gboolean keep = kc_li_handle_line (conn, (const char *) conn->in->data, len);

    g_byte_array_remove_range (conn->in, 0, (guint) len + 1);
    if (!keep)
      conn->closing = TRUE;
  }
  if (!conn->closing && conn->in->len > KC_LI_LINE_MAX) {
    g_autofree char *reason = g_strdup_printf ("Line longer than %d bytes", KC_LI_LINE_MAX);

    kc_li_answer_error (conn, NULL, reason);
    conn->closing = TRUE;
  }
  if (conn->closing)
    conn_write_next (conn);   /* closes once the answer is out */
  else
    conn_read_next (conn);
  conn_unref (conn);
}

static void
conn_read_next (LiConn *conn)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn->tls)),
                             conn->chunk, sizeof conn->chunk, G_PRIORITY_DEFAULT,
                             conn->cancellable, on_read, conn_ref (conn));
}

/* Connections ------------------------------------------------------------------ */

static void
refuse (LiConn *conn, const char *actor, const char *reason, gboolean can_write)
{
  KcLi *self = conn->li;

  g_message ("Lawful intercept: refused %s (%s): %s", conn->peer, actor, reason);
  kc_li_emit (self, KC_EVENT_KIND_TAP_REFUSED, 514, actor, NULL, "514 LI port refused %s: %s",
              actor, reason);
  if (can_write) {
    g_autoptr(JsonObject) object = kc_li_message_new ("refused");

    json_object_set_string_member (object, "reason", reason);
    /* Closes once the line, which waits for its audit record, is out. */
    conn->closing = TRUE;
    kc_li_conn_send_audited (conn, object, actor, "li-refused", "peer=%s reason=%s", conn->peer,
                             reason);
  }
  else {
    kc_li_audit (self, actor, "li-refused", "peer=%s reason=%s", conn->peer, reason);
    conn_drop (conn, NULL);
  }
}

/* The agency's certificate, checked by OpenSSL against the network CA and
 * the current CRL; GnuTLS only carried it. */
static gboolean
check_peer (LiConn *conn, char **actor, char **name, GError **error)
{
  KcLi *self = conn->li;
  GTlsCertificate *cert = g_tls_connection_get_peer_certificate (conn->tls);
  g_autofree char *pem = NULL;
  g_autoptr(X509) x509 = NULL;
  g_autofree char *identity = NULL;
  X509_CRL *crl;
  KcRole role = KC_ROLE_INVALID;

  if (cert == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "No client certificate");
    return FALSE;
  }
  g_object_get (cert, "certificate-pem", &pem, NULL);
  if (pem == NULL || (x509 = kc_pki_cert_from_pem (pem, strlen (pem), error)) == NULL) {
    if (error != NULL && *error == NULL)
      g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Unreadable client certificate");
    return FALSE;
  }
  if (kc_pki_identity_from_cert (x509, &role, &identity, NULL))
    *actor = kc_peer_lane (role, identity);
  /* GIO cannot forbid older versions; nothing but this refusal is said
   * over one. */
  if (g_tls_connection_get_protocol_version (conn->tls) != G_TLS_PROTOCOL_VERSION_TLS_1_3) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "TLS 1.3 is required");
    return FALSE;
  }
  if ((crl = kc_controller_get_crl (self->ctrl)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "No CRL to check the certificate against");
    return FALSE;
  }
  if (!kc_pki_verify (self->ca, crl, x509, error))
    return FALSE;
  if (role != KC_ROLE_LEA) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Certificate role %s may not use the LI "
                 "port; only a law-enforcement (lea) certificate may",
                 role == KC_ROLE_INVALID ? "(none)" : kc_role_to_string (role));
    return FALSE;
  }
  *name = g_steal_pointer (&identity);
  return TRUE;
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer data)
{
  LiConn *conn = data;
  KcLi *self = conn->li;
  g_autoptr(GError) error = NULL;
  g_autofree char *actor = NULL;
  g_autofree char *name = NULL;

  /* Dropped meanwhile (timeout, shutdown): @self may be gone. */
  if (g_cancellable_is_cancelled (conn->cancellable)) {
    conn_unref (conn);
    return;
  }
  g_clear_handle_id (&conn->timeout_id, g_source_remove);
  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error)) {
    if (!g_cancellable_is_cancelled (conn->cancellable)) {
      g_autofree char *reason = g_strdup_printf ("TLS handshake failed: %s", error->message);

      refuse (conn, "unknown", reason, FALSE);
    }
    conn_unref (conn);
    return;
  }
  if (!check_peer (conn, &actor, &name, &error)) {
    refuse (conn, actor ? actor : "unknown", error->message, TRUE);
    conn_unref (conn);
    return;
  }
  conn->lea = g_steal_pointer (&name);
  conn->lane = kc_li_lea_actor (conn->lea);
  conn->ready = TRUE;
  g_message ("Lawful intercept: %s connected from %s", conn->lane, conn->peer);
  kc_li_audit (self, conn->lane, "li-connect", "peer=%s tls=1.3", conn->peer);
  kc_li_emit (self, KC_EVENT_KIND_TLS_UP, 510, conn->lane, NULL, "510 %s connected to the LI port",
              conn->lane);
  kc_li_flush_pending (self, conn);
  conn_read_next (conn);
  conn_unref (conn);
}

static gboolean
on_handshake_timeout (gpointer data)
{
  LiConn *conn = data;
  g_autofree char *reason = g_strdup_printf ("No TLS handshake within %d s", HANDSHAKE_TIMEOUT_S);

  conn->timeout_id = 0;
  refuse (conn, "unknown", reason, FALSE);
  return G_SOURCE_REMOVE;
}

/* The client's chain is checked after the handshake, with the CRL. */
static gboolean
on_accept_certificate (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer data)
{
  return TRUE;
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer data)
{
  KcLi *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  GIOStream *tls;
  LiConn *conn;

  tls = g_tls_server_connection_new (G_IO_STREAM (connection), self->certificate, &error);
  if (tls == NULL) {
    g_warning ("Lawful intercept: cannot start TLS: %s", error->message);
    return TRUE;
  }
  conn = g_new0 (LiConn, 1);
  conn->refs = 1;
  conn->li = self;
  conn->base = G_IO_STREAM (g_object_ref (connection));
  conn->tls = G_TLS_CONNECTION (tls);
  conn->cancellable = g_cancellable_new ();
  conn->in = g_byte_array_new ();
  g_queue_init (&conn->out);
  if (G_IS_INET_SOCKET_ADDRESS (remote)) {
    g_autofree char *host = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));

    conn->peer = g_strdup_printf ("%s:%u", host,
                                  g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
  }
  else
    conn->peer = g_strdup ("unknown");
  g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), NULL);
  self->conns = g_list_prepend (self->conns, conn);
  /* The list's reference keeps @conn alive; conn_drop removes the timer. */
  conn->timeout_id = g_timeout_add_seconds (HANDSHAKE_TIMEOUT_S, on_handshake_timeout, conn);
  g_tls_connection_handshake_async (conn->tls, G_PRIORITY_DEFAULT, conn->cancellable,
                                    on_handshake, conn_ref (conn));
  return TRUE;
}

/* Life cycle ------------------------------------------------------------------ */

guint16
kc_li_get_port (KcLi *self)
{
  return self->port;
}

/* Taps survive a restart in the store; their content addresses do not
 * (the store has no column for them), and current or past taps ended with
 * the process. */
static void
load_taps (KcLi *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) taps = kc_store_tap_list (kc_controller_get_store (self->ctrl), TRUE,
                                                 &error);

  if (taps == NULL) {
    g_warning ("Lawful intercept: cannot read the taps: %s", error->message);
    return;
  }
  for (guint i = 0; i < taps->len; i++) {
    KcTap *tap = taps->pdata[i];
    LiTap *live = g_new0 (LiTap, 1);

    live->tap = g_steal_pointer (&taps->pdata[i]);
    g_hash_table_insert (self->taps, live->tap->tap_id, live);
    if (tap->kind != KC_TAP_FUTURE)
      kc_li_stop_tap (self, live, "the controller restarted");
    else
      g_message ("Lawful intercept: tap %s of %s on %s is active (keys only until the agency "
                 "asks again for content)", tap->tap_id, tap->lea, tap->number);
  }
}

KcLi *
kc_li_new (KcController *ctrl, GError **error)
{
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (config->li_host);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autofree char *agent = g_build_filename (config->tls_dir, "agent.pem", NULL);
  g_autofree char *cafile = g_build_filename (config->tls_dir, "cafile.pem", NULL);
  g_autoptr(GError) local = NULL;
  KcLi *self;

  g_return_val_if_fail (inet != NULL, NULL);   /* the config checked it */

  self = g_new0 (KcLi, 1);
  self->ctrl = ctrl;
  self->alive = g_new0 (LiAlive, 1);
  self->alive->refs = 1;
  self->alive->li = self;
  self->fd4 = self->fd6 = -1;
  self->taps = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) kc_li_tap_free);
  self->calls = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) kc_li_call_free);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) kc_li_pending_queue_free);
  self->certificate = g_tls_certificate_new_from_file (agent, &local);
  if (self->certificate == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "%s: cannot use it for the LI port: %s", agent,
                 local->message);
    kc_li_free (self);
    return NULL;
  }
  if ((self->ca = kc_pki_cert_load (cafile, error)) == NULL) {
    kc_li_free (self);
    return NULL;
  }
  self->service = g_socket_service_new ();
  address = g_inet_socket_address_new (inet, (guint16) config->li_port);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "%s: [lawful-intercept] listen: cannot listen on "
                 "%s:%u (%s); is the port in use?", config->path, config->li_host,
                 config->li_port, local->message);
    kc_li_free (self);
    return NULL;
  }
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  /* X3 leaves from sockets of its own, never the relay's legs. */
  self->fd4 = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  self->fd6 = socket (AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  load_taps (self);
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);
  g_message ("Lawful intercept: listening on %s:%u (TLS 1.3, agencies only)", config->li_host,
             self->port);
  return self;
}

void
kc_li_free (KcLi *self)
{
  if (self == NULL)
    return;
  if (self->service != NULL) {
    g_socket_service_stop (self->service);
    g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    g_signal_handlers_disconnect_by_data (self->service, self);
    g_clear_object (&self->service);
  }
  while (self->conns != NULL)
    conn_drop (self->conns->data, NULL);
  g_clear_pointer (&self->calls, g_hash_table_unref);
  g_clear_pointer (&self->taps, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_object (&self->certificate);
  g_clear_pointer (&self->ca, X509_free);
  if (self->fd4 >= 0)
    close (self->fd4);
  if (self->fd6 >= 0)
    close (self->fd6);
  g_free (self->lane);
  /* Audit completions still queued in the store find no KcLi. */
  self->alive->li = NULL;
  kc_li_alive_unref (self->alive);
  g_free (self);
}
