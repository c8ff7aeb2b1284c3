/* kc-demo-call.c: the demo's real call, two controllers and two headless
 * softphones on 127.0.0.1, and the FIG. 3 flow read back from their events.
 *
 * Everything here is a real process talking SIP over mutual TLS; the demo
 * only starts them, waits, and prints what their event logs say.
 */
#define G_LOG_DOMAIN "keycall-demo"

#include "kc-demo-call.h"
#include "kc-demo-audio.h"

#include "kc-error.h"
#include "kc-event.h"
#include "kc-secret.h"

#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define CALL_TIMEOUT_US  (40 * G_USEC_PER_SEC)
#define STEP_CALL_TIMEOUT_US  (900 * G_USEC_PER_SEC)

typedef struct {
  char        *name;        /* "gc1", "alice" … */
  char        *out_path;    /* its stdout */
  char        *events_path; /* its JSON-lines events */
  GSubprocess *process;
} Child;

static void
child_free (Child *child)
{
  if (child->process != NULL && g_subprocess_get_identifier (child->process) != NULL)
    g_subprocess_send_signal (child->process, SIGTERM);
  g_clear_object (&child->process);
  g_free (child->name);
  g_free (child->out_path);
  g_free (child->events_path);
  g_free (child);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Child, child_free)

/* Starts @argv with stdout to NET/logs/NAME.out and stderr to NAME.err. */
static Child *
child_spawn (const char *net, const char *name, const char *const *argv, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *logs = g_build_filename (net, "logs", NULL);
  g_autofree char *err_path = NULL;
  g_autoptr(Child) child = g_new0 (Child, 1);

  g_mkdir_with_parents (logs, 0700);
  child->name = g_strdup (name);
  child->out_path = g_strdup_printf ("%s/%s.out", logs, name);
  err_path = g_strdup_printf ("%s/%s.err", logs, name);
  g_subprocess_launcher_set_stdout_file_path (launcher, child->out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  child->process = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (child->process == NULL)
    return NULL;
  return g_steal_pointer (&child);
}

static char *
child_output (Child *child)
{
  char *text = NULL;

  if (!g_file_get_contents (child->out_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* The first stdout line of @child that starts with @prefix, or NULL. */
static char *
child_line (Child *child, const char *prefix)
{
  g_autofree char *text = child_output (child);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, prefix))
      return g_strdup (*l);
  return NULL;
}

static gboolean
child_wait_line (Child *child, const char *prefix, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_US;

  while (g_get_monotonic_time () < deadline) {
    g_autofree char *line = child_line (child, prefix);

    if (line != NULL)
      return TRUE;
    if (g_subprocess_get_identifier (child->process) == NULL)
      break;
    g_usleep (50 * 1000);
  }
  g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
               "%s did not print “%s” (see %s and the .err file beside it)",
               child->name, prefix, child->out_path);
  return FALSE;
}

static gboolean
child_wait_exit (Child *child, gint64 deadline, GError **error)
{
  while (g_subprocess_get_identifier (child->process) != NULL) {
    if (g_get_monotonic_time () > deadline) {
      g_subprocess_force_exit (child->process);
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "%s did not finish in time", child->name);
      return FALSE;
    }
    g_usleep (50 * 1000);
  }
  g_subprocess_wait (child->process, NULL, NULL);
  if (!g_subprocess_get_successful (child->process)) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                 "%s failed (exit status %d); see %s and the .err file beside it",
                 child->name, g_subprocess_get_exit_status (child->process), child->out_path);
    return FALSE;
  }
  return TRUE;
}

static Child *
start_controller (KcDemoCall *demo, const char *name, GError **error)
{
  g_autofree char *config = g_build_filename (demo->net, "controllers", name, "controller.ini", NULL);
  g_autofree char *events = g_strdup_printf ("%s/logs/%s.events", demo->net, name);
  g_autofree char *socket = g_strdup_printf ("%s/logs/%s.sock", demo->net, name);
  g_autofree char *window = g_strdup_printf ("%s/logs/%s.window", demo->net, name);
  /* --step: gc1 serves the window's private socket (the one that takes
   * Next) and starts in step mode; the demo's window opens on it. */
  gboolean step = demo->step && strcmp (name, "gc1") == 0;
  const char *argv[] = {
    demo->controller, step ? "--step" : "--headless", "--config", config, "--events", events,
    "--key-mode", demo->derived ? "derived" : "random", "--keepalive", "1",
    /* Only for the controller window. */
    demo->flow == NULL ? NULL : step ? "--window-socket" : "--event-socket",
    step ? window : socket, NULL
  };
  g_autoptr(Child) child = NULL;

  child = child_spawn (demo->net, name, argv, error);
  if (child == NULL || !child_wait_line (child, "listening", error))
    return NULL;
  child->events_path = g_steal_pointer (&events);
  return g_steal_pointer (&child);
}

