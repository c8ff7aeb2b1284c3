/* kc-event-socket.c: intentionally no code. The event socket of
 * kc-event-socket.h is implemented in kc-event-server.c (KcEventServer) and
 * kc-event-client.c (KcEventClient); they share nothing but the public
 * header and the wire format, one kc_event_to_json() line per event.
 */
