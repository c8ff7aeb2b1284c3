/* bench-relay.c: how many packets the media relay forwards per core.
 *
 * K calls (default 1,000) through one KcRelay on 127.0.0.1; a sender thread
 * offers N packets/s in total (182-byte packets, the size of 20 ms of Opus
 * in SRTP), spread evenly over every call and both directions, so each of
 * the relay's sockets sees one packet at a time as in real calls. The fake
 * endpoints share two sockets (all callers, all callees) so that sendmmsg
 * keeps the load generator cheap on a small machine; the relay latches each
 * leg onto them like onto any CTA. A receiver thread drains them. For each
 * rate it prints what was offered, what arrived, the loss, and the relay
 * thread's own CPU time (from /proc, so the sender and receiver sharing the
 * machine do not count), hence packets forwarded per second per core.
 * The target (issue "Media") is >= 100,000 pkt/s per core with no loss.
 *
 * --tap-percent P: P% of the calls are tapped (issue 7): their relay copy
 * hook does what controller/kc-li-deliver.c does (an X3 header from
 * kc-li-wire.h, one non-blocking sendto from a socket shared by every tap,
 * never retried) toward a local UDP content port that a thread drains like
 * keycall-lea does (4 MiB buffer). Each rate then also prints the packets
 * the relay forwarded on tapped calls, the copies it could hand to the
 * kernel, the copies received (valid X3 only) and the copies lost.
 * The target is no copy lost below the relay's rated 100,000 pkt/s.
 *
 *   bench-relay [--tap-percent P] [CALLS [SECONDS [RATE...]]]
 */
#define G_LOG_DOMAIN "bench-relay"

#include "kc-li-wire.h"
#include "kc-relay.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define PACKET_LEN 182
#define PORT_MIN   41000
#define PORT_MAX   49999

/* One tap's content sink, as kc-li-deliver.c keeps it (LiSink). */
typedef struct {
  int                fd;      /* shared by every tap, as the controller's */
  struct sockaddr_in addr;    /* the content port */
  gint               seq;
} Sink;

typedef struct {
  KcRelayCall *call;
  guint16      leg_port[2];  /* where the caller and the callee send */
} Call;

static Call *calls;
static int endpoint_fd[2];   /* all callers', all callees' */
static int n_calls = 1000;
static volatile gint received;
static volatile gint stop_receiver;

/* Tap mode */
static int tap_percent;
static int copy_fd = -1;            /* the content port's socket */
static volatile gint copies_hooked;   /* hook calls: packets forwarded on tapped calls */
static volatile gint copies_sent;     /* handed to the kernel */
static volatile gint copies_dropped;  /* sendto refused at once (counted, not retried) */
static volatile gint copies_received; /* valid X3 copies that arrived */
static volatile gint copies_invalid;

static int
endpoint_new (guint16 *port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int size = 8 << 20;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0
      || getsockname (fd, (struct sockaddr *) &sa, &len) < 0)
    g_error ("endpoint socket: %s", g_strerror (errno));
  /* Two sockets take what 2,000 would: make room (FORCE needs root). */
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    (void) setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  (void) setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  *port = ntohs (sa.sin_port);
  return fd;
}

/* ns the thread named "kc-relay" has run, from its schedstat. */
static gint64
relay_cpu_ns (void)
{
  DIR *dir = opendir ("/proc/self/task");
  struct dirent *entry;
  gint64 ns = -1;

  while (dir != NULL && (entry = readdir (dir)) != NULL)
    {
      g_autofree char *comm_path = NULL, *comm = NULL, *stat_path = NULL, *stat = NULL;

      if (entry->d_name[0] == '.')
        continue;
      comm_path = g_strdup_printf ("/proc/self/task/%s/comm", entry->d_name);
      if (!g_file_get_contents (comm_path, &comm, NULL, NULL)
          || !g_str_has_prefix (comm, "kc-relay"))
        continue;
      stat_path = g_strdup_printf ("/proc/self/task/%s/schedstat", entry->d_name);
      if (g_file_get_contents (stat_path, &stat, NULL, NULL))
        ns = g_ascii_strtoll (stat, NULL, 10);
      break;
    }
  if (dir != NULL)
    closedir (dir);
  return ns;
}

