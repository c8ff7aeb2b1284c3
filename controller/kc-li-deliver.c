/* kc-li-deliver.c: lawful intercept on the call side: X2 deliveries (key,
 * call, end), the hooks the call code calls, and X3 copies made on the
 * relay thread. */
#define G_LOG_DOMAIN "keycall-controller"

#include "config.h"

#include "kc-li-private.h"

#include "kc-error.h"
#include "kc-li-wire.h"
#include "kc-sip-util.h"

#include <string.h>
#include <sys/socket.h>

#define RELAY_PACKET 2048          /* kc-relay.c never forwards more */

/* Sinks and the relay hook ------------------------------------------------------ */

static LiSink *
sink_ref (LiSink *sink)
{
  g_atomic_int_inc (&sink->refs);
  return sink;
}

static void
sink_unref (LiSink *sink)
{
  if (sink != NULL && g_atomic_int_dec_and_test (&sink->refs)) {
    g_free (sink->tap_id);
    g_free (sink);
  }
}

static void
hook_free (gpointer data)
{
  LiHook *hook = data;

  g_ptr_array_unref (hook->sinks);
  g_free (hook);
}

/* On the relay thread with the relay locked: encode, try once, never wait. */
static void
on_relay_copy (const char *call_id, KcRelayDirection direction, gboolean rtcp,
               const guint8 *data, gsize len, gpointer user_data)
{
  LiHook *hook = user_data;
  guint8 buf[10 + KC_LI_X3_MAX_CALL_ID + RELAY_PACKET];

  for (guint i = 0; i < hook->sinks->len; i++) {
    LiSink *sink = hook->sinks->pdata[i];
    guint32 seq = (guint32) g_atomic_int_add (&sink->seq, 1);
    gsize n = kc_li_x3_encode (buf, sizeof buf, call_id,
                               direction == KC_RELAY_CALLEE_TO_CALLER
                               ? KC_DIRECTION_CALLEE_TO_CALLER : KC_DIRECTION_CALLER_TO_CALLEE,
                               rtcp, seq, data, len);

    if (n == 0 || sink->fd < 0
        || sendto (sink->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (struct sockaddr *) &sink->addr, sink->addr_len) < 0)
      g_atomic_int_inc (&sink->dropped);
    else
      g_atomic_int_inc (&sink->copied);
  }
}

LiCall *
kc_li_call_get (KcLi *self, KcCall *call)
{
  LiCall *lc = g_hash_table_lookup (self->calls, call->id);

  if (lc == NULL) {
    lc = g_new0 (LiCall, 1);
    lc->id = g_strdup (call->id);
    lc->caller = g_strdup (call->caller);
    lc->callee = g_strdup (call->callee);
    lc->taps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) sink_unref);
    g_hash_table_insert (self->calls, lc->id, lc);
  }
  return lc;
}

void
kc_li_call_free (LiCall *lc)
{
  g_hash_table_unref (lc->taps);
  g_free (lc->id);
  g_free (lc->caller);
  g_free (lc->callee);
  g_free (lc->codec);
  g_free (lc->suite);
  g_free (lc);
}

/* Gives the relay the call's current set of sinks (or none). */
static void
li_call_update_hook (KcLi *self, LiCall *lc)
{
  KcCall *call = kc_call_find (self->ctrl, lc->id);
  KcRelayCall *relay_call = call ? kc_call_get_relay_call (call) : NULL;
  GHashTableIter iter;
  gpointer value;
  LiHook *hook;

  if (relay_call == NULL)
    return;
  hook = g_new0 (LiHook, 1);
  hook->sinks = g_ptr_array_new_with_free_func ((GDestroyNotify) sink_unref);
  g_hash_table_iter_init (&iter, lc->taps);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (value != NULL)
      g_ptr_array_add (hook->sinks, sink_ref (value));
  if (hook->sinks->len == 0) {
    hook_free (hook);
    kc_relay_call_set_copy_func (relay_call, NULL, NULL, NULL);
  }
  else
    kc_relay_call_set_copy_func (relay_call, on_relay_copy, hook, hook_free);
}

/* Audit and events ------------------------------------------------------------ */

/* The main loop never waits for the audit log: records are appended
 * asynchronously, in order (one writer), and what must not happen before
 * its record is durable, a delivery to an agency, waits in its
 * connection's queue for the record's completion (audited_send). */

