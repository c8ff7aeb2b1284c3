/* kc-lea-session.c: see kc-lea-session.h.
 *
 * GIO's TLS (GnuTLS underneath) carries the connection; it is told to
 * accept any server certificate during the handshake, and the certificate
 * is then checked here with OpenSSL against the network CA and CRL
 * (kc_pki_verify), for the role controller and the expected name, before a
 * single request is sent: the same check the controllers make, from the
 * same code. Each connection attempt is a Conn that every pending
 * operation holds; dropping the connection or freeing the session cuts
 * Conn's link to the session, so late callbacks find nothing to touch.
 *
 * This file: the connection (connecting, verifying, writing, reading
 * lines); the requests and what the controller answers and delivers are
 * in kc-lea-session-requests.c.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-session-private.h"

#include "kc-error.h"
#include "kc-li-wire.h"
#include "kc-pki.h"

#include <string.h>

#define BACKOFF_MAX_S    30
#define CONNECT_S        15     /* TCP and TLS handshake, before giving up */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

static void session_drop (KcLeaSession *self, const char *reason);

static Conn *
conn_ref (Conn *c)
{
  g_atomic_int_inc (&c->ref);
  return c;
}

static void
conn_unref (Conn *c)
{
  if (!g_atomic_int_dec_and_test (&c->ref))
    return;
  g_clear_object (&c->cancel);
  g_clear_object (&c->stream);
  g_clear_object (&c->tcp);
  g_free (c);
}

/* Writing ------------------------------------------------------------------ */

static void pump (KcLeaSession *self);

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *c = user_data;
  KcLeaSession *self = c->session;
  g_autoptr(GError) error = NULL;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);

  if (self != NULL && c == self->conn) {
    g_free (g_queue_pop_head (&self->out));
    self->writing = FALSE;
    if (!ok) {
      g_autofree char *reason = g_strdup_printf ("cannot send to %s: %s", self->name,
                                                 error->message);

      session_drop (self, reason);
    } else {
      pump (self);
    }
  }
  conn_unref (c);
}

static void
pump (KcLeaSession *self)
{
  const char *line;

  if (self->writing || self->conn == NULL || self->conn->stream == NULL
      || (line = g_queue_peek_head (&self->out)) == NULL)
    return;
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->conn->stream), line,
                                   strlen (line), G_PRIORITY_DEFAULT, self->conn->cancel,
                                   on_written, conn_ref (self->conn));
}

void
kc_lea_session_send_object (KcLeaSession *self, JsonObject *obj)
{
  g_queue_push_tail (&self->out, kc_li_message_to_line (obj));
  pump (self);
}

static void read_more (KcLeaSession *self);

/* Splits what arrived into lines; FALSE after dropping the connection. */
static gboolean
take_lines (KcLeaSession *self)
{
  guint8 *nl;

  while ((nl = memchr (self->in->data, '\n', self->in->len)) != NULL) {
    gsize len = nl - self->in->data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) msg = NULL;
    Conn *c = self->conn;

    if (len > 0 && self->in->data[len - 1] == '\r')
      len--;
    msg = kc_li_message_parse ((const char *) self->in->data, len, &error);
    g_byte_array_remove_range (self->in, 0, nl - self->in->data + 1);
    if (msg == NULL) {
      g_autofree char *reason = g_strdup_printf ("%s sent a line that is not a message: %s",
                                                 self->name, error->message);

      session_drop (self, reason);
      return FALSE;
    }
    kc_lea_session_on_message (self, msg);
    if (self->conn != c)
      return FALSE;    /* a callback dropped the connection */
  }
  if (self->in->len > KC_LI_LINE_MAX + 1) {
    g_autofree char *reason = g_strdup_printf ("%s sent a line longer than %d bytes",
                                               self->name, KC_LI_LINE_MAX);

    session_drop (self, reason);
    return FALSE;
  }
  return TRUE;
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *c = user_data;
  KcLeaSession *self = c->session;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (self != NULL && c == self->conn) {
    if (n <= 0) {
      g_autofree char *reason = n == 0
        ? g_strdup_printf ("%s closed the connection", self->name)
        : g_strdup_printf ("connection to %s lost: %s", self->name, error->message);

      session_drop (self, reason);
    } else {
      g_byte_array_append (self->in, self->chunk, (guint) n);
      if (take_lines (self))
        read_more (self);
    }
  }
  conn_unref (c);
}

static void
read_more (KcLeaSession *self)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (self->conn->stream), self->chunk,
                             sizeof self->chunk, G_PRIORITY_DEFAULT, self->conn->cancel,
                             on_read, conn_ref (self->conn));
}

