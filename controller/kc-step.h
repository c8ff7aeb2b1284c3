/* kc-step.h: step mode and slow motion, for a teacher showing FIG. 3.
 *
 * The gate sits between the call state machine and sofia-sip: while it is
 * on, each outgoing message of a call's key exchange waits in it until
 * "Next" (step mode) or a chosen delay (slow motion). Off by default; only
 * the controller's private window socket turns it on, never --headless.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "kc-event.h"

G_BEGIN_DECLS

/* Longest slow-motion delay, in ms. */
#define KC_STEP_DELAY_MAX 60000

typedef struct _KcStepGate KcStepGate;

/* Sends a held message, or frees it unsent (the call ended meanwhile). */
typedef void (*KcStepFunc)   (gpointer data);
/* What the gate reports: KC_EVENT_KIND_STEP_HOLD or _STEP_RELEASE for one
 * message (@dropped: freed unsent), KC_EVENT_KIND_LOG for a change of mode
 * (@call_id, @peer and @what NULL, @fig3 0). The gate's state
 * (kc_step_gate_get_n_held, _peek, _get_step, _get_delay) is already the
 * new one. */
typedef void (*KcStepNotify) (KcStepGate  *gate,
                              KcEventKind  kind,
                              const char  *call_id,
                              int          fig3,
                              const char  *peer,
                              const char  *what,
                              gboolean     dropped,
                              gpointer     user_data);

KcStepGate *kc_step_gate_new          (KcStepNotify  notify,
                                       gpointer      user_data);
/* Frees every held message unsent (their drop functions run). */
void        kc_step_gate_free         (KcStepGate   *gate);

/* Step mode on: messages wait for kc_step_gate_next(). Off: what is held
 * goes (paced by the slow-motion delay, if any). */
void        kc_step_gate_set_step     (KcStepGate   *gate,
                                       gboolean      on);
gboolean    kc_step_gate_get_step     (KcStepGate   *gate);
/* Slow motion: outside step mode each message waits @delay_ms (0: off) after
 * the one before it went. KC_ERROR_INVALID above KC_STEP_DELAY_MAX. */
gboolean    kc_step_gate_set_delay    (KcStepGate   *gate,
                                       guint         delay_ms,
                                       GError      **error);
guint       kc_step_gate_get_delay    (KcStepGate   *gate);
/* Step mode or slow motion: the calls' acknowledgment and ring timers wait
 * (a class may take its time). */
gboolean    kc_step_gate_is_active    (KcStepGate   *gate);

/* Sends the oldest held message now; FALSE when nothing is held. */
gboolean    kc_step_gate_next         (KcStepGate   *gate);
guint       kc_step_gate_get_n_held   (KcStepGate   *gate);
/* What the next message is ("318 INVITE + K → controller:gc2"), or NULL. */
const char *kc_step_gate_peek         (KcStepGate   *gate);

/* An outgoing message of @owner (a call): @send runs now when the gate is
 * off and nothing is held, else later, in order; or @drop runs instead if
 * @owner ends first (kc_step_gate_drop_owner). Exactly one of them runs,
 * and owns @data. @what says what the message is, for the window. */
void        kc_step_gate_submit       (KcStepGate   *gate,
                                       gpointer      owner,
                                       const char   *call_id,
                                       int           fig3,
                                       const char   *peer,
                                       const char   *what,
                                       KcStepFunc    send,
                                       KcStepFunc    drop,
                                       gpointer      data);
/* Frees @owner's held messages unsent; how many there were. */
guint       kc_step_gate_drop_owner   (KcStepGate   *gate,
                                       gpointer      owner);
guint       kc_step_gate_count_owner  (KcStepGate   *gate,
                                       gpointer      owner);

/* The controller's KcStepNotify (@user_data: its KcController): each one
 * as a step-hold, step-release or log event on its lane, carrying the
 * gate's state (attributes step, delay_ms, held, next). */
void        kc_step_notify_controller (KcStepGate   *gate,
                                       KcEventKind   kind,
                                       const char   *call_id,
                                       int           fig3,
                                       const char   *peer,
                                       const char   *what,
                                       gboolean      dropped,
                                       gpointer      user_data);

/* A command from the window socket, {"v":1,"op":…}: "step" with a boolean
 * "on", "next", "slow" with an integer "delay_ms". KC_ERROR_UNSUPPORTED for
 * another op, KC_ERROR_INVALID for a missing or mistyped member. */
gboolean    kc_step_gate_command      (KcStepGate   *gate,
                                       JsonObject   *command,
                                       GError      **error);

G_END_DECLS
