/* bench-calls.c: secure call setups per second, and their latency.
 *
 * Provisions a private network in a temporary folder with keycall-admin,
 * starts real keycall-controller processes (--headless) and drives many
 * softphone accounts in this process through the CTA library: real TLS 1.3,
 * real SIP, real keys (FIG. 3 316-328), audio "none". Each of --concurrency
 * pairs (a caller and a callee account) carries one call at a time; the
 * callee never answers and the caller hangs up (CANCEL) as soon as it holds
 * the acknowledged key, so what is measured is the secure setup, not media.
 *
 * Latency: INVITE sent (kc_cta_account_call) -> the caller's call is
 * key-acknowledged (both acknowledgments in, 322 and 328). A failed call is
 * any call that ends or stalls before that.
 *
 * The offered rate is open-loop: calls come due on a clock at R/s and start
 * on whichever pair is free; one that finds none waits for the next free
 * pair ("queued"). A step is clean when no call failed and the setups kept
 * up (>= 95% of the offered rate, no backlog left). Rates are ramped (x1.5,
 * then x1.1 from the last clean step) until a step is not clean (one that
 * only fell behind, with no failure, is tried twice); the highest clean step
 * is the result, then one step at half of
 * it gives p99 there (issue 3's target). The generator's own CPU (this
 * process, one thread) and each controller's are printed per step: a
 * generator near 100% means it, not the controller, was the limit.
 *
 * --tap-percent P (issue 7): after the untapped ramp, the controllers and
 * softphones are restarted, keycall-lea taps P% of the callers (future taps
 * at the caller's controller, content to a local port, recordings to the
 * temp folder), the ramp is run again, and both results are printed side by
 * side with the drop; each tapped step also splits p50/p99 between the
 * tapped callers' calls and the others'.
 *
 *   bench-calls [--seconds S] [--concurrency N] [--controllers 1|2]
 *               [--tap-percent P] [--rate R] [--quick] [--keep]
 * --rate R runs one step at R calls/s instead of each ramp (tapped too); a
 * long one shows the controller's memory over many calls.
 * Programs: KEYCALL_ADMIN, KEYCALL_CONTROLLER, KEYCALL_LEA, else built
 * beside this one, else PATH.
 *
 * This file holds the steps, the ramps and their lines; bench-calls-net.c
 * the network and the calls, bench-calls-procs.c the processes.
 */
#define G_LOG_DOMAIN "bench-calls"

#include "bench-calls-private.h"
#include "kc-tool.h"

#include "kc-cta.h"
#include "kc-secret.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DRAIN_TIMEOUT_US   (15 * G_USEC_PER_SEC)
#define MAX_STEPS          14
#define RAMP_START         20.0  /* calls/s */

typedef struct {
  double rate, achieved, p50, p99, gen_cpu, ctl_cpu[2], lea_cpu;
  double p50_tapped, p99_tapped, p50_untapped, p99_untapped;   /* with taps only */
  guint  ok_tapped;
  guint  started, succeeded, failed, queued, unstarted;
  gboolean clean;
} Step;

/* Steps and ramps ---------------------------------------------------------- */

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (GArray *sorted, double p)
{
  if (sorted->len == 0)
    return NAN;
  return g_array_index (sorted, double, MIN (sorted->len - 1, (guint) ceil (p * sorted->len) - 1));
}

static void
print_step_header (void)
{
  printf ("  %8s %9s %8s %8s %7s %7s %8s %8s %7s %8s %8s %8s\n", "offered", "setups/s",
          "started", "ok", "failed", "queued", "p50 ms", "p99 ms", "genCPU", "gc1 CPU",
          "gc2 CPU", "lea CPU");
}

