/* test-srtp.c: SRTP/SRTCP sessions (audio/kc-srtp). Round trips in every
 * suite and direction; wrong keys, replays, truncations and bit flips are
 * refused and counted; the wire format is standard SRTP: libsrtp's published
 * reference packets, an independent AES-CM/HMAC-SHA1 computation with
 * OpenSSL (its key derivation checked on RFC 3711 B.3), and GStreamer's
 * srtpdec/srtpenc exchanging packets with Keycall. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-keys.h"
#include "kc-srtp.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define PAYLOAD_LEN 160
#define BUF_SIZE (RTP_LEN + KC_SRTP_MAX_TRAILER)
#define RTP_LEN (12 + PAYLOAD_LEN)
#define SSRC 0x4b431a2bu

/* Tag bytes per suite, from RFC 4568 6.2 and RFC 7714 (not from the code). */
static const gsize rtp_overhead[KC_SUITE_COUNT] = { 10, 4, 16, 16 };
static const gsize rtcp_overhead[KC_SUITE_COUNT] = { 14, 14, 20, 20 };

static KcSecret *
random_call_key (void)
{
  g_autoptr(GError) error = NULL;
  KcSecret *key = kc_call_key_new_random (&error);

  ck_assert_msg (key != NULL, "%s", error ? error->message : "?");
  return key;
}

static KcSrtpSession *
session_for (const KcSecret *call_key, KcSuite suite, KcDirection direction, KcSrtpRole role)
{
  g_autoptr(GError) error = NULL;
  KcSrtpSession *s = kc_srtp_session_new_for_call (call_key, suite, direction, role, &error);

  ck_assert_msg (s != NULL, "%s", error ? error->message : "?");
  return s;
}

static gsize
unhex (const char *hex, guint8 *out)
{
  gsize len = strlen (hex) / 2;

  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
  return len;
}

static KcSrtpSession *
session_from_hex (KcSuite suite, KcSrtpRole role, const char *hex)
{
  g_autoptr(GError) error = NULL;
  guint8 bytes[64];
  g_autoptr(KcSecret) key = kc_secret_new_from_data (bytes, unhex (hex, bytes));
  KcSrtpSession *s = kc_srtp_session_new (suite, KC_DIRECTION_CALLER_TO_CALLEE, role, key, &error);

  ck_assert_msg (s != NULL, "%s", error ? error->message : "?");
  return s;
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

/* An RTP packet as rtpopuspay would make it: PT 96, 960 samples a packet. */
static gsize
make_rtp (guint8 *buf, guint16 seq, guint32 ssrc)
{
  buf[0] = 0x80;
  buf[1] = 96;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  put32 (buf + 4, seq * 960u);
  put32 (buf + 8, ssrc);
  for (gsize i = 0; i < PAYLOAD_LEN; i++)
    buf[12 + i] = (guint8) (i * 7 + seq);
  return RTP_LEN;
}

/* A sender report with one report block (52 bytes), then an SDES CNAME
 * chunk (28 bytes): a compound packet as RFC 3550 6.1 wants it. */
static gsize
make_rtcp (guint8 *buf, guint32 ssrc)
{
  guint8 *sdes = buf + 52;

  memset (buf, 0, 80);
  buf[0] = 0x81;
  buf[1] = 200;
  buf[3] = 12;
  put32 (buf + 4, ssrc);
  for (int i = 8; i < 52; i++)
    buf[i] = (guint8) (i * 13);
  sdes[0] = 0x81;
  sdes[1] = 202;
  sdes[3] = 6;
  put32 (sdes + 4, ssrc);
  sdes[8] = 1;
  sdes[9] = 14;
  memcpy (sdes + 10, "kc@keycall.tes", 14);
  return 80;
}

static gsize
protect_ok (KcSrtpSession *s, guint8 *buf, gsize len, gboolean rtcp)
{
  g_autoptr(GError) error = NULL;
  gsize out = 0;
  gboolean ok = rtcp ? kc_srtp_protect_rtcp (s, buf, len, BUF_SIZE, &out, &error)
                     : kc_srtp_protect_rtp (s, buf, len, BUF_SIZE, &out, &error);

  ck_assert_msg (ok, "protect failed: %s", error ? error->message : "?");
  return out;
}

/* Unprotects a copy of @pkt; the error (if any) is returned. */
static GError *
try_unprotect (KcSrtpSession *s, const guint8 *pkt, gsize len, gboolean rtcp, guint8 *out, gsize *out_len)
{
  GError *error = NULL;
  g_autofree guint8 *copy = g_memdup2 (pkt, len);
  gsize n = 0;
  gboolean ok = rtcp ? kc_srtp_unprotect_rtcp (s, copy, len, &n, &error)
                     : kc_srtp_unprotect_rtp (s, copy, len, &n, &error);

  ck_assert (ok == (error == NULL));
  if (ok && out != NULL) {
    memcpy (out, copy, n);
    *out_len = n;
  }
  return error;
}

static guint64
rejected_total (const KcSrtpStats *st)
{
  guint64 n = 0;

  for (int i = 0; i < KC_SRTP_REJECT_COUNT; i++)
    n += st->rejected[i];
  return n;
}

START_TEST (test_round_trip)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();

  for (int d = KC_DIRECTION_CALLER_TO_CALLEE; d <= KC_DIRECTION_CALLEE_TO_CALLER; d++) {
    g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, d, KC_SRTP_ROLE_SEND);
    g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, d, KC_SRTP_ROLE_RECEIVE);
    KcSrtpStats st;
    guint64 wire = 0;

    ck_assert_uint_eq (kc_srtp_session_get_overhead (tx, FALSE), rtp_overhead[suite]);
    ck_assert_uint_eq (kc_srtp_session_get_overhead (tx, TRUE), rtcp_overhead[suite]);
    ck_assert_int_eq (kc_srtp_session_get_suite (rx), suite);
    ck_assert_int_eq (kc_srtp_session_get_direction (rx), d);
    ck_assert_int_eq (kc_srtp_session_get_role (rx), KC_SRTP_ROLE_RECEIVE);

    for (guint16 seq = 65500; seq != 36; seq++) {   /* across a sequence wrap */
      guint8 plain[RTP_LEN], buf[BUF_SIZE], back[BUF_SIZE];
      gsize len = make_rtp (plain, seq, SSRC), n, same = 0, back_len = 0;
      g_autoptr(GError) error = NULL;

      memcpy (buf, plain, len);
      n = protect_ok (tx, buf, len, FALSE);
      ck_assert_uint_eq (n, len + rtp_overhead[suite]);
      ck_assert_mem_eq (buf, plain, 12);                /* the header stays clear */
      for (gsize i = 12; i < len; i++)
        same += buf[i] == plain[i];
      ck_assert_msg (same < PAYLOAD_LEN / 8, "%zu payload bytes in clear", same);
      wire += n;

      error = try_unprotect (rx, buf, n, FALSE, back, &back_len);
      ck_assert_msg (error == NULL, "%s", error ? error->message : "");
      ck_assert_uint_eq (back_len, len);
      ck_assert_mem_eq (back, plain, len);
    }
    kc_srtp_session_get_stats (tx, &st);
    ck_assert_uint_eq (st.packets_protected, 72);
    ck_assert_uint_eq (st.bytes_protected, wire);
    ck_assert_uint_eq (rejected_total (&st), 0);
    kc_srtp_session_get_stats (rx, &st);
    ck_assert_uint_eq (st.packets_unprotected, 72);
    ck_assert_uint_eq (st.bytes_unprotected, wire);
    ck_assert_uint_eq (rejected_total (&st), 0);
  }
}
END_TEST

