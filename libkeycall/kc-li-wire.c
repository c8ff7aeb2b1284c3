/* kc-li-wire.c: the X3 copy header and the X1/X2 JSON lines. */
#define G_LOG_DOMAIN "keycall"

#include "config.h"

#include "kc-li-wire.h"

#include "kc-error.h"
#include "kc-json-strict.h"

#include <string.h>

#define X3_FIXED_LEN     10   /* 'K' 'X' '3' version flags len seq(4) */
#define X3_FLAG_REVERSE  0x01
#define X3_FLAG_RTCP     0x02
/* Requests are flat; a little room for members a newer LEA may add. */
#define MESSAGE_MAX_DEPTH 8

static gboolean
printable_call_id (const char *call_id, gsize len)
{
  if (len == 0 || len > KC_LI_X3_MAX_CALL_ID)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isgraph (call_id[i]))
      return FALSE;
  return TRUE;
}

gsize
kc_li_x3_header_len (const char *call_id)
{
  g_return_val_if_fail (call_id != NULL, 0);
  return X3_FIXED_LEN + strlen (call_id);
}

gsize
kc_li_x3_encode (guint8       *out,
                 gsize         out_size,
                 const char   *call_id,
                 KcDirection   direction,
                 gboolean      rtcp,
                 guint32       seq,
                 const guint8 *packet,
                 gsize         packet_len)
{
  gsize id_len;
  gsize total;

  g_return_val_if_fail (out != NULL && call_id != NULL, 0);
  g_return_val_if_fail (packet != NULL || packet_len == 0, 0);

  id_len = strlen (call_id);
  if (!printable_call_id (call_id, id_len) || packet_len == 0)
    return 0;
  total = X3_FIXED_LEN + id_len + packet_len;
  if (total > out_size)
    return 0;
  out[0] = 'K';
  out[1] = 'X';
  out[2] = '3';
  out[3] = KC_LI_X3_VERSION;
  out[4] = (direction == KC_DIRECTION_CALLEE_TO_CALLER ? X3_FLAG_REVERSE : 0)
           | (rtcp ? X3_FLAG_RTCP : 0);
  out[5] = (guint8) id_len;
  out[6] = (guint8) (seq >> 24);
  out[7] = (guint8) (seq >> 16);
  out[8] = (guint8) (seq >> 8);
  out[9] = (guint8) seq;
  memcpy (out + X3_FIXED_LEN, call_id, id_len);
  memcpy (out + X3_FIXED_LEN + id_len, packet, packet_len);
  return total;
}

gboolean
kc_li_x3_decode (const guint8 *data,
                 gsize         len,
                 KcLiX3Copy   *copy,
                 GError      **error)
{
  gsize id_len;

  g_return_val_if_fail (copy != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len < X3_FIXED_LEN || memcmp (data, "KX3", 3) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A datagram of %" G_GSIZE_FORMAT " bytes is not an X3 copy: no KX3 header",
                 len);
    return FALSE;
  }
  if (data[3] != KC_LI_X3_VERSION) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A datagram is not an X3 copy: version %u, this LEA reads version %u",
                 data[3], KC_LI_X3_VERSION);
    return FALSE;
  }
  if ((data[4] & ~(X3_FLAG_REVERSE | X3_FLAG_RTCP)) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A datagram is not an X3 copy: unknown flags 0x%02x", data[4]);
    return FALSE;
  }
  id_len = data[5];
  if (len <= X3_FIXED_LEN + id_len) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A datagram of %" G_GSIZE_FORMAT " bytes is not an X3 copy: truncated "
                 "(Call-ID of %" G_GSIZE_FORMAT " bytes and no packet)", len, id_len);
    return FALSE;
  }
  if (!printable_call_id ((const char *) data + X3_FIXED_LEN, id_len)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A datagram is not an X3 copy: its Call-ID is empty or not printable");
    return FALSE;
  }
  copy->direction = (data[4] & X3_FLAG_REVERSE) ? KC_DIRECTION_CALLEE_TO_CALLER
                                                 : KC_DIRECTION_CALLER_TO_CALLEE;
  copy->rtcp = (data[4] & X3_FLAG_RTCP) != 0;
  copy->seq = ((guint32) data[6] << 24) | ((guint32) data[7] << 16) | ((guint32) data[8] << 8)
              | data[9];
  memcpy (copy->call_id, data + X3_FIXED_LEN, id_len);
  copy->call_id[id_len] = '\0';
  copy->packet = data + X3_FIXED_LEN + id_len;
  copy->packet_len = len - X3_FIXED_LEN - id_len;
  return TRUE;
}

char *
kc_li_time_format (gint64 unix_us)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC);
  g_autofree char *seconds = NULL;
  gint64 us = unix_us % G_USEC_PER_SEC;

  if (us < 0) {
    /* Before 1970: the second below, and a positive fraction. */
    g_clear_pointer (&utc, g_date_time_unref);
    utc = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC - 1);
    us += G_USEC_PER_SEC;
  }
  if (utc == NULL)
    return g_strdup ("invalid");
  seconds = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06" G_GINT64_FORMAT "Z", seconds, us);
}

gboolean
kc_li_time_parse (const char  *text,
                  const char  *what,
                  gint64      *unix_us,
                  GError     **error)
{
  g_autoptr(GDateTime) time = NULL;
  gsize len;

  g_return_val_if_fail (unix_us != NULL, FALSE);

  /* GDateTime accepts more than RFC 3339 (no zone, week dates, a space):
   * insist on YYYY-MM-DDTHH:MM:SS and an explicit zone. */
  len = text ? strlen (text) : 0;
  if (len < 20 || len > 40 || text[4] != '-' || text[7] != '-'
      || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':'
      || !(text[len - 1] == 'Z' || text[len - 1] == 'z' || text[len - 6] == '+'
           || text[len - 6] == '-')
      || (time = g_date_time_new_from_iso8601 (text, NULL)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s is not an RFC 3339 time such as 2026-11-28T16:04:05.123456Z",
                 what ? what : "Time");
    return FALSE;
  }
  *unix_us = g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
  return TRUE;
}

JsonObject *
kc_li_message_parse (const char  *line,
                     gsize        len,
                     GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;
  JsonObject *object;
  JsonNode *node;

  g_return_val_if_fail (line != NULL || len == 0, NULL);

  if (len > KC_LI_LINE_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Line of %" G_GSIZE_FORMAT " bytes is longer than %d", len, KC_LI_LINE_MAX);
    return NULL;
  }
  if (!g_utf8_validate_len (line, len, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Line is not valid UTF-8");
    return NULL;
  }
  if (!kc_json_strict_check_object (line, len, MESSAGE_MAX_DEPTH, "Line", error))
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, line, (gssize) len, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Line is not valid JSON: %s",
                 local->message);
    return NULL;
  }
  object = json_node_get_object (json_parser_get_root (parser));
  node = json_object_get_member (object, "v");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Message has no \"v\":1 (this side speaks "
                 "version 1 of the LI protocol)");
    return NULL;
  }
  node = json_object_get_member (object, "op");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Message has no \"op\" string");
    return NULL;
  }
  return json_object_ref (object);
}

char *
kc_li_message_to_line (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  g_return_val_if_fail (object != NULL, NULL);

  json_node_set_object (node, object);
  text = json_to_string (node, FALSE);
  return g_strconcat (text, "\n", NULL);
}
