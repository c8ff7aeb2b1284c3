/* fuzz-profile.c: the CTA profile parser on arbitrary bytes.
 *
 * Besides memory safety (ASan, UBSan) it aborts when a property fails: a
 * rejected input always has an error in KC_ERROR with a message, and an
 * accepted profile saves and loads back to the same values. Seed it with
 * exported profiles (keycall-admin profile export) for depth.
 */
#include "config.h"

#include "kc-error.h"
#include "kc-profile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (gboolean ok, const char *what)
{
  if (!ok) {
    fprintf (stderr, "property failed: %s\n", what);
    abort ();
  }
}

static void
check_round_trip (KcProfile *profile)
{
  g_autofree char *dir = g_dir_make_tmp ("fuzz-profile-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "p.keycall", NULL);
  g_autoptr(KcProfile) back = NULL;

  check (dir != NULL, "a temporary folder");
  check (kc_profile_save (profile, path, FALSE, NULL), "an accepted profile saves");
  back = kc_profile_load (path, NULL);
  check (back != NULL, "a saved profile loads");
  check (g_str_equal (back->number, profile->number)
         && g_str_equal (back->display_name, profile->display_name)
         && g_str_equal (back->controller, profile->controller)
         && g_str_equal (back->certificate, profile->certificate)
         && g_str_equal (back->ca, profile->ca)
         && back->controller_port == profile->controller_port
         && kc_secret_equal (back->private_key, profile->private_key)
         && kc_secret_equal (back->signaling_secret, profile->signaling_secret),
         "a profile loads back to the same values");
  unlink (path);
  rmdir (dir);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(KcProfile) profile = kc_profile_parse (data, size, &error);

  if (profile == NULL) {
    check (error != NULL && error->domain == KC_ERROR && error->message[0] != '\0',
           "a rejected profile has a KC_ERROR with a message");
    return 0;
  }
  check (error == NULL, "an accepted profile has no error");
  check_round_trip (profile);
  return 0;
}