void
kc_li_alive_unref (LiAlive *alive)
{
  if (--alive->refs == 0)
    g_free (alive);
}

static void audited_send (KcLi *self, GPtrArray *conns, const char *line, const char *actor,
                          const char *action, const char *call_id, const char *detail);

typedef struct {
  char *actor;
  char *action;
  char *detail;
} LiAuditNote;

static void
on_audit_done (KcStore *store, const GError *error, gpointer data)
{
  LiAuditNote *note = data;

  if (error != NULL)
    g_warning ("Audit log: cannot record %s by %s (%s): %s", note->action, note->actor,
               note->detail, error->message);
  g_free (note->actor);
  g_free (note->action);
  g_free (note->detail);
  g_free (note);
}

void
kc_li_audit (KcLi *self, const char *actor, const char *action, const char *format, ...)
{
  LiAuditNote *note = g_new0 (LiAuditNote, 1);
  va_list ap;

  va_start (ap, format);
  note->detail = g_strdup_vprintf (format, ap);
  va_end (ap);
  note->actor = g_strdup (actor);
  note->action = g_strdup (action);
  kc_store_audit_append_async (kc_controller_get_store (self->ctrl), actor, action, note->detail,
                               on_audit_done, note);
}

/* A delivery waiting for its audit record: the same line held on each of
 * the agency's connections. */
typedef struct {
  LiAlive   *alive;
  GPtrArray *conns;      /* LiConn, referenced */
  GPtrArray *outs;       /* LiOut held on conns[i] */
  char      *actor;
  char      *action;
  char      *detail;
  char      *call_id;
} LiAudited;

static void emit_delivered (KcLi *self, const char *actor, const char *action,
                            const char *call_id, const char *detail);

static void
on_audited (KcStore *store, const GError *error, gpointer data)
{
  LiAudited *a = data;
  KcLi *self = a->alive->li;
  gboolean sent = FALSE;

  /* No delivery without a durable audit record (docs/lawful-intercept.md). */
  if (error != NULL)
    g_warning ("Lawful intercept: %s to %s withheld, its audit record could not be written "
               "(%s): %s", a->action, a->actor, a->detail, error->message);
  for (guint i = 0; i < a->conns->len; i++)
    sent |= kc_li_conn_release (a->conns->pdata[i], a->outs->pdata[i], error == NULL);
  if (self != NULL && error != NULL)
    kc_li_emit (self, KC_EVENT_KIND_ERROR, 516, a->actor, a->call_id,
                "516 %s withheld: the audit log failed: %s", a->action, error->message);
  else if (self != NULL && sent)
    emit_delivered (self, a->actor, a->action, a->call_id, a->detail);
  g_ptr_array_unref (a->conns);
  g_ptr_array_unref (a->outs);
  kc_li_alive_unref (a->alive);
  g_free (a->actor);
  g_free (a->action);
  g_free (a->detail);
  g_free (a->call_id);
  g_free (a);
}

void
kc_li_conn_send_audited (LiConn *conn, JsonObject *object, const char *actor, const char *action,
                         const char *format, ...)
{
  g_autofree char *line = kc_li_message_to_line (object);
  g_autofree char *detail = NULL;
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  va_list ap;

  va_start (ap, format);
  detail = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_ptr_array_add (one, conn);
  audited_send (conn->li, one, line, actor, action, NULL, detail);
}

/* Queues @line on @conns (LiConn), to be written once its audit record
 * (@actor, @action, @detail) is durable; nothing queued after it on those
 * connections is written before. */
static void
audited_send (KcLi *self, GPtrArray *conns, const char *line, const char *actor,
              const char *action, const char *call_id, const char *detail)
{
  LiAudited *a = g_new0 (LiAudited, 1);

  a->alive = self->alive;
  a->alive->refs++;
  a->conns = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_li_conn_unref);
  a->outs = g_ptr_array_new ();
  for (guint i = 0; i < conns->len; i++) {
    LiConn *conn = conns->pdata[i];

    g_ptr_array_add (a->conns, kc_li_conn_ref (conn));
    g_ptr_array_add (a->outs, kc_li_conn_hold_line (conn, g_strdup (line)));
  }
  a->actor = g_strdup (actor);
  a->action = g_strdup (action);
  a->detail = g_strdup (detail);
  a->call_id = g_strdup (call_id);
  kc_store_audit_append_async (kc_controller_get_store (self->ctrl), actor, action, detail,
                               on_audited, a);
}

