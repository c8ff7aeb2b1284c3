/* kc-flow-panels.c: what the side panels list, folded from events.
 *
 * Each panel is one pass over the events in time order, a row per thing
 * (CTA, call, key, CDR, tap) updated by every later event about it, so a
 * row always shows the latest state any process reported.
 */
#define G_LOG_DOMAIN "kc-flow-panels"

#include "config.h"

#include "kc-flow-panels.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  GPtrArray  *rows;    /* KcFlowPanelRow */
  GHashTable *by_id;   /* key → row */
  GHashTable *seen;    /* what a panel counts once */
} Rows;

static void
row_free (gpointer data)
{
  KcFlowPanelRow *row = data;

  g_free (row->key);
  g_free (row->id);
  g_free (row->title);
  g_free (row->subtitle);
  g_free (row->state);
  g_free (row->fingerprint);
  g_free (row);
}

static KcFlowPanelRow *
row_get (Rows *rows, const char *key, KcEvent *e)
{
  KcFlowPanelRow *row = g_hash_table_lookup (rows->by_id, key);

  if (row == NULL) {
    row = g_new0 (KcFlowPanelRow, 1);
    row->key = g_strdup (key);
    g_ptr_array_add (rows->rows, row);
    g_hash_table_insert (rows->by_id, row->key, row);
  }
  row->time_us = kc_event_get_time (e);
  return row;
}

static void
set (char **field, char *value)
{
  g_free (*field);
  *field = value;
}

/* "cta:1001" → "1001"; "controller:gc1" → "gc1". */
static const char *
short_name (const char *lane)
{
  const char *colon = lane ? strchr (lane, ':') : NULL;

  return colon ? colon + 1 : lane ? lane : "?";
}

static gboolean
is_cta (const char *lane)
{
  return lane != NULL && g_str_has_prefix (lane, "cta:");
}

static void
fold_ctas (Rows *rows, KcEvent *e)
{
  const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e);
  const char *cta = is_cta (lane) ? lane : is_cta (peer) ? peer : NULL;
  const char *other = cta == lane ? peer : lane;
  KcEventKind kind = kc_event_get_kind (e);
  KcFlowPanelRow *row;

  if (kind != KC_EVENT_KIND_REGISTER && kind != KC_EVENT_KIND_UNREGISTER
      && kind != KC_EVENT_KIND_TLS_UP && kind != KC_EVENT_KIND_TLS_DOWN)
    return;
  if (cta != NULL) {
    const char *contact = kc_event_get_attr (e, "contact");

    row = row_get (rows, short_name (cta), e);
    if (row->title == NULL) {
      row->title = g_strdup (short_name (cta));
      row->id = g_strdup (short_name (cta));
    }
    if (kind == KC_EVENT_KIND_REGISTER || kind == KC_EVENT_KIND_UNREGISTER) {
      gboolean up = kind == KC_EVENT_KIND_REGISTER;

      set (&row->state, g_strdup (up ? "registered" : "unregistered"));
      row->bad = !up;
      if (contact != NULL || row->subtitle == NULL)
        set (&row->subtitle, g_strdup_printf ("at %s%s%s", short_name (other),
                                              contact ? " · " : "", contact ? contact : ""));
    } else {
      gboolean up = kind == KC_EVENT_KIND_TLS_UP;

      set (&row->state, g_strdup (up ? "TLS connected" : "TLS connection lost"));
      row->bad = !up;
    }
    return;
  }
  if (lane == NULL || peer == NULL || (kind != KC_EVENT_KIND_TLS_UP && kind != KC_EVENT_KIND_TLS_DOWN))
    return;
  /* A link between controllers, as each end sees it. */
  {
    g_autofree char *id = g_strdup_printf ("%s %s", lane, peer);

    row = row_get (rows, id, e);
    set (&row->title, g_strdup_printf ("%s → %s", short_name (lane), short_name (peer)));
    set (&row->subtitle, g_strdup (kc_event_get_summary (e)));
    set (&row->state, g_strdup (kind == KC_EVENT_KIND_TLS_UP ? "peer up" : "peer down"));
    row->bad = kind == KC_EVENT_KIND_TLS_DOWN;
  }
}

