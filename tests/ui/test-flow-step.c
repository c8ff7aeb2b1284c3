/* test-flow-step.c: step mode and slow motion, end to end (issue 6): two
 * real controllers, gc1 with its private window socket (--window-socket)
 * and gc2 headless, two headless softphones; the controller window's step
 * bar drives gc1. A call in step mode stops at each message gc1 sends
 * until Next (the callee's INVITE does not arrive before the first Next),
 * then completes in FIG. 3 order; a call that ends while held frees its
 * messages; slow motion holds and releases by itself; --headless refuses
 * the window socket, and an ordinary event socket refuses commands.
 */
#define G_LOG_DOMAIN "test-flow-step"

#include "config.h"

#include "kc-flow-step.h"
#include "kc-flow-window.h"
#include "ui-test.h"

#include "kc-event-socket.h"

#include <string.h>

void flow_step_add_tests (void);

typedef struct {
  Proc         *gc1;
  Proc         *gc2;
  char         *window_socket;
  KcFlowWindow *window;
  GtkWidget    *bar;
} Net;

static Net N;

static gboolean
step_bar_connected (gpointer data)
{
  return gtk_widget_get_sensitive (find_in (data, "step-toggle"));
}

static gboolean
something_held (gpointer data)
{
  return kc_flow_step_bar_get_n_held (KC_FLOW_STEP_BAR (data)) > 0;
}

/* The newest event of gc1 of @kind with attribute @name = @value. */
static KcEvent *
find_event (KcEventKind kind, const char *name, const char *value, guint from)
{
  KcFlowModel *model = kc_flow_window_get_model (N.window);

  for (guint i = kc_flow_model_get_n_events (model); i > from; i--) {
    KcEvent *e = kc_flow_model_get_event (model, i - 1);

    if (kc_event_get_kind (e) == kind && g_strcmp0 (kc_event_get_process (e), "gc1") == 0
        && (name == NULL || g_strcmp0 (kc_event_get_attr (e, name), value) == 0))
      return e;
  }
  return NULL;
}

typedef struct {
  KcEventKind  kind;
  const char  *name;
  const char  *value;
  guint        from;
} EventWait;

static gboolean
event_seen (gpointer data)
{
  EventWait *w = data;

  return find_event (w->kind, w->name, w->value, w->from) != NULL;
}

static void
set_step (gboolean on)
{
  EventWait w = { KC_EVENT_KIND_LOG, "step", on ? "on" : "off",
                  kc_flow_model_get_n_events (kc_flow_window_get_model (N.window)) };

  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find_in (N.bar, "step-toggle")), on);
  g_assert_true (wait_for (event_seen, &w, WAIT_S));
}

static void
net_up (void)
{
  g_autofree char *p1 = g_strdup_printf ("%u", free_port ());
  g_autofree char *p2 = g_strdup_printf ("%u", free_port ());
  g_autofree char *ini1 = NULL, *ini2 = NULL, *events = NULL;

  if (N.gc1 != NULL)
    return;
  T.net = g_build_filename (T.tmp, "net", NULL);
  admin ("init", "--name", "Step Test Net", NULL);
  admin ("controller", "add", "gc1", "--host", "127.0.0.1", "--port", p1, "--prefix", "1", NULL);
  admin ("controller", "add", "gc2", "--host", "127.0.0.1", "--port", p2, "--prefix", "2", NULL);
  admin ("lea", "add", "lea1", NULL);
  admin ("subscriber", "add", "1001", "--name", "Alice", "--controller", "gc1", NULL);
  admin ("subscriber", "add", "2001", "--name", "Bob", "--controller", "gc2", NULL);
  admin ("profile", "export", "1001", NULL);
  admin ("profile", "export", "2001", NULL);
  ini1 = g_build_filename (T.net, "controllers", "gc1", "controller.ini", NULL);
  ini2 = g_build_filename (T.net, "controllers", "gc2", "controller.ini", NULL);
  N.window_socket = g_build_filename (T.tmp, "gc1-window.sock", NULL);
  events = g_build_filename (T.tmp, "gc1.events", NULL);
  N.gc1 = proc_start ("gc1", g_getenv ("KEYCALL_CONTROLLER"), "--config", ini1,
                      "--window-socket", N.window_socket, "--events", events,
                      "--keepalive", "1", NULL);
  N.gc2 = proc_start ("gc2", g_getenv ("KEYCALL_CONTROLLER"), "--headless", "--config", ini2,
                      "--keepalive", "1", NULL);
  g_assert_nonnull (proc_wait_line (N.gc1, "^listening"));
  g_assert_nonnull (proc_wait_line (N.gc2, "^listening"));

  N.window = kc_flow_window_new (NULL, NULL);
  kc_flow_window_add_control (N.window, N.window_socket);
  gtk_window_set_default_size (GTK_WINDOW (N.window), 1300, 800);
  gtk_window_present (GTK_WINDOW (N.window));
  N.bar = kc_flow_window_get_step_bar (N.window);
  g_assert_true (gtk_widget_get_visible (N.bar));
  g_assert_true (wait_for (step_bar_connected, N.bar, WAIT_S));
}

