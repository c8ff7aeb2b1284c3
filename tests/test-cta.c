/* test-cta.c: the softphone's key handling and call states without a
 * network: its SDP, finding and checking the key of 320 and 326 (KEY,
 * DERIVE, and every bad payload), the acknowledgments of 322 and 328 and
 * the PRACK header, who may send a key, the call state machine and how a
 * hung-up call ends, and an account before it registers (its SIP domain). */
#include "kc-test.h"

#include "kc-cta.h"
#include "kc-cta-call-private.h"
#include "kc-cta-keying.h"
#include "kc-error.h"
#include "kc-keys.h"
#include "kc-pki.h"
#include "kc-profile.h"
#include "kc-sdp-key.h"

#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)

#define CALL_ID "a84b4c76e66710@keycall.test"

static KcSecret *
random_secret (gsize len)
{
  KcSecret *secret = kc_secret_new_random (len, NULL);

  ck_assert_ptr_nonnull (secret);
  return secret;
}

/* "keycall <base64>" for @mgmt, in plain memory (test keys are not real). */
static char *
encode (const KcKeyMgmt *mgmt)
{
  g_autoptr(GError) error = NULL;
  char *secure = kc_key_mgmt_encode (mgmt, &error);
  char *plain;

  ck_assert_msg (secure != NULL, "encode: %s", error ? error->message : "?");
  plain = g_strdup (secure);
  kc_secret_text_free (secure);
  return plain;
}

static char *
key_value (const KcKeyId *id, const KcSecret *key)
{
  g_autoptr(KcKeyMgmt) mgmt = kc_key_mgmt_new_key (id, key);

  return encode (mgmt);
}

static const KcSdpFormat opus = { 111, (char *) "opus", 48000, 2 };

static char *
sdp_build (const char *address,
           guint16     port,
           guint64     session_id,
           const char *value)
{
  KcSdpBuild build = {
    .address = address, .port = port, .session_id = session_id,
    .direction = KC_SDP_SENDRECV, .formats = &opus, .n_formats = 1, .ptime = 20,
  };

  return kc_cta_sdp_build (&build, value);
}

static char *
sdp_with (const char *value)
{
  return sdp_build ("192.0.2.7", 9, 42, value);
}

/* SDP */

START_TEST (test_sdp_offer_has_audio_and_no_key)
{
  g_autofree char *sdp = sdp_build ("192.0.2.7", 9, 1234, NULL);
  g_autofree char *v6 = sdp_build ("2001:db8::7", 40000, 1, NULL);
  g_autoptr(KcKeyMgmt) found = NULL;
  g_autoptr(GError) error = NULL;

  ck_assert_ptr_nonnull (strstr (sdp, "v=0\r\n"));
  ck_assert_ptr_nonnull (strstr (sdp, "o=- 1234 1234 IN IP4 192.0.2.7\r\n"));
  ck_assert_ptr_nonnull (strstr (sdp, "c=IN IP4 192.0.2.7\r\n"));
  ck_assert_ptr_nonnull (strstr (sdp, "m=audio 9 RTP/SAVP 111\r\n"));
  ck_assert_ptr_nonnull (strstr (sdp, "a=rtpmap:111 opus/48000/2\r\n"));
  ck_assert_ptr_null (strstr (sdp, "key-mgmt"));
  ck_assert (kc_sdp_find_key_mgmt (sdp, &found, &error));
  ck_assert_ptr_null (found);
  ck_assert_ptr_nonnull (strstr (v6, "c=IN IP6 2001:db8::7\r\n"));
  ck_assert_ptr_nonnull (strstr (v6, "m=audio 40000 RTP/SAVP"));
}
END_TEST

/* 322: the callee's answer carries its ACK at session level, before m=. */
START_TEST (test_sdp_answer_carries_ack)
{
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(KcKeyMgmt) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sdp = NULL;
  KcKeyId id;
  char *ack;

  kc_key_id_generate (&id);
  ack = kc_cta_key_ack_value (key, &id, CALL_ID, KC_CTA_SIDE_CALLEE, &error);
  ck_assert_ptr_nonnull (ack);
  sdp = sdp_with (ack);
  kc_secret_text_free (ack);

  ck_assert_ptr_nonnull (strstr (sdp, "a=key-mgmt:keycall "));
  ck_assert (strstr (sdp, "a=key-mgmt:") < strstr (sdp, "m=audio"));
  found = kc_cta_key_mgmt_find ("the 180", sdp, strlen (sdp), NULL, &error);
  ck_assert_msg (found != NULL, "%s", error ? error->message : "?");
  ck_assert_int_eq (found->type, KC_KEY_MGMT_ACK);
  ck_assert_int_eq (found->role, KC_ACK_ROLE_CALLEE);
  ck_assert (kc_key_id_equal (&found->key_id, &id));
  ck_assert (kc_key_ack_verify (key, &id, CALL_ID, KC_ACK_ROLE_CALLEE, found->mac,
                                sizeof found->mac, &error));
}
END_TEST

