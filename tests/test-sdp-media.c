/* test-sdp-media.c: the audio part of SDP: parse, build, negotiate, rewrite. */
#include "config.h"

#include "kc-error.h"
#include "kc-sdp-key.h"
#include "kc-sdp-media.h"
#include "kc-test.h"

#include <string.h>

#define RFC_KEY "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define RELAY   "203.0.113.5"

/* A session with c= at session level; the body is appended. */
#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

static void
assert_error (const GError *error,
              int           code,
              const char   *substring)
{
  ck_assert_msg (error != NULL, "expected an error containing '%s'", substring);
  ck_assert_msg (error->domain == KC_ERROR && error->code == code,
                 "error code %d, expected %d: %s", error->code, code, error->message);
  ck_assert_msg (strstr (error->message, substring) != NULL,
                 "message '%s' lacks '%s'", error->message, substring);
  /* A peer's bytes never reach a log or a dialog raw. */
  for (const char *p = error->message; *p != '\0'; p++)
    ck_assert_msg ((guchar) *p >= 0x20, "control byte in message '%s'", error->message);
}

static KcSdpMedia *
parse_ok (const char *sdp)
{
  g_autoptr(GError) error = NULL;
  KcSdpMedia *media = kc_sdp_media_parse (sdp, &error);

  ck_assert_msg (media != NULL, "parse: %s\n%s", error ? error->message : "?", sdp);
  return media;
}

static const KcSdpFormat *
format_at (const KcSdpMedia *media,
           guint             i)
{
  ck_assert_uint_lt (i, media->formats->len);
  return &g_array_index (media->formats, KcSdpFormat, i);
}

static void
assert_format (const KcSdpMedia *media,
               guint             i,
               guint             pt,
               const char       *encoding,
               guint             rate,
               guint             channels)
{
  const KcSdpFormat *f = format_at (media, i);

  ck_assert_uint_eq (f->pt, pt);
  ck_assert_str_eq (f->encoding, encoding);
  ck_assert_uint_eq (f->clock_rate, rate);
  ck_assert_uint_eq (f->channels, channels);
}

static KcSuite
suite_at (const KcSdpMedia *media,
          guint             i)
{
  ck_assert_uint_lt (i, media->suites->len);
  return g_array_index (media->suites, KcSuite, i);
}

/* "a=key-mgmt:keycall <base64>" carrying a fresh call key. */
static char *
key_mgmt_line (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) key = kc_secret_new_random (KC_CALL_KEY_LEN, &error);
  g_autoptr(KcKeyMgmt) mgmt = NULL;
  KcKeyId id;
  char *value, *line;

  ck_assert_msg (key != NULL, "random: %s", error ? error->message : "?");
  memset (&id, 0x5a, sizeof id);
  mgmt = kc_key_mgmt_new_key (&id, key);
  value = kc_key_mgmt_encode (mgmt, &error);
  ck_assert_msg (value != NULL, "encode: %s", error ? error->message : "?");
  line = g_strconcat ("a=key-mgmt:", value, NULL);
  kc_secret_text_free (value);
  return line;
}

static char *
replace_all (const char *text,
             const char *from,
             const char *to)
{
  g_auto(GStrv) parts = g_strsplit (text, from, -1);

  return g_strjoinv (to, parts);
}

/* Parse ------------------------------------------------------------------- */

START_TEST (test_parse_offer)
{
  g_autoptr(KcSdpMedia) m = parse_ok (
    HEAD
    "m=audio 40000 RTP/SAVP 111 0 8 101 100\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=rtpmap:100 telephone-event/8000\r\n"
    "a=rtcp:40005 IN IP4 192.0.2.1\r\n"
    "a=rtcp-mux\r\n"
    "a=keycall-srtp:AEAD_AES_128_GCM AES_CM_128_HMAC_SHA1_80\r\n"
    "a=ptime:20\r\n"
    "a=sendonly\r\n");

  ck_assert_str_eq (m->address, "192.0.2.1");
  ck_assert_int_eq (m->family, G_SOCKET_FAMILY_IPV4);
  ck_assert_uint_eq (m->port, 40000);
  ck_assert_uint_eq (m->rtcp_port, 40005);
  ck_assert (m->rtcp_mux);
  ck_assert_int_eq (m->direction, KC_SDP_SENDONLY);
  ck_assert_uint_eq (m->ptime, 20);
  ck_assert (m->secure);
  ck_assert_uint_eq (m->formats->len, 5);
  assert_format (m, 0, 111, "opus", 48000, 2);
  assert_format (m, 1, 0, "PCMU", 8000, 1);
  assert_format (m, 2, 8, "PCMA", 8000, 1);
  assert_format (m, 3, 101, "telephone-event", 48000, 1);
  assert_format (m, 4, 100, "telephone-event", 8000, 1);
  ck_assert (m->srtp_listed);
  ck_assert_uint_eq (m->suites->len, 2);
  ck_assert_int_eq (suite_at (m, 0), KC_SUITE_AEAD_AES_128_GCM);
  ck_assert_int_eq (suite_at (m, 1), KC_SUITE_AES_CM_128_HMAC_SHA1_80);
}
END_TEST

