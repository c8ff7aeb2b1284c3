/* test-flow-model.c: what the controller window derives from events, with
 * no display: the lawful-intercept and gateway lanes, the secure-media band
 * and its live counters, the call and number filters, the side panels
 * (kc-flow-panels), the replay of a log (kc-flow-replay) and events of a
 * restarted process (same name, seq from 1) kept as new. The recorded
 * call is tests/data/flow-two-controllers.jsonl (a real run, see
 * tests/data/README.md); events of kinds no recorded run has yet (taps,
 * media-stats, a gateway) are built here, as the controller documents them.
 */
#define G_LOG_DOMAIN "test-flow-model"

#include "config.h"

#include "kc-flow-model.h"
#include "kc-flow-panels.h"
#include "kc-flow-replay.h"

#include <string.h>

#define CALL "a4220fa5-0de7-47a0-9343-105aab671ac0"

static KcFlowModel *
load_fixture (void)
{
  g_autoptr(GError) error = NULL;
  KcFlowModel *model = kc_flow_model_new ();

  g_assert_true (kc_flow_model_load_file (model, KC_FLOW_FIXTURE, &error));
  g_assert_no_error (error);
  return model;
}

static int
first_arrow (KcFlowModel *model, int step)
{
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);

    if (item->kind == KC_FLOW_ITEM_ARROW && kc_event_get_fig3 (item->event) == step)
      return i;
  }
  return -1;
}

/* An event @after_us after the fixture's last one. */
static KcEvent *
event_after (KcFlowModel *model, gint64 after_us, KcEventKind kind, const char *proc,
             guint64 seq, const char *lane, const char *peer, const char *call, int fig3)
{
  KcEvent *e = kc_event_new (kind);
  guint n = kc_flow_model_get_n_events (model);

  kc_event_set_time (e, kc_event_get_time (kc_flow_model_get_event (model, n - 1)) + after_us);
  kc_event_set_process (e, proc);
  kc_event_set_seq (e, seq);
  kc_event_set_lane (e, lane);
  kc_event_set_peer (e, peer);
  kc_event_set_call_id (e, call);
  kc_event_set_fig3 (e, fig3);
  return e;
}

static void
add (KcFlowModel *model, KcEvent *e)
{
  g_assert_true (kc_flow_model_add_event (model, e));
  kc_event_unref (e);
}

/* Taps as both ends report them (controller/kc-li*.c, lea/keycall-lea.c):
 * 514 from the LEA, 516 and content to it, each drawn once from its
 * sender, on a law-enforcement lane right of the callee; a gateway lane
 * last; a refused connection marked failed. */
