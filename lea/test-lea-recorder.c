/* test-lea-recorder: the LEA's X3 content port against copies made here the
 * way a relay makes them: real SRTP from a real encoder, the call key sealed
 * with HPKE to the LEA's key, X3 headers from kc-li-wire, UDP on 127.0.0.1.
 * Copies sent before the key and the call record are kept and recorded;
 * missing sequence numbers count as lost; replayed, forged and foreign
 * datagrams are refused by reason; each direction's tone lands in its
 * channel; a key that does not open or does not match is refused.
 */
#include "config.h"

#include "kc-lea-recorder.h"
#include "kc-lea-wav.h"

#include "kc-audio-device.h"
#include "kc-codec.h"
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-li-wire.h"
#include "kc-srtp.h"

#include "../tests/kc-test.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define CALL_ID "c0ffee-1@lea.test"
#define SUITE   KC_SUITE_AES_CM_128_HMAC_SHA1_80

typedef struct {
  char              *dir;
  KcSecret          *lea_sk;
  guint8             lea_pk[KC_HPKE_PUBLIC_KEY_LEN];
  KcSecret          *call_key;
  KcKeyId            key_id;
  char               key_hex[KC_KEY_ID_TEXT_LEN];
  char               fp[KC_FINGERPRINT_LEN];
  GBytes            *enc, *sealed;
  KcLeaRecorder     *rec;
  GSocket           *out;
  GSocketAddress    *to;
  KcEncoder         *encoder[2];
  KcSrtpSession     *srtp[2];
  guint              frame[2];       /* next packet to send */
  GPtrArray         *packets[2];      /* protected RTP, GBytes */
  guint32            seq;
  gboolean           recorded;
  KcLeaRecording     result;
  char              *record_path, *wav_path;
} Fixture;

static void
on_recorded (const KcLeaRecording *r, gpointer user_data)
{
  Fixture *f = user_data;

  f->recorded = TRUE;
  f->result = *r;
  f->record_path = g_strdup (r->record_path);
  f->wav_path = g_strdup (r->wav_path);
}

static void
fixture_init (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  KcLeaRecorderFuncs funcs = { NULL, on_recorded, NULL };
  const char *addr;

  memset (f, 0, sizeof *f);
  kc_secure_heap_init ();
  f->dir = kc_test_mkdtemp ();
  ck_assert (kc_hpke_keypair_generate (&f->lea_sk, f->lea_pk, &error));
  f->call_key = kc_call_key_new_random (&error);
  ck_assert (f->call_key != NULL);
  kc_key_id_generate (&f->key_id);
  kc_key_id_to_hex (&f->key_id, f->key_hex);
  kc_secret_fingerprint (f->call_key, f->fp);
  ck_assert (kc_hpke_seal_call_key (f->lea_pk, &f->key_id, CALL_ID, f->call_key, &f->enc,
                                    &f->sealed, &error));
  f->rec = kc_lea_recorder_new ("127.0.0.1:0", f->dir, f->lea_sk, &funcs, f, &error);
  ck_assert_msg (f->rec != NULL, "%s", error ? error->message : "");
  addr = kc_lea_recorder_get_address (f->rec);
  ck_assert (g_str_has_prefix (addr, "127.0.0.1:"));
  f->to = g_inet_socket_address_new_from_string ("127.0.0.1",
                                                  (guint) atoi (strrchr (addr, ':') + 1));
  f->out = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP,
                         &error);
  ck_assert (f->out != NULL);
  for (int d = 0; d < 2; d++) {
    f->encoder[d] = kc_encoder_new (KC_CODEC_PCMU, 0, KC_CODEC_DTMF_PT_DEFAULT, 0x1000 + d,
                                    &error);
    ck_assert_msg (f->encoder[d] != NULL, "%s", error ? error->message : "");
    f->srtp[d] = kc_srtp_session_new_for_call (f->call_key, SUITE, (KcDirection) d,
                                               KC_SRTP_ROLE_SEND, &error);
    ck_assert (f->srtp[d] != NULL);
    f->packets[d] = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  }
}

