/* kc-preferences.h: the preferences window: the sound devices calls use,
 * the codec order and the embedded controller, stored in GSettings
 * (org.keycall.Keycall) and applied by the application.
 */
#pragma once

#include <gtk/gtk.h>

#include "kc-host.h"

G_BEGIN_DECLS

/* @host: the embedded controller whose state the window shows, or NULL. */
GtkWindow *kc_preferences_new (GSettings *settings,
                               KcHost    *host);

G_END_DECLS
