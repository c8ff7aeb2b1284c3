/* keycall-lea: the law-enforcement side of lawful intercept (FIG. 5, 510),
 * headless. Asks controllers for taps (514), opens the sealed keys they
 * deliver (516) with the LEA's private key, and records the tapped calls'
 * media from the relays' X3 copies (docs/lawful-intercept.md).
 *
 * Stdout carries one stable line per fact (tests parse them); --events
 * writes the same facts as events on the lane lea:NAME, and --window draws
 * them (kc-lea-window.h) in the same main loop.
 *
 * This file: the options and main(); what the program does with the
 * sessions' and the recorder's reports is in keycall-lea-callbacks.c, the
 * parsing of --controller, --tap, --past and lea.ini in keycall-lea-options.c.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "keycall-lea-private.h"

#include "kc-lea-commands.h"
#include "kc-lea-window.h"

#include "kc-event-socket.h"
#include "kc-hpke.h"
#include "kc-pki.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXIT_OK     0
#define EXIT_FAILED 1
#define EXIT_USAGE  2

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_CRL, X509_CRL_free)

/* Main --------------------------------------------------------------------- */

static int
usage_error (const char *message)
{
  g_printerr ("keycall-lea: %s (see --help)\n", message);
  return EXIT_USAGE;
}

static int
fail (const char *what, GError *error)
{
  g_printerr ("keycall-lea: %s: %s\n", what, error->message);
  return EXIT_FAILED;
}

