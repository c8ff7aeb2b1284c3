/* test-ui-window.c: the softphone window against a real network: a
 * controller provisioned with keycall-admin and headless softphones, all
 * on 127.0.0.1. Import a profile, register, activate with an activation
 * file and its code (a wrong code saves nothing), call out and answer a call,
 * and check the security panel shows the fingerprint the other phone got.
 * The tests of calls in progress are in test-ui-calls.c, the helpers in
 * ui-test.c; all run in this one process, in order, on one network.
 */
#define G_LOG_DOMAIN "test-ui"

#include "config.h"

#include "ui-test.h"

#include "kc-history.h"
#include "kc-number.h"
#include "kc-ui.h"

#include "kc-activation.h"
#include "kc-error.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
/* Tests */

static void
test_number (void)
{
  struct { const char *in, *out; } good[] = {
    { "1001", "1001" }, { " 1001 ", "1001" }, { "+49 (30) 123-45.6", "+4930123456" },
    { "sips:2001@keycall.test", "2001" }, { "sip:2001@10.0.0.1;transport=tls", "2001" },
    { "SIPS:2001", "2001" }, { "tel:+1-201-555-0123;phone-context=x", "+12015550123" },
  };
  const char *bad[] = { "", "  ", "alice", "sips:alice@keycall.test", "sips:@x", "12a3",
                        "1+2", "tel:", "123456789012345678901234567890123" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *n = kc_number_from_input (good[i].in, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (n, ==, good[i].out);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *n = kc_number_from_input (bad[i], &error);

    g_assert_null (n);
    g_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  }
}

static void
test_import (void)
{
  g_autofree char *bad = g_build_filename (T.tmp, "broken.keycall", NULL);
  g_autofree char *src = profile_path ("1001");
  g_autofree char *loose = g_build_filename (T.tmp, "download.keycall", NULL);
  g_autofree char *dest = kc_application_imported_path ();
  g_autofree char *data = NULL;
  g_autoptr(GFile) bad_file = g_file_new_for_path (bad);
  g_autoptr(GFile) loose_file = g_file_new_for_path (loose);
  gsize len;
  struct stat st;

  /* First run: no profile, so the import page, which also offers activation. */
  g_assert_cmpstr (visible_page (), ==, "import");
  g_assert_false (gtk_widget_get_visible (find ("import-error")));
  g_assert_true (gtk_widget_get_visible (find ("activate-button")));

  g_assert_true (g_file_set_contents (bad, "[keycall-profile]\nversion=1\nnumber=1001\n", -1,
                                      NULL));
  g_assert_false (kc_window_import_file (T.window, bad_file));
  g_assert_true (gtk_widget_get_visible (find ("import-error")));
  g_assert_nonnull (strstr (label_text ("import-error"), "is not a usable profile"));
  g_assert_cmpstr (visible_page (), ==, "import");
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));

  /* A downloaded profile may be readable by others; the copy is not. */
  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_true (g_file_set_contents_full (loose, data, (gssize) len,
                                           G_FILE_SET_CONTENTS_NONE, 0644, NULL));
  g_assert_true (kc_window_import_file (T.window, loose_file));
  g_assert_false (gtk_widget_get_visible (find ("import-error")));
  g_assert_cmpint (g_stat (dest, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpstr (visible_page (), ==, "phone");

  g_assert_true (wait_for (status_registered, NULL, WAIT_S));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find ("account-status"))),
                            "keycall:controller:gc1"));
  g_assert_true (gtk_widget_is_sensitive (find ("call-button")));
  T.registered = TRUE;
}

/* keycall-admin profile activation NUMBER -o PATH; returns the code it
 * printed. */
static char *
make_activation (const char *number,
                 const char *path)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRegex) re = g_regex_new ("Activation code: (\\S+)", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *out = NULL;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, g_getenv ("KEYCALL_ADMIN"),
                           "--dir", T.net, "profile", "activation", number, "-o", path,
                           "--force", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  g_assert_true (g_regex_match (re, out, 0, &match));
  return g_match_info_fetch (match, 1);
}

