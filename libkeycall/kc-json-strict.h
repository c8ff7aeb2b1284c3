/* kc-json-strict.h: a strict RFC 8259 check before json-glib sees the text.
 *
 * json-glib 1.6 parses with GScanner: it accepts comments, single quotes,
 * hex and leading-zero numbers and trailing values, wraps integers that
 * overflow, and recurses without limit (a line of "[[[[" crashes it). So
 * untrusted text must first pass this check before json-glib builds a tree.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when @text[0..@len) is exactly one JSON object (white space around
 * it allowed) nested at most @max_depth deep, with every integer within
 * gint64 and no "\u0000" or lone surrogate in strings. UTF-8 is not checked
 * here: validate it first. Otherwise KC_ERROR_INVALID, "<@what> is not
 * valid JSON: <problem> at byte <offset>". */
gboolean kc_json_strict_check_object (const char  *text,
                                      gsize        len,
                                      int          max_depth,
                                      const char  *what,
                                      GError     **error);

G_END_DECLS