/* "call 1001 → 2001 …", "CDR 1001 → 2001: …": the two numbers. */
static char *
parties (const char *summary, const char *word)
{
  g_autofree char *prefix = g_strdup_printf ("%s ", word);
  const char *at, *arrow, *end;

  if (summary == NULL || !g_str_has_prefix (summary, prefix))
    return NULL;
  at = summary + strlen (prefix);
  arrow = strstr (at, " → ");
  if (arrow == NULL)
    return NULL;
  end = arrow + strlen (" → ");
  end += strcspn (end, " :");
  return g_strndup (at, end - at);
}

static const char *
stage_state (guint stages)
{
  if (stages & KC_FLOW_STAGE_ENDED)
    return stages & KC_FLOW_STAGE_FAILED ? "failed, ended" : "ended";
  if (stages & KC_FLOW_STAGE_FAILED)
    return "key acknowledgment failed";
  if (stages & KC_FLOW_STAGE_MEDIA)
    return "media flowing";
  if (stages & KC_FLOW_STAGE_ACK_CALLER)
    return (stages & KC_FLOW_STAGE_ACK_CALLEE) ? "acknowledged by both" : "acknowledged by the caller";
  if (stages & KC_FLOW_STAGE_ACK_CALLEE)
    return "acknowledged by the callee";
  if (stages & KC_FLOW_STAGE_SENT)
    return "key sent";
  if (stages & KC_FLOW_STAGE_CREATED)
    return "key created";
  return "setting up";
}

char *
kc_flow_stages_to_string (guint stages)
{
  static const struct { guint bit; const char *words; } names[] = {
    { KC_FLOW_STAGE_CREATED, "created" },
    { KC_FLOW_STAGE_SENT, "sent" },
    { KC_FLOW_STAGE_ACK_CALLEE, "acknowledged by the callee" },
    { KC_FLOW_STAGE_ACK_CALLER, "acknowledged by the caller" },
    { KC_FLOW_STAGE_MEDIA, "media flowing" },
    { KC_FLOW_STAGE_FAILED, "failed" },
    { KC_FLOW_STAGE_ENDED, "ended" },
  };
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (stages & names[i].bit)
      g_string_append_printf (text, "%s%s", text->len ? " → " : "", names[i].words);
  return g_string_free (text, FALSE);
}

/* Legs of one call with Call-IDs of their own share its key id. */
static const char *
call_of (GHashTable *by_key, KcEvent *e)
{
  const char *call = kc_event_get_call_id (e), *key = kc_event_get_key_id (e), *known;

  if (call == NULL || key == NULL)
    return call;
  known = g_hash_table_lookup (by_key, key);
  if (known == NULL)
    g_hash_table_insert (by_key, (gpointer) key, (gpointer) call);
  return known ? known : call;
}

static gboolean
is_call_event (KcEvent *e)
{
  switch (kc_event_get_kind (e)) {
  case KC_EVENT_KIND_CALL_STATE:
  case KC_EVENT_KIND_KEY_CREATED:
  case KC_EVENT_KIND_KEY_DERIVED:
  case KC_EVENT_KIND_KEY_SENT:
  case KC_EVENT_KIND_KEY_ACK:
  case KC_EVENT_KIND_KEY_ACK_FAILED:
  case KC_EVENT_KIND_MEDIA_START:
  case KC_EVENT_KIND_MEDIA_STOP:
  case KC_EVENT_KIND_CDR:
    return TRUE;
  case KC_EVENT_KIND_SIP_RX:
  case KC_EVENT_KIND_SIP_TX:
    return kc_event_get_fig3 (e) == 316;
  default:
    return FALSE;
  }
}

