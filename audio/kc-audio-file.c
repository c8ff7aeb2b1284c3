/* kc-audio-file.c: audio files as a headless call's microphone and speaker,
 * on GStreamer pipelines driven without a GMainLoop, as kc-codec.c does:
 * GStreamer's threads decode and write, the caller pulls and pushes frames
 * and reads errors off the bus.
 */
#define G_LOG_DOMAIN "kc-audio-file"

#include "kc-audio-file.h"
#include "kc-audio-device.h"
#include "kc-error.h"
#include "kc-gst-private.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#define FRAME_BYTES   (KC_AUDIO_FRAME_SAMPLES * sizeof (gint16))
#define FRAME_NS      ((GstClockTime) KC_AUDIO_FRAME_MS * GST_MSECOND)
/* Typefinding and the first decoded buffer of a local file take
 * milliseconds; a file that gives nothing in this time never will. */
#define PREROLL_S     5
/* How long reading may starve before the decoder is taken for stuck: far
 * beyond any real decoder on a local file, but not forever. */
#define STALL_S       10
#define POLL_MS       50
/* Closing waits this long for wavenc to rewrite the header. */
#define CLOSE_S       5
/* Decoded buffers (a few KB each) held ahead of the reader: enough to ride
 * out a scheduling hiccup, never a whole long file in memory. */
#define QUEUE_BUFFERS 8

/* Frames are native-endian int16; say so to GStreamer. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define RAW_CAPS "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved"
#else
#define RAW_CAPS "audio/x-raw,format=S16BE,rate=48000,channels=1,layout=interleaved"
#endif

G_STATIC_ASSERT (KC_AUDIO_RATE == 48000);

/* Nobody runs a main loop on these buses, so a message we never pop would
 * stay there: tags and state changes would pile up through a long call.
 * Only the kinds in @user_data (a GstMessageType mask) are kept. */
static GstBusSyncReply
keep_only (GstBus     *bus,
           GstMessage *msg,
           gpointer    user_data)
{
  (void) bus;
  if (GST_MESSAGE_TYPE (msg) & GPOINTER_TO_UINT (user_data))
    return GST_BUS_PASS;
  gst_message_unref (msg);    /* a dropping handler owns the message */
  return GST_BUS_DROP;
}

/* GStreamer's reason from an error message: its message ("Could not
 * determine type of stream."), plus the system error when there is one,
 * which only the debug string has ("… system error: Permission denied").
 * A demuxer whose streams are all unlinked says only "Internal data stream
 * error", so @not_linked, which says what that means, replaces it. */
static char *
describe_gst_error (GstMessage  *msg,
                    const char  *not_linked,
                    GError     **gerr_out)
{
  g_autoptr(GError) gerr = NULL;
  g_autofree char *debug = NULL;
  const char *sys;
  char *reason;

  gst_message_parse_error (msg, &gerr, &debug);
  g_debug ("pipeline error: %s (%s)", gerr->message, debug ? debug : "");
  sys = debug ? strstr (debug, "system error: ") : NULL;
  if (not_linked != NULL && debug != NULL && strstr (debug, "reason not-linked") != NULL)
    reason = g_strdup (not_linked);
  else if (sys != NULL)
    reason = g_strdup_printf ("%s (%s)", gerr->message, sys + strlen ("system error: "));
  else
    reason = g_strdup (gerr->message);
  if (gerr_out != NULL)
    *gerr_out = g_steal_pointer (&gerr);
  return reason;
}

/* Reader ----------------------------------------------------------------- */

struct _KcAudioFileReader {
  char        *path;
  char        *display;      /* for messages */
  gboolean     loop;
  GstElement  *pipeline;
  GstAppSink  *sink;
  GByteArray  *pcm;          /* decoded samples not yet returned */
  guint64      frames;
  guint64      pass_bytes;   /* decoded since the start or the last loop */
  gboolean     ended;
  GError      *failure;      /* repeated to every read after a failure */
};

