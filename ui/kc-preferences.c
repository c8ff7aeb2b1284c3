/* kc-preferences.c: the preferences window (kc-preferences.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-preferences.h"

#include "kc-audio-device.h"
#include "kc-audio-monitor.h"
#include "kc-host.h"
#include "kc-ringtone.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <string.h>

/* A device row's state: the setting it writes, and the setting value of
 * each item, rebuilt whenever the device list changes. */
typedef struct {
  GSettings   *settings;
  char        *key;
  gboolean     input;
  GPtrArray   *values;      /* setting value of each combo item */
  gboolean     filling;     /* the model is being replaced: not a choice */
} DeviceChoice;

static void
device_choice_free (DeviceChoice *choice)
{
  g_object_unref (choice->settings);
  g_free (choice->key);
  g_ptr_array_unref (choice->values);
  g_free (choice);
}

static void
on_device_selected (AdwComboRow  *row,
                    GParamSpec   *pspec,
                    DeviceChoice *choice)
{
  guint i = adw_combo_row_get_selected (row);

  if (!choice->filling && i < choice->values->len)
    g_settings_set_string (choice->settings, choice->key, g_ptr_array_index (choice->values, i));
}

/* (Re)builds @row's items from @devices, keeping the current choice. A
 * chosen device that is not in the list stays chosen (it may be plugged
 * back in) and the row says it is missing. */
static void
fill_device_row (AdwComboRow  *row,
                 DeviceChoice *choice,
                 GPtrArray    *devices)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  g_autofree char *current = g_settings_get_string (choice->settings, choice->key);
  const char *subtitle = NULL;
  g_autofree char *missing = NULL;
  guint selected = 0;

  g_ptr_array_set_size (choice->values, 0);
  gtk_string_list_append (labels, _("Default device"));
  g_ptr_array_add (choice->values, g_strdup ("default"));
  gtk_string_list_append (labels, _("None (silence)"));
  g_ptr_array_add (choice->values, g_strdup ("none"));
  for (guint i = 0; devices != NULL && i < devices->len; i++) {
    const KcAudioDeviceInfo *info = g_ptr_array_index (devices, i);
    g_autofree char *label = NULL;

    if ((choice->input ? info->max_input_channels : info->max_output_channels) <= 0)
      continue;
    label = g_strdup_printf ("%s (%s)", info->name, info->host_api);
    gtk_string_list_append (labels, label);
    g_ptr_array_add (choice->values, g_strconcat ("device:", info->name, NULL));
  }
  for (guint i = 0; i < choice->values->len; i++)
    if (g_strcmp0 (g_ptr_array_index (choice->values, i), current) == 0)
      selected = i;
  /* A value set elsewhere (a file, a device not plugged in) stays choosable. */
  if (selected == 0 && g_strcmp0 (current, "default") != 0 && *current != '\0') {
    const char *shown = g_str_has_prefix (current, "device:") ? current + strlen ("device:")
                                                               : current;
    g_autofree char *label = g_strdup_printf (_("%s (not available)"), shown);

    gtk_string_list_append (labels, label);
    g_ptr_array_add (choice->values, g_strdup (current));
    selected = choice->values->len - 1;
    if (g_str_has_prefix (current, "device:")) {
      missing = g_strdup_printf (_("“%s” is not connected. Calls cannot use it until it is "
                                   "back; choose another device or plug it in again."),
                                 current + strlen ("device:"));
      subtitle = missing;
    }
  }

  choice->filling = TRUE;
  adw_combo_row_set_model (row, G_LIST_MODEL (labels));
  adw_combo_row_set_selected (row, selected);
  choice->filling = FALSE;
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle != NULL ? subtitle : "");
  if (subtitle != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (row), "warning");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (row), "warning");
}

static GtkWidget *
device_row (GSettings  *settings,
            const char *key,
            const char *title,
            GPtrArray  *devices,
            gboolean    input)
{
  GtkWidget *row = adw_combo_row_new ();
  DeviceChoice *choice = g_new0 (DeviceChoice, 1);

  choice->settings = g_object_ref (settings);
  choice->key = g_strdup (key);
  choice->input = input;
  choice->values = g_ptr_array_new_with_free_func (g_free);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_widget_set_name (row, key);
  fill_device_row (ADW_COMBO_ROW (row), choice, devices);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  g_object_set_data (G_OBJECT (row), "kc-device-choice", choice);
  g_signal_connect_data (row, "notify::selected", G_CALLBACK (on_device_selected), choice,
                         (GClosureNotify) (void (*) (void)) device_choice_free, 0);
  return row;
}

/* The sound group's description: when calls use the choice, or why there
 * is no device list. */
