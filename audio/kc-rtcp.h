/* kc-rtcp.h: RTCP for one call's stream (RFC 3550 section 6 and A.3, A.8):
 * what we sent and received, reports to the peer (SR or RR with SDES
 * CNAME), and what the peer reports back, which gives loss and jitter as
 * the peer sees them and the round-trip time. Packets are built and read
 * with GStreamer's GstRTCPBuffer; the statistics are this module's.
 * Packets here are plain RTP/RTCP (before SRTP protects them, after it
 * unprotects them). One thread at a time.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KcRtcp KcRtcp;

/* RFC 3550's minimum report interval for a two-party call. */
#define KC_RTCP_INTERVAL_MS 5000

typedef struct {
  /* what we sent */
  guint64 packets_sent;
  guint64 octets_sent;          /* RTP payload bytes, as in an SR */
  /* what we received from the peer (RFC 3550 A.3) */
  guint64 packets_received;     /* since the peer's first packet, or since it
                                 * restarted (new SSRC, or a jump in sequence
                                 * numbers that the next packet confirms) */
  gint64  packets_lost;         /* cumulative: expected - received (may be < 0 with duplicates) */
  double  fraction_lost;        /* over the interval the last report we built
                                 * closed, 0..1 (exact; the report carries it
                                 * in 1/256) */
  double  jitter_ms;            /* interarrival jitter (A.8), in ms */
  guint32 remote_ssrc;          /* 0 until the first packet */
  /* what the peer reports about our stream (its last RR/SR block for us) */
  gboolean has_remote_report;
  double  remote_fraction_lost; /* 0..1 */
  gint64  remote_packets_lost;  /* 24-bit on the wire: clamped at ±2^23 */
  double  remote_jitter_ms;
  double  rtt_ms;               /* from LSR/DLSR; < 0 until the peer reports
                                 * on an SR of ours */
  guint64 reports_sent;
  guint64 reports_received;
  guint64 reports_invalid;      /* RTCP that did not parse */
} KcRtcpStats;

/* @clock_rate: the RTP clock of the stream (48000 for Opus, 8000 for
 * G.711), for jitter in ms; @cname: SDES CNAME (e.g. "1001@keycall"), at
 * most 255 bytes. Starts GStreamer if needed; NULL, with a warning, only
 * when it cannot start. */
KcRtcp   *kc_rtcp_new             (guint32       local_ssrc,
                                   guint         clock_rate,
                                   const char   *cname);
void      kc_rtcp_free            (KcRtcp       *rtcp);

/* An RTP packet we are about to send (for the SR's counts, timestamps).
 * Here and in kc_rtcp_note_received, a packet that is not RTP (under 12
 * bytes, not version 2, lengths that do not fit) is ignored and counted
 * nowhere: after SRTP, it can only be a caller's bug. */
void      kc_rtcp_note_sent       (KcRtcp       *rtcp,
                                   const guint8 *rtp,
                                   gsize         len,
                                   gint64        now_us);
/* An RTP packet received and authenticated (sequence, loss, jitter). */
void      kc_rtcp_note_received   (KcRtcp       *rtcp,
                                   const guint8 *rtp,
                                   gsize         len,
                                   gint64        now_us);
/* A compound packet to send now: SR when we sent RTP since the last
 * report, else RR; then SDES CNAME. @now_us: g_get_real_time() (the SR's
 * NTP time comes from it). */
GBytes   *kc_rtcp_build_report    (KcRtcp       *rtcp,
                                   gint64        now_us);
/* A received (unprotected) RTCP compound packet; reads the peer's SR/RR
 * block about our SSRC. KC_ERROR_INVALID when it does not parse (counted). */
gboolean  kc_rtcp_process         (KcRtcp       *rtcp,
                                   const guint8 *data,
                                   gsize         len,
                                   gint64        now_us,
                                   GError      **error);
/* A BYE compound packet for the end of the call: the same report as
 * kc_rtcp_build_report (SR or RR, SDES), then BYE with our SSRC. */
GBytes   *kc_rtcp_build_bye       (KcRtcp       *rtcp,
                                   gint64        now_us);
void      kc_rtcp_get_stats       (KcRtcp       *rtcp,
                                   KcRtcpStats  *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcRtcp, kc_rtcp_free)

G_END_DECLS
