/* kc-flow-model.c: events merged in time order, and the ladder drawn from them.
 *
 * Lanes and items are derived data: every change marks them stale and the
 * next getter rebuilds them, so a socket streaming a thousand replayed
 * events costs one rebuild per redraw, not one per event.
 */
#define G_LOG_DOMAIN "kc-flow-model"

#include "config.h"

#include "kc-flow-model.h"

#include "kc-error.h"

#include <string.h>

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  char       *name;
  KcFlowRole  role;
  guint       first;   /* order of first appearance: ties within a role */
} Lane;

struct _KcFlowModel {
  GObject     parent_instance;

  GPtrArray  *events;     /* KcEvent, by ts_us */
  GHashTable *seen;       /* "proc\x1fseq" of every event with a seq */

  gboolean    stale;
  GPtrArray  *lanes;      /* Lane, left to right */
  GArray     *items;      /* KcFlowItem */
};

G_DEFINE_TYPE (KcFlowModel, kc_flow_model, G_TYPE_OBJECT)


static void
lane_free (gpointer data)
{
  Lane *lane = data;

  g_free (lane->name);
  g_free (lane);
}

static void
item_clear (gpointer data)
{
  KcFlowItem *item = data;

  g_clear_pointer (&item->event, kc_event_unref);
  g_clear_pointer (&item->key_event, kc_event_unref);
  g_clear_pointer (&item->label, g_free);
}

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
        || (kind != KC_EVENT_KIND_SIP_TX && kind != KC_EVENT_KIND_SIP_RX))
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
  Lane *lane;

  if (name == NULL || g_hash_table_contains (index, name))
    return;
  lane = g_new0 (Lane, 1);
  lane->name = g_strdup (name);
  lane->first = lanes->len;
  lane->role = role_from_prefix (name);
  g_ptr_array_add (lanes, lane);
  g_hash_table_insert (index, lane->name, lane);
}

static gint
compare_lanes (gconstpointer a, gconstpointer b)
{
  const Lane *x = *(const Lane **) a, *y = *(const Lane **) b;

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

static void
rebuild (KcFlowModel *self)
{
  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) reporting = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) pending_key = g_hash_table_new (g_str_hash, g_str_equal);
  const char *roles[4];

  if (!self->stale)
    return;
  self->stale = FALSE;
  g_ptr_array_set_size (self->lanes, 0);
  g_array_set_size (self->items, 0);

  for (guint i = 0; i < self->events->len; i++) {
    KcEvent *e = self->events->pdata[i];

    add_lane (self->lanes, index, kc_event_get_lane (e));
    add_lane (self->lanes, index, kc_event_get_peer (e));
    if (kc_event_get_lane (e) != NULL)
      g_hash_table_add (reporting, (gpointer) kc_event_get_lane (e));
  }
  find_roles (self, &roles[0], &roles[1], &roles[2], &roles[3]);
  for (guint r = 0; r < G_N_ELEMENTS (roles); r++) {
    Lane *lane = roles[r] ? g_hash_table_lookup (index, roles[r]) : NULL;

    if (lane != NULL)
      lane->role = KC_FLOW_ROLE_CALLER + r;
  }
  g_ptr_array_sort (self->lanes, compare_lanes);

  for (guint i = 0; i < self->events->len; i++) {
    KcEvent *e = self->events->pdata[i];
    const char *lane = kc_event_get_lane (e), *peer = kc_event_get_peer (e);
    KcEventKind kind = kc_event_get_kind (e);
    KcFlowItem item = { 0 };
    KcEvent *key;

    if (lane == NULL)
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
    } else {
      continue;
    }
    item.event = kc_event_ref (e);
    if (item.kind == KC_FLOW_ITEM_NOTE) {
      item.label = note_label (e);
    } else {
      g_autofree char *title = message_title (e);
      int step = kc_event_get_fig3 (e);

      item.label = g_strdup_printf ("%.0d%s%s%s", step, step ? " " : "", title,
                                    item.key_event ? " + K" : "");
    }
    g_array_append_val (self->items, item);
  }
}

static void
kc_flow_model_finalize (GObject *object)
{
  KcFlowModel *self = KC_FLOW_MODEL (object);

  g_ptr_array_unref (self->events);
  g_hash_table_unref (self->seen);
  g_ptr_array_unref (self->lanes);
  g_array_unref (self->items);

  G_OBJECT_CLASS (kc_flow_model_parent_class)->finalize (object);
}

static void
kc_flow_model_class_init (KcFlowModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = kc_flow_model_finalize;

  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kc_flow_model_init (KcFlowModel *self)
{
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_event_unref);
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->lanes = g_ptr_array_new_with_free_func (lane_free);
  self->items = g_array_new (FALSE, TRUE, sizeof (KcFlowItem));
  g_array_set_clear_func (self->items, item_clear);
}

KcFlowModel *
kc_flow_model_new (void)
{
  return g_object_new (KC_TYPE_FLOW_MODEL, NULL);
}