/* Starts Bob answering and Alice calling him. */
static void
start_call (Proc **caller, Proc **callee)
{
  *callee = start_cta ("2001", "--answer", "--duration", "30", NULL);
  g_assert_nonnull (proc_wait_line (*callee, "^registered"));
  *caller = start_cta ("1001", "--call", "2001", "--duration", "1", NULL);
}

static int
fig_of (const char *what)
{
  return what ? atoi (what) : 0;
}

/* Step mode: gc1 holds the INVITE to gc2 (318) until Next, so Bob hears
 * nothing; each Next sends one message; the call then completes, and the
 * messages went in FIG. 3 order (318, 326, 328, 330). */
static void
test_step_mode (void)
{
  g_autoptr(GPtrArray) released = g_ptr_array_new_with_free_func (g_free);
  Proc *caller, *callee;
  guint clicks = 0;

  net_up ();
  g_assert_false (gtk_widget_get_sensitive (find_in (N.bar, "step-next")));
  set_step (TRUE);
  start_call (&caller, &callee);

  g_assert_true (wait_for (something_held, N.bar, WAIT_S));
  g_assert_true (gtk_widget_get_sensitive (find_in (N.bar, "step-next")));
  {
    KcEvent *hold = find_event (KC_EVENT_KIND_STEP_HOLD, NULL, NULL, 0);

    g_assert_nonnull (hold);
    g_assert_cmpint (kc_event_get_fig3 (hold), ==, 318);
    g_assert_true (g_str_has_prefix (kc_event_get_attr (hold, "next"), "318 INVITE + K"));
    g_assert_nonnull (strstr (gtk_button_get_label (GTK_BUTTON (find_in (N.bar, "step-next"))),
                              "318 INVITE + K → controller:gc2"));
  }
  /* Held: a second later Bob still has no call and Alice is not answered. */
  settle (1500);
  g_assert_cmpuint (proc_count_lines (callee, "^incoming call"), ==, 0);
  g_assert_cmpuint (proc_count_lines (caller, "^answered"), ==, 0);
  g_assert_cmpuint (kc_flow_step_bar_get_n_held (KC_FLOW_STEP_BAR (N.bar)), ==, 1);

  while (proc_count_lines (caller, "^answered") == 0 && clicks < 20) {
    if (!wait_for (something_held, N.bar, WAIT_S))
      break;
    {
      KcFlowModel *model = kc_flow_window_get_model (N.window);
      KcEvent *last = NULL;

      for (guint i = kc_flow_model_get_n_events (model); i > 0 && last == NULL; i--) {
        KcEvent *e = kc_flow_model_get_event (model, i - 1);

        if (g_strcmp0 (kc_event_get_process (e), "gc1") == 0
            && (kc_event_get_kind (e) == KC_EVENT_KIND_STEP_HOLD
                || kc_event_get_kind (e) == KC_EVENT_KIND_STEP_RELEASE))
          last = e;
      }
      g_assert_nonnull (last);
      g_ptr_array_add (released, g_strdup (kc_event_get_attr (last, "next")));
      g_test_message ("Next %u: %s", clicks + 1, kc_event_get_attr (last, "next"));
    }
    click_widget (find_in (N.bar, "step-next"));
    clicks++;
    if (clicks == 1)
      g_assert_nonnull (proc_wait_line (callee, "^incoming call"));
    settle (300);
  }
  g_assert_nonnull (proc_wait_line (caller, "^answered"));
  g_assert_cmpuint (clicks, >=, 4);
  g_assert_cmpint (fig_of (released->pdata[0]), ==, 318);
  {
    gboolean saw_326 = FALSE, saw_330 = FALSE;
    int last = 0;

    for (guint i = 0; i < released->len; i++) {
      int fig = fig_of (released->pdata[i]);

      g_assert_cmpint (fig, >=, last);
      last = fig;
      saw_326 = saw_326 || fig == 326;
      saw_330 = saw_330 || fig == 330;
    }
    g_assert_true (saw_326);
    g_assert_true (saw_330);
  }
  set_step (FALSE);
  /* Alice hangs up after a second; she exits 0 only for a completed call. */
  g_assert_true (wait_for (proc_exited, caller, WAIT_S));
  g_assert_cmpint (caller->status, ==, 0);
  proc_free (caller);
  proc_free (callee);
}

