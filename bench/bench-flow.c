/* bench-flow.c: how smoothly the controller window's ladder scrolls.
 *
 * Builds 10,000 events from the recorded two-controller call of
 * tests/data/flow-two-controllers.jsonl (the same call again and again,
 * each copy with its own Call-ID, key id and later times), then scrolls a
 * window-sized viewport through the whole diagram, drawing every frame
 * offscreen with the real render code (kc-flow-render: the rows and the
 * sticky lane header, as kc-flow-view draws them). Prints the frame time
 * (mean, p99, max, in ms; a 60 Hz display allows 16.7), and what a live
 * window pays per new event (one model rebuild) and per filter change.
 *
 *   bench-flow [--events N] [--width W] [--height H] [--step PX] [--fixture FILE]
 */
#define G_LOG_DOMAIN "bench-flow"

#include "config.h"

#include "kc-flow-model.h"
#include "kc-flow-render.h"

#include <cairo.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_events = 10000;
static int width = 1040;
static int height = 700;
static int step = 40;
static char *fixture;

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* Copies of the recorded call, 10 s apart, until @n events. */
static KcFlowModel *
build_model (const char *path, int n)
{
  g_autoptr(KcFlowModel) call = kc_flow_model_new ();
  g_autoptr(GError) error = NULL;
  KcFlowModel *model = kc_flow_model_new ();
  guint per_call;

  if (!kc_flow_model_load_file (call, path, &error))
    g_error ("%s", error->message);
  per_call = kc_flow_model_get_n_events (call);
  for (int copy = 0; (int) kc_flow_model_get_n_events (model) < n; copy++) {
    for (guint i = 0; i < per_call && (int) kc_flow_model_get_n_events (model) < n; i++) {
      KcEvent *src = kc_flow_model_get_event (call, i);
      g_autoptr(KcEvent) e = kc_event_copy (src);

      kc_event_set_time (e, kc_event_get_time (src) + copy * 10 * G_USEC_PER_SEC);
      kc_event_set_seq (e, kc_event_get_seq (src) + (guint64) copy * 1000);
      if (kc_event_get_call_id (src) != NULL) {
        g_autofree char *id = g_strdup_printf ("%s-%d", kc_event_get_call_id (src), copy);

        kc_event_set_call_id (e, id);
      }
      if (kc_event_get_key_id (src) != NULL) {
        g_autofree char *key = g_strdup_printf ("%024x%08x", 0, copy);

        kc_event_set_key_id (e, key);
      }
      kc_flow_model_add_event (model, e);
    }
  }
  return model;
}

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "events", 0, 0, G_OPTION_ARG_INT, &n_events, "Events in the diagram (10000)", "N" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Viewport width (1040)", "PX" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Viewport height (700)", "PX" },
    { "step", 0, 0, G_OPTION_ARG_INT, &step, "Scroll per frame (40)", "PX" },
    { "fixture", 0, 0, G_OPTION_ARG_FILENAME, &fixture, "The recorded call to copy", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- frame time of the flow diagram");
  g_autoptr(GError) error = NULL;
  g_autoptr(KcFlowModel) model = NULL;
  g_autoptr(GArray) frames = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(KcEvent) extra = NULL;
  cairo_surface_t *surface;
  double total = 0, rebuild_ms, filter_ms, build_ms, first_ms = -1;
  int diagram_w, diagram_h;
  gint64 start;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "bench-flow: %s\n", error->message);
    return 2;
  }
  if (fixture == NULL)
    fixture = g_strdup (KC_FLOW_FIXTURE);
  if (n_events < 1 || width < 100 || height < 100 || step < 1) {
    fprintf (stderr, "bench-flow: --events, --width, --height and --step must be positive "
             "(width and height at least 100)\n");
    return 2;
  }

  start = g_get_monotonic_time ();
  model = build_model (fixture, n_events);
  kc_flow_render_get_size (model, &diagram_w, &diagram_h);
  build_ms = ms_since (start);

  /* What a live window pays per event: the model rebuilds once per batch. */
  extra = kc_event_copy (kc_flow_model_get_event (model, kc_flow_model_get_n_events (model) - 1));
  kc_event_set_seq (extra, G_MAXINT32);
  start = g_get_monotonic_time ();
  kc_flow_model_add_event (model, extra);
  kc_flow_render_get_size (model, &diagram_w, &diagram_h);
  rebuild_ms = ms_since (start);

  start = g_get_monotonic_time ();
  kc_flow_model_set_filter (model, NULL, "2001");
  kc_flow_model_get_n_items (model);
  kc_flow_model_set_filter (model, NULL, NULL);
  kc_flow_render_get_size (model, &diagram_w, &diagram_h);
  filter_ms = ms_since (start) / 2;

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  for (int y = 0; y + height <= diagram_h - KC_FLOW_RENDER_HEADER_H + step; y += step) {
    cairo_t *cr = cairo_create (surface);
    double ms;

    start = g_get_monotonic_time ();
    /* As kc-flow-view: the rows scrolled by y under a fixed header. */
    cairo_save (cr);
    cairo_rectangle (cr, 0, KC_FLOW_RENDER_HEADER_H, width, height - KC_FLOW_RENDER_HEADER_H);
    cairo_clip (cr);
    cairo_translate (cr, 0, -y);
    kc_flow_render_draw (model, cr, (y / (int) KC_FLOW_RENDER_ROW_H) % 7 == 0 ? y / (int) KC_FLOW_RENDER_ROW_H : -1);
    cairo_restore (cr);
    kc_flow_render_draw_header (model, cr);
    cairo_surface_flush (surface);
    ms = ms_since (start);
    cairo_destroy (cr);
    /* The first frame loads the fonts: reported on its own. */
    if (first_ms < 0) {
      first_ms = ms;
      continue;
    }
    g_array_append_val (frames, ms);
    total += ms;
  }
  cairo_surface_destroy (surface);
  g_array_sort (frames, compare_double);

  printf ("bench-flow: %u events → %u rows, %u media bands; diagram %d × %d px\n",
          kc_flow_model_get_n_events (model), kc_flow_model_get_n_items (model),
          kc_flow_model_get_n_media (model), diagram_w, diagram_h);
  printf ("  load and lay out:            %8.1f ms\n", build_ms);
  printf ("  one more event (rebuild):    %8.2f ms\n", rebuild_ms);
  printf ("  filter on / off (each):      %8.2f ms\n", filter_ms);
  printf ("  scroll %u frames of %d × %d, %d px apart:\n", frames->len + 1, width, height, step);
  printf ("    first frame (fonts loaded) %.2f ms\n", first_ms);
  printf ("    then: frame mean %.2f ms, p99 %.2f ms, max %.2f ms (60 Hz budget 16.7 ms)\n",
          total / frames->len, g_array_index (frames, double, (guint) (frames->len * 0.99)),
          g_array_index (frames, double, frames->len - 1));
  g_free (fixture);
  return 0;
}