static void
add_lea_events (KcFlowModel *model)
{
  KcEvent *e;

  e = event_after (model, 1000, KC_EVENT_KIND_TAP_REQUEST, "lea1", 1, "lea:lea1", "controller:gc1", NULL, 514);
  kc_event_set_summary (e, "tap request r1: future keys of 1001");
  add (model, e);
  e = event_after (model, 2000, KC_EVENT_KIND_TAP_REQUEST, "gc1", 900, "controller:gc1", "lea:lea1", NULL, 514);
  kc_event_set_summary (e, "514 lea:lea1 asks for a future tap on 1001");
  add (model, e);
  /* The answer, as both ends report it: drawn once, from the controller. */
  e = event_after (model, 2400, KC_EVENT_KIND_TAP_REQUEST, "gc1", 904, "controller:gc1", "lea:lea1", NULL, 514);
  kc_event_set_attr (e, "op", "ok");
  kc_event_set_attr (e, "tap", "T-5c1e");
  kc_event_set_summary (e, "514 tap T-5c1e: ok (0 calls)");
  add (model, e);
  e = event_after (model, 2500, KC_EVENT_KIND_TAP_REQUEST, "lea1", 2, "lea:lea1", "controller:gc1", NULL, 514);
  kc_event_set_attr (e, "op", "ok");
  kc_event_set_summary (e, "tap T-5c1e: future 1001 (calls 0)");
  add (model, e);
  e = event_after (model, 3000, KC_EVENT_KIND_KEY_DELIVERED, "gc1", 901, "controller:gc1", "lea:lea1", CALL, 516);
  kc_event_set_summary (e, "516 sealed key to lea:lea1: tap=T-5c1e call=" CALL);
  add (model, e);
  e = event_after (model, 4000, KC_EVENT_KIND_KEY_DELIVERED, "lea1", 3, "lea:lea1", "controller:gc1", CALL, 516);
  kc_event_set_attr (e, "tap", "T-5c1e");
  kc_event_set_summary (e, "sealed key opened: fingerprint 6abd 7565 fdbe 6f1f");
  add (model, e);
  e = event_after (model, 5000, KC_EVENT_KIND_CONTENT_DELIVERED, "gc1", 902, "controller:gc1", "lea:lea1", CALL, 516);
  kc_event_set_summary (e, "content of " CALL " to 127.0.0.1:47000: 491 packets copied, 0 dropped");
  add (model, e);
  e = event_after (model, 5500, KC_EVENT_KIND_CONTENT_DELIVERED, "lea1", 4, "lea:lea1", NULL, CALL, 0);
  kc_event_set_summary (e, "recording content to /tmp/rec/1001-2001.wav");
  add (model, e);
  e = event_after (model, 6000, KC_EVENT_KIND_TAP_REFUSED, "gc2", 900, "controller:gc2", "lea:rogue", NULL, 514);
  kc_event_set_summary (e, "514 LI port refused lea:rogue: the certificate is revoked");
  add (model, e);
  e = event_after (model, 7000, KC_EVENT_KIND_SIP_TX, "gc1", 903, "controller:gc1", "gateway:gw1", "pots-1", 506);
  kc_event_set_message (e, "INVITE sips:5551234@gw1 SIP/2.0\r\n\r\n");
  add (model, e);
}

