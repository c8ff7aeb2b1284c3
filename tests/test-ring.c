/* test-ring.c: the lock-free frame ring between the audio callback and the
 * main loop. */
#include "config.h"

#include "kc-ring.h"

#include "kc-test.h"

#include <string.h>

#define FRAME 960

/* A frame whose every sample depends on its sequence number. */
static void
fill_frame (gint16 *frame,
            guint   frame_samples,
            guint32 seq)
{
  for (guint i = 0; i < frame_samples; i++)
    frame[i] = (gint16) (seq * 7919u + i * 31u);
}

static gboolean
frame_is (const gint16 *frame,
          guint         frame_samples,
          guint32       seq)
{
  for (guint i = 0; i < frame_samples; i++)
    if (frame[i] != (gint16) (seq * 7919u + i * 31u))
      return FALSE;
  return TRUE;
}

START_TEST (test_order_preserved)
{
  g_autoptr(KcRing) ring = kc_ring_new (FRAME, 16);
  gint16 in[FRAME], out[FRAME];

  ck_assert_uint_eq (kc_ring_get_frame_samples (ring), FRAME);
  for (guint32 seq = 0; seq < 10; seq++)
    {
      fill_frame (in, FRAME, seq);
      ck_assert (kc_ring_push (ring, in));
    }
  ck_assert_uint_eq (kc_ring_readable (ring), 10);
  for (guint32 seq = 0; seq < 10; seq++)
    {
      ck_assert (kc_ring_pop (ring, out));
      ck_assert_msg (frame_is (out, FRAME, seq), "frame %u out of order or damaged", seq);
    }
  ck_assert_uint_eq (kc_ring_readable (ring), 0);
  ck_assert_uint_eq (kc_ring_get_overruns (ring), 0);
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 0);
}
END_TEST

START_TEST (test_capacity_power_of_two)
{
  const guint asked[] = { 1, 2, 3, 5, 8, 9, 1000 };
  const guint got[] = { 1, 2, 4, 8, 8, 16, 1024 };

  for (guint i = 0; i < G_N_ELEMENTS (asked); i++)
    {
      g_autoptr(KcRing) ring = kc_ring_new (4, asked[i]);
      gint16 frame[4] = { 1, 2, 3, 4 };
      guint pushed = 0;

      ck_assert_uint_eq (kc_ring_get_capacity (ring), got[i]);
      /* The capacity it reports is what it really holds. */
      while (kc_ring_push (ring, frame))
        pushed++;
      ck_assert_uint_eq (pushed, got[i]);
    }
}
END_TEST

START_TEST (test_full_and_empty)
{
  g_autoptr(KcRing) ring = kc_ring_new (FRAME, 4);
  gint16 in[FRAME], out[FRAME];

  /* Empty: pop fails and leaves the buffer alone. */
  memset (out, 0x55, sizeof out);
  ck_assert (!kc_ring_pop (ring, out));
  ck_assert_int_eq (out[0], 0x5555);
  ck_assert_int_eq (out[FRAME - 1], 0x5555);
  ck_assert_uint_eq (kc_ring_writable (ring), 4);

  for (guint32 seq = 0; seq < 4; seq++)
    {
      fill_frame (in, FRAME, seq);
      ck_assert (kc_ring_push (ring, in));
    }
  ck_assert_uint_eq (kc_ring_writable (ring), 0);
  ck_assert_uint_eq (kc_ring_readable (ring), 4);

  /* Full: the new frame is dropped, the queued ones are kept. */
  fill_frame (in, FRAME, 99);
  ck_assert (!kc_ring_push (ring, in));
  ck_assert_uint_eq (kc_ring_readable (ring), 4);

  /* One slot freed: room for exactly one more. */
  ck_assert (kc_ring_pop (ring, out));
  ck_assert (frame_is (out, FRAME, 0));
  fill_frame (in, FRAME, 4);
  ck_assert (kc_ring_push (ring, in));
  ck_assert (!kc_ring_push (ring, in));

  for (guint32 seq = 1; seq <= 4; seq++)
    {
      ck_assert (kc_ring_pop (ring, out));
      ck_assert_msg (frame_is (out, FRAME, seq), "expected frame %u", seq);
    }
  ck_assert (!kc_ring_pop (ring, out));
}
END_TEST

START_TEST (test_counters)
{
  g_autoptr(KcRing) ring = kc_ring_new (8, 2);
  gint16 frame[8] = { 0 };

  for (guint i = 0; i < 3; i++)
    ck_assert (!kc_ring_pop (ring, frame));
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 3);
  ck_assert_uint_eq (kc_ring_get_overruns (ring), 0);

  ck_assert (kc_ring_push (ring, frame));
  ck_assert (kc_ring_push (ring, frame));
  for (guint i = 0; i < 5; i++)
    ck_assert (!kc_ring_push (ring, frame));
  ck_assert_uint_eq (kc_ring_get_overruns (ring), 5);
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 3);

  /* Dropping stale frames is deliberate: not an underrun. */
  ck_assert_uint_eq (kc_ring_drop (ring), 2);
  ck_assert_uint_eq (kc_ring_readable (ring), 0);
  ck_assert_uint_eq (kc_ring_drop (ring), 0);
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 3);

  /* After a drop the ring is usable again, and counts an empty pop. */
  ck_assert (kc_ring_push (ring, frame));
  ck_assert (kc_ring_pop (ring, frame));
  ck_assert (!kc_ring_pop (ring, frame));
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 4);
  ck_assert_uint_eq (kc_ring_get_overruns (ring), 5);
}
END_TEST