static void
fixture_clear (Fixture *f)
{
  g_clear_pointer (&f->rec, kc_lea_recorder_free);
  for (int d = 0; d < 2; d++) {
    g_clear_pointer (&f->encoder[d], kc_encoder_free);
    g_clear_pointer (&f->srtp[d], kc_srtp_session_free);
    g_clear_pointer (&f->packets[d], g_ptr_array_unref);
  }
  g_clear_object (&f->out);
  g_clear_object (&f->to);
  g_clear_pointer (&f->enc, g_bytes_unref);
  g_clear_pointer (&f->sealed, g_bytes_unref);
  g_clear_pointer (&f->call_key, kc_secret_free);
  g_clear_pointer (&f->lea_sk, kc_secret_free);
  g_free (f->record_path);
  g_free (f->wav_path);
  kc_test_rmtree (f->dir);
  g_free (f->dir);
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
}

static void
send_raw (Fixture *f, const guint8 *data, gsize len)
{
  g_autoptr(GError) error = NULL;

  ck_assert_int_eq (g_socket_send_to (f->out, f->to, (const char *) data, len, NULL, &error),
                    (gssize) len);
}

static void
send_copy (Fixture *f, const char *call_id, KcDirection d, const guint8 *pkt, gsize len,
           guint32 seq)
{
  guint8 dgram[2048];
  gsize n = kc_li_x3_encode (dgram, sizeof dgram, call_id, d, FALSE, seq, pkt, len);

  ck_assert (n > 0);
  send_raw (f, dgram, n);
}

/* Encodes @n_frames of direction @d's tone (1000 Hz caller→callee, 1500 Hz
 * back) and protects each packet: what the relay would copy, in order. */
static void
encode_direction (Fixture *f, KcDirection d, guint n_frames)
{
  double freq = d == KC_DIRECTION_CALLER_TO_CALLEE ? 1000.0 : 1500.0;
  g_autoptr(GError) error = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  GBytes *rtp;

  for (guint n = 0; n <= n_frames; n++) {
    if (n < n_frames) {
      for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++) {
        double t = (double) (n * KC_AUDIO_FRAME_SAMPLES + i) / KC_AUDIO_RATE;

        frame[i] = (gint16) (8000.0 * sin (2.0 * G_PI * freq * t));
      }
      ck_assert (kc_encoder_push_frame (f->encoder[d], frame, &error));
    } else {
      kc_encoder_finish (f->encoder[d]);
    }
    while ((rtp = kc_encoder_pull_packet (f->encoder[d], &error)) != NULL) {
      guint8 buf[2048];
      gsize len = g_bytes_get_size (rtp);

      memcpy (buf, g_bytes_get_data (rtp, NULL), len);
      g_bytes_unref (rtp);
      ck_assert (kc_srtp_protect_rtp (f->srtp[d], buf, len, sizeof buf, &len, &error));
      g_ptr_array_add (f->packets[d], g_bytes_new (buf, len));
    }
    ck_assert_ptr_null (error);
  }
}

/* The next SRTP packet of direction @d. */
static gsize
next_packet (Fixture *f, KcDirection d, guint8 *buf, gsize size)
{
  GBytes *b;
  gsize len;

  if (f->packets[d]->len == 0)
    encode_direction (f, d, 120);
  ck_assert_uint_lt (f->frame[d], f->packets[d]->len);
  b = g_ptr_array_index (f->packets[d], f->frame[d]++);
  len = g_bytes_get_size (b);
  ck_assert_uint_le (len, size);
  memcpy (buf, g_bytes_get_data (b, NULL), len);
  return len;
}

