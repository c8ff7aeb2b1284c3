/* test-ui-calls.c: the window in calls, against headless softphones: the
 * ringtone follows an incoming call (rings once the key is confirmed, stops
 * on answer, decline and the caller's cancel) and its panel names gc1 as the
 * key's creator, sip:/sips:/tel: URIs opened through GApplication dial, the preferences reach the next call (device
 * lists, codec order, the relay preference), keypad digits arrive as RFC 4733 events, the Hold
 * button holds and resumes the call, and, with
 * KC_UI_MEMORY=1, the process size after 50 calls.
 */
#define G_LOG_DOMAIN "test-ui"

#include "config.h"

#include "ui-test.h"

#include "kc-audio-device.h"
#include "kc-preferences.h"
#include "kc-ringtone.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static gboolean
ringing (gpointer data)
{
  return kc_application_is_ringing (T.app);
}

static gboolean
not_ringing (gpointer data)
{
  return !kc_application_is_ringing (T.app);
}

/* An incoming call from 1003; returns once the window offers to answer
 * and the ring plays. */
static Proc *
ring_from_carol (const char *duration)
{
  Proc *carol = start_cta ("1003", "--call", "1001", "--duration", duration, NULL);

  g_assert_false (kc_application_is_ringing (T.app));
  g_assert_true (wait_for (answer_offered, NULL, WAIT_S));
  g_assert_true (wait_for (ringing, NULL, WAIT_S));
  /* It rings only for a call whose key the controller confirmed. */
  g_assert_cmpint (kc_cta_call_get_state (kc_application_get_call (T.app)), ==,
                   KC_CTA_CALL_STATE_RINGING);
  g_assert_cmpint (kc_cta_call_get_ack_confirmed_time (kc_application_get_call (T.app)), >, 0);
  return carol;
}

static void
test_ringtone_answer (void)
{
  Proc *carol;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  carol = ring_from_carol ("1");
  /* gc1 made the key and delivered it (Keycall-Key-Origin on its 320):
   * the panel names it, not "the caller's controller". */
  g_assert_cmpstr (kc_cta_call_get_key_origin (kc_application_get_call (T.app)), ==, "gc1");
  g_assert_true (wait_for (call_secure, NULL, WAIT_S));
  g_assert_cmpstr (label_text ("security-title"), ==,
                   "Encrypted with a key created by controller gc1");
  /* Still ringing a little later: the ring is not a one-shot. */
  settle (500);
  g_assert_true (kc_application_is_ringing (T.app));
  click ("answer-button");
  g_assert_false (kc_application_is_ringing (T.app));
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_false (kc_application_is_ringing (T.app));
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, carol, WAIT_S));
  g_assert_cmpint (carol->status, ==, 0);
  proc_free (carol);
}

/* Declines the ringing call from the window: the caller hears 603 and the
 * phone page comes back. */
static void
decline_carol (Proc *carol)
{
  click ("decline-button");
  g_assert_false (kc_application_is_ringing (T.app));
  g_assert_nonnull (proc_wait_line (carol, "^failed 603()"));
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  proc_free (carol);
}

/* The Preferences' ringtone row: "silent" rings in the window only; any
 * other style plays; an unknown id falls back to the default. */
static void
test_ringtone_styles (void)
{
  GSettings *settings = kc_application_get_settings (T.app);
  g_autoptr(KcRingtone) tone = kc_ringtone_new ();
  const char *const *styles = kc_ringtone_styles ();
  g_autofree char *chosen = NULL;
  GtkWindow *prefs;
  GtkWidget *row;
  Proc *carol;
  guint silent = G_MAXUINT, european = G_MAXUINT;

  g_assert_cmpuint (g_strv_length ((char **) styles), ==, 4);
  for (guint i = 0; styles[i] != NULL; i++) {
    g_assert_nonnull (kc_ringtone_style_name (styles[i]));
    silent = g_str_equal (styles[i], "silent") ? i : silent;
    european = g_str_equal (styles[i], "european") ? i : european;
  }
  kc_ringtone_set_style (tone, "no-such-ring");
  g_assert_cmpstr (kc_ringtone_get_style (tone), ==, "north-american");
  g_assert_null (kc_ringtone_style_name ("no-such-ring"));

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  prefs = kc_preferences_new (settings, NULL);
  gtk_window_present (prefs);
  row = find_in (GTK_WIDGET (prefs), "ringtone");
  g_assert_nonnull (row);
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), silent);
  g_free (chosen);
  chosen = g_settings_get_string (settings, "ringtone");
  g_assert_cmpstr (chosen, ==, "silent");

  /* Silent: the call is offered, nothing plays. */
  carol = start_cta ("1003", "--call", "1001", "--duration", "1", NULL);
  g_assert_true (wait_for (answer_offered, NULL, WAIT_S));
  settle (300);
  g_assert_false (kc_application_is_ringing (T.app));
  decline_carol (carol);

  /* European: it plays. */
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), european);
  g_free (chosen);
  chosen = g_settings_get_string (settings, "ringtone");
  g_assert_cmpstr (chosen, ==, "european");
  carol = ring_from_carol ("1");
  decline_carol (carol);

  gtk_window_destroy (prefs);
  g_settings_reset (settings, "ringtone");
}

