/* kc-ring.c: being written. */
