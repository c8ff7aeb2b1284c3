/* bench-calls-procs.c: what bench-calls needs around the CTA library:
 * finding and running keycall-admin, the controllers and keycall-lea, and
 * reading their output, CPU time and memory from /proc.
 */
#define G_LOG_DOMAIN "bench-calls"

#include "bench-calls-procs.h"

#include "kc-error.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define START_TIMEOUT_US   (20 * G_USEC_PER_SEC)

gboolean
bc_admin (const char *admin, const char *net, GError **error, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  const char *arg;
  int status;
  va_list ap;

  g_ptr_array_add (argv, (char *) admin);
  g_ptr_array_add (argv, (char *) "--dir");
  g_ptr_array_add (argv, (char *) net);
  va_start (ap, error);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "keycall-admin %s failed: %s",
                   (char *) argv->pdata[3], err ? g_strchomp (err) : "no message");
      return FALSE;
    }
  return TRUE;
}

void
bc_proc_free (BcProc *p)
{
  if (p == NULL)
    return;
  if (p->process != NULL && g_subprocess_get_identifier (p->process) != NULL)
    {
      g_subprocess_send_signal (p->process, SIGTERM);
      g_subprocess_wait (p->process, NULL, NULL);
    }
  g_clear_object (&p->process);
  g_free (p->name);
  g_free (p->out_path);
  g_free (p);
}

/* In the child: it goes when this process goes, even killed. */
static void
child_setup (gpointer data)
{
  (void) data;
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

BcProc *
bc_proc_spawn (const char *logs, const char *name, const char *const *argv, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *err_path = g_strdup_printf ("%s/%s.err", logs, name);
  BcProc *p = g_new0 (BcProc, 1);

  p->name = g_strdup (name);
  p->out_path = g_strdup_printf ("%s/%s.out", logs, name);
  g_subprocess_launcher_set_stdout_file_path (launcher, p->out_path);
  g_subprocess_launcher_set_stderr_file_path (launcher, err_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  if ((p->process = g_subprocess_launcher_spawnv (launcher, argv, error)) == NULL)
    {
      bc_proc_free (p);
      return NULL;
    }
  return p;
}

/* How many stdout lines of @p start with @prefix (and hold @contains). */
guint
bc_proc_count_lines (BcProc *p, const char *prefix, const char *contains)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint n = 0;

  if (!g_file_get_contents (p->out_path, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    n += g_str_has_prefix (*l, prefix) && (contains == NULL || strstr (*l, contains) != NULL);
  return n;
}

char *
bc_proc_first_line (BcProc *p, const char *prefix, const char *contains)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (p->out_path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, prefix) && strstr (*l, contains) != NULL)
      return g_strdup (*l);
  return NULL;
}

gboolean
bc_proc_wait_lines (BcProc *p, const char *prefix, guint count, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + START_TIMEOUT_US;

  while (g_get_monotonic_time () < deadline)
    {
      if (bc_proc_count_lines (p, prefix, NULL) >= count)
        return TRUE;
      if (g_subprocess_get_identifier (p->process) == NULL)
        break;
      g_usleep (50 * 1000);
    }
  g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
               "%s did not print %u “%s” lines (see %s and the .err file beside it; "
               "--keep keeps them)", p->name, count, prefix, p->out_path);
  return FALSE;
}

/* utime + stime of @p, in clock ticks, from /proc; 0 when gone. */
guint64
bc_proc_cpu_ticks (BcProc *p)
{
  const char *pid = p->process ? g_subprocess_get_identifier (p->process) : NULL;
  g_autofree char *path = pid ? g_strdup_printf ("/proc/%s/stat", pid) : NULL;
  g_autofree char *stat = NULL;
  g_auto(GStrv) fields = NULL;
  const char *end;

  if (path == NULL || !g_file_get_contents (path, &stat, NULL, NULL)
      || (end = strrchr (stat, ')')) == NULL)
    return 0;
  /* Fields after "(comm)": state is field 3; utime and stime are 14 and 15. */
  fields = g_strsplit (end + 2, " ", -1);
  if (g_strv_length (fields) < 13)
    return 0;
  return g_ascii_strtoull (fields[11], NULL, 10) + g_ascii_strtoull (fields[12], NULL, 10);
}

guint64
bc_proc_rss_kib (BcProc *p)
{
  const char *pid = g_subprocess_get_identifier (p->process);
  g_autofree char *path = pid ? g_strdup_printf ("/proc/%s/status", pid) : NULL;
  g_autofree char *status = NULL;
  const char *rss;

  if (path == NULL || !g_file_get_contents (path, &status, NULL, NULL)
      || (rss = strstr (status, "VmRSS:")) == NULL)
    return 0;
  return g_ascii_strtoull (rss + 6, NULL, 10);
}

double
bc_self_cpu_s (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void
bc_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        bc_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