static void
test_lea_lanes (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  const char *lanes[] = { "cta:1001", "controller:gc1", "controller:gc2", "cta:2001", "lea:lea1",
                          "lea:rogue", "gateway:gw1" };
  guint requests = 0, answers = 0, refused = 0, content = 0, keys = 0, recording = 0;

  add_lea_events (model);
  g_assert_cmpuint (kc_flow_model_get_n_lanes (model), ==, G_N_ELEMENTS (lanes));
  for (guint i = 0; i < G_N_ELEMENTS (lanes); i++)
    g_assert_cmpstr (kc_flow_model_get_lane (model, i), ==, lanes[i]);
  g_assert_cmpint (kc_flow_model_get_lane_role (model, 4), ==, KC_FLOW_ROLE_LEA);
  g_assert_cmpint (kc_flow_model_get_lane_role (model, 6), ==, KC_FLOW_ROLE_GATEWAY);
  g_assert_cmpstr (kc_flow_role_to_string (KC_FLOW_ROLE_LEA), ==, "law enforcement");

  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);
    const char *from = kc_flow_model_get_lane (model, item->from);
    const char *to = kc_flow_model_get_lane (model, item->to);

    switch (kc_event_get_kind (item->event)) {
    case KC_EVENT_KIND_TAP_REQUEST:
      g_assert_cmpint (item->kind, ==, KC_FLOW_ITEM_ARROW);
      if (g_strcmp0 (kc_event_get_attr (item->event, "op"), "ok") == 0) {
        /* The answer: the controller's own report, not the LEA's copy. */
        g_assert_cmpstr (from, ==, "controller:gc1");
        g_assert_cmpstr (to, ==, "lea:lea1");
        g_assert_cmpstr (kc_event_get_process (item->event), ==, "gc1");
        answers++;
        break;
      }
      /* The LEA's own reports: the controller's copy is not drawn again. */
      g_assert_cmpstr (from, ==, "lea:lea1");
      g_assert_cmpstr (to, ==, "controller:gc1");
      g_assert_cmpstr (kc_event_get_process (item->event), ==, "lea1");
      if (requests++ == 0) {
        g_assert_cmpstr (item->words, ==, "tap request");
        g_assert_cmpstr (item->label, ==, "514 tap request r1: future keys of 1001");
      }
      break;
    case KC_EVENT_KIND_KEY_DELIVERED:
      g_assert_cmpint (item->kind, ==, KC_FLOW_ITEM_ARROW);
      g_assert_cmpstr (from, ==, "controller:gc1");
      g_assert_cmpstr (to, ==, "lea:lea1");
      g_assert_cmpstr (item->words, ==, "key → law enforcement");
      g_assert_cmpstr (kc_event_get_process (item->event), ==, "gc1");
      keys++;
      break;
    case KC_EVENT_KIND_CONTENT_DELIVERED:
      if (item->kind == KC_FLOW_ITEM_NOTE) {
        g_assert_cmpstr (from, ==, "lea:lea1");
        recording++;
      } else {
        g_assert_cmpstr (from, ==, "controller:gc1");
        g_assert_cmpstr (to, ==, "lea:lea1");
        content++;
      }
      break;
    case KC_EVENT_KIND_TAP_REFUSED:
      g_assert_cmpstr (from, ==, "controller:gc2");
      g_assert_cmpstr (to, ==, "lea:rogue");
      g_assert_true (item->failed);
      refused++;
      break;
    default:
      g_assert_false (g_str_has_prefix (to, "lea:") || g_str_has_prefix (from, "lea:"));
    }
  }
  g_assert_cmpuint (requests, ==, 1);
  g_assert_cmpuint (answers, ==, 1);
  g_assert_cmpuint (keys, ==, 1);
  g_assert_cmpuint (content, ==, 1);
  g_assert_cmpuint (recording, ==, 1);
  g_assert_cmpuint (refused, ==, 1);
  g_assert_cmpint (first_arrow (model, 506), >, first_arrow (model, 514));
  g_assert_cmpstr (kc_flow_model_get_lane (model, kc_flow_model_get_item (model, first_arrow (model, 506))->to),
                   ==, "gateway:gw1");
}

/* One band, caller to callee, from just after the callee's 200 OK to the
 * media's end, enclosing 330's ACKs; the counters of the last reports. */
static void
test_media_band (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  const KcFlowMedia *band;
  const KcFlowItem *start, *end;
  int ok_330 = first_arrow (model, 330);

  g_assert_cmpuint (kc_flow_model_get_n_media (model), ==, 1);
  band = kc_flow_model_get_media (model, 0);
  g_assert_cmpstr (band->call_id, ==, CALL);
  g_assert_cmpstr (kc_flow_model_get_lane (model, band->from), ==, "cta:1001");
  g_assert_cmpstr (kc_flow_model_get_lane (model, band->to), ==, "cta:2001");
  g_assert_cmpint (band->first, >, ok_330);
  g_assert_cmpuint (band->last, <, kc_flow_model_get_n_items (model));
  g_assert_cmpuint (band->last, >, band->first + 5);
  start = kc_flow_model_get_item (model, band->first);
  end = kc_flow_model_get_item (model, band->last);
  g_assert_cmpint (start->kind, ==, KC_FLOW_ITEM_MEDIA);
  g_assert_cmpint (end->kind, ==, KC_FLOW_ITEM_MEDIA);
  g_assert_true (g_str_has_prefix (start->label, "330 secure media"));
  g_assert_cmpstr (end->label, ==, "330 secure media ended");
  /* The callee's own stop report came last: it sent 247 and received 245
   * (the relays had counted 246 from it when they stopped). */
  g_assert_cmpint (band->packets[0], ==, 245);
  g_assert_cmpint (band->packets[1], ==, 247);
  for (guint i = band->first + 1; i < band->last; i++)
    g_assert_cmpint (kc_flow_model_get_item (model, i)->kind, !=, KC_FLOW_ITEM_MEDIA);
}