START_TEST (test_rtcp_round_trip)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, KC_DIRECTION_CALLEE_TO_CALLER, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, KC_DIRECTION_CALLEE_TO_CALLER, KC_SRTP_ROLE_RECEIVE);
  g_autoptr(KcSrtpSession) other = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  KcSrtpStats st;

  for (guint32 i = 0, index = 0; i < 3; i++) {
    guint8 plain[BUF_SIZE], buf[BUF_SIZE], back[BUF_SIZE];
    gsize len = make_rtcp (plain, SSRC), n, back_len = 0;
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) wrong = NULL;

    memcpy (buf, plain, len);
    n = protect_ok (tx, buf, len, TRUE);
    ck_assert_uint_eq (n, len + rtcp_overhead[suite]);
    ck_assert_mem_eq (buf, plain, 8);
    ck_assert_msg (memcmp (buf + 8, plain + 8, len - 8) != 0, "RTCP body sent in clear");
    /* E flag set and the SRTCP index counting up by one (RFC 3711 3.4);
     * it follows the body in AES-CM, the tag in AEAD (RFC 7714 9). */
    {
      const guint8 *e_index = rtcp_overhead[suite] == 14 ? buf + len : buf + n - 4;
      guint32 next = (e_index[0] & 0x7fu) << 24 | e_index[1] << 16 | e_index[2] << 8 | e_index[3];

      ck_assert_uint_eq (e_index[0] & 0x80, 0x80);
      if (i > 0)
        ck_assert_uint_eq (next, index + 1);
      index = next;
    }

    wrong = try_unprotect (other, buf, n, TRUE, NULL, NULL);
    ck_assert (g_error_matches (wrong, KC_ERROR, KC_ERROR_CRYPTO));
    error = try_unprotect (rx, buf, n, TRUE, back, &back_len);
    ck_assert_msg (error == NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq (back_len, len);
    ck_assert_mem_eq (back, plain, len);
  }
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (st.packets_unprotected, 3);
  kc_srtp_session_get_stats (other, &st);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_AUTH], 3);
}
END_TEST

/* Each direction has its own key: what the caller sends, only the callee's
 * caller-to-callee receiver opens; a key from another call opens nothing. */
START_TEST (test_directions_and_wrong_key)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSecret) other_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  g_autoptr(KcSrtpSession) reverse = session_for (call_key, suite, KC_DIRECTION_CALLEE_TO_CALLER, KC_SRTP_ROLE_RECEIVE);
  g_autoptr(KcSrtpSession) stranger = session_for (other_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  guint8 buf[BUF_SIZE];
  gsize n = protect_ok (tx, buf, make_rtp (buf, 7, SSRC), FALSE);
  g_autoptr(GError) e1 = try_unprotect (reverse, buf, n, FALSE, NULL, NULL);
  g_autoptr(GError) e2 = try_unprotect (stranger, buf, n, FALSE, NULL, NULL);
  g_autoptr(GError) e3 = try_unprotect (rx, buf, n, FALSE, NULL, NULL);
  KcSrtpStats st;

  ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_CRYPTO));
  ck_assert_msg (strstr (e1->message, "authentication failed (wrong key or forged packet)") &&
                 strstr (e1->message, "srtp_err_status_auth_fail") &&
                 strstr (e1->message, "seq 7"), "%s", e1->message);
  ck_assert (g_error_matches (e2, KC_ERROR, KC_ERROR_CRYPTO));
  ck_assert_msg (e3 == NULL, "%s", e3 ? e3->message : "");

  kc_srtp_session_get_stats (reverse, &st);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_AUTH], 1);
  ck_assert_uint_eq (rejected_total (&st), 1);
  ck_assert_uint_eq (st.packets_unprotected, 0);
  kc_srtp_session_get_stats (stranger, &st);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_AUTH], 1);
  ck_assert_uint_eq (st.packets_unprotected, 0);
}
END_TEST

