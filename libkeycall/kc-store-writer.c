/* kc-store-writer.c: being written. */
