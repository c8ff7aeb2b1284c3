/* kc-media.c: a call's SRTP audio stream over UDP. */
#define G_LOG_DOMAIN "kc-media"

#include "kc-media.h"
#include "kc-audio-device.h"
#include "kc-error.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Pairs tried before giving up: another process can take the odd port
 * between our two binds, and the kernel may hand out an odd one. */
#define BIND_ATTEMPTS 64
/* What a receive callback reads before it lets the main loop breathe. */
#define RECEIVE_BATCH 32
/* Packets one recvmmsg() may take: two, so that one call takes the one
 * packet a period brings and learns there is no other (a second call
 * would only say EAGAIN), and a burst goes two at a time. */
#define RECEIVE_SLOTS 2

struct _KcMediaStream {
  GObject         parent_instance;

  char           *address;
  GSocket        *rtp_socket;
  GSocket        *rtcp_socket;
  GSource        *rtp_source;
  GSource        *rtcp_source;
  GMainContext   *context;
  guint16         port;

  gboolean        running;
  gboolean        stopped;
  GSocketAddress *remote_rtp;
  GSocketAddress *remote_rtcp;
  /* The same, as the kernel takes them: sendto() on the socket's fd
   * without GSocket's conversion of the address for every packet. */
  struct sockaddr_storage remote_rtp_native;
  struct sockaddr_storage remote_rtcp_native;
  socklen_t       remote_rtp_len;
  socklen_t       remote_rtcp_len;
  KcFrameFunc     frame_func;
  gpointer        frame_data;
  int             dtmf_pt;
  KcEncoder      *encoder;
  KcDecoder      *decoder;
  KcSrtpSession  *srtp_out;
  KcSrtpSession  *srtp_in;
  KcRtcp         *rtcp;
  GSource        *rtcp_timer;

  /* One buffer for every packet sent, and the first of RECEIVE_SLOTS for
   * those received: libsrtp wants 32-bit alignment and room for its
   * trailer; g_malloc's alignment covers that (BUF_SIZE keeps each slot
   * aligned). */
  guint8         *buf;

  KcMediaStats    stats;
};

G_DEFINE_FINAL_TYPE (KcMediaStream, kc_media_stream, G_TYPE_OBJECT)

enum {
  SIGNAL_DTMF,
  SIGNAL_PACKET_RECEIVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

#define BUF_SIZE ((KC_SRTP_MAX_PACKET + KC_SRTP_MAX_TRAILER + 7) & ~7)

static void
close_socket (GSocket **socket,
              GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
  if (*socket != NULL)
    g_socket_close (*socket, NULL);
  g_clear_object (socket);
}

static void
release (KcMediaStream *self)
{
  if (self->rtcp_timer != NULL)
    {
      g_source_destroy (self->rtcp_timer);
      g_clear_pointer (&self->rtcp_timer, g_source_unref);
    }
  close_socket (&self->rtp_socket, &self->rtp_source);
  close_socket (&self->rtcp_socket, &self->rtcp_source);
  g_clear_pointer (&self->encoder, kc_encoder_free);
  g_clear_pointer (&self->decoder, kc_decoder_free);
  /* Freeing the sessions wipes their keys. */
  g_clear_pointer (&self->srtp_out, kc_srtp_session_free);
  g_clear_pointer (&self->srtp_in, kc_srtp_session_free);
  self->running = FALSE;
}

static void
kc_media_stream_finalize (GObject *object)
{
  KcMediaStream *self = KC_MEDIA_STREAM (object);

  kc_media_stream_stop (self);
  g_clear_pointer (&self->rtcp, kc_rtcp_free);
  g_clear_object (&self->remote_rtp);
  g_clear_object (&self->remote_rtcp);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->buf);
  g_free (self->address);
  G_OBJECT_CLASS (kc_media_stream_parent_class)->finalize (object);
}

static void
kc_media_stream_class_init (KcMediaStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = kc_media_stream_finalize;

  signals[SIGNAL_DTMF] = g_signal_new ("dtmf", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                       G_TYPE_CHAR, G_TYPE_UINT);
  signals[SIGNAL_PACKET_RECEIVED] = g_signal_new ("packet-received", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 0);
}

static void
kc_media_stream_init (KcMediaStream *self)
{
  self->dtmf_pt = -1;
  self->stats.rtcp.rtt_ms = -1;
}