static void
test_ringtone_decline (void)
{
  Proc *carol;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  carol = ring_from_carol ("1");
  decline_carol (carol);
  g_assert_false (kc_application_is_ringing (T.app));
}

static void
test_ringtone_cancel (void)
{
  Proc *carol;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  carol = ring_from_carol ("1");
  /* Carol gives up: SIGTERM makes the headless phone CANCEL its call. */
  g_subprocess_send_signal (carol->proc, SIGTERM);
  g_assert_true (wait_for (not_ringing, NULL, WAIT_S));
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  proc_free (carol);
}

/* URIs */

static void
open_uri (const char *uri)
{
  g_autoptr(GFile) file = g_file_new_for_commandline_arg (uri);

  g_application_open (G_APPLICATION (T.app), &file, 1, "");
}

static void
test_open_uri (void)
{
  const char *uri = "sips:1002@127.0.0.1;transport=tls";
  g_autofree char *theirs = NULL;
  Proc *bob;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  /* Not a Keycall number: shown in the entry with the reason, no call. */
  open_uri ("sip:alice@example.com");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find ("dial-entry"))), ==,
                   "sip:alice@example.com");
  g_assert_true (gtk_widget_get_visible (find ("dial-error")));
  g_assert_nonnull (strstr (label_text ("dial-error"), "not a Keycall number"));
  g_assert_null (kc_application_get_call (T.app));

  bob = start_cta ("1002", "--answer", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  open_uri (uri);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find ("dial-entry"))), ==, uri);
  g_assert_false (gtk_widget_get_visible (find ("dial-error")));
  g_assert_nonnull (kc_application_get_call (T.app));
  g_assert_true (call_page_shown (NULL));
  g_assert_cmpstr (kc_cta_call_get_peer_number (kc_application_get_call (T.app)), ==, "1002");
  theirs = proc_wait_line (bob, "^key received .*fingerprint " KC_UI_FINGERPRINT_RE);
  g_assert_nonnull (theirs);
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));

  /* A second URI during the call places no second call. */
  open_uri ("tel:1003");
  g_assert_cmpstr (kc_cta_call_get_peer_number (kc_application_get_call (T.app)), ==, "1002");
  g_assert_nonnull (strstr (label_text ("dial-error"), "Hang up the current call first"));

  click ("hangup-button");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (bob->status, ==, 0);
  proc_free (bob);
}

static gboolean
call_placed (gpointer data)
{
  return kc_application_get_call (T.app) != NULL;
}

/* A URI opened before the account registered (keycall started by a link)
 * is dialled once it has. */
static void
test_open_uri_before_registered (void)
{
  g_autofree char *src = profile_path ("1001");
  g_autoptr(GFile) profile = g_file_new_for_path (src);
  Proc *bob;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  bob = start_cta ("1002", "--answer", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  /* Importing again starts a new account: it is registering. */
  g_assert_true (kc_window_import_file (T.window, profile));
  g_assert_cmpint (kc_cta_account_get_state (kc_application_get_account (T.app)), !=,
                   KC_CTA_REG_REGISTERED);
  open_uri ("tel:1002");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find ("dial-entry"))), ==, "tel:1002");
  g_assert_null (kc_application_get_call (T.app));
  g_assert_false (gtk_widget_get_visible (find ("dial-error")));

  g_assert_true (wait_for (call_placed, NULL, WAIT_S));
  g_assert_cmpstr (kc_cta_call_get_peer_number (kc_application_get_call (T.app)), ==, "1002");
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^key received "));
  click ("hangup-button");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  proc_free (bob);
  g_assert_true (wait_for (status_registered, NULL, WAIT_S));
}

/* Preferences */

