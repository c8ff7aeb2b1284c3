/* test-ui-window.c: the softphone window against a real network: a
 * controller provisioned with keycall-admin and headless softphones, all
 * on 127.0.0.1. Import a profile, register, call out and answer a call,
 * and check the security panel shows the fingerprint the other phone got.
 */
#define G_LOG_DOMAIN "test-ui"

#include "config.h"

#include "kc-application.h"
#include "kc-history.h"
#include "kc-number.h"
#include "kc-ui.h"
#include "kc-window.h"

#include "kc-error.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define WAIT_S 20

typedef struct {
  GSubprocess      *proc;
  GDataInputStream *out;
  GPtrArray        *lines;
  gboolean          eof;
  gboolean          exited;
  int               status;
  char             *name;
} Proc;

static struct {
  char          *tmp;
  char          *net;
  char          *runtime;
  Proc          *controller;
  KcApplication *app;
  KcWindow      *window;
  gboolean       registered;
  GPtrArray     *notifications;   /* "summary|body|action labels" sent to the fake server */
} T;

/* Processes */

static void read_next (Proc *p);

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Proc *p = data;
  g_autoptr(GError) error = NULL;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, &error);

  if (line == NULL) {
    p->eof = TRUE;
    return;
  }
  g_test_message ("%s: %s", p->name, line);
  g_ptr_array_add (p->lines, line);
  read_next (p);
}

static void
read_next (Proc *p)
{
  g_data_input_stream_read_line_async (p->out, G_PRIORITY_DEFAULT, NULL, on_line, p);
}

static void
on_proc_exit (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Proc *p = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  p->status = g_subprocess_get_if_exited (p->proc) ? g_subprocess_get_exit_status (p->proc) : -1;
  p->exited = TRUE;
}

/* A test that dies (a failed assertion aborts) takes its servers along. */
static void
die_with_parent (gpointer user_data)
{
  (void) user_data;
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static Proc *
proc_start (const char *name,
            ...)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err_path = g_strdup_printf ("%s/%s.stderr", T.tmp, name);
  Proc *p = g_new0 (Proc, 1);
  const char *arg;
  va_list ap;

  va_start (ap, name);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  p->name = g_strdup (name);
  p->lines = g_ptr_array_new_with_free_func (g_free);
  p->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  p->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p->proc));
  read_next (p);
  g_subprocess_wait_async (p->proc, NULL, on_proc_exit, p);
  return p;
}

static gboolean
on_wake (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until @done(@data) or @seconds pass. */
static gboolean
wait_for (gboolean (*done) (gpointer data),
          gpointer data,
          int      seconds)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds ((guint) seconds, on_wake, &timed_out);

  while (!done (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return done (data);
}

static void
settle (int ms)
{
  gboolean woke = FALSE;

  g_timeout_add ((guint) ms, on_wake, &woke);
  while (!woke)
    g_main_context_iteration (NULL, TRUE);
}

typedef struct {
  Proc       *proc;
  GRegex     *regex;
  GMatchInfo *match;
} LineWait;

static gboolean
line_seen (gpointer data)
{
  LineWait *w = data;

  for (guint i = 0; i < w->proc->lines->len; i++) {
    g_clear_pointer (&w->match, g_match_info_unref);
    if (g_regex_match (w->regex, g_ptr_array_index (w->proc->lines, i), 0, &w->match))
      return TRUE;
  }
  g_clear_pointer (&w->match, g_match_info_unref);
  return w->proc->eof && w->proc->exited;
}

/* Group 1 of the first stdout line of @p matching @pattern, or "" if it
 * matched without a group; NULL if none came in time. */
static char *
proc_wait_line (Proc       *p,
                const char *pattern)
{
  LineWait w = { p, g_regex_new (pattern, 0, 0, NULL), NULL };
  char *result = NULL;

  wait_for (line_seen, &w, WAIT_S);
  if (w.match != NULL) {
    result = g_match_info_fetch (w.match, 1);
    if (result == NULL)
      result = g_strdup ("");
  }
  g_clear_pointer (&w.match, g_match_info_unref);
  g_regex_unref (w.regex);
  return result;
}

static gboolean
proc_exited (gpointer data)
{
  return ((Proc *) data)->exited;
}

static void
proc_free (Proc *p)
{
  if (p == NULL)
    return;
  if (!p->exited) {
    g_subprocess_send_signal (p->proc, SIGTERM);
    wait_for (proc_exited, p, 5);
    if (!p->exited)
      g_subprocess_force_exit (p->proc);
    wait_for (proc_exited, p, 5);
  }
  /* Let the pending line read finish before the stream goes. */
  while (!p->eof)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (p->out);
  g_object_unref (p->proc);
  g_ptr_array_unref (p->lines);
  g_free (p->name);
  g_free (p);
}

static void
admin (const char *first,
       ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (char *) g_getenv ("KEYCALL_ADMIN"));
  g_ptr_array_add (argv, (char *) "--dir");
  g_ptr_array_add (argv, T.net);
  g_ptr_array_add (argv, (char *) first);
  va_start (ap, first);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (proc) != 0)
    g_error ("keycall-admin %s failed: %s", first, err);
}