/* decodebin's pads come and go: one per stream, and a chained Ogg (two
 * recordings concatenated) replaces its pad at the join, removing the old
 * one first. Linking by hand follows that, where gst_parse_launch's
 * one-time delayed link leaves the second chain unlinked, which fails. The
 * first audio stream is played; video and further audio streams stay
 * unlinked, which demuxers tolerate while one of their streams is linked
 * and report as "not-linked" when none is. */
static void
on_pad_added (GstElement *decodebin,
              GstPad     *pad,
              gpointer    user_data)
{
  GstElement *convert = user_data;
  g_autoptr(GstPad) sinkpad = gst_element_get_static_pad (convert, "sink");
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps (pad);
  GstPadLinkReturn ret;

  (void) decodebin;
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  if (gst_caps_is_empty (caps)
      || !g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)),
                            "audio/")
      || gst_pad_is_linked (sinkpad))
    return;
  ret = gst_pad_link (pad, sinkpad);
  if (ret != GST_PAD_LINK_OK)
    g_debug ("cannot link a decoded audio stream: %s", gst_pad_link_get_name (ret));
}

static void
stop_pipeline (KcAudioFileReader *reader)
{
  if (reader->pipeline == NULL)
    return;
  gst_element_set_state (reader->pipeline, GST_STATE_NULL);
  gst_clear_object (&reader->sink);
  gst_clear_object (&reader->pipeline);
}

/* Builds the pipeline and waits (at most PREROLL_S) until the first
 * decoded audio reaches the sink or GStreamer gives up on the file, so
 * that a file that is not audio is refused here, not at the first read. */
static gboolean
start_pipeline (KcAudioFileReader  *reader,
                GError            **error)
{
  g_autoptr(GstElement) decodebin = NULL;
  g_autoptr(GstElement) convert = NULL;
  g_autoptr(GstElement) filesrc = NULL;
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) msg = NULL;
  g_autofree char *desc = NULL;

  desc = g_strdup_printf ("filesrc name=file ! decodebin name=dec "
                          "audioconvert name=convert ! audioresample "
                          "! " RAW_CAPS " ! appsink name=sink sync=false "
                          "max-buffers=%d drop=false", QUEUE_BUFFERS);
  reader->pipeline = kc_gst_parse ("audio file pipeline", desc, error);
  if (reader->pipeline == NULL)
    return FALSE;
  filesrc = gst_bin_get_by_name (GST_BIN (reader->pipeline), "file");
  decodebin = gst_bin_get_by_name (GST_BIN (reader->pipeline), "dec");
  convert = gst_bin_get_by_name (GST_BIN (reader->pipeline), "convert");
  reader->sink = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (reader->pipeline), "sink"));
  /* Set, not written into @desc: a file name needs no quoting this way. */
  g_object_set (filesrc, "location", reader->path, NULL);
  g_signal_connect_object (decodebin, "pad-added", G_CALLBACK (on_pad_added), convert, 0);

  bus = gst_element_get_bus (reader->pipeline);
  gst_bus_set_sync_handler (bus, keep_only,
                            GUINT_TO_POINTER (GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR),
                            NULL);
  gst_element_set_state (reader->pipeline, GST_STATE_PAUSED);
  msg = gst_bus_timed_pop_filtered (bus, PREROLL_S * GST_SECOND,
                                    GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR);
  if (msg == NULL || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autofree char *reason = NULL;

      if (msg != NULL)
        reason = describe_gst_error (msg, "it has no audio stream", NULL);
      else
        reason = g_strdup_printf ("no audio came out of it within %d s", PREROLL_S);
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "“%s” is not an audio file Keycall can play: %s",
                   reader->display, reason);
      stop_pipeline (reader);
      return FALSE;
    }
  if (gst_element_set_state (reader->pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "Cannot start decoding “%s”", reader->display);
      stop_pipeline (reader);
      return FALSE;
    }
  return TRUE;
}