static Step
run_step (Bench *b, double rate)
{
  gint64 t0, elapsed;
  double cpu0 = bc_self_cpu_s (), gen_cpu;
  long hz = sysconf (_SC_CLK_TCK);
  guint64 launched = 0;
  Step step = { .rate = rate };

  b->started = b->succeeded = b->failed = b->queued = b->backlog = 0;
  b->launching = TRUE;
  if (b->lea_proc != NULL)
    b->lea_proc->cpu0_ticks = bc_proc_cpu_ticks (b->lea_proc);
  g_clear_pointer (&b->first_failure, g_free);
  g_array_set_size (b->latencies, 0);
  g_array_set_size (b->latencies_tapped, 0);
  g_array_set_size (b->latencies_untapped, 0);
  for (int c = 0; c < b->n_controllers; c++)
    b->ctl[c]->cpu0_ticks = bc_proc_cpu_ticks (b->ctl[c]);
  t0 = g_get_monotonic_time ();
  /* Open loop: a call is due every 1/rate s, whatever the last one did. */
  while ((elapsed = g_get_monotonic_time () - t0) < b->seconds * G_USEC_PER_SEC)
    {
      guint64 due = (guint64) (elapsed * rate / G_USEC_PER_SEC) + 1;

      for (; launched < due; launched++)
        {
          Pair *pair = g_queue_pop_head (&b->free_pairs);

          if (pair == NULL)
            {
              b->queued++;
              b->backlog++;
            }
          else
            bc_pair_start_call (pair);
        }
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (200);
    }
  b->launching = FALSE;
  gen_cpu = bc_self_cpu_s () - cpu0;
  for (int c = 0; c < b->n_controllers; c++)
    step.ctl_cpu[c] = 100.0 * (bc_proc_cpu_ticks (b->ctl[c]) - b->ctl[c]->cpu0_ticks) / hz
                      / (elapsed / 1e6);
  if (b->lea_proc != NULL)
    step.lea_cpu = 100.0 * (bc_proc_cpu_ticks (b->lea_proc) - b->lea_proc->cpu0_ticks) / hz
                   / (elapsed / 1e6);
  if (!bc_iterate_until (bc_all_free, b, DRAIN_TIMEOUT_US))
    for (guint i = 0; i < b->pairs->len; i++)
      {
        Pair *pair = b->pairs->pdata[i];

        /* Stuck: counted failed; the pair stays out of the pool. */
        if (pair->busy && !pair->counted)
          {
            pair->counted = TRUE;
            bc_record_failure (b, pair, NULL, "no key acknowledgment within the drain time");
          }
      }
  g_array_sort (b->latencies, compare_double);
  g_array_sort (b->latencies_tapped, compare_double);
  g_array_sort (b->latencies_untapped, compare_double);
  step.started = b->started;
  b->total_calls += b->started;
  step.succeeded = b->succeeded;
  step.failed = b->failed;
  step.queued = b->queued;
  step.unstarted = b->backlog;
  step.achieved = b->succeeded / (elapsed / 1e6);
  step.p50 = percentile (b->latencies, 0.50);
  step.p99 = percentile (b->latencies, 0.99);
  step.ok_tapped = b->latencies_tapped->len;
  step.p50_tapped = percentile (b->latencies_tapped, 0.50);
  step.p99_tapped = percentile (b->latencies_tapped, 0.99);
  step.p50_untapped = percentile (b->latencies_untapped, 0.50);
  step.p99_untapped = percentile (b->latencies_untapped, 0.99);
  step.gen_cpu = 100.0 * gen_cpu / (elapsed / 1e6);
  /* Clean: no call failed and the setups kept up with the offered rate
   * (calls that waited for a pair included, but no backlog left over). */
  step.clean = step.failed == 0 && step.achieved >= 0.95 * rate
               && step.unstarted <= 0.01 * (step.started + step.unstarted);
  printf ("  %8.0f %9.1f %8u %8u %7u %7u %8.1f %8.1f %6.0f%% %7.0f%% ", rate, step.achieved,
          step.started, step.succeeded, step.failed, step.queued, step.p50, step.p99,
          step.gen_cpu, step.ctl_cpu[0]);
  if (b->n_controllers == 2)
    printf ("%7.0f%% ", step.ctl_cpu[1]);
  else
    printf ("%8s ", "-");
  if (b->lea_proc != NULL)
    printf ("%7.0f%%\n", step.lea_cpu);
  else
    printf ("%8s\n", "-");
  if (b->lea_proc != NULL)
    printf ("           tapped callers: %u ok, p50 %.1f ms, p99 %.1f ms; untapped: %u ok, p50 "
            "%.1f ms, p99 %.1f ms\n", step.ok_tapped, step.p50_tapped, step.p99_tapped,
            step.succeeded - step.ok_tapped, step.p50_untapped, step.p99_untapped);
  if (step.unstarted > 0)
    printf ("           %u due calls never found a free pair before the step ended\n",
            step.unstarted);
  if (b->first_failure != NULL)
    printf ("           first failure: %s\n", b->first_failure);
  fflush (stdout);
  /* A short pause so one step's tail does not load the next. */
  for (int i = 0; i < 200; i++)
    bc_iterate_once ();
  return step;
}

