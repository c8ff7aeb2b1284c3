/* test-audio-file.c: audio files in and out of headless calls: decoding and
 * resampling real files GStreamer made, frame alignment, looping, errors,
 * and WAV files that read back sample for sample. */
#include "config.h"

#include "kc-audio-device.h"
#include "kc-audio-file.h"
#include "kc-error.h"

#include "kc-test.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

#define FRAME_BYTES  (KC_AUDIO_FRAME_SAMPLES * sizeof (gint16))
#define MAX_FRAMES   500              /* 10 s: no test file is that long */
/* audiotestsrc's default volume, 0.8 of full scale. */
#define TEST_PEAK    (0.8 * 32767.0)

static char *tmpdir;

static void
setup (void)
{
  gst_init (NULL, NULL);
  tmpdir = kc_test_mkdtemp ();
}

static void
teardown (void)
{
  kc_test_rmtree (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* Runs a gst-launch style pipeline to its end; @desc has one %s for the
 * output file. */
static char *
make_file (const char *name,
           const char *desc)
{
  g_autofree char *path = tmp_path (name);
  g_autofree char *full = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GstElement) pipeline = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) msg = NULL;

  full = g_strdup_printf ("%s ! filesink location=\"%s\"", desc, path);
  pipeline = gst_parse_launch (full, &error);
  ck_assert_msg (pipeline != NULL, "%s: %s", full, error ? error->message : "?");
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
                                    GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ck_assert_msg (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS,
                 "making %s failed", name);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return g_steal_pointer (&path);
}

/* A 48 kHz mono 16-bit WAV written byte by byte, independent of the code
 * under test. */
static char *
make_wav (const char   *name,
          const gint16 *samples,
          guint         n)
{
  g_autofree char *path = tmp_path (name);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = g_malloc (44 + n * 2);

  memcpy (data, "RIFF", 4);
  GST_WRITE_UINT32_LE (data + 4, 36 + n * 2);
  memcpy (data + 8, "WAVEfmt ", 8);
  GST_WRITE_UINT32_LE (data + 16, 16);
  GST_WRITE_UINT16_LE (data + 20, 1);            /* PCM */
  GST_WRITE_UINT16_LE (data + 22, 1);            /* mono */
  GST_WRITE_UINT32_LE (data + 24, 48000);
  GST_WRITE_UINT32_LE (data + 28, 96000);
  GST_WRITE_UINT16_LE (data + 32, 2);
  GST_WRITE_UINT16_LE (data + 34, 16);
  memcpy (data + 36, "data", 4);
  GST_WRITE_UINT32_LE (data + 40, n * 2);
  for (guint i = 0; i < n; i++)
    GST_WRITE_UINT16_LE (data + 44 + 2 * i, (guint16) samples[i]);
  ck_assert_msg (g_file_set_contents (path, (char *) data, 44 + n * 2, &error),
                 "%s", error ? error->message : "");
  return g_steal_pointer (&path);
}

/* Distinct, non-zero, both signs: any shift, drop or byte swap shows. */
static gint16
pattern (guint i)
{
  return (gint16) ((i % 2400) * 13 + 1 - 15000);
}

/* Reads @path to its end; returns every sample, *frames set. */
static gint16 *
read_all (const char *path,
          guint      *frames)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcAudioFileReader) reader = kc_audio_file_reader_new (path, FALSE, &error);
  gint16 *all = g_new (gint16, MAX_FRAMES * KC_AUDIO_FRAME_SAMPLES);
  guint n = 0;

  ck_assert_msg (reader != NULL, "%s", error ? error->message : "");
  while (kc_audio_file_reader_read_frame (reader, all + n * KC_AUDIO_FRAME_SAMPLES, &error))
    {
      n++;
      ck_assert_uint_lt (n, MAX_FRAMES);
    }
  ck_assert_msg (error == NULL, "%s", error->message);
  ck_assert_uint_eq (kc_audio_file_reader_get_frames (reader), n);
  *frames = n;
  return all;
}

/* Share of the signal's power at @freq (Goertzel): about 1 for a pure
 * tone at @freq, about 0 for a tone elsewhere. */
static double
tone_share (const gint16 *x,
            guint         n,
            double        freq)
{
  double coeff = 2 * cos (2 * G_PI * freq / KC_AUDIO_RATE);
  double s1 = 0, s2 = 0, energy = 0;

  for (guint i = 0; i < n; i++)
    {
      double s = x[i] + coeff * s1 - s2;

      s2 = s1;
      s1 = s;
      energy += (double) x[i] * x[i];
    }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) * 2 / (n * energy);
}

