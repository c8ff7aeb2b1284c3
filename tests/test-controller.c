/* test-controller-units.c: the controller's pieces that need no network:
 * controller.ini checking and routing (with [media]), the SDP key-line
 * editing and media anchoring's SDP rewrite, and one call's key (creation
 * in both modes, sealing, payloads, acknowledgments).
 */
#include "config.h"

#include "kc-controller-call-private.h"
#include "kc-controller-config.h"
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keying.h"
#include "kc-sip-util.h"
#include "kc-test.h"

#include <string.h>

static char *tmp;

static void
setup (void)
{
  tmp = kc_test_mkdtemp ();
}

static void
teardown (void)
{
  kc_test_rmtree (tmp);
  g_clear_pointer (&tmp, g_free);
}

/* Writes controller.ini (a valid one plus @extra lines) into tmp. */
static char *
write_ini (const char *controller_extra, const char *tail)
{
  g_autofree char *text = g_strdup_printf (
    "[controller]\nname=gc1\nnetwork=Net\ndomain=keycall.test\nhost=127.0.0.1\nport=5061\n"
    "prefixes=1;\ntls-dir=.\nstore=store.db\nvault=vault.key\ncrl=crl.pem\n"
    "lea-public-key=lea-seal.pub\n%s\n"
    "[peer gc2]\naddress=sips:127.0.0.1:5062;transport=tls\nprefixes=2;\n"
    "[peer gc3]\naddress=sips:127.0.0.2:5063;transport=tls\nprefixes=21;1999;\n%s",
    controller_extra ? controller_extra : "", tail ? tail : "");
  char *path = g_build_filename (tmp, "controller.ini", NULL);

  ck_assert (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* The config fails with KC_ERROR_INVALID naming @what. */
static void
assert_config_error (const char *extra, const char *tail, const KcControllerOverrides *o,
                     const char *what)
{
  g_autofree char *path = write_ini (extra, tail);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcControllerConfig) config = kc_controller_config_load (path, o, &error);

  ck_assert_ptr_null (config);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, what) != NULL, "'%s' lacks '%s'", error->message, what);
  ck_assert_msg (strstr (error->message, "controller.ini") != NULL, "no file in '%s'",
                 error->message);
}

