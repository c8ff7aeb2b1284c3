/* kc-controller-peer.c: the controller's peer controllers (FIG. 3, 310):
 * an OPTIONS keep-alive over TLS to each, whose answer (and certificate)
 * says whether it is up, with a backoff while it is down.
 */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-controller-private.h"

#include "kc-sip-util.h"

#include <sofia-sip/nta_tport.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>

typedef enum {
  PEER_UNKNOWN,
  PEER_UP,
  PEER_DOWN,
} PeerState;

struct _KcPeer {
  KcController   *ctrl;
  KcPeerConfig   *config;
  char           *lane;
  nta_leg_t      *leg;
  nta_outgoing_t *orq;          /* the OPTIONS in flight */
  PeerState       state;
  char           *why;          /* why it is down, for logs */
  guint           backoff;      /* keep-alive rounds skipped between tries while down */
  guint           skipped;
};

/* A peer that stays down is tried less and less often: 1, 2, 4, 8 rounds
 * apart, at most a minute. Each failed TLS connection costs sofia-sip
 * 1.12.11 an SSL object it never frees (~50 KB), so trying every round
 * would grow the controller without end; a request from the peer itself
 * says it is back and brings the next try forward. */
#define PEER_BACKOFF_MAX_ROUNDS 7
#define PEER_BACKOFF_MAX_S      60.0

void
kc_controller_peer_free (KcPeer *peer)
{
  if (peer->orq != NULL)
    nta_outgoing_destroy (peer->orq);
  if (peer->leg != NULL)
    nta_leg_destroy (peer->leg);
  g_free (peer->lane);
  g_free (peer->why);
  g_free (peer);
}

static KcPeer *
find_peer (KcController *self, const char *name)
{
  for (guint i = 0; name != NULL && i < self->peers->len; i++) {
    KcPeer *peer = self->peers->pdata[i];

    if (g_str_equal (peer->config->name, name))
      return peer;
  }
  return NULL;
}

gboolean
kc_controller_peer_is_down (KcController *self, const char *name)
{
  KcPeer *peer = find_peer (self, name);

  return peer == NULL || peer->state == PEER_DOWN;
}

static void
peer_set_state (KcPeer *peer, PeerState state, const char *why)
{
  KcController *self = peer->ctrl;
  KcEvent *event;

  g_free (peer->why);
  peer->why = g_strdup (why);
  if (state == PEER_UP) {
    peer->backoff = 0;
  } else {
    guint cap = (guint) MAX (0.0, PEER_BACKOFF_MAX_S / self->config->keepalive - 1);

    peer->backoff = MIN (peer->backoff * 2 + 1, MIN (cap, PEER_BACKOFF_MAX_ROUNDS));
  }
  peer->skipped = 0;
  if (peer->state == state)
    return;
  peer->state = state;
  event = kc_controller_event (self, state == PEER_UP ? KC_EVENT_KIND_TLS_UP
                                                      : KC_EVENT_KIND_TLS_DOWN,
                               310, NULL, peer->lane);
  if (state == PEER_UP) {
    kc_event_set_summary_printf (event, "peer %s up (%s)", peer->config->name,
                                 peer->config->address);
    g_message ("Peer controller %s is up at %s", peer->config->name, peer->config->address);
  }
  else {
    kc_event_set_summary_printf (event, "peer %s down: %s", peer->config->name, why);
    g_message ("Peer controller %s is unreachable: %s", peer->config->name, why);
  }
  kc_controller_emit (self, event);
}

