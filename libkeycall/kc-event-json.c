/* kc-event-json.c: an event as one JSON line (kc_event_to_json) and back
 * (kc_event_from_json): strict parsing, every field checked, the setters
 * redacting again. */
#define G_LOG_DOMAIN "kc-event"

#include "kc-event.h"
#include "kc-event-private.h"
#include "kc-error.h"
#include "kc-json-strict.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <time.h>

/* Our schema nests two levels; anything deeper is not an event. */
#define JSON_MAX_DEPTH  8
#define KIND_NAME_MAX   64

/* ----- JSON line ----- */

/* Same alphabet as the stable names, so an unknown kind from a newer writer
 * is still something a window can show and filter on. */
static gboolean
kind_name_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > KIND_NAME_MAX || !g_ascii_isalnum (name[0]))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '.'))
      return FALSE;
  return TRUE;
}

static void
format_time (gint64 time_us, char out[40])
{
  time_t sec = time_us / G_USEC_PER_SEC;
  struct tm tm;

  gmtime_r (&sec, &tm);
  g_snprintf (out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (time_us % G_USEC_PER_SEC));
}

static void
add_string (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_int (JsonBuilder *builder, const char *name, gint64 value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

char *
kc_event_to_json (const KcEvent *event)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree const char **names = NULL;
  char t[40];

  g_return_val_if_fail (event != NULL, NULL);
  /* The decoder requires it; KcEventBus fills it in. */
  g_return_val_if_fail (event->process != NULL, NULL);

  format_time (event->time_us, t);
  json_builder_begin_object (builder);
  add_int (builder, "v", KC_EVENT_VERSION);
  add_string (builder, "t", t);
  add_int (builder, "ts_us", event->time_us);
  add_string (builder, "proc", event->process);
  add_int (builder, "seq", (gint64) event->seq);
  add_string (builder, "lane", event->lane);
  add_string (builder, "peer", event->peer);
  add_string (builder, "call", event->call_id);
  add_string (builder, "kind", kc_event_get_kind_string (event));
  add_int (builder, "fig3", event->fig3);
  add_string (builder, "summary", event->summary);
  add_string (builder, "msg", event->message);
  add_string (builder, "fp", event->fingerprint);
  add_string (builder, "key_id", event->key_id);
  json_builder_set_member_name (builder, "attrs");
  json_builder_begin_object (builder);
  names = kc_event_get_attr_names (event, NULL);
  for (guint i = 0; names[i] != NULL; i++)
    add_string (builder, names[i], kc_event_get_attr (event, names[i]));
  json_builder_end_object (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static gboolean
invalid (GError **error, const char *field, const char *problem)
{
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "Event line rejected: field \"%s\" %s", field, problem);
  return FALSE;
}

/* Null and absent are the same for optional fields. */
static JsonNode *
member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return (node != NULL && JSON_NODE_HOLDS_NULL (node)) ? NULL : node;
}

static gboolean
get_int (JsonObject *object, const char *name, gboolean required,
         gint64 min, gint64 max, gint64 *out, GError **error)
{
  JsonNode *node = member (object, name);

  if (node == NULL)
    return required ? invalid (error, name, "is missing") : TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return invalid (error, name, "must be an integer");
  *out = json_node_get_int (node);
  if (*out < min || *out > max)
    return invalid (error, name, "is out of range");
  return TRUE;
}

static gboolean
get_string (JsonObject *object, const char *name, gboolean required,
            const char **out, GError **error)
{
  JsonNode *node = member (object, name);

  *out = NULL;
  if (node == NULL)
    return required ? invalid (error, name, "is missing") : TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, name, "must be a string");
  *out = json_node_get_string (node);
  if (required && **out == '\0')
    return invalid (error, name, "is empty");
  return TRUE;
}

static gboolean
read_attrs (KcEvent *event, JsonObject *object, GError **error)
{
  JsonNode *node = member (object, "attrs");
  JsonObject *attrs;
  g_autoptr(GList) names = NULL;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "attrs", "must be an object");
  attrs = json_node_get_object (node);
  if (json_object_get_size (attrs) > KC_EVENT_ATTRS_MAX)
    return invalid (error, "attrs", "has more than 32 members");
  names = json_object_get_members (attrs);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *value = json_object_get_member (attrs, name);

      if (!kc_event_attr_name_valid (name))
        return invalid (error, "attrs", "has a member name that is not 1-64 of [A-Za-z0-9_.-]");
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          g_autofree char *field = g_strdup_printf ("attrs.%s", name);
          return invalid (error, field, "must be a string");
        }
      kc_event_set_attr (event, name, json_node_get_string (value));
    }
  return TRUE;
}

