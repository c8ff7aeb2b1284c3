/* kc-flow-panels.h: the controller window's side panels as data, from the
 * same events as the ladder: registered CTAs and controller links, calls
 * and their key state, the key store (fingerprints only), CDRs, and
 * lawful-intercept taps. GLib only, so tests need no display.
 */
#pragma once

#include "kc-flow-model.h"

G_BEGIN_DECLS

typedef enum {
  KC_FLOW_PANEL_CTAS,     /* register, unregister, tls-up, tls-down */
  KC_FLOW_PANEL_CALLS,    /* key state per call */
  KC_FLOW_PANEL_KEYS,     /* key-sealed, key-stored */
  KC_FLOW_PANEL_CDRS,     /* cdr */
  KC_FLOW_PANEL_TAPS,     /* tap-request, tap-refused, key-delivered, content-delivered */
  KC_FLOW_N_PANELS
} KcFlowPanel;

/* A call's key, step by step (FIG. 3); bits of KcFlowPanelRow.stages. */
typedef enum {
  KC_FLOW_STAGE_CREATED    = 1 << 0,   /* 408: created or derived */
  KC_FLOW_STAGE_SENT       = 1 << 1,   /* 318/320/326 */
  KC_FLOW_STAGE_ACK_CALLEE = 1 << 2,   /* 322/324 */
  KC_FLOW_STAGE_ACK_CALLER = 1 << 3,   /* 328 */
  KC_FLOW_STAGE_MEDIA      = 1 << 4,   /* 330 */
  KC_FLOW_STAGE_ENDED      = 1 << 5,
  KC_FLOW_STAGE_FAILED     = 1 << 6,   /* an acknowledgment refused, an error */
} KcFlowStage;

typedef struct {
  char     *key;       /* unique within the panel */
  char     *id;        /* what a click filters on: a number (CTAS, TAPS) or a Call-ID (CALLS, KEYS, CDRS), or NULL */
  char     *title;     /* "1001", "1001 → 2001", "key 6abd 7565 fdbe 6f1f" */
  char     *subtitle;  /* where and what: "at gc1 · sips:1001@…", "created → sent → …" */
  char     *state;     /* "registered", "media flowing", "sealed and stored" */
  char     *fingerprint;  /* CALLS, KEYS: the key's fingerprint (never the key), or NULL */
  gboolean  bad;       /* down, unregistered, failed, refused */
  guint     stages;    /* CALLS: KcFlowStage bits */
  gint64    time_us;   /* its latest event */
} KcFlowPanelRow;

/* The rows of @panel from every event of @model (the filter does not
 * apply: panels show the whole system), in order of first appearance.
 * Free with g_ptr_array_unref(). */
GPtrArray  *kc_flow_panels_build      (KcFlowModel  *model,
                                       KcFlowPanel   panel);
/* "CTAs", "Calls", "Keys", "CDRs", "Taps". */
const char *kc_flow_panel_get_title   (KcFlowPanel   panel);
/* "created → sent → acknowledged by the callee → …" for @stages. */
char       *kc_flow_stages_to_string  (guint         stages);

G_END_DECLS
