/* kc-rtcp.c: RTCP reports for one call's stream (RFC 3550 section 6):
 * receiver statistics after appendix A.1, A.3 and A.8, SR/RR/SDES/BYE
 * written and read with GStreamer's GstRTCPBuffer. */
#define G_LOG_DOMAIN "kc-rtcp"

#include "kc-rtcp.h"
#include "kc-error.h"
#include "kc-gst-private.h"

#include <gst/gst.h>
#include <gst/rtp/gstrtcpbuffer.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <string.h>

/* One compound packet (SR with one block, SDES with a 255-byte CNAME, BYE)
 * is under 400 bytes; this leaves room and stays under any path MTU. */
#define REPORT_MTU      1200
/* Larger than any UDP payload: the rest is not RTCP. */
#define RTCP_MAX_LEN    65535

/* RFC 3550 A.1. */
#define RTP_SEQ_MOD     (1 << 16)
#define MAX_DROPOUT     3000
#define MAX_MISORDER    100

/* The cumulative loss field of a report block is 24-bit signed. */
#define LOST_MAX        0x7fffff
#define LOST_MIN        (-0x800000)

/* Words after the header before the first report block (RFC 3550 6.4). */
#define SR_FIXED_WORDS  6       /* SSRC + 5 words of sender info */
#define RR_FIXED_WORDS  1       /* SSRC */
#define RB_WORDS        6

struct _KcRtcp {
  guint32  local_ssrc;
  guint    clock_rate;
  char    *cname;

  /* what we sent */
  guint64  packets_sent;
  guint64  octets_sent;
  guint64  packets_sent_at_report;  /* SR or RR: did we send since? */
  guint32  last_sent_ts;            /* to extrapolate the SR's RTP time */
  gint64   last_sent_us;

  /* the peer's stream (RFC 3550 A.1 "source") */
  gboolean have_source;
  guint32  remote_ssrc;
  guint16  max_seq;
  guint64  cycles;                  /* wraps of the sequence number << 16 */
  guint32  base_seq;
  guint32  bad_seq;
  guint64  received;
  guint64  expected_prior;
  guint64  received_prior;
  double   fraction_lost;           /* at the last report we built */

  /* A.8, kept in double to avoid the integer form's rounding */
  gboolean have_transit;
  guint32  last_rtp_ts;
  gint64   last_arrival_us;
  double   jitter;                  /* in timestamp units */

  /* the peer's last SR, for LSR/DLSR in our report block */
  gboolean have_lsr;
  guint32  lsr_ssrc;
  guint32  lsr;                     /* middle 32 bits of its NTP time */
  gint64   lsr_arrival_us;

  /* the peer's last report block about our SSRC */
  gboolean has_remote_report;
  guint8   remote_fraction;
  gint32   remote_lost;
  guint32  remote_jitter;
  double   rtt_ms;

  guint64  reports_sent;
  guint64  reports_received;
  guint64  reports_invalid;
};

KcRtcp *
kc_rtcp_new (guint32     local_ssrc,
             guint       clock_rate,
             const char *cname)
{
  g_autoptr(GError) local = NULL;
  KcRtcp *self;

  g_return_val_if_fail (clock_rate > 0, NULL);
  g_return_val_if_fail (cname != NULL && *cname != '\0', NULL);
  /* An SDES item's length is one byte. */
  g_return_val_if_fail (strlen (cname) <= 255, NULL);

  /* GstBuffer is a registered type: nothing here works before gst_init. */
  if (!kc_gst_ensure (&local))
    {
      g_warning ("Cannot start GStreamer, so no RTCP for this call: %s",
                 local->message);
      return NULL;
    }

  self = g_new0 (KcRtcp, 1);
  self->local_ssrc = local_ssrc;
  self->clock_rate = clock_rate;
  self->cname = g_strdup (cname);
  self->rtt_ms = -1;
  return self;
}

void
kc_rtcp_free (KcRtcp *self)
{
  if (self == NULL)
    return;
  g_free (self->cname);
  g_free (self);
}

/* Reads the RTP header fields RTCP needs. GstRTPBuffer checks version,
 * CSRC count, extension and padding lengths against @len, so whatever it
 * accepts has a trustworthy payload length. */