/* While media flows the band stays open to the end, and media-stats
 * events move its counters without adding rows. */
static void
test_media_live (void)
{
  g_autoptr(KcFlowModel) whole = load_fixture ();
  g_autoptr(KcFlowModel) live = kc_flow_model_new ();
  const KcFlowMedia *band;
  guint rows;
  KcEvent *e;

  for (guint i = 0; i < kc_flow_model_get_n_events (whole); i++) {
    KcEvent *event = kc_flow_model_get_event (whole, i);

    if (kc_event_get_kind (event) == KC_EVENT_KIND_SIP_TX && kc_event_get_fig3 (event) == 330
        && g_strcmp0 (kc_event_get_lane (event), "cta:1001") == 0)
      break;   /* up to the caller's ACK: answered, media flowing */
    kc_flow_model_add_event (live, event);
  }
  g_assert_cmpuint (kc_flow_model_get_n_media (live), ==, 1);
  band = kc_flow_model_get_media (live, 0);
  g_assert_cmpuint (band->last, ==, G_MAXUINT);
  g_assert_cmpint (band->packets[0], ==, -1);
  rows = kc_flow_model_get_n_items (live);

  for (int tick = 1; tick <= 3; tick++) {
    e = event_after (live, tick * 1000000, KC_EVENT_KIND_MEDIA_STATS, "gc1", 800 + tick,
                     "controller:gc1", NULL, CALL, 330);
    kc_event_set_attr_int (e, "caller_packets_in", 50 * tick);
    kc_event_set_attr_int (e, "callee_packets_in", 50 * tick - 1);
    add (live, e);
    band = kc_flow_model_get_media (live, 0);
    g_assert_cmpint (band->packets[0], ==, 50 * tick);
    g_assert_cmpint (band->packets[1], ==, 50 * tick - 1);
    g_assert_cmpuint (band->last, ==, G_MAXUINT);
    g_assert_cmpuint (kc_flow_model_get_n_items (live), ==, rows);
  }
  /* A CTA's own report counts its direction: the callee sent 170. */
  e = event_after (live, 1000, KC_EVENT_KIND_MEDIA_STATS, "keycall-2001", 900, "cta:2001",
                   "controller:gc2", CALL, 330);
  kc_event_set_summary (e, "sent 170 received 160 lost 2");
  add (live, e);
  band = kc_flow_model_get_media (live, 0);
  g_assert_cmpint (band->packets[1], ==, 170);
  g_assert_cmpint (band->packets[0], ==, 160);
  g_assert_cmpint (band->lost, ==, 2);
}

static guint
count_kind (KcFlowModel *model, KcEventKind kind)
{
  guint n = 0;

  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++)
    n += kc_event_get_kind (kc_flow_model_get_item (model, i)->event) == kind;
  return n;
}

static void
count_changed (guint *n)
{
  (*n)++;
}

/* Call filter: the call's rows only (no registrations), times from its
 * first event, deltas recomputed. Number filter: that CTA's rows and its
 * calls'. Clearing restores the whole diagram. */