KcAudioFileReader *
kc_audio_file_reader_new (const char  *path,
                          gboolean     loop,
                          GError     **error)
{
  g_autoptr(KcAudioFileReader) reader = NULL;
  GStatBuf st;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  reader = g_new0 (KcAudioFileReader, 1);
  reader->path = g_strdup (path);
  reader->display = g_filename_display_name (path);
  reader->loop = loop;
  reader->pcm = g_byte_array_new ();

  /* Checked before GStreamer, whose "Resource not found" says less. */
  fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, KC_ERROR, saved == ENOENT ? KC_ERROR_NOT_FOUND : KC_ERROR_IO,
                   "Cannot read the audio file “%s”: %s",
                   reader->display, g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      /* A FIFO or device would block filesrc's open, where no timeout
       * reaches, and could not loop anyway. */
      g_close (fd, NULL);
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Cannot play “%s”: not a regular file",
                   reader->display);
      return NULL;
    }
  g_close (fd, NULL);

  if (!start_pipeline (reader, error))
    return NULL;
  return g_steal_pointer (&reader);
}

void
kc_audio_file_reader_free (KcAudioFileReader *reader)
{
  if (reader == NULL)
    return;
  stop_pipeline (reader);
  g_byte_array_unref (reader->pcm);
  g_clear_error (&reader->failure);
  g_free (reader->display);
  g_free (reader->path);
  g_free (reader);
}

guint64
kc_audio_file_reader_get_frames (KcAudioFileReader *reader)
{
  g_return_val_if_fail (reader != NULL, 0);
  return reader->frames;
}

/* At the end of a looping file: back to the start. A flushing seek keeps
 * the pipeline; a format that refuses to seek gets a new one. */
static gboolean
rewind_file (KcAudioFileReader  *reader,
             GError            **error)
{
  reader->pass_bytes = 0;
  if (gst_element_seek_simple (reader->pipeline, GST_FORMAT_TIME,
                               GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, 0))
    return TRUE;
  g_debug ("“%s” cannot seek; decoding it again from the start", reader->display);
  stop_pipeline (reader);
  return start_pipeline (reader, error);
}

/* Records the first error GStreamer posted, if any, as @reader's failure. */
static gboolean
check_bus (KcAudioFileReader *reader)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (reader->pipeline);
  g_autoptr(GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr(GError) gerr = NULL;
  g_autofree char *reason = NULL;

  if (msg == NULL)
    return TRUE;
  reason = describe_gst_error (msg, "what follows is not audio", &gerr);
  g_set_error (&reader->failure, KC_ERROR,
               gerr->domain == GST_RESOURCE_ERROR ? KC_ERROR_IO : KC_ERROR_INVALID,
               "Decoding “%s” failed after %.2f s: %s", reader->display,
               (double) reader->frames * KC_AUDIO_FRAME_MS / 1000.0, reason);
  return FALSE;
}

/* Pulls decoded audio until a frame is in hand, the file ends (and does
 * not loop), or decoding fails. */
