/* kc-event.c: the event record and its redaction; its JSON line is in
 * kc-event-json.c. */
#define G_LOG_DOMAIN "kc-event"

#include "kc-event.h"
#include "kc-event-private.h"
#include "kc-error.h"
#include "kc-sdp-key.h"

#include <string.h>

#define CUT_MARK        "…"

G_DEFINE_BOXED_TYPE (KcEvent, kc_event, kc_event_ref, kc_event_unref)

static const char * const kind_names[KC_EVENT_KIND_COUNT] = {
  [KC_EVENT_KIND_UNKNOWN]           = NULL,
  [KC_EVENT_KIND_SIP_RX]            = "sip-rx",
  [KC_EVENT_KIND_SIP_TX]            = "sip-tx",
  [KC_EVENT_KIND_TLS_UP]            = "tls-up",
  [KC_EVENT_KIND_TLS_DOWN]          = "tls-down",
  [KC_EVENT_KIND_REGISTER]          = "register",
  [KC_EVENT_KIND_UNREGISTER]        = "unregister",
  [KC_EVENT_KIND_KEY_CREATED]       = "key-created",
  [KC_EVENT_KIND_KEY_DERIVED]       = "key-derived",
  [KC_EVENT_KIND_KEY_SEALED]        = "key-sealed",
  [KC_EVENT_KIND_KEY_STORED]        = "key-stored",
  [KC_EVENT_KIND_KEY_SENT]          = "key-sent",
  [KC_EVENT_KIND_KEY_ACK]           = "key-ack",
  [KC_EVENT_KIND_KEY_ACK_FAILED]    = "key-ack-failed",
  [KC_EVENT_KIND_CALL_STATE]        = "call-state",
  [KC_EVENT_KIND_MEDIA_START]       = "media-start",
  [KC_EVENT_KIND_MEDIA_STATS]       = "media-stats",
  [KC_EVENT_KIND_MEDIA_STOP]        = "media-stop",
  [KC_EVENT_KIND_TAP_REQUEST]       = "tap-request",
  [KC_EVENT_KIND_TAP_REFUSED]       = "tap-refused",
  [KC_EVENT_KIND_KEY_DELIVERED]     = "key-delivered",
  [KC_EVENT_KIND_CONTENT_DELIVERED] = "content-delivered",
  [KC_EVENT_KIND_CDR]               = "cdr",
  [KC_EVENT_KIND_ERROR]             = "error",
  [KC_EVENT_KIND_STEP_HOLD]         = "step-hold",
  [KC_EVENT_KIND_STEP_RELEASE]      = "step-release",
  [KC_EVENT_KIND_LOG]               = "log",
};

const char *
kc_event_kind_to_string (KcEventKind kind)
{
  if ((int) kind < 0 || kind >= KC_EVENT_KIND_COUNT)
    return NULL;
  return kind_names[kind];
}

KcEventKind
kc_event_kind_from_string (const char *text)
{
  if (text == NULL)
    return KC_EVENT_KIND_UNKNOWN;
  for (int i = KC_EVENT_KIND_UNKNOWN + 1; i < KC_EVENT_KIND_COUNT; i++)
    if (strcmp (kind_names[i], text) == 0)
      return i;
  return KC_EVENT_KIND_UNKNOWN;
}

/* ----- Sanitising: every string enters an event through one of these ----- */

/* Cuts valid UTF-8 @s to at most @max bytes (mark included), on a character
 * boundary; @at_line prefers the end of a line so no attribute is cut in
 * half (a cut one would look malformed and be redacted differently when the
 * line is decoded again). Takes ownership of @s. */
static char *
cut_utf8 (char *s, gsize max, gboolean at_line)
{
  gsize len = strlen (s);
  gsize keep;

  if (len <= max)
    return s;

  keep = max - strlen (CUT_MARK);
  while (keep > 0 && ((guchar) s[keep] & 0xc0) == 0x80)
    keep--;
  if (at_line)
    {
      const char *nl = g_strrstr_len (s, keep, "\n");

      if (nl != NULL)
        keep = nl - s + 1;
    }
  s[keep] = '\0';
  {
    char *cut = g_strconcat (s, CUT_MARK, NULL);

    g_free (s);
    return cut;
  }
}

