/* test-relay.c: the media relay, with real UDP on 127.0.0.1.
 *
 * Two fake endpoints (plain UDP sockets) stand for the caller's and the
 * callee's CTA; the relay runs its own thread, so the test just sends and
 * waits for what comes out of the other side.
 */
#include "config.h"

#include "kc-error.h"
#include "kc-relay.h"

#include "kc-test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS   2000    /* for what must arrive */
#define ck_assert_error(err, domain, code)                                  \
  ck_assert_msg ((err) != NULL && g_error_matches ((err), (domain), (code)), \
                 "expected error code %d, got: %s", (code),                 \
                 (err) ? (err)->message : "no error")
#define QUIET_MS  200     /* for what must not */

/* A fake endpoint socket on 127.0.0.1, any port. */
static int
endpoint_new (guint16 *port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  ck_assert_int_ge (fd, 0);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ck_assert_int_eq (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
  ck_assert_int_eq (getsockname (fd, (struct sockaddr *) &sa, &len), 0);
  *port = ntohs (sa.sin_port);
  return fd;
}

/* An RTCP endpoint on @port (the RTP port + 1), or -1 if it is taken. */
static int
endpoint_at (guint16 port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  sa.sin_port = htons (port);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void
send_to (int fd, guint16 port, const guint8 *data, gsize len)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  sa.sin_port = htons (port);
  ck_assert_int_eq (sendto (fd, data, len, 0, (struct sockaddr *) &sa, sizeof sa),
                    (ssize_t) len);
}

/* Length received, or -1 when nothing came within @timeout_ms. */
static ssize_t
recv_within (int fd, guint8 *buf, gsize size, guint16 *from_port, int timeout_ms)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  ssize_t n;

  if (poll (&pfd, 1, timeout_ms) != 1)
    return -1;
  n = recvfrom (fd, buf, size, 0, (struct sockaddr *) &sa, &len);
  if (from_port != NULL)
    *from_port = ntohs (sa.sin_port);
  return n;
}

/* An RTP packet of @len bytes whose payload is @fill. */
static void
make_rtp (guint8 *buf, gsize len, guint16 seq, guint8 fill)
{
  memset (buf, fill, len);
  buf[0] = 0x80;
  buf[1] = 111;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
}

/* Sends an RTP packet from @from to @port and checks it comes out of @to
 * unchanged, from @relay_port (symmetric RTP: the leg's own port). */
static void
assert_forwarded (int from, guint16 port, int to, guint16 relay_port,
                  gsize len, guint8 fill)
{
  guint8 out[1500], in[1500];
  guint16 src = 0;

  make_rtp (out, len, fill, fill);
  send_to (from, port, out, len);
  ck_assert_int_eq (recv_within (to, in, sizeof in, &src, WAIT_MS), (ssize_t) len);
  ck_assert_mem_eq (in, out, len);
  ck_assert_uint_eq (src, relay_port);
}

typedef struct {
  KcRelay     *relay;
  KcRelayCall *call;
  int          a, b;             /* caller's and callee's RTP sockets */
  guint16      a_port, b_port;
  guint16      caller_leg, callee_leg;
} Fixture;

static void
fixture_init (Fixture *f, guint16 port_min, gboolean announce_caller)
{
  g_autoptr(GError) error = NULL;

  f->relay = kc_relay_new ("127.0.0.1", port_min, port_min + 99, &error);
  ck_assert_msg (f->relay != NULL, "%s", error ? error->message : "?");
  f->call = kc_relay_call_new (f->relay, "call-1@test", &error);
  ck_assert_msg (f->call != NULL, "%s", error ? error->message : "?");
  f->caller_leg = kc_relay_call_get_port (f->call, KC_RELAY_LEG_CALLER);
  f->callee_leg = kc_relay_call_get_port (f->call, KC_RELAY_LEG_CALLEE);
  ck_assert_uint_eq (f->caller_leg % 2, 0);
  ck_assert_uint_eq (f->callee_leg % 2, 0);
  ck_assert_uint_ne (f->caller_leg, f->callee_leg);
  f->a = endpoint_new (&f->a_port);
  f->b = endpoint_new (&f->b_port);
  if (announce_caller)
    ck_assert (kc_relay_call_set_remote (f->call, KC_RELAY_LEG_CALLER,
                                         "127.0.0.1", f->a_port, 0, &error));
  ck_assert (kc_relay_call_set_remote (f->call, KC_RELAY_LEG_CALLEE,
                                       "127.0.0.1", f->b_port, 0, &error));
}

