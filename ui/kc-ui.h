/* kc-ui.h: the softphone window's entry point, called by keycall's main()
 * when it runs without --headless.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What every process holding call keys does first: no core dumps, TLS 1.3
 * only (an OpenSSL configuration in a private folder, returned in
 * @out_runtime_dir for kc_ui_cleanup()), OpenSSL's secure heap. */
gboolean kc_ui_prepare (char   **out_runtime_dir,
                        GError **error);
void     kc_ui_cleanup (const char *runtime_dir);

/* Runs the window until it closes; @profile_path (may be NULL) is the
 * profile to use instead of the imported one. Returns the exit status. */
int      kc_ui_run     (int          argc,
                        char       **argv,
                        const char  *profile_path);

G_END_DECLS
