/* test-rtcp.c: RTCP statistics (RFC 3550 A.1, A.3, A.8) from synthetic RTP
 * streams, reports read back with GstRTCPBuffer, a round trip between two
 * ends, and garbage. */
#include "config.h"

#include "kc-error.h"
#include "kc-rtcp.h"

#include "kc-test.h"

#include <gst/gst.h>
#include <gst/rtp/gstrtcpbuffer.h>
#include <string.h>

#define RATE       48000
#define STEP_TS    960                    /* 20 ms at 48 kHz */
#define STEP_US    20000
#define T0_US      G_GINT64_CONSTANT (1700000000000000)   /* Nov 2023 */
#define SSRC_A     0xa1a2a3a4u
#define SSRC_B     0xb1b2b3b4u
#define PAYLOAD    160
#define NTP_UNIX_OFFSET G_GUINT64_CONSTANT (2208988800)

/* An RTP packet: version 2, PT 0, @csrcs CSRCs, an optional extension of
 * @ext_words words, @pad padding bytes. Returns its length. */
static gsize
make_rtp_full (guint8  *out,
               guint16  seq,
               guint32  ts,
               guint32  ssrc,
               guint    payload,
               guint    csrcs,
               guint    ext_words,
               guint    pad)
{
  gsize n = 12;

  memset (out, 0, 12);
  out[0] = 0x80 | (pad ? 0x20 : 0) | (ext_words ? 0x10 : 0) | csrcs;
  out[2] = seq >> 8;
  out[3] = seq & 0xff;
  out[4] = ts >> 24; out[5] = ts >> 16; out[6] = ts >> 8; out[7] = ts;
  out[8] = ssrc >> 24; out[9] = ssrc >> 16; out[10] = ssrc >> 8; out[11] = ssrc;
  memset (out + n, 0x11, 4 * csrcs);
  n += 4 * csrcs;
  if (ext_words)
    {
      out[n] = 0xbe; out[n + 1] = 0xde; out[n + 2] = 0; out[n + 3] = ext_words;
      memset (out + n + 4, 0, 4 * ext_words);
      n += 4 + 4 * ext_words;
    }
  memset (out + n, 0x55, payload);
  n += payload;
  if (pad)
    {
      memset (out + n, 0, pad);
      n += pad;
      out[n - 1] = pad;
    }
  return n;
}

static void
feed (KcRtcp  *rtcp,
      guint16  seq,
      guint32  ts,
      guint32  ssrc,
      gint64   arrival_us)
{
  guint8 pkt[256];
  gsize len = make_rtp_full (pkt, seq, ts, ssrc, PAYLOAD, 0, 0, 0);

  kc_rtcp_note_received (rtcp, pkt, len, arrival_us);
}

static void
send_one (KcRtcp  *rtcp,
          guint16  seq,
          guint32  ts,
          gint64   now_us)
{
  guint8 pkt[256];
  gsize len = make_rtp_full (pkt, seq, ts, SSRC_A, PAYLOAD, 0, 0, 0);

  kc_rtcp_note_sent (rtcp, pkt, len, now_us);
}

/* What a compound packet says, read independently of kc-rtcp. */
typedef struct {
  gboolean valid;
  guint    n_packets;
  GstRTCPType first_type;
  guint32  sender_ssrc;
  guint64  ntp;
  guint32  rtptime, packet_count, octet_count;
  guint    rb_count;
  guint32  rb_ssrc, rb_ext_seq, rb_jitter, rb_lsr, rb_dlsr;
  guint8   rb_fraction;
  gint32   rb_lost;
  char    *cname;
  guint32  cname_ssrc;
  gboolean has_bye;
  guint32  bye_ssrc;
} Parsed;

static void
parsed_clear (Parsed *p)
{
  g_free (p->cname);
}

