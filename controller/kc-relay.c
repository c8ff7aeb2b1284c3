/* kc-relay.c: the media relay; see kc-relay.h.
 *
 * One thread per relay waits on an epoll set of every leg socket and drains
 * each readable socket with recvmmsg, sending the batch on with one sendmmsg
 * from the other leg's socket. All state is under one mutex, which the
 * thread holds while it forwards a batch: calls come and go on the main
 * loop, and an epoll event carries (pair slot, generation) rather than a
 * pointer, so an event for a call freed meanwhile finds a newer generation
 * and is ignored.
 */
#define G_LOG_DOMAIN "keycall-relay"

#include "config.h"

#include "kc-relay.h"

#include "kc-error.h"

#include <gio/gio.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH        64      /* packets per recvmmsg/sendmmsg */
#define ROUNDS       8       /* batches per socket before the next socket's turn */
#define MAX_PACKET   2048    /* larger datagrams are not media: dropped */
#define WAKE_TAG     G_MAXUINT64
/* Receive buffer asked per socket (the kernel doubles it, capped by
 * net.core.rmem_max): rides out the relay thread being descheduled for tens
 * of ms on a busy host, the main cause of loss well below full load. */
#define RCVBUF_BYTES (512 * 1024)
#define RTP          0
#define RTCP         1

typedef struct {
  int                     fd[2];       /* RTP, RTCP */
  guint                   pair;        /* index in KcRelay.slots */
  guint16                 port;        /* RTP; RTCP is port + 1 */
  /* Where this leg sends: its endpoint's latched source, or its SDP
   * address until then; peer_len 0 when neither is known. */
  struct sockaddr_storage peer[2];
  socklen_t               peer_len[2];
  gboolean                latched[2];
  KcRelayCounters         counters;
} Leg;

struct _KcRelayCall {
  KcRelay         *relay;
  char            *call_id;
  Leg              legs[2];            /* by KcRelayLeg */
  gboolean         closed;             /* not forwarding (kc_relay_call_set_forwarding) */
  KcRelayCopyFunc  copy;
  gpointer         copy_data;
  GDestroyNotify   copy_destroy;
};

typedef struct {
  KcRelayCall *call;                   /* NULL when free */
  Leg         *leg;
  guint32      generation;             /* bumped on every free */
} Slot;

struct _KcRelay {
  gatomicrefcount         ref;
  GMutex                  lock;
  char                   *address;
  struct sockaddr_storage bind_sa;
  socklen_t               bind_len;
  int                     family;
  guint16                 port_min, port_max;
  guint16                 first_port;  /* even */
  guint                   n_pairs;
  Slot                   *slots;
  guint                   cursor;      /* next pair to try: spreads reuse */
  guint                   n_calls;
  int                     epfd, wakefd;
  gboolean                stopping;
  GThread                *thread;

  /* The relay thread's buffers. */
  struct mmsghdr          rx[BATCH], tx[BATCH];
  struct iovec            rx_iov[BATCH], tx_iov[BATCH];
  struct sockaddr_storage rx_src[BATCH];
  guint8                  buf[BATCH][MAX_PACKET];
};

static inline guint64
make_tag (guint32 generation, guint pair, int kind)
{
  return ((guint64) generation << 32) | ((guint64) pair << 1) | (guint64) kind;
}

/* Only a sanity check: SRTP keeps the RTP header in clear, and RTCP (or
 * SRTCP) starts with the same version bits. STUN, junk and scans fail it. */
static inline gboolean
looks_like_rtp (const guint8 *data, gsize len, int kind)
{
  return len >= (kind == RTP ? 12u : 8u) && (data[0] >> 6) == 2;
}

static gboolean
same_host (const struct sockaddr_storage *a,
           const struct sockaddr_storage *b)
{
  if (a->ss_family != b->ss_family)
    return FALSE;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in *) a)->sin_addr.s_addr
           == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
  return memcmp (&((const struct sockaddr_in6 *) a)->sin6_addr,
                 &((const struct sockaddr_in6 *) b)->sin6_addr,
                 sizeof (struct in6_addr)) == 0;
}

