/* test-lea-window.c: keycall-lea's window (--window) against a real
 * controller gc1 with lawful intercept, a real keycall-lea asking for a
 * future tap on 1001 and two headless softphones placing a call.
 *
 * keycall-lea runs with --window (it must open on the display) and
 * --event-socket; the window under test is the same KcLeaWindow, fed in
 * this process with the events that keycall-lea emits, so its rows can be
 * read. A second, unreachable controller shows the retry state.
 *
 * The window's "Add a tap" form and Stop buttons are wired, in this
 * process, to keycall-lea's --commands FIFO: what they ask goes to the
 * real program, which asks gc1, and the answers come back as its events.
 */
#include "config.h"

#include "kc-lea-window.h"
#include "ui-test.h"

#include "kc-event-socket.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static KcLeaWindow   *window;
static KcEventBus    *bus;
static KcEventClient *client;
static Proc          *lea;
static char          *lea_socket;
static char          *record_dir;
static char          *commands;
static int            commands_fd = -1;

static const char *
lea_program (void)
{
  return g_getenv ("KEYCALL_LEA");
}

static char *
lea_ini (void)
{
  return g_build_filename (T.net, "lea", "lea1", "lea.ini", NULL);
}

static const char *
subtitle (const char *name)
{
  GtkWidget *row = find_in (GTK_WIDGET (window), name);

  if (row == NULL)
    return NULL;
  if (ADW_IS_EXPANDER_ROW (row))
    return adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (row));
  return adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
}

static gboolean
subtitle_starts (const char *name, const char *prefix)
{
  const char *text = subtitle (name);

  return text != NULL && g_str_has_prefix (text, prefix);
}

static gboolean
gc1_connected (gpointer data)
{
  return subtitle_starts ("controller-gc1", "Connected, certificate keycall:controller:gc1 verified");
}

static gboolean
tap_active (gpointer data)
{
  return subtitle_starts ("tap-gc1-future-1001", "Active (tap T-");
}

static gboolean
unknown_refused (gpointer data)
{
  return subtitle_starts ("tap-gc1-future-1009", "Refused: ");
}

static gboolean
unreachable_retrying (gpointer data)
{
  const char *text = subtitle ("controller-gcx");

  return text != NULL && g_str_has_prefix (text, "Not connected: ")
         && strstr (text, "; retrying in ") != NULL;
}

static void
on_event (KcEventClient *c, KcEvent *event, gpointer data)
{
  kc_event_bus_emit (bus, event);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;

  kc_event_client_connect_finish (KC_EVENT_CLIENT (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
client_up (gpointer data)
{
  return kc_event_client_is_connected (client);
}

/* keycall-lea --window without a display: a clear error, exit 2, no hang. */
static void
test_no_display (void)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ini = lea_ini ();
  g_autofree char *err = NULL;

  g_subprocess_launcher_unsetenv (launcher, "DISPLAY");
  g_subprocess_launcher_unsetenv (launcher, "WAYLAND_DISPLAY");
  proc = g_subprocess_launcher_spawn (launcher, &error, lea_program (), "--config", ini,
                                      "--controller", "gc1", "--content", "127.0.0.1:0",
                                      "--record-dir", record_dir, "--tap", "1001", "--window",
                                      NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 2);
  g_assert_nonnull (strstr (err, "--window needs a display"));
}

/* The real keycall-lea opened its window; the rows show gc1 connected with
 * its verified certificate, the tap active, the unreachable one retrying. */
static void
test_controllers_and_taps (void)
{
  g_autofree char *tap = NULL, *reason = NULL;

  g_assert_nonnull (proc_wait_line (lea, "^(window open)$"));
  tap = proc_wait_line (lea, "^tap (T-\\S+) future 1001 at gc1 calls 0$");
  g_assert_nonnull (tap);
  g_assert_true (wait_for (client_up, NULL, WAIT_S));
  g_assert_true (wait_for (gc1_connected, NULL, WAIT_S));
  g_assert_true (wait_for (tap_active, NULL, WAIT_S));
  g_assert_nonnull (strstr (subtitle ("tap-gc1-future-1001"), tap));
  g_assert_true (wait_for (unreachable_retrying, NULL, WAIT_S));
  /* gc1 serves no 1009: the tap is refused with the controller's reason. */
  reason = proc_wait_line (lea, "^error gc1 \\S+: (.+)$");
  g_assert_nonnull (reason);
  g_assert_true (wait_for (unknown_refused, NULL, WAIT_S));
  g_assert_nonnull (strstr (subtitle ("tap-gc1-future-1009"), reason));
  /* The unreachable controller never answered: no tap row for it. */
  g_assert_null (find_in (GTK_WIDGET (window), "tap-gcx-future-1001"));
  /* Still running with its window. */
  g_assert_false (lea->exited);
}

typedef struct {
  const char *call_row;
  const char *prefix;
} RowWait;

static gboolean
row_says (gpointer data)
{
  RowWait *w = data;

  return subtitle_starts (w->call_row, w->prefix);
}

static void
save_screenshot (const char *call_row, const char *path)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot;
  int w, h;

  gtk_window_set_default_size (GTK_WINDOW (window), 640, 1100);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (find_in (GTK_WIDGET (window), call_row)), TRUE);
  settle (1500);
  w = gtk_widget_get_width (GTK_WIDGET (window));
  h = gtk_widget_get_height (GTK_WIDGET (window));
  paintable = gtk_widget_paintable_new (GTK_WIDGET (window));
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, w, h));
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

