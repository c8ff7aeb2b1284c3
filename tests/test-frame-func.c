/* test-frame-func.c: decoded frames handed out from the decoder's thread
 * (kc_decoder_set_frame_func(), kc_media_stream_set_frame_func()), as a
 * call on a sound device plays them: every frame reaches the function, in
 * order and not in the caller's thread, none is also kept for pulling;
 * once the function is cleared it is never called again and frames wait
 * for kc_decoder_pull_frame() as before. */
#include "config.h"

#include "kc-audio-device.h"
#include "kc-codec.h"
#include "kc-keys.h"
#include "kc-media.h"

#include "kc-test.h"

#include <gst/gst.h>
#include <string.h>

#define N_FRAMES 50
#define WAIT_US  (5 * G_TIME_SPAN_SECOND)   /* only reached if frames never come */

typedef struct {
  GMutex   lock;
  GThread *caller;
  guint    frames;
  guint    in_caller_thread;
  gint     last_peak;        /* largest |sample| of the last frame */
} Sink;

static void
sink_init (Sink *sink)
{
  memset (sink, 0, sizeof *sink);
  g_mutex_init (&sink->lock);
  sink->caller = g_thread_self ();
}

static void
on_frame (const gint16 *frame,
          gpointer      user_data)
{
  Sink *sink = user_data;

  g_mutex_lock (&sink->lock);
  sink->frames++;
  if (g_thread_self () == sink->caller)
    sink->in_caller_thread++;
  sink->last_peak = 0;
  for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
    sink->last_peak = MAX (sink->last_peak, ABS ((gint) frame[i]));
  g_mutex_unlock (&sink->lock);
}

static guint
sink_frames (Sink *sink)
{
  guint n;

  g_mutex_lock (&sink->lock);
  n = sink->frames;
  g_mutex_unlock (&sink->lock);
  return n;
}

/* Waits until @sink has @want frames, or WAIT_US. */
static guint
wait_frames (Sink  *sink,
             guint  want)
{
  gint64 until = g_get_monotonic_time () + WAIT_US;

  while (sink_frames (sink) < want && g_get_monotonic_time () < until)
    g_usleep (2000);
  return sink_frames (sink);
}

/* N_FRAMES PCMU packets of a 500 Hz square wave, loud enough to tell
 * the decoded frames from silence. */
static GPtrArray *
encode_frames (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEncoder) enc = kc_encoder_new (KC_CODEC_PCMU, 0, KC_CODEC_DTMF_PT_DEFAULT,
                                             0x1234abcd, &error);
  GPtrArray *packets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  GBytes *pkt;

  ck_assert_msg (enc != NULL, "encoder: %s", error ? error->message : "?");
  for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
    frame[i] = (gint16) ((i / 48) % 2 ? 4000 : -4000);    /* 500 Hz */
  for (guint i = 0; i < N_FRAMES; i++)
    {
      ck_assert (kc_encoder_push_frame (enc, frame, &error));
      while ((pkt = kc_encoder_pull_packet (enc, &error)) != NULL)
        g_ptr_array_add (packets, pkt);
      ck_assert_ptr_null (error);
    }
  ck_assert_uint_ge (packets->len, N_FRAMES - 1);
  return packets;
}

static void
push_range (KcDecoder *dec,
            GPtrArray *packets,
            guint      from,
            guint      to)
{
  for (guint i = from; i < to && i < packets->len; i++)
    {
      g_autoptr(GError) error = NULL;
      gsize len;
      const guint8 *data = g_bytes_get_data (packets->pdata[i], &len);

      ck_assert_msg (kc_decoder_push_packet (dec, data, len, &error), "packet %u: %s", i,
                     error ? error->message : "?");
    }
}

START_TEST (test_frames_to_func)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(KcDecoder) dec = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  KcDecoderStats stats;
  Sink sink;
  guint got;

  gst_init (NULL, NULL);
  sink_init (&sink);
  packets = encode_frames ();
  dec = kc_decoder_new (KC_CODEC_PCMU, 0, KC_CODEC_DTMF_PT_DEFAULT, 0, &error);
  ck_assert_msg (dec != NULL, "decoder: %s", error ? error->message : "?");
  kc_decoder_set_frame_func (dec, on_frame, &sink);
  push_range (dec, packets, 0, packets->len);
  /* Each packet is one frame (the first may lose a few samples to the
   * resampler's start, so one frame fewer is fine). */
  got = wait_frames (&sink, packets->len - 1);
  ck_assert_uint_ge (got, packets->len - 1);
  ck_assert_uint_eq (sink.in_caller_thread, 0);
  ck_assert_int_gt (sink.last_peak, 2000);
  /* Handed out, so not kept as well. */
  ck_assert (!kc_decoder_pull_frame (dec, frame, 0));
  kc_decoder_get_stats (dec, &stats);
  ck_assert_uint_eq (stats.frames_out, sink_frames (&sink));
  kc_decoder_set_frame_func (dec, NULL, NULL);
  g_mutex_clear (&sink.lock);
}
END_TEST