START_TEST (test_parse_static_types)
{
  /* 0 and 8 without rtpmap are RFC 3551's; 96 without one is unusable. */
  g_autoptr(KcSdpMedia) m = parse_ok (HEAD "m=audio 4000 RTP/AVP 96 0 8 18\r\n");

  ck_assert_uint_eq (m->formats->len, 3);
  assert_format (m, 0, 0, "PCMU", 8000, 1);
  assert_format (m, 1, 8, "PCMA", 8000, 1);
  assert_format (m, 2, 18, "G729", 8000, 1);
  ck_assert_uint_eq (m->rtcp_port, 4001);
  ck_assert (!m->rtcp_mux);
  ck_assert_int_eq (m->direction, KC_SDP_SENDRECV);
  ck_assert_uint_eq (m->ptime, 0);
  ck_assert (!m->secure);
  ck_assert (!m->srtp_listed);
  ck_assert_uint_eq (m->suites->len, 0);
}
END_TEST

START_TEST (test_parse_levels)
{
  /* Media-level c= and direction win over the session's. */
  g_autoptr(KcSdpMedia) a = parse_ok (
    HEAD "a=inactive\r\n"
    "m=video 5000 RTP/AVP 31\r\n"
    "m=audio 6000 RTP/SAVP 0\r\nc=IN IP4 198.51.100.9\r\na=sendonly\r\n");
  g_autoptr(KcSdpMedia) b = parse_ok (HEAD "a=recvonly\r\nm=audio 6000 RTP/SAVP 0\r\n");
  g_autoptr(KcSdpMedia) c = parse_ok (HEAD "m=audio 0 RTP/SAVP 0\r\n");

  ck_assert_str_eq (a->address, "198.51.100.9");
  ck_assert_uint_eq (a->port, 6000);
  ck_assert_int_eq (a->direction, KC_SDP_SENDONLY);
  ck_assert_str_eq (b->address, "192.0.2.1");
  ck_assert_int_eq (b->direction, KC_SDP_RECVONLY);
  ck_assert_uint_eq (c->port, 0);
  ck_assert_uint_eq (c->rtcp_port, 0);
  ck_assert_int_eq (c->direction, KC_SDP_INACTIVE);
}
END_TEST

START_TEST (test_parse_ipv6_lf)
{
  g_autoptr(KcSdpMedia) m = parse_ok (
    "v=0\no=- 7 7 IN IP6 2001:db8::1\ns=-\nt=0 0\n"
    "m=audio 5004 RTP/SAVP 8\nc=IN IP6 2001:db8::1\na=inactive\n");

  ck_assert_str_eq (m->address, "2001:db8::1");
  ck_assert_int_eq (m->family, G_SOCKET_FAMILY_IPV6);
  ck_assert_uint_eq (m->port, 5004);
  ck_assert_int_eq (m->direction, KC_SDP_INACTIVE);
  assert_format (m, 0, 8, "PCMA", 8000, 1);
}
END_TEST

START_TEST (test_parse_feedback_profiles)
{
  /* sofia 1.12 leaves rtpmaps of the RFC 4585 profiles as attributes. */
  g_autoptr(KcSdpMedia) savpf = parse_ok (
    HEAD "m=audio 5000 RTP/SAVPF 111 0 97\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=rtpmap:97 telephone-event/48000\r\na=keycall-srtp:AEAD_AES_256_GCM\r\n");
  g_autoptr(KcSdpMedia) avpf = parse_ok (HEAD "m=audio 5000 RTP/AVPF 8\r\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) bad = NULL;

  ck_assert (savpf->secure);
  ck_assert_uint_eq (savpf->formats->len, 3);
  assert_format (savpf, 0, 111, "opus", 48000, 2);
  assert_format (savpf, 1, 0, "PCMU", 8000, 1);
  assert_format (savpf, 2, 97, "telephone-event", 48000, 1);
  ck_assert_int_eq (suite_at (savpf, 0), KC_SUITE_AEAD_AES_256_GCM);
  ck_assert (!avpf->secure);
  assert_format (avpf, 0, 8, "PCMA", 8000, 1);

  bad = kc_sdp_media_parse (HEAD "m=audio 5000 RTP/SAVPF 300\r\n", &error);
  ck_assert (bad == NULL);
  assert_error (error, KC_ERROR_INVALID, "'300'");
}
END_TEST

static const struct {
  const char *sdp;
  int         code;
  const char *substring;
} parse_errors[] = {
  { "", KC_ERROR_INVALID, "does not parse" },
  { "garbage\r\n", KC_ERROR_INVALID, "does not parse" },
  { "v=0\r\ns=-\r\nm=audio 5000 RTP/SAVP 0\r\n", KC_ERROR_INVALID, "does not parse" },
  { HEAD "m=audio 5000 RTP/SAVP 200\r\n", KC_ERROR_INVALID, "does not parse" },
  { HEAD, KC_ERROR_INVALID, "no m=audio" },
  { HEAD "m=video 5000 RTP/AVP 31\r\n", KC_ERROR_INVALID, "no m=audio" },
  { "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n",
    KC_ERROR_INVALID, "no c= line" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\nc=IN IP4 example.com\r\n",
    KC_ERROR_INVALID, "c= address 'example.com' is not an IP address" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\nc=IN IP4 \x01\x7f\xff\r\n",
    KC_ERROR_INVALID, "is not an IP address" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\nc=IN IP4 2001:db8::1\r\n", KC_ERROR_INVALID, "c= says IP4" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\nc=IN IP6 192.0.2.1\r\n", KC_ERROR_INVALID, "c= says IP6" },
  { HEAD "m=audio 99999 RTP/SAVP 0\r\n", KC_ERROR_INVALID, "port 99999 is out of range" },
  { HEAD "m=audio 18446744073709551615 RTP/SAVP 0\r\n", KC_ERROR_INVALID, "out of range" },
  { HEAD "m=audio 65535 RTP/SAVP 0\r\n", KC_ERROR_INVALID, "65535" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\na=rtcp:0\r\n", KC_ERROR_INVALID, "a=rtcp:0" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\na=rtcp:70000\r\n", KC_ERROR_INVALID, "a=rtcp:70000" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\na=rtcp:-1\r\n", KC_ERROR_INVALID, "a=rtcp:-1" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\na=ptime:soon\r\n", KC_ERROR_INVALID, "a=ptime:soon" },
  { HEAD "m=audio 5000 RTP/SAVP 96\r\na=rtpmap:96 opus/0\r\n", KC_ERROR_INVALID, "clock rate" },
  { HEAD "m=audio 5000 RTP/SAVP 96\r\na=rtpmap:96 opus/48000/two\r\n",
    KC_ERROR_INVALID, "channel count" },
  { HEAD "m=audio 5000 RTP/SAVP 96\r\na=rtpmap:96 opus/48000/0\r\n",
    KC_ERROR_INVALID, "channel count" },
  /* Each of these sends sofia 1.12.11 into an endless allocating loop. */
  { HEAD "m=audio 5000 RTP/SAVP 0\r\nm=video 51372 RT\x1f/AVP 31\r\n",
    KC_ERROR_INVALID, "m=video 51372 RT\\037/AVP 31 holds a character" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\n m=image 1 udptl t38 //\r\n", KC_ERROR_INVALID, "m=image" },
  { HEAD "m=audio 5000 X 31 =a\r\n", KC_ERROR_INVALID, "m=audio" },
  { HEAD "m=audio 5000 X 3//1\r\n", KC_ERROR_INVALID, "m=audio 5000 X 3//1 holds" },
};

START_TEST (test_parse_errors)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) media = kc_sdp_media_parse (parse_errors[_i].sdp, &error);

  ck_assert_msg (media == NULL, "case %d parsed", _i);
  assert_error (error, parse_errors[_i].code, parse_errors[_i].substring);
}
END_TEST

