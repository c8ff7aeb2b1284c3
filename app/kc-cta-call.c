/* kc-cta-call.c: a call as an object: state machine, key bookkeeping,
 * properties and signals for the window, events for the ladder diagram.
 * The SIP dialogue itself is in kc-cta-call-sip.c.
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-call-private.h"
#include "kc-error.h"
#include "kc-pki.h"

#include <string.h>

enum {
  PROP_0,
  PROP_DIRECTION,
  PROP_STATE,
  PROP_PEER_NUMBER,
  PROP_PEER_NAME,
  PROP_CALL_ID,
  PROP_STATUS,
  PROP_REASON,
  PROP_KEY_ID,
  PROP_KEY_FINGERPRINT,
  PROP_KEY_DERIVED,
  PROP_SUITE,
  PROP_KEY_RECEIVED_TIME,
  PROP_ACK_SENT_TIME,
  PROP_ACK_CONFIRMED_TIME,
  PROP_MUTED,
  PROP_HELD,
  PROP_REMOTE_HELD,
  PROP_HOLD_PENDING,
  PROP_KEY_ORIGIN,
  N_PROPS
};

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_MEDIA_STARTED,
  SIGNAL_HOLD_FAILED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (KcCtaCall, kc_cta_call, G_TYPE_OBJECT)

/* Events */

KcEvent *
kc_cta_call_event_new (KcCtaCall  *self,
                       KcEventKind kind,
                       int         fig3)
{
  KcEvent *event;

  if (self->account == NULL)
    return NULL;
  event = kc_cta_account_event_new (self->account, kind, self->call_id, fig3);
  if (self->has_key)
    kc_event_set_key (event, &self->key_id, self->key);
  return event;
}

void
kc_cta_call_emit (KcCtaCall *self,
                  KcEvent   *event)
{
  if (self->account != NULL && event != NULL)
    kc_cta_account_emit (self->account, event);
}

void
kc_cta_call_emit_msg (KcCtaCall  *self,
                      KcEventKind kind,
                      gint64      time_us,
                      int         fig3,
                      msg_t      *msg)
{
  if (self->account != NULL)
    kc_cta_account_emit_msg (self->account, kind, time_us, self->call_id, fig3, msg);
}

/* State */

void
kc_cta_call_set_state (KcCtaCall      *self,
                       KcCtaCallState  state)
{
  g_autoptr(KcEvent) event = NULL;
  KcCtaCallState old = self->state;

  if (!kc_cta_call_state_can_change (self->direction, old, state)) {
    g_debug ("Call %s: ignoring %s after %s", self->call_id,
             kc_cta_call_state_to_string (state), kc_cta_call_state_to_string (old));
    return;
  }
  self->state = state;
  if (state == KC_CTA_CALL_STATE_ANSWERED)
    self->answered_time = g_get_real_time ();
  /* Before the state is announced: a listener that hangs up at "ended"
   * finds the media's final figures, and one that looks at "answered"
   * finds the stream running. */
  if (kc_cta_call_state_is_final (state))
    kc_cta_call_media_stop (self);

  event = kc_cta_call_event_new (self, KC_EVENT_KIND_CALL_STATE, 0);
  if (event != NULL) {
    kc_event_set_summary_printf (event, "%s call %s %s: %s",
                                 kc_cta_call_direction_to_string (self->direction),
                                 self->direction == KC_CTA_CALL_OUTGOING ? "to" : "from",
                                 self->peer_number, kc_cta_call_state_to_string (state));
    kc_event_set_attr (event, "state", kc_cta_call_state_to_string (state));
    kc_event_set_attr (event, "direction", kc_cta_call_direction_to_string (self->direction));
    if (kc_cta_call_state_is_final (state)) {
      kc_event_set_attr_int (event, "status", self->status);
      kc_event_set_attr (event, "reason", self->reason);
    }
    kc_cta_call_emit (self, event);
  }

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, old, state);
  /* After: the SRTP keys are derived from K, which the call has by now. */
  if (state == KC_CTA_CALL_STATE_ANSWERED && self->state == KC_CTA_CALL_STATE_ANSWERED)
    kc_cta_call_media_start (self);
}