/* 320 */

START_TEST (test_callee_accepts_key_from_invite)
{
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(KcSecret) got = NULL;
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  g_autofree char *sdp = NULL;
  gboolean derived = TRUE;
  KcKeyId id;

  kc_key_id_generate (&id);
  value = key_value (&id, key);
  sdp = sdp_with (value);
  mgmt = kc_cta_key_mgmt_find ("the INVITE", sdp, strlen (sdp), NULL, &error);
  ck_assert_msg (mgmt != NULL, "%s", error ? error->message : "?");
  got = kc_cta_key_accept (mgmt, KC_CTA_SIDE_CALLEE, NULL, CALL_ID, &derived, &error);
  ck_assert_ptr_nonnull (got);
  ck_assert (kc_secret_equal (got, key));
  ck_assert (!derived);
  ck_assert (kc_key_id_equal (&mgmt->key_id, &id));
}
END_TEST

START_TEST (test_missing_key_is_not_found)
{
  g_autofree char *sdp = sdp_with (NULL);
  g_autoptr(GError) error = NULL;

  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the INVITE", sdp, strlen (sdp), NULL, &error));
  kc_test_assert_error (error, KC_ERROR_NOT_FOUND, "the controller sent no key");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the INVITE", NULL, 0, NULL, &error));
  kc_test_assert_error (error, KC_ERROR_NOT_FOUND, "The INVITE carries no");
}
END_TEST

START_TEST (test_malformed_key_is_refused)
{
  static const char *const bad[] = {
    "keycall AQEAAQIDBAUG",                    /* too short for KEY */
    "keycall !!!!",                            /* not base64 */
    "mikey AQEAAQIDBAUGBwgJCgsMDQ4P",          /* only other protocols: no keycall line */
  };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *sdp = sdp_with (bad[i]);
    KcKeyMgmt *mgmt = kc_cta_key_mgmt_find ("the INVITE", sdp, strlen (sdp), NULL, &error);

    ck_assert_ptr_null (mgmt);
    ck_assert_msg (error != NULL, "“%s” accepted", bad[i]);
    if (i < 2)
      kc_test_assert_error (error, KC_ERROR_INVALID,
                            "The key in the SDP of the INVITE is unusable");
    else
      kc_test_assert_error (error, KC_ERROR_NOT_FOUND, "sent no key");
    g_clear_error (&error);
  }
}
END_TEST

START_TEST (test_two_keys_are_refused)
{
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  g_autofree char *sdp = NULL;
  g_autofree char *doubled = NULL;
  KcKeyId id;

  kc_key_id_generate (&id);
  value = key_value (&id, key);
  sdp = sdp_with (value);
  /* The same line again at media level. */
  doubled = g_strdup_printf ("%sa=key-mgmt:%s\r\n", sdp, value);
  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the INVITE", doubled, strlen (doubled), NULL,
                                            &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "unusable");
  g_clear_error (&error);
  /* One in the SDP and one in the header. */
  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the INVITE", sdp, strlen (sdp), value, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID,
                        "both in its SDP and in a Keycall-Key-Mgmt header");
}
END_TEST

START_TEST (test_body_limits)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *big = g_strnfill (KC_SECRET_MAX_LEN, 'a');
  static const char nul[] = "v=0\r\n\0a=key-mgmt:keycall AAAA\r\n";

  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the INVITE", big, strlen (big), NULL, &error));
  kc_test_assert_error (error, KC_ERROR_TOO_LARGE, "at most");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the INVITE", nul, sizeof nul - 1, NULL, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "NUL");
}
END_TEST