START_TEST (test_replay)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  guint8 pkts[200][BUF_SIZE];
  gsize lens[200];
  GError *e;
  KcSrtpStats st;

  for (int i = 0; i < 200; i++)
    lens[i] = protect_ok (tx, pkts[i], make_rtp (pkts[i], 1000 + i, SSRC), FALSE);

  ck_assert_ptr_null (try_unprotect (rx, pkts[0], lens[0], FALSE, NULL, NULL));
  e = try_unprotect (rx, pkts[0], lens[0], FALSE, NULL, NULL);
  ck_assert (g_error_matches (e, KC_ERROR, KC_ERROR_CRYPTO));
  ck_assert_msg (strstr (e->message, "replayed packet") && strstr (e->message, "srtp_err_status_replay_fail"),
                 "%s", e->message);
  g_clear_error (&e);

  /* Reordering inside the window is fine; outside it is a replay. */
  ck_assert_ptr_null (try_unprotect (rx, pkts[199], lens[199], FALSE, NULL, NULL));
  e = try_unprotect (rx, pkts[50], lens[50], FALSE, NULL, NULL);
  ck_assert (g_error_matches (e, KC_ERROR, KC_ERROR_CRYPTO));
  g_clear_error (&e);
  ck_assert_ptr_null (try_unprotect (rx, pkts[150], lens[150], FALSE, NULL, NULL));
  e = try_unprotect (rx, pkts[199], lens[199], FALSE, NULL, NULL);
  ck_assert (g_error_matches (e, KC_ERROR, KC_ERROR_CRYPTO));
  g_clear_error (&e);

  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (st.packets_unprotected, 3);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_REPLAY], 3);
  ck_assert_uint_eq (rejected_total (&st), 3);

  /* RTCP has its own replay list. */
  {
    guint8 buf[BUF_SIZE];
    gsize n = protect_ok (tx, buf, make_rtcp (buf, SSRC), TRUE);

    ck_assert_ptr_null (try_unprotect (rx, buf, n, TRUE, NULL, NULL));
    e = try_unprotect (rx, buf, n, TRUE, NULL, NULL);
    ck_assert (g_error_matches (e, KC_ERROR, KC_ERROR_CRYPTO));
    g_clear_error (&e);
    kc_srtp_session_get_stats (rx, &st);
    ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_REPLAY], 4);
  }
}
END_TEST

/* Sending one sequence number twice would reuse keystream: refused. */
START_TEST (test_protect_twice_refused)
{
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  guint8 buf[BUF_SIZE];
  gsize n;
  g_autoptr(GError) error = NULL;
  KcSrtpStats st;

  protect_ok (tx, buf, make_rtp (buf, 9, SSRC), FALSE);
  ck_assert (!kc_srtp_protect_rtp (tx, buf, make_rtp (buf, 9, SSRC), sizeof buf, &n, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO));
  ck_assert_msg (strstr (error->message, "Could not protect outgoing RTP packet"), "%s", error->message);
  kc_srtp_session_get_stats (tx, &st);
  ck_assert_uint_eq (st.packets_protected, 1);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_REPLAY], 1);
}
END_TEST

/* Every prefix of a valid packet is refused and counted; none crashes or
 * reads past its end (each copy is exactly its length, for ASan/valgrind);
 * the whole packet still opens afterwards. */
START_TEST (test_truncated)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  guint8 rtp[BUF_SIZE], rtcp[BUF_SIZE];
  gsize n = protect_ok (tx, rtp, make_rtp (rtp, 3, SSRC), FALSE);
  gsize m = protect_ok (tx, rtcp, make_rtcp (rtcp, SSRC), TRUE);
  gsize short_rtp = 12 + rtp_overhead[suite], short_rtcp = 8 + rtcp_overhead[suite];
  KcSrtpStats st;

  for (gsize len = 0; len < n; len++) {
    g_autoptr(GError) e = try_unprotect (rx, rtp, len, FALSE, NULL, NULL);

    ck_assert_msg (e != NULL, "a %zu-byte prefix was accepted", len);
    ck_assert_int_eq (e->code, len < short_rtp ? KC_ERROR_INVALID : KC_ERROR_CRYPTO);
    if (len < 12)
      ck_assert_msg (strstr (e->message, "shorter than the 12-byte RTP header"), "%s", e->message);
  }
  for (gsize len = 0; len < m; len++) {
    g_autoptr(GError) e = try_unprotect (rx, rtcp, len, TRUE, NULL, NULL);

    ck_assert_msg (e != NULL, "a %zu-byte SRTCP prefix was accepted", len);
    ck_assert_int_eq (e->code, len < short_rtcp ? KC_ERROR_INVALID : KC_ERROR_CRYPTO);
  }
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (rejected_total (&st), n + m);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_MALFORMED], short_rtp + short_rtcp);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_AUTH], n - short_rtp + m - short_rtcp);

  ck_assert_ptr_null (try_unprotect (rx, rtp, n, FALSE, NULL, NULL));
  ck_assert_ptr_null (try_unprotect (rx, rtcp, m, TRUE, NULL, NULL));
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (st.packets_unprotected, 2);
}
END_TEST

