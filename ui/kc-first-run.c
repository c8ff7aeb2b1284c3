/* kc-first-run.c: the first-run pages, import and activation (kc-first-run.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-first-run.h"

#include "kc-activation.h"
#include "kc-error.h"

#include <glib/gi18n.h>
#include <string.h>

enum {
  PROP_0,
  PROP_ACTIVATING,
  N_PROPS
};

enum {
  SIGNAL_TOAST,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

struct _KcFirstRun {
  GObject               parent_instance;

  KcApplication        *app;         /* not owned: the application outlives its window */
  KcActivation         *activation;  /* the file on the activate page, or NULL */

  /* Owned by the caller's stack once added. */
  GtkWidget            *welcome_page;
  GtkWidget            *import_error;
  GtkWidget            *activate_page;
  GtkWidget            *activate_number;
  GtkWidget            *activate_controller;
  GtkWidget            *activate_expires;
  GtkWidget            *activate_code;
  GtkWidget            *activate_error;
  GtkFileChooserNative *chooser;
};

G_DEFINE_TYPE (KcFirstRun, kc_first_run, G_TYPE_OBJECT)

static void
toast (KcFirstRun *self,
       const char *message)
{
  g_signal_emit (self, signals[SIGNAL_TOAST], 0, message);
}

/* Opening or closing an activation file switches the window's page. */
static void
set_activation (KcFirstRun   *self,
                KcActivation *activation)
{
  gboolean was = self->activation != NULL;

  g_clear_pointer (&self->activation, kc_activation_free);
  self->activation = activation;
  if (was || activation != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ACTIVATING]);
}

void
kc_first_run_show_error (KcFirstRun *self,
                         const char *message)
{
  g_return_if_fail (KC_IS_FIRST_RUN (self));

  gtk_label_set_text (GTK_LABEL (self->import_error), message != NULL ? message : "");
  gtk_widget_set_visible (self->import_error, message != NULL);
}

/* Import */

gboolean
kc_first_run_import_file (KcFirstRun *self,
                          GFile      *file)
{
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (KC_IS_FIRST_RUN (self), FALSE);

  if (!kc_application_import_profile (self->app, file, &error)) {
    kc_first_run_show_error (self, error->message);
    toast (self, error->message);
    return FALSE;
  }
  kc_first_run_show_error (self, NULL);
  toast (self, _("Profile imported"));
  return TRUE;
}

/* Activation */

static void
show_activate_error (KcFirstRun *self,
                     const char *message)
{
  gtk_label_set_text (GTK_LABEL (self->activate_error), message != NULL ? message : "");
  gtk_widget_set_visible (self->activate_error, message != NULL);
}

gboolean
kc_first_run_open_activation (KcFirstRun *self,
                              GFile      *file)
{
  g_autoptr(KcActivation) activation = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *data = NULL;
  g_autofree char *number = NULL;
  gint64 expires;
  gsize len = 0;

  g_return_val_if_fail (KC_IS_FIRST_RUN (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  name = g_file_get_parse_name (file);
  /* Nothing in the clear part is secret: an ordinary read will do. */
  if (!g_file_load_contents (file, NULL, &data, &len, NULL, &error))
    g_prefix_error (&error, _("Cannot read %s: "), name);
  else if ((activation = kc_activation_parse ((const guint8 *) data, len, &error)) == NULL)
    g_prefix_error (&error, _("%s cannot be used for activation: "), name);
  if (activation == NULL) {
    kc_first_run_show_error (self, error->message);
    toast (self, error->message);
    return FALSE;
  }

  number = g_strdup_printf ("%s (%s)", kc_activation_get_number (activation),
                            kc_activation_get_display_name (activation));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self->activate_number), number);
  gtk_editable_set_text (GTK_EDITABLE (self->activate_controller),
                         kc_activation_get_controller (activation));
  expires = kc_activation_get_expires (activation);
  gtk_widget_set_visible (self->activate_expires, expires != 0);
  if (expires != 0) {
    g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (expires);
    g_autoptr(GDateTime) local = g_date_time_to_local (utc);
    g_autofree char *when = g_date_time_format (local, "%x %X");

    adw_action_row_set_subtitle (ADW_ACTION_ROW (self->activate_expires), when);
  }
  gtk_editable_set_text (GTK_EDITABLE (self->activate_code), "");
  show_activate_error (self, NULL);
  kc_first_run_show_error (self, NULL);
  set_activation (self, g_steal_pointer (&activation));
  gtk_widget_grab_focus (self->activate_code);
  return TRUE;
}

