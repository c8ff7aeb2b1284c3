/* kc-cta-separate.c: delivery mode "separate" (the patent's second
 * embodiment) on the softphone: the key comes in a MESSAGE of its own
 * (320 or 326, headers Keycall-Call and Keycall-Key-Mgmt, no body) and the
 * acknowledgment goes back in another (322 or 328); the INVITE carries no
 * key line at all.
 *
 * A callee gets its key before the INVITE, so the key waits here, keyed by
 * A's Call-ID, until the INVITE naming it in Keycall-Call arrives; a caller
 * gets it for the call it placed.
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-account-private.h"
#include "kc-cta-call-private.h"
#include "kc-cta-keying.h"
#include "kc-error.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

#include <string.h>

/* A key nobody's INVITE claimed is dropped after this. */
#define UNCLAIMED_KEY_SECONDS 60
#define MAX_PENDING_KEYS      16

struct _KcCtaDelivery {
  KcCtaAccount      *account;
  char              *call_id;
  KcCtaSide          side;
  KcSecret          *key;
  KcKeyId            key_id;
  gboolean           derived;
  char              *key_origin;   /* callee: what our controller's 320 named */
  KcCtaDeliveryState state;
  char              *failure;
  gint64             ack_sent_time;
  gint64             ack_confirmed_time;
  nta_outgoing_t    *orq;
  KcCtaCall         *call;         /* the call it belongs to, once known; a ref */
  guint              expire_id;
};

void
kc_cta_delivery_free (KcCtaDelivery *self)
{
  if (self == NULL)
    return;
  if (self->orq != NULL)
    nta_outgoing_destroy (self->orq);
  g_clear_handle_id (&self->expire_id, g_source_remove);
  g_clear_object (&self->call);
  g_clear_pointer (&self->key, kc_secret_free);
  g_free (self->call_id);
  g_free (self->key_origin);
  g_free (self->failure);
  g_free (self);
}

KcCtaDeliveryState
kc_cta_delivery_get_state (KcCtaDelivery *self)
{
  return self->state;
}

const char *
kc_cta_delivery_get_failure (KcCtaDelivery *self)
{
  return self->failure;
}

void
kc_cta_delivery_get_times (KcCtaDelivery *self,
                           gint64        *ack_sent,
                           gint64        *ack_confirmed)
{
  *ack_sent = self->ack_sent_time;
  *ack_confirmed = self->ack_confirmed_time;
}

KcSecret *
kc_cta_delivery_copy_key (KcCtaDelivery *self,
                          KcKeyId       *key_id,
                          gboolean      *derived)
{
  *key_id = self->key_id;
  *derived = self->derived;
  return kc_secret_copy (self->key);
}

void
kc_cta_delivery_attach (KcCtaDelivery *self,
                        KcCtaCall     *call)
{
  g_clear_handle_id (&self->expire_id, g_source_remove);
  g_set_object (&self->call, call);
}

/* The acknowledgment's fate goes to the call, or waits for its INVITE. */
static int
on_ack_response (void           *magic,
                 nta_outgoing_t *orq,
                 sip_t const    *sip)
{
  KcCtaDelivery *self = magic;
  KcCtaAccount *account = self->account;
  g_autoptr(GError) error = NULL;
  g_autoptr(KcCtaCall) call = NULL;
  int status = sip != NULL && sip->sip_status != NULL ? sip->sip_status->st_status : 408;
  int fig3 = self->side == KC_CTA_SIDE_CALLER ? 328 : 322;

  if (status < 200)
    return 0;
  status = kc_cta_account_take_response (account, orq, sip, status, self->call_id, fig3, &error);
  if (status >= 200 && status < 300) {
    self->state = KC_CTA_DELIVERY_CONFIRMED;
    self->ack_confirmed_time = g_get_real_time ();
  } else {
    g_autofree char *why = error ? g_strdup (error->message) : kc_cta_sip_reason (sip, status);

    self->state = KC_CTA_DELIVERY_FAILED;
    self->failure = g_strdup_printf ("The controller refused our key acknowledgment: %d %s",
                                     status, why);
  }
  /* This frees the response. */
  nta_outgoing_destroy (orq);
  self->orq = NULL;
  if (self->call != NULL) {
    call = g_object_ref (self->call);
    kc_cta_call_delivery_done (call, self);
  }
  return 0;
}

