/* kc-event.h: the one record every Keycall process reports, and its JSON line.
 *
 * Windows draw the ladder diagram from events alone, live or from a log, so
 * an event must say who did what to whom, and must never carry a key: the
 * setters redact every free-text field, and decoding redacts again.
 */
#pragma once

#include <glib-object.h>

#include "kc-keys.h"
#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_EVENT_VERSION        1
/* Longest JSON line decoded; the encoder always stays below it. */
#define KC_EVENT_LINE_MAX       (1024 * 1024)
/* Longer values are cut by the setters (UTF-8 safe, marked with "…"). */
#define KC_EVENT_ID_MAX         256          /* process, lane, peer, call id, kind */
#define KC_EVENT_SUMMARY_MAX    1024
#define KC_EVENT_MESSAGE_MAX    (128 * 1024)
#define KC_EVENT_ATTR_NAME_MAX  64
#define KC_EVENT_ATTR_VALUE_MAX 1024
#define KC_EVENT_ATTRS_MAX      32
/* Latest time an event may carry: 9999-12-31T23:59:59.999999Z. */
#define KC_EVENT_TIME_MAX       G_GINT64_CONSTANT (253402300799999999)

/* Stable: the strings (kc_event_kind_to_string) are the wire format; the
 * numbers are not, so new kinds may be added anywhere before COUNT. */
typedef enum {
  KC_EVENT_KIND_UNKNOWN,          /* decoded from a newer writer; string kept */
  KC_EVENT_KIND_SIP_RX,
  KC_EVENT_KIND_SIP_TX,
  KC_EVENT_KIND_TLS_UP,
  KC_EVENT_KIND_TLS_DOWN,
  KC_EVENT_KIND_REGISTER,
  KC_EVENT_KIND_UNREGISTER,
  KC_EVENT_KIND_KEY_CREATED,
  KC_EVENT_KIND_KEY_DERIVED,
  KC_EVENT_KIND_KEY_SEALED,
  KC_EVENT_KIND_KEY_STORED,
  KC_EVENT_KIND_KEY_SENT,
  KC_EVENT_KIND_KEY_ACK,
  KC_EVENT_KIND_KEY_ACK_FAILED,
  KC_EVENT_KIND_CALL_STATE,
  KC_EVENT_KIND_MEDIA_START,
  KC_EVENT_KIND_MEDIA_STATS,
  KC_EVENT_KIND_MEDIA_STOP,
  KC_EVENT_KIND_TAP_REQUEST,
  KC_EVENT_KIND_TAP_REFUSED,
  KC_EVENT_KIND_KEY_DELIVERED,
  KC_EVENT_KIND_CONTENT_DELIVERED,
  KC_EVENT_KIND_CDR,
  KC_EVENT_KIND_ERROR,
  KC_EVENT_KIND_STEP_HOLD,
  KC_EVENT_KIND_STEP_RELEASE,
  KC_EVENT_KIND_LOG,
  KC_EVENT_KIND_COUNT,
} KcEventKind;

/* NULL for UNKNOWN and out-of-range values. */
const char  *kc_event_kind_to_string   (KcEventKind  kind);
/* KC_EVENT_KIND_UNKNOWN for any string that is not a known kind. */
KcEventKind  kc_event_kind_from_string (const char  *text);

/* KcEvent is reference counted (atomically) and built with the setters.
 * kc_event_freeze() makes it read-only, after which it may be shared between
 * threads; KcEventBus freezes every event it emits. kc_event_copy() gives a
 * writable deep copy. */
typedef struct _KcEvent KcEvent;

#define KC_TYPE_EVENT (kc_event_get_type ())
GType        kc_event_get_type         (void) G_GNUC_CONST;

/* Time is now; everything else unset. */
KcEvent     *kc_event_new              (KcEventKind     kind);
KcEvent     *kc_event_ref              (KcEvent        *event);
void         kc_event_unref            (KcEvent        *event);
KcEvent     *kc_event_copy             (const KcEvent  *event);
void         kc_event_freeze           (KcEvent        *event);
gboolean     kc_event_is_frozen        (const KcEvent  *event);
gboolean     kc_event_equal            (const KcEvent  *a,
                                        const KcEvent  *b);

/* Setters copy their arguments; NULL clears a field. Identifiers and texts
 * are made valid UTF-8 and cut to the limits above; identifiers and the
 * summary lose control characters. */