static gboolean
on_cleanup (gpointer user_data)
{
  KcCtaCall *self = user_data;

  self->cleanup_idle = 0;
  kc_cta_call_release (self);
  if (self->account != NULL)
    kc_cta_account_call_done (self->account, self);
  return G_SOURCE_REMOVE;
}

void
kc_cta_call_finish (KcCtaCall  *self,
                    guint       status,
                    const char *reason)
{
  if (kc_cta_call_state_is_final (self->state))
    return;

  self->status = status;
  g_free (self->reason);
  self->reason = g_strdup (reason);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REASON]);
  /* K is of no use once the call is over. */
  g_clear_pointer (&self->key, kc_secret_free);
  g_clear_handle_id (&self->hangup_timer, g_source_remove);

  /* The sofia-sip objects go from an idle, never inside their own callback;
   * the idle holds the call alive until then. */
  if (self->cleanup_idle == 0)
    self->cleanup_idle = g_idle_add_full (G_PRIORITY_DEFAULT, on_cleanup,
                                          g_object_ref (self), g_object_unref);

  kc_cta_call_set_state (self, self->state == KC_CTA_CALL_STATE_ANSWERED
                               ? KC_CTA_CALL_STATE_ENDED : KC_CTA_CALL_STATE_FAILED);
}

void
kc_cta_call_take_key (KcCtaCall     *self,
                      KcSecret      *key,
                      const KcKeyId *key_id,
                      gboolean       derived)
{
  g_clear_pointer (&self->key, kc_secret_free);
  self->key = key;
  self->key_id = *key_id;
  kc_key_id_to_hex (key_id, self->key_id_hex);
  kc_secret_fingerprint (key, self->fingerprint);
  self->has_key = TRUE;
  self->derived = derived;
  self->key_received_time = g_get_real_time ();
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEY_ID]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEY_FINGERPRINT]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEY_DERIVED]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEY_RECEIVED_TIME]);
}

char *
kc_cta_key_origin_parse (const char *value)
{
  const char *name;

  if (value == NULL || !g_str_has_prefix (value, "controller:"))
    return NULL;
  name = value + strlen ("controller:");
  if (*name == '\0' || strlen (name) > 64)
    return NULL;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-_.", *p) == NULL)
      return NULL;
  return g_strdup (name);
}

void
kc_cta_call_set_key_origin (KcCtaCall  *self,
                            const char *name)
{
  if (g_strcmp0 (self->key_origin, name) == 0)
    return;
  g_free (self->key_origin);
  self->key_origin = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_KEY_ORIGIN]);
}

/* Hold (the SIP side is in kc-cta-call-hold.c) */

void
kc_cta_call_set_hold_state (KcCtaCall *self,
                            gboolean   held,
                            gboolean   remote_held)
{
  gboolean notify_held = self->held != !!held;
  gboolean notify_remote = self->remote_held != !!remote_held;

  self->held = !!held;
  self->remote_held = !!remote_held;
  kc_cta_call_media_apply_hold (self);
  if (notify_held)
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HELD]);
  if (notify_remote)
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REMOTE_HELD]);
}

void
kc_cta_call_notify_hold_pending (KcCtaCall *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HOLD_PENDING]);
}

void
kc_cta_call_emit_hold_failed (KcCtaCall  *self,
                              const char *message)
{
  g_signal_emit (self, signals[SIGNAL_HOLD_FAILED], 0, message);
}

gboolean
kc_cta_call_get_held (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);
  return self->held;
}

gboolean
kc_cta_call_get_remote_held (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);
  return self->remote_held;
}

gboolean
kc_cta_call_get_hold_pending (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);
  return self->reinvite != NULL;
}

/* Construction (by the account) */

static gboolean
check_number (const char *number,
              GError    **error)
{
  g_autoptr(GError) local = NULL;

  if (!kc_pki_check_number (number, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Cannot call “%s”: %s", number,
                 local->message);
    return FALSE;
  }
  return TRUE;
}