static gboolean
send_ack (KcCtaDelivery *self,
          GError       **error)
{
  KcCtaAccount *account = self->account;
  g_autofree char *call_header = g_strdup_printf (KC_CTA_CALL_HEADER ": %s", self->call_id);
  g_autofree char *key_header = NULL;
  g_autofree char *to = g_strdup_printf ("<%s>", kc_cta_account_get_controller_uri (account));
  gint64 sent_at;
  char *value;
  msg_t *msg;

  value = kc_cta_key_ack_value (self->key, &self->key_id, self->call_id, self->side, error);
  if (value == NULL)
    return FALSE;
  key_header = kc_cta_key_header_line (value, error);
  kc_secret_text_free (value);
  if (key_header == NULL)
    return FALSE;
  sent_at = g_get_real_time ();
  self->orq = nta_outgoing_tcreate (account->default_leg, on_ack_response, self,
                                    URL_STRING_MAKE (account->route), SIP_METHOD_MESSAGE,
                                    URL_STRING_MAKE (account->route),
                                    SIPTAG_FROM_STR (account->aor), SIPTAG_TO_STR (to),
                                    SIPTAG_HEADER_STR (call_header),
                                    SIPTAG_HEADER_STR (key_header),
                                    SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
  if (self->orq == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot send the acknowledgment MESSAGE");
    return FALSE;
  }
  self->state = KC_CTA_DELIVERY_ACK_SENT;
  self->ack_sent_time = g_get_real_time ();
  msg = nta_outgoing_getrequest (self->orq);
  kc_cta_account_emit_msg (account, KC_EVENT_KIND_SIP_TX, sent_at, self->call_id,
                           self->side == KC_CTA_SIDE_CALLER ? 328 : 322, msg);
  msg_destroy (msg);
  return TRUE;
}

static gboolean
on_unclaimed (gpointer user_data)
{
  KcCtaDelivery *self = user_data;

  self->expire_id = 0;
  g_debug ("Dropping the key for call %s: no INVITE came for it", self->call_id);
  g_hash_table_remove (self->account->deliveries, self->call_id);   /* frees self */
  return G_SOURCE_REMOVE;
}

static KcCtaCall *
find_outgoing_call (KcCtaAccount *account,
                    const char   *call_id)
{
  for (guint i = 0; i < account->calls->len; i++) {
    KcCtaCall *call = g_ptr_array_index (account->calls, i);

    if (kc_cta_call_get_direction (call) == KC_CTA_CALL_OUTGOING
        && g_strcmp0 (kc_cta_call_get_call_id (call), call_id) == 0)
      return call;
  }
  return NULL;
}

static void
reply (KcCtaAccount   *account,
       nta_incoming_t *irq,
       const char     *call_id,
       int             fig3,
       int             status,
       const char     *phrase,
       const char     *warning)
{
  g_autofree char *value = warning != NULL ? kc_cta_sip_quoted (warning) : NULL;
  gint64 sent_at = g_get_real_time ();
  msg_t *msg;

  nta_incoming_treply (irq, status, phrase, TAG_IF (value, SIPTAG_WARNING_STR (value)),
                       SIPTAG_USER_AGENT_STR (KC_CTA_USER_AGENT), TAG_END ());
  msg = nta_incoming_getresponse (irq);
  kc_cta_account_emit_msg (account, KC_EVENT_KIND_SIP_TX, sent_at, call_id, fig3, msg);
  msg_destroy (msg);
}

void
kc_cta_account_on_message (KcCtaAccount   *self,
                           nta_incoming_t *irq,
                           sip_t const    *sip)
{
  const char *call_id = kc_cta_sip_unknown_header (sip, KC_CTA_CALL_HEADER);
  const char *header = kc_cta_sip_unknown_header (sip, KC_CTA_KEY_HEADER);
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  KcCtaDelivery *delivery;
  KcCtaCall *call;
  KcSecret *key;
  gboolean derived;
  int fig3;

  if (call_id == NULL || *call_id == '\0' || strlen (call_id) > 256) {
    reply (self, irq, NULL, 0, 400, "Missing Keycall-Call", NULL);
    return;
  }
  call = find_outgoing_call (self, call_id);
  fig3 = call != NULL ? 326 : 320;
  mgmt = kc_cta_key_mgmt_find ("the MESSAGE", NULL, 0, header, &error);
  key = mgmt == NULL ? NULL
        : kc_cta_key_accept (mgmt, call != NULL ? KC_CTA_SIDE_CALLER : KC_CTA_SIDE_CALLEE,
                             kc_cta_account_get_profile (self)->signaling_secret, call_id,
                             &derived, &error);
  if (key == NULL) {
    reply (self, irq, call_id, fig3, 488, "No Usable Call Key", error->message);
    if (call != NULL)
      kc_cta_call_delivery_failed (call, error->message);
    return;
  }
  if (g_hash_table_contains (self->deliveries, call_id)) {
    kc_secret_free (key);
    reply (self, irq, call_id, fig3, 400, "This call already has a key", NULL);
    return;
  }
  if (call == NULL && g_hash_table_size (self->deliveries) >= MAX_PENDING_KEYS) {
    kc_secret_free (key);
    reply (self, irq, call_id, fig3, 486, "Too many keys waiting for their calls", NULL);
    return;
  }

  delivery = g_new0 (KcCtaDelivery, 1);
  delivery->account = self;
  delivery->call_id = g_strdup (call_id);
  delivery->side = call != NULL ? KC_CTA_SIDE_CALLER : KC_CTA_SIDE_CALLEE;
  delivery->key = key;
  delivery->key_id = mgmt->key_id;
  delivery->derived = derived;
  /* Believed because kc_cta_account_on_request checked it came from our
   * controller; only a callee's key has another controller as origin. */
  if (call == NULL)
    delivery->key_origin
      = kc_cta_key_origin_parse (kc_cta_sip_unknown_header (sip, KC_CTA_KEY_ORIGIN_HEADER));
  g_hash_table_insert (self->deliveries, delivery->call_id, delivery);
  /* The key received and our acknowledgment, before the 200 and the
   * acknowledgment MESSAGE (322 or 328) go out. */
  kc_cta_account_emit_key_events (self, call_id, &delivery->key_id, delivery->key,
                                  delivery->derived, call != NULL, fig3,
                                  call != NULL ? 328 : 322);
  reply (self, irq, call_id, fig3, SIP_200_OK, NULL);

  if (!send_ack (delivery, &error)) {
    delivery->state = KC_CTA_DELIVERY_FAILED;
    delivery->failure = g_strdup_printf ("Cannot acknowledge the key: %s", error->message);
  }
  if (call != NULL) {
    kc_cta_delivery_attach (delivery, call);
    kc_cta_call_delivery_key (call, delivery);
  } else {
    delivery->expire_id = g_timeout_add_seconds (UNCLAIMED_KEY_SECONDS, on_unclaimed, delivery);
  }
}

const char *
kc_cta_delivery_get_key_origin (KcCtaDelivery *self)
{
  return self->key_origin;
}

KcCtaDelivery *
kc_cta_account_find_delivery (KcCtaAccount *self,
                              const char   *call_id)
{
  KcCtaDelivery *delivery = g_hash_table_lookup (self->deliveries, call_id);

  return delivery != NULL && delivery->side == KC_CTA_SIDE_CALLEE && delivery->call == NULL
         ? delivery : NULL;
}

void
kc_cta_account_drop_delivery (KcCtaAccount *self,
                              const char   *call_id)
{
  g_hash_table_remove (self->deliveries, call_id);
}
