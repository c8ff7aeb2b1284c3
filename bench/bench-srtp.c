/* bench-srtp.c: what SRTP costs per packet in Keycall's media path.
 *
 * Prints ns per protect and per unprotect of a 160-byte payload (20 ms of
 * Opus, 172 bytes of RTP) through kc-srtp beside a bare libsrtp
 * srtp_protect/srtp_unprotect loop in the same run, same key and suite
 * (AES_CM_128_HMAC_SHA1_80), and Keycall's overhead over bare libsrtp
 * (target, issue "Media": <= 20%). Both use the AES-CM and HMAC-SHA1 that
 * kc-srtp puts in libsrtp's place (kc-srtp-ossl.c, OpenSSL) once it has
 * initialised libsrtp: the "bare" loop is libsrtp's own protect/unprotect
 * on those transforms. Then the same with 1,000 calls alive (a send and a
 * receive session each; Debian's NSS-based transforms slowed down there,
 * DEPENDENCY-NOTES), and the cost of creating sessions.
 * Both paths do the same copying and run in alternating blocks of 500
 * packets; the median of the rounds counts.
 * Times are this thread's CPU time, so other processes on a busy machine
 * do not land on one path more than the other.
 */
#define G_LOG_DOMAIN "bench-srtp"

#include "kc-keys.h"
#include "kc-srtp.h"

#include <glib.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAYLOAD_LEN 160
#define RTP_LEN     (12 + PAYLOAD_LEN)
#define SLOT        (RTP_LEN + KC_SRTP_MAX_TRAILER)
#define SSRC        0x4b431a2bu

static int packets = 200000;
static int rounds = 5;
static int sessions = 1000;

typedef struct {
  KcSecret      *key_salt;
  KcSrtpSession *kc_tx, *kc_rx;
  srtp_t         bare_tx, bare_rx;
  guint8        *wire;        /* @count protected packets, SLOT bytes apart */
  int           *wire_len;
  int            count;
} Bench;

static double
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void
make_rtp (guint8 *buf, guint32 seq)
{
  buf[0] = 0x80;
  buf[1] = 96;
  buf[2] = (seq >> 8) & 0xff;
  buf[3] = seq & 0xff;
  for (int i = 0; i < 4; i++) {
    buf[4 + i] = ((seq * 960u) >> (24 - 8 * i)) & 0xff;
    buf[8 + i] = (SSRC >> (24 - 8 * i)) & 0xff;
  }
  for (int i = 0; i < PAYLOAD_LEN; i++)
    buf[12 + i] = (guint8) (i * 7);
}

static srtp_t
bare_new (const KcSecret *key_salt, gboolean send)
{
  srtp_policy_t policy;
  srtp_t ctx;

  memset (&policy, 0, sizeof policy);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtp);
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtcp);
  policy.ssrc.type = send ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = (unsigned char *) kc_secret_get_data (key_salt);
  policy.window_size = 128;
  if (srtp_create (&ctx, &policy) != srtp_err_status_ok)
    g_error ("srtp_create failed");
  return ctx;
}

static KcSrtpSession *
kc_new (const KcSecret *key_salt, KcSrtpRole role)
{
  g_autoptr(GError) error = NULL;
  KcSrtpSession *s = kc_srtp_session_new (KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, role, key_salt, &error);

  if (s == NULL)
    g_error ("%s", error->message);
  return s;
}

static void
bench_init (Bench *b, int count)
{
  g_autoptr(KcSecret) call_key = kc_call_key_new_random (NULL);

  b->key_salt = kc_srtp_key_derive (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE, NULL);
  b->kc_tx = kc_new (b->key_salt, KC_SRTP_ROLE_SEND);   /* also runs srtp_init */
  b->kc_rx = kc_new (b->key_salt, KC_SRTP_ROLE_RECEIVE);
  b->bare_tx = bare_new (b->key_salt, TRUE);
  b->bare_rx = bare_new (b->key_salt, FALSE);
  b->count = count;
  b->wire = g_malloc ((gsize) count * SLOT);
  b->wire_len = g_new (int, count);
}

static void
bench_clear (Bench *b)
{
  kc_srtp_session_free (b->kc_tx);
  kc_srtp_session_free (b->kc_rx);
  srtp_dealloc (b->bare_tx);
  srtp_dealloc (b->bare_rx);
  kc_secret_free (b->key_salt);
  g_free (b->wire);
  g_free (b->wire_len);
}