static KcLeaKeyDelivery
key_delivery (Fixture *f)
{
  KcLeaKeyDelivery k = {
    .controller_name = "gc1", .tap = "T-1", .kind = KC_LEA_TAP_FUTURE, .call_id = CALL_ID,
    .key_id_hex = f->key_hex, .caller = "1001", .callee = "2001",
    .created = "2026-11-28T16:04:05.123456Z", .fingerprint = f->fp,
    .enc = f->enc, .sealed = f->sealed,
  };

  return k;
}

static double
tone_power (const gint16 *x, gsize n, gsize stride, double freq)
{
  double c = 2.0 * cos (2.0 * G_PI * freq / KC_AUDIO_RATE), s1 = 0, s2 = 0;

  for (gsize i = 0; i < n; i++) {
    double s0 = x[i * stride] + c * s1 - s2;

    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) * 2.0 / ((double) n * n);
}

START_TEST (test_records_what_waited_for_the_key)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *wav = NULL;
  gsize wav_len = 0;
  char fp[KC_FINGERPRINT_LEN];
  guint8 pkt[2048], first[2048];
  gsize first_len = 0;
  KcLeaKeyDelivery key;
  KcLeaCallDelivery call = { "T-1", CALL_ID, "2026-11-28T16:04:06Z", "PCMU", 0, 8000,
                             "AES_CM_128_HMAC_SHA1_80" };
  KcLeaEndDelivery end = { "T-1", CALL_ID, "2026-11-28T16:04:10Z", "answered" };
  guint sent[2] = { 0, 0 };
  JsonObject *root, *refused, *packets;

  fixture_init (&f);
  key = key_delivery (&f);
  /* 100 pairs (2 s); the first 25 before key and call record; seqs 60 and
   * 61 never sent (lost); one replay and one forgery with seqs of their own. */
  for (guint i = 0; i < 100; i++) {
    for (int d = 0; d < 2; d++) {
      gsize len = next_packet (&f, (KcDirection) d, pkt, sizeof pkt);
      guint32 seq = f.seq++;

      if (i == 0 && d == 0) {
        memcpy (first, pkt, len);
        first_len = len;
      }
      if (seq == 60 || seq == 61)
        continue;
      send_copy (&f, CALL_ID, (KcDirection) d, pkt, len, seq);
      sent[d]++;
    }
    if (i == 25) {
      ck_assert (kc_lea_recorder_add_key (f.rec, &key, fp, NULL, &error));
      ck_assert_str_eq (fp, f.fp);
      ck_assert (kc_lea_recorder_set_call (f.rec, &call, &error));
    }
    if (i == 50) {
      guint8 forged[172];

      send_copy (&f, CALL_ID, KC_DIRECTION_CALLER_TO_CALLEE, first, first_len, f.seq++);
      /* The first packet's header with an RTP sequence number not seen yet
       * (else it is a replay before it is a forgery), then noise. */
      memcpy (forged, first, 12);
      {
        guint16 rtp_seq = (guint16) (((first[2] << 8) | first[3]) + 300);

        forged[2] = rtp_seq >> 8;
        forged[3] = rtp_seq & 0xff;
      }
      for (gsize b = 12; b < sizeof forged; b++)
        forged[b] = (guint8) g_random_int ();
      send_copy (&f, CALL_ID, KC_DIRECTION_CALLER_TO_CALLEE, forged, sizeof forged, f.seq++);
    }
    spin (20);
  }
  kc_lea_recorder_end_call (f.rec, &end);
  for (int i = 0; i < 500 && !f.recorded; i++)
    spin (10);
  ck_assert_msg (f.recorded, "the recording did not close after `end`");
  ck_assert_uint_eq (f.result.lost, 2);
  ck_assert_uint_eq (f.result.packets, sent[0] + sent[1]);
  ck_assert_msg (f.result.audio_seconds > 1.5 && f.result.audio_seconds < 2.6,
                 "%.2f s of audio for 2 s sent", f.result.audio_seconds);

  ck_assert (json_parser_load_from_file (parser, f.record_path, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  ck_assert_str_eq (json_object_get_string_member (root, "fingerprint"), f.fp);
  ck_assert_str_eq (json_object_get_string_member (root, "key_id"), f.key_hex);
  ck_assert_str_eq (json_object_get_string_member (root, "caller"), "1001");
  ck_assert_str_eq (json_object_get_string_member (root, "outcome"), "answered");
  refused = json_object_get_object_member (root, "refused");
  ck_assert_int_eq (json_object_get_int_member (refused, "replay"), 1);
  ck_assert_int_eq (json_object_get_int_member (refused, "auth"), 1);
  ck_assert_int_eq (json_object_get_int_member (refused, "no-key"), 0);
  packets = json_object_get_object_member (root, "packets");
  ck_assert_int_eq (json_object_get_int_member (
                      json_object_get_object_member (packets, "caller-to-callee"), "rtp"),
                    sent[0]);
  ck_assert_int_eq (json_object_get_int_member (
                      json_object_get_object_member (packets, "callee-to-caller"), "rtp"),
                    sent[1]);

  /* Left 1000 Hz, right 1500 Hz, each far above the other. */
  ck_assert (g_file_get_contents (f.wav_path, &wav, &wav_len, &error));
  ck_assert_uint_gt (wav_len, 44 + 4 * KC_AUDIO_RATE);
  ck_assert (memcmp (wav, "RIFF", 4) == 0 && wav[22] == 2);
  {
    const gint16 *s = (const gint16 *) (wav + 44);
    gsize frames = (wav_len - 44) / 4;
    double l1 = tone_power (s, frames, 2, 1000), l2 = tone_power (s, frames, 2, 1500);
    double r1 = tone_power (s + 1, frames, 2, 1000), r2 = tone_power (s + 1, frames, 2, 1500);

    ck_assert_msg (l1 > 100 * l2, "left: 1000 Hz %.0f, 1500 Hz %.0f", l1, l2);
    ck_assert_msg (r2 > 100 * r1, "right: 1500 Hz %.0f, 1000 Hz %.0f", r2, r1);
  }
  fixture_clear (&f);
}
END_TEST

START_TEST (test_refuses_keys_that_do_not_fit)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  char fp[KC_FINGERPRINT_LEN];
  KcLeaKeyDelivery key;

  fixture_init (&f);
  key = key_delivery (&f);
  key.fingerprint = "0000 0000 0000 0000";
  ck_assert (!kc_lea_recorder_add_key (f.rec, &key, fp, NULL, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO));
  ck_assert_msg (strstr (error->message, "announced") != NULL, "%s", error->message);
  g_clear_error (&error);

  /* Moved to another call's record: the Call-ID is bound in, it does not open. */
  key = key_delivery (&f);
  key.call_id = "another-call@lea.test";
  ck_assert (!kc_lea_recorder_add_key (f.rec, &key, fp, NULL, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO));
  g_clear_error (&error);

  key = key_delivery (&f);
  {
    gboolean is_new = FALSE;

    ck_assert (kc_lea_recorder_add_key (f.rec, &key, fp, &is_new, &error));
    ck_assert_str_eq (fp, f.fp);
    ck_assert (is_new);
    /* The same key again (another tap) changes nothing. */
    ck_assert (kc_lea_recorder_add_key (f.rec, &key, fp, &is_new, &error));
    ck_assert (!is_new);
  }
  fixture_clear (&f);
}
END_TEST