/* The code opens the file; the profile is saved where an import saves it,
 * then the account registers (a refusal shows as the account's state). */
static gboolean
activate (KcFirstRun  *self,
          GError     **error)
{
  g_autoptr(KcProfile) profile = NULL;
  g_autofree char *controller = NULL;
  const char *code = gtk_editable_get_text (GTK_EDITABLE (self->activate_code));

  if (*code == '\0') {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 _("Enter the activation code your administrator gave you"));
    return FALSE;
  }
  if ((profile = kc_activation_unlock (self->activation, code, error)) == NULL)
    return FALSE;
  controller = g_strstrip (g_strdup (gtk_editable_get_text (
    GTK_EDITABLE (self->activate_controller))));
  if (g_strcmp0 (controller, profile->controller) != 0
      && !kc_profile_set_controller (profile, controller, error))
    return FALSE;
  return kc_application_use_profile (self->app, profile, error);
}

gboolean
kc_first_run_activate (KcFirstRun *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  g_return_val_if_fail (KC_IS_FIRST_RUN (self), FALSE);

  if (self->activation == NULL)
    return FALSE;
  if (!activate (self, &error)) {
    show_activate_error (self, error->message);
    return FALSE;
  }
  message = g_strdup_printf (_("Activated %s"), kc_activation_get_number (self->activation));
  gtk_editable_set_text (GTK_EDITABLE (self->activate_code), "");
  show_activate_error (self, NULL);
  set_activation (self, NULL);
  toast (self, message);
  return TRUE;
}

static void
on_activate_back (KcFirstRun *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->activate_code), "");
  set_activation (self, NULL);
}

/* Files from the chooser or a drop */

/* An activation file names its group near the top; anything else is
 * offered to the profile import, which explains what it is not. */