static void
emit_valist (KcLi *self, KcEventKind kind, int fig3, const char *lane, const char *call_id,
             const char *const *attrs, const char *format, va_list ap)
{
  KcEvent *event = kc_controller_event (self->ctrl, kind, fig3, call_id, lane);
  g_autofree char *summary = g_strdup_vprintf (format, ap);

  for (guint i = 0; attrs != NULL && attrs[i] != NULL && attrs[i + 1] != NULL; i += 2)
    kc_event_set_attr (event, attrs[i], attrs[i + 1]);
  kc_event_set_summary (event, summary);
  kc_controller_emit (self->ctrl, event);
}

void
kc_li_emit (KcLi *self, KcEventKind kind, int fig3, const char *lane, const char *call_id,
            const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  emit_valist (self, kind, fig3, lane, call_id, NULL, format, ap);
  va_end (ap);
}

void
kc_li_emit_attrs (KcLi *self, KcEventKind kind, int fig3, const char *lane, const char *call_id,
                  const char *const *attrs, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  emit_valist (self, kind, fig3, lane, call_id, attrs, format, ap);
  va_end (ap);
}

char *
kc_li_lea_actor (const char *lea)
{
  return kc_peer_lane (KC_ROLE_LEA, lea);
}

static void
emit_delivered (KcLi *self, const char *actor, const char *action, const char *call_id,
                const char *detail)
{
  if (g_str_equal (action, "key-delivered"))
    kc_li_emit (self, KC_EVENT_KIND_KEY_DELIVERED, 516, actor, call_id,
                "516 sealed key to %s: %s", actor, detail);
}

static void
pending_free (LiPending *p)
{
  g_free (p->line);
  g_free (p->action);
  g_free (p->detail);
  g_free (p->call_id);
  g_free (p);
}

void
kc_li_pending_queue_free (GQueue *queue)
{
  g_queue_free_full (queue, (GDestroyNotify) pending_free);
}

/* A delivery to agency @lea: written to its connections, or kept for it
 * (at most KC_LI_PENDING_MAX) until it connects again. Audited and
 * reported when written. */
static void
deliver (KcLi *self, const char *lea, JsonObject *object, const char *action,
         const char *call_id, const char *detail)
{
  g_autofree char *line = kc_li_message_to_line (object);
  g_autofree char *actor = kc_li_lea_actor (lea);
  g_autoptr(GPtrArray) conns = g_ptr_array_new ();

  for (GList *l = self->conns; l != NULL; l = l->next) {
    LiConn *conn = l->data;

    if (conn->ready && !conn->closing && g_strcmp0 (conn->lea, lea) == 0)
      g_ptr_array_add (conns, conn);
  }
  if (conns->len > 0) {
    audited_send (self, conns, line, actor, action, call_id, detail);
    return;
  }
  {
    GQueue *queue = g_hash_table_lookup (self->pending, lea);
    LiPending *p = g_new0 (LiPending, 1);

    if (queue == NULL) {
      queue = g_queue_new ();
      g_hash_table_insert (self->pending, g_strdup (lea), queue);
    }
    if (queue->length >= KC_LI_PENDING_MAX) {
      pending_free (g_queue_pop_head (queue));
      g_warning ("Lawful intercept: %s is not connected and %d deliveries wait for it; the "
                 "oldest was dropped (its key stays in the store)", actor, KC_LI_PENDING_MAX);
    }
    p->line = g_steal_pointer (&line);
    p->action = g_strdup (action);
    p->detail = g_strdup (detail);
    p->call_id = g_strdup (call_id);
    g_queue_push_tail (queue, p);
  }
}

void
kc_li_flush_pending (KcLi *self, LiConn *conn)
{
  GQueue *queue = g_hash_table_lookup (self->pending, conn->lea);
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  LiPending *p;

  g_ptr_array_add (one, conn);
  while (queue != NULL && (p = g_queue_pop_head (queue)) != NULL) {
    g_autofree char *detail = g_strdup_printf ("%s (held while %s was not connected)", p->detail,
                                               conn->lane);

    audited_send (self, one, p->line, conn->lane, p->action, p->call_id, detail);
    pending_free (p);
  }
  g_hash_table_remove (self->pending, conn->lea);
}

