/* kc-lea-session.h: one law-enforcement connection to one controller's LI
 * port (FIG. 5, 514/516): mutual TLS with the LEA's certificate, the
 * controller's certificate checked with OpenSSL against the network CA,
 * JSON lines (docs/lawful-intercept.md); tap requests that survive
 * reconnects, and the key/call/end deliveries handed to the caller.
 */
#pragma once

#include <gio/gio.h>
#include <openssl/x509.h>

G_BEGIN_DECLS

typedef enum {
  KC_LEA_TAP_FUTURE,
  KC_LEA_TAP_CURRENT,
  KC_LEA_TAP_PAST,
} KcLeaTapKind;

const char *kc_lea_tap_kind_to_string (KcLeaTapKind kind);

/* A `key` delivery (516); strings and bytes are borrowed for the call. */
typedef struct {
  const char  *controller_name;   /* the session's controller */
  const char  *tap;
  KcLeaTapKind kind;              /* of the request that made @tap */
  const char  *call_id;
  const char  *key_id_hex;
  const char  *caller;
  const char  *callee;
  const char  *created;
  const char  *fingerprint;       /* as the controller stored it */
  GBytes      *enc;
  GBytes      *sealed;
} KcLeaKeyDelivery;

/* A `call` delivery: what the LEA needs to decrypt and decode. */
typedef struct {
  const char *tap;
  const char *call_id;
  const char *answered;
  const char *codec;              /* "opus", "PCMU", "PCMA" */
  guint       payload;
  guint       clock;
  const char *suite;
  const char *media;              /* "relayed"; "direct": no content comes from
                                   * this controller; NULL from an older one */
} KcLeaCallDelivery;

/* An `end` delivery. */
typedef struct {
  const char *tap;
  const char *call_id;
  const char *ended;
  const char *outcome;
} KcLeaEndDelivery;

typedef struct _KcLeaSession KcLeaSession;

/* What the session reports; every member may be NULL. @text lines are for
 * people (and the stable stdout lines keycall-lea prints from them). */
typedef struct {
  /* TLS up and the controller's certificate verified: @subject is its
   * "keycall:controller:NAME", @serial its serial. */
  void (*connected)    (KcLeaSession *session, const char *subject, const char *serial,
                        gpointer user_data);
  /* Could not connect, or the connection ended; retrying in @retry_s. */
  void (*disconnected) (KcLeaSession *session, const char *reason, guint retry_s,
                        gpointer user_data);
  /* The controller refused this LEA (`refused`). */
  void (*refused)      (KcLeaSession *session, const char *reason, gpointer user_data);
  /* A request was sent (@req its id). */
  void (*requested)    (KcLeaSession *session, const char *req, KcLeaTapKind kind,
                        const char *number, gpointer user_data);
  /* `ok` for a tap request: @resumed when an existing tap was adopted
   * after a reconnect instead of asking again. */
  void (*tap_ok)       (KcLeaSession *session, const char *tap, KcLeaTapKind kind,
                        const char *number, gint64 calls, gboolean resumed,
                        gpointer user_data);
  /* `error` for a request of ours, or a protocol problem (@req NULL). */
  void (*error)        (KcLeaSession *session, const char *req, const char *reason,
                        gpointer user_data);
  void (*key)          (KcLeaSession *session, const KcLeaKeyDelivery *key, gpointer user_data);
  void (*call)         (KcLeaSession *session, const KcLeaCallDelivery *call, gpointer user_data);
  void (*end)          (KcLeaSession *session, const KcLeaEndDelivery *end, gpointer user_data);
  /* The stops asked by kc_lea_session_stop_taps() are answered (or the
   * connection is gone). */
  void (*stopped)      (KcLeaSession *session, gpointer user_data);
  /* A `stop` was sent (@req its id) for @tap; @number NULL when the tap is
   * not one of this run's (then @kind means nothing). */
  void (*stop_sent)    (KcLeaSession *session, const char *req, const char *tap,
                        KcLeaTapKind kind, const char *number, gpointer user_data);
  /* `ok` for a stop: the controller ended @tap. A refused stop comes as
   * `error` with the stop's @req; the tap stays active. */
  void (*tap_stopped)  (KcLeaSession *session, const char *req, const char *tap,
                        KcLeaTapKind kind, const char *number, gpointer user_data);
} KcLeaSessionFuncs;

/* @name: the controller name its certificate must carry (role controller);
 * @host, @port: its LI port; @own: the LEA's certificate and key; @ca,
 * @crl (may be NULL): what the controller's certificate is checked
 * against (references taken); @content: "HOST:PORT" for X3 copies of
 * future and current taps, or NULL for keys only. */
KcLeaSession *kc_lea_session_new       (const char              *name,
                                        const char              *host,
                                        guint16                  port,
                                        GTlsCertificate         *own,
                                        X509                    *ca,
                                        X509_CRL                *crl,
                                        const char              *content,
                                        const KcLeaSessionFuncs *funcs,
                                        gpointer                 user_data);
void          kc_lea_session_free      (KcLeaSession            *session);
const char   *kc_lea_session_get_name  (KcLeaSession            *session);

/* Requests are sent once connected and kept across reconnects: a future or
 * current tap the controller still lists is adopted, any other is asked
 * again; a past request is asked until it is answered. @from_us, @until_us:
 * UNIX µs, 0 for none. After kc_lea_session_start() the request goes at
 * once when connected (and verified), else with the next connection; an
 * idle session starts connecting. */
void          kc_lea_session_add_tap   (KcLeaSession            *session,
                                        KcLeaTapKind             kind,
                                        const char              *number,
                                        gint64                   from_us,
                                        gint64                   until_us);
void          kc_lea_session_start     (KcLeaSession            *session);
gboolean      kc_lea_session_is_started (KcLeaSession           *session);
/* Every request answered for good: past keys sent, or refused with `error`
 * (a future or current tap is never done). */
gboolean      kc_lea_session_is_done   (KcLeaSession            *session);
/* Sends `stop` for every tap this session holds; `stopped` reports when
 * they are answered. Returns FALSE (and reports nothing) when there is
 * nothing to stop or no connection. */
gboolean      kc_lea_session_stop_taps (KcLeaSession            *session);
/* Sends `stop` for one tap: this run's, named by the controller's tap id or
 * by the id of the request that made it; or a tap id ("T-…") this run does
 * not hold (an earlier run's), which the controller accepts or refuses.
 * `stop_sent` reports it, `tap_stopped` or `error` (with its req) the
 * answer. FALSE with @error when there is nothing to send: unknown here
 * and not a tap id, not active (past, refused, stopped), already being
 * stopped, or not connected. */
gboolean      kc_lea_session_stop_tap  (KcLeaSession            *session,
                                        const char              *tap_id_or_request,
                                        GError                 **error);

G_END_DECLS