static GtkWidget *
preferences_window (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* transfer none */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++) {
    g_autoptr(GtkWidget) w = g_list_model_get_item (toplevels, i);

    if (ADW_IS_PREFERENCES_WINDOW (w) && gtk_widget_get_visible (w))
      return w;
  }
  return NULL;
}

static gboolean
list_has (GListModel *model,
          const char *text)
{
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (model), i), text) == 0)
      return TRUE;
  return FALSE;
}

/* The combo row lists "Default device", "None (silence)", then each device
 * with channels in that direction, as kc_audio_list_devices() has them. */
static void
check_device_row (GtkWidget *prefs,
                  const char *key,
                  GPtrArray  *devices,
                  gboolean    input)
{
  GtkWidget *row = find_in (prefs, key);
  GListModel *model;
  guint expected = 2;

  g_assert_nonnull (row);
  model = adw_combo_row_get_model (ADW_COMBO_ROW (row));
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (model), 0), ==,
                   "Default device");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (model), 1), ==,
                   "None (silence)");
  /* The tests set "none": selected, and not listed again as unavailable. */
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (row)), ==, 1);
  for (guint i = 0; i < devices->len; i++) {
    const KcAudioDeviceInfo *info = g_ptr_array_index (devices, i);
    g_autofree char *label = g_strdup_printf ("%s (%s)", info->name, info->host_api);

    if ((input ? info->max_input_channels : info->max_output_channels) <= 0)
      continue;
    expected++;
    g_assert_true (list_has (model, label));
  }
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, expected);
}

static void
test_preferences (void)
{
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) codecs = NULL;
  GSettings *settings = kc_application_get_settings (T.app);
  GtkWidget *prefs, *output;
  guint outputs = 0;
  char *media;
  Proc *carol;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  devices = kc_audio_list_devices (&error);
  g_assert_no_error (error);
  for (guint i = 0; i < devices->len; i++)
    outputs += ((KcAudioDeviceInfo *) g_ptr_array_index (devices, i))->max_output_channels > 0;
  /* scripts/with-test-env runs a JACK dummy server: there are devices. */
  if (g_getenv ("JACK_DEFAULT_SERVER") != NULL)
    g_assert_cmpuint (outputs, >, 0);

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  prefs = preferences_window ();
  g_assert_nonnull (prefs);
  check_device_row (prefs, "audio-input", devices, TRUE);
  check_device_row (prefs, "audio-output", devices, FALSE);

  /* Choosing a device stores it for the next call. */
  output = find_in (prefs, "audio-output");
  if (outputs > 0) {
    adw_combo_row_set_selected (ADW_COMBO_ROW (output), 2);
    g_assert_true (g_str_has_prefix (g_settings_get_string (settings, "audio-output"),
                                     "device:"));
    adw_combo_row_set_selected (ADW_COMBO_ROW (output), 1);
  }
  g_assert_cmpstr (g_settings_get_string (settings, "audio-output"), ==, "none");

  /* PCMU moved above opus: the next call uses it. The answerer picks the
   * first of its own codecs that the offer has, so an incoming call shows
   * it: Carol offers opus first and gets PCMU. */
  codecs = g_settings_get_strv (settings, "codecs");
  g_assert_cmpstr (codecs[0], ==, "opus");
  g_assert_false (gtk_widget_get_sensitive (find_in (prefs, "codec-up-opus")));
  click_widget (find_in (prefs, "codec-up-PCMU"));
  g_strfreev (codecs);
  codecs = g_settings_get_strv (settings, "codecs");
  g_assert_cmpstr (codecs[0], ==, "PCMU");
  g_assert_cmpstr (codecs[1], ==, "opus");
  /* The rows were rebuilt in the new order. */
  g_assert_false (gtk_widget_get_sensitive (find_in (prefs, "codec-up-PCMU")));
  g_assert_true (gtk_widget_get_sensitive (find_in (prefs, "codec-up-opus")));
  gtk_window_destroy (GTK_WINDOW (prefs));

  carol = start_cta ("1003", "--call", "1001", "--duration", "1", NULL);
  g_assert_true (wait_for (answer_offered, NULL, WAIT_S));
  click ("answer-button");
  media = proc_wait_line (carol, "^media started (.*)");
  g_assert_nonnull (media);
  g_assert_nonnull (strstr (media, ", PCMU/8000, "));
  g_free (media);
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, carol, WAIT_S));
  g_assert_cmpint (carol->status, ==, 0);
  proc_free (carol);
  g_settings_reset (settings, "codecs");
}