gboolean
kc_first_run_open_file (KcFirstRun *self,
                        GFile      *file)
{
  g_autoptr(GFileInputStream) in = NULL;
  char head[1024];
  gssize n;

  g_return_val_if_fail (KC_IS_FIRST_RUN (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  in = g_file_read (file, NULL, NULL);
  n = in != NULL ? g_input_stream_read (G_INPUT_STREAM (in), head, sizeof head - 1, NULL, NULL)
                 : -1;
  if (n > 0) {
    head[n] = '\0';
    if (strstr (head, "[" KC_ACTIVATION_GROUP "]") != NULL)
      return kc_first_run_open_activation (self, file);
  }
  return kc_first_run_import_file (self, file);
}

static void
on_chooser_response (GtkNativeDialog *dialog,
                     int              response,
                     KcFirstRun      *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

    kc_first_run_open_file (self, file);
  }
  g_clear_object (&self->chooser);
}

void
kc_first_run_choose_file (KcFirstRun *self,
                          GtkWindow  *parent,
                          gboolean    activation)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  g_return_if_fail (KC_IS_FIRST_RUN (self));

  if (self->chooser != NULL)
    return;
  if (activation) {
    self->chooser = gtk_file_chooser_native_new (_("Open an Activation File"), parent,
                                                 GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"),
                                                 _("_Cancel"));
    gtk_file_filter_set_name (filter, _("Keycall activation files"));
    gtk_file_filter_add_pattern (filter, "*" KC_ACTIVATION_SUFFIX);
  } else {
    self->chooser = gtk_file_chooser_native_new (_("Import a Keycall Profile"), parent,
                                                 GTK_FILE_CHOOSER_ACTION_OPEN, _("_Import"),
                                                 _("_Cancel"));
    gtk_file_filter_set_name (filter, _("Keycall profiles"));
    gtk_file_filter_add_pattern (filter, "*.keycall");
    gtk_file_filter_add_pattern (filter, "*.kcprofile");
  }
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Construction */

static GtkWidget *
build_welcome_page (KcFirstRun *self)
{
  GtkWidget *page = adw_status_page_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *button = gtk_button_new_with_mnemonic (_("_Import Profile…"));
  GtkWidget *activate;

  adw_status_page_set_icon_name (ADW_STATUS_PAGE (page), "call-start-symbolic");
  adw_status_page_set_title (ADW_STATUS_PAGE (page), _("Welcome to Keycall"));
  adw_status_page_set_description (ADW_STATUS_PAGE (page),
    _("Import the profile your operator gave you (a .keycall file), or drop it on this "
      "window. It holds your number, your certificate and the controller that creates "
      "your call keys. Given an activation file and a code instead, activate with the "
      "controller."));
  gtk_widget_set_name (button, "import-button");
  gtk_widget_set_halign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "pill");
  gtk_widget_add_css_class (button, "suggested-action");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.import");
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Import a profile file"), -1);
  activate = gtk_button_new_with_mnemonic (_("_Activate with Controller…"));
  gtk_widget_set_name (activate, "activate-button");
  gtk_widget_set_halign (activate, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (activate, "pill");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (activate), "win.activate");
  gtk_accessible_update_property (GTK_ACCESSIBLE (activate), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Open an activation file"), -1);
  self->import_error = gtk_label_new (NULL);
  gtk_widget_set_name (self->import_error, "import-error");
  gtk_widget_add_css_class (self->import_error, "error");
  gtk_label_set_wrap (GTK_LABEL (self->import_error), TRUE);
  gtk_label_set_justify (GTK_LABEL (self->import_error), GTK_JUSTIFY_CENTER);
  gtk_label_set_selectable (GTK_LABEL (self->import_error), TRUE);
  gtk_widget_set_visible (self->import_error, FALSE);
  gtk_box_append (GTK_BOX (box), button);
  gtk_box_append (GTK_BOX (box), activate);
  gtk_box_append (GTK_BOX (box), self->import_error);
  adw_status_page_set_child (ADW_STATUS_PAGE (page), box);
  return page;
}

static GtkWidget *
build_activate_page (KcFirstRun *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
  GtkWidget *group = adw_preferences_group_new ();
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *back = gtk_button_new_with_mnemonic (_("_Back"));
  GtkWidget *confirm = gtk_button_new_with_mnemonic (_("_Activate"));

  gtk_widget_set_margin_top (box, 24);
  gtk_widget_set_margin_bottom (box, 24);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  adw_preferences_group_set_title (ADW_PREFERENCES_GROUP (group), _("Activate with Controller"));
  adw_preferences_group_set_description (ADW_PREFERENCES_GROUP (group),
    _("The activation file names your number and the controller to register with. Enter "
      "the activation code your administrator gave you separately."));

  self->activate_number = adw_action_row_new ();
  gtk_widget_set_name (self->activate_number, "activate-number");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->activate_number), _("Number"));
  gtk_widget_add_css_class (self->activate_number, "property");
  self->activate_controller = adw_entry_row_new ();
  gtk_widget_set_name (self->activate_controller, "activate-controller");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->activate_controller),
                                 _("Controller (sips: address)"));
  self->activate_expires = adw_action_row_new ();
  gtk_widget_set_name (self->activate_expires, "activate-expires");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->activate_expires),
                                 _("Valid until"));
  gtk_widget_add_css_class (self->activate_expires, "property");
  self->activate_code = adw_entry_row_new ();
  gtk_widget_set_name (self->activate_code, "activate-code");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->activate_code),
                                 _("Activation code (XXXXX-XXXXX-XXXXX-XXXXX)"));
  adw_entry_row_set_activates_default (ADW_ENTRY_ROW (self->activate_code), FALSE);
  /* The widgets may outlive this object by a moment (the window's stack
   * goes after it): connect_object drops the handlers with it. */
  g_signal_connect_object (self->activate_code, "entry-activated",
                           G_CALLBACK (kc_first_run_activate), self, G_CONNECT_SWAPPED);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), self->activate_number);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), self->activate_controller);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), self->activate_expires);
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (group), self->activate_code);

  self->activate_error = gtk_label_new (NULL);
  gtk_widget_set_name (self->activate_error, "activate-error");
  gtk_widget_add_css_class (self->activate_error, "error");
  gtk_label_set_wrap (GTK_LABEL (self->activate_error), TRUE);
  gtk_label_set_selectable (GTK_LABEL (self->activate_error), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->activate_error), 0);
  gtk_widget_set_visible (self->activate_error, FALSE);
  gtk_accessible_update_relation (GTK_ACCESSIBLE (self->activate_code),
                                  GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, self->activate_error,
                                  NULL, -1);

  gtk_widget_set_name (back, "activate-back");
  gtk_widget_set_name (confirm, "activate-confirm");
  gtk_widget_add_css_class (confirm, "suggested-action");
  gtk_widget_set_hexpand (confirm, TRUE);
  gtk_widget_set_halign (confirm, GTK_ALIGN_END);
  g_signal_connect_object (back, "clicked", G_CALLBACK (on_activate_back), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (confirm, "clicked", G_CALLBACK (kc_first_run_activate), self,
                           G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (buttons), back);
  gtk_box_append (GTK_BOX (buttons), confirm);

  gtk_box_append (GTK_BOX (box), group);
  gtk_box_append (GTK_BOX (box), self->activate_error);
  gtk_box_append (GTK_BOX (box), buttons);
  return box;
}