static void
describe_sound (GtkWidget    *group,
                const GError *error)
{
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
                                         error != NULL ? error->message
                                                       : _("Used from the next call on."));
}

/* Devices came or went (KcAudioMonitor): both rows get the new list. */
static void
on_devices_changed (KcAudioMonitor *monitor,
                    GtkWidget      *group)
{
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;
  const char *keys[] = { "audio-input", "audio-output" };

  devices = kc_audio_list_devices (&error);
  describe_sound (group, error);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    GtkWidget *row = g_object_get_data (G_OBJECT (group), keys[i]);
    DeviceChoice *choice = g_object_get_data (G_OBJECT (row), "kc-device-choice");

    fill_device_row (ADW_COMBO_ROW (row), choice, devices);
  }
  g_debug ("device lists updated: %u devices", devices != NULL ? devices->len : 0);
}

/* The choice changed elsewhere (another window, gsettings): show it. */
static void
on_device_setting_changed (GSettings  *settings,
                           const char *key,
                           GtkWidget  *row)
{
  DeviceChoice *choice = g_object_get_data (G_OBJECT (row), "kc-device-choice");
  guint selected = adw_combo_row_get_selected (ADW_COMBO_ROW (row));
  g_autofree char *current = g_settings_get_string (settings, key);

  if (selected < choice->values->len
      && g_strcmp0 (g_ptr_array_index (choice->values, selected), current) == 0)
    return;
  {
    g_autoptr(GPtrArray) devices = kc_audio_list_devices (NULL);

    fill_device_row (ADW_COMBO_ROW (row), choice, devices);
  }
}

/* A combo row choosing one of @values (NULL-terminated, static) for the
 * string key @key, shown as @labels in the same order; named @key. */

static void
on_choice_selected (AdwComboRow *row,
                    GParamSpec  *pspec,
                    GSettings   *settings)
{
  const char *key = g_object_get_data (G_OBJECT (row), "kc-choice-key");
  const char *const *values = g_object_get_data (G_OBJECT (row), "kc-choice-values");
  guint i = adw_combo_row_get_selected (row);

  if (i < g_strv_length ((char **) values))
    g_settings_set_string (settings, key, values[i]);
}

static GtkWidget *
choice_row (GSettings          *settings,
            const char         *key,
            const char         *title,
            const char         *accessible_name,
            const char *const  *values,
            GtkStringList      *labels)
{
  GtkWidget *row = adw_combo_row_new ();
  g_autofree char *current = g_settings_get_string (settings, key);
  guint selected = 0;

  for (guint i = 0; values[i] != NULL; i++)
    if (g_str_equal (values[i], current))
      selected = i;
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_widget_set_name (row, key);
  adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (labels));
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), selected);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  accessible_name, -1);
  g_object_set_data (G_OBJECT (row), "kc-choice-key", (gpointer) key);
  g_object_set_data (G_OBJECT (row), "kc-choice-values", (gpointer) values);
  g_signal_connect_object (row, "notify::selected", G_CALLBACK (on_choice_selected), settings,
                           0);
  return row;
}

/* The ringtone: one row over kc_ringtone_styles(). */
static GtkWidget *
ringtone_row (GSettings *settings)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  const char *const *styles = kc_ringtone_styles ();

  for (guint i = 0; styles[i] != NULL; i++)
    gtk_string_list_append (labels, kc_ringtone_style_name (styles[i]));
  return choice_row (settings, "ringtone", _("Ringtone"), _("Ringtone"), styles, labels);
}

/* The media path (relay preference): the request the account sends; the
 * controller's [media] relay decides, the same for every call. */

static const char *const media_paths[] = { "relay", "direct", NULL };

static GtkWidget *
media_group (GSettings *settings)
{
  GtkWidget *group = adw_preferences_group_new ();
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Media Path"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
    _("The controller’s relay hides your address from the other desktop. Direct media is used "
      "only if your controller allows it for every call; the call key and its encryption are "
      "the same either way, and your controller still knows the key."));
  gtk_string_list_append (labels, _("Through the relay"));
  gtk_string_list_append (labels, _("Direct, if allowed"));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group),
                             choice_row (settings, "media-path", _("Relay Preference"),
                                         _("Relay preference"), media_paths, labels));
  return group;
}

/* Codec order: one row per codec with a button moving it up. */

static void fill_codecs (GtkWidget *group, GSettings *settings);

