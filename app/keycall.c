/* keycall.c: the Keycall softphone. Without --headless it opens the window
 * (ui/kc-ui.h); `keycall --headless` registers with the profile's controller,
 * places or answers one call and prints one line per state change on
 * stdout (the integration tests read them; docs/configuration.md). With
 * --activate FILE --code CODE it first unlocks and saves the profile an
 * activation file seals (kc-activation.h). This file holds the options,
 * the activation and the run; keycall-callbacks.c the lines a call prints.
 */
#define G_LOG_DOMAIN "keycall"

#include "config.h"

#include "keycall-private.h"

#include "kc-activation.h"
#include "kc-cta.h"
#include "kc-cta-keying.h"
#include "kc-error.h"
#include "kc-secret.h"
#include "kc-ui.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT      30
#define DEFAULT_DURATION     1
/* An activation code is 23 characters; room for spaces a person typed. */
#define CODE_LINE_MAX        256

/* Setup */

static int
usage_error (const char *format,
             ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("keycall: %s (see --help)\n", message);
  return EXIT_USAGE;
}

/* Activation (--activate FILE --code CODE): the profile sealed in the file
 * is opened with the code and saved where the rest of the run, and later
 * runs, find it. */

/* One line of stdin, without its newline, NUL-terminated, in locked
 * memory. Read a byte at a time so that no stdio buffer keeps a copy. */
static KcSecret *
read_code_line (GError **error)
{
  g_autoptr(KcSecret) line = kc_secret_new (CODE_LINE_MAX);
  guint8 *buf = kc_secret_get_mutable (line);
  gsize len = 0;

  for (;;) {
    guint8 c;
    ssize_t n = read (STDIN_FILENO, &c, 1);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error (error, KC_ERROR, KC_ERROR_IO, "cannot read the code from stdin: %s",
                   g_strerror (errno));
      return NULL;
    }
    if (n == 0 || c == '\n')
      break;
    if (len + 1 >= CODE_LINE_MAX) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "the code on stdin is longer than %d characters", CODE_LINE_MAX - 1);
      return NULL;
    }
    buf[len++] = c;
  }
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  if (len == 0) {
    g_set_error_literal (error, KC_ERROR, KC_ERROR_INVALID,
                         "--code -: stdin held no code (one line expected)");
    return NULL;
  }
  return g_steal_pointer (&line);
}

/* Saves the activated profile at --profile FILE, never replacing it, or
 * else at the softphone's own place (kc_profile_default_path), replacing
 * the profile kept there as importing one in the window does. On success
 * app->profile_path names the saved file. */
static gboolean
activate (App     *app,
          GError **error)
{
  g_autoptr(KcActivation) activation = NULL;
  g_autoptr(KcProfile) profile = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *dir = NULL;
  gboolean replace = app->profile_path == NULL;

  if (app->code_from_stdin && (app->code = read_code_line (error)) == NULL)
    return FALSE;
  if ((activation = kc_activation_load (app->activate, error)) == NULL)
    return FALSE;
  profile = kc_activation_unlock (activation,
                                  (const char *) kc_secret_get_data (app->code), error);
  g_clear_pointer (&app->code, kc_secret_free);
  if (profile == NULL)
    return FALSE;

  dest = replace ? kc_profile_default_path () : g_strdup (app->profile_path);
  dir = g_path_get_dirname (dest);
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "cannot create %s: %s", dir,
                 g_strerror (errno));
    return FALSE;
  }
  if (!kc_profile_save (profile, dest, replace, error))
    return FALSE;
  g_print ("activated %s: profile saved to %s\n", profile->number, dest);
  g_free (app->profile_path);
  app->profile_path = g_steal_pointer (&dest);
  return TRUE;
}

