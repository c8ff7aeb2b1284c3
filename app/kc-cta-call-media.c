/* kc-cta-call-media.c: a call's media: the SDP offer and answer (RFC 3264)
 * and the SRTP stream that starts once the call is answered (330).
 *
 * The port pair is bound before the first SDP goes out, so the offer (A) or
 * answer (B) names a port that is really ours. The codec and SRTP suite are
 * chosen by B from A's offer; the suite decides the SRTP keys derived from
 * K, so both ends must agree on it before K is used. Media starts only in
 * state ANSWERED, which needs both acknowledgments (FIG. 3: 322 and 328).
 */
#define G_LOG_DOMAIN "kc-cta"

#include "config.h"

#include "kc-cta-call-private.h"
#include "kc-cta-account-private.h"
#include "kc-audio-device.h"
#include "kc-error.h"
#include "kc-sdp-key.h"

#include <string.h>

/* RFC 4733 payload types we offer with each clock rate. */
#define DTMF_PT_48K 101
#define DTMF_PT_8K  100

/* A copy of a received SDP body that holds no key: the body may carry K in
 * a=key-mgmt (320), so it is copied into secure memory and only its
 * redacted form (keys replaced by fingerprints) goes to the parser. */
static char *
sdp_without_keys (const char *body,
                  gsize       len,
                  GError    **error)
{
  g_autoptr(KcSecret) text = NULL;

  if (len >= KC_SECRET_MAX_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The SDP is %" G_GSIZE_FORMAT " bytes; a Keycall softphone reads at most %d",
                 len, KC_SECRET_MAX_LEN - 1);
    return NULL;
  }
  if (memchr (body, '\0', len) != NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The SDP contains a NUL byte");
    return NULL;
  }
  text = kc_secret_new (len + 1);
  memcpy (kc_secret_get_mutable (text), body, len);
  kc_secret_get_mutable (text)[len] = '\0';
  return kc_sdp_redact ((const char *) kc_secret_get_data (text));
}

static gboolean
codec_from_encoding (const char *encoding,
                     KcCodec    *codec)
{
  if (g_ascii_strcasecmp (encoding, "opus") == 0)
    *codec = KC_CODEC_OPUS;
  else if (g_ascii_strcasecmp (encoding, "PCMU") == 0)
    *codec = KC_CODEC_PCMU;
  else if (g_ascii_strcasecmp (encoding, "PCMA") == 0)
    *codec = KC_CODEC_PCMA;
  else
    return FALSE;
  return TRUE;
}

static gboolean
ensure_stream (KcCtaCall *self,
               GError   **error)
{
  if (self->media != NULL)
    return TRUE;
  self->media = kc_media_stream_new (kc_cta_account_get_address (self->account), error);
  return self->media != NULL;
}

static char *
build_sdp_full (KcCtaCall          *self,
                const KcSdpFormat  *formats,
                guint               n_formats,
                const KcSuite      *suites,
                guint               n_suites,
                KcSdpDirection      direction,
                const char         *key_mgmt)
{
  KcSdpBuild build = {
    .address = kc_cta_account_get_address (self->account),
    .port = kc_media_stream_get_port (self->media),
    .session_id = self->sdp_session,
    .session_version = self->sdp_version,
    .direction = direction,
    .formats = formats,
    .n_formats = n_formats,
    .suites = suites,
    .n_suites = n_suites,
    .ptime = KC_AUDIO_FRAME_MS,
  };

  return kc_cta_sdp_build (&build, key_mgmt);
}

static char *
build_sdp (KcCtaCall          *self,
           const KcSdpFormat  *formats,
           guint               n_formats,
           const KcSuite      *suites,
           guint               n_suites,
           const char         *key_mgmt)
{
  return build_sdp_full (self, formats, n_formats, suites, n_suites, KC_SDP_SENDRECV, key_mgmt);
}