static void
on_codec_up (GtkButton *button,
             GtkWidget *group)
{
  GSettings *settings = g_object_get_data (G_OBJECT (group), "kc-settings");
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "kc-index"));
  g_auto(GStrv) codecs = g_settings_get_strv (settings, "codecs");
  char *swap;

  if (index == 0 || index >= g_strv_length (codecs))
    return;
  swap = codecs[index - 1];
  codecs[index - 1] = codecs[index];
  codecs[index] = swap;
  g_settings_set_strv (settings, "codecs", (const char * const *) codecs);
  fill_codecs (group, settings);
}

static void
fill_codecs (GtkWidget *group,
             GSettings *settings)
{
  g_auto(GStrv) codecs = g_settings_get_strv (settings, "codecs");
  GPtrArray *rows = g_object_get_data (G_OBJECT (group), "kc-rows");

  for (guint i = 0; i < rows->len; i++)
    adw_preferences_group_remove (ADW_PREFERENCES_GROUP (group), g_ptr_array_index (rows, i));
  g_ptr_array_set_size (rows, 0);

  for (guint i = 0; codecs[i] != NULL; i++) {
    GtkWidget *row = adw_action_row_new ();
    GtkWidget *up = gtk_button_new_from_icon_name ("go-up-symbolic");
    g_autofree char *title = g_strdup_printf ("%u. %s", i + 1, codecs[i]);
    g_autofree char *a11y = g_strdup_printf (_("Prefer %s over the codec above"), codecs[i]);
    g_autofree char *name = g_strdup_printf ("codec-up-%s", codecs[i]);

    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
    gtk_widget_set_name (up, name);
    gtk_widget_set_valign (up, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class (up, "flat");
    gtk_widget_set_sensitive (up, i > 0);
    gtk_widget_set_tooltip_text (up, a11y);
    gtk_accessible_update_property (GTK_ACCESSIBLE (up), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
    g_object_set_data (G_OBJECT (up), "kc-index", GUINT_TO_POINTER (i));
    g_signal_connect (up, "clicked", G_CALLBACK (on_codec_up), group);
    adw_action_row_add_suffix (ADW_ACTION_ROW (row), up);
    adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), row);
    g_ptr_array_add (rows, row);
  }
}

/* The embedded controller: a switch, the controller.ini it runs, and what
 * it is doing (listening where, or why it could not start). */

static void
update_host_rows (GtkWidget *group)
{
  KcHost *host = g_object_get_data (G_OBJECT (group), "kc-host");
  GSettings *settings = g_object_get_data (G_OBJECT (group), "kc-settings");
  GtkWidget *state = g_object_get_data (G_OBJECT (group), "kc-state-row");
  GtkWidget *file = g_object_get_data (G_OBJECT (group), "kc-file-row");
  g_autofree char *path = g_settings_get_string (settings, "host-controller-config");
  g_autofree char *subtitle = NULL;

  if (kc_host_is_running (host))
    subtitle = g_strdup_printf (_("Controller %s is listening on %s"), kc_host_get_name (host),
                                kc_host_get_listen_uri (host));
  else if (kc_host_get_error (host) != NULL)
    subtitle = g_strdup_printf (_("Not running: %s"), kc_host_get_error (host));
  else if (g_settings_get_boolean (settings, "host-controller") && path[0] == '\0')
    subtitle = g_strdup (_("Choose its configuration below"));
  else
    subtitle = g_strdup (_("Off"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (state), subtitle);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (file),
                               path[0] != '\0' ? path : _("None chosen"));
}

static void
on_config_chosen (GtkNativeDialog *dialog,
                  int              response,
                  GtkWidget       *group)
{
  GSettings *settings = g_object_get_data (G_OBJECT (group), "kc-settings");

  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
    g_autofree char *path = g_file_get_path (file);

    if (path != NULL)
      g_settings_set_string (settings, "host-controller-config", path);
  }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
on_choose_config (GtkButton *button,
                  GtkWidget *group)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (button));
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Choose a Controller Configuration"),
                                        GTK_WINDOW (root), GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Choose"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Controller configuration (controller.ini)"));
  gtk_file_filter_add_pattern (filter, "*.ini");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_config_chosen), group);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static GtkWidget *
