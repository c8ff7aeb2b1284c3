/* kc-srtp.c: SRTP/SRTCP sessions on libsrtp2, one per direction of a call. */
#define G_LOG_DOMAIN "kc-srtp"

#include "kc-srtp.h"
#include "kc-error.h"

#include "kc-srtp-private.h"

#include <srtp2/srtp.h>
#include <string.h>

/* RFC 3711 asks for at least 64; libsrtp's default, 2.5 s of 20 ms audio. */
#define REPLAY_WINDOW 128

#define RTP_HEADER_LEN   12
#define RTCP_HEADER_LEN  8
#define SRTCP_INDEX_LEN  4

G_STATIC_ASSERT (KC_SRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + SRTCP_INDEX_LEN);
G_STATIC_ASSERT (KC_SRTP_MAX_PACKET + KC_SRTP_MAX_TRAILER < G_MAXINT);

struct _KcSrtpSession {
  GMutex       lock;      /* libsrtp contexts are not thread-safe; guards stats too */
  srtp_t       srtp;
  KcSuite      suite;
  KcDirection  direction;
  KcSrtpRole   role;
  gsize        rtp_tag_len;
  gsize        rtcp_tag_len;
  KcSrtpStats  stats;
};

/* What a person reads for each libsrtp status, and how it is counted. */
typedef struct {
  const char   *name;
  const char   *what;
  KcSrtpReject  reason;
  KcErrorCode   code;
} StatusInfo;

#define STATUS(s, w, r, c) [srtp_err_status_##s] = { "srtp_err_status_" #s, w, KC_SRTP_REJECT_##r, KC_ERROR_##c }

static const StatusInfo statuses[] = {
  STATUS (ok,             "no error",                                            OTHER,     FAILED),
  STATUS (fail,           "unspecified libsrtp failure",                         OTHER,     FAILED),
  STATUS (bad_param,      "libsrtp refused the packet's parameters",             MALFORMED, INVALID),
  STATUS (alloc_fail,     "out of memory",                                       OTHER,     FAILED),
  STATUS (dealloc_fail,   "could not free a stream",                             OTHER,     FAILED),
  STATUS (init_fail,      "could not initialise a stream",                       OTHER,     FAILED),
  STATUS (terminus,       "packet too long for the cipher",                      MALFORMED, INVALID),
  STATUS (auth_fail,      "authentication failed (wrong key or forged packet)",  AUTH,      CRYPTO),
  STATUS (cipher_fail,    "cipher failure",                                      OTHER,     CRYPTO),
  STATUS (replay_fail,    "replayed packet",                                     REPLAY,    CRYPTO),
  STATUS (replay_old,     "packet older than the replay window",                 REPLAY,    CRYPTO),
  STATUS (algo_fail,      "a cipher failed its self-test",                       OTHER,     CRYPTO),
  STATUS (no_such_op,     "unsupported operation",                               OTHER,     FAILED),
  STATUS (no_ctx,         "no stream for this SSRC",                             OTHER,     FAILED),
  /* SRTCP whose E flag says "not encrypted" where the suite encrypts:
   * a forged or truncated packet, not a local failure. */
  STATUS (cant_check,     "packet not encrypted as the suite requires (forged or truncated)", AUTH, CRYPTO),
  STATUS (key_expired,    "key expired (too many packets under one key)",        OTHER,     CRYPTO),
  STATUS (socket_err,     "socket error",                                        OTHER,     FAILED),
  STATUS (signal_err,     "signal error",                                        OTHER,     FAILED),
  STATUS (nonce_bad,      "bad nonce",                                           AUTH,      CRYPTO),
  STATUS (read_fail,      "read failure",                                        OTHER,     FAILED),
  STATUS (write_fail,     "write failure",                                       OTHER,     FAILED),
  STATUS (parse_err,      "cannot parse the packet",                             MALFORMED, INVALID),
  STATUS (encode_err,     "cannot encode the packet",                            OTHER,     FAILED),
  STATUS (semaphore_err,  "semaphore error",                                     OTHER,     FAILED),
  STATUS (pfkey_err,      "pfkey error",                                         OTHER,     FAILED),
  STATUS (bad_mki,        "unknown MKI in the packet",                           AUTH,      CRYPTO),
  STATUS (pkt_idx_old,    "packet index too old",                                REPLAY,    CRYPTO),
  STATUS (pkt_idx_adv,    "packet index advanced too far",                       OTHER,     CRYPTO),
};

