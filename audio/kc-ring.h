/* kc-ring.h: a lock-free single-producer single-consumer ring of audio frames.
 *
 * It carries fixed-size frames between the real-time audio callback and the
 * main loop: push and pop never lock, allocate or block, so either side may
 * run on a real-time thread. Exactly one thread pushes and one thread pops.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _KcRing KcRing;

KcRing  *kc_ring_new            (guint          frame_samples,
                                 guint          capacity);
void     kc_ring_free           (KcRing        *ring);

guint    kc_ring_get_frame_samples (const KcRing *ring);
guint    kc_ring_get_capacity   (const KcRing  *ring);

/* Producer side. */
gboolean kc_ring_push           (KcRing        *ring,
                                 const gint16  *frame);
guint    kc_ring_writable       (const KcRing  *ring);

/* Consumer side. */
gboolean kc_ring_pop            (KcRing        *ring,
                                 gint16        *frame);
guint    kc_ring_readable       (const KcRing  *ring);
guint    kc_ring_drop           (KcRing        *ring);

/* Any thread. */
guint64  kc_ring_get_overruns   (const KcRing  *ring);
guint64  kc_ring_get_underruns  (const KcRing  *ring);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcRing, kc_ring_free)

G_END_DECLS