START_TEST (test_sofia_safe)
{
  g_autoptr(GError) error = NULL;

  /* What real SDP holds passes; bytes that would hang sofia do not. */
  ck_assert (kc_sdp_sofia_safe (HEAD "m=audio 49170/2 RTP/AVP 0 8\r\n"
                                "m=application 9 UDP/TLS/RTP/SAVPF webrtc-datachannel *\r\n"
                                "a=rtpmap:0 PCMU/8000\r\n", &error));
  ck_assert (kc_sdp_sofia_safe ("not SDP at all", &error));
  ck_assert (!kc_sdp_sofia_safe ("v=0\n\tm=x 1 Y /z\n", &error));
  assert_error (error, KC_ERROR_INVALID, "m=x 1 Y /z");
}
END_TEST

START_TEST (test_parse_too_large)
{
  g_autofree char *filler = g_strnfill (KC_SDP_BODY_MAX, 'x');
  g_autofree char *sdp = g_strconcat (HEAD "m=audio 5000 RTP/SAVP 0\r\ni=", filler, "\r\n", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSdpMedia) media = kc_sdp_media_parse (sdp, &error);
  g_autofree char *rewritten = NULL;

  ck_assert (media == NULL);
  assert_error (error, KC_ERROR_TOO_LARGE, "64");
  g_clear_error (&error);
  rewritten = kc_sdp_media_rewrite (sdp, RELAY, 30000, &error);
  ck_assert (rewritten == NULL);
  assert_error (error, KC_ERROR_TOO_LARGE, "64");
}
END_TEST

START_TEST (test_parse_ignores_key_mgmt)
{
  static const char with[] =
    HEAD "@KM@\r\n"
    "m=audio 40000 RTP/SAVP 111 101\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "@KM@\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=keycall-srtp:AES_CM_128_HMAC_SHA1_32\r\n";
  g_autofree char *km = key_mgmt_line ();
  g_autofree char *sdp = replace_all (with, "@KM@", km);
  g_autofree char *plain = replace_all (with, "@KM@\r\n", "");
  g_autoptr(KcSdpMedia) a = parse_ok (sdp);
  g_autoptr(KcSdpMedia) b = parse_ok (plain);

  ck_assert_ptr_nonnull (strstr (sdp, "a=key-mgmt:keycall "));
  ck_assert_uint_eq (a->formats->len, 2);
  ck_assert_uint_eq (a->formats->len, b->formats->len);
  for (guint i = 0; i < a->formats->len; i++) {
    ck_assert_uint_eq (format_at (a, i)->pt, format_at (b, i)->pt);
    ck_assert_str_eq (format_at (a, i)->encoding, format_at (b, i)->encoding);
  }
  ck_assert_int_eq (suite_at (a, 0), KC_SUITE_AES_CM_128_HMAC_SHA1_32);
  ck_assert_int_eq (suite_at (b, 0), KC_SUITE_AES_CM_128_HMAC_SHA1_32);
  ck_assert_str_eq (a->address, b->address);
  ck_assert_uint_eq (a->port, b->port);
}
END_TEST

