/* keycall-demo.c: the local demo behind `./run demo`.
 *
 * Provisions a demo network with keycall-admin, then walks through FIG. 3 of
 * WO 00/45539 as text. Every step that exists runs for real on the
 * controllers' own files (key creation, sealing, durable storage, the key
 * attributes and acknowledgments, the LEA opening the stored key); steps that
 * need SIP say that they are not built yet. It grows into the full demo: a
 * controller window and two softphones in an encrypted call.
 */
#define G_LOG_DOMAIN "keycall-demo"

#include "config.h"

#include "kc-error.h"
#include "kc-event-bus.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-profile.h"
#include "kc-sdp-key.h"
#include "kc-secret.h"
#include "kc-store.h"
#include "kc-vault.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALL_ID "demo-call-1@keycall.test"

typedef struct {
  char       *net;          /* the network folder */
  char       *admin;        /* path of keycall-admin */
  KcEventBus *bus;
  gboolean    derived;      /* key mode: derived (claim 3) or random (claim 2) */
} Demo;

static gboolean bold_ok;

static void
heading (const char *text)
{
  printf (bold_ok ? "\n\033[1m%s\033[0m\n" : "\n%s\n", text);
}

static void
not_built (int step, const char *from, const char *to, const char *what)
{
  printf ("  %3d  %-4s → %-4s  %-44s (SIP arrives with the signaling issue)\n", step, from, to, what);
}

/* Prints every event the way the controller window will label its arrows. */
static void
on_event (KcEvent *event, gpointer user_data)
{
  const char *fp = kc_event_get_fingerprint (event);
  int step = kc_event_get_fig3 (event);
  g_autofree char *number = step ? g_strdup_printf ("%3d", step) : g_strdup ("   ");

  printf ("  %s  %-17s %-14s %s%s%s\n", number, kc_event_get_lane (event),
          kc_event_get_kind_string (event), kc_event_get_summary (event),
          fp ? "  K " : "", fp ? fp : "");
}

static void
emit (Demo *demo, KcEventKind kind, int step, const char *lane, const char *peer,
      const KcKeyId *key_id, const KcSecret *key, const char *summary)
{
  g_autoptr(KcEvent) event = kc_event_new (kind);

  kc_event_set_lane (event, lane);
  kc_event_set_peer (event, peer);
  kc_event_set_call_id (event, CALL_ID);
  kc_event_set_fig3 (event, step);
  kc_event_set_summary (event, summary);
  kc_event_set_key (event, key_id, key);
  kc_event_bus_emit (demo->bus, event);
}

/* Runs keycall-admin, echoing the command line and its output. */
static gboolean
admin (Demo *demo, GError **error, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GString) shown = g_string_new ("$ keycall-admin");
  g_autofree char *out = NULL, *err = NULL;
  const char *arg;
  int status;
  va_list ap;

  g_ptr_array_add (argv, demo->admin);
  g_ptr_array_add (argv, (char *) "--dir");
  g_ptr_array_add (argv, demo->net);
  va_start (ap, error);
  while ((arg = va_arg (ap, const char *)) != NULL) {
    g_autofree char *quoted = strchr (arg, ' ') ? g_shell_quote (arg) : g_strdup (arg);

    g_ptr_array_add (argv, (char *) arg);
    g_string_append_printf (shown, " %s", quoted);
  }
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  printf ("  %s\n", shown->str);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     &out, &err, &status, error))
    return FALSE;
  if (out != NULL && *out != '\0') {
    g_auto(GStrv) lines = g_strsplit (g_strchomp (out), "\n", -1);

    for (char **l = lines; *l; l++)
      printf ("      %s\n", *l);
  }
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "keycall-admin failed: %s",
                 err ? g_strchomp (err) : "no message");
    return FALSE;
  }
  return TRUE;
}

static gboolean
provision (Demo *demo, GError **error)
{
  g_autofree char *alice = g_build_filename (demo->net, "alice.kcprofile", NULL);
  g_autofree char *bob = g_build_filename (demo->net, "bob.kcprofile", NULL);

  heading ("Provisioning (FIG. 1: provisioning server 122, CSR 120)");
  return admin (demo, error, "init", "--name", "demo", NULL)
         && admin (demo, error, "controller", "add", "gc1", "--host", "127.0.0.1",
                   "--port", "5061", "--prefix", "1", NULL)
         && admin (demo, error, "controller", "add", "gc2", "--host", "127.0.0.1",
                   "--port", "5062", "--prefix", "2", NULL)
         && admin (demo, error, "lea", "add", "lea1", NULL)
         && admin (demo, error, "subscriber", "add", "1001", "--name", "Alice",
                   "--controller", "gc1", NULL)
         && admin (demo, error, "subscriber", "add", "2001", "--name", "Bob",
                   "--controller", "gc2", NULL)
         && admin (demo, error, "profile", "export", "1001", "-o", alice, NULL)
         && admin (demo, error, "profile", "export", "2001", "-o", bob, NULL)
         && admin (demo, error, "subscriber", "list", NULL);
}