static gboolean
fill_frame (KcAudioFileReader  *reader,
            GError            **error)
{
  gint64 starving_since = g_get_monotonic_time ();

  while (reader->pcm->len < FRAME_BYTES && !reader->ended)
    {
      g_autoptr(GstSample) sample = NULL;
      GstBuffer *buf;
      GstMapInfo map;

      sample = gst_app_sink_try_pull_sample (reader->sink, POLL_MS * GST_MSECOND);
      if (sample != NULL)
        {
          buf = gst_sample_get_buffer (sample);
          if (buf != NULL && gst_buffer_map (buf, &map, GST_MAP_READ))
            {
              g_byte_array_append (reader->pcm, map.data, map.size);
              reader->pass_bytes += map.size;
              gst_buffer_unmap (buf, &map);
            }
          starving_since = g_get_monotonic_time ();
          continue;
        }
      if (!check_bus (reader))
        {
          g_propagate_error (error, g_error_copy (reader->failure));
          return FALSE;
        }
      if (gst_app_sink_is_eos (reader->sink))
        {
          /* A loop that decoded nothing would spin forever. */
          if (!reader->loop || reader->pass_bytes == 0)
            {
              reader->ended = TRUE;
              break;
            }
          if (!rewind_file (reader, &reader->failure))
            {
              g_propagate_error (error, g_error_copy (reader->failure));
              return FALSE;
            }
          starving_since = g_get_monotonic_time ();
          continue;
        }
      if (g_get_monotonic_time () - starving_since > STALL_S * G_TIME_SPAN_SECOND)
        {
          g_set_error (&reader->failure, KC_ERROR, KC_ERROR_FAILED,
                       "Decoding “%s” stalled: no audio for %d s",
                       reader->display, STALL_S);
          g_propagate_error (error, g_error_copy (reader->failure));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
kc_audio_file_reader_read_frame (KcAudioFileReader  *reader,
                                 gint16             *frame,
                                 GError            **error)
{
  guint take;

  g_return_val_if_fail (reader != NULL, FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  memset (frame, 0, FRAME_BYTES);
  if (reader->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (reader->failure));
      return FALSE;
    }
  if (!fill_frame (reader, error))
    return FALSE;
  if (reader->pcm->len == 0)
    return FALSE;    /* the end */
  /* A short last frame keeps its silent tail from the memset above; an odd
   * trailing byte (never, from a S16 caps filter) would be dropped. */
  take = MIN (reader->pcm->len, FRAME_BYTES) & ~1u;
  memcpy (frame, reader->pcm->data, take);
  g_byte_array_remove_range (reader->pcm, 0, MIN (reader->pcm->len, FRAME_BYTES));
  reader->frames++;
  return TRUE;
}

/* Writer ----------------------------------------------------------------- */

/* GStreamer's wavenc rather than our own RIFF code: it writes the header
 * and rewrites its sizes at EOS through filesink's seek, which is what
 * close() waits for. The cost is that a process killed before close()
 * leaves a header with zero lengths (most tools then read nothing; the
 * samples are still in the file). A write error (a full disk) surfaces on
 * the bus, so it is reported at the next write or at close. */
struct _KcAudioFileWriter {
  char        *display;
  GstElement  *pipeline;
  GstAppSrc   *src;
  guint64      frames;
  gboolean     closed;
  GError      *failure;    /* of a write or of close, repeated after */
};

/* Records the error in @msg (which may be NULL) as @writer's failure. */
static gboolean
writer_take_error (KcAudioFileWriter *writer,
                   GstMessage        *msg)
{
  g_autofree char *reason = NULL;

  if (msg == NULL)
    return TRUE;
  reason = describe_gst_error (msg, NULL, NULL);
  g_set_error (&writer->failure, KC_ERROR, KC_ERROR_IO,
               "Writing the audio file “%s” failed: %s", writer->display, reason);
  return FALSE;
}

static void
writer_stop (KcAudioFileWriter *writer)
{
  if (writer->pipeline == NULL)
    return;
  gst_element_set_state (writer->pipeline, GST_STATE_NULL);
  gst_clear_object (&writer->src);
  gst_clear_object (&writer->pipeline);
}

KcAudioFileWriter *
kc_audio_file_writer_new (const char  *path,
                          GError     **error)
{
  g_autoptr(KcAudioFileWriter) writer = NULL;
  g_autoptr(GstElement) filesink = NULL;
  g_autoptr(GstBus) bus = NULL;
  const char *desc;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  writer = g_new0 (KcAudioFileWriter, 1);
  writer->display = g_filename_display_name (path);

  /* Opened here first for a plain reason ("No such file or directory");
   * filesink's own open, just after, truncates it again. */
  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, KC_ERROR, KC_ERROR_IO,
                   "Cannot write the audio file “%s”: %s",
                   writer->display, g_strerror (saved));
      return NULL;
    }
  g_close (fd, NULL);

  /* block=true: a writer faster than the disk waits instead of queueing
   * without bound; audioconvert only matters on big-endian hosts, as
   * wavenc takes little-endian samples. */
  desc = "appsrc name=src format=time block=true caps=" RAW_CAPS " "
         "! audioconvert ! wavenc ! filesink name=file";
  writer->pipeline = kc_gst_parse ("audio file pipeline", desc, error);
  if (writer->pipeline == NULL)
    return NULL;
  writer->src = GST_APP_SRC (gst_bin_get_by_name (GST_BIN (writer->pipeline), "src"));
  filesink = gst_bin_get_by_name (GST_BIN (writer->pipeline), "file");
  g_object_set (filesink, "location", path, NULL);

  bus = gst_element_get_bus (writer->pipeline);
  gst_bus_set_sync_handler (bus, keep_only,
                            GUINT_TO_POINTER (GST_MESSAGE_EOS | GST_MESSAGE_ERROR), NULL);
  if (gst_element_set_state (writer->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_autoptr(GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      if (writer_take_error (writer, msg))
        g_set_error (&writer->failure, KC_ERROR, KC_ERROR_IO,
                     "Cannot start writing the audio file “%s”", writer->display);
      g_propagate_error (error, g_steal_pointer (&writer->failure));
      writer->closed = TRUE;
      return NULL;
    }
  return g_steal_pointer (&writer);
}

guint64
kc_audio_file_writer_get_frames (KcAudioFileWriter *writer)
{
  g_return_val_if_fail (writer != NULL, 0);
  return writer->frames;
}

gboolean
kc_audio_file_writer_write_frame (KcAudioFileWriter  *writer,
                                  const gint16       *frame,
                                  GError            **error)
{
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) msg = NULL;
  GstBuffer *buf;

  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);
  g_return_val_if_fail (!writer->closed, FALSE);

  if (writer->failure == NULL)
    {
      bus = gst_element_get_bus (writer->pipeline);
      msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      writer_take_error (writer, msg);
    }
  if (writer->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->failure));
      return FALSE;
    }
  buf = gst_buffer_new_memdup (frame, FRAME_BYTES);
  GST_BUFFER_PTS (buf) = writer->frames * FRAME_NS;
  GST_BUFFER_DURATION (buf) = FRAME_NS;
  if (gst_app_src_push_buffer (writer->src, buf) != GST_FLOW_OK)
    {
      g_set_error (&writer->failure, KC_ERROR, KC_ERROR_IO,
                   "Writing the audio file “%s” failed: the pipeline "
                   "refused a frame", writer->display);
      g_propagate_error (error, g_error_copy (writer->failure));
      return FALSE;
    }
  writer->frames++;
  return TRUE;
}

