/* kc-lea-session-requests.c: a KcLeaSession's tap requests (kept across
 * reconnects, adopted from the controller's list or asked again, stopped)
 * and the controller's messages: answers and key/call/end deliveries.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-session-private.h"

#include "kc-error.h"
#include "kc-li-wire.h"

#include <string.h>

static const char *const kind_names[] = { "future", "current", "past" };

const char *
kc_lea_tap_kind_to_string (KcLeaTapKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "unknown";
}

void
kc_lea_session_request_free (Request *r)
{
  g_free (r->number);
  g_free (r->req);
  g_free (r->tap);
  g_free (r->stop_req);
  g_free (r->superseded);
  g_free (r);
}

JsonObject *
kc_lea_session_request_object (KcLeaSession *self, const char *op, char **req_out)
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
  obj = kc_lea_session_request_object (self, "tap", &r->req);
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
  kc_lea_session_send_object (self, obj);
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

/* The controller's messages ---------------------------------------------- */

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

  obj = kc_lea_session_request_object (self, "stop", &req);
  json_object_set_string_member (obj, "tap", r->superseded);
  g_hash_table_add (self->quiet_stops, req);
  g_clear_pointer (&r->superseded, g_free);
  kc_lea_session_send_object (self, obj);
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

void
kc_lea_session_on_message (KcLeaSession *self, JsonObject *msg)
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

/* Public ------------------------------------------------------------------- */

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
    kc_lea_session_connect (self);
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
    obj = kc_lea_session_request_object (self, "stop", &r->stop_req);
    json_object_set_string_member (obj, "tap", r->tap);
    kc_lea_session_send_object (self, obj);
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
  obj = kc_lea_session_request_object (self, "stop", &req);
  if (r != NULL) {
    r->stop_req = req;
    json_object_set_string_member (obj, "tap", r->tap);
  } else {
    /* Not ours in this run (an earlier run's): the controller decides. */
    g_hash_table_insert (self->loose_stops, req, g_strdup (tap_id_or_request));
    json_object_set_string_member (obj, "tap", tap_id_or_request);
  }
  kc_lea_session_send_object (self, obj);
  if (self->funcs.stop_sent != NULL)
    self->funcs.stop_sent (self, req, r ? r->tap : tap_id_or_request,
                           r ? r->kind : KC_LEA_TAP_FUTURE, r ? r->number : NULL,
                           self->user_data);
  return TRUE;
}
