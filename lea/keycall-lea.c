/* keycall-lea: the law-enforcement side of lawful intercept (FIG. 5, 510),
 * headless. Asks controllers for taps (514), opens the sealed keys they
 * deliver (516) with the LEA's private key, and records the tapped calls'
 * media from the relays' X3 copies (docs/lawful-intercept.md).
 *
 * Stdout carries one stable line per fact (tests parse them); --events
 * writes the same facts as events on the lane lea:NAME, and --window draws
 * them (kc-lea-window.h) in the same main loop.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-commands.h"
#include "kc-lea-recorder.h"
#include "kc-lea-session.h"
#include "kc-lea-window.h"

#include "kc-error.h"
#include "kc-event-bus.h"
#include "kc-event-socket.h"
#include "kc-hpke.h"
#include "kc-li-wire.h"
#include "kc-pki.h"
#include "kc-secret.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_OK     0
#define EXIT_FAILED 1
#define EXIT_USAGE  2
#define STOP_WAIT_S 3

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

typedef struct {
  char          *name;         /* the LEA's name, from lea.ini */
  char          *lane;
  GMainLoop     *loop;
  KcEventBus    *bus;
  KcLeaRecorder *recorder;
  GPtrArray     *sessions;
  gboolean       stop_on_exit;
  gboolean       past_only;    /* no tap: leave once every request is answered */
  gboolean       quitting;
  guint          stops_waiting;
  guint          stop_timer;
  KcLeaWindow   *window;       /* --window */
  GHashTable    *addresses;    /* controller name → "HOST:PORT" */
  KcLeaCommands *commands;     /* --commands */
} Lea;

static void say (const char *format, ...) G_GNUC_PRINTF (1, 2);
static gboolean on_quit (gpointer user_data);

/* Stdout is a pipe in tests: every line goes out at once. */
static void
say (const char *format, ...)
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
  on_quit (lea);
}

static void
on_connected (KcLeaSession *s, const char *subject, const char *serial, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("LI connection to %s (certificate %s, serial %s)",
                                              kc_lea_session_get_name (s), subject, serial);

  const char *attrs[] = { "subject", subject, "serial", serial, NULL };

  say ("connected %s (certificate %s, serial %s)", kc_lea_session_get_name (s), subject, serial);
  emit_attrs (lea, KC_EVENT_KIND_TLS_UP, 0, kc_lea_session_get_name (s), NULL, summary, attrs);
}

static void
on_disconnected (KcLeaSession *s, const char *reason, guint retry_s, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("%s; retrying in %u s", reason, retry_s);
  g_autofree char *retry = g_strdup_printf ("%u", retry_s);
  const char *attrs[] = { "reason", reason, "retry", retry, NULL };

  say ("disconnected %s: %s", kc_lea_session_get_name (s), summary);
  emit_attrs (lea, KC_EVENT_KIND_TLS_DOWN, 0, kc_lea_session_get_name (s), NULL, summary, attrs);
}

static void
on_refused (KcLeaSession *s, const char *reason, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("%s refused this LEA: %s",
                                              kc_lea_session_get_name (s), reason);

  const char *attrs[] = { "op", "refused", "reason", reason, NULL };

  say ("refused by %s: %s", kc_lea_session_get_name (s), reason);
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

  say ("tap %s %s %s at %s %s", tap ? tap : "-", kc_lea_tap_kind_to_string (kind), number,
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

  say ("error %s %s: %s", kc_lea_session_get_name (s), req ? req : "-", reason);
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
    say ("key %s refused: %s", key->call_id ? key->call_id : "-", error->message);
    emit (lea, KC_EVENT_KIND_ERROR, 516, kc_lea_session_get_name (s), key->call_id,
          error->message);
    return;
  }
  if (!is_new) {
    say ("key %s again (tap %s at %s)", key->call_id, key->tap ? key->tap : "-",
         kc_lea_session_get_name (s));
    return;
  }
  say ("key %s fingerprint %s id %s caller %s callee %s tap %s at %s", key->call_id, fp,
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
    say ("call %s not recordable: %s", call->call_id ? call->call_id : "-", error->message);
    emit (lea, KC_EVENT_KIND_ERROR, 0, kc_lea_session_get_name (s), call->call_id,
          error->message);
    return;
  }
  say ("call %s %s pt %u clock %u %s%s", call->call_id, call->codec, call->payload, call->clock,
       call->suite, g_strcmp0 (call->media, "direct") == 0
                    ? " media direct: no content from this controller" : "");
}