static gboolean
read_rtp (const guint8 *data,
          gsize         len,
          guint32      *ssrc,
          guint16      *seq,
          guint32      *ts,
          guint        *payload_len)
{
  g_autoptr(GstBuffer) buf = NULL;
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

  if (len < 12 || len > G_MAXUINT16 || (data[0] >> 6) != 2)
    return FALSE;
  buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY, (gpointer) data,
                                     len, 0, len, NULL, NULL);
  if (!gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp))
    return FALSE;
  *ssrc = gst_rtp_buffer_get_ssrc (&rtp);
  *seq = gst_rtp_buffer_get_seq (&rtp);
  *ts = gst_rtp_buffer_get_timestamp (&rtp);
  *payload_len = gst_rtp_buffer_get_payload_len (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  return TRUE;
}

void
kc_rtcp_note_sent (KcRtcp       *self,
                   const guint8 *rtp,
                   gsize         len,
                   gint64        now_us)
{
  guint32 ssrc, ts;
  guint16 seq;
  guint payload_len;

  g_return_if_fail (self != NULL);
  g_return_if_fail (rtp != NULL || len == 0);

  /* Our own packets: a bad one is a bug upstream, not worth a report. */
  if (!read_rtp (rtp, len, &ssrc, &seq, &ts, &payload_len))
    {
      g_debug ("Not counting an outgoing packet that is not RTP (%zu bytes)", len);
      return;
    }
  self->packets_sent++;
  self->octets_sent += payload_len;
  self->last_sent_ts = ts;
  self->last_sent_us = now_us;
}

/* RFC 3550 A.1 init_seq. */
static void
init_seq (KcRtcp  *self,
          guint16  seq)
{
  self->base_seq = seq;
  self->max_seq = seq;
  self->bad_seq = RTP_SEQ_MOD + 1;   /* so seq == bad_seq is false */
  self->cycles = 0;
  self->received = 0;
  self->received_prior = 0;
  self->expected_prior = 0;
  /* A restarted sender may also have restarted its timestamps. */
  self->have_transit = FALSE;
}

/* RFC 3550 A.1 update_seq, without the probation of new sources: packets
 * reach us authenticated by SRTP, so a source cannot be spurious, and
 * probation would only leave the call's first packet uncounted.
 * Returns FALSE for a packet that is not counted (the first after a
 * large jump, until the next confirms the sender restarted). */
static gboolean
update_seq (KcRtcp  *self,
            guint16  seq)
{
  guint16 udelta = seq - self->max_seq;

  if (udelta < MAX_DROPOUT)
    {
      /* in order, with a permissible gap */
      if (seq < self->max_seq)
        self->cycles += RTP_SEQ_MOD;
      self->max_seq = seq;
    }
  else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER)
    {
      /* a very large jump: believe it when the next packet follows it */
      if (seq == self->bad_seq)
        init_seq (self, seq);
      else
        {
          self->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
          return FALSE;
        }
    }
  /* else a duplicate or reordered packet: counted, as A.1 does */
  self->received++;
  return TRUE;
}

/* RFC 3550 A.8, from differences so that neither the µs clock times the
 * RTP rate nor the 32-bit timestamp can overflow. */
static void
update_jitter (KcRtcp  *self,
               guint32  ts,
               gint64   now_us)
{
  if (self->have_transit)
    {
      double arrival_delta = (double) (now_us - self->last_arrival_us)
                             * self->clock_rate / G_USEC_PER_SEC;
      double d = arrival_delta - (double) (gint32) (ts - self->last_rtp_ts);

      self->jitter += (ABS (d) - self->jitter) / 16.0;
    }
  self->have_transit = TRUE;
  self->last_rtp_ts = ts;
  self->last_arrival_us = now_us;
}

