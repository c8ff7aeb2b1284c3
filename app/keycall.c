/* keycall.c: the Keycall softphone. Without --headless it opens the window
 * (ui/kc-ui.h); `keycall --headless` registers with the profile's controller,
 * places or answers one call and prints one line per state change on
 * stdout (the integration tests read them; docs/configuration.md). With
 * --activate FILE --code CODE it first unlocks and saves the profile an
 * activation file seals (kc-activation.h).
 */
#define G_LOG_DOMAIN "keycall"

#include "config.h"

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

enum {
  EXIT_OK      = 0,
  EXIT_FAILED  = 1,   /* the call or the registration did not happen */
  EXIT_USAGE   = 2,   /* bad options, unreadable profile */
};

#define DEFAULT_TIMEOUT      30
#define DEFAULT_DURATION     1
#define UNREGISTER_GRACE_S   3
/* An activation code is 23 characters; room for spaces a person typed. */
#define CODE_LINE_MAX        256

typedef struct {
  /* options */
  gboolean      headless;
  char         *profile_path;
  char         *activate;        /* --activate FILE */
  KcSecret     *code;            /* --code, NUL-terminated; wiped once used */
  gboolean      code_from_stdin; /* --code - */
  char         *call_number;
  gboolean      answer;
  int           duration;        /* -1: not given */
  char         *listen;
  char         *events;
  int           answer_after;
  int           reject;
  int           timeout;
  gboolean      verbose;
  char         *audio_in;
  char         *audio_out;
  char         *codecs;
  char         *suites;
  gboolean      direct_media;
  char         *dtmf;
  int           hold_after;      /* -1: never */
  int           hold_for;        /* -1: held until the call ends */

  GMainLoop    *loop;
  KcCtaAccount *account;
  KcCtaCall    *call;
  gboolean      was_registered;
  gboolean      finishing;
  int           exit_code;
  guint         timeout_id;
  guint         answer_id;
  guint         duration_id;
  guint         grace_id;
  guint         hold_id;
} App;

static void finish (App *app, int exit_code);

