/* kc-number.h: what the dial entry accepts. A Keycall number, or a sip:,
 * sips: or tel: URI naming one, reduced to the number the CTA library
 * dials (digits, optionally a leading '+').
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest number the entry accepts, in digits (E.164 allows 15). */
#define KC_NUMBER_MAX_DIGITS 32

/* The number in @text (transfer full), ignoring spaces and the visual
 * separators - . ( ). NULL with KC_ERROR_INVALID and a message for a
 * person otherwise. */
char *kc_number_from_input (const char  *text,
                            GError     **error);

G_END_DECLS