/* One flipped bit anywhere in payload or tag fails authentication; in the
 * header it fails too (malformed or unauthentic). */
START_TEST (test_bit_flips)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  guint8 pkt[BUF_SIZE];
  gsize n = protect_ok (tx, pkt, make_rtp (pkt, 11, SSRC), FALSE);
  KcSrtpStats st;

  for (gsize i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      g_autoptr(GError) e = NULL;

      pkt[i] ^= 1 << bit;
      e = try_unprotect (rx, pkt, n, FALSE, NULL, NULL);
      pkt[i] ^= 1 << bit;
      ck_assert_msg (e != NULL, "flip of bit %d in byte %zu accepted", bit, i);
      if (i >= 12)
        ck_assert_msg (g_error_matches (e, KC_ERROR, KC_ERROR_CRYPTO), "byte %zu: %s", i, e->message);
    }
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (rejected_total (&st), n * 8);
  ck_assert_uint_ge (st.rejected[KC_SRTP_REJECT_AUTH], (n - 1) * 8);
  ck_assert_ptr_null (try_unprotect (rx, pkt, n, FALSE, NULL, NULL));
}
END_TEST

/* The header is checked before libsrtp reads it: CSRC list and extension
 * lengths must fit. A well-formed header with both round-trips. */
START_TEST (test_header_checks)
{
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  static const struct {
    guint8      byte0;
    gsize       len;
    guint8      ext_words;
    const char *message;
  } bad[] = {
    { 0x40, 60, 0, "not RTP version 2" },
    { 0x8f, 60, 0, "shorter than its CSRC list" },        /* 15 CSRCs = 72 bytes */
    { 0x90, 14, 0, "truncated in its header extension" },
    { 0x90, 60, 255, "shorter than its header extension" },
  };
  guint8 buf[BUF_SIZE], plain[BUF_SIZE], back[BUF_SIZE];
  gsize len, n, back_len = 0;
  g_autoptr(GError) error = NULL;
  KcSrtpStats st;

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    make_rtp (buf, 1, SSRC);
    buf[0] = bad[i].byte0;
    buf[14] = 0;
    buf[15] = bad[i].ext_words;
    ck_assert (!kc_srtp_protect_rtp (tx, buf, bad[i].len, sizeof buf, &n, &e1));
    ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_INVALID));
    ck_assert_msg (strstr (e1->message, bad[i].message), "%s", e1->message);
    e2 = try_unprotect (rx, buf, bad[i].len, FALSE, NULL, NULL);
    ck_assert (g_error_matches (e2, KC_ERROR, KC_ERROR_INVALID));
    ck_assert_msg (strstr (e2->message, bad[i].message), "%s", e2->message);
  }
  kc_srtp_session_get_stats (tx, &st);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_MALFORMED], G_N_ELEMENTS (bad));
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_MALFORMED], G_N_ELEMENTS (bad));

  /* Two CSRCs and a two-word extension (RFC 8285 one-byte form). */
  len = make_rtp (plain, 2, SSRC);
  plain[0] = 0x92;
  plain[20] = 0xbe, plain[21] = 0xde, plain[22] = 0, plain[23] = 2;
  memcpy (buf, plain, len);
  n = protect_ok (tx, buf, len, FALSE);
  ck_assert_mem_eq (buf, plain, 12 + 8 + 12);
  error = try_unprotect (rx, buf, n, FALSE, back, &back_len);
  ck_assert_msg (error == NULL, "%s", error ? error->message : "");
  ck_assert_mem_eq (back, plain, len);
}
END_TEST

START_TEST (test_buffer_limits)
{
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  g_autofree guint8 *big = g_malloc0 (KC_SRTP_MAX_PACKET + 1 + KC_SRTP_MAX_TRAILER);
  guint8 buf[BUF_SIZE];
  gsize len = make_rtp (buf, 1, SSRC), n = 0;
  g_autoptr(GError) e1 = NULL;
  g_autoptr(GError) e2 = NULL;
  g_autoptr(GError) e3 = NULL;
  KcSrtpStats st;

  ck_assert (!kc_srtp_protect_rtp (tx, buf, len, len + KC_SRTP_MAX_TRAILER - 1, &n, &e1));
  ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_TOO_LARGE));
  ck_assert_msg (strstr (e1->message, "KC_SRTP_MAX_TRAILER"), "%s", e1->message);
  make_rtp (big, 1, SSRC);
  ck_assert (!kc_srtp_protect_rtp (tx, big, KC_SRTP_MAX_PACKET + 1, KC_SRTP_MAX_PACKET + 1 + KC_SRTP_MAX_TRAILER, &n, &e2));
  ck_assert (g_error_matches (e2, KC_ERROR, KC_ERROR_TOO_LARGE));
  ck_assert (!kc_srtp_unprotect_rtp (rx, big, KC_SRTP_MAX_PACKET + 1, &n, &e3));
  ck_assert (g_error_matches (e3, KC_ERROR, KC_ERROR_TOO_LARGE));
  ck_assert_uint_eq (n, 0);

  kc_srtp_session_get_stats (tx, &st);
  ck_assert_uint_eq (st.packets_protected, 0);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_OTHER], 1);
  ck_assert_uint_eq (st.rejected[KC_SRTP_REJECT_MALFORMED], 1);
  /* The refused packet did not advance anything: it still protects. */
  protect_ok (tx, buf, len, FALSE);
}
END_TEST

