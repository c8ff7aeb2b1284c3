/* kc-codec-private.h: what the encoder (kc-codec.c) and the decoder
 * (kc-codec-decoder.c) share: frame sizes and the pipeline plumbing. */
#pragma once

#include "kc-audio-device.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define RTP_HEADER_LEN   12
#define FRAME_BYTES      (KC_AUDIO_FRAME_SAMPLES * sizeof (gint16))
#define FRAME_NS         ((GstClockTime) KC_AUDIO_FRAME_MS * GST_MSECOND)

/* RFC 4733 event codes 0-15, in order. */
static const char kc_codec_dtmf_digits[] = "0123456789*#ABCD";

/* A pipeline's first error, kept by a bus sync handler: the streaming
 * threads report through it, and the caller's thread reads one flag per
 * frame or packet instead of asking the bus. Other messages are dropped
 * (nobody reads this bus, so they would only pile up). */
typedef struct {
  GMutex  lock;
  gint    failed;       /* atomic */
  char   *message;
} BusWatch;

/* The first error GStreamer posted, if any, as a GError. */
gboolean    kc_codec_check_bus        (BusWatch             *watch,
                                       GError              **error);
void        kc_codec_bus_watch_clear  (BusWatch             *watch);
/* Builds @desc, links its output to a pad of ours whose @chain runs in the
 * thread that pushed, and starts it; errors go to @watch. */
GstElement *kc_codec_make_pipeline    (const char           *desc,
                                       BusWatch             *watch,
                                       GstPadChainFunction   chain,
                                       GstPadEventFunction   event,
                                       gpointer              data,
                                       GstPad              **sink,
                                       GError              **error);
/* Our source pad, linked to @pipeline's element named "first", with
 * @caps; frames or packets pushed on it run the pipeline in the pusher's
 * thread up to the first queue (kc-codec.c says why). */
GstPad     *kc_codec_attach_pad       (GstElement           *pipeline,
                                       const char           *stream_id,
                                       GstCaps              *caps,
                                       GError              **error);
void        kc_codec_destroy_pipeline (GstElement           *pipeline,
                                       GstPad               *pad,
                                       GstPad               *sink);

G_END_DECLS
