/* keycall-flow.c: the FIG. 3 flow viewer. Opens event logs and event
 * sockets in one merged ladder, replays logs at a chosen speed, or exports
 * the ladder of logs to SVG/PNG/PDF/text with no display at all.
 *
 *   keycall-flow [--socket PATH]… [--control PATH] [--select STEP] [--call ID] [--number N] [FILE…]
 *   keycall-flow --replay FILE [--speed X] [--paused]
 *   keycall-flow --export OUT.svg|.png|.pdf|.txt [--call ID] [--number N] FILE…
 */
#define G_LOG_DOMAIN "keycall-flow"

#include "config.h"

#include "kc-flow-model.h"
#include "kc-flow-render.h"
#include "kc-flow-export.h"
#include "kc-flow-window.h"

#include "kc-error.h"

#include <adwaita.h>
#include <locale.h>
#include <stdio.h>

typedef struct {
  KcFlowModel  *model;
  KcFlowReplay *replay;
  gboolean      paused;
  char        **files;
  char        **replay_files;
  char        **sockets;
  char         *control;
  int           select;
  const char   *call;
  const char   *number;
  int           panel;
} Flow;

/* Bad lines are reported and skipped: a log being written may end mid-line. */
static gboolean
load_files (KcFlowModel *model, char **files)
{
  gboolean ok = TRUE;

  for (guint i = 0; files != NULL && files[i] != NULL; i++) {
    g_autoptr(GError) error = NULL;

    if (!kc_flow_model_load_file (model, files[i], &error)) {
      fprintf (stderr, "keycall-flow: %s\n", error->message);
      ok = ok && g_error_matches (error, KC_ERROR, KC_ERROR_INVALID);
    }
  }
  return ok;
}