static void
fixture_clear (Fixture *f)
{
  kc_relay_call_free (f->call);
  kc_relay_unref (f->relay);
  close (f->a);
  close (f->b);
}

START_TEST (test_forwards_both_ways_unchanged)
{
  Fixture f;

  fixture_init (&f, 46000, TRUE);
  for (int i = 0; i < 5; i++)
    {
      assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 172, 0x10 + i);
      assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 60 + i, 0x20 + i);
    }
  fixture_clear (&f);
}
END_TEST

/* A closed call (keys not yet acknowledged) forwards nothing, counts what
 * it drops, still latches; opened, it forwards both ways. */
START_TEST (test_closed_until_opened)
{
  Fixture f;
  KcRelayCounters c;
  guint8 buf[1500], pkt[100];
  guint16 src = 0;

  fixture_init (&f, 47000, FALSE);
  kc_relay_call_set_forwarding (f.call, FALSE);
  make_rtp (pkt, sizeof pkt, 1, 0x33);
  send_to (f.b, f.callee_leg, pkt, sizeof pkt);
  send_to (f.a, f.caller_leg, pkt, sizeof pkt);
  ck_assert_int_eq (recv_within (f.a, buf, sizeof buf, &src, QUIET_MS), -1);
  ck_assert_int_eq (recv_within (f.b, buf, sizeof buf, &src, QUIET_MS), -1);
  kc_relay_call_get_counters (f.call, KC_RELAY_LEG_CALLEE, &c);
  ck_assert_uint_eq (c.packets_in, 1);
  ck_assert_uint_eq (c.dropped, 1);
  kc_relay_call_get_counters (f.call, KC_RELAY_LEG_CALLER, &c);
  ck_assert_uint_eq (c.dropped, 1);
  ck_assert_uint_eq (c.packets_out, 0);
  ck_assert (kc_relay_call_is_latched (f.call, KC_RELAY_LEG_CALLER));

  kc_relay_call_set_forwarding (f.call, TRUE);
  assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 90, 4);
  assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 90, 5);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_latches_real_source)
{
  Fixture f;
  guint8 buf[1500];
  guint16 announced_port, real_port, src = 0;
  int announced, real;

  fixture_init (&f, 46100, FALSE);
  /* The caller announces one port (its private address, say) but its
   * packets come from another (what its NAT mapped them to). */
  announced = endpoint_new (&announced_port);
  real = endpoint_new (&real_port);
  ck_assert (kc_relay_call_set_remote (f.call, KC_RELAY_LEG_CALLER, "127.0.0.1",
                                       announced_port, 0, NULL));
  ck_assert (!kc_relay_call_is_latched (f.call, KC_RELAY_LEG_CALLER));

  assert_forwarded (real, f.caller_leg, f.b, f.callee_leg, 100, 1);
  ck_assert (kc_relay_call_is_latched (f.call, KC_RELAY_LEG_CALLER));
  assert_forwarded (f.b, f.callee_leg, real, f.caller_leg, 80, 2);
  ck_assert_int_eq (recv_within (announced, buf, sizeof buf, &src, QUIET_MS), -1);

  /* A later SDP address does not undo the latch. */
  ck_assert (kc_relay_call_set_remote (f.call, KC_RELAY_LEG_CALLER, "127.0.0.1",
                                       announced_port, 0, NULL));
  assert_forwarded (f.b, f.callee_leg, real, f.caller_leg, 80, 3);
  ck_assert_int_eq (recv_within (announced, buf, sizeof buf, &src, QUIET_MS), -1);

  close (announced);
  close (real);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_unknown_peer_drops_until_latched)
{
  Fixture f;
  KcRelayCounters c;
  guint8 pkt[100], buf[1500];

  fixture_init (&f, 46200, FALSE);
  /* The caller's address is not known yet: the callee's packet has
   * nowhere to go. */
  make_rtp (pkt, sizeof pkt, 1, 7);
  send_to (f.b, f.callee_leg, pkt, sizeof pkt);
  ck_assert_int_eq (recv_within (f.a, buf, sizeof buf, NULL, QUIET_MS), -1);
  kc_relay_call_get_counters (f.call, KC_RELAY_LEG_CALLEE, &c);
  ck_assert_uint_eq (c.packets_in, 1);
  ck_assert_uint_eq (c.dropped, 1);

  assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 100, 8);
  assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 100, 9);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_rtcp_on_rtcp_pair)
{
  Fixture f;
  guint8 rtcp[28], buf[1500];
  guint16 src = 0;
  int a_rtcp, b_rtcp;

  fixture_init (&f, 46300, TRUE);
  a_rtcp = endpoint_at (f.a_port + 1);
  b_rtcp = endpoint_at (f.b_port + 1);
  if (a_rtcp < 0 || b_rtcp < 0)
    {
      /* The ephemeral port after ours was taken: announce explicit ones. */
      guint16 ap, bp;

      if (a_rtcp >= 0)
        close (a_rtcp);
      if (b_rtcp >= 0)
        close (b_rtcp);
      a_rtcp = endpoint_new (&ap);
      b_rtcp = endpoint_new (&bp);
      ck_assert (kc_relay_call_set_remote (f.call, KC_RELAY_LEG_CALLER, "127.0.0.1",
                                           f.a_port, ap, NULL));
      ck_assert (kc_relay_call_set_remote (f.call, KC_RELAY_LEG_CALLEE, "127.0.0.1",
                                           f.b_port, bp, NULL));
    }

  memset (rtcp, 0x5a, sizeof rtcp);
  rtcp[0] = 0x80;
  rtcp[1] = 200;      /* sender report */
  send_to (a_rtcp, f.caller_leg + 1, rtcp, sizeof rtcp);
  ck_assert_int_eq (recv_within (b_rtcp, buf, sizeof buf, &src, WAIT_MS),
                    (ssize_t) sizeof rtcp);
  ck_assert_mem_eq (buf, rtcp, sizeof rtcp);
  ck_assert_uint_eq (src, f.callee_leg + 1);
  ck_assert_int_eq (recv_within (f.b, buf, sizeof buf, NULL, QUIET_MS), -1);

  rtcp[1] = 201;      /* receiver report */
  send_to (b_rtcp, f.callee_leg + 1, rtcp, sizeof rtcp);
  ck_assert_int_eq (recv_within (a_rtcp, buf, sizeof buf, &src, WAIT_MS),
                    (ssize_t) sizeof rtcp);
  ck_assert_mem_eq (buf, rtcp, sizeof rtcp);
  ck_assert_uint_eq (src, f.caller_leg + 1);
  ck_assert_int_eq (recv_within (f.a, buf, sizeof buf, NULL, QUIET_MS), -1);

  close (a_rtcp);
  close (b_rtcp);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_counters)
{
  Fixture f;
  KcRelayCounters caller, callee, total;
  const guint8 junk[] = { 0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42,
                          1, 2, 3, 4, 5, 6, 7, 8 };       /* STUN, not RTP */
  const guint8 tiny[] = { 0x80, 0x00, 0x00 };            /* too short */
  gint64 before = g_get_monotonic_time ();

  fixture_init (&f, 46400, TRUE);
  send_to (f.a, f.caller_leg, junk, sizeof junk);
  send_to (f.a, f.caller_leg, tiny, sizeof tiny);
  for (int i = 0; i < 10; i++)
    assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 100, i);
  for (int i = 0; i < 4; i++)
    assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 60, i);

  kc_relay_call_get_counters (f.call, KC_RELAY_LEG_CALLER, &caller);
  kc_relay_call_get_counters (f.call, KC_RELAY_LEG_CALLEE, &callee);
  kc_relay_call_get_totals (f.call, &total);
  ck_assert_uint_eq (caller.packets_in, 12);
  ck_assert_uint_eq (caller.bytes_in, 1000 + sizeof junk + sizeof tiny);
  ck_assert_uint_eq (caller.dropped, 2);
  ck_assert_uint_eq (caller.packets_out, 4);
  ck_assert_uint_eq (caller.bytes_out, 240);
  ck_assert_uint_eq (callee.packets_in, 4);
  ck_assert_uint_eq (callee.bytes_in, 240);
  ck_assert_uint_eq (callee.dropped, 0);
  ck_assert_uint_eq (callee.packets_out, 10);
  ck_assert_uint_eq (callee.bytes_out, 1000);
  ck_assert_int_ge (caller.last_seen_us, before);
  ck_assert_int_ge (callee.last_seen_us, caller.last_seen_us);
  ck_assert_int_le (callee.last_seen_us, g_get_monotonic_time ());
  ck_assert_uint_eq (total.packets_in, 16);
  ck_assert_uint_eq (total.packets_out, 14);
  ck_assert_uint_eq (total.bytes_out, 1240);
  ck_assert_uint_eq (total.dropped, 2);
  ck_assert_int_eq (total.last_seen_us, callee.last_seen_us);
  fixture_clear (&f);
}
END_TEST

