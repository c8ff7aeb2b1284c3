/* keycall-lea-callbacks.c: what keycall-lea does with what its sessions and
 * its recorder report (a stdout line and an event each), quitting, and the
 * taps asked while it runs (the window, --commands).
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "keycall-lea-private.h"

#include "kc-lea-window.h"

#include "kc-error.h"
#include "kc-pki.h"

#include <stdarg.h>
#include <stdio.h>

#define STOP_WAIT_S 3

/* Stdout is a pipe in tests: every line goes out at once. */
void
lea_say (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

/* @attrs: NULL or name, value, …, NULL (what the controller window reads:
 * op, tap, number, kind). */
static void
emit_attrs (Lea *lea, KcEventKind kind, int fig, const char *peer, const char *call_id,
            const char *summary, const char *const *attrs)
{
  KcEvent *event;

  if (lea->bus == NULL)
    return;
  event = kc_event_new (kind);
  for (guint i = 0; attrs != NULL && attrs[i] != NULL && attrs[i + 1] != NULL; i += 2)
    kc_event_set_attr (event, attrs[i], attrs[i + 1]);
  kc_event_set_lane (event, lea->lane);
  kc_event_set_fig3 (event, fig);
  kc_event_set_call_id (event, call_id);
  if (peer != NULL) {
    g_autofree char *p = g_strconcat ("controller:", peer, NULL);

    kc_event_set_peer (event, p);
  }
  kc_event_set_summary (event, summary);
  kc_event_bus_emit (lea->bus, event);
  kc_event_unref (event);
}

static void
emit (Lea *lea, KcEventKind kind, int fig, const char *peer, const char *call_id,
      const char *summary)
{
  emit_attrs (lea, kind, fig, peer, call_id, summary, NULL);
}

/* Session callbacks ------------------------------------------------------- */

/* Only past requests, and all of them answered by every controller: done. */
static void
check_done (Lea *lea)
{
  if (!lea->past_only || lea->sessions == NULL)
    return;
  for (guint i = 0; i < lea->sessions->len; i++)
    if (!kc_lea_session_is_done (lea->sessions->pdata[i]))
      return;
  lea_on_quit (lea);
}

static void
on_connected (KcLeaSession *s, const char *subject, const char *serial, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("LI connection to %s (certificate %s, serial %s)",
                                              kc_lea_session_get_name (s), subject, serial);

  const char *attrs[] = { "subject", subject, "serial", serial, NULL };

  lea_say ("connected %s (certificate %s, serial %s)", kc_lea_session_get_name (s), subject,
           serial);
  emit_attrs (lea, KC_EVENT_KIND_TLS_UP, 0, kc_lea_session_get_name (s), NULL, summary, attrs);
}

static void
on_disconnected (KcLeaSession *s, const char *reason, guint retry_s, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("%s; retrying in %u s", reason, retry_s);
  g_autofree char *retry = g_strdup_printf ("%u", retry_s);
  const char *attrs[] = { "reason", reason, "retry", retry, NULL };

  lea_say ("disconnected %s: %s", kc_lea_session_get_name (s), summary);
  emit_attrs (lea, KC_EVENT_KIND_TLS_DOWN, 0, kc_lea_session_get_name (s), NULL, summary, attrs);
}

static void
on_refused (KcLeaSession *s, const char *reason, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("%s refused this LEA: %s",
                                              kc_lea_session_get_name (s), reason);

  const char *attrs[] = { "op", "refused", "reason", reason, NULL };

  lea_say ("refused by %s: %s", kc_lea_session_get_name (s), reason);
  emit_attrs (lea, KC_EVENT_KIND_TAP_REFUSED, 514, kc_lea_session_get_name (s), NULL, summary,
              attrs);
}

static void
on_requested (KcLeaSession *s, const char *req, KcLeaTapKind kind, const char *number,
              gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("tap request %s: %s keys of %s", req,
                                              kc_lea_tap_kind_to_string (kind), number);
  const char *attrs[] = { "op", "tap", "number", number,
                          "kind", kc_lea_tap_kind_to_string (kind), "req", req, NULL };

  emit_attrs (lea, KC_EVENT_KIND_TAP_REQUEST, 514, kc_lea_session_get_name (s), NULL, summary,
              attrs);
}

static void
on_tap_ok (KcLeaSession *s, const char *tap, KcLeaTapKind kind, const char *number,
           gint64 calls, gboolean resumed, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *tail = resumed ? g_strdup ("resumed")
                                  : g_strdup_printf ("calls %" G_GINT64_FORMAT, calls);
  g_autofree char *summary = g_strdup_printf ("tap %s: %s %s (%s)", tap ? tap : "?",
                                              kc_lea_tap_kind_to_string (kind), number, tail);

  lea_say ("tap %s %s %s at %s %s", tap ? tap : "-", kc_lea_tap_kind_to_string (kind), number,
           kc_lea_session_get_name (s), tail);
  g_autofree char *n = g_strdup_printf ("%" G_GINT64_FORMAT, calls);
  const char *attrs[] = { "op", "ok", "number", number, "kind", kc_lea_tap_kind_to_string (kind),
                          "calls", n, "resumed", resumed ? "true" : "false",
                          tap ? "tap" : NULL, tap, NULL };

  /* The controller's answer: drawn from it to the LEA. */
  emit_attrs (lea, KC_EVENT_KIND_TAP_REQUEST, 514, kc_lea_session_get_name (s), NULL, summary,
              attrs);
  check_done (lea);
}

static void
on_error (KcLeaSession *s, const char *req, const char *reason, gpointer user_data)
{
  Lea *lea = user_data;

  const char *attrs[] = { "op", "error", "reason", reason, req ? "req" : NULL, req, NULL };

  lea_say ("error %s %s: %s", kc_lea_session_get_name (s), req ? req : "-", reason);
  emit_attrs (lea, KC_EVENT_KIND_TAP_REFUSED, 514, kc_lea_session_get_name (s), NULL, reason,
              attrs);
  check_done (lea);
}

static void
on_key (KcLeaSession *s, const KcLeaKeyDelivery *key, gpointer user_data)
{
  Lea *lea = user_data;
  g_autoptr(GError) error = NULL;
  char fp[KC_FINGERPRINT_LEN];
  gboolean is_new = TRUE;
  KcEvent *event;

  if (!kc_lea_recorder_add_key (lea->recorder, key, fp, &is_new, &error)) {
    lea_say ("key %s refused: %s", key->call_id ? key->call_id : "-", error->message);
    emit (lea, KC_EVENT_KIND_ERROR, 516, kc_lea_session_get_name (s), key->call_id,
          error->message);
    return;
  }
  if (!is_new) {
    lea_say ("key %s again (tap %s at %s)", key->call_id, key->tap ? key->tap : "-",
             kc_lea_session_get_name (s));
    return;
  }
  lea_say ("key %s fingerprint %s id %s caller %s callee %s tap %s at %s", key->call_id, fp,
           key->key_id_hex, key->caller ? key->caller : "-", key->callee ? key->callee : "-",
           key->tap ? key->tap : "-", kc_lea_session_get_name (s));
  if (lea->bus == NULL)
    return;
  event = kc_event_new (KC_EVENT_KIND_KEY_DELIVERED);
  {
    g_autofree char *peer = g_strconcat ("controller:", kc_lea_session_get_name (s), NULL);

    kc_event_set_lane (event, lea->lane);
    kc_event_set_peer (event, peer);
  }
  kc_event_set_fig3 (event, 516);
  kc_event_set_call_id (event, key->call_id);
  kc_event_set_key_id (event, key->key_id_hex);
  kc_event_set_fingerprint (event, fp);
  kc_event_set_summary_printf (event, "sealed key opened: fingerprint %s", fp);
  kc_event_set_attr (event, "tap", key->tap);
  kc_event_set_attr (event, "caller", key->caller);
  kc_event_set_attr (event, "callee", key->callee);
  kc_event_set_attr (event, "created", key->created);
  kc_event_bus_emit (lea->bus, event);
  kc_event_unref (event);
}

static void
on_call (KcLeaSession *s, const KcLeaCallDelivery *call, gpointer user_data)
{
  Lea *lea = user_data;
  g_autoptr(GError) error = NULL;

  if (!kc_lea_recorder_set_call (lea->recorder, call, &error)) {
    lea_say ("call %s not recordable: %s", call->call_id ? call->call_id : "-", error->message);
    emit (lea, KC_EVENT_KIND_ERROR, 0, kc_lea_session_get_name (s), call->call_id,
          error->message);
    return;
  }
  lea_say ("call %s %s pt %u clock %u %s%s", call->call_id, call->codec, call->payload,
           call->clock, call->suite, g_strcmp0 (call->media, "direct") == 0
                                     ? " media direct: no content from this controller" : "");
}

static void
on_end (KcLeaSession *s, const KcLeaEndDelivery *end, gpointer user_data)
{
  Lea *lea = user_data;

  if (end->call_id == NULL)
    return;
  kc_lea_recorder_end_call (lea->recorder, end);
  lea_say ("end %s %s", end->call_id, end->outcome ? end->outcome : "-");
}

static void
on_stop_sent (KcLeaSession *s, const char *req, const char *tap, KcLeaTapKind kind,
              const char *number, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("stop request %s: tap %s", req, tap);
  const char *attrs[] = { "op", "stop", "req", req, "tap", tap,
                          "kind", kc_lea_tap_kind_to_string (kind),
                          number ? "number" : NULL, number, NULL };

  lea_say ("stop %s tap %s at %s", req, tap, kc_lea_session_get_name (s));
  if (number == NULL)
    attrs[6] = NULL;    /* not this run's tap: its kind is unknown */
  emit_attrs (lea, KC_EVENT_KIND_TAP_REQUEST, 514, kc_lea_session_get_name (s), NULL, summary,
              attrs);
}

static void
on_tap_stopped (KcLeaSession *s, const char *req, const char *tap, KcLeaTapKind kind,
                const char *number, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("tap %s stopped", tap);
  const char *attrs[] = { "op", "stopped", "req", req, "tap", tap,
                          "kind", kc_lea_tap_kind_to_string (kind),
                          number ? "number" : NULL, number, NULL };

  lea_say ("stopped tap %s at %s", tap, kc_lea_session_get_name (s));
  if (number == NULL)
    attrs[6] = NULL;
  emit_attrs (lea, KC_EVENT_KIND_TAP_REQUEST, 514, kc_lea_session_get_name (s), NULL, summary,
              attrs);
}

static gboolean on_quit_now (gpointer user_data);

static void
on_stopped (KcLeaSession *s, gpointer user_data)
{
  Lea *lea = user_data;

  lea_say ("stopped taps at %s", kc_lea_session_get_name (s));
  if (lea->stops_waiting > 0 && --lea->stops_waiting == 0)
    on_quit_now (lea);
}
const KcLeaSessionFuncs lea_session_funcs = {
  on_connected, on_disconnected, on_refused, on_requested, on_tap_ok, on_error,
  on_key, on_call, on_end, on_stopped, on_stop_sent, on_tap_stopped,
};

/* Recorder callbacks ------------------------------------------------------- */

static void
on_recording (const char *call_id, const char *path, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("recording content to %s", path);

  const char *attrs[] = { "file", path, NULL };

  lea_say ("recording %s to %s", call_id, path);
  emit_attrs (lea, KC_EVENT_KIND_CONTENT_DELIVERED, 0, NULL, call_id, summary, attrs);
}

static void
on_recorded (const KcLeaRecording *r, gpointer user_data)
{
  Lea *lea = user_data;
  KcEvent *event;

  lea_say ("recorded %s: %" G_GUINT64_FORMAT " packets, %.1f s of audio, %s", r->call_id,
           r->packets, r->audio_seconds, r->wav_path);
  if (lea->bus == NULL)
    return;
  event = kc_event_new (KC_EVENT_KIND_MEDIA_STOP);
  kc_event_set_lane (event, lea->lane);
  kc_event_set_call_id (event, r->call_id);
  kc_event_set_summary_printf (event, "recorded %" G_GUINT64_FORMAT " packets, %.1f s of audio",
                               r->packets, r->audio_seconds);
  kc_event_set_attr_int (event, "packets", (gint64) r->packets);
  kc_event_set_attr_int (event, "lost", (gint64) r->lost);
  kc_event_set_attr_int (event, "refused", (gint64) r->refused);
  kc_event_set_attr (event, "file", r->wav_path);
  kc_event_set_attr (event, "record", r->record_path);
  kc_event_bus_emit (lea->bus, event);
  kc_event_unref (event);
}

static void
on_problem (const char *call_id, const char *message, gpointer user_data)
{
  Lea *lea = user_data;

  lea_say ("problem %s: %s", call_id ? call_id : "-", message);
  emit (lea, KC_EVENT_KIND_ERROR, 0, NULL, call_id, message);
}
const KcLeaRecorderFuncs lea_recorder_funcs = { on_recording, on_recorded, on_problem };

/* Quitting ----------------------------------------------------------------- */

static gboolean
on_quit_now (gpointer user_data)
{
  Lea *lea = user_data;

  lea->stop_timer = 0;
  g_main_loop_quit (lea->loop);
  return G_SOURCE_REMOVE;
}

/* SIGTERM, SIGINT, --timeout: stop taps when asked to, then leave the loop;
 * recordings are finished after it. */
gboolean
lea_on_quit (gpointer user_data)
{
  Lea *lea = user_data;

  if (lea->quitting)
    return G_SOURCE_CONTINUE;
  lea->quitting = TRUE;
  if (lea->stop_on_exit)
    for (guint i = 0; i < lea->sessions->len; i++)
      if (kc_lea_session_stop_taps (lea->sessions->pdata[i]))
        lea->stops_waiting++;
  if (lea->stops_waiting > 0)
    lea->stop_timer = g_timeout_add_seconds (STOP_WAIT_S, on_quit_now, lea);
  else
    g_main_loop_quit (lea->loop);
  return G_SOURCE_CONTINUE;
}

/* Taps asked while running (the window, --commands) ------------------------ */

static KcLeaSession *
session_named (Lea *lea, const char *name, GError **error)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < lea->sessions->len; i++) {
    KcLeaSession *s = lea->sessions->pdata[i];

    if (g_strcmp0 (kc_lea_session_get_name (s), name) == 0)
      return s;
    g_string_append_printf (names, "%s%s", names->len ? ", " : "", kc_lea_session_get_name (s));
  }
  g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
               "No controller “%s” in this run (it has: %s)", name ? name : "", names->str);
  return NULL;
}

