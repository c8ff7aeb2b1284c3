/* kc-ring.c: a lock-free single-producer single-consumer ring of audio frames.
 *
 * Indices run free (they are never wrapped to the capacity); the slot is the
 * index masked by capacity - 1, which is why the capacity is a power of two:
 * then the mask stays right even when a size_t index wraps past its maximum,
 * and head - tail is the fill level in every case. The producer owns head,
 * the consumer owns tail; each publishes its index with a release store and
 * reads the other's with an acquire load, so the frame copy is visible before
 * the index that hands it over. Each side's index and counter sit on their own
 * cache line so the two threads do not fight over one line.
 */
#define G_LOG_DOMAIN "keycall-audio"

#include "config.h"

#include "kc-ring.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#define KC_CACHE_LINE 64
#define KC_RING_MAX_CAPACITY (1u << 20)
#define KC_RING_MAX_FRAME (1u << 16)

struct _KcRing
{
  /* Read-only after kc_ring_new(). */
  alignas (KC_CACHE_LINE) gint16 *samples;
  size_t mask;
  guint frame_samples;
  guint capacity;

  /* Written by the producer only. */
  alignas (KC_CACHE_LINE) atomic_size_t head;
  size_t tail_cache;             /* the producer's last view of tail */
  atomic_ulong overruns;

  /* Written by the consumer only. */
  alignas (KC_CACHE_LINE) atomic_size_t tail;
  size_t head_cache;             /* the consumer's last view of head */
  atomic_ulong underruns;
};

/* Counters are unsigned long: a machine word, so always lock-free, even
 * where 64-bit atomics are not. */
G_STATIC_ASSERT (ATOMIC_LONG_LOCK_FREE == 2);
G_STATIC_ASSERT (sizeof (size_t) == sizeof (atomic_size_t));

/**
 * kc_ring_new:
 * @frame_samples: samples (int16, one channel) in each frame, 1 to 65536
 * @capacity: frames the ring holds; rounded up to a power of two
 *
 * Allocates everything the ring will ever use: nothing else allocates.
 *
 * Returns: (transfer full): a ring; free with kc_ring_free()
 */
KcRing *
kc_ring_new (guint frame_samples,
             guint capacity)
{
  KcRing *ring;
  guint rounded = 1;

  g_return_val_if_fail (frame_samples > 0 && frame_samples <= KC_RING_MAX_FRAME, NULL);
  g_return_val_if_fail (capacity > 0 && capacity <= KC_RING_MAX_CAPACITY, NULL);

  while (rounded < capacity)
    rounded <<= 1;

  ring = g_aligned_alloc0 (1, sizeof (KcRing), KC_CACHE_LINE);
  ring->frame_samples = frame_samples;
  ring->capacity = rounded;
  ring->mask = rounded - 1;
  ring->samples = g_aligned_alloc0 ((gsize) rounded * frame_samples, sizeof (gint16),
                                    KC_CACHE_LINE);
  atomic_init (&ring->head, 0);
  atomic_init (&ring->tail, 0);
  atomic_init (&ring->overruns, 0);
  atomic_init (&ring->underruns, 0);
  return ring;
}

void
kc_ring_free (KcRing *ring)
{
  if (ring == NULL)
    return;
  g_aligned_free (ring->samples);
  g_aligned_free (ring);
}

guint
kc_ring_get_frame_samples (const KcRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return ring->frame_samples;
}

guint
kc_ring_get_capacity (const KcRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return ring->capacity;
}

static inline gint16 *
slot (KcRing *ring,
      size_t  index)
{
  return ring->samples + (index & ring->mask) * ring->frame_samples;
}

/**
 * kc_ring_push:
 * @frame: kc_ring_get_frame_samples() samples
 *
 * Producer only. When the ring is full the frame is dropped (the consumer's
 * frames are older and already late) and the overrun counter goes up.
 *
 * Returns: %FALSE when the ring was full
 */
gboolean
kc_ring_push (KcRing       *ring,
              const gint16 *frame)
{
  size_t head = atomic_load_explicit (&ring->head, memory_order_relaxed);

  if (head - ring->tail_cache >= ring->capacity)
    {
      ring->tail_cache = atomic_load_explicit (&ring->tail, memory_order_acquire);
      if (head - ring->tail_cache >= ring->capacity)
        {
          atomic_fetch_add_explicit (&ring->overruns, 1, memory_order_relaxed);
          return FALSE;
        }
    }

  memcpy (slot (ring, head), frame, ring->frame_samples * sizeof (gint16));
  atomic_store_explicit (&ring->head, head + 1, memory_order_release);
  return TRUE;
}

/**
 * kc_ring_pop:
 * @frame: room for kc_ring_get_frame_samples() samples
 *
 * Consumer only. An empty ring counts an underrun: a consumer that merely
 * polls checks kc_ring_readable() first.
 *
 * Returns: %FALSE when the ring was empty (@frame is left untouched)
 */
gboolean
kc_ring_pop (KcRing *ring,
             gint16 *frame)
{
  size_t tail = atomic_load_explicit (&ring->tail, memory_order_relaxed);

  if (tail == ring->head_cache)
    {
      ring->head_cache = atomic_load_explicit (&ring->head, memory_order_acquire);
      if (tail == ring->head_cache)
        {
          atomic_fetch_add_explicit (&ring->underruns, 1, memory_order_relaxed);
          return FALSE;
        }
    }

  memcpy (frame, slot (ring, tail), ring->frame_samples * sizeof (gint16));
  atomic_store_explicit (&ring->tail, tail + 1, memory_order_release);
  return TRUE;
}

/* Exact for the calling side (the other side can only make it larger). */
guint
kc_ring_readable (const KcRing *ring)
{
  KcRing *r = (KcRing *) ring;
  size_t tail = atomic_load_explicit (&r->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit (&r->head, memory_order_acquire);

  return (guint) (head - tail);
}

guint
kc_ring_writable (const KcRing *ring)
{
  KcRing *r = (KcRing *) ring;
  size_t head = atomic_load_explicit (&r->head, memory_order_relaxed);
  size_t tail = atomic_load_explicit (&r->tail, memory_order_acquire);

  return ring->capacity - (guint) (head - tail);
}

/**
 * kc_ring_drop:
 *
 * Consumer only: discards every frame waiting (stale audio after a stall),
 * without counting an underrun.
 *
 * Returns: the number of frames dropped
 */
guint
kc_ring_drop (KcRing *ring)
{
  size_t tail = atomic_load_explicit (&ring->tail, memory_order_relaxed);
  size_t head = atomic_load_explicit (&ring->head, memory_order_acquire);

  ring->head_cache = head;
  atomic_store_explicit (&ring->tail, head, memory_order_release);
  return (guint) (head - tail);
}

guint64
kc_ring_get_overruns (const KcRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return atomic_load_explicit (&((KcRing *) ring)->overruns, memory_order_relaxed);
}

guint64
kc_ring_get_underruns (const KcRing *ring)
{
  g_return_val_if_fail (ring != NULL, 0);
  return atomic_load_explicit (&((KcRing *) ring)->underruns, memory_order_relaxed);
}