/* The relay preference: the Media Path row sets media-path, the account
 * asks for direct media and registers again at once (the controller keeps
 * the request with the binding; tests/integration/test-direct-media checks
 * what it does with it). */

static void
on_registered_count (KcCtaAccount *account,
                     guint        *count)
{
  (*count)++;
}

static gboolean
registered_again (gpointer data)
{
  return *(guint *) data > 0;
}

static void
test_media_path (void)
{
  GSettings *settings = kc_application_get_settings (T.app);
  KcCtaAccount *account;
  g_autofree char *path = NULL;
  GtkWidget *prefs, *row;
  guint registers = 0;
  gulong id;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  account = kc_application_get_account (T.app);
  path = g_settings_get_string (settings, "media-path");
  g_assert_cmpstr (path, ==, "relay");
  g_assert_false (kc_cta_account_get_direct_media (account));

  g_action_group_activate_action (G_ACTION_GROUP (T.app), "preferences", NULL);
  prefs = preferences_window ();
  g_assert_nonnull (prefs);
  row = find_in (prefs, "media-path");
  g_assert_nonnull (row);
  g_assert_cmpuint (adw_combo_row_get_selected (ADW_COMBO_ROW (row)), ==, 0);

  id = g_signal_connect (account, "registered", G_CALLBACK (on_registered_count), &registers);
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), 1);
  g_free (path);
  path = g_settings_get_string (settings, "media-path");
  g_assert_cmpstr (path, ==, "direct");
  g_assert_true (kc_cta_account_get_direct_media (account));
  g_assert_true (wait_for (registered_again, &registers, WAIT_S));

  /* Back to the relay: another REGISTER, without the request. */
  registers = 0;
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), 0);
  g_assert_false (kc_cta_account_get_direct_media (account));
  g_assert_true (wait_for (registered_again, &registers, WAIT_S));
  g_signal_handler_disconnect (account, id);
  gtk_window_destroy (GTK_WINDOW (prefs));
  g_settings_reset (settings, "media-path");
}

/* DTMF */

static gboolean
all_digits_arrived (gpointer data)
{
  Proc *p = data;

  return proc_count_lines (p, "^dtmf received ") >= 5 || p->exited;
}