gboolean
lea_add_tap (const char *controller, const char *kind, const char *number, gpointer user_data,
             GError **error)
{
  Lea *lea = user_data;
  KcLeaSession *s = session_named (lea, controller, error);
  KcLeaTapKind k;

  if (s == NULL || !kc_pki_check_number (number, error))
    return FALSE;
  if (g_strcmp0 (kind, "future") == 0)
    k = KC_LEA_TAP_FUTURE;
  else if (g_strcmp0 (kind, "current") == 0)
    k = KC_LEA_TAP_CURRENT;
  else {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The kind of a tap is future or current, not “%s”", kind ? kind : "");
    return FALSE;
  }
  if (!kc_lea_session_is_started (s) && lea->window != NULL)
    kc_lea_window_add_controller (lea->window, controller,
                                  g_hash_table_lookup (lea->addresses, controller));
  kc_lea_session_add_tap (s, k, number, 0, 0);
  kc_lea_session_start (s);
  return TRUE;
}

gboolean
lea_stop_tap (const char *controller, const char *tap, gpointer user_data, GError **error)
{
  Lea *lea = user_data;
  KcLeaSession *s = session_named (lea, controller, error);

  return s != NULL && kc_lea_session_stop_tap (s, tap, error);
}

void
lea_on_command_refused (const char *line, const char *reason, gpointer user_data)
{
  lea_say ("command refused: %s", reason);
}
