/* kc-flow-replay.c: events fed to the model on a virtual clock.
 *
 * The clock is anchored (wall time, log time) at each play or speed
 * change; every tick adds all events due by then, so a slow main loop
 * catches up instead of drifting, and a gap of minutes at 1× is one timer.
 */
#define G_LOG_DOMAIN "kc-flow-replay"

#include "config.h"

#include "kc-flow-replay.h"

enum {
  SIGNAL_PROGRESS,
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

struct _KcFlowReplay {
  GObject      parent_instance;

  KcFlowModel *model;
  GPtrArray   *events;      /* KcEvent, in time order */
  guint        position;    /* the next event to add */
  double       speed;
  guint        timer_id;
  gint64       anchor_wall; /* monotonic µs */
  gint64       anchor_log;  /* log µs at anchor_wall */
};

G_DEFINE_TYPE (KcFlowReplay, kc_flow_replay, G_TYPE_OBJECT)

static void schedule (KcFlowReplay *self);


static gint64
log_now (KcFlowReplay *self)
{
  return self->anchor_log + (gint64) ((g_get_monotonic_time () - self->anchor_wall) * self->speed);
}

static void
anchor (KcFlowReplay *self)
{
  gint64 log = self->timer_id ? log_now (self)
               : self->position > 0 ? kc_event_get_time (self->events->pdata[self->position - 1])
               : self->position < self->events->len ? kc_event_get_time (self->events->pdata[0]) : 0;

  self->anchor_wall = g_get_monotonic_time ();
  self->anchor_log = log;
}

static void
add_next (KcFlowReplay *self)
{
  kc_flow_model_add_event (self->model, self->events->pdata[self->position++]);
}

static gboolean
on_tick (gpointer user_data)
{
  KcFlowReplay *self = user_data;
  gint64 now = log_now (self);
  guint before = self->position;

  self->timer_id = 0;
  while (self->position < self->events->len
         && kc_event_get_time (self->events->pdata[self->position]) <= now)
    add_next (self);
  /* Scheduled first: "progress" handlers see it still playing. */
  schedule (self);
  if (self->position != before)
    g_signal_emit (self, signals[SIGNAL_PROGRESS], 0);
  if (self->position >= self->events->len)
    g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
  return G_SOURCE_REMOVE;
}

static void
schedule (KcFlowReplay *self)
{
  gint64 due, wait_ms;

  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->position >= self->events->len)
    return;
  due = kc_event_get_time (self->events->pdata[self->position]);
  wait_ms = (gint64) ((due - log_now (self)) / self->speed / 1000.0);
  self->timer_id = g_timeout_add ((guint) CLAMP (wait_ms, 0, G_MAXINT), on_tick, self);
}

static void
kc_flow_replay_dispose (GObject *object)
{
  KcFlowReplay *self = KC_FLOW_REPLAY (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_clear_object (&self->model);
  g_clear_pointer (&self->events, g_ptr_array_unref);

  G_OBJECT_CLASS (kc_flow_replay_parent_class)->dispose (object);
}

static void
kc_flow_replay_class_init (KcFlowReplayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_flow_replay_dispose;

  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
kc_flow_replay_init (KcFlowReplay *self)
{
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_event_unref);
  self->speed = 1.0;
}

KcFlowReplay *
kc_flow_replay_new (KcFlowModel *model)
{
  KcFlowReplay *self;

  g_return_val_if_fail (KC_IS_FLOW_MODEL (model), NULL);

  self = g_object_new (KC_TYPE_FLOW_REPLAY, NULL);
  self->model = g_object_ref (model);
  return self;
}

gboolean
kc_flow_replay_load (KcFlowReplay *replay, char **paths, GError **error)
{
  g_autoptr(KcFlowModel) logs = kc_flow_model_new ();
  gboolean ok = TRUE;

  g_return_val_if_fail (KC_IS_FLOW_REPLAY (replay), FALSE);
  g_return_val_if_fail (paths != NULL, FALSE);

  for (guint i = 0; paths[i] != NULL; i++) {
    g_autoptr(GError) local = NULL;

    if (!kc_flow_model_load_file (logs, paths[i], &local) && ok) {
      ok = FALSE;
      g_propagate_error (error, g_steal_pointer (&local));
    }
  }
  g_ptr_array_set_size (replay->events, 0);
  for (guint i = 0; i < kc_flow_model_get_n_events (logs); i++)
    g_ptr_array_add (replay->events, kc_event_ref (kc_flow_model_get_event (logs, i)));
  kc_flow_replay_restart (replay);
  return ok;
}

void
kc_flow_replay_set_speed (KcFlowReplay *replay, double speed)
{
  g_return_if_fail (KC_IS_FLOW_REPLAY (replay));

  anchor (replay);
  replay->speed = CLAMP (speed, KC_FLOW_REPLAY_SPEED_MIN, KC_FLOW_REPLAY_SPEED_MAX);
  if (replay->timer_id != 0)
    schedule (replay);
}

double
kc_flow_replay_get_speed (KcFlowReplay *replay)
{
  g_return_val_if_fail (KC_IS_FLOW_REPLAY (replay), 1.0);
  return replay->speed;
}

void
kc_flow_replay_play (KcFlowReplay *replay)
{
  g_return_if_fail (KC_IS_FLOW_REPLAY (replay));

  if (replay->timer_id != 0 || replay->position >= replay->events->len)
    return;
  anchor (replay);
  schedule (replay);
  g_signal_emit (replay, signals[SIGNAL_PROGRESS], 0);
}

void
kc_flow_replay_pause (KcFlowReplay *replay)
{
  g_return_if_fail (KC_IS_FLOW_REPLAY (replay));

  g_clear_handle_id (&replay->timer_id, g_source_remove);
  g_signal_emit (replay, signals[SIGNAL_PROGRESS], 0);
}

gboolean
kc_flow_replay_is_playing (KcFlowReplay *replay)
{
  g_return_val_if_fail (KC_IS_FLOW_REPLAY (replay), FALSE);
  return replay->timer_id != 0;
}

gboolean
kc_flow_replay_step (KcFlowReplay *replay)
{
  gboolean playing;

  g_return_val_if_fail (KC_IS_FLOW_REPLAY (replay), FALSE);

  if (replay->position >= replay->events->len)
    return FALSE;
  playing = replay->timer_id != 0;
  add_next (replay);
  if (playing) {
    g_clear_handle_id (&replay->timer_id, g_source_remove);
    anchor (replay);
    schedule (replay);
  }
  g_signal_emit (replay, signals[SIGNAL_PROGRESS], 0);
  if (replay->position >= replay->events->len)
    g_signal_emit (replay, signals[SIGNAL_FINISHED], 0);
  return TRUE;
}

void
kc_flow_replay_restart (KcFlowReplay *replay)
{
  g_return_if_fail (KC_IS_FLOW_REPLAY (replay));

  g_clear_handle_id (&replay->timer_id, g_source_remove);
  replay->position = 0;
  kc_flow_model_clear (replay->model);
  g_signal_emit (replay, signals[SIGNAL_PROGRESS], 0);
}

guint
kc_flow_replay_get_position (KcFlowReplay *replay)
{
  g_return_val_if_fail (KC_IS_FLOW_REPLAY (replay), 0);
  return replay->position;
}

guint
kc_flow_replay_get_n_events (KcFlowReplay *replay)
{
  g_return_val_if_fail (KC_IS_FLOW_REPLAY (replay), 0);
  return replay->events->len;
}