/* A step that only fell behind (no call failed) gets a second try: on a
 * shared machine a neighbour's burst can hold up one step. */
static Step
run_step_twice (Bench *b, double rate)
{
  Step step = run_step (b, rate);

  if (!step.clean && step.failed == 0)
    {
      printf ("           (fell behind without failures: once more)\n");
      step = run_step (b, rate);
    }
  return step;
}

/* Ramps from @start by x1.5 until a step is not clean, then by x1.1 from
 * the last clean step; returns the best clean step (rate 0 when none). */
static Step
ramp (Bench *b, double start)
{
  Step best = { 0 }, step = { 0 };
  double rate = start, limit, base_p50 = 0;
  int steps = 0;

  print_step_header ();
  for (; steps < MAX_STEPS; steps++, rate *= 1.5)
    {
      step = run_step_twice (b, rate);
      if (!step.clean)
        break;
      if (base_p50 == 0)
        base_p50 = step.p50;   /* the lightest load's */
      best = step;
    }
  limit = step.rate;
  for (rate = best.rate * 1.1; best.rate > 0 && steps < MAX_STEPS && rate < limit;
       steps++, rate *= 1.1)
    {
      step = run_step_twice (b, rate);
      if (!step.clean)
        break;
      best = step;
    }
  /* Nothing failed but calls waited for a pair: either every setup slowed
   * down (saturation) or the pairs were too few for the rate. */
  if (!step.clean && step.failed == 0 && step.unstarted > 0 && best.rate > 0)
    {
      if (step.p50 > 3 * base_p50)
        printf ("  (the ramp stopped on saturation: p50 rose from %.1f ms at the lightest "
                "load to %.1f ms and the %d pairs ran out)\n", base_p50, step.p50,
                b->concurrency);
      else
        printf ("  (the ramp stopped because all %d pairs were busy while setups stayed "
                "fast: raise --concurrency)\n", b->concurrency);
    }
  return best;
}

static void
print_result (const char *label, Step *best)
{
  if (best->rate == 0)
    printf ("  %s: no clean step (see the first failure above)\n", label);
  else
    printf ("  %s: %.1f secure setups/s with 0 failed calls (offered %.0f/s), p50 %.1f ms, "
            "p99 %.1f ms; generator CPU %.0f%% of a core\n", label, best->achieved, best->rate,
            best->p50, best->p99, best->gen_cpu);
}

