/* kc-dialpad.h: the twelve-key pad, used to dial and, in a call, to send
 * DTMF. Each key calls @func with its character (0-9, *, #).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef void (*KcDialpadFunc) (char digit, gpointer user_data);

/* @name_prefix names the keys for tests and accessibility ("dial-key-5"). */
GtkWidget *kc_dialpad_new (const char    *name_prefix,
                           KcDialpadFunc  func,
                           gpointer       user_data);

G_END_DECLS