static GSocket *
bind_udp (GInetAddress *inet,
          guint16       port,
          GError      **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  socket = g_socket_new (g_inet_address_get_family (inet), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  address = g_inet_socket_address_new (inet, port);
  if (!g_socket_bind (socket, address, FALSE, error))
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  return g_steal_pointer (&socket);
}

static guint16
local_port (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);

  return local != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

static gboolean
bind_pair (KcMediaStream *self,
           GInetAddress  *inet,
           GError       **error)
{
  g_autoptr(GError) last = NULL;

  for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++)
    {
      g_autoptr(GSocket) rtp = NULL;
      g_autoptr(GSocket) rtcp = NULL;
      guint16 port;

      g_clear_error (&last);
      rtp = bind_udp (inet, 0, &last);
      if (rtp == NULL)
        break;    /* the address itself is the problem */
      port = local_port (rtp);
      if (port == 0 || port % 2 != 0 || port == G_MAXUINT16)
        continue;
      rtcp = bind_udp (inet, port + 1, &last);
      if (rtcp == NULL)
        continue;
      self->rtp_socket = g_steal_pointer (&rtp);
      self->rtcp_socket = g_steal_pointer (&rtcp);
      self->port = port;
      return TRUE;
    }
  g_set_error (error, KC_ERROR, KC_ERROR_IO,
               "Cannot bind an RTP/RTCP port pair on %s: %s", self->address,
               last != NULL ? last->message : "every port the system offered was odd or taken");
  return FALSE;
}

KcMediaStream *
kc_media_stream_new (const char *bind_address,
                     GError    **error)
{
  g_autoptr(KcMediaStream) self = NULL;
  g_autoptr(GInetAddress) inet = NULL;

  g_return_val_if_fail (bind_address != NULL, NULL);

  inet = g_inet_address_new_from_string (bind_address);
  if (inet == NULL)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "“%s” is not an IP address to receive media on", bind_address);
      return NULL;
    }
  self = g_object_new (KC_TYPE_MEDIA_STREAM, NULL);
  self->address = g_strdup (bind_address);
  self->context = g_main_context_ref_thread_default ();
  if (!bind_pair (self, inet, error))
    return NULL;
  self->buf = g_malloc (BUF_SIZE * RECEIVE_SLOTS);
  return g_steal_pointer (&self);
}

guint16
kc_media_stream_get_port (KcMediaStream *self)
{
  g_return_val_if_fail (KC_IS_MEDIA_STREAM (self), 0);
  return self->port;
}

const char *
kc_media_stream_get_address (KcMediaStream *self)
{
  g_return_val_if_fail (KC_IS_MEDIA_STREAM (self), NULL);
  return self->address;
}

gboolean
kc_media_stream_is_running (KcMediaStream *self)
{
  g_return_val_if_fail (KC_IS_MEDIA_STREAM (self), FALSE);
  return self->running;
}

/* Sending ----------------------------------------------------------------- */

static void
send_packet (KcMediaStream         *self,
             GSocket               *socket,
             const struct sockaddr *to,
             socklen_t              to_len,
             const guint8          *data,
             gsize                  len)
{
  if (sendto (g_socket_get_fd (socket), data, len, MSG_NOSIGNAL | MSG_DONTWAIT,
              to, to_len) < 0)
    {
      /* ICMP unreachable from a peer that has not bound yet, a full queue:
       * the next packet may go; say so once, not fifty times a second. */
      if (self->stats.send_errors++ == 0)
        g_message ("Media to %s: %s (further send errors are only counted)",
                   self->address, g_strerror (errno));
    }
}

static void
send_rtp (KcMediaStream *self,
          GBytes        *packet)
{
  gsize len = g_bytes_get_size (packet);
  gsize out_len = 0;
  g_autoptr(GError) error = NULL;

  if (len > KC_SRTP_MAX_PACKET)
    return;
  memcpy (self->buf, g_bytes_get_data (packet, NULL), len);
  kc_rtcp_note_sent (self->rtcp, self->buf, len, g_get_real_time ());
  if (!kc_srtp_protect_rtp (self->srtp_out, self->buf, len, BUF_SIZE, &out_len, &error))
    {
      g_warning ("Media: an RTP packet was not sent: %s", error->message);
      return;
    }
  send_packet (self, self->rtp_socket, (struct sockaddr *) &self->remote_rtp_native,
               self->remote_rtp_len, self->buf, out_len);
  self->stats.rtp_sent++;
}

