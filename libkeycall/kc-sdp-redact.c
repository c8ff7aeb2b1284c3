/* kc-sdp-redact.c: being written. */
