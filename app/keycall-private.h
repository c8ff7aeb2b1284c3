/* keycall-private.h: what the parts of `keycall --headless` share: the run
 * (App), its exit statuses, and the callbacks keycall.c hands to the
 * account, the main loop and the signals. Not installed.
 */
#pragma once

#include "kc-cta.h"
#include "kc-secret.h"

G_BEGIN_DECLS

enum {
  EXIT_OK      = 0,
  EXIT_FAILED  = 1,   /* the call or the registration did not happen */
  EXIT_USAGE   = 2,   /* bad options, unreadable profile */
};

typedef struct {
  /* options */
  gboolean      headless;
  char         *profile_path;
  char         *activate;        /* --activate FILE */
  KcSecret     *code;            /* --code, NUL-terminated; wiped once used */
  gboolean      code_from_stdin; /* --code - */
  char         *call_number;
  gboolean      answer;
  int           duration;        /* -1: not given */
  char         *listen;
  char         *events;
  int           answer_after;
  int           reject;
  int           timeout;
  gboolean      verbose;
  char         *audio_in;
  char         *audio_out;
  char         *codecs;
  char         *suites;
  gboolean      direct_media;
  char         *dtmf;
  int           hold_after;      /* -1: never */
  int           hold_for;        /* -1: held until the call ends */

  GMainLoop    *loop;
  KcCtaAccount *account;
  KcCtaCall    *call;
  gboolean      was_registered;
  gboolean      finishing;
  int           exit_code;
  guint         timeout_id;
  guint         answer_id;
  guint         duration_id;
  guint         grace_id;
  guint         hold_id;
} App;

/* keycall-callbacks.c */
/* What the account reports (registration, incoming calls), on @app. */
void      keycall_watch_account (App      *app);
/* --timeout: a GSourceFunc on @app. */
gboolean  keycall_on_timeout    (gpointer  user_data);
/* SIGINT, SIGTERM: a GSourceFunc on @app; a second one quits at once. */
gboolean  keycall_on_signal     (gpointer  user_data);

G_END_DECLS