typedef struct {
  GMutex     lock;
  GPtrArray *seen;      /* of Copied */
  int        destroyed;
} Tap;

typedef struct {
  char             *call_id;
  KcRelayDirection  direction;
  gboolean          rtcp;
  GBytes           *data;
} Copied;

static void
copied_free (gpointer p)
{
  Copied *c = p;

  g_free (c->call_id);
  g_bytes_unref (c->data);
  g_free (c);
}

static void
on_copy (const char *call_id, KcRelayDirection direction, gboolean rtcp,
         const guint8 *data, gsize len, gpointer user_data)
{
  Tap *tap = user_data;
  Copied *c = g_new0 (Copied, 1);

  c->call_id = g_strdup (call_id);
  c->direction = direction;
  c->rtcp = rtcp;
  c->data = g_bytes_new (data, len);
  g_mutex_lock (&tap->lock);
  g_ptr_array_add (tap->seen, c);
  g_mutex_unlock (&tap->lock);
}

static void
on_tap_destroy (gpointer user_data)
{
  ((Tap *) user_data)->destroyed++;
}

static guint
tap_count (Tap *tap)
{
  guint n;

  g_mutex_lock (&tap->lock);
  n = tap->seen->len;
  g_mutex_unlock (&tap->lock);
  return n;
}