START_TEST (test_new_errors)
{
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSecret) aes_cm_key = kc_srtp_key_derive (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, NULL);
  g_autoptr(GError) e1 = NULL;
  g_autoptr(GError) e2 = NULL;

  ck_assert_ptr_null (kc_srtp_session_new (KC_SUITE_AEAD_AES_128_GCM, KC_DIRECTION_CALLER_TO_CALLEE,
                                           KC_SRTP_ROLE_SEND, aes_cm_key, &e1));
  ck_assert (g_error_matches (e1, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (strstr (e1->message, "AEAD_AES_128_GCM") && strstr (e1->message, "28") &&
                 strstr (e1->message, "30"), "%s", e1->message);
  ck_assert_ptr_null (kc_srtp_session_new (KC_SUITE_COUNT, KC_DIRECTION_CALLER_TO_CALLEE,
                                           KC_SRTP_ROLE_SEND, aes_cm_key, &e2));
  ck_assert (g_error_matches (e2, KC_ERROR, KC_ERROR_UNSUPPORTED));
}
END_TEST

typedef struct {
  KcSrtpSession *tx;
  gboolean       rtcp;
  guint8       (*pkts)[BUF_SIZE];
  gsize         *lens;
  int            count;
} ThreadJob;

static gpointer
protect_thread (gpointer data)
{
  ThreadJob *job = data;

  for (int i = 0; i < job->count; i++) {
    gsize len = job->rtcp ? make_rtcp (job->pkts[i], SSRC) : make_rtp (job->pkts[i], i, SSRC);

    job->lens[i] = protect_ok (job->tx, job->pkts[i], len, job->rtcp);
  }
  return NULL;
}

/* RTP and RTCP protected at once from two threads: calls are serialized,
 * so every packet comes out valid and is counted. */
START_TEST (test_threads)
{
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSrtpSession) tx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_RECEIVE);
  g_autofree guint8 (*rtp)[BUF_SIZE] = g_malloc (2000 * BUF_SIZE);
  g_autofree guint8 (*rtcp)[BUF_SIZE] = g_malloc (500 * BUF_SIZE);
  g_autofree gsize *rtp_lens = g_new (gsize, 2000);
  g_autofree gsize *rtcp_lens = g_new (gsize, 500);
  ThreadJob a = { tx, FALSE, rtp, rtp_lens, 2000 }, b = { tx, TRUE, rtcp, rtcp_lens, 500 };
  GThread *ta = g_thread_new ("rtp", protect_thread, &a);
  GThread *tb = g_thread_new ("rtcp", protect_thread, &b);
  KcSrtpStats st;

  g_thread_join (ta);
  g_thread_join (tb);
  for (int i = 0; i < 2000; i++)
    ck_assert_ptr_null (try_unprotect (rx, rtp[i], rtp_lens[i], FALSE, NULL, NULL));
  for (int i = 0; i < 500; i++)
    ck_assert_ptr_null (try_unprotect (rx, rtcp[i], rtcp_lens[i], TRUE, NULL, NULL));
  kc_srtp_session_get_stats (tx, &st);
  ck_assert_uint_eq (st.packets_protected, 2500);
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (st.packets_unprotected, 2500);
}
END_TEST

/* libsrtp's reference packets (test/srtp_driver.c, srtp_validate and
 * srtp_validate_gcm): the suites map onto the standard transforms. */
START_TEST (test_libsrtp_vectors)
{
  static const struct {
    KcSuite     suite;
    const char *key;
    const char *srtp;
    const char *srtcp;     /* SRTCP index 1 */
  } v[] = {
    { KC_SUITE_AES_CM_128_HMAC_SHA1_80,
      "e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aabe6",
      "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb",
      "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798" },
    { KC_SUITE_AEAD_AES_128_GCM,
      "000102030405060708090a0b0c0d0e0fa0a1a2a3a4a5a6a7a8a9aaab",
      "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392",
      "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001" },
  };
  const char *rtp_hex = "800f1234decafbadcafebabeabababababababababababababababab";
  const char *rtcp_hex = "81c8000bcafebabeabababababababababababababababab";

  for (gsize i = 0; i < G_N_ELEMENTS (v); i++) {
    g_autoptr(KcSrtpSession) tx = session_from_hex (v[i].suite, KC_SRTP_ROLE_SEND, v[i].key);
    g_autoptr(KcSrtpSession) rx = session_from_hex (v[i].suite, KC_SRTP_ROLE_RECEIVE, v[i].key);
    guint8 buf[BUF_SIZE], want[BUF_SIZE], plain[64], back[BUF_SIZE];
    gsize len = unhex (rtp_hex, plain), want_len = unhex (v[i].srtp, want), n, back_len = 0;
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;

    memcpy (buf, plain, len);
    n = protect_ok (tx, buf, len, FALSE);
    ck_assert_uint_eq (n, want_len);
    ck_assert_mem_eq (buf, want, n);
    e1 = try_unprotect (rx, want, want_len, FALSE, back, &back_len);
    ck_assert_msg (e1 == NULL, "%s", e1 ? e1->message : "");
    ck_assert_mem_eq (back, plain, len);

    /* The reference SRTCP packet carries index 1, libsrtp's first. */
    len = unhex (rtcp_hex, plain);
    memcpy (buf, plain, len);
    n = protect_ok (tx, buf, len, TRUE);
    want_len = unhex (v[i].srtcp, want);
    ck_assert_uint_eq (n, want_len);
    ck_assert_mem_eq (buf, want, n);
    e2 = try_unprotect (rx, want, want_len, TRUE, back, &back_len);
    ck_assert_msg (e2 == NULL, "%s", e2 ? e2->message : "");
    ck_assert_uint_eq (back_len, len);
    ck_assert_mem_eq (back, plain, len);
  }
}
END_TEST