static void
send_rtcp (KcMediaStream *self,
           GBytes        *report)
{
  gsize len = g_bytes_get_size (report);
  gsize out_len = 0;
  g_autoptr(GError) error = NULL;

  if (len > KC_SRTP_MAX_PACKET)
    return;
  memcpy (self->buf, g_bytes_get_data (report, NULL), len);
  if (!kc_srtp_protect_rtcp (self->srtp_out, self->buf, len, BUF_SIZE, &out_len, &error))
    {
      g_warning ("Media: an RTCP report was not sent: %s", error->message);
      return;
    }
  send_packet (self, self->rtcp_socket, (struct sockaddr *) &self->remote_rtcp_native,
               self->remote_rtcp_len, self->buf, out_len);
  self->stats.rtcp_sent++;
}

static void
drain_encoder (KcMediaStream *self)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) packet = kc_encoder_pull_packet (self->encoder, &error);

      if (packet == NULL)
        {
          if (error != NULL)
            g_warning ("Media: the encoder failed: %s", error->message);
          return;
        }
      send_rtp (self, packet);
    }
}

void
kc_media_stream_send_frame (KcMediaStream *self,
                            const gint16  *frame)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (KC_IS_MEDIA_STREAM (self));
  g_return_if_fail (frame != NULL);

  if (!self->running)
    return;
  if (!kc_encoder_push_frame (self->encoder, frame, &error))
    {
      g_warning ("Media: a frame was not encoded: %s", error->message);
      return;
    }
  self->stats.frames_sent++;
  /* The encoder runs in this thread: what a frame gives is ready now (the
   * first frame or two give nothing while the codec fills its lookahead). */
  drain_encoder (self);
}

gboolean
kc_media_stream_send_dtmf (KcMediaStream *self,
                           char           digit,
                           guint          duration_ms,
                           GError       **error)
{
  g_return_val_if_fail (KC_IS_MEDIA_STREAM (self), FALSE);

  if (!self->running)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_CLOSED, "The call has no media running");
      return FALSE;
    }
  if (self->dtmf_pt < 0)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                   "The other side did not offer telephone events (RFC 4733)");
      return FALSE;
    }
  return kc_encoder_send_dtmf (self->encoder, digit, duration_ms, error);
}

static gboolean
on_rtcp_timer (gpointer user_data)
{
  KcMediaStream *self = user_data;
  g_autoptr(GBytes) report = kc_rtcp_build_report (self->rtcp, g_get_real_time ());

  if (report != NULL)
    send_rtcp (self, report);
  return G_SOURCE_CONTINUE;
}

/* Receiving --------------------------------------------------------------- */

static void
take_rtp (KcMediaStream *self,
          guint8        *buf,
          gsize          len)
{
  g_autoptr(GError) error = NULL;
  gsize rtp_len = 0;

  /* Refused packets are counted by kc-srtp by reason and never decoded:
   * a replay, a forgery or a wrongly keyed packet never reaches the ear. */
  if (!kc_srtp_unprotect_rtp (self->srtp_in, buf, len, &rtp_len, &error))
    {
      g_debug ("Media: dropped a packet: %s", error->message);
      return;
    }
  self->stats.rtp_received++;
  kc_rtcp_note_received (self->rtcp, buf, rtp_len, g_get_real_time ());
  if (!kc_decoder_push_packet (self->decoder, buf, rtp_len, &error))
    {
      g_debug ("Media: the decoder dropped a packet: %s", error->message);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_PACKET_RECEIVED], 0);
}

static void
take_rtcp (KcMediaStream *self,
           guint8        *buf,
           gsize          len)
{
  g_autoptr(GError) error = NULL;
  gsize rtcp_len = 0;

  if (!kc_srtp_unprotect_rtcp (self->srtp_in, buf, len, &rtcp_len, &error))
    {
      g_debug ("Media: dropped an RTCP packet: %s", error->message);
      return;
    }
  self->stats.rtcp_received++;
  if (!kc_rtcp_process (self->rtcp, buf, rtcp_len, g_get_real_time (), &error))
    g_debug ("Media: %s", error->message);
}

