/* kc-json-strict.c: an RFC 8259 syntax check, run on untrusted text before
 * json-glib parses it (kc-json-strict.h says why). */
#define G_LOG_DOMAIN "kc-json-strict"

#include "kc-json-strict.h"
#include "kc-error.h"

#include <string.h>

typedef struct {
  const char *start;
  const char *p;
  const char *end;
  int         depth;
  int         max_depth;
  const char *problem;
} JsonCheck;

static gboolean scan_value (JsonCheck *c);

static gboolean
fail (JsonCheck *c, const char *problem)
{
  if (c->problem == NULL)
    c->problem = problem;
  return FALSE;
}

static void
skip_space (JsonCheck *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean
scan_literal (JsonCheck *c, const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (c->end - c->p) < len || memcmp (c->p, word, len) != 0)
    return fail (c, "unexpected character");
  c->p += len;
  return TRUE;
}

static int
scan_hex4 (JsonCheck *c)
{
  int value = 0;

  if (c->end - c->p < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (c->p[i]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  c->p += 4;
  return value;
}

static gboolean
scan_string (JsonCheck *c)
{
  c->p++;   /* opening quote */
  while (c->p < c->end)
    {
      guchar ch = *c->p++;

      if (ch == '"')
        return TRUE;
      if (ch < 0x20)
        return fail (c, "control character inside a string");
      if (ch != '\\')
        continue;
      if (c->p >= c->end)
        break;
      ch = *c->p++;
      if (ch == 'u')
        {
          int unit = scan_hex4 (c);

          if (unit < 0)
            return fail (c, "bad \\u escape");
          if (unit == 0)
            return fail (c, "\\u0000 inside a string");
          if (unit >= 0xdc00 && unit <= 0xdfff)
            return fail (c, "lone low surrogate");
          if (unit >= 0xd800 && unit <= 0xdbff)
            {
              if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
                return fail (c, "lone high surrogate");
              c->p += 2;
              unit = scan_hex4 (c);
              if (unit < 0xdc00 || unit > 0xdfff)
                return fail (c, "lone high surrogate");
            }
        }
      else if (strchr ("\"\\/bfnrt", ch) == NULL || ch == '\0')
        return fail (c, "bad escape");
    }
  return fail (c, "unterminated string");
}

static gboolean
scan_number (JsonCheck *c)
{
  const char *start = c->p;
  gboolean integer = TRUE;

  if (*c->p == '-')
    c->p++;
  if (c->p >= c->end || !g_ascii_isdigit (*c->p))
    return fail (c, "bad number");
  if (*c->p == '0')
    c->p++;
  else
    while (c->p < c->end && g_ascii_isdigit (*c->p))
      c->p++;
  if (c->p < c->end && *c->p == '.')
    {
      integer = FALSE;
      c->p++;
      if (c->p >= c->end || !g_ascii_isdigit (*c->p))
        return fail (c, "bad number");
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        c->p++;
    }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
    {
      integer = FALSE;
      c->p++;
      if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
        c->p++;
      if (c->p >= c->end || !g_ascii_isdigit (*c->p))
        return fail (c, "bad number");
      while (c->p < c->end && g_ascii_isdigit (*c->p))
        c->p++;
    }
  if (integer)
    {
      g_autofree char *text = g_strndup (start, c->p - start);

      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, NULL, NULL))
        return fail (c, "integer out of range");
    }
  return TRUE;
}

static gboolean
scan_container (JsonCheck *c, char close, gboolean object)
{
  if (++c->depth > c->max_depth)
    return fail (c, "nested too deeply");
  c->p++;
  skip_space (c);
  if (c->p < c->end && *c->p == close)
    {
      c->p++;
      c->depth--;
      return TRUE;
    }
  for (;;)
    {
      skip_space (c);
      if (object)
        {
          if (c->p >= c->end || *c->p != '"')
            return fail (c, "expected a member name");
          if (!scan_string (c))
            return FALSE;
          skip_space (c);
          if (c->p >= c->end || *c->p != ':')
            return fail (c, "expected ':'");
          c->p++;
          skip_space (c);
        }
      if (!scan_value (c))
        return FALSE;
      skip_space (c);
      if (c->p < c->end && *c->p == ',')
        {
          c->p++;
          continue;
        }
      if (c->p < c->end && *c->p == close)
        {
          c->p++;
          c->depth--;
          return TRUE;
        }
      return fail (c, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static gboolean
scan_value (JsonCheck *c)
{
  if (c->p >= c->end)
    return fail (c, "unexpected end");
  switch (*c->p)
    {
    case '{': return scan_container (c, '}', TRUE);
    case '[': return scan_container (c, ']', FALSE);
    case '"': return scan_string (c);
    case 't': return scan_literal (c, "true");
    case 'f': return scan_literal (c, "false");
    case 'n': return scan_literal (c, "null");
    default:
      if (*c->p == '-' || g_ascii_isdigit (*c->p))
        return scan_number (c);
      return fail (c, "unexpected character");
    }
}

gboolean
kc_json_strict_check_object (const char  *text,
                             gsize        len,
                             int          max_depth,
                             const char  *what,
                             GError     **error)
{
  JsonCheck c = { text, text, text + len, 0, max_depth, NULL };

  g_return_val_if_fail (text != NULL || len == 0, FALSE);
  g_return_val_if_fail (what != NULL, FALSE);

  skip_space (&c);
  if (c.p >= c.end || *c.p != '{')
    fail (&c, "not a JSON object");
  else if (scan_value (&c))
    {
      skip_space (&c);
      if (c.p < c.end)
        fail (&c, "text after the object");
    }
  if (c.problem == NULL)
    return TRUE;
  g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
               "%s is not valid JSON: %s at byte %" G_GSIZE_FORMAT,
               what, c.problem, (gsize) (c.p - c.start));
  return FALSE;
}
