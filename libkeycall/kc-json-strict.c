/* kc-json-strict.c: being written. */