START_TEST (test_config_defaults_and_paths)
{
  g_autofree char *path = write_ini (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcControllerConfig) config = kc_controller_config_load (path, NULL, &error);
  g_autofree char *store = g_build_filename (tmp, "store.db", NULL);
  KcPeerConfig *gc3;

  ck_assert_msg (config != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (config->name, "gc1");
  ck_assert_str_eq (config->store, store);
  ck_assert (g_path_is_absolute (config->lea_public_key));
  ck_assert_int_eq (config->key_mode, KC_KEY_MODE_RANDOM);
  ck_assert_int_eq (config->delivery, KC_DELIVERY_SIGNALING);
  ck_assert (config->ack_timeout == 10 && config->ring_timeout == 60 && config->keepalive == 10);
  ck_assert_str_eq (config->listen_host, "127.0.0.1");
  ck_assert_uint_eq (config->listen_port, 5061);
  ck_assert_uint_eq (config->peers->len, 2);
  gc3 = kc_controller_config_peer (config, "gc3");
  ck_assert_ptr_nonnull (gc3);
  ck_assert_str_eq (gc3->host, "127.0.0.2");
  ck_assert_uint_eq (gc3->port, 5063);
  ck_assert_ptr_null (kc_controller_config_peer (config, "gc9"));
}
END_TEST

START_TEST (test_config_errors_name_the_key)
{
  KcControllerOverrides bad_listen = KC_CONTROLLER_OVERRIDES_INIT;
  KcControllerOverrides bad_ack = KC_CONTROLLER_OVERRIDES_INIT;

  assert_config_error ("key-mode=sometimes", NULL, NULL, "[controller] key-mode");
  assert_config_error ("delivery=pigeon", NULL, NULL, "'pigeon' is not signaling or separate");
  assert_config_error ("ack-timeout=0", NULL, NULL, "[controller] ack-timeout");
  assert_config_error ("ring-timeout=soon", NULL, NULL, "[controller] ring-timeout");
  assert_config_error ("listen=gc1.example:5061", NULL, NULL, "[controller] listen");
  assert_config_error (NULL, "[peer gc4]\naddress=sips:gc4.example:5064\n", NULL,
                       "[peer gc4] address");
  assert_config_error (NULL, "[peer gc1]\naddress=sips:127.0.0.1:5064\n", NULL,
                       "cannot be its own peer");
  assert_config_error (NULL, "[peer gc5]\nprefixes=5;\n", NULL, "[peer gc5] address: missing");
  bad_listen.listen = "localhost";
  assert_config_error (NULL, NULL, &bad_listen, "--listen");
  bad_ack.ack_timeout = 0;
  assert_config_error (NULL, NULL, &bad_ack, "--ack-timeout");
}
END_TEST

START_TEST (test_config_requires_lea_key)
{
  g_autofree char *path = g_build_filename (tmp, "controller.ini", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcControllerConfig) config = NULL;

  ck_assert (g_file_set_contents (path, "[controller]\nname=gc1\ndomain=d.test\nhost=127.0.0.1\n",
                                  -1, NULL));
  config = kc_controller_config_load (path, NULL, &error);
  ck_assert_ptr_null (config);
  ck_assert (strstr (error->message, "[controller] lea-public-key") != NULL);
  ck_assert (strstr (error->message, "keycall-admin lea add") != NULL);
}
END_TEST

START_TEST (test_config_overrides)
{
  g_autofree char *path = write_ini (NULL, NULL);
  KcControllerOverrides o = KC_CONTROLLER_OVERRIDES_INIT;
  g_autoptr(KcControllerConfig) config = NULL;

  o.listen = "127.0.0.9:7000";
  o.key_mode = "derived";
  o.delivery = "separate";
  o.ack_timeout = 2;
  o.keepalive = 0.5;
  config = kc_controller_config_load (path, &o, NULL);
  ck_assert_ptr_nonnull (config);
  ck_assert_str_eq (config->listen_host, "127.0.0.9");
  ck_assert_uint_eq (config->listen_port, 7000);
  ck_assert_int_eq (config->key_mode, KC_KEY_MODE_DERIVED);
  ck_assert_int_eq (config->delivery, KC_DELIVERY_SEPARATE);
  ck_assert (config->ack_timeout == 2 && config->keepalive == 0.5 && config->ring_timeout == 60);
}
END_TEST

START_TEST (test_routing_longest_prefix)
{
  g_autofree char *path = write_ini (NULL, NULL);
  g_autoptr(KcControllerConfig) config = kc_controller_config_load (path, NULL, NULL);
  KcPeerConfig *peer;

  ck_assert_ptr_nonnull (config);
  peer = kc_controller_config_route (config, "2100");
  ck_assert (peer != NULL && g_str_equal (peer->name, "gc3"));
  peer = kc_controller_config_route (config, "2001");
  ck_assert (peer != NULL && g_str_equal (peer->name, "gc2"));
  /* gc3's "1999" is longer than our "1": it wins; "1001" stays here. */
  peer = kc_controller_config_route (config, "19990");
  ck_assert (peer != NULL && g_str_equal (peer->name, "gc3"));
  ck_assert_ptr_null (kc_controller_config_route (config, "1001"));
  ck_assert (kc_controller_config_serves (config, "1001"));
  ck_assert_ptr_null (kc_controller_config_route (config, "3001"));
  ck_assert (!kc_controller_config_serves (config, "3001"));
}
END_TEST

START_TEST (test_sdp_key_line_replaced)
{
  const char *sdp = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=key-mgmt:mikey AAAA\n"
                    "a=key-mgmt:keycall OLD\nm=audio 4000 RTP/SAVP 0\na=key-mgmt:keycall OLD2\n";
  char *with = kc_sdp_with_key_mgmt (sdp, "keycall NEW");
  char *without = kc_sdp_with_key_mgmt (sdp, NULL);
  const char *line = strstr (with, "a=key-mgmt:keycall NEW\r\n");

  ck_assert_ptr_nonnull (line);
  ck_assert (line < strstr (with, "m=audio"));           /* session level */
  ck_assert_ptr_null (strstr (with, "OLD"));
  ck_assert_ptr_nonnull (strstr (with, "a=key-mgmt:mikey AAAA\r\n"));
  ck_assert_ptr_null (strstr (without, "keycall"));
  ck_assert_ptr_nonnull (strstr (without, "m=audio 4000 RTP/SAVP 0\r\n"));
  ck_assert_ptr_null (strstr (without, "\n\n"));
  kc_sip_text_free (with);
  kc_sip_text_free (without);
}
END_TEST

/* A controller.ini with @host, an optional listen and a [media] group. */
static char *
write_media_ini (const char *host, const char *listen, const char *media)
{
  g_autofree char *text = g_strdup_printf (
    "[controller]\nname=gc1\ndomain=keycall.test\nhost=%s\n%s%s\nlea-public-key=lea.pub\n"
    "[media]\n%s\n", host, listen ? "listen=" : "", listen ? listen : "", media ? media : "");
  char *path = g_build_filename (tmp, "controller.ini", NULL);

  ck_assert (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static KcControllerConfig *
load_media (const char *host, const char *listen, const char *media,
            const KcControllerOverrides *o)
{
  g_autofree char *path = write_media_ini (host, listen, media);
  g_autoptr(GError) error = NULL;
  KcControllerConfig *config = kc_controller_config_load (path, o, &error);

  ck_assert_msg (config != NULL, "%s", error ? error->message : "");
  return config;
}

/* Fails naming the file, "[media] @key" and @what. */
static void
assert_media_error (const char *host, const char *media, const char *key, const char *what)
{
  g_autofree char *path = write_media_ini (host, NULL, media);
  g_autofree char *where = g_strdup_printf ("[media] %s: ", key);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcControllerConfig) config = kc_controller_config_load (path, NULL, &error);

  ck_assert_msg (config == NULL, "[media] %s was accepted", media);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, where) != NULL, "'%s' lacks '%s'", error->message, where);
  ck_assert_msg (strstr (error->message, what) != NULL, "'%s' lacks '%s'", error->message, what);
  ck_assert_msg (strstr (error->message, "controller.ini") != NULL, "no file in '%s'",
                 error->message);
}