static guint
zero_crossings (const gint16 *x,
                guint         n)
{
  guint count = 0;

  for (guint i = 1; i < n; i++)
    if ((x[i - 1] < 0) != (x[i] < 0))
      count++;
  return count;
}

static double
rms (const gint16 *x,
     guint         n)
{
  double sum = 0;

  for (guint i = 0; i < n; i++)
    sum += (double) x[i] * x[i];
  return sqrt (sum / n);
}

/* Half a second from @start, which the caller keeps away from the edges;
 * 1000 and 440 Hz make whole cycles in it, so Goertzel's bin is exact. */
#define WINDOW (KC_AUDIO_RATE / 2)

START_TEST (test_resamples_and_downmixes)
{
  /* 1 s at 44.1 kHz stereo: each channel the same 1 kHz tone. */
  g_autofree char *path = make_file ("tone.wav",
    "audiotestsrc wave=sine freq=1000 num-buffers=100 samplesperbuffer=441 "
    "! audio/x-raw,format=S16LE,rate=44100,channels=2 ! wavenc");
  guint frames;
  g_autofree gint16 *pcm = read_all (path, &frames);
  const gint16 *mid = pcm + KC_AUDIO_RATE / 4;

  /* 1 s is 50 frames; resampling may move the end by a few samples. */
  ck_assert_uint_ge (frames, 49);
  ck_assert_uint_le (frames, 51);
  /* Unresampled (44.1 kHz samples played at 48) it would be 1088 Hz. */
  ck_assert_uint_ge (zero_crossings (mid, WINDOW), 995);
  ck_assert_uint_le (zero_crossings (mid, WINDOW), 1005);
  ck_assert_double_gt (tone_share (mid, WINDOW, 1000), 0.95);
  /* Downmixed, not summed or halved: the level of one channel. */
  ck_assert_double_eq_tol (rms (mid, WINDOW), TEST_PEAK / G_SQRT2, TEST_PEAK * 0.03);
}
END_TEST

START_TEST (test_decodes_ogg_opus)
{
  g_autofree char *path = make_file ("tone.opus",
    "audiotestsrc wave=sine freq=440 num-buffers=50 samplesperbuffer=960 "
    "! audio/x-raw,rate=48000,channels=1 ! opusenc ! oggmux");
  guint frames;
  g_autofree gint16 *pcm = read_all (path, &frames);
  const gint16 *mid = pcm + KC_AUDIO_RATE / 4;

  ck_assert_uint_ge (frames, 49);
  ck_assert_uint_le (frames, 51);
  ck_assert_uint_ge (zero_crossings (mid, WINDOW), 437);
  ck_assert_uint_le (zero_crossings (mid, WINDOW), 443);
  ck_assert_double_gt (tone_share (mid, WINDOW, 440), 0.9);
  ck_assert_double_gt (rms (mid, WINDOW), TEST_PEAK / G_SQRT2 * 0.8);
}
END_TEST

/* Two recordings concatenated (a chained Ogg): decodebin swaps its pad at
 * the join, and the reader must follow into the second one. */
START_TEST (test_decodes_chained_ogg)
{
  g_autofree char *a = make_file ("a.opus",
    "audiotestsrc wave=sine freq=1000 num-buffers=50 samplesperbuffer=960 "
    "! audio/x-raw,rate=48000,channels=1 ! opusenc ! oggmux");
  g_autofree char *b = make_file ("b.opus",
    "audiotestsrc wave=sine freq=440 num-buffers=50 samplesperbuffer=960 "
    "! audio/x-raw,rate=48000,channels=1 ! opusenc ! oggmux");
  g_autofree char *path = tmp_path ("chain.opus");
  g_autofree char *da = NULL, *db = NULL, *joined = NULL;
  gsize la, lb;
  guint frames;
  g_autofree gint16 *pcm = NULL;

  ck_assert (g_file_get_contents (a, &da, &la, NULL));
  ck_assert (g_file_get_contents (b, &db, &lb, NULL));
  joined = g_malloc (la + lb);
  memcpy (joined, da, la);
  memcpy (joined + la, db, lb);
  ck_assert (g_file_set_contents (path, joined, la + lb, NULL));

  pcm = read_all (path, &frames);
  ck_assert_uint_ge (frames, 98);
  ck_assert_uint_le (frames, 102);
  ck_assert_double_gt (tone_share (pcm + KC_AUDIO_RATE / 4, WINDOW, 1000), 0.9);
  ck_assert_double_gt (tone_share (pcm + KC_AUDIO_RATE * 5 / 4, WINDOW, 440), 0.9);
}
END_TEST

