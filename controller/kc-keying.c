/* kc-keying.c: creating, sealing, sending and checking one call's key. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-keying.h"

#include "kc-error.h"
#include "kc-hpke.h"

#include <openssl/rand.h>
#include <string.h>

static KcKeying *
keying_new (KcSecret *key)
{
  KcKeying *keying = g_new0 (KcKeying, 1);

  keying->key = key;
  kc_secret_fingerprint (key, keying->fingerprint);
  return keying;
}

KcKeying *
kc_keying_create (KcKeyMode   mode,
                  KcStore    *store,
                  KcVault    *vault,
                  const char *caller,
                  const char *call_id,
                  GError    **error)
{
  g_autoptr(KcSecret) key = NULL;
  KcKeyId id;
  guint8 nonce[KC_DERIVE_NONCE_LEN];
  KcKeying *keying;

  kc_key_id_generate (&id);
  if (mode == KC_KEY_MODE_RANDOM) {
    key = kc_call_key_new_random (error);
  }
  else {
    g_autoptr(KcSubscriber) sub = kc_store_subscriber_get (store, caller, error);
    g_autoptr(KcSecret) secret = NULL;

    if (sub == NULL)
      return NULL;
    if (sub->wrapped_secret == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                   "Subscriber %s has no signaling secret in the store", caller);
      return NULL;
    }
    if ((secret = kc_vault_unwrap (vault, sub->wrapped_secret, caller, error)) == NULL)
      return NULL;
    /* The nonce is public (it travels in 326); it only has to be fresh. */
    if (RAND_bytes (nonce, sizeof nonce) != 1) {
      g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "No random bytes for the nonce");
      return NULL;
    }
    key = kc_call_key_derive (secret, &id, nonce, call_id, error);
  }
  if (key == NULL)
    return NULL;

  keying = keying_new (g_steal_pointer (&key));
  keying->id = id;
  kc_key_id_to_hex (&id, keying->id_hex);
  if (mode == KC_KEY_MODE_DERIVED) {
    keying->derived = TRUE;
    memcpy (keying->nonce, nonce, sizeof nonce);
  }
  return keying;
}

KcKeying *
kc_keying_new_received (KcKeyMgmt *mgmt, GError **error)
{
  KcKeying *keying;

  if (mgmt->type != KC_KEY_MGMT_KEY || mgmt->key == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The offer carries a %s payload, not a KEY",
                 kc_key_mgmt_type_to_string (mgmt->type));
    return NULL;
  }
  keying = keying_new (g_steal_pointer (&mgmt->key));
  keying->id = mgmt->key_id;
  kc_key_id_to_hex (&keying->id, keying->id_hex);
  return keying;
}

void
kc_keying_free (KcKeying *keying)
{
  if (keying == NULL)
    return;
  kc_secret_free (keying->key);
  g_free (keying);
}

KcSealedKey *
kc_keying_seal (KcKeying     *keying,
                const guint8 *lea_key,
                const char   *call_id,
                const char   *caller,
                const char   *callee,
                const char   *controller,
                GError      **error)
{
  g_autoptr(KcSealedKey) record = g_new0 (KcSealedKey, 1);

  if (!kc_hpke_seal_call_key (lea_key, &keying->id, call_id, keying->key, &record->enc,
                              &record->sealed, error))
    return NULL;
  record->key_id = keying->id;
  record->call_id = g_strdup (call_id);
  record->caller = g_strdup (caller);
  record->callee = g_strdup (callee);
  record->controller = g_strdup (controller);
  record->created_at = g_get_real_time ();
  memcpy (record->fingerprint, keying->fingerprint, sizeof record->fingerprint);
  return g_steal_pointer (&record);
}

char *
kc_keying_encode (KcKeying *keying, gboolean for_caller)
{
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  char *value;

  if (for_caller && keying->derived)
    mgmt = kc_key_mgmt_new_derive (&keying->id, keying->nonce);
  else
    mgmt = kc_key_mgmt_new_key (&keying->id, keying->key);
  /* Only an inconsistent payload fails, and ours are built right here. */
  if ((value = kc_key_mgmt_encode (mgmt, &error)) == NULL)
    g_critical ("Cannot encode a key-mgmt payload: %s", error->message);
  return value;
}

gboolean
kc_keying_check_ack (KcKeying        *keying,
                     const KcKeyMgmt *ack,
                     const char      *call_id,
                     KcAckRole        role,
                     GError         **error)
{
  if (ack->type != KC_KEY_MGMT_ACK) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "Expected an ACK payload, got %s",
                 kc_key_mgmt_type_to_string (ack->type));
    return FALSE;
  }
  if (ack->role != role) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The acknowledgment is for the %s, not the %s",
                 kc_ack_role_to_string (ack->role), kc_ack_role_to_string (role));
    return FALSE;
  }
  if (!kc_key_id_equal (&ack->key_id, &keying->id)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The acknowledgment names another key");
    return FALSE;
  }
  return kc_key_ack_verify (keying->key, &keying->id, call_id, role, ack->mac,
                            sizeof ack->mac, error);
}