/* The caller gives up while gc1 holds its INVITE: the held message is
 * dropped (a step-release marked dropped), Bob never hears of the call,
 * gc1 lives on and Next has nothing left to send. */
static void
test_call_ends_while_held (void)
{
  Proc *caller, *callee;
  EventWait dropped = { KC_EVENT_KIND_STEP_RELEASE, "dropped", "true", 0 };

  net_up ();
  dropped.from = kc_flow_model_get_n_events (kc_flow_window_get_model (N.window));
  set_step (TRUE);
  start_call (&caller, &callee);
  g_assert_true (wait_for (something_held, N.bar, WAIT_S));
  proc_free (caller);
  g_assert_true (wait_for (event_seen, &dropped, WAIT_S));
  g_assert_cmpuint (kc_flow_step_bar_get_n_held (KC_FLOW_STEP_BAR (N.bar)), ==, 0);
  g_assert_false (gtk_widget_get_sensitive (find_in (N.bar, "step-next")));
  settle (500);
  g_assert_cmpuint (proc_count_lines (callee, "^incoming call"), ==, 0);
  g_assert_false (N.gc1->exited);
  set_step (FALSE);
  proc_free (callee);
}

static const char *
next_held (void)
{
  KcFlowModel *model = kc_flow_window_get_model (N.window);

  for (guint i = kc_flow_model_get_n_events (model); i > 0; i--) {
    KcEvent *e = kc_flow_model_get_event (model, i - 1);

    if (g_strcmp0 (kc_event_get_process (e), "gc1") == 0
        && (kc_event_get_kind (e) == KC_EVENT_KIND_STEP_HOLD
            || kc_event_get_kind (e) == KC_EVENT_KIND_STEP_RELEASE))
      return kc_event_get_attr (e, "next");
  }
  return NULL;
}

/* Later in the exchange: the caller hangs up while gc1 holds the 200 to
 * its PRACK (328). The held answer is dropped, the PRACK answered 481,
 * and gc1 goes on serving (a new call gets as far as its held INVITE). */
static void
test_call_ends_while_prack_held (void)
{
  Proc *caller, *callee;
  EventWait dropped = { KC_EVENT_KIND_STEP_RELEASE, "dropped", "true", 0 };
  guint clicks = 0;

  net_up ();
  dropped.from = kc_flow_model_get_n_events (kc_flow_window_get_model (N.window));
  set_step (TRUE);
  start_call (&caller, &callee);
  while (clicks < 5 && wait_for (something_held, N.bar, WAIT_S)
         && !g_str_has_prefix (next_held (), "328 200 OK (PRACK)")) {
    click_widget (find_in (N.bar, "step-next"));
    clicks++;
    settle (300);
  }
  g_assert_true (g_str_has_prefix (next_held (), "328 200 OK (PRACK)"));
  proc_free (caller);
  g_assert_true (wait_for (event_seen, &dropped, WAIT_S));
  g_assert_false (N.gc1->exited);
  proc_free (callee);

  start_call (&caller, &callee);
  g_assert_true (wait_for (something_held, N.bar, WAIT_S));
  g_assert_true (g_str_has_prefix (next_held (), "318 INVITE"));
  set_step (FALSE);
  g_assert_nonnull (proc_wait_line (caller, "^answered"));
  proc_free (caller);
  proc_free (callee);
}

/* Slow motion: every message gc1 sends waits, then goes by itself. */

typedef struct {
  KcFlowModel *model;
  guint        from;
  guint        holds;
  guint        releases;
} SlowCount;

/* The window's events arrive over the event socket, after the messages
 * they describe: count until four holds and releases are in. */