/* Each protect round continues the sequence, as a live stream would. */
static guint32 kc_seq, bare_seq;

static double
protect_kc (Bench *b, int from, int to)
{
  guint8 buf[SLOT];
  double start = now_ns ();

  for (int i = from; i < to; i++) {
    GError *error = NULL;
    gsize out;

    memcpy (buf, b->wire, RTP_LEN);
    buf[2] = (kc_seq >> 8) & 0xff, buf[3] = kc_seq++ & 0xff;
    if (!kc_srtp_protect_rtp (b->kc_tx, buf, RTP_LEN, sizeof buf, &out, &error))
      g_error ("%s", error->message);
  }
  return now_ns () - start;
}

static double
protect_bare (Bench *b, int from, int to)
{
  guint8 buf[SLOT];
  double start = now_ns ();

  for (int i = from; i < to; i++) {
    int n = RTP_LEN;

    memcpy (buf, b->wire, RTP_LEN);
    buf[2] = (bare_seq >> 8) & 0xff, buf[3] = bare_seq++ & 0xff;
    if (srtp_protect (b->bare_tx, buf, &n) != srtp_err_status_ok)
      g_error ("srtp_protect failed");
  }
  return now_ns () - start;
}

/* The packets both receivers unprotect, from a bare libsrtp sender. */
static void
fill_wire (Bench *b)
{
  srtp_t tx = bare_new (b->key_salt, TRUE);

  for (int i = 0; i < b->count; i++) {
    guint8 *p = b->wire + (gsize) i * SLOT;

    make_rtp (p, i);
    b->wire_len[i] = RTP_LEN;
    if (srtp_protect (tx, p, &b->wire_len[i]) != srtp_err_status_ok)
      g_error ("srtp_protect failed");
  }
  srtp_dealloc (tx);
}

static double
unprotect_kc (Bench *b, int from, int to)
{
  guint8 buf[SLOT];
  double start = now_ns ();

  for (int i = from; i < to; i++) {
    GError *error = NULL;
    gsize out;

    memcpy (buf, b->wire + (gsize) i * SLOT, b->wire_len[i]);
    if (!kc_srtp_unprotect_rtp (b->kc_rx, buf, b->wire_len[i], &out, &error))
      g_error ("%s", error->message);
  }
  return now_ns () - start;
}

static double
unprotect_bare (Bench *b, int from, int to)
{
  guint8 buf[SLOT];
  double start = now_ns ();

  for (int i = from; i < to; i++) {
    int n = b->wire_len[i];

    memcpy (buf, b->wire + (gsize) i * SLOT, n);
    if (srtp_unprotect (b->bare_rx, buf, &n) != srtp_err_status_ok)
      g_error ("srtp_unprotect failed");
  }
  return now_ns () - start;
}

/* One round of both paths, in alternating blocks of BLOCK packets so that
 * whatever else the machine does falls on both alike; ns per packet. */
#define BLOCK 500

static void
round_protect (Bench *b, double *kc, double *bare)
{
  *kc = *bare = 0;
  make_rtp (b->wire, 0);
  for (int i = 0; i < b->count; i += BLOCK) {
    *kc += protect_kc (b, i, MIN (i + BLOCK, b->count));
    *bare += protect_bare (b, i, MIN (i + BLOCK, b->count));
  }
  *kc /= b->count, *bare /= b->count;
}

