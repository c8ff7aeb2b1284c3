/* kc-flow-window.c: a header bar (title, what is drawn, Export) over the
 * flow view, and the event sockets that feed it.
 */
#define G_LOG_DOMAIN "kc-flow-window"

#include "config.h"

#include "kc-flow-window.h"

#include "kc-flow-render.h"
#include "kc-event-socket.h"

#define RETRY_S 2

typedef struct {
  KcFlowWindow  *window;     /* owns this */
  char          *path;
  KcEventClient *client;
  GCancellable  *cancellable;
  guint          retry_id;
  gboolean       up;
} Socket;

struct _KcFlowWindow {
  AdwApplicationWindow  parent_instance;

  KcFlowModel          *model;
  KcFlowView           *view;
  AdwWindowTitle       *title;
  AdwToastOverlay      *toasts;
  char                 *source;
  GPtrArray            *sockets;   /* Socket */
};

G_DEFINE_TYPE (KcFlowWindow, kc_flow_window, ADW_TYPE_APPLICATION_WINDOW)

static void socket_connect (Socket *s);


static void
update_subtitle (KcFlowWindow *self)
{
  g_autoptr(GString) text = g_string_new (self->source);
  guint up = 0;

  for (guint i = 0; i < self->sockets->len; i++)
    up += ((Socket *) self->sockets->pdata[i])->up;
  if (self->sockets->len > 0)
    g_string_append_printf (text, "%slive: %u of %u event socket%s connected",
                            text->len ? " · " : "", up, self->sockets->len,
                            self->sockets->len == 1 ? "" : "s");
  adw_window_title_set_subtitle (self->title, text->str);
}

static void
toast (KcFlowWindow *self, const char *message)
{
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
}

static void
socket_free (gpointer data)
{
  Socket *s = data;

  g_cancellable_cancel (s->cancellable);
  g_clear_handle_id (&s->retry_id, g_source_remove);
  if (s->client != NULL) {
    g_signal_handlers_disconnect_by_data (s->client, s);
    kc_event_client_disconnect (s->client);
  }
  g_clear_object (&s->client);
  g_clear_object (&s->cancellable);
  g_free (s->path);
  g_free (s);
}

static gboolean
on_retry (gpointer user_data)
{
  Socket *s = user_data;

  s->retry_id = 0;
  socket_connect (s);
  return G_SOURCE_REMOVE;
}

static void
socket_down (Socket *s)
{
  s->up = FALSE;
  update_subtitle (s->window);
  if (s->retry_id == 0)
    s->retry_id = g_timeout_add_seconds (RETRY_S, on_retry, s);
}

static void
on_client_event (KcEventClient *client, KcEvent *event, gpointer user_data)
{
  Socket *s = user_data;

  kc_flow_model_add_event (s->window->model, event);
}

static void
on_client_closed (KcEventClient *client, GError *error, gpointer user_data)
{
  Socket *s = user_data;
  g_autofree char *message = g_strdup_printf ("%s closed%s%s", s->path,
                                              error ? ": " : "", error ? error->message : "");

  toast (s->window, message);
  socket_down (s);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  Socket *s;

  if (!kc_event_client_connect_finish (KC_EVENT_CLIENT (source), result, &error)) {
    if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
      return;   /* the window is gone: @user_data with it */
    s = user_data;
    g_debug ("%s: %s", s->path, error->message);
    socket_down (s);
    return;
  }
  s = user_data;
  s->up = TRUE;
  update_subtitle (s->window);
}

static void
socket_connect (Socket *s)
{
  g_clear_object (&s->client);
  s->client = kc_event_client_new ();
  g_signal_connect (s->client, "event", G_CALLBACK (on_client_event), s);
  g_signal_connect (s->client, "closed", G_CALLBACK (on_client_closed), s);
  kc_event_client_connect_async (s->client, s->path, s->cancellable, on_connected, s);
}