static gboolean
on_readable (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  KcMediaStream *self = user_data;
  gboolean rtcp = socket == self->rtcp_socket;
  int fd = g_socket_get_fd (socket);
  int taken = 0;

  (void) condition;
  /* recvmmsg() straight on the descriptor: one system call for the one
   * packet a period brings, where g_socket_receive_from() needs a second
   * to learn that nothing else waits, and makes a GError to say so. */
  while (taken < RECEIVE_BATCH && self->running)
    {
      struct mmsghdr msgs[RECEIVE_SLOTS];
      struct iovec iov[RECEIVE_SLOTS];
      int n;

      memset (msgs, 0, sizeof msgs);
      for (int i = 0; i < RECEIVE_SLOTS; i++)
        {
          iov[i].iov_base = self->buf + (gsize) i * BUF_SIZE;
          iov[i].iov_len = KC_SRTP_MAX_PACKET;
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
      n = recvmmsg (fd, msgs, RECEIVE_SLOTS, MSG_DONTWAIT, NULL);
      if (n <= 0)
        {
          /* EAGAIN ends the batch; anything else (an ICMP error queued on
           * the socket) is not worth more than a debug line. */
          if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_debug ("Media: receive: %s", g_strerror (errno));
          break;
        }
      for (int i = 0; i < n && self->running; i++)
        {
          guint8 *buf = iov[i].iov_base;

          if (rtcp)
            take_rtcp (self, buf, msgs[i].msg_len);
          else
            take_rtp (self, buf, msgs[i].msg_len);
        }
      taken += n;
      if (n < RECEIVE_SLOTS)
        break;
    }
  return G_SOURCE_CONTINUE;
}

static GSource *
watch (KcMediaStream *self,
       GSocket       *socket)
{
  GSource *source = g_socket_create_source (socket, G_IO_IN, NULL);

  g_source_set_callback (source, G_SOURCE_FUNC (on_readable), self, NULL);
  g_source_set_name (source, "kc-media");
  /* GLib (2.74) blocks a source that cannot recurse while it dispatches,
   * by taking its fd out of the poll set and putting it back, and each of
   * those wakes the context up through its eventfd: two writes, a read and
   * an extra poll for every packet. on_readable() never runs a nested main
   * loop, so there is nothing to block against. */
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, self->context);
  return source;
}

static void
on_dtmf (char     digit,
         guint    duration_ms,
         gpointer user_data)
{
  g_signal_emit (user_data, signals[SIGNAL_DTMF], 0, digit, duration_ms);
}

void
kc_media_stream_set_frame_func (KcMediaStream *self,
                                KcFrameFunc    func,
                                gpointer       user_data)
{
  g_return_if_fail (KC_IS_MEDIA_STREAM (self));

  self->frame_func = func;
  self->frame_data = user_data;
  if (self->decoder != NULL)
    kc_decoder_set_frame_func (self->decoder, func, user_data);
}

gboolean
kc_media_stream_receive_frame_wait (KcMediaStream *self,
                                    gint16        *frame,
                                    guint          timeout_ms)
{
  g_return_val_if_fail (KC_IS_MEDIA_STREAM (self), FALSE);
  g_return_val_if_fail (frame != NULL, FALSE);

  /* Counted by the decoder (frames_out), however they leave it. */
  return self->running && kc_decoder_pull_frame (self->decoder, frame, timeout_ms);
}

gboolean
kc_media_stream_receive_frame (KcMediaStream *self,
                               gint16        *frame)
{
  return kc_media_stream_receive_frame_wait (self, frame, 0);
}

/* Start and stop ------------------------------------------------------------ */

static GSocketAddress *
remote_address (const char *address,
                guint16     port,
                GError    **error)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

  if (inet == NULL || port == 0)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "The peer's media address %s port %u is not usable", address, port);
      return NULL;
    }
  return g_inet_socket_address_new (inet, port);
}

