/* kc-hpke.c: being written. */