START_TEST (test_pads_partial_last_frame)
{
  guint n = KC_AUDIO_FRAME_SAMPLES * 5 / 2;
  g_autofree gint16 *src = g_new (gint16, n);
  g_autofree char *path = NULL;
  g_autoptr(KcAudioFileReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];

  for (guint i = 0; i < n; i++)
    src[i] = pattern (i);
  path = make_wav ("partial.wav", src, n);
  reader = kc_audio_file_reader_new (path, FALSE, &error);
  ck_assert_msg (reader != NULL, "%s", error ? error->message : "");

  for (guint f = 0; f < 3; f++)
    {
      memset (frame, 0x55, sizeof frame);    /* the padding must be written */
      ck_assert (kc_audio_file_reader_read_frame (reader, frame, &error));
      for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
        {
          guint k = f * KC_AUDIO_FRAME_SAMPLES + i;

          ck_assert_msg (frame[i] == (k < n ? src[k] : 0),
                         "frame %u sample %u: %d", f, i, frame[i]);
        }
    }
  /* The end, twice: silence, no error, no more frames counted. */
  for (guint round = 0; round < 2; round++)
    {
      memset (frame, 0x55, sizeof frame);
      ck_assert (!kc_audio_file_reader_read_frame (reader, frame, &error));
      ck_assert (error == NULL);
      for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
        ck_assert_int_eq (frame[i], 0);
    }
  ck_assert_uint_eq (kc_audio_file_reader_get_frames (reader), 3);
}
END_TEST

/* Looping runs the file's samples end to start with no gap or padding,
 * through several loops. */
START_TEST (test_loops)
{
  guint n = KC_AUDIO_FRAME_SAMPLES * 5 / 2;
  g_autofree gint16 *src = g_new (gint16, n);
  g_autofree char *path = NULL;
  g_autoptr(KcAudioFileReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  guint total = 12;    /* 4.8 times through */

  for (guint i = 0; i < n; i++)
    src[i] = pattern (i);
  path = make_wav ("loop.wav", src, n);
  reader = kc_audio_file_reader_new (path, TRUE, &error);
  ck_assert_msg (reader != NULL, "%s", error ? error->message : "");

  for (guint f = 0; f < total; f++)
    {
      ck_assert_msg (kc_audio_file_reader_read_frame (reader, frame, &error),
                     "frame %u: %s", f, error ? error->message : "ended");
      for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
        {
          guint k = (f * KC_AUDIO_FRAME_SAMPLES + i) % n;

          ck_assert_msg (frame[i] == src[k], "frame %u sample %u: %d, want %d",
                         f, i, frame[i], src[k]);
        }
    }
  ck_assert_uint_eq (kc_audio_file_reader_get_frames (reader), total);
}
END_TEST

/* A file with no samples ends at once, looping or not, instead of
 * seeking forever. */
START_TEST (test_empty_audio_ends)
{
  g_autofree char *path = make_wav ("empty.wav", NULL, 0);

  for (int loop = 0; loop < 2; loop++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KcAudioFileReader) reader = kc_audio_file_reader_new (path, loop, &error);
      gint16 frame[KC_AUDIO_FRAME_SAMPLES];

      ck_assert_msg (reader != NULL, "%s", error ? error->message : "");
      ck_assert (!kc_audio_file_reader_read_frame (reader, frame, &error));
      ck_assert (error == NULL);
      ck_assert_uint_eq (kc_audio_file_reader_get_frames (reader), 0);
    }
}
END_TEST

START_TEST (test_missing_file)
{
  g_autofree char *path = tmp_path ("no-such.wav");
  g_autoptr(GError) error = NULL;

  ck_assert (kc_audio_file_reader_new (path, FALSE, &error) == NULL);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_NOT_FOUND));
  ck_assert_msg (strstr (error->message, "no-such.wav") != NULL, "%s", error->message);
}
END_TEST

/* Refused at once, naming the file and saying why (@reason, or when NULL
 * whatever GStreamer said, whose wording varies between versions); never a
 * hang. */
static void
assert_not_audio (const char *path,
                  const char *reason)
{
  const char *said;

  g_autoptr(GError) error = NULL;
  g_autofree char *base = g_path_get_basename (path);
  gint64 start = g_get_monotonic_time ();

  ck_assert (kc_audio_file_reader_new (path, FALSE, &error) == NULL);
  ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID),
                 "%s", error ? error->message : "no error");
  ck_assert_msg (strstr (error->message, base) != NULL, "%s", error->message);
  said = strstr (error->message, ": ");
  ck_assert_msg (said != NULL && strlen (said) > 5, "no reason: %s", error->message);
  if (reason != NULL)
    ck_assert_msg (strstr (said, reason) != NULL, "%s", error->message);
  ck_assert_int_lt (g_get_monotonic_time () - start, 3 * G_TIME_SPAN_SECOND);
}

