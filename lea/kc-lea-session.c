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
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-session.h"

#include "kc-error.h"
#include "kc-li-wire.h"
#include "kc-pki.h"

#include <string.h>

#define BACKOFF_FIRST_S  1
#define BACKOFF_MAX_S    30
#define READ_CHUNK       16384
#define CONNECT_S        15     /* TCP and TLS handshake, before giving up */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

typedef enum {
  REQ_NEW,        /* to be sent on the next connection */
  REQ_SENT,       /* waiting for its answer */
  REQ_ACTIVE,     /* a tap the controller holds */
  REQ_DONE,       /* answered for good: past keys sent, or stopped */
  REQ_FAILED,     /* refused with `error`: not asked again */
} RequestState;

typedef struct {
  KcLeaTapKind  kind;
  char         *number;
  gint64        from_us, until_us;
  RequestState  state;
  char         *req;         /* id of the request in flight */
  char         *tap;         /* the controller's tap id, once known */
  char         *stop_req;    /* id of our `stop` in flight */
  gboolean      stop_counted; /* part of kc_lea_session_stop_taps() */
  char         *superseded;  /* a tap of ours that lost its content, to stop
                              * once its replacement is answered */
} Request;

typedef struct {
  gint             ref;
  KcLeaSession    *session;  /* NULL once the connection is dropped */
  GCancellable    *cancel;
  GIOStream       *stream;   /* the TLS connection, after the handshake */
  GSocketConnection *tcp;
} Conn;

struct _KcLeaSession {
  char             *name;
  char             *host;
  guint16           port;
  GTlsCertificate  *own;
  X509             *ca;
  X509_CRL         *crl;
  char             *content;
  KcLeaSessionFuncs funcs;
  gpointer          user_data;

  GPtrArray        *requests;
  Conn             *conn;
  gboolean          verified;
  GByteArray       *in;
  guint8            chunk[READ_CHUNK];
  GQueue            out;       /* lines (char *) waiting to be written */
  gboolean          writing;
  guint             retry_id;
  guint             connect_id;
  guint             backoff_s;
  guint             next_req;
  char             *list_req;
  guint             stops_pending;
  GHashTable       *quiet_stops;  /* req ids of stops of superseded taps */
  GHashTable       *loose_stops;  /* req id → tap id: stops of taps this run
                                   * does not hold (the controller decides) */
  gboolean          started;
};

static void session_connect (KcLeaSession *self);
static void session_drop (KcLeaSession *self, const char *reason);

static const char *const kind_names[] = { "future", "current", "past" };

const char *
kc_lea_tap_kind_to_string (KcLeaTapKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "unknown";
}

static void
request_free (Request *r)
{
  g_free (r->number);
  g_free (r->req);
  g_free (r->tap);
  g_free (r->stop_req);
  g_free (r->superseded);
  g_free (r);
}

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

static void
send_object (KcLeaSession *self, JsonObject *obj)
{
  g_queue_push_tail (&self->out, kc_li_message_to_line (obj));
  pump (self);
}

static JsonObject *
request_object (KcLeaSession *self, const char *op, char **req_out)
{
  JsonObject *obj = json_object_new ();

  *req_out = g_strdup_printf ("r%u", ++self->next_req);
  json_object_set_int_member (obj, "v", 1);
  json_object_set_string_member (obj, "op", op);
  json_object_set_string_member (obj, "req", *req_out);
  return obj;
}

static void
send_request (KcLeaSession *self, Request *r)
{
  g_autoptr(JsonObject) obj = NULL;

  g_free (r->req);
  obj = request_object (self, "tap", &r->req);
  json_object_set_string_member (obj, "number", r->number);
  json_object_set_string_member (obj, "kind", kc_lea_tap_kind_to_string (r->kind));
  if (r->from_us != 0 && r->kind == KC_LEA_TAP_PAST) {
    g_autofree char *t = kc_li_time_format (r->from_us);

    json_object_set_string_member (obj, "from", t);
  }
  if (r->until_us != 0 && r->kind != KC_LEA_TAP_CURRENT) {
    g_autofree char *t = kc_li_time_format (r->until_us);

    json_object_set_string_member (obj, "until", t);
  }
  if (self->content != NULL && r->kind != KC_LEA_TAP_PAST)
    json_object_set_string_member (obj, "content", self->content);
  r->state = REQ_SENT;
  send_object (self, obj);
  if (self->funcs.requested != NULL)
    self->funcs.requested (self, r->req, r->kind, r->number, self->user_data);
}