#undef STATUS

static const StatusInfo unknown_status = { "unknown libsrtp status", "libsrtp error", KC_SRTP_REJECT_OTHER, KC_ERROR_FAILED };

static const StatusInfo *
status_info (srtp_err_status_t status)
{
  if ((guint) status < G_N_ELEMENTS (statuses) && statuses[status].name != NULL)
    return &statuses[status];
  return &unknown_status;
}

/* libsrtp's debug messages can print keys: drop them, whatever the level
 * GLib shows. The rest is libsrtp talking about itself, not about packets. */
static void
on_srtp_log (srtp_log_level_t level, const char *msg, void *data)
{
  if (level == srtp_log_level_debug)
    return;
  g_debug ("libsrtp: %s", msg);
}

static gboolean
ensure_srtp_init (GError **error)
{
  static gsize once;
  static srtp_err_status_t init_status;

  if (g_once_init_enter (&once)) {
    init_status = srtp_init ();
    if (init_status == srtp_err_status_ok) {
      srtp_install_log_handler (on_srtp_log, NULL);
      kc_srtp_use_openssl ();
      g_debug ("%s ready", srtp_get_version_string ());
    }
    g_once_init_leave (&once, 1);
  }
  if (init_status != srtp_err_status_ok) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "libsrtp could not initialise (%s): no SRTP session can be made",
                 status_info (init_status)->name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
set_policy (srtp_policy_t *policy, KcSuite suite)
{
  switch (suite) {
  case KC_SUITE_AES_CM_128_HMAC_SHA1_80:
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtcp);
    return TRUE;
  case KC_SUITE_AES_CM_128_HMAC_SHA1_32:
    /* RFC 4568 6.2.1: SRTCP keeps the 80-bit tag with this suite. */
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32 (&policy->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtcp);
    return TRUE;
  case KC_SUITE_AEAD_AES_128_GCM:
    srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy->rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy->rtcp);
    return TRUE;
  case KC_SUITE_AEAD_AES_256_GCM:
    srtp_crypto_policy_set_aes_gcm_256_16_auth (&policy->rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth (&policy->rtcp);
    return TRUE;
  case KC_SUITE_COUNT:
  case KC_SUITE_INVALID:
  default:
    return FALSE;
  }
}

KcSrtpSession *
kc_srtp_session_new (KcSuite          suite,
                     KcDirection      direction,
                     KcSrtpRole       role,
                     const KcSecret  *key_salt,
                     GError         **error)
{
  g_autoptr(KcSecret) key_copy = NULL;
  srtp_policy_t policy;
  srtp_err_status_t status;
  KcSrtpSession *self;
  char fingerprint[KC_FINGERPRINT_LEN];

  g_return_val_if_fail (key_salt != NULL, NULL);
  g_return_val_if_fail (role == KC_SRTP_ROLE_SEND || role == KC_SRTP_ROLE_RECEIVE, NULL);
  g_return_val_if_fail (direction == KC_DIRECTION_CALLER_TO_CALLEE ||
                        direction == KC_DIRECTION_CALLEE_TO_CALLER, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  memset (&policy, 0, sizeof policy);
  if (!set_policy (&policy, suite)) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "Unknown SRTP suite %d", suite);
    return NULL;
  }
  if (kc_secret_get_len (key_salt) != kc_suite_key_salt_len (suite) ||
      (gsize) policy.rtp.cipher_key_len != kc_suite_key_salt_len (suite)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "An SRTP key and salt for %s is %zu bytes, not %zu: derive it for this suite",
                 kc_suite_to_string (suite), kc_suite_key_salt_len (suite),
                 kc_secret_get_len (key_salt));
    return NULL;
  }
  if (!ensure_srtp_init (error))
    return NULL;

  /* libsrtp wants a writable key pointer: give it a copy in secure memory,
   * wiped as soon as srtp_create has derived its session keys. */
  key_copy = kc_secret_copy (key_salt);
  policy.key = kc_secret_get_mutable (key_copy);
  policy.ssrc.type = role == KC_SRTP_ROLE_SEND ? ssrc_any_outbound : ssrc_any_inbound;
  policy.window_size = REPLAY_WINDOW;
  /* Never protect two packets under one index: that would reuse keystream. */
  policy.allow_repeat_tx = 0;

  self = g_new0 (KcSrtpSession, 1);
  status = srtp_create (&self->srtp, &policy);
  policy.key = NULL;
  g_clear_pointer (&key_copy, kc_secret_free);
  if (status != srtp_err_status_ok) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "libsrtp could not create a %s session: %s (%s)",
                 kc_suite_to_string (suite), status_info (status)->what, status_info (status)->name);
    g_free (self);
    return NULL;
  }

  g_mutex_init (&self->lock);
  self->suite = suite;
  self->direction = direction;
  self->role = role;
  self->rtp_tag_len = policy.rtp.auth_tag_len;
  self->rtcp_tag_len = policy.rtcp.auth_tag_len;

  kc_secret_fingerprint (key_salt, fingerprint);
  g_debug ("%s session %s %s, key %s", role == KC_SRTP_ROLE_SEND ? "send" : "receive",
           kc_suite_to_string (suite), kc_direction_to_string (direction), fingerprint);
  return self;
}

