/* test-media.c: KcMediaStream, two of them on 127.0.0.1.
 *
 * A tone sent by one stream comes out of the other (frequency checked);
 * the packets on the wire are SRTP, not RTP; a wrongly keyed, a replayed
 * and a truncated packet are each refused and counted by reason, and none
 * is played; RTCP reports flow both ways and give a round-trip time.
 */
#include "kc-test.h"

#include "kc-audio-device.h"
#include "kc-error.h"
#include "kc-keys.h"
#include "kc-media.h"

#include <math.h>
#include <string.h>

#define TONE_HZ 1000.0

typedef struct {
  KcMediaStream *a;
  KcMediaStream *b;
  KcSecret      *key;          /* the call key K */
  GArray        *heard;        /* gint16 from B */
  guint          phase;
} Pair;

static KcSecret *
srtp_key (const KcSecret *call_key,
          KcSuite         suite,
          KcDirection     direction)
{
  g_autoptr(GError) error = NULL;
  KcSecret *key = kc_srtp_key_derive (call_key, suite, direction, &error);

  ck_assert_msg (key != NULL, "%s", error ? error->message : "?");
  return key;
}

/* Starts @s as the caller (or callee) of a call with key @k, sending to
 * @peer's port. @bad_key: receive with a key that is not the peer's. */
static void
start (KcMediaStream  *s,
       KcMediaStream  *peer,
       const KcSecret *k,
       gboolean        caller,
       KcCodec         codec,
       KcSuite         suite,
       const KcSecret *bad_key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) send = NULL;
  g_autoptr(KcSecret) recv = NULL;
  KcDirection ours = caller ? KC_DIRECTION_CALLER_TO_CALLEE : KC_DIRECTION_CALLEE_TO_CALLER;
  KcDirection theirs = caller ? KC_DIRECTION_CALLEE_TO_CALLER : KC_DIRECTION_CALLER_TO_CALLEE;
  KcMediaParams p = {
    .remote_address = "127.0.0.1",
    .remote_rtp_port = kc_media_stream_get_port (peer),
    .codec = codec,
    .pt = kc_codec_get_default_pt (codec),
    .dtmf_pt = codec == KC_CODEC_OPUS ? 101 : 100,
    .suite = suite,
    .send_direction = ours,
    .cname = caller ? "a@test" : "b@test",
  };

  send = srtp_key (k, suite, ours);
  recv = srtp_key (bad_key != NULL ? bad_key : k, suite, theirs);
  ck_assert_msg (kc_media_stream_start (s, &p, send, recv, &error), "%s",
                 error ? error->message : "?");
}

static void
pair_init (Pair    *pair,
           KcCodec  codec,
           KcSuite  suite,
           gboolean wrong_key_at_b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) other = NULL;

  memset (pair, 0, sizeof *pair);
  pair->key = kc_call_key_new_random (&error);
  ck_assert (pair->key != NULL);
  other = kc_call_key_new_random (&error);
  pair->a = kc_media_stream_new ("127.0.0.1", &error);
  ck_assert_msg (pair->a != NULL, "%s", error ? error->message : "?");
  pair->b = kc_media_stream_new ("127.0.0.1", &error);
  ck_assert (pair->b != NULL);
  ck_assert_uint_eq (kc_media_stream_get_port (pair->a) % 2, 0);
  ck_assert_uint_ne (kc_media_stream_get_port (pair->a), kc_media_stream_get_port (pair->b));
  start (pair->a, pair->b, pair->key, TRUE, codec, suite, NULL);
  start (pair->b, pair->a, pair->key, FALSE, codec, suite, wrong_key_at_b ? other : NULL);
  pair->heard = g_array_new (FALSE, FALSE, sizeof (gint16));
}

static void
pair_clear (Pair *pair)
{
  g_clear_object (&pair->a);
  g_clear_object (&pair->b);
  g_clear_pointer (&pair->key, kc_secret_free);
  g_clear_pointer (&pair->heard, g_array_unref);
}

static void
tone_frame (Pair   *pair,
            gint16 *frame)
{
  for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++, pair->phase++)
    frame[i] = (gint16) (8000.0 * sin (2 * G_PI * TONE_HZ * pair->phase / KC_AUDIO_RATE));
}

/* @frames periods of 20 ms (run faster: 5 ms apart), A sending a tone
 * and B collecting what it receives. */