static void
parse (GBytes *bytes,
       Parsed *p)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autoptr(GstBuffer) buf = gst_buffer_new_memdup (data, len);
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket pkt;
  gboolean more;

  memset (p, 0, sizeof *p);
  p->valid = gst_rtcp_buffer_validate_data ((guint8 *) data, len);
  if (!p->valid)
    return;
  gst_rtcp_buffer_map (buf, GST_MAP_READ, &rtcp);
  ck_assert (gst_rtcp_buffer_get_first_packet (&rtcp, &pkt));
  p->first_type = gst_rtcp_packet_get_type (&pkt);
  for (more = TRUE; more; more = gst_rtcp_packet_move_to_next (&pkt))
    {
      GstRTCPType type = gst_rtcp_packet_get_type (&pkt);

      p->n_packets++;
      if (type == GST_RTCP_TYPE_SR)
        gst_rtcp_packet_sr_get_sender_info (&pkt, &p->sender_ssrc, &p->ntp,
                                            &p->rtptime, &p->packet_count,
                                            &p->octet_count);
      else if (type == GST_RTCP_TYPE_RR)
        p->sender_ssrc = gst_rtcp_packet_rr_get_ssrc (&pkt);
      if (type == GST_RTCP_TYPE_SR || type == GST_RTCP_TYPE_RR)
        {
          p->rb_count = gst_rtcp_packet_get_rb_count (&pkt);
          if (p->rb_count > 0)
            gst_rtcp_packet_get_rb (&pkt, 0, &p->rb_ssrc, &p->rb_fraction,
                                    &p->rb_lost, &p->rb_ext_seq, &p->rb_jitter,
                                    &p->rb_lsr, &p->rb_dlsr);
        }
      else if (type == GST_RTCP_TYPE_SDES)
        {
          GstRTCPSDESType st;
          guint8 elen;
          guint8 *edata;

          ck_assert (gst_rtcp_packet_sdes_first_item (&pkt));
          p->cname_ssrc = gst_rtcp_packet_sdes_get_ssrc (&pkt);
          ck_assert (gst_rtcp_packet_sdes_first_entry (&pkt));
          ck_assert (gst_rtcp_packet_sdes_get_entry (&pkt, &st, &elen, &edata));
          ck_assert_int_eq (st, GST_RTCP_SDES_CNAME);
          p->cname = g_strndup ((const char *) edata, elen);
        }
      else if (type == GST_RTCP_TYPE_BYE)
        {
          p->has_bye = TRUE;
          ck_assert_uint_eq (gst_rtcp_packet_bye_get_ssrc_count (&pkt), 1);
          p->bye_ssrc = gst_rtcp_packet_bye_get_nth_ssrc (&pkt, 0);
        }
    }
  gst_rtcp_buffer_unmap (&rtcp);
}

static KcRtcp *
new_rtcp (guint32 ssrc)
{
  KcRtcp *rtcp = kc_rtcp_new (ssrc, RATE, ssrc == SSRC_A ? "1001@keycall" : "1002@keycall");

  ck_assert_ptr_nonnull (rtcp);
  return rtcp;
}

