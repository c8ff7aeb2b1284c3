/* kc-lea-recorder.c: see kc-lea-recorder.h.
 *
 * Copies arrive on the main loop. A call is recorded once three things are
 * there: its key (from a `key` delivery, opened here), its media
 * parameters (the `call` delivery) and content; copies that arrive before
 * the first two wait in a bounded per-call buffer and are replayed in
 * arrival order. Each direction has its own receiving SRTP session and
 * decoder (jitter buffer inside); one 20 ms timer pulls what the decoders
 * made and writes stereo frames, left the caller's voice, right the
 * callee's. The two directions are kept in step by arrival: when one side
 * has more than BACKLOG_FRAMES waiting and the other nothing, the silent
 * side gets silence, so a one-way stretch still plays at its true time.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-recorder-private.h"

#include "kc-audio-device.h"
#include "kc-codec.h"
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-li-wire.h"
#include "kc-srtp.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>

const char *const kc_lea_refused_names[KC_LEA_REFUSED_COUNT] = {
  "not-x3", "auth", "replay", "malformed", "no-key", "overflow", "late", "decode",
};

const char *
kc_lea_refused_to_string (KcLeaRefused reason)
{
  return reason < KC_LEA_REFUSED_COUNT ? kc_lea_refused_names[reason] : "unknown";
}

/* The port ----------------------------------------------------------------- */

static void
on_copy (KcLeaRecorder *rec, const guint8 *data, gsize len, const char *source)
{
  KcLiX3Copy copy;
  LeaCall *call;
  Pending *p;

  if (!kc_li_x3_decode (data, len, &copy, NULL)) {
    rec->refused[KC_LEA_REFUSED_NOT_X3]++;
    return;
  }
  call = kc_lea_call_get (rec, copy.call_id, TRUE);
  if (call == NULL) {
    rec->refused[KC_LEA_REFUSED_OVERFLOW]++;
    return;
  }
  if (call->closed) {
    rec->refused[KC_LEA_REFUSED_LATE]++;
    return;
  }
  call->last_activity = g_get_monotonic_time ();
  kc_lea_call_track_seq (call, source, copy.seq);
  if (kc_lea_call_ready (call)) {
    kc_lea_call_process (call, copy.direction, copy.rtcp, copy.packet, copy.packet_len);
    return;
  }
  if (g_queue_get_length (&call->pending) >= PENDING_MAX
      || rec->pending_bytes + copy.packet_len > PENDING_BYTES) {
    call->refused[KC_LEA_REFUSED_OVERFLOW]++;
    return;
  }
  p = g_malloc (sizeof (Pending) + copy.packet_len);
  p->direction = copy.direction;
  p->rtcp = copy.rtcp;
  p->len = copy.packet_len;
  memcpy (p->data, copy.packet, copy.packet_len);
  rec->pending_bytes += p->len;
  g_queue_push_tail (&call->pending, p);
}

static gboolean
on_readable (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  KcLeaRecorder *rec = user_data;

  /* Drain, but yield to the loop now and then under a flood. */
  for (int i = 0; i < 256; i++) {
    g_autoptr(GSocketAddress) from = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *source = NULL;
    gssize n = g_socket_receive_from (socket, &from, (char *) rec->rx, PACKET_BUF, NULL,
                                      &error);

    if (n < 0) {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_debug ("content port: %s", error->message);
      break;
    }
    if (G_IS_INET_SOCKET_ADDRESS (from)) {
      g_autofree char *ip = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)));

      source = g_strdup_printf ("%s:%u", ip,
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from)));
    }
    on_copy (rec, rec->rx, (gsize) n, source ? source : "?");
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_tick (gpointer user_data)
{
  KcLeaRecorder *rec = user_data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  LeaCall *call;

  g_hash_table_iter_init (&it, rec->calls);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &call)) {
    if (call->closed) {
      if (now - call->closed_at > TOMBSTONE_S * G_USEC_PER_SEC) {
        g_hash_table_iter_remove (&it);
        kc_lea_call_free (call);
      }
      continue;
    }
    if (kc_lea_call_ready (call))
      kc_lea_call_write (call, FALSE);
    if ((call->end_at != 0 && now - call->end_at > END_GRACE_MS * 1000)
        || now - call->last_activity > (call->wav != NULL ? IDLE_S : IDLE_UNANSWERED_S)
                                         * G_USEC_PER_SEC) {
      kc_lea_call_close (call);
    } else if (!kc_lea_call_ready (call) && !g_queue_is_empty (&call->pending)
               && now - call->created_at > PENDING_MAX_S * G_USEC_PER_SEC) {
      /* Copies nobody gave a key for: refused, the call forgotten. */
      kc_lea_call_drop_pending (call, KC_LEA_REFUSED_NO_KEY);
      if (call->key == NULL)
        kc_lea_call_close (call);
    }
  }
  return G_SOURCE_CONTINUE;
}

/* Public ------------------------------------------------------------------- */