static void
run_call (Pair  *pair,
          guint  frames)
{
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];

  for (guint i = 0; i < frames + 20; i++) {
    gint64 until = g_get_monotonic_time () + 5000;

    if (i < frames) {
      tone_frame (pair, frame);
      kc_media_stream_send_frame (pair->a, frame);
      memset (frame, 0, sizeof frame);
      kc_media_stream_send_frame (pair->b, frame);
    }
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
    while (kc_media_stream_receive_frame (pair->b, frame))
      g_array_append_vals (pair->heard, frame, KC_AUDIO_FRAME_SAMPLES);
  }
}

/* Power at @hz over the whole signal, relative to its total power. */
static double
tone_ratio (const gint16 *x,
            gsize         n,
            double        hz)
{
  double w = 2 * G_PI * hz / KC_AUDIO_RATE;
  double s1 = 0, s2 = 0, total = 0, c = 2 * cos (w), power;

  for (gsize i = 0; i < n; i++) {
    double s0 = x[i] + c * s1 - s2;

    s2 = s1;
    s1 = s0;
    total += (double) x[i] * x[i];
  }
  power = s1 * s1 + s2 * s2 - c * s1 * s2;
  /* A pure sine of n samples gives power = total * n / 2. */
  return total > 0 ? power / (total * n / 2) : 0;
}

static void
check_tone (KcCodec codec,
            KcSuite suite)
{
  Pair pair;
  KcMediaStats sa, sb;
  const gint16 *heard;
  gsize n;

  pair_init (&pair, codec, suite, FALSE);
  run_call (&pair, 100);
  kc_media_stream_get_stats (pair.a, &sa);
  kc_media_stream_get_stats (pair.b, &sb);
  ck_assert_uint_eq (sa.frames_sent, 100);
  ck_assert_msg (sa.rtp_sent >= 95, "A sent %" G_GUINT64_FORMAT " packets", sa.rtp_sent);
  ck_assert_msg (sb.rtp_received >= sa.rtp_sent - 2, "B accepted %" G_GUINT64_FORMAT " of %"
                 G_GUINT64_FORMAT, sb.rtp_received, sa.rtp_sent);
  for (int r = 0; r < KC_SRTP_REJECT_COUNT; r++)
    ck_assert_uint_eq (sb.srtp_in.rejected[r], 0);
  ck_assert_msg (pair.heard->len >= 80 * KC_AUDIO_FRAME_SAMPLES, "B heard %u samples",
                 pair.heard->len);
  /* Skip the codec's start-up; the rest is the tone. */
  heard = (const gint16 *) pair.heard->data + 10 * KC_AUDIO_FRAME_SAMPLES;
  n = pair.heard->len - 10 * KC_AUDIO_FRAME_SAMPLES;
  ck_assert_msg (tone_ratio (heard, n, TONE_HZ) > 0.8,
                 "%s/%s: only %.2f of the power is at %.0f Hz", kc_codec_get_sdp_name (codec),
                 kc_suite_to_string (suite), tone_ratio (heard, n, TONE_HZ), TONE_HZ);
  ck_assert_msg (tone_ratio (heard, n, 1500) < 0.05, "power at 1500 Hz");
  pair_clear (&pair);
}

START_TEST (test_tone_opus)
{
  check_tone (KC_CODEC_OPUS, KC_SUITE_AES_CM_128_HMAC_SHA1_80);
}
END_TEST

START_TEST (test_tone_pcmu_gcm)
{
  check_tone (KC_CODEC_PCMU, KC_SUITE_AEAD_AES_128_GCM);
}
END_TEST

START_TEST (test_tone_pcma_gcm256)
{
  check_tone (KC_CODEC_PCMA, KC_SUITE_AEAD_AES_256_GCM);
}
END_TEST

START_TEST (test_wrong_key_never_played)
{
  Pair pair;
  KcMediaStats sb;

  pair_init (&pair, KC_CODEC_OPUS, KC_SUITE_DEFAULT, TRUE);
  run_call (&pair, 30);
  kc_media_stream_get_stats (pair.b, &sb);
  ck_assert_uint_eq (sb.rtp_received, 0);
  ck_assert_msg (sb.srtp_in.rejected[KC_SRTP_REJECT_AUTH] >= 28,
                 "auth rejections: %" G_GUINT64_FORMAT, sb.srtp_in.rejected[KC_SRTP_REJECT_AUTH]);
  ck_assert_uint_eq (sb.decoder.packets_in, 0);
  /* Nothing decoded: whatever B hands out is concealment, never audio. */
  for (guint i = 0; i < pair.heard->len; i++)
    ck_assert_int_eq (g_array_index (pair.heard, gint16, i), 0);
  pair_clear (&pair);
}
END_TEST