char *
kc_cta_call_media_offer (KcCtaCall *self,
                         GError   **error)
{
  const char * const *codecs = kc_cta_account_get_codecs (self->account);
  GArray *suites = kc_cta_account_get_suites (self->account);
  g_autoptr(GArray) formats = g_array_new (FALSE, TRUE, sizeof (KcSdpFormat));
  gboolean want_48k = FALSE, want_8k = FALSE;

  if (!ensure_stream (self, error))
    return NULL;
  for (guint i = 0; codecs[i] != NULL; i++) {
    KcCodec codec;
    KcSdpFormat f = { 0, };

    if (!codec_from_encoding (codecs[i], &codec))
      continue;
    f.pt = kc_codec_get_default_pt (codec);
    f.encoding = (char *) codecs[i];
    f.clock_rate = kc_codec_get_clock_rate (codec);
    f.channels = codec == KC_CODEC_OPUS ? 2 : 1;
    g_array_append_val (formats, f);
    want_48k |= f.clock_rate == 48000;
    want_8k |= f.clock_rate == 8000;
  }
  /* Telephone events at each clock rate a codec uses (RFC 4733 §2.1). */
  if (want_48k) {
    KcSdpFormat f = { DTMF_PT_48K, (char *) "telephone-event", 48000, 1 };

    g_array_append_val (formats, f);
  }
  if (want_8k) {
    KcSdpFormat f = { DTMF_PT_8K, (char *) "telephone-event", 8000, 1 };

    g_array_append_val (formats, f);
  }
  return build_sdp (self, (KcSdpFormat *) formats->data, formats->len,
                    (KcSuite *) suites->data, suites->len, NULL);
}

static void
set_suite (KcCtaCall *self,
           KcSuite    suite)
{
  if (self->suite != suite) {
    self->suite = suite;
    g_object_notify (G_OBJECT (self), "suite");
  }
}

gboolean
kc_cta_call_media_take_offer (KcCtaCall   *self,
                              const char  *body,
                              gsize        len,
                              GError     **error)
{
  g_autofree char *sdp = NULL;
  g_autoptr(KcSdpMedia) offer = NULL;
  GArray *suites = kc_cta_account_get_suites (self->account);

  if (body == NULL || len == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The INVITE has no SDP offer; a Keycall softphone answers offers only");
    return FALSE;
  }
  sdp = sdp_without_keys (body, len, error);
  if (sdp == NULL)
    return FALSE;
  offer = kc_sdp_media_parse (sdp, error);
  if (offer == NULL)
    return FALSE;
  kc_sdp_choice_clear (&self->media_choice);
  if (!kc_sdp_media_negotiate (offer, kc_cta_account_get_codecs (self->account),
                               (KcSuite *) suites->data, suites->len, &self->media_choice,
                               error))
    return FALSE;
  if (!ensure_stream (self, error))
    return FALSE;
  set_suite (self, self->media_choice.suite);
  g_clear_pointer (&self->remote_media, kc_sdp_media_free);
  self->remote_media = g_steal_pointer (&offer);
  return TRUE;
}

char *
kc_cta_call_media_answer (KcCtaCall  *self,
                          const char *key_mgmt)
{
  return kc_cta_call_media_sdp (self, KC_SDP_SENDRECV, key_mgmt);
}

char *
kc_cta_call_media_sdp (KcCtaCall      *self,
                       KcSdpDirection  direction,
                       const char     *key_mgmt)
{
  KcSdpFormat formats[2];
  guint n = 0;

  g_return_val_if_fail (self->remote_media != NULL && self->media != NULL, NULL);

  formats[n++] = self->media_choice.audio;
  if (self->media_choice.dtmf_pt >= 0)
    formats[n++] = (KcSdpFormat) { (guint) self->media_choice.dtmf_pt,
                                   (char *) "telephone-event",
                                   self->media_choice.audio.clock_rate, 1 };
  return build_sdp_full (self, formats, n, &self->media_choice.suite, 1, direction, key_mgmt);
}

/* A line that carries a key: a=key-mgmt (any protocol) or a=crypto. */
static gboolean
has_key_line (const char *body,
              gsize       len)
{
  const char *end = body + len;

  for (const char *line = body; line < end;) {
    const char *next = line;

    if ((gsize) (end - line) >= 10 && g_ascii_strncasecmp (line, "a=key-mgmt", 10) == 0)
      return TRUE;
    if ((gsize) (end - line) >= 8 && g_ascii_strncasecmp (line, "a=crypto", 8) == 0)
      return TRUE;
    while (next < end && *next != '\r' && *next != '\n')
      next++;
    while (next < end && (*next == '\r' || *next == '\n'))
      next++;
    line = next;
  }
  return FALSE;
}