/* Control characters would break a one-line display; they are ASCII, so
 * replacing bytes cannot split a UTF-8 sequence. */
static void
strip_controls (char *s)
{
  for (char *p = s; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
}

static char *
redact (const char *valid_text)
{
  char *redacted = kc_sdp_redact (valid_text);

  /* Never fall back to the unredacted text. */
  if (redacted == NULL)
    redacted = g_strdup ("[withheld: the text could not be redacted]");
  return redacted;
}

static char *
clean_identifier (const char *text)
{
  char *s;

  if (text == NULL || *text == '\0')
    return NULL;
  s = g_utf8_make_valid (text, -1);
  strip_controls (s);
  return cut_utf8 (s, KC_EVENT_ID_MAX, FALSE);
}

/* Redaction runs first, on the text as written: stripping newlines first
 * could hide an attribute from a line-oriented redactor. */
static char *
clean_line (const char *text, gsize max)
{
  g_autofree char *valid = NULL;
  char *s;

  if (text == NULL || *text == '\0')
    return NULL;
  valid = g_utf8_make_valid (text, -1);
  s = redact (valid);
  strip_controls (s);
  return cut_utf8 (s, max, FALSE);
}

static char *
clean_message (const char *text)
{
  g_autofree char *valid = NULL;

  if (text == NULL || *text == '\0')
    return NULL;
  valid = g_utf8_make_valid (text, -1);
  return cut_utf8 (redact (valid), KC_EVENT_MESSAGE_MAX, TRUE);
}

static gboolean
is_lower_hex (char c)
{
  return g_ascii_isdigit (c) || (c >= 'a' && c <= 'f');
}

gboolean
kc_event_fingerprint_valid (const char *fp)
{
  if (strlen (fp) != KC_FINGERPRINT_LEN - 1)
    return FALSE;
  for (int i = 0; fp[i]; i++)
    if ((i % 5 == 4) ? fp[i] != ' ' : !is_lower_hex (fp[i]))
      return FALSE;
  return TRUE;
}

gboolean
kc_event_key_id_valid (const char *hex)
{
  if (strlen (hex) != KC_KEY_ID_LEN * 2)
    return FALSE;
  for (const char *p = hex; *p; p++)
    if (!is_lower_hex (*p))
      return FALSE;
  return TRUE;
}

gboolean
kc_event_attr_name_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > KC_EVENT_ATTR_NAME_MAX)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-')
      return FALSE;
  return TRUE;
}

/* ----- Life cycle ----- */

KcEvent *
kc_event_new (KcEventKind kind)
{
  KcEvent *event;

  g_return_val_if_fail ((int) kind >= 0 && kind < KC_EVENT_KIND_COUNT, NULL);

  event = g_new0 (KcEvent, 1);
  g_atomic_ref_count_init (&event->ref);
  event->kind = kind;
  if (kind == KC_EVENT_KIND_UNKNOWN)
    event->kind_string = g_strdup ("unknown");
  event->time_us = g_get_real_time ();
  return event;
}

KcEvent *
kc_event_ref (KcEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);

  g_atomic_ref_count_inc (&event->ref);
  return event;
}

void
kc_event_unref (KcEvent *event)
{
  g_return_if_fail (event != NULL);

  if (!g_atomic_ref_count_dec (&event->ref))
    return;
  g_free (event->kind_string);
  g_free (event->process);
  g_free (event->lane);
  g_free (event->peer);
  g_free (event->call_id);
  g_free (event->summary);
  g_free (event->message);
  g_free (event->fingerprint);
  g_free (event->key_id);
  g_clear_pointer (&event->attrs, g_hash_table_unref);
  g_free (event);
}