static void
test_filters (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  guint all = kc_flow_model_get_n_items (model);
  gint64 t0 = kc_flow_model_get_start_time (model);
  const KcFlowItem *first;
  guint changed = 0;

  kc_flow_model_set_filter (model, CALL, NULL);
  g_assert_cmpstr (kc_flow_model_get_call_filter (model), ==, CALL);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), <, all);
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);

    g_assert_cmpint (kc_event_get_fig3 (item->event), !=, 312);
    g_assert_cmpstr (kc_event_get_call_id (item->event), ==, CALL);
  }
  for (int step = 316; step <= 330; step += 2)
    g_assert_cmpint (first_arrow (model, step), >=, 0);
  first = kc_flow_model_get_item (model, 0);
  g_assert_cmpint (kc_flow_model_get_start_time (model), >, t0);
  g_assert_cmpint (kc_flow_model_get_start_time (model), ==, kc_event_get_time (first->event));
  g_assert_cmpint (first->delta_us, ==, 0);
  g_assert_cmpint (kc_flow_model_get_item (model, 1)->delta_us, ==,
                   kc_event_get_time (kc_flow_model_get_item (model, 1)->event) - kc_event_get_time (first->event));
  g_assert_cmpuint (kc_flow_model_get_n_media (model), ==, 1);

  kc_flow_model_set_filter (model, NULL, "1001");
  g_assert_null (kc_flow_model_get_call_filter (model));
  g_assert_cmpuint (kc_flow_model_get_n_items (model), <, all);
  /* 1001's registrations are in, 2001's are not; the call both are in is. */
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    KcEvent *e = kc_flow_model_get_item (model, i)->event;

    if (kc_event_get_fig3 (e) == 312)
      g_assert_true (g_strcmp0 (kc_event_get_lane (e), "cta:1001") == 0
                     || g_strcmp0 (kc_event_get_peer (e), "cta:1001") == 0);
  }
  g_assert_cmpint (first_arrow (model, 320), >=, 0);
  g_assert_cmpint (first_arrow (model, 312), >=, 0);

  g_signal_connect_swapped (model, "changed", G_CALLBACK (count_changed), &changed);
  kc_flow_model_set_filter (model, NULL, " 1001 ");   /* the same, spaces aside */
  g_assert_cmpuint (changed, ==, 0);
  kc_flow_model_set_filter (model, NULL, "9999");
  g_assert_cmpuint (changed, ==, 1);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, 0);
  g_assert_cmpuint (kc_flow_model_get_n_lanes (model), ==, 0);
  g_assert_cmpint (kc_flow_model_get_start_time (model), ==, 0);
  kc_flow_model_set_filter (model, "no-such-call", "");
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, 0);
  kc_flow_model_set_filter (model, NULL, NULL);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, all);
  g_assert_cmpint (kc_flow_model_get_start_time (model), ==, t0);
  g_assert_cmpuint (count_kind (model, KC_EVENT_KIND_SIP_TX), >, 0);
}

/* A leg with a Call-ID of its own but the call's key id is the same call. */
static void
test_filter_legs (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  guint before;
  KcEvent *e;

  kc_flow_model_set_filter (model, CALL, NULL);
  before = kc_flow_model_get_n_items (model);
  e = event_after (model, 1000, KC_EVENT_KIND_KEY_ACK, "gw", 1, "controller:gc2", "gateway:gw1", "leg-b", 508);
  kc_event_set_key_id (e, "ca60cbc66715f6ca85597b34caf014e9");
  add (model, e);
  e = event_after (model, 2000, KC_EVENT_KIND_KEY_ACK, "gw", 2, "controller:gc2", "gateway:gw1", "other", 508);
  kc_event_set_key_id (e, "00000000000000000000000000000001");
  add (model, e);
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, before + 1);
}

static GPtrArray *
panel (KcFlowModel *model, KcFlowPanel which)
{
  return kc_flow_panels_build (model, which);
}

static const KcFlowPanelRow *
row_titled (GPtrArray *rows, const char *title)
{
  for (guint i = 0; i < rows->len; i++)
    if (g_strcmp0 (((KcFlowPanelRow *) rows->pdata[i])->title, title) == 0)
      return rows->pdata[i];
  g_error ("no row titled %s", title);
  return NULL;
}

/* CTAs and controller links: registered, then unregistered as the log ends;
 * both peerings up. */