/* Deliveries ----------------------------------------------------------------- */

JsonObject *
kc_li_message_new (const char *op)
{
  JsonObject *object = json_object_new ();

  json_object_set_int_member (object, "v", 1);
  json_object_set_string_member (object, "op", op);
  return object;
}

void
kc_li_set_time (JsonObject *object, const char *name, gint64 us)
{
  g_autofree char *text = kc_li_time_format (us);

  json_object_set_string_member (object, name, text);
}

static void
set_base64 (JsonObject *object, const char *name, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = g_base64_encode (data, len);

  json_object_set_string_member (object, name, text);
}

/* Sends the stored record of @key_id for @tap; @conn when it answers a
 * request on that connection, else deliver(). */
gboolean
kc_li_send_key (KcLi *self, LiTap *tap, LiConn *conn, const KcKeyId *key_id,
                const KcSealedKey *given)
{
  g_autoptr(KcSealedKey) loaded = NULL;
  g_autoptr(JsonObject) object = kc_li_message_new ("key");
  g_autoptr(GError) error = NULL;
  g_autofree char *detail = NULL;
  const KcSealedKey *key = given;
  char hex[KC_KEY_ID_TEXT_LEN];

  if (key == NULL) {
    loaded = kc_store_get_key (kc_controller_get_store (self->ctrl), key_id, &error);
    if (loaded == NULL) {
      g_warning ("Lawful intercept: tap %s: cannot read the key of a call: %s", tap->tap->tap_id,
                 error->message);
      return FALSE;
    }
    key = loaded;
  }
  kc_key_id_to_hex (&key->key_id, hex);
  json_object_set_string_member (object, "tap", tap->tap->tap_id);
  json_object_set_string_member (object, "call", key->call_id);
  json_object_set_string_member (object, "key_id", hex);
  json_object_set_string_member (object, "caller", key->caller);
  json_object_set_string_member (object, "callee", key->callee);
  kc_li_set_time (object, "created", key->created_at);
  json_object_set_string_member (object, "controller", key->controller);
  json_object_set_string_member (object, "fingerprint", key->fingerprint);
  set_base64 (object, "enc", key->enc);
  set_base64 (object, "sealed", key->sealed);
  detail = g_strdup_printf ("tap=%s call=%s key_id=%s fingerprint=%s", tap->tap->tap_id,
                            key->call_id, hex, key->fingerprint);
  if (conn != NULL) {
    g_autofree char *line = kc_li_message_to_line (object);
    g_autoptr(GPtrArray) one = g_ptr_array_new ();

    g_ptr_array_add (one, conn);
    audited_send (self, one, line, conn->lane, "key-delivered", key->call_id, detail);
  }
  else
    deliver (self, tap->tap->lea, object, "key-delivered", key->call_id, detail);
  return TRUE;
}

static void
send_call_record (KcLi *self, LiTap *tap, LiCall *lc)
{
  g_autoptr(JsonObject) object = kc_li_message_new ("call");
  const char *media = lc->relayed ? "relayed" : "direct";
  g_autofree char *detail = g_strdup_printf ("tap=%s call=%s codec=%s suite=%s media=%s",
                                             tap->tap->tap_id, lc->id, lc->codec, lc->suite,
                                             media);

  json_object_set_string_member (object, "tap", tap->tap->tap_id);
  json_object_set_string_member (object, "call", lc->id);
  kc_li_set_time (object, "answered", lc->answered_at);
  json_object_set_string_member (object, "codec", lc->codec);
  json_object_set_int_member (object, "payload", lc->payload);
  json_object_set_int_member (object, "clock", lc->clock);
  json_object_set_string_member (object, "suite", lc->suite);
  /* "direct": the media does not pass this controller, so no content
   * (X3) will follow from here, only the key. */
  json_object_set_string_member (object, "media", media);
  deliver (self, tap->tap->lea, object, "call-delivered", lc->id, detail);
}