static void
send_new_requests (KcLeaSession *self)
{
  for (guint i = 0; i < self->requests->len; i++) {
    Request *r = self->requests->pdata[i];

    if (r->state == REQ_NEW)
      send_request (self, r);
  }
}

/* Reading ------------------------------------------------------------------ */

static Request *
find_request (KcLeaSession *self, const char *req, const char *tap)
{
  for (guint i = 0; i < self->requests->len; i++) {
    Request *r = self->requests->pdata[i];

    if ((req != NULL && (g_strcmp0 (r->req, req) == 0 || g_strcmp0 (r->stop_req, req) == 0))
        || (tap != NULL && g_strcmp0 (r->tap, tap) == 0))
      return r;
  }
  return NULL;
}

static const char *
member_string (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
         ? json_node_get_string (n) : NULL;
}

static gint64
member_int (JsonObject *obj, const char *name, gint64 fallback)
{
  JsonNode *n = json_object_get_member (obj, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
         ? json_node_get_int (n) : fallback;
}

static void
stop_answered (KcLeaSession *self, Request *r, gboolean ok)
{
  g_autofree char *req = g_steal_pointer (&r->stop_req);
  gboolean counted = r->stop_counted;

  r->stop_counted = FALSE;
  if (ok) {
    r->state = REQ_DONE;
    if (self->funcs.tap_stopped != NULL)
      self->funcs.tap_stopped (self, req, r->tap, r->kind, r->number, self->user_data);
  }
  if (counted && self->stops_pending > 0 && --self->stops_pending == 0
      && self->funcs.stopped != NULL)
    self->funcs.stopped (self, self->user_data);
}

static gboolean
listed_tap_usable (JsonObject *t, Request *r, const char *content)
{
  const char *state = member_string (t, "state");
  JsonNode *stopped = json_object_get_member (t, "stopped");

  if ((state != NULL && g_strcmp0 (state, "active") != 0)
      || (stopped != NULL && JSON_NODE_HOLDS_VALUE (stopped)
          && (json_node_get_value_type (stopped) != G_TYPE_BOOLEAN
              || json_node_get_boolean (stopped))))
    return FALSE;
  /* Content must go where it goes now: a controller that restarted keeps
   * its future taps but not their content addresses (keys only). */
  if (g_strcmp0 (member_string (t, "content"), content) != 0)
    return FALSE;
  if (r->tap != NULL)
    return g_strcmp0 (member_string (t, "tap"), r->tap) == 0;
  /* Only a future tap is taken over from an earlier run: a current tap's
   * keys were delivered when it was made, to whoever asked then. */
  return r->kind == KC_LEA_TAP_FUTURE
         && g_strcmp0 (member_string (t, "kind"), "future") == 0
         && g_strcmp0 (member_string (t, "number"), r->number) == 0;
}

static gboolean
listed (JsonArray *taps, const char *tap_id)
{
  for (guint j = 0; taps != NULL && j < json_array_get_length (taps); j++) {
    JsonNode *e = json_array_get_element (taps, j);

    if (JSON_NODE_HOLDS_OBJECT (e)
        && g_strcmp0 (member_string (json_node_get_object (e), "tap"), tap_id) == 0)
      return TRUE;
  }
  return FALSE;
}

/* The list of taps the controller holds for us: adopt, then ask the rest. */
static void
on_taps (KcLeaSession *self, JsonObject *msg)
{
  JsonNode *node = json_object_get_member (msg, "taps");
  JsonArray *taps = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  for (guint i = 0; i < self->requests->len; i++) {
    Request *r = self->requests->pdata[i];

    if (r->state != REQ_NEW || r->kind == KC_LEA_TAP_PAST)
      continue;
    for (guint j = 0; taps != NULL && j < json_array_get_length (taps); j++) {
      JsonNode *e = json_array_get_element (taps, j);
      JsonObject *t = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;

      if (t == NULL || member_string (t, "tap") == NULL
          || !listed_tap_usable (t, r, self->content)
          || (r->tap == NULL && find_request (self, NULL, member_string (t, "tap")) != NULL))
        continue;
      g_free (r->tap);
      r->tap = g_strdup (member_string (t, "tap"));
      r->state = REQ_ACTIVE;
      if (self->funcs.tap_ok != NULL)
        self->funcs.tap_ok (self, r->tap, r->kind, r->number, -1, TRUE, self->user_data);
      break;
    }
    /* Ours, still there, but no longer copying to us: replaced, then stopped. */
    if (r->state == REQ_NEW && r->tap != NULL && listed (taps, r->tap)) {
      g_free (r->superseded);
      r->superseded = g_steal_pointer (&r->tap);
    }
  }
  send_new_requests (self);
}

static void
stop_superseded (KcLeaSession *self, Request *r)
{
  g_autoptr(JsonObject) obj = NULL;
  char *req = NULL;

  obj = request_object (self, "stop", &req);
  json_object_set_string_member (obj, "tap", r->superseded);
  g_hash_table_add (self->quiet_stops, req);
  g_clear_pointer (&r->superseded, g_free);
  send_object (self, obj);
}

static void
on_delivery (KcLeaSession *self, const char *op, JsonObject *msg)
{
  const char *tap = member_string (msg, "tap");
  Request *r = tap ? find_request (self, NULL, tap) : NULL;

  if (g_strcmp0 (op, "key") == 0) {
    KcLeaKeyDelivery k = { 0 };
    const char *enc = member_string (msg, "enc"), *sealed = member_string (msg, "sealed");
    gsize enc_len = 0, sealed_len = 0;
    g_autofree guint8 *enc_raw = enc ? g_base64_decode (enc, &enc_len) : NULL;
    g_autofree guint8 *sealed_raw = sealed ? g_base64_decode (sealed, &sealed_len) : NULL;
    g_autoptr(GBytes) enc_b = enc_raw && enc_len ? g_bytes_new (enc_raw, enc_len) : NULL;
    g_autoptr(GBytes) sealed_b = sealed_raw && sealed_len ? g_bytes_new (sealed_raw,
                                                                         sealed_len) : NULL;

    k.controller_name = self->name;
    k.tap = tap;
    k.kind = r != NULL ? r->kind : KC_LEA_TAP_FUTURE;
    k.call_id = member_string (msg, "call");
    k.key_id_hex = member_string (msg, "key_id");
    k.caller = member_string (msg, "caller");
    k.callee = member_string (msg, "callee");
    k.created = member_string (msg, "created");
    k.fingerprint = member_string (msg, "fingerprint");
    k.enc = enc_b;
    k.sealed = sealed_b;
    if (self->funcs.key != NULL)
      self->funcs.key (self, &k, self->user_data);
  } else if (g_strcmp0 (op, "call") == 0) {
    KcLeaCallDelivery c = { 0 };
    gint64 pt = member_int (msg, "payload", -1), clock = member_int (msg, "clock", 0);

    c.tap = tap;
    c.call_id = member_string (msg, "call");
    c.answered = member_string (msg, "answered");
    c.codec = member_string (msg, "codec");
    c.payload = pt >= 0 && pt <= 127 ? (guint) pt : 128;
    c.clock = clock > 0 && clock <= 192000 ? (guint) clock : 0;
    c.suite = member_string (msg, "suite");
    c.media = member_string (msg, "media");
    if (self->funcs.call != NULL)
      self->funcs.call (self, &c, self->user_data);
  } else {
    KcLeaEndDelivery e = { 0 };

    e.tap = tap;
    e.call_id = member_string (msg, "call");
    e.ended = member_string (msg, "ended");
    e.outcome = member_string (msg, "outcome");
    if (self->funcs.end != NULL)
      self->funcs.end (self, &e, self->user_data);
  }
}

static void
on_message (KcLeaSession *self, JsonObject *msg)
{
  const char *op = member_string (msg, "op");
  const char *req = member_string (msg, "req");
  Request *r = req ? find_request (self, req, NULL) : NULL;

  if (req != NULL && g_hash_table_contains (self->loose_stops, req)) {
    g_autofree char *tap = NULL;

    g_hash_table_steal_extended (self->loose_stops, req, NULL, (gpointer *) &tap);
    if (g_strcmp0 (op, "ok") == 0 && self->funcs.tap_stopped != NULL)
      self->funcs.tap_stopped (self, req, tap, KC_LEA_TAP_FUTURE, NULL, self->user_data);
    else if (g_strcmp0 (op, "ok") != 0 && self->funcs.error != NULL)
      self->funcs.error (self, req, member_string (msg, "reason") ? member_string (msg, "reason")
                                                                   : "no reason given",
                         self->user_data);
    return;
  }
  if (req != NULL && g_hash_table_remove (self->quiet_stops, req)) {
    if (g_strcmp0 (op, "error") == 0 && self->funcs.error != NULL)
      self->funcs.error (self, req, member_string (msg, "reason") ? member_string (msg, "reason")
                                                                   : "no reason given",
                         self->user_data);
    return;
  }
  if (g_strcmp0 (op, "refused") == 0) {
    const char *reason = member_string (msg, "reason");

    if (self->funcs.refused != NULL)
      self->funcs.refused (self, reason ? reason : "no reason given", self->user_data);
  } else if (g_strcmp0 (op, "taps") == 0 && req != NULL && g_strcmp0 (req, self->list_req) == 0) {
    /* Accepted: the next failure starts the back-off again. Not before: a
     * controller that refuses this LEA is asked less and less often. */
    self->backoff_s = BACKOFF_FIRST_S;
    g_clear_pointer (&self->list_req, g_free);
    on_taps (self, msg);
  } else if (g_strcmp0 (op, "ok") == 0 && r != NULL) {
    if (g_strcmp0 (r->stop_req, req) == 0) {
      stop_answered (self, r, TRUE);
      return;
    }
    g_free (r->tap);
    r->tap = g_strdup (member_string (msg, "tap"));
    r->state = r->kind == KC_LEA_TAP_PAST ? REQ_DONE : REQ_ACTIVE;
    if (self->funcs.tap_ok != NULL)
      self->funcs.tap_ok (self, r->tap, r->kind, r->number, member_int (msg, "calls", 0), FALSE,
                          self->user_data);
    if (r->superseded != NULL && self->conn != NULL)
      stop_superseded (self, r);
  } else if (g_strcmp0 (op, "error") == 0) {
    const char *reason = member_string (msg, "reason");

    if (req != NULL && g_strcmp0 (req, self->list_req) == 0) {
      /* No list: ask for everything again (a duplicate tap is harmless). */
      self->backoff_s = BACKOFF_FIRST_S;
      g_clear_pointer (&self->list_req, g_free);
      send_new_requests (self);
    } else if (r != NULL && g_strcmp0 (r->stop_req, req) == 0) {
      stop_answered (self, r, FALSE);
    } else if (r != NULL) {
      r->state = REQ_FAILED;
    }
    if (self->funcs.error != NULL)
      self->funcs.error (self, req, reason ? reason : "no reason given", self->user_data);
  } else if (g_strcmp0 (op, "key") == 0 || g_strcmp0 (op, "call") == 0
             || g_strcmp0 (op, "end") == 0) {
    on_delivery (self, op, msg);
  } else {
    g_debug ("%s: ignoring a message with op “%s”", self->name, op);
  }
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
    on_message (self, msg);
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
    g_autoptr(JsonObject) list = request_object (self, "list", &self->list_req);

    read_more (self);
    send_object (self, list);
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

static void
session_connect (KcLeaSession *self)
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
  session_connect (self);
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
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) request_free);
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
kc_lea_session_add_tap (KcLeaSession *self,
                        KcLeaTapKind  kind,
                        const char   *number,
                        gint64        from_us,
                        gint64        until_us)
{
  Request *r = g_new0 (Request, 1);

  g_return_if_fail (self != NULL && number != NULL);

  r->kind = kind;
  r->number = g_strdup (number);
  r->from_us = from_us;
  r->until_us = until_us;
  r->state = REQ_NEW;
  g_ptr_array_add (self->requests, r);
  if (!self->started)
    return;
  /* Once connected and the list is answered, new requests go at once;
   * before that, on_taps() sends them; idle, connect now. */
  if (self->conn != NULL && self->verified && self->list_req == NULL)
    send_request (self, r);
  else if (self->conn == NULL && self->retry_id == 0)
    session_connect (self);
}