static void
test_dtmf (void)
{
  const char digits[] = "15#*0";
  g_autoptr(GString) got = g_string_new (NULL);
  g_autoptr(GRegex) regex = g_regex_new ("^dtmf received (.) (\\d+) ms", 0, 0, NULL);
  GtkWidget *revealer;
  Proc *bob;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  bob = start_cta ("1002", "--answer", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  g_assert_true (kc_window_dial (T.window, "1002"));
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^media started()"));
  revealer = gtk_widget_get_ancestor (find ("dtmf-key-1"), GTK_TYPE_REVEALER);
  g_assert_false (gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (find ("keypad-button")), TRUE);
  g_assert_true (gtk_revealer_get_reveal_child (GTK_REVEALER (revealer)));
  for (const char *d = digits; *d != '\0'; d++) {
    g_autofree char *name = g_strdup_printf ("dtmf-key-%c", *d);

    click (name);
    settle (150);
  }
  /* Each key press arrives once, in order, as an event of about 100 ms. */
  g_assert_true (wait_for (all_digits_arrived, bob, WAIT_S));
  for (guint i = 0; i < bob->lines->len; i++) {
    g_autoptr(GMatchInfo) match = NULL;

    if (g_regex_match (regex, g_ptr_array_index (bob->lines, i), 0, &match)) {
      g_autofree char *digit = g_match_info_fetch (match, 1);
      g_autofree char *ms = g_match_info_fetch (match, 2);

      g_string_append (got, digit);
      g_assert_cmpint (atoi (ms), >=, 80);
      g_assert_cmpint (atoi (ms), <=, 200);
    }
  }
  g_assert_cmpstr (got->str, ==, digits);

  click ("hangup-button");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (bob->status, ==, 0);
  proc_free (bob);
}

/* Hold: the other phone's hold shows as "Held by …" until it resumes; the
 * Hold toggle (keyboard reachable) holds the call once the other phone
 * agreed, the state says so, the other phone reports it is held, the key
 * panel does not change, and a second toggle resumes. */

static gboolean
call_held (gpointer data)
{
  KcCtaCall *call = kc_application_get_call (T.app);

  return call != NULL && kc_cta_call_get_held (call) == GPOINTER_TO_INT (data)
         && gtk_widget_get_sensitive (find ("hold-button"));
}

static gboolean
state_starts_with (gpointer data)
{
  return g_str_has_prefix (label_text ("call-state"), data);
}

static void
test_hold (void)
{
  g_autofree char *fingerprint = NULL;
  GtkWidget *hold;
  Proc *bob;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  /* Bob holds first (2 s after the answer) and resumes 2 s later. */
  bob = start_cta ("1002", "--answer", "--hold-after", "2", "--hold-for", "2", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  g_assert_true (kc_window_dial (T.window, "1002"));
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^media started()"));
  g_assert_true (wait_for (state_starts_with, (gpointer) "Held by ", WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^held()"));
  g_assert_nonnull (proc_wait_line (bob, "^resumed()"));
  g_assert_true (wait_for (state_starts_with, (gpointer) "Connected", WAIT_S));
  hold = find ("hold-button");
  g_assert_true (gtk_widget_get_focusable (hold));
  g_assert_true (wait_for (call_held, GINT_TO_POINTER (FALSE), WAIT_S));
  fingerprint = g_strdup (label_text ("fingerprint"));

  click ("hold-button");
  g_assert_true (wait_for (call_held, GINT_TO_POINTER (TRUE), WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^remote held()"));
  g_assert_true (g_str_has_prefix (label_text ("call-state"), "On hold"));
  g_assert_true (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (hold)));
  g_assert_cmpstr (gtk_widget_get_tooltip_text (hold), ==, "Resume");
  g_assert_cmpstr (label_text ("fingerprint"), ==, fingerprint);

  click ("hold-button");
  g_assert_true (wait_for (call_held, GINT_TO_POINTER (FALSE), WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^remote resumed()"));
  g_assert_true (g_str_has_prefix (label_text ("call-state"), "Connected"));
  g_assert_cmpstr (label_text ("fingerprint"), ==, fingerprint);

  click ("hangup-button");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (bob->status, ==, 0);
  proc_free (bob);
}

/* Memory: 50 calls placed, answered and hung up, each to a new headless
 * phone (it answers one call only). The growth of VmRSS from after the
 * first call to after the fiftieth must stay under 10 %. */

static long
vm_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "\nVmRSS:");
  g_assert_nonnull (line);
  return strtol (line + strlen ("\nVmRSS:"), NULL, 10);
}

static void
one_call (void)
{
  Proc *bob = start_cta ("1002", "--answer", NULL);

  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  g_assert_true (kc_window_dial (T.window, "1002"));
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));
  g_assert_nonnull (proc_wait_line (bob, "^media started()"));
  settle (300);
  click ("hangup-button");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (bob->status, ==, 0);
  proc_free (bob);
  /* Let the toast and the closing connections finish. */
  settle (200);
}

static void
test_memory (void)
{
  const guint calls = 50;
  long first = 0, last;
  double ratio;

  if (g_strcmp0 (g_getenv ("KC_UI_MEMORY"), "1") != 0) {
    g_test_skip ("set KC_UI_MEMORY=1 to place 50 calls and compare the RSS");
    return;
  }
  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  for (guint i = 1; i <= calls; i++) {
    one_call ();
    if (i == 1)
      first = vm_rss_kib ();
    if (i % 10 == 0)
      g_test_message ("RSS after call %u: %ld KiB", i, vm_rss_kib ());
  }
  last = vm_rss_kib ();
  ratio = (double) last / (double) first;
  g_test_message ("RSS after call 1: %ld KiB, after call %u: %ld KiB, ratio %.3f",
                  first, calls, last, ratio);
  g_print ("# memory: RSS after call 1 %ld KiB, after call %u %ld KiB, ratio %.3f\n",
           first, calls, last, ratio);
  g_assert_cmpfloat (ratio, <=, 1.10);
}

void
ui_calls_add_tests (void)
{
  g_test_add_func ("/ui/ringtone/answer", test_ringtone_answer);
  g_test_add_func ("/ui/ringtone/decline", test_ringtone_decline);
  g_test_add_func ("/ui/ringtone/cancel", test_ringtone_cancel);
  g_test_add_func ("/ui/ringtone/styles", test_ringtone_styles);
  g_test_add_func ("/ui/open-uri", test_open_uri);
  g_test_add_func ("/ui/open-uri-before-registered", test_open_uri_before_registered);
  g_test_add_func ("/ui/preferences", test_preferences);
  g_test_add_func ("/ui/preferences/media-path", test_media_path);
  g_test_add_func ("/ui/dtmf", test_dtmf);
  g_test_add_func ("/ui/hold", test_hold);
  g_test_add_func ("/ui/memory", test_memory);
}
