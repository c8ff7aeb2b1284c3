/* kc-lea-window.h: keycall-lea's optional window (--window): the
 * controllers, the taps and the intercepted calls, drawn from the events
 * the program emits on its own bus (lane lea:NAME) and nothing else.
 */
#pragma once

#include <adwaita.h>

#include "kc-event-bus.h"

G_BEGIN_DECLS

#define KC_TYPE_LEA_WINDOW (kc_lea_window_get_type ())
G_DECLARE_FINAL_TYPE (KcLeaWindow, kc_lea_window, KC, LEA_WINDOW, AdwApplicationWindow)

/* @lea_name: the agency (lea.ini [lea] name), for the title; @bus: the
 * events to draw (a listener is added; removed at dispose). @app may be
 * NULL: keycall-lea runs its own GMainLoop. */
KcLeaWindow *kc_lea_window_new            (GtkApplication *app,
                                           const char     *lea_name,
                                           KcEventBus     *bus);
/* A controller this LEA connects to, shown as "Connecting" until its
 * first event. @address: "HOST:PORT" of its LI port. */
void         kc_lea_window_add_controller (KcLeaWindow    *self,
                                           const char     *name,
                                           const char     *address);
/* The folder recordings go to, shown under the calls (NULL: keys only). */
void         kc_lea_window_set_record_dir (KcLeaWindow    *self,
                                           const char     *dir);

/* What the window's "Add a tap" form and Stop buttons ask the program to
 * do (keycall-lea: the same as --commands). FALSE with @error to show. */
typedef gboolean (*KcLeaWindowAddTap)  (const char *controller, const char *kind,
                                        const char *number, gpointer user_data,
                                        GError **error);
typedef gboolean (*KcLeaWindowStopTap) (const char *controller, const char *tap,
                                        gpointer user_data, GError **error);

/* Shows the "Add a tap" form (kind future or current, one of
 * @controllers, NULL-terminated) and a Stop button on each active tap.
 * Without it the window only shows taps (a window fed from another bus). */
void         kc_lea_window_set_tap_actions (KcLeaWindow        *self,
                                            const char *const  *controllers,
                                            KcLeaWindowAddTap   add,
                                            KcLeaWindowStopTap  stop,
                                            gpointer            user_data);

G_END_DECLS