static void
assert_copied (Tap *tap, guint i, KcRelayDirection direction, gsize len, guint8 fill)
{
  Copied *c;
  const guint8 *data;
  gsize size;

  g_mutex_lock (&tap->lock);
  ck_assert_uint_gt (tap->seen->len, i);
  c = g_ptr_array_index (tap->seen, i);
  g_mutex_unlock (&tap->lock);
  ck_assert_str_eq (c->call_id, "call-1@test");
  ck_assert_int_eq (c->direction, direction);
  ck_assert (!c->rtcp);
  data = g_bytes_get_data (c->data, &size);
  ck_assert_uint_eq (size, len);
  ck_assert_uint_eq (data[len - 1], fill);
}

START_TEST (test_copy_hook_sees_both_directions)
{
  Fixture f;
  Tap tap = { .seen = g_ptr_array_new_with_free_func (copied_free) };
  const guint8 junk[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                          0x09, 0x0a, 0x0b, 0x0c };

  g_mutex_init (&tap.lock);
  fixture_init (&f, 46500, TRUE);
  kc_relay_call_set_copy_func (f.call, on_copy, &tap, on_tap_destroy);
  send_to (f.a, f.caller_leg, junk, sizeof junk);   /* dropped: not copied */
  assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 172, 0xa1);
  assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 90, 0xb2);
  assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 50, 0xa3);

  ck_assert_uint_eq (tap_count (&tap), 3);
  assert_copied (&tap, 0, KC_RELAY_CALLER_TO_CALLEE, 172, 0xa1);
  assert_copied (&tap, 1, KC_RELAY_CALLEE_TO_CALLER, 90, 0xb2);
  assert_copied (&tap, 2, KC_RELAY_CALLER_TO_CALLEE, 50, 0xa3);

  /* Removing the hook releases the tap and copies stop. */
  kc_relay_call_set_copy_func (f.call, NULL, NULL, NULL);
  ck_assert_int_eq (tap.destroyed, 1);
  assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 90, 0xb4);
  ck_assert_uint_eq (tap_count (&tap), 3);

  /* Freeing the call releases a hook still in place. */
  kc_relay_call_set_copy_func (f.call, on_copy, &tap, on_tap_destroy);
  fixture_clear (&f);
  ck_assert_int_eq (tap.destroyed, 2);
  g_ptr_array_unref (tap.seen);
  g_mutex_clear (&tap.lock);
}
END_TEST