static void
set_port (struct sockaddr_storage *sa, guint16 port)
{
  if (sa->ss_family == AF_INET)
    ((struct sockaddr_in *) sa)->sin_port = g_htons (port);
  else
    ((struct sockaddr_in6 *) sa)->sin6_port = g_htons (port);
}

static guint16
get_port (const struct sockaddr_storage *sa)
{
  if (sa->ss_family == AF_INET)
    return g_ntohs (((const struct sockaddr_in *) sa)->sin_port);
  return g_ntohs (((const struct sockaddr_in6 *) sa)->sin6_port);
}

static void
latch (Leg                           *leg,
       int                            kind,
       const struct sockaddr_storage *src,
       socklen_t                      len)
{
  memcpy (&leg->peer[kind], src, len);
  leg->peer_len[kind] = len;
  leg->latched[kind] = TRUE;
  /* RTCP from behind a NAT would go to the SDP's private address: until
   * RTCP latches too, guess the port after the latched RTP source. */
  if (kind == RTP && !leg->latched[RTCP]
      && (leg->peer_len[RTCP] == 0 || !same_host (&leg->peer[RTCP], src)))
    {
      memcpy (&leg->peer[RTCP], src, len);
      leg->peer_len[RTCP] = len;
      set_port (&leg->peer[RTCP], get_port (src) + 1);
    }
}

/* Sends tx[0..n) from @fd; msg_len stays 0 for what did not go out. A full socket buffer
 * gets one short wait, so a burst is not lost to a momentary backlog. */
static void
send_batch (KcRelay *self, int fd, int n, guint64 *failed)
{
  int sent = 0;
  gboolean waited = FALSE;

  while (sent < n)
    {
      int r = sendmmsg (fd, self->tx + sent, n - sent, MSG_DONTWAIT);

      if (r > 0)
        {
          sent += r;
          continue;
        }
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !waited)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLOUT };

          waited = TRUE;
          (void) poll (&pfd, 1, 5);
          continue;
        }
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        {
          /* That one destination refused (unreachable, EPERM): skip it. */
          self->tx[sent].msg_len = 0;
          sent++;
          (*failed)++;
          continue;
        }
      *failed += n - sent;
      for (int i = sent; i < n; i++)
        self->tx[i].msg_len = 0;
      return;
    }
}

