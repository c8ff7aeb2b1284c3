/* kc-audio-monitor.h: tells when the sound devices change, for a device
 * list that stays current (the preferences window).
 *
 * It watches what the system says (GStreamer's device monitor for
 * Audio/Source and Audio/Sink, which follows PulseAudio/PipeWire, and
 * /dev/snd for ALSA devices plugged in without a sound server), asks
 * kc_audio_refresh_devices() to re-read PortAudio's list, and emits
 * "changed" once that happened: at once, or when the last open stream
 * stopped. Main thread only.
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define KC_TYPE_AUDIO_MONITOR (kc_audio_monitor_get_type ())
G_DECLARE_FINAL_TYPE (KcAudioMonitor, kc_audio_monitor, KC, AUDIO_MONITOR, GObject)

/* Starts watching from the thread-default main context. */
KcAudioMonitor *kc_audio_monitor_new      (void);
/* What it watches, for a log line: "GStreamer (pulsedeviceprovider), /dev/snd". */
const char     *kc_audio_monitor_describe (KcAudioMonitor *self);
/* As if the system had said devices changed (a "Refresh" button, tests). */
void            kc_audio_monitor_poke     (KcAudioMonitor *self);

G_END_DECLS