static void
on_end (KcLeaSession *s, const KcLeaEndDelivery *end, gpointer user_data)
{
  Lea *lea = user_data;

  if (end->call_id == NULL)
    return;
  kc_lea_recorder_end_call (lea->recorder, end);
  say ("end %s %s", end->call_id, end->outcome ? end->outcome : "-");
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

  say ("stop %s tap %s at %s", req, tap, kc_lea_session_get_name (s));
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

  say ("stopped tap %s at %s", tap, kc_lea_session_get_name (s));
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

  say ("stopped taps at %s", kc_lea_session_get_name (s));
  if (lea->stops_waiting > 0 && --lea->stops_waiting == 0)
    on_quit_now (lea);
}

/* Recorder callbacks ------------------------------------------------------- */

static void
on_recording (const char *call_id, const char *path, gpointer user_data)
{
  Lea *lea = user_data;
  g_autofree char *summary = g_strdup_printf ("recording content to %s", path);

  const char *attrs[] = { "file", path, NULL };

  say ("recording %s to %s", call_id, path);
  emit_attrs (lea, KC_EVENT_KIND_CONTENT_DELIVERED, 0, NULL, call_id, summary, attrs);
}

static void
on_recorded (const KcLeaRecording *r, gpointer user_data)
{
  Lea *lea = user_data;
  KcEvent *event;

  say ("recorded %s: %" G_GUINT64_FORMAT " packets, %.1f s of audio, %s", r->call_id,
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

  say ("problem %s: %s", call_id ? call_id : "-", message);
  emit (lea, KC_EVENT_KIND_ERROR, 0, NULL, call_id, message);
}

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
static gboolean
on_quit (gpointer user_data)
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

static gboolean
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

static gboolean
lea_stop_tap (const char *controller, const char *tap, gpointer user_data, GError **error)
{
  Lea *lea = user_data;
  KcLeaSession *s = session_named (lea, controller, error);

  return s != NULL && kc_lea_session_stop_tap (s, tap, error);
}

static void
on_command_refused (const char *line, const char *reason, gpointer user_data)
{
  say ("command refused: %s", reason);
}

/* Options ------------------------------------------------------------------ */


/* "gc1=127.0.0.1:5062", or "gc1" with the address lea.ini gives
 * ([controller gc1] li-address, kept there by keycall-admin). */
static gboolean
parse_controller (const char *text, GKeyFile *ini, char **name, char **host, guint16 *port,
                  GError **error)
{
  const char *eq = strchr (text, '=');
  g_autofree char *from_ini = NULL;
  const char *address, *colon;
  guint64 p = 0;

  *name = eq ? g_strndup (text, eq - text) : g_strdup (text);
  if (!kc_pki_check_name (*name, error))
    return FALSE;
  if (eq == NULL) {
    g_autofree char *group = g_strdup_printf ("controller %s", *name);

    from_ini = g_key_file_get_string (ini, group, "li-address", NULL);
    if (from_ini == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                   "--controller %s: lea.ini names no LI address for it; give NAME=HOST:PORT",
                   text);
      return FALSE;
    }
  }
  address = eq ? eq + 1 : from_ini;
  colon = strrchr (address, ':');
  if (colon == NULL || colon == address
      || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &p, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "--controller %s: give NAME=HOST:PORT (the controller's LI port)", text);
    return FALSE;
  }
  *host = g_strndup (address, colon - address);
  if (**host == '[' && (*host)[strlen (*host) - 1] == ']') {
    memmove (*host, *host + 1, strlen (*host));
    (*host)[strlen (*host) - 1] = '\0';
  }
  *port = (guint16) p;
  return TRUE;
}

