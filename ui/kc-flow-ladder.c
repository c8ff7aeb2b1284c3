/* kc-flow-ladder.c: the ladder laid out from the model's events: lanes
 * and their roles, one row per message, note or media edge, the media
 * bands with their counters, and each FIG. 3 step's words.
 */
#define G_LOG_DOMAIN "kc-flow-model"

#include "config.h"

#include "kc-flow-model-private.h"

#include <stdlib.h>
#include <string.h>

static gboolean
is_cta (const char *lane)
{
  return lane != NULL && g_str_has_prefix (lane, "cta:");
}

static gboolean
is_controller (const char *lane)
{
  return lane != NULL && g_str_has_prefix (lane, "controller:");
}

static KcFlowRole
role_from_prefix (const char *lane)
{
  if (is_controller (lane))
    return KC_FLOW_ROLE_CONTROLLER;
  if (is_cta (lane))
    return KC_FLOW_ROLE_CTA;
  if (g_str_has_prefix (lane, "lea:"))
    return KC_FLOW_ROLE_LEA;
  if (g_str_has_prefix (lane, "gateway:"))
    return KC_FLOW_ROLE_GATEWAY;
  return KC_FLOW_ROLE_OTHER;
}

static gboolean
is_note_kind (KcEventKind kind)
{
  switch (kind) {
  case KC_EVENT_KIND_KEY_CREATED:
  case KC_EVENT_KIND_KEY_DERIVED:
  case KC_EVENT_KIND_KEY_SEALED:
  case KC_EVENT_KIND_KEY_STORED:
  case KC_EVENT_KIND_KEY_ACK:
  case KC_EVENT_KIND_KEY_ACK_FAILED:
  case KC_EVENT_KIND_ERROR:
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean
is_lea_kind (KcEventKind kind)
{
  return kind == KC_EVENT_KIND_TAP_REQUEST || kind == KC_EVENT_KIND_TAP_REFUSED
         || kind == KC_EVENT_KIND_KEY_DELIVERED || kind == KC_EVENT_KIND_CONTENT_DELIVERED;
}

static gboolean
has_attr (KcEvent *e, const char *name, const char *value)
{
  return g_strcmp0 (kc_event_get_attr (e, name), value) == 0;
}

/* The roles of the first call: its ends are named by whichever of lane and
 * peer is a CTA, whoever logged the message (sender or receiver). */
static void
find_roles (KcFlowModel  *self,
            const char  **caller,
            const char  **source,
            const char  **destination,
            const char  **callee)
{
  *caller = *source = *destination = *callee = NULL;

  for (guint i = 0; i < self->events->len; i++) {
    KcEvent *e = self->events->pdata[i];
    const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e);
    KcEventKind kind = kc_event_get_kind (e);
    int step = kc_event_get_fig3 (e);

    if (lane == NULL || peer == NULL
        || (kind != KC_EVENT_KIND_SIP_TX && kind != KC_EVENT_KIND_SIP_RX) || !kc_flow_model_passes (self, e))
      continue;
    if (step == 316 && *caller == NULL && is_cta (lane) != is_cta (peer)) {
      *caller = is_cta (lane) ? lane : peer;
      *source = is_cta (lane) ? peer : lane;
    } else if (step == 318 && *destination == NULL && *source != NULL
               && is_controller (lane) && is_controller (peer)) {
      if (strcmp (lane, *source) == 0)
        *destination = peer;
      else if (strcmp (peer, *source) == 0)
        *destination = lane;
    } else if (step == 320 && *callee == NULL && is_cta (lane) != is_cta (peer)) {
      *callee = is_cta (lane) ? lane : peer;
    }
  }
}

static void
add_lane (GPtrArray *lanes, GHashTable *index, const char *name)
{
  KcFlowLane *lane;

  if (name == NULL || g_hash_table_contains (index, name))
    return;
  lane = g_new0 (KcFlowLane, 1);
  lane->name = g_strdup (name);
  lane->first = lanes->len;
  lane->role = role_from_prefix (name);
  g_ptr_array_add (lanes, lane);
  g_hash_table_insert (index, lane->name, lane);
}

static gint
compare_lanes (gconstpointer a, gconstpointer b)
{
  const KcFlowLane *x = *(const KcFlowLane **) a, *y = *(const KcFlowLane **) b;

  if (x->role != y->role)
    return x->role < y->role ? -1 : 1;
  return x->first < y->first ? -1 : x->first > y->first;
}

/* "INVITE sips:2001@D SIP/2.0" → "INVITE"; "SIP/2.0 180 Ringing" → "180 Ringing". */
static char *
message_title (KcEvent *e)
{
  const char *msg = kc_event_get_message (e), *summary = kc_event_get_summary (e);
  g_autofree char *first = NULL;

  if (msg != NULL && *msg != '\0') {
    first = g_strndup (msg, strcspn (msg, "\r\n"));
    if (g_str_has_prefix (first, "SIP/2.0 "))
      return g_strdup (first + strlen ("SIP/2.0 "));
    if (g_str_has_suffix (first, " SIP/2.0") && strchr (first, ' ') != NULL)
      return g_strndup (first, strchr (first, ' ') - first);
    return g_steal_pointer (&first);
  }
  if (summary == NULL)
    return g_strdup (kc_event_get_kind_string (e));
  if (g_str_has_prefix (summary, "→ ") || g_str_has_prefix (summary, "← "))
    summary += strlen ("→ ");
  return g_strdup (summary);
}

static char *
note_label (KcEvent *e)
{
  const char *summary = kc_event_get_summary (e);
  int step = kc_event_get_fig3 (e);
  g_autofree char *number = g_strdup_printf ("%d", step);

  if (summary == NULL)
    summary = kc_event_get_kind_string (e);
  if (step == 0 || g_str_has_prefix (summary, number))
    return g_strdup (summary);
  return g_strdup_printf ("%d %s", step, summary);
}

/* Per call, while the items are built: its two ends and its media band. */
typedef struct {
  const char *caller;
  const char *callee;
  gint        band;        /* index in self->media, -1 before media starts */
  gboolean    open;
  gint64      packets[2];
  gint64      lost;
  guint       lo;          /* outermost lanes its rows reach */
  guint       hi;
} CallInfo;

static void
call_info_free (gpointer data)
{
  g_free (data);
}

static CallInfo *
call_info (GHashTable *calls, const char *call_id)
{
  CallInfo *info;

  if (call_id == NULL)
    return NULL;
  info = g_hash_table_lookup (calls, call_id);
  if (info == NULL) {
    info = g_new0 (CallInfo, 1);
    info->band = -1;
    info->lo = G_MAXUINT;
    info->packets[0] = info->packets[1] = info->lost = -1;
    g_hash_table_insert (calls, (gpointer) call_id, info);
  }
  return info;
}

static gint64
attr_int (KcEvent *e, const char *const *names)
{
  for (guint i = 0; names[i] != NULL; i++) {
    const char *value = kc_event_get_attr (e, names[i]);

    if (value != NULL)
      return g_ascii_strtoll (value, NULL, 10);
  }
  return -1;
}

/* "sent 246 received 246 … lost 0 …": a CTA's media-stop summary. */
static gint64
summary_int (KcEvent *e, const char *word)
{
  const char *summary = kc_event_get_summary (e), *at;
  g_autofree char *needle = g_strdup_printf ("%s ", word);

  if (summary == NULL || (at = strstr (summary, needle)) == NULL
      || (at != summary && at[-1] != ' ' && at[-1] != ','))
    return -1;
  at += strlen (needle);
  return g_ascii_isdigit (*at) || *at == '-' ? g_ascii_strtoll (at, NULL, 10) : -1;
}

/* Counters of media-stats and media-stop: a relay reports each side's
 * packets in (the caller's side in = caller → callee), a CTA what it sent
 * and received. The latest report wins. */
static void
update_counters (CallInfo *info, KcEvent *e)
{
  static const char *const relay_in[2][2] = { { "caller_packets_in", NULL },
                                              { "callee_packets_in", NULL } };
  static const char *const sent[] = { "packets_sent", "rtp_sent", "sent", NULL };
  static const char *const received[] = { "packets_received", "rtp_received", "received", NULL };
  static const char *const lost[] = { "packets_lost", "lost", NULL };
  const char *lane = kc_event_get_lane (e);
  gint64 v;

  if (is_cta (lane)) {
    int own = g_strcmp0 (lane, info->callee) == 0 ? 1 : 0;

    if ((v = attr_int (e, sent)) >= 0 || (v = summary_int (e, "sent")) >= 0)
      info->packets[own] = v;
    if ((v = attr_int (e, received)) >= 0 || (v = summary_int (e, "received")) >= 0)
      info->packets[!own] = v;
  } else {
    for (int d = 0; d < 2; d++)
      if ((v = attr_int (e, relay_in[d])) >= 0)
        info->packets[d] = v;
  }
  if ((v = attr_int (e, lost)) >= 0 || (v = summary_int (e, "lost")) >= 0)
    info->lost = v;
}

static void
first_pass_calls (KcFlowModel *self, GHashTable *calls)
{
  for (guint i = 0; i < self->events->len; i++) {
    KcEvent *e = self->events->pdata[i];
    const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e);
    const char *cta = is_cta (lane) ? lane : is_cta (peer) ? peer : NULL;
    KcEventKind kind = kc_event_get_kind (e);
    CallInfo *info;

    if (!kc_flow_model_passes (self, e) || (info = call_info (calls, kc_event_get_call_id (e))) == NULL)
      continue;
    if ((kind == KC_EVENT_KIND_SIP_TX || kind == KC_EVENT_KIND_SIP_RX) && cta != NULL) {
      if (kc_event_get_fig3 (e) == 316 && info->caller == NULL)
        info->caller = cta;
      else if (kc_event_get_fig3 (e) == 320 && info->callee == NULL)
        info->callee = cta;
    } else if (kind == KC_EVENT_KIND_CALL_STATE && is_cta (lane)) {
      if (has_attr (e, "direction", "outgoing") && info->caller == NULL)
        info->caller = lane;
      else if (has_attr (e, "direction", "incoming") && info->callee == NULL)
        info->callee = lane;
    }
  }
}

