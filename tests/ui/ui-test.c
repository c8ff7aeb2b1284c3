/* ui-test.c: what the UI tests share (ui-test.h): processes and their
 * stdout lines, the main loop waits, the demo network, a notification
 * server, and finding widgets by name.
 */
#define G_LOG_DOMAIN "test-ui"

#include "config.h"

#include "ui-test.h"

#include "kc-tool.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

UiTest T;

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

Proc *
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
gboolean
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

void
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
char *
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

guint
proc_count_lines (Proc       *p,
                  const char *pattern)
{
  g_autoptr(GRegex) regex = g_regex_new (pattern, 0, 0, NULL);
  guint n = 0;

  for (guint i = 0; i < p->lines->len; i++)
    n += g_regex_match (regex, g_ptr_array_index (p->lines, i), 0, NULL);
  return n;
}

gboolean
proc_exited (gpointer data)
{
  return ((Proc *) data)->exited;
}

void
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

void
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

guint16
free_port (void)
{
  guint16 port = kc_tool_free_port ();

  g_assert_cmpuint (port, !=, 0);
  return port;
}

char *
profile_path (const char *number)
{
  return g_strdup_printf ("%s/subscribers/%s/%s.keycall", T.net, number, number);
}

Proc *
start_cta (const char *number,
           ...)
{
  g_autofree char *profile = profile_path (number);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", free_port ());
  g_autofree char *name = g_strdup_printf ("cta-%s", number);
  const char *extra[6] = { NULL };
  const char *arg;
  Proc *p;
  va_list ap;
  guint n = 0;

  va_start (ap, number);
  while ((arg = va_arg (ap, const char *)) != NULL && n < G_N_ELEMENTS (extra))
    extra[n++] = arg;
  va_end (ap);
  p = proc_start (name, g_getenv ("KEYCALL"), "--headless", "--profile", profile, "--listen",
                  listen, "--timeout", "40", extra[0], extra[1], extra[2], extra[3], extra[4],
                  extra[5], NULL);
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

void
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

GtkWidget *
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

GtkWidget *
find (const char *name)
{
  GtkWidget *w = find_in (GTK_WIDGET (T.window), name);

  g_assert_nonnull (w);
  return w;
}

const char *
label_text (const char *name)
{
  return gtk_label_get_text (GTK_LABEL (find (name)));
}

void
click (const char *name)
{
  click_widget (find (name));
}

void
click_widget (GtkWidget *button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_is_visible (button));
  g_signal_emit_by_name (button, "clicked");
}

const char *
visible_page (void)
{
  return gtk_stack_get_visible_child_name (GTK_STACK (
    gtk_widget_get_ancestor (find ("dial-entry"), GTK_TYPE_STACK)));
}

gboolean
status_registered (gpointer data)
{
  const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (find ("account-status")));

  return g_str_has_prefix (title, "Registered as 1001 at controller gc1");
}

gboolean
call_page_shown (gpointer data)
{
  return g_strcmp0 (visible_page (), "call") == 0;
}

gboolean
phone_page_shown (gpointer data)
{
  return g_strcmp0 (visible_page (), "phone") == 0
         && kc_application_get_call (T.app) == NULL;
}

gboolean
call_connected (gpointer data)
{
  return g_str_has_prefix (label_text ("call-state"), "Connected");
}

gboolean
call_secure (gpointer data)
{
  return g_str_has_prefix (label_text ("security-title"), "Encrypted with a key created by")
         && gtk_widget_get_visible (find ("fingerprint"));
}

gboolean
answer_offered (gpointer data)
{
  return call_page_shown (NULL) && gtk_widget_get_visible (find ("answer-button"))
         && gtk_widget_get_visible (gtk_widget_get_parent (find ("answer-button")));
}

void
on_label_changed (GtkLabel   *label,
                  GParamSpec *pspec,
                  GPtrArray  *seen)
{
  const char *text = gtk_label_get_text (label);

  if (*text != '\0' && (seen->len == 0
                        || g_strcmp0 (g_ptr_array_index (seen, seen->len - 1), text) != 0))
    g_ptr_array_add (seen, g_strdup (text));
}

/* Setup */

void
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

void
private_dirs (void)
{
  const char *vars[] = { "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HOME" };

  for (guint i = 0; i < G_N_ELEMENTS (vars); i++) {
    g_autofree char *dir = g_build_filename (T.tmp, vars[i], NULL);

    g_mkdir (dir, 0700);
    g_setenv (vars[i], dir, TRUE);
  }
}

void
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
