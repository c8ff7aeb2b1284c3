/* test-step.c: the controller's step gate (controller/kc-step.c): off it
 * sends at once; in step mode it holds each message until Next, in order;
 * a call that ends while held has its messages freed and never sent; slow
 * motion sends them by itself; the window socket's commands are strict. */
#include "config.h"

#include "kc-test.h"

#include "kc-error.h"
#include "kc-step.h"

typedef struct {
  GString *log;      /* "s1 d2 …": sent or dropped, by message number */
  GString *events;   /* "H1 R1 r2 L …": hold, release, dropped release, mode */
} Trace;

typedef struct {
  Trace *trace;
  int    n;
  KcStepGate *resubmit;   /* when sent, submit message n + 100 through it */
} Msg;

static void msg_send (gpointer data);
static void msg_drop (gpointer data);

static Msg *
msg_new (Trace *trace, int n)
{
  Msg *m = g_new0 (Msg, 1);

  m->trace = trace;
  m->n = n;
  return m;
}

static void
submit (KcStepGate *gate, gpointer owner, Trace *trace, int n)
{
  g_autofree char *what = g_strdup_printf ("message %d", n);

  kc_step_gate_submit (gate, owner, "call", 318, "controller:gc2", what, msg_send, msg_drop,
                       msg_new (trace, n));
}

static void
msg_send (gpointer data)
{
  Msg *m = data;

  g_string_append_printf (m->trace->log, "s%d ", m->n);
  if (m->resubmit != NULL)
    submit (m->resubmit, NULL, m->trace, m->n + 100);
  g_free (m);
}

static void
msg_drop (gpointer data)
{
  Msg *m = data;

  g_string_append_printf (m->trace->log, "d%d ", m->n);
  g_free (m);
}

static void
on_notify (KcStepGate *gate, KcEventKind kind, const char *call_id, int fig3, const char *peer,
           const char *what, gboolean dropped, gpointer user_data)
{
  Trace *trace = user_data;
  int n = what ? atoi (what + strlen ("message ")) : 0;

  if (kind == KC_EVENT_KIND_STEP_HOLD)
    g_string_append_printf (trace->events, "H%d ", n);
  else if (kind == KC_EVENT_KIND_STEP_RELEASE)
    g_string_append_printf (trace->events, "%c%d ", dropped ? 'r' : 'R', n);
  else
    g_string_append (trace->events, "L ");
}

static Trace *
trace_new (void)
{
  Trace *t = g_new0 (Trace, 1);

  t->log = g_string_new (NULL);
  t->events = g_string_new (NULL);
  return t;
}

static void
trace_free (Trace *t)
{
  g_string_free (t->log, TRUE);
  g_string_free (t->events, TRUE);
  g_free (t);
}

START_TEST (test_off_sends_at_once)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);

  ck_assert (!kc_step_gate_is_active (gate));
  submit (gate, NULL, t, 1);
  ck_assert_str_eq (t->log->str, "s1 ");
  ck_assert_str_eq (t->events->str, "");
  ck_assert_uint_eq (kc_step_gate_get_n_held (gate), 0);
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

START_TEST (test_step_holds_until_next_in_order)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);

  kc_step_gate_set_step (gate, TRUE);
  ck_assert (kc_step_gate_is_active (gate));
  submit (gate, NULL, t, 1);
  submit (gate, NULL, t, 2);
  submit (gate, NULL, t, 3);
  ck_assert_str_eq (t->log->str, "");
  ck_assert_uint_eq (kc_step_gate_get_n_held (gate), 3);
  ck_assert_str_eq (kc_step_gate_peek (gate), "message 1");
  ck_assert (kc_step_gate_next (gate));
  ck_assert_str_eq (t->log->str, "s1 ");
  ck_assert_str_eq (kc_step_gate_peek (gate), "message 2");
  ck_assert (kc_step_gate_next (gate));
  ck_assert (kc_step_gate_next (gate));
  ck_assert (!kc_step_gate_next (gate));
  ck_assert_str_eq (t->log->str, "s1 s2 s3 ");
  ck_assert_str_eq (t->events->str, "L H1 H2 H3 R1 R2 R3 ");
  ck_assert_ptr_null (kc_step_gate_peek (gate));
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

/* What a message's sending sets off (the next response) waits its turn. */
START_TEST (test_send_that_submits_is_held_again)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);
  Msg *m = msg_new (t, 1);

  kc_step_gate_set_step (gate, TRUE);
  m->resubmit = gate;
  kc_step_gate_submit (gate, NULL, "call", 0, NULL, "message 1", msg_send, msg_drop, m);
  ck_assert (kc_step_gate_next (gate));
  ck_assert_str_eq (t->log->str, "s1 ");
  ck_assert_uint_eq (kc_step_gate_get_n_held (gate), 1);
  ck_assert (kc_step_gate_next (gate));
  ck_assert_str_eq (t->log->str, "s1 s101 ");
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

/* A call that ends while held (the caller cancels, the peer vanishes):
 * its messages are freed, never sent, and the other call's still go. */
