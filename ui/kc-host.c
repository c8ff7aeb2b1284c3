/* kc-host.c: the embedded controller (kc-host.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-host.h"

#include "kc-controller.h"
#include "kc-controller-config.h"
#include "kc-error.h"
#include "kc-event-bus.h"
#include "kc-event-socket.h"

#include <sofia-sip/su_glib.h>

/* How long the CANCELs and BYEs of a stopped controller get to leave. */
#define STOP_GRACE_MS 500

struct _KcHost {
  GObject             parent_instance;

  KcControllerConfig *config;
  KcEventBus         *bus;
  KcEventServer      *server;       /* when controller.ini names an event socket */
  su_root_t          *root;
  GSource            *source;        /* the root's, borrowed */
  KcController       *controller;
  guint               model_listener;
  KcFlowModel        *model;
  char               *error;
};

G_DEFINE_FINAL_TYPE (KcHost, kc_host, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_ERROR,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

/* What a stopped controller needs until its grace period is over. */
typedef struct {
  KcControllerConfig *config;
  KcEventBus         *bus;
  KcEventServer      *server;
  su_root_t          *root;
  GSource            *source;
  KcController       *controller;
} Stopping;

static gboolean
free_stopped (gpointer data)
{
  Stopping *s = data;

  kc_controller_free (s->controller);
  if (s->server != NULL) {
    kc_event_server_close (s->server);
    kc_event_server_unref (s->server);
  }
  g_source_destroy (s->source);     /* borrowed from the root: never unreffed */
  su_root_destroy (s->root);
  kc_event_bus_unref (s->bus);
  kc_controller_config_free (s->config);
  g_free (s);
  return G_SOURCE_REMOVE;
}

/* Ends the running controller's calls and takes it out of @self. */
static Stopping *
take_stopping (KcHost *self)
{
  Stopping *s = g_new0 (Stopping, 1);

  kc_controller_stop (self->controller);
  kc_event_bus_remove_listener (self->bus, self->model_listener);
  self->model_listener = 0;
  s->config = g_steal_pointer (&self->config);
  s->bus = g_steal_pointer (&self->bus);
  s->server = g_steal_pointer (&self->server);
  s->root = g_steal_pointer (&self->root);
  s->source = g_steal_pointer (&self->source);
  s->controller = g_steal_pointer (&self->controller);
  return s;
}

void
kc_host_stop (KcHost *self)
{
  gboolean calls;

  g_return_if_fail (KC_IS_HOST (self));

  if (self->controller == NULL)
    return;
  g_message ("Stopping the embedded controller %s", self->config->name);
  calls = kc_controller_count_calls (self->controller) > 0;
  if (calls)
    g_timeout_add (STOP_GRACE_MS, free_stopped, take_stopping (self));
  else
    free_stopped (take_stopping (self));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
}

static void
set_error (KcHost     *self,
           const char *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ERROR]);
}

gboolean
kc_host_start (KcHost      *self,
               const char  *config_path,
               GError     **error)
{
  KcControllerOverrides overrides = KC_CONTROLLER_OVERRIDES_INIT;
  g_autoptr(KcEventBus) bus = NULL;
  g_autoptr(KcEventServer) server = NULL;
  g_autoptr(GError) local = NULL;
  KcControllerConfig *config;

  g_return_val_if_fail (KC_IS_HOST (self), FALSE);
  g_return_val_if_fail (config_path != NULL, FALSE);

  kc_host_stop (self);
  set_error (self, NULL);

  if ((config = kc_controller_config_load (config_path, &overrides, &local)) == NULL)
    goto fail;
  bus = kc_event_bus_new (config->name, KC_EVENT_BUS_DEFAULT);
  if (config->events != NULL && !kc_event_bus_add_log_file (bus, config->events, &local))
    goto fail;
  if (config->event_socket != NULL) {
    if ((server = kc_event_server_new (config->event_socket, &local)) == NULL)
      goto fail;
    kc_event_server_attach (server, bus);
  }

  self->root = su_glib_root_create (NULL);
  self->source = su_glib_root_gsource (self->root);
  g_source_attach (self->source, g_main_context_get_thread_default ());
  /* Attached first, so the model has the controller's first events. */
  self->model_listener = kc_flow_model_attach_bus (self->model, bus);
  self->controller = kc_controller_new (config, bus, self->root, &local);
  if (self->controller == NULL) {
    kc_event_bus_remove_listener (bus, self->model_listener);
    self->model_listener = 0;
    if (server != NULL)
      kc_event_server_close (server);
    g_source_destroy (self->source);
    self->source = NULL;
    g_clear_pointer (&self->root, su_root_destroy);
    goto fail;
  }
  self->config = config;
  self->bus = g_steal_pointer (&bus);
  self->server = g_steal_pointer (&server);
  g_message ("Embedded controller %s listening on %s", config->name,
             kc_controller_get_listen_uri (self->controller));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RUNNING]);
  return TRUE;

fail:
  g_clear_pointer (&config, kc_controller_config_free);
  set_error (self, local->message);
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

gboolean
kc_host_is_running (KcHost *self)
{
  g_return_val_if_fail (KC_IS_HOST (self), FALSE);

  return self->controller != NULL;
}

const char *
kc_host_get_name (KcHost *self)
{
  g_return_val_if_fail (KC_IS_HOST (self), NULL);

  return self->config != NULL ? self->config->name : NULL;
}

const char *
kc_host_get_listen_uri (KcHost *self)
{
  g_return_val_if_fail (KC_IS_HOST (self), NULL);

  return self->controller != NULL ? kc_controller_get_listen_uri (self->controller) : NULL;
}

guint
kc_host_count_calls (KcHost *self)
{
  g_return_val_if_fail (KC_IS_HOST (self), 0);

  return self->controller != NULL ? kc_controller_count_calls (self->controller) : 0;
}

const char *
kc_host_get_error (KcHost *self)
{
  g_return_val_if_fail (KC_IS_HOST (self), NULL);

  return self->error;
}

KcFlowModel *
kc_host_get_model (KcHost *self)
{
  g_return_val_if_fail (KC_IS_HOST (self), NULL);

  return self->model;
}

KcHost *
kc_host_new (void)
{
  return g_object_new (KC_TYPE_HOST, NULL);
}

static void
kc_host_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  KcHost *self = KC_HOST (object);

  switch (prop_id) {
  case PROP_RUNNING:
    g_value_set_boolean (value, kc_host_is_running (self));
    break;
  case PROP_ERROR:
    g_value_set_string (value, self->error);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_host_dispose (GObject *object)
{
  KcHost *self = KC_HOST (object);

  /* At exit there is no main loop left to wait for BYEs on. */
  if (self->controller != NULL)
    free_stopped (take_stopping (self));
  g_clear_object (&self->model);
  g_clear_pointer (&self->error, g_free);

  G_OBJECT_CLASS (kc_host_parent_class)->dispose (object);
}

static void
kc_host_class_init (KcHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = kc_host_get_property;
  object_class->dispose = kc_host_dispose;

  props[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
kc_host_init (KcHost *self)
{
  self->model = kc_flow_model_new ();
}