/* A socket that captures what A sends B: stands between them. */
static GSocket *
udp_socket (guint16 *port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) local = NULL;
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                             G_SOCKET_PROTOCOL_UDP, NULL);

  ck_assert (g_socket_bind (s, any, FALSE, NULL));
  local = g_socket_get_local_address (s, NULL);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_socket_set_timeout (s, 2);
  return s;
}

START_TEST (test_replay_and_truncated_counted)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) k = kc_call_key_new_random (&error);
  g_autoptr(KcMediaStream) a = kc_media_stream_new ("127.0.0.1", &error);
  g_autoptr(KcMediaStream) b = kc_media_stream_new ("127.0.0.1", &error);
  g_autoptr(GSocket) tap = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) to_b = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES] = { 0, };
  char packets[4][2048];
  gssize lens[4];
  guint16 tap_port;
  KcMediaStats sb;
  KcMediaParams p = { .remote_address = "127.0.0.1", .codec = KC_CODEC_PCMU, .pt = 0,
                      .dtmf_pt = 100, .suite = KC_SUITE_DEFAULT };
  g_autoptr(KcSecret) ka = NULL, kb = NULL;

  /* A sends to our tap instead of B; we pass packets on by hand. */
  tap = udp_socket (&tap_port);
  p.remote_rtp_port = tap_port;
  p.send_direction = KC_DIRECTION_CALLER_TO_CALLEE;
  ka = srtp_key (k, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE);
  kb = srtp_key (k, KC_SUITE_DEFAULT, KC_DIRECTION_CALLEE_TO_CALLER);
  ck_assert (kc_media_stream_start (a, &p, ka, kb, &error));
  start (b, a, k, FALSE, KC_CODEC_PCMU, KC_SUITE_DEFAULT, NULL);

  /* Send until four packets are out (a codec may hold a first frame back). */
  g_socket_set_timeout (tap, 0);
  g_socket_set_blocking (tap, FALSE);
  for (int got = 0, sent = 0; got < 4; ) {
    gssize n;

    ck_assert_msg (sent < 50, "A sent nothing to the tap after %d frames", sent);
    kc_media_stream_send_frame (a, frame);
    sent++;
    g_usleep (5000);
    while (got < 4
           && (n = g_socket_receive (tap, packets[got], sizeof packets[got], NULL, NULL)) > 0) {
      lens[got] = n;
      /* SRTP, not RTP: the 80-bit tag makes it 10 bytes longer than the
       * 12-byte header plus 160 bytes of PCMU. */
      ck_assert_int_eq (lens[got], 12 + 160 + 10);
      got++;
    }
  }
  to_b = g_inet_socket_address_new (lo, kc_media_stream_get_port (b));
  /* In order, then the first again (replay), then a truncated one. */
  for (int i = 0; i < 3; i++)
    ck_assert (g_socket_send_to (tap, to_b, packets[i], lens[i], NULL, NULL) == lens[i]);
  ck_assert (g_socket_send_to (tap, to_b, packets[0], lens[0], NULL, NULL) == lens[0]);
  ck_assert (g_socket_send_to (tap, to_b, packets[2], 8, NULL, NULL) == 8);
  /* A forged one: a flipped payload bit in a packet B has not seen. */
  packets[3][40] ^= 1;
  ck_assert (g_socket_send_to (tap, to_b, packets[3], lens[3], NULL, NULL) == lens[3]);

  for (int i = 0; i < 50; i++) {
    g_main_context_iteration (NULL, FALSE);
    g_usleep (2000);
  }
  kc_media_stream_get_stats (b, &sb);
  ck_assert_uint_eq (sb.rtp_received, 3);
  ck_assert_uint_eq (sb.srtp_in.rejected[KC_SRTP_REJECT_REPLAY], 1);
  ck_assert_uint_eq (sb.srtp_in.rejected[KC_SRTP_REJECT_MALFORMED], 1);
  ck_assert_uint_eq (sb.srtp_in.rejected[KC_SRTP_REJECT_AUTH], 1);
  ck_assert_uint_eq (sb.decoder.packets_in, 3);
}
END_TEST