static void
on_activate (GApplication *app, gpointer user_data)
{
  Flow *flow = user_data;
  KcFlowWindow *window = kc_flow_window_new (GTK_APPLICATION (app), flow->model);
  g_autoptr(GString) source = g_string_new (NULL);

  for (guint i = 0; flow->files != NULL && flow->files[i] != NULL; i++) {
    g_autofree char *base = g_path_get_basename (flow->files[i]);

    g_string_append_printf (source, "%s%s", source->len ? ", " : "", base);
  }
  for (guint i = 0; flow->replay_files != NULL && flow->replay_files[i] != NULL; i++) {
    g_autofree char *base = g_path_get_basename (flow->replay_files[i]);

    g_string_append_printf (source, "%s%s", source->len ? ", " : "replay of ", base);
  }
  kc_flow_window_set_source (window, source->str);
  kc_flow_window_set_filter (window, flow->call, flow->number);
  if (flow->panel >= 0)
    kc_flow_window_show_panel (window, flow->panel);
  if (flow->replay != NULL) {
    kc_flow_window_set_replay (window, flow->replay);
    if (!flow->paused)
      kc_flow_replay_play (flow->replay);
  }
  for (guint i = 0; flow->sockets != NULL && flow->sockets[i] != NULL; i++)
    kc_flow_window_add_socket (window, flow->sockets[i]);
  if (flow->control != NULL)
    kc_flow_window_add_control (window, flow->control);
  if (flow->select != 0 && !kc_flow_view_select_step (kc_flow_window_get_view (window), flow->select))
    fprintf (stderr, "keycall-flow: no arrow of FIG. 3 step %d\n", flow->select);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *export = NULL, *control = NULL;
  g_auto(GStrv) sockets = NULL, files = NULL, replay = NULL;
  g_autofree char *call = NULL, *number = NULL;
  double speed = 1.0;
  gboolean paused = FALSE;
  g_autofree char *panel = NULL;
  int select = 0, panel_index = -1;
  GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME_ARRAY, &sockets,
      "Subscribe to a process's event socket (repeatable)", "PATH" },
    { "control", 0, 0, G_OPTION_ARG_FILENAME, &control,
      "Subscribe to a controller's private window socket and drive its step mode and slow motion", "PATH" },
    { "export", 'e', 0, G_OPTION_ARG_FILENAME, &export,
      "Write the diagram of the FILEs to OUT (.svg, .png, .pdf or .txt) and exit; needs no display", "OUT" },
    { "replay", 'r', 0, G_OPTION_ARG_FILENAME_ARRAY, &replay,
      "Play a recorded event log back as it happened (repeatable: merged)", "FILE" },
    { "speed", 0, 0, G_OPTION_ARG_DOUBLE, &speed,
      "Replay speed: 1 is real time, 10 ten times faster, 0.5 half (default 1)", "X" },
    { "paused", 0, 0, G_OPTION_ARG_NONE, &paused,
      "Open a replay paused before its first event (Play or Next event in the window)", NULL },
    { "call", 'c', 0, G_OPTION_ARG_STRING, &call,
      "Show only this call (a SIP Call-ID, as in the Calls panel)", "CALL-ID" },
    { "number", 'n', 0, G_OPTION_ARG_STRING, &number,
      "Show only the events of this number and of its calls", "NUMBER" },
    { "panel", 0, 0, G_OPTION_ARG_STRING, &panel,
      "Open the sidebar on this panel: ctas, calls (the default), keys, cdrs or taps", "PANEL" },
    { "select", 0, 0, G_OPTION_ARG_INT, &select,
      "Open with the first arrow of FIG. 3 step STEP selected (e.g. 318)", "STEP" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE…" },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    g_option_context_new ("- the FIG. 3 key-distribution flow of Keycall event logs");
  g_autoptr(GError) error = NULL;
  g_autoptr(KcFlowModel) model = kc_flow_model_new ();
  g_autoptr(AdwApplication) app = NULL;
  Flow flow = { 0 };
  char *app_argv[] = { argv[0], NULL };

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "FILEs are JSON-lines event logs (--events of keycall, keycall-controller's logs).\n"
    "Without --export the window opens: click an arrow or note for its message.\n"
    "Several logs or sockets merge into one diagram (a two-controller call shows all of FIG. 3).");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "keycall-flow: %s\n", error->message);
    return 2;
  }

  if (speed < KC_FLOW_REPLAY_SPEED_MIN || speed > KC_FLOW_REPLAY_SPEED_MAX) {
    fprintf (stderr, "keycall-flow: --speed %g is out of range: give %g to %g\n", speed,
             KC_FLOW_REPLAY_SPEED_MIN, KC_FLOW_REPLAY_SPEED_MAX);
    return 2;
  }
  if (replay != NULL && (files != NULL || sockets != NULL || control != NULL || export != NULL)) {
    fprintf (stderr, "keycall-flow: --replay plays its own logs; give no other FILE, --socket "
             "or --export\n");
    return 2;
  }
  kc_flow_model_set_filter (model, call, number);
  for (KcFlowPanel p = 0; panel != NULL && p < KC_FLOW_N_PANELS; p++)
    if (g_ascii_strcasecmp (panel, kc_flow_panel_get_title (p)) == 0)
      panel_index = p;
  if (panel != NULL && panel_index < 0) {
    fprintf (stderr, "keycall-flow: no panel \"%s\": give ctas, calls, keys, cdrs or taps\n", panel);
    return 2;
  }

  if (export != NULL) {
    if (files == NULL || sockets != NULL || control != NULL) {
      fprintf (stderr, "keycall-flow: --export draws event log FILEs; give at least one, "
               "and no --socket\n");
      return 2;
    }
    if (!load_files (model, files))
      return 1;
    if (!kc_flow_export (model, export, &error)) {
      fprintf (stderr, "keycall-flow: %s\n", error->message);
      return 1;
    }
    printf ("%s: %u lanes, %u arrows and notes from %u events\n", export,
            kc_flow_model_get_n_lanes (model), kc_flow_model_get_n_items (model),
            kc_flow_model_get_n_events (model));
    return 0;
  }

  if (files == NULL && sockets == NULL && control == NULL && replay == NULL) {
    g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

    fprintf (stderr, "keycall-flow: give event log FILEs, --socket PATH or --replay FILE\n\n%s", help);
    return 2;
  }
  if (!gtk_init_check ()) {
    fprintf (stderr, "keycall-flow: no display; use --export OUT.svg to draw without one\n");
    return 1;
  }
  if (!load_files (model, files))
    return 1;
  if (replay != NULL) {
    flow.replay = kc_flow_replay_new (model);
    if (!kc_flow_replay_load (flow.replay, replay, &error)) {
      fprintf (stderr, "keycall-flow: %s\n", error->message);
      if (!g_error_matches (error, KC_ERROR, KC_ERROR_INVALID))
        return 1;
      g_clear_error (&error);
    }
    kc_flow_replay_set_speed (flow.replay, speed);
  }

  flow.model = model;
  flow.paused = paused;
  flow.replay_files = replay;
  flow.call = call;
  flow.number = number;
  flow.panel = panel_index;
  flow.files = files;
  flow.sockets = sockets;
  flow.control = control;
  flow.select = select;
  app = adw_application_new ("org.keycall.Flow", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), &flow);
  /* Our options are parsed already; GApplication must not see them. */
  {
    int status = g_application_run (G_APPLICATION (app), 1, app_argv);

    g_clear_object (&flow.replay);
    return status;
  }
}
