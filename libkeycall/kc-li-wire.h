/* kc-li-wire.h: what crosses the lawful-intercept interfaces, shared by the
 * controller (kc-li) and keycall-lea: the X3 content copy header and the
 * JSON-lines framing of X1/X2 (docs/lawful-intercept.md).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "kc-keys.h"

G_BEGIN_DECLS

#define KC_LI_X3_VERSION      1
#define KC_LI_X3_MAX_CALL_ID  255      /* bytes of a Call-ID in a copy header */
#define KC_LI_LINE_MAX        65536    /* bytes of one X1/X2 line, newline excluded */

/* One decoded X3 copy; @call_id is NUL-terminated, @packet points into the
 * datagram that was decoded (not copied). */
typedef struct {
  KcDirection   direction;
  gboolean      rtcp;
  guint32       seq;
  char          call_id[KC_LI_X3_MAX_CALL_ID + 1];
  const guint8 *packet;
  gsize         packet_len;
} KcLiX3Copy;

/* Bytes the header of a copy of @call_id takes. */
gsize       kc_li_x3_header_len   (const char   *call_id);
/* Writes the header and @packet into @out; returns the datagram's length,
 * or 0 when @out_size is too small or @call_id is empty or longer than
 * KC_LI_X3_MAX_CALL_ID. */
gsize       kc_li_x3_encode       (guint8       *out,
                                   gsize         out_size,
                                   const char   *call_id,
                                   KcDirection   direction,
                                   gboolean      rtcp,
                                   guint32       seq,
                                   const guint8 *packet,
                                   gsize         packet_len);
/* KC_ERROR_INVALID ("… is not an X3 copy: …") for a datagram that is not a
 * version-1 copy with a printable Call-ID and a non-empty packet. */
gboolean    kc_li_x3_decode       (const guint8 *data,
                                   gsize         len,
                                   KcLiX3Copy   *copy,
                                   GError      **error);

/* RFC 3339 UTC with microseconds, "2026-11-28T16:04:05.123456Z", from UNIX
 * microseconds; and back (any RFC 3339 offset accepted), KC_ERROR_INVALID
 * naming @what otherwise. */
char       *kc_li_time_format     (gint64        unix_us);
gboolean    kc_li_time_parse      (const char   *text,
                                   const char   *what,
                                   gint64       *unix_us,
                                   GError      **error);

/* One received line (without its newline) as a JSON object: valid UTF-8,
 * at most KC_LI_LINE_MAX bytes, one strict JSON object
 * (kc_json_strict_check_object), "v" equal to 1 and "op" a string.
 * KC_ERROR_INVALID otherwise, saying which. */
JsonObject *kc_li_message_parse   (const char   *line,
                                   gsize         len,
                                   GError      **error);
/* @object as one line with its trailing newline. */
char       *kc_li_message_to_line (JsonObject   *object);

G_END_DECLS
