/* kc-li-x1.c: the agencies' X1 requests on the lawful-intercept port (514):
 * tap, stop and list, each audited as asked and answered ok or error
 * (connections: kc-li.c; deliveries: kc-li-deliver.c). */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-li-private.h"

#include "kc-error.h"
#include "kc-li-wire.h"

#include <string.h>

#define REQ_MAX      64

void
kc_li_answer_error (LiConn *conn, const char *req, const char *reason)
{
  g_autoptr(JsonObject) object = kc_li_message_new ("error");

  if (req != NULL)
    json_object_set_string_member (object, "req", req);
  json_object_set_string_member (object, "reason", reason);
  kc_li_conn_send_audited (conn, object, conn->lane, "tap-answer", "error req=%s reason=%s",
                           req ? req : "-", reason);
  kc_li_emit_attrs (conn->li, KC_EVENT_KIND_TAP_REFUSED, 514, conn->lane, NULL,
                    (const char *[]) { "op", "error", NULL },
                    "514 request %s refused: %s", req ? req : "-", reason);
}

static void
answer_ok (LiConn *conn, const char *req, const char *tap_id, gint64 calls)
{
  g_autoptr(JsonObject) object = kc_li_message_new ("ok");

  json_object_set_string_member (object, "req", req);
  json_object_set_string_member (object, "tap", tap_id);
  json_object_set_int_member (object, "calls", calls);
  kc_li_conn_send_audited (conn, object, conn->lane, "tap-answer",
                           "ok req=%s tap=%s calls=%" G_GINT64_FORMAT, req, tap_id, calls);
  kc_li_emit_attrs (conn->li, KC_EVENT_KIND_TAP_REQUEST, 514, conn->lane, NULL,
                    (const char *[]) { "op", "ok", "tap", tap_id, NULL },
                    "514 tap %s: ok (%" G_GINT64_FORMAT " calls)", tap_id, calls);
}

/* An optional string member: NULL when absent, FALSE when not a string. */
static gboolean
optional_string (JsonObject *object, const char *name, const char **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "\"%s\" must be a string", name);
    return FALSE;
  }
  *out = json_node_get_string (node);
  return TRUE;
}

/* A string member for the audit log: "-" when absent, "?" when not a string. */
static const char *
member_text (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return "-";
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return "?";
  return json_node_get_string (node);
}

static gboolean
optional_time (JsonObject *object, const char *name, gint64 *out, GError **error)
{
  const char *text;

  *out = 0;
  if (!optional_string (object, name, &text, error))
    return FALSE;
  return text == NULL || kc_li_time_parse (text, name, out, error);
}

/* "HOST:PORT" with a numeric host ("[v6]:port" for IPv6). */
static GSocketAddress *
parse_content (const char *text, GError **error)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  guint64 port;

  if (colon != NULL && colon != text) {
    host = g_strndup (text, colon - text);
    if (host[0] == '[' && host[strlen (host) - 1] == ']') {
      char *inner = g_strndup (host + 1, strlen (host) - 2);

      g_free (host);
      host = inner;
    }
    inet = g_inet_address_new_from_string (host);
  }
  if (inet == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "\"content\" %s is not HOST:PORT with a numeric HOST", text);
    return NULL;
  }
  return g_inet_socket_address_new (inet, (guint16) port);
}

static gboolean
valid_req (const char *req)
{
  gsize len = req ? strlen (req) : 0;

  if (len == 0 || len > REQ_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isgraph (req[i]))
      return FALSE;
  return TRUE;
}

static char *
new_tap_id (void)
{
  KcKeyId id;
  char hex[KC_KEY_ID_TEXT_LEN];

  kc_key_id_generate (&id);
  kc_key_id_to_hex (&id, hex);
  return g_strdup_printf ("T-%s", hex);
}