/* RFC 3711 4.3.1 key derivation (kdr 0) with OpenSSL's AES, independent of
 * libsrtp: out = AES-CM(master key, IV = (salt XOR label << 48) << 16). */
static void
prf (const guint8 *master_key, const guint8 *master_salt, guint8 label, guint8 *out, gsize len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  guint8 iv[16] = { 0 }, zeros[64] = { 0 };
  int n;

  memcpy (iv, master_salt, 14);
  iv[7] ^= label;
  ck_assert (EVP_EncryptInit_ex (ctx, EVP_aes_128_ctr (), NULL, master_key, iv) == 1);
  ck_assert (EVP_EncryptUpdate (ctx, out, &n, zeros, (int) len) == 1);
  EVP_CIPHER_CTX_free (ctx);
}

static void
aes_cm (const guint8 *key, const guint8 *salt, guint32 ssrc, guint64 index, guint8 *data, gsize len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  guint8 iv[16] = { 0 };
  int n;

  memcpy (iv, salt, 14);
  for (int i = 0; i < 4; i++)
    iv[4 + i] ^= (ssrc >> (24 - 8 * i)) & 0xff;
  for (int i = 0; i < 6; i++)
    iv[8 + i] ^= (index >> (40 - 8 * i)) & 0xff;
  ck_assert (EVP_EncryptInit_ex (ctx, EVP_aes_128_ctr (), NULL, key, iv) == 1);
  ck_assert (EVP_EncryptUpdate (ctx, data, &n, data, (int) len) == 1);
  EVP_CIPHER_CTX_free (ctx);
}

START_TEST (test_independent_aes_cm)
{
  guint8 mk[16], ms[14], out[20], want[20];
  g_autoptr(KcSecret) call_key = random_call_key ();

  /* The PRF first, on RFC 3711 Appendix B.3. */
  unhex ("e1f97a0d3e018be0d64fa32c06de4139", mk);
  unhex ("0ec675ad498afeebb6960b3aabe6", ms);
  prf (mk, ms, 0, out, 16);
  ck_assert_mem_eq (out, want, unhex ("c61e7a93744f39ee10734afe3ff7a087", want));
  prf (mk, ms, 1, out, 20);
  ck_assert_mem_eq (out, want, unhex ("cebe321f6ff7716b6fd4ab49af256a156d38baa4", want));
  prf (mk, ms, 2, out, 14);
  ck_assert_mem_eq (out, want, unhex ("30cbbc08863d8c85d49db34a9ae1", want));

  /* Then a Keycall-derived key, both AES-CM suites, RTP and RTCP. */
  for (KcSuite suite = KC_SUITE_AES_CM_128_HMAC_SHA1_80; suite <= KC_SUITE_AES_CM_128_HMAC_SHA1_32; suite++) {
    g_autoptr(KcSecret) key_salt = kc_srtp_key_derive (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, NULL);
    g_autoptr(KcSrtpSession) tx = kc_srtp_session_new (suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND, key_salt, NULL);
    const guint8 *master = kc_secret_get_data (key_salt);
    guint8 ke[16], ka[20], ks[14], kce[16], kca[20], kcs[14], tag[EVP_MAX_MD_SIZE];
    guint8 got[BUF_SIZE], exp[BUF_SIZE];
    gsize len, n;
    unsigned int tag_len;
    guint8 roc[4] = { 0 };

    prf (master, master + 16, 0, ke, 16);
    prf (master, master + 16, 1, ka, 20);
    prf (master, master + 16, 2, ks, 14);
    prf (master, master + 16, 3, kce, 16);
    prf (master, master + 16, 4, kca, 20);
    prf (master, master + 16, 5, kcs, 14);

    len = make_rtp (got, 0x1234, SSRC);
    memcpy (exp, got, len);
    n = protect_ok (tx, got, len, FALSE);
    aes_cm (ke, ks, SSRC, 0x1234, exp + 12, len - 12);
    memcpy (exp + len, roc, 4);
    HMAC (EVP_sha1 (), ka, 20, exp, len + 4, tag, &tag_len);
    memcpy (exp + len, tag, rtp_overhead[suite]);
    ck_assert_uint_eq (n, len + rtp_overhead[suite]);
    ck_assert_mem_eq (got, exp, n);

    /* SRTCP: encrypted body, E|index (the index as sent), then an 80-bit
     * tag in both suites. */
    len = make_rtcp (got, SSRC);
    memcpy (exp, got, len);
    n = protect_ok (tx, got, len, TRUE);
    ck_assert_uint_eq (got[len] & 0x80, 0x80);
    aes_cm (kce, kcs, SSRC, (got[len] & 0x7fu) << 24 | got[len + 1] << 16 | got[len + 2] << 8 | got[len + 3],
            exp + 8, len - 8);
    memcpy (exp + len, got + len, 4);
    HMAC (EVP_sha1 (), kca, 20, exp, len + 4, tag, &tag_len);
    memcpy (exp + len + 4, tag, 10);
    ck_assert_uint_eq (n, len + 14);
    ck_assert_mem_eq (got, exp, n);
  }
}
END_TEST