static void
drain (KcRelay *self, KcRelayCall *call, Leg *in, int kind)
{
  gboolean from_caller = in == &call->legs[KC_RELAY_LEG_CALLER];
  Leg *out = &call->legs[from_caller ? KC_RELAY_LEG_CALLEE : KC_RELAY_LEG_CALLER];
  KcRelayDirection direction = from_caller ? KC_RELAY_CALLER_TO_CALLEE
                                           : KC_RELAY_CALLEE_TO_CALLER;

  for (int round = 0; round < ROUNDS; round++)
    {
      gint64 now;
      guint64 failed = 0;
      int n, ntx = 0;

      for (int i = 0; i < BATCH; i++)
        {
          self->rx_iov[i].iov_base = self->buf[i];
          self->rx_iov[i].iov_len = MAX_PACKET;
          memset (&self->rx[i].msg_hdr, 0, sizeof self->rx[i].msg_hdr);
          self->rx[i].msg_hdr.msg_name = &self->rx_src[i];
          self->rx[i].msg_hdr.msg_namelen = sizeof self->rx_src[i];
          self->rx[i].msg_hdr.msg_iov = &self->rx_iov[i];
          self->rx[i].msg_hdr.msg_iovlen = 1;
        }
      n = recvmmsg (in->fd[kind], self->rx, BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        return;   /* EAGAIN, or an error epoll will report again */

      now = g_get_monotonic_time ();
      for (int i = 0; i < n; i++)
        {
          const guint8 *data = self->buf[i];
          gsize len = self->rx[i].msg_len;

          in->counters.packets_in++;
          in->counters.bytes_in += len;
          in->counters.last_seen_us = now;
          if ((self->rx[i].msg_hdr.msg_flags & MSG_TRUNC)
              || !looks_like_rtp (data, len, kind))
            {
              in->counters.dropped++;
              continue;
            }
          if (!in->latched[kind])
            latch (in, kind, &self->rx_src[i], self->rx[i].msg_hdr.msg_namelen);
          if (out->peer_len[kind] == 0 || call->closed)
            {
              in->counters.dropped++;
              continue;
            }
          if (call->copy != NULL)
            call->copy (call->call_id, direction, kind == RTCP, data, len,
                        call->copy_data);

          memset (&self->tx[ntx], 0, sizeof self->tx[ntx]);
          self->tx_iov[ntx].iov_base = (void *) data;
          self->tx_iov[ntx].iov_len = len;
          self->tx[ntx].msg_hdr.msg_name = &out->peer[kind];
          self->tx[ntx].msg_hdr.msg_namelen = out->peer_len[kind];
          self->tx[ntx].msg_hdr.msg_iov = &self->tx_iov[ntx];
          self->tx[ntx].msg_hdr.msg_iovlen = 1;
          ntx++;
        }

      if (ntx > 0)
        {
          send_batch (self, out->fd[kind], ntx, &failed);
          in->counters.dropped += failed;
          for (int i = 0; i < ntx; i++)
            if (self->tx[i].msg_len > 0)
              {
                out->counters.packets_out++;
                out->counters.bytes_out += self->tx[i].msg_len;
              }
        }
      if (n < BATCH)
        return;
    }
}

static gpointer
relay_thread (gpointer data)
{
  KcRelay *self = data;
  struct epoll_event events[BATCH];

  for (;;)
    {
      int n = epoll_wait (self->epfd, events, BATCH, -1);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          g_critical ("Media relay stopped: epoll_wait: %s", g_strerror (errno));
          return NULL;
        }

      g_mutex_lock (&self->lock);
      if (self->stopping)
        {
          g_mutex_unlock (&self->lock);
          return NULL;
        }
      for (int i = 0; i < n; i++)
        {
          guint64 tag = events[i].data.u64;
          Slot *slot;

          if (tag == WAKE_TAG)
            {
              guint64 value;

              (void) !read (self->wakefd, &value, sizeof value);
              continue;
            }
          slot = &self->slots[(tag & G_MAXUINT32) >> 1];
          if (slot->call == NULL || slot->generation != (guint32) (tag >> 32))
            continue;   /* freed since epoll_wait returned */
          drain (self, slot->call, slot->leg, (int) (tag & 1));
        }
      g_mutex_unlock (&self->lock);
    }
}

KcRelay *
kc_relay_new (const char *bind_address,
              guint16     port_min,
              guint16     port_max,
              GError    **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) sa = NULL;
  g_autoptr(GError) local = NULL;
  KcRelay *self;
  guint first = port_min + (port_min & 1);
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };

  g_return_val_if_fail (bind_address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  inet = g_inet_address_new_from_string (bind_address);
  if (inet == NULL)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Media relay address “%s” is not an IPv4 or IPv6 address; "
                   "give the address the relay should listen on, e.g. 0.0.0.0",
                   bind_address);
      return NULL;
    }
  if (port_min == 0 || port_max < port_min || first + 3u > port_max)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Media relay port range %u-%u is too small: a call needs "
                   "four ports starting at an even one (e.g. %u-%u)",
                   port_min, port_max, KC_RELAY_DEFAULT_PORT_MIN,
                   KC_RELAY_DEFAULT_PORT_MAX);
      return NULL;
    }

  self = g_new0 (KcRelay, 1);
  g_atomic_ref_count_init (&self->ref);
  g_mutex_init (&self->lock);
  self->address = g_inet_address_to_string (inet);
  sa = g_inet_socket_address_new (inet, 0);
  self->bind_len = g_socket_address_get_native_size (sa);
  g_socket_address_to_native (sa, &self->bind_sa, sizeof self->bind_sa, NULL);
  self->family = self->bind_sa.ss_family;
  self->port_min = port_min;
  self->port_max = port_max;
  self->first_port = first;
  self->n_pairs = (port_max - first + 1) / 2;
  self->slots = g_new0 (Slot, self->n_pairs);
  self->wakefd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  self->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (self->wakefd < 0 || self->epfd < 0
      || epoll_ctl (self->epfd, EPOLL_CTL_ADD, self->wakefd, &ev) < 0)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_IO,
                   "Cannot start the media relay: %s", g_strerror (errno));
      kc_relay_unref (self);
      return NULL;
    }
  self->thread = g_thread_try_new ("kc-relay", relay_thread, self, &local);
  if (self->thread == NULL)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                   "Cannot start the media relay thread: %s", local->message);
      kc_relay_unref (self);
      return NULL;
    }
  return self;
}