/* KC_ACTIVATE_SHOT=FILE.png: the activation page as it stands, for a look. */
static void
save_shot (const char *path)
{
  GtkWidget *window = GTK_WIDGET (T.window);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int w = gtk_widget_get_width (window), h = gtk_widget_get_height (window);

  settle (500);
  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, w, h));
  g_assert_true (gdk_texture_save_to_png (texture, path));
}

static void
test_activate (void)
{
  g_autofree char *path = g_build_filename (T.tmp, "1001" KC_ACTIVATION_SUFFIX, NULL);
  g_autofree char *broken = g_build_filename (T.tmp, "cut" KC_ACTIVATION_SUFFIX, NULL);
  g_autofree char *dest = kc_application_imported_path ();
  g_autofree char *code = NULL, *wrong = NULL, *before = NULL, *after = NULL;
  g_autofree char *controller = NULL, *bare = NULL, *line = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFile) broken_file = g_file_new_for_path (broken);
  KcCtaAccount *old_account;
  struct stat st;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  code = make_activation ("1001", path);
  g_assert_true (g_file_get_contents (dest, &before, NULL, NULL));
  old_account = kc_application_get_account (T.app);

  /* A file cut short is refused before any code is asked for. */
  g_assert_true (g_file_set_contents (broken, "[" KC_ACTIVATION_GROUP "]\nversion=1\nnumber=1",
                                      -1, NULL));
  g_assert_false (kc_window_open_activation (T.window, broken_file));
  g_assert_nonnull (strstr (label_text ("import-error"), "truncated"));
  g_assert_cmpstr (visible_page (), ==, "phone");

  /* The page names the number and the controller before any code. */
  g_assert_true (kc_window_open_activation (T.window, file));
  g_assert_cmpstr (visible_page (), ==, "activate");
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find ("activate-number"))), ==,
                   "1001 (Alice)");
  controller = g_strdup (gtk_editable_get_text (GTK_EDITABLE (find ("activate-controller"))));
  g_assert_true (g_str_has_prefix (controller, "sips:127.0.0.1:"));
  g_assert_true (gtk_widget_get_visible (find ("activate-expires")));
  g_assert_false (gtk_widget_get_visible (find ("activate-error")));

  /* A wrong code: the reason on the page, nothing saved, same account. */
  wrong = g_strdup (code);
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  gtk_editable_set_text (GTK_EDITABLE (find ("activate-code")), wrong);
  click ("activate-confirm");
  g_assert_true (gtk_widget_get_visible (find ("activate-error")));
  g_assert_nonnull (strstr (label_text ("activate-error"), "activation code is wrong"));
  g_assert_cmpstr (visible_page (), ==, "activate");
  g_assert_true (g_file_get_contents (dest, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);
  g_clear_pointer (&after, g_free);
  g_assert_true (kc_application_get_account (T.app) == old_account);
  if (g_getenv ("KC_ACTIVATE_SHOT") != NULL)
    save_shot (g_getenv ("KC_ACTIVATE_SHOT"));

  /* The right code with a controller that is no sips: URI: still nothing. */
  gtk_editable_set_text (GTK_EDITABLE (find ("activate-controller")), "http://127.0.0.1");
  gtk_editable_set_text (GTK_EDITABLE (find ("activate-code")), code);
  g_assert_false (kc_window_activate (T.window));
  g_assert_nonnull (strstr (label_text ("activate-error"), "is not a sips: URI"));
  g_assert_true (g_file_get_contents (dest, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, before);
  g_clear_pointer (&after, g_free);

  /* The code as typed from paper, and the controller edited (no
   * parameters): saved where import saves it, and registered there. */
  bare = g_strndup (controller, strcspn (controller, ";"));
  gtk_editable_set_text (GTK_EDITABLE (find ("activate-controller")), bare);
  g_strdelimit (code, "-", ' ');
  gtk_editable_set_text (GTK_EDITABLE (find ("activate-code")), code);
  click ("activate-confirm");
  g_assert_false (gtk_widget_get_visible (find ("activate-error")));
  g_assert_cmpstr (visible_page (), ==, "phone");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find ("activate-code"))), ==, "");
  g_assert_cmpint (g_stat (dest, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (dest, &after, NULL, NULL));
  line = g_strdup_printf ("\ncontroller=%s\n", bare);
  g_assert_nonnull (strstr (after, line));
  g_assert_true (kc_application_get_account (T.app) != old_account);
  g_assert_cmpstr (kc_cta_account_get_number (kc_application_get_account (T.app)), ==, "1001");
  g_assert_true (wait_for (status_registered, NULL, WAIT_S));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (find ("account-status"))),
                            bare));
}