START_TEST (test_config_media_defaults)
{
  g_autofree char *path = write_ini (NULL, NULL);
  g_autoptr(KcControllerConfig) config = kc_controller_config_load (path, NULL, NULL);
  g_autoptr(KcControllerConfig) named = NULL, moved = NULL;
  KcControllerOverrides o = KC_CONTROLLER_OVERRIDES_INIT;

  /* No [media] group at all: anchoring on, at the SIP address. */
  ck_assert_ptr_nonnull (config);
  ck_assert (config->relay);
  ck_assert_str_eq (config->relay_address, "127.0.0.1");
  ck_assert_uint_eq (config->relay_port_min, KC_RELAY_DEFAULT_PORT_MIN);
  ck_assert_uint_eq (config->relay_port_max, KC_RELAY_DEFAULT_PORT_MAX);

  /* A host name: the listen address stands in; --listen moves it. */
  named = load_media ("gc1.example", "192.0.2.10:5061", NULL, NULL);
  ck_assert_str_eq (named->relay_address, "192.0.2.10");
  o.listen = "127.0.0.9:7000";
  moved = load_media ("127.0.0.1", NULL, NULL, &o);
  ck_assert_str_eq (moved->relay_address, "127.0.0.9");
}
END_TEST

START_TEST (test_config_media_values)
{
  g_autoptr(KcControllerConfig) off = NULL, off_named = NULL, set = NULL, v6 = NULL, one = NULL;
  g_autoptr(KcControllerConfig) always = NULL, direct = NULL;

  off = load_media ("127.0.0.1", NULL, "relay=false", NULL);
  ck_assert (!off->relay);
  ck_assert (!off->relay_allow_direct);
  always = load_media ("127.0.0.1", NULL, "relay=always", NULL);
  ck_assert (always->relay);
  ck_assert (!always->relay_allow_direct);
  /* allow-direct still runs the relay: it anchors every call whose
   * subscribers did not all ask for direct media. */
  direct = load_media ("127.0.0.1", NULL, "relay=allow-direct", NULL);
  ck_assert (direct->relay);
  ck_assert (direct->relay_allow_direct);
  ck_assert_str_eq (direct->relay_address, "127.0.0.1");
  /* Off, nothing needs an address: a host name without one is fine. */
  off_named = load_media ("gc1.example", NULL, "relay=FALSE", NULL);
  ck_assert (!off_named->relay);
  ck_assert_ptr_null (off_named->relay_address);

  set = load_media ("127.0.0.1", NULL,
                    "relay=true\nrelay-address=127.0.0.3\nrelay-port-min=50000\n"
                    "relay-port-max=50099", NULL);
  ck_assert (set->relay);
  ck_assert_str_eq (set->relay_address, "127.0.0.3");
  ck_assert_uint_eq (set->relay_port_min, 50000);
  ck_assert_uint_eq (set->relay_port_max, 50099);
  v6 = load_media ("gc1.example", "0.0.0.0:5061", "relay=1\nrelay-address=::1", NULL);
  ck_assert_str_eq (v6->relay_address, "::1");
  /* The smallest range: one call, two even/odd pairs. */
  one = load_media ("127.0.0.1", NULL, "relay-port-min=41001\nrelay-port-max=41005", NULL);
  ck_assert_uint_eq (one->relay_port_min, 41001);
}
END_TEST