static void
add_item (KcFlowModel *self, KcFlowItem *item, KcEvent *e)
{
  item->event = kc_event_ref (e);
  g_array_append_val (self->items, *item);
}

/* "SRTP AES_CM_128_HMAC_SHA1_80, opus/48000, addresses, audio…": the
 * suite and codec are what a band needs to say. */
static char *
media_label (KcEvent *e)
{
  const char *summary = kc_event_get_summary (e), *comma = strstr (summary, ", ");

  if (comma != NULL)
    comma = strstr (comma + 2, ", ");
  return g_strdup_printf ("330 secure media: %.*s", comma ? (int) (comma - summary) : (int) strlen (summary),
                          summary);
}

/* Media of a call: a band opens at its first CTA media-start or answered
 * call state and closes at its first media-stop or ended call state; other
 * media events only update the counters. Returns whether @e became a row. */
static gboolean
media_item (KcFlowModel *self, GHashTable *calls, KcEvent *e, KcFlowItem *item)
{
  KcEventKind kind = kc_event_get_kind (e);
  const char *lane = kc_event_get_lane (e);
  CallInfo *info = call_info (calls, kc_event_get_call_id (e));
  gboolean answered = kind == KC_EVENT_KIND_CALL_STATE && has_attr (e, "state", "answered");
  gboolean ended = kind == KC_EVENT_KIND_CALL_STATE && has_attr (e, "state", "ended");

  if (info == NULL)
    return FALSE;
  if (kind == KC_EVENT_KIND_MEDIA_STATS || kind == KC_EVENT_KIND_MEDIA_STOP)
    update_counters (info, e);
  if (info->band < 0 && ((kind == KC_EVENT_KIND_MEDIA_START && is_cta (lane)) || answered)) {
    KcFlowMedia band = { 0 };

    band.call_id = kc_event_get_call_id (e);
    band.first = self->items->len;
    band.last = G_MAXUINT;
    info->band = self->media->len;
    info->open = TRUE;
    g_array_append_val (self->media, band);
    item->kind = KC_FLOW_ITEM_MEDIA;
    item->words = kc_flow_fig3_words (330);
    if (kind == KC_EVENT_KIND_MEDIA_START && kc_event_get_summary (e) != NULL)
      item->label = media_label (e);
    else
      item->label = g_strdup ("330 secure media");
    return TRUE;
  }
  if (info->open && kind == KC_EVENT_KIND_MEDIA_START && is_cta (lane)
      && kc_event_get_summary (e) != NULL) {
    /* Opened by the answer: the first softphone to start says what flows. */
    KcFlowItem *start = &g_array_index (self->items, KcFlowItem,
                                        g_array_index (self->media, KcFlowMedia, info->band).first);

    if (strchr (start->label, ':') == NULL) {
      g_free (start->label);
      start->label = media_label (e);
    }
    return FALSE;
  }
  if (info->open && (kind == KC_EVENT_KIND_MEDIA_STOP || ended)) {
    info->open = FALSE;
    g_array_index (self->media, KcFlowMedia, info->band).last = self->items->len;
    item->kind = KC_FLOW_ITEM_MEDIA;
    item->label = g_strdup ("330 secure media ended");
    return TRUE;
  }
  if (kind == KC_EVENT_KIND_MEDIA_START || kind == KC_EVENT_KIND_MEDIA_STOP) {
    /* A relay anchoring the call before it is answered, or releasing it. */
    if (info->band >= 0)
      return FALSE;
    item->kind = KC_FLOW_ITEM_NOTE;
    item->label = note_label (e);
    return TRUE;
  }
  return FALSE;
}

