/* kc-relay.h: the controller's media relay (media anchoring).
 *
 * Each call gets two legs (caller side, callee side), each an RTP+RTCP UDP
 * port pair; packets that arrive on one leg go out of the other, opaque
 * (SRTP is never decrypted), to the address each leg latched from its first
 * packet (symmetric RTP, so a CTA behind NAT works) or, until then, to the
 * address from SDP. A per-call copy hook is where lawful intercept plugs in.
 *
 * Threading: forwarding runs on one thread per KcRelay ("kc-relay": epoll,
 * recvmmsg/sendmmsg), not on the GLib main loop, so that 1,000 calls (4,000
 * sockets) do not make every main-loop iteration poll 4,000 fds and SIP never
 * waits behind media. Every other function is called from the controller's
 * main loop (any one thread); they are safe against the relay thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KC_RELAY_DEFAULT_PORT_MIN 40000
#define KC_RELAY_DEFAULT_PORT_MAX 40999

typedef struct _KcRelay     KcRelay;
typedef struct _KcRelayCall KcRelayCall;

typedef enum {
  KC_RELAY_LEG_CALLER,      /* faces the caller: the caller sends here */
  KC_RELAY_LEG_CALLEE,      /* faces the callee */
} KcRelayLeg;

typedef enum {
  KC_RELAY_CALLER_TO_CALLEE,
  KC_RELAY_CALLEE_TO_CALLER,
} KcRelayDirection;

/* Of one leg (RTP and RTCP together); times are g_get_monotonic_time(). */
typedef struct {
  guint64 packets_in;       /* received on this leg from its endpoint */
  guint64 bytes_in;
  guint64 packets_out;      /* sent out of this leg to its endpoint */
  guint64 bytes_out;
  guint64 dropped;          /* received here and not forwarded: not RTP/RTCP,
                             * the other leg has no address yet, or the call
                             * is not forwarding yet (keys not acknowledged) */
  gint64  last_seen_us;     /* last packet received; 0 when none yet */
} KcRelayCounters;

/* Called on the relay thread, with the relay locked, for every forwarded
 * packet, before it is sent: copy @data (it is not yours) and return
 * quickly; never call kc_relay_* from here. */
typedef void (*KcRelayCopyFunc) (const char      *call_id,
                                 KcRelayDirection direction,
                                 gboolean         rtcp,
                                 const guint8    *data,
                                 gsize            len,
                                 gpointer         user_data);

/* Relays on @bind_address (an IPv4 or IPv6 literal), using the ports
 * @port_min..@port_max (a call takes two even/odd pairs), and starts the
 * relay thread. KC_ERROR_INVALID for a bad address or range. */
KcRelay          *kc_relay_new                (const char       *bind_address,
                                               guint16           port_min,
                                               guint16           port_max,
                                               GError          **error);
KcRelay          *kc_relay_ref                (KcRelay          *self);
/* Every call holds a reference: the thread stops once the last call and the
 * owner's reference are gone. */
void              kc_relay_unref              (KcRelay          *self);
const char       *kc_relay_get_address        (KcRelay          *self);
guint             kc_relay_count_calls        (KcRelay          *self);

/* Binds both legs' port pairs. KC_ERROR_IO when the range has no two free
 * pairs left (the message says how to widen it). */
KcRelayCall      *kc_relay_call_new           (KcRelay          *relay,
                                               const char       *call_id,
                                               GError          **error);
/* Closes the sockets and frees the ports at once, whatever state the call
 * is in; no copy hook runs for this call after it returns. */
void              kc_relay_call_free          (KcRelayCall      *call);
const char       *kc_relay_call_get_id        (KcRelayCall      *call);
/* The RTP port of @leg, for the SDP sent to that leg's endpoint; RTCP is
 * the next port. */
guint16           kc_relay_call_get_port      (KcRelayCall      *call,
                                               KcRelayLeg        leg);
/* Where @leg's endpoint said (in SDP) it receives; used until a packet from
 * it is latched. @rtcp_port 0 means @rtp_port + 1. KC_ERROR_INVALID for an
 * address that is not a literal of the relay's family. */
gboolean          kc_relay_call_set_remote    (KcRelayCall      *call,
                                               KcRelayLeg        leg,
                                               const char       *address,
                                               guint16           rtp_port,
                                               guint16           rtcp_port,
                                               GError          **error);
/* Whether packets are forwarded at all (TRUE for a new call). The
 * controller keeps a call closed until both ends acknowledged its key, so no
 * media flows before FIG. 3's 322 and 328; packets meanwhile still latch
 * their leg and count as dropped. */
void              kc_relay_call_set_forwarding (KcRelayCall     *call,
                                                gboolean         forwarding);
/* TRUE once @leg learnt its endpoint's RTP source address. */
gboolean          kc_relay_call_is_latched    (KcRelayCall      *call,
                                               KcRelayLeg        leg);
/* Replaces the hook (NULL to remove); @destroy runs on @user_data when it
 * is replaced or the call is freed. */
void              kc_relay_call_set_copy_func (KcRelayCall      *call,
                                               KcRelayCopyFunc   func,
                                               gpointer          user_data,
                                               GDestroyNotify    destroy);
void              kc_relay_call_get_counters  (KcRelayCall      *call,
                                               KcRelayLeg        leg,
                                               KcRelayCounters  *out);
/* Both legs summed; last_seen_us is the later of the two. */
void              kc_relay_call_get_totals    (KcRelayCall      *call,
                                               KcRelayCounters  *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcRelay, kc_relay_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcRelayCall, kc_relay_call_free)

G_END_DECLS