host_group (GSettings *settings,
            KcHost    *host)
{
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *state = adw_action_row_new ();
  GtkWidget *toggle = gtk_switch_new ();
  GtkWidget *file = adw_action_row_new ();
  GtkWidget *choose = gtk_button_new_with_mnemonic (_("C_hoose…"));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("This Desktop’s Controller"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
    _("Run a gateway controller inside Keycall, so softphones can call through this "
      "desktop with no server. It creates and seals the keys of the calls it serves."));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (state), _("Host a Controller"));
  gtk_widget_set_name (toggle, "host-controller");
  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Host a controller on this desktop"), -1);
  g_settings_bind (settings, "host-controller", toggle, "active", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (state), toggle);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (state), toggle);
  gtk_widget_set_name (state, "host-controller-state");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (file), _("Configuration"));
  gtk_widget_set_name (file, "host-controller-config");
  gtk_widget_set_name (choose, "host-controller-choose");
  gtk_widget_set_valign (choose, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (choose), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Choose the controller’s configuration file"), -1);
  g_signal_connect (choose, "clicked", G_CALLBACK (on_choose_config), group);
  adw_action_row_add_suffix (ADW_ACTION_ROW (file), choose);

  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), state);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), file);

  g_object_set_data_full (G_OBJECT (group), "kc-host", g_object_ref (host), g_object_unref);
  g_object_set_data_full (G_OBJECT (group), "kc-settings", g_object_ref (settings),
                          g_object_unref);
  g_object_set_data (G_OBJECT (group), "kc-state-row", state);
  g_object_set_data (G_OBJECT (group), "kc-file-row", file);
  g_signal_connect_object (host, "notify", G_CALLBACK (update_host_rows), group,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (settings, "changed", G_CALLBACK (update_host_rows), group,
                           G_CONNECT_SWAPPED);
  update_host_rows (group);
  return group;
}

GtkWindow *
kc_preferences_new (GSettings *settings,
                    KcHost    *host)
{
  GtkWidget *window = adw_preferences_window_new ();
  GtkWidget *page = adw_preferences_page_new ();
  GtkWidget *audio = adw_preferences_group_new ();
  GtkWidget *codecs = adw_preferences_group_new ();
  g_autoptr(GPtrArray) devices = NULL;
  g_autoptr(GError) error = NULL;
  KcAudioMonitor *monitor;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (page), _("Calls"));
  adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (page), "call-start-symbolic");

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (audio), _("Sound"));
  devices = kc_audio_list_devices (&error);
  describe_sound (audio, error);
  for (guint i = 0; i < 2; i++) {
    const char *key = i == 0 ? "audio-input" : "audio-output";
    GtkWidget *row = device_row (settings, key, i == 0 ? _("Microphone") : _("Speaker"),
                                 devices, i == 0);
    g_autofree char *signal = g_strconcat ("changed::", key, NULL);

    adw_preferences_group_add (ADW_PREFERENCES_GROUP (audio), row);
    g_object_set_data (G_OBJECT (audio), key, row);
    g_signal_connect_object (settings, signal, G_CALLBACK (on_device_setting_changed), row, 0);
  }
  /* Devices plugged in or removed while the window is open show up (after
   * the call's audio stops, when one runs: PortAudio cannot re-read its
   * list under an open stream). */
  monitor = kc_audio_monitor_new ();
  g_signal_connect_object (monitor, "changed", G_CALLBACK (on_devices_changed), audio, 0);
  g_object_set_data_full (G_OBJECT (window), "kc-audio-monitor", monitor, g_object_unref);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (audio), ringtone_row (settings));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (audio));

  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (codecs), _("Codecs"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (codecs),
                                         _("Offered and accepted in this order, best first."));
  g_object_set_data_full (G_OBJECT (codecs), "kc-rows", g_ptr_array_new (),
                          (GDestroyNotify) g_ptr_array_unref);
  g_object_set_data_full (G_OBJECT (codecs), "kc-settings", g_object_ref (settings),
                          g_object_unref);
  fill_codecs (codecs, settings);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (codecs));
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page),
                            ADW_PREFERENCES_GROUP (media_group (settings)));

  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (window), ADW_PREFERENCES_PAGE (page));
  if (host != NULL) {
    GtkWidget *controller = adw_preferences_page_new ();

    adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (controller), _("Controller"));
    adw_preferences_page_set_icon_name (ADW_PREFERENCES_PAGE (controller),
                                        "network-server-symbolic");
    adw_preferences_page_set_name (ADW_PREFERENCES_PAGE (controller), "controller");
    adw_preferences_page_add (ADW_PREFERENCES_PAGE (controller),
                              ADW_PREFERENCES_GROUP (host_group (settings, host)));
    adw_preferences_window_add (ADW_PREFERENCES_WINDOW (window),
                                ADW_PREFERENCES_PAGE (controller));
  }
  gtk_window_set_title (GTK_WINDOW (window), _("Preferences"));
  /* Tall enough for the Calls page's four groups without scrolling on a
   * 768-pixel screen. */
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 740);
  /* A handful of rows: nothing to search. */
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (window), FALSE);
  gtk_window_set_modal (GTK_WINDOW (window), TRUE);
  return GTK_WINDOW (window);
}