KcCtaCall *
kc_cta_call_new_outgoing (KcCtaAccount *account,
                          const char   *number,
                          GError      **error)
{
  g_autoptr(KcCtaCall) self = NULL;

  if (!check_number (number, error))
    return NULL;

  self = g_object_new (KC_TYPE_CTA_CALL, NULL);
  self->account = account;
  g_object_add_weak_pointer (G_OBJECT (account), (gpointer *) &self->account);
  self->direction = KC_CTA_CALL_OUTGOING;
  self->state = KC_CTA_CALL_STATE_CALLING;
  self->peer_number = g_strdup (number);
  if (!kc_cta_call_sip_invite (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

KcCtaCall *
kc_cta_call_new_incoming (KcCtaAccount   *account,
                          nta_incoming_t *irq,
                          sip_t const    *sip)
{
  g_autoptr(KcCtaCall) self = g_object_new (KC_TYPE_CTA_CALL, NULL);

  self->account = account;
  g_object_add_weak_pointer (G_OBJECT (account), (gpointer *) &self->account);
  self->direction = KC_CTA_CALL_INCOMING;
  self->state = KC_CTA_CALL_STATE_INCOMING;
  if (!kc_cta_call_sip_accept (self, irq, sip))
    return NULL;
  return g_steal_pointer (&self);
}

void
kc_cta_call_handle_invite (KcCtaCall   *self,
                           sip_t const *sip)
{
  g_autoptr(KcCtaCall) hold = g_object_ref (self);

  /* A window may have refused the call from its incoming-call handler. */
  if (!kc_cta_call_state_is_final (self->state))
    kc_cta_call_sip_invite_in (self, sip);
}

void
kc_cta_call_abandon (KcCtaCall *self)
{
  g_autoptr(KcCtaCall) hold = g_object_ref (self);

  kc_cta_call_finish (self, 503, "The account was closed");
  g_clear_handle_id (&self->cleanup_idle, g_source_remove);
  kc_cta_call_release (self);
  if (self->account != NULL) {
    g_object_remove_weak_pointer (G_OBJECT (self->account), (gpointer *) &self->account);
    self->account = NULL;
  }
}

/* Public API */

KcCtaCallDirection
kc_cta_call_get_direction (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), KC_CTA_CALL_OUTGOING);
  return self->direction;
}

KcCtaCallState
kc_cta_call_get_state (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), KC_CTA_CALL_STATE_FAILED);
  return self->state;
}

const char *
kc_cta_call_get_peer_number (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->peer_number;
}

const char *
kc_cta_call_get_peer_name (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->peer_name;
}

const char *
kc_cta_call_get_call_id (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->call_id;
}

guint
kc_cta_call_get_status (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), 0);
  return self->status;
}

const char *
kc_cta_call_get_reason (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->reason;
}

const char *
kc_cta_call_get_key_id (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->has_key ? self->key_id_hex : NULL;
}

const char *
kc_cta_call_get_key_fingerprint (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->has_key ? self->fingerprint : NULL;
}

const char *
kc_cta_call_get_key_origin (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->key_origin;
}

gboolean
kc_cta_call_get_key_derived (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);
  return self->derived;
}

KcSuite
kc_cta_call_get_suite (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), KC_SUITE_DEFAULT);
  return self->suite;
}

gint64
kc_cta_call_get_key_received_time (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), 0);
  return self->key_received_time;
}

gint64
kc_cta_call_get_ack_sent_time (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), 0);
  return self->ack_sent_time;
}

gint64
kc_cta_call_get_ack_confirmed_time (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), 0);
  return self->ack_confirmed_time;
}

gint64
kc_cta_call_get_answered_time (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), 0);
  return self->answered_time;
}

char *
kc_cta_call_describe_end (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);

  if (!kc_cta_call_state_is_final (self->state))
    return NULL;
  return g_strdup_printf ("%s %u %s", kc_cta_call_state_to_string (self->state), self->status,
                          self->reason ? self->reason : "");
}

KcSecret *
kc_cta_call_get_srtp_key (KcCtaCall   *self,
                          KcDirection  direction,
                          GError     **error)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);

  if (self->key == NULL
      || (self->state != KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED
          && self->state != KC_CTA_CALL_STATE_RINGING
          && self->state != KC_CTA_CALL_STATE_ANSWERED)) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED,
                 "The call is %s: there are media keys only between the confirmed key "
                 "acknowledgment and the end of the call",
                 kc_cta_call_state_to_string (self->state));
    return NULL;
  }
  return kc_srtp_key_derive (self->key, self->suite, direction, error);
}