START_TEST (test_config_media_errors_name_the_key)
{
  assert_media_error ("127.0.0.1", "relay=maybe", "relay",
                      "'maybe' is not true (or always), allow-direct or false");
  assert_media_error ("127.0.0.1", "relay-address=relay.example", "relay-address",
                      "not an IPv4 or IPv6 address");
  assert_media_error ("127.0.0.1", "relay-address=0.0.0.0", "relay-address", "wildcard");
  assert_media_error ("127.0.0.1", "relay-address=::", "relay-address", "wildcard");
  assert_media_error ("127.0.0.1", "relay-address=239.1.2.3", "relay-address", "multicast");
  /* Checked even with the relay off: a typo should not wait for relay=true. */
  assert_media_error ("127.0.0.1", "relay=false\nrelay-address=10.0.0", "relay-address",
                      "'10.0.0'");
  assert_media_error ("127.0.0.1", "relay-port-min=80", "relay-port-min", "1024 to 65535");
  assert_media_error ("127.0.0.1", "relay-port-min=forty", "relay-port-min", "'forty'");
  assert_media_error ("127.0.0.1", "relay-port-max=70000", "relay-port-max", "'70000'");
  assert_media_error ("127.0.0.1", "relay-port-min=41000\nrelay-port-max=40000",
                      "relay-port-max", "below relay-port-min");
  assert_media_error ("127.0.0.1", "relay-port-min=41001\nrelay-port-max=41004",
                      "relay-port-max", "too small");
  /* Anchoring on, and no address to default to. */
  assert_media_error ("gc1.example", NULL, "relay-address", "not set");
}
END_TEST

/* [lawful-intercept]: on by default at the SIP listen address, port + 1,
 * following --listen; an explicit listen or enabled=false as written. */