static gpointer
receiver (gpointer data)
{
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  struct epoll_event events[256];
  struct mmsghdr msgs[64];
  struct iovec iov[64];
  static guint8 bufs[64][2048];

  (void) data;
  for (int side = 0; side < 2; side++)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.fd = endpoint_fd[side] };

      epoll_ctl (epfd, EPOLL_CTL_ADD, endpoint_fd[side], &ev);
    }
  while (!g_atomic_int_get (&stop_receiver))
    {
      int n = epoll_wait (epfd, events, 256, 50);

      for (int e = 0; e < n; e++)
        for (;;)
          {
            int got;

            memset (msgs, 0, sizeof msgs);
            for (int i = 0; i < 64; i++)
              {
                iov[i].iov_base = bufs[i];
                iov[i].iov_len = sizeof bufs[i];
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
              }
            got = recvmmsg (events[e].data.fd, msgs, 64, MSG_DONTWAIT, NULL);
            if (got <= 0)
              break;
            g_atomic_int_add (&received, got);
          }
    }
  close (epfd);
  return NULL;
}

/* On the relay thread with the relay locked: what on_relay_copy() in
 * controller/kc-li-deliver.c does for one sink. */
static void
on_copy (const char *call_id, KcRelayDirection direction, gboolean rtcp,
         const guint8 *data, gsize len, gpointer user_data)
{
  Sink *sink = user_data;
  guint8 buf[10 + KC_LI_X3_MAX_CALL_ID + 2048];
  guint32 seq = (guint32) g_atomic_int_add (&sink->seq, 1);
  gsize n = kc_li_x3_encode (buf, sizeof buf, call_id,
                             direction == KC_RELAY_CALLEE_TO_CALLER
                             ? KC_DIRECTION_CALLEE_TO_CALLER : KC_DIRECTION_CALLER_TO_CALLEE,
                             rtcp, seq, data, len);

  g_atomic_int_inc (&copies_hooked);
  if (n == 0 || sendto (sink->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                        (struct sockaddr *) &sink->addr, sizeof sink->addr) < 0)
    g_atomic_int_inc (&copies_dropped);
  else
    g_atomic_int_inc (&copies_sent);
}

/* The LEA's content port: receive and check every copy. */
static gpointer
copy_receiver (gpointer data)
{
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = copy_fd };
  struct mmsghdr msgs[64];
  struct iovec iov[64];
  static guint8 bufs[64][4096];

  (void) data;
  epoll_ctl (epfd, EPOLL_CTL_ADD, copy_fd, &ev);
  while (!g_atomic_int_get (&stop_receiver))
    {
      if (epoll_wait (epfd, &ev, 1, 50) <= 0)
        continue;
      for (;;)
        {
          int got, valid = 0;

          memset (msgs, 0, sizeof msgs);
          for (int i = 0; i < 64; i++)
            {
              iov[i].iov_base = bufs[i];
              iov[i].iov_len = sizeof bufs[i];
              msgs[i].msg_hdr.msg_iov = &iov[i];
              msgs[i].msg_hdr.msg_iovlen = 1;
            }
          got = recvmmsg (copy_fd, msgs, 64, MSG_DONTWAIT, NULL);
          if (got <= 0)
            break;
          for (int i = 0; i < got; i++)
            {
              KcLiX3Copy copy;

              if (kc_li_x3_decode (bufs[i], msgs[i].msg_len, &copy, NULL)
                  && copy.packet_len == PACKET_LEN)
                valid++;
            }
          g_atomic_int_add (&copies_received, valid);
          g_atomic_int_add (&copies_invalid, got - valid);
        }
    }
  close (epfd);
  return NULL;
}

