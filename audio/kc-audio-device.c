/* kc-audio-device.c: being written. */
