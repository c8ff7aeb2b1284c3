/* kc-sdp-media.h: the audio part of an SDP offer or answer, read with
 * sofia-sip's SDP parser, and the SDP a Keycall softphone sends.
 *
 * The softphone uses it to offer its codecs and SRTP suites and to pick
 * them from an offer (RFC 3264); the controller's relay uses it to learn
 * where each side receives and to point both at the relay (media
 * anchoring). Key-management lines are not this module's business
 * (kc-sdp-key.h): every other line is kept byte for byte on a rewrite.
 */
#pragma once

#include <gio/gio.h>

#include "kc-keys.h"

G_BEGIN_DECLS

/* The media attribute with which a Keycall softphone lists the SRTP suites
 * it accepts, best first (offer) or the one chosen (answer):
 * "a=keycall-srtp:AES_CM_128_HMAC_SHA1_80 AEAD_AES_128_GCM". Absent, the
 * suite is KC_SUITE_DEFAULT. The key itself is never in it: the call key
 * comes from the controller and each direction's SRTP key is derived. */
#define KC_SDP_SRTP_ATTRIBUTE "keycall-srtp"

typedef enum {
  KC_SDP_SENDRECV,
  KC_SDP_SENDONLY,
  KC_SDP_RECVONLY,
  KC_SDP_INACTIVE,
} KcSdpDirection;

/* One payload format of the m= line, with its rtpmap (or, for a static
 * type without one, RFC 3551's: 0 is PCMU/8000, 8 PCMA/8000). */
typedef struct {
  guint  pt;               /* 0-127 */
  char  *encoding;         /* "opus", "PCMU", "PCMA", "telephone-event" */
  guint  clock_rate;
  guint  channels;         /* 1 when absent */
} KcSdpFormat;

/* Formats whose rtpmap is missing (dynamic types) are left out. */
typedef struct {
  char           *address;     /* c= at media level, else session level */
  GSocketFamily   family;      /* G_SOCKET_FAMILY_IPV4 or _IPV6 */
  guint16         port;        /* 0: the stream is refused */
  guint16         rtcp_port;   /* a=rtcp (RFC 3605), else port + 1; 0 when port is */
  gboolean        rtcp_mux;    /* a=rtcp-mux */
  KcSdpDirection  direction;   /* media level, else session level, else sendrecv */
  guint           ptime;       /* a=ptime, 0 when absent */
  GArray         *formats;     /* KcSdpFormat, in m= line order */
  GArray         *suites;      /* KcSuite from a=keycall-srtp, in order; empty when absent */
  gboolean        secure;      /* the profile is RTP/SAVP (or RTP/SAVPF) */
  gboolean        srtp_listed; /* a=keycall-srtp is present, even if every suite in it
                                * is unknown (then suites is empty, yet the default
                                * suite was not offered) */
} KcSdpMedia;

void        kc_sdp_media_free    (KcSdpMedia  *media);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcSdpMedia, kc_sdp_media_free)

/* The first m=audio of @sdp. KC_ERROR_INVALID, with sofia's message or the
 * line at fault, when it does not parse, has no m=audio, no connection
 * address for it, or an address that is not an IP literal (or not of the
 * family c= names), a port over 65535 (or 65535 without a=rtcp), or a
 * malformed a=rtpmap, a=rtcp or a=ptime; KC_ERROR_TOO_LARGE over
 * KC_SDP_BODY_MAX bytes (64 KiB, kc-sdp-key.h). Unknown suites in
 * a=keycall-srtp are skipped (a newer peer may offer more). Key attributes
 * are ignored: the parser only sees a copy redacted with kc_sdp_redact(). */
KcSdpMedia *kc_sdp_media_parse   (const char  *sdp,
                                  GError     **error);

/* "sendrecv", "sendonly", "recvonly", "inactive". */
const char     *kc_sdp_direction_to_string (KcSdpDirection direction);
/* Whether an end that put @direction in its SDP sends (or receives) media. */
gboolean        kc_sdp_direction_sends     (KcSdpDirection direction);
gboolean        kc_sdp_direction_receives  (KcSdpDirection direction);
/* The direction of the answer to an offer of @offered (RFC 3264 section
 * 6.1): sendonly gets recvonly, recvonly sendonly, sendrecv sendrecv,
 * inactive inactive. An end that holds the call itself (@hold) takes its
 * receiving out as its own offer would: sendrecv gets sendonly, sendonly
 * inactive. Hold is a re-offer of sendonly, resume one of sendrecv
 * (docs/protocol.md, "Hold and resume"). */