/* What a CTA does with a KEY attribute: parse it, keep the key. */
static KcSecret *
receive_key (const char *attribute, KcKeyId *key_id, GError **error)
{
  g_autoptr(KcKeyMgmt) mgmt = kc_key_mgmt_parse (attribute, error);

  if (mgmt == NULL)
    return NULL;
  if (mgmt->type != KC_KEY_MGMT_KEY) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "expected a KEY attribute");
    return NULL;
  }
  *key_id = mgmt->key_id;
  return kc_secret_copy (mgmt->key);
}

/* A CTA acknowledges (322, 328); its controller checks the MAC. */
static gboolean
acknowledge (Demo *demo, int step, const char *cta, const char *controller,
             const KcSecret *cta_key, const KcSecret *controller_key,
             const KcKeyId *key_id, KcAckRole role, GError **error)
{
  guint8 mac[KC_KEY_ACK_LEN];
  g_autoptr(KcKeyMgmt) ack = NULL, received = NULL;
  g_autofree char *shown = NULL, *summary = NULL;
  char *attribute;

  kc_key_ack_compute (cta_key, key_id, CALL_ID, role, mac);
  ack = kc_key_mgmt_new_ack (key_id, role, mac);
  attribute = kc_key_mgmt_encode (ack, error);
  if (attribute == NULL)
    return FALSE;
  shown = kc_sdp_redact (attribute);
  received = kc_key_mgmt_parse (attribute, error);
  kc_secret_text_free (attribute);
  if (received == NULL
      || !kc_key_ack_verify (controller_key, key_id, CALL_ID, received->role,
                             received->mac, sizeof received->mac, error))
    return FALSE;
  summary = g_strdup_printf ("%d key acknowledged by %s, verified: a=key-mgmt:%s",
                             step, kc_ack_role_to_string (role), shown);
  emit (demo, KC_EVENT_KIND_KEY_ACK, step, controller, cta, key_id, NULL, summary);
  return TRUE;
}

static gboolean
contains_bytes (const char *path, const guint8 *needle, gsize len)
{
  g_autofree char *data = NULL;
  gsize size = 0;

  if (!g_file_get_contents (path, &data, &size, NULL))
    return FALSE;
  return memmem (data, size, needle, len) != NULL;
}