START_TEST (test_callee_refuses_other_payloads)
{
  g_autoptr(GError) error = NULL;
  guint8 nonce[KC_DERIVE_NONCE_LEN] = { 0 };
  guint8 mac[KC_KEY_ACK_LEN] = { 0 };
  g_autoptr(KcKeyMgmt) derive = NULL;
  g_autoptr(KcKeyMgmt) ack = NULL;
  KcKeyId id;

  kc_key_id_generate (&id);
  derive = kc_key_mgmt_new_derive (&id, nonce);
  ack = kc_key_mgmt_new_ack (&id, KC_ACK_ROLE_CALLER, mac);
  ck_assert_ptr_null (kc_cta_key_accept (derive, KC_CTA_SIDE_CALLEE, NULL, CALL_ID, NULL,
                                         &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "but the payload is DERIVE");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_cta_key_accept (ack, KC_CTA_SIDE_CALLEE, NULL, CALL_ID, NULL, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "but the payload is ACK");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_cta_key_accept (ack, KC_CTA_SIDE_CALLER, NULL, CALL_ID, NULL, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "KEY or DERIVE");
}
END_TEST

/* 326 */

START_TEST (test_caller_derives_key)
{
  g_autoptr(KcSecret) secret = random_secret (KC_SIGNALING_SECRET_LEN);
  g_autoptr(KcSecret) other_secret = random_secret (KC_SIGNALING_SECRET_LEN);
  g_autoptr(KcSecret) expected = NULL;
  g_autoptr(KcSecret) got = NULL;
  g_autoptr(KcSecret) wrong = NULL;
  g_autoptr(KcKeyMgmt) derive = NULL;
  g_autoptr(KcKeyMgmt) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  g_autofree char *sdp = NULL;
  guint8 nonce[KC_DERIVE_NONCE_LEN];
  gboolean derived = FALSE;
  KcKeyId id;

  kc_key_id_generate (&id);
  for (guint i = 0; i < sizeof nonce; i++)
    nonce[i] = (guint8) (0xc0 + i);
  derive = kc_key_mgmt_new_derive (&id, nonce);
  value = encode (derive);
  sdp = sdp_with (value);
  found = kc_cta_key_mgmt_find ("the 183", sdp, strlen (sdp), NULL, &error);
  ck_assert_ptr_nonnull (found);
  ck_assert_int_eq (found->type, KC_KEY_MGMT_DERIVE);

  got = kc_cta_key_accept (found, KC_CTA_SIDE_CALLER, secret, CALL_ID, &derived, &error);
  ck_assert_msg (got != NULL, "%s", error ? error->message : "?");
  ck_assert (derived);
  expected = kc_call_key_derive (secret, &id, nonce, CALL_ID, &error);
  ck_assert (kc_secret_equal (got, expected));
  /* Another subscriber's secret, or another call, gives another key. */
  wrong = kc_cta_key_accept (found, KC_CTA_SIDE_CALLER, other_secret, CALL_ID, NULL, &error);
  ck_assert (!kc_secret_equal (wrong, expected));
  g_clear_pointer (&wrong, kc_secret_free);
  wrong = kc_cta_key_accept (found, KC_CTA_SIDE_CALLER, secret, "another-call", NULL, &error);
  ck_assert (!kc_secret_equal (wrong, expected));
}
END_TEST

START_TEST (test_caller_accepts_plain_key)
{
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(KcSecret) secret = random_secret (KC_SIGNALING_SECRET_LEN);
  g_autoptr(KcSecret) got = NULL;
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  g_autoptr(GError) error = NULL;
  gboolean derived = TRUE;
  KcKeyId id;

  kc_key_id_generate (&id);
  mgmt = kc_key_mgmt_new_key (&id, key);
  got = kc_cta_key_accept (mgmt, KC_CTA_SIDE_CALLER, secret, CALL_ID, &derived, &error);
  ck_assert (kc_secret_equal (got, key));
  ck_assert (!derived);
}
END_TEST

/* 328: the PRACK header */

START_TEST (test_prack_header_round_trip)
{
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(KcKeyMgmt) found = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  const char *value;
  KcKeyId id;
  char *ack;

  kc_key_id_generate (&id);
  ack = kc_cta_key_ack_value (key, &id, CALL_ID, KC_CTA_SIDE_CALLER, &error);
  line = kc_cta_key_header_line (ack, &error);
  kc_secret_text_free (ack);
  ck_assert_msg (line != NULL, "%s", error ? error->message : "?");
  ck_assert_msg (g_str_has_prefix (line, "Keycall-Key-Mgmt: keycall "), "%s", line);
  ck_assert_ptr_null (strpbrk (line, "\r\n"));

  /* What the controller reads: the header value, no SDP. */
  value = line + strlen ("Keycall-Key-Mgmt: ");
  found = kc_cta_key_mgmt_find ("the PRACK", NULL, 0, value, &error);
  ck_assert_ptr_nonnull (found);
  ck_assert_int_eq (found->type, KC_KEY_MGMT_ACK);
  ck_assert_int_eq (found->role, KC_ACK_ROLE_CALLER);
  ck_assert (kc_key_ack_verify (key, &id, CALL_ID, KC_ACK_ROLE_CALLER, found->mac,
                                sizeof found->mac, &error));
  /* It proves this call and this role only. */
  ck_assert (!kc_key_ack_verify (key, &id, "other-call", KC_ACK_ROLE_CALLER, found->mac,
                                 sizeof found->mac, NULL));
  ck_assert (!kc_key_ack_verify (key, &id, CALL_ID, KC_ACK_ROLE_CALLEE, found->mac,
                                 sizeof found->mac, NULL));
}
END_TEST

START_TEST (test_header_line_refuses_key_and_garbage)
{
  g_autoptr(KcSecret) key = random_secret (KC_CALL_KEY_LEN);
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  KcKeyId id;

  kc_key_id_generate (&id);
  value = key_value (&id, key);
  ck_assert_ptr_null (kc_cta_key_header_line (value, &error));
  kc_test_assert_error (error, KC_ERROR_INVALID, "only sends ACK");
  g_clear_error (&error);
  ck_assert_ptr_null (kc_cta_key_header_line ("keycall AAAA\r\nX-Evil: 1", &error));
  ck_assert (error != NULL);
  g_clear_error (&error);
  ck_assert_ptr_null (kc_cta_key_mgmt_find ("the PRACK", NULL, 0, "keycall AAAA", &error));
  kc_test_assert_error (error, KC_ERROR_INVALID,
                        "Keycall-Key-Mgmt header of the PRACK is unusable");
}
END_TEST

START_TEST (test_describe_line)
{
  g_autofree char *received = kc_cta_key_describe (FALSE, "1a2b3c4d5e6f708192a3b4c5d6e7f809",
                                                   "3f2a 91c0 7d4e 0b18");
  g_autofree char *derived = kc_cta_key_describe (TRUE, "00010203040506070809aabbccddeeff",
                                                  "0000 1111 2222 3333");

  ck_assert_str_eq (received, "key received id 1a2b3c4d fingerprint 3f2a 91c0 7d4e 0b18");
  ck_assert_str_eq (derived, "key derived id 00010203 fingerprint 0000 1111 2222 3333");
}
END_TEST

/* Who may send a key */

START_TEST (test_only_own_controller)
{
  const char *gc1[] = { "keycall:controller:gc1", "keycall:serial:0A0B", NULL };
  const char *gc2[] = { "keycall:controller:gc2", NULL };
  const char *cta[] = { "keycall:cta:1001", NULL };
  const char *foreign[] = { "gc1.example.com", NULL };
  const char *two[] = { "keycall:controller:gc1", "keycall:controller:gc2", NULL };
  const char *none[] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *subject = NULL;

  ck_assert (kc_cta_subjects_check (gc1, "gc1", &subject, &error));
  ck_assert_str_eq (subject, "keycall:controller:gc1");
  ck_assert (!kc_cta_subjects_check (gc2, "gc1", NULL, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "controller gc2, not for controller gc1");
  g_clear_error (&error);
  ck_assert (!kc_cta_subjects_check (cta, "gc1", NULL, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "cta 1001");
  g_clear_error (&error);
  ck_assert (!kc_cta_subjects_check (foreign, "gc1", NULL, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "only controller gc1 is trusted");
  g_clear_error (&error);
  ck_assert (!kc_cta_subjects_check (two, "gc1", NULL, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "no usable Keycall identity");
  g_clear_error (&error);
  ck_assert (!kc_cta_subjects_check (none, "gc1", NULL, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "no verified certificate");
  g_clear_error (&error);
  ck_assert (!kc_cta_subjects_check (NULL, "gc1", NULL, &error));
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "no verified certificate");
}
END_TEST

/* --listen and addresses */

START_TEST (test_parse_listen)
{
  static const struct { const char *text; const char *host; guint16 port; } good[] = {
    { "127.0.0.1", "127.0.0.1", 0 },
    { "127.0.0.1:5071", "127.0.0.1", 5071 },
    { "[::1]:5071", "::1", 5071 },
    { "[::1]", "::1", 0 },
    { "::1", "::1", 0 },
  };
  static const char *const bad[] = {
    "localhost:5071", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
    "127.0.0.1:+5", "[::1", "[::1]5071", "", "1.2.3.4:5:6",
  };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (good); i++) {
    g_autofree char *host = NULL;
    guint16 port = 1;

    ck_assert_msg (kc_cta_parse_listen (good[i].text, &host, &port, &error), "%s: %s",
                   good[i].text, error ? error->message : "?");
    ck_assert_str_eq (host, good[i].host);
    ck_assert_uint_eq (port, good[i].port);
  }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *host = NULL;
    guint16 port;

    ck_assert_msg (!kc_cta_parse_listen (bad[i], &host, &port, &error), "“%s” accepted",
                   bad[i]);
    kc_test_assert_error (error, KC_ERROR_INVALID, "numeric address");
    g_clear_error (&error);
  }
}
END_TEST

START_TEST (test_sips_uri)
{
  g_autofree char *v4 = kc_cta_sips_uri ("127.0.0.1", 5061);
  g_autofree char *v6 = kc_cta_sips_uri ("::1", 5061);

  ck_assert_str_eq (v4, "sips:127.0.0.1:5061");
  ck_assert_str_eq (v6, "sips:[::1]:5061");
}
END_TEST

/* The call state machine */

static void
assert_path (KcCtaCallDirection dir, const KcCtaCallState *path, guint n)
{
  for (guint i = 0; i + 1 < n; i++)
    ck_assert_msg (kc_cta_call_state_can_change (dir, path[i], path[i + 1]), "%s → %s refused",
                   kc_cta_call_state_to_string (path[i]),
                   kc_cta_call_state_to_string (path[i + 1]));
}

START_TEST (test_state_happy_paths)
{
  const KcCtaCallState out[] = {
    KC_CTA_CALL_STATE_CALLING, KC_CTA_CALL_STATE_KEY_RECEIVED,
    KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED, KC_CTA_CALL_STATE_RINGING,
    KC_CTA_CALL_STATE_ANSWERED, KC_CTA_CALL_STATE_ENDED,
  };
  const KcCtaCallState in[] = {
    KC_CTA_CALL_STATE_INCOMING, KC_CTA_CALL_STATE_KEY_RECEIVED,
    KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED, KC_CTA_CALL_STATE_RINGING,
    KC_CTA_CALL_STATE_ANSWERED, KC_CTA_CALL_STATE_ENDED,
  };

  assert_path (KC_CTA_CALL_OUTGOING, out, G_N_ELEMENTS (out));
  assert_path (KC_CTA_CALL_INCOMING, in, G_N_ELEMENTS (in));
  /* Answered without ringing once acknowledged; failed before the answer. */
  ck_assert (kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING,
                                           KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED,
                                           KC_CTA_CALL_STATE_ANSWERED));
  for (guint i = 0; i < 4; i++)     /* calling .. ringing */
    ck_assert (kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, out[i],
                                             KC_CTA_CALL_STATE_FAILED));
}
END_TEST

START_TEST (test_state_refusals)
{
  const KcCtaCallState all[] = {
    KC_CTA_CALL_STATE_CALLING, KC_CTA_CALL_STATE_INCOMING, KC_CTA_CALL_STATE_KEY_RECEIVED,
    KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED, KC_CTA_CALL_STATE_RINGING, KC_CTA_CALL_STATE_ANSWERED,
    KC_CTA_CALL_STATE_ENDED, KC_CTA_CALL_STATE_FAILED,
  };

  /* No media before both acknowledgments: never answered from these. */
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, KC_CTA_CALL_STATE_CALLING,
                                            KC_CTA_CALL_STATE_ANSWERED));
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_INCOMING,
                                            KC_CTA_CALL_STATE_KEY_RECEIVED,
                                            KC_CTA_CALL_STATE_ANSWERED));
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_INCOMING,
                                            KC_CTA_CALL_STATE_KEY_RECEIVED,
                                            KC_CTA_CALL_STATE_RINGING));
  /* Ended only after an answer; an answered call never "fails". */
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, KC_CTA_CALL_STATE_RINGING,
                                            KC_CTA_CALL_STATE_ENDED));
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, KC_CTA_CALL_STATE_ANSWERED,
                                            KC_CTA_CALL_STATE_FAILED));
  /* A call keeps its direction. */
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_INCOMING, KC_CTA_CALL_STATE_CALLING,
                                            KC_CTA_CALL_STATE_KEY_RECEIVED));
  ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, KC_CTA_CALL_STATE_INCOMING,
                                            KC_CTA_CALL_STATE_KEY_RECEIVED));
  /* Nothing leaves a final state, nothing goes back to the first one. */
  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, KC_CTA_CALL_STATE_ENDED,
                                              all[i]));
    ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_INCOMING, KC_CTA_CALL_STATE_FAILED,
                                              all[i]));
    ck_assert (!kc_cta_call_state_can_change (KC_CTA_CALL_OUTGOING, all[i],
                                              KC_CTA_CALL_STATE_CALLING));
  }
}
END_TEST

