/* kc-codec.c: being written. */
