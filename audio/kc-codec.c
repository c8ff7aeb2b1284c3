/* kc-codec.c: Opus and G.711 RTP on GStreamer: codec names, the pipelines
 * both directions share, and the encoder with RFC 4733 telephone events
 * (the decoder is kc-codec-decoder.c). */
#define G_LOG_DOMAIN "kc-codec"

#include "kc-codec.h"
#include "kc-audio-device.h"
#include "kc-error.h"
#include "kc-codec-private.h"
#include "kc-gst-private.h"

#include <gst/gst.h>
#include <string.h>

#define DTMF_VOLUME      10   /* -10 dBm0, a typical keypad level */
#define DTMF_END_REPEATS 3    /* RFC 4733 §2.5.1.4 */
#define OPUS_DEFAULT_PT  111
/* Frames start a second in, so that opusenc's lookahead (6.5 ms), which it
 * takes off its output times, is never clipped at zero. */
#define FIRST_FRAME      (1000 / KC_AUDIO_FRAME_MS)

const char *
kc_codec_get_sdp_name (KcCodec codec)
{
  switch (codec)
    {
    case KC_CODEC_OPUS: return "opus/48000/2";
    case KC_CODEC_PCMU: return "PCMU/8000";
    case KC_CODEC_PCMA: return "PCMA/8000";
    default: g_return_val_if_reached (NULL);
    }
}

const char *
kc_codec_get_dtmf_sdp_name (KcCodec codec)
{
  return codec == KC_CODEC_OPUS ? "telephone-event/48000" : "telephone-event/8000";
}

guint
kc_codec_get_clock_rate (KcCodec codec)
{
  return codec == KC_CODEC_OPUS ? 48000 : 8000;
}

guint
kc_codec_get_default_pt (KcCodec codec)
{
  switch (codec)
    {
    case KC_CODEC_OPUS: return OPUS_DEFAULT_PT;
    case KC_CODEC_PCMU: return 0;
    case KC_CODEC_PCMA: return 8;
    default: g_return_val_if_reached (0);
    }
}

gboolean
kc_codec_from_sdp_name (const char  *name,
                        KcCodec     *codec,
                        GError     **error)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (codec != NULL, FALSE);

  for (KcCodec c = KC_CODEC_OPUS; c <= KC_CODEC_PCMA; c++)
    if (g_ascii_strcasecmp (name, kc_codec_get_sdp_name (c)) == 0)
      {
        *codec = c;
        return TRUE;
      }
  g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
               "Codec “%s” is not supported; Keycall speaks opus/48000/2, "
               "PCMU/8000 and PCMA/8000", name);
  return FALSE;
}

/* Samples of the RTP clock in one 20 ms frame. */
static guint
frame_step (KcCodec codec)
{
  return kc_codec_get_clock_rate (codec) / (1000 / KC_AUDIO_FRAME_MS);
}

static GstBusSyncReply
on_bus_message (GstBus     *bus,
                GstMessage *msg,
                gpointer    user_data)
{
  BusWatch *watch = user_data;

  (void) bus;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr(GError) gerr = NULL;
      g_autofree char *debug = NULL;

      gst_message_parse_error (msg, &gerr, &debug);
      g_debug ("pipeline error: %s (%s)", gerr->message, debug ? debug : "");
      g_mutex_lock (&watch->lock);
      if (watch->message == NULL)
        watch->message = g_strdup (gerr->message);
      g_mutex_unlock (&watch->lock);
      g_atomic_int_set (&watch->failed, TRUE);
    }
  return GST_BUS_DROP;
}

/* The first error GStreamer posted, if any, as a GError. */
gboolean
kc_codec_check_bus (BusWatch  *watch,
           GError   **error)
{
  if (G_LIKELY (!g_atomic_int_get (&watch->failed)))
    return TRUE;
  g_mutex_lock (&watch->lock);
  g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
               "The audio codec failed: %s", watch->message);
  g_mutex_unlock (&watch->lock);
  return FALSE;
}

void
kc_codec_bus_watch_clear (BusWatch *watch)
{
  g_mutex_clear (&watch->lock);
  g_free (watch->message);
}

/* What a pipeline gives comes out of the src pad of its element named
 * "last" into a sink pad of ours, whose @chain runs in the thread that
 * pushed: no appsink, whose base class (clipping, sync and QoS checks,
 * preroll, a GstSample and its queue's lock and condition for each
 * buffer) cost as much per 20 ms as the payloader before it. */
