/* kc-application.c: the softphone application (kc-application.h): the
 * profile and its account, preferences, actions and the GApplication; the
 * call it shows is in kc-application-call.c. */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-application.h"
#include "kc-application-private.h"
#include "kc-flow-window.h"
#include "kc-history.h"
#include "kc-host.h"
#include "kc-preferences.h"
#include "kc-ringtone.h"
#include "kc-window.h"

#include "kc-error.h"
#include "kc-profile.h"

#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* How long a replaced account gets to remove its binding before it closes. */
#define RETIRE_GRACE_S 3

GParamSpec *kc_application_props[N_PROPS];
guint kc_application_signals[N_SIGNALS];

G_DEFINE_TYPE (KcApplication, kc_application, ADW_TYPE_APPLICATION)

static void
set_profile_error (KcApplication *self,
                   const char    *message)
{
  if (g_strcmp0 (self->profile_error, message) == 0)
    return;
  g_free (self->profile_error);
  self->profile_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), kc_application_props[PROP_PROFILE_ERROR]);
}

/* Preferences */

static char *
audio_setting (KcApplication *self,
               const char    *key)
{
  g_autofree char *value = g_settings_get_string (self->settings, key);

  if (value[0] == '\0')
    return g_strdup ("default");
  return g_steal_pointer (&value);
}

static gboolean
direct_media (GSettings *settings)
{
  g_autofree char *path = g_settings_get_string (settings, "media-path");

  return g_str_equal (path, "direct");
}

void
kc_application_apply_settings (KcApplication *self)
{
  g_autofree char *input = NULL;
  g_autofree char *output = NULL;
  g_auto(GStrv) codecs = NULL;
  g_autoptr(GError) error = NULL;

  if (self->account == NULL)
    return;
  input = audio_setting (self, "audio-input");
  output = audio_setting (self, "audio-output");
  kc_cta_account_set_audio (self->account, input, output);
  codecs = g_settings_get_strv (self->settings, "codecs");
  if (codecs[0] != NULL
      && !kc_cta_account_set_codecs (self->account, (const char * const *) codecs, &error))
    g_message ("Ignoring the codec preference: %s", error->message);
  kc_cta_account_set_direct_media (self->account, direct_media (self->settings));
}

static void
apply_ringtone (KcApplication *self)
{
  g_autofree char *style = g_settings_get_string (self->settings, "ringtone");

  kc_ringtone_set_style (self->ringtone, style);
}

/* The embedded controller runs while its switch is on and its
 * controller.ini can be used; why it cannot is the host's error. */
static void
apply_host (KcHost    *host,
            GSettings *settings)
{
  g_autofree char *config = g_settings_get_string (settings, "host-controller-config");
  g_autoptr(GError) error = NULL;

  if (!g_settings_get_boolean (settings, "host-controller") || config[0] == '\0') {
    kc_host_stop (host);
    return;
  }
  if (!kc_host_start (host, config, &error))
    g_message ("The embedded controller did not start: %s", error->message);
}

static void
on_settings_changed (GSettings     *settings,
                     const char    *key,
                     KcApplication *self)
{
  if (g_str_has_prefix (key, "host-controller"))
    apply_host (self->host, settings);
  else if (g_str_equal (key, "ringtone"))
    apply_ringtone (self);
  else
    kc_application_apply_settings (self);
}

/* URIs (sip:, sips:, tel:) from the command line or the desktop (the
 * .desktop file's %u): as GNOME Calls does, the number is dialled at once,
 * or as soon as the account registers. */

static void
dial_pending (KcApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autofree char *text = g_steal_pointer (&self->pending_dial);

  if (text != NULL && window != NULL)
    kc_window_dial (KC_WINDOW (window), text);
}

static void
on_registered (KcCtaAccount  *account,
               KcApplication *self)
{
  dial_pending (self);
}

