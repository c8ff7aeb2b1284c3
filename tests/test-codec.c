/* test-codec.c: Opus and G.711 through RTP and back, with loss, reordering,
 * RFC 4733 DTMF and garbage input. */
#include "config.h"

#include "kc-audio-device.h"
#include "kc-codec.h"
#include "kc-error.h"

#include "kc-test.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

#define N_FRAMES   50                 /* 1 s */
#define TONE_HZ    1000.0
#define AMPLITUDE  8000.0             /* about -12 dBFS */
#define SNR_FLOOR  20.0               /* dB */
#define RTP_MIN    12
#define PULL_MS    2000             /* only reached if the stream hangs */

static const KcCodec codecs[] = { KC_CODEC_OPUS, KC_CODEC_PCMU, KC_CODEC_PCMA };

static void
sine_frame (gint16 *frame,
            guint   index)
{
  for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
    {
      double t = (double) (index * KC_AUDIO_FRAME_SAMPLES + i) / KC_AUDIO_RATE;

      frame[i] = (gint16) lround (AMPLITUDE * sin (2 * G_PI * TONE_HZ * t));
    }
}

static guint
rtp_pt (GBytes *pkt)
{
  return ((const guint8 *) g_bytes_get_data (pkt, NULL))[1] & 0x7f;
}

static guint16
rtp_seq (GBytes *pkt)
{
  const guint8 *p = g_bytes_get_data (pkt, NULL);

  return (guint16) (p[2] << 8 | p[3]);
}

static guint32
rtp_ts (GBytes *pkt)
{
  const guint8 *p = g_bytes_get_data (pkt, NULL);

  return (guint32) p[4] << 24 | (guint32) p[5] << 16 | (guint32) p[6] << 8 | p[7];
}

/* Encodes 1 s of tone; @dtmf (may be NULL) is sent one digit at frame 5
 * and the next at frame 25. Returns every packet, in output order. */
static GPtrArray *
encode_tone (KcCodec     codec,
             const char *dtmf)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEncoder) enc = kc_encoder_new (codec, kc_codec_get_default_pt (codec),
                                             KC_CODEC_DTMF_PT_DEFAULT, 0x1234abcd,
                                             &error);
  GPtrArray *packets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  GBytes *pkt;

  ck_assert_msg (enc != NULL, "encoder: %s", error ? error->message : "?");
  ck_assert_uint_eq (kc_encoder_get_ssrc (enc), 0x1234abcd);
  for (guint i = 0; i < N_FRAMES; i++)
    {
      if (dtmf != NULL && (i == 5 || i == 25) && dtmf[i == 5 ? 0 : 1] != '\0')
        ck_assert (kc_encoder_send_dtmf (enc, dtmf[i == 5 ? 0 : 1], 100, NULL));
      sine_frame (frame, i);
      ck_assert_msg (kc_encoder_push_frame (enc, frame, &error),
                     "push: %s", error ? error->message : "?");
      while ((pkt = kc_encoder_pull_packet (enc, &error)) != NULL)
        g_ptr_array_add (packets, pkt);
      ck_assert_ptr_null (error);
    }
  kc_encoder_finish (enc);
  while ((pkt = kc_encoder_pull_packet (enc, &error)) != NULL)
    g_ptr_array_add (packets, pkt);
  ck_assert_ptr_null (error);
  return packets;
}

/* Decodes @packets (all pushed at once: the jitter buffer sorts them out)
 * and returns every sample that came out. */
static GArray *
decode (KcCodec         codec,
        GPtrArray      *packets,
        KcDecoderStats *stats)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcDecoder) dec = kc_decoder_new (codec, kc_codec_get_default_pt (codec),
                                             KC_CODEC_DTMF_PT_DEFAULT, 0, &error);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint16));
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];

  ck_assert_msg (dec != NULL, "decoder: %s", error ? error->message : "?");
  for (guint i = 0; i < packets->len; i++)
    {
      GBytes *pkt = packets->pdata[i];
      gsize len;
      const guint8 *data = g_bytes_get_data (pkt, &len);

      ck_assert_msg (kc_decoder_push_packet (dec, data, len, &error),
                     "packet %u: %s", i, error ? error->message : "?");
    }
  kc_decoder_finish (dec);
  while (kc_decoder_pull_frame (dec, frame, PULL_MS))
    g_array_append_vals (out, frame, KC_AUDIO_FRAME_SAMPLES);
  kc_decoder_get_stats (dec, stats);
  ck_assert_uint_eq (stats->frames_out, out->len / KC_AUDIO_FRAME_SAMPLES);
  return out;
}

