/* kc-number.c: the dial entry's number parsing (kc-number.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-number.h"

#include "kc-error.h"

#include <glib/gi18n.h>
#include <string.h>

static gboolean
is_visual_separator (char c)
{
  /* RFC 3966 visual separators, plus the space people type. */
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t';
}

char *
kc_number_from_input (const char  *text,
                      GError     **error)
{
  g_autofree char *trimmed = NULL;
  g_autoptr(GString) number = g_string_new (NULL);
  const char *p;
  gsize end;
  guint digits = 0;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  trimmed = g_strstrip (g_strdup (text));
  if (*trimmed == '\0') {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, _("Enter a number to call"));
    return NULL;
  }

  p = trimmed;
  if (g_ascii_strncasecmp (p, "sips:", 5) == 0)
    p += 5;
  else if (g_ascii_strncasecmp (p, "sip:", 4) == 0)
    p += 4;
  else if (g_ascii_strncasecmp (p, "tel:", 4) == 0)
    p += 4;

  /* The user part of a SIP URI ends at '@'; parameters and headers of
   * either kind of URI are not part of the number. */
  end = strcspn (p, "@;?");
  if (p != trimmed && end == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 _("“%s” names no number: a Keycall address looks like sips:1001@example.org"),
                 trimmed);
    return NULL;
  }

  for (gsize i = 0; i < end; i++) {
    char c = p[i];

    if (is_visual_separator (c))
      continue;
    if (c == '+' && number->len == 0) {
      g_string_append_c (number, c);
      continue;
    }
    if (!g_ascii_isdigit (c)) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   _("“%s” is not a Keycall number: use digits only, optionally after a +"),
                   trimmed);
      return NULL;
    }
    g_string_append_c (number, c);
    digits++;
  }

  if (digits == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 _("“%s” has no digits: a Keycall number is digits only"), trimmed);
    return NULL;
  }
  if (digits > KC_NUMBER_MAX_DIGITS) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 _("“%s” is too long for a number (at most %d digits)"), trimmed,
                 KC_NUMBER_MAX_DIGITS);
    return NULL;
  }
  return g_string_free (g_steal_pointer (&number), FALSE);
}