static gboolean
parse_address (const char *text, GInetSocketAddress **out, GError **error)
{
  g_autofree char *host = NULL;
  const char *colon = text ? strrchr (text, ':') : NULL;
  g_autoptr(GInetAddress) ip = NULL;
  guint64 port = 0;

  if (colon != NULL) {
    host = g_strndup (text, colon - text);
    if (host[0] == '[' && host[strlen (host) - 1] == ']') {
      memmove (host, host + 1, strlen (host));
      host[strlen (host) - 1] = '\0';
    }
    ip = g_inet_address_new_from_string (host);
  }
  if (ip == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "“%s” is not a content address: give a numeric HOST:PORT, "
                 "e.g. 127.0.0.1:47000", text ? text : "");
    return FALSE;
  }
  *out = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, (guint16) port));
  return TRUE;
}

KcLeaRecorder *
kc_lea_recorder_new (const char               *content,
                     const char               *record_dir,
                     const KcSecret           *lea_key,
                     const KcLeaRecorderFuncs *funcs,
                     gpointer                  user_data,
                     GError                  **error)
{
  g_autoptr(GInetSocketAddress) addr = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *ip = NULL;
  KcLeaRecorder *rec;

  g_return_val_if_fail (record_dir != NULL && lea_key != NULL, NULL);

  if (!parse_address (content, &addr, error))
    return NULL;
  if (g_mkdir_with_parents (record_dir, 0700) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot create the recording folder %s: %s",
                 record_dir, g_strerror (errno));
    return NULL;
  }
  rec = g_new0 (KcLeaRecorder, 1);
  rec->dir = g_strdup (record_dir);
  rec->lea_key = kc_secret_copy (lea_key);
  if (funcs != NULL)
    rec->funcs = *funcs;
  rec->user_data = user_data;
  rec->calls = g_hash_table_new (g_str_hash, g_str_equal);
  rec->buf = g_malloc (PACKET_BUF);
  rec->rx = g_malloc (PACKET_BUF);
  rec->socket = g_socket_new (g_inet_address_get_family (
                                g_inet_socket_address_get_address (addr)),
                              G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &local);
  if (rec->socket == NULL
      || !g_socket_bind (rec->socket, G_SOCKET_ADDRESS (addr), FALSE, &local)
      || (bound = g_socket_get_local_address (rec->socket, &local)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot receive content on %s: %s", content,
                 local->message);
    kc_lea_recorder_free (rec);
    return NULL;
  }
  g_socket_set_blocking (rec->socket, FALSE);
  /* Bursts of a few calls' copies while the loop writes files. */
  g_socket_set_option (rec->socket, SOL_SOCKET, SO_RCVBUF, 4 << 20, NULL);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (
                                   G_INET_SOCKET_ADDRESS (bound)));
  rec->address = g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (
                                    G_INET_SOCKET_ADDRESS (bound)));
  rec->source = g_socket_create_source (rec->socket, G_IO_IN, NULL);
  g_source_set_callback (rec->source, (GSourceFunc) (GCallback) on_readable, rec, NULL);
  g_source_attach (rec->source, NULL);
  rec->tick_id = g_timeout_add (TICK_MS, on_tick, rec);
  return rec;
}

void
kc_lea_recorder_close_all (KcLeaRecorder *rec)
{
  GHashTableIter it;
  LeaCall *call;

  g_return_if_fail (rec != NULL);

  if (rec->source != NULL) {
    g_source_destroy (rec->source);
    g_clear_pointer (&rec->source, g_source_unref);
  }
  g_clear_handle_id (&rec->tick_id, g_source_remove);
  g_hash_table_iter_init (&it, rec->calls);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &call)) {
    if (!call->closed && call->ended == NULL)
      call->outcome = g_strdup ("recording stopped by the LEA");
    kc_lea_call_close (call);
    g_hash_table_iter_remove (&it);
    kc_lea_call_free (call);
  }
}

void
kc_lea_recorder_free (KcLeaRecorder *rec)
{
  if (rec == NULL)
    return;
  kc_lea_recorder_close_all (rec);
  g_hash_table_unref (rec->calls);
  g_clear_object (&rec->socket);
  g_clear_pointer (&rec->lea_key, kc_secret_free);
  g_free (rec->buf);
  g_free (rec->rx);
  g_free (rec->address);
  g_free (rec->dir);
  g_free (rec);
}

const char *
kc_lea_recorder_get_address (KcLeaRecorder *rec)
{
  return rec->address;
}

void
kc_lea_recorder_get_refused (KcLeaRecorder *rec, guint64 counts[KC_LEA_REFUSED_COUNT])
{
  memcpy (counts, rec->refused, sizeof rec->refused);
}

