/* kc-media.h: one call's audio stream on the network (FIG. 3, 330 onward).
 *
 * A stream binds an RTP/RTCP port pair before the SDP is written, and once
 * the call is answered sends each 20 ms frame it is given as SRTP (encoded
 * by kc-codec, protected by kc-srtp with this direction's key) and turns
 * the SRTP it receives back into frames through the jitter buffer. RTCP
 * reports (SRTCP) go out every KC_RTCP_INTERVAL_MS. Where frames come from
 * and go to (a device, a file, nothing) is the caller's business.
 *
 * Main-context only: sockets are watched on the thread-default main context
 * current at kc_media_stream_new().
 */
#pragma once

#include <gio/gio.h>

#include "kc-codec.h"
#include "kc-keys.h"
#include "kc-rtcp.h"
#include "kc-secret.h"
#include "kc-srtp.h"

G_BEGIN_DECLS

typedef struct {
  const char *remote_address;    /* IP literal from the peer's SDP */
  guint16     remote_rtp_port;
  guint16     remote_rtcp_port;  /* 0: remote_rtp_port + 1 */
  KcCodec     codec;
  guint       pt;
  int         dtmf_pt;           /* -1: the peer takes no telephone events */
  KcSuite     suite;
  KcDirection send_direction;    /* ours: the caller sends caller-to-callee */
  const char *cname;             /* RTCP SDES CNAME */
  guint       jitter_ms;         /* 0: KC_CODEC_JITTER_MS_DEFAULT */
} KcMediaParams;

typedef struct {
  guint64        frames_sent;
  guint64        frames_received;    /* decoded frames handed out */
  guint64        rtp_sent;
  guint64        rtp_received;       /* authenticated and accepted */
  guint64        rtcp_sent;
  guint64        rtcp_received;
  guint64        send_errors;        /* the socket refused a packet */
  KcSrtpStats    srtp_out;
  KcSrtpStats    srtp_in;            /* .rejected: replayed, forged, wrongly keyed, truncated */
  KcDecoderStats decoder;
  KcRtcpStats    rtcp;
} KcMediaStats;

#define KC_TYPE_MEDIA_STREAM (kc_media_stream_get_type ())
G_DECLARE_FINAL_TYPE (KcMediaStream, kc_media_stream, KC, MEDIA_STREAM, GObject)

/* Signals:
 *   dtmf (gchar digit, guint duration_ms)   a telephone event received
 *   packet-received ()   an authentic RTP packet went to the decoder: a
 *                        frame may be ready (kc_media_stream_receive_frame_wait) */

/* Binds an even RTP port and the next one for RTCP on @bind_address (an IP
 * literal). KC_ERROR_IO when no pair could be bound. */
KcMediaStream *kc_media_stream_new        (const char          *bind_address,
                                           GError             **error);
guint16        kc_media_stream_get_port   (KcMediaStream       *self);
const char    *kc_media_stream_get_address (KcMediaStream      *self);

/* Starts sending and receiving. @send_key and @recv_key are the SRTP master
 * key ‖ salt of our direction and the peer's (kc_srtp_key_derive); copied.
 * KC_ERROR_INVALID for a bad address, a key that does not fit the suite;
 * KC_ERROR_FAILED when a GStreamer plugin is missing. Once only. */
gboolean       kc_media_stream_start      (KcMediaStream       *self,
                                           const KcMediaParams *params,
                                           const KcSecret      *send_key,
                                           const KcSecret      *recv_key,
                                           GError             **error);
gboolean       kc_media_stream_is_running (KcMediaStream       *self);

/* One frame of KC_AUDIO_FRAME_SAMPLES samples to send now: encoded,
 * protected and sent. Ignored before start and after stop. */
void           kc_media_stream_send_frame (KcMediaStream       *self,
                                           const gint16        *frame);
/* The next received frame, if one is ready; FALSE (and @frame untouched)
 * when none is, before start and after stop. */
gboolean       kc_media_stream_receive_frame (KcMediaStream    *self,
                                              gint16           *frame);
/* The same, waiting up to @timeout_ms for the decoder (GStreamer decodes
 * on its own thread, within a millisecond or so of the packet). */
gboolean       kc_media_stream_receive_frame_wait (KcMediaStream *self,
                                                   gint16        *frame,
                                                   guint          timeout_ms);
/* Has each received frame handed to @func in the decoder's thread, as
 * soon as it is decoded, instead of kept for the two calls above (see
 * kc_decoder_set_frame_func(): @func must not block). Set before or after
 * start; NULL goes back to keeping them. Once this returns the previous
 * function is not running and will not run again. */
void           kc_media_stream_set_frame_func (KcMediaStream *self,
                                               KcFrameFunc    func,
                                               gpointer       user_data);
/* RFC 4733: KC_ERROR_UNSUPPORTED when the peer takes no telephone events,
 * otherwise as kc_encoder_send_dtmf(). */
gboolean       kc_media_stream_send_dtmf  (KcMediaStream       *self,
                                           char                 digit,
                                           guint                duration_ms,
                                           GError             **error);

/* Sends an RTCP BYE, closes the sockets and wipes the SRTP keys;
 * idempotent, and done by finalize too. Statistics stay readable. */
void           kc_media_stream_stop       (KcMediaStream       *self);
void           kc_media_stream_get_stats  (KcMediaStream       *self,
                                           KcMediaStats        *stats);

G_END_DECLS
