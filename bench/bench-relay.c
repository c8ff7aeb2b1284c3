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
 *   bench-relay [CALLS [SECONDS [RATE...]]]
 */
#define G_LOG_DOMAIN "bench-relay"

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

typedef struct {
  KcRelayCall *call;
  guint16      leg_port[2];  /* where the caller and the callee send */
} Call;

static Call *calls;
static int endpoint_fd[2];   /* all callers', all callees' */
static int n_calls = 1000;
static volatile gint received;
static volatile gint stop_receiver;

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
  /* Let the queues drain: until nothing new arrives for 200 ms. */
  for (int waited = 0; waited < 50; waited++)
    {
      got = g_atomic_int_get (&received);
      if (got == last || (guint64) got >= sent)
        break;
      last = got;
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
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcRelay) relay = NULL;
  static const int default_rates[] = { 25000, 50000, 100000, 150000, 200000, 0 };
  double seconds = 3.0;
  struct rlimit rl;
  guint16 port[2];
  GThread *thread;

  if (argc > 1)
    n_calls = atoi (argv[1]);
  if (argc > 2)
    seconds = g_ascii_strtod (argv[2], NULL);
  if (n_calls <= 0 || n_calls * 4 > PORT_MAX - PORT_MIN + 1 || seconds <= 0)
    {
      fprintf (stderr, "usage: bench-relay [CALLS (1-%d) [SECONDS [RATE...]]]\n",
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
  thread = g_thread_new ("receiver", receiver, NULL);

  printf ("bench-relay: %d calls, %.1f s per rate, %d-byte packets, "
          "%u CPUs; pkt/s per core = received / relay thread CPU s\n",
          n_calls, seconds, PACKET_LEN, g_get_num_processors ());
  printf ("%9s %10s %10s %10s %9s %9s %9s %8s %12s\n", "rate", "offered/s", "sent",
          "received", "loss", "dropped", "rcvbufErr", "relayCPU", "pkt/s/core");
  if (argc > 3)
    for (int a = 3; a < argc; a++)
      run (atoi (argv[a]), seconds);
  else
    for (guint r = 0; r < G_N_ELEMENTS (default_rates); r++)
      run (default_rates[r], seconds);

  g_atomic_int_set (&stop_receiver, 1);
  g_thread_join (thread);
  for (int i = 0; i < n_calls; i++)
    kc_relay_call_free (calls[i].call);
  close (endpoint_fd[0]);
  close (endpoint_fd[1]);
  g_free (calls);
  return 0;
}