static GstPad *
attach_sink (GstElement          *pipeline,
             GstPadChainFunction  chain,
             GstPadEventFunction  event,
             gpointer             data,
             GError             **error)
{
  g_autoptr(GstElement) last = gst_bin_get_by_name (GST_BIN (pipeline), "last");
  g_autoptr(GstPad) srcpad = last ? gst_element_get_static_pad (last, "src") : NULL;
  g_autoptr(GstPad) pad = gst_pad_new ("sink", GST_PAD_SINK);

  gst_pad_set_chain_function (pad, chain);
  gst_pad_set_event_function (pad, event);
  gst_pad_set_element_private (pad, data);
  gst_pad_set_active (pad, TRUE);
  if (srcpad == NULL || gst_pad_link (srcpad, pad) != GST_PAD_LINK_OK)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot take the audio codec's output");
      gst_pad_set_active (pad, FALSE);
      return NULL;
    }
  return g_steal_pointer (&pad);
}

/* Builds @desc, links its output to a pad of ours (attach_sink()) and
 * starts it; errors go to @watch. */
GstElement *
kc_codec_make_pipeline (const char           *desc,
               BusWatch             *watch,
               GstPadChainFunction   chain,
               GstPadEventFunction   event,
               gpointer              data,
               GstPad              **sink,
               GError              **error)
{
  g_autoptr(GstElement) pipeline = kc_gst_parse ("audio pipeline", desc, error);
  g_autoptr(GstBus) bus = NULL;

  if (pipeline == NULL)
    return NULL;
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, on_bus_message, watch, NULL);
  *sink = attach_sink (pipeline, chain, event, data, error);
  if (*sink == NULL)
    return NULL;
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "Cannot start the audio pipeline (%s)", desc);
      gst_element_set_state (pipeline, GST_STATE_NULL);
      gst_pad_set_active (*sink, FALSE);
      gst_clear_object (sink);
      return NULL;
    }
  return g_steal_pointer (&pipeline);
}

void
kc_codec_destroy_pipeline (GstElement  *pipeline,
                  GstPad      *pad,
                  GstPad      *sink)
{
  if (pipeline == NULL)
    return;
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (pad != NULL)
    {
      gst_pad_set_active (pad, FALSE);
      gst_object_unref (pad);
    }
  if (sink != NULL)
    {
      gst_pad_set_active (sink, FALSE);
      gst_object_unref (sink);
    }
  gst_object_unref (pipeline);
}

/* Our pad is a live source with no latency of its own; what the elements
 * after it add is theirs to say (prime_resampler() asks). */
static gboolean
on_pad_query (GstPad    *pad,
              GstObject *parent,
              GstQuery  *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    {
      gst_query_set_latency (query, TRUE, 0, 0);
      return TRUE;
    }
  return gst_pad_query_default (pad, parent, query);
}

/* Frames and packets are pushed from the caller's thread through a pad of
 * ours linked to @pipeline's element named "first", with @caps: no appsrc,
 * whose own streaming thread would take every 20 ms buffer from the caller
 * and hand it on (a wake-up of another thread for each, which cost more
 * than Opus itself). The encoder's codec and payloader run right there, so
 * its packet is in enc->packets when the push returns; the decoder's
 * jitter buffer queues the packet for its own thread, which decodes it. */
GstPad *
kc_codec_attach_pad (GstElement  *pipeline,
                     const char  *stream_id,
                     GstCaps     *caps,
                     GError     **error)
{
  g_autoptr(GstElement) first = gst_bin_get_by_name (GST_BIN (pipeline), "first");
  g_autoptr(GstPad) sinkpad = first ? gst_element_get_static_pad (first, "sink") : NULL;
  g_autoptr(GstPad) pad = gst_pad_new ("src", GST_PAD_SRC);
  GstSegment segment;

  gst_pad_set_query_function (pad, on_pad_query);
  gst_pad_set_active (pad, TRUE);
  if (sinkpad == NULL || gst_pad_link (pad, sinkpad) != GST_PAD_LINK_OK)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "Cannot feed the audio codec");
      gst_pad_set_active (pad, FALSE);
      return NULL;
    }
  gst_segment_init (&segment, GST_FORMAT_TIME);
  if (!gst_pad_push_event (pad, gst_event_new_stream_start (stream_id))
      || !gst_pad_push_event (pad, gst_event_new_caps (caps))
      || !gst_pad_push_event (pad, gst_event_new_segment (&segment)))
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "The audio codec refused its format");
      gst_pad_set_active (pad, FALSE);
      return NULL;
    }
  return g_steal_pointer (&pad);
}

