/* kc-store-sqlite.c: being written. */