KcRelay *
kc_relay_ref (KcRelay *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref);
  return self;
}

void
kc_relay_unref (KcRelay *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref))
    return;

  if (self->thread != NULL)
    {
      guint64 one = 1;

      g_mutex_lock (&self->lock);
      self->stopping = TRUE;
      g_mutex_unlock (&self->lock);
      (void) !write (self->wakefd, &one, sizeof one);
      g_thread_join (self->thread);
    }
  if (self->epfd >= 0)
    close (self->epfd);
  if (self->wakefd >= 0)
    close (self->wakefd);
  g_mutex_clear (&self->lock);
  g_free (self->slots);
  g_free (self->address);
  g_free (self);
}

const char *
kc_relay_get_address (KcRelay *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->address;
}

guint
kc_relay_count_calls (KcRelay *self)
{
  guint n;

  g_return_val_if_fail (self != NULL, 0);
  g_mutex_lock (&self->lock);
  n = self->n_calls;
  g_mutex_unlock (&self->lock);
  return n;
}

static int
bind_one (KcRelay *self, guint16 port)
{
  struct sockaddr_storage sa = self->bind_sa;
  int fd = socket (self->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rcvbuf = RCVBUF_BYTES;

  if (fd < 0)
    return -1;
  (void) setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  set_port (&sa, port);
  if (bind (fd, (struct sockaddr *) &sa, self->bind_len) < 0)
    {
      int saved = errno;

      close (fd);
      errno = saved;
      return -1;
    }
  return fd;
}

/* Takes the next free pair that binds, under the lock. errno tells why
 * when none: EADDRINUSE for a full range, else the socket error. */
static gboolean
leg_open (KcRelay *self, KcRelayCall *call, Leg *leg)
{
  int last_errno = EADDRINUSE;

  for (guint tried = 0; tried < self->n_pairs; tried++)
    {
      guint pair = (self->cursor + tried) % self->n_pairs;
      guint16 port = self->first_port + 2 * pair;

      if (self->slots[pair].call != NULL)
        continue;
      leg->fd[RTP] = bind_one (self, port);
      if (leg->fd[RTP] < 0)
        {
          last_errno = errno;
          continue;
        }
      leg->fd[RTCP] = bind_one (self, port + 1);
      if (leg->fd[RTCP] < 0)
        {
          last_errno = errno;
          close (leg->fd[RTP]);
          leg->fd[RTP] = -1;
          continue;
        }
      leg->pair = pair;
      leg->port = port;
      self->slots[pair].call = call;
      self->slots[pair].leg = leg;
      self->cursor = (pair + 1) % self->n_pairs;
      return TRUE;
    }
  errno = last_errno;
  return FALSE;
}

/* Under the lock. Closing the fds also takes them out of the epoll set. */
static void
leg_close (KcRelay *self, Leg *leg)
{
  if (leg->fd[RTP] < 0)
    return;
  self->slots[leg->pair].call = NULL;
  self->slots[leg->pair].leg = NULL;
  self->slots[leg->pair].generation++;
  close (leg->fd[RTP]);
  close (leg->fd[RTCP]);
  leg->fd[RTP] = leg->fd[RTCP] = -1;
}

KcRelayCall *
kc_relay_call_new (KcRelay    *relay,
                   const char *call_id,
                   GError    **error)
{
  KcRelayCall *call;

  g_return_val_if_fail (relay != NULL, NULL);
  g_return_val_if_fail (call_id != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  call = g_new0 (KcRelayCall, 1);
  call->call_id = g_strdup (call_id);
  for (int l = 0; l < 2; l++)
    call->legs[l].fd[RTP] = call->legs[l].fd[RTCP] = -1;

  g_mutex_lock (&relay->lock);
  for (int l = 0; l < 2; l++)
    {
      if (!leg_open (relay, call, &call->legs[l]))
        {
          int saved = errno;

          leg_close (relay, &call->legs[KC_RELAY_LEG_CALLER]);
          g_mutex_unlock (&relay->lock);
          if (saved == EADDRINUSE)
            g_set_error (error, KC_ERROR, KC_ERROR_IO,
                         "No free media relay ports for call %s: %s ports "
                         "%u-%u are all in use (%u calls relayed); widen "
                         "the relay port range or turn media anchoring off",
                         call_id, relay->address, relay->port_min,
                         relay->port_max, relay->n_calls);
          else
            g_set_error (error, KC_ERROR, KC_ERROR_IO,
                         "Cannot open media relay ports for call %s on %s: %s",
                         call_id, relay->address, g_strerror (saved));
          g_free (call->call_id);
          g_free (call);
          return NULL;
        }
    }

  for (int l = 0; l < 2; l++)
    for (int kind = RTP; kind <= RTCP; kind++)
      {
        Leg *leg = &call->legs[l];
        struct epoll_event ev = {
          .events = EPOLLIN,
          .data.u64 = make_tag (relay->slots[leg->pair].generation, leg->pair, kind),
        };

        /* Cannot fail for a fresh socket short of ENOMEM. */
        if (epoll_ctl (relay->epfd, EPOLL_CTL_ADD, leg->fd[kind], &ev) < 0)
          g_warning ("Media relay cannot watch port %u: %s",
                     leg->port + kind, g_strerror (errno));
      }
  relay->n_calls++;
  call->relay = kc_relay_ref (relay);
  g_mutex_unlock (&relay->lock);
  return call;
}

void
kc_relay_call_free (KcRelayCall *call)
{
  KcRelay *relay;

  if (call == NULL)
    return;
  relay = call->relay;
  g_mutex_lock (&relay->lock);
  for (int l = 0; l < 2; l++)
    leg_close (relay, &call->legs[l]);
  relay->n_calls--;
  g_mutex_unlock (&relay->lock);

  if (call->copy_destroy != NULL)
    call->copy_destroy (call->copy_data);
  g_free (call->call_id);
  g_free (call);
  kc_relay_unref (relay);
}

const char *
kc_relay_call_get_id (KcRelayCall *call)
{
  g_return_val_if_fail (call != NULL, NULL);
  return call->call_id;
}

guint16
kc_relay_call_get_port (KcRelayCall *call,
                        KcRelayLeg   leg)
{
  g_return_val_if_fail (call != NULL, 0);
  g_return_val_if_fail (leg <= KC_RELAY_LEG_CALLEE, 0);
  return call->legs[leg].port;
}

gboolean
kc_relay_call_set_remote (KcRelayCall *call,
                          KcRelayLeg   leg,
                          const char  *address,
                          guint16      rtp_port,
                          guint16      rtcp_port,
                          GError     **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) sa = NULL;
  struct sockaddr_storage native;
  socklen_t len;
  Leg *l;

  g_return_val_if_fail (call != NULL, FALSE);
  g_return_val_if_fail (leg <= KC_RELAY_LEG_CALLEE, FALSE);
  g_return_val_if_fail (address != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  inet = g_inet_address_new_from_string (address);
  if (inet == NULL || rtp_port == 0
      || (int) g_inet_address_get_family (inet) != call->relay->family)
    {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "Media address “%s” port %u of call %s cannot be relayed: "
                   "the relay on %s needs an %s literal and a port",
                   address, rtp_port, call->call_id, call->relay->address,
                   call->relay->family == AF_INET ? "IPv4" : "IPv6");
      return FALSE;
    }
  sa = g_inet_socket_address_new (inet, rtp_port);
  len = g_socket_address_get_native_size (sa);
  g_socket_address_to_native (sa, &native, sizeof native, NULL);

  g_mutex_lock (&call->relay->lock);
  l = &call->legs[leg];
  for (int kind = RTP; kind <= RTCP; kind++)
    {
      if (l->latched[kind])
        continue;   /* what the endpoint really sends from wins */
      memcpy (&l->peer[kind], &native, len);
      l->peer_len[kind] = len;
      if (kind == RTCP)
        set_port (&l->peer[kind], rtcp_port != 0 ? rtcp_port : rtp_port + 1);
    }
  g_mutex_unlock (&call->relay->lock);
  return TRUE;
}

gboolean
kc_relay_call_is_latched (KcRelayCall *call,
                          KcRelayLeg   leg)
{
  gboolean latched;

  g_return_val_if_fail (call != NULL, FALSE);
  g_return_val_if_fail (leg <= KC_RELAY_LEG_CALLEE, FALSE);
  g_mutex_lock (&call->relay->lock);
  latched = call->legs[leg].latched[RTP];
  g_mutex_unlock (&call->relay->lock);
  return latched;
}

void
kc_relay_call_set_forwarding (KcRelayCall *call,
                              gboolean     forwarding)
{
  g_return_if_fail (call != NULL);
  g_mutex_lock (&call->relay->lock);
  call->closed = !forwarding;
  g_mutex_unlock (&call->relay->lock);
}

void
kc_relay_call_set_copy_func (KcRelayCall     *call,
                             KcRelayCopyFunc  func,
                             gpointer         user_data,
                             GDestroyNotify   destroy)
{
  gpointer old_data;
  GDestroyNotify old_destroy;

  g_return_if_fail (call != NULL);
  g_mutex_lock (&call->relay->lock);
  old_data = call->copy_data;
  old_destroy = call->copy_destroy;
  call->copy = func;
  call->copy_data = user_data;
  call->copy_destroy = destroy;
  g_mutex_unlock (&call->relay->lock);
  /* Outside the lock: a destroy notify may well free a tap that locks. */
  if (old_destroy != NULL)
    old_destroy (old_data);
}

void
kc_relay_call_get_counters (KcRelayCall     *call,
                            KcRelayLeg       leg,
                            KcRelayCounters *out)
{
  g_return_if_fail (call != NULL);
  g_return_if_fail (leg <= KC_RELAY_LEG_CALLEE);
  g_return_if_fail (out != NULL);
  g_mutex_lock (&call->relay->lock);
  *out = call->legs[leg].counters;
  g_mutex_unlock (&call->relay->lock);
}

void
kc_relay_call_get_totals (KcRelayCall     *call,
                          KcRelayCounters *out)
{
  KcRelayCounters a, b;

  g_return_if_fail (call != NULL);
  g_return_if_fail (out != NULL);
  g_mutex_lock (&call->relay->lock);
  a = call->legs[KC_RELAY_LEG_CALLER].counters;
  b = call->legs[KC_RELAY_LEG_CALLEE].counters;
  g_mutex_unlock (&call->relay->lock);
  out->packets_in = a.packets_in + b.packets_in;
  out->bytes_in = a.bytes_in + b.bytes_in;
  out->packets_out = a.packets_out + b.packets_out;
  out->bytes_out = a.bytes_out + b.bytes_out;
  out->dropped = a.dropped + b.dropped;
  out->last_seen_us = MAX (a.last_seen_us, b.last_seen_us);
}