/* Every controller lea.ini knows, as "NAME". */
static GStrv
controllers_from_ini (GKeyFile *ini)
{
  g_auto(GStrv) groups = g_key_file_get_groups (ini, NULL);
  GStrvBuilder *b = g_strv_builder_new ();
  GStrv out;

  for (char **g = groups; g && *g; g++)
    if (g_str_has_prefix (*g, "controller "))
      g_strv_builder_add (b, *g + strlen ("controller "));
  out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

typedef struct {
  KcLeaTapKind kind;
  char        *number;
  char        *controller;   /* NULL: every controller */
  gint64       from_us, until_us;
} TapArg;

static void
tap_arg_free (TapArg *t)
{
  g_free (t->number);
  g_free (t->controller);
  g_free (t);
}

/* Splits "TEXT@CONTROLLER". */
static char *
split_at (const char *text, char **controller)
{
  const char *at = strrchr (text, '@');

  *controller = at ? g_strdup (at + 1) : NULL;
  return at ? g_strndup (text, at - text) : g_strdup (text);
}

/* --tap NUMBER:KIND[@CONTROLLER], KIND future (the default) or current. */
static TapArg *
parse_tap (const char *text, GError **error)
{
  TapArg *t = g_new0 (TapArg, 1);
  g_autofree char *body = split_at (text, &t->controller);
  char *colon = strchr (body, ':');
  const char *kind = colon ? colon + 1 : "future";

  if (colon)
    *colon = '\0';
  t->number = g_strdup (body);
  if (g_strcmp0 (kind, "future") == 0)
    t->kind = KC_LEA_TAP_FUTURE;
  else if (g_strcmp0 (kind, "current") == 0)
    t->kind = KC_LEA_TAP_CURRENT;
  else {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "--tap %s: the kind is future or current (past keys: --past)", text);
    tap_arg_free (t);
    return NULL;
  }
  if (!kc_pki_check_number (t->number, error)) {
    tap_arg_free (t);
    return NULL;
  }
  return t;
}

static gboolean
parse_time_or_empty (const char *text, const char *what, gint64 *us)
{
  *us = 0;
  return *text == '\0' || kc_li_time_parse (text, what, us, NULL);
}

/* --past NUMBER[:FROM[:UNTIL]][@CONTROLLER]: the times are RFC 3339, whose
 * own colons make the split ambiguous, so the split that parses wins. */
static TapArg *
parse_past (const char *text, GError **error)
{
  TapArg *t = g_new0 (TapArg, 1);
  g_autofree char *body = split_at (text, &t->controller);
  char *colon = strchr (body, ':');
  gboolean ok = TRUE;

  t->kind = KC_LEA_TAP_PAST;
  if (colon != NULL) {
    char *rest = colon + 1;

    *colon = '\0';
    ok = parse_time_or_empty (rest, "FROM", &t->from_us);
    if (!ok) {
      for (char *c = strchr (rest, ':'); c != NULL && !ok; c = strchr (c + 1, ':')) {
        g_autofree char *from = g_strndup (rest, c - rest);

        ok = parse_time_or_empty (from, "FROM", &t->from_us)
             && parse_time_or_empty (c + 1, "UNTIL", &t->until_us);
      }
    }
  }
  t->number = g_strdup (body);
  if (!ok) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "--past %s: give NUMBER[:FROM[:UNTIL]] with RFC 3339 times, e.g. "
                 "1001:2026-11-28T16:00:00Z:2026-11-28T17:00:00Z", text);
    tap_arg_free (t);
    return NULL;
  }
  if (!kc_pki_check_number (t->number, error)) {
    tap_arg_free (t);
    return NULL;
  }
  return t;
}

