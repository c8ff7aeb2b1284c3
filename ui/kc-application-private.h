/* kc-application-private.h: the inside of a KcApplication, shared by its
 * object code (kc-application.c) and its call (kc-application-call.c).
 * Not installed. */
#pragma once

#include "kc-application.h"
#include "kc-ringtone.h"

G_BEGIN_DECLS

enum {
  PROP_0,
  PROP_ACCOUNT,
  PROP_CALL,
  PROP_PROFILE_ERROR,
  N_PROPS
};

enum {
  SIGNAL_CALL_FINISHED,
  N_SIGNALS
};

struct _KcApplication {
  AdwApplication  parent_instance;

  char           *profile_path;     /* the one in use */
  char           *profile_error;
  char           *history_path;
  GSettings      *settings;
  KcCtaAccount   *account;
  KcCtaCall      *call;
  gboolean        notified;         /* an incoming-call notification is shown */
  KcRingtone     *ringtone;
  char           *pending_dial;     /* a URI opened before the account registered */
  KcHost         *host;             /* the embedded controller */
  GtkWindow      *flow_window;      /* its controller window, while open */
};

extern GParamSpec *kc_application_props[N_PROPS];
extern guint kc_application_signals[N_SIGNALS];

/* kc-application.c */
void     kc_application_apply_settings        (KcApplication *self);

/* kc-application-call.c */
void     kc_application_withdraw_notification (KcApplication *self);
void     kc_application_stop_ringing          (KcApplication *self);
void     kc_application_update_actions        (KcApplication *self);
void     kc_application_on_incoming_call      (KcCtaAccount  *account,
                                               KcCtaCall     *call,
                                               KcApplication *self);

G_END_DECLS