/* Both ends hang up at once: the controller ends the call on the other
 * end's BYE and answers ours 481 (no such dialog any more), or it never
 * answers (408). Once the call was answered, that is a normal end. */
START_TEST (test_bye_glare_is_a_normal_end)
{
  ck_assert_uint_eq (kc_cta_call_bye_end_status (200, TRUE), 200);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (202, TRUE), 200);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (481, TRUE), 200);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (408, TRUE), 200);
  /* Never answered: nothing ended normally, the status stands. */
  ck_assert_uint_eq (kc_cta_call_bye_end_status (481, FALSE), 481);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (408, FALSE), 408);
  /* A refusal or a failure is no crossing of BYEs. */
  ck_assert_uint_eq (kc_cta_call_bye_end_status (403, TRUE), 403);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (480, TRUE), 480);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (500, TRUE), 500);
  ck_assert_uint_eq (kc_cta_call_bye_end_status (503, TRUE), 503);
}
END_TEST

/* Hold and resume (docs/protocol.md): a re-offer may change the direction
 * only; a key line, a moved stream or another codec is refused, and a call
 * that is not answered cannot be held. */
#define HOLD_SDP(port, codec, extra, direction)                                 \
  "v=0\r\no=- 1 2 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n" \
  extra "m=audio " port " RTP/SAVP 111\r\na=rtpmap:111 " codec "\r\n"          \
  "a=keycall-srtp:AES_CM_128_HMAC_SHA1_80\r\na=" direction "\r\n"