/* Connecting ------------------------------------------------------------- */

/* The controller's certificate, checked as the controllers check ours. */
static gboolean
verify_peer (KcLeaSession *self, GTlsConnection *tls, char **subject, char **serial,
             GError **error)
{
  GTlsCertificate *peer = g_tls_connection_get_peer_certificate (tls);
  g_autofree char *pem = NULL, *identity = NULL;
  g_autoptr(X509) cert = NULL;
  g_autoptr(GError) local = NULL;
  KcRole role = KC_ROLE_INVALID;

  if (g_tls_connection_get_protocol_version (tls) != G_TLS_PROTOCOL_VERSION_TLS_1_3) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "%s did not speak TLS 1.3; the LI port must", self->name);
    return FALSE;
  }
  if (peer == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "%s presented no certificate",
                 self->name);
    return FALSE;
  }
  g_object_get (peer, "certificate-pem", &pem, NULL);
  if (pem == NULL || (cert = kc_pki_cert_from_pem (pem, strlen (pem), &local)) == NULL
      || !kc_pki_verify (self->ca, self->crl, cert, &local)
      || !kc_pki_identity_from_cert (cert, &role, &identity, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "the certificate of %s:%u is not valid in this network: %s", self->host,
                 self->port, local ? local->message : "unreadable");
    return FALSE;
  }
  if (role != KC_ROLE_CONTROLLER || g_strcmp0 (identity, self->name) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "%s:%u presented the certificate of keycall:%s:%s, not that of controller %s",
                 self->host, self->port, kc_role_to_string (role), identity, self->name);
    return FALSE;
  }
  *subject = g_strdup_printf ("keycall:controller:%s", identity);
  *serial = kc_pki_cert_serial (cert);
  return TRUE;
}

static gboolean
on_accept_certificate (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors,
                       gpointer user_data)
{
  return TRUE;    /* checked by verify_peer() once the handshake is done */
}

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *c = user_data;
  KcLeaSession *self = c->session;
  g_autoptr(GError) error = NULL;
  g_autofree char *subject = NULL, *serial = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error);

  if (self == NULL || c != self->conn) {
    conn_unref (c);
    return;
  }
  if (!ok || !verify_peer (self, G_TLS_CONNECTION (source), &subject, &serial, &error)) {
    g_autofree char *reason = g_strdup_printf ("TLS with %s (%s:%u) failed: %s", self->name,
                                               self->host, self->port, error->message);

    session_drop (self, reason);
    conn_unref (c);
    return;
  }
  self->verified = TRUE;
  g_clear_handle_id (&self->connect_id, g_source_remove);
  if (self->funcs.connected != NULL)
    self->funcs.connected (self, subject, serial, self->user_data);
  if (c == self->conn) {
    g_autoptr(JsonObject) list = kc_lea_session_request_object (self, "list", &self->list_req);

    read_more (self);
    kc_lea_session_send_object (self, list);
  }
  conn_unref (c);
}

static void
on_tcp (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Conn *c = user_data;
  KcLeaSession *self = c->session;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) tcp = g_socket_client_connect_finish (G_SOCKET_CLIENT (source),
                                                                     result, &error);
  GIOStream *tls;

  if (self == NULL || c != self->conn) {
    conn_unref (c);
    return;
  }
  if (tcp == NULL) {
    g_autofree char *reason = g_strdup_printf ("cannot connect to %s (%s:%u): %s", self->name,
                                               self->host, self->port, error->message);

    session_drop (self, reason);
    conn_unref (c);
    return;
  }
  tls = g_tls_client_connection_new (G_IO_STREAM (tcp), NULL, &error);
  if (tls == NULL) {
    g_autofree char *reason = g_strdup_printf ("no TLS for %s: %s", self->name, error->message);

    session_drop (self, reason);
    conn_unref (c);
    return;
  }
  c->tcp = g_steal_pointer (&tcp);
  c->stream = tls;
  g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), self->own);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), NULL);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), NULL);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, c->cancel,
                                    on_handshake, conn_ref (c));
  conn_unref (c);
}

/* Not a socket timeout: that would also end an idle, healthy connection. */
static gboolean
on_connect_timeout (gpointer user_data)
{
  KcLeaSession *self = user_data;
  g_autofree char *reason = g_strdup_printf ("no TLS connection to %s (%s:%u) within %d s",
                                             self->name, self->host, self->port, CONNECT_S);

  self->connect_id = 0;
  session_drop (self, reason);
  return G_SOURCE_REMOVE;
}

