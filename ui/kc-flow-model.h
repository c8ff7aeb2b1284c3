/* kc-flow-model.h: the FIG. 3 ladder as data: events from several processes
 * merged in time order, the lanes they name, and the arrows and notes a
 * ladder diagram draws. GLib only, so tests and exports need no display.
 */
#pragma once

#include <glib-object.h>

#include "kc-event.h"
#include "kc-event-bus.h"

G_BEGIN_DECLS

/* Where a lane goes, left to right; lanes of one role keep the order they
 * first appeared in. Roles come from the first call seen: its 316 INVITE
 * names the caller and the source controller, its 318 the destination
 * controller, its 320 the callee. */
typedef enum {
  KC_FLOW_ROLE_CALLER,
  KC_FLOW_ROLE_SOURCE,
  KC_FLOW_ROLE_DESTINATION,
  KC_FLOW_ROLE_CALLEE,
  KC_FLOW_ROLE_CONTROLLER,
  KC_FLOW_ROLE_CTA,
  KC_FLOW_ROLE_LEA,
  KC_FLOW_ROLE_GATEWAY,
  KC_FLOW_ROLE_OTHER,
} KcFlowRole;

typedef enum {
  KC_FLOW_ITEM_ARROW,   /* a message: from its sender's lane to the receiver's */
  KC_FLOW_ITEM_NOTE,    /* a step on one lane: key created, sealed, stored, acknowledged */
  KC_FLOW_ITEM_MEDIA,   /* where a call's secure media (330) starts or ends: from caller to callee */
} KcFlowItemKind;

typedef struct {
  KcFlowItemKind  kind;
  KcEvent        *event;      /* the sip-tx (or, without its sender's log, sip-rx) or the note's event */
  KcEvent        *key_event;  /* ARROW: the key-sent that went out with it, or NULL */
  guint           from;       /* lane indices; a NOTE has from == to */
  guint           to;
  char           *label;      /* "318 INVITE + K", "408 key stored (sealed, durable)" */
  const char     *words;      /* the FIG. 3 step in words ("key → destination controller"), or NULL */
  gint64          delta_us;   /* since the item before (0 for the first) */
  gboolean        failed;     /* an error answer, a refused acknowledgment or tap */
} KcFlowItem;

/* Secure media of one call: a band from the caller's lane to the callee's,
 * between the rows of its start and its end. Counters are the latest any
 * process reported (media-stats, media-stop); -1 while none has. */
typedef struct {
  const char *call_id;
  guint       first;          /* item index of its start */
  guint       last;           /* item index of its end, G_MAXUINT while media flows */
  guint       from;           /* lanes */
  guint       to;
  gint64      packets[2];     /* caller → callee, callee → caller */
  gint64      lost;           /* reported lost, -1 if unknown */
} KcFlowMedia;

#define KC_TYPE_FLOW_MODEL (kc_flow_model_get_type ())
G_DECLARE_FINAL_TYPE (KcFlowModel, kc_flow_model, KC, FLOW_MODEL, GObject)

/* Signal "changed" (no arguments): events were added or cleared; lanes and
 * items are recomputed on the next getter call. */
KcFlowModel       *kc_flow_model_new            (void);

/* Inserts @event in time order (ts_us; equal times keep arrival order).
 * An event whose process and seq (when not 0) are already in the model is
 * ignored, so a log and a socket replaying the same events merge cleanly.
 * Returns whether it was added. */
gboolean           kc_flow_model_add_event      (KcFlowModel  *model,
                                                 KcEvent      *event);
/* Adds every line of a JSON-lines event log (kc_event_from_json). Good
 * lines are added even when others are bad; then FALSE and KC_ERROR_INVALID
 * naming the file, the first bad line and how many were skipped. FALSE and
 * KC_ERROR_IO if the file cannot be read. */
gboolean           kc_flow_model_load_file      (KcFlowModel  *model,
                                                 const char   *path,
                                                 GError      **error);
void               kc_flow_model_clear          (KcFlowModel  *model);
/* Adds every later event of @bus (listeners run on the bus's main context,
 * right for a window in the same process). Holds a reference on @model until
 * kc_event_bus_remove_listener() with the returned id. */
guint              kc_flow_model_attach_bus     (KcFlowModel  *model,
                                                 KcEventBus   *bus);

guint              kc_flow_model_get_n_events   (KcFlowModel  *model);
KcEvent           *kc_flow_model_get_event      (KcFlowModel  *model,
                                                 guint         index);
/* ts_us of the first row (item), or of the first event that passes the
 * filter when there is no row; 0 when none does. */
gint64             kc_flow_model_get_start_time (KcFlowModel  *model);

guint              kc_flow_model_get_n_lanes    (KcFlowModel  *model);
/* "cta:1001", "controller:gc1", … */
const char        *kc_flow_model_get_lane       (KcFlowModel  *model,
                                                 guint         index);
KcFlowRole         kc_flow_model_get_lane_role  (KcFlowModel  *model,
                                                 guint         index);
/* G_MAXUINT if no such lane. */
guint              kc_flow_model_find_lane      (KcFlowModel  *model,
                                                 const char   *lane);

guint              kc_flow_model_get_n_items    (KcFlowModel  *model);
/* Owned by the model; valid until the next change. */
const KcFlowItem  *kc_flow_model_get_item       (KcFlowModel  *model,
                                                 guint         index);

guint              kc_flow_model_get_n_media    (KcFlowModel  *model);
/* Owned by the model; valid until the next change. */
const KcFlowMedia *kc_flow_model_get_media      (KcFlowModel  *model,
                                                 guint         index);

/* Shows only the events of one call (@call_id: a SIP Call-ID; legs that
 * share its key id count as the same call) and of one number (@number:
 * events of cta:NUMBER and of the calls it is a party to, taps on it).
 * NULL or "" for no filter. Lanes, items, times and deltas are those of the
 * matching events; kc_flow_model_get_event() still sees every event. */
void               kc_flow_model_set_filter     (KcFlowModel  *model,
                                                 const char   *call_id,
                                                 const char   *number);
const char        *kc_flow_model_get_call_filter   (KcFlowModel *model);
const char        *kc_flow_model_get_number_filter (KcFlowModel *model);
/* Whether @event passes the filter. */
gboolean           kc_flow_model_matches        (KcFlowModel  *model,
                                                 KcEvent      *event);

/* "caller", "source controller", …; NULL for the roles without a name. */
const char        *kc_flow_role_to_string       (KcFlowRole    role);
/* FIG. 3 (and FIG. 5) step @step in words, as the patent names it:
 * 318 → "key → destination controller"; NULL for an unknown step. */
const char        *kc_flow_fig3_words           (int           step);

G_END_DECLS
