/* kc-application.h: the softphone application (org.keycall.Keycall). It
 * owns the profile, the CTA account and the one call at a time the window
 * shows; the window only renders them. All call logic is the CTA library's.
 */
#pragma once

#include <adwaita.h>

#include "kc-cta.h"
#include "kc-host.h"

G_BEGIN_DECLS

#define KC_APPLICATION_ID "org.keycall.Keycall"

#define KC_TYPE_APPLICATION (kc_application_get_type ())
G_DECLARE_FINAL_TYPE (KcApplication, kc_application, KC, APPLICATION, AdwApplication)

/* Signals:
 *   call-finished (KcCtaCall *call, const char *description)  a call ended or failed
 * Properties (read-only, notified): account (KcCtaAccount, NULL until a
 * profile loaded), call (KcCtaCall, the call shown, NULL when idle),
 * profile-error (why the profile could not be used, or NULL). */

/* @profile_path: the profile to use (keycall --profile), or NULL for the
 * imported one in $XDG_DATA_HOME/keycall/profile.keycall. */
KcApplication *kc_application_new               (GApplicationFlags  flags,
                                                 const char        *profile_path);

/* Where an imported profile is kept. */
char          *kc_application_imported_path     (void);

/* Checks @file is a valid profile, copies it (mode 0600) to the imported
 * path and starts its account in place of any other. */
gboolean       kc_application_import_profile    (KcApplication     *self,
                                                 GFile             *file,
                                                 GError           **error);

/* What import and activation share: validates @profile, saves it (mode
 * 0600) at the imported path, then starts its account in place of any
 * other. A registration refused later shows as the account's state. */
gboolean       kc_application_use_profile       (KcApplication     *self,
                                                 KcProfile         *profile,
                                                 GError           **error);

KcCtaAccount  *kc_application_get_account       (KcApplication     *self);
KcCtaCall     *kc_application_get_call          (KcApplication     *self);
const char    *kc_application_get_profile_error (KcApplication     *self);
GSettings     *kc_application_get_settings      (KcApplication     *self);
const char    *kc_application_get_history_path  (KcApplication     *self);

/* Calls what the user typed (a number or a sip:/sips:/tel: URI) with the
 * audio and codecs of the preferences. */
gboolean       kc_application_dial              (KcApplication     *self,
                                                 const char        *text,
                                                 GError           **error);
/* The current incoming call: answer it, or decline it (603). */
gboolean       kc_application_answer            (KcApplication     *self,
                                                 GError           **error);
gboolean       kc_application_decline           (KcApplication     *self,
                                                 GError           **error);
void           kc_application_hangup            (KcApplication     *self);
/* The embedded controller (settings host-controller, host-controller-config). */
KcHost        *kc_application_get_host          (KcApplication     *self);
/* Whether the ringtone plays (an incoming call is ringing); for tests. */
gboolean       kc_application_is_ringing        (KcApplication     *self);

G_END_DECLS