START_TEST (test_parse_unknown_suites)
{
  g_autoptr(KcSdpMedia) some = parse_ok (
    HEAD "m=audio 5000 RTP/SAVP 0\r\n"
    "a=keycall-srtp:FUTURE_SUITE AEAD_AES_128_GCM  aes_cm_128_hmac_sha1_80 "
    "AES_CM_128_HMAC_SHA1_80 AEAD_AES_128_GCM\r\n");
  g_autoptr(KcSdpMedia) none = parse_ok (
    HEAD "m=audio 5000 RTP/SAVP 0\r\na=keycall-srtp:FUTURE_SUITE\r\n");

  /* Unknown and repeated names are skipped; names are case-sensitive. */
  ck_assert_uint_eq (some->suites->len, 2);
  ck_assert_int_eq (suite_at (some, 0), KC_SUITE_AEAD_AES_128_GCM);
  ck_assert_int_eq (suite_at (some, 1), KC_SUITE_AES_CM_128_HMAC_SHA1_80);
  ck_assert (none->srtp_listed);
  ck_assert_uint_eq (none->suites->len, 0);
}
END_TEST

/* Build ------------------------------------------------------------------- */

static const KcSdpFormat offer_formats[] = {
  { 111, (char *) "opus", 48000, 2 },
  { 0, (char *) "PCMU", 8000, 1 },
  { 101, (char *) "telephone-event", 48000, 1 },
  { 100, (char *) "telephone-event", 8000, 1 },
};

static const KcSuite offer_suites[] = {
  KC_SUITE_AEAD_AES_128_GCM, KC_SUITE_AES_CM_128_HMAC_SHA1_80,
};

START_TEST (test_build_text)
{
  KcSdpBuild b = {
    "192.0.2.10", 40000, 42, KC_SDP_SENDRECV, offer_formats, G_N_ELEMENTS (offer_formats),
    offer_suites, G_N_ELEMENTS (offer_suites), 20,
  };
  g_autofree char *sdp = kc_sdp_media_build (&b);
  g_autofree char *bare = NULL;

  ck_assert_str_eq (sdp,
                    "v=0\r\n"
                    "o=- 42 42 IN IP4 192.0.2.10\r\n"
                    "s=-\r\n"
                    "c=IN IP4 192.0.2.10\r\n"
                    "t=0 0\r\n"
                    "m=audio 40000 RTP/SAVP 111 0 101 100\r\n"
                    "a=rtpmap:111 opus/48000/2\r\n"
                    "a=rtpmap:0 PCMU/8000\r\n"
                    "a=rtpmap:101 telephone-event/48000\r\n"
                    "a=fmtp:101 0-16\r\n"
                    "a=rtpmap:100 telephone-event/8000\r\n"
                    "a=fmtp:100 0-16\r\n"
                    "a=keycall-srtp:AEAD_AES_128_GCM AES_CM_128_HMAC_SHA1_80\r\n"
                    "a=ptime:20\r\n"
                    "a=sendrecv\r\n");

  /* No suites, no ptime: no such lines. */
  b.n_suites = 0;
  b.ptime = 0;
  b.direction = KC_SDP_RECVONLY;
  bare = kc_sdp_media_build (&b);
  ck_assert_ptr_null (strstr (bare, "keycall-srtp"));
  ck_assert_ptr_null (strstr (bare, "ptime"));
  ck_assert (g_str_has_suffix (bare, "\r\na=recvonly\r\n"));
}
END_TEST

/* Hold and resume (docs/protocol.md): the re-offer's direction reads
 * back, its o= version moves on, and each answer is RFC 3264's. */
START_TEST (test_direction_hold)
{
  KcSdpBuild b = {
    "192.0.2.10", 40000, 42, KC_SDP_SENDONLY, offer_formats, 1, offer_suites, 1, 20, 43,
  };
  g_autofree char *sdp = kc_sdp_media_build (&b);
  g_autoptr(KcSdpMedia) m = parse_ok (sdp);

  ck_assert (strstr (sdp, "o=- 42 43 IN IP4") != NULL);
  ck_assert_int_eq (m->direction, KC_SDP_SENDONLY);
  ck_assert_str_eq (kc_sdp_direction_to_string (m->direction), "sendonly");
  ck_assert_str_eq (kc_sdp_direction_to_string (KC_SDP_SENDRECV), "sendrecv");
  ck_assert_str_eq (kc_sdp_direction_to_string (KC_SDP_RECVONLY), "recvonly");
  ck_assert_str_eq (kc_sdp_direction_to_string (KC_SDP_INACTIVE), "inactive");

  /* The held end answers recvonly, a resume sendrecv. */
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_SENDONLY, FALSE), KC_SDP_RECVONLY);
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_SENDRECV, FALSE), KC_SDP_SENDRECV);
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_RECVONLY, FALSE), KC_SDP_SENDONLY);
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_INACTIVE, FALSE), KC_SDP_INACTIVE);
  /* An answerer that holds the call itself keeps its receiving out. */
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_SENDONLY, TRUE), KC_SDP_INACTIVE);
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_SENDRECV, TRUE), KC_SDP_SENDONLY);
  ck_assert_int_eq (kc_sdp_direction_answer (KC_SDP_INACTIVE, TRUE), KC_SDP_INACTIVE);

  ck_assert (kc_sdp_direction_sends (KC_SDP_SENDONLY));
  ck_assert (!kc_sdp_direction_sends (KC_SDP_RECVONLY));
  ck_assert (!kc_sdp_direction_sends (KC_SDP_INACTIVE));
  ck_assert (kc_sdp_direction_receives (KC_SDP_RECVONLY));
  ck_assert (kc_sdp_direction_receives (KC_SDP_SENDRECV));
  ck_assert (!kc_sdp_direction_receives (KC_SDP_SENDONLY));

  /* A relayed hold keeps its direction: only c=, o= and the port move. */
  {
    g_autofree char *relayed = kc_sdp_media_rewrite (sdp, "198.51.100.1", 41000, NULL);
    g_autoptr(KcSdpMedia) r = NULL;

    ck_assert_ptr_nonnull (relayed);
    r = parse_ok (relayed);
    ck_assert_int_eq (r->direction, KC_SDP_SENDONLY);
    ck_assert_uint_eq (r->port, 41000);
  }
}
END_TEST