START_TEST (test_not_audio)
{
  g_autofree char *text = tmp_path ("notes.txt");
  g_autofree char *empty = tmp_path ("empty.bin");
  g_autofree char *video = make_file ("video.ogg",
    "videotestsrc num-buffers=10 ! theoraenc ! oggmux");

  ck_assert (g_file_set_contents (text, "Not a sound in here.\n", -1, NULL));
  ck_assert (g_file_set_contents (empty, "", 0, NULL));
  assert_not_audio (text, NULL);
  assert_not_audio (empty, NULL);
  /* Decodable, but nothing to hear: no stream gets linked. */
  assert_not_audio (video, "no audio stream");
  assert_not_audio (tmpdir, "not a regular file");
}
END_TEST

/* Sound, then a video chain in the same Ogg: the reader gives the sound,
 * then fails, and keeps failing. */
START_TEST (test_fails_midway)
{
  g_autofree char *a = make_file ("a.opus",
    "audiotestsrc wave=sine freq=1000 num-buffers=50 samplesperbuffer=960 "
    "! audio/x-raw,rate=48000,channels=1 ! opusenc ! oggmux");
  g_autofree char *b = make_file ("b.ogg",
    "videotestsrc num-buffers=10 ! theoraenc ! oggmux");
  g_autofree char *path = tmp_path ("then-video.ogg");
  g_autofree char *da = NULL, *db = NULL, *joined = NULL;
  g_autoptr(KcAudioFileReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  gsize la, lb;
  guint frames = 0;

  ck_assert (g_file_get_contents (a, &da, &la, NULL));
  ck_assert (g_file_get_contents (b, &db, &lb, NULL));
  joined = g_malloc (la + lb);
  memcpy (joined, da, la);
  memcpy (joined + la, db, lb);
  ck_assert (g_file_set_contents (path, joined, la + lb, NULL));

  reader = kc_audio_file_reader_new (path, FALSE, &error);
  ck_assert_msg (reader != NULL, "%s", error ? error->message : "");
  while (kc_audio_file_reader_read_frame (reader, frame, &error))
    ck_assert_uint_lt (++frames, MAX_FRAMES);
  ck_assert_msg (error != NULL, "ended after %u frames without an error", frames);
  ck_assert_int_eq (error->code, KC_ERROR_INVALID);
  ck_assert_msg (strstr (error->message, "then-video.ogg") != NULL, "%s", error->message);
  ck_assert_msg (strstr (error->message, "not audio") != NULL, "%s", error->message);
  /* Most of the sound came first (the decoder may hold back its last
   * buffers when the stream fails). */
  ck_assert_uint_ge (frames, 40);
  g_clear_error (&error);
  ck_assert (!kc_audio_file_reader_read_frame (reader, frame, &error));
  ck_assert (error != NULL);
}
END_TEST

static guint32
le32 (const guint8 *p)
{
  return GST_READ_UINT32_LE (p);
}

/* Checks a 48 kHz mono 16-bit WAV with @frames frames, walking its chunks
 * as a reader would; returns the offset of the samples. */
static gsize
check_wav_header (const char *path,
                  guint       frames)
{
  g_autofree guint8 *data = NULL;
  gsize len, pos = 12, samples_at = 0;
  gboolean have_fmt = FALSE;

  ck_assert (g_file_get_contents (path, (char **) &data, &len, NULL));
  ck_assert_uint_ge (len, 44);
  ck_assert (memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WAVE", 4) == 0);
  ck_assert_uint_eq (le32 (data + 4), len - 8);
  while (pos + 8 <= len)
    {
      guint32 size = le32 (data + pos + 4);

      if (memcmp (data + pos, "fmt ", 4) == 0)
        {
          ck_assert_uint_eq (GST_READ_UINT16_LE (data + pos + 8), 1);     /* PCM */
          ck_assert_uint_eq (GST_READ_UINT16_LE (data + pos + 10), 1);    /* mono */
          ck_assert_uint_eq (le32 (data + pos + 12), 48000);
          ck_assert_uint_eq (le32 (data + pos + 16), 96000);
          ck_assert_uint_eq (GST_READ_UINT16_LE (data + pos + 22), 16);
          have_fmt = TRUE;
        }
      else if (memcmp (data + pos, "data", 4) == 0)
        {
          ck_assert_uint_eq (size, frames * FRAME_BYTES);
          ck_assert_uint_eq (pos + 8 + size, len);
          samples_at = pos + 8;
        }
      pos += 8 + size + (size & 1);
    }
  ck_assert (have_fmt);
  ck_assert_uint_gt (samples_at, 0);
  return samples_at;
}

START_TEST (test_writer_round_trip)
{
  g_autofree char *path = tmp_path ("out.wav");
  g_autoptr(KcAudioFileWriter) writer = NULL;
  g_autoptr(KcAudioFileReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  guint n = 7;
  gint16 frame[KC_AUDIO_FRAME_SAMPLES], back[KC_AUDIO_FRAME_SAMPLES];

  writer = kc_audio_file_writer_new (path, &error);
  ck_assert_msg (writer != NULL, "%s", error ? error->message : "");
  for (guint f = 0; f < n; f++)
    {
      for (guint i = 0; i < KC_AUDIO_FRAME_SAMPLES; i++)
        frame[i] = pattern (f * KC_AUDIO_FRAME_SAMPLES + i);
      frame[0] = G_MININT16;    /* the extremes survive too */
      frame[1] = G_MAXINT16;
      ck_assert_msg (kc_audio_file_writer_write_frame (writer, frame, &error),
                     "%s", error ? error->message : "");
    }
  ck_assert_uint_eq (kc_audio_file_writer_get_frames (writer), n);
  ck_assert_msg (kc_audio_file_writer_close (writer, &error), "%s",
                 error ? error->message : "");
  ck_assert (kc_audio_file_writer_close (writer, &error));    /* idempotent */
  check_wav_header (path, n);

  reader = kc_audio_file_reader_new (path, FALSE, &error);
  ck_assert_msg (reader != NULL, "%s", error ? error->message : "");
  for (guint f = 0; f < n; f++)
    {
      ck_assert (kc_audio_file_reader_read_frame (reader, back, &error));
      for (guint i = 2; i < KC_AUDIO_FRAME_SAMPLES; i++)
        ck_assert_int_eq (back[i], pattern (f * KC_AUDIO_FRAME_SAMPLES + i));
      ck_assert_int_eq (back[0], G_MININT16);
      ck_assert_int_eq (back[1], G_MAXINT16);
    }
  ck_assert (!kc_audio_file_reader_read_frame (reader, back, &error));
  ck_assert (error == NULL);
}
END_TEST

/* Freeing an unclosed writer still finishes the file. */
START_TEST (test_writer_free_closes)
{
  g_autofree char *path = tmp_path ("unclosed.wav");
  g_autoptr(GError) error = NULL;
  KcAudioFileWriter *writer = kc_audio_file_writer_new (path, &error);
  gint16 frame[KC_AUDIO_FRAME_SAMPLES] = { 0 };
  gsize at;
  g_autofree guint8 *data = NULL;
  gsize len;

  ck_assert_msg (writer != NULL, "%s", error ? error->message : "");
  for (guint f = 0; f < 3; f++)
    {
      frame[f] = (gint16) (1000 + f);
      ck_assert (kc_audio_file_writer_write_frame (writer, frame, &error));
    }
  kc_audio_file_writer_free (writer);
  at = check_wav_header (path, 3);
  ck_assert (g_file_get_contents (path, (char **) &data, &len, NULL));
  ck_assert_int_eq ((gint16) GST_READ_UINT16_LE (data + at + 2 * FRAME_BYTES + 4), 1002);
}
END_TEST

START_TEST (test_writer_unwritable)
{
  g_autofree char *nodir = g_build_filename (tmpdir, "missing-dir", "out.wav", NULL);
  const char *paths[] = { nodir, tmpdir };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *base = g_path_get_basename (paths[i]);

      ck_assert (kc_audio_file_writer_new (paths[i], &error) == NULL);
      ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_IO),
                     "%s", error ? error->message : "no error");
      ck_assert_msg (strstr (error->message, base) != NULL, "%s", error->message);
    }
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("audio-file");
  TCase *tc = tcase_create ("audio-file");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_resamples_and_downmixes);
  tcase_add_test (tc, test_decodes_ogg_opus);
  tcase_add_test (tc, test_decodes_chained_ogg);
  tcase_add_test (tc, test_pads_partial_last_frame);
  tcase_add_test (tc, test_loops);
  tcase_add_test (tc, test_empty_audio_ends);
  tcase_add_test (tc, test_missing_file);
  tcase_add_test (tc, test_not_audio);
  tcase_add_test (tc, test_fails_midway);
  tcase_add_test (tc, test_writer_round_trip);
  tcase_add_test (tc, test_writer_free_closes);
  tcase_add_test (tc, test_writer_unwritable);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