void
kc_lea_session_start (KcLeaSession *self)
{
  g_return_if_fail (self != NULL);

  self->started = TRUE;
  if (self->conn == NULL && self->retry_id == 0)
    session_connect (self);
}

gboolean
kc_lea_session_is_started (KcLeaSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->started;
}

gboolean
kc_lea_session_is_done (KcLeaSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  for (guint i = 0; i < self->requests->len; i++) {
    Request *r = self->requests->pdata[i];

    if (r->state != REQ_DONE && r->state != REQ_FAILED)
      return FALSE;
  }
  return TRUE;
}

gboolean
kc_lea_session_stop_taps (KcLeaSession *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->conn == NULL || !self->verified)
    return FALSE;
  for (guint i = 0; i < self->requests->len; i++) {
    Request *r = self->requests->pdata[i];
    g_autoptr(JsonObject) obj = NULL;

    if (r->state != REQ_ACTIVE || r->tap == NULL || r->kind == KC_LEA_TAP_PAST
        || r->stop_req != NULL)
      continue;
    obj = request_object (self, "stop", &r->stop_req);
    json_object_set_string_member (obj, "tap", r->tap);
    send_object (self, obj);
    r->stop_counted = TRUE;
    self->stops_pending++;
    if (self->funcs.stop_sent != NULL)
      self->funcs.stop_sent (self, r->stop_req, r->tap, r->kind, r->number, self->user_data);
  }
  return self->stops_pending > 0;
}

