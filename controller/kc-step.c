/* kc-step.c: the step gate (kc-step.h). A FIFO of closures: each held
 * message is a function that sends it and one that frees it unsent, so the
 * gate knows nothing of sofia-sip and a unit test can drive it. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-step.h"

#include "kc-controller.h"
#include "kc-error.h"

typedef struct {
  gpointer    owner;
  char       *call_id;
  int         fig3;
  char       *peer;
  char       *what;
  KcStepFunc  send;
  KcStepFunc  drop;
  gpointer    data;
} Held;

struct _KcStepGate {
  gboolean      step;
  guint         delay_ms;
  GQueue        held;        /* Held*, oldest first */
  guint         timer;       /* slow motion: until the head goes */
  KcStepNotify  notify;
  gpointer      notify_data;
};

static void
held_free (Held *h)
{
  g_free (h->call_id);
  g_free (h->peer);
  g_free (h->what);
  g_free (h);
}

static void
notify (KcStepGate *gate, KcEventKind kind, Held *h, gboolean dropped)
{
  if (gate->notify != NULL)
    gate->notify (gate, kind, h ? h->call_id : NULL, h ? h->fig3 : 0, h ? h->peer : NULL,
                  h ? h->what : NULL, dropped, gate->notify_data);
}

static void schedule (KcStepGate *gate);

/* The release is reported before the message goes, so a ladder shows the
 * gate open before the arrow. @send may submit or drop again. */
static void
release_head (KcStepGate *gate)
{
  Held *h = g_queue_pop_head (&gate->held);

  if (h == NULL)
    return;
  notify (gate, KC_EVENT_KIND_STEP_RELEASE, h, FALSE);
  h->send (h->data);
  held_free (h);
}

static gboolean
on_timer (gpointer data)
{
  KcStepGate *gate = data;

  gate->timer = 0;
  if (!gate->step)
    release_head (gate);
  schedule (gate);
  return G_SOURCE_REMOVE;
}

/* Slow motion: the head goes delay_ms after it became the head (or after
 * the mode changed). Outside slow motion nothing is scheduled. */
static void
schedule (KcStepGate *gate)
{
  if (gate->step || gate->delay_ms == 0 || g_queue_is_empty (&gate->held)) {
    g_clear_handle_id (&gate->timer, g_source_remove);
    return;
  }
  if (gate->timer == 0)
    gate->timer = g_timeout_add (gate->delay_ms, on_timer, gate);
}

static void
flush (KcStepGate *gate)
{
  while (!gate->step && gate->delay_ms == 0 && !g_queue_is_empty (&gate->held))
    release_head (gate);
}

KcStepGate *
kc_step_gate_new (KcStepNotify notify_func, gpointer user_data)
{
  KcStepGate *gate = g_new0 (KcStepGate, 1);

  g_queue_init (&gate->held);
  gate->notify = notify_func;
  gate->notify_data = user_data;
  return gate;
}

void
kc_step_gate_free (KcStepGate *gate)
{
  Held *h;

  if (gate == NULL)
    return;
  g_clear_handle_id (&gate->timer, g_source_remove);
  gate->notify = NULL;
  while ((h = g_queue_pop_head (&gate->held)) != NULL) {
    h->drop (h->data);
    held_free (h);
  }
  g_free (gate);
}

void
kc_step_gate_set_step (KcStepGate *gate, gboolean on)
{
  g_return_if_fail (gate != NULL);

  on = !!on;
  if (gate->step == on)
    return;
  gate->step = on;
  g_message ("Step mode %s", on ? "on: each message waits for Next" : "off");
  notify (gate, KC_EVENT_KIND_LOG, NULL, FALSE);
  g_clear_handle_id (&gate->timer, g_source_remove);
  flush (gate);
  schedule (gate);
}

gboolean
kc_step_gate_get_step (KcStepGate *gate)
{
  return gate->step;
}

gboolean
kc_step_gate_set_delay (KcStepGate *gate, guint delay_ms, GError **error)
{
  g_return_val_if_fail (gate != NULL, FALSE);

  if (delay_ms > KC_STEP_DELAY_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A slow-motion delay of %u ms is too long: at most %d ms", delay_ms,
                 KC_STEP_DELAY_MAX);
    return FALSE;
  }
  if (gate->delay_ms == delay_ms)
    return TRUE;
  gate->delay_ms = delay_ms;
  g_message ("Slow motion %s%u ms", delay_ms ? "" : "off, was ", delay_ms);
  notify (gate, KC_EVENT_KIND_LOG, NULL, FALSE);
  g_clear_handle_id (&gate->timer, g_source_remove);
  flush (gate);
  schedule (gate);
  return TRUE;
}

guint
kc_step_gate_get_delay (KcStepGate *gate)
{
  return gate->delay_ms;
}

gboolean
kc_step_gate_is_active (KcStepGate *gate)
{
  return gate != NULL && (gate->step || gate->delay_ms > 0 || !g_queue_is_empty (&gate->held));
}

gboolean
kc_step_gate_next (KcStepGate *gate)
{
  g_return_val_if_fail (gate != NULL, FALSE);

  if (g_queue_is_empty (&gate->held))
    return FALSE;
  g_clear_handle_id (&gate->timer, g_source_remove);
  release_head (gate);
  schedule (gate);
  return TRUE;
}

guint
kc_step_gate_get_n_held (KcStepGate *gate)
{
  return gate->held.length;
}

const char *
kc_step_gate_peek (KcStepGate *gate)
{
  Held *h = g_queue_peek_head (&gate->held);

  return h ? h->what : NULL;
}