static void
on_export_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  path = file ? g_file_get_path (file) : NULL;
  if (path != NULL) {
    if (kc_flow_render_export (self->model, path, &error)) {
      g_autofree char *message = g_strdup_printf ("Exported to %s", path);

      toast (self, message);
    } else {
      toast (self, error->message);
    }
  }
  g_object_unref (dialog);
}

static void
on_export_clicked (GtkButton *button, gpointer user_data)
{
  KcFlowWindow *self = user_data;
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new ("Export the diagram (.svg or .png)", GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "flow.svg");
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
kc_flow_window_dispose (GObject *object)
{
  KcFlowWindow *self = KC_FLOW_WINDOW (object);

  g_clear_pointer (&self->sockets, g_ptr_array_unref);

  G_OBJECT_CLASS (kc_flow_window_parent_class)->dispose (object);
}

static void
kc_flow_window_finalize (GObject *object)
{
  KcFlowWindow *self = KC_FLOW_WINDOW (object);

  g_clear_object (&self->model);
  g_free (self->source);

  G_OBJECT_CLASS (kc_flow_window_parent_class)->finalize (object);
}

static void
kc_flow_window_class_init (KcFlowWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = kc_flow_window_dispose;
  object_class->finalize = kc_flow_window_finalize;
}

static void
kc_flow_window_init (KcFlowWindow *self)
{
  self->sockets = g_ptr_array_new_with_free_func (socket_free);
  self->source = g_strdup ("");
}

KcFlowWindow *
kc_flow_window_new (GtkApplication *app, KcFlowModel *model)
{
  KcFlowWindow *self;
  GtkWidget *box, *header, *export;

  g_return_val_if_fail (app == NULL || GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (model == NULL || KC_IS_FLOW_MODEL (model), NULL);

  self = g_object_new (KC_TYPE_FLOW_WINDOW, "application", app,
                       "title", "Keycall flow", "default-width", 1100, "default-height", 760, NULL);
  self->model = model ? g_object_ref (model) : kc_flow_model_new ();

  self->title = ADW_WINDOW_TITLE (adw_window_title_new ("FIG. 3 key distribution", NULL));
  header = adw_header_bar_new ();
  adw_header_bar_set_title_widget (ADW_HEADER_BAR (header), GTK_WIDGET (self->title));
  export = gtk_button_new_with_mnemonic ("_Export…");
  gtk_widget_set_tooltip_text (export, "Save the diagram as SVG or PNG");
  g_signal_connect (export, "clicked", G_CALLBACK (on_export_clicked), self);
  adw_header_bar_pack_end (ADW_HEADER_BAR (header), export);

  self->view = KC_FLOW_VIEW (kc_flow_view_new (self->model));
  gtk_widget_set_vexpand (GTK_WIDGET (self->view), TRUE);
  self->toasts = ADW_TOAST_OVERLAY (adw_toast_overlay_new ());
  adw_toast_overlay_set_child (self->toasts, GTK_WIDGET (self->view));

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_box_append (GTK_BOX (box), header);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->toasts));
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (self), box);
  return self;
}

KcFlowModel *
kc_flow_window_get_model (KcFlowWindow *window)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  return window->model;
}

KcFlowView *
kc_flow_window_get_view (KcFlowWindow *window)
{
  g_return_val_if_fail (KC_IS_FLOW_WINDOW (window), NULL);
  return window->view;
}

void
kc_flow_window_set_source (KcFlowWindow *window, const char *source)
{
  g_return_if_fail (KC_IS_FLOW_WINDOW (window));

  g_free (window->source);
  window->source = g_strdup (source ? source : "");
  update_subtitle (window);
}

void
kc_flow_window_add_socket (KcFlowWindow *window, const char *path)
{
  Socket *s;

  g_return_if_fail (KC_IS_FLOW_WINDOW (window));
  g_return_if_fail (path != NULL);

  s = g_new0 (Socket, 1);
  s->window = window;
  s->path = g_strdup (path);
  s->cancellable = g_cancellable_new ();
  g_ptr_array_add (window->sockets, s);
  kc_flow_view_set_follow (window->view, TRUE);
  update_subtitle (window);
  socket_connect (s);
}
