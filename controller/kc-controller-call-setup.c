/* kc-controller-call-setup.c: a new call (FIG. 3, 316/318): checks,
 * routing, and the key's creation, sealing and storage (408). */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-call-private.h"

#include "kc-error.h"
#include "kc-li.h"
#include "kc-sdp-key.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/sip_util.h>
#include <string.h>

#define MAX_CALL_ID  256

/* Replies to a request no call was made for, and reports it. */
static void
refuse (KcController *ctrl, nta_incoming_t *irq, int fig3, const char *lane, int status,
        const char *phrase, tag_type_t tag, tag_value_t value, ...)
{
  gint64 sent_at = g_get_real_time ();
  ta_list ta;
  msg_t *msg;

  ta_start (ta, tag, value);
  nta_incoming_treply (irq, status, phrase, ta_tags (ta));
  (void) ta_end (ta);
  if ((msg = nta_incoming_getresponse (irq)) != NULL) {
    kc_controller_emit_msg (ctrl, TRUE, sent_at, fig3, NULL, lane, msg);
    msg_destroy (msg);
  }
  g_message ("Refused INVITE from %s: %d %s", lane, status, phrase);
}

static gboolean
valid_call_id (const char *text)
{
  if (text == NULL || *text == '\0' || strlen (text) > MAX_CALL_ID)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isgraph (*p))
      return FALSE;
  return TRUE;
}

/* Where the call goes: a peer controller by longest prefix, else a local
 * registered subscriber. FALSE (and the call failed) when nowhere. */
gboolean
kc_call_route (KcCall *call)
{
  KcController *ctrl = call->ctrl;
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  KcPeerConfig *peer = kc_controller_config_route (config, call->callee);
  g_autofree char *phrase = NULL;
  const char *contact;
  int status;

  if (peer != NULL && call->source) {
    if (kc_controller_peer_is_down (ctrl, peer->name)) {
      phrase = g_strdup_printf ("Peer controller %s is unreachable", peer->name);
      kc_call_fail (call, 503, phrase, "failed", NULL);
      return FALSE;
    }
    call->down_role = KC_ROLE_CONTROLLER;
    call->down_identity = g_strdup (peer->name);
    call->down_uri = g_strdup_printf ("sips:%s@%s", call->callee, config->domain);
    call->down_route = g_strdup (peer->address);
  }
  else {
    /* A destination never hands a call on: no loops between peers. */
    if (peer != NULL || !kc_controller_config_serves (config, call->callee)) {
      phrase = g_strdup_printf ("No route to %s", call->callee);
      kc_call_fail (call, 404, phrase, "failed", NULL);
      return FALSE;
    }
    if ((status = kc_controller_check_subscriber (ctrl, call->callee, NULL, &phrase)) != 0) {
      /* The caller learns only "not available" of a suspended callee;
       * the CDR keeps why. */
      if (status == 403) {
        g_autofree char *shown = g_strdup_printf ("%s is not available", call->callee);

        kc_call_fail (call, 480, shown, "unavailable", phrase);
      }
      else
        kc_call_fail (call, status, phrase, "failed", NULL);
      return FALSE;
    }
    if ((contact = kc_controller_lookup_binding (ctrl, call->callee,
                                                 &call->callee_direct)) == NULL) {
      phrase = g_strdup_printf ("%s is not registered", call->callee);
      kc_call_fail (call, 480, phrase, "unavailable", NULL);
      return FALSE;
    }
    call->destination = TRUE;
    call->down_role = KC_ROLE_CTA;
    call->down_identity = g_strdup (call->callee);
    call->down_uri = g_strdup (contact);
  }
  call->down_lane = kc_peer_lane (call->down_role, call->down_identity);
  return TRUE;
}