static KcSdpMedia *
read_update (KcCtaCall *call, const char *sdp, GError **error)
{
  return kc_cta_call_media_read_update (call, sdp, strlen (sdp), error);
}

START_TEST (test_hold_reoffer_checks)
{
  g_autoptr(KcCtaCall) call = g_object_new (KC_TYPE_CTA_CALL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) ok = NULL;
  KcSdpMedia *bad;

  /* Nothing agreed yet. */
  bad = read_update (call, HOLD_SDP ("40000", "opus/48000/2", "", "sendonly"), &error);
  ck_assert_ptr_null (bad);
  kc_test_assert_error (error, KC_ERROR_CLOSED, "no agreed audio stream");
  g_clear_error (&error);

  call->remote_media = kc_sdp_media_parse (HOLD_SDP ("40000", "opus/48000/2", "", "sendrecv"),
                                           NULL);
  ck_assert_ptr_nonnull (call->remote_media);
  call->media_choice.audio = (KcSdpFormat) { 111, g_strdup ("opus"), 48000, 2 };
  call->media_choice.suite = KC_SUITE_AES_CM_128_HMAC_SHA1_80;

  ok = read_update (call, HOLD_SDP ("40000", "opus/48000/2", "", "sendonly"), &error);
  ck_assert_msg (ok != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (ok->direction, KC_SDP_SENDONLY);

  bad = read_update (call, HOLD_SDP ("40000", "opus/48000/2",
                                     "a=key-mgmt:keycall AQIDBAUGBwgJCgsMDQ4PEBESExQV\r\n",
                                     "sendonly"), &error);
  ck_assert_ptr_null (bad);
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "carries a key");
  g_clear_error (&error);

  bad = read_update (call, HOLD_SDP ("40000", "opus/48000/2",
                                     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n",
                                     "sendonly"), &error);
  ck_assert_ptr_null (bad);
  kc_test_assert_error (error, KC_ERROR_PERMISSION, "carries a key");
  g_clear_error (&error);

  bad = read_update (call, HOLD_SDP ("40002", "opus/48000/2", "", "sendonly"), &error);
  ck_assert_ptr_null (bad);
  kc_test_assert_error (error, KC_ERROR_UNSUPPORTED, "keeps its media address");
  g_clear_error (&error);

  bad = read_update (call, HOLD_SDP ("40000", "PCMU/8000", "", "sendonly"), &error);
  ck_assert_ptr_null (bad);
  kc_test_assert_error (error, KC_ERROR_UNSUPPORTED, "keeps its codec");
  g_clear_error (&error);

  bad = kc_cta_call_media_read_update (call, NULL, 0, &error);
  ck_assert_ptr_null (bad);
  kc_test_assert_error (error, KC_ERROR_UNSUPPORTED, "No SDP");
  g_clear_error (&error);

  /* Not answered: no hold, and nothing changes. */
  ck_assert (!kc_cta_call_hold (call, TRUE, &error));
  kc_test_assert_error (error, KC_ERROR_CLOSED, "answered call");
  ck_assert (!kc_cta_call_get_held (call));
  ck_assert (!kc_cta_call_get_remote_held (call));
  ck_assert (!kc_cta_call_get_hold_pending (call));
}
END_TEST

