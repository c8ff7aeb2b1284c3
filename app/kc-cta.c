/* kc-cta.c: being written. */