static void
kc_application_open (GApplication  *app,
                     GFile        **files,
                     int            n_files,
                     const char    *hint)
{
  KcApplication *self = KC_APPLICATION (app);
  GtkWindow *window;

  g_application_activate (app);
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (n_files < 1 || window == NULL)
    return;
  if (n_files > 1)
    g_message ("Calling only the first of %d addresses: one call at a time", n_files);
  g_free (self->pending_dial);
  self->pending_dial = g_file_get_uri (files[0]);
  kc_window_set_dial_text (KC_WINDOW (window), self->pending_dial);
  if (self->account != NULL && kc_cta_account_get_state (self->account) == KC_CTA_REG_REGISTERED)
    dial_pending (self);
}

/* The account */

static gboolean
on_retired (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
drop_account (KcApplication *self)
{
  if (self->account == NULL)
    return;
  kc_application_stop_ringing (self);
  if (self->call != NULL) {
    kc_cta_call_hangup (self->call);
    g_signal_handlers_disconnect_by_data (self->call, self);
    g_clear_object (&self->call);
    g_object_notify_by_pspec (G_OBJECT (self), kc_application_props[PROP_CALL]);
  }
  g_signal_handlers_disconnect_by_data (self->account, self);
  kc_cta_account_unregister (self->account);
  g_timeout_add_seconds (RETIRE_GRACE_S, on_retired, g_steal_pointer (&self->account));
  g_object_notify_by_pspec (G_OBJECT (self), kc_application_props[PROP_ACCOUNT]);
}

static gboolean
start_account (KcApplication  *self,
               const char     *path,
               GError        **error)
{
  g_autoptr(KcCtaAccount) account = NULL;
  KcProfile *profile;

  if ((profile = kc_profile_load (path, error)) == NULL)
    return FALSE;
  account = kc_cta_account_new (profile);
  drop_account (self);
  self->account = g_steal_pointer (&account);
  kc_application_apply_settings (self);
  g_signal_connect (self->account, "incoming-call",
                    G_CALLBACK (kc_application_on_incoming_call), self);
  g_signal_connect (self->account, "registered", G_CALLBACK (on_registered), self);
  if (!kc_cta_account_start (self->account, error)) {
    g_signal_handlers_disconnect_by_data (self->account, self);
    g_clear_object (&self->account);
    return FALSE;
  }
  if (g_strcmp0 (self->profile_path, path) != 0) {
    g_free (self->profile_path);
    self->profile_path = g_strdup (path);
  }
  set_profile_error (self, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), kc_application_props[PROP_ACCOUNT]);
  return TRUE;
}

char *
kc_application_imported_path (void)
{
  return kc_profile_default_path ();
}

gboolean
kc_application_import_profile (KcApplication  *self,
                               GFile          *file,
                               GError        **error)
{
  g_autoptr(KcProfile) profile = NULL;
  g_autofree char *name = g_file_get_parse_name (file);
  g_autoptr(GError) local = NULL;
  char *data = NULL;
  gsize len = 0;

  g_return_val_if_fail (KC_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  if (!g_file_load_contents (file, NULL, &data, &len, NULL, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, _("Cannot read %s: %s"), name, local->message);
    return FALSE;
  }
  if (len > KC_PROFILE_MAX_LEN) {
    explicit_bzero (data, len);
    g_free (data);
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 _("%s is too large to be a Keycall profile"), name);
    return FALSE;
  }
  /* The file holds a private key: parse it, then wipe the plain copy. The
   * source may be readable by others (a download); the copy will not be. */
  profile = kc_profile_parse ((const guint8 *) data, len, &local);
  explicit_bzero (data, len);
  g_free (data);
  if (profile == NULL) {
    g_set_error (error, KC_ERROR, local->code, _("%s is not a usable profile: %s"), name,
                 local->message);
    return FALSE;
  }
  return kc_application_use_profile (self, profile, error);
}

gboolean
kc_application_use_profile (KcApplication  *self,
                            KcProfile      *profile,
                            GError        **error)
{
  g_autofree char *dest = kc_application_imported_path ();
  g_autofree char *dir = g_path_get_dirname (dest);
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (KC_IS_APPLICATION (self), FALSE);
  g_return_val_if_fail (profile != NULL, FALSE);

  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, _("Cannot create %s: %s"), dir,
                 g_strerror (errno));
    return FALSE;
  }
  if (!kc_profile_save (profile, dest, TRUE, error))
    return FALSE;
  if (!start_account (self, dest, &local)) {
    set_profile_error (self, local->message);
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  return TRUE;
}

