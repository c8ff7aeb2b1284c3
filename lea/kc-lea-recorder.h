/* kc-lea-recorder.h: the LEA's X3 content port. Receives the relays' copies
 * of tapped calls' SRTP, opens each call's sealed key with the LEA's HPKE
 * private key, decrypts and decodes both directions and records each call
 * to a stereo WAV file and a JSON record (docs/lawful-intercept.md).
 */
#pragma once

#include <glib.h>

#include "kc-lea-session.h"
#include "kc-secret.h"

G_BEGIN_DECLS

/* Why a copy was not recorded; an index into the refused counts. */
typedef enum {
  KC_LEA_REFUSED_NOT_X3,       /* not a version-1 copy (kc_li_x3_decode) */
  KC_LEA_REFUSED_AUTH,         /* SRTP/SRTCP tag does not verify */
  KC_LEA_REFUSED_REPLAY,       /* a copy already seen (or too old) */
  KC_LEA_REFUSED_MALFORMED,    /* SRTP says: truncated, not RTP */
  KC_LEA_REFUSED_NO_KEY,       /* no key (or no call record) came in time,
                                * or the key did not open */
  KC_LEA_REFUSED_OVERFLOW,     /* the buffer for not-yet-keyed copies is full */
  KC_LEA_REFUSED_LATE,         /* after the call's recording was closed */
  KC_LEA_REFUSED_DECODE,       /* the decoder refused it (payload type) */
  KC_LEA_REFUSED_COUNT,
} KcLeaRefused;

const char *kc_lea_refused_to_string (KcLeaRefused reason);

/* What a finished recording holds. */
typedef struct {
  const char *call_id;
  const char *wav_path;
  const char *record_path;
  guint64     packets;         /* RTP and RTCP copies decrypted, both ways */
  guint64     lost;            /* copies missing from the X3 sequence */
  guint64     refused;         /* all reasons */
  double      audio_seconds;
} KcLeaRecording;

typedef struct {
  /* The first copy of @call_id decrypted: the files are open. */
  void (*recording) (const char *call_id, const char *wav_path, gpointer user_data);
  void (*recorded)  (const KcLeaRecording *recording, gpointer user_data);
  /* A key did not open or a file could not be written. */
  void (*problem)   (const char *call_id, const char *message, gpointer user_data);
} KcLeaRecorderFuncs;

typedef struct _KcLeaRecorder KcLeaRecorder;

/* Binds UDP @content ("HOST:PORT", numeric; port 0 picks one) and records
 * into @record_dir (created if missing). @lea_key: the HPKE private key,
 * copied into secure memory. KC_ERROR_INVALID for a bad address,
 * KC_ERROR_IO when the port or folder cannot be used. */
KcLeaRecorder *kc_lea_recorder_new        (const char               *content,
                                           const char               *record_dir,
                                           const KcSecret           *lea_key,
                                           const KcLeaRecorderFuncs *funcs,
                                           gpointer                  user_data,
                                           GError                  **error);
/* Finishes every recording now (files closed, keys wiped), as at exit. */
void           kc_lea_recorder_close_all  (KcLeaRecorder            *rec);
/* Closes what is still open, then frees. */
void           kc_lea_recorder_free       (KcLeaRecorder            *rec);
/* The bound address, "HOST:PORT". */
const char    *kc_lea_recorder_get_address (KcLeaRecorder           *rec);

/* Opens @key with the LEA key (bound to its key id and Call-ID) and checks
 * its fingerprint against the delivered one; @fingerprint receives it.
 * KC_ERROR_CRYPTO when it does not open or does not match. For a past tap
 * the key is wiped at once (no content follows); otherwise it is kept, in
 * KcSecret memory only, until the call's recording ends. A second delivery
 * of the same key (another tap, another controller) is accepted and
 * changes nothing; @is_new (may be NULL) tells the first from the others. */
gboolean       kc_lea_recorder_add_key    (KcLeaRecorder            *rec,
                                           const KcLeaKeyDelivery   *key,
                                           char                      fingerprint[KC_FINGERPRINT_LEN],
                                           gboolean                 *is_new,
                                           GError                  **error);
/* The media parameters; KC_ERROR_UNSUPPORTED for a codec or suite this
 * LEA cannot decode. */
gboolean       kc_lea_recorder_set_call   (KcLeaRecorder            *rec,
                                           const KcLeaCallDelivery  *call,
                                           GError                  **error);
/* The call is over: its recording closes once trailing copies had a
 * moment to arrive. */
void           kc_lea_recorder_end_call   (KcLeaRecorder            *rec,
                                           const KcLeaEndDelivery   *end);
/* Copies refused that belong to no recording (not X3, never keyed,
 * overflow), per reason. */
void           kc_lea_recorder_get_refused (KcLeaRecorder           *rec,
                                            guint64                  counts[KC_LEA_REFUSED_COUNT]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcLeaRecorder, kc_lea_recorder_free)

G_END_DECLS
