/* kc-event-private.h: what the event record (kc-event.c) shares with its
 * JSON line (kc-event-json.c): the struct, the field validators and the
 * field replacement. Internal to libkeycall, not installed. */
#pragma once

#include "kc-event.h"

G_BEGIN_DECLS

struct _KcEvent {
  gatomicrefcount  ref;
  int              frozen;        /* atomic */
  KcEventKind      kind;
  char            *kind_string;   /* only for KC_EVENT_KIND_UNKNOWN */
  gint64           time_us;
  guint64          seq;
  int              fig3;
  char            *process;
  char            *lane;
  char            *peer;
  char            *call_id;
  char            *summary;
  char            *message;
  char            *fingerprint;
  char            *key_id;
  GHashTable      *attrs;         /* char* -> char*, lazily created */
};

/* Frees *@field and stores @value (owned). */
void     kc_event_replace            (char       **field,
                                      char        *value);
gboolean kc_event_fingerprint_valid  (const char  *fp);
gboolean kc_event_key_id_valid       (const char  *hex);
gboolean kc_event_attr_name_valid    (const char  *name);

G_END_DECLS
