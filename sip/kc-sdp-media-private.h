/* kc-sdp-media-private.h: what the SDP audio parser and rewriter
 * (kc-sdp-media.c) share with the codec and suite negotiation
 * (kc-sdp-media-negotiate.c).
 */
#pragma once

#include "kc-sdp-media.h"

G_BEGIN_DECLS

/* Untrusted text for an error message: escaped and cut short. */
char *kc_sdp_media_shown (const char *text,
                          gssize      len);

G_END_DECLS
