/* kc-lea-call.c: one intercepted call at the LEA: its key, its copies
 * waiting for key and call record, its two SRTP sessions and decoders, and
 * its files (kc-lea-recorder-private.h). The port and the call table are
 * kc-lea-recorder.c.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-recorder-private.h"

#include "kc-audio-device.h"
#include "kc-error.h"
#include "kc-li-wire.h"

#include <string.h>

static char *
now_text (void)
{
  return kc_li_time_format (g_get_real_time ());
}

void
kc_lea_recorder_problem (KcLeaRecorder *rec, const char *call_id, const char *message)
{
  if (rec->funcs.problem != NULL)
    rec->funcs.problem (call_id, message, rec->user_data);
}

/* Calls ------------------------------------------------------------------- */

void
kc_lea_call_drop_pending (LeaCall *call, KcLeaRefused reason)
{
  Pending *p;

  while ((p = g_queue_pop_head (&call->pending)) != NULL) {
    call->rec->pending_bytes -= p->len;
    call->refused[reason]++;
    g_free (p);
  }
}

/* Everything that can decrypt goes: the key, the SRTP sessions. */
void
kc_lea_call_wipe (LeaCall *call)
{
  for (int d = 0; d < 2; d++) {
    g_clear_pointer (&call->srtp[d], kc_srtp_session_free);
    g_clear_pointer (&call->dec[d], kc_decoder_free);
  }
  g_clear_pointer (&call->key, kc_secret_free);
}

void
kc_lea_call_free (LeaCall *call)
{
  kc_lea_call_drop_pending (call, KC_LEA_REFUSED_NO_KEY);
  kc_lea_call_wipe (call);
  if (call->wav != NULL)
    kc_lea_wav_close (call->wav, NULL);
  for (int d = 0; d < 2; d++)
    g_clear_pointer (&call->pcm[d], g_array_unref);
  g_clear_pointer (&call->seq, g_hash_table_unref);
  g_free (call->call_id);
  g_free (call->tap);
  g_free (call->caller);
  g_free (call->callee);
  g_free (call->created);
  g_free (call->controller);
  g_free (call->answered);
  g_free (call->ended);
  g_free (call->outcome);
  g_free (call->wav_path);
  g_free (call->record_path);
  g_free (call->rec_started);
  g_free (call->rec_ended);
  g_free (call);
}

/* Calls still recording or waiting; closed ones (tombstones, kept a while
 * so late copies are counted as such) do not count against MAX_CALLS. */
static guint
count_open (KcLeaRecorder *rec)
{
  GHashTableIter it;
  LeaCall *call;
  guint open = 0;

  g_hash_table_iter_init (&it, rec->calls);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &call))
    open += !call->closed;
  return open;
}

LeaCall *
kc_lea_call_get (KcLeaRecorder *rec, const char *call_id, gboolean create)
{
  LeaCall *call = g_hash_table_lookup (rec->calls, call_id);

  if (call != NULL || !create
      || g_hash_table_size (rec->calls) >= MAX_CALLS + MAX_TOMBSTONES
      || count_open (rec) >= MAX_CALLS)
    return call;
  call = g_new0 (LeaCall, 1);
  call->rec = rec;
  call->call_id = g_strdup (call_id);
  call->created_at = call->last_activity = g_get_monotonic_time ();
  call->suite = KC_SUITE_INVALID;
  g_queue_init (&call->pending);
  call->seq = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (int d = 0; d < 2; d++)
    call->pcm[d] = g_array_new (FALSE, FALSE, sizeof (gint16));
  g_hash_table_insert (rec->calls, call->call_id, call);
  return call;
}

gboolean
kc_lea_call_ready (LeaCall *call)
{
  return call->srtp[0] != NULL;
}

/* "20261128T160405Z-1001-2001", from the key's creation time (else now);
 * only characters safe in a file name. */
static char *
file_stem (LeaCall *call)
{
  gint64 us = 0;
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *when = NULL;
  GString *s;

  if (call->created == NULL || !kc_li_time_parse (call->created, "created", &us, NULL))
    us = g_get_real_time ();
  dt = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  when = dt ? g_date_time_format (dt, "%Y%m%dT%H%M%SZ") : g_strdup ("unknown");
  s = g_string_new (when);
  for (const char *part = call->caller; part != NULL; part = part == call->caller ? call->callee
                                                                                   : NULL) {
    g_string_append_c (s, '-');
    for (const char *c = part; *c; c++)
      g_string_append_c (s, g_ascii_isalnum (*c) || *c == '+' ? *c : '_');
  }
  return g_string_free (s, FALSE);
}

