/* kc-lea-session-private.h: what the two halves of KcLeaSession share:
 * kc-lea-session.c (the connection) and kc-lea-session-requests.c (the
 * tap requests and the controller's messages). Not installed.
 */
#pragma once

#include "kc-lea-session.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define BACKOFF_FIRST_S  1
#define READ_CHUNK       16384

typedef enum {
  REQ_NEW,        /* to be sent on the next connection */
  REQ_SENT,       /* waiting for its answer */
  REQ_ACTIVE,     /* a tap the controller holds */
  REQ_DONE,       /* answered for good: past keys sent, or stopped */
  REQ_FAILED,     /* refused with `error`: not asked again */
} RequestState;

typedef struct {
  KcLeaTapKind  kind;
  char         *number;
  gint64        from_us, until_us;
  RequestState  state;
  char         *req;         /* id of the request in flight */
  char         *tap;         /* the controller's tap id, once known */
  char         *stop_req;    /* id of our `stop` in flight */
  gboolean      stop_counted; /* part of kc_lea_session_stop_taps() */
  char         *superseded;  /* a tap of ours that lost its content, to stop
                              * once its replacement is answered */
} Request;

typedef struct {
  gint             ref;
  KcLeaSession    *session;  /* NULL once the connection is dropped */
  GCancellable    *cancel;
  GIOStream       *stream;   /* the TLS connection, after the handshake */
  GSocketConnection *tcp;
} Conn;

struct _KcLeaSession {
  char             *name;
  char             *host;
  guint16           port;
  GTlsCertificate  *own;
  X509             *ca;
  X509_CRL         *crl;
  char             *content;
  KcLeaSessionFuncs funcs;
  gpointer          user_data;

  GPtrArray        *requests;
  Conn             *conn;
  gboolean          verified;
  GByteArray       *in;
  guint8            chunk[READ_CHUNK];
  GQueue            out;       /* lines (char *) waiting to be written */
  gboolean          writing;
  guint             retry_id;
  guint             connect_id;
  guint             backoff_s;
  guint             next_req;
  char             *list_req;
  guint             stops_pending;
  GHashTable       *quiet_stops;  /* req ids of stops of superseded taps */
  GHashTable       *loose_stops;  /* req id → tap id: stops of taps this run
                                   * does not hold (the controller decides) */
  gboolean          started;
};

/* kc-lea-session.c */
void        kc_lea_session_connect         (KcLeaSession *self);
void        kc_lea_session_send_object     (KcLeaSession *self,
                                            JsonObject   *obj);

/* kc-lea-session-requests.c */
void        kc_lea_session_request_free    (Request      *r);
/* A new request @op with a fresh id, returned in @req_out (owned by the
 * caller). */
JsonObject *kc_lea_session_request_object  (KcLeaSession *self,
                                            const char   *op,
                                            char        **req_out);
void        kc_lea_session_on_message      (KcLeaSession *self,
                                            JsonObject   *msg);

G_END_DECLS