/* A tapped call that ended leaves a tombstone for a while (late copies
 * count as late); tombstones must not count against the calls open at
 * once, or a busy tap refuses keys (found by bench-calls: 8.5 tapped
 * calls/s filled the table in 30 s). */
static void
add_keyed_calls (Fixture *f, guint first, guint n, gboolean end)
{
  for (guint i = first; i < first + n; i++) {
    g_autofree char *call_id = g_strdup_printf ("call-%u@lea.test", i);
    g_autoptr(GBytes) enc = NULL, sealed = NULL;
    g_autoptr(GError) error = NULL;
    char fp[KC_FINGERPRINT_LEN];
    KcLeaKeyDelivery key = key_delivery (f);
    KcLeaEndDelivery stop = { "T-1", call_id, "2026-11-28T16:04:10Z", "answered" };

    ck_assert (kc_hpke_seal_call_key (f->lea_pk, &f->key_id, call_id, f->call_key, &enc,
                                      &sealed, &error));
    key.call_id = call_id;
    key.enc = enc;
    key.sealed = sealed;
    ck_assert_msg (kc_lea_recorder_add_key (f->rec, &key, fp, NULL, &error), "call %u: %s", i,
                   error ? error->message : "");
    if (end)
      kc_lea_recorder_end_call (f->rec, &stop);
  }
}