START_TEST (test_in_order_no_loss)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) report = NULL;
  KcRtcpStats st;
  Parsed p;
  const guint16 first = 4000;
  const guint n = 500;

  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.remote_ssrc, 0);
  ck_assert (st.rtt_ms < 0);
  for (guint i = 0; i < n; i++)
    /* a constant 40 ms network delay is no jitter */
    feed (rtcp, first + i, 123456 + i * STEP_TS, SSRC_B, T0_US + 40000 + i * STEP_US);
  report = kc_rtcp_build_report (rtcp, T0_US + n * STEP_US + 40000);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.remote_ssrc, SSRC_B);
  ck_assert_uint_eq (st.packets_received, n);
  ck_assert_int_eq (st.packets_lost, 0);
  ck_assert_double_eq (st.fraction_lost, 0);
  ck_assert_double_lt (st.jitter_ms, 0.001);
  ck_assert_uint_eq (st.reports_sent, 1);

  parse (report, &p);
  ck_assert (p.valid);
  /* nothing sent: RR, SDES */
  ck_assert_int_eq (p.first_type, GST_RTCP_TYPE_RR);
  ck_assert_uint_eq (p.n_packets, 2);
  ck_assert_uint_eq (p.sender_ssrc, SSRC_A);
  ck_assert_uint_eq (p.rb_count, 1);
  ck_assert_uint_eq (p.rb_ssrc, SSRC_B);
  ck_assert_uint_eq (p.rb_fraction, 0);
  ck_assert_int_eq (p.rb_lost, 0);
  ck_assert_uint_eq (p.rb_ext_seq, first + n - 1);
  ck_assert_uint_eq (p.rb_jitter, 0);
  /* no SR from the peer yet */
  ck_assert_uint_eq (p.rb_lsr, 0);
  ck_assert_uint_eq (p.rb_dlsr, 0);
  ck_assert_str_eq (p.cname, "1001@keycall");
  ck_assert_uint_eq (p.cname_ssrc, SSRC_A);
  ck_assert (!p.has_bye);
  parsed_clear (&p);
}
END_TEST

START_TEST (test_no_packets_no_block)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) report = kc_rtcp_build_report (rtcp, T0_US);
  Parsed p;

  parse (report, &p);
  ck_assert (p.valid);
  ck_assert_int_eq (p.first_type, GST_RTCP_TYPE_RR);
  ck_assert_uint_eq (p.rb_count, 0);
  parsed_clear (&p);
}
END_TEST

START_TEST (test_every_tenth_lost)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) r1 = NULL;
  g_autoptr(GBytes) r2 = NULL;
  KcRtcpStats st;
  Parsed p;
  const guint16 first = 1000;
  guint received = 0;
  guint16 last = 0;

  for (guint i = 0; i < 1000; i++)
    {
      if (i % 10 == 9)
        continue;
      feed (rtcp, first + i, i * STEP_TS, SSRC_B, T0_US + i * STEP_US);
      received++;
      last = first + i;
    }
  r1 = kc_rtcp_build_report (rtcp, T0_US + 1000 * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  {
    gint64 expected = last - first + 1;
    gint64 lost = expected - received;

    ck_assert_uint_eq (st.packets_received, received);
    ck_assert_int_eq (st.packets_lost, lost);
    ck_assert_double_eq_tol (st.fraction_lost, (double) lost / expected, 1e-9);
    ck_assert_double_ge (st.fraction_lost, 0.09);
    ck_assert_double_le (st.fraction_lost, 0.11);

    parse (r1, &p);
    ck_assert_int_eq (p.rb_lost, lost);
    ck_assert_uint_eq (p.rb_fraction, (guint) (lost * 256 / expected));
    ck_assert_uint_eq (p.rb_ext_seq, last);
    parsed_clear (&p);
  }

  /* The next interval loses nothing new; only 999, the first interval's
   * last, turns out lost now: 1 of 101 expected (A.3 counts per interval). */
  for (guint i = 1000; i < 1100; i++)
    feed (rtcp, first + i, i * STEP_TS, SSRC_B, T0_US + i * STEP_US);
  r2 = kc_rtcp_build_report (rtcp, T0_US + 1100 * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_double_eq_tol (st.fraction_lost, 1.0 / 101, 1e-9);
  ck_assert_int_eq (st.packets_lost, 100);
  parse (r2, &p);
  ck_assert_uint_eq (p.rb_fraction, 256 / 101);
  ck_assert_int_eq (p.rb_lost, 100);
  parsed_clear (&p);
}
END_TEST

START_TEST (test_wraparound)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) report = NULL;
  KcRtcpStats st;
  Parsed p;
  guint received = 0;

  /* 65500 … 65535, 0 … 63: 100 numbers; 65535 and 0 are lost, 2 comes
   * before 1 (late, not a wrap), 10 arrives twice. */
  for (guint i = 0; i < 100; i++)
    {
      guint16 seq = (guint16) (65500 + i);

      if (seq == 65535 || seq == 0 || seq == 1)
        continue;
      feed (rtcp, seq, i * STEP_TS, SSRC_B, T0_US + i * STEP_US);
      received++;
      if (seq == 2)
        {
          feed (rtcp, 1, (i - 1) * STEP_TS, SSRC_B, T0_US + i * STEP_US + 100);
          received++;
        }
      if (seq == 10)
        {
          feed (rtcp, 10, i * STEP_TS, SSRC_B, T0_US + i * STEP_US + 100);
          received++;
        }
    }
  report = kc_rtcp_build_report (rtcp, T0_US + 100 * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.packets_received, received);
  /* 100 expected, 98 distinct received, one duplicate */
  ck_assert_uint_eq (received, 99);
  ck_assert_int_eq (st.packets_lost, 1);
  parse (report, &p);
  ck_assert_uint_eq (p.rb_ext_seq, 65536 + 63);
  ck_assert_int_eq (p.rb_lost, 1);
  parsed_clear (&p);
}
END_TEST