static gboolean
call_open_files (LeaCall *call, GError **error)
{
  KcLeaRecorder *rec = call->rec;
  g_autofree char *stem = file_stem (call);

  for (int n = 1; n < 100; n++) {
    g_autofree char *name = n == 1 ? g_strdup (stem) : g_strdup_printf ("%s-%d", stem, n);
    g_autofree char *wav = g_strconcat (name, ".wav", NULL);
    g_autofree char *json = g_strconcat (name, ".json", NULL);
    g_autoptr(GError) local = NULL;

    call->wav_path = g_build_filename (rec->dir, wav, NULL);
    call->record_path = g_build_filename (rec->dir, json, NULL);
    if (!g_file_test (call->record_path, G_FILE_TEST_EXISTS)
        && (call->wav = kc_lea_wav_open (call->wav_path, KC_AUDIO_RATE, 2, &local)) != NULL) {
      call->rec_started = now_text ();
      return TRUE;
    }
    g_clear_pointer (&call->wav_path, g_free);
    g_clear_pointer (&call->record_path, g_free);
    if (!g_error_matches (local, KC_ERROR, KC_ERROR_EXISTS)) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  }
  g_set_error (error, KC_ERROR, KC_ERROR_EXISTS, "Too many recordings named %s in %s", stem,
               rec->dir);
  return FALSE;
}

/* Counts @seq from @source: the copies missing between the first and the
 * highest seen are what the network lost (a late copy fills its gap). */
void
kc_lea_call_track_seq (LeaCall *call, const char *source, guint32 seq)
{
  SeqTrack *t = g_hash_table_lookup (call->seq, source);
  gint64 ext;

  if (t == NULL) {
    t = g_new0 (SeqTrack, 1);
    t->first = t->highest = seq;
    g_hash_table_insert (call->seq, g_strdup (source), t);
  }
  /* Extend to 64 bits around the highest so far (wrap at 2^32). */
  ext = (t->highest & ~(gint64) G_MAXUINT32) | seq;
  if (ext < t->highest - (gint64) G_MAXINT32)
    ext += (gint64) 1 << 32;
  else if (ext > t->highest + (gint64) G_MAXINT32 && ext >= ((gint64) 1 << 32))
    ext -= (gint64) 1 << 32;
  if (ext > t->highest)
    t->highest = ext;
  if (ext < t->first)
    t->first = ext;
  t->received++;
}

static guint64
call_lost (LeaCall *call)
{
  GHashTableIter it;
  SeqTrack *t;
  guint64 lost = 0;

  g_hash_table_iter_init (&it, call->seq);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &t)) {
    guint64 span = (guint64) (t->highest - t->first + 1);

    if (span > t->received)
      lost += span - t->received;
  }
  return lost;
}

void
kc_lea_call_process (LeaCall *call, KcDirection d, gboolean rtcp, const guint8 *data, gsize len)
{
  KcLeaRecorder *rec = call->rec;
  g_autoptr(GError) error = NULL;
  gsize out_len = 0;
  gboolean ok;

  if (len > KC_SRTP_MAX_PACKET) {
    call->refused[KC_LEA_REFUSED_MALFORMED]++;
    return;
  }
  memcpy (rec->buf, data, len);
  ok = rtcp ? kc_srtp_unprotect_rtcp (call->srtp[d], rec->buf, len, &out_len, &error)
            : kc_srtp_unprotect_rtp (call->srtp[d], rec->buf, len, &out_len, &error);
  if (!ok)
    return;    /* counted by the session, read at the end */
  if (call->wav == NULL) {
    g_autoptr(GError) file_error = NULL;

    if (!call_open_files (call, &file_error)) {
      kc_lea_recorder_problem (rec, call->call_id, file_error->message);
      kc_lea_call_wipe (call);     /* nothing can be recorded: keep no key for it */
      call->closed = TRUE;
      call->closed_at = g_get_monotonic_time ();
      return;
    }
    if (rec->funcs.recording != NULL)
      rec->funcs.recording (call->call_id, call->wav_path, rec->user_data);
  }
  if (rtcp) {
    call->rtcp[d]++;
    return;
  }
  call->rtp[d]++;
  if (!kc_decoder_push_packet (call->dec[d], rec->buf, out_len, &error))
    call->refused[KC_LEA_REFUSED_DECODE]++;
}