void
kc_step_gate_submit (KcStepGate *gate, gpointer owner, const char *call_id, int fig3,
                     const char *peer, const char *what, KcStepFunc send, KcStepFunc drop,
                     gpointer data)
{
  Held *h;

  g_return_if_fail (gate != NULL && send != NULL && drop != NULL);

  /* Nothing may overtake a held message, even once the gate is off. */
  if (!gate->step && gate->delay_ms == 0 && g_queue_is_empty (&gate->held)) {
    send (data);
    return;
  }
  h = g_new0 (Held, 1);
  h->owner = owner;
  h->call_id = g_strdup (call_id);
  h->fig3 = fig3;
  h->peer = g_strdup (peer);
  h->what = g_strdup (what);
  h->send = send;
  h->drop = drop;
  h->data = data;
  g_queue_push_tail (&gate->held, h);
  notify (gate, KC_EVENT_KIND_STEP_HOLD, h, FALSE);
  schedule (gate);
}

guint
kc_step_gate_drop_owner (KcStepGate *gate, gpointer owner)
{
  gboolean head_gone = FALSE;
  guint n = 0;
  GList *l, *next;

  g_return_val_if_fail (gate != NULL, 0);

  for (l = gate->held.head; l != NULL; l = next) {
    Held *h = l->data;

    next = l->next;
    if (h->owner != owner)
      continue;
    head_gone = head_gone || l == gate->held.head;
    g_queue_delete_link (&gate->held, l);
    n++;
    notify (gate, KC_EVENT_KIND_STEP_RELEASE, h, TRUE);
    h->drop (h->data);
    held_free (h);
  }
  if (head_gone) {
    /* The next message waits its own full delay. */
    g_clear_handle_id (&gate->timer, g_source_remove);
    schedule (gate);
  }
  return n;
}

guint
kc_step_gate_count_owner (KcStepGate *gate, gpointer owner)
{
  guint n = 0;

  for (GList *l = gate->held.head; l != NULL; l = l->next)
    n += ((Held *) l->data)->owner == owner;
  return n;
}

static gboolean
member (JsonObject *command, const char *name, GType type, GError **error)
{
  JsonNode *node = json_object_get_member (command, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The command needs %s \"%s\"",
                 type == G_TYPE_BOOLEAN ? "a boolean" : "an integer", name);
    return FALSE;
  }
  return TRUE;
}

gboolean
kc_step_gate_command (KcStepGate *gate, JsonObject *command, GError **error)
{
  const char *op;

  g_return_val_if_fail (gate != NULL && command != NULL, FALSE);

  op = json_object_get_string_member_with_default (command, "op", "");
  if (g_str_equal (op, "step")) {
    if (!member (command, "on", G_TYPE_BOOLEAN, error))
      return FALSE;
    kc_step_gate_set_step (gate, json_object_get_boolean_member (command, "on"));
    return TRUE;
  }
  if (g_str_equal (op, "next")) {
    if (!kc_step_gate_next (gate)) {
      g_set_error_literal (error, KC_ERROR, KC_ERROR_INVALID, "Nothing is held: no message "
                           "waits for Next");
      return FALSE;
    }
    return TRUE;
  }
  if (g_str_equal (op, "slow")) {
    gint64 ms;

    if (!member (command, "delay_ms", G_TYPE_INT64, error))
      return FALSE;
    ms = json_object_get_int_member (command, "delay_ms");
    if (ms < 0 || ms > KC_STEP_DELAY_MAX) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "\"delay_ms\" must be 0 (off) to %d, not %" G_GINT64_FORMAT,
                   KC_STEP_DELAY_MAX, ms);
      return FALSE;
    }
    return kc_step_gate_set_delay (gate, (guint) ms, error);
  }
  g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "Unknown command \"%s\": the window "
               "socket takes step, next and slow", op);
  return FALSE;
}

/* The window learns from these what is held and what Next sends. */
void
kc_step_notify_controller (KcStepGate *gate, KcEventKind kind, const char *call_id, int fig3,
                const char *peer, const char *what, gboolean dropped, gpointer user_data)
{
  KcController *self = user_data;
  KcEvent *event = kc_controller_event (self, kind, fig3, call_id, peer);
  const char *next = kc_step_gate_peek (gate);

  kc_event_set_attr (event, "step", kc_step_gate_get_step (gate) ? "on" : "off");
  kc_event_set_attr_int (event, "delay_ms", kc_step_gate_get_delay (gate));
  kc_event_set_attr_int (event, "held", kc_step_gate_get_n_held (gate));
  kc_event_set_attr (event, "next", next);
  kc_event_set_attr (event, "what", what);
  if (dropped)
    kc_event_set_attr (event, "dropped", "true");
  if (kind == KC_EVENT_KIND_STEP_HOLD)
    kc_event_set_summary_printf (event, "held: %s", what);
  else if (kind == KC_EVENT_KIND_STEP_RELEASE)
    kc_event_set_summary_printf (event, dropped ? "dropped unsent (the call ended): %s"
                                                : "released: %s", what);
  else if (kc_step_gate_get_step (gate))
    kc_event_set_summary (event, "step mode on: each message waits for Next");
  else if (kc_step_gate_get_delay (gate) > 0)
    kc_event_set_summary_printf (event, "slow motion: each message waits %u ms",
                                 kc_step_gate_get_delay (gate));
  else
    kc_event_set_summary (event, "step mode and slow motion off");
  kc_controller_emit (self, event);
}