static gboolean
walk_fig3 (Demo *demo, GError **error)
{
  g_autofree char *gc1_dir = g_build_filename (demo->net, "controllers", "gc1", NULL);
  g_autofree char *store_path = g_build_filename (gc1_dir, "store.db", NULL);
  g_autofree char *vault_path = g_build_filename (gc1_dir, "vault.key", NULL);
  g_autofree char *lea_pub = g_build_filename (demo->net, "lea", "lea1", "seal.pub", NULL);
  g_autofree char *lea_key = g_build_filename (demo->net, "lea", "lea1", "seal.key", NULL);
  g_autofree char *alice_path = g_build_filename (demo->net, "alice.kcprofile", NULL);
  g_autofree char *bob_path = g_build_filename (demo->net, "bob.kcprofile", NULL);
  g_autoptr(KcProfile) alice = NULL, bob = NULL;
  g_autoptr(KcStore) store = NULL;
  g_autoptr(KcSecret) key = NULL, key_at_gc2 = NULL, key_at_b = NULL, key_at_a = NULL;
  g_autoptr(KcSecret) lea_sk = NULL, opened = NULL;
  g_autoptr(KcSealedKey) stored = NULL;
  g_autoptr(GBytes) enc = NULL, sealed = NULL;
  g_autoptr(KcKeyMgmt) key_mgmt = NULL;
  guint8 lea_pk[KC_HPKE_PUBLIC_KEY_LEN];
  guint8 nonce[KC_DERIVE_NONCE_LEN];
  KcSealedKey record = { 0 };
  KcKeyId key_id, id_at_gc2, id_at_b;
  char fp[KC_FINGERPRINT_LEN];
  g_autofree char *summary = NULL, *shown = NULL;
  char *attribute;
  gint64 t0;

  alice = kc_profile_load (alice_path, error);
  bob = alice ? kc_profile_load (bob_path, error) : NULL;
  if (bob == NULL)
    return FALSE;
  store = kc_store_open (store_path, KC_STORE_OPEN_DEFAULT, error);
  if (store == NULL || !kc_hpke_public_key_load_pem (lea_pub, lea_pk, error))
    return FALSE;

  heading ("FIG. 3: caller A = 1001 Alice at GC1, callee B = 2001 Bob at GC2");
  not_built (310, "GC1", "GC2", "mutual-TLS peering, OPTIONS keep-alive");
  not_built (312, "A", "GC1", "mutual TLS + REGISTER");
  not_built (314, "B", "GC2", "mutual TLS + REGISTER");
  not_built (316, "A", "GC1", "INVITE 2001 (offer without a key)");

  /* Block 408: the key creation module of GC1. */
  kc_key_id_generate (&key_id);
  if (demo->derived) {
    g_autoptr(KcSubscriber) sub = kc_store_subscriber_get (store, alice->number, error);
    g_autoptr(KcVault) vault = sub ? kc_vault_load (vault_path, error) : NULL;
    g_autoptr(KcSecret) secret = vault ? kc_vault_unwrap (vault, sub->wrapped_secret,
                                                          alice->number, error) : NULL;

    if (secret == NULL)
      return FALSE;
    if (RAND_bytes (nonce, sizeof nonce) != 1) {
      g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "the random generator failed");
      return FALSE;
    }
    key = kc_call_key_derive (secret, &key_id, nonce, CALL_ID, error);
    if (key == NULL)
      return FALSE;
    emit (demo, KC_EVENT_KIND_KEY_DERIVED, 0, "controller:gc1", NULL, &key_id, key,
          "408 key derived from Alice's signaling secret (claim 3)");
  } else {
    key = kc_call_key_new_random (error);
    if (key == NULL)
      return FALSE;
    emit (demo, KC_EVENT_KIND_KEY_CREATED, 0, "controller:gc1", NULL, &key_id, key,
          "408 random key created (claim 2)");
  }

  if (!kc_hpke_seal_call_key (lea_pk, &key_id, CALL_ID, key, &enc, &sealed, error))
    return FALSE;
  summary = g_strdup_printf ("408 key sealed to the law-enforcement key (HPKE, %" G_GSIZE_FORMAT
                             " + %" G_GSIZE_FORMAT " bytes)",
                             g_bytes_get_size (enc), g_bytes_get_size (sealed));
  emit (demo, KC_EVENT_KIND_KEY_SEALED, 0, "controller:gc1", NULL, &key_id, NULL, summary);

  record.key_id = key_id;
  record.call_id = (char *) CALL_ID;
  record.caller = alice->number;
  record.callee = bob->number;
  record.controller = (char *) "gc1";
  record.created_at = g_get_real_time ();
  record.enc = enc;
  record.sealed = sealed;
  kc_secret_fingerprint (key, record.fingerprint);
  t0 = g_get_monotonic_time ();
  if (!kc_store_put_key (store, &record, error))
    return FALSE;
  g_clear_pointer (&summary, g_free);
  summary = g_strdup_printf ("408 sealed key stored durably (fsync'd in %.1f ms) in %s",
                             (g_get_monotonic_time () - t0) / 1000.0, "gc1/store.db");
  emit (demo, KC_EVENT_KIND_KEY_STORED, 0, "controller:gc1", NULL, &key_id, NULL, summary);

  /* 318 and 320: the KEY attribute GC1 sends, GC2 forwards, B keeps. */
  key_mgmt = kc_key_mgmt_new_key (&key_id, key);
  attribute = kc_key_mgmt_encode (key_mgmt, error);
  if (attribute == NULL)
    return FALSE;
  shown = kc_sdp_redact (attribute);
  key_at_gc2 = receive_key (attribute, &id_at_gc2, error);
  key_at_b = key_at_gc2 ? receive_key (attribute, &id_at_b, error) : NULL;
  kc_secret_text_free (attribute);
  if (key_at_b == NULL)
    return FALSE;
  g_clear_pointer (&summary, g_free);
  summary = g_strdup_printf ("318 key → destination controller: a=key-mgmt:%s", shown);
  emit (demo, KC_EVENT_KIND_KEY_SENT, 318, "controller:gc1", "controller:gc2", &id_at_gc2, key_at_gc2, summary);
  not_built (318, "GC1", "GC2", "INVITE carrying that attribute, over TLS");
  emit (demo, KC_EVENT_KIND_KEY_SENT, 320, "controller:gc2", "cta:2001", &id_at_b, key_at_b,
        "320 key → destination CTA (the same attribute)");
  not_built (320, "GC2", "B", "INVITE carrying it, over TLS");

  /* 322 and 324: B proves it holds the key; GC2 checks, GC1 checks again. */
  if (!acknowledge (demo, 322, "cta:2001", "controller:gc2", key_at_b, key_at_gc2,
                    &id_at_b, KC_ACK_ROLE_CALLEE, error))
    return FALSE;
  not_built (322, "B", "GC2", "180 Ringing carrying the acknowledgment");
  if (!acknowledge (demo, 324, "controller:gc2", "controller:gc1", key_at_b, key,
                    &id_at_b, KC_ACK_ROLE_CALLEE, error))
    return FALSE;
  not_built (324, "GC2", "GC1", "180 Ringing carrying it on");

  /* 326 and 328: A gets the key (or derives it) and acknowledges. */
  if (demo->derived) {
    g_autoptr(KcKeyMgmt) derive = kc_key_mgmt_new_derive (&key_id, nonce);
    char *value = kc_key_mgmt_encode (derive, error);

    if (value == NULL)
      return FALSE;
    g_clear_pointer (&shown, g_free);
    shown = kc_sdp_redact (value);
    kc_secret_text_free (value);
    key_at_a = kc_call_key_derive (alice->signaling_secret, &key_id, nonce, CALL_ID, error);
    if (key_at_a == NULL)
      return FALSE;
    g_clear_pointer (&summary, g_free);
    summary = g_strdup_printf ("326 nonce → source CTA, which derives K itself: a=key-mgmt:%s", shown);
    emit (demo, KC_EVENT_KIND_KEY_DERIVED, 326, "controller:gc1", "cta:1001", &key_id, key_at_a, summary);
  } else {
    key_at_a = kc_secret_copy (key);
    emit (demo, KC_EVENT_KIND_KEY_SENT, 326, "controller:gc1", "cta:1001", &key_id, key_at_a,
          "326 key → source CTA (KEY attribute in 183)");
  }
  not_built (326, "GC1", "A", "183 Session Progress carrying it");
  if (!acknowledge (demo, 328, "cta:1001", "controller:gc1", key_at_a, key,
                    &key_id, KC_ACK_ROLE_CALLER, error))
    return FALSE;
  not_built (328, "A", "GC1", "PRACK carrying the acknowledgment");

  /* 330: both ends derive the same per-direction SRTP keys. */
  for (int dir = KC_DIRECTION_CALLER_TO_CALLEE; dir <= KC_DIRECTION_CALLEE_TO_CALLER; dir++) {
    g_autoptr(KcSecret) at_a = kc_srtp_key_derive (key_at_a, KC_SUITE_DEFAULT, dir, error);
    g_autoptr(KcSecret) at_b = at_a ? kc_srtp_key_derive (key_at_b, KC_SUITE_DEFAULT, dir, error) : NULL;

    if (at_b == NULL)
      return FALSE;
    kc_secret_fingerprint (at_a, fp);
    g_clear_pointer (&summary, g_free);
    summary = g_strdup_printf ("330 SRTP %s key %s, %s on both ends",
                               kc_direction_to_string (dir), fp,
                               kc_secret_equal (at_a, at_b) ? "the same" : "DIFFERENT");
    emit (demo, KC_EVENT_KIND_MEDIA_START, 330, "cta:1001", "cta:2001", NULL, NULL, summary);
  }
  not_built (330, "A", "B", "SRTP media (AES_CM_128_HMAC_SHA1_80)");

  /* Claim 10: only the LEA's private key opens what the store holds. */
  heading ("Key storage 206 and lawful intercept (claim 10)");
  stored = kc_store_get_key (store, &key_id, error);
  lea_sk = stored ? kc_hpke_private_key_load_pem (lea_key, error) : NULL;
  opened = lea_sk ? kc_hpke_open_call_key (lea_sk, &key_id, CALL_ID, stored->enc, stored->sealed, error) : NULL;
  if (opened == NULL)
    return FALSE;
  kc_secret_fingerprint (opened, fp);
  g_clear_pointer (&summary, g_free);
  summary = g_strdup_printf ("the LEA opened gc1's stored key: %s the call's key",
                             kc_secret_equal (opened, key) ? "it is" : "it is NOT");
  emit (demo, KC_EVENT_KIND_KEY_DELIVERED, 516, "lea:lea1", "controller:gc1", &key_id, opened, summary);
  kc_store_close (g_steal_pointer (&store));
  printf ("  the key's bytes appear in gc1/store.db: %s\n",
          contains_bytes (store_path, kc_secret_get_data (key), kc_secret_get_len (key))
          ? "YES (this is a bug)" : "no, only sealed");
  return kc_secret_equal (opened, key) && kc_secret_equal (key_at_a, key_at_b);
}