static void
test_dial_refuses_bad_number (void)
{
  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  gtk_editable_set_text (GTK_EDITABLE (find ("dial-entry")), "sips:alice@keycall.test");
  click ("call-button");
  g_assert_true (gtk_widget_get_visible (find ("dial-error")));
  g_assert_nonnull (strstr (label_text ("dial-error"), "not a Keycall number"));
  g_assert_null (kc_application_get_call (T.app));
}

static void
test_outgoing (void)
{
  g_autoptr(GPtrArray) titles = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *theirs = NULL;
  Proc *bob;
  gulong id;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  bob = start_cta ("1002", "--answer", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));

  id = g_signal_connect (find ("security-title"), "notify::label",
                         G_CALLBACK (on_label_changed), titles);
  /* Typed with the dial pad, as a URI would be pasted. */
  gtk_editable_set_text (GTK_EDITABLE (find ("dial-entry")), "sips:");
  click ("dial-key-1");
  click ("dial-key-0");
  click ("dial-key-0");
  click ("dial-key-2");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find ("dial-entry"))), ==, "sips:1002");
  click ("call-button");
  g_assert_false (gtk_widget_get_visible (find ("dial-error")));
  g_assert_true (call_page_shown (NULL));
  g_assert_cmpstr (label_text ("peer-number"), ==, "1002");

  theirs = proc_wait_line (bob, "^key received .*fingerprint " KC_UI_FINGERPRINT_RE);
  g_assert_nonnull (theirs);
  g_strstrip (theirs);
  g_assert_true (wait_for (call_secure, NULL, WAIT_S));
  g_assert_cmpstr (label_text ("fingerprint"), ==, theirs);
  g_assert_nonnull (strstr (label_text ("security-title"), "controller gc1"));
  g_assert_cmpstr (label_text ("suite"), ==, "AES_CM_128_HMAC_SHA1_80");
  g_assert_nonnull (strstr (label_text ("intercept-note"), "lawful intercept"));
  g_assert_cmpstr (label_text ("ack-confirmed"), !=, "not yet");
  /* Honest order: the panel said "not secure" before it said "encrypted". */
  g_assert_cmpuint (titles->len, >=, 2);
  g_assert_cmpstr (g_ptr_array_index (titles, 0), ==, "This call is NOT secure yet");
  g_signal_handler_disconnect (find ("security-title"), id);

  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_true (gtk_widget_is_sensitive (find ("mute-button")));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find ("mute-button")), TRUE);
  g_assert_true (kc_cta_call_get_muted (kc_application_get_call (T.app)));

  click ("hangup-button");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (bob->status, ==, 0);
  g_assert_nonnull (proc_wait_line (bob, "^ended 200()"));
  proc_free (bob);
}

static gboolean
notified (gpointer data)
{
  return T.notifications->len > 0;
}

