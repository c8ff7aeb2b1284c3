/* kc-li.h: the controller's lawful-intercept port (claim 5; FIG. 5, 510-516).
 *
 * A TLS server for law-enforcement agencies only (X1 tap requests, X2 key,
 * call and end deliveries as JSON lines), and the X3 content copies the
 * relay makes of tapped calls. docs/lawful-intercept.md is the contract.
 */
#pragma once

#include <glib.h>

#include "kc-controller-call-private.h"

G_BEGIN_DECLS

/* How many deliveries wait, per agency, while it is not connected; the
 * oldest go first beyond that (its keys stay in the store: a past request
 * recovers them). */
#define KC_LI_PENDING_MAX 4096

/* Listens on [lawful-intercept] listen of @ctrl's configuration and takes
 * the taps still active in the store back. KC_ERROR_IO when the port cannot
 * be opened or the TLS certificate not read. */
KcLi        *kc_li_new            (KcController  *ctrl,
                                   GError       **error);
/* Closes every connection; taps stay in the store. */
void         kc_li_free           (KcLi          *self);
guint16      kc_li_get_port       (KcLi          *self);

/* The call code's hooks; each does nothing when @self is NULL. */
/* @call's key is durable in this controller's store (408). */
void         kc_li_call_keyed     (KcLi          *self,
                                   KcCall        *call);
/* @call's media is now anchored (call->relay_call exists): copying starts
 * for the taps that already cover it (a destination controller in delivery
 * mode "separate" gets the key before the INVITE and its offer). */
void         kc_li_call_anchored  (KcLi          *self,
                                   KcCall        *call);
/* @call was answered; call->answer is the SDP passed to the caller. */
void         kc_li_call_answered  (KcLi          *self,
                                   KcCall        *call);
/* @call ended with @outcome; call it while call->relay_call still exists. */
void         kc_li_call_ended     (KcLi          *self,
                                   KcCall        *call,
                                   const char    *outcome);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcLi, kc_li_free)

G_END_DECLS