void
kc_lea_session_connect (KcLeaSession *self)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) addr = g_network_address_new (self->host, self->port);
  Conn *c = g_new0 (Conn, 1);

  c->ref = 1;
  c->session = self;
  c->cancel = g_cancellable_new ();
  self->conn = c;
  self->verified = FALSE;
  self->connect_id = g_timeout_add_seconds (CONNECT_S, on_connect_timeout, self);
  g_socket_client_connect_async (client, addr, c->cancel, on_tcp, conn_ref (c));
}

static gboolean
on_retry (gpointer user_data)
{
  KcLeaSession *self = user_data;

  self->retry_id = 0;
  kc_lea_session_connect (self);
  return G_SOURCE_REMOVE;
}

/* Closes the connection (if any) and forgets what was in flight on it. */
static void
session_close (KcLeaSession *self)
{
  Conn *c = g_steal_pointer (&self->conn);

  g_clear_handle_id (&self->connect_id, g_source_remove);
  if (c == NULL)
    return;
  c->session = NULL;
  g_cancellable_cancel (c->cancel);
  if (c->stream != NULL)
    g_io_stream_close_async (c->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  conn_unref (c);
  g_queue_clear_full (&self->out, g_free);
  self->writing = FALSE;
  g_byte_array_set_size (self->in, 0);
  g_clear_pointer (&self->list_req, g_free);
  g_hash_table_remove_all (self->quiet_stops);
  g_hash_table_remove_all (self->loose_stops);
  for (guint i = 0; i < self->requests->len; i++) {
    Request *r = self->requests->pdata[i];

    /* Asked again (or checked against the list) on the next connection. */
    if (r->state == REQ_SENT || r->state == REQ_ACTIVE)
      r->state = REQ_NEW;
    g_clear_pointer (&r->stop_req, g_free);
    r->stop_counted = FALSE;
  }
}

static void
session_drop (KcLeaSession *self, const char *reason)
{
  guint retry = self->backoff_s;
  gboolean stopping = self->stops_pending > 0;

  session_close (self);
  self->stops_pending = 0;
  self->backoff_s = MIN (self->backoff_s * 2, BACKOFF_MAX_S);
  self->retry_id = g_timeout_add_seconds (retry, on_retry, self);
  if (self->funcs.disconnected != NULL)
    self->funcs.disconnected (self, reason, retry, self->user_data);
  if (stopping && self->funcs.stopped != NULL)
    self->funcs.stopped (self, self->user_data);
}

/* Public ------------------------------------------------------------------- */

KcLeaSession *
kc_lea_session_new (const char              *name,
                    const char              *host,
                    guint16                  port,
                    GTlsCertificate         *own,
                    X509                    *ca,
                    X509_CRL                *crl,
                    const char              *content,
                    const KcLeaSessionFuncs *funcs,
                    gpointer                 user_data)
{
  KcLeaSession *self;

  g_return_val_if_fail (name != NULL && host != NULL && G_IS_TLS_CERTIFICATE (own), NULL);
  g_return_val_if_fail (ca != NULL, NULL);

  self = g_new0 (KcLeaSession, 1);
  self->name = g_strdup (name);
  self->host = g_strdup (host);
  self->port = port;
  self->own = g_object_ref (own);
  X509_up_ref (ca);
  self->ca = ca;
  if (crl != NULL) {
    X509_CRL_up_ref (crl);
    self->crl = crl;
  }
  self->content = g_strdup (content);
  if (funcs != NULL)
    self->funcs = *funcs;
  self->user_data = user_data;
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_lea_session_request_free);
  self->in = g_byte_array_new ();
  self->quiet_stops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->loose_stops = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->backoff_s = BACKOFF_FIRST_S;
  g_queue_init (&self->out);
  return self;
}

void
kc_lea_session_free (KcLeaSession *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  session_close (self);
  g_ptr_array_unref (self->requests);
  g_byte_array_unref (self->in);
  g_hash_table_unref (self->quiet_stops);
  g_hash_table_unref (self->loose_stops);
  g_object_unref (self->own);
  X509_free (self->ca);
  X509_CRL_free (self->crl);
  g_free (self->content);
  g_free (self->host);
  g_free (self->name);
  g_free (self);
}

const char *
kc_lea_session_get_name (KcLeaSession *self)
{
  return self->name;
}

void
kc_lea_session_start (KcLeaSession *self)
{
  g_return_if_fail (self != NULL);

  self->started = TRUE;
  if (self->conn == NULL && self->retry_id == 0)
    kc_lea_session_connect (self);
}

gboolean
kc_lea_session_is_started (KcLeaSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->started;
}