static gboolean
slow_counted (gpointer data)
{
  SlowCount *c = data;

  c->holds = c->releases = 0;
  for (guint i = c->from; i < kc_flow_model_get_n_events (c->model); i++) {
    KcEvent *e = kc_flow_model_get_event (c->model, i);

    c->holds += kc_event_get_kind (e) == KC_EVENT_KIND_STEP_HOLD;
    c->releases += kc_event_get_kind (e) == KC_EVENT_KIND_STEP_RELEASE;
  }
  return c->holds >= 4 && c->releases >= 4;
}

static void
test_slow_motion (void)
{
  Proc *caller, *callee;
  EventWait slow = { KC_EVENT_KIND_LOG, "delay_ms", "300", 0 };
  SlowCount count = { 0, };

  net_up ();
  count.model = kc_flow_window_get_model (N.window);
  slow.from = count.from = kc_flow_model_get_n_events (count.model);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_in (N.bar, "step-delay")), 300);
  g_assert_true (wait_for (event_seen, &slow, WAIT_S));
  start_call (&caller, &callee);
  g_assert_nonnull (proc_wait_line (caller, "^answered"));
  wait_for (slow_counted, &count, WAIT_S);
  g_assert_cmpuint (count.holds, >=, 4);
  g_assert_cmpuint (count.releases, >=, 4);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find_in (N.bar, "step-delay")), 0);
  proc_free (caller);
  proc_free (callee);
}

static void
on_refusal (KcEventClient *client, KcEvent *event, gpointer data)
{
  char **refused = data;

  if (kc_event_get_kind (event) == KC_EVENT_KIND_LOG && kc_event_get_attr (event, "refused")) {
    g_free (*refused);
    *refused = g_strdup (kc_event_get_attr (event, "refused"));
  }
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  *(gboolean *) data = kc_event_client_connect_finish (KC_EVENT_CLIENT (source), result, NULL);
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* --headless has no window socket: asking for one is refused, and its
 * ordinary event socket answers a command with "read-only". */
static void
test_headless_refuses (void)
{
  g_autofree char *ini = NULL, *sock = NULL, *out = NULL, *err = NULL, *refused = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(KcEventClient) client = kc_event_client_new ();
  g_autoptr(GError) error = NULL;
  gboolean connected = FALSE;
  Proc *gc2;

  net_up ();
  ini = g_build_filename (T.net, "controllers", "gc2", "controller.ini", NULL);
  sock = g_build_filename (T.tmp, "headless-window.sock", NULL);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                           &error, g_getenv ("KEYCALL_CONTROLLER"), "--headless", "--config",
                           ini, "--window-socket", sock, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 2);
  g_assert_nonnull (strstr (err, "not possible with --headless"));
  g_assert_false (g_file_test (sock, G_FILE_TEST_EXISTS));

  /* A second headless controller for gc2's network slot is not needed:
   * stop gc2 and run it again with an event socket. */
  proc_free (N.gc2);
  g_clear_pointer (&sock, g_free);
  sock = g_build_filename (T.tmp, "gc2-events.sock", NULL);
  gc2 = proc_start ("gc2-again", g_getenv ("KEYCALL_CONTROLLER"), "--headless", "--config", ini,
                    "--event-socket", sock, "--keepalive", "1", NULL);
  N.gc2 = gc2;
  g_assert_nonnull (proc_wait_line (gc2, "^listening"));
  g_signal_connect (client, "event", G_CALLBACK (on_refusal), &refused);
  kc_event_client_connect_async (client, sock, NULL, on_connected, &connected);
  g_assert_true (wait_for (is_true, &connected, WAIT_S));
  g_assert_true (kc_event_client_send_command (client, "{\"v\":1,\"op\":\"step\",\"on\":true}",
                                               &error));
  g_assert_no_error (error);
  g_assert_true (wait_for (is_set, &refused, WAIT_S));
  g_assert_cmpstr (refused, ==, "read-only");
  kc_event_client_disconnect (client);
}