/* Every fill level at every offset in the storage, many times round. */
START_TEST (test_wrap_around)
{
  g_autoptr(KcRing) ring = kc_ring_new (5, 4);
  gint16 in[5], out[5];
  guint32 next_in = 0, next_out = 0;

  for (guint round = 0; round < 1000; round++)
    {
      /* At most 2 frames are left over, so 2 to 4 fit. */
      guint burst = 1 + round % kc_ring_writable (ring);

      for (guint i = 0; i < burst; i++)
        {
          fill_frame (in, 5, next_in++);
          ck_assert (kc_ring_push (ring, in));
        }
      /* Leave a frame behind now and then so the offsets drift. */
      if (round % 3 == 0 && burst > 1)
        burst--;
      for (guint i = 0; i < burst; i++)
        {
          ck_assert (kc_ring_pop (ring, out));
          ck_assert_msg (frame_is (out, 5, next_out), "round %u: expected frame %u",
                         round, next_out);
          next_out++;
        }
      while (kc_ring_readable (ring) > 2)
        {
          ck_assert (kc_ring_pop (ring, out));
          ck_assert (frame_is (out, 5, next_out));
          next_out++;
        }
    }
  ck_assert_uint_gt (next_in, 1000);
  ck_assert_uint_eq (kc_ring_get_overruns (ring), 0);
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 0);
}
END_TEST

/* Two threads: the producer pushes 1e6 pseudo-random frames, the consumer
 * pops them; the checksums and the order must agree, and the overruns the
 * ring counted must be the producer's failed pushes. */
#define STRESS_FRAMES 1000000u
#define STRESS_SAMPLES 64

typedef struct {
  KcRing *ring;
  guint64 checksum;
  guint64 failed;
  guint32 bad_order;
} StressSide;

static guint64
mix (guint64 sum,
     const gint16 *frame)
{
  for (guint i = 0; i < STRESS_SAMPLES; i++)
    sum = (sum ^ (guint16) frame[i]) * 1099511628211ull;
  return sum;
}

static gpointer
producer_thread (gpointer data)
{
  StressSide *side = data;
  GRand *rand = g_rand_new_with_seed (42);
  gint16 frame[STRESS_SAMPLES];

  side->checksum = 14695981039346656037ull;
  for (guint32 seq = 0; seq < STRESS_FRAMES; seq++)
    {
      frame[0] = (gint16) seq;
      for (guint i = 1; i < STRESS_SAMPLES; i++)
        frame[i] = (gint16) g_rand_int (rand);
      side->checksum = mix (side->checksum, frame);
      while (!kc_ring_push (side->ring, frame))
        {
          side->failed++;
          g_thread_yield ();
        }
    }
  g_rand_free (rand);
  return NULL;
}

static gpointer
consumer_thread (gpointer data)
{
  StressSide *side = data;
  gint16 frame[STRESS_SAMPLES];

  side->checksum = 14695981039346656037ull;
  for (guint32 seq = 0; seq < STRESS_FRAMES; seq++)
    {
      while (kc_ring_readable (side->ring) == 0)
        g_thread_yield ();
      if (!kc_ring_pop (side->ring, frame))
        side->failed++;
      if (frame[0] != (gint16) seq)
        side->bad_order++;
      side->checksum = mix (side->checksum, frame);
    }
  return NULL;
}

START_TEST (test_two_thread_stress)
{
  g_autoptr(KcRing) ring = kc_ring_new (STRESS_SAMPLES, 8);
  StressSide prod = { ring }, cons = { ring };
  GThread *p, *c;

  c = g_thread_new ("consumer", consumer_thread, &cons);
  p = g_thread_new ("producer", producer_thread, &prod);
  g_thread_join (p);
  g_thread_join (c);

  ck_assert_uint_eq (cons.bad_order, 0);
  ck_assert_uint_eq (cons.failed, 0);   /* readable > 0 means pop succeeds */
  ck_assert_msg (prod.checksum == cons.checksum,
                 "checksums differ: produced %016" G_GINT64_MODIFIER "x, consumed %016"
                 G_GINT64_MODIFIER "x", prod.checksum, cons.checksum);
  ck_assert_uint_eq (kc_ring_get_overruns (ring), prod.failed);
  ck_assert_uint_eq (kc_ring_get_underruns (ring), 0);
  ck_assert_uint_eq (kc_ring_readable (ring), 0);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("ring");
  TCase *tc = tcase_create ("ring");

  tcase_add_test (tc, test_order_preserved);
  tcase_add_test (tc, test_capacity_power_of_two);
  tcase_add_test (tc, test_full_and_empty);
  tcase_add_test (tc, test_counters);
  tcase_add_test (tc, test_wrap_around);
  tcase_add_test (tc, test_two_thread_stress);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