/* Actions */

static void
on_answer_action (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       user_data)
{
  KcApplication *self = user_data;
  g_autoptr(GError) error = NULL;

  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (!kc_application_answer (self, &error))
    g_message ("%s", error->message);
  if (window != NULL)
    gtk_window_present (window);
}

static void
on_decline_action (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  g_autoptr(GError) error = NULL;

  if (!kc_application_decline (user_data, &error))
    g_message ("%s", error->message);
}

static void
on_preferences_action (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  KcApplication *self = user_data;
  GtkWindow *prefs = kc_preferences_new (self->settings, self->host);

  gtk_window_set_transient_for (prefs, gtk_application_get_active_window (GTK_APPLICATION (self)));
  gtk_window_present (prefs);
}

static void
on_controller_preferences_action (GSimpleAction *action,
                                  GVariant      *parameter,
                                  gpointer       user_data)
{
  KcApplication *self = user_data;
  GtkWindow *prefs = kc_preferences_new (self->settings, self->host);

  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (prefs), "controller");
  gtk_window_set_transient_for (prefs, gtk_application_get_active_window (GTK_APPLICATION (self)));
  gtk_window_present (prefs);
}

static void
on_about_action (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  KcApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  const char *developers[] = { "The Keycall authors", NULL };

  adw_show_about_window (parent,
                         "application-name", _("Keycall"),
                         "application-icon", KC_APPLICATION_ID,
                         "version", PACKAGE_VERSION,
                         "comments", _("Encrypted calls whose keys come from your controller "
                                       "(WO 00/45539)"),
                         "developers", developers,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         NULL);
}

static void
on_flow_window_destroy (KcApplication *self)
{
  self->flow_window = NULL;
  kc_application_update_actions (self);
}

static void
on_controller_flow_action (GSimpleAction *action,
                           GVariant      *parameter,
                           gpointer       user_data)
{
  KcApplication *self = user_data;
  KcFlowWindow *window;
  g_autofree char *source = NULL;

  if (self->flow_window != NULL) {
    gtk_window_present (self->flow_window);
    return;
  }
  window = kc_flow_window_new (GTK_APPLICATION (self), kc_host_get_model (self->host));
  source = g_strdup_printf (_("Controller %s on this desktop"),
                            kc_host_get_name (self->host) ? kc_host_get_name (self->host) : "");
  kc_flow_window_set_source (window, source);
  gtk_window_set_title (GTK_WINDOW (window), _("Keycall Controller"));
  self->flow_window = GTK_WINDOW (window);
  g_signal_connect_object (window, "destroy", G_CALLBACK (on_flow_window_destroy), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (window));
}

static void
on_quit_action (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { "answer", on_answer_action },
  { "decline", on_decline_action },
  { "preferences", on_preferences_action },
  { "controller-preferences", on_controller_preferences_action },
  { "about", on_about_action },
  { "controller-flow", on_controller_flow_action },
  { "quit", on_quit_action },
};

/* GApplication */

static void
kc_application_activate (GApplication *app)
{
  KcApplication *self = KC_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL) {
    g_autoptr(GError) error = NULL;
    g_autofree char *imported = kc_application_imported_path ();
    const char *path = self->profile_path != NULL ? self->profile_path : imported;

    /* No profile yet is the first run, not an error: the window offers import. */
    if (self->profile_path != NULL || g_file_test (imported, G_FILE_TEST_EXISTS)) {
      if (!start_account (self, path, &error))
        set_profile_error (self, error->message);
    }
    window = GTK_WINDOW (kc_window_new (self));
  }
  gtk_window_present (window);
}

static void
kc_application_startup (GApplication *app)
{
  KcApplication *self = KC_APPLICATION (app);
  const char *quit_accels[] = { "<Control>q", NULL };
  const char *prefs_accels[] = { "<Control>comma", NULL };

  G_APPLICATION_CLASS (kc_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         prefs_accels);
  g_signal_connect_swapped (self->host, "notify::running",
                            G_CALLBACK (kc_application_update_actions), self);
  apply_host (self->host, self->settings);
  kc_application_update_actions (self);
}