static void
test_incoming (void)
{
  g_autofree char *theirs = NULL;
  g_autoptr(GPtrArray) history = NULL;
  Proc *carol;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  carol = start_cta ("1003", "--call", "1001", "--duration", "2", NULL);
  g_assert_true (wait_for (answer_offered, NULL, WAIT_S));
  g_assert_cmpstr (label_text ("peer-number"), ==, "1003");
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (T.app), "answer"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (T.app), "decline"));

  /* The notification offers the same two choices as the window. */
  g_assert_true (wait_for (notified, NULL, 5));
  g_assert_cmpuint (T.notifications->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (T.notifications, 0),
                                   "Incoming Keycall call|"));
  g_assert_nonnull (strstr (g_ptr_array_index (T.notifications, 0), "1003) is calling|")
                    ?: strstr (g_ptr_array_index (T.notifications, 0), "|1003 is calling|"));
  g_assert_nonnull (strstr (g_ptr_array_index (T.notifications, 0), "Answer,Decline,"));

  click ("answer-button");
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (T.app), "answer"));
  theirs = proc_wait_line (carol, "^key received .*fingerprint " KC_UI_FINGERPRINT_RE);
  g_assert_nonnull (theirs);
  g_strstrip (theirs);
  g_assert_true (call_secure (NULL));
  g_assert_cmpstr (label_text ("fingerprint"), ==, theirs);

  /* Carol hangs up after 2 s. */
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, carol, WAIT_S));
  g_assert_cmpint (carol->status, ==, 0);
  proc_free (carol);

  history = kc_history_load (kc_application_get_history_path (T.app), NULL);
  g_assert_nonnull (history);
  g_assert_cmpuint (history->len, ==, 2);
  g_assert_cmpstr (((KcHistoryEntry *) g_ptr_array_index (history, 0))->number, ==, "1003");
  g_assert_true (((KcHistoryEntry *) g_ptr_array_index (history, 0))->incoming);
  g_assert_true (((KcHistoryEntry *) g_ptr_array_index (history, 0))->answered);
  g_assert_cmpstr (((KcHistoryEntry *) g_ptr_array_index (history, 1))->number, ==, "1002");
  g_assert_nonnull (gtk_list_box_get_row_at_index (GTK_LIST_BOX (find ("history")), 1));
}

static int test_status;

/* The tests run inside g_application_run(), as the real program does, so
 * startup and shutdown (unregistering, D-Bus) are the real ones. */
static gboolean
run_tests (gpointer data)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (T.app));

  g_assert_nonnull (windows);
  T.window = KC_WINDOW (windows->data);
  settle (200);
  test_status = g_test_run ();
  gtk_window_destroy (GTK_WINDOW (T.window));
  g_application_release (G_APPLICATION (T.app));
  return G_SOURCE_REMOVE;
}

static void
on_activate (GApplication *app)
{
  static gboolean once;

  if (once)
    return;
  once = TRUE;
  g_application_hold (app);
  g_idle_add (run_tests, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = NULL;
  char *app_argv[] = { argv[0], NULL };

  T.tmp = g_dir_make_tmp ("keycall-ui-test-XXXXXX", &error);
  g_assert_no_error (error);
  private_dirs ();
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("KEYCALL_ADMIN") == NULL || g_getenv ("DISPLAY") == NULL) {
    g_test_message ("needs KEYCALL_ADMIN, KEYCALL_CONTROLLER, KEYCALL and a DISPLAY "
                    "(run through meson under scripts/with-test-env)");
    return 77;
  }
  if (!kc_ui_prepare (&T.runtime, &error))
    g_error ("%s", error->message);

  /* Calls in tests send and play silence, and the ring goes nowhere: no
   * sound device is involved. */
  g_setenv ("KEYCALL_RINGTONE_SINK", "fakesink", TRUE);
  settings = g_settings_new (KC_APPLICATION_ID);
  g_settings_set_string (settings, "audio-input", "none");
  g_settings_set_string (settings, "audio-output", "none");

  start_notification_server ();
  make_network ();

  g_test_add_func ("/ui/number", test_number);
  g_test_add_func ("/ui/import", test_import);
  g_test_add_func ("/ui/activate", test_activate);
  g_test_add_func ("/ui/dial-refuses-bad-number", test_dial_refuses_bad_number);
  g_test_add_func ("/ui/outgoing", test_outgoing);
  g_test_add_func ("/ui/incoming", test_incoming);
  ui_calls_add_tests ();
  ui_contacts_add_tests ();
  ui_keyboard_add_tests ();
  ui_host_add_tests ();

  T.app = kc_application_new (G_APPLICATION_NON_UNIQUE, NULL);
  g_signal_connect_after (T.app, "activate", G_CALLBACK (on_activate), NULL);
  g_application_run (G_APPLICATION (T.app), 1, app_argv);
  g_clear_object (&T.app);
  /* The account unregistered at shutdown; let it finish before the controller goes. */
  settle (300);
  proc_free (T.controller);
  kc_ui_cleanup (T.runtime);
  if (g_getenv ("KC_KEEP_TMP") == NULL)
    remove_tree (T.tmp);
  return test_status;
}