/* Attaches @tap to @lc: content from now on, the call record if answered. */
void
kc_li_attach (KcLi *self, LiTap *tap, LiCall *lc)
{
  LiSink *sink = NULL;

  if (g_hash_table_contains (lc->taps, tap->tap->tap_id))
    return;
  if (tap->address != NULL) {
    sink = g_new0 (LiSink, 1);
    sink->refs = 1;
    sink->tap_id = g_strdup (tap->tap->tap_id);
    sink->addr_len = sizeof sink->addr;
    g_socket_address_to_native (tap->address, &sink->addr, sizeof sink->addr, NULL);
    sink->addr_len = (socklen_t) g_socket_address_get_native_size (tap->address);
    sink->fd = sink->addr.ss_family == AF_INET6 ? self->fd6 : self->fd4;
  }
  g_hash_table_insert (lc->taps, g_strdup (tap->tap->tap_id), sink);
  if (sink != NULL) {
    KcCall *call = kc_call_find (self->ctrl, lc->id);
    g_autofree char *actor = kc_li_lea_actor (tap->tap->lea);

    li_call_update_hook (self, lc);
    kc_li_audit (self, actor, "content-started", "tap=%s call=%s content=%s anchored=%s",
                 tap->tap->tap_id, lc->id, tap->content,
                 call && kc_call_get_relay_call (call) ? "yes" : "not yet");
  }
  if (lc->answered)
    send_call_record (self, tap, lc);
}

/* Detaches @tap from @lc, reporting the content copied. */
void
kc_li_detach (KcLi *self, LiTap *tap, LiCall *lc, gboolean update)
{
  g_autofree char *key = NULL;
  g_autofree char *actor = NULL;
  LiSink *sink = NULL;
  guint copied, dropped;

  if (!g_hash_table_steal_extended (lc->taps, tap->tap->tap_id, (gpointer *) &key,
                                    (gpointer *) &sink))
    return;
  if (sink == NULL)
    return;
  /* The relay lets go of the sink first, so the counts are final. */
  if (update)
    li_call_update_hook (self, lc);
  copied = (guint) g_atomic_int_get (&sink->copied);
  dropped = (guint) g_atomic_int_get (&sink->dropped);
  actor = kc_li_lea_actor (tap->tap->lea);
  kc_li_audit (self, actor, "content-ended", "tap=%s call=%s packets=%u dropped=%u",
               tap->tap->tap_id, lc->id, copied, dropped);
  kc_li_emit (self, KC_EVENT_KIND_CONTENT_DELIVERED, 516, actor, lc->id,
              "content of %s to %s: %u packets copied, %u dropped", lc->id, tap->content, copied,
              dropped);
  sink_unref (sink);
}

static gboolean
tap_matches (LiTap *tap, LiCall *lc, gint64 now)
{
  return g_strcmp0 (tap->tap->number, lc->caller) == 0
         || g_strcmp0 (tap->tap->number, lc->callee) == 0
         ? (tap->tap->until == 0 || now <= tap->tap->until) : FALSE;
}

void
kc_li_call_keyed (KcLi *self, KcCall *call)
{
  GHashTableIter iter;
  gpointer value;
  LiCall *lc;
  gint64 now = g_get_real_time ();

  if (self == NULL || call->keying == NULL)
    return;
  lc = kc_li_call_get (self, call);
  lc->key_id = call->keying->id;
  lc->keyed = TRUE;
  g_hash_table_iter_init (&iter, self->taps);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    LiTap *tap = value;

    if ((tap->tap->kind == KC_TAP_FUTURE && tap_matches (tap, lc, now))
        || (tap->tap->kind == KC_TAP_CURRENT && tap->call_ids != NULL
            && g_ptr_array_find_with_equal_func (tap->call_ids, lc->id, g_str_equal, NULL))) {
      kc_li_attach (self, tap, lc);
      kc_li_send_key (self, tap, NULL, &lc->key_id, NULL);
    }
  }
}

void
kc_li_call_anchored (KcLi *self, KcCall *call)
{
  LiCall *lc;

  if (self != NULL && (lc = g_hash_table_lookup (self->calls, call->id)) != NULL)
    li_call_update_hook (self, lc);
}