START_TEST (test_state_names)
{
  GEnumClass *klass = g_type_class_ref (KC_TYPE_CTA_CALL_STATE);
  GEnumValue *value = g_enum_get_value_by_nick (klass, "key-acknowledged");

  ck_assert_ptr_nonnull (value);
  ck_assert_int_eq (value->value, KC_CTA_CALL_STATE_KEY_ACKNOWLEDGED);
  ck_assert_str_eq (kc_cta_call_state_to_string (KC_CTA_CALL_STATE_KEY_RECEIVED),
                    "key-received");
  ck_assert_str_eq (kc_cta_reg_state_to_string (KC_CTA_REG_RECONNECTING), "reconnecting");
  ck_assert_str_eq (kc_cta_call_direction_to_string (KC_CTA_CALL_INCOMING), "incoming");
  ck_assert (kc_cta_call_state_is_final (KC_CTA_CALL_STATE_FAILED));
  ck_assert (!kc_cta_call_state_is_final (KC_CTA_CALL_STATE_ANSWERED));
  g_type_class_unref (klass);
}
END_TEST

/* The TLS 1.3 floor */

START_TEST (test_tls13_config)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "openssl.cnf", NULL);
  g_autofree char *text = NULL;
  GStatBuf st;

  g_unsetenv ("OPENSSL_CONF");
  ck_assert (kc_cta_tls13_only (dir, NULL));
  ck_assert_str_eq (g_getenv ("OPENSSL_CONF"), path);
  ck_assert (g_file_get_contents (path, &text, NULL, NULL));
  ck_assert_ptr_nonnull (strstr (text, "MinProtocol = TLSv1.3"));
  ck_assert_ptr_nonnull (strstr (text, "NumTickets = 0"));
  ck_assert_int_eq (g_stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 0777, 0600);
  /* A configuration the user chose is left alone. */
  g_setenv ("OPENSSL_CONF", "/etc/mine.cnf", TRUE);
  ck_assert (kc_cta_tls13_only ("/nonexistent", NULL));
  ck_assert_str_eq (g_getenv ("OPENSSL_CONF"), "/etc/mine.cnf");
  kc_test_rmtree (dir);
}
END_TEST