/* With key and parameters: sessions and decoders, then the waiting copies. */
void
kc_lea_call_try_start (LeaCall *call)
{
  KcLeaRecorder *rec = call->rec;
  g_autoptr(GError) error = NULL;
  Pending *p;

  if (kc_lea_call_ready (call) || call->closed || call->key == NULL || !call->have_params)
    return;
  for (int d = 0; d < 2; d++) {
    call->srtp[d] = kc_srtp_session_new_for_call (call->key, call->suite, (KcDirection) d,
                                                  KC_SRTP_ROLE_RECEIVE, &error);
    if (call->srtp[d] != NULL)
      call->dec[d] = kc_decoder_new (call->codec, call->payload, KC_CODEC_DTMF_PT_DEFAULT, 0,
                                     &error);
    if (call->dec[d] == NULL) {
      g_autofree char *msg = g_strdup_printf ("cannot decode call %s: %s", call->call_id,
                                              error->message);

      kc_lea_recorder_problem (rec, call->call_id, msg);
      kc_lea_call_wipe (call);
      return;
    }
  }
  while (!call->closed && (p = g_queue_pop_head (&call->pending)) != NULL) {
    rec->pending_bytes -= p->len;
    kc_lea_call_process (call, p->direction, p->rtcp, p->data, p->len);
    g_free (p);
  }
}

/* Moves decoded frames to the file, both channels in step. @flush: the
 * call is over, write everything, padding the shorter side. */
void
kc_lea_call_write (LeaCall *call, gboolean flush)
{
  gint16 frame[KC_AUDIO_FRAME_SAMPLES];
  gint16 stereo[2 * KC_AUDIO_FRAME_SAMPLES];
  const guint n = KC_AUDIO_FRAME_SAMPLES;

  for (int d = 0; d < 2; d++)
    while (call->dec[d] != NULL && kc_decoder_pull_frame (call->dec[d], frame, 0))
      g_array_append_vals (call->pcm[d], frame, n);
  if (call->wav == NULL)
    return;

  for (;;) {
    guint have0 = call->pcm[0]->len, have1 = call->pcm[1]->len;
    gboolean pad0 = have0 < n && (flush ? have1 > 0 : have1 >= BACKLOG_FRAMES * n);
    gboolean pad1 = have1 < n && (flush ? have0 > 0 : have0 >= BACKLOG_FRAMES * n);
    g_autoptr(GError) error = NULL;

    if ((have0 < n && !pad0) || (have1 < n && !pad1))
      break;
    for (guint i = 0; i < n; i++) {
      stereo[2 * i] = i < have0 ? g_array_index (call->pcm[0], gint16, i) : 0;
      stereo[2 * i + 1] = i < have1 ? g_array_index (call->pcm[1], gint16, i) : 0;
    }
    g_array_remove_range (call->pcm[0], 0, MIN (have0, n));
    g_array_remove_range (call->pcm[1], 0, MIN (have1, n));
    if (!kc_lea_wav_write (call->wav, stereo, n, &error)) {
      kc_lea_recorder_problem (call->rec, call->call_id, error->message);
      g_array_set_size (call->pcm[0], 0);
      g_array_set_size (call->pcm[1], 0);
      break;
    }
  }
}