START_TEST (test_sequence_restart)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  KcRtcpStats st;
  guint i;

  for (i = 0; i < 50; i++)
    feed (rtcp, 100 + i, i * STEP_TS, SSRC_B, T0_US + i * STEP_US);
  /* one stray packet far ahead changes nothing */
  feed (rtcp, 40000, 0, SSRC_B, T0_US + i * STEP_US);
  feed (rtcp, 150, 50 * STEP_TS, SSRC_B, T0_US + 50 * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.packets_received, 51);
  ck_assert_int_eq (st.packets_lost, 0);

  /* two in a row: the sender restarted; statistics start from the second */
  for (i = 0; i < 10; i++)
    feed (rtcp, 30000 + i, 5000000 + i * STEP_TS, SSRC_B, T0_US + (60 + i) * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.packets_received, 9);
  ck_assert_int_eq (st.packets_lost, 0);

  /* a new SSRC is a new source */
  feed (rtcp, 7, 0, 0x01020304, T0_US + 80 * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.remote_ssrc, 0x01020304);
  ck_assert_uint_eq (st.packets_received, 1);
}
END_TEST

START_TEST (test_lost_clamped)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) report = NULL;
  KcRtcpStats st;
  Parsed p;
  guint32 ext = 0;
  const guint n = 2900;

  /* gaps under MAX_DROPOUT count as loss: 2900 × 2998 > 2^23 */
  for (guint i = 0; i < n; i++, ext += 2999)
    feed (rtcp, (guint16) ext, i * STEP_TS, SSRC_B, T0_US + i * STEP_US);
  ext -= 2999;
  report = kc_rtcp_build_report (rtcp, T0_US + n * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_int_eq (st.packets_lost, (gint64) ext + 1 - n);
  ck_assert_int_gt (st.packets_lost, 0x7fffff);
  parse (report, &p);
  ck_assert_int_eq (p.rb_lost, 0x7fffff);
  ck_assert_uint_eq (p.rb_ext_seq, ext);
  parsed_clear (&p);
}
END_TEST

/* RFC 3550 A.8 iterated here, independently, in timestamp units. */
static double
expected_jitter (const gint64 *arrival_us,
                 const guint32 *ts,
                 guint          n)
{
  double j = 0;

  for (guint i = 1; i < n; i++)
    {
      double transit = arrival_us[i] * (RATE / 1e6) - ts[i];
      double prev = arrival_us[i - 1] * (RATE / 1e6) - ts[i - 1];
      double d = transit - prev;

      j += ((d < 0 ? -d : d) - j) / 16;
    }
  return j;
}