/* An account before it registers */

static KcProfile *
make_profile (const char *display)
{
  g_autoptr(KcCa) ca = kc_ca_new ("Net", 0, NULL);
  g_autoptr(EVP_PKEY) key = kc_pki_key_generate (NULL);
  KcCertRequest request = { KC_ROLE_CTA, "1001", NULL, 0 };
  g_autoptr(X509) cert = kc_ca_issue (ca, &request, key, NULL);
  KcProfile *p = g_new0 (KcProfile, 1);
  g_autoptr(GError) error = NULL;

  ck_assert_ptr_nonnull (cert);
  p->number = g_strdup ("1001");
  p->display_name = g_strdup (display);
  p->controller = g_strdup ("sips:127.0.0.1:5061;transport=tls");
  p->controller_name = g_strdup ("gc1");
  p->certificate = kc_pki_cert_to_pem (cert);
  p->private_key = kc_pki_key_to_pem (key);
  p->ca = kc_pki_cert_to_pem (kc_ca_get_cert (ca));
  p->signaling_secret = kc_secret_new_random (KC_SIGNALING_SECRET_LEN, NULL);
  ck_assert_msg (kc_profile_validate (p, &error), "%s", error ? error->message : "?");
  return p;
}

START_TEST (test_account_before_start)
{
  g_autoptr(KcCtaAccount) account = kc_cta_account_new (make_profile ("Alice \"A\" Ünal"));
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  KcCtaRegState state = KC_CTA_REG_FAILED;
  KcCtaCall *call;

  ck_assert_str_eq (kc_cta_account_get_number (account), "1001");
  ck_assert_str_eq (kc_cta_account_get_controller_name (account), "gc1");
  ck_assert_str_eq (kc_cta_account_get_controller_uri (account), "sips:127.0.0.1:5061");
  ck_assert_int_eq (kc_cta_account_get_state (account), KC_CTA_REG_IDLE);
  ck_assert_ptr_null (kc_cta_account_get_verified_certificate (account));
  ck_assert_uint_eq (kc_cta_account_get_calls (account)->len, 0);
  g_object_get (account, "controller-uri", &uri, "state", &state, NULL);
  ck_assert_str_eq (uri, "sips:127.0.0.1:5061");
  ck_assert_int_eq (state, KC_CTA_REG_IDLE);

  /* No call before the controller confirmed the registration. */
  call = kc_cta_account_call (account, "2001", &error);
  ck_assert_ptr_null (call);
  kc_test_assert_error (error, KC_ERROR_CLOSED, "not registered with controller gc1");
}
END_TEST