START_TEST (test_build_round_trip)
{
  static const char * const addresses[] = { "192.0.2.10", "2001:db8::20" };
  KcSdpBuild b = {
    addresses[_i % 2], (guint16) (20000 + 2 * _i), G_MAXUINT64 - _i, (KcSdpDirection) (_i / 2),
    offer_formats, G_N_ELEMENTS (offer_formats), offer_suites, 1 + _i % 2, 20 * (_i % 3),
  };
  g_autofree char *sdp = kc_sdp_media_build (&b);
  g_autoptr(KcSdpMedia) m = parse_ok (sdp);

  for (const char *p = strchr (sdp, '\n'); p != NULL; p = strchr (p + 1, '\n'))
    ck_assert_msg (p[-1] == '\r', "bare LF in\n%s", sdp);
  ck_assert_str_eq (m->address, b.address);
  ck_assert_int_eq (m->family, _i % 2 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4);
  ck_assert_uint_eq (m->port, b.port);
  ck_assert_uint_eq (m->rtcp_port, b.port + 1);
  ck_assert_int_eq (m->direction, b.direction);
  ck_assert_uint_eq (m->ptime, b.ptime);
  ck_assert (m->secure);
  ck_assert_uint_eq (m->formats->len, b.n_formats);
  for (guint i = 0; i < b.n_formats; i++)
    assert_format (m, i, offer_formats[i].pt, offer_formats[i].encoding,
                   offer_formats[i].clock_rate, offer_formats[i].channels);
  ck_assert_uint_eq (m->suites->len, b.n_suites);
  for (guint i = 0; i < b.n_suites; i++)
    ck_assert_int_eq (suite_at (m, i), offer_suites[i]);
}
END_TEST

/* Negotiate --------------------------------------------------------------- */

#define OFFER_BODY(proto, port) \
  HEAD "m=audio " port " " proto " 111 9 8 0 101 100\r\n"                   \
  "a=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n"    \
  "a=rtpmap:100 telephone-event/8000\r\n"

static const char * const opus_first[] = { "opus", "PCMU", NULL };
static const KcSuite all_suites[] = {
  KC_SUITE_AES_CM_128_HMAC_SHA1_80, KC_SUITE_AES_CM_128_HMAC_SHA1_32,
  KC_SUITE_AEAD_AES_128_GCM, KC_SUITE_AEAD_AES_256_GCM,
};

static void
negotiate_ok (const char         *sdp,
              const char * const *encodings,
              const KcSuite      *suites,
              guint               n_suites,
              KcSdpChoice        *choice)
{
  g_autoptr(KcSdpMedia) offer = parse_ok (sdp);
  g_autoptr(GError) error = NULL;

  ck_assert_msg (kc_sdp_media_negotiate (offer, encodings, suites, n_suites, choice, &error),
                 "negotiate: %s", error ? error->message : "?");
}

static void
negotiate_fails (const char         *sdp,
                 const char * const *encodings,
                 const KcSuite      *suites,
                 guint               n_suites,
                 const char         *substring)
{
  g_autoptr(KcSdpMedia) offer = parse_ok (sdp);
  g_autoptr(GError) error = NULL;
  KcSdpChoice choice = { { 0, }, -1, KC_SUITE_DEFAULT };

  ck_assert (!kc_sdp_media_negotiate (offer, encodings, suites, n_suites, &choice, &error));
  assert_error (error, KC_ERROR_UNSUPPORTED, substring);
  /* A failure leaves the choice as it was. */
  ck_assert_ptr_null (choice.audio.encoding);
  ck_assert_int_eq (choice.dtmf_pt, -1);
}

