/* kc-preferences.h: the preferences window: the sound devices calls use
 * and the codec order, stored in GSettings (org.keycall.Keycall) and applied
 * by the application before every call.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWindow *kc_preferences_new (GSettings *settings);

G_END_DECLS