/* From, To and Request-URIs use the profile's domain; a profile without
 * one (exported before the key existed) falls back to the controller's
 * host, in brackets for IPv6. */
START_TEST (test_account_domain)
{
  KcProfile *with = make_profile ("Alice");
  KcProfile *v6 = make_profile ("");
  g_autoptr(KcCtaAccount) a = NULL;
  g_autoptr(KcCtaAccount) b = kc_cta_account_new (make_profile (""));
  g_autoptr(KcCtaAccount) c = NULL;

  with->domain = g_strdup ("keycall.test");
  ck_assert (kc_profile_validate (with, NULL));
  a = kc_cta_account_new (with);
  ck_assert_str_eq (kc_cta_account_get_domain (a), "keycall.test");
  ck_assert_str_eq (kc_cta_account_get_aor (a), "\"Alice\" <sips:1001@keycall.test>");
  /* The controller is still reached at its own address. */
  ck_assert_str_eq (kc_cta_account_get_route (a), "sips:127.0.0.1:5061;transport=tls");

  ck_assert_str_eq (kc_cta_account_get_domain (b), "127.0.0.1");
  ck_assert_str_eq (kc_cta_account_get_aor (b), "<sips:1001@127.0.0.1>");

  g_free (v6->controller);
  v6->controller = g_strdup ("sips:[::1]:5061");
  ck_assert (kc_profile_validate (v6, NULL));
  c = kc_cta_account_new (v6);
  ck_assert_str_eq (kc_cta_account_get_domain (c), "[::1]");
}
END_TEST

/* Unregistering an account that never started is immediate and quiet. */
static void
count_signal (KcCtaAccount *account, guint *count)
{
  (*count)++;
}

START_TEST (test_account_unregister_idle)
{
  g_autoptr(KcCtaAccount) account = kc_cta_account_new (make_profile (""));
  guint unregistered = 0;

  g_signal_connect (account, "unregistered", G_CALLBACK (count_signal), &unregistered);
  kc_cta_account_unregister (account);
  ck_assert_uint_eq (unregistered, 1);
  ck_assert_int_eq (kc_cta_account_get_state (account), KC_CTA_REG_UNREGISTERED);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("cta");
  TCase *sdp = tcase_create ("sdp");
  TCase *keys = tcase_create ("keys");
  TCase *ack = tcase_create ("ack");
  TCase *trust = tcase_create ("trust");
  TCase *states = tcase_create ("states");
  TCase *account = tcase_create ("account");

  kc_secure_heap_init ();

  tcase_add_test (sdp, test_sdp_offer_has_audio_and_no_key);
  tcase_add_test (sdp, test_sdp_answer_carries_ack);
  suite_add_tcase (s, sdp);

  tcase_add_test (keys, test_callee_accepts_key_from_invite);
  tcase_add_test (keys, test_missing_key_is_not_found);
  tcase_add_test (keys, test_malformed_key_is_refused);
  tcase_add_test (keys, test_two_keys_are_refused);
  tcase_add_test (keys, test_body_limits);
  tcase_add_test (keys, test_callee_refuses_other_payloads);
  tcase_add_test (keys, test_caller_derives_key);
  tcase_add_test (keys, test_caller_accepts_plain_key);
  suite_add_tcase (s, keys);

  tcase_add_test (ack, test_prack_header_round_trip);
  tcase_add_test (ack, test_header_line_refuses_key_and_garbage);
  tcase_add_test (ack, test_describe_line);
  suite_add_tcase (s, ack);

  tcase_add_test (trust, test_only_own_controller);
  tcase_add_test (trust, test_parse_listen);
  tcase_add_test (trust, test_sips_uri);
  tcase_add_test (trust, test_tls13_config);
  suite_add_tcase (s, trust);

  tcase_add_test (states, test_state_happy_paths);
  tcase_add_test (states, test_state_refusals);
  tcase_add_test (states, test_state_names);
  tcase_add_test (states, test_bye_glare_is_a_normal_end);
  tcase_add_test (states, test_hold_reoffer_checks);
  suite_add_tcase (s, states);

  tcase_add_test (account, test_account_before_start);
  tcase_add_test (account, test_account_unregister_idle);
  tcase_add_test (account, test_account_domain);
  suite_add_tcase (s, account);
  return s;
}

KC_TEST_MAIN (make_suite)