static void
fold_call (Rows *rows, GHashTable *by_key, KcEvent *e)
{
  const char *call = call_of (by_key, e), *lane = kc_event_get_lane (e);
  KcEventKind kind = kc_event_get_kind (e);
  int step = kc_event_get_fig3 (e);
  g_autofree char *who = NULL, *stages = NULL;
  KcFlowPanelRow *row;

  if (call == NULL || !is_call_event (e))
    return;
  row = row_get (rows, call, e);
  if (row->id == NULL)
    row->id = g_strdup (call);
  if ((who = parties (kc_event_get_summary (e), "call")) != NULL
      || (who = parties (kc_event_get_summary (e), "CDR")) != NULL)
    set (&row->title, g_steal_pointer (&who));
  else if (row->title == NULL && step == 316 && is_cta (lane))
    row->title = g_strdup_printf ("%s → …", short_name (lane));
  switch (kind) {
  case KC_EVENT_KIND_KEY_CREATED:
  case KC_EVENT_KIND_KEY_DERIVED:
    row->stages |= KC_FLOW_STAGE_CREATED;
    break;
  case KC_EVENT_KIND_KEY_SENT:
    row->stages |= KC_FLOW_STAGE_SENT;
    break;
  case KC_EVENT_KIND_KEY_ACK:
    /* The controllers' own acknowledgment checks, not the CTAs' reports
     * of having sent one: the controller decides. */
    if (g_str_has_prefix (lane, "controller:") || !g_str_has_prefix (lane, "cta:"))
      row->stages |= step == 328 ? KC_FLOW_STAGE_ACK_CALLER
                     : step == 322 || step == 324 ? KC_FLOW_STAGE_ACK_CALLEE : 0;
    break;
  case KC_EVENT_KIND_KEY_ACK_FAILED:
    row->stages |= KC_FLOW_STAGE_FAILED;
    break;
  case KC_EVENT_KIND_MEDIA_START:
    if (is_cta (lane))
      row->stages |= KC_FLOW_STAGE_MEDIA;
    break;
  case KC_EVENT_KIND_CALL_STATE:
    if (g_strcmp0 (kc_event_get_attr (e, "state"), "answered") == 0)
      row->stages |= KC_FLOW_STAGE_MEDIA;
    else if (g_strcmp0 (kc_event_get_attr (e, "state"), "ended") == 0)
      row->stages |= KC_FLOW_STAGE_ENDED;
    break;
  case KC_EVENT_KIND_MEDIA_STOP:
  case KC_EVENT_KIND_CDR:
    row->stages |= KC_FLOW_STAGE_ENDED;
    break;
  default:
    break;
  }
  if (row->title == NULL)
    row->title = g_strdup_printf ("call %.8s", call);
  if (kc_event_get_fingerprint (e) != NULL)
    set (&row->fingerprint, g_strdup (kc_event_get_fingerprint (e)));
  stages = kc_flow_stages_to_string (row->stages);
  set (&row->subtitle, g_strdup_printf ("%s%s%s%s", row->fingerprint ? "key " : "",
                                        row->fingerprint ? row->fingerprint : "",
                                        row->fingerprint && *stages ? " · " : "", stages));
  set (&row->state, g_strdup (stage_state (row->stages)));
  row->bad = (row->stages & KC_FLOW_STAGE_FAILED) != 0;
}

static void
fold_key (Rows *rows, KcEvent *e)
{
  KcEventKind kind = kc_event_get_kind (e);
  const char *key = kc_event_get_key_id (e), *fp = kc_event_get_fingerprint (e);
  const char *lane = kc_event_get_lane (e);
  g_autofree char *id = NULL;
  KcFlowPanelRow *row;

  if ((kind != KC_EVENT_KIND_KEY_SEALED && kind != KC_EVENT_KIND_KEY_STORED) || key == NULL)
    return;
  /* One row per store: each controller seals and stores its own copy. */
  id = g_strdup_printf ("%s %s", key, lane ? lane : "");
  row = row_get (rows, id, e);
  if (fp != NULL)
    set (&row->fingerprint, g_strdup (fp));
  set (&row->title, g_strdup_printf ("key %s", row->fingerprint ? row->fingerprint : "(no fingerprint)"));
  set (&row->subtitle, g_strdup_printf ("%s · id %.8s… · call %.8s…", short_name (lane), key,
                                        kc_event_get_call_id (e) ? kc_event_get_call_id (e) : "?"));
  if (kind == KC_EVENT_KIND_KEY_STORED)
    set (&row->state, g_strdup ("sealed and stored"));
  else if (row->state == NULL)
    set (&row->state, g_strdup ("sealed"));
  set (&row->id, g_strdup (kc_event_get_call_id (e)));   /* a click shows its call */
}