/* @number: the number to call, or NULL to answer. */
static Child *
start_cta (KcDemoCall *demo, const char *name, const char *profile, const char *number,
           GError **error)
{
  g_autofree char *events = g_strdup_printf ("%s/logs/%s.events", demo->net, name);
  g_autofree char *voice = g_strdup_printf ("%s/logs/%s-says.wav", demo->net, name);
  g_autofree char *heard = g_strdup_printf ("%s/logs/%s-heard.wav", demo->net, name);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(Child) child = NULL;
  /* Alice hangs up after 5 s; Bob stays until her BYE, so their BYEs never cross. */
  /* In step mode the call waits for the class: a generous bound. */
  const char *const fixed[] = {
    demo->keycall, "--headless", "--profile", profile, "--events", events,
    "--duration", number != NULL ? "5" : demo->step ? "600" : "20",
    "--audio-in", voice, "--audio-out", heard, "--timeout", demo->step ? "900" : "30",
  };

  if (!kc_demo_audio_make_voice (voice, number != NULL
                                          ? "Hello Bob, this is Alice, on an encrypted line."
                                          : "Hi Alice, Bob here. I hear you clearly.",
                                 number != NULL ? 440 : 660, error))
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, (gpointer) fixed[i]);
  if (number != NULL) {
    g_ptr_array_add (argv, (gpointer) "--call");
    g_ptr_array_add (argv, (gpointer) number);
  } else {
    g_ptr_array_add (argv, (gpointer) "--answer");
  }
  g_ptr_array_add (argv, NULL);

  child = child_spawn (demo->net, name, (const char *const *) argv->pdata, error);
  if (child == NULL || !child_wait_line (child, "registered", error))
    return NULL;
  child->events_path = g_steal_pointer (&events);
  return g_steal_pointer (&child);
}

static gint
compare_events (gconstpointer a, gconstpointer b)
{
  gint64 ta = kc_event_get_time (*(KcEvent **) a), tb = kc_event_get_time (*(KcEvent **) b);

  return ta < tb ? -1 : ta > tb;
}

static void
read_events (GPtrArray *events, const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (path == NULL || !g_file_get_contents (path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    KcEvent *event = **l ? kc_event_from_json (*l, -1, NULL) : NULL;

    if (event != NULL)
      g_ptr_array_add (events, event);
  }
}

/* The ladder as text: the steps of FIG. 3 and the key's life, in time order. */
static void
print_flow (Child **children, guint n)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_event_unref);
  gint64 t0 = 0;

  for (guint i = 0; i < n; i++)
    if (children[i] != NULL)
      read_events (events, children[i]->events_path);
  g_ptr_array_sort (events, compare_events);

  for (guint i = 0; i < events->len; i++) {
    KcEvent *e = events->pdata[i];
    KcEventKind kind = kc_event_get_kind (e);
    const char *peer = kc_event_get_peer (e), *fp = kc_event_get_fingerprint (e);
    g_autofree char *step = NULL, *actors = NULL;

    /* Every message is logged by its sender and its receiver; the sender's
     * line is the arrow. */
    if (kind == KC_EVENT_KIND_SIP_RX)
      continue;
    if (kc_event_get_fig3 (e) == 0 && kind != KC_EVENT_KIND_KEY_CREATED
        && kind != KC_EVENT_KIND_KEY_DERIVED && kind != KC_EVENT_KIND_KEY_SEALED
        && kind != KC_EVENT_KIND_KEY_STORED && kind != KC_EVENT_KIND_KEY_ACK_FAILED
        && kind != KC_EVENT_KIND_ERROR)
      continue;
    if (t0 == 0)
      t0 = kc_event_get_time (e);
    step = kc_event_get_fig3 (e) ? g_strdup_printf ("%3d", kc_event_get_fig3 (e)) : g_strdup ("   ");
    /* Only a sent message has a direction; other events just name both ends. */
    actors = peer ? g_strdup_printf ("%s %s %s", kc_event_get_lane (e),
                                     kind == KC_EVENT_KIND_SIP_TX ? "→" : "·", peer)
                  : g_strdup (kc_event_get_lane (e));
    /* Pad by characters, not bytes: the arrows are multi-byte. */
    printf ("  %s %8.1f ms  %s%*s %s%s%s\n", step, (kc_event_get_time (e) - t0) / 1000.0,
            actors, (int) MAX (0, 34 - (glong) g_utf8_strlen (actors, -1)), "",
            kc_event_get_summary (e) ? kc_event_get_summary (e) : kc_event_get_kind_string (e),
            fp ? "  K " : "", fp ? fp : "");
  }
}