/* One configuration: controllers up, pairs registered, ramp(s). */
static gboolean
run_configuration (Bench *b, int n_controllers, GError **error)
{
  Step best, half, tapped = { 0 };
  guint64 rss0[2] = { 0 }, rss1[2] = { 0 }, calls;
  gboolean ok = FALSE;

  b->n_controllers = n_controllers;
  b->log_suffix = "";
  b->total_calls = 0;
  printf ("\n%s: %d pairs (caller at gc1, callee at %s), %.1f s per step\n",
          n_controllers == 1 ? "One controller serving both sides" : "Two controllers",
          b->concurrency, n_controllers == 1 ? "gc1" : "gc2", b->seconds);
  fflush (stdout);
  if (!bc_start_network (b, error))
    goto out;
  for (int c = 0; c < n_controllers; c++)
    rss0[c] = bc_proc_rss_kib (b->ctl[c]);

  if (b->fixed_rate > 0)
    {
      /* One step at the given rate (a soak: memory over many calls). */
      print_step_header ();
      best = run_step (b, b->fixed_rate);
      if (!best.clean)
        best.rate = 0;
    }
  else
    best = ramp (b, RAMP_START);
  if (best.rate > 0 && b->fixed_rate == 0)
    {
      printf ("  at half that rate:\n");
      half = run_step (b, best.rate / 2);
      printf ("  p99 at %.0f/s (half the best): %.1f ms%s\n", best.rate / 2, half.p99,
              half.clean ? "" : " (that step was not clean)");
    }
  for (int c = 0; c < n_controllers; c++)
    rss1[c] = bc_proc_rss_kib (b->ctl[c]);
  calls = b->total_calls;
  if (b->tap_percent > 0 && best.rate > 0)
    {
      printf ("  with %d%% of callers tapped (controllers and softphones restarted first):\n",
              b->tap_percent);
      fflush (stdout);
      /* Fresh processes: whatever the untapped ramp's thousands of calls
       * left in the controllers must not be charged to the taps. */
      bc_stop_network (b);
      b->log_suffix = "-tapped";
      if (!bc_start_network (b, error) || !bc_start_lea (b, error))
        goto out;
      if (b->fixed_rate > 0)
        {
          print_step_header ();
          tapped = run_step (b, b->fixed_rate);
          if (!tapped.clean)
            tapped.rate = 0;
        }
      else
        /* The same grid of rates as the untapped ramp, from below half its best. */
        tapped = ramp (b, RAMP_START * pow (1.5, floor (log (best.rate / 2 / RAMP_START)
                                                        / log (1.5) + 1e-9)));
      /* "key CALL-ID fingerprint …": opened and checked; "key CALL-ID refused: …". */
      printf ("  keycall-lea got %u sealed keys (516): opened %u, refused %u\n",
              bc_proc_count_lines (b->lea_proc, "key ", NULL),
              bc_proc_count_lines (b->lea_proc, "key ", " fingerprint "),
              bc_proc_count_lines (b->lea_proc, "key ", " refused"));
      if (bc_proc_count_lines (b->lea_proc, "key ", " refused") > 0)
        {
          g_autofree char *line = bc_proc_first_line (b->lea_proc, "key ", " refused");

          printf ("    first refusal: %s\n", line);
        }
    }
  printf ("  == result (%s)\n", n_controllers == 1 ? "one controller" : "two controllers");
  print_result ("untapped", &best);
  if (b->tap_percent > 0)
    {
      g_autofree char *label = g_strdup_printf ("%d%% tapped", b->tap_percent);

      print_result (label, &tapped);
      if (tapped.rate > 0)
        printf ("    there, calls of tapped callers: p50 %.1f ms, p99 %.1f ms (%u); of the "
                "others: p50 %.1f ms, p99 %.1f ms\n", tapped.p50_tapped, tapped.p99_tapped,
                tapped.ok_tapped, tapped.p50_untapped, tapped.p99_untapped);
      if (best.rate > 0 && tapped.rate > 0)
        printf ("  setup rate with taps: %.1f%% of the untapped rate (drop %.1f%%; target "
                "<= 10%%)\n", 100.0 * tapped.achieved / best.achieved,
                100.0 * (1 - tapped.achieved / best.achieved));
    }
  for (int c = 0; c < n_controllers; c++)
    printf ("  gc%d RSS: %" G_GUINT64_FORMAT " KiB after registration, %" G_GUINT64_FORMAT
            " KiB after the untapped ramp's %" G_GUINT64_FORMAT " calls\n", c + 1, rss0[c],
            rss1[c], calls);
  ok = TRUE;

out:
  bc_stop_pairs (b);
  g_clear_pointer (&b->lea_proc, bc_proc_free);
  bc_stop_network (b);
  return ok;
}