static void
fold_cdr (Rows *rows, GHashTable *by_key, KcEvent *e)
{
  const char *call = call_of (by_key, e), *status = kc_event_get_attr (e, "status");
  const char *duration = kc_event_get_attr (e, "duration_ms"), *reason = kc_event_get_attr (e, "reason");
  const char *outcome = kc_event_get_attr (e, "outcome");
  g_autofree char *id = NULL, *who = NULL;
  KcFlowPanelRow *row;
  GString *sub;

  if (kc_event_get_kind (e) != KC_EVENT_KIND_CDR)
    return;
  id = g_strdup_printf ("%s %s", call ? call : "", kc_event_get_lane (e) ? kc_event_get_lane (e) : "");
  row = row_get (rows, id, e);
  who = parties (kc_event_get_summary (e), "CDR");
  set (&row->title, g_strdup (who ? who : kc_event_get_summary (e)));
  sub = g_string_new (short_name (kc_event_get_lane (e)));
  if (status != NULL)
    g_string_append_printf (sub, " · %s", status);
  if (duration != NULL)
    g_string_append_printf (sub, " · %.1f s", g_ascii_strtoll (duration, NULL, 10) / 1000.0);
  if (reason != NULL)
    g_string_append_printf (sub, " · %s", reason);
  set (&row->subtitle, g_string_free (sub, FALSE));
  set (&row->state, g_strdup (outcome ? outcome : "?"));
  row->bad = status != NULL && atoi (status) >= 400;
  set (&row->id, g_strdup (call));
}

/* The tapped number: the "number" attribute, or as the controller and
 * keycall-lea word it ("… a future tap on 1001", "… future keys of 1001",
 * "tap T-…: future 1001 (…)"). */
static char *
tap_number (KcEvent *e)
{
  static GRegex *words;
  g_autoptr(GMatchInfo) match = NULL;
  const char *summary = kc_event_get_summary (e);

  if (kc_event_get_attr (e, "number") != NULL)
    return g_strdup (kc_event_get_attr (e, "number"));
  if (g_once_init_enter (&words))
    g_once_init_leave (&words, g_regex_new ("(?:tap on|keys of|future|current|past) \\+?([0-9]{2,})\\b",
                                            G_REGEX_OPTIMIZE, 0, NULL));
  if (summary == NULL || !g_regex_match (words, summary, 0, &match))
    return NULL;
  return g_match_info_fetch (match, 1);
}

/* One row per law-enforcement agency and controller: what it tapped, how
 * many keys it was given (each call once, though both ends report it),
 * and its latest state. */
