/* test-cta-audio.c: KcCtaAudio, the softphone's audio ends and 20 ms clock,
 * with files: A plays a tone file into its stream, B writes what it
 * receives to a WAV file; mute silences A; the levels follow; bad specs
 * and files give clear errors.
 */
#include "kc-test.h"

#include "kc-audio-device.h"
#include "kc-audio-file.h"
#include "kc-cta-audio.h"
#include "kc-error.h"
#include "kc-keys.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static char *
temp_path (const char *name)
{
  static char *dir;

  if (dir == NULL)
    dir = g_dir_make_tmp ("test-cta-audio-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static void
write_tone (const char *path,
            double      hz,
            guint       frames)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioFileWriter) w = kc_audio_file_writer_new (path, &error);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  guint64 n = 0;

  ck_assert_msg (w != NULL, "%s", error ? error->message : "?");
  for (guint f = 0; f < frames; f++) {
    for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++, n++)
      frame[i] = (gint16) (8000 * sin (2 * G_PI * hz * n / KC_AUDIO_RATE));
    ck_assert (kc_audio_file_writer_write_frame (w, frame, &error));
  }
  ck_assert (kc_audio_file_writer_close (w, &error));
}

static void
start_pair (KcMediaStream **a,
            KcMediaStream **b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcSecret) k = kc_call_key_new_random (&error);
  g_autoptr(KcSecret) k1 = kc_srtp_key_derive (k, KC_SUITE_DEFAULT,
                                               KC_DIRECTION_CALLER_TO_CALLEE, &error);
  g_autoptr(KcSecret) k2 = kc_srtp_key_derive (k, KC_SUITE_DEFAULT,
                                               KC_DIRECTION_CALLEE_TO_CALLER, &error);
  KcMediaParams p = { .remote_address = "127.0.0.1", .codec = KC_CODEC_OPUS, .pt = 111,
                      .dtmf_pt = 101, .suite = KC_SUITE_DEFAULT };

  *a = kc_media_stream_new ("127.0.0.1", &error);
  *b = kc_media_stream_new ("127.0.0.1", &error);
  ck_assert (*a != NULL && *b != NULL);
  p.remote_rtp_port = kc_media_stream_get_port (*b);
  p.send_direction = KC_DIRECTION_CALLER_TO_CALLEE;
  ck_assert (kc_media_stream_start (*a, &p, k1, k2, &error));
  p.remote_rtp_port = kc_media_stream_get_port (*a);
  p.send_direction = KC_DIRECTION_CALLEE_TO_CALLER;
  ck_assert (kc_media_stream_start (*b, &p, k2, k1, &error));
}

static void
run_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

/* The share of power at @hz in frames [@from, @to) of @path, and the
 * frames' RMS in dBFS. */
static double
tone_share (const char *path,
            double      hz,
            guint       from,
            guint       to,
            double     *dbfs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioFileReader) r = kc_audio_file_reader_new (path, FALSE, &error);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  double w = 2 * G_PI * hz / KC_AUDIO_RATE, c = 2 * cos (w), s1 = 0, s2 = 0, total = 0;
  guint f = 0, n = 0;

  ck_assert_msg (r != NULL, "%s", error ? error->message : "?");
  while (kc_audio_file_reader_read_frame (r, frame, &error) && f < to) {
    if (f++ < from)
      continue;
    for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++, n++) {
      double s0 = frame[i] + c * s1 - s2;

      s2 = s1;
      s1 = s0;
      total += (double) frame[i] * frame[i];
    }
  }
  *dbfs = total > 0 ? 10 * log10 (total / n / (32768.0 * 32768.0)) : -100;
  return total > 0 ? (s1 * s1 + s2 * s2 - c * s1 * s2) / (total * n / 2) : 0;
}