START_TEST (test_config_lawful_intercept)
{
  g_autofree char *path = write_ini (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcControllerConfig) config = kc_controller_config_load (path, NULL, &error);
  KcControllerOverrides o = KC_CONTROLLER_OVERRIDES_INIT;

  ck_assert_msg (config != NULL, "%s", error ? error->message : "");
  ck_assert (config->li_enabled);
  ck_assert_str_eq (config->li_host, "127.0.0.1");
  ck_assert_uint_eq (config->li_port, 5062);
  g_clear_pointer (&config, kc_controller_config_free);

  o.listen = "127.0.0.9:7000";
  config = kc_controller_config_load (path, &o, &error);
  ck_assert_msg (config != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (config->li_host, "127.0.0.9");
  ck_assert_uint_eq (config->li_port, 7001);
  g_clear_pointer (&config, kc_controller_config_free);
  g_free (path);

  path = write_ini (NULL, "[lawful-intercept]\nlisten=[::1]:6100\n");
  config = kc_controller_config_load (path, NULL, &error);
  ck_assert_msg (config != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (config->li_host, "::1");
  ck_assert_uint_eq (config->li_port, 6100);
  g_clear_pointer (&config, kc_controller_config_free);
  g_free (path);

  path = write_ini (NULL, "[lawful-intercept]\nenabled=false\n");
  config = kc_controller_config_load (path, NULL, &error);
  ck_assert_msg (config != NULL, "%s", error ? error->message : "");
  ck_assert (!config->li_enabled);
}
END_TEST

START_TEST (test_config_lawful_intercept_errors)
{
  KcControllerOverrides at_top = KC_CONTROLLER_OVERRIDES_INIT;

  assert_config_error (NULL, "[lawful-intercept]\nenabled=sometimes\n",
                       NULL, "[lawful-intercept] enabled");
  assert_config_error (NULL, "[lawful-intercept]\nlisten=li.example:6000\n", NULL,
                       "[lawful-intercept] listen");
  assert_config_error (NULL, "[lawful-intercept]\nlisten=127.0.0.1:99999\n", NULL,
                       "[lawful-intercept] listen");
  assert_config_error (NULL, "[lawful-intercept]\nlisten=127.0.0.1:5061\n", NULL,
                       "is the SIP port");
  /* The default has nowhere to go. */
  at_top.listen = "127.0.0.1:65535";
  assert_config_error (NULL, NULL, &at_top, "no next port");
}
END_TEST

/* A stand-in payload: only its bytes matter here. */
#define KEY_LINE "a=key-mgmt:keycall AQEiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIi" \
                 "IiIiIiIiIiIiIiIiIiIiIiIi"

START_TEST (test_sdp_anchor_keeps_key_line)
{
  const char *offer = "v=0\r\no=- 7 7 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\n"
                      "t=0 0\r\n" KEY_LINE "\r\nm=audio 4000 RTP/SAVP 111 101\r\n"
                      "a=rtpmap:111 opus/48000/2\r\na=rtcp:4009\r\n"
                      "a=keycall-srtp:AES_CM_128_HMAC_SHA1_80\r\na=sendrecv\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) media = kc_call_sdp_media (offer, &error);
  g_autoptr(KcSdpMedia) again = NULL;
  char *anchored, *plain, *bare;
  const char *key;

  ck_assert_msg (media != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (media->address, "192.0.2.7");
  ck_assert_uint_eq (media->port, 4000);
  ck_assert_uint_eq (media->rtcp_port, 4009);

  anchored = kc_call_sdp_anchor (offer, "127.0.0.5", 40002, &error);
  ck_assert_msg (anchored != NULL, "%s", error ? error->message : "");
  ck_assert_ptr_nonnull (strstr (anchored, "c=IN IP4 127.0.0.5\r\n"));
  ck_assert_ptr_nonnull (strstr (anchored, "m=audio 40002 RTP/SAVP 111 101\r\n"));
  ck_assert_ptr_null (strstr (anchored, "192.0.2.7"));
  ck_assert_ptr_null (strstr (anchored, "4009"));
  /* The key line, byte for byte, still at session level; the rest kept. */
  key = strstr (anchored, KEY_LINE "\r\n");
  ck_assert_ptr_nonnull (key);
  ck_assert_ptr_null (strstr (key + 1, "a=key-mgmt"));
  ck_assert (key < strstr (anchored, "m=audio"));
  ck_assert_ptr_nonnull (strstr (anchored, "a=rtpmap:111 opus/48000/2\r\n"
                                           "a=rtcp:40003"));
  ck_assert_ptr_nonnull (strstr (anchored, "a=keycall-srtp:AES_CM_128_HMAC_SHA1_80\r\n"
                                           "a=sendrecv\r\n"));
  again = kc_call_sdp_media (anchored, NULL);
  ck_assert (again != NULL && again->port == 40002 && g_str_equal (again->address, "127.0.0.5"));

  /* Without a key line none is added; then the key-mgmt editing composes. */
  plain = kc_sdp_with_key_mgmt (offer, NULL);
  bare = kc_call_sdp_anchor (plain, "127.0.0.5", 40002, NULL);
  ck_assert (bare != NULL && strstr (bare, "key-mgmt") == NULL);
  kc_sip_text_free (plain);
  plain = kc_sdp_with_key_mgmt (bare, KEY_LINE + strlen ("a=key-mgmt:"));
  ck_assert_str_eq (plain, anchored);
  kc_sip_text_free (plain);
  kc_sip_text_free (bare);
  kc_sip_text_free (anchored);

  /* What cannot be anchored says why. */
  ck_assert_ptr_null (kc_call_sdp_anchor (offer, "relay.example", 40002, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  ck_assert_ptr_null (kc_call_sdp_media ("v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nt=0 0\r\n"
                                         "m=video 4000 RTP/AVP 96\r\nc=IN IP4 192.0.2.7\r\n",
                                         &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
}
END_TEST

static KcKeyMgmt *
ack_for (KcKeying *keying, const char *call_id, KcAckRole role)
{
  guint8 mac[KC_KEY_ACK_LEN];

  kc_key_ack_compute (keying->key, &keying->id, call_id, role, mac);
  return kc_key_mgmt_new_ack (&keying->id, role, mac);
}

START_TEST (test_keying_random_payload_and_acks)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcKeying) keying = kc_keying_create (KC_KEY_MODE_RANDOM, NULL, NULL, "1001",
                                                 "c1@keycall.test", &error);
  g_autoptr(KcKeyMgmt) parsed = NULL;
  g_autoptr(KcKeyMgmt) good = NULL, wrong_role = NULL, other_call = NULL;
  char fp[KC_FINGERPRINT_LEN];
  char *value;

  ck_assert_msg (keying != NULL, "%s", error ? error->message : "");
  ck_assert (!keying->derived);
  /* Random mode sends the key itself to the caller too. */
  value = kc_keying_encode (keying, TRUE);
  parsed = kc_key_mgmt_parse (value, NULL);
  kc_secret_text_free (value);
  ck_assert (parsed != NULL && parsed->type == KC_KEY_MGMT_KEY);
  ck_assert (kc_key_id_equal (&parsed->key_id, &keying->id));
  kc_secret_fingerprint (parsed->key, fp);
  ck_assert_str_eq (fp, keying->fingerprint);

  good = ack_for (keying, "c1@keycall.test", KC_ACK_ROLE_CALLEE);
  ck_assert (kc_keying_check_ack (keying, good, "c1@keycall.test", KC_ACK_ROLE_CALLEE, NULL));
  ck_assert (!kc_keying_check_ack (keying, good, "c1@keycall.test", KC_ACK_ROLE_CALLER, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  other_call = ack_for (keying, "c2@keycall.test", KC_ACK_ROLE_CALLEE);
  ck_assert (!kc_keying_check_ack (keying, other_call, "c1@keycall.test", KC_ACK_ROLE_CALLEE,
                                   &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO));
  g_clear_error (&error);
  wrong_role = ack_for (keying, "c1@keycall.test", KC_ACK_ROLE_CALLER);
  wrong_role->role = KC_ACK_ROLE_CALLEE;   /* claims callee, MAC made as caller */
  ck_assert (!kc_keying_check_ack (keying, wrong_role, "c1@keycall.test", KC_ACK_ROLE_CALLEE,
                                   &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO));
}
END_TEST

START_TEST (test_keying_derived_and_sealed)
{
  g_autofree char *store_path = g_build_filename (tmp, "store.db", NULL);
  g_autofree char *vault_path = g_build_filename (tmp, "vault.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcVault) vault = kc_vault_create (vault_path, FALSE, NULL);
  g_autoptr(KcStore) store = kc_store_open (store_path, KC_STORE_OPEN_CREATE, NULL);
  g_autoptr(KcSecret) secret = kc_secret_new_random (KC_SIGNALING_SECRET_LEN, NULL);
  g_autoptr(GBytes) wrapped = kc_vault_wrap (vault, secret, "1001", NULL);
  KcSubscriber sub = { (char *) "1001", (char *) "A", KC_SUBSCRIBER_ACTIVE, (char *) "gc1",
                       NULL, wrapped, 1, 1 };
  g_autoptr(KcKeying) keying = NULL;
  g_autoptr(KcSecret) expected = NULL, lea_sk = NULL, opened = NULL;
  g_autoptr(KcSealedKey) record = NULL;
  g_autoptr(KcKeyMgmt) derive = NULL;
  guint8 lea_pk[KC_HPKE_PUBLIC_KEY_LEN];
  char fp[KC_FINGERPRINT_LEN];
  char *value;

  ck_assert (vault != NULL && store != NULL && kc_store_subscriber_add (store, &sub, NULL));
  ck_assert_ptr_null (kc_keying_create (KC_KEY_MODE_DERIVED, store, vault, "1009", "c", &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  g_clear_error (&error);

  keying = kc_keying_create (KC_KEY_MODE_DERIVED, store, vault, "1001", "c1@keycall.test", &error);
  ck_assert_msg (keying != NULL, "%s", error ? error->message : "");
  ck_assert (keying->derived);
  expected = kc_call_key_derive (secret, &keying->id, keying->nonce, "c1@keycall.test", NULL);
  ck_assert (kc_secret_equal (expected, keying->key));
  /* The caller gets only the nonce; the callee side gets the key. */
  value = kc_keying_encode (keying, TRUE);
  derive = kc_key_mgmt_parse (value, NULL);
  kc_secret_text_free (value);
  ck_assert (derive != NULL && derive->type == KC_KEY_MGMT_DERIVE);
  ck_assert (memcmp (derive->nonce, keying->nonce, KC_DERIVE_NONCE_LEN) == 0);

  ck_assert (kc_hpke_keypair_generate (&lea_sk, lea_pk, NULL));
  record = kc_keying_seal (keying, lea_pk, "c1@keycall.test", "1001", "2001", "gc1", &error);
  ck_assert_msg (record != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (record->fingerprint, keying->fingerprint);
  opened = kc_hpke_open_call_key (lea_sk, &record->key_id, "c1@keycall.test", record->enc,
                                  record->sealed, NULL);
  ck_assert_ptr_nonnull (opened);
  kc_secret_fingerprint (opened, fp);
  ck_assert_str_eq (fp, keying->fingerprint);
  ck_assert_ptr_null (kc_hpke_open_call_key (lea_sk, &record->key_id, "c2@keycall.test",
                                             record->enc, record->sealed, NULL));
}
END_TEST

START_TEST (test_keying_received_takes_key_payload_only)
{
  g_autoptr(KcKeying) source = kc_keying_create (KC_KEY_MODE_RANDOM, NULL, NULL, "1", "c", NULL);
  g_autoptr(KcKeyMgmt) key = kc_key_mgmt_new_key (&source->id, source->key);
  g_autoptr(KcKeyMgmt) ack = ack_for (source, "c", KC_ACK_ROLE_CALLEE);
  g_autoptr(KcKeying) received = kc_keying_new_received (key, NULL);
  g_autoptr(GError) error = NULL;

  ck_assert_ptr_nonnull (received);
  ck_assert (kc_secret_equal (received->key, source->key));
  ck_assert_ptr_null (kc_keying_new_received (ack, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("controller");
  TCase *tc = tcase_create ("core");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_config_defaults_and_paths);
  tcase_add_test (tc, test_config_errors_name_the_key);
  tcase_add_test (tc, test_config_requires_lea_key);
  tcase_add_test (tc, test_config_overrides);
  tcase_add_test (tc, test_routing_longest_prefix);
  tcase_add_test (tc, test_config_media_defaults);
  tcase_add_test (tc, test_config_media_values);
  tcase_add_test (tc, test_config_media_errors_name_the_key);
  tcase_add_test (tc, test_config_lawful_intercept);
  tcase_add_test (tc, test_config_lawful_intercept_errors);
  tcase_add_test (tc, test_sdp_anchor_keeps_key_line);
  tcase_add_test (tc, test_sdp_key_line_replaced);
  tcase_add_test (tc, test_keying_random_payload_and_acks);
  tcase_add_test (tc, test_keying_derived_and_sealed);
  tcase_add_test (tc, test_keying_received_takes_key_payload_only);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
