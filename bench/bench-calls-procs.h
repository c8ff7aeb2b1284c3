/* bench-calls-procs.h: the processes around bench-calls (keycall-admin, the
 * controllers, keycall-lea): running and watching them through their
 * stdout files and /proc (tools/kc-tool.h finds them). Only bench-calls
 * uses it.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char        *name;
  GSubprocess *process;
  char        *out_path;      /* its stdout; stderr is beside it, .err */
  guint64      cpu0_ticks;    /* for the caller's CPU deltas */
} BcProc;

/* Runs `@admin --dir @net ARGS… NULL`; KC_ERROR_FAILED with its stderr. */
gboolean  bc_admin            (const char   *admin,
                               const char   *net,
                               GError      **error,
                               ...) G_GNUC_NULL_TERMINATED;

/* Starts @argv with stdout to @logs/@name.out and stderr to .err; the
 * child gets SIGTERM when this process dies, however it dies. */
BcProc   *bc_proc_spawn       (const char   *logs,
                               const char   *name,
                               const char *const *argv,
                               GError      **error);
/* SIGTERM, waits, frees. NULL is fine. */
void      bc_proc_free        (BcProc       *p);
/* Lines of stdout starting with @prefix and holding @contains (NULL: any). */
guint     bc_proc_count_lines (BcProc       *p,
                               const char   *prefix,
                               const char   *contains);
char     *bc_proc_first_line  (BcProc       *p,
                               const char   *prefix,
                               const char   *contains);
/* Until @count such lines are there (20 s at most, or the process exits). */
gboolean  bc_proc_wait_lines  (BcProc       *p,
                               const char   *prefix,
                               guint         count,
                               GError      **error);
/* utime + stime in clock ticks, and VmRSS in KiB; 0 when gone. */
guint64   bc_proc_cpu_ticks   (BcProc       *p);
guint64   bc_proc_rss_kib     (BcProc       *p);
/* This process's user + system CPU seconds. */
double    bc_self_cpu_s       (void);
/* rm -rf @path (no symlink followed). */
void      bc_remove_tree      (const char   *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BcProc, bc_proc_free)

G_END_DECLS
