/* kc-lea-recorder-private.h: what the recorder (the port, kc-lea-recorder.c)
 * and its calls (one recording each, kc-lea-call.c) share. Not installed.
 */
#pragma once

#include "kc-lea-recorder.h"
#include "kc-lea-wav.h"

#include "kc-codec.h"
#include "kc-keys.h"
#include "kc-srtp.h"

#include <gio/gio.h>

#define TICK_MS          20
#define MAX_CALLS        256           /* calls open at once (recording or waiting) */
#define MAX_TOMBSTONES   16384         /* closed calls remembered (TOMBSTONE_S each) */
#define PENDING_MAX      2000          /* copies kept per call before key and call record */
#define PENDING_BYTES    (16 << 20)    /* all calls' waiting copies together */
#define PENDING_MAX_S    30            /* a copy waits this long for its key */
#define END_GRACE_MS     1500          /* copies still in flight after `end` */
#define IDLE_S           60            /* no copy and no `end` this long: close */
#define IDLE_UNANSWERED_S 600          /* the same before any copy (a call may ring long) */
#define TOMBSTONE_S      30            /* a closed call's copies count as late */
#define BACKLOG_FRAMES   10            /* 200 ms ahead before the other side is padded */
#define DRAIN_MS         200           /* waiting for a decoder's last frames */
#define PACKET_BUF       (KC_SRTP_MAX_PACKET + KC_SRTP_MAX_TRAILER)

typedef struct {
  gint64   first;        /* extended sequence numbers */
  gint64   highest;
  guint64  received;
} SeqTrack;

typedef struct {
  KcDirection direction;
  gboolean    rtcp;
  gsize       len;
  guint8      data[];
} Pending;

typedef struct {
  KcLeaRecorder *rec;
  char          *call_id;
  gboolean       closed;
  gint64         closed_at;
  gint64         created_at;
  gint64         last_activity;
  gint64         end_at;             /* monotonic µs of `end`, 0 before */

  /* from `key` */
  KcSecret      *key;
  char           key_id[KC_KEY_ID_TEXT_LEN];
  char           fingerprint[KC_FINGERPRINT_LEN];
  char          *tap, *caller, *callee, *created, *controller;
  /* from `call` */
  gboolean       have_params;
  KcCodec        codec;
  guint          payload, clock;
  KcSuite        suite;
  char          *answered;
  /* from `end` */
  char          *ended, *outcome;

  GQueue         pending;
  KcSrtpSession *srtp[2];
  KcDecoder     *dec[2];
  GArray        *pcm[2];             /* decoded samples not yet written */
  KcLeaWav      *wav;
  char          *wav_path, *record_path;
  char          *rec_started, *rec_ended;
  guint64        rtp[2], rtcp[2];
  guint64        refused[KC_LEA_REFUSED_COUNT];
  GHashTable    *seq;                /* sender "HOST:PORT" -> SeqTrack */
} LeaCall;

struct _KcLeaRecorder {
  GSocket            *socket;
  GSource            *source;
  char               *address;
  char               *dir;
  KcSecret           *lea_key;
  KcLeaRecorderFuncs  funcs;
  gpointer            user_data;
  GHashTable         *calls;         /* Call-ID -> LeaCall */
  gsize               pending_bytes;
  guint               tick_id;
  guint64             refused[KC_LEA_REFUSED_COUNT];
  guint8             *buf;           /* unprotect works in place here */
  guint8             *rx;            /* datagrams are received here */
};

extern const char *const kc_lea_refused_names[KC_LEA_REFUSED_COUNT];

void      kc_lea_recorder_problem  (KcLeaRecorder *rec,
                                    const char    *call_id,
                                    const char    *message);

/* The call of @call_id; a new one when @create and there is room. */
LeaCall  *kc_lea_call_get          (KcLeaRecorder *rec,
                                    const char    *call_id,
                                    gboolean       create);
void      kc_lea_call_free         (LeaCall       *call);
/* Keyed and parameters known: SRTP sessions and decoders exist. */
gboolean  kc_lea_call_ready        (LeaCall       *call);
/* Sessions and decoders once key and parameters are there, then the
 * copies that waited. */
void      kc_lea_call_try_start    (LeaCall       *call);
void      kc_lea_call_track_seq    (LeaCall       *call,
                                    const char    *source,
                                    guint32        seq);
void      kc_lea_call_process      (LeaCall       *call,
                                    KcDirection    direction,
                                    gboolean       rtcp,
                                    const guint8  *data,
                                    gsize          len);
void      kc_lea_call_write        (LeaCall       *call,
                                    gboolean       flush);
void      kc_lea_call_drop_pending (LeaCall       *call,
                                    KcLeaRefused   reason);
/* Wipes the key and the SRTP sessions. */
void      kc_lea_call_wipe         (LeaCall       *call);
/* Last frames, files, record, key wiped; the call stays as a tombstone. */
void      kc_lea_call_close        (LeaCall       *call);