KcSdpMedia *
kc_cta_call_media_read_update (KcCtaCall   *self,
                               const char  *body,
                               gsize        len,
                               GError     **error)
{
  g_autofree char *sdp = NULL;
  g_autoptr(KcSdpMedia) update = NULL;
  gboolean codec = FALSE, suite;

  if (body == NULL || len == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "No SDP: a Keycall call is changed only by an SDP offer (hold or resume)");
    return NULL;
  }
  if (has_key_line (body, len)) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The SDP carries a key: the call key never changes inside a call");
    return NULL;
  }
  if (self->remote_media == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED, "The call has no agreed audio stream yet");
    return NULL;
  }
  sdp = sdp_without_keys (body, len, error);
  if (sdp == NULL)
    return NULL;
  update = kc_sdp_media_parse (sdp, error);
  if (update == NULL)
    return NULL;
  /* Same stream, same codec, same suite: only the direction may change
   * (the SRTP keys and the stream's sockets stay as they are). */
  if (update->port != self->remote_media->port
      || g_strcmp0 (update->address, self->remote_media->address) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The SDP moves the audio from %s:%u to %s:%u; a Keycall call keeps its "
                 "media address", self->remote_media->address, self->remote_media->port,
                 update->address, update->port);
    return NULL;
  }
  for (guint i = 0; i < update->formats->len; i++) {
    KcSdpFormat *f = &g_array_index (update->formats, KcSdpFormat, i);

    codec |= f->pt == self->media_choice.audio.pt
             && g_ascii_strcasecmp (f->encoding, self->media_choice.audio.encoding) == 0;
  }
  suite = update->suites->len > 0 ? g_array_index (update->suites, KcSuite, 0)
                                    == self->media_choice.suite
                                  : self->media_choice.suite == KC_SUITE_DEFAULT;
  for (guint i = 1; !suite && i < update->suites->len; i++)
    suite = g_array_index (update->suites, KcSuite, i) == self->media_choice.suite;
  if (!codec || !suite) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The SDP drops the call's %s %s/%u; a Keycall call keeps its codec and "
                 "SRTP suite", !codec ? "codec" : "SRTP suite",
                 self->media_choice.audio.encoding, self->media_choice.audio.clock_rate);
    return NULL;
  }
  return g_steal_pointer (&update);
}

void
kc_cta_call_media_apply_hold (KcCtaCall *self)
{
  if (self->audio != NULL)
    kc_cta_audio_set_paused (self->audio, self->held || self->remote_held);
}

gboolean
kc_cta_call_media_take_answer (KcCtaCall   *self,
                               const char  *body,
                               gsize        len,
                               GError     **error)
{
  g_autofree char *sdp = NULL;
  g_autoptr(KcSdpMedia) answer = NULL;
  GArray *ours = kc_cta_account_get_suites (self->account);
  KcSdpChoice choice = { { 0, }, -1, KC_SUITE_DEFAULT };
  gboolean have_audio = FALSE, suite_ok = FALSE;
  KcCodec codec;

  sdp = sdp_without_keys (body, len, error);
  if (sdp == NULL)
    return FALSE;
  answer = kc_sdp_media_parse (sdp, error);
  if (answer == NULL)
    return FALSE;
  if (answer->port == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED, "The other side refused the audio stream");
    return FALSE;
  }
  for (guint i = 0; i < answer->formats->len; i++) {
    KcSdpFormat *f = &g_array_index (answer->formats, KcSdpFormat, i);

    if (!have_audio && codec_from_encoding (f->encoding, &codec)
        && g_strv_contains (kc_cta_account_get_codecs (self->account),
                            codec == KC_CODEC_OPUS ? "opus" : f->encoding)) {
      choice.audio = *f;
      choice.audio.encoding = g_strdup (f->encoding);
      have_audio = TRUE;
    }
  }
  for (guint i = 0; have_audio && i < answer->formats->len; i++) {
    KcSdpFormat *f = &g_array_index (answer->formats, KcSdpFormat, i);

    if (g_ascii_strcasecmp (f->encoding, "telephone-event") == 0
        && f->clock_rate == choice.audio.clock_rate)
      choice.dtmf_pt = (int) f->pt;
  }
  if (!have_audio) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The answer names no codec this phone offered");
    return FALSE;
  }
  choice.suite = answer->suites->len > 0 ? g_array_index (answer->suites, KcSuite, 0)
                                         : KC_SUITE_DEFAULT;
  for (guint i = 0; i < ours->len; i++)
    suite_ok |= g_array_index (ours, KcSuite, i) == choice.suite;
  if (!suite_ok) {
    kc_sdp_choice_clear (&choice);
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "The answer chose SRTP suite %s, which this phone did not offer",
                 kc_suite_to_string (choice.suite));
    return FALSE;
  }
  kc_sdp_choice_clear (&self->media_choice);
  self->media_choice = choice;
  set_suite (self, choice.suite);
  g_clear_pointer (&self->remote_media, kc_sdp_media_free);
  self->remote_media = g_steal_pointer (&answer);
  return TRUE;
}