/* Alice (1001) calls Bob (1002): the call row carries the fingerprint both
 * softphones print, then the recording's counts, and Play is offered. */
static void
test_intercepted_call (void)
{
  Proc *bob = start_cta ("1002", "--answer", NULL);
  Proc *alice = NULL;
  g_autofree char *fp = NULL, *bob_fp = NULL, *call_id = NULL, *row = NULL, *play = NULL;
  g_autofree char *fp_row = NULL, *fwd_row = NULL, *file_row = NULL;
  RowWait recorded = { 0 };

  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  /* Long enough for media to start on a loaded machine: a call whose
   * media never flowed leaves nothing to record. */
  alice = start_cta ("1001", "--call", "1002", "--duration", "5", NULL);
  fp = proc_wait_line (alice, "^key .*fingerprint " KC_UI_FINGERPRINT_RE);
  g_assert_nonnull (fp);
  bob_fp = proc_wait_line (bob, "^key received .*fingerprint " KC_UI_FINGERPRINT_RE);
  g_assert_cmpstr (g_strstrip (fp), ==, g_strstrip (bob_fp));
  call_id = proc_wait_line (lea, "^key (\\S+) fingerprint ");
  g_assert_nonnull (call_id);

  row = g_strdup_printf ("call-%s", call_id);
  g_strcanon (row + 5, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "-_", '_');
  fp_row = g_strdup_printf ("fingerprint-%s", row + 5);
  fwd_row = g_strdup_printf ("forward-%s", row + 5);
  file_row = g_strdup_printf ("file-%s", row + 5);
  play = g_strdup_printf ("play-%s", row + 5);

  recorded.call_row = row;
  recorded.prefix = "Key ";
  g_assert_true (wait_for (row_says, &recorded, WAIT_S));
  g_assert_cmpstr (subtitle (fp_row), ==, fp);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (
    find_in (GTK_WIDGET (window), row))), ==, "1001 to 1002");
  g_assert_false (gtk_widget_is_sensitive (find_in (GTK_WIDGET (window), play)));
  /* Reachable from the keyboard: the row opens with Enter, Play is a button. */
  g_assert_true (gtk_widget_get_focusable (find_in (GTK_WIDGET (window), play)));

  g_assert_nonnull (proc_wait_line (lea, "^(recorded )"));
  recorded.prefix = "Recorded: ";
  g_assert_true (wait_for (row_says, &recorded, WAIT_S));
  g_assert_true (g_str_has_suffix (subtitle (file_row), ".wav"));
  g_assert_true (g_file_test (subtitle (file_row), G_FILE_TEST_IS_REGULAR));
  /* From the JSON record beside the WAV: "N RTP, M RTCP". */
  g_assert_nonnull (strstr (subtitle (fwd_row), " RTP, "));
  g_assert_true (gtk_widget_is_sensitive (find_in (GTK_WIDGET (window), play)));
  click_widget (find_in (GTK_WIDGET (window), play));
  g_assert_true (gtk_widget_get_visible (find_in (GTK_WIDGET (window), "player")));

  /* KC_LEA_WINDOW_SHOT=FILE.png: the screenshot of docs/screenshots/,
   * the call opened, drawn from the window's own render nodes. */
  if (g_getenv ("KC_LEA_WINDOW_SHOT") != NULL)
    save_screenshot (row, g_getenv ("KC_LEA_WINDOW_SHOT"));

  g_assert_true (wait_for (proc_exited, alice, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (alice->status, ==, 0);
  proc_free (alice);
  proc_free (bob);
}

/* The window's actions, as keycall-lea's own window would call them, sent
 * to the real program through --commands. */
static gboolean
send_command (const char *line, GError **error)
{
  gsize len = strlen (line);

  if (commands_fd < 0)
    commands_fd = open (commands, O_WRONLY | O_CLOEXEC);
  if (commands_fd < 0 || write (commands_fd, line, len) != (gssize) len) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write to %s", commands);
    return FALSE;
  }
  return TRUE;
}

