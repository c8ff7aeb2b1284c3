/* kc-store.c: being written. */