static void
emit_media_event (KcCtaCall   *self,
                  KcEventKind  kind,
                  const char  *summary)
{
  /* Media is what 330 opens: the events go with it in the flow. */
  g_autoptr(KcEvent) event = kc_cta_call_event_new (self, kind, 330);

  if (event == NULL)
    return;
  kc_event_set_summary (event, summary);
  kc_cta_call_emit (self, event);
}

void
kc_cta_call_media_start (KcCtaCall *self)
{
  g_autoptr(KcSecret) send_key = NULL;
  g_autoptr(KcSecret) recv_key = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *cname = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *in = NULL, *out = NULL;
  KcDirection ours = self->direction == KC_CTA_CALL_OUTGOING ? KC_DIRECTION_CALLER_TO_CALLEE
                                                              : KC_DIRECTION_CALLEE_TO_CALLER;
  KcDirection theirs = ours == KC_DIRECTION_CALLER_TO_CALLEE ? KC_DIRECTION_CALLEE_TO_CALLER
                                                            : KC_DIRECTION_CALLER_TO_CALLEE;
  KcMediaParams params = { 0, };

  if (self->media == NULL || self->remote_media == NULL) {
    g_warning ("Call %s: answered without an agreed audio stream; no media", self->call_id);
    return;
  }
  codec_from_encoding (self->media_choice.audio.encoding, &params.codec);
  cname = g_strdup_printf ("%s@keycall", kc_cta_account_get_number (self->account));
  params.remote_address = self->remote_media->address;
  params.remote_rtp_port = self->remote_media->port;
  params.remote_rtcp_port = self->remote_media->rtcp_port;
  params.pt = self->media_choice.audio.pt;
  params.dtmf_pt = self->media_choice.dtmf_pt;
  params.suite = self->media_choice.suite;
  params.send_direction = ours;
  params.cname = cname;

  send_key = kc_cta_call_get_srtp_key (self, ours, &error);
  if (send_key != NULL)
    recv_key = kc_cta_call_get_srtp_key (self, theirs, &error);
  if (recv_key == NULL
      || !kc_media_stream_start (self->media, &params, send_key, recv_key, &error)) {
    g_warning ("Call %s: media did not start: %s", self->call_id, error->message);
    emit_media_event (self, KC_EVENT_KIND_ERROR, error->message);
    return;
  }
  self->audio = kc_cta_audio_new (kc_cta_account_get_audio_in (self->account),
                                  kc_cta_account_get_audio_out (self->account), self->media,
                                  &error);
  if (self->audio == NULL)
    g_warning ("Call %s: no sound: %s; the encrypted stream runs with silence", self->call_id,
               error->message);
  else {
    kc_cta_audio_set_muted (self->audio, self->muted);
    kc_cta_call_media_apply_hold (self);
    in = kc_cta_audio_describe (self->audio, FALSE);
    out = kc_cta_audio_describe (self->audio, TRUE);
  }
  summary = g_strdup_printf ("SRTP %s, %s/%u, %s:%u → %s:%u, audio in %s, out %s",
                             kc_suite_to_string (params.suite),
                             self->media_choice.audio.encoding,
                             self->media_choice.audio.clock_rate,
                             kc_media_stream_get_address (self->media),
                             kc_media_stream_get_port (self->media), params.remote_address,
                             params.remote_rtp_port, in ? in : "none", out ? out : "none");
  g_debug ("Call %s: media %s", self->call_id, summary);
  emit_media_event (self, KC_EVENT_KIND_MEDIA_START, summary);
  g_free (self->media_summary);
  self->media_summary = g_steal_pointer (&summary);
  g_signal_emit_by_name (self, "media-started");
}

