/* kc-ui.c: the softphone window's entry point (kc-ui.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-application.h"
#include "kc-ui.h"

#include "kc-cta.h"
#include "kc-secret.h"

#include <glib/gi18n.h>
#include <gtk/gtk.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

gboolean
kc_ui_prepare (char   **out_runtime_dir,
               GError **error)
{
  g_autofree char *runtime = NULL;

  g_return_val_if_fail (out_runtime_dir != NULL, FALSE);

  /* Call keys live in this process. */
  if (!kc_process_refuse_core_dumps (error))
    return FALSE;
  if ((runtime = g_dir_make_tmp ("keycall-run-XXXXXX", error)) == NULL)
    return FALSE;
  if (!kc_cta_tls13_only (runtime, error)) {
    g_rmdir (runtime);
    return FALSE;
  }
  kc_secure_heap_init ();
  *out_runtime_dir = g_steal_pointer (&runtime);
  return TRUE;
}

void
kc_ui_cleanup (const char *runtime_dir)
{
  g_autofree char *conf = NULL;

  if (runtime_dir == NULL)
    return;
  conf = g_build_filename (runtime_dir, "openssl.cnf", NULL);
  g_unlink (conf);
  g_rmdir (runtime_dir);
}

/* Run from the build tree (uninstalled), the program uses the schema
 * compiled there, as `meson devenv` would; this must happen before
 * anything creates GSettings' default schema source. */
static gboolean
find_schema (void)
{
  GSettingsSchemaSource *source;
  g_autoptr(GSettingsSchema) schema = NULL;

#if defined(KC_UI_BUILD_ROOT) && defined(KC_UI_BUILD_SCHEMA_DIR)
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  if (exe != NULL && g_str_has_prefix (exe, KC_UI_BUILD_ROOT "/")) {
    const char *old = g_getenv ("GSETTINGS_SCHEMA_DIR");
    g_autofree char *dirs = old != NULL && *old != '\0'
                            ? g_strconcat (KC_UI_BUILD_SCHEMA_DIR, ":", old, NULL)
                            : g_strdup (KC_UI_BUILD_SCHEMA_DIR);

    g_setenv ("GSETTINGS_SCHEMA_DIR", dirs, TRUE);
  }
#endif
  source = g_settings_schema_source_get_default ();
  return source != NULL
         && (schema = g_settings_schema_source_lookup (source, KC_APPLICATION_ID, TRUE)) != NULL;
}

/* Once GTK was initialised, this binary aborts in exit(): a library's
 * g_static_resource_fini() destructor allocates through g_slice after
 * GLib's thread-private key is gone ("pthread_setspecific: Invalid
 * argument", GLib 2.74). Everything holding keys is freed by now, so the
 * library destructors are skipped. */
static G_NORETURN void
exit_now (int status)
{
  fflush (stdout);
  fflush (stderr);
  _exit (status);
}

int
kc_ui_run (int          argc,
           char       **argv,
           const char  *profile_path)
{
  g_autoptr(KcApplication) app = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *runtime = NULL;
  int status;

  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!find_schema ()) {
    g_printerr ("keycall: the settings schema %s is not installed; install Keycall, or set "
                "GSETTINGS_SCHEMA_DIR to the folder holding gschemas.compiled\n",
                KC_APPLICATION_ID);
    return 1;
  }
  if (!gtk_init_check ()) {
    g_printerr ("keycall: cannot open a display; run keycall --headless --profile FILE "
                "to use the softphone without a window\n");
    exit_now (1);
  }
  if (!kc_ui_prepare (&runtime, &error)) {
    g_printerr ("keycall: %s\n", error->message);
    return 1;
  }
  g_set_application_name (_("Keycall"));
  app = kc_application_new (G_APPLICATION_DEFAULT_FLAGS, profile_path);
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_clear_object (&app);
  kc_ui_cleanup (runtime);
  exit_now (status);
  return status;
}