static void
check_alternating (guint n)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) report = NULL;
  g_autofree gint64 *arrival = g_new (gint64, n);
  g_autofree guint32 *ts = g_new (guint32, n);
  KcRtcpStats st;
  Parsed p;
  double want;

  for (guint i = 0; i < n; i++)
    {
      /* ±5 ms around a steady 20 ms, so every |D| is 10 ms */
      arrival[i] = (i * STEP_US) + (i % 2 ? -5000 : 5000);
      ts[i] = 777 + i * STEP_TS;
      feed (rtcp, i, ts[i], SSRC_B, T0_US + arrival[i]);
    }
  want = expected_jitter (arrival, ts, n);
  report = kc_rtcp_build_report (rtcp, T0_US + n * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_double_eq_tol (st.jitter_ms, want * 1000 / RATE, 0.001);
  parse (report, &p);
  ck_assert_int_le (ABS ((gint64) p.rb_jitter - (gint64) (want + 0.5)), 1);
  parsed_clear (&p);
}

START_TEST (test_jitter_alternating)
{
  KcRtcpStats st;

  /* after 20 packets: still rising, 10 ms × (1 - (15/16)^19) ≈ 7.1 ms */
  check_alternating (20);
  /* after 500: at A.8's steady value, |D| = 10 ms */
  {
    g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);

    for (guint i = 0; i < 500; i++)
      feed (rtcp, i, i * STEP_TS, SSRC_B, T0_US + i * STEP_US + (i % 2 ? -5000 : 5000));
    kc_rtcp_get_stats (rtcp, &st);
    ck_assert_double_eq_tol (st.jitter_ms, 10.0, 0.01);
  }
  check_alternating (500);
}
END_TEST

START_TEST (test_jitter_constant_at_8k)
{
  g_autoptr(KcRtcp) rtcp = kc_rtcp_new (SSRC_A, 8000, "x");
  KcRtcpStats st;

  /* timestamps wrap past 2^32 on the way */
  for (guint i = 0; i < 300; i++)
    feed (rtcp, i, 0xffff0000u + i * 160, SSRC_B, T0_US + i * STEP_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_double_lt (st.jitter_ms, 0.001);
  /* one packet 30 ms late gives |D| = 240 units: J = 15 units = 1.875 ms */
  feed (rtcp, 300, 0xffff0000u + 300 * 160, SSRC_B, T0_US + 300 * STEP_US + 30000);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_double_eq_tol (st.jitter_ms, 30.0 / 16, 1e-6);
}
END_TEST

START_TEST (test_sender_report)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) r1 = NULL;
  g_autoptr(GBytes) r2 = NULL;
  KcRtcpStats st;
  Parsed p;
  guint8 pkt[512];
  gsize len;
  guint32 last_ts = 0;
  gint64 last_us = 0;
  gint64 now_us;
  guint64 want_ntp;

  for (guint i = 0; i < 50; i++)
    {
      last_ts = 0xfffff000u + i * STEP_TS;
      last_us = T0_US + i * STEP_US + 123;
      send_one (rtcp, 9 + i, last_ts, last_us);
    }
  /* payload 100 behind 2 CSRCs, a 2-word extension and 8 bytes of padding */
  last_ts += STEP_TS;
  last_us += STEP_US;
  len = make_rtp_full (pkt, 59, last_ts, SSRC_A, 100, 2, 2, 8);
  kc_rtcp_note_sent (rtcp, pkt, len, last_us);
  /* not RTP: not counted */
  kc_rtcp_note_sent (rtcp, pkt, 11, last_us);
  pkt[0] = 0x40;
  kc_rtcp_note_sent (rtcp, pkt, len, last_us);

  now_us = last_us + 15000;
  r1 = kc_rtcp_build_report (rtcp, now_us);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.packets_sent, 51);
  ck_assert_uint_eq (st.octets_sent, 50 * PAYLOAD + 100);
  parse (r1, &p);
  ck_assert (p.valid);
  ck_assert_int_eq (p.first_type, GST_RTCP_TYPE_SR);
  ck_assert_uint_eq (p.sender_ssrc, SSRC_A);
  ck_assert_uint_eq (p.packet_count, 51);
  ck_assert_uint_eq (p.octet_count, 50 * PAYLOAD + 100);
  /* 15 ms after the last packet: 720 ticks on, across the 2^32 wrap */
  ck_assert_uint_eq (p.rtptime, (guint32) (last_ts + 720));
  want_ntp = ((guint64) (now_us / G_USEC_PER_SEC) + NTP_UNIX_OFFSET) << 32
             | (((guint64) (now_us % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC);
  ck_assert_int_le (ABS ((gint64) (p.ntp - want_ntp)), 1);
  ck_assert_uint_eq (p.rb_count, 0);
  ck_assert_str_eq (p.cname, "1001@keycall");
  parsed_clear (&p);

  /* nothing sent since: RR */
  r2 = kc_rtcp_build_report (rtcp, now_us + 5000000);
  parse (r2, &p);
  ck_assert_int_eq (p.first_type, GST_RTCP_TYPE_RR);
  parsed_clear (&p);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.reports_sent, 2);
}
END_TEST

