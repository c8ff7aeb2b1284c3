/* kc-event.c: being written. */