/* Sends packets @first..@first+@n (n <= 64) of the round robin over calls
 * and directions; each side's packets go out in one sendmmsg. */
static void
send_packets (guint64 first, int n)
{
  static guint8 pkt[PACKET_LEN];
  static struct sockaddr_in sa[64];
  static struct iovec iov[64];
  static struct mmsghdr msgs[2][64];
  int count[2] = { 0, 0 };

  pkt[0] = 0x80;
  pkt[1] = 111;
  for (int i = 0; i < n; i++)
    {
      guint64 seq = first + i;
      Call *c = &calls[(seq / 2) % n_calls];
      int side = seq & 1;
      struct mmsghdr *m = &msgs[side][count[side]++];

      sa[i].sin_family = AF_INET;
      sa[i].sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      sa[i].sin_port = htons (c->leg_port[side]);
      iov[i].iov_base = pkt;
      iov[i].iov_len = PACKET_LEN;
      memset (m, 0, sizeof *m);
      m->msg_hdr.msg_name = &sa[i];
      m->msg_hdr.msg_namelen = sizeof sa[i];
      m->msg_hdr.msg_iov = &iov[i];
      m->msg_hdr.msg_iovlen = 1;
    }
  for (int side = 0; side < 2; side++)
    for (int done = 0; done < count[side];)
      {
        int r = sendmmsg (endpoint_fd[side], msgs[side] + done, count[side] - done, 0);

        if (r < 0 && errno != EAGAIN && errno != EINTR)
          g_error ("sendmmsg: %s", g_strerror (errno));
        if (r > 0)
          done += r;
      }
}

/* The kernel's count of datagrams lost to full socket buffers (all UDP
 * sockets on the machine): loss the relay's own counters cannot see. */