gboolean
kc_audio_file_writer_close (KcAudioFileWriter  *writer,
                            GError            **error)
{
  g_autoptr(GstBus) bus = NULL;
  g_autoptr(GstMessage) msg = NULL;

  g_return_val_if_fail (writer != NULL, FALSE);

  if (!writer->closed)
    {
      writer->closed = TRUE;
      bus = gst_element_get_bus (writer->pipeline);
      /* Even after a write error: EOS still makes wavenc fix the header
       * over whatever reached the file. */
      gst_app_src_end_of_stream (writer->src);
      msg = gst_bus_timed_pop_filtered (bus, CLOSE_S * GST_SECOND,
                                        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
      if (msg == NULL && writer->failure == NULL)
        g_set_error (&writer->failure, KC_ERROR, KC_ERROR_IO,
                     "Finishing the audio file “%s” took over %d s; its "
                     "header may give a wrong length", writer->display, CLOSE_S);
      else if (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR
               && writer->failure == NULL)
        writer_take_error (writer, msg);
      writer_stop (writer);
    }
  if (writer->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->failure));
      return FALSE;
    }
  return TRUE;
}

void
kc_audio_file_writer_free (KcAudioFileWriter *writer)
{
  g_autoptr(GError) error = NULL;

  if (writer == NULL)
    return;
  if (!writer->closed && writer->pipeline != NULL
      && !kc_audio_file_writer_close (writer, &error))
    g_warning ("%s", error->message);
  writer_stop (writer);
  g_clear_error (&writer->failure);
  g_free (writer->display);
  g_free (writer);
}
