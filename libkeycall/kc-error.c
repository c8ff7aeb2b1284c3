/* kc-error.c: the KC_ERROR domain. */
#include "kc-error.h"

G_DEFINE_QUARK (keycall-error-quark, kc_error)
