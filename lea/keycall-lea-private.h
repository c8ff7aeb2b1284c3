/* keycall-lea-private.h: what the parts of keycall-lea share: the running
 * program (Lea), the parsed arguments, and the callbacks keycall-lea.c
 * hands to the sessions, the recorder, the window and --commands. Not
 * installed.
 */
#pragma once

#include "kc-lea-commands.h"
#include "kc-lea-recorder.h"
#include "kc-lea-session.h"
#include "kc-lea-window.h"

#include "kc-event-bus.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char          *name;         /* the LEA's name, from lea.ini */
  char          *lane;
  GMainLoop     *loop;
  KcEventBus    *bus;
  KcLeaRecorder *recorder;
  GPtrArray     *sessions;
  gboolean       stop_on_exit;
  gboolean       past_only;    /* no tap: leave once every request is answered */
  gboolean       quitting;
  guint          stops_waiting;
  guint          stop_timer;
  KcLeaWindow   *window;       /* --window */
  GHashTable    *addresses;    /* controller name → "HOST:PORT" */
  KcLeaCommands *commands;     /* --commands */
} Lea;

typedef struct {
  KcLeaTapKind kind;
  char        *number;
  char        *controller;   /* NULL: every controller */
  gint64       from_us, until_us;
} TapArg;


/* lea.ini: [lea] name, tls-dir (cert.pem, key.pem, cafile.pem),
 * seal-private-key, and crl (optional; else the network's crl.pem two
 * folders up, when there is one). Paths are relative to the file. */
typedef struct {
  GKeyFile *ini;
  char *name;
  char *cert, *key, *ca, *crl, *seal_key;
} LeaConfig;

/* keycall-lea-callbacks.c */
/* One line on stdout, at once. */
void          lea_say                  (const char     *format,
                                        ...) G_GNUC_PRINTF (1, 2);
/* SIGTERM, SIGINT, --timeout, closing the window: a GSourceFunc on @lea. */
gboolean      lea_on_quit              (gpointer        user_data);
/* What the sessions and the recorder report, on user data @lea. */
extern const KcLeaSessionFuncs  lea_session_funcs;
extern const KcLeaRecorderFuncs lea_recorder_funcs;
/* The window's and --commands' actions (KcLeaWindowAddTap, …) on @lea. */
gboolean      lea_add_tap              (const char     *controller,
                                        const char     *kind,
                                        const char     *number,
                                        gpointer        user_data,
                                        GError        **error);
gboolean      lea_stop_tap             (const char     *controller,
                                        const char     *tap,
                                        gpointer        user_data,
                                        GError        **error);
void          lea_on_command_refused   (const char     *line,
                                        const char     *reason,
                                        gpointer        user_data);

/* keycall-lea-options.c */
gboolean      lea_parse_controller     (const char     *text,
                                        GKeyFile       *ini,
                                        char          **name,
                                        char          **host,
                                        guint16        *port,
                                        GError        **error);
GStrv         lea_controllers_from_ini (GKeyFile       *ini);
TapArg       *lea_parse_tap            (const char     *text,
                                        GError        **error);
TapArg       *lea_parse_past           (const char     *text,
                                        GError        **error);
void          lea_tap_arg_free         (TapArg         *t);
gboolean      lea_config_load          (const char     *path,
                                        LeaConfig      *c,
                                        GError        **error);
void          lea_config_clear         (LeaConfig      *c);

G_END_DECLS