START_TEST (test_call_ending_while_held_drops_its_messages)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);
  int call_a, call_b;

  kc_step_gate_set_step (gate, TRUE);
  submit (gate, &call_a, t, 1);
  submit (gate, &call_b, t, 2);
  submit (gate, &call_a, t, 3);
  ck_assert_uint_eq (kc_step_gate_count_owner (gate, &call_a), 2);
  ck_assert_uint_eq (kc_step_gate_drop_owner (gate, &call_a), 2);
  ck_assert_str_eq (t->log->str, "d1 d3 ");
  ck_assert_uint_eq (kc_step_gate_get_n_held (gate), 1);
  ck_assert_str_eq (kc_step_gate_peek (gate), "message 2");
  ck_assert (kc_step_gate_next (gate));
  ck_assert (!kc_step_gate_next (gate));
  ck_assert_str_eq (t->log->str, "d1 d3 s2 ");
  ck_assert_str_eq (t->events->str, "L H1 H2 H3 r1 r3 R2 ");
  ck_assert_uint_eq (kc_step_gate_drop_owner (gate, &call_a), 0);
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

START_TEST (test_free_drops_what_is_held)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);

  kc_step_gate_set_step (gate, TRUE);
  submit (gate, NULL, t, 1);
  submit (gate, NULL, t, 2);
  kc_step_gate_free (gate);
  ck_assert_str_eq (t->log->str, "d1 d2 ");
  trace_free (t);
}
END_TEST

START_TEST (test_step_off_releases_in_order)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);

  kc_step_gate_set_step (gate, TRUE);
  submit (gate, NULL, t, 1);
  submit (gate, NULL, t, 2);
  kc_step_gate_set_step (gate, FALSE);
  ck_assert_str_eq (t->log->str, "s1 s2 ");
  ck_assert (!kc_step_gate_is_active (gate));
  submit (gate, NULL, t, 3);
  ck_assert_str_eq (t->log->str, "s1 s2 s3 ");
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

static gboolean
on_give_up (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Slow motion holds each message, then sends it by itself, in order. */
START_TEST (test_slow_motion_sends_by_itself)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);
  g_autoptr(GError) error = NULL;
  gboolean late = FALSE;
  guint id;

  ck_assert (kc_step_gate_set_delay (gate, 30, &error));
  submit (gate, NULL, t, 1);
  submit (gate, NULL, t, 2);
  ck_assert_str_eq (t->log->str, "");
  ck_assert (kc_step_gate_is_active (gate));
  id = g_timeout_add_seconds (10, on_give_up, &late);
  while (kc_step_gate_get_n_held (gate) > 0 && !late)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (!late);
  g_source_remove (id);
  ck_assert_str_eq (t->log->str, "s1 s2 ");
  ck_assert (!kc_step_gate_set_delay (gate, KC_STEP_DELAY_MAX + 1, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

static gboolean
command (KcStepGate *gate, const char *json, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  ck_assert (json_parser_load_from_data (parser, json, -1, NULL));
  return kc_step_gate_command (gate, json_node_get_object (json_parser_get_root (parser)), error);
}

START_TEST (test_commands)
{
  Trace *t = trace_new ();
  KcStepGate *gate = kc_step_gate_new (on_notify, t);
  const char *bad[] = {
    "{\"v\":1,\"op\":\"step\"}", "{\"v\":1,\"op\":\"step\",\"on\":1}",
    "{\"v\":1,\"op\":\"step\",\"on\":\"true\"}", "{\"v\":1,\"op\":\"slow\",\"delay_ms\":-1}",
    "{\"v\":1,\"op\":\"slow\",\"delay_ms\":60001}", "{\"v\":1,\"op\":\"slow\",\"delay_ms\":1.5}",
    "{\"v\":1,\"op\":\"next\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;

    ck_assert_msg (!command (gate, bad[i], &error), "accepted %s", bad[i]);
    ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID), "%s", bad[i]);
  }
  {
    g_autoptr(GError) error = NULL;

    ck_assert (!command (gate, "{\"v\":1,\"op\":\"reveal\"}", &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_UNSUPPORTED));
  }
  ck_assert (!kc_step_gate_get_step (gate));
  ck_assert_uint_eq (kc_step_gate_get_delay (gate), 0);
  ck_assert (command (gate, "{\"v\":1,\"op\":\"step\",\"on\":true}", NULL));
  ck_assert (kc_step_gate_get_step (gate));
  submit (gate, NULL, t, 1);
  ck_assert (command (gate, "{\"v\":1,\"op\":\"next\"}", NULL));
  ck_assert_str_eq (t->log->str, "s1 ");
  ck_assert (command (gate, "{\"v\":1,\"op\":\"slow\",\"delay_ms\":250}", NULL));
  ck_assert_uint_eq (kc_step_gate_get_delay (gate), 250);
  ck_assert (command (gate, "{\"v\":1,\"op\":\"step\",\"on\":false}", NULL));
  ck_assert (command (gate, "{\"v\":1,\"op\":\"slow\",\"delay_ms\":0}", NULL));
  ck_assert (!kc_step_gate_is_active (gate));
  kc_step_gate_free (gate);
  trace_free (t);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("step");
  TCase *tc = tcase_create ("gate");

  tcase_add_test (tc, test_off_sends_at_once);
  tcase_add_test (tc, test_step_holds_until_next_in_order);
  tcase_add_test (tc, test_send_that_submits_is_held_again);
  tcase_add_test (tc, test_call_ending_while_held_drops_its_messages);
  tcase_add_test (tc, test_free_drops_what_is_held);
  tcase_add_test (tc, test_step_off_releases_in_order);
  tcase_add_test (tc, test_slow_motion_sends_by_itself);
  tcase_add_test (tc, test_commands);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