KcEvent *
kc_event_copy (const KcEvent *event)
{
  KcEvent *copy;

  g_return_val_if_fail (event != NULL, NULL);

  copy = g_new0 (KcEvent, 1);
  g_atomic_ref_count_init (&copy->ref);
  copy->kind = event->kind;
  copy->kind_string = g_strdup (event->kind_string);
  copy->time_us = event->time_us;
  copy->seq = event->seq;
  copy->fig3 = event->fig3;
  copy->process = g_strdup (event->process);
  copy->lane = g_strdup (event->lane);
  copy->peer = g_strdup (event->peer);
  copy->call_id = g_strdup (event->call_id);
  copy->summary = g_strdup (event->summary);
  copy->message = g_strdup (event->message);
  copy->fingerprint = g_strdup (event->fingerprint);
  copy->key_id = g_strdup (event->key_id);
  if (event->attrs != NULL)
    {
      GHashTableIter iter;
      gpointer name, value;

      copy->attrs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_iter_init (&iter, event->attrs);
      while (g_hash_table_iter_next (&iter, &name, &value))
        g_hash_table_insert (copy->attrs, g_strdup (name), g_strdup (value));
    }
  return copy;
}

void
kc_event_freeze (KcEvent *event)
{
  g_return_if_fail (event != NULL);

  g_atomic_int_set (&event->frozen, TRUE);
}

gboolean
kc_event_is_frozen (const KcEvent *event)
{
  g_return_val_if_fail (event != NULL, FALSE);

  return g_atomic_int_get (&event->frozen);
}

static guint
attr_count (const KcEvent *event)
{
  return event->attrs ? g_hash_table_size (event->attrs) : 0;
}

gboolean
kc_event_equal (const KcEvent *a,
                const KcEvent *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a->kind != b->kind || a->time_us != b->time_us || a->seq != b->seq
      || a->fig3 != b->fig3
      || g_strcmp0 (a->kind_string, b->kind_string) != 0
      || g_strcmp0 (a->process, b->process) != 0
      || g_strcmp0 (a->lane, b->lane) != 0
      || g_strcmp0 (a->peer, b->peer) != 0
      || g_strcmp0 (a->call_id, b->call_id) != 0
      || g_strcmp0 (a->summary, b->summary) != 0
      || g_strcmp0 (a->message, b->message) != 0
      || g_strcmp0 (a->fingerprint, b->fingerprint) != 0
      || g_strcmp0 (a->key_id, b->key_id) != 0
      || attr_count (a) != attr_count (b))
    return FALSE;
  if (a->attrs != NULL)
    {
      GHashTableIter iter;
      gpointer name, value;

      g_hash_table_iter_init (&iter, a->attrs);
      while (g_hash_table_iter_next (&iter, &name, &value))
        if (g_strcmp0 (value, kc_event_get_attr (b, name)) != 0)
          return FALSE;
    }
  return TRUE;
}

/* ----- Setters ----- */

#define RETURN_IF_NOT_WRITABLE(event)                  \
  G_STMT_START {                                       \
    g_return_if_fail ((event) != NULL);                \
    g_return_if_fail (!kc_event_is_frozen (event));    \
  } G_STMT_END

void
kc_event_replace (char **field, char *value)
{
  g_free (*field);
  *field = value;
}

void
kc_event_set_time (KcEvent *event, gint64 time_us)
{
  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (time_us >= 0 && time_us <= KC_EVENT_TIME_MAX);

  event->time_us = time_us;
}

/* Every string field is stored through its cleaner, so no setter can put
 * an unredacted or unbounded text into an event. */
#define STRING_SETTER(name, field, clean)                       \
  void                                                          \
  kc_event_set_##name (KcEvent *event, const char *value)      \
  {                                                             \
    RETURN_IF_NOT_WRITABLE (event);                             \
    kc_event_replace (&event->field, clean);                             \
  }

STRING_SETTER (process, process, clean_identifier (value))
STRING_SETTER (lane, lane, clean_identifier (value))
STRING_SETTER (peer, peer, clean_identifier (value))
STRING_SETTER (call_id, call_id, clean_identifier (value))
STRING_SETTER (summary, summary, clean_line (value, KC_EVENT_SUMMARY_MAX))
STRING_SETTER (message, message, clean_message (value))

void
kc_event_set_fig3 (KcEvent *event, int step)
{
  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (step >= 0 && step <= 999);

  event->fig3 = step;
}

void
kc_event_set_summary_printf (KcEvent *event, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (format != NULL);

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  kc_event_set_summary (event, text);
}

void
kc_event_set_fingerprint (KcEvent *event, const char *fingerprint)
{
  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (fingerprint == NULL || kc_event_fingerprint_valid (fingerprint));

  kc_event_replace (&event->fingerprint, g_strdup (fingerprint));
}