START_TEST (test_negotiate_codecs)
{
  static const char * const g711a_first[] = { "PCMA", "opus", NULL };
  static const char * const upper[] = { "OPUS", NULL };
  KcSdpChoice choice = { { 0, }, -1, KC_SUITE_DEFAULT };

  negotiate_ok (OFFER_BODY ("RTP/SAVP", "5000"), g711a_first, all_suites, 4, &choice);
  ck_assert_uint_eq (choice.audio.pt, 8);
  ck_assert_str_eq (choice.audio.encoding, "PCMA");
  ck_assert_uint_eq (choice.audio.clock_rate, 8000);
  ck_assert_int_eq (choice.dtmf_pt, 100);   /* telephone-event/8000 */
  kc_sdp_choice_clear (&choice);

  negotiate_ok (OFFER_BODY ("RTP/SAVP", "5000"), upper, all_suites, 4, &choice);
  ck_assert_uint_eq (choice.audio.pt, 111);
  ck_assert_str_eq (choice.audio.encoding, "opus");   /* the offer's spelling */
  ck_assert_uint_eq (choice.audio.channels, 2);
  ck_assert_int_eq (choice.dtmf_pt, 101);             /* telephone-event/48000 */
  kc_sdp_choice_clear (&choice);

  /* Events only at another clock rate: none. */
  negotiate_ok (HEAD "m=audio 5000 RTP/SAVP 111 100\r\na=rtpmap:111 opus/48000/2\r\n"
                "a=rtpmap:100 telephone-event/8000\r\n", opus_first, all_suites, 4, &choice);
  ck_assert_uint_eq (choice.audio.pt, 111);
  ck_assert_int_eq (choice.dtmf_pt, -1);
  kc_sdp_choice_clear (&choice);

  /* opus at the wrong rate is not opus as the codec knows it. */
  negotiate_ok (HEAD "m=audio 5000 RTP/SAVP 96 0\r\na=rtpmap:96 opus/8000\r\n", opus_first,
                all_suites, 4, &choice);
  ck_assert_str_eq (choice.audio.encoding, "PCMU");
  kc_sdp_choice_clear (&choice);
  ck_assert_ptr_null (choice.audio.encoding);
  ck_assert_int_eq (choice.dtmf_pt, -1);
  ck_assert_int_eq (choice.suite, KC_SUITE_DEFAULT);
  kc_sdp_choice_clear (&choice);   /* twice is harmless */
}
END_TEST

START_TEST (test_negotiate_suites)
{
  static const KcSuite sha1_80_then_gcm[] = {
    KC_SUITE_AES_CM_128_HMAC_SHA1_80, KC_SUITE_AEAD_AES_128_GCM,
  };
  static const KcSuite sha1_32[] = { KC_SUITE_AES_CM_128_HMAC_SHA1_32 };
  KcSdpChoice choice = { { 0, }, -1, KC_SUITE_DEFAULT };
  const char *listed = OFFER_BODY ("RTP/SAVP", "5000")
                       "a=keycall-srtp:AEAD_AES_128_GCM AES_CM_128_HMAC_SHA1_80\r\n";

  /* The offerer's order decides. */
  negotiate_ok (listed, opus_first, sha1_80_then_gcm, 2, &choice);
  ck_assert_int_eq (choice.suite, KC_SUITE_AEAD_AES_128_GCM);
  kc_sdp_choice_clear (&choice);
  negotiate_fails (listed, opus_first, sha1_32, 1, "(AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80)");

  /* No attribute means the default suite. */
  negotiate_ok (OFFER_BODY ("RTP/SAVP", "5000"), opus_first, all_suites, 2, &choice);
  ck_assert_int_eq (choice.suite, KC_SUITE_DEFAULT);
  kc_sdp_choice_clear (&choice);
  negotiate_fails (OFFER_BODY ("RTP/SAVP", "5000"), opus_first, sha1_32, 1,
                   "AES_CM_128_HMAC_SHA1_80");

  /* Only unknown suites: the default was not offered. */
  negotiate_fails (OFFER_BODY ("RTP/SAVP", "5000") "a=keycall-srtp:FUTURE_SUITE\r\n",
                   opus_first, all_suites, 4, "unknown");
}
END_TEST

START_TEST (test_negotiate_refusals)
{
  static const char * const g722_only[] = { "G722", NULL };
  static const char * const speex_only[] = { "speex", NULL };

  negotiate_fails (OFFER_BODY ("RTP/AVP", "5000"), opus_first, all_suites, 4, "RTP/SAVP");
  negotiate_fails (OFFER_BODY ("RTP/SAVP", "0"), opus_first, all_suites, 4, "port 0");
  negotiate_fails (OFFER_BODY ("RTP/SAVP", "5000"), speex_only, all_suites, 4,
                   "(opus/48000, G722/8000, PCMA/8000, PCMU/8000)");
  negotiate_fails (HEAD "m=audio 5000 RTP/SAVP 101\r\na=rtpmap:101 telephone-event/8000\r\n",
                   opus_first, all_suites, 4, "(none)");
  negotiate_fails (OFFER_BODY ("RTP/SAVP", "5000"), g722_only, all_suites, 0, "none");
}
END_TEST

/* Rewrite ----------------------------------------------------------------- */

static char *
rewrite_ok (const char *sdp,
            const char *address,
            guint16     port)
{
  g_autoptr(GError) error = NULL;
  char *out = kc_sdp_media_rewrite (sdp, address, port, &error);

  ck_assert_msg (out != NULL, "rewrite: %s\n%s", error ? error->message : "?", sdp);
  return out;
}

