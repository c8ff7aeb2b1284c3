/* kc-sdp-key.c: being written. */