/* Delivers a report built by @from to @to, @delay_us later. */
static void
deliver (KcRtcp *from,
         KcRtcp *to,
         gint64  sent_us,
         gint64  delay_us)
{
  g_autoptr(GBytes) report = kc_rtcp_build_report (from, sent_us);
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (report, &len);

  ck_assert_msg (kc_rtcp_process (to, data, len, sent_us + delay_us, &error),
                 "process: %s", error ? error->message : "?");
}

START_TEST (test_exchange_rtt)
{
  g_autoptr(KcRtcp) a = new_rtcp (SSRC_A);
  g_autoptr(KcRtcp) b = new_rtcp (SSRC_B);
  const gint64 one_way = 30000;
  const gint64 hold_b = 1234000, hold_a = 517000;
  KcRtcpStats sa, sb;
  gint64 t;
  guint8 pkt[256];
  gsize len;

  /* 5 s both ways; B misses 10 of A's packets and sees ±2 ms */
  for (guint i = 0; i < 250; i++)
    {
      gint64 now = T0_US + i * STEP_US;

      len = make_rtp_full (pkt, 100 + i, i * STEP_TS, SSRC_A, PAYLOAD, 0, 0, 0);
      kc_rtcp_note_sent (a, pkt, len, now);
      if (i % 25 != 12)
        kc_rtcp_note_received (b, pkt, len, now + one_way + (i % 2 ? 2000 : -2000));
      len = make_rtp_full (pkt, 7000 + i, 5555 + i * STEP_TS, SSRC_B, PAYLOAD, 0, 0, 0);
      kc_rtcp_note_sent (b, pkt, len, now + 3000);
      kc_rtcp_note_received (a, pkt, len, now + 3000 + one_way);
    }

  /* A's SR reaches B; A has had no SR from B, so B learns no RTT */
  t = T0_US + 250 * STEP_US;
  deliver (a, b, t, one_way);
  kc_rtcp_get_stats (b, &sb);
  ck_assert (sb.has_remote_report);
  ck_assert (sb.rtt_ms < 0);
  ck_assert_uint_eq (sb.reports_received, 1);

  /* B holds it 1.234 s, then reports; A gets RTT = 2 × one way */
  t += one_way + hold_b;
  deliver (b, a, t, one_way);
  kc_rtcp_get_stats (a, &sa);
  kc_rtcp_get_stats (b, &sb);
  ck_assert (sa.has_remote_report);
  /* NTP middle 32 bits are 1/65536 s: three truncations, under 0.05 ms */
  ck_assert_double_eq_tol (sa.rtt_ms, 2 * one_way / 1000.0, 0.1);
  ck_assert_int_eq (sb.packets_lost, 10);
  ck_assert_int_eq (sa.remote_packets_lost, sb.packets_lost);
  ck_assert_double_gt (sb.fraction_lost, 0);
  ck_assert_double_eq_tol (sa.remote_fraction_lost, sb.fraction_lost, 1.0 / 256);
  ck_assert_double_gt (sb.jitter_ms, 3.0);
  ck_assert_double_eq_tol (sa.remote_jitter_ms, sb.jitter_ms, 1000.0 / RATE);

  /* and the other way */
  t += one_way + hold_a;
  deliver (a, b, t, one_way);
  kc_rtcp_get_stats (b, &sb);
  kc_rtcp_get_stats (a, &sa);
  ck_assert_double_eq_tol (sb.rtt_ms, 2 * one_way / 1000.0, 0.1);
  ck_assert_int_eq (sb.remote_packets_lost, 0);
  ck_assert_double_eq_tol (sb.remote_jitter_ms, sa.jitter_ms, 1000.0 / RATE);
  ck_assert_uint_eq (sb.reports_received, 2);
  ck_assert_uint_eq (sa.reports_received, 1);
  ck_assert_uint_eq (sa.reports_invalid + sb.reports_invalid, 0);
}
END_TEST