gboolean
kc_media_stream_start (KcMediaStream       *self,
                       const KcMediaParams *params,
                       const KcSecret      *send_key,
                       const KcSecret      *recv_key,
                       GError             **error)
{
  guint32 ssrc;

  g_return_val_if_fail (KC_IS_MEDIA_STREAM (self), FALSE);
  g_return_val_if_fail (params != NULL && params->remote_address != NULL, FALSE);
  g_return_val_if_fail (send_key != NULL && recv_key != NULL, FALSE);

  if (self->running || self->stopped)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_CLOSED, "This media stream was started already");
      return FALSE;
    }
  self->remote_rtp = remote_address (params->remote_address, params->remote_rtp_port, error);
  if (self->remote_rtp == NULL)
    return FALSE;
  self->remote_rtcp = remote_address (params->remote_address,
                                      params->remote_rtcp_port != 0 ? params->remote_rtcp_port
                                                                    : params->remote_rtp_port + 1,
                                      error);
  if (self->remote_rtcp == NULL)
    return FALSE;
  if (!g_socket_address_to_native (self->remote_rtp, &self->remote_rtp_native,
                                   sizeof self->remote_rtp_native, error)
      || !g_socket_address_to_native (self->remote_rtcp, &self->remote_rtcp_native,
                                      sizeof self->remote_rtcp_native, error))
    return FALSE;
  self->remote_rtp_len = g_socket_address_get_native_size (self->remote_rtp);
  self->remote_rtcp_len = g_socket_address_get_native_size (self->remote_rtcp);

  self->srtp_out = kc_srtp_session_new (params->suite, params->send_direction,
                                        KC_SRTP_ROLE_SEND, send_key, error);
  if (self->srtp_out == NULL)
    return FALSE;
  self->srtp_in = kc_srtp_session_new (params->suite,
                                       params->send_direction == KC_DIRECTION_CALLER_TO_CALLEE
                                         ? KC_DIRECTION_CALLEE_TO_CALLER
                                         : KC_DIRECTION_CALLER_TO_CALLEE,
                                       KC_SRTP_ROLE_RECEIVE, recv_key, error);
  if (self->srtp_in == NULL)
    goto fail;

  ssrc = g_random_int ();
  self->dtmf_pt = params->dtmf_pt;
  self->encoder = kc_encoder_new (params->codec, params->pt,
                                  params->dtmf_pt >= 0 ? (guint) params->dtmf_pt
                                                       : KC_CODEC_DTMF_PT_DEFAULT,
                                  ssrc, error);
  if (self->encoder == NULL)
    goto fail;
  self->decoder = kc_decoder_new (params->codec, params->pt,
                                  params->dtmf_pt >= 0 ? (guint) params->dtmf_pt
                                                       : KC_CODEC_DTMF_PT_DEFAULT,
                                  params->jitter_ms, error);
  if (self->decoder == NULL)
    goto fail;
  kc_decoder_set_dtmf_func (self->decoder, on_dtmf, self);
  if (self->frame_func != NULL)
    kc_decoder_set_frame_func (self->decoder, self->frame_func, self->frame_data);
  self->rtcp = kc_rtcp_new (ssrc, kc_codec_get_clock_rate (params->codec),
                            params->cname != NULL ? params->cname : "keycall");
  if (self->rtcp == NULL)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "GStreamer did not start (RTCP)");
      goto fail;
    }

  self->running = TRUE;
  self->rtp_source = watch (self, self->rtp_socket);
  self->rtcp_source = watch (self, self->rtcp_socket);
  self->rtcp_timer = g_timeout_source_new (KC_RTCP_INTERVAL_MS);
  g_source_set_callback (self->rtcp_timer, on_rtcp_timer, self, NULL);
  g_source_attach (self->rtcp_timer, self->context);
  g_debug ("Media: %s:%u ↔ %s:%u, %s, %s", self->address, self->port, params->remote_address,
           params->remote_rtp_port, kc_codec_get_sdp_name (params->codec),
           kc_suite_to_string (params->suite));
  return TRUE;

fail:
  g_clear_pointer (&self->srtp_out, kc_srtp_session_free);
  g_clear_pointer (&self->srtp_in, kc_srtp_session_free);
  g_clear_pointer (&self->encoder, kc_encoder_free);
  g_clear_pointer (&self->decoder, kc_decoder_free);
  return FALSE;
}

void
kc_media_stream_stop (KcMediaStream *self)
{
  g_return_if_fail (KC_IS_MEDIA_STREAM (self));

  if (self->stopped)
    return;
  if (self->running)
    {
      g_autoptr(GBytes) bye = kc_rtcp_build_bye (self->rtcp, g_get_real_time ());

      if (bye != NULL)
        send_rtcp (self, bye);
      /* Keep the final figures before the objects that hold them go. */
      kc_media_stream_get_stats (self, &self->stats);
    }
  self->stopped = TRUE;
  release (self);
}

void
kc_media_stream_get_stats (KcMediaStream *self,
                           KcMediaStats  *stats)
{
  g_return_if_fail (KC_IS_MEDIA_STREAM (self));
  g_return_if_fail (stats != NULL);

  if (stats != &self->stats)
    *stats = self->stats;
  if (self->srtp_out != NULL)
    kc_srtp_session_get_stats (self->srtp_out, &stats->srtp_out);
  if (self->srtp_in != NULL)
    kc_srtp_session_get_stats (self->srtp_in, &stats->srtp_in);
  if (self->decoder != NULL)
    {
      kc_decoder_get_stats (self->decoder, &stats->decoder);
      stats->frames_received = stats->decoder.frames_out;
    }
  if (self->rtcp != NULL)
    kc_rtcp_get_stats (self->rtcp, &stats->rtcp);
}