/* Law-enforcement messages (FIG. 5): 514 from the LEA, the rest to it.
 * When both ends report one, the sender's event is the arrow. */
static gboolean
lea_item (KcFlowModel *self, GHashTable *reporting, KcEvent *e, KcFlowItem *item)
{
  const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e), *sender, *receiver;
  /* A tap request goes from the LEA; its answer (op=ok) and the rest come back. */
  gboolean from_lea = kc_event_get_kind (e) == KC_EVENT_KIND_TAP_REQUEST
                      && !has_attr (e, "op", "ok");

  item->failed = kc_event_get_kind (e) == KC_EVENT_KIND_TAP_REFUSED;
  item->label = note_label (e);
  if (peer == NULL) {
    item->kind = KC_FLOW_ITEM_NOTE;
    item->from = item->to = kc_flow_model_find_lane (self, lane);
    return TRUE;
  }
  sender = g_str_has_prefix (lane, "lea:") == from_lea ? lane : peer;
  receiver = sender == lane ? peer : lane;
  if (sender != lane && g_hash_table_contains (reporting, sender)) {
    g_clear_pointer (&item->label, g_free);
    return FALSE;
  }
  item->kind = KC_FLOW_ITEM_ARROW;
  item->from = kc_flow_model_find_lane (self, sender);
  item->to = kc_flow_model_find_lane (self, receiver);
  return TRUE;
}

