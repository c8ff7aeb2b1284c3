/* keycall-controller.c: the gateway controller's command line.
 *
 * Reads controller.ini (plus overrides), refuses core dumps, forbids TLS
 * below 1.3, runs sofia-sip on the GLib main loop and stops cleanly on
 * SIGTERM/SIGINT. Without --headless it also opens the controller window
 * (keycall-flow on a private window socket of this process, the only one
 * that takes step-mode commands).
 */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-config.h"
#include "kc-controller.h"
#include "kc-error.h"
#include "kc-event-bus.h"
#include "kc-event-socket.h"
#include "kc-sdp-key.h"
#include "kc-secret.h"
#include "kc-step.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE        2
#define SHUTDOWN_GRACE_MS 1000

extern su_log_t tport_log[];
extern su_log_t nta_log[];

static const char openssl_conf[] =
  "# Written by keycall-controller: TLS 1.3 only.\n"
  "openssl_conf = openssl_init\n"
  "[openssl_init]\n"
  "ssl_conf = ssl_sect\n"
  "[ssl_sect]\n"
  "system_default = system_default_sect\n"
  "[system_default_sect]\n"
  "MinProtocol = TLSv1.3\n";


static char *conf_file;   /* our OpenSSL configuration, removed at exit */

static void
remove_conf_file (void)
{
  g_autofree char *dir = NULL;

  if (conf_file == NULL)
    return;
  dir = g_path_get_dirname (conf_file);
  g_unlink (conf_file);
  g_rmdir (dir);
  g_clear_pointer (&conf_file, g_free);
}

/* sofia-sip ignores its TLS version tag; only OpenSSL's configuration can
 * forbid TLS 1.2. Must run before OpenSSL initialises. */
static char *
write_openssl_conf (GError **error)
{
  g_autofree char *dir = g_build_filename (g_get_user_runtime_dir (),
                                           "keycall-controller-XXXXXX", NULL);
  g_autofree char *path = NULL;

  if (g_getenv ("OPENSSL_CONF") != NULL)
    return NULL;
  if (g_mkdir_with_parents (g_get_user_runtime_dir (), 0700) < 0 || g_mkdtemp (dir) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot create a folder in %s: %s",
                 g_get_user_runtime_dir (), g_strerror (errno));
    return NULL;
  }
  path = g_build_filename (dir, "openssl.cnf", NULL);
  if (!g_file_set_contents (path, openssl_conf, -1, error))
    return NULL;
  g_setenv ("OPENSSL_CONF", path, TRUE);
  return g_steal_pointer (&path);
}

/* sofia's own log lines, redacted and routed into GLib's log. */
static void
on_sofia_log (void *stream, char const *format, va_list ap)
{
  g_autofree char *line = g_strdup_vprintf (format, ap);
  g_autofree char *safe = kc_sdp_redact (g_strchomp (line));

  if (*safe != '\0')
    g_debug ("sofia: %s", safe);
}

/* GLib's default writer sends debug and info lines to stdout, which
 * belongs to the one "listening" line tests wait for: all goes to stderr. */