/* lea.ini: [lea] name, tls-dir (cert.pem, key.pem, cafile.pem),
 * seal-private-key, and crl (optional; else the network's crl.pem two
 * folders up, when there is one). Paths are relative to the file. */
typedef struct {
  GKeyFile *ini;
  char *name;
  char *cert, *key, *ca, *crl, *seal_key;
} LeaConfig;

static void
lea_config_clear (LeaConfig *c)
{
  g_clear_pointer (&c->ini, g_key_file_unref);
  g_free (c->name);
  g_free (c->cert);
  g_free (c->key);
  g_free (c->ca);
  g_free (c->crl);
  g_free (c->seal_key);
}

static char *
config_path (const char *base, const char *value)
{
  return g_path_is_absolute (value) ? g_strdup (value) : g_build_filename (base, value, NULL);
}

static gboolean
lea_config_load (const char *path, LeaConfig *c, GError **error)
{
  GKeyFile *kf = c->ini = g_key_file_new ();
  g_autofree char *base = g_path_get_dirname (path);
  g_autofree char *tls = NULL, *seal = NULL, *crl = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot read the LEA configuration %s: %s",
                 path, local->message);
    return FALSE;
  }
  c->name = g_key_file_get_string (kf, "lea", "name", NULL);
  tls = g_key_file_get_string (kf, "lea", "tls-dir", NULL);
  seal = g_key_file_get_string (kf, "lea", "seal-private-key", NULL);
  crl = g_key_file_get_string (kf, "lea", "crl", NULL);
  if (c->name == NULL || !kc_pki_check_name (c->name, NULL) || seal == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s: [lea] needs name (a lowercase DNS label) and seal-private-key; "
                 "`keycall-admin lea add NAME` writes both", path);
    return FALSE;
  }
  tls = config_path (base, tls ? tls : ".");
  c->cert = g_build_filename (tls, "cert.pem", NULL);
  c->key = g_build_filename (tls, "key.pem", NULL);
  c->ca = g_build_filename (tls, "cafile.pem", NULL);
  c->seal_key = config_path (base, seal);
  if (crl != NULL) {
    c->crl = config_path (base, crl);
  } else {
    g_autofree char *net_crl = g_build_filename (base, "..", "..", "crl.pem", NULL);

    if (g_file_test (net_crl, G_FILE_TEST_IS_REGULAR))
      c->crl = g_steal_pointer (&net_crl);
  }
  return TRUE;
}

/* Main --------------------------------------------------------------------- */

static int
usage_error (const char *message)
{
  g_printerr ("keycall-lea: %s (see --help)\n", message);
  return EXIT_USAGE;
}

static int
fail (const char *what, GError *error)
{
  g_printerr ("keycall-lea: %s: %s\n", what, error->message);
  return EXIT_FAILED;
}