START_TEST (test_ended_calls_leave_room)
{
  Fixture f;
  g_autoptr(GError) error = NULL;
  char fp[KC_FINGERPRINT_LEN];
  KcLeaKeyDelivery key;

  fixture_init (&f);
  add_keyed_calls (&f, 0, 200, TRUE);
  /* Their recordings close once the end's grace period is over. */
  spin (2000);
  add_keyed_calls (&f, 200, 256, FALSE);
  /* Now 256 are open: one more is refused, with the reason. */
  key = key_delivery (&f);
  ck_assert (!kc_lea_recorder_add_key (f.rec, &key, fp, NULL, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE));
  ck_assert_msg (strstr (error->message, "256 calls in progress") != NULL, "%s", error->message);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_counts_what_belongs_to_no_recording)
{
  Fixture f;
  guint64 counts[KC_LEA_REFUSED_COUNT];
  guint8 pkt[2048];
  static const guint8 junk[] = "not a copy";

  fixture_init (&f);
  send_raw (&f, junk, sizeof junk);
  send_raw (&f, (const guint8 *) "KX3\x02\x00\x01\x00\x00\x00\x00x", 11);   /* version 2 */
  for (guint i = 0; i < 3; i++) {
    gsize len = next_packet (&f, KC_DIRECTION_CALLER_TO_CALLEE, pkt, sizeof pkt);

    send_copy (&f, "never-keyed@lea.test", KC_DIRECTION_CALLER_TO_CALLEE, pkt, len, i);
  }
  /* More than the buffer keeps for one call. */
  for (guint i = 0; i < 2010; i++) {
    guint8 small[40] = { 0x80, 0 };

    send_copy (&f, "flood@lea.test", KC_DIRECTION_CALLER_TO_CALLEE, small, sizeof small, i);
    if (i % 100 == 99)
      spin (5);
  }
  spin (200);
  kc_lea_recorder_close_all (f.rec);
  kc_lea_recorder_get_refused (f.rec, counts);
  ck_assert_uint_eq (counts[KC_LEA_REFUSED_NOT_X3], 2);
  ck_assert_uint_eq (counts[KC_LEA_REFUSED_NO_KEY], 3 + 2000);
  ck_assert_uint_eq (counts[KC_LEA_REFUSED_OVERFLOW], 10);
  ck_assert (!f.recorded);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_refuses_a_bad_content_address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) sk = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  g_autofree char *dir = kc_test_mkdtemp ();

  kc_secure_heap_init ();
  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  ck_assert (kc_lea_recorder_new ("localhost:47000", dir, sk, NULL, NULL, &error) == NULL);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  ck_assert (kc_lea_recorder_new ("127.0.0.1:99999", dir, sk, NULL, NULL, &error) == NULL);
  g_clear_error (&error);
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
lea_recorder_suite (void)
{
  Suite *s = suite_create ("lea-recorder");
  TCase *tc = tcase_create ("recorder");

  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_records_what_waited_for_the_key);
  tcase_add_test (tc, test_refuses_keys_that_do_not_fit);
  tcase_add_test (tc, test_ended_calls_leave_room);
  tcase_add_test (tc, test_counts_what_belongs_to_no_recording);
  tcase_add_test (tc, test_refuses_a_bad_content_address);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (lea_recorder_suite)