START_TEST (test_exhaustion_and_reuse)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcRelay) relay = NULL;
  KcRelayCall *one, *two, *three, *again;
  guint16 one_caller, one_callee;

  /* Starts odd: the relay rounds up, leaving 46602-46609 = two calls. */
  relay = kc_relay_new ("127.0.0.1", 46601, 46609, &error);
  ck_assert_msg (relay != NULL, "%s", error ? error->message : "?");
  one = kc_relay_call_new (relay, "one", &error);
  ck_assert_msg (one != NULL, "%s", error ? error->message : "?");
  two = kc_relay_call_new (relay, "two", &error);
  ck_assert_msg (two != NULL, "%s", error ? error->message : "?");
  ck_assert_uint_eq (kc_relay_count_calls (relay), 2);
  one_caller = kc_relay_call_get_port (one, KC_RELAY_LEG_CALLER);
  one_callee = kc_relay_call_get_port (one, KC_RELAY_LEG_CALLEE);
  ck_assert_uint_ge (one_caller, 46602);
  ck_assert_uint_le (one_caller, 46608);

  three = kc_relay_call_new (relay, "three", &error);
  ck_assert_ptr_null (three);
  ck_assert_error (error, KC_ERROR, KC_ERROR_IO);
  ck_assert_msg (strstr (error->message, "46601-46609") != NULL
                 && strstr (error->message, "three") != NULL
                 && strstr (error->message, "widen") != NULL,
                 "unhelpful message: %s", error->message);
  g_clear_error (&error);
  ck_assert_uint_eq (kc_relay_count_calls (relay), 2);

  kc_relay_call_free (one);
  again = kc_relay_call_new (relay, "again", &error);
  ck_assert_msg (again != NULL, "ports not reused: %s", error ? error->message : "?");
  ck_assert_uint_eq (MIN (kc_relay_call_get_port (again, KC_RELAY_LEG_CALLER),
                          kc_relay_call_get_port (again, KC_RELAY_LEG_CALLEE)),
                     MIN (one_caller, one_callee));
  ck_assert_uint_eq (MAX (kc_relay_call_get_port (again, KC_RELAY_LEG_CALLER),
                          kc_relay_call_get_port (again, KC_RELAY_LEG_CALLEE)),
                     MAX (one_caller, one_callee));
  kc_relay_call_free (again);
  kc_relay_call_free (two);
  ck_assert_uint_eq (kc_relay_count_calls (relay), 0);
}
END_TEST

static int
count_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  int n = 0;

  ck_assert_ptr_nonnull (dir);
  while ((entry = readdir (dir)) != NULL)
    if (entry->d_name[0] != '.')
      n++;
  closedir (dir);
  return n;
}

