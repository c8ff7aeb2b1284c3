/* bench-calls-net.c: bench-calls' network: provisioned with keycall-admin,
 * its controllers and keycall-lea started, and the caller/callee pairs
 * whose calls it places, counts and frees.
 */
#define G_LOG_DOMAIN "bench-calls"

#include "bench-calls-private.h"
#include "kc-tool.h"

#include "kc-cta.h"
#include "kc-error.h"
#include "kc-profile.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>

#define START_TIMEOUT_US   (20 * G_USEC_PER_SEC)

/* One set of logs per configuration: gc1-1c.out, gc1-2c.out … */
static BcProc *
spawn (Bench *b, const char *name, const char *const *argv, GError **error)
{
  g_autofree char *logs = g_build_filename (b->net, "logs", NULL);
  g_autofree char *log_name = g_strdup_printf ("%s-%dc%s", name, b->n_controllers,
                                               b->log_suffix);

  return bc_proc_spawn (logs, log_name, argv, error);
}

/* Provisioning ------------------------------------------------------------- */

static char *
caller_number (int i)
{
  return g_strdup_printf ("%d", 10000 + i);
}

/* One controller: callees at gc1 (11xxx); two: at gc2 (2xxxx). */
static char *
callee_number (int i, int n_controllers)
{
  return g_strdup_printf ("%d", (n_controllers == 1 ? 11000 : 20000) + i);
}

static gboolean
add_subscriber (Bench *b, const char *number, const char *controller, GError **error)
{
  g_autofree char *profile = g_strdup_printf ("%s/profiles/%s.kcprofile", b->net, number);

  return bc_admin (b->admin, b->net, error, "subscriber", "add", number, "--name", number,
                "--controller", controller, NULL)
         && bc_admin (b->admin, b->net, error, "profile", "export", number, "-o", profile, NULL);
}

gboolean
bc_provision (Bench *b, gboolean one, gboolean two, GError **error)
{
  g_autofree char *profiles = g_build_filename (b->net, "profiles", NULL);
  g_autofree char *logs = g_build_filename (b->net, "logs", NULL);
  char port[2][8], li[2][8];

  for (int c = 0; c < 2; c++)
    {
      guint16 sip_port = kc_tool_free_port (), li_port;

      do
        li_port = kc_tool_free_port ();
      while (li_port == sip_port);
      g_snprintf (port[c], sizeof port[c], "%u", sip_port);
      g_snprintf (li[c], sizeof li[c], "%u", li_port);
    }
  if (!bc_admin (b->admin, b->net, error, "init", "--name", "bench", NULL)
      || !bc_admin (b->admin, b->net, error, "controller", "add", "gc1", "--host", "127.0.0.1",
                    "--port", port[0], "--li-port", li[0], "--prefix", "1", NULL)
      || !bc_admin (b->admin, b->net, error, "controller", "add", "gc2", "--host", "127.0.0.1",
                    "--port", port[1], "--li-port", li[1], "--prefix", "2", NULL)
      /* Always: a controller seals every key to the LEA's key (claim 10). */
      || !bc_admin (b->admin, b->net, error, "lea", "add", "lea1", NULL))
    return FALSE;
  g_mkdir_with_parents (profiles, 0700);
  g_mkdir_with_parents (logs, 0700);
  for (int i = 0; i < b->concurrency; i++)
    {
      g_autofree char *a = caller_number (i), *b1 = callee_number (i, 1), *b2 = callee_number (i, 2);

      if (!add_subscriber (b, a, "gc1", error)
          || (one && !add_subscriber (b, b1, "gc1", error))
          || (two && !add_subscriber (b, b2, "gc2", error)))
        return FALSE;
    }
  return TRUE;
}

static BcProc *
start_controller (Bench *b, int c, GError **error)
{
  g_autofree char *name = g_strdup_printf ("gc%d", c + 1);
  g_autofree char *config = g_build_filename (b->net, "controllers", name, "controller.ini", NULL);
  /* A short ack timeout: a lost acknowledgment fails the call fast. */
  const char *argv[] = { b->controller, "--headless", "--config", config, "--ack-timeout", "3",
                         "--keepalive", "1", NULL };
  BcProc *p = spawn (b, name, argv, error);

  if (p != NULL && !bc_proc_wait_lines (p, "listening", 1, error))
    g_clear_pointer (&p, bc_proc_free);
  return p;
}