/* GStreamer names of each suite's transforms (srtpdec caps, srtpenc enums). */
static const char *const gst_names[KC_SUITE_COUNT][4] = {
  { "aes-128-icm", "hmac-sha1-80", "aes-128-icm", "hmac-sha1-80" },
  { "aes-128-icm", "hmac-sha1-32", "aes-128-icm", "hmac-sha1-80" },
  { "aes-128-gcm", "null", "aes-128-gcm", "null" },
  { "aes-256-gcm", "null", "aes-256-gcm", "null" },
};

static GstBuffer *
key_buffer (const KcSecret *key)
{
  return gst_buffer_new_memdup (kc_secret_get_data (key), kc_secret_get_len (key));
}

static GstElement *
launch (const char *description)
{
  g_autoptr(GError) error = NULL;
  GstElement *pipeline;

  gst_init (NULL, NULL);
  pipeline = gst_parse_launch (description, &error);
  ck_assert_msg (pipeline != NULL, "%s", error ? error->message : "?");
  return pipeline;
}

static GstElement *
by_name (GstElement *pipeline, const char *name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);

  ck_assert_ptr_nonnull (e);
  gst_object_unref (e);     /* the pipeline keeps it alive */
  return e;
}

static void
push (GstElement *src, const guint8 *data, gsize len)
{
  ck_assert_int_eq (gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_new_memdup (data, len)), GST_FLOW_OK);
}

/* Next buffer out of @sink, copied into @out; FALSE at EOS. */
static gboolean
pull (GstElement *sink, guint8 *out, gsize *len)
{
  g_autoptr(GstSample) sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
  GstBuffer *b;

  if (sample == NULL)
    return FALSE;
  b = gst_sample_get_buffer (sample);
  ck_assert_uint_le (gst_buffer_get_size (b), BUF_SIZE);
  *len = gst_buffer_extract (b, 0, out, BUF_SIZE);
  return TRUE;
}

/* "appsrc name=src ! srtpdec ! appsink name=sink" for RTP or RTCP, keyed
 * through the caps. One pipeline each: srtpdec 1.22 sets up its libsrtp
 * session from each pad's caps without a lock, so caps arriving on its RTP
 * and RTCP pads at once race (seen here: packets lost with no_ctx). */
static GstElement *
srtpdec_pipeline (gboolean rtcp, KcSuite suite, const KcSecret *key)
{
  GstElement *pipeline = launch (rtcp ? "appsrc name=src ! dec.rtcp_sink srtpdec name=dec dec.rtcp_src "
                                        "! appsink name=sink sync=false async=false"
                                      : "appsrc name=src ! srtpdec ! appsink name=sink sync=false async=false");
  g_autoptr(GstBuffer) kbuf = key_buffer (key);
  g_autoptr(GstCaps) caps = gst_caps_new_simple (rtcp ? "application/x-srtcp" : "application/x-srtp",
                                                 "ssrc", G_TYPE_UINT, SSRC,
                                                 "srtp-key", GST_TYPE_BUFFER, kbuf,
                                                 "srtp-cipher", G_TYPE_STRING, gst_names[suite][0],
                                                 "srtp-auth", G_TYPE_STRING, gst_names[suite][1],
                                                 "srtcp-cipher", G_TYPE_STRING, gst_names[suite][2],
                                                 "srtcp-auth", G_TYPE_STRING, gst_names[suite][3],
                                                 "roc", G_TYPE_UINT, 0, NULL);

  g_object_set (by_name (pipeline, "src"), "caps", caps, "format", GST_FORMAT_TIME, NULL);
  ck_assert_int_ne (gst_element_set_state (pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  return pipeline;
}

/* GStreamer's srtpdec, given only the key and the suite's names, decrypts
 * what Keycall sent, RTP and RTCP, and drops a forged packet. */
START_TEST (test_gstreamer_decrypts)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSecret) key = kc_srtp_key_derive (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, NULL);
  g_autoptr(KcSrtpSession) tx = session_for (call_key, suite, KC_DIRECTION_CALLER_TO_CALLEE, KC_SRTP_ROLE_SEND);
  g_autoptr(GstElement) rtp = srtpdec_pipeline (FALSE, suite, key);
  g_autoptr(GstElement) rtcp = srtpdec_pipeline (TRUE, suite, key);
  guint8 plain[BUF_SIZE], buf[BUF_SIZE], got[BUF_SIZE];
  gsize len, n;

  for (int i = 0; i < 20; i++) {
    len = make_rtp (plain, 500 + i, SSRC);
    memcpy (buf, plain, len);
    n = protect_ok (tx, buf, len, FALSE);
    if (i == 10) {           /* a forged copy first: srtpdec must drop it */
      buf[40] ^= 0x01;
      push (by_name (rtp, "src"), buf, n);
      buf[40] ^= 0x01;
    }
    push (by_name (rtp, "src"), buf, n);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (by_name (rtp, "src")));
  for (int i = 0; i < 20; i++) {
    make_rtp (plain, 500 + i, SSRC);
    ck_assert_msg (pull (by_name (rtp, "sink"), got, &n), "srtpdec gave %d packets of 20", i);
    ck_assert_uint_eq (n, RTP_LEN);
    ck_assert_mem_eq (got, plain, RTP_LEN);
  }
  ck_assert (!pull (by_name (rtp, "sink"), got, &n));   /* the forgery never came out */

  len = make_rtcp (plain, SSRC);
  memcpy (buf, plain, len);
  n = protect_ok (tx, buf, len, TRUE);
  push (by_name (rtcp, "src"), buf, n);
  gst_app_src_end_of_stream (GST_APP_SRC (by_name (rtcp, "src")));
  ck_assert (pull (by_name (rtcp, "sink"), got, &n));
  ck_assert_uint_eq (n, len);
  ck_assert_mem_eq (got, plain, len);
  gst_element_set_state (rtp, GST_STATE_NULL);
  gst_element_set_state (rtcp, GST_STATE_NULL);
}
END_TEST