static void
kc_application_shutdown (GApplication *app)
{
  KcApplication *self = KC_APPLICATION (app);

  kc_application_stop_ringing (self);
  kc_application_withdraw_notification (self);
  drop_account (self);
  g_signal_handlers_disconnect_by_data (self->host, self);
  kc_host_stop (self->host);
  G_APPLICATION_CLASS (kc_application_parent_class)->shutdown (app);
}

static void
kc_application_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  KcApplication *self = KC_APPLICATION (object);

  switch (prop_id) {
  case PROP_ACCOUNT:
    g_value_set_object (value, self->account);
    break;
  case PROP_CALL:
    g_value_set_object (value, self->call);
    break;
  case PROP_PROFILE_ERROR:
    g_value_set_string (value, self->profile_error);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_application_finalize (GObject *object)
{
  KcApplication *self = KC_APPLICATION (object);

  if (self->call != NULL)
    g_signal_handlers_disconnect_by_data (self->call, self);
  g_clear_object (&self->call);
  if (self->account != NULL)
    g_signal_handlers_disconnect_by_data (self->account, self);
  g_clear_object (&self->account);
  g_clear_object (&self->settings);
  g_clear_object (&self->host);
  g_clear_pointer (&self->ringtone, kc_ringtone_free);
  g_free (self->pending_dial);
  g_free (self->profile_path);
  g_free (self->profile_error);
  g_free (self->history_path);
  G_OBJECT_CLASS (kc_application_parent_class)->finalize (object);
}

static void
kc_application_class_init (KcApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->get_property = kc_application_get_property;
  object_class->finalize = kc_application_finalize;
  app_class->activate = kc_application_activate;
  app_class->open = kc_application_open;
  app_class->startup = kc_application_startup;
  app_class->shutdown = kc_application_shutdown;

  kc_application_props[PROP_ACCOUNT] =
    g_param_spec_object ("account", NULL, NULL, KC_TYPE_CTA_ACCOUNT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  kc_application_props[PROP_CALL] =
    g_param_spec_object ("call", NULL, NULL, KC_TYPE_CTA_CALL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  kc_application_props[PROP_PROFILE_ERROR] =
    g_param_spec_string ("profile-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, kc_application_props);

  kc_application_signals[SIGNAL_CALL_FINISHED] =
    g_signal_new ("call-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, KC_TYPE_CTA_CALL, G_TYPE_STRING);
}

static void
kc_application_init (KcApplication *self)
{
  self->settings = g_settings_new (KC_APPLICATION_ID);
  g_signal_connect (self->settings, "changed", G_CALLBACK (on_settings_changed), self);
  self->history_path = kc_history_default_path ();
  self->ringtone = kc_ringtone_new ();
  apply_ringtone (self);
  self->host = kc_host_new ();
}

KcApplication *
kc_application_new (GApplicationFlags  flags,
                    const char        *profile_path)
{
  KcApplication *self = g_object_new (KC_TYPE_APPLICATION,
                                      "application-id", KC_APPLICATION_ID,
                                      "flags", flags | G_APPLICATION_HANDLES_OPEN,
                                      NULL);

  self->profile_path = g_strdup (profile_path);
  return self;
}

KcCtaAccount *
kc_application_get_account (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), NULL);
  return self->account;
}

KcCtaCall *
kc_application_get_call (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), NULL);
  return self->call;
}

const char *
kc_application_get_profile_error (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), NULL);
  return self->profile_error;
}

GSettings *
kc_application_get_settings (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), NULL);
  return self->settings;
}

const char *
kc_application_get_history_path (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), NULL);
  return self->history_path;
}

KcHost *
kc_application_get_host (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), NULL);
  return self->host;
}

gboolean
kc_application_is_ringing (KcApplication *self)
{
  g_return_val_if_fail (KC_IS_APPLICATION (self), FALSE);
  return kc_ringtone_is_playing (self->ringtone);
}