static int
status_of (KcEvent *e)
{
  const char *msg = kc_event_get_message (e), *attr = kc_event_get_attr (e, "status");

  if (msg != NULL && g_str_has_prefix (msg, "SIP/2.0 "))
    return atoi (msg + strlen ("SIP/2.0 "));
  if (msg != NULL)
    return 0;
  return attr ? atoi (attr) : 0;
}

static guint
lane_or (KcFlowModel *self, const char *name, guint fallback)
{
  guint lane = kc_flow_model_find_lane (self, name);

  return lane != G_MAXUINT ? lane : fallback;
}

/* A band spans its call's two ends; without a CTA's log, the outermost
 * lanes its rows reach. */
static void
finish_bands (KcFlowModel *self, GHashTable *calls)
{
  for (guint i = 0; i < self->items->len; i++) {
    const KcFlowItem *item = &g_array_index (self->items, KcFlowItem, i);
    CallInfo *info = kc_event_get_call_id (item->event)
                     ? g_hash_table_lookup (calls, kc_event_get_call_id (item->event)) : NULL;

    if (info == NULL || info->band < 0 || item->kind == KC_FLOW_ITEM_MEDIA)
      continue;
    for (guint k = 0; k < 2; k++) {
      guint lane = k ? item->to : item->from;
      KcFlowRole role = kc_flow_model_get_lane_role (self, lane);

      if (role == KC_FLOW_ROLE_LEA || role == KC_FLOW_ROLE_GATEWAY)
        continue;
      info->lo = MIN (info->lo, lane);
      info->hi = MAX (info->hi, lane);
    }
  }
  for (guint b = 0; b < self->media->len; b++) {
    KcFlowMedia *band = &g_array_index (self->media, KcFlowMedia, b);
    CallInfo *info = g_hash_table_lookup (calls, band->call_id);
    guint lo = info->lo == G_MAXUINT ? 0 : info->lo, hi = info->lo == G_MAXUINT ? 0 : info->hi;

    band->from = lane_or (self, info->caller, lo);
    band->to = lane_or (self, info->callee, hi);
    band->packets[0] = info->packets[0];
    band->packets[1] = info->packets[1];
    band->lost = info->lost;
    for (guint k = 0; k < 2; k++) {
      guint index = k ? band->last : band->first;

      if (index < self->items->len) {
        KcFlowItem *item = &g_array_index (self->items, KcFlowItem, index);

        item->from = band->from;
        item->to = band->to;
      }
    }
  }
}