/* Tone-to-rest power ratio at TONE_HZ (Goertzel), over whole periods of
 * the tone in the middle of @pcm, away from the codecs' start-up. */
static double
tone_snr (GArray *pcm)
{
  const guint period = KC_AUDIO_RATE / (guint) TONE_HZ;
  const guint skip = KC_AUDIO_RATE / 10;
  guint n;
  double coeff = 2 * cos (2 * G_PI * TONE_HZ / KC_AUDIO_RATE);
  double s1 = 0, s2 = 0, total = 0, tone, re, im;

  ck_assert_uint_gt (pcm->len, 3 * skip);
  n = (pcm->len - 2 * skip) / period * period;
  for (guint i = 0; i < n; i++)
    {
      double x = g_array_index (pcm, gint16, skip + i);
      double s0 = x + coeff * s1 - s2;

      s2 = s1;
      s1 = s0;
      total += x * x;
    }
  re = s1 - s2 * cos (2 * G_PI * TONE_HZ / KC_AUDIO_RATE);
  im = s2 * sin (2 * G_PI * TONE_HZ / KC_AUDIO_RATE);
  tone = 2 * (re * re + im * im) / ((double) n * n);
  total /= n;
  /* The tone must be there at about the level sent, not just clean. */
  ck_assert_msg (tone > AMPLITUDE * AMPLITUDE / 2 * 0.5,
                 "tone power %.0f, sent %.0f", tone, AMPLITUDE * AMPLITUDE / 2);
  return 10 * log10 (tone / MAX (total - tone, 1e-9));
}

static void
check_stream (KcCodec    codec,
              GPtrArray *packets)
{
  guint step = codec == KC_CODEC_OPUS ? 960 : 160;

  ck_assert_uint_ge (packets->len, N_FRAMES - 1);
  ck_assert_uint_le (packets->len, N_FRAMES + 1);
  for (guint i = 0; i < packets->len; i++)
    {
      ck_assert_uint_eq (rtp_pt (packets->pdata[i]), kc_codec_get_default_pt (codec));
      if (i > 0)
        {
          ck_assert_uint_eq ((guint16) (rtp_seq (packets->pdata[i - 1]) + 1),
                             rtp_seq (packets->pdata[i]));
          ck_assert_uint_eq (rtp_ts (packets->pdata[i]) - rtp_ts (packets->pdata[i - 1]),
                             step);
        }
    }
}

START_TEST (test_round_trip)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(GArray) pcm = NULL;
  KcDecoderStats stats;
  double snr;

  gst_init (NULL, NULL);
  packets = encode_tone (codec, NULL);
  check_stream (codec, packets);
  pcm = decode (codec, packets, &stats);
  snr = tone_snr (pcm);
  fprintf (stderr, "# %s: %u packets, %u frames out, SNR %.1f dB\n",
           kc_codec_get_sdp_name (codec), packets->len,
           pcm->len / KC_AUDIO_FRAME_SAMPLES, snr);
  ck_assert_msg (snr >= SNR_FLOOR, "%s: SNR %.1f dB", kc_codec_get_sdp_name (codec), snr);
  /* At most ~100 ms lost to codec and resampler delay. */
  ck_assert_uint_ge (pcm->len, (N_FRAMES - 5) * KC_AUDIO_FRAME_SAMPLES);
  ck_assert_uint_eq (stats.dropped_malformed + stats.dropped_pt, 0);
}
END_TEST

/* Latency: each 20 ms frame completes its packet when it is pushed. For
 * G.711 the resampler's filter delay must not make the packet wait for the
 * next frame (a whole period); the samples it spans are still all sent
 * (test_round_trip, check_stream). */
