/* kc-flow-model-private.h: what the flow model's two files share: the
 * model's fields, and the ladder layout (kc-flow-ladder.c) that turns its
 * events into lanes, rows and media bands. Not for other modules.
 */
#pragma once

#include "kc-flow-model.h"

G_BEGIN_DECLS

typedef struct {
  char       *name;
  KcFlowRole  role;
  guint       first;   /* order of first appearance: ties within a role */
} KcFlowLane;

struct _KcFlowModel {
  GObject     parent_instance;

  GPtrArray  *events;     /* KcEvent, by ts_us */
  GHashTable *seen;       /* "proc\x1fseq" of every event with a seq */

  char       *call_filter;
  char       *number_filter;

  gboolean    stale;
  GHashTable *call_set;   /* Call-IDs passing the call filter, NULL for no filter */
  GHashTable *number_set; /* Call-IDs the number filter's number is a party to */
  gint64      t0;
  GPtrArray  *lanes;      /* KcFlowLane, left to right */
  GArray     *items;      /* KcFlowItem */
  GArray     *media;      /* KcFlowMedia */
};

/* Whether @e passes the filter (kc-flow-model.c; the filter computed). */
gboolean  kc_flow_model_passes (KcFlowModel *self,
                                KcEvent     *e);
/* Lays out lanes, items, bands and t0 from the events that pass the
 * filter (kc-flow-ladder.c). */
void      kc_flow_ladder_build (KcFlowModel *self);

G_END_DECLS