/* Taps P% of the callers at gc1 with keycall-lea; waits for every answer. */
gboolean
bc_start_lea (Bench *b, GError **error)
{
  g_autofree char *config = g_build_filename (b->net, "lea", "lea1", "lea.ini", NULL);
  g_autofree char *records = g_build_filename (b->net, "lea-records", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  guint taps = 0;

  g_mkdir_with_parents (records, 0700);
  g_ptr_array_add (argv, g_strdup (b->lea));
  g_ptr_array_add (argv, g_strdup ("--config"));
  g_ptr_array_add (argv, g_strdup (config));
  g_ptr_array_add (argv, g_strdup ("--controller"));
  g_ptr_array_add (argv, g_strdup ("gc1"));
  g_ptr_array_add (argv, g_strdup ("--content"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));
  g_ptr_array_add (argv, g_strdup ("--record-dir"));
  g_ptr_array_add (argv, g_strdup (records));
  g_ptr_array_add (argv, g_strdup ("--stop-on-exit"));
  for (int i = 0; i < b->concurrency; i++)
    if ((i + 1) * b->tap_percent / 100 != i * b->tap_percent / 100)
      {
        g_autofree char *number = caller_number (i);

        g_ptr_array_add (argv, g_strdup ("--tap"));
        g_ptr_array_add (argv, g_strdup_printf ("%s:future@gc1", number));
        ((Pair *) b->pairs->pdata[i])->tapped = TRUE;
        taps++;
      }
  g_ptr_array_add (argv, NULL);
  if (taps == 0)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "--tap-percent %d of %d callers taps no one; raise one of them",
                   b->tap_percent, b->concurrency);
      return FALSE;
    }
  if ((b->lea_proc = spawn (b, "lea1", (const char *const *) argv->pdata, error)) == NULL
      || !bc_proc_wait_lines (b->lea_proc, "tap T-", taps, error))
    return FALSE;
  printf ("  keycall-lea taps %u of %d callers (future taps at gc1, content and recordings "
          "local)\n", taps, b->concurrency);
  return TRUE;
}

/* The calls ---------------------------------------------------------------- */

void
bc_record_failure (Bench *b, Pair *pair, KcCtaCall *call, const char *what)
{
  b->failed++;
  if (b->first_failure == NULL)
    {
      g_autofree char *end = call ? kc_cta_call_describe_end (call) : NULL;

      b->first_failure = g_strdup_printf ("%s → %s: %s", kc_cta_account_get_number (pair->caller),
                                          pair->callee_number, end ? end : what);
    }
}

static void
pair_release_call (Pair *pair, KcCtaCall **slot)
{
  if (*slot == NULL)
    return;
  g_signal_handlers_disconnect_by_data (*slot, pair);
  g_clear_object (slot);
}

/* The pair is free once both ends of its call are over (outside signal
 * emission: the call objects are dropped from an idle). */
static gboolean
pair_check_done (gpointer data)
{
  Pair *pair = data;

  if (pair->out != NULL && !kc_cta_call_state_is_final (kc_cta_call_get_state (pair->out)))
    return G_SOURCE_REMOVE;
  if (pair->in != NULL && !kc_cta_call_state_is_final (kc_cta_call_get_state (pair->in)))
    return G_SOURCE_REMOVE;
  if (!pair->busy)
    return G_SOURCE_REMOVE;
  pair_release_call (pair, &pair->out);
  pair_release_call (pair, &pair->in);
  pair->busy = FALSE;
  /* A call that came due while every pair was busy starts now. */
  if (pair->bench->launching && pair->bench->backlog > 0)
    {
      pair->bench->backlog--;
      bc_pair_start_call (pair);
    }
  else
    g_queue_push_tail (&pair->bench->free_pairs, pair);
  return G_SOURCE_REMOVE;
}

static gboolean
pair_hangup (gpointer data)
{
  Pair *pair = data;

  if (pair->out != NULL && !kc_cta_call_state_is_final (kc_cta_call_get_state (pair->out)))
    kc_cta_call_hangup (pair->out);
  return G_SOURCE_REMOVE;
}

static void
on_out_state (KcCtaCall *call, KcCtaCallState old_state, KcCtaCallState new_state, gpointer data)
{
  Pair *pair = data;
  Bench *b = pair->bench;

  (void) old_state;
  if (new_state == KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED && !pair->counted)
    {
      double ms = (g_get_monotonic_time () - pair->started_us) / 1000.0;

      pair->counted = TRUE;
      b->succeeded++;
      g_array_append_val (b->latencies, ms);
      g_array_append_val (pair->tapped ? b->latencies_tapped : b->latencies_untapped, ms);
      g_idle_add (pair_hangup, pair);
    }
  else if (kc_cta_call_state_is_final (new_state))
    {
      if (!pair->counted)
        {
          pair->counted = TRUE;
          bc_record_failure (b, pair, call, NULL);
        }
      g_idle_add (pair_check_done, pair);
    }
}

static void
on_in_state (KcCtaCall *call, KcCtaCallState old_state, KcCtaCallState new_state, gpointer data)
{
  (void) call;
  (void) old_state;
  if (kc_cta_call_state_is_final (new_state))
    g_idle_add (pair_check_done, data);
}

static void
on_incoming (KcCtaAccount *account, KcCtaCall *call, gpointer data)
{
  Pair *pair = data;

  (void) account;
  /* Left ringing: the caller cancels once it holds the acknowledged key. */
  pair_release_call (pair, &pair->in);
  pair->in = g_object_ref (call);
  g_signal_connect (call, "state-changed", G_CALLBACK (on_in_state), pair);
}