static void
test_panel_ctas (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autoptr(GPtrArray) rows = panel (model, KC_FLOW_PANEL_CTAS);
  g_autoptr(KcFlowModel) early = kc_flow_model_new ();
  g_autoptr(GPtrArray) early_rows = NULL;
  const KcFlowPanelRow *row;

  g_assert_cmpuint (rows->len, ==, 4);
  row = row_titled (rows, "1001");
  g_assert_cmpstr (row->state, ==, "unregistered");
  g_assert_true (row->bad);
  g_assert_cmpstr (row->id, ==, "1001");
  g_assert_true (g_str_has_prefix (row->subtitle, "at gc1"));
  row = row_titled (rows, "gc1 → gc2");
  g_assert_cmpstr (row->state, ==, "peer up");   /* it was down first: the latest wins */
  g_assert_false (row->bad);
  row_titled (rows, "gc2 → gc1");

  for (guint i = 0; i < 60; i++)
    kc_flow_model_add_event (early, kc_flow_model_get_event (model, i));
  early_rows = panel (early, KC_FLOW_PANEL_CTAS);
  row = row_titled (early_rows, "2001");
  g_assert_cmpstr (row->state, ==, "registered");
  g_assert_false (row->bad);
  g_assert_nonnull (strstr (row->subtitle, "sips:2001@127.0.0.1"));
}

/* A call's key state, step by step: from a log cut after 326 (sent, the
 * callee acknowledged) to the whole call (every stage, ended). */
static void
test_panel_calls (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autoptr(KcFlowModel) partial = kc_flow_model_new ();
  g_autoptr(GPtrArray) rows = panel (model, KC_FLOW_PANEL_CALLS);
  g_autoptr(GPtrArray) partial_rows = NULL;
  g_autofree char *all = NULL;
  const KcFlowPanelRow *row;
  guint all_stages = KC_FLOW_STAGE_CREATED | KC_FLOW_STAGE_SENT | KC_FLOW_STAGE_ACK_CALLEE
                     | KC_FLOW_STAGE_ACK_CALLER | KC_FLOW_STAGE_MEDIA | KC_FLOW_STAGE_ENDED;

  g_assert_cmpuint (rows->len, ==, 1);
  row = rows->pdata[0];
  g_assert_cmpstr (row->title, ==, "1001 → 2001");
  g_assert_cmpstr (row->id, ==, CALL);
  g_assert_cmpuint (row->stages, ==, all_stages);
  g_assert_cmpstr (row->state, ==, "ended");
  all = kc_flow_stages_to_string (all_stages);
  g_assert_cmpstr (all, ==, "created → sent → acknowledged by the callee → acknowledged by the caller "
                            "→ media flowing → ended");
  g_assert_nonnull (strstr (row->subtitle, "key 6abd 7565 fdbe 6f1f"));

  for (guint i = 0; i < kc_flow_model_get_n_events (model); i++) {
    KcEvent *e = kc_flow_model_get_event (model, i);

    if (kc_event_get_fig3 (e) == 328)
      break;
    kc_flow_model_add_event (partial, e);
  }
  partial_rows = panel (partial, KC_FLOW_PANEL_CALLS);
  row = partial_rows->pdata[0];
  g_assert_cmpuint (row->stages, ==, KC_FLOW_STAGE_CREATED | KC_FLOW_STAGE_SENT | KC_FLOW_STAGE_ACK_CALLEE);
  g_assert_cmpstr (row->state, ==, "acknowledged by the callee");
}

/* Keys: sealed and stored at gc1, by fingerprint only; CDRs of both
 * controllers; taps from their events; an empty panel when none. */
