/* kc-flow-model.c: events merged in time order, the filter, and the
 * getters of the ladder that kc-flow-ladder.c lays out from them.
 *
 * Lanes and items are derived data: every change marks them stale and the
 * next getter rebuilds them, so a socket streaming a thousand replayed
 * events costs one rebuild per redraw, not one per event.
 */
#define G_LOG_DOMAIN "kc-flow-model"

#include "config.h"

#include "kc-flow-model.h"
#include "kc-flow-model-private.h"

#include "kc-error.h"

#include <stdlib.h>
#include <string.h>

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];



G_DEFINE_TYPE (KcFlowModel, kc_flow_model, G_TYPE_OBJECT)


static void
lane_free (gpointer data)
{
  KcFlowLane *lane = data;

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
has_attr (KcEvent *e, const char *name, const char *value)
{
  return g_strcmp0 (kc_event_get_attr (e, name), value) == 0;
}


/* Call filter: the Call-ID and every leg that shares a key id with it (a
 * B2BUA leg with a Call-ID of its own still carries the call's key id).
 * Number filter: the calls in which cta:NUMBER takes part or that a tap
 * or CDR names it in. */
static void
compute_filter (KcFlowModel *self)
{
  g_autofree char *cta = self->number_filter ? g_strconcat ("cta:", self->number_filter, NULL) : NULL;

  g_clear_pointer (&self->call_set, g_hash_table_unref);
  g_clear_pointer (&self->number_set, g_hash_table_unref);

  if (self->call_filter != NULL) {
    g_autoptr(GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);

    self->call_set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_add (self->call_set, g_strdup (self->call_filter));
    for (guint i = 0; i < self->events->len; i++) {
      KcEvent *e = self->events->pdata[i];

      if (kc_event_get_key_id (e) && g_strcmp0 (kc_event_get_call_id (e), self->call_filter) == 0)
        g_hash_table_add (keys, (gpointer) kc_event_get_key_id (e));
    }
    for (guint i = 0; i < self->events->len; i++) {
      KcEvent *e = self->events->pdata[i];

      if (kc_event_get_key_id (e) && kc_event_get_call_id (e)
          && g_hash_table_contains (keys, kc_event_get_key_id (e)))
        g_hash_table_add (self->call_set, g_strdup (kc_event_get_call_id (e)));
    }
  }
  if (self->number_filter != NULL) {
    self->number_set = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 0; i < self->events->len; i++) {
      KcEvent *e = self->events->pdata[i];
      const char *call = kc_event_get_call_id (e);

      if (call != NULL
          && (g_strcmp0 (kc_event_get_lane (e), cta) == 0 || g_strcmp0 (kc_event_get_peer (e), cta) == 0
              || has_attr (e, "caller", self->number_filter)
              || has_attr (e, "callee", self->number_filter)
              || has_attr (e, "number", self->number_filter)))
        g_hash_table_add (self->number_set, (gpointer) call);
    }
  }
}

static gboolean
matches (KcFlowModel *self, KcEvent *e)
{
  const char *call = kc_event_get_call_id (e);

  if (self->call_set != NULL && (call == NULL || !g_hash_table_contains (self->call_set, call)))
    return FALSE;
  if (self->number_set != NULL) {
    g_autofree char *cta = g_strconcat ("cta:", self->number_filter, NULL);

    return g_strcmp0 (kc_event_get_lane (e), cta) == 0 || g_strcmp0 (kc_event_get_peer (e), cta) == 0
           || has_attr (e, "number", self->number_filter)
           || (call != NULL && g_hash_table_contains (self->number_set, call));
  }
  return TRUE;
}

gboolean
kc_flow_model_passes (KcFlowModel *self, KcEvent *e)
{
  return matches (self, e);
}

static void
rebuild (KcFlowModel *self)
{
  if (!self->stale)
    return;
  self->stale = FALSE;
  compute_filter (self);
  kc_flow_ladder_build (self);
}