static gboolean
insert_event (KcFlowModel *self, KcEvent *event)
{
  gint64 t = kc_event_get_time (event);
  guint lo = 0, hi = self->events->len;

  g_return_val_if_fail (event != NULL, FALSE);

  if (kc_event_get_seq (event) != 0 && kc_event_get_process (event) != NULL) {
    char *key = g_strdup_printf ("%s\x1f%" G_GUINT64_FORMAT, kc_event_get_process (event),
                                 kc_event_get_seq (event));

    if (!g_hash_table_add (self->seen, key))
      return FALSE;
  }
  /* After every event of the same time: streams arrive mostly in order,
   * and one process's equal times keep their seq order. */
  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;

    if (kc_event_get_time (self->events->pdata[mid]) <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  g_ptr_array_insert (self->events, lo, kc_event_ref (event));
  self->stale = TRUE;
  return TRUE;
}

gboolean
kc_flow_model_add_event (KcFlowModel *model, KcEvent *event)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), FALSE);
  g_return_val_if_fail (event != NULL, FALSE);

  if (!insert_event (model, event))
    return FALSE;
  g_signal_emit (model, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

gboolean
kc_flow_model_load_file (KcFlowModel *model, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *first_bad = NULL;
  guint n_bad = 0, n_added = 0, line_no = 0;
  gsize len;
  char *line, *end;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!g_file_get_contents (path, &data, &len, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot read the event log %s: %s",
                 path, local->message);
    return FALSE;
  }
  for (line = data; line < data + len; line = end + 1) {
    g_autoptr(KcEvent) event = NULL;
    g_autoptr(GError) bad = NULL;

    end = memchr (line, '\n', data + len - line);
    if (end == NULL)
      end = data + len;
    line_no++;
    if (end == line || (end == line + 1 && *line == '\r'))
      continue;
    event = kc_event_from_json (line, end - line, &bad);
    if (event == NULL) {
      if (n_bad++ == 0)
        first_bad = g_strdup_printf ("line %u: %s", line_no, bad->message);
      continue;
    }
    n_added += insert_event (model, event);
  }
  if (n_added > 0)
    g_signal_emit (model, signals[SIGNAL_CHANGED], 0);
  if (n_bad > 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s is not a clean event log (%u bad line%s skipped; %s)",
                 path, n_bad, n_bad == 1 ? "" : "s", first_bad);
    return FALSE;
  }
  return TRUE;
}

void
kc_flow_model_clear (KcFlowModel *model)
{
  g_return_if_fail (KC_IS_FLOW_MODEL (model));

  g_ptr_array_set_size (model->events, 0);
  g_hash_table_remove_all (model->seen);
  model->stale = TRUE;
  g_signal_emit (model, signals[SIGNAL_CHANGED], 0);
}

static void
on_bus_event (KcEvent *event, gpointer user_data)
{
  kc_flow_model_add_event (user_data, event);
}

guint
kc_flow_model_attach_bus (KcFlowModel *model, KcEventBus *bus)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), 0);
  g_return_val_if_fail (bus != NULL, 0);

  return kc_event_bus_add_listener (bus, on_bus_event, g_object_ref (model), g_object_unref);
}

guint
kc_flow_model_get_n_events (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), 0);
  return model->events->len;
}

KcEvent *
kc_flow_model_get_event (KcFlowModel *model, guint index)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  g_return_val_if_fail (index < model->events->len, NULL);
  return model->events->pdata[index];
}

gint64
kc_flow_model_get_start_time (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), 0);
  return model->events->len ? kc_event_get_time (model->events->pdata[0]) : 0;
}

guint
kc_flow_model_get_n_lanes (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), 0);
  rebuild (model);
  return model->lanes->len;
}

const char *
kc_flow_model_get_lane (KcFlowModel *model, guint index)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  rebuild (model);
  g_return_val_if_fail (index < model->lanes->len, NULL);
  return ((Lane *) model->lanes->pdata[index])->name;
}

KcFlowRole
kc_flow_model_get_lane_role (KcFlowModel *model, guint index)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), KC_FLOW_ROLE_OTHER);
  rebuild (model);
  g_return_val_if_fail (index < model->lanes->len, KC_FLOW_ROLE_OTHER);
  return ((Lane *) model->lanes->pdata[index])->role;
}

guint
kc_flow_model_find_lane (KcFlowModel *model, const char *lane)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), G_MAXUINT);
  rebuild (model);
  for (guint i = 0; lane != NULL && i < model->lanes->len; i++)
    if (strcmp (((Lane *) model->lanes->pdata[i])->name, lane) == 0)
      return i;
  return G_MAXUINT;
}

guint
kc_flow_model_get_n_items (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), 0);
  rebuild (model);
  return model->items->len;
}

const KcFlowItem *
kc_flow_model_get_item (KcFlowModel *model, guint index)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  rebuild (model);
  g_return_val_if_fail (index < model->items->len, NULL);
  return &g_array_index (model->items, KcFlowItem, index);
}

const char *
kc_flow_role_to_string (KcFlowRole role)
{
  switch (role) {
  case KC_FLOW_ROLE_CALLER:      return "caller";
  case KC_FLOW_ROLE_SOURCE:      return "source controller";
  case KC_FLOW_ROLE_DESTINATION: return "destination controller";
  case KC_FLOW_ROLE_CALLEE:      return "callee";
  case KC_FLOW_ROLE_LEA:         return "law enforcement";
  case KC_FLOW_ROLE_GATEWAY:     return "gateway";
  case KC_FLOW_ROLE_CONTROLLER:
  case KC_FLOW_ROLE_CTA:
  case KC_FLOW_ROLE_OTHER:
  default:
    return NULL;
  }
}