int
main (int argc, char **argv)
{
  Bench bench = { .seconds = 3.0, .concurrency = 40 };
  Bench *b = &bench;
  int controllers = 0;
  GOptionEntry entries[] = {
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &b->seconds, "Seconds per rate step (default 3)", "S" },
    { "concurrency", 'c', 0, G_OPTION_ARG_INT, &b->concurrency,
      "Caller/callee pairs, hence calls in flight at most (default 40)", "N" },
    { "controllers", 0, 0, G_OPTION_ARG_INT, &controllers,
      "1: one controller serves both sides; 2: two controllers (default: both runs)", "1|2" },
    { "tap-percent", 't', 0, G_OPTION_ARG_INT, &b->tap_percent,
      "Run again with P% of the callers tapped by keycall-lea and compare", "P" },
    { "rate", 'r', 0, G_OPTION_ARG_DOUBLE, &b->fixed_rate,
      "No ramp: one step of --seconds at R calls/s (e.g. a soak for memory)", "R" },
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &b->quick, "A smoke run: short steps, few pairs", NULL },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &b->keep, "Keep the network folder and the logs", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- secure call setups per second");
  g_autoptr(GError) error = NULL;
  g_autofree char *runtime = NULL;
  struct rlimit rl;
  gboolean ok = TRUE;
  gint64 t0;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-calls: %s\n", error->message);
      return 2;
    }
  if (b->quick)
    {
      b->seconds = MIN (b->seconds, 1.0);
      b->concurrency = MIN (b->concurrency, 10);
    }
  if (b->seconds <= 0 || b->concurrency < 1 || b->concurrency > 999
      || (controllers != 0 && controllers != 1 && controllers != 2)
      || b->tap_percent < 0 || b->tap_percent > 100 || b->fixed_rate < 0)
    {
      fprintf (stderr, "bench-calls: --seconds > 0, --concurrency 1-999, --controllers 1 or 2, "
               "--tap-percent 0-100, --rate >= 0\n");
      return 2;
    }
  /* Two accounts a pair, each a TLS listener and connections. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }

  b->admin = kc_tool_find_program ("KEYCALL_ADMIN", "admin", "keycall-admin");
  b->controller = kc_tool_find_program ("KEYCALL_CONTROLLER", "controller", "keycall-controller");
  b->lea = kc_tool_find_program ("KEYCALL_LEA", "lea", "keycall-lea");
  if (b->admin == NULL || b->controller == NULL || (b->tap_percent > 0 && b->lea == NULL))
    {
      fprintf (stderr, "bench-calls: keycall-admin, keycall-controller%s must be built beside "
               "this program, in PATH, or named by KEYCALL_ADMIN, KEYCALL_CONTROLLER%s\n",
               b->tap_percent > 0 ? " and keycall-lea" : "",
               b->tap_percent > 0 ? ", KEYCALL_LEA" : "");
      return 1;
    }
  if ((b->tmp = g_dir_make_tmp ("bench-calls-XXXXXX", &error)) == NULL)
    {
      fprintf (stderr, "bench-calls: %s\n", error->message);
      return 1;
    }
  b->net = g_build_filename (b->tmp, "net", NULL);
  runtime = g_build_filename (b->tmp, "run", NULL);
  g_mkdir (runtime, 0700);
  /* The softphones' TLS floor, as keycall --headless sets it. */
  if (!kc_cta_tls13_only (runtime, &error))
    {
      fprintf (stderr, "bench-calls: %s\n", error->message);
      return 1;
    }
  kc_secure_heap_init ();
  b->latencies = g_array_new (FALSE, FALSE, sizeof (double));
  b->latencies_tapped = g_array_new (FALSE, FALSE, sizeof (double));
  b->latencies_untapped = g_array_new (FALSE, FALSE, sizeof (double));

  printf ("bench-calls: secure call setups (FIG. 3 316-328 over SIP/TLS 1.3), %u CPUs.\n"
          "  latency = INVITE sent -> caller holds the acknowledged key; the caller then "
          "cancels.\n  queued = due calls that waited for a free pair; genCPU = this process (one "
          "thread, both softphones of every pair).\n", g_get_num_processors ());
  printf ("  provisioning %d pairs in %s …\n", b->concurrency, b->net);
  fflush (stdout);
  t0 = g_get_monotonic_time ();
  if (!bc_provision (b, controllers != 2, controllers != 1, &error))
    ok = FALSE;
  else
    printf ("  provisioned in %.1f s\n", (g_get_monotonic_time () - t0) / 1e6);
  if (ok && controllers != 2)
    ok = run_configuration (b, 1, &error);
  if (ok && controllers != 1)
    ok = run_configuration (b, 2, &error);
  if (!ok)
    fprintf (stderr, "bench-calls: %s\n", error ? error->message : "failed");

  if (b->keep || !ok)
    printf ("The network folder and the processes' logs are kept: %s\n", b->net);
  else
    bc_remove_tree (b->tmp);
  g_free (b->first_failure);
  g_array_unref (b->latencies);
  g_array_unref (b->latencies_tapped);
  g_array_unref (b->latencies_untapped);
  g_free (b->admin);
  g_free (b->controller);
  g_free (b->lea);
  g_free (b->net);
  g_free (b->tmp);
  return ok ? 0 : 1;
}
