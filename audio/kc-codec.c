/* kc-codec.c: Opus and G.711 RTP encoder and decoder on GStreamer, with
 * RFC 4733 telephone events. */
#define G_LOG_DOMAIN "kc-codec"

#include "kc-codec.h"
#include "kc-audio-device.h"
#include "kc-error.h"
#include "kc-gst-private.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <string.h>

#define RTP_HEADER_LEN   12
#define FRAME_BYTES      (KC_AUDIO_FRAME_SAMPLES * sizeof (gint16))
#define FRAME_NS         ((GstClockTime) KC_AUDIO_FRAME_MS * GST_MSECOND)
#define DTMF_VOLUME      10   /* -10 dBm0, a typical keypad level */
#define DTMF_END_REPEATS 3    /* RFC 4733 §2.5.1.4 */
#define OPUS_DEFAULT_PT  111
/* Frames start a second in, so that opusenc's lookahead (6.5 ms), which it
 * takes off its output times, is never clipped at zero. */
#define FIRST_FRAME      (1000 / KC_AUDIO_FRAME_MS)

static const char dtmf_digits[] = "0123456789*#ABCD";

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

/* Builds and starts @desc; @sink is its element named "sink". */
static GstElement *
make_pipeline (const char  *desc,
               GstAppSink **sink,
               GError     **error)
{
  GstElement *pipeline = kc_gst_parse ("audio pipeline", desc, error);

  if (pipeline == NULL)
    return NULL;
  *sink = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (pipeline), "sink"));
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "Cannot start the audio pipeline (%s)", desc);
      gst_element_set_state (pipeline, GST_STATE_NULL);
      gst_clear_object (sink);
      gst_object_unref (pipeline);
      return NULL;
    }
  return pipeline;
}