/* The window socket refuses what is not a well-formed command. */
static void
test_window_refuses_bad_commands (void)
{
  g_autoptr(KcEventClient) client = kc_event_client_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *refused = NULL;
  gboolean connected = FALSE;

  net_up ();
  g_signal_connect (client, "event", G_CALLBACK (on_refusal), &refused);
  kc_event_client_connect_async (client, N.window_socket, NULL, on_connected, &connected);
  g_assert_true (wait_for (is_true, &connected, WAIT_S));
  g_assert_true (kc_event_client_send_command (client, "{\"v\":1,\"op\":\"step\",\"on\":1}",
                                               &error));
  g_assert_true (wait_for (is_set, &refused, WAIT_S));
  g_assert_cmpstr (refused, ==, "invalid");
  g_clear_pointer (&refused, g_free);
  g_assert_true (kc_event_client_send_command (client, "{\"v\":1,\"op\":\"next\",}", &error));
  g_assert_true (wait_for (is_set, &refused, WAIT_S));
  g_assert_cmpstr (refused, ==, "invalid");
  g_assert_false (kc_flow_step_bar_get_n_held (KC_FLOW_STEP_BAR (N.bar)) > 0);
  g_assert_false (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (find_in (N.bar,
                                                                            "step-toggle"))));
  kc_event_client_disconnect (client);
}

static void
on_key_seen (KcEventClient *client, const char *call_id, const char *key_id, gpointer key,
             gpointer data)
{
  (*(guint *) data)++;
}

static gboolean
reveal_offered (gpointer data)
{
  return gtk_widget_get_visible (kc_flow_step_bar_get_reveal_switch (data));
}

static const char *key_prefix;   /* the call's key id as the phone prints it */

