/* kc-audio-device.h: the microphone and speaker of a call, through PortAudio.
 *
 * 48 kHz, mono, 20 ms frames of 960 signed 16-bit samples (what Opus and
 * G.711 take, so no conversion sits between device and codec). PortAudio's
 * real-time callback only copies frames into and out of two KcRing buffers
 * and wakes the main loop once a period (an eventfd): captured frames arrive
 * through the "frame" signal, frames to play go in with
 * kc_audio_device_write(). If the device goes away mid-call, "failed" is
 * emitted once with a GError and the device is stopped.
 *
 * Main thread only (the thread whose main context was current at start).
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define KC_AUDIO_RATE          48000
#define KC_AUDIO_FRAME_MS      20
#define KC_AUDIO_FRAME_SAMPLES 960
/* How often the main loop checks that the stream still runs (and takes
 * frames, should a wake-up have been missed). */
#define KC_AUDIO_CHECK_MS      100
/* Frames each ring holds: 320 ms before the main loop's stall loses audio. */
#define KC_AUDIO_RING_FRAMES   16

/* One PortAudio device, for a preferences list. */
typedef struct {
  char     *name;
  int       index;                  /* PortAudio's, valid until PortAudio is reloaded */
  char     *host_api;               /* "JACK Audio Connection Kit", "ALSA", … */
  int       max_input_channels;
  int       max_output_channels;
  gboolean  is_default;             /* opened by kc_audio_device_new (NULL, …) */
} KcAudioDeviceInfo;

void        kc_audio_device_info_free (KcAudioDeviceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcAudioDeviceInfo, kc_audio_device_info_free)

GPtrArray  *kc_audio_list_devices     (GError           **error);

/* PortAudio reads its device list when it loads and can read it again only
 * while no stream is open. kc_audio_refresh_devices() does it now (TRUE) or,
 * with a stream open, when the last stream stops (FALSE, and
 * kc_audio_refresh_is_pending() says so); either way the reload notifies
 * run afterwards, on the thread that stopped the stream. A device object
 * made before a reload finds its device again by name when it starts
 * (KC_ERROR_NOT_FOUND if it is gone). KcAudioMonitor (kc-audio-monitor.h)
 * calls this when the system says devices changed. */
typedef void (*KcAudioReloadFunc) (gpointer user_data);

gboolean    kc_audio_refresh_devices       (void);
gboolean    kc_audio_refresh_is_pending    (void);
guint       kc_audio_get_open_streams      (void);
/* Changes at each reload of the list. */
guint       kc_audio_get_generation        (void);
gulong      kc_audio_add_reload_notify     (KcAudioReloadFunc func,
                                            gpointer          user_data);
void        kc_audio_remove_reload_notify  (gulong            id);

typedef struct {
  guint64 periods;                  /* 20 ms periods the callback ran */
  guint64 capture_overruns;         /* captured frames lost: the main loop fell behind */
  guint64 playback_underruns;       /* periods played as silence: nothing was queued */
  guint64 playback_overruns;        /* frames kc_audio_device_write() refused */
  guint64 xruns;                    /* periods the host flagged as over/underflow */
  double  input_latency;            /* seconds, as PortAudio reports them */
  double  output_latency;
} KcAudioStats;

#define KC_TYPE_AUDIO_DEVICE (kc_audio_device_get_type ())
G_DECLARE_FINAL_TYPE (KcAudioDevice, kc_audio_device, KC, AUDIO_DEVICE, GObject)

KcAudioDevice *kc_audio_device_new           (const char     *name,
                                              GError        **error);
KcAudioDevice *kc_audio_device_new_for_index (int             index,
                                              GError        **error);

const char    *kc_audio_device_get_name      (KcAudioDevice  *self);
const char    *kc_audio_device_get_host_api  (KcAudioDevice  *self);
int            kc_audio_device_get_index     (KcAudioDevice  *self);
const char    *kc_audio_device_get_jack_client_name (KcAudioDevice *self);

gboolean       kc_audio_device_start         (KcAudioDevice  *self,
                                              GError        **error);
void           kc_audio_device_stop          (KcAudioDevice  *self);
gboolean       kc_audio_device_is_running    (KcAudioDevice  *self);

gboolean       kc_audio_device_write         (KcAudioDevice  *self,
                                              const gint16   *frame);
guint          kc_audio_device_get_queued    (KcAudioDevice  *self);
/* The fewest frames that were left queued after any period played since
 * the last call (G_MAXUINT when none was): a playout that always has one
 * left over is a period later than it needs to be. */
guint          kc_audio_device_take_playback_slack (KcAudioDevice *self);
void           kc_audio_device_get_stats     (KcAudioDevice  *self,
                                              KcAudioStats   *stats);

G_END_DECLS