static guint16
free_port (void)
{
  g_autoptr(GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                          G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (sock, any, FALSE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static char *
profile_path (const char *number)
{
  return g_strdup_printf ("%s/subscribers/%s/%s.keycall", T.net, number, number);
}

static Proc *
start_cta (const char *number,
           ...)
{
  g_autofree char *profile = profile_path (number);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", free_port ());
  g_autofree char *name = g_strdup_printf ("cta-%s", number);
  const char *extra[4] = { NULL };
  const char *arg;
  Proc *p;
  va_list ap;
  guint n = 0;

  va_start (ap, number);
  while ((arg = va_arg (ap, const char *)) != NULL && n < G_N_ELEMENTS (extra))
    extra[n++] = arg;
  va_end (ap);
  p = proc_start (name, g_getenv ("KEYCALL"), "--headless", "--profile", profile, "--listen",
                  listen, "--timeout", "40", extra[0], extra[1], extra[2], extra[3], NULL);
  return p;
}

/* A notification server on the test's session bus: records what the
 * application shows (GNotification uses org.freedesktop.Notifications). */

static const char notify_xml[] =
  "<node><interface name='org.freedesktop.Notifications'>"
  "<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
  "<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
  "<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/>"
  "<arg type='i' direction='in'/><arg type='u' direction='out'/></method>"
  "<method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "<method name='GetServerInformation'><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "<arg type='s' direction='out'/></method>"
  "<signal name='ActionInvoked'><arg type='u'/><arg type='s'/></signal>"
  "<signal name='NotificationClosed'><arg type='u'/><arg type='u'/></signal>"
  "</interface></node>";

static void
on_notify_call (GDBusConnection       *connection,
                const char            *sender,
                const char            *path,
                const char            *interface,
                const char            *method,
                GVariant              *params,
                GDBusMethodInvocation *invocation,
                gpointer               data)
{
  if (g_strcmp0 (method, "Notify") == 0) {
    const char *summary, *body;
    g_autofree const char **actions = NULL;
    g_autoptr(GString) record = g_string_new (NULL);

    g_variant_get_child (params, 3, "&s", &summary);
    g_variant_get_child (params, 4, "&s", &body);
    g_variant_get_child (params, 5, "^a&s", &actions);
    g_string_printf (record, "%s|%s|", summary, body);
    /* Actions come as (id, label) pairs. */
    for (guint i = 1; actions[i - 1] != NULL && actions[i] != NULL; i += 2)
      g_string_append_printf (record, "%s,", actions[i]);
    g_ptr_array_add (T.notifications, g_string_free (g_steal_pointer (&record), FALSE));
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", T.notifications->len));
  } else if (g_strcmp0 (method, "CloseNotification") == 0) {
    g_dbus_method_invocation_return_value (invocation, NULL);
  } else if (g_strcmp0 (method, "GetCapabilities") == 0) {
    const char *caps[] = { "actions", "body", NULL };

    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(^as)", caps));
  } else {
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(ssss)", "test", "keycall", "1", "1.2"));
  }
}

static gboolean
name_owned (gpointer data)
{
  return *(gboolean *) data;
}

static void
on_name_acquired (GDBusConnection *connection,
                  const char      *name,
                  gpointer         data)
{
  *(gboolean *) data = TRUE;
}

static void
start_notification_server (void)
{
  static const GDBusInterfaceVTable vtable = { on_notify_call, NULL, NULL, { 0 } };
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (notify_xml, NULL);
  g_autoptr(GError) error = NULL;
  GDBusConnection *bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  static gboolean owned;

  g_assert_no_error (error);
  T.notifications = g_ptr_array_new_with_free_func (g_free);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications",
                                     info->interfaces[0], &vtable, NULL, NULL, &error);
  g_assert_no_error (error);
  g_bus_own_name_on_connection (bus, "org.freedesktop.Notifications", G_BUS_NAME_OWNER_FLAGS_NONE,
                                on_name_acquired, NULL, &owned, NULL);
  g_assert_true (wait_for (name_owned, &owned, 5));
}

/* Widgets, found by name as a person finds them by label. */

static GtkWidget *
find_in (GtkWidget  *widget,
         const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c)) {
    GtkWidget *found = find_in (c, name);

    if (found != NULL)
      return found;
  }
  return NULL;
}

static GtkWidget *
find (const char *name)
{
  GtkWidget *w = find_in (GTK_WIDGET (T.window), name);

  g_assert_nonnull (w);
  return w;
}

