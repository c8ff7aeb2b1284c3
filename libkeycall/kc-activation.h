/* kc-activation.h: activation files, how an operator provisions a desktop
 * without handing over a profile in clear. The number, controller and CA
 * are readable; the profile itself is sealed (scrypt, AES-256-GCM) under a
 * one-time activation code given to the user by another channel.
 * docs/provisioning.md ("Activation files") describes the file.
 */
#pragma once

#include <glib.h>

#include "kc-profile.h"
#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_ACTIVATION_VERSION    1
#define KC_ACTIVATION_GROUP      "keycall-activation"
#define KC_ACTIVATION_SUFFIX     ".kcactivation"
/* The CA and the sealed profile, base64, with room to spare. */
#define KC_ACTIVATION_MAX_LEN    (4 * KC_SECRET_MAX_LEN)
/* Crockford base32 characters in a code (5 bits each: 100 bits). */
#define KC_ACTIVATION_CODE_CHARS 20

typedef struct _KcActivation KcActivation;

/* Seals @profile (validated first) under a fresh random activation code and
 * writes @path with mode 0600 (kc_file_write: O_EXCL unless @replace).
 * @expires: UNIX seconds after which the file is refused, or 0 for never.
 * Returns the code as text ("XXXXX-XXXXX-XXXXX-XXXXX", NUL-terminated) in
 * locked memory; it exists nowhere else. */
KcSecret     *kc_activation_write           (KcProfile     *profile,
                                             gint64         expires,
                                             const char    *path,
                                             gboolean       replace,
                                             GError       **error);

/* Reads the clear part and checks the file's format, version and
 * completeness; the sealed part is opened by kc_activation_unlock. */
KcActivation *kc_activation_parse           (const guint8  *data,
                                             gsize          len,
                                             GError       **error);
KcActivation *kc_activation_load            (const char    *path,
                                             GError       **error);
void          kc_activation_free            (KcActivation  *activation);

const char   *kc_activation_get_number      (KcActivation  *activation);
const char   *kc_activation_get_display_name (KcActivation *activation);
/* sips: URI of the controller, as keycall-admin wrote it. */
const char   *kc_activation_get_controller  (KcActivation  *activation);
const char   *kc_activation_get_controller_name (KcActivation *activation);
/* UNIX seconds, 0 when the file never expires. */
gint64        kc_activation_get_expires     (KcActivation  *activation);

/* Refuses an expired file (KC_ERROR_PERMISSION), a malformed code
 * (KC_ERROR_INVALID), a wrong code (KC_ERROR_CRYPTO) and a file altered
 * after it was sealed (KC_ERROR_CORRUPT); otherwise returns the validated
 * profile. Writes nothing. Case, spaces, dashes, and O, I, L for 0, 1, 1
 * do not matter in @code. */
KcProfile    *kc_activation_unlock          (KcActivation  *activation,
                                             const char    *code,
                                             GError       **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcActivation, kc_activation_free)

G_END_DECLS