/* UNIX µs (g_get_real_time), 0..KC_EVENT_TIME_MAX. */
void         kc_event_set_time         (KcEvent        *event,
                                        gint64          time_us);
void         kc_event_set_process      (KcEvent        *event,
                                        const char     *process);
void         kc_event_set_lane         (KcEvent        *event,
                                        const char     *lane);
void         kc_event_set_peer         (KcEvent        *event,
                                        const char     *peer);
void         kc_event_set_call_id      (KcEvent        *event,
                                        const char     *call_id);
/* FIG. 3/5 step: 310..330, 506, 508, 510..516; 0 for none. */
void         kc_event_set_fig3         (KcEvent        *event,
                                        int             step);
/* Passed through kc_sdp_redact(), like the message and attribute values. */
void         kc_event_set_summary      (KcEvent        *event,
                                        const char     *summary);
void         kc_event_set_summary_printf (KcEvent      *event,
                                        const char     *format,
                                        ...) G_GNUC_PRINTF (2, 3);
/* The full SIP message (or other text); stored only after kc_sdp_redact(). */
void         kc_event_set_message      (KcEvent        *event,
                                        const char     *message);
/* "3f2a 91c0 7d4e 0b18", as kc_secret_fingerprint() writes it. */
void         kc_event_set_fingerprint  (KcEvent        *event,
                                        const char     *fingerprint);
/* 32 lowercase hex digits, as kc_key_id_to_hex() writes them. */
void         kc_event_set_key_id       (KcEvent        *event,
                                        const char     *key_id_hex);
/* Fills the key id and the key's fingerprint; either may be NULL. */
void         kc_event_set_key          (KcEvent        *event,
                                        const KcKeyId  *key_id,
                                        const KcSecret *key);
/* @name: 1 to 64 of [A-Za-z0-9_.-]; @value NULL removes the attribute. */
void         kc_event_set_attr         (KcEvent        *event,
                                        const char     *name,
                                        const char     *value);
void         kc_event_set_attr_int     (KcEvent        *event,
                                        const char     *name,
                                        gint64          value);
/* Per-process sequence number, 1 and up; 0 means "not assigned yet". */
void         kc_event_set_seq          (KcEvent        *event,
                                        guint64         seq);

gint64       kc_event_get_time         (const KcEvent  *event);
const char  *kc_event_get_process      (const KcEvent  *event);
const char  *kc_event_get_lane         (const KcEvent  *event);
const char  *kc_event_get_peer         (const KcEvent  *event);
const char  *kc_event_get_call_id      (const KcEvent  *event);
KcEventKind  kc_event_get_kind         (const KcEvent  *event);
/* The stable kind string, or the original string of an UNKNOWN kind. */
const char  *kc_event_get_kind_string  (const KcEvent  *event);
int          kc_event_get_fig3         (const KcEvent  *event);
const char  *kc_event_get_summary      (const KcEvent  *event);
const char  *kc_event_get_message      (const KcEvent  *event);
const char  *kc_event_get_fingerprint  (const KcEvent  *event);
const char  *kc_event_get_key_id       (const KcEvent  *event);
const char  *kc_event_get_attr         (const KcEvent  *event,
                                        const char     *name);
/* Attribute names in byte order; free the array with g_free() only. */
const char **kc_event_get_attr_names   (const KcEvent  *event,
                                        guint          *n_names);
guint64      kc_event_get_seq          (const KcEvent  *event);

/* One compact JSON object, no newline. The keys, always all present:
 * "v", "t" (ISO 8601 UTC, µs), "ts_us", "proc", "seq", "lane", "peer",
 * "call", "kind", "fig3", "summary", "msg", "fp", "key_id", "attrs". */
char        *kc_event_to_json          (const KcEvent  *event);
/* Strict: KC_ERROR_TOO_LARGE over KC_EVENT_LINE_MAX, KC_ERROR_UNSUPPORTED
 * for "v" above KC_EVENT_VERSION, KC_ERROR_INVALID naming the field
 * otherwise. Unknown keys are ignored; one trailing "\n" or "\r\n" is allowed.
 * Free-text fields are redacted again. @len may be -1 for NUL-terminated. */
KcEvent     *kc_event_from_json        (const char     *line,
                                        gssize          len,
                                        GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcEvent, kc_event_unref)

G_END_DECLS