START_TEST (test_packet_per_frame)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEncoder) enc = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];

  gst_init (NULL, NULL);
  enc = kc_encoder_new (codec, kc_codec_get_default_pt (codec), KC_CODEC_DTMF_PT_DEFAULT,
                        7, &error);
  ck_assert_ptr_nonnull (enc);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GBytes) pkt = NULL;
      g_autoptr(GBytes) more = NULL;

      sine_frame (frame, i);
      ck_assert (kc_encoder_push_frame (enc, frame, NULL));
      pkt = kc_encoder_pull_packet (enc, &error);
      ck_assert_msg (pkt != NULL, "%s: frame %u gave no packet",
                     kc_codec_get_sdp_name (codec), i);
      more = kc_encoder_pull_packet (enc, &error);
      ck_assert_ptr_null (more);
      ck_assert_ptr_null (error);
      /* The whole frame: 160 samples of G.711, one byte each. */
      if (codec != KC_CODEC_OPUS)
        ck_assert_uint_eq (g_bytes_get_size (pkt), RTP_MIN + 160);
    }
}
END_TEST

START_TEST (test_lost_packet_concealed)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(GArray) clean = NULL;
  g_autoptr(GArray) lossy = NULL;
  KcDecoderStats stats;

  gst_init (NULL, NULL);
  packets = encode_tone (codec, NULL);
  clean = decode (codec, packets, &stats);
  g_ptr_array_remove_index (packets, N_FRAMES / 2);
  lossy = decode (codec, packets, &stats);
  fprintf (stderr, "# %s: clean %u, lossy %u samples, %" G_GUINT64_FORMAT
           " frames filled with silence\n", kc_codec_get_sdp_name (codec),
           clean->len, lossy->len, stats.frames_concealed);
  /* The missing 20 ms is played, so the timing holds: by opusdec's PLC for
   * Opus, by silence for G.711, which has none. */
  ck_assert_uint_eq (lossy->len, clean->len);
  if (codec == KC_CODEC_OPUS)
    ck_assert_uint_eq (stats.frames_concealed, 0);
  else
    ck_assert_uint_eq (stats.frames_concealed, 1);
  ck_assert_uint_ge (tone_snr (lossy), 10.0);
}
END_TEST

/* As on a call: packets arrive every 20 ms and the stream never ends, so
 * only the jitter buffer's timer can declare the lost packet. */
START_TEST (test_lost_packet_live)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(KcDecoder) dec = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  KcDecoderStats stats;
  guint frames = 0;

  gst_init (NULL, NULL);
  packets = encode_tone (codec, NULL);
  dec = kc_decoder_new (codec, kc_codec_get_default_pt (codec),
                        KC_CODEC_DTMF_PT_DEFAULT, 40, &error);
  ck_assert_ptr_nonnull (dec);
  for (guint i = 0; i < N_FRAMES; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (packets->pdata[i], &len);

      if (i != N_FRAMES / 2)
        ck_assert (kc_decoder_push_packet (dec, data, len, NULL));
      g_usleep (KC_AUDIO_FRAME_MS * 1000);
      while (kc_decoder_pull_frame (dec, frame, 0))
        frames++;
    }
  while (kc_decoder_pull_frame (dec, frame, 500))
    frames++;
  kc_decoder_get_stats (dec, &stats);
  fprintf (stderr, "# %s live: %u frames out of %u packets, %" G_GUINT64_FORMAT
           " filled with silence\n", kc_codec_get_sdp_name (codec), frames,
           N_FRAMES - 1, stats.frames_concealed);
  /* The frames after the loss came out (the buffer did not wait forever),
   * and the lost one was played too: 49 packets give 49 frames or more
   * (G.711 keeps a few samples in the resampler, Opus adds the lookahead). */
  ck_assert_uint_ge (frames, N_FRAMES - 1);
  ck_assert_uint_le (frames, N_FRAMES + 1);
}
END_TEST

START_TEST (test_reordered_packets)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(GArray) clean = NULL;
  g_autoptr(GArray) shuffled = NULL;
  KcDecoderStats stats;
  gpointer tmp;

  gst_init (NULL, NULL);
  packets = encode_tone (codec, NULL);
  clean = decode (codec, packets, &stats);
  for (guint i = 10; i < 40; i += 10)
    {
      tmp = packets->pdata[i];
      packets->pdata[i] = packets->pdata[i + 1];
      packets->pdata[i + 1] = tmp;
    }
  shuffled = decode (codec, packets, &stats);
  ck_assert_uint_eq (shuffled->len, clean->len);
  ck_assert_msg (memcmp (shuffled->data, clean->data, clean->len * sizeof (gint16)) == 0,
                 "reordered packets were not put back in order");
  ck_assert_uint_eq (stats.frames_concealed, 0);
}
END_TEST