/* "key received id 1a2b3c4d fingerprint 3f2a 91c0 7d4e 0b18" (and
 * keycall-lea's "key CALL fingerprint 3f2a 91c0 7d4e 0b18 id …") → the
 * fingerprint. */
static char *
cta_fingerprint (Child *cta)
{
  g_autofree char *line = child_line (cta, "key ");
  const char *fp = line ? strstr (line, "fingerprint ") : NULL;

  return fp ? g_strndup (fp + strlen ("fingerprint "), KC_FINGERPRINT_LEN - 1) : NULL;
}

/* lea1 (FIG. 5, 510) asks gc1 for Alice's future keys (514) before the
 * call, so the call's sealed key reaches it (516) and gc1's relay copies
 * the call's SRTP to it, which it decrypts and records. */
static Child *
start_lea (KcDemoCall *demo, GError **error)
{
  g_autofree char *config = g_build_filename (demo->net, "lea", "lea1", "lea.ini", NULL);
  g_autofree char *records = g_build_filename (demo->net, "logs", "lea1", NULL);
  g_autofree char *events = g_strdup_printf ("%s/logs/lea1.events", demo->net);
  g_autofree char *socket = g_strdup_printf ("%s/logs/lea1.sock", demo->net);
  const char *argv[] = {
    demo->lea, "--config", config, "--controller", "gc1", "--content", "127.0.0.1:0",
    "--record-dir", records, "--tap", "1001:future@gc1", "--stop-on-exit", "--events", events,
    demo->flow ? "--event-socket" : NULL, socket, NULL
  };
  g_autoptr(Child) child = NULL;

  g_mkdir_with_parents (records, 0700);
  child = child_spawn (demo->net, "lea1", argv, error);
  if (child == NULL || !child_wait_line (child, "tap ", error))
    return NULL;
  child->events_path = g_steal_pointer (&events);
  return g_steal_pointer (&child);
}

