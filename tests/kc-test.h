/* kc-test.h: the small harness every Check unit test shares.
 *
 * Tests report TAP on stdout (meson counts each check) when run under meson
 * with CK_TAP_LOG_FILE_NAME=- and CK_VERBOSITY=silent.
 */
#pragma once

#include "kc-error.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh private folder under $TMPDIR; removed by kc_test_rmtree(). */
static inline char *
kc_test_mkdtemp (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("keycall-test-XXXXXX", &error);

  ck_assert_msg (dir != NULL, "cannot make a temporary folder: %s",
                 error ? error->message : "?");
  return dir;
}

static inline void
kc_test_rmtree (const char *path)
{
  g_autofree char *quoted = NULL;
  g_autofree char *cmd = NULL;
  int status;

  if (path == NULL)
    return;
  /* Shell out: small, and only in tests. */
  quoted = g_shell_quote (path);
  cmd = g_strdup_printf ("rm -rf %s", quoted);
  status = system (cmd);
  (void) status;
}

/* Path of a file in tests/data (KC_TEST_DATA is set by meson). */
static inline char *
kc_test_data_path (const char *name)
{
  const char *dir = g_getenv ("KC_TEST_DATA");

  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

/* @error is KC_ERROR @code, and its message (what a person reads) says
 * @words. */
static inline void
kc_test_assert_error (const GError *error, int code, const char *words)
{
  ck_assert_msg (error != NULL, "expected an error containing “%s”", words);
  ck_assert_msg (g_error_matches (error, KC_ERROR, code), "code %d, expected %d: %s",
                 error->code, code, error->message);
  ck_assert_msg (strstr (error->message, words) != NULL, "“%s” lacks “%s”",
                 error->message, words);
}

#define KC_TEST_MAIN(make_suite)                                   \
  int                                                              \
  main (void)                                                      \
  {                                                                \
    SRunner *runner = srunner_create (make_suite ());              \
    int failed;                                                    \
                                                                   \
    srunner_run_all (runner, CK_ENV);                              \
    failed = srunner_ntests_failed (runner);                       \
    srunner_free (runner);                                         \
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;              \
  }