static const char *
label_text (const char *name)
{
  return gtk_label_get_text (GTK_LABEL (find (name)));
}

static void
click (const char *name)
{
  GtkWidget *button = find (name);

  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_is_visible (button));
  g_signal_emit_by_name (button, "clicked");
}

static const char *
visible_page (void)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (
    gtk_widget_get_ancestor (find ("dial-entry"), GTK_TYPE_STACK)));
}

static gboolean
status_registered (gpointer data)
{
  const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (find ("account-status")));

  return g_str_has_prefix (title, "Registered as 1001 at controller gc1");
}

static gboolean
call_page_shown (gpointer data)
{
  return g_strcmp0 (visible_page (), "call") == 0;
}

static gboolean
phone_page_shown (gpointer data)
{
  return g_strcmp0 (visible_page (), "phone") == 0
         && kc_application_get_call (T.app) == NULL;
}

static gboolean
call_connected (gpointer data)
{
  return g_str_has_prefix (label_text ("call-state"), "Connected");
}

static gboolean
call_secure (gpointer data)
{
  return g_str_has_prefix (label_text ("security-title"), "Encrypted with a key created by")
         && gtk_widget_get_visible (find ("fingerprint"));
}

static gboolean
answer_offered (gpointer data)
{
  return call_page_shown (NULL) && gtk_widget_get_visible (find ("answer-button"))
         && gtk_widget_get_visible (gtk_widget_get_parent (find ("answer-button")));
}

static void
on_label_changed (GtkLabel   *label,
                  GParamSpec *pspec,
                  GPtrArray  *seen)
{
  const char *text = gtk_label_get_text (label);

  if (*text != '\0' && (seen->len == 0
                        || g_strcmp0 (g_ptr_array_index (seen, seen->len - 1), text) != 0))
    g_ptr_array_add (seen, g_strdup (text));
}

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

  /* First run: no profile, so the import page. */
  g_assert_cmpstr (visible_page (), ==, "import");
  g_assert_false (gtk_widget_get_visible (find ("import-error")));

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

  theirs = proc_wait_line (bob, "^key received .*fingerprint ((?:[0-9a-f]{4} ?){4})");
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
  theirs = proc_wait_line (carol, "^key received .*fingerprint ((?:[0-9a-f]{4} ?){4})");
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

/* Setup */

static void
make_network (void)
{
  g_autofree char *port = g_strdup_printf ("%u", free_port ());
  g_autofree char *ini = NULL;

  T.net = g_build_filename (T.tmp, "net", NULL);
  admin ("init", "--name", "UI Test Net", NULL);
  admin ("controller", "add", "gc1", "--host", "127.0.0.1", "--port", port, "--prefix", "1",
         NULL);
  admin ("lea", "add", "lea1", NULL);
  for (guint i = 0; i < 3; i++) {
    const char *numbers[] = { "1001", "1002", "1003" };
    const char *names[] = { "Alice", "Bob", "Carol" };

    admin ("subscriber", "add", numbers[i], "--name", names[i], "--controller", "gc1", NULL);
    admin ("profile", "export", numbers[i], NULL);
  }
  ini = g_build_filename (T.net, "controllers", "gc1", "controller.ini", NULL);
  T.controller = proc_start ("gc1", g_getenv ("KEYCALL_CONTROLLER"), "--headless", "--config",
                             ini, "--keepalive", "1", "--ack-timeout", "2", NULL);
  if (proc_wait_line (T.controller, "^listening (sips:\\S+)") == NULL)
    g_error ("the controller did not start (see %s/gc1.stderr)", T.tmp);
}

static void
private_dirs (void)
{
  const char *vars[] = { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HOME" };

  for (guint i = 0; i < G_N_ELEMENTS (vars); i++) {
    g_autofree char *dir = g_build_filename (T.tmp, vars[i], NULL);

    g_mkdir (dir, 0700);
    g_setenv (vars[i], dir, TRUE);
  }
}

static void
remove_tree (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileEnumerator) e =
    g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                               G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;

  while (e != NULL && (info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL) {
    g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

    if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
      remove_tree (child);
    else
      g_unlink (child);
    g_object_unref (info);
  }
  g_rmdir (path);
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

  /* Calls in tests send and play silence: no sound device is involved. */
  settings = g_settings_new (KC_APPLICATION_ID);
  g_settings_set_string (settings, "audio-input", "none");
  g_settings_set_string (settings, "audio-output", "none");

  start_notification_server ();
  make_network ();

  g_test_add_func ("/ui/number", test_number);
  g_test_add_func ("/ui/import", test_import);
  g_test_add_func ("/ui/dial-refuses-bad-number", test_dial_refuses_bad_number);
  g_test_add_func ("/ui/outgoing", test_outgoing);
  g_test_add_func ("/ui/incoming", test_incoming);

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