gboolean
kc_lea_session_stop_tap (KcLeaSession *self, const char *tap_id_or_request, GError **error)
{
  g_autoptr(JsonObject) obj = NULL;
  Request *r = NULL;
  char *req = NULL;

  g_return_val_if_fail (self != NULL && tap_id_or_request != NULL, FALSE);

  for (guint i = 0; i < self->requests->len && r == NULL; i++) {
    Request *q = self->requests->pdata[i];

    if (g_strcmp0 (q->tap, tap_id_or_request) == 0 || g_strcmp0 (q->req, tap_id_or_request) == 0)
      r = q;
  }
  if (r == NULL && !g_str_has_prefix (tap_id_or_request, "T-")) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                 "No tap or request “%s” in this run at %s; a tap id looks like T-…",
                 tap_id_or_request, self->name);
    return FALSE;
  }
  if (r != NULL && (r->kind == KC_LEA_TAP_PAST || r->state == REQ_DONE
                    || r->state == REQ_FAILED)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The %s request for %s at %s is no longer active: nothing to stop",
                 kc_lea_tap_kind_to_string (r->kind), r->number, self->name);
    return FALSE;
  }
  if (r != NULL && r->stop_req != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The tap %s at %s is being stopped already; waiting for the answer",
                 r->tap ? r->tap : r->number, self->name);
    return FALSE;
  }
  if (self->conn == NULL || !self->verified || (r != NULL && r->state == REQ_NEW)) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED,
                 "Not connected to %s; stop the tap once it is connected again", self->name);
    return FALSE;
  }
  if (r != NULL && r->state != REQ_ACTIVE) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s has not answered the tap on %s yet; stop it once it is active",
                 self->name, r->number);
    return FALSE;
  }
  obj = request_object (self, "stop", &req);
  if (r != NULL) {
    r->stop_req = req;
    json_object_set_string_member (obj, "tap", r->tap);
  } else {
    /* Not ours in this run (an earlier run's): the controller decides. */
    g_hash_table_insert (self->loose_stops, req, g_strdup (tap_id_or_request));
    json_object_set_string_member (obj, "tap", tap_id_or_request);
  }
  send_object (self, obj);
  if (self->funcs.stop_sent != NULL)
    self->funcs.stop_sent (self, req, r ? r->tap : tap_id_or_request,
                           r ? r->kind : KC_LEA_TAP_FUTURE, r ? r->number : NULL,
                           self->user_data);
  return TRUE;
}