gboolean
kc_demo_call_run (KcDemoCall *demo, GError **error)
{
  g_autofree char *alice_profile = g_build_filename (demo->net, "alice.kcprofile", NULL);
  g_autofree char *bob_profile = g_build_filename (demo->net, "bob.kcprofile", NULL);
  Child *children[5] = { NULL };   /* gc1, gc2, Bob, Alice, lea1 */
  g_autoptr(Child) window = NULL;
  Child *gc1, *gc2, *bob, *alice;
  gboolean ok = FALSE;
  gint64 deadline;

  printf ("\n  starting gc1 and gc2 (keycall-controller --headless), Bob answering, Alice calling 2001…\n");
  if (demo->step)
    printf ("  step mode: gc1 holds each message it sends until you press Next in the window\n"
            "  (Alt+N); press it within 30 s of each step, or the phones' SIP timers give up\n");
  fflush (stdout);
  gc1 = children[0] = start_controller (demo, "gc1", error);
  gc2 = gc1 ? (children[1] = start_controller (demo, "gc2", error)) : NULL;
  if (gc2 != NULL && demo->lea != NULL) {
    printf ("  lea1 (keycall-lea) asks gc1 for Alice's keys from now on (FIG. 5, 514)\n");
    fflush (stdout);
    if ((children[4] = start_lea (demo, error)) == NULL)
      gc2 = NULL;
  }
  if (gc2 != NULL && demo->flow != NULL) {
    /* The controller window, subscribed to both controllers' event sockets
     * (they replay what it missed) and the LEA's, draws the call as it
     * happens. */
    g_autofree char *s1 = g_strdup_printf ("%s/logs/gc1.sock", demo->net);
    g_autofree char *s2 = g_strdup_printf ("%s/logs/gc2.sock", demo->net);
    g_autofree char *s3 = g_strdup_printf ("%s/logs/lea1.sock", demo->net);
    g_autofree char *w1 = g_strdup_printf ("%s/logs/gc1.window", demo->net);
    const char *argv[] = { demo->flow, demo->step ? "--control" : "--socket", demo->step ? w1 : s1,
                           "--socket", s2, demo->lea ? "--socket" : NULL, s3, NULL };

    window = child_spawn (demo->net, "controller-window", argv, error);
    if (window == NULL)
      return FALSE;
    printf ("  the controller window (keycall-flow, pid %s) shows the flow live\n",
            g_subprocess_get_identifier (window->process));
    fflush (stdout);
  }
  if (gc2 != NULL)
    g_usleep (1500 * 1000);   /* one keep-alive round: the peering of 310 is up */
  bob = gc2 ? (children[2] = start_cta (demo, "bob", bob_profile, NULL, error)) : NULL;
  alice = bob ? (children[3] = start_cta (demo, "alice", alice_profile, "2001", error)) : NULL;

  if (alice != NULL) {
    deadline = g_get_monotonic_time () + (demo->step ? STEP_CALL_TIMEOUT_US : CALL_TIMEOUT_US);
    ok = child_wait_exit (alice, deadline, error) && child_wait_exit (bob, deadline, error);
  }

  for (guint i = 2; i < 4; i++)
    if (children[i] != NULL) {
      g_autofree char *fp = cta_fingerprint (children[i]);

      g_free (i == 2 ? demo->callee_fingerprint : demo->caller_fingerprint);
      if (i == 2)
        demo->callee_fingerprint = g_steal_pointer (&fp);
      else
        demo->caller_fingerprint = g_steal_pointer (&fp);
    }

  /* The LEA writes its recording when gc1 tells it the call ended. */
  if (children[4] != NULL) {
    GError *lea_error = NULL;

    if (ok && child_wait_line (children[4], "recorded ", &lea_error)) {
      demo->lea_fingerprint = cta_fingerprint (children[4]);
      demo->lea_recorded = child_line (children[4], "recorded ");
    }
    if (lea_error != NULL) {
      g_propagate_error (error, lea_error);
      ok = FALSE;
    }
    g_subprocess_send_signal (children[4]->process, SIGTERM);
    g_subprocess_wait (children[4]->process, NULL, NULL);
  }
  /* Stop the controllers first so their logs are complete. */
  for (guint i = 0; i < 2; i++)
    if (children[i] != NULL) {
      g_subprocess_send_signal (children[i]->process, SIGTERM);
      g_subprocess_wait (children[i]->process, NULL, NULL);
    }

  printf ("\n  FIG. 3, from the events of gc1, gc2, Alice (cta:1001) and Bob (cta:2001)%s:\n",
          children[4] != NULL ? ", and FIG. 5's 514/516 from lea1" : "");
  print_flow (children, G_N_ELEMENTS (children));
  if (ok) {
    g_autofree char *alice_heard = g_strdup_printf ("%s/logs/alice-heard.wav", demo->net);
    g_autofree char *bob_heard = g_strdup_printf ("%s/logs/bob-heard.wav", demo->net);
    g_autofree char *a = kc_demo_audio_describe (alice_heard);
    g_autofree char *b = kc_demo_audio_describe (bob_heard);

    printf ("\nMedia 330: SRTP with keys derived from K, both directions\n");
    printf ("  Bob heard Alice:  %s (logs/bob-heard.wav)\n", b);
    printf ("  Alice heard Bob:  %s (logs/alice-heard.wav)\n", a);
    printf ("  (keycall-demo --keep keeps the network folder: listen with aplay logs/*-heard.wav)\n");
  }
  for (guint i = 0; i < G_N_ELEMENTS (children); i++)
    if (children[i] != NULL)
      child_free (children[i]);
  if (window != NULL && g_subprocess_get_identifier (window->process) != NULL) {
    printf ("\nThe controller window shows this call, FIG. 3 from gc1's and gc2's events; "
            "close it to finish.\n");
    fflush (stdout);
    g_subprocess_wait (window->process, NULL, NULL);
  }
  return ok;
}