static void
test_panel_store_cdrs_taps (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  g_autoptr(GPtrArray) keys = panel (model, KC_FLOW_PANEL_KEYS);
  g_autoptr(GPtrArray) cdrs = panel (model, KC_FLOW_PANEL_CDRS);
  g_autoptr(GPtrArray) taps = panel (model, KC_FLOW_PANEL_TAPS);
  const KcFlowPanelRow *row;

  g_assert_cmpuint (keys->len, ==, 1);
  row = keys->pdata[0];
  g_assert_cmpstr (row->title, ==, "key 6abd 7565 fdbe 6f1f");
  g_assert_cmpstr (row->state, ==, "sealed and stored");
  g_assert_cmpstr (row->id, ==, CALL);
  g_assert_true (g_str_has_prefix (row->subtitle, "gc1 · id ca60cbc6"));

  g_assert_cmpuint (cdrs->len, ==, 2);
  for (guint i = 0; i < cdrs->len; i++) {
    row = cdrs->pdata[i];
    g_assert_cmpstr (row->title, ==, "1001 → 2001");
    g_assert_cmpstr (row->state, ==, "answered");
    g_assert_false (row->bad);
    g_assert_nonnull (strstr (row->subtitle, "1001 hung up"));
  }
  g_assert_true (g_str_has_prefix (((KcFlowPanelRow *) cdrs->pdata[0])->subtitle, "gc1 · 200 · 5.0 s"));

  g_assert_cmpuint (taps->len, ==, 0);
  g_ptr_array_unref (taps);
  add_lea_events (model);
  taps = panel (model, KC_FLOW_PANEL_TAPS);
  g_assert_cmpuint (taps->len, ==, 2);
  row = row_titled (taps, "lea1 at gc1");
  g_assert_cmpstr (row->state, ==, "1 key delivered");   /* reported by both ends, counted once */
  g_assert_cmpstr (row->subtitle, ==, "taps on 1001");
  g_assert_cmpstr (row->id, ==, "1001");
  g_assert_false (row->bad);
  row = row_titled (taps, "rogue at gc2");
  g_assert_cmpstr (row->state, ==, "refused");
  g_assert_nonnull (strstr (row->subtitle, "revoked"));
  g_assert_true (row->bad);
}

typedef struct {
  GMainLoop *loop;
  guint      progress;
  guint      finished;
} ReplayWatch;

static void
on_progress (KcFlowReplay *replay, ReplayWatch *w)
{
  w->progress++;
}

static void
on_finished (KcFlowReplay *replay, ReplayWatch *w)
{
  w->finished++;
  g_main_loop_quit (w->loop);
}

static gboolean
on_timeout (gpointer user_data)
{
  g_error ("the replay did not finish in time");
  return G_SOURCE_REMOVE;
}

/* Replay: paused on nothing, stepped one event at a time, then played
 * fast to the end: every event, in time order, "finished" once; restart
 * empties the model. At 1000× the 5.3 s call takes about 5 ms. */