int
main (int argc, char **argv)
{
  g_autofree char *config = NULL, *content = NULL, *record_dir = NULL, *events = NULL;
  g_autofree char *event_socket = NULL;
  g_autoptr(KcEventServer) server = NULL;
  g_autofree char *cert_override = NULL, *key_override = NULL;
  g_auto(GStrv) controllers = NULL, taps = NULL, pasts = NULL;
  int timeout = 0;
  gboolean stop_on_exit = FALSE, window = FALSE;
  g_autofree char *commands = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
      "The LEA's lea.ini (written by keycall-admin lea add)", "FILE" },
    { "controller", 0, 0, G_OPTION_ARG_STRING_ARRAY, &controllers,
      "A controller's LI port (repeatable; default: every controller lea.ini names)",
      "NAME[=HOST:PORT]" },
    { "content", 0, 0, G_OPTION_ARG_STRING, &content,
      "Receive X3 content copies here (numeric; port 0 picks one)", "HOST:PORT" },
    { "record-dir", 0, 0, G_OPTION_ARG_FILENAME, &record_dir,
      "Write each call's WAV and JSON record here", "DIR" },
    { "tap", 0, 0, G_OPTION_ARG_STRING_ARRAY, &taps,
      "Tap NUMBER's future calls or current calls (repeatable)",
      "NUMBER[:future|current][@CONTROLLER]" },
    { "past", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pasts,
      "Ask for the keys of NUMBER's past calls (RFC 3339 bounds)",
      "NUMBER[:FROM[:UNTIL]][@CONTROLLER]" },
    { "stop-on-exit", 0, 0, G_OPTION_ARG_NONE, &stop_on_exit,
      "Stop this run's future and current taps before exiting", NULL },
    { "events", 'e', 0, G_OPTION_ARG_FILENAME, &events,
      "Append events (JSON lines, lane lea:NAME) to FILE", "FILE" },
    { "event-socket", 0, 0, G_OPTION_ARG_FILENAME, &event_socket,
      "Serve events on a UNIX socket (0600), for the controller window", "PATH" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, "Exit after SECONDS", "SECONDS" },
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert_override,
      "Present this certificate instead of lea.ini's (with --key)", "FILE" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key_override,
      "The private key of --cert", "FILE" },
    { "window", 0, 0, G_OPTION_ARG_NONE, &window,
      "Also show controllers, taps and recorded calls in a window (needs a display)", NULL },
    { "commands", 0, 0, G_OPTION_ARG_FILENAME, &commands,
      "Read “tap NUMBER[:KIND]@CONTROLLER” and “stop TAP@CONTROLLER” lines from PATH "
      "(a FIFO, a file, or - for stdin)", "PATH" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- lawful-intercept receiver");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tap_args = g_ptr_array_new_with_free_func ((GDestroyNotify) tap_arg_free);
  g_autoptr(KcSecret) seal_key = NULL;
  g_autoptr(GTlsCertificate) own = NULL;
  g_autoptr(X509) ca = NULL;
  g_autoptr(X509_CRL) crl = NULL;
  LeaConfig cfg = { 0 };
  KcLeaSessionFuncs sfuncs = {
    on_connected, on_disconnected, on_refused, on_requested, on_tap_ok, on_error,
    on_key, on_call, on_end, on_stopped, on_stop_sent, on_tap_stopped,
  };
  KcLeaRecorderFuncs rfuncs = { on_recording, on_recorded, on_problem };
  Lea lea = { 0 };
  guint64 refused[KC_LEA_REFUSED_COUNT];
  int status = EXIT_OK;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Asks controllers for taps, opens the sealed keys they "
                                "deliver and records the tapped calls.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (error->message);
  if (config == NULL)
    return usage_error ("--config lea.ini is required");
  if (taps == NULL && pasts == NULL && !window && commands == NULL)
    return usage_error ("nothing to ask: give --tap or --past (or --window, --commands)");
  if ((cert_override == NULL) != (key_override == NULL))
    return usage_error ("--cert and --key go together");
  if (timeout < 0)
    return usage_error ("--timeout must be 0 (none) or more seconds");
  for (char **t = taps; t && *t; t++) {
    TapArg *a = parse_tap (*t, &error);

    if (a == NULL)
      return usage_error (error->message);
    g_ptr_array_add (tap_args, a);
  }
  for (char **p = pasts; p && *p; p++) {
    TapArg *a = parse_past (*p, &error);

    if (a == NULL)
      return usage_error (error->message);
    g_ptr_array_add (tap_args, a);
  }
  if (taps != NULL && (content == NULL || record_dir == NULL))
    return usage_error ("--tap needs --content HOST:PORT and --record-dir DIR");
  /* GTK is touched only here: the headless receiver needs no display. */
  if (window) {
    bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
    textdomain (GETTEXT_PACKAGE);
    if (!gtk_init_check ())
      return usage_error ("--window needs a display (DISPLAY or WAYLAND_DISPLAY), and none "
                          "could be opened; run without --window for the headless receiver");
    adw_init ();
  }

  if (!kc_process_refuse_core_dumps (&error))
    return fail ("hardening", error);
  kc_secure_heap_init ();
  /* The LI port speaks TLS 1.3 only; say so to GnuTLS before GIO loads it. */
  g_setenv ("G_TLS_GNUTLS_PRIORITY", "NORMAL:-VERS-ALL:+VERS-TLS1.3", FALSE);

  if (!lea_config_load (config, &cfg, &error))
    return fail ("configuration", error);
  if (cert_override != NULL) {
    g_free (cfg.cert);
    g_free (cfg.key);
    cfg.cert = g_strdup (cert_override);
    cfg.key = g_strdup (key_override);
  }
  if ((seal_key = kc_hpke_private_key_load_pem (cfg.seal_key, &error)) == NULL) {
    status = fail ("the sealing private key", error);
    goto out;
  }
  if ((own = g_tls_certificate_new_from_files (cfg.cert, cfg.key, &error)) == NULL) {
    status = fail ("the LEA certificate", error);
    goto out;
  }
  if ((ca = kc_pki_cert_load (cfg.ca, &error)) == NULL) {
    status = fail ("the network CA", error);
    goto out;
  }
  if (cfg.crl != NULL && (crl = kc_pki_crl_load (cfg.crl, &error)) == NULL) {
    status = fail ("the CRL", error);
    goto out;
  }

  if (controllers == NULL)
    controllers = controllers_from_ini (cfg.ini);
  if (controllers[0] == NULL) {
    status = usage_error ("no controller: give --controller NAME=HOST:PORT (lea.ini names none)");
    goto out;
  }

  lea.name = cfg.name;
  lea.lane = g_strconcat ("lea:", cfg.name, NULL);
  lea.stop_on_exit = stop_on_exit;
  /* A window stays open after the past keys came: a person is reading it. */
  lea.past_only = taps == NULL && !window && commands == NULL;
  lea.addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lea.loop = g_main_loop_new (NULL, FALSE);
  lea.sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_lea_session_free);
  if (events != NULL || event_socket != NULL || window)
    lea.bus = kc_event_bus_new ("keycall-lea", KC_EVENT_BUS_DEFAULT);
  if (events != NULL && !kc_event_bus_add_log_file (lea.bus, events, &error)) {
    status = fail ("--events", error);
    goto out;
  }
  if (event_socket != NULL) {
    if ((server = kc_event_server_new (event_socket, &error)) == NULL) {
      status = fail ("--event-socket", error);
      goto out;
    }
    kc_event_server_attach (server, lea.bus);
  }
  if (content != NULL) {
    lea.recorder = kc_lea_recorder_new (content, record_dir ? record_dir : ".", seal_key,
                                        &rfuncs, &lea, &error);
    if (lea.recorder == NULL) {
      status = fail ("content", error);
      goto out;
    }
    say ("content on %s", kc_lea_recorder_get_address (lea.recorder));
  } else {
    /* Keys only (--past): the recorder still opens and checks them. */
    g_autofree char *tmp = g_dir_make_tmp ("keycall-lea-XXXXXX", &error);

    if (tmp == NULL || (lea.recorder = kc_lea_recorder_new ("127.0.0.1:0", tmp, seal_key,
                                                            &rfuncs, &lea, &error)) == NULL) {
      status = fail ("keys", error);
      goto out;
    }
    g_rmdir (tmp);
  }
  if (window) {
    lea.window = kc_lea_window_new (NULL, cfg.name, lea.bus);
    kc_lea_window_set_record_dir (lea.window, content ? (record_dir ? record_dir : ".") : NULL);
  }

  for (char **c = controllers; *c; c++) {
    g_autofree char *name = NULL, *host = NULL;
    guint16 port = 0;
    KcLeaSession *s;
    guint n = 0;

    if (!parse_controller (*c, cfg.ini, &name, &host, &port, &error)) {
      status = usage_error (error->message);
      goto out;
    }
    s = kc_lea_session_new (name, host, port, own, ca, crl,
                            content ? kc_lea_recorder_get_address (lea.recorder) : NULL,
                            &sfuncs, &lea);
    for (guint i = 0; i < tap_args->len; i++) {
      TapArg *a = tap_args->pdata[i];

      if (a->controller == NULL || g_strcmp0 (a->controller, name) == 0) {
        kc_lea_session_add_tap (s, a->kind, a->number, a->from_us, a->until_us);
        n++;
      }
    }
    g_ptr_array_add (lea.sessions, s);
    g_hash_table_insert (lea.addresses, g_strdup (name), g_strdup_printf ("%s:%u", host, port));
    if (n > 0) {
      const char *address = g_hash_table_lookup (lea.addresses, name);

      if (lea.window != NULL)
        kc_lea_window_add_controller (lea.window, name, address);
      kc_lea_session_start (s);
    }
  }
  if (lea.window != NULL) {
    /* Closing the window stops the program, as SIGTERM does. */
    g_signal_connect_swapped (lea.window, "close-request", G_CALLBACK (on_quit), &lea);
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new ();

      for (guint i = 0; i < lea.sessions->len; i++)
        g_ptr_array_add (names, (gpointer) kc_lea_session_get_name (lea.sessions->pdata[i]));
      g_ptr_array_add (names, NULL);
      kc_lea_window_set_tap_actions (lea.window, (const char *const *) names->pdata, lea_add_tap,
                                     lea_stop_tap, &lea);
    }
    gtk_window_present (GTK_WINDOW (lea.window));
    say ("window open");
  }

  if (commands != NULL) {
    lea.commands = kc_lea_commands_new (commands, lea.sessions->len == 1
                                        ? kc_lea_session_get_name (lea.sessions->pdata[0]) : NULL,
                                        lea_add_tap, lea_stop_tap, on_command_refused, &lea,
                                        &error);
    if (lea.commands == NULL) {
      status = fail ("--commands", error);
      goto out;
    }
  }
  g_unix_signal_add (SIGTERM, on_quit, &lea);
  g_unix_signal_add (SIGINT, on_quit, &lea);
  if (timeout > 0)
    g_timeout_add_seconds ((guint) timeout, on_quit, &lea);
  g_main_loop_run (lea.loop);