static gboolean
add_tap (const char *controller, const char *kind, const char *number, gpointer data,
         GError **error)
{
  g_autofree char *line = g_strdup_printf ("tap %s:%s@%s\n", number, kind, controller);

  return send_command (line, error);
}

static gboolean
stop_tap (const char *controller, const char *tap, gpointer data, GError **error)
{
  g_autofree char *line = g_strdup_printf ("stop %s@%s\n", tap, controller);

  return send_command (line, error);
}

static gboolean
added_active (gpointer data)
{
  return subtitle_starts ("tap-gc1-future-1002", "Active (tap T-");
}

static gboolean
added_stopped (gpointer data)
{
  return subtitle_starts ("tap-gc1-future-1002", "Stopped (tap T-");
}

/* A tap added with the form becomes active at gc1; its Stop button stops
 * it there; a malformed number is refused in the window, as plain text. */
static void
test_add_and_stop (void)
{
  GtkWidget *number = find_in (GTK_WIDGET (window), "add-tap-number");
  GtkWidget *button = find_in (GTK_WIDGET (window), "add-tap-button");
  GtkWidget *error_label = find_in (GTK_WIDGET (window), "add-tap-error");
  GtkWidget *stop;
  g_autofree char *tap = NULL, *stopped = NULL, *stop_label = NULL;

  g_assert_nonnull (number);
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_get_focusable (button));
  g_assert_false (gtk_widget_get_visible (error_label));

  gtk_editable_set_text (GTK_EDITABLE (number), "10<b>02");
  click_widget (button);
  g_assert_true (gtk_widget_get_visible (error_label));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (error_label)),
                                   "Not added: “10<b>02” is not a subscriber number"));
  g_assert_false (gtk_label_get_use_markup (GTK_LABEL (error_label)));
  g_assert_null (find_in (GTK_WIDGET (window), "tap-gc1-future-1002"));

  gtk_editable_set_text (GTK_EDITABLE (number), "1002");
  adw_combo_row_set_selected (ADW_COMBO_ROW (find_in (GTK_WIDGET (window), "add-tap-kind")), 0);
  adw_combo_row_set_selected (ADW_COMBO_ROW (find_in (GTK_WIDGET (window),
                                                      "add-tap-controller")), 0);
  click_widget (button);
  g_assert_false (gtk_widget_get_visible (error_label));
  tap = proc_wait_line (lea, "^tap (T-\\S+) future 1002 at gc1 calls 0$");
  g_assert_nonnull (tap);
  g_assert_true (wait_for (added_active, NULL, WAIT_S));
  g_assert_nonnull (strstr (subtitle ("tap-gc1-future-1002"), tap));

  stop = find_in (GTK_WIDGET (window), "stop-gc1-future-1002");
  g_assert_nonnull (stop);
  g_assert_true (gtk_widget_get_visible (stop));
  g_assert_true (gtk_widget_get_focusable (stop));
  click_widget (stop);
  stop_label = g_strdup_printf ("^(stopped tap %s at gc1)$", tap);
  stopped = proc_wait_line (lea, stop_label);
  g_assert_nonnull (stopped);
  g_assert_true (wait_for (added_stopped, NULL, WAIT_S));
  g_assert_false (gtk_widget_get_visible (stop));
  /* The other tap is untouched. */
  g_assert_true (tap_active (NULL));
}