static void
destroy_pipeline (GstElement  *pipeline,
                  GstPad      *pad,
                  GstAppSink  *sink)
{
  if (pipeline == NULL)
    return;
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (pad != NULL)
    {
      gst_pad_set_active (pad, FALSE);
      gst_object_unref (pad);
    }
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

/* The first error GStreamer posted, if any, as a GError. */
static gboolean
check_bus (GstElement  *pipeline,
           GError     **error)
{
  g_autoptr(GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr(GstMessage) msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_autoptr(GError) gerr = NULL;
  g_autofree char *debug = NULL;

  if (msg == NULL)
    return TRUE;
  gst_message_parse_error (msg, &gerr, &debug);
  g_debug ("pipeline error: %s (%s)", gerr->message, debug ? debug : "");
  g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
               "The audio codec failed: %s", gerr->message);
  return FALSE;
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
  GstAppSink  *sink;
  guint16      seq_offset;
  guint32      ts_offset;
  guint64      frames_pushed;
  guint16      seq_shift;    /* DTMF packets put in the payloader's seq space */
  guint16      next_seq;     /* of the next packet handed out */
  gboolean     finished;
  GQueue       events;       /* of DtmfEvent, head playing */
  GQueue       ready;        /* of GBytes: DTMF packets to hand out, seq unset */
};

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
 * its packet is in the appsink when the push returns; the decoder's
 * jitter buffer queues the packet for its own thread. */
static GstPad *
attach_pad (GstElement  *pipeline,
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

  switch (codec)
    {
    case KC_CODEC_OPUS:
      /* Frames are 48 kHz mono already: nothing to convert. Complexity 5
       * of 10 (opusenc's default is 10): on speech the encoder is most of
       * a call's CPU, and at 5 it takes two thirds of the instructions
       * (callgrind); the tone tests lose 2 dB of SNR (45.5 to 43 dB). */
      chain = "opusenc name=first frame-size=20 complexity=5 ! rtpopuspay name=pay";
      break;
    case KC_CODEC_PCMU:
      chain = "audio/x-raw,rate=8000 ! mulawenc ! rtppcmupay name=pay "
              "min-ptime=20000000 max-ptime=20000000";
      break;
    case KC_CODEC_PCMA:
    default:
      chain = "audio/x-raw,rate=8000 ! alawenc ! rtppcmapay name=pay "
              "min-ptime=20000000 max-ptime=20000000";
      break;
    }
  desc = g_strdup_printf ("%s%s pt=%u ssrc=%u "
                          "seqnum-offset=%u timestamp-offset=%u "
                          /* EOS comes from our thread: appsink must not wait
                           * for us to take the packets before it returns. */
                          "! appsink name=sink sync=false async=false wait-on-eos=false",
                          codec == KC_CODEC_OPUS ? "" : "audioresample name=first ! ",
                          chain, pt, ssrc,
                          enc->seq_offset, enc->ts_offset);
  enc->pipeline = make_pipeline (desc, &enc->sink, error);
  if (enc->pipeline == NULL)
    return NULL;
  caps = gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
                              "rate", G_TYPE_INT, KC_AUDIO_RATE, "channels", G_TYPE_INT, 1,
                              "layout", G_TYPE_STRING, "interleaved", NULL);
  enc->pad = attach_pad (enc->pipeline, "kc-encoder", caps, error);
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
  destroy_pipeline (enc->pipeline, enc->pad, enc->sink);
  g_queue_clear_full (&enc->events, g_free);
  g_queue_clear_full (&enc->ready, (GDestroyNotify) g_bytes_unref);
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

  pos = digit != '\0' ? strchr (dtmf_digits, g_ascii_toupper (digit)) : NULL;
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
  ev->code = (guint8) (pos - dtmf_digits);
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

  if (!check_bus (enc->pipeline, error))
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
                        guint       timeout_ms,
                        GError    **error)
{
  g_autoptr(GstSample) sample = NULL;
  GstBuffer *buf;
  GstMapInfo map;
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

  sample = gst_app_sink_try_pull_sample (enc->sink, timeout_ms * GST_MSECOND);
  if (sample == NULL)
    {
      check_bus (enc->pipeline, error);
      return NULL;
    }
  buf = gst_sample_get_buffer (sample);
  if (buf == NULL || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return NULL;
  if (map.size < RTP_HEADER_LEN)
    {
      gst_buffer_unmap (buf, &map);
      return NULL;
    }
  p = g_memdup2 (map.data, map.size);
  len = map.size;
  gst_buffer_unmap (buf, &map);
  enc->next_seq = (guint16) (GST_READ_UINT16_BE (p + 2) + enc->seq_shift);
  write_seq (p, enc->next_seq++);
  /* Snap the payloader's timestamp to the 20 ms frame it encodes: opusenc
   * moves its first packet back by the lookahead, which would make the
   * first step 648 instead of 960, and DTMF events would sit off the grid. */
  rel = GST_READ_UINT32_BE (p + 4) - enc->ts_offset;
  GST_WRITE_UINT32_BE (p + 4, enc->ts_offset + (rel + enc->step / 2) / enc->step * enc->step);
  return g_bytes_new_take (p, len);
}

/* Decoder ---------------------------------------------------------------- */

struct _KcDecoder {
  KcCodec         codec;
  guint           pt;
  guint           dtmf_pt;
  guint           clock_rate;
  GstElement     *pipeline;
  GstPad         *pad;         /* ours, linked to the jitter buffer */
  GstClock       *clock;       /* the pipeline's, for arrival times */
  GstAppSink     *sink;
  GByteArray     *pcm;         /* decoded samples not yet pulled */
  GstClockTime    next_pts;    /* where the next decoded buffer should start */
  KcDtmfFunc      dtmf_func;
  gpointer        dtmf_data;
  gboolean        in_event;    /* an event was seen and not yet reported */
  gboolean        have_last;
  guint32         event_ts;    /* RTP timestamp: the identity of an event */
  guint32         last_reported_ts;
  guint8          event_code;
  guint16         event_duration;
  gboolean        finished;
  KcDecoderStats  stats;
};

KcDecoder *
kc_decoder_new (KcCodec   codec,
                guint     pt,
                guint     dtmf_pt,
                guint     jitter_ms,
                GError  **error)
{
  g_autoptr(KcDecoder) dec = NULL;
  g_autoptr(GstCaps) caps = NULL;
  g_autofree char *desc = NULL;
  const char *name, *chain;

  g_return_val_if_fail (codec <= KC_CODEC_PCMA, NULL);
  g_return_val_if_fail (pt < 128 && dtmf_pt < 128 && pt != dtmf_pt, NULL);

  dec = g_new0 (KcDecoder, 1);
  dec->codec = codec;
  dec->pt = pt;
  dec->dtmf_pt = dtmf_pt;
  dec->clock_rate = kc_codec_get_clock_rate (codec);
  dec->pcm = g_byte_array_new ();
  dec->next_pts = GST_CLOCK_TIME_NONE;

  switch (codec)
    {
    case KC_CODEC_OPUS:
      name = "OPUS";
      /* opusdec decodes straight to 48 kHz mono when that is asked for. */
      chain = "rtpopusdepay ! opusdec plc=true";
      break;
    case KC_CODEC_PCMU:
      name = "PCMU";
      chain = "rtppcmudepay ! mulawdec ! audioresample";
      break;
    case KC_CODEC_PCMA:
    default:
      name = "PCMA";
      chain = "rtppcmadepay ! alawdec ! audioresample";
      break;
    }
  /* mode=none: output times follow the RTP timestamps, so a gap the
   * decoder does not fill shows up as a jump we can fill (G.711 has no PLC). */
  desc = g_strdup_printf ("rtpjitterbuffer name=first latency=%u do-lost=true mode=none "
                          "! %s "
                          "! audio/x-raw,format=S16LE,rate=%d,channels=1 "
                          "! appsink name=sink sync=false async=false",
                          jitter_ms ? jitter_ms : KC_CODEC_JITTER_MS_DEFAULT,
                          chain, KC_AUDIO_RATE);
  dec->pipeline = make_pipeline (desc, &dec->sink, error);
  if (dec->pipeline == NULL)
    return NULL;
  caps = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "audio",
                              "clock-rate", G_TYPE_INT, (int) dec->clock_rate,
                              "encoding-name", G_TYPE_STRING, name,
                              "payload", G_TYPE_INT, (int) pt, NULL);
  dec->pad = attach_pad (dec->pipeline, "kc-decoder", caps, error);
  if (dec->pad == NULL)
    return NULL;
  /* Playing, the pipeline has its clock: arrival times are on it. */
  dec->clock = gst_element_get_clock (dec->pipeline);
  return g_steal_pointer (&dec);
}

