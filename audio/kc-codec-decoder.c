/* kc-codec-decoder.c: the receiving side of kc-codec.h: RTP through
 * rtpjitterbuffer (loss concealment) into Opus or G.711 decoding, and
 * RFC 4733 telephone events out of the stream. */
#define G_LOG_DOMAIN "kc-codec"

#include "kc-codec.h"
#include "kc-codec-private.h"
#include "kc-error.h"
#include "kc-gst-private.h"

#include <gst/gst.h>
#include <string.h>

/* Decoder ---------------------------------------------------------------- */

struct _KcDecoder {
  KcCodec         codec;
  guint           pt;
  guint           dtmf_pt;
  guint           clock_rate;
  GstElement     *pipeline;
  GstPad         *pad;         /* ours, linked to the jitter buffer */
  GstClock       *clock;       /* the pipeline's, for arrival times */
  GstClockTime    base_time;
  GstPad         *sink;        /* ours: decoded audio arrives in the jitter buffer's thread */
  BusWatch        bus;

  /* Shared with the jitter buffer's thread. */
  GMutex          lock;
  GCond           cond;        /* pcm grew or the stream ended */
  GByteArray     *pcm;         /* decoded samples not yet pulled */
  GstClockTime    next_pts;    /* where the next decoded buffer should start */
  gboolean        eos;
  KcFrameFunc     frame_func;
  gpointer        frame_data;

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

static GstFlowReturn on_decoded       (GstPad    *pad,
                                       GstObject *parent,
                                       GstBuffer *buf);
static gboolean      on_decoder_event (GstPad    *pad,
                                       GstObject *parent,
                                       GstEvent  *event);

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
  g_mutex_init (&dec->lock);
  g_cond_init (&dec->cond);
  g_mutex_init (&dec->bus.lock);

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
                          "! capsfilter name=last "
                          "caps=audio/x-raw,format=S16LE,rate=%d,channels=1",
                          jitter_ms ? jitter_ms : KC_CODEC_JITTER_MS_DEFAULT,
                          chain, KC_AUDIO_RATE);
  dec->pipeline = kc_codec_make_pipeline (desc, &dec->bus, on_decoded, on_decoder_event, dec,
                                 &dec->sink, error);
  if (dec->pipeline == NULL)
    return NULL;
  caps = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "audio",
                              "clock-rate", G_TYPE_INT, (int) dec->clock_rate,
                              "encoding-name", G_TYPE_STRING, name,
                              "payload", G_TYPE_INT, (int) pt, NULL);
  dec->pad = kc_codec_attach_pad (dec->pipeline, "kc-decoder", caps, error);
  if (dec->pad == NULL)
    return NULL;
  /* Playing, the pipeline has its clock: arrival times are on it. */
  dec->clock = gst_element_get_clock (dec->pipeline);
  dec->base_time = gst_element_get_base_time (dec->pipeline);
  return g_steal_pointer (&dec);
}

void
kc_decoder_free (KcDecoder *dec)
{
  if (dec == NULL)
    return;
  /* Stops the jitter buffer's thread: nothing calls back after this. */
  kc_codec_destroy_pipeline (dec->pipeline, dec->pad, dec->sink);
  gst_clear_object (&dec->clock);
  g_byte_array_unref (dec->pcm);
  g_mutex_clear (&dec->lock);
  g_cond_clear (&dec->cond);
  kc_codec_bus_watch_clear (&dec->bus);
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
  g_mutex_lock (&dec->lock);
  *stats = dec->stats;
  g_mutex_unlock (&dec->lock);
}

static void
report_event (KcDecoder *dec)
{
  dec->in_event = FALSE;
  dec->have_last = TRUE;
  dec->last_reported_ts = dec->event_ts;
  dec->stats.dtmf_events++;
  if (dec->dtmf_func != NULL)
    dec->dtmf_func (kc_codec_dtmf_digits[dec->event_code],
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
  if (len < 4 || payload[0] >= sizeof kc_codec_dtmf_digits - 1)
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
  if (!kc_codec_check_bus (&dec->bus, error))
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
    GST_BUFFER_DTS (buf) = gst_clock_get_time (dec->clock) - dec->base_time;
  if (gst_pad_push (dec->pad, buf) != GST_FLOW_OK)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "The audio decoder refused a packet");
      return FALSE;
    }
  return TRUE;
}

/* One decoded buffer into dec->pcm; dec->lock held. */
static void
take_buffer (KcDecoder *dec,
             GstBuffer *buf)
{
  GstClockTime pts;
  GstMapInfo map;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
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

/* Moves the first frame of dec->pcm to @frame; dec->lock held. */
static void
take_frame (KcDecoder *dec,
            gint16    *frame)
{
  memcpy (frame, dec->pcm->data, FRAME_BYTES);
  g_byte_array_remove_range (dec->pcm, 0, FRAME_BYTES);
  dec->stats.frames_out++;
}

/* Decoded audio, in the jitter buffer's thread. With a frame function
 * each whole frame goes to it from here; otherwise it waits for
 * kc_decoder_pull_frame(), which this wakes. */
static GstFlowReturn
on_decoded (GstPad    *pad,
            GstObject *parent,
            GstBuffer *buf)
{
  KcDecoder *dec = gst_pad_get_element_private (pad);

  (void) parent;
  g_mutex_lock (&dec->lock);
  take_buffer (dec, buf);
  if (dec->frame_func != NULL)
    {
      gint16 frame[KC_AUDIO_FRAME_SAMPLES];

      while (dec->pcm->len >= FRAME_BYTES)
        {
          take_frame (dec, frame);
          dec->frame_func (frame, dec->frame_data);
        }
    }
  else if (dec->pcm->len >= FRAME_BYTES)
    {
      g_cond_signal (&dec->cond);
    }
  g_mutex_unlock (&dec->lock);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

static gboolean
on_decoder_event (GstPad    *pad,
                  GstObject *parent,
                  GstEvent  *event)
{
  KcDecoder *dec = gst_pad_get_element_private (pad);

  (void) parent;
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    {
      g_mutex_lock (&dec->lock);
      dec->eos = TRUE;
      g_cond_signal (&dec->cond);
      g_mutex_unlock (&dec->lock);
    }
  gst_event_unref (event);
  return TRUE;
}

void
kc_decoder_set_frame_func (KcDecoder   *dec,
                           KcFrameFunc  func,
                           gpointer     user_data)
{
  g_return_if_fail (dec != NULL);

  /* Under the lock the jitter buffer's thread calls it with: once this
   * returns, the old function is not running and will not be called. */
  g_mutex_lock (&dec->lock);
  dec->frame_func = func;
  dec->frame_data = user_data;
  g_mutex_unlock (&dec->lock);
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
  gboolean ok;

  g_return_val_if_fail (dec != NULL, FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  deadline = g_get_monotonic_time () + timeout_ms * G_TIME_SPAN_MILLISECOND;
  g_mutex_lock (&dec->lock);
  while (timeout_ms > 0 && dec->pcm->len < FRAME_BYTES && !dec->eos)
    if (!g_cond_wait_until (&dec->cond, &dec->lock, deadline))
      break;
  ok = dec->pcm->len >= FRAME_BYTES;
  if (ok)
    take_frame (dec, frame);
  g_mutex_unlock (&dec->lock);
  return ok;
}