static int
run (App *app)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEventBus) bus = NULL;
  g_autofree char *runtime = NULL;
  g_autofree char *conf = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  KcProfile *profile;

  if (app->listen != NULL && !kc_cta_parse_listen (app->listen, &host, &port, &error))
    return usage_error ("--listen: %s", error->message);

  if (!kc_process_refuse_core_dumps (&error)) {
    g_printerr ("keycall: %s\n", error->message);
    return EXIT_FAILED;
  }
  /* Before anything touches OpenSSL: TLS 1.3 only. */
  if ((runtime = g_dir_make_tmp ("keycall-run-XXXXXX", &error)) == NULL) {
    g_printerr ("keycall: cannot make a private folder: %s\n", error->message);
    return EXIT_FAILED;
  }
  if (!kc_cta_tls13_only (runtime, &error)) {
    g_printerr ("keycall: %s\n", error->message);
    g_rmdir (runtime);
    return EXIT_FAILED;
  }
  kc_secure_heap_init ();

  /* Here rather than in keycall_main: unlocking uses OpenSSL, which must
   * not read its configuration before kc_cta_tls13_only has set it, and
   * the profile's key belongs in the secure heap. */
  if (app->activate != NULL && !activate (app, &error)) {
    g_printerr ("keycall: cannot activate: %s\n", error->message);
    app->exit_code = EXIT_USAGE;
    goto out;
  }

  if ((profile = kc_profile_load (app->profile_path, &error)) == NULL) {
    g_printerr ("keycall: cannot use the profile: %s\n", error->message);
    app->exit_code = EXIT_USAGE;
    goto out;
  }
  app->account = kc_cta_account_new (profile);
  if (app->events != NULL) {
    g_autofree char *process = g_strconcat ("keycall-", profile->number, NULL);

    bus = kc_event_bus_new (process, KC_EVENT_BUS_DEFAULT);
    if (!kc_event_bus_add_log_file (bus, app->events, &error)) {
      g_printerr ("keycall: --events %s: %s\n", app->events, error->message);
      app->exit_code = EXIT_USAGE;
      goto out;
    }
    kc_cta_account_set_event_bus (app->account, bus);
  }
  if (host != NULL)
    kc_cta_account_set_listen (app->account, host, port);
  kc_cta_account_set_audio (app->account, app->audio_in, app->audio_out);
  if (app->codecs != NULL) {
    g_auto(GStrv) list = g_strsplit (app->codecs, ",", -1);

    if (!kc_cta_account_set_codecs (app->account, (const char * const *) list, &error)) {
      g_printerr ("keycall: --codecs: %s\n", error->message);
      app->exit_code = EXIT_USAGE;
      goto out;
    }
  }
  if (app->suites != NULL) {
    g_auto(GStrv) list = g_strsplit (app->suites, ",", -1);

    if (!kc_cta_account_set_suites (app->account, (const char * const *) list, &error)) {
      g_printerr ("keycall: --suites: %s\n", error->message);
      app->exit_code = EXIT_USAGE;
      goto out;
    }
  }

  kc_cta_account_set_direct_media (app->account, app->direct_media);

  keycall_watch_account (app);

  app->loop = g_main_loop_new (NULL, FALSE);
  if (!kc_cta_account_start (app->account, &error)) {
    g_printerr ("keycall: %s\n", error->message);
    app->exit_code = EXIT_FAILED;
    goto out;
  }
  app->timeout_id = g_timeout_add_seconds ((guint) app->timeout, keycall_on_timeout, app);
  g_unix_signal_add (SIGINT, keycall_on_signal, app);
  g_unix_signal_add (SIGTERM, keycall_on_signal, app);
  g_main_loop_run (app->loop);

out:
  g_clear_handle_id (&app->timeout_id, g_source_remove);
  g_clear_handle_id (&app->grace_id, g_source_remove);
  g_clear_handle_id (&app->answer_id, g_source_remove);
  g_clear_handle_id (&app->duration_id, g_source_remove);
  g_clear_handle_id (&app->hold_id, g_source_remove);
  /* Closing the account ends what is left of the call: no more lines. */
  if (app->call != NULL)
    g_signal_handlers_disconnect_by_data (app->call, app);
  if (app->account != NULL)
    g_signal_handlers_disconnect_by_data (app->account, app);
  g_clear_object (&app->call);
  g_clear_object (&app->account);
  g_clear_pointer (&app->loop, g_main_loop_unref);
  g_clear_pointer (&app->code, kc_secret_free);
  conf = g_build_filename (runtime, "openssl.cnf", NULL);
  g_unlink (conf);
  g_rmdir (runtime);
  return app->exit_code;
}

/* The code given on the command line stays readable in /proc/PID/cmdline
 * (and ps) while the program runs: blank it in the original arguments.
 * `--code -` never puts it there. */