gboolean
kc_lea_recorder_add_key (KcLeaRecorder          *rec,
                         const KcLeaKeyDelivery *key,
                         char                    fingerprint[KC_FINGERPRINT_LEN],
                         gboolean               *is_new,
                         GError                **error)
{
  g_autoptr(KcSecret) k = NULL;
  g_autoptr(GError) local = NULL;
  KcKeyId id;
  LeaCall *call;

  g_return_val_if_fail (rec != NULL && key != NULL, FALSE);

  if (is_new != NULL)
    *is_new = TRUE;
  if (key->call_id == NULL || key->key_id_hex == NULL || key->enc == NULL || key->sealed == NULL
      || !kc_key_id_from_hex (&id, key->key_id_hex, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The key record lacks a Call-ID, a key id, enc or sealed");
    return FALSE;
  }
  k = kc_hpke_open_call_key (rec->lea_key, &id, key->call_id, key->enc, key->sealed, &local);
  if (k == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The sealed key %s of call %s does not open with this LEA's key: %s",
                 key->key_id_hex, key->call_id, local->message);
    return FALSE;
  }
  kc_secret_fingerprint (k, fingerprint);
  if (key->fingerprint == NULL || strcmp (key->fingerprint, fingerprint) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "The key of call %s opens to fingerprint %s, but the controller announced %s",
                 key->call_id, fingerprint, key->fingerprint ? key->fingerprint : "none");
    return FALSE;
  }
  if (key->kind == KC_LEA_TAP_PAST)
    return TRUE;    /* no content follows: k is wiped on return */

  call = kc_lea_call_get (rec, key->call_id, TRUE);
  if (call == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "Already %d calls in progress: the key of call %s is not kept", MAX_CALLS,
                 key->call_id);
    return FALSE;
  }
  if (call->closed) {
    /* Over already: nothing left to decrypt, the key goes on return. */
    if (is_new != NULL)
      *is_new = strcmp (call->key_id, key->key_id_hex) != 0;
    return TRUE;
  }
  if (call->key != NULL) {
    if (strcmp (call->key_id, key->key_id_hex) == 0) {
      if (is_new != NULL)
        *is_new = FALSE;
      return TRUE;
    }
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Call %s already has key %s; a second key %s is ignored", key->call_id,
                 call->key_id, key->key_id_hex);
    return FALSE;
  }
  call->key = g_steal_pointer (&k);
  g_strlcpy (call->key_id, key->key_id_hex, sizeof call->key_id);
  memcpy (call->fingerprint, fingerprint, KC_FINGERPRINT_LEN);
  call->tap = g_strdup (key->tap);
  call->caller = g_strdup (key->caller);
  call->callee = g_strdup (key->callee);
  call->created = g_strdup (key->created);
  call->controller = g_strdup (key->controller_name);
  call->last_activity = g_get_monotonic_time ();
  kc_lea_call_try_start (call);
  return TRUE;
}

static gboolean
codec_from_name (const char *name, KcCodec *codec)
{
  for (KcCodec c = KC_CODEC_OPUS; c <= KC_CODEC_PCMA; c++) {
    const char *full = kc_codec_get_sdp_name (c);
    gsize n = strcspn (full, "/");

    if (g_ascii_strcasecmp (name, full) == 0
        || (strlen (name) == n && g_ascii_strncasecmp (name, full, n) == 0)) {
      *codec = c;
      return TRUE;
    }
  }
  return FALSE;
}

gboolean
kc_lea_recorder_set_call (KcLeaRecorder           *rec,
                          const KcLeaCallDelivery *delivery,
                          GError                 **error)
{
  KcCodec codec;
  KcSuite suite;
  LeaCall *call;

  g_return_val_if_fail (rec != NULL && delivery != NULL, FALSE);

  if (delivery->codec == NULL || !codec_from_name (delivery->codec, &codec)) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "Call %s uses codec “%s”, which this LEA cannot decode (opus, PCMU, PCMA)",
                 delivery->call_id, delivery->codec ? delivery->codec : "");
    return FALSE;
  }
  suite = delivery->suite ? kc_suite_from_string (delivery->suite) : KC_SUITE_INVALID;
  if (suite == KC_SUITE_INVALID || delivery->payload > 127) {
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "Call %s has SRTP suite “%s” and payload type %u: not something this LEA "
                 "can decrypt", delivery->call_id, delivery->suite ? delivery->suite : "",
                 delivery->payload);
    return FALSE;
  }
  call = kc_lea_call_get (rec, delivery->call_id, TRUE);
  if (call == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "Already %d calls in progress: call %s is not recorded", MAX_CALLS,
                 delivery->call_id);
    return FALSE;
  }
  if (call->closed || call->have_params)
    return TRUE;
  call->have_params = TRUE;
  call->codec = codec;
  call->payload = delivery->payload;
  call->clock = delivery->clock ? delivery->clock : kc_codec_get_clock_rate (codec);
  call->suite = suite;
  call->answered = g_strdup (delivery->answered);
  call->last_activity = g_get_monotonic_time ();
  kc_lea_call_try_start (call);
  return TRUE;
}

void
kc_lea_recorder_end_call (KcLeaRecorder *rec, const KcLeaEndDelivery *end)
{
  LeaCall *call;

  g_return_if_fail (rec != NULL && end != NULL);

  call = end->call_id ? kc_lea_call_get (rec, end->call_id, FALSE) : NULL;
  if (call == NULL || call->closed || call->end_at != 0)
    return;
  call->end_at = g_get_monotonic_time ();
  call->ended = g_strdup (end->ended);
  call->outcome = g_strdup (end->outcome);
}
