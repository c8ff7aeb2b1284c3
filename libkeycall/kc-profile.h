/* kc-profile.h: the CTA profile, the one file a softphone imports to join a
 * Keycall network (its number, certificate and key, the network CA, its
 * controller, the network's SIP domain and its signaling secret), and
 * sofia-sip's TLS folder format.
 * docs/provisioning.md describes the file.
 */
#pragma once

#include <glib.h>

#include "kc-secret.h"

G_BEGIN_DECLS

#define KC_PROFILE_VERSION   1
#define KC_PROFILE_GROUP     "keycall-profile"
/* A profile is read into locked memory as a whole, so it is one secret. */
#define KC_PROFILE_MAX_LEN   KC_SECRET_MAX_LEN
#define KC_PROFILE_SUFFIX    ".keycall"
#define KC_DEFAULT_SIPS_PORT 5061

typedef struct {
  char     *number;
  char     *display_name;
  char     *controller;          /* sips:HOST[:PORT][;params] */
  char     *controller_name;
  char     *domain;              /* the network's SIP domain, or NULL (optional) */
  char     *certificate;         /* PEM */
  KcSecret *private_key;         /* PEM (PKCS#8) */
  char     *ca;                  /* PEM */
  KcSecret *signaling_secret;    /* KC_SIGNALING_SECRET_LEN bytes */

  /* Filled by validation from @controller. */
  char     *controller_host;     /* without brackets for IPv6 */
  guint16   controller_port;
} KcProfile;

/* Parses and validates (kc_profile_validate) a profile in memory. */
KcProfile *kc_profile_parse          (const guint8    *data,
                                      gsize            len,
                                      GError         **error);
/* Refuses a file that group or others may read (KC_ERROR_PERMISSION). */
KcProfile *kc_profile_load           (const char      *path,
                                      GError         **error);
/* Every check a loaded profile passes: number syntax, PEMs, certificate
 * matches key and chains to the CA, role cta with identity = number,
 * secret length, controller URI, domain syntax (when there is one). Fills
 * controller_host/_port. */
gboolean   kc_profile_validate       (KcProfile       *profile,
                                      GError         **error);
/* Validates, then returns the file's bytes (what kc_profile_save writes)
 * in locked memory. */
KcSecret  *kc_profile_serialize      (KcProfile       *profile,
                                      GError         **error);
/* Validates, then writes @path with mode 0600 (see kc_file_write). */
gboolean   kc_profile_save           (KcProfile       *profile,
                                      const char      *path,
                                      gboolean         replace,
                                      GError         **error);
/* Another controller URI (the user may reach the controller at another
 * address than the operator wrote); the profile is left as it was when
 * @controller is not a valid sips: URI. */
gboolean   kc_profile_set_controller (KcProfile       *profile,
                                      const char      *controller,
                                      GError         **error);
gboolean   kc_profile_write_tls_dir  (const KcProfile *profile,
                                      const char      *dir,
                                      gboolean         replace,
                                      GError         **error);
void       kc_profile_free           (KcProfile       *profile);
/* Where the softphone keeps the profile it imported or activated when no
 * --profile is named: $XDG_DATA_HOME/keycall/profile.keycall. */
char      *kc_profile_default_path   (void);

/* agent.pem (certificate then key) and cafile.pem in @dir (created 0700),
 * both 0600: what sofia-sip's TPTAG_CERTIFICATE(dir) reads. */
gboolean   kc_tls_dir_write          (const char      *dir,
                                      const char      *cert_pem,
                                      const KcSecret  *key_pem,
                                      const char      *ca_pem,
                                      gboolean         replace,
                                      GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcProfile, kc_profile_free)

G_END_DECLS
