/* kc-window.h: the softphone's one window: profile import or activation on
 * first run, account status, dialing and recent calls, and the call page.
 */
#pragma once

#include <adwaita.h>

#include "kc-application.h"

G_BEGIN_DECLS

#define KC_TYPE_WINDOW (kc_window_get_type ())
G_DECLARE_FINAL_TYPE (KcWindow, kc_window, KC, WINDOW, AdwApplicationWindow)

KcWindow *kc_window_new         (KcApplication *app);
/* What the file chooser and drag-and-drop do; a failure is shown in the
 * window (and returned). */
gboolean  kc_window_import_file (KcWindow      *self,
                                 GFile         *file);
/* Reads an activation file (chooser, drop) and shows the page that names
 * its number and controller and asks for the code; a failure is shown on
 * the first-run page (and returned). */
gboolean  kc_window_open_activation (KcWindow  *self,
                                     GFile     *file);
/* What the Activate button does with the code and controller typed on that
 * page: on success the profile is saved where an import saves it and its
 * account registers; on failure the reason is shown on the page, nothing
 * is saved (and FALSE returned). */
gboolean  kc_window_activate    (KcWindow      *self);

/* Puts @text (a number or a sip:/sips:/tel: URI) in the dial entry. */
void      kc_window_set_dial_text (KcWindow    *self,
                                   const char  *text);
/* Puts @text in the dial entry and calls it as the call button does; a
 * refusal is shown under the entry (and returned). */
/* Reads the contacts file again (they are shown on the phone page and name
 * the recent calls). */
void      kc_window_load_contacts (KcWindow    *self);
gboolean  kc_window_dial        (KcWindow      *self,
                                 const char    *text);

G_END_DECLS