static void
scrub_code_arguments (char **argv)
{
  for (gsize i = 1; argv[i] != NULL; i++) {
    if (g_str_equal (argv[i], "--"))
      break;
    if (g_str_equal (argv[i], "--code") && argv[i + 1] != NULL)
      explicit_bzero (argv[i + 1], strlen (argv[i + 1]));
    else if (g_str_has_prefix (argv[i], "--code="))
      explicit_bzero (argv[i] + 7, strlen (argv[i] + 7));
  }
}

static int
keycall_main (int   argc,
              char *argv[])
{
  App app = { .duration = -1, .timeout = DEFAULT_TIMEOUT, .exit_code = EXIT_OK,
              .hold_after = -1, .hold_for = -1 };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char **original_argv = g_memdup2 (argv, sizeof (char *) * (gsize) (argc + 1));
  char *code = NULL;
  int status;
  const GOptionEntry entries[] = {
    { "headless", 0, 0, G_OPTION_ARG_NONE, &app.headless,
      "Run without a window", NULL },
    { "profile", 'p', 0, G_OPTION_ARG_FILENAME, &app.profile_path,
      "The subscriber profile (.keycall) to use", "FILE" },
    { "activate", 0, 0, G_OPTION_ARG_FILENAME, &app.activate,
      "Activate with this activation file (.kcactivation) first, saving its profile to "
      "--profile FILE (never replaced) or to the imported profile", "FILE" },
    { "code", 0, 0, G_OPTION_ARG_STRING, &code,
      "With --activate: the activation code, or - to read it from one line of stdin", "CODE" },
    { "call", 'c', 0, G_OPTION_ARG_STRING, &app.call_number,
      "Call NUMBER once registered", "NUMBER" },
    { "answer", 'a', 0, G_OPTION_ARG_NONE, &app.answer,
      "Answer the first incoming call", NULL },
    { "duration", 'd', 0, G_OPTION_ARG_INT, &app.duration,
      "Hang up an answered call after SECONDS (--call: default 1; --answer: wait for the "
      "caller)", "SECONDS" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &app.listen,
      "Listen for the controller on HOST[:PORT] (default: the address toward the "
      "controller, any port)", "HOST[:PORT]" },
    { "events", 'e', 0, G_OPTION_ARG_FILENAME, &app.events,
      "Append events as JSON lines to FILE", "FILE" },
    { "answer-after", 0, 0, G_OPTION_ARG_INT, &app.answer_after,
      "With --answer: wait SECONDS after ringing (default 0)", "SECONDS" },
    { "reject", 0, 0, G_OPTION_ARG_INT, &app.reject,
      "With --answer: refuse the call with CODE (e.g. 486, 603) instead", "CODE" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &app.timeout,
      "Give up after SECONDS in all (default 30)", "SECONDS" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &app.verbose,
      "Log debugging messages to stderr", NULL },
    { "audio-in", 0, 0, G_OPTION_ARG_STRING, &app.audio_in,
      "What the call sends: none (silence, the default), default (the sound device), "
      "device:NAME|INDEX, or an audio FILE", "SOURCE" },
    { "audio-out", 0, 0, G_OPTION_ARG_STRING, &app.audio_out,
      "Where the call's received audio goes: none (the default), default, "
      "device:NAME|INDEX, or a WAV FILE", "SINK" },
    { "codecs", 0, 0, G_OPTION_ARG_STRING, &app.codecs,
      "Codecs to offer and accept, best first (default opus,PCMU,PCMA)", "LIST" },
    { "suites", 0, 0, G_OPTION_ARG_STRING, &app.suites,
      "SRTP suites to offer and accept, best first (default AES_CM_128_HMAC_SHA1_80,"
      "AEAD_AES_128_GCM,AEAD_AES_256_GCM,AES_CM_128_HMAC_SHA1_32)", "LIST" },
    { "direct-media", 0, 0, G_OPTION_ARG_NONE, &app.direct_media,
      "Ask the controller for media straight to the other phone, not through its relay "
      "(honoured only under [media] relay=allow-direct)", NULL },
    { "dtmf", 0, 0, G_OPTION_ARG_STRING, &app.dtmf,
      "Send these digits as telephone events (RFC 4733) once the call is answered", "DIGITS" },
    { "hold-after", 0, 0, G_OPTION_ARG_INT, &app.hold_after,
      "Put the call on hold SECONDS after it is answered", "SECONDS" },
    { "hold-for", 0, 0, G_OPTION_ARG_INT, &app.hold_for,
      "With --hold-after: resume SECONDS after the hold is confirmed (default: stay on "
      "hold)", "SECONDS" },
    { NULL },
  };

  setlocale (LC_ALL, "");
  /* Tests read stdout through a pipe, line by line, as it happens. */
  setvbuf (stdout, NULL, _IOLBF, 0);

  context = g_option_context_new ("- the Keycall softphone");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    if (code != NULL)
      explicit_bzero (code, strlen (code));
    g_free (code);
    scrub_code_arguments (original_argv);
    return usage_error ("%s", error->message);
  }
  if (code != NULL) {
    app.code_from_stdin = g_str_equal (code, "-");
    if (!app.code_from_stdin)
      app.code = kc_secret_new_from_data ((const guint8 *) code, strlen (code) + 1);
    explicit_bzero (code, strlen (code));
    g_clear_pointer (&code, g_free);
    scrub_code_arguments (original_argv);
  }
  if ((app.activate != NULL || app.code != NULL || app.code_from_stdin) && !app.headless) {
    g_clear_pointer (&app.code, kc_secret_free);
    return usage_error ("--activate and --code go with --headless (the window activates "
                        "from its first page)");
  }
  if (!app.headless) {
    /* The window (ui/); argv keeps only what the option parser left: sip:,
     * sips: and tel: URIs to dial (the desktop file's %u). */
    status = kc_ui_run (argc, argv, app.profile_path);
    g_free (app.profile_path);
    return status;
  }
  if (argc > 1)
    return usage_error ("unexpected argument “%s”", argv[1]);
  if (app.activate != NULL && app.code == NULL && !app.code_from_stdin)
    return usage_error ("--activate needs --code CODE");
  if (app.activate == NULL && (app.code != NULL || app.code_from_stdin)) {
    g_clear_pointer (&app.code, kc_secret_free);
    return usage_error ("--code goes with --activate");
  }
  if (app.profile_path == NULL && app.activate == NULL)
    return usage_error ("--profile FILE is required");
  if (app.call_number != NULL && app.answer)
    return usage_error ("--call and --answer exclude each other");
  if ((app.reject != 0 || app.answer_after != 0) && !app.answer)
    return usage_error ("--reject and --answer-after go with --answer");
  if (app.reject != 0 && (app.reject < 400 || app.reject > 699))
    return usage_error ("--reject takes a status from 400 to 699, not %d", app.reject);
  if (app.answer_after < 0 || app.timeout <= 0 || app.duration < -1)
    return usage_error ("--answer-after, --duration and --timeout take positive seconds");
  if (app.hold_after < -1 || app.hold_for < -1 || (app.hold_for >= 0 && app.hold_after < 0))
    return usage_error ("--hold-after takes positive seconds, and --hold-for goes with it");
  if (app.duration == -1 && app.call_number != NULL)
    app.duration = DEFAULT_DURATION;
  if (app.verbose)
    g_log_set_debug_enabled (TRUE);

  status = run (&app);
  g_clear_pointer (&app.code, kc_secret_free);
  g_free (app.profile_path);
  g_free (app.activate);
  g_free (app.call_number);
  g_free (app.listen);
  g_free (app.events);
  g_free (app.audio_in);
  g_free (app.audio_out);
  g_free (app.codecs);
  g_free (app.suites);
  g_free (app.dtmf);
  return status;
}

/* This binary links GTK and libadwaita (the window). At exit, libadwaita's
 * g_static_resource_fini() destructor allocates through g_slice after
 * GLib's thread-private key is gone and GLib aborts ("pthread_setspecific:
 * Invalid argument", GLib 2.74), which turned every exit status, 0 and 2
 * included, into 134. Everything that holds a key or a file is closed by
 * now, so the library destructors are skipped. */
int
main (int   argc,
      char *argv[])
{
  int status = keycall_main (argc, argv);

  fflush (stdout);
  fflush (stderr);
  _exit (status);
}