out:
  g_clear_pointer (&lea.commands, kc_lea_commands_free);
  /* Sessions first: no delivery may reach a recorder being closed. */
  g_clear_pointer (&lea.sessions, g_ptr_array_unref);
  g_clear_handle_id (&lea.stop_timer, g_source_remove);
  if (lea.window != NULL)
    gtk_window_destroy (GTK_WINDOW (g_steal_pointer (&lea.window)));
  if (lea.recorder != NULL) {
    GString *line = g_string_new (NULL);

    kc_lea_recorder_close_all (lea.recorder);
    /* Copies that belonged to no recording. */
    kc_lea_recorder_get_refused (lea.recorder, refused);
    for (int i = 0; i < KC_LEA_REFUSED_COUNT; i++)
      if (refused[i] > 0)
        g_string_append_printf (line, "%s%s %" G_GUINT64_FORMAT, line->len ? ", " : "",
                                kc_lea_refused_to_string (i), refused[i]);
    if (line->len > 0)
      say ("refused content: %s", line->str);
    g_string_free (line, TRUE);
    g_clear_pointer (&lea.recorder, kc_lea_recorder_free);
  }
  g_clear_pointer (&lea.loop, g_main_loop_unref);
  if (server != NULL)
    kc_event_server_close (server);
  g_clear_pointer (&lea.bus, kc_event_bus_unref);
  g_free (lea.lane);
  g_clear_pointer (&lea.addresses, g_hash_table_unref);
  lea_config_clear (&cfg);
  if (status == EXIT_OK)
    say ("exiting");
  /* Once GTK is initialised, exit() aborts in a library destructor (GLib
   * 2.74, see ui/kc-ui.c); everything holding keys is freed by now. */
  if (window) {
    fflush (stdout);
    fflush (stderr);
    _exit (status);
  }
  return status;
}