static const char rewrite_in[] =
  "v=0\r\n"
  "o=alice 2890844526 2890844527 IN IP4 198.51.100.7\r\n"
  "s=Keycall call\r\n"
  "c=IN IP4 198.51.100.7\r\n"
  "t=0 0\r\n"
  "@KM@\r\n"
  "m=audio 49170 RTP/SAVP 111 0 101\r\n"
  "c=IN IP4 198.51.100.8\r\n"
  "a=rtpmap:111 opus/48000/2\r\n"
  "a=rtcp:49171 IN IP4 198.51.100.8\r\n"
  "@KM@\r\n"
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "\r\n"
  "a=keycall-srtp:AES_CM_128_HMAC_SHA1_80\r\n"
  "a=sendrecv\r\n"
  "m=video 51372 RTP/AVP 31\r\n"
  "a=rtcp:51373\r\n"
  "m=audio 49180 RTP/AVP 0\r\n"
  "c=IN IP4 224.2.1.1/127\r\n";

static const char rewrite_out[] =
  "v=0\r\n"
  "o=alice 2890844526 2890844527 IN IP4 " RELAY "\r\n"
  "s=Keycall call\r\n"
  "c=IN IP4 " RELAY "\r\n"
  "t=0 0\r\n"
  "@KM@\r\n"
  "m=audio 30000 RTP/SAVP 111 0 101\r\n"
  "c=IN IP4 " RELAY "\r\n"
  "a=rtpmap:111 opus/48000/2\r\n"
  "a=rtcp:30001 IN IP4 " RELAY "\r\n"
  "@KM@\r\n"
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "\r\n"
  "a=keycall-srtp:AES_CM_128_HMAC_SHA1_80\r\n"
  "a=sendrecv\r\n"
  "m=video 51372 RTP/AVP 31\r\n"
  "a=rtcp:51373\r\n"
  "m=audio 49180 RTP/AVP 0\r\n"
  "c=IN IP4 " RELAY "\r\n";

START_TEST (test_rewrite_exact)
{
  g_autofree char *km = key_mgmt_line ();
  g_autofree char *in = replace_all (rewrite_in, "@KM@", km);
  g_autofree char *want = replace_all (rewrite_out, "@KM@", km);
  g_autofree char *out = rewrite_ok (in, RELAY, 30000);
  g_autoptr(KcSdpMedia) m = parse_ok (out);

  /* Key lines, the other media and every other byte are as they were. */
  ck_assert_str_eq (out, want);
  ck_assert_str_eq (m->address, RELAY);
  ck_assert_uint_eq (m->port, 30000);
  ck_assert_uint_eq (m->rtcp_port, 30001);
}
END_TEST

START_TEST (test_rewrite_line_ends)
{
  /* LF only, CR only, and a mix: each line end is kept as found. */
  static const char * const ends[][2] = {
    { "\n", "\n" }, { "\r", "\r" }, { "\r\n", "\n" }, { "\n", "\r\n" },
  };
  g_autofree char *km = key_mgmt_line ();
  g_autofree char *in_km = replace_all (rewrite_in, "@KM@", km);
  g_autofree char *want_km = replace_all (rewrite_out, "@KM@", km);
  g_auto(GStrv) in_lines = g_strsplit (in_km, "\r\n", -1);
  g_auto(GStrv) want_lines = g_strsplit (want_km, "\r\n", -1);
  GString *in = g_string_new (NULL), *want = g_string_new (NULL);
  g_autofree char *out = NULL;

  for (guint i = 0; in_lines[i] != NULL && *in_lines[i] != '\0'; i++) {
    const char *end = ends[_i][i % 2];

    g_string_append_printf (in, "%s%s", in_lines[i], end);
    g_string_append_printf (want, "%s%s", want_lines[i], end);
  }
  out = rewrite_ok (in->str, RELAY, 30000);
  ck_assert_str_eq (out, want->str);
  g_string_free (in, TRUE);
  g_string_free (want, TRUE);
}
END_TEST

START_TEST (test_rewrite_ipv6_and_forms)
{
  g_autofree char *out = rewrite_ok (
    "v=0\no=- 5 6 IN IP4 198.51.100.7\ns=-\nt=0 0\n"
    "m=audio\t99999 RTP/SAVP 0\n"
    "  c=IN IP4 relay.example.com/127/2 junk\n"
    "a=rtcp:9\n"
    "a=rtcp-mux\n",
    "2001:db8::5", 40000);
  g_autoptr(KcSdpMedia) m = parse_ok (out);

  /* The family follows the new address; leading blanks (which sofia
   * skips) are kept; a=rtcp without an address stays without one. */
  ck_assert_str_eq (out,
                    "v=0\no=- 5 6 IN IP6 2001:db8::5\ns=-\nt=0 0\n"
                    "m=audio\t40000 RTP/SAVP 0\n"
                    "  c=IN IP6 2001:db8::5\n"
                    "a=rtcp:40001\n"
                    "a=rtcp-mux\n");
  ck_assert_int_eq (m->family, G_SOCKET_FAMILY_IPV6);
  ck_assert_uint_eq (m->rtcp_port, 40001);
}
END_TEST

START_TEST (test_rewrite_refused)
{
  static const char in[] = HEAD "m=audio 0 RTP/SAVP 0\r\na=rtcp:9 IN IP4 192.0.2.1\r\n";
  g_autofree char *out = rewrite_ok (in, RELAY, 30000);
  g_autofree char *want = replace_all (in, "192.0.2.1\r\nt=", RELAY "\r\nt=");
  g_autofree char *want_o = replace_all (want, "IN IP4 192.0.2.1\r\ns=", "IN IP4 " RELAY "\r\ns=");

  /* Only c= and o= move: the refusal stays a refusal. */
  ck_assert_str_eq (out, want_o);
}
END_TEST