void
kc_cta_call_media_stop (KcCtaCall *self)
{
  KcMediaStats st;
  g_autofree char *summary = NULL;
  gboolean ran;

  if (self->media == NULL)
    return;
  ran = kc_media_stream_is_running (self->media);
  if (self->audio != NULL)
    kc_cta_audio_get_playout (self->audio, &self->playout_underruns, &self->playout_skipped);
  g_clear_pointer (&self->audio, kc_cta_audio_free);
  kc_media_stream_stop (self->media);
  if (!ran)
    return;
  kc_media_stream_get_stats (self->media, &st);
  summary = g_strdup_printf ("sent %" G_GUINT64_FORMAT " received %" G_GUINT64_FORMAT
                             " rejected replay %" G_GUINT64_FORMAT " auth %" G_GUINT64_FORMAT
                             " malformed %" G_GUINT64_FORMAT " lost %" G_GINT64_FORMAT
                             " jitter %.1f ms rtt %.1f ms",
                             st.rtp_sent, st.rtp_received,
                             st.srtp_in.rejected[KC_SRTP_REJECT_REPLAY],
                             st.srtp_in.rejected[KC_SRTP_REJECT_AUTH],
                             st.srtp_in.rejected[KC_SRTP_REJECT_MALFORMED],
                             st.rtcp.packets_lost, st.rtcp.jitter_ms, st.rtcp.rtt_ms);
  g_debug ("Call %s: media %s", self->call_id, summary);
  emit_media_event (self, KC_EVENT_KIND_MEDIA_STOP, summary);
}

gboolean
kc_cta_call_get_media_stats (KcCtaCall    *self,
                             KcMediaStats *stats)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);

  if (self->media == NULL)
    return FALSE;
  kc_media_stream_get_stats (self->media, stats);
  return TRUE;
}

KcMediaStream *
kc_cta_call_get_media (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->media;
}

const char *
kc_cta_call_get_jack_client (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->audio != NULL ? kc_cta_audio_get_jack_client (self->audio) : NULL;
}

const char *
kc_cta_call_describe_media (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), NULL);
  return self->media_summary;
}

void
kc_cta_call_set_muted (KcCtaCall *self,
                       gboolean   muted)
{
  g_return_if_fail (KC_IS_CTA_CALL (self));

  muted = !!muted;
  if (self->muted == muted)
    return;
  self->muted = muted;
  if (self->audio != NULL)
    kc_cta_audio_set_muted (self->audio, muted);
  g_object_notify (G_OBJECT (self), "muted");
}

gboolean
kc_cta_call_get_muted (KcCtaCall *self)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);
  return self->muted;
}

void
kc_cta_call_get_levels (KcCtaCall *self,
                        double    *input_dbfs,
                        double    *output_dbfs)
{
  g_return_if_fail (KC_IS_CTA_CALL (self));

  if (input_dbfs != NULL)
    *input_dbfs = -100;
  if (output_dbfs != NULL)
    *output_dbfs = -100;
  if (self->audio != NULL && self->media != NULL && kc_media_stream_is_running (self->media))
    kc_cta_audio_get_levels (self->audio, input_dbfs, output_dbfs);
}

gboolean
kc_cta_call_send_dtmf (KcCtaCall  *self,
                       char        digit,
                       GError    **error)
{
  g_return_val_if_fail (KC_IS_CTA_CALL (self), FALSE);

  if (self->media == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CLOSED, "The call has no media yet");
    return FALSE;
  }
  return kc_media_stream_send_dtmf (self->media, digit, 100, error);
}

void
kc_cta_call_get_playout (KcCtaCall *self,
                         guint64   *underruns,
                         guint64   *skipped)
{
  g_return_if_fail (KC_IS_CTA_CALL (self));

  if (self->audio != NULL)
    kc_cta_audio_get_playout (self->audio, &self->playout_underruns, &self->playout_skipped);
  if (underruns != NULL)
    *underruns = self->playout_underruns;
  if (skipped != NULL)
    *skipped = self->playout_skipped;
}