/* Encoder ---------------------------------------------------------------- */

typedef struct {
  guint8   code;
  guint32  total;     /* duration in RTP clock units */
  guint32  ts;        /* set when its first packet goes out */
  guint32  sent;      /* duration covered by packets sent so far */
  guint    ends_sent;
} DtmfEvent;

struct _KcEncoder {
  KcCodec      codec;
  guint        pt;
  guint        dtmf_pt;
  guint32      ssrc;
  guint        step;
  GstElement  *pipeline;
  GstPad      *pad;          /* ours, linked to the first element: frames go in here */
  GstPad      *sink;         /* ours, after the payloader: packets come out here */
  BusWatch     bus;
  GQueue       packets;      /* of GstBuffer, from the payloader, not yet pulled */
  guint16      seq_offset;
  guint32      ts_offset;
  guint64      frames_pushed;
  guint16      seq_shift;    /* DTMF packets put in the payloader's seq space */
  guint16      next_seq;     /* of the next packet handed out */
  gboolean     finished;
  GQueue       events;       /* of DtmfEvent, head playing */
  GQueue       ready;        /* of GBytes: DTMF packets to hand out, seq unset */
};

/* The G.711 encoder's resampler (48 to 8 kHz) holds back its filter's
 * delay, some 31 samples at 8 kHz: each frame would give 129 samples and
 * each 160-sample packet would wait for the next frame, a whole period of
 * latency for 4 ms of filter. Silence of exactly that delay, ahead of the
 * first frame, makes every frame complete its own packet; the delay itself
 * stays in the signal, where it belongs. */
static void
prime_resampler (KcEncoder *enc)
{
  g_autoptr(GstElement) first = gst_bin_get_by_name (GST_BIN (enc->pipeline), "first");
  g_autoptr(GstPad) srcpad = first ? gst_element_get_static_pad (first, "src") : NULL;
  g_autoptr(GstQuery) query = gst_query_new_latency ();
  GstClockTime latency = 0;
  GstBuffer *buf;
  guint64 samples;

  if (srcpad == NULL || !gst_pad_query (srcpad, query))
    return;
  gst_query_parse_latency (query, NULL, &latency, NULL);
  samples = gst_util_uint64_scale_round (latency, KC_AUDIO_RATE, GST_SECOND);
  if (samples == 0 || samples >= KC_AUDIO_FRAME_SAMPLES)
    return;
  buf = gst_buffer_new_allocate (NULL, samples * sizeof (gint16), NULL);
  gst_buffer_memset (buf, 0, 0, samples * sizeof (gint16));
  GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (samples, GST_SECOND, KC_AUDIO_RATE);
  GST_BUFFER_PTS (buf) = FIRST_FRAME * FRAME_NS - GST_BUFFER_DURATION (buf);
  /* It gives no output yet; a refusal shows at the first frame. */
  gst_pad_push (enc->pad, buf);
}

/* The payloader's packets, in the thread that pushed the frame. */
static GstFlowReturn
on_packet (GstPad    *pad,
           GstObject *parent,
           GstBuffer *buf)
{
  KcEncoder *enc = gst_pad_get_element_private (pad);

  (void) parent;
  g_queue_push_tail (&enc->packets, buf);
  return GST_FLOW_OK;
}

static gboolean
on_encoder_event (GstPad    *pad,
                  GstObject *parent,
                  GstEvent  *event)
{
  (void) pad;
  (void) parent;
  gst_event_unref (event);
  return TRUE;
}