KcSrtpSession *
kc_srtp_session_new_for_call (const KcSecret  *call_key,
                              KcSuite          suite,
                              KcDirection      direction,
                              KcSrtpRole       role,
                              GError         **error)
{
  g_autoptr(KcSecret) key_salt = NULL;

  g_return_val_if_fail (call_key != NULL, NULL);

  key_salt = kc_srtp_key_derive (call_key, suite, direction, error);
  if (key_salt == NULL)
    return NULL;
  return kc_srtp_session_new (suite, direction, role, key_salt, error);
}

void
kc_srtp_session_free (KcSrtpSession *self)
{
  if (self == NULL)
    return;
  srtp_dealloc (self->srtp);
  g_mutex_clear (&self->lock);
  g_free (self);
}

KcSuite
kc_srtp_session_get_suite (KcSrtpSession *self)
{
  g_return_val_if_fail (self != NULL, KC_SUITE_INVALID);
  return self->suite;
}

KcDirection
kc_srtp_session_get_direction (KcSrtpSession *self)
{
  g_return_val_if_fail (self != NULL, KC_DIRECTION_CALLER_TO_CALLEE);
  return self->direction;
}

KcSrtpRole
kc_srtp_session_get_role (KcSrtpSession *self)
{
  g_return_val_if_fail (self != NULL, KC_SRTP_ROLE_SEND);
  return self->role;
}

gsize
kc_srtp_session_get_overhead (KcSrtpSession *self, gboolean rtcp)
{
  g_return_val_if_fail (self != NULL, 0);
  return rtcp ? self->rtcp_tag_len + SRTCP_INDEX_LEN : self->rtp_tag_len;
}

void
kc_srtp_session_get_stats (KcSrtpSession *self, KcSrtpStats *stats)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (stats != NULL);

  g_mutex_lock (&self->lock);
  *stats = self->stats;
  g_mutex_unlock (&self->lock);
}

const char *
kc_srtp_reject_to_string (KcSrtpReject reason)
{
  switch (reason) {
  case KC_SRTP_REJECT_REPLAY:    return "replay";
  case KC_SRTP_REJECT_AUTH:      return "auth";
  case KC_SRTP_REJECT_MALFORMED: return "malformed";
  case KC_SRTP_REJECT_OTHER:     return "other";
  case KC_SRTP_REJECT_COUNT:
  default:
    g_return_val_if_reached (NULL);
  }
}