static void
handle_tap (LiConn *conn, JsonObject *object, const char *req)
{
  KcLi *self = conn->li;
  KcStore *store = kc_controller_get_store (self->ctrl);
  KcControllerConfig *config = kc_controller_get_config (self->ctrl);
  const char *number, *kind_text, *content;
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSubscriber) sub = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *tap_id = NULL;
  KcTap tap = { 0 };
  KcTapKind kind;
  gint64 from, until, now = g_get_real_time (), calls = 0;
  LiTap *live;

  /* Audited as asked, before anything is checked. */
  kc_li_audit (self, conn->lane, "tap-request",
               "req=%s number=%s kind=%s from=%s until=%s content=%s", req,
               member_text (object, "number"), member_text (object, "kind"),
               member_text (object, "from"), member_text (object, "until"),
               member_text (object, "content"));
  kc_li_emit_attrs (self, KC_EVENT_KIND_TAP_REQUEST, 514, conn->lane, NULL,
                    (const char *[]) { "op", "tap", "number", member_text (object, "number"),
                                       "kind", member_text (object, "kind"), NULL },
                    "514 %s asks for a %s tap on %s", conn->lane,
                    member_text (object, "kind"), member_text (object, "number"));
  if (!optional_string (object, "number", &number, &error)
      || !optional_string (object, "kind", &kind_text, &error)
      || !optional_string (object, "content", &content, &error)
      || !optional_time (object, "from", &from, &error)
      || !optional_time (object, "until", &until, &error)) {
    kc_li_answer_error (conn, req, error->message);
    return;
  }
  if (number == NULL || kind_text == NULL) {
    kc_li_answer_error (conn, req, "A tap needs \"number\" and \"kind\"");
    return;
  }
  if (!kc_tap_kind_from_string (kind_text, &kind)) {
    kc_li_answer_error (conn, req, "\"kind\" must be future, current or past");
    return;
  }
  if (!kc_store_validate_number (number, &error)) {
    kc_li_answer_error (conn, req, error->message);
    return;
  }
  sub = kc_store_subscriber_get (store, number, &error);
  if (sub == NULL) {
    g_autofree char *reason = g_strdup_printf ("No subscriber %s at %s", number, config->name);

    kc_li_answer_error (conn, req, g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND)
                                   ? reason : error->message);
    return;
  }
  if (content != NULL && kind != KC_TAP_PAST
      && (address = parse_content (content, &error)) == NULL) {
    kc_li_answer_error (conn, req, error->message);
    return;
  }
  if (kind == KC_TAP_PAST && until == 0)
    until = now;
  if (kind == KC_TAP_FUTURE && until != 0 && until <= now) {
    kc_li_answer_error (conn, req, "\"until\" is already past");
    return;
  }

  tap_id = new_tap_id ();
  tap.tap_id = tap_id;
  tap.number = (char *) number;
  tap.kind = kind;
  tap.lea = conn->lea;
  tap.from = kind == KC_TAP_PAST ? from : 0;
  tap.until = until;
  tap.created_at = now;
  if (!kc_store_tap_add (store, &tap, &error)) {
    kc_li_answer_error (conn, req, error->message);
    return;
  }
  g_message ("Lawful intercept: %s tap %s %s on %s", conn->lane, tap_id, kind_text, number);

  live = g_new0 (LiTap, 1);
  live->tap = g_new0 (KcTap, 1);
  *live->tap = tap;
  live->tap->tap_id = g_strdup (tap_id);
  live->tap->number = g_strdup (number);
  live->tap->lea = g_strdup (conn->lea);
  live->content = kind != KC_TAP_PAST ? g_strdup (content) : NULL;
  live->address = address ? g_object_ref (address) : NULL;

  if (kind == KC_TAP_PAST) {
    g_autoptr(GPtrArray) keys = kc_store_keys_for_number (store, number, from, until, &error);

    if (keys == NULL) {
      kc_li_tap_free (live);
      kc_li_answer_error (conn, req, error->message);
      return;
    }
    for (guint i = 0; i < keys->len; i++)
      calls += kc_li_send_key (self, live, conn, NULL, keys->pdata[i]) ? 1 : 0;
    answer_ok (conn, req, tap_id, calls);
    g_hash_table_insert (self->taps, live->tap->tap_id, live);
    kc_li_stop_tap (self, live, "past keys sent");
    return;
  }

  g_hash_table_insert (self->taps, live->tap->tap_id, live);
  if (kind == KC_TAP_CURRENT) {
    GList *list = kc_controller_list_calls (self->ctrl);

    live->call_ids = g_ptr_array_new_with_free_func (g_free);
    for (GList *l = list; l != NULL; l = l->next) {
      KcCall *call = l->data;
      LiCall *lc;

      if (call->state == CALL_ENDED
          || (g_strcmp0 (call->caller, number) != 0 && g_strcmp0 (call->callee, number) != 0))
        continue;
      lc = kc_li_call_get (self, call);
      g_ptr_array_add (live->call_ids, g_strdup (call->id));
      /* The key first, then what follows from it. */
      if (lc->keyed && kc_li_send_key (self, live, conn, &lc->key_id, NULL))
        calls++;
      kc_li_attach (self, live, lc);
    }
    g_list_free (list);
  }
  answer_ok (conn, req, tap_id, calls);
  if (kind == KC_TAP_CURRENT && live->call_ids->len == 0)
    kc_li_stop_tap (self, live, "no call in progress");
}