static GLogWriterOutput
write_log (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *domain = NULL;
  g_autofree char *line = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
      domain = fields[i].value;
  if (g_log_writer_default_would_drop (log_level, domain))
    return G_LOG_WRITER_HANDLED;
  line = g_log_writer_format_fields (log_level, fields, n_fields, FALSE);
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

typedef struct {
  GMainLoop    *loop;
  KcController *controller;
  gboolean      stopping;
  GSubprocess  *window;       /* the flow window, without --headless */
} Shutdown;

static gboolean
on_grace_over (gpointer data)
{
  g_main_loop_quit (((Shutdown *) data)->loop);
  return G_SOURCE_REMOVE;
}

/* First signal: fail the calls and give their CANCELs and BYEs a moment to
 * leave; a second signal quits at once. */
static gboolean
on_quit_signal (gpointer data)
{
  Shutdown *shutdown = data;

  if (shutdown->stopping) {
    g_main_loop_quit (shutdown->loop);
    return G_SOURCE_CONTINUE;
  }
  shutdown->stopping = TRUE;
  g_message ("Shutting down");
  if (kc_controller_count_calls (shutdown->controller) == 0) {
    g_main_loop_quit (shutdown->loop);
    return G_SOURCE_CONTINUE;
  }
  kc_controller_stop (shutdown->controller);
  g_timeout_add (SHUTDOWN_GRACE_MS, on_grace_over, shutdown);
  return G_SOURCE_CONTINUE;
}

/* The controller window is keycall-flow (ui/) subscribed to this process's
 * event socket: it draws only events, as it would for a remote controller
 * or a recorded log, and this program links no GTK. Closing it stops the
 * controller, like closing any application's window. */
static char *
find_flow_viewer (void)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self ? g_path_get_dirname (self) : g_strdup (".");
  g_autofree char *built = g_build_filename (dir, "..", "ui", "keycall-flow", NULL);
  g_autofree char *beside = g_build_filename (dir, "keycall-flow", NULL);

  if (g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&built);
  if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&beside);
  return g_find_program_in_path ("keycall-flow");
}

static void
on_window_closed (GObject *source, GAsyncResult *result, gpointer data)
{
  Shutdown *shutdown = data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  g_clear_object (&shutdown->window);
  g_message ("The controller window was closed; stopping");
  on_quit_signal (shutdown);
}

/* Step mode and slow motion: commands from the window socket only. */
static gboolean
on_window_command (JsonObject *command, gpointer user_data, GError **error)
{
  return kc_step_gate_command (kc_controller_get_step_gate (user_data), command, error);
}

/* --classroom: each call key to the window socket, and nowhere else. */
static void
on_key_reveal (const char *call_id, const char *key_id_hex, const KcSecret *key,
               gpointer user_data)
{
  kc_event_server_push_key (user_data, call_id, key_id_hex, key);
}

/* --control: the window's socket takes its commands (step mode). */
static GSubprocess *
open_window (const char *viewer, const char *socket, GError **error)
{
  const char *argv[] = { viewer, "--control", socket, NULL };

  return g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, error);
}

static int
fail (int status, const char *what)
{
  g_printerr ("keycall-controller: %s\n", what);
  return status;
}