void
kc_rtcp_note_received (KcRtcp       *self,
                       const guint8 *rtp,
                       gsize         len,
                       gint64        now_us)
{
  guint32 ssrc, ts;
  guint16 seq;
  guint payload_len;

  g_return_if_fail (self != NULL);
  g_return_if_fail (rtp != NULL || len == 0);

  /* Not counted anywhere: SRTP has already authenticated what reaches us,
   * so this is a bug in the caller rather than something on the wire. */
  if (!read_rtp (rtp, len, &ssrc, &seq, &ts, &payload_len))
    {
      g_debug ("Ignoring an incoming packet that is not RTP (%zu bytes)", len);
      return;
    }

  if (!self->have_source || ssrc != self->remote_ssrc)
    {
      /* The peer's first packet, or a new SSRC after it restarted: its
       * statistics start afresh (RFC 3550 8.2). */
      if (self->have_source)
        g_debug ("Peer changed SSRC %08x → %08x", self->remote_ssrc, ssrc);
      self->have_source = TRUE;
      self->remote_ssrc = ssrc;
      self->jitter = 0;
      self->fraction_lost = 0;
      init_seq (self, seq);
      self->received = 1;
      update_jitter (self, ts, now_us);
      return;
    }

  if (update_seq (self, seq))
    update_jitter (self, ts, now_us);
}

static guint64
expected_packets (KcRtcp *self)
{
  guint64 extended_max = self->cycles + self->max_seq;

  return extended_max - self->base_seq + 1;
}

/* RFC 3550 A.3, for the interval since the previous report, which this
 * call closes. Returns the report block's 8-bit fraction. */
static guint8
close_interval (KcRtcp *self)
{
  guint64 expected = expected_packets (self);
  gint64 expected_interval = expected - self->expected_prior;
  gint64 received_interval = self->received - self->received_prior;
  gint64 lost_interval = expected_interval - received_interval;

  self->expected_prior = expected;
  self->received_prior = self->received;
  if (expected_interval <= 0 || lost_interval <= 0)
    {
      self->fraction_lost = 0;
      return 0;
    }
  self->fraction_lost = (double) lost_interval / expected_interval;
  /* 256 only when nothing at all arrived, which A.1 cannot produce; the
   * field is 8 bits either way. */
  return (guint8) MIN ((lost_interval << 8) / expected_interval, 255);
}

static gint64
cumulative_lost (KcRtcp *self)
{
  return (gint64) expected_packets (self) - (gint64) self->received;
}

/* NTP's 64-bit fixed point (RFC 3550 4) from UNIX µs. */
static guint64
ntp_from_us (gint64 now_us)
{
  return gst_rtcp_unix_to_ntp ((guint64) MAX (now_us, 0) * GST_USECOND);
}

static guint32
ntp_middle32 (guint64 ntp)
{
  return (guint32) (ntp >> 16);
}

static void
add_report_block (KcRtcp        *self,
                  GstRTCPPacket *packet,
                  gint64         now_us)
{
  guint8 fraction = close_interval (self);
  gint64 lost = CLAMP (cumulative_lost (self), LOST_MIN, LOST_MAX);
  guint32 jitter = (guint32) MIN (self->jitter + 0.5, (double) G_MAXUINT32);
  guint32 lsr = 0;
  guint32 dlsr = 0;

  if (self->have_lsr && self->lsr_ssrc == self->remote_ssrc)
    {
      gint64 held_us = MAX (now_us - self->lsr_arrival_us, 0);

      lsr = self->lsr;
      /* in 1/65536 s; a 32-bit field, so saturate after 18 hours */
      dlsr = (guint32) MIN (((guint64) held_us << 16) / G_USEC_PER_SEC,
                            (guint64) G_MAXUINT32);
    }
  gst_rtcp_packet_add_rb (packet, self->remote_ssrc, fraction, (gint32) lost,
                          (guint32) (self->cycles + self->max_seq),
                          jitter, lsr, dlsr);
}