static const struct {
  const char *sdp;
  const char *address;
  guint16     port;
  const char *substring;
} rewrite_errors[] = {
  { HEAD "m=video 5000 RTP/AVP 31\r\n", RELAY, 30000, "no m=audio" },
  { "garbage", RELAY, 30000, "does not parse" },
  { "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n",
    RELAY, 30000, "no c= line" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\n", "relay.example", 30000, "'relay.example'" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\n", "", 30000, "not an IP address" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\n", RELAY, 0, "Port 0" },
  { HEAD "m=audio 5000 RTP/SAVP 0\r\n", RELAY, 65535, "Port 65535" },
  /* sofia reads "+5000" as a port; the edit would miss it, and the check
   * of the result catches that instead of letting media bypass the relay. */
  { HEAD "m=audio +5000 RTP/SAVP 0\r\n", RELAY, 30000, "cannot safely edit" },
};

START_TEST (test_rewrite_errors)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = kc_sdp_media_rewrite (rewrite_errors[_i].sdp, rewrite_errors[_i].address,
                                               rewrite_errors[_i].port, &error);

  ck_assert_msg (out == NULL, "case %d: %s", _i, out);
  assert_error (error, KC_ERROR_INVALID, rewrite_errors[_i].substring);
}
END_TEST

/* Hostile input ----------------------------------------------------------- */

START_TEST (test_mutations)
{
  static const char pieces[] = "\r\n \t=:/0123456789mcoa+-";
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240601 + _i);
  g_autofree char *km = key_mgmt_line ();
  g_autofree char *base = replace_all (rewrite_in, "@KM@", km);
  gsize len = strlen (base);

  for (int round = 0; round < 3000; round++) {
    g_autofree char *sdp = g_strdup (base);
    g_autoptr(GError) error = NULL;
    g_autoptr(KcSdpMedia) media = NULL;
    g_autofree char *out = NULL;
    int edits = g_rand_int_range (rand, 1, 6);

    for (int e = 0; e < edits; e++) {
      gsize at = g_rand_int_range (rand, 0, (gint32) len);

      if (g_rand_boolean (rand))
        sdp[at] = pieces[g_rand_int_range (rand, 0, sizeof pieces - 1)];
      else
        sdp[at] = (char) g_rand_int_range (rand, 1, 256);
    }
    if (g_rand_int_range (rand, 0, 8) == 0)
      sdp[g_rand_int_range (rand, 0, (gint32) len)] = '\0';

    media = kc_sdp_media_parse (sdp, &error);
    ck_assert ((media == NULL) == (error != NULL));
    if (error != NULL)
      assert_error (error, error->code, "");
    g_clear_error (&error);

    out = kc_sdp_media_rewrite (sdp, RELAY, 30000, &error);
    ck_assert ((out == NULL) == (error != NULL));
    if (out != NULL) {
      g_autoptr(KcSdpMedia) back = kc_sdp_media_parse (out, NULL);

      /* Whatever still parses must point at the relay. */
      if (back != NULL) {
        ck_assert_str_eq (back->address, RELAY);
        ck_assert_uint_eq (back->port, 30000);
      }
      /* A key line that survived the mutation comes out unchanged. */
      for (const char *eol = "\r\n"; *eol != '\0'; eol++) {
        g_autofree char *line = g_strdup_printf ("%c%s", *eol, km);

        if (strstr (sdp, line) != NULL)
          ck_assert_ptr_nonnull (strstr (out, line));
      }
    } else {
      assert_error (error, error->code, "");
    }
  }
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("sdp-media");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_parse_offer);
  tcase_add_test (tc, test_parse_static_types);
  tcase_add_test (tc, test_parse_levels);
  tcase_add_test (tc, test_parse_ipv6_lf);
  tcase_add_test (tc, test_parse_feedback_profiles);
  tcase_add_loop_test (tc, test_parse_errors, 0, G_N_ELEMENTS (parse_errors));
  tcase_add_test (tc, test_sofia_safe);
  tcase_add_test (tc, test_parse_too_large);
  tcase_add_test (tc, test_parse_ignores_key_mgmt);
  tcase_add_test (tc, test_parse_unknown_suites);
  tcase_add_test (tc, test_build_text);
  tcase_add_loop_test (tc, test_build_round_trip, 0, 8);
  tcase_add_test (tc, test_direction_hold);
  tcase_add_test (tc, test_negotiate_codecs);
  tcase_add_test (tc, test_negotiate_suites);
  tcase_add_test (tc, test_negotiate_refusals);
  tcase_add_test (tc, test_rewrite_exact);
  tcase_add_loop_test (tc, test_rewrite_line_ends, 0, 4);
  tcase_add_test (tc, test_rewrite_ipv6_and_forms);
  tcase_add_test (tc, test_rewrite_refused);
  tcase_add_loop_test (tc, test_rewrite_errors, 0, G_N_ELEMENTS (rewrite_errors));
  tcase_add_loop_test (tc, test_mutations, 0, 4);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