static int
on_options_response (nta_outgoing_magic_t *magic, nta_outgoing_t *orq, sip_t const *sip)
{
  KcPeer *peer = (KcPeer *) magic;
  KcController *self = peer->ctrl;
  int status = sip ? sip->sip_status->st_status : 408;

  if (status < 200)
    return 0;
  if (status >= 300) {
    g_autofree char *why = g_strdup_printf ("OPTIONS answered %d %s", status,
                                            sip && sip->sip_status->st_phrase
                                            ? sip->sip_status->st_phrase : "");

    peer_set_state (peer, PEER_DOWN, why);
  }
  else {
    g_auto(KcPeerIdentity) id = { KC_ROLE_INVALID, NULL, NULL };
    g_autoptr(GError) error = NULL;
    msg_t *msg = nta_outgoing_getresponse (orq);
    tport_t *tp = nta_outgoing_transport (orq);

    if (!kc_sip_identify (self->agent, tp, msg, &id, &error)
        || !kc_controller_check_crl (self, id.serial, &error))
      peer_set_state (peer, PEER_DOWN, error->message);
    else if (id.role != KC_ROLE_CONTROLLER || g_strcmp0 (id.identity, peer->config->name) != 0) {
      g_autofree char *why = g_strdup_printf ("answered by %s:%s, not controller:%s",
                                              kc_role_to_string (id.role), id.identity,
                                              peer->config->name);

      peer_set_state (peer, PEER_DOWN, why);
    }
    else
      peer_set_state (peer, PEER_UP, "OPTIONS 200");
    tport_unref (tp);
    msg_destroy (msg);
  }
  nta_outgoing_destroy (orq);
  if (peer->orq == orq)
    peer->orq = NULL;
  return 0;
}

static void
peer_ping (KcPeer *peer)
{
  KcController *self = peer->ctrl;

  if (peer->orq != NULL) {
    /* No answer within one interval: down, and try again. */
    nta_outgoing_destroy (peer->orq);
    peer->orq = NULL;
    peer_set_state (peer, PEER_DOWN, "OPTIONS unanswered");
  }
  peer->orq = nta_outgoing_tcreate (peer->leg, on_options_response, (nta_outgoing_magic_t *) peer,
                                    NULL, SIP_METHOD_OPTIONS,
                                    URL_STRING_MAKE (peer->config->address),
                                    SIPTAG_CONTACT_STR (self->contact),
                                    SIPTAG_ACCEPT_STR ("application/sdp"),
                                    TAG_END ());
  if (peer->orq == NULL)
    peer_set_state (peer, PEER_DOWN, "cannot send OPTIONS");
}

static gboolean
on_keepalive (gpointer data)
{
  KcController *self = data;

  for (guint i = 0; i < self->peers->len; i++) {
    KcPeer *peer = self->peers->pdata[i];

    if (peer->skipped < peer->backoff) {
      peer->skipped++;
      continue;
    }
    peer_ping (peer);
  }
  return G_SOURCE_CONTINUE;
}

/* A request from a peer we count as down: it is back, try it now. */
void
kc_controller_peer_heard_from (KcController *self, const char *name)
{
  KcPeer *peer = find_peer (self, name);

  if (peer != NULL && peer->state == PEER_DOWN && peer->orq == NULL) {
    peer->backoff = peer->skipped = 0;
    peer_ping (peer);
  }
}

void
kc_controller_start_peers (KcController *self)
{
  for (guint i = 0; i < self->config->peers->len; i++) {
    KcPeerConfig *config = self->config->peers->pdata[i];
    KcPeer *peer = g_new0 (KcPeer, 1);
    g_autofree char *from = g_strdup_printf ("<sips:%s@%s>", self->config->name,
                                             self->config->domain);
    g_autofree char *to = g_strdup_printf ("<sips:%s@%s>", config->name, self->config->domain);

    peer->ctrl = self;
    peer->config = config;
    peer->lane = kc_peer_lane (KC_ROLE_CONTROLLER, config->name);
    peer->leg = nta_leg_tcreate (self->agent, NULL, NULL, SIPTAG_FROM_STR (from),
                                 SIPTAG_TO_STR (to), TAG_END ());
    nta_leg_tag (peer->leg, NULL);
    g_ptr_array_add (self->peers, peer);
  }
  if (self->peers->len > 0) {
    on_keepalive (self);
    self->keepalive_id = g_timeout_add ((guint) (self->config->keepalive * 1000), on_keepalive,
                                        self);
  }
}
