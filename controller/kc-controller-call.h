/* kc-controller-call.h: the B2BUA call state machine (FIG. 3, 316-330).
 *
 * Each INVITE becomes a call with an upstream side (the caller's CTA, or
 * the source controller) and a downstream side (the callee's CTA, or the
 * destination controller). The source controller creates, seals and stores
 * the key before the call goes on; every controller on the path checks the
 * acknowledgments; the call is only announced to the caller as ringing once
 * both ends hold the key. Every call ends with a CDR.
 */
#pragma once

#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>

#include "kc-controller.h"
#include "kc-sip-util.h"

G_BEGIN_DECLS

/* A new INVITE outside any dialog from an authenticated @from (a CTA or a
 * known peer controller); it is always answered. TRUE when a call took
 * @irq (it destroys it when it ends); FALSE when it was refused, and the
 * caller destroys it (sofia-sip keeps every server transaction the
 * application does not destroy until the agent goes). */
gboolean kc_call_incoming        (KcController          *ctrl,
                                  nta_incoming_t        *irq,
                                  sip_t const           *sip,
                                  const KcPeerIdentity  *from);
/* A MESSAGE outside any dialog: a key arrow in delivery mode "separate".
 * It is always answered before this returns; the caller destroys @irq. */
void   kc_call_incoming_message  (KcController          *ctrl,
                                  nta_incoming_t        *irq,
                                  sip_t const           *sip,
                                  const KcPeerIdentity  *from);
/* Shutdown: every call fails ("controller shutting down"); with @release
 * each also lets go of its sofia objects now, before the agent goes. */
void   kc_call_end_all           (KcController          *ctrl,
                                  gboolean               release);

G_END_DECLS