static void
fold_tap (Rows *rows, KcEvent *e)
{
  KcEventKind kind = kc_event_get_kind (e);
  const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e);
  gboolean lea_reports = lane != NULL && g_str_has_prefix (lane, "lea:");
  const char *lea = lea_reports ? lane : peer, *controller = lea_reports ? peer : lane;
  const char *call = kc_event_get_call_id (e), *summary = kc_event_get_summary (e);
  g_autofree char *key = NULL, *number = NULL;
  KcFlowPanelRow *row;

  if (kind != KC_EVENT_KIND_TAP_REQUEST && kind != KC_EVENT_KIND_TAP_REFUSED
      && kind != KC_EVENT_KIND_KEY_DELIVERED && kind != KC_EVENT_KIND_CONTENT_DELIVERED)
    return;
  key = g_strdup_printf ("%s %s", lea ? lea : "?", controller ? controller : "?");
  if (controller == NULL && lea != NULL) {
    /* The LEA's own note (recording): its latest row with a controller. */
    g_autofree char *prefix = g_strdup_printf ("%s ", lea);

    for (guint i = rows->rows->len; i-- > 0; )
      if (g_str_has_prefix (((KcFlowPanelRow *) rows->rows->pdata[i])->key, prefix)) {
        g_free (key);
        key = g_strdup (((KcFlowPanelRow *) rows->rows->pdata[i])->key);
        break;
      }
  }
  row = row_get (rows, key, e);
  if (row->title == NULL)
    row->title = g_strdup_printf ("%s%s%s", lea ? short_name (lea) : "unknown", controller ? " at " : "",
                                  controller ? short_name (controller) : "");
  if ((number = tap_number (e)) != NULL && row->id == NULL)
    row->id = g_strdup (number);   /* a click shows the first number tapped */
  if (number != NULL && (row->subtitle == NULL || !strstr (row->subtitle, number)))
    set (&row->subtitle, g_strdup_printf ("%s%s%s", row->subtitle ? row->subtitle : "taps on ",
                                          row->subtitle ? ", " : "", number));
  switch (kind) {
  case KC_EVENT_KIND_TAP_REQUEST:
    if (row->stages == 0)
      set (&row->state, g_strdup ("tap requested"));
    row->bad = FALSE;
    break;
  case KC_EVENT_KIND_TAP_REFUSED:
    set (&row->state, g_strdup ("refused"));
    set (&row->subtitle, g_strdup (summary));
    row->bad = TRUE;
    break;
  case KC_EVENT_KIND_KEY_DELIVERED:
    {
      g_autofree char *seen = g_strdup_printf ("%s\x1f%s", key, call ? call : summary ? summary : "");

      if (g_hash_table_add (rows->seen, g_steal_pointer (&seen)))
        row->stages++;   /* keys delivered */
      set (&row->state, g_strdup_printf ("%u key%s delivered", row->stages, row->stages == 1 ? "" : "s"));
      row->bad = FALSE;
    }
    break;
  default:
    if (row->stages == 0)
      set (&row->state, g_strdup ("content delivered"));
    break;
  }
}

GPtrArray *
kc_flow_panels_build (KcFlowModel *model, KcFlowPanel panel)
{
  g_autoptr(GHashTable) by_key = g_hash_table_new (g_str_hash, g_str_equal);
  Rows rows;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  g_return_val_if_fail (panel < KC_FLOW_N_PANELS, NULL);

  rows.rows = g_ptr_array_new_with_free_func (row_free);
  rows.by_id = g_hash_table_new (g_str_hash, g_str_equal);
  rows.seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < kc_flow_model_get_n_events (model); i++) {
    KcEvent *e = kc_flow_model_get_event (model, i);

    switch (panel) {
    case KC_FLOW_PANEL_CTAS:
      fold_ctas (&rows, e);
      break;
    case KC_FLOW_PANEL_CALLS:
      fold_call (&rows, by_key, e);
      break;
    case KC_FLOW_PANEL_KEYS:
      fold_key (&rows, e);
      break;
    case KC_FLOW_PANEL_CDRS:
      fold_cdr (&rows, by_key, e);
      break;
    case KC_FLOW_PANEL_TAPS:
    default:
      fold_tap (&rows, e);
      break;
    }
  }
  g_hash_table_unref (rows.by_id);
  g_hash_table_unref (rows.seen);
  return rows.rows;
}

const char *
kc_flow_panel_get_title (KcFlowPanel panel)
{
  switch (panel) {
  case KC_FLOW_PANEL_CTAS:  return "CTAs";
  case KC_FLOW_PANEL_CALLS: return "Calls";
  case KC_FLOW_PANEL_KEYS:  return "Keys";
  case KC_FLOW_PANEL_CDRS:  return "CDRs";
  case KC_FLOW_PANEL_TAPS:  return "Taps";
  case KC_FLOW_N_PANELS:
  default:
    return NULL;
  }
}