START_TEST (test_file_to_file_and_mute)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *in = temp_path ("tone.wav");
  g_autofree char *out = temp_path ("heard.wav");
  g_autoptr(KcMediaStream) a = NULL;
  g_autoptr(KcMediaStream) b = NULL;
  g_autoptr(KcCtaAudio) audio_a = NULL;
  g_autoptr(KcCtaAudio) audio_b = NULL;
  g_autofree char *desc = NULL;
  g_autofree char *want = NULL;
  double in_db, out_db, share, rms;

  write_tone (in, 800, 150);
  start_pair (&a, &b);
  audio_a = kc_cta_audio_new (in, "none", a, &error);
  ck_assert_msg (audio_a != NULL, "%s", error ? error->message : "?");
  audio_b = kc_cta_audio_new ("none", out, b, &error);
  ck_assert_msg (audio_b != NULL, "%s", error ? error->message : "?");
  desc = kc_cta_audio_describe (audio_a, FALSE);
  want = g_strdup_printf ("file %s", in);
  ck_assert_str_eq (desc, want);
  ck_assert_ptr_null (kc_cta_audio_get_jack_client (audio_a));

  run_for (1000);
  kc_cta_audio_get_levels (audio_a, &in_db, NULL);
  kc_cta_audio_get_levels (audio_b, NULL, &out_db);
  /* 8000/32768 peak sine: about -15 dBFS RMS. */
  ck_assert_msg (in_db > -18 && in_db < -12, "A's input level %.1f dBFS", in_db);
  ck_assert_msg (out_db > -25, "B's output level %.1f dBFS", out_db);

  kc_cta_audio_set_muted (audio_a, TRUE);
  /* The level is the last frame sent's: wait for the next 20 ms tick,
   * which a loaded machine may run late (up to half a second here). */
  for (guint waited = 0; waited < 500; waited += 10) {
    run_for (10);
    kc_cta_audio_get_levels (audio_a, &in_db, NULL);
    if (in_db <= -100)
      break;
  }
  ck_assert_msg (in_db <= -100, "muted input level %.1f", in_db);
  run_for (800);
  g_clear_pointer (&audio_b, kc_cta_audio_free);   /* finishes the WAV */

  /* Unmuted second 0.3-0.9 s: the tone; the last 0.4 s muted: quiet. */
  share = tone_share (out, 800, 15, 45, &rms);
  ck_assert_msg (share > 0.8, "tone share %.2f before mute", share);
  tone_share (out, 800, 75, 85, &rms);
  ck_assert_msg (rms < -50, "%.1f dBFS while muted", rms);
}
END_TEST

START_TEST (test_parse_spec)
{
  g_autoptr(GError) error = NULL;
  KcCtaAudioKind kind;
  char *target = NULL;

  ck_assert (kc_cta_audio_parse_spec (NULL, "--audio-in", &kind, &target, &error));
  ck_assert_int_eq (kind, KC_CTA_AUDIO_NONE);
  ck_assert (kc_cta_audio_parse_spec ("default", "--audio-in", &kind, &target, &error));
  ck_assert_int_eq (kind, KC_CTA_AUDIO_DEVICE);
  ck_assert_ptr_null (target);
  ck_assert (kc_cta_audio_parse_spec ("device:3", "--audio-in", &kind, &target, &error));
  ck_assert_int_eq (kind, KC_CTA_AUDIO_DEVICE);
  ck_assert_str_eq (target, "3");
  g_free (target);
  ck_assert (kc_cta_audio_parse_spec ("file:none", "--audio-in", &kind, &target, &error));
  ck_assert_int_eq (kind, KC_CTA_AUDIO_FILE);
  ck_assert_str_eq (target, "none");
  g_free (target);
  ck_assert (kc_cta_audio_parse_spec ("a.wav", "--audio-in", &kind, &target, &error));
  ck_assert_int_eq (kind, KC_CTA_AUDIO_FILE);
  g_free (target);
  ck_assert (!kc_cta_audio_parse_spec ("device:", "--audio-out", &kind, &target, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "--audio-out") != NULL, "%s", error->message);
}
END_TEST

START_TEST (test_bad_files)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcMediaStream) a = NULL;
  g_autoptr(KcMediaStream) b = NULL;
  g_autofree char *missing = temp_path ("missing.wav");
  g_autofree char *unwritable = temp_path ("no/such/folder/out.wav");
  KcCtaAudio *audio;

  start_pair (&a, &b);
  audio = kc_cta_audio_new (missing, "none", a, &error);
  ck_assert_ptr_null (audio);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  g_clear_error (&error);
  audio = kc_cta_audio_new ("none", unwritable, a, &error);
  ck_assert_ptr_null (audio);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_IO));
  g_clear_error (&error);
  audio = kc_cta_audio_new ("device:one", "device:other", a, &error);
  ck_assert_ptr_null (audio);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("cta-audio");
  TCase *tc = tcase_create ("files");

  tcase_add_test (tc, test_file_to_file_and_mute);
  tcase_add_test (tc, test_parse_spec);
  tcase_add_test (tc, test_bad_files);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