static void
add_direction (JsonBuilder *b, LeaCall *call, int d)
{
  json_builder_set_member_name (b, kc_direction_to_string ((KcDirection) d));
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rtp");
  json_builder_add_int_value (b, (gint64) call->rtp[d]);
  json_builder_set_member_name (b, "rtcp");
  json_builder_add_int_value (b, (gint64) call->rtcp[d]);
  json_builder_end_object (b);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* Folds the SRTP sessions' refusals into the call's counts. */
static void
call_count_srtp (LeaCall *call)
{
  for (int d = 0; d < 2; d++) {
    KcSrtpStats st = { 0 };

    if (call->srtp[d] == NULL)
      continue;
    kc_srtp_session_get_stats (call->srtp[d], &st);
    call->refused[KC_LEA_REFUSED_AUTH] += st.rejected[KC_SRTP_REJECT_AUTH];
    call->refused[KC_LEA_REFUSED_REPLAY] += st.rejected[KC_SRTP_REJECT_REPLAY];
    call->refused[KC_LEA_REFUSED_MALFORMED] += st.rejected[KC_SRTP_REJECT_MALFORMED]
                                               + st.rejected[KC_SRTP_REJECT_OTHER];
  }
}

static void
call_write_record (LeaCall *call, double seconds, guint64 lost)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *wav_name = g_path_get_basename (call->wav_path);

  json_builder_begin_object (b);
  add_string (b, "call", call->call_id);
  add_string (b, "caller", call->caller);
  add_string (b, "callee", call->callee);
  add_string (b, "controller", call->controller);
  add_string (b, "tap", call->tap);
  add_string (b, "created", call->created);
  add_string (b, "answered", call->answered);
  add_string (b, "ended", call->ended);
  add_string (b, "outcome", call->outcome);
  add_string (b, "recording_started", call->rec_started);
  add_string (b, "recording_ended", call->rec_ended);
  add_string (b, "key_id", call->key_id);
  add_string (b, "fingerprint", call->fingerprint);
  add_string (b, "codec", kc_codec_get_sdp_name (call->codec));
  json_builder_set_member_name (b, "payload");
  json_builder_add_int_value (b, call->payload);
  json_builder_set_member_name (b, "clock");
  json_builder_add_int_value (b, call->clock);
  add_string (b, "suite", kc_suite_to_string (call->suite));
  add_string (b, "wav", wav_name);
  add_string (b, "channels", "left caller-to-callee, right callee-to-caller");
  json_builder_set_member_name (b, "audio_seconds");
  json_builder_add_double_value (b, (double) (gint64) (seconds * 1000 + 0.5) / 1000);
  json_builder_set_member_name (b, "packets");
  json_builder_begin_object (b);
  add_direction (b, call, 0);
  add_direction (b, call, 1);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "lost");
  json_builder_add_int_value (b, (gint64) lost);
  json_builder_set_member_name (b, "refused");
  json_builder_begin_object (b);
  for (int r = 0; r < KC_LEA_REFUSED_COUNT; r++) {
    json_builder_set_member_name (b, kc_lea_refused_names[r]);
    json_builder_add_int_value (b, (gint64) call->refused[r]);
  }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  if (!kc_lea_json_write (json_node_get_object (root), call->record_path, &error))
    kc_lea_recorder_problem (call->rec, call->call_id, error->message);
}

/* The call is over (or the LEA stops): last frames, files, key wiped. */
void
kc_lea_call_close (LeaCall *call)
{
  KcLeaRecorder *rec = call->rec;

  if (call->closed)
    return;
  call->closed = TRUE;
  call->closed_at = g_get_monotonic_time ();
  kc_lea_call_drop_pending (call, KC_LEA_REFUSED_NO_KEY);
  if (call->wav != NULL) {
    g_autoptr(GError) error = NULL;
    KcLeaRecording r = { 0 };
    guint64 frames;

    for (int d = 0; d < 2; d++)
      if (call->dec[d] != NULL) {
        gint16 frame[KC_AUDIO_FRAME_SAMPLES];

        kc_decoder_finish (call->dec[d]);
        while (kc_decoder_pull_frame (call->dec[d], frame, DRAIN_MS))
          g_array_append_vals (call->pcm[d], frame, KC_AUDIO_FRAME_SAMPLES);
      }
    kc_lea_call_write (call, TRUE);
    call_count_srtp (call);
    frames = kc_lea_wav_get_frames (call->wav);
    call->rec_ended = now_text ();
    if (!kc_lea_wav_close (g_steal_pointer (&call->wav), &error))
      kc_lea_recorder_problem (rec, call->call_id, error->message);
    r.call_id = call->call_id;
    r.wav_path = call->wav_path;
    r.record_path = call->record_path;
    r.packets = call->rtp[0] + call->rtp[1] + call->rtcp[0] + call->rtcp[1];
    r.lost = call_lost (call);
    for (int i = 0; i < KC_LEA_REFUSED_COUNT; i++)
      r.refused += call->refused[i];
    r.audio_seconds = (double) frames / KC_AUDIO_RATE;
    call_write_record (call, r.audio_seconds, r.lost);
    kc_lea_call_wipe (call);
    if (rec->funcs.recorded != NULL)
      rec->funcs.recorded (&r, rec->user_data);
  } else {
    /* Never recorded: copies refused before are the recorder's to report. */
    for (int i = 0; i < KC_LEA_REFUSED_COUNT; i++)
      rec->refused[i] += call->refused[i];
    memset (call->refused, 0, sizeof call->refused);
    kc_lea_call_wipe (call);
  }
}