KcSdpDirection  kc_sdp_direction_answer    (KcSdpDirection offered,
                                            gboolean       hold);

/* What a softphone sends. */
typedef struct {
  const char          *address;     /* IP literal */
  guint16              port;
  guint64              session_id;  /* o= id, and its version when session_version is 0 */
  KcSdpDirection       direction;
  const KcSdpFormat   *formats;     /* in preference order */
  guint                n_formats;
  const KcSuite       *suites;      /* offered best first, or the one chosen */
  guint                n_suites;
  guint                ptime;       /* 0: no a=ptime */
  guint64              session_version; /* o= version of a re-offer or its answer (RFC
                                         * 3264 section 8: one more each time); 0 is
                                         * session_id */
} KcSdpBuild;

/* "v=0 … m=audio PORT RTP/SAVP PT… a=rtpmap… a=fmtp (telephone-event
 * 0-16) a=keycall-srtp… a=ptime a=sendrecv", CRLF line ends; c= at
 * session level; no a=keycall-srtp when n_suites is 0, no a=ptime when
 * ptime is 0. At least one format. kc_sdp_media_parse() reads back what
 * was built. */
char       *kc_sdp_media_build   (const KcSdpBuild *build);

/* The answerer's choice from an offer (RFC 3264 section 6). */
typedef struct {
  KcSdpFormat  audio;         /* from the offer: its pt, encoding, rate */
  gint         dtmf_pt;       /* telephone-event at the audio's clock rate; -1 none */
  KcSuite      suite;
} KcSdpChoice;

void        kc_sdp_choice_clear  (KcSdpChoice *choice);

/* Picks from @offer the first of @encodings (names as in KcSdpFormat,
 * NULL-terminated, matched case-insensitively, best first) that it offers
 * at its proper clock rate (opus 48000, PCMU and PCMA 8000), the
 * telephone-event format at that codec's clock rate if offered, and the
 * first suite of @offer->suites that is in @suites (KC_SUITE_DEFAULT when
 * the offer has no a=keycall-srtp and it is in @suites).
 * KC_ERROR_UNSUPPORTED, naming what was offered, when no codec or no suite
 * matches, the offer is not RTP/SAVP, or its port is 0. On success @choice
 * is overwritten (clear it first: audio.encoding is a copy); on failure it
 * is untouched. */
gboolean    kc_sdp_media_negotiate (const KcSdpMedia *offer,
                                    const char * const *encodings,
                                    const KcSuite    *suites,
                                    guint             n_suites,
                                    KcSdpChoice      *choice,
                                    GError          **error);

/* @sdp with the connection address (every c= line) and the first
 * m=audio's port replaced: what the relay sends on so that media comes to
 * it. c= and o= get @address and its IP4/IP6 token (a multicast /ttl is
 * dropped); o= changes only there. Each a=rtcp of that m=audio becomes
 * "a=rtcp:<@port + 1>", followed by " IN IP4|IP6 @address" when it had an
 * address part. A refused m=audio (port 0) keeps its port and a=rtcp: the
 * relay must not revive a stream one side turned down. Every other byte,
 * line ends (CRLF, LF or CR) included, stays as it was, key attributes
 * too: the result may hold a key, so wipe it before freeing as you would
 * @sdp. KC_ERROR_INVALID when @sdp does not parse or has no m=audio or no
 * c= for it, @address is not an IP literal, @port is 0 or 65535 (RTCP
 * needs the next port), or the lines are written in a way the rewrite
 * cannot edit (the result is parsed back and checked); KC_ERROR_TOO_LARGE
 * over KC_SDP_BODY_MAX bytes. */
char       *kc_sdp_media_rewrite (const char  *sdp,
                                  const char  *address,
                                  guint16      port,
                                  GError     **error);

/* FALSE, with KC_ERROR_INVALID naming the line, when @sdp has an m= line
 * on which sofia-sip 1.12.11's sdp_parse() loops forever, allocating until
 * memory runs out (fixed upstream in 1.13.7). Every sdp_parse() of text
 * from the network needs this first; the functions above do it. */
gboolean    kc_sdp_sofia_safe    (const char  *sdp,
                                  GError     **error);

G_END_DECLS
