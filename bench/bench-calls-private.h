/* bench-calls-private.h: what the parts of bench-calls share: the run
 * (Bench) and its caller/callee pairs, and what bench-calls-net.c does for
 * the steps: provisioning, the processes, the pairs and their calls.
 */
#pragma once

#include "bench-calls-procs.h"

#include "kc-cta.h"

G_BEGIN_DECLS

typedef struct _Bench Bench;

typedef struct {
  Bench        *bench;
  KcCtaAccount *caller, *callee;
  char         *callee_number;
  KcCtaCall    *out, *in;        /* the pair's current call, both ends */
  gint64        started_us;
  gboolean      busy, counted;   /* counted: as succeeded or failed */
  gboolean      tapped;          /* its caller is under a tap (--tap-percent) */
} Pair;

struct _Bench {
  /* options */
  double    seconds, fixed_rate;
  int       concurrency, tap_percent;
  gboolean  quick, keep;
  /* programs and network */
  char     *admin, *controller, *lea;
  char     *tmp, *net;
  /* this configuration */
  int       n_controllers;
  const char *log_suffix;   /* "" for the untapped ramp, "-tapped" after the restart */
  BcProc     *ctl[2];
  BcProc     *lea_proc;
  GPtrArray *pairs;
  GQueue    free_pairs;
  /* the step being run */
  gboolean  launching;
  GArray   *latencies;   /* ms of the calls started in the step that succeeded */
  GArray   *latencies_tapped, *latencies_untapped;   /* the same split, with taps */
  guint     started, succeeded, failed, queued, backlog;
  guint64   total_calls;   /* placed in this configuration */
  char     *first_failure;
};

/* bench-calls-net.c */
/* The network in @b->net: gc1, gc2, lea1 and every pair's subscribers
 * (callees at gc1 when @one, at gc2 when @two). */
gboolean  bc_provision        (Bench      *b,
                               gboolean    one,
                               gboolean    two,
                               GError    **error);
/* Controllers up, then every pair registered; bc_stop_network undoes it. */
gboolean  bc_start_network    (Bench      *b,
                               GError    **error);
void      bc_stop_network     (Bench      *b);
void      bc_stop_pairs       (Bench      *b);
/* keycall-lea tapping P% of the callers at gc1 (--tap-percent). */
gboolean  bc_start_lea        (Bench      *b,
                               GError    **error);
void      bc_pair_start_call  (Pair       *pair);
/* Counts a failed call; the first one's reason is kept for the step's line. */
void      bc_record_failure   (Bench      *b,
                               Pair       *pair,
                               KcCtaCall  *call,
                               const char *what);
void      bc_iterate_once     (void);
gboolean  bc_iterate_until    (gboolean  (*done) (Bench *b),
                               Bench      *b,
                               gint64      timeout_us);
/* Every pair is free (no call in flight). */
gboolean  bc_all_free         (Bench      *b);

G_END_DECLS
