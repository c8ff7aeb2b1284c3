/* kc-controller-call-dialog.h: re-INVITEs inside an answered call (hold and
 * resume, docs/protocol.md): forwarded from one leg of the call to the
 * other with their SDP pointed at the relay, the key never renewed.
 */
#pragma once

#include "kc-controller-call-private.h"

G_BEGIN_DECLS

/* Takes @irq, an in-dialog request other than ACK and BYE that came on the
 * upstream leg (@upstream) or the downstream one from that leg's own
 * party (the caller checks who sent it, as for a BYE, and emits its
 * sip-rx): a re-INVITE is forwarded to the other leg and its final
 * response brought back (491 on glare, 500 with Retry-After while the
 * call is still being set up, 488 when it carries a key or no offer);
 * any other method gets 501. Replies, emits the responses and destroys
 * @irq when done; returns what an nta leg callback returns (0). */
int      kc_call_dialog_request       (KcCall         *call,
                                       gboolean        upstream,
                                       nta_incoming_t *irq,
                                       sip_t const    *sip);

G_END_DECLS