static void
on_key_stored (KcStore *store, const GError *error, gpointer data)
{
  KcCall *call = data;

  if (call->state != CALL_ENDED) {
    if (error != NULL) {
      KcEvent *event = kc_call_event (call, KC_EVENT_KIND_ERROR, 408, NULL);

      kc_event_set_summary_printf (event, "408 key storage failed: %s", error->message);
      kc_controller_emit (call->ctrl, event);
      g_warning ("Call %s: storing the key failed: %s", call->id, error->message);
      kc_call_fail (call, 500, "Key storage failed", "failed", error->message);
    }
    else {
      kc_call_emit_key (call, KC_EVENT_KIND_KEY_STORED, call->source ? 408 : 0,
                        NULL, "%s key stored (sealed, durable)", call->source ? "408" : "received");
      /* Durable: law enforcement may have it now (516). */
      kc_li_call_keyed (kc_controller_get_li (call->ctrl), call);
      /* Only with --classroom: the window may show it. */
      kc_controller_reveal_key (call->ctrl, call->id, call->keying->id_hex, call->keying->key);
      if (kc_controller_get_config (call->ctrl)->delivery == KC_DELIVERY_SEPARATE)
        kc_call_separate_start (call);
      else
        kc_call_send_invite (call);
    }
  }
  kc_call_unref (call);
}

/* FIG. 4, 408: create K, seal it for law enforcement, store it durably;
 * the call goes on only from on_key_stored. */
static void
start_keying (KcCall *call)
{
  KcController *ctrl = call->ctrl;
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  g_autoptr(KcSealedKey) record = NULL;
  g_autoptr(GError) error = NULL;

  call->state = CALL_KEYING;
  call->keying = kc_keying_create (config->key_mode, kc_controller_get_store (ctrl),
                                   kc_controller_get_vault (ctrl), call->caller, call->id, &error);
  if (call->keying == NULL) {
    g_warning ("Call %s: %s", call->id, error->message);
    kc_call_fail (call, 500, "Cannot create the call key", "failed", error->message);
    return;
  }
  if (call->keying->derived)
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_DERIVED, 408, NULL,
                      "408 key derived from %s's signaling secret", call->caller);
  else
    kc_call_emit_key (call, KC_EVENT_KIND_KEY_CREATED, 408, NULL, "408 random key created");
  kc_call_store_key (call);
}

/* The controller serving the callee keeps the key it received too (same
 * key id, Call-ID and fingerprint), so law enforcement can ask either
 * controller of a call for it (docs/lawful-intercept.md). */
void
kc_call_store_key (KcCall *call)
{
  KcController *ctrl = call->ctrl;
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  g_autoptr(KcSealedKey) record = NULL;
  g_autoptr(GError) error = NULL;

  record = kc_keying_seal (call->keying, kc_controller_get_lea_key (ctrl), call->id,
                           call->caller, call->callee, config->name, &error);
  if (record == NULL) {
    g_warning ("Call %s: %s", call->id, error->message);
    kc_call_fail (call, 500, "Cannot seal the call key", "failed", error->message);
    return;
  }
  kc_call_emit_key (call, KC_EVENT_KIND_KEY_SEALED, call->source ? 408 : 0, NULL,
                    "%s key sealed to the law-enforcement key",
                    call->source ? "408" : "received");
  kc_store_put_key_async (kc_controller_get_store (ctrl), record, on_key_stored,
                          kc_call_ref (call));
}

static gboolean
has_100rel (sip_t const *sip)
{
  return sip_has_feature (sip->sip_supported, "100rel")
         || sip_has_feature (sip->sip_require, "100rel");
}

/* A certificate identity is a short token (kc-pki); anything else would
 * not fit in a header value, and is left out rather than passed on. */
static gboolean
origin_name_ok (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 64)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-_.", *p) == NULL)
      return FALSE;
  return TRUE;
}

char *
kc_call_key_origin_header (KcCall *call)
{
  const char *name;

  if (!call->destination)
    return NULL;
  if (call->source)
    name = kc_controller_get_config (call->ctrl)->name;
  else if (call->up.role == KC_ROLE_CONTROLLER)
    name = call->up.identity;
  else
    return NULL;
  if (!origin_name_ok (name)) {
    g_warning ("Call %s: the key's origin \"%s\" is not a controller name; "
               "the callee is not told who created the key", call->id, name ? name : "");
    return NULL;
  }
  return g_strdup_printf ("%s: controller:%s", KC_SIP_HEADER_KEY_ORIGIN, name);
}

