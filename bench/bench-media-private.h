/* bench-media-private.h: what the parts of bench-media share: the
 * measuring JACK client (Meter), a call with both ends in this process
 * (bench-media.c), and the latency and CPU runs main calls.
 */
#pragma once

#include "kc-codec.h"
#include "kc-cta-audio.h"
#include "kc-keys.h"
#include "kc-media.h"

#include <glib.h>
#include <jack/jack.h>
#include <stdatomic.h>

G_BEGIN_DECLS

#define MAX_IMPULSES     1000
#define BURST_HZ         1000.0
#define BURST_MS         10
#define DETECT_LEVEL     0.08f     /* -16 dB under the burst, -22 dBFS */
#define QUIET_MS         250       /* before the next burst, plus up to 20 ms at random */
#define TIMEOUT_MS       1000      /* a burst not heard by then is lost */

/* --impulses and --seconds */
extern int bm_impulses;
extern int bm_seconds;

/* ---- The measuring JACK client ---- */

typedef enum {
  METER_SILENT,
  METER_MEASURE,
  METER_LOAD,                /* plays the speech-like signal, for the CPU run */
} MeterMode;

typedef enum {
  WAIT_QUIET,
  WAIT_BURST,
} MeterState;

typedef struct {
  jack_client_t  *client;
  jack_port_t    *out;
  jack_port_t    *in;
  jack_nframes_t  rate;
  jack_nframes_t  period;
  float          *burst;           /* BURST_MS of tone */
  jack_nframes_t  burst_len;
  const float    *load;
  gsize           load_len;

  /* Set by the main thread. */
  atomic_int      mode;
  atomic_uint     generation;      /* a new value starts a new measure */
  atomic_uint     wanted;

  /* The process callback's own. */
  unsigned        seen_generation;
  MeterState      state;
  jack_nframes_t  quiet_run;
  jack_nframes_t  quiet_needed;
  jack_nframes_t  emitted_at;
  jack_nframes_t  burst_pos;
  gsize           load_pos;
  guint32         rng;

  /* Published by the callback: latency[0 .. measured) is complete once
   * measured is read with acquire. */
  gint32          latency[MAX_IMPULSES];
  atomic_uint     measured;
  atomic_uint     lost;
  atomic_llong    callback_ns;     /* the callback's thread CPU, to leave out */
} Meter;

/* ---- A call: both ends in this process ---- */

typedef struct {
  KcSecret      *key;
  KcMediaStream *a;            /* the caller */
  KcMediaStream *b;            /* the callee */
  KcCtaAudio    *audio_a;
  KcCtaAudio    *audio_b;
  char          *a_in, *a_out, *b_in, *b_out;   /* JACK ports, when on devices */
} Call;

/* bench-media.c: the main loop, JACK ports and a call's set-up */
void       bm_run_for         (guint        ms);
GPtrArray *bm_list_ports      (Meter       *m);
char      *bm_new_port        (Meter       *m,
                               GPtrArray   *before,
                               GPtrArray   *after,
                               int          flag);
void       bm_set_connection  (Meter       *m,
                               const char  *from,
                               const char  *to,
                               gboolean     connect);
gboolean   bm_call_start      (Call        *call,
                               KcCodec      codec,
                               guint        jitter_ms,
                               const char  *in,
                               const char  *out,
                               guint        stagger_ms,
                               Meter       *m,
                               GError     **error);
void       bm_call_stop       (Call        *call);

/* bench-media-latency.c */
gboolean   bm_run_latency     (Meter       *m);

/* bench-media-cpu.c */
gboolean   bm_run_cpu         (Meter       *m);

G_END_DECLS
