/* kc-audio-device-private.h: what the device objects (kc-audio-device.c)
 * and PortAudio's lifetime and device list (kc-audio-devices.c) share.
 * Main thread only, like kc-audio-device.h. */
#pragma once

#include "kc-audio-device.h"

#include <portaudio.h>

G_BEGIN_DECLS

/* PortAudio stays loaded while a reference is held (each device object
 * holds one for its life); KC_ERROR_IO when it cannot start. */
gboolean      kc_audio_pa_ref              (GError      **error);
void          kc_audio_pa_unref            (void);
/* PortAudio's message for @err, with the host's reason when it has one. */
char         *kc_audio_pa_error_text       (PaError       err);

/* With a reference held: the device lookups (the lost JACK's devices are
 * never found), and the device list for error messages. */
gboolean      kc_audio_is_duplex           (PaDeviceIndex index);
PaDeviceIndex kc_audio_default_device      (void);
PaDeviceIndex kc_audio_find_device_by_name (const char   *name,
                                            gboolean     *found_half);
char         *kc_audio_describe_devices    (void);

/* Streams open: a reload asked for meanwhile waits until the last one is
 * closed, or abandoned because its JACK server is gone; after that JACK
 * devices stay unusable for the rest of the process. */
void          kc_audio_stream_opened       (void);
void          kc_audio_stream_closed       (void);
void          kc_audio_stream_abandoned    (void);
gboolean      kc_audio_jack_is_lost        (void);

G_END_DECLS