static GBytes *
build_compound (KcRtcp   *self,
                gint64    now_us,
                gboolean  with_bye)
{
  g_autoptr(GstBuffer) buf = gst_rtcp_buffer_new (REPORT_MTU);
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket packet;
  gboolean sender = self->packets_sent > self->packets_sent_at_report;
  gpointer data = NULL;
  gsize size = 0;
  gboolean ok;

  gst_rtcp_buffer_map (buf, GST_MAP_READWRITE, &rtcp);

  /* Every compound packet starts with SR or RR (RFC 3550 6.1). */
  ok = gst_rtcp_buffer_add_packet (&rtcp, sender ? GST_RTCP_TYPE_SR : GST_RTCP_TYPE_RR,
                                   &packet);
  if (ok && sender)
    {
      gint64 elapsed_us = MAX (now_us - self->last_sent_us, 0);
      /* where our RTP clock would be now, for the peer's lip sync and for
       * RFC 3550's NTP ↔ RTP mapping */
      guint32 rtp_now = self->last_sent_ts
        + (guint32) gst_util_uint64_scale_int (elapsed_us, self->clock_rate,
                                               G_USEC_PER_SEC);

      /* the SR's counts are 32-bit and wrap (RFC 3550 6.4.1) */
      gst_rtcp_packet_sr_set_sender_info (&packet, self->local_ssrc,
                                          ntp_from_us (now_us), rtp_now,
                                          (guint32) self->packets_sent,
                                          (guint32) self->octets_sent);
    }
  else if (ok)
    gst_rtcp_packet_rr_set_ssrc (&packet, self->local_ssrc);
  if (ok && self->have_source)
    add_report_block (self, &packet, now_us);

  ok = ok && gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_SDES, &packet);
  ok = ok && gst_rtcp_packet_sdes_add_item (&packet, self->local_ssrc);
  ok = ok && gst_rtcp_packet_sdes_add_entry (&packet, GST_RTCP_SDES_CNAME,
                                             (guint8) strlen (self->cname),
                                             (const guint8 *) self->cname);
  if (with_bye)
    {
      ok = ok && gst_rtcp_buffer_add_packet (&rtcp, GST_RTCP_TYPE_BYE, &packet);
      ok = ok && gst_rtcp_packet_bye_add_ssrc (&packet, self->local_ssrc);
    }
  gst_rtcp_buffer_unmap (&rtcp);
  /* Only a too-small REPORT_MTU could fail, and the CNAME is ≤ 255. */
  g_return_val_if_fail (ok, NULL);

  self->packets_sent_at_report = self->packets_sent;
  self->reports_sent++;
  gst_buffer_extract_dup (buf, 0, gst_buffer_get_size (buf), &data, &size);
  return g_bytes_new_take (data, size);
}

GBytes *
kc_rtcp_build_report (KcRtcp *self,
                      gint64  now_us)
{
  g_return_val_if_fail (self != NULL, NULL);

  return build_compound (self, now_us, FALSE);
}

GBytes *
kc_rtcp_build_bye (KcRtcp *self,
                   gint64  now_us)
{
  g_return_val_if_fail (self != NULL, NULL);

  return build_compound (self, now_us, TRUE);
}

/* The peer's block about our stream, and from it the round-trip time
 * (RFC 3550 6.4.1: A - LSR - DLSR, all in NTP's 1/65536 s). */
static void
read_block_about_us (KcRtcp        *self,
                     GstRTCPPacket *packet,
                     guint          nth,
                     gint64         now_us)
{
  guint32 ssrc = 0, ext_seq = 0, jitter = 0, lsr = 0, dlsr = 0;
  guint8 fraction = 0;
  gint32 lost = 0;

  gst_rtcp_packet_get_rb (packet, nth, &ssrc, &fraction, &lost, &ext_seq,
                          &jitter, &lsr, &dlsr);
  if (ssrc != self->local_ssrc)
    return;

  self->has_remote_report = TRUE;
  self->remote_fraction = fraction;
  self->remote_lost = lost;
  self->remote_jitter = jitter;
  /* LSR 0: the peer has had no SR from us yet, so no round trip. */
  if (lsr != 0)
    {
      guint32 rtt = ntp_middle32 (ntp_from_us (now_us)) - lsr - dlsr;

      /* "negative" when clocks or a forged block disagree: keep the last */
      if (rtt < 0x80000000u)
        self->rtt_ms = rtt * 1000.0 / 65536.0;
    }
}

static gboolean
packet_is_whole (GstRTCPPacket *packet,
                 guint          fixed_words)
{
  /* GstRTCPBuffer checks lengths against the buffer, not the block count
   * against the length; a short block would read the next packet. */
  return gst_rtcp_packet_get_length (packet)
         >= fixed_words + RB_WORDS * gst_rtcp_packet_get_count (packet);
}