int
main (int argc, char **argv)
{
  gboolean headless = FALSE, verbose = FALSE, classroom = FALSE, step = FALSE;
  g_autofree char *config_path = NULL, *listen = NULL, *events = NULL, *event_socket = NULL;
  g_autofree char *key_mode = NULL, *delivery = NULL;
  g_autofree char *viewer = NULL, *window_dir = NULL, *window_socket = NULL;
  g_autofree char *window_socket_arg = NULL;
  double ack_timeout = -1, ring_timeout = -1, keepalive = -1;
  int sip_timeout = -1;
  const GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &headless, "Run without the window (a service)", NULL },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "controller.ini to use", "FILE" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Address to listen on", "HOST:PORT" },
    { "events", 0, 0, G_OPTION_ARG_FILENAME, &events, "Append events (JSON lines) to FILE", "FILE" },
    { "event-socket", 0, 0, G_OPTION_ARG_FILENAME, &event_socket, "Serve events on a UNIX socket", "PATH" },
    { "key-mode", 0, 0, G_OPTION_ARG_STRING, &key_mode, "random or derived", "MODE" },
    { "delivery", 0, 0, G_OPTION_ARG_STRING, &delivery, "signaling or separate", "MODE" },
    { "ack-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &ack_timeout, "Seconds to wait for a key acknowledgment", "SECONDS" },
    { "ring-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &ring_timeout, "Seconds to wait for an answer", "SECONDS" },
    { "keepalive", 0, 0, G_OPTION_ARG_DOUBLE, &keepalive, "Seconds between OPTIONS to peers", "SECONDS" },
    { "sip-timeout", 0, 0, G_OPTION_ARG_INT, &sip_timeout, "SIP transaction timeout (T1x64), for tests", "MS" },
    { "classroom", 0, 0, G_OPTION_ARG_NONE, &classroom, "Let the window reveal call keys (a red banner shows it); never in files or on --event-socket", NULL },
    { "step", 0, 0, G_OPTION_ARG_NONE, &step, "Start in step mode: each outgoing FIG. 3 message waits for the window's Next (not with --headless)", NULL },
    { "window-socket", 0, 0, G_OPTION_ARG_FILENAME, &window_socket_arg, "Serve the window's private socket (events, step mode) at PATH and open no window: keycall-flow --control PATH opens it", "PATH" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages, sofia-sip's included", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(KcControllerConfig) config = NULL;
  g_autoptr(KcEventBus) bus = NULL;
  g_autoptr(KcEventServer) server = NULL;
  g_autoptr(KcEventServer) window_server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  KcControllerOverrides overrides = KC_CONTROLLER_OVERRIDES_INIT;
  KcController *controller;
  Shutdown shutdown = { NULL, NULL, FALSE };
  su_root_t *root;
  GSource *source;

  setlocale (LC_ALL, "");
  g_log_set_writer_func (write_log, NULL, NULL);
  if (!kc_process_refuse_core_dumps (&error))
    return fail (1, error->message);
  /* Never let sofia dump raw messages (and so keys) to a file. */
  g_unsetenv ("TPORT_DUMP");
  g_unsetenv ("TPORT_CAPT");
  if ((conf_file = write_openssl_conf (&error)) == NULL && error != NULL)
    return fail (1, error->message);
  atexit (remove_conf_file);

  context = g_option_context_new ("--headless --config FILE — the Keycall gateway controller");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_USAGE, error->message);
  if (argc > 1) {
    g_autofree char *what = g_strdup_printf ("unexpected argument '%s'", argv[1]);
    return fail (EXIT_USAGE, what);
  }
  if (headless && classroom)
    return fail (EXIT_USAGE, "--classroom shows keys in the controller window, which --headless "
                 "never has: keys are never revealed with --headless");
  if (headless && step)
    return fail (EXIT_USAGE, "--step holds each message until the controller window's Next, "
                 "which --headless never has: step mode is not possible with --headless");
  if (headless && window_socket_arg != NULL)
    return fail (EXIT_USAGE, "--window-socket serves the controller window, which --headless "
                 "never has: step mode and slow motion are not possible with --headless");
  if (!headless && window_socket_arg == NULL) {
    if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
      return fail (EXIT_USAGE, "no display for the controller window; run with --headless");
    if ((viewer = find_flow_viewer ()) == NULL)
      return fail (1, "keycall-flow (the controller window) is not installed; run with --headless");
  }
  if (config_path == NULL)
    return fail (EXIT_USAGE, "missing --config NET/controllers/NAME/controller.ini");

  overrides.listen = listen;
  overrides.events = events;
  overrides.event_socket = event_socket;
  /* The window has a socket of its own, in a folder only this user can
   * enter, apart from any --event-socket: it is the one socket that takes
   * commands (step mode), so subscribers can only ever watch. */
  if (window_socket_arg != NULL)
    window_socket = g_strdup (window_socket_arg);
  else if (!headless) {
    if ((window_dir = g_dir_make_tmp ("keycall-controller-XXXXXX", &error)) == NULL)
      return fail (1, error->message);
    window_socket = g_build_filename (window_dir, "window.sock", NULL);
  }
  overrides.key_mode = key_mode;
  overrides.delivery = delivery;
  overrides.ack_timeout = ack_timeout;
  overrides.ring_timeout = ring_timeout;
  overrides.keepalive = keepalive;
  overrides.sip_t1x64 = sip_timeout;
  overrides.verbose = verbose;
  if ((config = kc_controller_config_load (config_path, &overrides, &error)) == NULL)
    return fail (EXIT_USAGE, error->message);

  /* sofia's chatter: level 3 with --verbose, none without; its own
   * SU_DEBUG, TPORT_DEBUG and NTA_DEBUG variables still win. */
  {
    struct { su_log_t *log; const char *variable; } logs[] = {
      { NULL, "SU_DEBUG" }, { tport_log, "TPORT_DEBUG" }, { nta_log, "NTA_DEBUG" },
    };

    if (config->verbose)
      g_log_set_debug_enabled (TRUE);
    for (gsize i = 0; i < G_N_ELEMENTS (logs); i++) {
      if (g_getenv (logs[i].variable) == NULL)
        su_log_set_level (logs[i].log, config->verbose ? 3 : 0);
      su_log_redirect (logs[i].log, on_sofia_log, NULL);
    }
  }

  kc_secure_heap_init ();
  bus = kc_event_bus_new (config->name, KC_EVENT_BUS_DEFAULT);
  if (config->events != NULL && !kc_event_bus_add_log_file (bus, config->events, &error))
    return fail (1, error->message);
  if (config->event_socket != NULL) {
    if ((server = kc_event_server_new (config->event_socket, &error)) == NULL)
      return fail (1, error->message);
    kc_event_server_attach (server, bus);
  }
  if (window_socket != NULL) {
    if ((window_server = kc_event_server_new (window_socket, &error)) == NULL)
      return fail (1, error->message);
    kc_event_server_attach (window_server, bus);
  }

  su_init ();
  loop = g_main_loop_new (NULL, FALSE);
  root = su_glib_root_create (NULL);
  source = su_glib_root_gsource (root);
  g_source_attach (source, NULL);

  controller = kc_controller_new (config, bus, root, &error);
  if (controller == NULL) {
    g_source_destroy (source);
    su_root_destroy (root);
    su_deinit ();
    return fail (1, error->message);
  }
  g_print ("listening %s\n", kc_controller_get_listen_uri (controller));
  fflush (stdout);
  g_message ("Controller %s of %s serving %s (keys %s, delivery %s)", config->name,
             config->network ? config->network : config->domain,
             kc_controller_get_listen_uri (controller), kc_key_mode_to_string (config->key_mode),
             kc_delivery_to_string (config->delivery));

  if (window_server != NULL)
    kc_event_server_set_command_func (window_server, on_window_command, controller, NULL);
  if (step) {
    /* Before any call can arrive: the first INVITE already waits. */
    kc_step_gate_set_step (kc_controller_get_step_gate (controller), TRUE);
    g_message ("Step mode: each outgoing message waits for Next in the controller window");
  }
  if (window_server != NULL && classroom) {
    kc_event_server_set_classroom (window_server);
    kc_controller_set_key_func (controller, on_key_reveal, window_server);
    g_message ("Classroom: call keys go to the controller window (and only there)");
  }
  shutdown.loop = loop;
  shutdown.controller = controller;
  g_unix_signal_add (SIGTERM, on_quit_signal, &shutdown);
  g_unix_signal_add (SIGINT, on_quit_signal, &shutdown);
  if (viewer != NULL) {
    shutdown.window = open_window (viewer, window_socket, &error);
    if (shutdown.window == NULL)
      g_warning ("The controller window did not open: %s; running without it", error->message);
    else
      g_subprocess_wait_async (shutdown.window, NULL, on_window_closed, &shutdown);
  }
  g_main_loop_run (loop);
  if (shutdown.window != NULL) {
    g_subprocess_send_signal (shutdown.window, SIGTERM);
    g_clear_object (&shutdown.window);
  }

  /* No command may reach a freed controller, nor a key a closed socket. */
  kc_controller_set_key_func (controller, NULL, NULL);
  if (window_server != NULL) {
    kc_event_server_set_command_func (window_server, NULL, NULL, NULL);
    kc_event_server_close (window_server);
  }
  kc_controller_free (controller);
  if (server != NULL)
    kc_event_server_close (server);
  g_source_destroy (source);
  su_root_destroy (root);
  su_deinit ();
  if (window_dir != NULL) {
    g_unlink (window_socket);
    g_rmdir (window_dir);
  }
  return 0;
}