/* Selects this call's 318 arrow (earlier tests' calls are in the window too). */
static gboolean
has_key_arrow (gpointer data)
{
  KcFlowModel *model = kc_flow_window_get_model (data);

  kc_flow_window_flush (data);
  for (guint i = 0; i < kc_flow_model_get_n_items (model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (model, i);
    KcEvent *keyed = item->key_event ? item->key_event : item->event;
    const char *id = kc_event_get_key_id (keyed);

    if (item->kind == KC_FLOW_ITEM_ARROW && kc_event_get_fig3 (item->event) == 318
        && id != NULL && g_str_has_prefix (id, key_prefix)) {
      kc_flow_view_select (kc_flow_window_get_view (data), i);
      return TRUE;
    }
  }
  return FALSE;
}

/* --classroom: the window offers Reveal keys; on, a red banner shows and
 * the details pane has the call key, whose fingerprint is the one both
 * phones print; off, no key. The key never reaches the event log file
 * nor a subscriber of the ordinary event socket; --headless --classroom
 * is refused. */
static void
test_classroom_reveal (void)
{
  g_autofree char *ini = NULL, *events = NULL, *pub = NULL, *fp = NULL, *log = NULL;
  g_autofree char *out = NULL, *err = NULL, *details = NULL, *id = NULL;
  g_autoptr(KcEventClient) subscriber = kc_event_client_new ();
  g_autoptr(GSubprocess) refused = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *reveal;
  Proc *caller, *callee;
  gboolean connected = FALSE;
  guint public_keys = 0;
  const char *line;
  guint8 key[64];
  gsize key_len = 0;
  char fingerprint[KC_FINGERPRINT_LEN];

  net_up ();
  ini = g_build_filename (T.net, "controllers", "gc1", "controller.ini", NULL);
  refused = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, g_getenv ("KEYCALL_CONTROLLER"), "--headless",
                              "--classroom", "--config", ini, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (refused, NULL, NULL, &out, &err, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (refused), ==, 2);
  g_assert_nonnull (strstr (err, "never revealed with --headless"));

  /* Without --classroom the switch is not offered. */
  reveal = kc_flow_step_bar_get_reveal_switch (KC_FLOW_STEP_BAR (N.bar));
  g_assert_false (gtk_widget_get_visible (reveal));

  proc_free (N.gc1);
  events = g_build_filename (T.tmp, "gc1-classroom.events", NULL);
  pub = g_build_filename (T.tmp, "gc1-public.sock", NULL);
  N.gc1 = proc_start ("gc1-classroom", g_getenv ("KEYCALL_CONTROLLER"), "--config", ini,
                      "--window-socket", N.window_socket, "--classroom", "--events", events,
                      "--event-socket", pub, "--keepalive", "1", NULL);
  g_assert_nonnull (proc_wait_line (N.gc1, "^listening"));
  /* A new window: the old one's model already has a "gc1" whose event
   * numbers the restarted process starts again. */
  gtk_window_destroy (GTK_WINDOW (N.window));
  N.window = kc_flow_window_new (NULL, NULL);
  kc_flow_window_add_control (N.window, N.window_socket);
  gtk_window_present (GTK_WINDOW (N.window));
  N.bar = kc_flow_window_get_step_bar (N.window);
  reveal = kc_flow_step_bar_get_reveal_switch (KC_FLOW_STEP_BAR (N.bar));
  g_assert_true (wait_for (reveal_offered, N.bar, WAIT_S));
  g_assert_false (gtk_widget_get_visible (find_in (GTK_WIDGET (N.window), "reveal-banner")));
  g_signal_connect (subscriber, "key", G_CALLBACK (on_key_seen), &public_keys);
  kc_event_client_connect_async (subscriber, pub, NULL, on_connected, &connected);
  g_assert_true (wait_for (is_true, &connected, WAIT_S));

  start_call (&caller, &callee);
  fp = proc_wait_line (caller, "^key received id \\S+ fingerprint " KC_UI_FINGERPRINT_RE);
  id = proc_wait_line (caller, "^key received id (\\S+) fingerprint");
  g_assert_nonnull (fp);
  g_assert_nonnull (id);
  key_prefix = id;
  g_assert_nonnull (proc_wait_line (caller, "^answered"));
  g_assert_true (wait_for (has_key_arrow, N.window, WAIT_S));
  details = kc_flow_view_get_details (kc_flow_window_get_view (N.window));
  g_assert_nonnull (strstr (details, fp));
  g_assert_null (strstr (details, "\nKEY "));
  g_clear_pointer (&details, g_free);

  gtk_switch_set_active (GTK_SWITCH (reveal), TRUE);
  g_assert_true (gtk_widget_get_visible (find_in (GTK_WIDGET (N.window), "reveal-banner")));
  details = kc_flow_view_get_details (kc_flow_window_get_view (N.window));
  line = strstr (details, "\nKEY ");
  g_assert_nonnull (line);
  for (const char *p = line + strlen ("\nKEY"); *p != '\0' && *p != '(' && key_len < sizeof key; p++) {
    if (g_ascii_isxdigit (p[0]) && g_ascii_isxdigit (p[1])) {
      key[key_len++] = (guint8) (g_ascii_xdigit_value (p[0]) * 16 + g_ascii_xdigit_value (p[1]));
      p++;
    }
  }
  g_assert_cmpuint (key_len, ==, 32);
  kc_fingerprint_bytes (key, key_len, fingerprint);
  g_assert_cmpstr (fingerprint, ==, fp);

  /* Nowhere else: not in the log file, not to a subscriber. */
  {
    g_autofree char *hex = NULL;
    g_autoptr(GString) h = g_string_new (NULL);

    for (gsize i = 0; i < key_len; i++)
      g_string_append_printf (h, "%02x", key[i]);
    hex = g_strdup (h->str);
    g_assert_true (g_file_get_contents (events, &log, NULL, NULL));
    g_assert_null (strstr (log, hex));
    {
      g_autofree char *b64 = g_base64_encode (key, key_len);

      g_assert_null (strstr (log, b64));
    }
  }
  g_assert_cmpuint (public_keys, ==, 0);

  gtk_switch_set_active (GTK_SWITCH (reveal), FALSE);
  g_assert_false (gtk_widget_get_visible (find_in (GTK_WIDGET (N.window), "reveal-banner")));
  g_clear_pointer (&details, g_free);
  details = kc_flow_view_get_details (kc_flow_window_get_view (N.window));
  g_assert_null (strstr (details, "\nKEY "));
  memset (key, 0, sizeof key);
  kc_event_client_disconnect (subscriber);
  proc_free (caller);
  proc_free (callee);
}

static void
net_down (void)
{
  if (N.window != NULL)
    gtk_window_destroy (GTK_WINDOW (N.window));
  proc_free (N.gc1);
  proc_free (N.gc2);
  g_free (N.window_socket);
  memset (&N, 0, sizeof N);
}

static void
test_teardown (void)
{
  net_down ();
}

void
flow_step_add_tests (void)
{
  g_test_add_func ("/flow-step/step-mode", test_step_mode);
  g_test_add_func ("/flow-step/call-ends-while-held", test_call_ends_while_held);
  g_test_add_func ("/flow-step/call-ends-while-prack-held", test_call_ends_while_prack_held);
  g_test_add_func ("/flow-step/slow-motion", test_slow_motion);
  g_test_add_func ("/flow-step/window-refuses-bad-commands", test_window_refuses_bad_commands);
  g_test_add_func ("/flow-step/headless-refuses", test_headless_refuses);
  g_test_add_func ("/flow-step/classroom-reveal", test_classroom_reveal);
  g_test_add_func ("/flow-step/teardown", test_teardown);
}
