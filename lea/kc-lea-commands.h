/* kc-lea-commands.h: keycall-lea's --commands: "tap …" and "stop …" lines
 * read while running from a FIFO, a file or stdin, handed to the same two
 * actions as the window's "Add a tap" form and Stop buttons.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef gboolean (*KcLeaCommandTap)     (const char *controller, const char *kind,
                                         const char *number, gpointer user_data,
                                         GError **error);
typedef gboolean (*KcLeaCommandStop)    (const char *controller, const char *tap,
                                         gpointer user_data, GError **error);
/* A line that was not acted on, and why (for a person). */
typedef void     (*KcLeaCommandRefused) (const char *line, const char *reason,
                                         gpointer user_data);

typedef struct _KcLeaCommands KcLeaCommands;

/* Lines: "tap NUMBER[:future|current][@CONTROLLER]" and
 * "stop TAP-OR-REQ[@CONTROLLER]"; @only_controller (may be NULL) is used
 * when a line names none. @path: "-" for stdin; a FIFO is opened
 * read-write so it never reads end-of-file between writers. */
KcLeaCommands *kc_lea_commands_new  (const char          *path,
                                     const char          *only_controller,
                                     KcLeaCommandTap      tap,
                                     KcLeaCommandStop     stop,
                                     KcLeaCommandRefused  refused,
                                     gpointer             user_data,
                                     GError             **error);
void           kc_lea_commands_free (KcLeaCommands       *commands);

G_END_DECLS