KcEncoder *
kc_encoder_new (KcCodec   codec,
                guint     pt,
                guint     dtmf_pt,
                guint32   ssrc,
                GError  **error)
{
  g_autoptr(KcEncoder) enc = NULL;
  g_autoptr(GstCaps) caps = NULL;
  g_autofree char *desc = NULL;
  const char *chain;

  g_return_val_if_fail (codec <= KC_CODEC_PCMA, NULL);
  g_return_val_if_fail (pt < 128 && dtmf_pt < 128 && pt != dtmf_pt, NULL);

  enc = g_new0 (KcEncoder, 1);
  enc->codec = codec;
  enc->pt = pt;
  enc->dtmf_pt = dtmf_pt;
  enc->ssrc = ssrc;
  enc->step = frame_step (codec);
  /* Random starts (RFC 3550 §5.1) that we know, so DTMF can share them. */
  enc->seq_offset = (guint16) g_random_int_range (0, 0x10000);
  enc->ts_offset = g_random_int ();
  enc->next_seq = enc->seq_offset;
  g_queue_init (&enc->events);
  g_queue_init (&enc->ready);
  g_queue_init (&enc->packets);
  g_mutex_init (&enc->bus.lock);

  switch (codec)
    {
    case KC_CODEC_OPUS:
      /* Frames are 48 kHz mono already: nothing to convert. Complexity 5
       * of 10 (opusenc's default is 10): on speech the encoder is most of
       * a call's CPU, and at 5 it takes two thirds of the instructions
       * (callgrind); the tone tests lose 2 dB of SNR (45.5 to 43 dB). */
      chain = "opusenc name=first frame-size=20 complexity=5 ! rtpopuspay name=last";
      break;
    case KC_CODEC_PCMU:
      chain = "audio/x-raw,rate=8000 ! mulawenc ! rtppcmupay name=last "
              "min-ptime=20000000 max-ptime=20000000";
      break;
    case KC_CODEC_PCMA:
    default:
      chain = "audio/x-raw,rate=8000 ! alawenc ! rtppcmapay name=last "
              "min-ptime=20000000 max-ptime=20000000";
      break;
    }
  desc = g_strdup_printf ("%s%s pt=%u ssrc=%u "
                          "seqnum-offset=%u timestamp-offset=%u",
                          codec == KC_CODEC_OPUS ? "" : "audioresample name=first ! ",
                          chain, pt, ssrc,
                          enc->seq_offset, enc->ts_offset);
  enc->pipeline = kc_codec_make_pipeline (desc, &enc->bus, on_packet, on_encoder_event, enc,
                                 &enc->sink, error);
  if (enc->pipeline == NULL)
    return NULL;
  caps = gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
                              "rate", G_TYPE_INT, KC_AUDIO_RATE, "channels", G_TYPE_INT, 1,
                              "layout", G_TYPE_STRING, "interleaved", NULL);
  enc->pad = kc_codec_attach_pad (enc->pipeline, "kc-encoder", caps, error);
  if (enc->pad == NULL)
    return NULL;
  if (codec != KC_CODEC_OPUS)
    prime_resampler (enc);
  return g_steal_pointer (&enc);
}

void
kc_encoder_free (KcEncoder *enc)
{
  if (enc == NULL)
    return;
  kc_codec_destroy_pipeline (enc->pipeline, enc->pad, enc->sink);
  g_queue_clear_full (&enc->events, g_free);
  g_queue_clear_full (&enc->ready, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&enc->packets, (GDestroyNotify) gst_buffer_unref);
  kc_codec_bus_watch_clear (&enc->bus);
  g_free (enc);
}

guint32
kc_encoder_get_ssrc (KcEncoder *enc)
{
  g_return_val_if_fail (enc != NULL, 0);
  return enc->ssrc;
}

KcCodec
kc_encoder_get_codec (KcEncoder *enc)
{
  g_return_val_if_fail (enc != NULL, KC_CODEC_OPUS);
  return enc->codec;
}

static GBytes *
build_dtmf_packet (KcEncoder *enc,
                   DtmfEvent *ev,
                   gboolean   marker,
                   gboolean   end,
                   guint32    duration)
{
  guint8 *p = g_malloc0 (RTP_HEADER_LEN + 4);

  p[0] = 0x80;
  p[1] = (guint8) ((marker ? 0x80 : 0) | enc->dtmf_pt);
  /* Sequence number (bytes 2-3) is written when the packet is pulled. */
  GST_WRITE_UINT32_BE (p + 4, ev->ts);
  GST_WRITE_UINT32_BE (p + 8, enc->ssrc);
  p[12] = ev->code;
  p[13] = (guint8) ((end ? 0x80 : 0) | DTMF_VOLUME);
  GST_WRITE_UINT16_BE (p + 14, (guint16) duration);
  return g_bytes_new_take (p, RTP_HEADER_LEN + 4);
}

/* One event packet per 20 ms frame, so events are paced like the audio. */
static void
advance_dtmf (KcEncoder *enc)
{
  DtmfEvent *ev = g_queue_peek_head (&enc->events);
  gboolean first;

  if (ev == NULL)
    return;
  first = ev->sent == 0 && ev->ends_sent == 0;
  if (first)
    ev->ts = enc->ts_offset + (guint32) ((FIRST_FRAME + enc->frames_pushed) * enc->step);
  if (ev->sent < ev->total)
    {
      ev->sent = MIN (ev->sent + enc->step, ev->total);
      if (ev->sent < ev->total)
        {
          g_queue_push_tail (&enc->ready, build_dtmf_packet (enc, ev, first, FALSE, ev->sent));
          return;
        }
    }
  g_queue_push_tail (&enc->ready, build_dtmf_packet (enc, ev, first, TRUE, ev->total));
  if (++ev->ends_sent == DTMF_END_REPEATS)
    g_free (g_queue_pop_head (&enc->events));
}