gboolean
kc_cta_call_answer (KcCtaCall *self,
                    GError   **error)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);

  if (self->direction != KC_CTA_CALL_INCOMING || kc_cta_call_state_is_final (self->state)
      || self->state == KC_CTA_CALL_STATE_ANSWERED || self->hanging_up) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Cannot answer a call that is %s %s",
                 kc_cta_call_direction_to_string (self->direction),
                 kc_cta_call_state_to_string (self->state));
    return FALSE;
  }
  if (self->state != KC_CTA_CALL_STATE_RINGING) {
    /* Never before the controller confirmed our acknowledgment. */
    self->answer_pending = TRUE;
    return TRUE;
  }
  kc_cta_call_sip_answer (self);
  return TRUE;
}

gboolean
kc_cta_call_reject (KcCtaCall *self,
                    guint      status,
                    GError   **error)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);

  if (status < 400 || status > 699) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "A call is refused with a status from 400 to 699, not %u", status);
    return FALSE;
  }
  if (self->direction != KC_CTA_CALL_INCOMING || kc_cta_call_state_is_final (self->state)
      || self->state == KC_CTA_CALL_STATE_ANSWERED) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION, "Cannot refuse a call that is %s %s",
                 kc_cta_call_direction_to_string (self->direction),
                 kc_cta_call_state_to_string (self->state));
    return FALSE;
  }
  kc_cta_call_sip_reject (self, status, NULL, NULL);
  return TRUE;
}

void
kc_cta_call_hangup (KcCtaCall *self)
{
  g_autoptr(KcCtaCall) hold = NULL;

  g_return_if_fail (KC_IS_CTA_CALL (self));

  if (kc_cta_call_state_is_final (self->state) || self->hanging_up)
    return;
  hold = g_object_ref (self);
  self->hanging_up = TRUE;
  self->local_hangup = TRUE;
  kc_cta_call_sip_hangup (self);
}

/* GObject */

