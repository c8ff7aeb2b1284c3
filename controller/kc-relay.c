/* kc-relay.c: being written. */