static void
fail (App        *app,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
fail (App        *app,
      const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("keycall: %s\n", message);
  finish (app, EXIT_FAILED);
}

/* Ending the run: hang up what is left, unregister, then quit. */

static gboolean
on_grace (gpointer user_data)
{
  App *app = user_data;

  app->grace_id = 0;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static void
finish (App *app,
        int  exit_code)
{
  if (app->finishing)
    return;
  app->finishing = TRUE;
  app->exit_code = exit_code;
  g_clear_handle_id (&app->answer_id, g_source_remove);
  g_clear_handle_id (&app->duration_id, g_source_remove);
  g_clear_handle_id (&app->hold_id, g_source_remove);
  if (app->call != NULL)
    kc_cta_call_hangup (app->call);
  kc_cta_account_unregister (app->account);
  if (app->grace_id == 0)
    app->grace_id = g_timeout_add_seconds (UNREGISTER_GRACE_S, on_grace, app);
}

/* The call */

static gboolean
on_hangup_due (gpointer user_data)
{
  App *app = user_data;

  app->duration_id = 0;
  kc_cta_call_hangup (app->call);
  return G_SOURCE_REMOVE;
}

static gboolean
on_answer_due (gpointer user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  app->answer_id = 0;
  if (app->reject > 0)
    ok = kc_cta_call_reject (app->call, (guint) app->reject, &error);
  else
    ok = kc_cta_call_answer (app->call, &error);
  if (!ok)
    fail (app, "%s", error->message);
  return G_SOURCE_REMOVE;
}

static void on_call_state (KcCtaCall *call, KcCtaCallState old, KcCtaCallState state, App *app);

static void
print_media_stats (KcCtaCall *call)
{
  KcMediaStats st;
  guint64 underruns, skipped;

  if (!kc_cta_call_get_media_stats (call, &st) || st.frames_sent == 0)
    return;
  kc_cta_call_get_playout (call, &underruns, &skipped);
  g_print ("media stats sent %" G_GUINT64_FORMAT " received %" G_GUINT64_FORMAT
           " rejected-replay %" G_GUINT64_FORMAT " rejected-auth %" G_GUINT64_FORMAT
           " rejected-malformed %" G_GUINT64_FORMAT " lost %" G_GINT64_FORMAT
           " jitter-ms %.1f rtt-ms %.1f rtcp-sent %" G_GUINT64_FORMAT " rtcp-received %"
           G_GUINT64_FORMAT " playback-underruns %" G_GUINT64_FORMAT " playback-skipped %"
           G_GUINT64_FORMAT "\n",
           st.rtp_sent, st.rtp_received, st.srtp_in.rejected[KC_SRTP_REJECT_REPLAY],
           st.srtp_in.rejected[KC_SRTP_REJECT_AUTH],
           st.srtp_in.rejected[KC_SRTP_REJECT_MALFORMED], st.rtcp.packets_lost,
           st.rtcp.jitter_ms, st.rtcp.rtt_ms, st.rtcp_sent, st.rtcp_received, underruns,
           skipped);
}

static void
on_dtmf (KcMediaStream *media,
         char           digit,
         guint          duration_ms,
         App           *app)
{
  (void) media;
  (void) app;
  g_print ("dtmf received %c %u ms\n", digit, duration_ms);
}

static void
on_media_started (KcCtaCall *call,
                  App       *app)
{
  const char *client = kc_cta_call_get_jack_client (call);
  g_autoptr(GError) error = NULL;

  g_print ("media started %s\n", kc_cta_call_describe_media (call));
  if (client != NULL)
    g_print ("jack client %s\n", client);
  g_signal_connect (kc_cta_call_get_media (call), "dtmf", G_CALLBACK (on_dtmf), app);
  for (const char *d = app->dtmf; d != NULL && *d != '\0'; d++)
    if (!kc_media_stream_send_dtmf (kc_cta_call_get_media (call), *d, 100, &error)) {
      g_printerr ("keycall: --dtmf: %s\n", error->message);
      break;
    }
}

/* Hold and resume (--hold-after, --hold-for): one line per change, with
 * the RTP counters at that moment, so a test can tell what flowed while
 * the call was held. */

static void
print_hold_line (KcCtaCall  *call,
                 const char *what)
{
  KcMediaStats st = { 0, };

  kc_cta_call_get_media_stats (call, &st);
  g_print ("%s rtp-sent %" G_GUINT64_FORMAT " rtp-received %" G_GUINT64_FORMAT
           " key-fingerprint %s\n", what, st.rtp_sent, st.rtp_received,
           kc_cta_call_get_key_fingerprint (call) ? kc_cta_call_get_key_fingerprint (call) : "-");
}

static gboolean
on_hold_due (gpointer user_data)
{
  App *app = user_data;
  g_autoptr(GError) error = NULL;
  gboolean hold = !kc_cta_call_get_held (app->call);

  app->hold_id = 0;
  g_print ("%s requested\n", hold ? "hold" : "resume");
  if (!kc_cta_call_hold (app->call, hold, &error))
    g_print ("hold failed: %s\n", error->message);
  return G_SOURCE_REMOVE;
}

static void
on_held (KcCtaCall  *call,
         GParamSpec *pspec,
         App        *app)
{
  gboolean held = kc_cta_call_get_held (call);

  print_hold_line (call, held ? "held" : "resumed");
  if (held && app->hold_for >= 0 && app->hold_id == 0 && !app->finishing)
    app->hold_id = g_timeout_add_seconds ((guint) app->hold_for, on_hold_due, app);
}

static void
on_remote_held (KcCtaCall  *call,
                GParamSpec *pspec,
                App        *app)
{
  print_hold_line (call, kc_cta_call_get_remote_held (call) ? "remote held" : "remote resumed");
}

static void
on_hold_failed (KcCtaCall  *call,
                const char *message,
                App        *app)
{
  g_print ("hold failed: %s\n", message);
}

static void
watch_call (App       *app,
            KcCtaCall *call)
{
  g_signal_connect (call, "state-changed", G_CALLBACK (on_call_state), app);
  g_signal_connect (call, "media-started", G_CALLBACK (on_media_started), app);
  g_signal_connect (call, "notify::held", G_CALLBACK (on_held), app);
  g_signal_connect (call, "notify::remote-held", G_CALLBACK (on_remote_held), app);
  g_signal_connect (call, "hold-failed", G_CALLBACK (on_hold_failed), app);
}

static void
on_call_state (KcCtaCall      *call,
               KcCtaCallState  old,
               KcCtaCallState  state,
               App            *app)
{
  g_autofree char *line = NULL;
  gboolean incoming = kc_cta_call_get_direction (call) == KC_CTA_CALL_INCOMING;

  switch (state) {
  case KC_CTA_CALL_STATE_KEY_RECEIVED:
    line = kc_cta_key_describe (kc_cta_call_get_key_derived (call), kc_cta_call_get_key_id (call),
                                kc_cta_call_get_key_fingerprint (call));
    /* The controller that created the key, when ours said (stable words first). */
    if (kc_cta_call_get_key_origin (call) != NULL)
      g_print ("%s origin %s\n", line, kc_cta_call_get_key_origin (call));
    else
      g_print ("%s\n", line);
    break;
  case KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED:
    g_print ("key acknowledged\n");
    break;
  case KC_CTA_CALL_STATE_RINGING:
    g_print ("ringing\n");
    if (incoming && app->answer_id == 0)
      app->answer_id = g_timeout_add_seconds ((guint) app->answer_after, on_answer_due, app);
    break;
  case KC_CTA_CALL_STATE_ANSWERED:
    g_print ("answered\n");
    if (app->duration >= 0)
      app->duration_id = g_timeout_add_seconds ((guint) app->duration, on_hangup_due, app);
    if (app->hold_after >= 0)
      app->hold_id = g_timeout_add_seconds ((guint) app->hold_after, on_hold_due, app);
    break;
  case KC_CTA_CALL_STATE_ENDED:
  case KC_CTA_CALL_STATE_FAILED:
    g_clear_handle_id (&app->hold_id, g_source_remove);
    print_media_stats (call);
    line = kc_cta_call_describe_end (call);
    g_print ("%s\n", line);
    if (state == KC_CTA_CALL_STATE_ENDED && kc_cta_call_get_status (call) == 200)
      finish (app, EXIT_OK);
    else if (incoming && app->reject > 0 && kc_cta_call_get_status (call) == (guint) app->reject)
      finish (app, EXIT_OK);
    else
      fail (app, "the call %s %s did not complete: %u %s", incoming ? "from" : "to",
            kc_cta_call_get_peer_number (call), kc_cta_call_get_status (call),
            kc_cta_call_get_reason (call));
    break;
  case KC_CTA_CALL_STATE_CALLING:
  case KC_CTA_CALL_STATE_INCOMING:
  default:
    break;
  }
}

static void
on_incoming_call (KcCtaAccount *account,
                  KcCtaCall    *call,
                  App          *app)
{
  g_autoptr(GError) error = NULL;

  if (!app->answer || app->call != NULL || app->finishing) {
    g_printerr ("keycall: refusing a call from %s: %s\n", kc_cta_call_get_peer_number (call),
                app->answer ? "already in a call" : "not answering calls (no --answer)");
    if (!kc_cta_call_reject (call, app->answer ? 486 : 480, &error))
      g_warning ("%s", error->message);
    return;
  }
  app->call = g_object_ref (call);
  watch_call (app, call);
  g_print ("incoming call from %s\n", kc_cta_call_get_peer_number (call));
}

/* The registration */

static void
on_registered (KcCtaAccount *account,
               App          *app)
{
  g_autoptr(GError) error = NULL;

  if (app->was_registered)
    return;
  app->was_registered = TRUE;
  g_print ("registered %s at %s (%s, certificate %s) as %s\n",
           kc_cta_account_get_number (account),
           kc_cta_account_get_controller_name (account),
           kc_cta_account_get_controller_uri (account),
           kc_cta_account_get_verified_certificate (account),
           kc_cta_account_get_contact (account));

  if (app->call_number != NULL && app->call == NULL && !app->finishing) {
    app->call = kc_cta_account_call (account, app->call_number, &error);
    if (app->call == NULL) {
      fail (app, "%s", error->message);
      return;
    }
    watch_call (app, app->call);
    g_print ("calling %s\n", app->call_number);
  }
}

static void
on_reconnecting (KcCtaAccount *account,
                 const char   *reason,
                 App          *app)
{
  app->was_registered = FALSE;
  g_print ("reconnecting: %s\n", reason);
}

static void
on_registration_failed (KcCtaAccount *account,
                        guint         status,
                        const char   *reason,
                        App          *app)
{
  g_print ("registration failed %u %s\n", status, reason);
  fail (app, "cannot register %s at controller %s: %u %s",
        kc_cta_account_get_number (account), kc_cta_account_get_controller_name (account),
        status, reason);
}

static void
on_unregistered (KcCtaAccount *account,
                 App          *app)
{
  if (app->was_registered)
    g_print ("unregistered %s\n", kc_cta_account_get_number (account));
  if (app->finishing)
    g_main_loop_quit (app->loop);
}

static gboolean
on_timeout (gpointer user_data)
{
  App *app = user_data;

  app->timeout_id = 0;
  if (app->call_number == NULL && !app->answer) {
    finish (app, EXIT_OK);     /* only registering: the timeout is the end */
    return G_SOURCE_REMOVE;
  }
  fail (app, "timed out after %d s (%s)", app->timeout,
        app->call != NULL ? kc_cta_call_state_to_string (kc_cta_call_get_state (app->call))
                          : kc_cta_reg_state_to_string (kc_cta_account_get_state (app->account)));
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;
  gboolean in_call = app->call != NULL
                     && !kc_cta_call_state_is_final (kc_cta_call_get_state (app->call));

  if (app->finishing) {
    g_main_loop_quit (app->loop);
    return G_SOURCE_CONTINUE;
  }
  g_printerr ("keycall: interrupted%s\n", in_call ? " during a call" : "");
  finish (app, in_call ? EXIT_FAILED : EXIT_OK);
  return G_SOURCE_CONTINUE;
}

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

  g_signal_connect (app->account, "registered", G_CALLBACK (on_registered), app);
  g_signal_connect (app->account, "reconnecting", G_CALLBACK (on_reconnecting), app);
  g_signal_connect (app->account, "registration-failed",
                    G_CALLBACK (on_registration_failed), app);
  g_signal_connect (app->account, "unregistered", G_CALLBACK (on_unregistered), app);
  g_signal_connect (app->account, "incoming-call", G_CALLBACK (on_incoming_call), app);

  app->loop = g_main_loop_new (NULL, FALSE);
  if (!kc_cta_account_start (app->account, &error)) {
    g_printerr ("keycall: %s\n", error->message);
    app->exit_code = EXIT_FAILED;
    goto out;
  }
  app->timeout_id = g_timeout_add_seconds ((guint) app->timeout, on_timeout, app);
  g_unix_signal_add (SIGINT, on_signal, app);
  g_unix_signal_add (SIGTERM, on_signal, app);
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