void
kc_decoder_free (KcDecoder *dec)
{
  if (dec == NULL)
    return;
  destroy_pipeline (dec->pipeline, dec->pad, dec->sink);
  gst_clear_object (&dec->clock);
  g_byte_array_unref (dec->pcm);
  g_free (dec);
}

void
kc_decoder_set_dtmf_func (KcDecoder  *dec,
                          KcDtmfFunc  func,
                          gpointer    user_data)
{
  g_return_if_fail (dec != NULL);
  dec->dtmf_func = func;
  dec->dtmf_data = user_data;
}

void
kc_decoder_get_stats (KcDecoder      *dec,
                      KcDecoderStats *stats)
{
  g_return_if_fail (dec != NULL);
  g_return_if_fail (stats != NULL);
  *stats = dec->stats;
}

static void
report_event (KcDecoder *dec)
{
  dec->in_event = FALSE;
  dec->have_last = TRUE;
  dec->last_reported_ts = dec->event_ts;
  dec->stats.dtmf_events++;
  if (dec->dtmf_func != NULL)
    dec->dtmf_func (dtmf_digits[dec->event_code],
                    dec->event_duration * 1000u / dec->clock_rate,
                    dec->dtmf_data);
}

/* RFC 4733 §2.5.2: an event is known by its timestamp; updates and the
 * repeated end packets carry the same one, so each digit is told once. */
static void
handle_dtmf (KcDecoder    *dec,
             guint32       ts,
             const guint8 *payload,
             gsize         len)
{
  gboolean end;

  dec->stats.dtmf_packets++;
  if (len < 4 || payload[0] >= sizeof dtmf_digits - 1)
    return;    /* flash-hook and the like: not digits */
  end = (payload[1] & 0x80) != 0;
  if (dec->have_last && ts == dec->last_reported_ts)
    return;    /* a repeat of an event already told */
  if (dec->in_event && ts != dec->event_ts)
    report_event (dec);    /* its end packets were all lost */
  dec->in_event = TRUE;
  dec->event_ts = ts;
  dec->event_code = payload[0];
  dec->event_duration = GST_READ_UINT16_BE (payload + 2);
  if (end)
    report_event (dec);
}