/* Reads an already validated compound packet. FALSE when a packet in it
 * is inconsistent. */
static gboolean
read_compound (KcRtcp       *self,
               GstRTCPBuffer *rtcp,
               gint64        now_us)
{
  GstRTCPPacket packet;
  gboolean more;

  if (!gst_rtcp_buffer_get_first_packet (rtcp, &packet))
    return FALSE;
  for (more = TRUE; more; more = gst_rtcp_packet_move_to_next (&packet))
    {
      GstRTCPType type = gst_rtcp_packet_get_type (&packet);

      if (type == GST_RTCP_TYPE_SR)
        {
          guint32 ssrc;
          guint64 ntp;

          if (!packet_is_whole (&packet, SR_FIXED_WORDS))
            return FALSE;
          gst_rtcp_packet_sr_get_sender_info (&packet, &ssrc, &ntp, NULL, NULL, NULL);
          self->have_lsr = TRUE;
          self->lsr_ssrc = ssrc;
          self->lsr = ntp_middle32 (ntp);
          self->lsr_arrival_us = now_us;
        }
      else if (type == GST_RTCP_TYPE_RR)
        {
          if (!packet_is_whole (&packet, RR_FIXED_WORDS))
            return FALSE;
        }
      else
        continue;   /* SDES, BYE, APP, feedback: nothing we show */

      for (guint i = 0; i < gst_rtcp_packet_get_rb_count (&packet); i++)
        read_block_about_us (self, &packet, i, now_us);
    }
  return TRUE;
}

gboolean
kc_rtcp_process (KcRtcp        *self,
                 const guint8  *data,
                 gsize          len,
                 gint64         now_us,
                 GError       **error)
{
  g_autoptr(GstBuffer) buf = NULL;
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Checks the version, that it starts with SR or RR, and that the
   * packets' lengths add up to @len; the API takes a mutable pointer but
   * only reads. */
  if (len > RTCP_MAX_LEN
      || len == 0
      || !gst_rtcp_buffer_validate_data ((guint8 *) data, (guint) len))
    {
      self->reports_invalid++;
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "RTCP packet of %zu bytes is not a compound packet starting "
                   "with a sender or receiver report (RFC 3550 6.1); ignored", len);
      return FALSE;
    }

  buf = gst_buffer_new_wrapped_full (GST_MEMORY_FLAG_READONLY, (gpointer) data,
                                     len, 0, len, NULL, NULL);
  gst_rtcp_buffer_map (buf, GST_MAP_READ, &rtcp);
  ok = read_compound (self, &rtcp, now_us);
  gst_rtcp_buffer_unmap (&rtcp);
  if (!ok)
    {
      self->reports_invalid++;
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "RTCP packet of %zu bytes has a report shorter than its "
                   "report count says; ignored", len);
      return FALSE;
    }
  self->reports_received++;
  return TRUE;
}

void
kc_rtcp_get_stats (KcRtcp      *self,
                   KcRtcpStats *stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (stats != NULL);

  memset (stats, 0, sizeof *stats);
  stats->packets_sent = self->packets_sent;
  stats->octets_sent = self->octets_sent;
  if (self->have_source)
    {
      stats->packets_received = self->received;
      stats->packets_lost = cumulative_lost (self);
      stats->fraction_lost = self->fraction_lost;
      stats->jitter_ms = self->jitter * 1000.0 / self->clock_rate;
      stats->remote_ssrc = self->remote_ssrc;
    }
  stats->has_remote_report = self->has_remote_report;
  if (self->has_remote_report)
    {
      stats->remote_fraction_lost = self->remote_fraction / 256.0;
      stats->remote_packets_lost = self->remote_lost;
      stats->remote_jitter_ms = self->remote_jitter * 1000.0 / self->clock_rate;
    }
  stats->rtt_ms = self->rtt_ms;
  stats->reports_sent = self->reports_sent;
  stats->reports_received = self->reports_received;
  stats->reports_invalid = self->reports_invalid;
}