/* Which packet a message is about, from its clear header. */
static char *
describe_packet (const guint8 *buf, gsize len, gboolean rtcp, gboolean protect)
{
  const char *kind = rtcp ? (protect ? "RTCP" : "SRTCP") : (protect ? "RTP" : "SRTP");

  if (rtcp && len >= RTCP_HEADER_LEN)
    return g_strdup_printf ("%s packet of %zu bytes (SSRC 0x%08x)", kind, len,
                            (guint) buf[4] << 24 | (guint) buf[5] << 16 | (guint) buf[6] << 8 | buf[7]);
  if (!rtcp && len >= RTP_HEADER_LEN)
    return g_strdup_printf ("%s packet of %zu bytes (SSRC 0x%08x, seq %u)", kind, len,
                            (guint) buf[8] << 24 | (guint) buf[9] << 16 | (guint) buf[10] << 8 | buf[11],
                            (guint) buf[2] << 8 | buf[3]);
  return g_strdup_printf ("%s packet of %zu bytes", kind, len);
}

/* Counts a refusal; called with the lock held. */
static gboolean
reject (KcSrtpSession  *self,
        KcSrtpReject    reason,
        KcErrorCode     code,
        const guint8   *buf,
        gsize           len,
        gboolean        rtcp,
        gboolean        protect,
        GError        **error,
        const char     *format,
        ...) G_GNUC_PRINTF (9, 10);

static gboolean
reject (KcSrtpSession  *self,
        KcSrtpReject    reason,
        KcErrorCode     code,
        const guint8   *buf,
        gsize           len,
        gboolean        rtcp,
        gboolean        protect,
        GError        **error,
        const char     *format,
        ...)
{
  self->stats.rejected[reason]++;
  if (error != NULL) {
    g_autofree char *packet = describe_packet (buf, len, rtcp, protect);
    g_autofree char *why = NULL;
    va_list args;

    va_start (args, format);
    why = g_strdup_vprintf (format, args);
    va_end (args);
    g_set_error (error, KC_ERROR, code, "%s %s: %s",
                 protect ? "Could not protect outgoing" : "Refused", packet, why);
  }
  return FALSE;
}

static gboolean
reject_status (KcSrtpSession      *self,
               srtp_err_status_t   status,
               const guint8       *buf,
               gsize               len,
               gboolean            rtcp,
               gboolean            protect,
               GError            **error)
{
  const StatusInfo *info = status_info (status);

  return reject (self, info->reason, info->code, buf, len, rtcp, protect, error,
                 "%s (libsrtp: %s)", info->what, info->name);
}

/* The clear RTP header must be whole before libsrtp reads it: 12 bytes, the
 * CSRC list, the extension header and its words, then @trailer bytes of tag. */
static const char *
check_rtp (const guint8 *buf, gsize len, gsize trailer)
{
  gsize header = RTP_HEADER_LEN;

  if (len < RTP_HEADER_LEN)
    return "shorter than the 12-byte RTP header";
  if (buf[0] >> 6 != 2)
    return "not RTP version 2";
  header += 4 * (buf[0] & 0x0f);
  if (len < header)
    return "shorter than its CSRC list";
  if (buf[0] & 0x10) {
    if (len < header + 4)
      return "truncated in its header extension";
    header += 4 + 4 * ((gsize) buf[header + 2] << 8 | buf[header + 3]);
    if (len < header)
      return "shorter than its header extension";
  }
  if (len < header + trailer)
    return "truncated: too short for its authentication tag";
  return NULL;
}

/* SRTCP encrypts all but the first 8 bytes, so only those can be checked
 * before unprotect; the RTCP parser checks lengths afterwards. */
static const char *
check_rtcp (const guint8 *buf, gsize len, gsize trailer)
{
  if (len < RTCP_HEADER_LEN)
    return "shorter than the 8-byte RTCP header";
  if (buf[0] >> 6 != 2)
    return "not RTCP version 2";
  if (len < RTCP_HEADER_LEN + trailer)
    return "truncated: too short for its SRTCP index and authentication tag";
  return NULL;
}

