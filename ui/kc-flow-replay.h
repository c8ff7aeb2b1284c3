/* kc-flow-replay.h: a recorded event log played back into a flow model at
 * a chosen speed, with the gaps between events as they were (divided by
 * the speed), so a class sees a call unfold as it happened. GLib only.
 */
#pragma once

#include "kc-flow-model.h"

G_BEGIN_DECLS

#define KC_FLOW_REPLAY_SPEED_MIN 0.01
#define KC_FLOW_REPLAY_SPEED_MAX 1000.0

#define KC_TYPE_FLOW_REPLAY (kc_flow_replay_get_type ())
G_DECLARE_FINAL_TYPE (KcFlowReplay, kc_flow_replay, KC, FLOW_REPLAY, GObject)

/* Signals: "progress" (no arguments) after events were added or the
 * replay restarted; "finished" once the last event is in. */
KcFlowReplay *kc_flow_replay_new          (KcFlowModel   *model);
/* Reads the logs (merged and ordered like kc_flow_model_load_file; bad
 * lines skipped, then the same errors) and restarts. */
gboolean      kc_flow_replay_load         (KcFlowReplay  *replay,
                                           char         **paths,
                                           GError       **error);
/* 1.0 is real time; clamped to the limits above. Takes effect at once. */
void          kc_flow_replay_set_speed    (KcFlowReplay  *replay,
                                           double         speed);
double        kc_flow_replay_get_speed    (KcFlowReplay  *replay);
void          kc_flow_replay_play         (KcFlowReplay  *replay);
void          kc_flow_replay_pause        (KcFlowReplay  *replay);
gboolean      kc_flow_replay_is_playing   (KcFlowReplay  *replay);
/* Adds the next event now (paused or not); FALSE at the end. */
gboolean      kc_flow_replay_step         (KcFlowReplay  *replay);
/* Clears the model and goes back to the first event, paused. */
void          kc_flow_replay_restart      (KcFlowReplay  *replay);
guint         kc_flow_replay_get_position (KcFlowReplay  *replay);
guint         kc_flow_replay_get_n_events (KcFlowReplay  *replay);

G_END_DECLS
