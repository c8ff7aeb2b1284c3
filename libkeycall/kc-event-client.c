/* kc-event-client.c: being written. */