START_TEST (test_no_fd_leak)
{
  Fixture f;
  int before;

  fixture_init (&f, 46700, TRUE);
  /* Traffic first, so the leak check covers calls that carried media. */
  assert_forwarded (f.a, f.caller_leg, f.b, f.callee_leg, 100, 1);
  before = count_fds ();
  for (int cycle = 0; cycle < 200; cycle++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *id = g_strdup_printf ("cycle-%d", cycle);
      KcRelayCall *call = kc_relay_call_new (f.relay, id, &error);

      ck_assert_msg (call != NULL, "cycle %d: %s", cycle, error ? error->message : "?");
      ck_assert_int_eq (count_fds (), before + 4);
      kc_relay_call_free (call);
    }
  ck_assert_int_eq (count_fds (), before);
  ck_assert_uint_eq (kc_relay_count_calls (f.relay), 1);
  /* The call that stayed still forwards. */
  assert_forwarded (f.b, f.callee_leg, f.a, f.caller_leg, 100, 2);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_relay_outlives_owner)
{
  g_autoptr(GError) error = NULL;
  KcRelay *relay = kc_relay_new ("127.0.0.1", 46800, 46899, &error);
  KcRelayCall *call;
  int before;

  ck_assert_msg (relay != NULL, "%s", error ? error->message : "?");
  before = count_fds ();
  call = kc_relay_call_new (relay, "late", &error);
  ck_assert_ptr_nonnull (call);
  kc_relay_unref (relay);     /* the call keeps it */
  ck_assert_uint_eq (kc_relay_count_calls (relay), 1);
  kc_relay_call_free (call);  /* drops the relay: thread, epoll and eventfd */
  ck_assert_int_eq (count_fds (), before - 2);
}
END_TEST

START_TEST (test_bad_input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcRelay) relay = NULL;
  g_autoptr(KcRelayCall) call = NULL;

  ck_assert_ptr_null (kc_relay_new ("relay.example", 40000, 40999, &error));
  ck_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  ck_assert_ptr_nonnull (strstr (error->message, "relay.example"));
  g_clear_error (&error);

  ck_assert_ptr_null (kc_relay_new ("127.0.0.1", 40001, 40003, &error));
  ck_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  ck_assert_ptr_nonnull (strstr (error->message, "40001-40003"));
  g_clear_error (&error);
  ck_assert_ptr_null (kc_relay_new ("127.0.0.1", 40999, 40000, &error));
  ck_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  g_clear_error (&error);

  relay = kc_relay_new ("127.0.0.1", 46900, 46999, &error);
  ck_assert_ptr_nonnull (relay);
  ck_assert_str_eq (kc_relay_get_address (relay), "127.0.0.1");
  call = kc_relay_call_new (relay, "bad", &error);
  ck_assert_ptr_nonnull (call);
  ck_assert (!kc_relay_call_set_remote (call, KC_RELAY_LEG_CALLER, "::1", 5000, 0, &error));
  ck_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  ck_assert_ptr_nonnull (strstr (error->message, "IPv4"));
  g_clear_error (&error);
  ck_assert (!kc_relay_call_set_remote (call, KC_RELAY_LEG_CALLEE, "cta.example",
                                        5000, 0, &error));
  ck_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
  g_clear_error (&error);
  ck_assert (!kc_relay_call_set_remote (call, KC_RELAY_LEG_CALLEE, "127.0.0.1",
                                        0, 0, &error));
  ck_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("relay");
  TCase *tc = tcase_create ("relay");

  tcase_add_test (tc, test_forwards_both_ways_unchanged);
  tcase_add_test (tc, test_latches_real_source);
  tcase_add_test (tc, test_closed_until_opened);
  tcase_add_test (tc, test_unknown_peer_drops_until_latched);
  tcase_add_test (tc, test_rtcp_on_rtcp_pair);
  tcase_add_test (tc, test_counters);
  tcase_add_test (tc, test_copy_hook_sees_both_directions);
  tcase_add_test (tc, test_exhaustion_and_reuse);
  tcase_add_test (tc, test_no_fd_leak);
  tcase_add_test (tc, test_relay_outlives_owner);
  tcase_add_test (tc, test_bad_input);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (make_suite)