KcCall *
kc_call_new (KcController         *ctrl,
             const char           *id,
             const char           *caller,
             const char           *callee,
             const KcPeerIdentity *from)
{
  KcCall *call = g_new0 (KcCall, 1);

  call->refs = 1;
  call->ctrl = ctrl;
  call->id = g_strdup (id);
  call->caller = g_strdup (caller);
  call->callee = g_strdup (callee);
  call->source = from->role == KC_ROLE_CTA;
  call->up.role = from->role;
  call->up.identity = g_strdup (from->identity);
  call->up.serial = g_strdup (from->serial);
  call->up_lane = kc_peer_lane (from->role, from->identity);
  call->started_at = g_get_real_time ();
  kc_controller_add_call (ctrl, call);
  return call;
}

/* Delivery mode "separate", destination controller: the INVITE continues a
 * call whose key already went through (318-324 as MESSAGEs). */
static gboolean
attach_invite (KcController *ctrl, nta_incoming_t *irq, sip_t const *sip,
               const KcPeerIdentity *from, const char *id, char *offer, const char *lane)
{
  KcCall *call = kc_call_find (ctrl, id);
  const char *callee = kc_sip_url_user (sip->sip_request->rq_url);
  KcEvent *event;

  if (call == NULL || call->source || call->up_irq != NULL || !call->callee_acked
      || call->up.role != from->role || g_strcmp0 (call->up.identity, from->identity) != 0
      || g_strcmp0 (call->callee, callee) != 0) {
    kc_sip_text_free (offer);
    refuse (ctrl, irq, 0, lane, 488, "No key was delivered for this call", TAG_END ());
    return FALSE;
  }
  g_clear_handle_id (&call->ack_timer, g_source_remove);
  call->offer = offer;
  if (!kc_call_bind_upstream (call, irq, sip)) {
    kc_call_end (call, 500, "failed", "Cannot create the dialog");
    nta_incoming_treply (irq, 500, "Cannot create the dialog", TAG_END ());
    return FALSE;
  }
  /* 318 was the MESSAGE: this INVITE carries no FIG. 3 step (as at GC1). */
  kc_call_up_reply (call, 0, SIP_100_TRYING, TAG_END ());
  event = kc_call_event (call, KC_EVENT_KIND_CALL_STATE, 0, NULL);
  kc_event_set_attr (event, "state", "calling");
  kc_event_set_summary_printf (event, "call %s → %s", call->caller, call->callee);
  kc_controller_emit (ctrl, event);
  if (kc_call_media_offer (call))
    kc_call_send_invite (call);
  return TRUE;
}

