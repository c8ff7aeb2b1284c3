/* test-ui-host.c: the embedded controller. The preferences' switch starts a
 * real controller inside the app (gc2, provisioned with keycall-admin), two
 * headless softphones register at it and call through it, the controller
 * window opens from the menu on its events, and the switch stops it.
 */
#include "config.h"

#include "ui-test.h"

#include "kc-event.h"
#include "kc-flow-window.h"
#include "kc-host.h"
#include "kc-preferences.h"

#include <gio/gio.h>

static char *gc2_ini;

static gboolean
host_running (gpointer data)
{
  return kc_host_is_running (kc_application_get_host (T.app));
}

static gboolean
host_stopped (gpointer data)
{
  return !kc_host_is_running (kc_application_get_host (T.app));
}

static gboolean
host_failed (gpointer data)
{
  return kc_host_get_error (kc_application_get_host (T.app)) != NULL;
}

static gboolean
model_has_kind (gpointer data)
{
  KcFlowModel *model = kc_host_get_model (kc_application_get_host (T.app));
  KcEventKind kind = GPOINTER_TO_INT (data);

  for (guint i = 0; i < kc_flow_model_get_n_events (model); i++)
    if (kc_event_get_kind (kc_flow_model_get_event (model, i)) == kind)
      return TRUE;
  return FALSE;
}

static GtkWindow *
flow_window (void)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (T.app)); l != NULL; l = l->next)
    if (KC_IS_FLOW_WINDOW (l->data))
      return l->data;
  return NULL;
}

static gboolean
port_open (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;

  g_socket_client_set_timeout (client, 2);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return conn != NULL;
}

/* gc2 serves 2xxx; it is provisioned now and never started by the tests'
 * own controller process. */
static void
provision_gc2 (void)
{
  guint16 port = free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);

  if (gc2_ini != NULL)
    return;
  admin ("controller", "add", "gc2", "--host", "127.0.0.1", "--port", port_text,
         "--prefix", "2", NULL);
  admin ("subscriber", "add", "2001", "--name", "Dora", "--controller", "gc2", NULL);
  admin ("subscriber", "add", "2002", "--name", "Eve", "--controller", "gc2", NULL);
  admin ("profile", "export", "2001", NULL);
  admin ("profile", "export", "2002", NULL);
  gc2_ini = g_build_filename (T.net, "controllers", "gc2", "controller.ini", NULL);
  g_object_set_data (G_OBJECT (T.app), "gc2-port", GUINT_TO_POINTER (port));
}

static void
test_host_bad_config (void)
{
  GSettings *settings = kc_application_get_settings (T.app);
  KcHost *host = kc_application_get_host (T.app);
  g_autofree char *missing = g_build_filename (T.tmp, "no-such-controller.ini", NULL);
  GtkWindow *prefs;
  const char *subtitle;

  g_settings_set_string (settings, "host-controller-config", missing);
  g_settings_set_boolean (settings, "host-controller", TRUE);
  g_assert_true (wait_for (host_failed, NULL, 5));
  g_assert_false (kc_host_is_running (host));
  g_assert_nonnull (strstr (kc_host_get_error (host), "no-such-controller.ini"));

  /* The preferences say why, on the switch's row. */
  prefs = kc_preferences_new (settings, host);
  gtk_window_present (prefs);
  settle (100);
  subtitle = adw_action_row_get_subtitle (
    ADW_ACTION_ROW (find_in (GTK_WIDGET (prefs), "host-controller-state")));
  g_assert_true (g_str_has_prefix (subtitle, "Not running: "));
  g_assert_nonnull (strstr (subtitle, "no-such-controller.ini"));
  g_assert_true (gtk_switch_get_active (GTK_SWITCH (find_in (GTK_WIDGET (prefs),
                                                             "host-controller"))));

  /* The controller window has nothing to show yet. */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (T.app),
                                                     "controller-flow"));

  /* The switch, turned off, clears nothing but the run. */
  gtk_switch_set_active (GTK_SWITCH (find_in (GTK_WIDGET (prefs), "host-controller")), FALSE);
  g_assert_false (g_settings_get_boolean (settings, "host-controller"));
  gtk_window_destroy (prefs);
}

static void
test_host_call (void)
{
  GSettings *settings = kc_application_get_settings (T.app);
  KcHost *host = kc_application_get_host (T.app);
  g_autofree char *expected_uri = NULL;
  guint16 port;
  GtkWindow *prefs, *window;
  Proc *callee, *caller;

  provision_gc2 ();
  port = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (T.app), "gc2-port"));
  expected_uri = g_strdup_printf ("sips:127.0.0.1:%u", port);

  g_settings_set_string (settings, "host-controller-config", gc2_ini);
  g_settings_set_boolean (settings, "host-controller", TRUE);
  g_assert_true (wait_for (host_running, NULL, 10));
  g_assert_null (kc_host_get_error (host));
  g_assert_cmpstr (kc_host_get_name (host), ==, "gc2");
  g_assert_cmpstr (kc_host_get_listen_uri (host), ==, expected_uri);
  g_assert_true (port_open (port));

  prefs = kc_preferences_new (settings, host);
  gtk_window_present (prefs);
  settle (100);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (
    ADW_ACTION_ROW (find_in (GTK_WIDGET (prefs), "host-controller-state"))), expected_uri));
  gtk_window_destroy (prefs);

  /* Two softphones of gc2 call each other through the app's controller. */
  callee = start_cta ("2001", "--answer", "--duration", "1", NULL);
  g_assert_nonnull (proc_wait_line (callee, "^registered 2001 at gc2\\b"));
  caller = start_cta ("2002", "--call", "2001", "--duration", "1", NULL);
  g_assert_nonnull (proc_wait_line (caller, "^key acknowledged"));
  g_assert_true (wait_for (proc_exited, caller, WAIT_S));
  g_assert_cmpint (caller->status, ==, 0);
  g_assert_true (wait_for (model_has_kind, GINT_TO_POINTER (KC_EVENT_KIND_REGISTER), 5));
  g_assert_true (wait_for (model_has_kind, GINT_TO_POINTER (KC_EVENT_KIND_KEY_CREATED), 5));
  g_assert_true (wait_for (model_has_kind, GINT_TO_POINTER (KC_EVENT_KIND_KEY_ACK), 5));

  /* The menu's Controller Flow opens the ladder of those events. */
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (T.app), "controller-flow"));
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "controller-flow", NULL);
  settle (200);
  window = flow_window ();
  g_assert_nonnull (window);
  g_assert_true (kc_flow_window_get_model (KC_FLOW_WINDOW (window))
                 == kc_host_get_model (host));
  /* Activated again, the same window comes forward. */
  g_action_group_activate_action (G_ACTION_GROUP (T.app), "controller-flow", NULL);
  settle (100);
  g_assert_true (flow_window () == window);

  /* Off: the controller stops and its port closes; its window keeps the
   * events it had. */
  g_settings_set_boolean (settings, "host-controller", FALSE);
  g_assert_true (wait_for (host_stopped, NULL, 5));
  settle (700);
  g_assert_false (port_open (port));
  g_assert_cmpuint (kc_flow_model_get_n_events (kc_host_get_model (host)), >, 0);
  gtk_window_destroy (window);
  settle (100);
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (T.app),
                                                     "controller-flow"));

  proc_free (caller);
  proc_free (callee);
}

void
ui_host_add_tests (void)
{
  g_test_add_func ("/ui/host/bad-config", test_host_bad_config);
  g_test_add_func ("/ui/host/call", test_host_call);
}