int
main (int argc, char **argv)
{
  g_autofree char *config = NULL, *content = NULL, *record_dir = NULL, *events = NULL;
  g_autofree char *event_socket = NULL;
  g_autoptr(KcEventServer) server = NULL;
  g_autofree char *cert_override = NULL, *key_override = NULL;
  g_auto(GStrv) controllers = NULL, taps = NULL, pasts = NULL;
  int timeout = 0;
  gboolean stop_on_exit = FALSE, window = FALSE;
  g_autofree char *commands = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config,
      "The LEA's lea.ini (written by keycall-admin lea add)", "FILE" },
    { "controller", 0, 0, G_OPTION_ARG_STRING_ARRAY, &controllers,
      "A controller's LI port (repeatable; default: every controller lea.ini names)",
      "NAME[=HOST:PORT]" },
    { "content", 0, 0, G_OPTION_ARG_STRING, &content,
      "Receive X3 content copies here (numeric; port 0 picks one)", "HOST:PORT" },
    { "record-dir", 0, 0, G_OPTION_ARG_FILENAME, &record_dir,
      "Write each call's WAV and JSON record here", "DIR" },
    { "tap", 0, 0, G_OPTION_ARG_STRING_ARRAY, &taps,
      "Tap NUMBER's future calls or current calls (repeatable)",
      "NUMBER[:future|current][@CONTROLLER]" },
    { "past", 0, 0, G_OPTION_ARG_STRING_ARRAY, &pasts,
      "Ask for the keys of NUMBER's past calls (RFC 3339 bounds)",
      "NUMBER[:FROM[:UNTIL]][@CONTROLLER]" },
    { "stop-on-exit", 0, 0, G_OPTION_ARG_NONE, &stop_on_exit,
      "Stop this run's future and current taps before exiting", NULL },
    { "events", 'e', 0, G_OPTION_ARG_FILENAME, &events,
      "Append events (JSON lines, lane lea:NAME) to FILE", "FILE" },
    { "event-socket", 0, 0, G_OPTION_ARG_FILENAME, &event_socket,
      "Serve events on a UNIX socket (0600), for the controller window", "PATH" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout, "Exit after SECONDS", "SECONDS" },
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert_override,
      "Present this certificate instead of lea.ini's (with --key)", "FILE" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key_override,
      "The private key of --cert", "FILE" },
    { "window", 0, 0, G_OPTION_ARG_NONE, &window,
      "Also show controllers, taps and recorded calls in a window (needs a display)", NULL },
    { "commands", 0, 0, G_OPTION_ARG_FILENAME, &commands,
      "Read “tap NUMBER[:KIND]@CONTROLLER” and “stop TAP@CONTROLLER” lines from PATH "
      "(a FIFO, a file, or - for stdin)", "PATH" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- lawful-intercept receiver");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tap_args = g_ptr_array_new_with_free_func (
                                    (GDestroyNotify) lea_tap_arg_free);
  g_autoptr(KcSecret) seal_key = NULL;
  g_autoptr(GTlsCertificate) own = NULL;
  g_autoptr(X509) ca = NULL;
  g_autoptr(X509_CRL) crl = NULL;
  LeaConfig cfg = { 0 };
  Lea lea = { 0 };
  guint64 refused[KC_LEA_REFUSED_COUNT];
  int status = EXIT_OK;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, "Asks controllers for taps, opens the sealed keys they "
                                "deliver and records the tapped calls.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return usage_error (error->message);
  if (config == NULL)
    return usage_error ("--config lea.ini is required");
  if (taps == NULL && pasts == NULL && !window && commands == NULL)
    return usage_error ("nothing to ask: give --tap or --past (or --window, --commands)");
  if ((cert_override == NULL) != (key_override == NULL))
    return usage_error ("--cert and --key go together");
  if (timeout < 0)
    return usage_error ("--timeout must be 0 (none) or more seconds");
  for (char **t = taps; t && *t; t++) {
    TapArg *a = lea_parse_tap (*t, &error);

    if (a == NULL)
      return usage_error (error->message);
    g_ptr_array_add (tap_args, a);
  }
  for (char **p = pasts; p && *p; p++) {
    TapArg *a = lea_parse_past (*p, &error);

    if (a == NULL)
      return usage_error (error->message);
    g_ptr_array_add (tap_args, a);
  }
  if (taps != NULL && (content == NULL || record_dir == NULL))
    return usage_error ("--tap needs --content HOST:PORT and --record-dir DIR");
  /* GTK is touched only here: the headless receiver needs no display. */
  if (window) {
    bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
    textdomain (GETTEXT_PACKAGE);
    if (!gtk_init_check ())
      return usage_error ("--window needs a display (DISPLAY or WAYLAND_DISPLAY), and none "
                          "could be opened; run without --window for the headless receiver");
    adw_init ();
  }

  if (!kc_process_refuse_core_dumps (&error))
    return fail ("hardening", error);
  kc_secure_heap_init ();
  /* The LI port speaks TLS 1.3 only; say so to GnuTLS before GIO loads it. */
  g_setenv ("G_TLS_GNUTLS_PRIORITY", "NORMAL:-VERS-ALL:+VERS-TLS1.3", FALSE);

  if (!lea_config_load (config, &cfg, &error))
    return fail ("configuration", error);
  if (cert_override != NULL) {
    g_free (cfg.cert);
    g_free (cfg.key);
    cfg.cert = g_strdup (cert_override);
    cfg.key = g_strdup (key_override);
  }
  if ((seal_key = kc_hpke_private_key_load_pem (cfg.seal_key, &error)) == NULL) {
    status = fail ("the sealing private key", error);
    goto out;
  }
  if ((own = g_tls_certificate_new_from_files (cfg.cert, cfg.key, &error)) == NULL) {
    status = fail ("the LEA certificate", error);
    goto out;
  }
  if ((ca = kc_pki_cert_load (cfg.ca, &error)) == NULL) {
    status = fail ("the network CA", error);
    goto out;
  }
  if (cfg.crl != NULL && (crl = kc_pki_crl_load (cfg.crl, &error)) == NULL) {
    status = fail ("the CRL", error);
    goto out;
  }

  if (controllers == NULL)
    controllers = lea_controllers_from_ini (cfg.ini);
  if (controllers[0] == NULL) {
    status = usage_error ("no controller: give --controller NAME=HOST:PORT (lea.ini names none)");
    goto out;
  }

  lea.name = cfg.name;
  lea.lane = g_strconcat ("lea:", cfg.name, NULL);
  lea.stop_on_exit = stop_on_exit;
  /* A window stays open after the past keys came: a person is reading it. */
  lea.past_only = taps == NULL && !window && commands == NULL;
  lea.addresses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lea.loop = g_main_loop_new (NULL, FALSE);
  lea.sessions = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_lea_session_free);
  if (events != NULL || event_socket != NULL || window)
    lea.bus = kc_event_bus_new ("keycall-lea", KC_EVENT_BUS_DEFAULT);
  if (events != NULL && !kc_event_bus_add_log_file (lea.bus, events, &error)) {
    status = fail ("--events", error);
    goto out;
  }
  if (event_socket != NULL) {
    if ((server = kc_event_server_new (event_socket, &error)) == NULL) {
      status = fail ("--event-socket", error);
      goto out;
    }
    kc_event_server_attach (server, lea.bus);
  }
  if (content != NULL) {
    lea.recorder = kc_lea_recorder_new (content, record_dir ? record_dir : ".", seal_key,
                                        &lea_recorder_funcs, &lea, &error);
    if (lea.recorder == NULL) {
      status = fail ("content", error);
      goto out;
    }
    lea_say ("content on %s", kc_lea_recorder_get_address (lea.recorder));
  } else {
    /* Keys only (--past): the recorder still opens and checks them. */
    g_autofree char *tmp = g_dir_make_tmp ("keycall-lea-XXXXXX", &error);

    if (tmp == NULL
        || (lea.recorder = kc_lea_recorder_new ("127.0.0.1:0", tmp, seal_key,
                                                &lea_recorder_funcs, &lea, &error)) == NULL) {
      status = fail ("keys", error);
      goto out;
    }
    g_rmdir (tmp);
  }
  if (window) {
    lea.window = kc_lea_window_new (NULL, cfg.name, lea.bus);
    kc_lea_window_set_record_dir (lea.window, content ? (record_dir ? record_dir : ".") : NULL);
  }

  for (char **c = controllers; *c; c++) {
    g_autofree char *name = NULL, *host = NULL;
    guint16 port = 0;
    KcLeaSession *s;
    guint n = 0;

    if (!lea_parse_controller (*c, cfg.ini, &name, &host, &port, &error)) {
      status = usage_error (error->message);
      goto out;
    }
    s = kc_lea_session_new (name, host, port, own, ca, crl,
                            content ? kc_lea_recorder_get_address (lea.recorder) : NULL,
                            &lea_session_funcs, &lea);
    for (guint i = 0; i < tap_args->len; i++) {
      TapArg *a = tap_args->pdata[i];

      if (a->controller == NULL || g_strcmp0 (a->controller, name) == 0) {
        kc_lea_session_add_tap (s, a->kind, a->number, a->from_us, a->until_us);
        n++;
      }
    }
    g_ptr_array_add (lea.sessions, s);
    g_hash_table_insert (lea.addresses, g_strdup (name), g_strdup_printf ("%s:%u", host, port));
    if (n > 0) {
      const char *address = g_hash_table_lookup (lea.addresses, name);

      if (lea.window != NULL)
        kc_lea_window_add_controller (lea.window, name, address);
      kc_lea_session_start (s);
    }
  }
  if (lea.window != NULL) {
    /* Closing the window stops the program, as SIGTERM does. */
    g_signal_connect_swapped (lea.window, "close-request", G_CALLBACK (lea_on_quit), &lea);
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new ();

      for (guint i = 0; i < lea.sessions->len; i++)
        g_ptr_array_add (names, (gpointer) kc_lea_session_get_name (lea.sessions->pdata[i]));
      g_ptr_array_add (names, NULL);
      kc_lea_window_set_tap_actions (lea.window, (const char *const *) names->pdata, lea_add_tap,
                                     lea_stop_tap, &lea);
    }
    gtk_window_present (GTK_WINDOW (lea.window));
    lea_say ("window open");
  }

  if (commands != NULL) {
    lea.commands = kc_lea_commands_new (commands, lea.sessions->len == 1
                                        ? kc_lea_session_get_name (lea.sessions->pdata[0]) : NULL,
                                        lea_add_tap, lea_stop_tap, lea_on_command_refused, &lea,
                                        &error);
    if (lea.commands == NULL) {
      status = fail ("--commands", error);
      goto out;
    }
  }
  g_unix_signal_add (SIGTERM, lea_on_quit, &lea);
  g_unix_signal_add (SIGINT, lea_on_quit, &lea);
  if (timeout > 0)
    g_timeout_add_seconds ((guint) timeout, lea_on_quit, &lea);
  g_main_loop_run (lea.loop);