START_TEST (test_rtcp_both_ways)
{
  Pair pair;
  KcMediaStats sa;

  pair_init (&pair, KC_CODEC_OPUS, KC_SUITE_DEFAULT, FALSE);
  /* Reports go every 5 s; stopping sends a BYE compound (with a report)
   * at once, which A processes. */
  run_call (&pair, 20);
  kc_media_stream_stop (pair.b);
  for (int i = 0; i < 50; i++) {
    g_main_context_iteration (NULL, FALSE);
    g_usleep (2000);
  }
  kc_media_stream_get_stats (pair.a, &sa);
  ck_assert_uint_eq (sa.rtcp_received, 1);
  ck_assert (sa.rtcp.has_remote_report);
  ck_assert_msg (sa.rtcp.remote_packets_lost <= 1, "B reports %" G_GINT64_FORMAT " lost",
                 sa.rtcp.remote_packets_lost);
  pair_clear (&pair);
}
END_TEST

START_TEST (test_errors)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcMediaStream) s = kc_media_stream_new ("not-an-ip", &error);
  g_autoptr(KcMediaStream) ok = NULL;
  g_autoptr(KcSecret) k = NULL;
  g_autoptr(KcSecret) short_key = kc_secret_new (5);
  KcMediaParams p = { .remote_address = "127.0.0.1", .remote_rtp_port = 9,
                      .codec = KC_CODEC_OPUS, .pt = 111, .dtmf_pt = -1,
                      .suite = KC_SUITE_DEFAULT };
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];

  ck_assert (s == NULL);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "not-an-ip") != NULL, "%s", error->message);
  g_clear_error (&error);

  ok = kc_media_stream_new ("127.0.0.1", &error);
  ck_assert (ok != NULL);
  /* Before start: nothing to receive, sending is ignored. */
  ck_assert (!kc_media_stream_receive_frame (ok, frame));
  kc_media_stream_send_frame (ok, frame);
  ck_assert (!kc_media_stream_send_dtmf (ok, '1', 100, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CLOSED));
  g_clear_error (&error);

  ck_assert (!kc_media_stream_start (ok, &p, short_key, short_key, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  p.remote_address = "nowhere";
  {
    g_autoptr(KcSecret) call_key = kc_call_key_new_random (NULL);

    k = srtp_key (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE);
  }
  ck_assert (!kc_media_stream_start (ok, &p, k, k, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);

  /* No telephone events negotiated. */
  p.remote_address = "127.0.0.1";
  ck_assert_msg (kc_media_stream_start (ok, &p, k, k, &error), "%s", error ? error->message : "");
  ck_assert (!kc_media_stream_send_dtmf (ok, '1', 100, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_UNSUPPORTED));
  kc_media_stream_stop (ok);
  kc_media_stream_stop (ok);
  ck_assert (!kc_media_stream_is_running (ok));
}
END_TEST

static void
on_dtmf (KcMediaStream *s,
         char           digit,
         guint          duration,
         GString       *got)
{
  (void) s;
  (void) duration;
  g_string_append_c (got, digit);
}

START_TEST (test_dtmf_end_to_end)
{
  Pair pair;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) got = g_string_new (NULL);

  pair_init (&pair, KC_CODEC_OPUS, KC_SUITE_DEFAULT, FALSE);
  g_signal_connect (pair.b, "dtmf", G_CALLBACK (on_dtmf), got);
  ck_assert (kc_media_stream_send_dtmf (pair.a, '4', 100, &error));
  ck_assert (kc_media_stream_send_dtmf (pair.a, '#', 100, &error));
  run_call (&pair, 40);
  ck_assert_str_eq (got->str, "4#");
  pair_clear (&pair);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("media");
  TCase *tc = tcase_create ("stream");

  tcase_add_test (tc, test_tone_opus);
  tcase_add_test (tc, test_tone_pcmu_gcm);
  tcase_add_test (tc, test_tone_pcma_gcm256);
  tcase_add_test (tc, test_wrong_key_never_played);
  tcase_add_test (tc, test_replay_and_truncated_counted);
  tcase_add_test (tc, test_rtcp_both_ways);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_dtmf_end_to_end);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
