/* kc-hpke-pem.c: being written. */
