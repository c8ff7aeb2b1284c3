/* kc-first-run.h: the softphone's first-run pages, shown until a profile is
 * in use: the welcome page (import a profile, or open an activation file)
 * and the activation page (number, controller, code). The window puts both
 * in its stack and shows the activation page while "activating" is TRUE.
 */
#pragma once

#include <adwaita.h>

#include "kc-application.h"

G_BEGIN_DECLS

#define KC_TYPE_FIRST_RUN (kc_first_run_get_type ())
G_DECLARE_FINAL_TYPE (KcFirstRun, kc_first_run, KC, FIRST_RUN, GObject)

/* Signals:
 *   toast (const char *message)  something to tell the user in passing
 * Properties (read-only, notified): activating (an activation file is open
 * and its page asks for the code). */

KcFirstRun *kc_first_run_new               (KcApplication *app);

/* The pages, built once; the caller adds them to its stack. The activation
 * page is not scrollable: the caller wraps it as it wraps its own pages. */
GtkWidget  *kc_first_run_get_welcome_page  (KcFirstRun    *self);
GtkWidget  *kc_first_run_get_activate_page (KcFirstRun    *self);
gboolean    kc_first_run_get_activating    (KcFirstRun    *self);

/* Shows @message under the welcome page's buttons, or hides it (NULL). */
void        kc_first_run_show_error        (KcFirstRun    *self,
                                            const char    *message);

/* See kc_window_import_file, kc_window_open_activation, kc_window_activate
 * (kc-window.h). */
gboolean    kc_first_run_import_file       (KcFirstRun    *self,
                                            GFile         *file);
gboolean    kc_first_run_open_activation   (KcFirstRun    *self,
                                            GFile         *file);
gboolean    kc_first_run_activate          (KcFirstRun    *self);

/* A file chosen or dropped: an activation file opens its page, anything
 * else goes to the profile import (which says what it is not). */
gboolean    kc_first_run_open_file         (KcFirstRun    *self,
                                            GFile         *file);
/* The file chooser for a profile or (@activation) an activation file,
 * transient for @parent; the file chosen goes to kc_first_run_open_file.
 * Does nothing while a chooser is open. */
void        kc_first_run_choose_file       (KcFirstRun    *self,
                                            GtkWindow     *parent,
                                            gboolean       activation);

G_END_DECLS