/* A step's words go on its first arrow in each call (318's INVITE, not
 * the 100 Trying that answers it); notes say what they are already. */
static const char *
step_words (GHashTable *worded, KcEvent *e, const KcFlowItem *item)
{
  const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e), *scope;
  int step = kc_event_get_fig3 (e);

  if (item->kind != KC_FLOW_ITEM_ARROW || kc_flow_fig3_words (step) == NULL)
    return NULL;
  /* Registrations have a Call-ID per request: one wording per CTA. */
  scope = step == 312 || step == 314 ? (is_cta (lane) ? lane : peer) : kc_event_get_call_id (e);
  if (!g_hash_table_add (worded, g_strdup_printf ("%s\x1f%d", scope ? scope : "", step)))
    return NULL;
  return kc_flow_fig3_words (step);
}

void
kc_flow_ladder_build (KcFlowModel *self)
{
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) reporting = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) pending_key = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) calls = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, call_info_free);
  g_autoptr(GHashTable) worded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *roles[4];
  gint64 previous = 0;

  g_ptr_array_set_size (self->lanes, 0);
  g_array_set_size (self->items, 0);
  g_array_set_size (self->media, 0);
  self->t0 = 0;

  for (guint i = 0; i < self->events->len; i++) {
    KcEvent *e = self->events->pdata[i];

    if (!kc_flow_model_passes (self, e))
      continue;
    if (self->t0 == 0)
      self->t0 = kc_event_get_time (e);
    add_lane (self->lanes, index, kc_event_get_lane (e));
    add_lane (self->lanes, index, kc_event_get_peer (e));
    if (kc_event_get_lane (e) != NULL)
      g_hash_table_add (reporting, (gpointer) kc_event_get_lane (e));
  }
  find_roles (self, &roles[0], &roles[1], &roles[2], &roles[3]);
  for (guint r = 0; r < G_N_ELEMENTS (roles); r++) {
    KcFlowLane *lane = roles[r] ? g_hash_table_lookup (index, roles[r]) : NULL;

    if (lane != NULL)
      lane->role = KC_FLOW_ROLE_CALLER + r;
  }
  g_ptr_array_sort (self->lanes, compare_lanes);
  first_pass_calls (self, calls);

  for (guint i = 0; i < self->events->len; i++) {
    KcEvent *e = self->events->pdata[i];
    const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e);
    KcEventKind kind = kc_event_get_kind (e);
    KcFlowItem item = { 0 };
    KcEvent *key;

    if (lane == NULL || !kc_flow_model_passes (self, e))
      continue;
    if (kind == KC_EVENT_KIND_KEY_SENT) {
      /* Reported just before the message that carries it (protocol.md). */
      g_hash_table_insert (pending_key, (gpointer) lane, e);
      continue;
    }
    if (kind == KC_EVENT_KIND_SIP_TX && peer != NULL) {
      item.kind = KC_FLOW_ITEM_ARROW;
      item.from = kc_flow_model_find_lane (self, lane);
      item.to = kc_flow_model_find_lane (self, peer);
      key = g_hash_table_lookup (pending_key, lane);
      if (key != NULL && g_strcmp0 (kc_event_get_peer (key), peer) == 0
          && kc_event_get_fig3 (key) == kc_event_get_fig3 (e)) {
        item.key_event = kc_event_ref (key);
        g_hash_table_remove (pending_key, lane);
      }
    } else if (kind == KC_EVENT_KIND_SIP_RX && peer != NULL
               && !g_hash_table_contains (reporting, peer)) {
      /* Every message is logged twice when both ends report; the sender's
       * line is the arrow. Without the sender's log, the receiver's is. */
      item.kind = KC_FLOW_ITEM_ARROW;
      item.from = kc_flow_model_find_lane (self, peer);
      item.to = kc_flow_model_find_lane (self, lane);
    } else if (is_note_kind (kind)) {
      item.kind = KC_FLOW_ITEM_NOTE;
      item.from = item.to = kc_flow_model_find_lane (self, lane);
      item.failed = kind == KC_EVENT_KIND_KEY_ACK_FAILED || kind == KC_EVENT_KIND_ERROR;
    } else if (is_lea_kind (kind)) {
      if (!lea_item (self, reporting, e, &item))
        continue;
      item.words = step_words (worded, e, &item);
      add_item (self, &item, e);
      continue;
    } else if (media_item (self, calls, e, &item)) {
      if (item.kind == KC_FLOW_ITEM_NOTE)
        item.from = item.to = kc_flow_model_find_lane (self, lane);
      add_item (self, &item, e);
      continue;
    } else {
      continue;
    }
    if (item.kind == KC_FLOW_ITEM_NOTE) {
      item.label = note_label (e);
    } else {
      g_autofree char *title = message_title (e);
      int step = kc_event_get_fig3 (e);

      item.label = g_strdup_printf ("%.0d%s%s%s", step, step ? " " : "", title,
                                    item.key_event ? " + K" : "");
      item.failed = status_of (e) >= 300;
    }
    item.words = step_words (worded, e, &item);
    add_item (self, &item, e);
  }
  finish_bands (self, calls);
  /* Times count from the first row, so a filtered diagram starts at 0. */
  if (self->items->len > 0)
    self->t0 = kc_event_get_time (g_array_index (self->items, KcFlowItem, 0).event);
  for (guint i = 0; i < self->items->len; i++) {
    KcFlowItem *item = &g_array_index (self->items, KcFlowItem, i);
    gint64 t = kc_event_get_time (item->event);

    item->delta_us = i > 0 ? t - previous : 0;
    previous = t;
  }
}
