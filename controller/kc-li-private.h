/* kc-li-private.h: what the parts of the LI port share: kc-li.c (the TLS
 * server and connections), kc-li-x1.c (X1 requests) and kc-li-deliver.c (X2
 * deliveries, the call hooks and the X3 copies on the relay thread).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sys/socket.h>

#include "kc-li.h"

G_BEGIN_DECLS

#define KC_LI_READ_CHUNK 4096


/* A tap's content destination, shared with the relay thread: one per (tap,
 * call), so its counters are that call's copies. */
typedef struct {
  gint                     refs;
  char                    *tap_id;
  int                      fd;
  struct sockaddr_storage  addr;
  socklen_t                addr_len;
  gint                     seq;        /* atomic */
  gint                     copied;     /* atomic */
  gint                     dropped;    /* atomic: the socket would have blocked */
} LiSink;

/* What the relay hook of one call holds: an immutable array of sinks. */
typedef struct {
  GPtrArray *sinks;
} LiHook;

typedef struct {
  KcTap          *tap;
  char           *content;     /* HOST:PORT, or NULL: keys only */
  GSocketAddress *address;
  GPtrArray      *call_ids;    /* current taps: the calls they cover */
} LiTap;

/* What LI knows of a call in progress at this controller. */
typedef struct {
  char       *id;
  char       *caller;
  char       *callee;
  KcKeyId     key_id;
  gboolean    keyed;
  gboolean    answered;
  gint64      answered_at;
  char       *codec;
  guint       payload;
  guint       clock;
  char       *suite;
  gboolean    relayed;            /* answered with its media through this relay (X3 possible) */
  GHashTable *taps;               /* tap id -> LiSink (NULL without content) */
} LiCall;

typedef struct {
  char *line;
  char *action;
  char *detail;
  char *call_id;
} LiPending;

typedef struct _LiConn LiConn;

/* Outlives the KcLi for the audit completions still queued when it goes:
 * @li is NULL then. */
typedef struct {
  gint  refs;
  KcLi *li;
} LiAlive;

/* A line queued on a connection. One that waits for its audit record is
 * not written, nor is anything queued after it, until the record is
 * durable (kc_li_conn_release). */
typedef struct {
  GBytes   *bytes;
  gboolean  ready;
} LiOut;

struct _KcLi {
  KcController       *ctrl;
  GSocketService     *service;
  GTlsCertificate    *certificate;
  X509               *ca;
  guint16             port;
  char               *lane;
  int                 fd4;
  int                 fd6;
  GList              *conns;       /* LiConn */
  GHashTable         *taps;        /* tap id -> LiTap, active ones */
  GHashTable         *calls;       /* Call-ID -> LiCall */
  GHashTable         *pending;     /* agency -> GQueue of LiPending */
  LiAlive            *alive;
};

struct _LiConn {
  gint               refs;
  KcLi              *li;
  GIOStream         *base;
  GTlsConnection    *tls;
  GCancellable      *cancellable;
  char              *peer;         /* address, for logs */
  char              *lea;          /* agency name once checked */
  char              *lane;         /* lea:NAME */
  gboolean           ready;
  guint              timeout_id;   /* handshake deadline */
  gboolean           closing;
  GBytes            *writing;      /* the line being written */
  GQueue             out;          /* LiOut, in the order queued */
  GByteArray        *in;
  guint8             chunk[KC_LI_READ_CHUNK];
};

/* kc-li-deliver.c */
/* Appends an audit record without waiting for it (in order with every
 * other record of this controller); a failure is logged. */
void        kc_li_audit           (KcLi          *self,
                                   const char    *actor,
                                   const char    *action,
                                   const char    *format,
                                   ...) G_GNUC_PRINTF (4, 5);
void        kc_li_emit            (KcLi          *self,
                                   KcEventKind    kind,
                                   int            fig3,
                                   const char    *lane,
                                   const char    *call_id,
                                   const char    *format,
                                   ...) G_GNUC_PRINTF (6, 7);
/* The same with attributes: @attrs NULL or name, value, …, NULL (a pair
 * with a NULL value ends the list). */
void        kc_li_emit_attrs      (KcLi          *self,
                                   KcEventKind    kind,
                                   int            fig3,
                                   const char    *lane,
                                   const char    *call_id,
                                   const char *const *attrs,
                                   const char    *format,
                                   ...) G_GNUC_PRINTF (7, 8);
/* "lea:NAME" */
char       *kc_li_lea_actor       (const char    *lea);
JsonObject *kc_li_message_new     (const char    *op);
void        kc_li_set_time        (JsonObject    *object,
                                   const char    *name,
                                   gint64         us);
/* The call's LI record, made on first use. */
LiCall     *kc_li_call_get        (KcLi          *self,
                                   KcCall        *call);
void        kc_li_call_free       (LiCall        *lc);
void        kc_li_tap_free        (LiTap         *tap);
/* Marks @tap stopped in the store and forgets it (frees it). */
void        kc_li_stop_tap        (KcLi          *self,
                                   LiTap         *tap,
                                   const char    *why);
/* The stored record of @key_id (or @given) for @tap: on @conn when it
 * answers a request there, else to the tap's agency (now, or held until it
 * connects). */
gboolean    kc_li_send_key        (KcLi          *self,
                                   LiTap         *tap,
                                   LiConn        *conn,
                                   const KcKeyId *key_id,
                                   const KcSealedKey *given);
/* Content of @lc to @tap's address from now on; its call record if answered. */
void        kc_li_attach          (KcLi          *self,
                                   LiTap         *tap,
                                   LiCall        *lc);
void        kc_li_detach          (KcLi          *self,
                                   LiTap         *tap,
                                   LiCall        *lc,
                                   gboolean       update);
/* The deliveries held for an absent agency, with the queue. */
void        kc_li_pending_queue_free (GQueue        *queue);
/* Deliveries held for @conn's agency while it was away. */
void        kc_li_flush_pending   (KcLi          *self,
                                   LiConn        *conn);

void        kc_li_alive_unref     (LiAlive       *alive);
/* Queues @object on @conn, written once its audit record (@actor, @action,
 * the formatted detail) is durable; withheld if it cannot be written. */
void        kc_li_conn_send_audited (LiConn      *conn,
                                   JsonObject    *object,
                                   const char    *actor,
                                   const char    *action,
                                   const char    *format,
                                   ...) G_GNUC_PRINTF (5, 6);

/* kc-li.c */
LiConn     *kc_li_conn_ref        (LiConn        *conn);
void        kc_li_conn_unref      (LiConn        *conn);
/* Queues @line (taken) on @conn, held until kc_li_conn_release (@out):
 * its audit record first. Written after what is queued before it. */
LiOut      *kc_li_conn_hold_line  (LiConn        *conn,
                                   char          *line);
/* Lets @out be written (@send) or withdraws it; harmless on a connection
 * already dropped. FALSE when it will not be written. */
gboolean    kc_li_conn_release    (LiConn        *conn,
                                   LiOut         *out,
                                   gboolean       send);

/* kc-li-x1.c */
/* Answers @req (NULL when the line had none) with an error, audited. */
void        kc_li_answer_error    (LiConn        *conn,
                                   const char    *req,
                                   const char    *reason);
/* Handles one request line; FALSE when the connection must close. */
gboolean    kc_li_handle_line     (LiConn        *conn,
                                   const char    *line,
                                   gsize          len);

G_END_DECLS