START_TEST (test_bye)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  g_autoptr(GBytes) bye = NULL;
  Parsed p;

  feed (rtcp, 1, 0, SSRC_B, T0_US);
  bye = kc_rtcp_build_bye (rtcp, T0_US + STEP_US);
  parse (bye, &p);
  ck_assert (p.valid);
  ck_assert_uint_eq (p.n_packets, 3);
  ck_assert_int_eq (p.first_type, GST_RTCP_TYPE_RR);
  ck_assert_uint_eq (p.rb_ssrc, SSRC_B);
  ck_assert_str_eq (p.cname, "1001@keycall");
  ck_assert (p.has_bye);
  ck_assert_uint_eq (p.bye_ssrc, SSRC_A);
  parsed_clear (&p);
}
END_TEST

static void
expect_invalid (KcRtcp       *rtcp,
                const guint8 *data,
                gsize         len)
{
  g_autoptr(GError) error = NULL;

  ck_assert (!kc_rtcp_process (rtcp, data, len, T0_US, &error));
  ck_assert_ptr_nonnull (error);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (error->message, "RTCP"));
}

START_TEST (test_garbage)
{
  g_autoptr(KcRtcp) a = new_rtcp (SSRC_A);
  g_autoptr(KcRtcp) b = new_rtcp (SSRC_B);
  g_autoptr(GBytes) good = NULL;
  g_autofree guint8 *copy = NULL;
  const guint8 *data;
  gsize len;
  KcRtcpStats st;
  guint invalid = 0, valid = 0;
  /* RR claiming 2 blocks with room for one */
  static const guint8 short_rr[] = {
    0x82, 201, 0x00, 0x07,  0xb1, 0xb2, 0xb3, 0xb4,
    0xa1, 0xa2, 0xa3, 0xa4, 0, 0, 0, 1,  0, 0, 0, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
  };
  /* SR whose length leaves no room for the sender info */
  static const guint8 short_sr[] = { 0x80, 200, 0x00, 0x01, 1, 2, 3, 4 };
  /* SDES first: not a compound packet */
  static const guint8 sdes_first[] = { 0x81, 202, 0x00, 0x01, 1, 2, 3, 4 };

  for (guint i = 0; i < 30; i++)
    feed (a, i, i * STEP_TS, SSRC_B, T0_US + i * STEP_US);
  good = kc_rtcp_build_bye (a, T0_US + 30 * STEP_US);
  data = g_bytes_get_data (good, &len);

  expect_invalid (b, (const guint8 *) "", 0);
  expect_invalid (b, short_rr, sizeof short_rr);
  expect_invalid (b, short_sr, sizeof short_sr);
  expect_invalid (b, sdes_first, sizeof sdes_first);
  invalid += 4;
  /* cut anywhere inside a packet: the lengths no longer add up */
  for (gsize cut = 1; cut < len; cut++)
    {
      if (cut % 4 != 0)
        {
          expect_invalid (b, data, cut);
          invalid++;
        }
    }
  /* wrong version, and bytes after the last packet */
  copy = g_malloc0 (len + 4);
  memcpy (copy, data, len);
  copy[0] = (copy[0] & 0x3f) | 0x40;
  expect_invalid (b, copy, len);
  memcpy (copy, data, len);
  expect_invalid (b, copy, len + 3);
  invalid += 2;
  kc_rtcp_get_stats (b, &st);
  ck_assert_uint_eq (st.reports_invalid, invalid);
  ck_assert_uint_eq (st.reports_received, 0);
  ck_assert (!st.has_remote_report);

  /* random bytes behind a plausible header never crash, and every packet
   * is counted one way or the other */
  {
    GRand *rand = g_rand_new_with_seed (3550);

    for (guint i = 0; i < 5000; i++)
      {
        guint8 buf[128];
        gsize n = g_rand_int_range (rand, 4, sizeof buf + 1);

        for (gsize k = 0; k < n; k++)
          buf[k] = g_rand_int (rand);
        buf[0] = 0x80 | (buf[0] & 0x1f);
        buf[1] = g_rand_boolean (rand) ? 200 : 201;
        /* often make the lengths add up, to reach the packet reader */
        if (g_rand_boolean (rand))
          {
            buf[2] = 0;
            buf[3] = (n / 4) - 1;
            n = n / 4 * 4;
          }
        if (kc_rtcp_process (b, buf, n, T0_US, NULL))
          valid++;
        else
          invalid++;
      }
    g_rand_free (rand);
  }
  kc_rtcp_get_stats (b, &st);
  ck_assert_uint_gt (valid, 0);
  ck_assert_uint_eq (st.reports_invalid, invalid);
  ck_assert_uint_eq (st.reports_received, valid);

  /* the untouched report still parses */
  ck_assert (kc_rtcp_process (b, data, len, T0_US, NULL));
}
END_TEST

