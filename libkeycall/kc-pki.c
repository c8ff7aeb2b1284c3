/* kc-pki.c: being written. */