static void
handle_stop (LiConn *conn, JsonObject *object, const char *req)
{
  KcLi *self = conn->li;
  g_autoptr(GError) error = NULL;
  g_autofree char *tap_id = NULL;
  const char *text;
  GHashTableIter iter;
  gpointer value;
  LiTap *tap;

  if (!optional_string (object, "tap", &text, &error)) {
    kc_li_answer_error (conn, req, error->message);
    return;
  }
  kc_li_audit (self, conn->lane, "tap-stop", "req=%s tap=%s", req, text ? text : "-");
  tap = text ? g_hash_table_lookup (self->taps, text) : NULL;
  if (tap == NULL || g_strcmp0 (tap->tap->lea, conn->lea) != 0) {
    g_autofree char *reason = g_strdup_printf ("No active tap %s of %s", text ? text : "(none)",
                                               conn->lane);

    kc_li_answer_error (conn, req, reason);
    return;
  }
  tap_id = g_strdup (tap->tap->tap_id);
  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    kc_li_detach (self, tap, value, TRUE);
  kc_li_stop_tap (self, tap, "stopped by its agency");
  answer_ok (conn, req, tap_id, 0);
}

static void
handle_list (LiConn *conn, const char *req)
{
  KcLi *self = conn->li;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) taps = kc_store_tap_list (kc_controller_get_store (self->ctrl), TRUE,
                                                 &error);
  g_autoptr(JsonObject) object = NULL;
  JsonArray *array;

  kc_li_audit (self, conn->lane, "tap-request", "req=%s list", req);
  if (taps == NULL) {
    kc_li_answer_error (conn, req, error->message);
    return;
  }
  object = kc_li_message_new ("taps");
  json_object_set_string_member (object, "req", req);
  array = json_array_new ();
  for (guint i = 0; i < taps->len; i++) {
    KcTap *tap = taps->pdata[i];
    LiTap *live = g_hash_table_lookup (self->taps, tap->tap_id);
    JsonObject *item;

    if (g_strcmp0 (tap->lea, conn->lea) != 0)
      continue;
    item = json_object_new ();
    json_object_set_string_member (item, "tap", tap->tap_id);
    json_object_set_string_member (item, "number", tap->number);
    json_object_set_string_member (item, "kind", kc_tap_kind_to_string (tap->kind));
    kc_li_set_time (item, "created", tap->created_at);
    if (tap->until != 0)
      kc_li_set_time (item, "until", tap->until);
    if (live != NULL && live->content != NULL)
      json_object_set_string_member (item, "content", live->content);
    json_array_add_object_element (array, item);
  }
  json_object_set_array_member (object, "taps", array);
  kc_li_conn_send_audited (conn, object, conn->lane, "tap-answer", "taps req=%s count=%u", req,
                           json_array_get_length (array));
}

/* FALSE when the connection must close (a malformed line). */
gboolean
kc_li_handle_line (LiConn *conn, const char *line, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = kc_li_message_parse (line, len, &error);
  const char *op, *req;

  if (object == NULL) {
    kc_li_answer_error (conn, NULL, error->message);
    return FALSE;
  }
  op = json_object_get_string_member (object, "op");
  if (!optional_string (object, "req", &req, &error) || !valid_req (req)) {
    kc_li_answer_error (conn, NULL, "\"req\" must be 1 to 64 printable ASCII characters");
    return TRUE;
  }
  if (g_str_equal (op, "tap"))
    handle_tap (conn, object, req);
  else if (g_str_equal (op, "stop"))
    handle_stop (conn, object, req);
  else if (g_str_equal (op, "list"))
    handle_list (conn, req);
  else {
    g_autofree char *reason = g_strdup_printf ("Unknown op \"%s\"", op);

    kc_li_answer_error (conn, req, reason);
  }
  return TRUE;
}