static KcEvent *
event_from_object (JsonObject *object, GError **error)
{
  g_autoptr(KcEvent) event = NULL;
  gint64 version = 0, ts = 0, seq = 0, fig3 = 0;
  const char *proc, *kind, *t, *lane, *peer, *call, *summary, *msg, *fp, *key_id;

  /* Version first: a newer writer may change any other field. */
  if (!get_int (object, "v", TRUE, G_MININT64, G_MAXINT64, &version, error))
    return NULL;
  if (version > KC_EVENT_VERSION)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                   "Event line has format version %" G_GINT64_FORMAT "; this Keycall "
                   "reads version %d only: update Keycall to read it",
                   version, KC_EVENT_VERSION);
      return NULL;
    }
  if (version < 1)
    {
      invalid (error, "v", "is out of range");
      return NULL;
    }
  if (!get_int (object, "ts_us", TRUE, 0, KC_EVENT_TIME_MAX, &ts, error)
      || !get_string (object, "proc", TRUE, &proc, error)
      || !get_string (object, "kind", TRUE, &kind, error)
      || !get_int (object, "seq", FALSE, 0, G_MAXINT64, &seq, error)
      || !get_int (object, "fig3", FALSE, 0, 999, &fig3, error)
      || !get_string (object, "t", FALSE, &t, error)
      || !get_string (object, "lane", FALSE, &lane, error)
      || !get_string (object, "peer", FALSE, &peer, error)
      || !get_string (object, "call", FALSE, &call, error)
      || !get_string (object, "summary", FALSE, &summary, error)
      || !get_string (object, "msg", FALSE, &msg, error)
      || !get_string (object, "fp", FALSE, &fp, error)
      || !get_string (object, "key_id", FALSE, &key_id, error))
    return NULL;
  if (!kind_name_valid (kind))
    {
      invalid (error, "kind", "is not 1-64 of [a-z0-9.-]");
      return NULL;
    }
  if (fp != NULL && !kc_event_fingerprint_valid (fp))
    {
      invalid (error, "fp", "is not a key fingerprint like \"3f2a 91c0 7d4e 0b18\"");
      return NULL;
    }
  if (key_id != NULL && !kc_event_key_id_valid (key_id))
    {
      invalid (error, "key_id", "is not 32 lowercase hex digits");
      return NULL;
    }

  event = kc_event_new (kc_event_kind_from_string (kind));
  if (event->kind == KC_EVENT_KIND_UNKNOWN)
    kc_event_replace (&event->kind_string, g_strdup (kind));
  /* The setters redact again: a log written by anything else must not leak
   * a key into a window. */
  event->time_us = ts;
  event->seq = seq;
  event->fig3 = fig3;
  kc_event_set_process (event, proc);
  kc_event_set_lane (event, lane);
  kc_event_set_peer (event, peer);
  kc_event_set_call_id (event, call);
  kc_event_set_summary (event, summary);
  kc_event_set_message (event, msg);
  kc_event_set_fingerprint (event, fp);
  kc_event_set_key_id (event, key_id);
  if (!read_attrs (event, object, error))
    return NULL;
  return g_steal_pointer (&event);
}

KcEvent *
kc_event_from_json (const char *line, gssize len, GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize size;
  JsonNode *root;

  g_return_val_if_fail (line != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  size = len < 0 ? strlen (line) : (gsize) len;
  if (size > 0 && line[size - 1] == '\n')
    size--;
  if (size > 0 && line[size - 1] == '\r')
    size--;
  if (size > KC_EVENT_LINE_MAX)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                   "Event line of %" G_GSIZE_FORMAT " bytes is over the limit of %d bytes",
                   size, KC_EVENT_LINE_MAX);
      return NULL;
    }
  if (!g_utf8_validate_len (line, size, NULL))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Event line is not valid UTF-8");
      return NULL;
    }
  /* json-glib 1.6 is lenient (see kc-json-strict.h): check first. */
  if (!kc_json_strict_check_object (line, size, JSON_MAX_DEPTH, "Event line", error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, line, size, &local_error))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Event line is not valid JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Event line is not a JSON object");
      return NULL;
    }
  return event_from_object (json_node_get_object (root), error);
}
