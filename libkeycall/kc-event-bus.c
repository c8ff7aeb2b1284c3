/* kc-event-bus.c: being written. */
