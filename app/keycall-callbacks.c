/* keycall-callbacks.c: what `keycall --headless` does when its call or its
 * account reports something: one stdout line each (the integration tests
 * read them), the timers of --answer-after, --duration and --hold-after,
 * and ending the run.
 */
#define G_LOG_DOMAIN "keycall"

#include "config.h"

#include "keycall-private.h"

#include "kc-cta-keying.h"

#include <stdarg.h>

#define UNREGISTER_GRACE_S   3

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

void
keycall_watch_account (App *app)
{
  g_signal_connect (app->account, "registered", G_CALLBACK (on_registered), app);
  g_signal_connect (app->account, "reconnecting", G_CALLBACK (on_reconnecting), app);
  g_signal_connect (app->account, "registration-failed",
                    G_CALLBACK (on_registration_failed), app);
  g_signal_connect (app->account, "unregistered", G_CALLBACK (on_unregistered), app);
  g_signal_connect (app->account, "incoming-call", G_CALLBACK (on_incoming_call), app);
}

gboolean
keycall_on_timeout (gpointer user_data)
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

gboolean
keycall_on_signal (gpointer user_data)
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