void
kc_li_call_answered (KcLi *self, KcCall *call)
{
  g_autoptr(KcSdpMedia) media = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key;
  LiCall *lc;

  if (self == NULL)
    return;
  lc = kc_li_call_get (self, call);
  lc->answered = TRUE;
  lc->answered_at = call->answered_at ? call->answered_at : g_get_real_time ();
  lc->suite = g_strdup (kc_suite_to_string (KC_SUITE_DEFAULT));
  lc->relayed = call->relay_call != NULL;
  if (call->answer != NULL && (media = kc_call_sdp_media (call->answer, &error)) != NULL) {
    if (media->formats->len > 0) {
      KcSdpFormat *format = &g_array_index (media->formats, KcSdpFormat, 0);

      lc->codec = g_strdup (format->encoding);
      lc->payload = format->pt;
      lc->clock = format->clock_rate;
    }
    if (media->suites->len > 0) {
      g_free (lc->suite);
      lc->suite = g_strdup (kc_suite_to_string (g_array_index (media->suites, KcSuite, 0)));
    }
  }
  else if (error != NULL)
    g_message ("Lawful intercept: call %s: cannot read the answer: %s", call->id,
               error->message);
  if (lc->codec == NULL)
    lc->codec = g_strdup ("unknown");
  g_hash_table_iter_init (&iter, lc->taps);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    LiTap *tap = g_hash_table_lookup (self->taps, key);

    if (tap != NULL)
      send_call_record (self, tap, lc);
  }
}

void
kc_li_stop_tap (KcLi *self, LiTap *tap, const char *why)
{
  g_autoptr(GError) error = NULL;

  if (!kc_store_tap_stop (kc_controller_get_store (self->ctrl), tap->tap->tap_id,
                          g_get_real_time (), &error))
    g_warning ("Lawful intercept: cannot stop tap %s: %s", tap->tap->tap_id, error->message);
  g_message ("Lawful intercept: tap %s on %s stopped: %s", tap->tap->tap_id, tap->tap->number,
             why);
  g_hash_table_remove (self->taps, tap->tap->tap_id);
}

void
kc_li_call_ended (KcLi *self, KcCall *call, const char *outcome)
{
  g_autoptr(GPtrArray) ids = NULL;
  LiCall *lc;

  if (self == NULL || (lc = g_hash_table_lookup (self->calls, call->id)) == NULL)
    return;
  /* No copy after this: the counts reported below are final. */
  if (call->relay_call != NULL)
    kc_relay_call_set_copy_func (call->relay_call, NULL, NULL, NULL);
  {
    GHashTableIter iter;
    gpointer key;

    ids = g_ptr_array_new_with_free_func (g_free);
    g_hash_table_iter_init (&iter, lc->taps);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      g_ptr_array_add (ids, g_strdup (key));
  }
  for (guint i = 0; i < ids->len; i++) {
    LiTap *tap = g_hash_table_lookup (self->taps, ids->pdata[i]);
    g_autoptr(JsonObject) object = NULL;
    g_autofree char *detail = NULL;

    if (tap == NULL)
      continue;
    object = kc_li_message_new ("end");
    json_object_set_string_member (object, "tap", tap->tap->tap_id);
    json_object_set_string_member (object, "call", lc->id);
    kc_li_set_time (object, "ended", g_get_real_time ());
    json_object_set_string_member (object, "outcome", outcome ? outcome : "ended");
    detail = g_strdup_printf ("tap=%s call=%s outcome=%s", tap->tap->tap_id, lc->id,
                              outcome ? outcome : "ended");
    kc_li_detach (self, tap, lc, FALSE);
    deliver (self, tap->tap->lea, object, "end-delivered", lc->id, detail);
    /* A current tap lasts as long as the calls it found. */
    if (tap->tap->kind == KC_TAP_CURRENT && tap->call_ids != NULL) {
      for (guint j = 0; j < tap->call_ids->len; j++)
        if (g_str_equal (tap->call_ids->pdata[j], lc->id))
          g_ptr_array_remove_index_fast (tap->call_ids, j--);
      if (tap->call_ids->len == 0)
        kc_li_stop_tap (self, tap, "the calls it covered ended");
    }
  }
  g_hash_table_remove (self->calls, call->id);
}

void
kc_li_tap_free (LiTap *tap)
{
  kc_tap_free (tap->tap);
  g_free (tap->content);
  g_clear_object (&tap->address);
  g_clear_pointer (&tap->call_ids, g_ptr_array_unref);
  g_free (tap);
}