static void
test_replay (void)
{
  g_autoptr(KcFlowModel) whole = load_fixture ();
  g_autoptr(KcFlowModel) model = kc_flow_model_new ();
  g_autoptr(KcFlowReplay) replay = kc_flow_replay_new (model);
  g_autoptr(GError) error = NULL;
  char *paths[] = { (char *) KC_FLOW_FIXTURE, NULL };
  char *missing[] = { (char *) "/nonexistent/events.jsonl", NULL };
  ReplayWatch w = { g_main_loop_new (NULL, FALSE), 0, 0 };
  guint timeout;

  g_signal_connect (replay, "progress", G_CALLBACK (on_progress), &w);
  g_signal_connect (replay, "finished", G_CALLBACK (on_finished), &w);
  g_assert_true (kc_flow_replay_load (replay, paths, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (kc_flow_replay_get_n_events (replay), ==, kc_flow_model_get_n_events (whole));
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, 0);
  g_assert_false (kc_flow_replay_is_playing (replay));

  g_assert_true (kc_flow_replay_step (replay));
  g_assert_true (kc_flow_replay_step (replay));
  g_assert_cmpuint (kc_flow_replay_get_position (replay), ==, 2);
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, 2);

  kc_flow_replay_set_speed (replay, 5000);
  g_assert_cmpfloat (kc_flow_replay_get_speed (replay), ==, KC_FLOW_REPLAY_SPEED_MAX);
  kc_flow_replay_play (replay);
  g_assert_true (kc_flow_replay_is_playing (replay));
  timeout = g_timeout_add_seconds (20, on_timeout, NULL);
  g_main_loop_run (w.loop);
  g_source_remove (timeout);
  g_assert_cmpuint (w.finished, ==, 1);
  g_assert_false (kc_flow_replay_is_playing (replay));
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, kc_flow_model_get_n_events (whole));
  for (guint i = 0; i < kc_flow_model_get_n_events (whole); i++)
    g_assert_true (kc_flow_model_get_event (model, i) == kc_flow_model_get_event (whole, i)
                   || kc_event_equal (kc_flow_model_get_event (model, i), kc_flow_model_get_event (whole, i)));
  g_assert_cmpuint (kc_flow_model_get_n_items (model), ==, kc_flow_model_get_n_items (whole));
  g_assert_false (kc_flow_replay_step (replay));
  g_assert_cmpuint (w.progress, >, 3);

  kc_flow_replay_restart (replay);
  g_assert_cmpuint (kc_flow_replay_get_position (replay), ==, 0);
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, 0);

  g_assert_false (kc_flow_replay_load (replay, missing, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (kc_flow_replay_get_n_events (replay), ==, 0);
  g_main_loop_unref (w.loop);
}

/* The same event twice (log file and live socket) is kept once; a
 * controller restarted under the same name numbers its events from 1
 * again, and those are new, not duplicates. */
static void
test_restart (void)
{
  g_autoptr(KcFlowModel) model = load_fixture ();
  guint n = kc_flow_model_get_n_events (model);
  const KcEvent *first = NULL;
  KcEvent *again, *e;
  g_autofree char *json = NULL;

  for (guint i = 0; i < n && first == NULL; i++)
    if (g_strcmp0 (kc_event_get_process (kc_flow_model_get_event (model, i)), "gc1") == 0
        && kc_event_get_seq (kc_flow_model_get_event (model, i)) == 1)
      first = kc_flow_model_get_event (model, i);
  g_assert_nonnull (first);

  /* A second copy of gc1's first event, through its JSON line. */
  json = kc_event_to_json (first);
  again = kc_event_from_json (json, strlen (json), NULL);
  g_assert_nonnull (again);
  g_assert_false (kc_flow_model_add_event (model, again));
  kc_event_unref (again);
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, n);

  /* gc1 restarted: seq 1 and 2 again, later. */
  e = event_after (model, 1000000, KC_EVENT_KIND_TLS_UP, "gc1", 1, "controller:gc1",
                   "controller:gc2", NULL, 310);
  kc_event_set_summary (e, "peer gc2 connected (after a restart)");
  add (model, e);
  e = event_after (model, 2000, KC_EVENT_KIND_CALL_STATE, "gc1", 2, "controller:gc1", NULL,
                   "restarted-call", 0);
  kc_event_set_summary (e, "call restarted-call: calling");
  add (model, e);
  g_assert_cmpuint (kc_flow_model_get_n_events (model), ==, n + 2);
  g_assert_cmpstr (kc_event_get_summary (kc_flow_model_get_event (model, n + 1)), ==,
                   "call restarted-call: calling");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flow-model/lea-lanes", test_lea_lanes);
  g_test_add_func ("/flow-model/media-band", test_media_band);
  g_test_add_func ("/flow-model/media-live", test_media_live);
  g_test_add_func ("/flow-model/filters", test_filters);
  g_test_add_func ("/flow-model/filter-legs", test_filter_legs);
  g_test_add_func ("/flow-model/panel-ctas", test_panel_ctas);
  g_test_add_func ("/flow-model/panel-calls", test_panel_calls);
  g_test_add_func ("/flow-model/panel-store-cdrs-taps", test_panel_store_cdrs_taps);
  g_test_add_func ("/flow-model/replay", test_replay);
  g_test_add_func ("/flow-model/restart", test_restart);
  return g_test_run ();
}