static void
kc_flow_model_finalize (GObject *object)
{
  KcFlowModel *self = KC_FLOW_MODEL (object);

  g_ptr_array_unref (self->events);
  g_hash_table_unref (self->seen);
  g_ptr_array_unref (self->lanes);
  g_array_unref (self->items);
  g_array_unref (self->media);
  g_clear_pointer (&self->call_set, g_hash_table_unref);
  g_clear_pointer (&self->number_set, g_hash_table_unref);
  g_free (self->call_filter);
  g_free (self->number_filter);

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
  self->media = g_array_new (FALSE, TRUE, sizeof (KcFlowMedia));
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

  /* The same event can come twice (its log file and the live socket);
   * it then has the same time too. A process restarted under the same
   * name numbers from 1 again, and its events must not be taken for the
   * old run's: the time tells them apart, and older logs need no change. */
  if (kc_event_get_seq (event) != 0 && kc_event_get_process (event) != NULL) {
    char *key = g_strdup_printf ("%s\x1f%" G_GUINT64_FORMAT "\x1f%" G_GINT64_FORMAT,
                                 kc_event_get_process (event), kc_event_get_seq (event), t);

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
  rebuild (model);
  return model->t0;
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
  return ((KcFlowLane *) model->lanes->pdata[index])->name;
}

KcFlowRole
kc_flow_model_get_lane_role (KcFlowModel *model, guint index)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), KC_FLOW_ROLE_OTHER);
  rebuild (model);
  g_return_val_if_fail (index < model->lanes->len, KC_FLOW_ROLE_OTHER);
  return ((KcFlowLane *) model->lanes->pdata[index])->role;
}

guint
kc_flow_model_find_lane (KcFlowModel *model, const char *lane)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), G_MAXUINT);
  rebuild (model);
  for (guint i = 0; lane != NULL && i < model->lanes->len; i++)
    if (strcmp (((KcFlowLane *) model->lanes->pdata[i])->name, lane) == 0)
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

guint
kc_flow_model_get_n_media (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), 0);
  rebuild (model);
  return model->media->len;
}

const KcFlowMedia *
kc_flow_model_get_media (KcFlowModel *model, guint index)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  rebuild (model);
  g_return_val_if_fail (index < model->media->len, NULL);
  return &g_array_index (model->media, KcFlowMedia, index);
}

static char *
filter_value (const char *value)
{
  g_autofree char *stripped = value ? g_strstrip (g_strdup (value)) : NULL;

  return stripped && *stripped ? g_steal_pointer (&stripped) : NULL;
}

void
kc_flow_model_set_filter (KcFlowModel *model, const char *call_id, const char *number)
{
  g_autofree char *call = filter_value (call_id), *num = filter_value (number);

  g_return_if_fail (KC_IS_FLOW_MODEL (model));

  if (g_strcmp0 (call, model->call_filter) == 0 && g_strcmp0 (num, model->number_filter) == 0)
    return;
  g_free (model->call_filter);
  g_free (model->number_filter);
  model->call_filter = g_steal_pointer (&call);
  model->number_filter = g_steal_pointer (&num);
  model->stale = TRUE;
  g_signal_emit (model, signals[SIGNAL_CHANGED], 0);
}

const char *
kc_flow_model_get_call_filter (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  return model->call_filter;
}

const char *
kc_flow_model_get_number_filter (KcFlowModel *model)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);
  return model->number_filter;
}

gboolean
kc_flow_model_matches (KcFlowModel *model, KcEvent *event)
{
  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), FALSE);
  g_return_val_if_fail (event != NULL, FALSE);
  rebuild (model);
  return matches (model, event);
}

const char *
kc_flow_fig3_words (int step)
{
  switch (step) {
  case 310: return "controllers peer over mutual TLS";
  case 312:
  case 314: return "CTA registers";
  case 316: return "call request";
  case 318: return "key → destination controller";
  case 320: return "key → callee";
  case 322: return "key acknowledged by the callee";
  case 324: return "acknowledgment → source controller";
  case 326: return "key → caller";
  case 328: return "key acknowledged by the caller";
  case 330: return "answered: secure media";
  case 408: return "key created, sealed and stored";
  case 506: return "key → gateway";
  case 508: return "gateway acknowledges the key";
  case 512: return "law enforcement";
  case 514: return "tap request";
  case 516: return "key → law enforcement";
  default:  return NULL;
  }
}