void
bc_pair_start_call (Pair *pair)
{
  Bench *b = pair->bench;
  g_autoptr(GError) error = NULL;

  pair->busy = TRUE;
  pair->counted = FALSE;
  pair->started_us = g_get_monotonic_time ();
  b->started++;
  pair->out = kc_cta_account_call (pair->caller, pair->callee_number, &error);
  if (pair->out == NULL)
    {
      pair->counted = TRUE;
      bc_record_failure (b, pair, NULL, error->message);
      g_idle_add (pair_check_done, pair);
      return;
    }
  g_signal_connect (pair->out, "state-changed", G_CALLBACK (on_out_state), pair);
}

static KcCtaAccount *
account_new (Bench *b, const char *number, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s/profiles/%s.kcprofile", b->net, number);
  KcProfile *profile = kc_profile_load (path, error);
  KcCtaAccount *account;

  if (profile == NULL)
    return NULL;
  account = kc_cta_account_new (profile);
  kc_cta_account_set_listen (account, "127.0.0.1", 0);
  kc_cta_account_set_audio (account, "none", "none");
  if (!kc_cta_account_start (account, error))
    g_clear_object (&account);
  return account;
}

static void
pair_free (Pair *pair)
{
  pair_release_call (pair, &pair->out);
  pair_release_call (pair, &pair->in);
  /* Hang-ups and checks still queued for this pair. */
  while (g_idle_remove_by_data (pair))
    ;
  if (pair->callee != NULL)
    g_signal_handlers_disconnect_by_data (pair->callee, pair);
  g_clear_object (&pair->caller);
  g_clear_object (&pair->callee);
  g_free (pair->callee_number);
  g_free (pair);
}

/* One main-context iteration without blocking; a short nap when idle (the
 * launch clock must not sleep through a due call). */
void
bc_iterate_once (void)
{
  if (!g_main_context_iteration (NULL, FALSE))
    g_usleep (1000);
}

/* Runs the main context until @done returns TRUE or @timeout_us passes. */
gboolean
bc_iterate_until (gboolean (*done) (Bench *b), Bench *b, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  while (!done (b))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      bc_iterate_once ();
    }
  return TRUE;
}

static gboolean
all_registered (Bench *b)
{
  for (guint i = 0; i < b->pairs->len; i++)
    {
      Pair *pair = b->pairs->pdata[i];

      if (kc_cta_account_get_state (pair->caller) != KC_CTA_REG_REGISTERED
          || kc_cta_account_get_state (pair->callee) != KC_CTA_REG_REGISTERED)
        return FALSE;
    }
  return TRUE;
}

gboolean
bc_all_free (Bench *b)
{
  return g_queue_get_length (&b->free_pairs) == b->pairs->len;
}

static gboolean
start_pairs (Bench *b, GError **error)
{
  b->pairs = g_ptr_array_new_with_free_func ((GDestroyNotify) pair_free);
  for (int i = 0; i < b->concurrency; i++)
    {
      g_autofree char *a = caller_number (i);
      Pair *pair = g_new0 (Pair, 1);

      pair->bench = b;
      pair->callee_number = callee_number (i, b->n_controllers);
      g_ptr_array_add (b->pairs, pair);
      if ((pair->caller = account_new (b, a, error)) == NULL
          || (pair->callee = account_new (b, pair->callee_number, error)) == NULL)
        return FALSE;
      g_signal_connect (pair->callee, "incoming-call", G_CALLBACK (on_incoming), pair);
      g_queue_push_tail (&b->free_pairs, pair);
    }
  if (!bc_iterate_until (all_registered, b, START_TIMEOUT_US))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "not every account registered within %d s (see the controllers' logs; "
                   "--keep keeps them)", (int) (START_TIMEOUT_US / G_USEC_PER_SEC));
      return FALSE;
    }
  return TRUE;
}

void
bc_stop_pairs (Bench *b)
{
  if (b->pairs == NULL)
    return;
  for (guint i = 0; i < b->pairs->len; i++)
    {
      Pair *pair = b->pairs->pdata[i];

      if (pair->caller)
        kc_cta_account_unregister (pair->caller);
      if (pair->callee)
        kc_cta_account_unregister (pair->callee);
    }
  /* Let the un-REGISTERs go out, then drop the accounts. */
  for (int i = 0; i < 300; i++)
    bc_iterate_once ();
  g_queue_clear (&b->free_pairs);
  g_clear_pointer (&b->pairs, g_ptr_array_unref);
}

/* Controllers up, then every pair registered. */
gboolean
bc_start_network (Bench *b, GError **error)
{
  for (int c = 0; c < b->n_controllers; c++)
    if ((b->ctl[c] = start_controller (b, c, error)) == NULL)
      return FALSE;
  if (b->n_controllers == 2)
    g_usleep (1500 * 1000);   /* one keep-alive round: the peering (310) is up */
  return start_pairs (b, error);
}

void
bc_stop_network (Bench *b)
{
  bc_stop_pairs (b);
  for (int c = 0; c < 2; c++)
    g_clear_pointer (&b->ctl[c], bc_proc_free);
}
