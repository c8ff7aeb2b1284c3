/* kc-srtp.h: SRTP and SRTCP (RFC 3711) for one direction of a call's media.
 *
 * A session wraps one libsrtp context keyed with the master key and salt
 * kc_srtp_key_derive() gives for a direction: the sender's session protects,
 * the receiver's unprotects. Every packet libsrtp refuses (replayed, forged,
 * wrongly keyed, truncated) is counted by reason and never handed back.
 * The first session puts AES-CM and HMAC-SHA1 on OpenSSL in place of
 * libsrtp's own (process-wide, for every libsrtp user: see kc-srtp.c).
 */
#pragma once

#include <glib.h>

#include "kc-keys.h"
#include "kc-secret.h"

G_BEGIN_DECLS

/* Spare bytes a buffer needs after the packet for kc_srtp_protect_rtp() and
 * kc_srtp_protect_rtcp(): libsrtp's SRTP_MAX_TRAILER_LEN (tag and MKI) plus
 * the 4-byte SRTCP index. A packet grows by less than this (by the tag; for
 * RTCP by the tag and the index): kc_srtp_session_get_overhead() says how much. */
#define KC_SRTP_MAX_TRAILER 148

/* Largest packet accepted in either direction (a UDP datagram's limit). */
#define KC_SRTP_MAX_PACKET 65535

typedef struct _KcSrtpSession KcSrtpSession;

typedef enum {
  KC_SRTP_ROLE_SEND,       /* outbound: protect RTP and RTCP */
  KC_SRTP_ROLE_RECEIVE,    /* inbound: unprotect RTP and RTCP */
} KcSrtpRole;

/* Why a packet was refused; an index into KcSrtpStats.rejected. */
typedef enum {
  KC_SRTP_REJECT_REPLAY,     /* seen before, or older than the replay window */
  KC_SRTP_REJECT_AUTH,       /* tag does not verify: wrong key or forged */
  KC_SRTP_REJECT_MALFORMED,  /* truncated, not RTP/RTCP version 2, too large */
  KC_SRTP_REJECT_OTHER,      /* anything else libsrtp or the buffer refused */
  KC_SRTP_REJECT_COUNT,
} KcSrtpReject;

/* Byte counts are of the packets as they are on the wire (SRTP/SRTCP). */
typedef struct {
  guint64 packets_protected;
  guint64 bytes_protected;
  guint64 packets_unprotected;
  guint64 bytes_unprotected;
  guint64 rejected[KC_SRTP_REJECT_COUNT];
} KcSrtpStats;

/* @key_salt: the master key followed by the master salt, as
 * kc_srtp_key_derive (call key, @suite, @direction) returns it; copied.
 * KC_ERROR_INVALID when its length does not fit @suite. @direction only
 * labels the session (logs show it with the key's fingerprint). */
KcSrtpSession *kc_srtp_session_new           (KcSuite          suite,
                                              KcDirection      direction,
                                              KcSrtpRole       role,
                                              const KcSecret  *key_salt,
                                              GError         **error);
/* The same, deriving the key and salt from the call key K. */
KcSrtpSession *kc_srtp_session_new_for_call  (const KcSecret  *call_key,
                                              KcSuite          suite,
                                              KcDirection      direction,
                                              KcSrtpRole       role,
                                              GError         **error);
void           kc_srtp_session_free          (KcSrtpSession   *session);

KcSuite        kc_srtp_session_get_suite     (KcSrtpSession   *session);
KcDirection    kc_srtp_session_get_direction (KcSrtpSession   *session);
KcSrtpRole     kc_srtp_session_get_role      (KcSrtpSession   *session);
/* Bytes protect adds to an RTP (@rtcp FALSE) or RTCP packet in this suite. */
gsize          kc_srtp_session_get_overhead  (KcSrtpSession   *session,
                                              gboolean         rtcp);
/* A snapshot; safe from any thread. */
void           kc_srtp_session_get_stats     (KcSrtpSession   *session,
                                              KcSrtpStats     *stats);
const char    *kc_srtp_reject_to_string      (KcSrtpReject     reason);

/* In place. @buf holds @len bytes of RTP (RTCP) and has room for @buf_size
 * >= @len + KC_SRTP_MAX_TRAILER, 4-byte aligned (libsrtp reads 32-bit
 * words); on success *@out_len is the SRTP (SRTCP) length. Send sessions only. On failure the packet is counted as rejected,
 * @buf may have been changed and must not be sent. A session may be used
 * from several threads; calls are serialized. */
gboolean       kc_srtp_protect_rtp           (KcSrtpSession   *session,
                                              guint8          *buf,
                                              gsize            len,
                                              gsize            buf_size,
                                              gsize           *out_len,
                                              GError         **error);
gboolean       kc_srtp_protect_rtcp          (KcSrtpSession   *session,
                                              guint8          *buf,
                                              gsize            len,
                                              gsize            buf_size,
                                              gsize           *out_len,
                                              GError         **error);
/* In place; *@out_len is the RTP (RTCP) length. Receive sessions only.
 * KC_ERROR_CRYPTO for a replayed or unauthentic packet, KC_ERROR_INVALID
 * for a malformed one, KC_ERROR_TOO_LARGE over KC_SRTP_MAX_PACKET; the
 * message names the reason and libsrtp's status. A refused packet must be
 * dropped (libsrtp may have changed its bytes); it is already counted. */
gboolean       kc_srtp_unprotect_rtp         (KcSrtpSession   *session,
                                              guint8          *buf,
                                              gsize            len,
                                              gsize           *out_len,
                                              GError         **error);
gboolean       kc_srtp_unprotect_rtcp        (KcSrtpSession   *session,
                                              guint8          *buf,
                                              gsize            len,
                                              gsize           *out_len,
                                              GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcSrtpSession, kc_srtp_session_free)

G_END_DECLS
