/* kc-srtp.c: being written. */