GtkWidget *
kc_first_run_get_welcome_page (KcFirstRun *self)
{
  g_return_val_if_fail (KC_IS_FIRST_RUN (self), NULL);

  return self->welcome_page;
}

GtkWidget *
kc_first_run_get_activate_page (KcFirstRun *self)
{
  g_return_val_if_fail (KC_IS_FIRST_RUN (self), NULL);

  return self->activate_page;
}

gboolean
kc_first_run_get_activating (KcFirstRun *self)
{
  g_return_val_if_fail (KC_IS_FIRST_RUN (self), FALSE);

  return self->activation != NULL;
}

static void
kc_first_run_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  KcFirstRun *self = KC_FIRST_RUN (object);

  switch (prop_id) {
  case PROP_ACTIVATING:
    g_value_set_boolean (value, self->activation != NULL);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_first_run_dispose (GObject *object)
{
  KcFirstRun *self = KC_FIRST_RUN (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  /* Pages never added to a stack are ours to drop. */
  g_clear_pointer (&self->welcome_page, g_object_unref);
  g_clear_pointer (&self->activate_page, g_object_unref);
  G_OBJECT_CLASS (kc_first_run_parent_class)->dispose (object);
}

static void
kc_first_run_finalize (GObject *object)
{
  KcFirstRun *self = KC_FIRST_RUN (object);

  kc_activation_free (self->activation);
  G_OBJECT_CLASS (kc_first_run_parent_class)->finalize (object);
}

static void
kc_first_run_class_init (KcFirstRunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = kc_first_run_get_property;
  object_class->dispose = kc_first_run_dispose;
  object_class->finalize = kc_first_run_finalize;

  props[PROP_ACTIVATING] =
    g_param_spec_boolean ("activating", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_TOAST] =
    g_signal_new ("toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
kc_first_run_init (KcFirstRun *self)
{
  /* Held until dispose so that both exist whether or not a stack took them. */
  self->welcome_page = g_object_ref_sink (build_welcome_page (self));
  self->activate_page = g_object_ref_sink (build_activate_page (self));
}

KcFirstRun *
kc_first_run_new (KcApplication *app)
{
  KcFirstRun *self;

  g_return_val_if_fail (KC_IS_APPLICATION (app), NULL);

  self = g_object_new (KC_TYPE_FIRST_RUN, NULL);
  self->app = app;
  return self;
}