gboolean
kc_call_incoming (KcController          *ctrl,
                  nta_incoming_t        *irq,
                  sip_t const           *sip,
                  const KcPeerIdentity  *from)
{
  KcControllerConfig *config = kc_controller_get_config (ctrl);
  const char *callee = kc_sip_url_user (sip->sip_request->rq_url);
  const char *caller = sip->sip_from ? kc_sip_url_user (sip->sip_from->a_url) : NULL;
  const char *call_id = sip->sip_call_id->i_id;
  gboolean from_cta = from->role == KC_ROLE_CTA;
  int fig3 = from_cta ? 316 : config->delivery == KC_DELIVERY_SEPARATE ? 0 : 318;
  g_autofree char *lane = kc_peer_lane (from->role, from->identity);
  g_autofree char *phrase = NULL;
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(KcKeying) keying = NULL;
  g_autoptr(KcSdpMedia) media = NULL;
  g_autoptr(GError) error = NULL;
  char *offer = NULL;
  KcCall *call;
  KcEvent *event;
  int status;

  if (callee == NULL || !kc_pki_check_number (callee, NULL)) {
    refuse (ctrl, irq, fig3, lane, 404, "The Request-URI names no subscriber number", TAG_END ());
    return FALSE;
  }
  /* Who calls is what the certificate says, never what From says. */
  if (from_cta && g_strcmp0 (caller, from->identity) != 0) {
    phrase = g_strdup_printf ("From %s does not match certificate %s",
                              caller ? caller : "(no user)", from->identity);
    refuse (ctrl, irq, fig3, lane, 403, phrase, TAG_END ());
    return FALSE;
  }
  if (caller == NULL || !kc_pki_check_number (caller, NULL)) {
    refuse (ctrl, irq, fig3, lane, 400, "From names no subscriber number", TAG_END ());
    return FALSE;
  }
  if (!has_100rel (sip)) {
    refuse (ctrl, irq, fig3, lane, 421, "Extension Required", SIPTAG_REQUIRE_STR ("100rel"),
            TAG_END ());
    return FALSE;
  }
  if (from_cta) {
    if ((status = kc_controller_check_subscriber (ctrl, caller, from->serial, &phrase)) != 0) {
      refuse (ctrl, irq, fig3, lane, status, phrase, TAG_END ());
      return FALSE;
    }
  }
  else {
    if (!kc_sip_header_get (sip, KC_SIP_HEADER_CALL, &call_id, &error) || call_id == NULL
        || !valid_call_id (call_id)) {
      refuse (ctrl, irq, fig3, lane, 400, "Missing or bad Keycall-Call header", TAG_END ());
      return FALSE;
    }
  }

  offer = kc_sip_get_sdp (sip, &error);
  if (offer == NULL) {
    refuse (ctrl, irq, fig3, lane, 488, error ? error->message : "An SDP offer is required",
            TAG_END ());
    return FALSE;
  }
  if (!kc_sdp_find_key_mgmt (offer, &mgmt, &error)) {
    kc_sip_text_free (offer);
    refuse (ctrl, irq, fig3, lane, 488, error->message, TAG_END ());
    return FALSE;
  }
  if (from_cta && config->delivery == KC_DELIVERY_SEPARATE && sip->sip_contact == NULL) {
    kc_sip_text_free (offer);
    refuse (ctrl, irq, fig3, lane, 400, "A Contact is needed to deliver the key", TAG_END ());
    return FALSE;
  }
  if (mgmt != NULL && (from_cta || config->delivery == KC_DELIVERY_SEPARATE)) {
    kc_sip_text_free (offer);
    refuse (ctrl, irq, fig3, lane, 488, "The offer must not carry a key", TAG_END ());
    return FALSE;
  }
  if (!from_cta && config->delivery == KC_DELIVERY_SIGNALING
      && (mgmt == NULL || (keying = kc_keying_new_received (mgmt, &error)) == NULL)) {
    kc_sip_text_free (offer);
    refuse (ctrl, irq, fig3, lane, 488, error ? error->message : "The offer carries no key",
            TAG_END ());
    return FALSE;
  }

  if (!from_cta && config->delivery == KC_DELIVERY_SEPARATE) {
    return attach_invite (ctrl, irq, sip, from, call_id, offer, lane);
  }
  /* An offer the relay cannot anchor makes no call (attach_invite's call
   * exists already: kc_call_media_offer fails it). */
  if (kc_controller_get_relay (ctrl) != NULL
      && (media = kc_call_sdp_media (offer, &error)) == NULL) {
    kc_sip_text_free (offer);
    refuse (ctrl, irq, fig3, lane, 488, error->message, TAG_END ());
    return FALSE;
  }
  call = kc_call_new (ctrl, call_id, caller, callee, from);
  call->caller_direct = from_cta && kc_sip_wants_direct_media (sip);
  call->keying = g_steal_pointer (&keying);
  call->offer = offer;
  if (sip->sip_contact != NULL) {
    char *text = url_as_string (NULL, sip->sip_contact->m_url);

    call->up_contact = g_strdup (text);
    su_free (NULL, text);
  }
  if (!kc_call_bind_upstream (call, irq, sip)) {
    kc_call_end (call, 500, "failed", "Cannot create the dialog");
    nta_incoming_treply (irq, 500, "Cannot create the dialog", TAG_END ());
    return FALSE;
  }
  kc_call_up_reply (call, fig3, SIP_100_TRYING, TAG_END ());
  event = kc_call_event (call, KC_EVENT_KIND_CALL_STATE, fig3, NULL);
  kc_event_set_attr (event, "state", "calling");
  kc_event_set_summary_printf (event, "call %s → %s", caller, callee);
  kc_controller_emit (ctrl, event);

  if (!kc_call_route (call) || !kc_call_media_offer (call))
    return TRUE;
  if (call->source)
    start_keying (call);
  else
    kc_call_store_key (call);
  return TRUE;
}

void
kc_call_end_all (KcController *ctrl, gboolean release)
{
  GList *calls = kc_controller_list_calls (ctrl);

  for (GList *l = calls; l != NULL; l = l->next) {
    KcCall *call = kc_call_ref (l->data);

    kc_call_fail (call, 503, "Controller shutting down", "failed", "The controller shut down");
    if (release)
      kc_call_release (call, TRUE);
    kc_call_unref (call);
  }
  g_list_free (calls);
}