static char *
find_admin (const char *argv0)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = g_path_get_dirname (self ? self : argv0);
  g_autofree char *built = g_build_filename (dir, "..", "admin", "keycall-admin", NULL);
  g_autofree char *beside = g_build_filename (dir, "keycall-admin", NULL);

  if (g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&built);
  if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&beside);
  return g_find_program_in_path ("keycall-admin");
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL, *events = NULL, *mode = NULL;
  gboolean keep = FALSE;
  GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, "Network folder to create (kept afterwards)", "DIR" },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &keep, "Keep the temporary network folder", NULL },
    { "events", 'e', 0, G_OPTION_ARG_FILENAME, &events, "Also write the events as JSON lines to FILE", "FILE" },
    { "key-mode", 'm', 0, G_OPTION_ARG_STRING, &mode, "random (claim 2, default) or derived (claim 3)", "MODE" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the Keycall local demo");
  g_autoptr(GError) error = NULL;
  Demo demo = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "keycall-demo: %s\n", error->message);
    return 2;
  }
  if (mode != NULL && strcmp (mode, "random") != 0 && strcmp (mode, "derived") != 0) {
    fprintf (stderr, "keycall-demo: --key-mode is “random” or “derived”, not “%s”\n", mode);
    return 2;
  }
  bold_ok = isatty (STDOUT_FILENO);
  kc_secure_heap_init ();

  demo.derived = mode != NULL && strcmp (mode, "derived") == 0;
  demo.admin = find_admin (argv[0]);
  if (demo.admin == NULL) {
    fprintf (stderr, "keycall-demo: keycall-admin not found next to this program or in PATH\n");
    return 1;
  }
  if (dir != NULL) {
    if (g_file_test (dir, G_FILE_TEST_EXISTS)) {
      fprintf (stderr, "keycall-demo: %s exists; give a new folder for the demo network\n", dir);
      return 1;
    }
    demo.net = g_strdup (dir);
    keep = TRUE;
  } else {
    g_autofree char *tmp = g_dir_make_tmp ("keycall-demo-XXXXXX", &error);

    if (tmp == NULL) {
      fprintf (stderr, "keycall-demo: %s\n", error->message);
      return 1;
    }
    demo.net = g_build_filename (tmp, "net", NULL);
  }

  demo.bus = kc_event_bus_new ("keycall-demo", KC_EVENT_BUS_SYNCHRONOUS);
  kc_event_bus_add_listener (demo.bus, on_event, &demo, NULL);
  if (events != NULL && !kc_event_bus_add_log_file (demo.bus, events, &error)) {
    fprintf (stderr, "keycall-demo: %s\n", error->message);
    return 1;
  }

  printf ("Keycall %s: the local demo (%s key mode). Network folder: %s\n", PACKAGE_VERSION,
          demo.derived ? "derived" : "random", demo.net);
  if (g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL)
    printf ("The controller and softphone windows arrive with their issues; this run is text only.\n");

  ok = provision (&demo, &error) && walk_fig3 (&demo, &error);
  if (!ok)
    fprintf (stderr, "\nkeycall-demo: %s\n", error ? error->message : "a check failed (see above)");
  else
    printf ("\nDone: one key, created and sealed by GC1, held by both CTAs, open to the LEA only.\n");

  if (keep) {
    printf ("The network folder is kept: %s\n", demo.net);
  } else {
    g_autofree char *parent = g_path_get_dirname (demo.net);
    g_autofree char *quoted = g_shell_quote (parent);
    g_autofree char *cmd = g_strdup_printf ("rm -rf %s", quoted);

    if (system (cmd) != 0)
      g_warning ("could not remove %s", parent);
  }
  kc_event_bus_unref (demo.bus);
  g_free (demo.net);
  g_free (demo.admin);
  return ok ? 0 : 1;
}