/* And the other way: GStreamer's srtpenc protects, Keycall unprotects. */
START_TEST (test_gstreamer_encrypts)
{
  KcSuite suite = (KcSuite) _i;
  g_autoptr(KcSecret) call_key = random_call_key ();
  g_autoptr(KcSecret) key = kc_srtp_key_derive (call_key, suite, KC_DIRECTION_CALLEE_TO_CALLER, NULL);
  g_autoptr(KcSrtpSession) rx = session_for (call_key, suite, KC_DIRECTION_CALLEE_TO_CALLER, KC_SRTP_ROLE_RECEIVE);
  g_autoptr(GstElement) pipeline = launch ("appsrc name=rtp caps=application/x-rtp,media=audio,payload=96,"
                                           "clock-rate=48000,encoding-name=OPUS format=time "
                                           "! srtpenc name=enc ! appsink name=out sync=false");
  g_autoptr(GstBuffer) kbuf = key_buffer (key);
  GstElement *enc = by_name (pipeline, "enc");
  guint8 plain[BUF_SIZE], got[BUF_SIZE], back[BUF_SIZE];
  gsize len, n, back_len;
  KcSrtpStats st;

  g_object_set (enc, "key", kbuf, NULL);
  gst_util_set_object_arg (G_OBJECT (enc), "rtp-cipher", gst_names[suite][0]);
  gst_util_set_object_arg (G_OBJECT (enc), "rtp-auth", gst_names[suite][1]);
  gst_util_set_object_arg (G_OBJECT (enc), "rtcp-cipher", gst_names[suite][2]);
  gst_util_set_object_arg (G_OBJECT (enc), "rtcp-auth", gst_names[suite][3]);
  ck_assert_int_ne (gst_element_set_state (pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

  for (int i = 0; i < 20; i++) {
    len = make_rtp (plain, 7000 + i, SSRC);
    push (by_name (pipeline, "rtp"), plain, len);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (by_name (pipeline, "rtp")));
  for (int i = 0; i < 20; i++) {
    g_autoptr(GError) error = NULL;

    ck_assert_msg (pull (by_name (pipeline, "out"), got, &n), "srtpenc gave %d packets of 20", i);
    ck_assert_uint_eq (n, RTP_LEN + rtp_overhead[suite]);
    error = try_unprotect (rx, got, n, FALSE, back, &back_len);
    ck_assert_msg (error == NULL, "%s", error ? error->message : "");
    make_rtp (plain, 7000 + i, SSRC);
    ck_assert_uint_eq (back_len, RTP_LEN);
    ck_assert_mem_eq (back, plain, RTP_LEN);
  }
  kc_srtp_session_get_stats (rx, &st);
  ck_assert_uint_eq (st.packets_unprotected, 20);
  gst_element_set_state (pipeline, GST_STATE_NULL);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("srtp");
  TCase *tc = tcase_create ("core");

  tcase_add_loop_test (tc, test_round_trip, 0, KC_SUITE_COUNT);
  tcase_add_loop_test (tc, test_rtcp_round_trip, 0, KC_SUITE_COUNT);
  tcase_add_loop_test (tc, test_directions_and_wrong_key, 0, KC_SUITE_COUNT);
  tcase_add_loop_test (tc, test_replay, 0, KC_SUITE_COUNT);
  tcase_add_test (tc, test_protect_twice_refused);
  tcase_add_loop_test (tc, test_truncated, 0, KC_SUITE_COUNT);
  tcase_add_loop_test (tc, test_bit_flips, 0, KC_SUITE_COUNT);
  tcase_add_test (tc, test_header_checks);
  tcase_add_test (tc, test_buffer_limits);
  tcase_add_test (tc, test_new_errors);
  tcase_add_test (tc, test_threads);
  tcase_add_test (tc, test_libsrtp_vectors);
  tcase_add_test (tc, test_independent_aes_cm);
  tcase_add_loop_test (tc, test_gstreamer_decrypts, 0, KC_SUITE_COUNT);
  tcase_add_loop_test (tc, test_gstreamer_encrypts, 0, KC_SUITE_COUNT);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
