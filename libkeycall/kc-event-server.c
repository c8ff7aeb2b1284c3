/* kc-event-server.c: being written. */