static guint64
udp_rcvbuf_errors (void)
{
  g_autofree char *snmp = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/snmp", &snmp, NULL, NULL))
    return 0;
  lines = g_strsplit (snmp, "\n", -1);
  for (int i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Udp:") && g_str_has_prefix (lines[i + 1], "Udp:"))
      {
        g_auto(GStrv) names = g_strsplit (lines[i], " ", -1);
        g_auto(GStrv) values = g_strsplit (lines[i + 1], " ", -1);

        for (int k = 0; names[k] != NULL && values[k] != NULL; k++)
          if (strcmp (names[k], "RcvbufErrors") == 0)
            return g_ascii_strtoull (values[k], NULL, 10);
      }
  return 0;
}

static guint64
relay_dropped (void)
{
  guint64 dropped = 0;

  for (int i = 0; i < n_calls; i++)
    {
      KcRelayCounters c;

      kc_relay_call_get_totals (calls[i].call, &c);
      dropped += c.dropped;
    }
  return dropped;
}

/* Offers @rate pkt/s for @seconds (0: as fast as the sender can). */
static void
run (int rate, double seconds)
{
  gint64 start, cpu0, cpu1, elapsed_us, wall_us;
  guint64 sent = 0, dropped0 = relay_dropped (), rcvbuf0 = udp_rcvbuf_errors ();
  gint got, last = -1;
  double cpu_s, offered;
  char label[16];

  g_atomic_int_set (&received, 0);
  g_atomic_int_set (&copies_hooked, 0);
  g_atomic_int_set (&copies_sent, 0);
  g_atomic_int_set (&copies_dropped, 0);
  g_atomic_int_set (&copies_received, 0);
  g_atomic_int_set (&copies_invalid, 0);
  cpu0 = relay_cpu_ns ();
  start = g_get_monotonic_time ();
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      guint64 due;

      if (now - start >= seconds * G_USEC_PER_SEC)
        break;
      due = rate > 0 ? (guint64) ((now - start) * (double) rate / G_USEC_PER_SEC)
                     : sent + 64;
      if (sent >= due)
        {
          g_usleep (100);
          continue;
        }
      while (sent < due)
        {
          int n = (int) MIN (due - sent, 64);

          send_packets (sent, n);
          sent += n;
        }
    }
  elapsed_us = g_get_monotonic_time () - start;
  /* Let the queues drain: until nothing new arrives for 200 ms (copies
   * included). */
  for (int waited = 0; waited < 50; waited++)
    {
      gint copies = g_atomic_int_get (&copies_received) + g_atomic_int_get (&copies_invalid);

      got = g_atomic_int_get (&received);
      if (got + copies == last
          || ((guint64) got >= sent && copies >= g_atomic_int_get (&copies_sent)))
        break;
      last = got + copies;
      g_usleep (200000);
    }
  if ((guint64) g_atomic_int_get (&received) >= sent)
    g_usleep (50000);
  cpu1 = relay_cpu_ns ();
  wall_us = g_get_monotonic_time () - start;
  got = g_atomic_int_get (&received);
  cpu_s = (cpu1 - cpu0) / 1e9;
  offered = sent / (elapsed_us / 1e6);
  if (rate > 0)
    g_snprintf (label, sizeof label, "%d", rate);
  else
    g_strlcpy (label, "max", sizeof label);
  printf ("%9s %10.0f %10" G_GUINT64_FORMAT " %10d %8.4f%% %9" G_GUINT64_FORMAT
          " %9" G_GUINT64_FORMAT " %7.1f%% %12.0f\n",
          label, offered, sent, got,
          sent > 0 ? 100.0 * (sent - (guint64) got) / sent : 0.0,
          relay_dropped () - dropped0, udp_rcvbuf_errors () - rcvbuf0,
          100.0 * cpu_s / (wall_us / 1e6),
          cpu_s > 0 ? got / cpu_s : 0.0);
  if (tap_percent > 0)
    {
      gint hooked = g_atomic_int_get (&copies_hooked);
      gint rcvd = g_atomic_int_get (&copies_received);

      printf ("%9s %10s tapped calls: %d packets forwarded, %d copies sent, %d refused by "
              "sendto, %d received (%d not X3), %d lost (%.4f%%)\n",
              "", "", hooked, g_atomic_int_get (&copies_sent),
              g_atomic_int_get (&copies_dropped), rcvd, g_atomic_int_get (&copies_invalid),
              hooked - rcvd, hooked > 0 ? 100.0 * (hooked - rcvd) / hooked : 0.0);
    }
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcRelay) relay = NULL;
  static const int default_rates[] = { 25000, 50000, 100000, 150000, 200000, 0 };
  /* Up to the rated rate: the claim is about loss below it. */
  static const int default_tap_rates[] = { 25000, 50000, 100000 };
  GOptionEntry entries[] = {
    { "tap-percent", 0, 0, G_OPTION_ARG_INT, &tap_percent,
      "Tap P% of the calls (copies to a local content port)", "P" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[CALLS [SECONDS [RATE...]]]");
  struct sockaddr_in content = { .sin_family = AF_INET };
  socklen_t content_len = sizeof content;
  int tap_send_fd = -1, n_tapped = 0;
  Sink *sinks = NULL;
  double seconds = 3.0;
  struct rlimit rl;
  guint16 port[2];
  GThread *thread, *copy_thread = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-relay: %s\n", error->message);
      return 2;
    }
  if (tap_percent < 0 || tap_percent > 100)
    {
      fprintf (stderr, "bench-relay: --tap-percent takes 0 to 100, not %d\n", tap_percent);
      return 2;
    }
  if (argc > 1)
    n_calls = atoi (argv[1]);
  if (argc > 2)
    seconds = g_ascii_strtod (argv[2], NULL);
  if (n_calls <= 0 || n_calls * 4 > PORT_MAX - PORT_MIN + 1 || seconds <= 0)
    {
      fprintf (stderr, "usage: bench-relay [--tap-percent P] [CALLS (1-%d) [SECONDS [RATE...]]]\n",
               (PORT_MAX - PORT_MIN + 1) / 4);
      return 2;
    }
  /* Six sockets a call. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }

  relay = kc_relay_new ("127.0.0.1", PORT_MIN, PORT_MAX, &error);
  if (relay == NULL)
    g_error ("%s", error->message);
  calls = g_new0 (Call, n_calls);
  for (int side = 0; side < 2; side++)
    endpoint_fd[side] = endpoint_new (&port[side]);
  for (int i = 0; i < n_calls; i++)
    {
      g_autofree char *id = g_strdup_printf ("bench-%d", i);

      calls[i].call = kc_relay_call_new (relay, id, &error);
      if (calls[i].call == NULL)
        g_error ("%s", error->message);
      for (int side = 0; side < 2; side++)
        {
          calls[i].leg_port[side] = kc_relay_call_get_port (calls[i].call, side);
          if (!kc_relay_call_set_remote (calls[i].call, side, "127.0.0.1",
                                         port[side], 0, &error))
            g_error ("%s", error->message);
        }
    }
  if (tap_percent > 0)
    {
      int size = 4 << 20;   /* keycall-lea's content port */

      content.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      copy_fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (copy_fd < 0 || bind (copy_fd, (struct sockaddr *) &content, sizeof content) < 0
          || getsockname (copy_fd, (struct sockaddr *) &content, &content_len) < 0)
        g_error ("content socket: %s", g_strerror (errno));
      (void) setsockopt (copy_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
      /* The controller's copy socket: one for all taps, default buffers. */
      tap_send_fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (tap_send_fd < 0)
        g_error ("copy socket: %s", g_strerror (errno));
      sinks = g_new0 (Sink, n_calls);
      /* Spread the tapped calls evenly: call i is tapped when i*P/100 steps. */
      for (int i = 0; i < n_calls; i++)
        if ((i + 1) * tap_percent / 100 != i * tap_percent / 100)
          {
            sinks[i].fd = tap_send_fd;
            sinks[i].addr = content;
            kc_relay_call_set_copy_func (calls[i].call, on_copy, &sinks[i], NULL);
            n_tapped++;
          }
      copy_thread = g_thread_new ("content", copy_receiver, NULL);
    }
  thread = g_thread_new ("receiver", receiver, NULL);

  printf ("bench-relay: %d calls, %.1f s per rate, %d-byte packets, "
          "%u CPUs; pkt/s per core = received / relay thread CPU s\n",
          n_calls, seconds, PACKET_LEN, g_get_num_processors ());
  if (tap_percent > 0)
    printf ("tapped: %d of %d calls (%d%%), X3 copies to 127.0.0.1:%u; lost = forwarded "
            "on tapped calls - valid copies received\n", n_tapped, n_calls, tap_percent,
            ntohs (content.sin_port));
  printf ("%9s %10s %10s %10s %9s %9s %9s %8s %12s\n", "rate", "offered/s", "sent",
          "received", "loss", "dropped", "rcvbufErr", "relayCPU", "pkt/s/core");
  if (argc > 3)
    for (int a = 3; a < argc; a++)
      run (atoi (argv[a]), seconds);
  else if (tap_percent > 0)
    for (guint r = 0; r < G_N_ELEMENTS (default_tap_rates); r++)
      run (default_tap_rates[r], seconds);
  else
    for (guint r = 0; r < G_N_ELEMENTS (default_rates); r++)
      run (default_rates[r], seconds);

  g_atomic_int_set (&stop_receiver, 1);
  g_thread_join (thread);
  if (copy_thread != NULL)
    g_thread_join (copy_thread);
  for (int i = 0; i < n_calls; i++)
    kc_relay_call_free (calls[i].call);
  if (copy_fd >= 0)
    close (copy_fd);
  if (tap_send_fd >= 0)
    close (tap_send_fd);
  g_free (sinks);
  close (endpoint_fd[0]);
  close (endpoint_fd[1]);
  g_free (calls);
  return 0;
}
