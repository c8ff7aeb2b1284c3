/* kc-error.h: the one error domain of libkeycall.
 *
 * Every runtime failure (bad input, files, crypto, storage) is a GError in
 * KC_ERROR with a message a person can act on; codes let callers branch.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KC_ERROR (kc_error_quark ())

typedef enum {
  KC_ERROR_FAILED,          /* anything not covered below */
  KC_ERROR_INVALID,         /* malformed or out-of-range input */
  KC_ERROR_UNSUPPORTED,     /* well-formed, but not something Keycall does */
  KC_ERROR_TOO_LARGE,       /* input over a documented size limit */
  KC_ERROR_CRYPTO,          /* a cryptographic operation or check failed */
  KC_ERROR_IO,              /* file or socket I/O */
  KC_ERROR_CORRUPT,         /* a file or database is damaged */
  KC_ERROR_FOREIGN,         /* a file that is not Keycall's, or from a newer Keycall */
  KC_ERROR_NOT_FOUND,
  KC_ERROR_EXISTS,
  KC_ERROR_PERMISSION,      /* refused by policy: role, state, file mode */
  KC_ERROR_CLOSED,          /* the object was shut down */
} KcErrorCode;

GQuark kc_error_quark (void);

G_END_DECLS