static void
on_digit (char     digit,
          guint    duration_ms,
          gpointer user_data)
{
  GString *digits = user_data;

  g_string_append_printf (digits, "%c%u,", digit, duration_ms);
}

START_TEST (test_dtmf)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(KcDecoder) dec = NULL;
  g_autoptr(GString) digits = g_string_new (NULL);
  guint events = 0, ends = 0, audio = 0;
  guint32 event_ts = 0;

  gst_init (NULL, NULL);
  packets = encode_tone (codec, "1#");
  for (guint i = 0; i < packets->len; i++)
    {
      const guint8 *p = g_bytes_get_data (packets->pdata[i], NULL);

      /* One sequence space for audio and events, no gaps. */
      if (i > 0)
        ck_assert_uint_eq ((guint16) (rtp_seq (packets->pdata[i - 1]) + 1),
                           rtp_seq (packets->pdata[i]));
      if (rtp_pt (packets->pdata[i]) != KC_CODEC_DTMF_PT_DEFAULT)
        {
          audio++;
          continue;
        }
      ck_assert_uint_eq (g_bytes_get_size (packets->pdata[i]), 16);
      if (p[1] & 0x80)
        {
          events++;
          event_ts = rtp_ts (packets->pdata[i]);
          /* Timestamped on the audio's clock, at a frame the audio also has. */
          ck_assert_uint_eq ((event_ts - rtp_ts (packets->pdata[0]))
                             % (codec == KC_CODEC_OPUS ? 960 : 160), 0);
        }
      ck_assert_uint_eq (p[12], events == 1 ? 1 : 11);      /* "1", then "#" */
      ck_assert_uint_eq (rtp_ts (packets->pdata[i]), event_ts);
      if (p[13] & 0x80)
        ends++;
    }
  ck_assert_uint_eq (events, 2);                 /* marker on each start */
  ck_assert_uint_eq (ends, 6);                   /* end sent three times each */
  ck_assert_uint_ge (audio, N_FRAMES - 1);

  dec = kc_decoder_new (codec, kc_codec_get_default_pt (codec),
                        KC_CODEC_DTMF_PT_DEFAULT, 0, &error);
  ck_assert_ptr_nonnull (dec);
  kc_decoder_set_dtmf_func (dec, on_digit, digits);
  for (guint i = 0; i < packets->len; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (packets->pdata[i], &len);

      ck_assert (kc_decoder_push_packet (dec, data, len, NULL));
    }
  ck_assert_str_eq (digits->str, "1100,#100,");

  /* Not a digit, or too long: refused with a reason. */
  {
    g_autoptr(KcEncoder) enc = kc_encoder_new (codec, kc_codec_get_default_pt (codec),
                                               KC_CODEC_DTMF_PT_DEFAULT, 1, NULL);

    ck_assert (!kc_encoder_send_dtmf (enc, 'x', 100, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
    g_clear_error (&error);
    ck_assert (!kc_encoder_send_dtmf (enc, '5', 5000, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  }
}
END_TEST

START_TEST (test_garbage_dropped)
{
  KcCodec codec = codecs[_i];
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(KcDecoder) dec = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (4733);
  g_autoptr(GArray) pcm = g_array_new (FALSE, FALSE, sizeof (gint16));
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  KcDecoderStats stats;
  guint8 junk[200];
  guint refused = 0;

  gst_init (NULL, NULL);
  packets = encode_tone (codec, NULL);
  dec = kc_decoder_new (codec, kc_codec_get_default_pt (codec),
                        KC_CODEC_DTMF_PT_DEFAULT, 0, &error);
  ck_assert_ptr_nonnull (dec);
  for (guint i = 0; i < packets->len; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (packets->pdata[i], &len);
      g_autofree guint8 *wrong = g_memdup2 (data, len);
      guint junk_len = g_rand_int_range (rand, 0, sizeof junk);

      ck_assert (kc_decoder_push_packet (dec, data, len, NULL));
      /* Random bytes, kept off version 2 so none can pass as audio. */
      for (guint j = 0; j < junk_len; j++)
        junk[j] = (guint8) g_rand_int (rand);
      junk[0] &= 0x3f;
      ck_assert (!kc_decoder_push_packet (dec, junk, junk_len, &error));
      ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
      g_clear_error (&error);
      /* A well-formed packet of a payload type not negotiated. */
      wrong[1] = (wrong[1] & 0x80) | 96;
      ck_assert (!kc_decoder_push_packet (dec, wrong, len, &error));
      ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
      ck_assert_ptr_nonnull (strstr (error->message, "payload type 96"));
      g_clear_error (&error);
      refused += 2;
    }
  /* A truncated header. */
  ck_assert (!kc_decoder_push_packet (dec, (const guint8 *) "\x80\x00\x00", 3, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  refused++;
  g_clear_error (&error);
  /* Headers whose CSRC list or extension runs past the end. */
  {
    guint8 hdr[RTP_MIN] = { 0x8f, 0, 0, 1 };
    guint8 ext[RTP_MIN + 4] = { 0x90, 0, 0, 2 };

    hdr[1] = ext[1] = (guint8) kc_codec_get_default_pt (codec);
    ext[RTP_MIN + 3] = 50;    /* 200 bytes of extension announced */
    ck_assert (!kc_decoder_push_packet (dec, hdr, sizeof hdr, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
    g_clear_error (&error);
    ck_assert (!kc_decoder_push_packet (dec, ext, sizeof ext, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
    g_clear_error (&error);
    /* The extension flag set, and no room for its header at all. */
    ck_assert (!kc_decoder_push_packet (dec, ext, RTP_MIN, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
    refused += 3;
  }

  kc_decoder_finish (dec);
  while (kc_decoder_pull_frame (dec, frame, PULL_MS))
    g_array_append_vals (pcm, frame, KC_AUDIO_FRAME_SAMPLES);
  kc_decoder_get_stats (dec, &stats);
  ck_assert_uint_eq (stats.dropped_malformed + stats.dropped_pt, refused);
  ck_assert_uint_eq (stats.dropped_pt, packets->len);
  ck_assert_uint_ge (pcm->len, (N_FRAMES - 5) * KC_AUDIO_FRAME_SAMPLES);
  ck_assert (tone_snr (pcm) >= SNR_FLOOR);
}
END_TEST

START_TEST (test_sdp_names)
{
  g_autoptr(GError) error = NULL;
  KcCodec codec;

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++)
    {
      ck_assert (kc_codec_from_sdp_name (kc_codec_get_sdp_name (codecs[i]), &codec, NULL));
      ck_assert_int_eq (codec, codecs[i]);
    }
  ck_assert_str_eq (kc_codec_get_sdp_name (KC_CODEC_PCMU), "PCMU/8000");
  ck_assert_str_eq (kc_codec_get_dtmf_sdp_name (KC_CODEC_PCMA), "telephone-event/8000");
  ck_assert_uint_eq (kc_codec_get_default_pt (KC_CODEC_PCMA), 8);
  ck_assert (kc_codec_from_sdp_name ("OPUS/48000/2", &codec, NULL));
  ck_assert_int_eq (codec, KC_CODEC_OPUS);
  ck_assert (!kc_codec_from_sdp_name ("G729/8000", &codec, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_UNSUPPORTED));
  ck_assert_ptr_nonnull (strstr (error->message, "G729/8000"));
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("codec");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_sdp_names);
  tcase_add_loop_test (tc, test_round_trip, 0, G_N_ELEMENTS (codecs));
  tcase_add_loop_test (tc, test_packet_per_frame, 0, G_N_ELEMENTS (codecs));
  tcase_add_loop_test (tc, test_lost_packet_concealed, 0, G_N_ELEMENTS (codecs));
  tcase_add_loop_test (tc, test_lost_packet_live, 0, G_N_ELEMENTS (codecs));
  tcase_add_loop_test (tc, test_reordered_packets, 0, G_N_ELEMENTS (codecs));
  tcase_add_loop_test (tc, test_dtmf, 0, G_N_ELEMENTS (codecs));
  tcase_add_loop_test (tc, test_garbage_dropped, 0, G_N_ELEMENTS (codecs));
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
