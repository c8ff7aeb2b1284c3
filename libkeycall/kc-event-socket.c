/* kc-event-socket.c: being written. */
