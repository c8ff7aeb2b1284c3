/* kc-call-view.h: the call page: who, state and duration, answer/decline or
 * mute, hold, DTMF pad and hang up, level meters, and the security panel that
 * says honestly whether the call is encrypted yet and who holds its key.
 */
#pragma once

#include <gtk/gtk.h>

#include "kc-application.h"

G_BEGIN_DECLS

#define KC_TYPE_CALL_VIEW (kc_call_view_get_type ())
G_DECLARE_FINAL_TYPE (KcCallView, kc_call_view, KC, CALL_VIEW, GtkBox)

GtkWidget *kc_call_view_new      (KcApplication *app);
/* Shows @call (NULL: none); the view follows its changes. */
void       kc_call_view_set_call (KcCallView    *self,
                                  KcCtaCall     *call);

G_END_DECLS
