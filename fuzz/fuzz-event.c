/* fuzz-event.c: libFuzzer target for the event JSON-line decoder.
 *
 * Event lines reach a window from sockets and log files anyone may have
 * written: decoding must never crash, and whatever it accepts must encode
 * to a line it accepts again, with no key left in it.
 */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kc-event.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(KcEvent) event = NULL;
  g_autoptr(KcEvent) back = NULL;
  g_autofree char *line = NULL;

  if (size > KC_EVENT_LINE_MAX + 2)
    return 0;
  event = kc_event_from_json ((const char *) data, (gssize) size, NULL);
  if (event == NULL)
    return 0;

  line = kc_event_to_json (event);
  if (line == NULL || strlen (line) > KC_EVENT_LINE_MAX || strchr (line, '\n') != NULL)
    abort ();
  back = kc_event_from_json (line, -1, NULL);
  if (back == NULL)
    abort ();
  /* Fields redaction never touches must survive exactly. */
  if (kc_event_get_time (back) != kc_event_get_time (event)
      || kc_event_get_seq (back) != kc_event_get_seq (event)
      || kc_event_get_fig3 (back) != kc_event_get_fig3 (event)
      || kc_event_get_kind (back) != kc_event_get_kind (event)
      || g_strcmp0 (kc_event_get_kind_string (back), kc_event_get_kind_string (event)) != 0
      || g_strcmp0 (kc_event_get_process (back), kc_event_get_process (event)) != 0
      || g_strcmp0 (kc_event_get_call_id (back), kc_event_get_call_id (event)) != 0
      || g_strcmp0 (kc_event_get_key_id (back), kc_event_get_key_id (event)) != 0)
    abort ();
  return 0;
}
