/* kc-sdp-key-util-private.h: what the two SDP key parsers (kc-sdp-key.c,
 * kc-sdp-key-crypto.c) both call. The small helpers are static inline here
 * so that their sixty-odd calls keep the short names they were written
 * with. Internal to libkeycall, not installed.
 */
#pragma once

#include "kc-error.h"

#include <stdarg.h>
#include <string.h>

G_BEGIN_DECLS

static inline void G_GNUC_PRINTF (3, 0)
set_error_va (GError **error, KcErrorCode code, const char *format, va_list args)
{
  if (error != NULL)
    g_propagate_error (error, g_error_new_valist (KC_ERROR, code, format, args));
}

/* Sets @error and returns FALSE, so a check reads "return fail (...)". */
static inline gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, KcErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (error, code, format, args);
  va_end (args);
  return FALSE;
}

static inline gpointer G_GNUC_PRINTF (3, 4)
fail_null (GError **error, KcErrorCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  set_error_va (error, code, format, args);
  va_end (args);
  return NULL;
}

static inline gboolean
is_wsp (char c)
{
  return c == ' ' || c == '\t';
}

static inline gboolean
span_equal (const char *s, gsize len, const char *lit)
{
  return strlen (lit) == len && memcmp (s, lit, len) == 0;
}

static inline gboolean
span_has_prefix (const char *s, gsize len, const char *prefix)
{
  return len >= strlen (prefix) && memcmp (s, prefix, strlen (prefix)) == 0;
}

/* Short names only: a long token in an error message could be a key. */
static inline gboolean
quotable (const char *s, gsize len, gsize max)
{
  if (len == 0 || len > max)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '_' && s[i] != '-')
      return FALSE;
  return TRUE;
}

/* kc-sdp-key.c: @head, @secret_text and @tail joined in the secure heap. */
char        *kc_sdp_secure_join         (const char       *head,
                                         const char       *secret_text,
                                         const char       *tail);

G_END_DECLS