START_TEST (test_cleared_func)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) packets = NULL;
  g_autoptr(KcDecoder) dec = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  guint before, pulled = 0;
  Sink sink;

  gst_init (NULL, NULL);
  sink_init (&sink);
  packets = encode_frames ();
  dec = kc_decoder_new (KC_CODEC_PCMU, 0, KC_CODEC_DTMF_PT_DEFAULT, 0, &error);
  ck_assert (dec != NULL);
  kc_decoder_set_frame_func (dec, on_frame, &sink);
  push_range (dec, packets, 0, N_FRAMES / 2);
  ck_assert_uint_ge (wait_frames (&sink, N_FRAMES / 2 - 1), N_FRAMES / 2 - 1);
  kc_decoder_set_frame_func (dec, NULL, NULL);
  before = sink_frames (&sink);
  push_range (dec, packets, N_FRAMES / 2, packets->len);
  kc_decoder_finish (dec);
  /* The rest waits for the puller; the function hears nothing more. */
  while (kc_decoder_pull_frame (dec, frame, 2000))
    pulled++;
  ck_assert_uint_ge (pulled, packets->len - N_FRAMES / 2 - 1);
  ck_assert_uint_eq (sink_frames (&sink), before);
  g_mutex_clear (&sink.lock);
}
END_TEST

/* The same through KcMediaStream, the function set before the stream
 * starts (app/kc-cta-audio.c sets it on a running one). */
START_TEST (test_media_stream)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) k = kc_call_key_new_random (&error);
  g_autoptr(KcMediaStream) a = kc_media_stream_new ("127.0.0.1", &error);
  g_autoptr(KcMediaStream) b = kc_media_stream_new ("127.0.0.1", &error);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  KcMediaStats st;
  Sink sink;

  ck_assert (k != NULL && a != NULL && b != NULL);
  sink_init (&sink);
  kc_media_stream_set_frame_func (b, on_frame, &sink);
  for (int side = 0; side < 2; side++)
    {
      KcMediaStream *s = side == 0 ? a : b;
      KcDirection ours = side == 0 ? KC_DIRECTION_CALLER_TO_CALLEE
                                   : KC_DIRECTION_CALLEE_TO_CALLER;
      KcDirection theirs = side == 0 ? KC_DIRECTION_CALLEE_TO_CALLER
                                     : KC_DIRECTION_CALLER_TO_CALLEE;
      g_autoptr(KcSecret) send = kc_srtp_key_derive (k, KC_SUITE_AES_CM_128_HMAC_SHA1_80,
                                                     ours, NULL);
      g_autoptr(KcSecret) recv = kc_srtp_key_derive (k, KC_SUITE_AES_CM_128_HMAC_SHA1_80,
                                                     theirs, NULL);
      KcMediaParams p = {
        .remote_address = "127.0.0.1",
        .remote_rtp_port = kc_media_stream_get_port (side == 0 ? b : a),
        .codec = KC_CODEC_OPUS,
        .pt = kc_codec_get_default_pt (KC_CODEC_OPUS),
        .dtmf_pt = 101,
        .suite = KC_SUITE_AES_CM_128_HMAC_SHA1_80,
        .send_direction = ours,
      };

      ck_assert_msg (kc_media_stream_start (s, &p, send, recv, &error), "%s",
                     error ? error->message : "?");
    }
  for (guint i = 0; i < N_FRAMES; i++)
    {
      gint64 until = g_get_monotonic_time () + 5000;

      for (guint j = 0; j < KC_AUDIO_FRAME_SAMPLES; j++)
        frame[j] = (gint16) ((j / 24) % 2 ? 6000 : -6000);
      kc_media_stream_send_frame (a, frame);
      while (g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, FALSE);
    }
  for (gint64 until = g_get_monotonic_time () + WAIT_US;
       sink_frames (&sink) < N_FRAMES - 3 && g_get_monotonic_time () < until;)
    g_main_context_iteration (NULL, FALSE);
  ck_assert_uint_ge (sink_frames (&sink), N_FRAMES - 3);
  ck_assert_uint_eq (sink.in_caller_thread, 0);
  ck_assert (!kc_media_stream_receive_frame (b, frame));
  kc_media_stream_get_stats (b, &st);
  ck_assert_uint_eq (st.frames_received, sink_frames (&sink));
  ck_assert_uint_eq (st.srtp_in.rejected[KC_SRTP_REJECT_AUTH], 0);
  kc_media_stream_set_frame_func (b, NULL, NULL);
  kc_media_stream_stop (a);
  kc_media_stream_stop (b);
  g_mutex_clear (&sink.lock);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("frame-func");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_frames_to_func);
  tcase_add_test (tc, test_cleared_func);
  tcase_add_test (tc, test_media_stream);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