gboolean
kc_encoder_send_dtmf (KcEncoder  *enc,
                      char        digit,
                      guint       duration_ms,
                      GError    **error)
{
  const char *pos;
  DtmfEvent *ev;

  g_return_val_if_fail (enc != NULL, FALSE);

  pos = digit != '\0' ? strchr (kc_codec_dtmf_digits, g_ascii_toupper (digit)) : NULL;
  if (pos == NULL)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "“%c” is not a DTMF digit (0-9, *, #, A-D)", digit);
      return FALSE;
    }
  if (duration_ms < 40 || duration_ms > 1000)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "A DTMF tone of %u ms is out of range (40 to 1000 ms)",
                   duration_ms);
      return FALSE;
    }
  ev = g_new0 (DtmfEvent, 1);
  ev->code = (guint8) (pos - kc_codec_dtmf_digits);
  ev->total = duration_ms * (kc_codec_get_clock_rate (enc->codec) / 1000);
  g_queue_push_tail (&enc->events, ev);
  return TRUE;
}

gboolean
kc_encoder_push_frame (KcEncoder     *enc,
                       const gint16  *frame,
                       GError       **error)
{
  GstBuffer *buf;

  g_return_val_if_fail (enc != NULL, FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);
  g_return_val_if_fail (!enc->finished, FALSE);

  if (!kc_codec_check_bus (&enc->bus, error))
    return FALSE;
  advance_dtmf (enc);
  buf = gst_buffer_new_memdup (frame, FRAME_BYTES);
  GST_BUFFER_PTS (buf) = (FIRST_FRAME + enc->frames_pushed) * FRAME_NS;
  GST_BUFFER_DURATION (buf) = FRAME_NS;
  enc->frames_pushed++;
  if (gst_pad_push (enc->pad, buf) != GST_FLOW_OK)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "The audio encoder refused a frame");
      return FALSE;
    }
  return TRUE;
}

void
kc_encoder_finish (KcEncoder *enc)
{
  g_return_if_fail (enc != NULL);

  if (enc->finished)
    return;
  enc->finished = TRUE;
  gst_pad_push_event (enc->pad, gst_event_new_eos ());
}

static void
write_seq (guint8  *p,
           guint16  seq)
{
  GST_WRITE_UINT16_BE (p + 2, seq);
}

GBytes *
kc_encoder_pull_packet (KcEncoder  *enc,
                        GError    **error)
{
  g_autoptr(GstBuffer) buf = NULL;
  guint8 *p;
  gsize len;
  guint32 rel;

  g_return_val_if_fail (enc != NULL, NULL);

  if (!g_queue_is_empty (&enc->ready))
    {
      g_autoptr(GBytes) pkt = g_queue_pop_head (&enc->ready);
      guint8 *data = g_bytes_unref_to_data (g_steal_pointer (&pkt), &len);

      /* Takes the place of the next audio packet, which shifts by one. */
      write_seq (data, enc->next_seq++);
      enc->seq_shift++;
      return g_bytes_new_take (data, len);
    }

  /* The whole encoder runs in the pushing thread: what it gives is here
   * already, and nothing more comes by waiting. */
  buf = g_queue_pop_head (&enc->packets);
  if (buf == NULL)
    {
      kc_codec_check_bus (&enc->bus, error);
      return NULL;
    }
  len = gst_buffer_get_size (buf);
  if (len < RTP_HEADER_LEN)
    return NULL;
  p = g_malloc (len);
  gst_buffer_extract (buf, 0, p, len);
  enc->next_seq = (guint16) (GST_READ_UINT16_BE (p + 2) + enc->seq_shift);
  write_seq (p, enc->next_seq++);
  /* Snap the payloader's timestamp to the 20 ms frame it encodes: opusenc
   * moves its first packet back by the lookahead, which would make the
   * first step 648 instead of 960, and DTMF events would sit off the grid. */
  rel = GST_READ_UINT32_BE (p + 4) - enc->ts_offset;
  GST_WRITE_UINT32_BE (p + 4, enc->ts_offset + (rel + enc->step / 2) / enc->step * enc->step);
  return g_bytes_new_take (p, len);
}