void
kc_event_set_key_id (KcEvent *event, const char *key_id_hex)
{
  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (key_id_hex == NULL || kc_event_key_id_valid (key_id_hex));

  kc_event_replace (&event->key_id, g_strdup (key_id_hex));
}

void
kc_event_set_key (KcEvent        *event,
                  const KcKeyId  *key_id,
                  const KcSecret *key)
{
  RETURN_IF_NOT_WRITABLE (event);

  if (key_id != NULL)
    {
      char hex[KC_KEY_ID_LEN * 2 + 1];

      for (int i = 0; i < KC_KEY_ID_LEN; i++)
        g_snprintf (hex + 2 * i, 3, "%02x", key_id->bytes[i]);
      kc_event_set_key_id (event, hex);
    }
  if (key != NULL)
    {
      char fp[KC_FINGERPRINT_LEN];

      kc_secret_fingerprint (key, fp);
      kc_event_set_fingerprint (event, fp);
    }
}

void
kc_event_set_attr (KcEvent    *event,
                   const char *name,
                   const char *value)
{
  char *clean;

  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (name != NULL && kc_event_attr_name_valid (name));

  if (value == NULL)
    {
      if (event->attrs != NULL)
        g_hash_table_remove (event->attrs, name);
      return;
    }
  if (event->attrs == NULL)
    event->attrs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_return_if_fail (attr_count (event) < KC_EVENT_ATTRS_MAX
                    || g_hash_table_contains (event->attrs, name));
  /* An attribute may be empty (a SIP reason phrase can be), unlike a line. */
  clean = *value ? clean_line (value, KC_EVENT_ATTR_VALUE_MAX) : g_strdup ("");
  g_hash_table_insert (event->attrs, g_strdup (name), clean);
}

void
kc_event_set_attr_int (KcEvent    *event,
                       const char *name,
                       gint64      value)
{
  char text[32];

  g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT, value);
  kc_event_set_attr (event, name, text);
}

void
kc_event_set_seq (KcEvent *event, guint64 seq)
{
  RETURN_IF_NOT_WRITABLE (event);
  g_return_if_fail (seq <= G_MAXINT64);

  event->seq = seq;
}

/* ----- Getters ----- */

#define GETTER(type, name, field, fallback)             \
  type                                                  \
  kc_event_get_##name (const KcEvent *event)            \
  {                                                     \
    g_return_val_if_fail (event != NULL, fallback);     \
    return event->field;                                \
  }

GETTER (gint64, time, time_us, 0)
GETTER (const char *, process, process, NULL)
GETTER (const char *, lane, lane, NULL)
GETTER (const char *, peer, peer, NULL)
GETTER (const char *, call_id, call_id, NULL)
GETTER (KcEventKind, kind, kind, KC_EVENT_KIND_UNKNOWN)
GETTER (int, fig3, fig3, 0)
GETTER (const char *, summary, summary, NULL)
GETTER (const char *, message, message, NULL)
GETTER (const char *, fingerprint, fingerprint, NULL)
GETTER (const char *, key_id, key_id, NULL)
GETTER (guint64, seq, seq, 0)

const char *
kc_event_get_kind_string (const KcEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);

  if (event->kind == KC_EVENT_KIND_UNKNOWN)
    return event->kind_string;
  return kind_names[event->kind];
}

const char *
kc_event_get_attr (const KcEvent *event, const char *name)
{
  g_return_val_if_fail (event != NULL && name != NULL, NULL);

  return event->attrs ? g_hash_table_lookup (event->attrs, name) : NULL;
}

static int
compare_names (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

const char **
kc_event_get_attr_names (const KcEvent *event, guint *n_names)
{
  const char **names;
  guint n = 0;

  g_return_val_if_fail (event != NULL, NULL);

  if (event->attrs != NULL)
    names = (const char **) g_hash_table_get_keys_as_array (event->attrs, &n);
  else
    names = g_new0 (const char *, 1);
  /* Byte order: stable output, and the same order in every viewer. */
  if (n > 1)
    g_qsort_with_data (names, n, sizeof (char *), compare_names, NULL);
  if (n_names != NULL)
    *n_names = n;
  return names;
}