out:
  g_clear_pointer (&lea.commands, kc_lea_commands_free);
  /* Sessions first: no delivery may reach a recorder being closed. */
  g_clear_pointer (&lea.sessions, g_ptr_array_unref);
  g_clear_handle_id (&lea.stop_timer, g_source_remove);
  if (lea.window != NULL)
    gtk_window_destroy (GTK_WINDOW (g_steal_pointer (&lea.window)));
  if (lea.recorder != NULL) {
    GString *line = g_string_new (NULL);

    kc_lea_recorder_close_all (lea.recorder);
    /* Copies that belonged to no recording. */
    kc_lea_recorder_get_refused (lea.recorder, refused);
    for (int i = 0; i < KC_LEA_REFUSED_COUNT; i++)
      if (refused[i] > 0)
        g_string_append_printf (line, "%s%s %" G_GUINT64_FORMAT, line->len ? ", " : "",
                                kc_lea_refused_to_string (i), refused[i]);
    if (line->len > 0)
      lea_say ("refused content: %s", line->str);
    g_string_free (line, TRUE);
    g_clear_pointer (&lea.recorder, kc_lea_recorder_free);
  }
  g_clear_pointer (&lea.loop, g_main_loop_unref);
  if (server != NULL)
    kc_event_server_close (server);
  g_clear_pointer (&lea.bus, kc_event_bus_unref);
  g_free (lea.lane);
  g_clear_pointer (&lea.addresses, g_hash_table_unref);
  lea_config_clear (&cfg);
  if (status == EXIT_OK)
    lea_say ("exiting");
  /* Once GTK is initialised, exit() aborts in a library destructor (GLib
   * 2.74, see ui/kc-ui.c); everything holding keys is freed by now. */
  if (window) {
    fflush (stdout);
    fflush (stderr);
    _exit (status);
  }
  return status;
}
