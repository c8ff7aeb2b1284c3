/* keycall-flow.c: the FIG. 3 flow viewer. Opens event logs and event
 * sockets in one merged ladder, or exports the ladder of logs to SVG/PNG
 * with no display at all.
 *
 *   keycall-flow [--socket PATH]… [--select STEP] [FILE…]
 *   keycall-flow --export OUT.svg|OUT.png FILE…
 */
#define G_LOG_DOMAIN "keycall-flow"

#include "config.h"

#include "kc-flow-model.h"
#include "kc-flow-render.h"
#include "kc-flow-window.h"

#include "kc-error.h"

#include <adwaita.h>
#include <locale.h>
#include <stdio.h>

typedef struct {
  KcFlowModel  *model;
  char        **files;
  char        **sockets;
  int           select;
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
  kc_flow_window_set_source (window, source->str);
  for (guint i = 0; flow->sockets != NULL && flow->sockets[i] != NULL; i++)
    kc_flow_window_add_socket (window, flow->sockets[i]);
  if (flow->select != 0 && !kc_flow_view_select_step (kc_flow_window_get_view (window), flow->select))
    fprintf (stderr, "keycall-flow: no arrow of FIG. 3 step %d\n", flow->select);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *export = NULL;
  g_auto(GStrv) sockets = NULL, files = NULL;
  int select = 0;
  GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME_ARRAY, &sockets,
      "Subscribe to a process's event socket (repeatable)", "PATH" },
    { "export", 'e', 0, G_OPTION_ARG_FILENAME, &export,
      "Write the diagram of the FILEs to OUT (.svg or .png) and exit; needs no display", "OUT" },
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
    "Without --export the window opens: click an arrow or note for its message.");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "keycall-flow: %s\n", error->message);
    return 2;
  }

  if (export != NULL) {
    if (files == NULL || sockets != NULL) {
      fprintf (stderr, "keycall-flow: --export draws event log FILEs; give at least one, "
               "and no --socket\n");
      return 2;
    }
    if (!load_files (model, files))
      return 1;
    if (!kc_flow_render_export (model, export, &error)) {
      fprintf (stderr, "keycall-flow: %s\n", error->message);
      return 1;
    }
    printf ("%s: %u lanes, %u arrows and notes from %u events\n", export,
            kc_flow_model_get_n_lanes (model), kc_flow_model_get_n_items (model),
            kc_flow_model_get_n_events (model));
    return 0;
  }

  if (files == NULL && sockets == NULL) {
    g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

    fprintf (stderr, "keycall-flow: give event log FILEs or --socket PATH\n\n%s", help);
    return 2;
  }
  if (!gtk_init_check ()) {
    fprintf (stderr, "keycall-flow: no display; use --export OUT.svg to draw without one\n");
    return 1;
  }
  if (!load_files (model, files))
    return 1;

  flow.model = model;
  flow.files = files;
  flow.sockets = sockets;
  flow.select = select;
  app = adw_application_new ("org.keycall.Flow", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (app, "activate", G_CALLBACK (on_activate), &flow);
  /* Our options are parsed already; GApplication must not see them. */
  return g_application_run (G_APPLICATION (app), 1, app_argv);
}