gboolean
kc_decoder_push_packet (KcDecoder     *dec,
                        const guint8  *data,
                        gsize          len,
                        GError       **error)
{
  gsize header, pad = 0;
  guint pt;
  GstBuffer *buf;

  g_return_val_if_fail (dec != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (!dec->finished, FALSE);

  dec->stats.packets_in++;
  if (!check_bus (dec->pipeline, error))
    return FALSE;

  /* Header: fixed part, CSRCs, then the extension if flagged; padding's
   * length is in the last byte. Anything that does not fit is dropped here,
   * before the jitter buffer could be confused by it. */
  header = RTP_HEADER_LEN + (len > 0 ? (data[0] & 0x0f) * 4u : 0);
  if (len > 0 && (data[0] & 0x10))
    header = len >= header + 4
             ? header + 4 + GST_READ_UINT16_BE (data + header + 2) * 4u
             : G_MAXSIZE / 2;
  if (len >= RTP_HEADER_LEN && (data[0] & 0x20))
    pad = data[len - 1];
  if (len < RTP_HEADER_LEN || (data[0] >> 6) != 2 || header + pad > len
      || ((data[0] & 0x20) && pad == 0))
    {
      dec->stats.dropped_malformed++;
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Dropped a %" G_GSIZE_FORMAT "-byte packet that is not RTP "
                   "version 2 or is truncated", len);
      return FALSE;
    }

  pt = data[1] & 0x7f;
  if (pt == dec->dtmf_pt)
    {
      handle_dtmf (dec, GST_READ_UINT32_BE (data + 4), data + header,
                   len - header - pad);
      return TRUE;
    }
  if (pt != dec->pt)
    {
      dec->stats.dropped_pt++;
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Dropped an RTP packet of payload type %u; this call "
                   "negotiated %u (%s) and %u (telephone-event)",
                   pt, dec->pt, kc_codec_get_sdp_name (dec->codec), dec->dtmf_pt);
      return FALSE;
    }

  buf = gst_buffer_new_memdup (data, len);
  /* The arrival time, in the pipeline's running time: what the jitter
   * buffer measures jitter with and times a missing packet from. */
  if (dec->clock != NULL)
    GST_BUFFER_DTS (buf) = gst_clock_get_time (dec->clock)
                           - gst_element_get_base_time (dec->pipeline);
  if (gst_pad_push (dec->pad, buf) != GST_FLOW_OK)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "The audio decoder refused a packet");
      return FALSE;
    }
  return TRUE;
}

static void
take_sample (KcDecoder *dec,
             GstSample *sample)
{
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstClockTime pts;
  GstMapInfo map;

  if (buf == NULL || !gst_buffer_map (buf, &map, GST_MAP_READ))
    return;
  pts = GST_BUFFER_PTS (buf);
  /* A hole the decoder left (G.711 has no PLC; a lost-packet event turns
   * into a GAP, not samples): fill it with silence so playback keeps time. */
  if (GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (dec->next_pts)
      && pts > dec->next_pts + FRAME_NS / 2 && pts - dec->next_pts < 10 * GST_SECOND)
    {
      guint64 missing = gst_util_uint64_scale (pts - dec->next_pts, KC_AUDIO_RATE,
                                               GST_SECOND);
      guint old = dec->pcm->len;

      g_byte_array_set_size (dec->pcm, old + missing * sizeof (gint16));
      memset (dec->pcm->data + old, 0, missing * sizeof (gint16));
      dec->stats.frames_concealed += (missing + KC_AUDIO_FRAME_SAMPLES / 2)
                                     / KC_AUDIO_FRAME_SAMPLES;
    }
  /* The resampler (8 kHz G.711 to 48 kHz) holds back its filter's delay,
   * so the first packet gives a little less than a frame and every frame
   * would wait for the next packet: 20 ms more latency for a few samples.
   * Starting with that much silence keeps frames and packets in step. */
  if (!GST_CLOCK_TIME_IS_VALID (dec->next_pts) && dec->pcm->len == 0
      && map.size < FRAME_BYTES && map.size > FRAME_BYTES * 3 / 4)
    {
      g_byte_array_set_size (dec->pcm, FRAME_BYTES - map.size);
      memset (dec->pcm->data, 0, dec->pcm->len);
    }
  g_byte_array_append (dec->pcm, map.data, map.size);
  if (GST_CLOCK_TIME_IS_VALID (pts))
    dec->next_pts = pts + gst_util_uint64_scale (map.size / sizeof (gint16),
                                                 GST_SECOND, KC_AUDIO_RATE);
  gst_buffer_unmap (buf, &map);
}

void
kc_decoder_finish (KcDecoder *dec)
{
  g_return_if_fail (dec != NULL);

  if (dec->finished)
    return;
  dec->finished = TRUE;
  gst_pad_push_event (dec->pad, gst_event_new_eos ());
}

gboolean
kc_decoder_pull_frame (KcDecoder *dec,
                       gint16    *frame,
                       guint      timeout_ms)
{
  gint64 deadline;

  g_return_val_if_fail (dec != NULL, FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  while (dec->pcm->len < FRAME_BYTES)
    {
      g_autoptr(GstSample) sample = NULL;
      gint64 left = deadline - g_get_monotonic_time ();

      sample = gst_app_sink_try_pull_sample (dec->sink, MAX (left, 0) * GST_USECOND);
      if (sample == NULL)
        return FALSE;
      take_sample (dec, sample);
    }
  memcpy (frame, dec->pcm->data, FRAME_BYTES);
  g_byte_array_remove_range (dec->pcm, 0, FRAME_BYTES);
  dec->stats.frames_out++;
  return TRUE;
}