static gboolean
protect (KcSrtpSession  *self,
         gboolean        rtcp,
         guint8         *buf,
         gsize           len,
         gsize           buf_size,
         gsize          *out_len,
         GError        **error)
{
  const char *malformed;
  srtp_err_status_t status;
  int n = (int) len;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->role == KC_SRTP_ROLE_SEND, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (out_len != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->lock);
  if (len > KC_SRTP_MAX_PACKET) {
    reject (self, KC_SRTP_REJECT_MALFORMED, KC_ERROR_TOO_LARGE, buf, len, rtcp, TRUE, error,
            "longer than %d bytes", KC_SRTP_MAX_PACKET);
    goto out;
  }
  if (buf_size < len + KC_SRTP_MAX_TRAILER) {
    reject (self, KC_SRTP_REJECT_OTHER, KC_ERROR_TOO_LARGE, buf, len, rtcp, TRUE, error,
            "the buffer has %zu spare bytes, libsrtp needs %d (KC_SRTP_MAX_TRAILER)",
            buf_size > len ? buf_size - len : 0, KC_SRTP_MAX_TRAILER);
    goto out;
  }
  malformed = rtcp ? check_rtcp (buf, len, 0) : check_rtp (buf, len, 0);
  if (malformed != NULL) {
    reject (self, KC_SRTP_REJECT_MALFORMED, KC_ERROR_INVALID, buf, len, rtcp, TRUE, error, "%s", malformed);
    goto out;
  }

  status = rtcp ? srtp_protect_rtcp (self->srtp, buf, &n) : srtp_protect (self->srtp, buf, &n);
  if (status != srtp_err_status_ok) {
    reject_status (self, status, buf, len, rtcp, TRUE, error);
    goto out;
  }
  self->stats.packets_protected++;
  self->stats.bytes_protected += n;
  *out_len = n;
  g_mutex_unlock (&self->lock);
  return TRUE;

out:
  g_mutex_unlock (&self->lock);
  return FALSE;
}

static gboolean
unprotect (KcSrtpSession  *self,
           gboolean        rtcp,
           guint8         *buf,
           gsize           len,
           gsize          *out_len,
           GError        **error)
{
  const char *malformed;
  srtp_err_status_t status;
  int n = (int) len;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->role == KC_SRTP_ROLE_RECEIVE, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (out_len != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->lock);
  if (len > KC_SRTP_MAX_PACKET) {
    reject (self, KC_SRTP_REJECT_MALFORMED, KC_ERROR_TOO_LARGE, buf, len, rtcp, FALSE, error,
            "longer than %d bytes", KC_SRTP_MAX_PACKET);
    goto out;
  }
  malformed = rtcp ? check_rtcp (buf, len, SRTCP_INDEX_LEN + self->rtcp_tag_len)
                   : check_rtp (buf, len, self->rtp_tag_len);
  if (malformed != NULL) {
    reject (self, KC_SRTP_REJECT_MALFORMED, KC_ERROR_INVALID, buf, len, rtcp, FALSE, error, "%s", malformed);
    goto out;
  }

  status = rtcp ? srtp_unprotect_rtcp (self->srtp, buf, &n) : srtp_unprotect (self->srtp, buf, &n);
  if (status != srtp_err_status_ok) {
    reject_status (self, status, buf, len, rtcp, FALSE, error);
    goto out;
  }
  self->stats.packets_unprotected++;
  self->stats.bytes_unprotected += len;
  *out_len = n;
  g_mutex_unlock (&self->lock);
  return TRUE;

out:
  g_mutex_unlock (&self->lock);
  return FALSE;
}

gboolean
kc_srtp_protect_rtp (KcSrtpSession  *self,
                     guint8         *buf,
                     gsize           len,
                     gsize           buf_size,
                     gsize          *out_len,
                     GError        **error)
{
  return protect (self, FALSE, buf, len, buf_size, out_len, error);
}

gboolean
kc_srtp_protect_rtcp (KcSrtpSession  *self,
                      guint8         *buf,
                      gsize           len,
                      gsize           buf_size,
                      gsize          *out_len,
                      GError        **error)
{
  return protect (self, TRUE, buf, len, buf_size, out_len, error);
}

gboolean
kc_srtp_unprotect_rtp (KcSrtpSession  *self,
                       guint8         *buf,
                       gsize           len,
                       gsize          *out_len,
                       GError        **error)
{
  return unprotect (self, FALSE, buf, len, out_len, error);
}

gboolean
kc_srtp_unprotect_rtcp (KcSrtpSession  *self,
                        guint8         *buf,
                        gsize           len,
                        gsize          *out_len,
                        GError        **error)
{
  return unprotect (self, TRUE, buf, len, out_len, error);
}