/* Receivers start afresh each round: their replay lists remember the packets. */
static void
round_unprotect (Bench *b, double *kc, double *bare)
{
  kc_srtp_session_free (b->kc_rx);
  b->kc_rx = kc_new (b->key_salt, KC_SRTP_ROLE_RECEIVE);
  srtp_dealloc (b->bare_rx);
  b->bare_rx = bare_new (b->key_salt, FALSE);
  *kc = *bare = 0;
  for (int i = 0; i < b->count; i += BLOCK) {
    *kc += unprotect_kc (b, i, MIN (i + BLOCK, b->count));
    *bare += unprotect_bare (b, i, MIN (i + BLOCK, b->count));
  }
  *kc /= b->count, *bare /= b->count;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Alternating rounds of both paths; prints one block of figures. */
static void
run (const char *title, int count)
{
  Bench b = { 0 };
  g_autofree double *kp = g_new (double, rounds), *bp = g_new (double, rounds);
  g_autofree double *ku = g_new (double, rounds), *bu = g_new (double, rounds);
  double kpm, bpm, kum, bum;

  bench_init (&b, count);
  round_protect (&b, &kp[0], &bp[0]);        /* warm up */
  for (int r = 0; r < rounds; r++)
    round_protect (&b, &kp[r], &bp[r]);
  fill_wire (&b);
  for (int r = 0; r < rounds; r++)
    round_unprotect (&b, &ku[r], &bu[r]);
  kpm = median (kp, rounds), bpm = median (bp, rounds);
  kum = median (ku, rounds), bum = median (bu, rounds);

  printf ("%s (%d packets x %d rounds, median)\n", title, count, rounds);
  printf ("  %-24s %12s %14s\n", "", "protect ns", "unprotect ns");
  printf ("  %-24s %12.0f %14.0f\n", "bare libsrtp", bpm, bum);
  printf ("  %-24s %12.0f %14.0f\n", "Keycall kc-srtp", kpm, kum);
  printf ("  %-24s %+11.1f%% %+13.1f%%   (target <= +20%%: %s)\n", "Keycall overhead",
          100 * (kpm - bpm) / bpm, 100 * (kum - bum) / bum,
          kpm <= 1.2 * bpm && kum <= 1.2 * bum ? "met" : "MISSED");
  bench_clear (&b);
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "packets", 'n', 0, G_OPTION_ARG_INT, &packets, "Packets per round (default 200000)", "N" },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Rounds per path (default 5)", "N" },
    { "sessions", 's', 0, G_OPTION_ARG_INT, &sessions, "Calls alive in the second run (default 1000)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- benchmark Keycall's SRTP path against bare libsrtp");
  g_autoptr(GError) error = NULL;
  KcSrtpSession **alive;
  g_autofree char *title = NULL;
  double start, create_ns;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return 2;
  }
  if (packets < 1 || rounds < 1 || sessions < 0) {
    fprintf (stderr, "--packets and --rounds must be positive, --sessions not negative\n");
    return 2;
  }

  printf ("SRTP %s, %d-byte payload (%d-byte RTP packet), %s\n\n",
          kc_suite_to_string (KC_SUITE_DEFAULT), PAYLOAD_LEN, RTP_LEN, srtp_get_version_string ());
  run ("One call", packets);

  /* Each call alive holds a send and a receive session with its own key,
   * and has sent and received a packet (so libsrtp cloned its streams). */
  alive = g_new0 (KcSrtpSession *, 2 * (gsize) sessions);
  start = now_ns ();
  for (int i = 0; i < sessions; i++) {
    g_autoptr(KcSecret) call_key = kc_call_key_new_random (NULL);

    alive[2 * i] = kc_srtp_session_new_for_call (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE,
                                                 KC_SRTP_ROLE_SEND, NULL);
    alive[2 * i + 1] = kc_srtp_session_new_for_call (call_key, KC_SUITE_DEFAULT, KC_DIRECTION_CALLER_TO_CALLEE,
                                                     KC_SRTP_ROLE_RECEIVE, NULL);
    if (alive[2 * i] == NULL || alive[2 * i + 1] == NULL)
      g_error ("could not create session %d", i);
  }
  create_ns = sessions ? (now_ns () - start) / (2.0 * sessions) : 0;
  for (int i = 0; i < sessions; i++) {
    guint8 buf[SLOT];
    gsize n;

    make_rtp (buf, 1);
    if (!kc_srtp_protect_rtp (alive[2 * i], buf, RTP_LEN, sizeof buf, &n, NULL) ||
        !kc_srtp_unprotect_rtp (alive[2 * i + 1], buf, n, &n, NULL))
      g_error ("a live session failed");
  }
  printf ("\nCreating a session (key derivation + srtp_create): %.0f us\n\n", create_ns / 1000);

  title = g_strdup_printf ("One call among %d alive (%d more sessions)", sessions, 2 * sessions);
  run (title, packets / 10 > 1000 ? packets / 10 : MIN (packets, 1000));

  for (int i = 0; i < 2 * sessions; i++)
    kc_srtp_session_free (alive[i]);
  g_free (alive);
  return 0;
}