START_TEST (test_rtp_garbage_ignored)
{
  g_autoptr(KcRtcp) rtcp = new_rtcp (SSRC_A);
  KcRtcpStats st;
  guint8 pkt[256];
  gsize len = make_rtp_full (pkt, 5, 0, SSRC_B, PAYLOAD, 0, 0, 0);

  kc_rtcp_note_received (rtcp, pkt, 11, T0_US);
  kc_rtcp_note_received (rtcp, NULL, 0, T0_US);
  /* padding longer than the packet */
  pkt[0] |= 0x20;
  pkt[len - 1] = 255;
  kc_rtcp_note_received (rtcp, pkt, len, T0_US);
  pkt[0] = 0x00;
  kc_rtcp_note_received (rtcp, pkt, len, T0_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.packets_received, 0);
  ck_assert_uint_eq (st.remote_ssrc, 0);
  pkt[0] = 0x80;
  kc_rtcp_note_received (rtcp, pkt, len, T0_US);
  kc_rtcp_get_stats (rtcp, &st);
  ck_assert_uint_eq (st.packets_received, 1);
  ck_assert_uint_eq (st.remote_ssrc, SSRC_B);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("rtcp");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, test_in_order_no_loss);
  tcase_add_test (tc, test_no_packets_no_block);
  tcase_add_test (tc, test_every_tenth_lost);
  tcase_add_test (tc, test_wraparound);
  tcase_add_test (tc, test_sequence_restart);
  tcase_add_test (tc, test_lost_clamped);
  tcase_add_test (tc, test_jitter_alternating);
  tcase_add_test (tc, test_jitter_constant_at_8k);
  tcase_add_test (tc, test_sender_report);
  tcase_add_test (tc, test_exchange_rtt);
  tcase_add_test (tc, test_bye);
  tcase_add_test (tc, test_garbage);
  tcase_add_test (tc, test_rtp_garbage_ignored);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