static void
kc_cta_call_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  KcCtaCall *self = KC_CTA_CALL (object);

  switch (prop_id) {
  case PROP_DIRECTION:
    g_value_set_enum (value, self->direction);
    break;
  case PROP_STATE:
    g_value_set_enum (value, self->state);
    break;
  case PROP_PEER_NUMBER:
    g_value_set_string (value, self->peer_number);
    break;
  case PROP_PEER_NAME:
    g_value_set_string (value, self->peer_name);
    break;
  case PROP_CALL_ID:
    g_value_set_string (value, self->call_id);
    break;
  case PROP_STATUS:
    g_value_set_uint (value, self->status);
    break;
  case PROP_REASON:
    g_value_set_string (value, self->reason);
    break;
  case PROP_KEY_ID:
    g_value_set_string (value, kc_cta_call_get_key_id (self));
    break;
  case PROP_KEY_FINGERPRINT:
    g_value_set_string (value, kc_cta_call_get_key_fingerprint (self));
    break;
  case PROP_KEY_ORIGIN:
    g_value_set_string (value, self->key_origin);
    break;
  case PROP_KEY_DERIVED:
    g_value_set_boolean (value, self->derived);
    break;
  case PROP_SUITE:
    g_value_set_string (value, kc_suite_to_string (self->suite));
    break;
  case PROP_KEY_RECEIVED_TIME:
    g_value_set_int64 (value, self->key_received_time);
    break;
  case PROP_ACK_SENT_TIME:
    g_value_set_int64 (value, self->ack_sent_time);
    break;
  case PROP_ACK_CONFIRMED_TIME:
    g_value_set_int64 (value, self->ack_confirmed_time);
    break;
  case PROP_MUTED:
    g_value_set_boolean (value, self->muted);
    break;
  case PROP_HELD:
    g_value_set_boolean (value, self->held);
    break;
  case PROP_REMOTE_HELD:
    g_value_set_boolean (value, self->remote_held);
    break;
  case PROP_HOLD_PENDING:
    g_value_set_boolean (value, self->reinvite != NULL);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_cta_call_dispose (GObject *object)
{
  KcCtaCall *self = KC_CTA_CALL (object);

  g_clear_handle_id (&self->hangup_timer, g_source_remove);
  kc_cta_call_release (self);
  g_clear_pointer (&self->audio, kc_cta_audio_free);
  g_clear_object (&self->media);
  if (self->account != NULL) {
    g_object_remove_weak_pointer (G_OBJECT (self->account), (gpointer *) &self->account);
    self->account = NULL;
  }
  G_OBJECT_CLASS (kc_cta_call_parent_class)->dispose (object);
}

static void
kc_cta_call_finalize (GObject *object)
{
  KcCtaCall *self = KC_CTA_CALL (object);

  g_clear_pointer (&self->key, kc_secret_free);
  g_clear_pointer (&self->remote_media, kc_sdp_media_free);
  kc_sdp_choice_clear (&self->media_choice);
  g_free (self->media_summary);
  g_free (self->peer_number);
  g_free (self->peer_name);
  g_free (self->call_id);
  g_free (self->reason);
  g_free (self->request_uri);
  g_free (self->key_origin);

  G_OBJECT_CLASS (kc_cta_call_parent_class)->finalize (object);
}

static void
kc_cta_call_class_init (KcCtaCallClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = kc_cta_call_get_property;
  object_class->dispose = kc_cta_call_dispose;
  object_class->finalize = kc_cta_call_finalize;

  props[PROP_DIRECTION] =
    g_param_spec_enum ("direction", NULL, NULL, KC_TYPE_CTA_CALL_DIRECTION,
                       KC_CTA_CALL_OUTGOING, ro);
  props[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, KC_TYPE_CTA_CALL_STATE,
                       KC_CTA_CALL_STATE_CALLING, ro);
  props[PROP_PEER_NUMBER] = g_param_spec_string ("peer-number", NULL, NULL, NULL, ro);
  props[PROP_PEER_NAME] = g_param_spec_string ("peer-name", NULL, NULL, NULL, ro);
  props[PROP_CALL_ID] = g_param_spec_string ("call-id", NULL, NULL, NULL, ro);
  props[PROP_STATUS] = g_param_spec_uint ("status", NULL, NULL, 0, 699, 0, ro);
  props[PROP_REASON] = g_param_spec_string ("reason", NULL, NULL, NULL, ro);
  props[PROP_KEY_ID] = g_param_spec_string ("key-id", NULL, NULL, NULL, ro);
  props[PROP_KEY_FINGERPRINT] = g_param_spec_string ("key-fingerprint", NULL, NULL, NULL, ro);
  props[PROP_KEY_ORIGIN] = g_param_spec_string ("key-origin", NULL, NULL, NULL, ro);
  props[PROP_KEY_DERIVED] = g_param_spec_boolean ("key-derived", NULL, NULL, FALSE, ro);
  props[PROP_SUITE] = g_param_spec_string ("suite", NULL, NULL, NULL, ro);
  props[PROP_KEY_RECEIVED_TIME] =
    g_param_spec_int64 ("key-received-time", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_ACK_SENT_TIME] =
    g_param_spec_int64 ("ack-sent-time", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_ACK_CONFIRMED_TIME] =
    g_param_spec_int64 ("ack-confirmed-time", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_MUTED] = g_param_spec_boolean ("muted", NULL, NULL, FALSE, ro);
  props[PROP_HELD] = g_param_spec_boolean ("held", NULL, NULL, FALSE, ro);
  props[PROP_REMOTE_HELD] = g_param_spec_boolean ("remote-held", NULL, NULL, FALSE, ro);
  props[PROP_HOLD_PENDING] = g_param_spec_boolean ("hold-pending", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2,
                  KC_TYPE_CTA_CALL_STATE, KC_TYPE_CTA_CALL_STATE);
  signals[SIGNAL_MEDIA_STARTED] =
    g_signal_new ("media-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_HOLD_FAILED] =
    g_signal_new ("hold-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
kc_cta_call_init (KcCtaCall *self)
{
  self->suite = KC_SUITE_DEFAULT;
  self->media_choice.dtmf_pt = -1;
  self->sdp_session = g_get_real_time () / G_USEC_PER_SEC;
}