/* keycall-lea --window leaves on SIGTERM as headless does: recordings closed,
 * "exiting", status 0. */
static void
test_sigterm_exits (void)
{
  g_autofree char *ini = lea_ini ();
  g_autofree char *dir = g_build_filename (T.tmp, "records-2", NULL);
  Proc *second = proc_start ("lea1-second", lea_program (), "--config", ini, "--controller", "gc1",
                             "--content", "127.0.0.1:0", "--record-dir", dir, "--tap", "1002",
                             "--window", NULL);

  g_assert_nonnull (proc_wait_line (second, "^(window open)$"));
  g_assert_nonnull (proc_wait_line (second, "^tap (T-\\S+) future 1002 at gc1"));
  g_subprocess_send_signal (second->proc, SIGTERM);
  g_assert_true (wait_for (proc_exited, second, WAIT_S));
  g_assert_cmpint (second->status, ==, 0);
  g_assert_nonnull (proc_wait_line (second, "^(exiting)$"));
  proc_free (second);
}

int
main (int argc, char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ini = NULL, *gcx = NULL;
  int status;

  T.tmp = g_dir_make_tmp ("keycall-lea-window-XXXXXX", &error);
  g_assert_no_error (error);
  private_dirs ();
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("KEYCALL_ADMIN") == NULL || lea_program () == NULL || g_getenv ("DISPLAY") == NULL) {
    g_test_message ("needs KEYCALL_ADMIN, KEYCALL_CONTROLLER, KEYCALL, KEYCALL_LEA and a DISPLAY "
                    "(run through meson under scripts/with-test-env)");
    return 77;
  }
  gtk_init ();
  adw_init ();
  make_network ();

  record_dir = g_build_filename (T.tmp, "records", NULL);
  lea_socket = g_build_filename (T.tmp, "lea1.sock", NULL);
  commands = g_build_filename (T.tmp, "lea1.commands", NULL);
  g_assert_cmpint (mkfifo (commands, 0600), ==, 0);
  ini = lea_ini ();
  gcx = g_strdup_printf ("gcx=127.0.0.1:%u", free_port ());
  lea = proc_start ("lea1", lea_program (), "--config", ini, "--controller", "gc1",
                    "--controller", gcx, "--content", "127.0.0.1:0", "--record-dir", record_dir,
                    "--tap", "1001", "--tap", "1009@gc1", "--event-socket", lea_socket,
                    "--commands", commands, "--window", NULL);
  g_assert_nonnull (proc_wait_line (lea, "^content on (\\S+)"));

  bus = kc_event_bus_new ("test-lea-window", KC_EVENT_BUS_DEFAULT);
  window = kc_lea_window_new (NULL, "lea1", bus);
  {
    const char *const names[] = { "gc1", "gcx", NULL };

    kc_lea_window_set_tap_actions (window, names, add_tap, stop_tap, NULL);
  }
  gtk_window_set_default_size (GTK_WINDOW (window), 360, 640);
  gtk_window_present (GTK_WINDOW (window));
  client = kc_event_client_new ();
  g_signal_connect (client, "event", G_CALLBACK (on_event), NULL);
  kc_event_client_connect_async (client, lea_socket, NULL, on_connected, NULL);

  g_test_add_func ("/lea-window/no-display", test_no_display);
  g_test_add_func ("/lea-window/controllers-and-taps", test_controllers_and_taps);
  g_test_add_func ("/lea-window/intercepted-call", test_intercepted_call);
  g_test_add_func ("/lea-window/add-and-stop", test_add_and_stop);
  g_test_add_func ("/lea-window/sigterm-exits", test_sigterm_exits);
  status = g_test_run ();

  kc_event_client_disconnect (client);
  g_clear_object (&client);
  gtk_window_destroy (GTK_WINDOW (window));
  proc_free (lea);
  proc_free (T.controller);
  kc_event_bus_unref (bus);
  if (g_getenv ("KC_KEEP_TMP") == NULL)
    remove_tree (T.tmp);
  g_free (record_dir);
  g_free (lea_socket);
  if (commands_fd >= 0)
    close (commands_fd);
  g_free (commands);
  /* exit() aborts once GTK was initialised (GLib 2.74; see ui/kc-ui.c). */
  fflush (stdout);
  _exit (status);
}
