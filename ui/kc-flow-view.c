/* kc-flow-view.c: the ladder (kc-flow-render) in a scrolled drawing area,
 * with the selected event's message below, as in sngrep.
 *
 * While the view is scrolled to the end it follows new events, so a live
 * call stays in sight; scrolled back, it stays where the person left it.
 */
#define G_LOG_DOMAIN "kc-flow-view"

#include "config.h"

#include "kc-flow-view.h"

#include "kc-flow-render.h"

#include <string.h>

enum {
  PROP_0,
  PROP_MODEL,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

struct _KcFlowView {
  GtkWidget       parent_instance;

  KcFlowModel    *model;
  int             selected;
  gboolean        follow;

  GtkWidget      *paned;
  GtkWidget      *scroller;
  GtkWidget      *area;
  GtkTextBuffer  *details;
};

G_DEFINE_TYPE (KcFlowView, kc_flow_view, GTK_TYPE_WIDGET)


static void
draw_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  KcFlowView *self = user_data;

  kc_flow_render_draw (self->model, cr, self->selected);
}

static void
append_field (GString *text, const char *name, const char *value)
{
  if (value != NULL && *value != '\0')
    g_string_append_printf (text, "%-12s %s\n", name, value);
}

static void
append_event (GString *text, KcEvent *e, gint64 t0)
{
  g_autofree const char **names = NULL;
  g_autofree char *when = g_strdup_printf ("%.3f ms", (kc_event_get_time (e) - t0) / 1000.0);
  g_autofree char *source = g_strdup_printf ("%s #%" G_GUINT64_FORMAT,
                                             kc_event_get_process (e) ? kc_event_get_process (e) : "?",
                                             kc_event_get_seq (e));
  g_autofree char *step = kc_event_get_fig3 (e) ? g_strdup_printf ("%d", kc_event_get_fig3 (e)) : NULL;
  g_autofree char *lanes = kc_event_get_peer (e)
    ? g_strdup_printf ("%s %s %s", kc_event_get_lane (e),
                       kc_event_get_kind (e) == KC_EVENT_KIND_SIP_RX ? "←" : "→",
                       kc_event_get_peer (e))
    : g_strdup (kc_event_get_lane (e));
  guint n_names = 0;

  append_field (text, "time", when);
  append_field (text, "from", source);
  append_field (text, "kind", kc_event_get_kind_string (e));
  append_field (text, "FIG. 3", step);
  append_field (text, "lanes", lanes);
  append_field (text, "call", kc_event_get_call_id (e));
  append_field (text, "summary", kc_event_get_summary (e));
  append_field (text, "key id", kc_event_get_key_id (e));
  append_field (text, "fingerprint", kc_event_get_fingerprint (e));
  names = kc_event_get_attr_names (e, &n_names);
  for (guint i = 0; i < n_names; i++)
    append_field (text, names[i], kc_event_get_attr (e, names[i]));
}

char *
kc_flow_view_get_details (KcFlowView *view)
{
  const KcFlowItem *item;
  const char *msg;
  GString *text;
  gint64 t0;

  g_return_val_if_fail (KC_IS_FLOW_VIEW (view), NULL);

  if (view->selected < 0 || (guint) view->selected >= kc_flow_model_get_n_items (view->model))
    return g_strdup ("");
  item = kc_flow_model_get_item (view->model, view->selected);
  t0 = kc_flow_model_get_start_time (view->model);
  text = g_string_new (NULL);
  append_event (text, item->event, t0);
  msg = kc_event_get_message (item->event);
  if (msg != NULL) {
    g_autofree char *lf = NULL;
    g_auto(GStrv) lines = g_strsplit (msg, "\r\n", -1);

    lf = g_strjoinv ("\n", lines);
    g_string_append_printf (text, "\n%s", lf);
  }
  if (item->key_event != NULL) {
    g_string_append (text, "\n── the key event sent with it ──\n");
    append_event (text, item->key_event, t0);
  }
  return g_string_free (text, FALSE);
}

static void
update_details (KcFlowView *self)
{
  g_autofree char *text = kc_flow_view_get_details (self);

  gtk_text_buffer_set_text (self->details, text, -1);
}

static void
scroll_to_selected (KcFlowView *self)
{
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller));
  double top, bottom, value = gtk_adjustment_get_value (adj), page = gtk_adjustment_get_page_size (adj);

  if (self->selected < 0)
    return;
  kc_flow_render_item_rows (self->model, self->selected, &top, &bottom);
  if (top < value + 60)   /* the header's height: a row under it is hidden */
    gtk_adjustment_set_value (adj, MAX (0, top - 60));
  else if (bottom > value + page)
    gtk_adjustment_set_value (adj, bottom - page);
}

void
kc_flow_view_select (KcFlowView *view, int index)
{
  g_return_if_fail (KC_IS_FLOW_VIEW (view));

  if (index < -1 || index >= (int) kc_flow_model_get_n_items (view->model))
    index = -1;
  view->selected = index;
  update_details (view);
  scroll_to_selected (view);
  gtk_widget_queue_draw (view->area);
}

gboolean
kc_flow_view_select_step (KcFlowView *view, int step)
{
  g_return_val_if_fail (KC_IS_FLOW_VIEW (view), FALSE);

  for (guint i = 0; i < kc_flow_model_get_n_items (view->model); i++) {
    const KcFlowItem *item = kc_flow_model_get_item (view->model, i);

    if (item->kind == KC_FLOW_ITEM_ARROW && kc_event_get_fig3 (item->event) == step) {
      kc_flow_view_select (view, i);
      return TRUE;
    }
  }
  return FALSE;
}

int
kc_flow_view_get_selected (KcFlowView *view)
{
  g_return_val_if_fail (KC_IS_FLOW_VIEW (view), -1);
  return view->selected;
}

void
kc_flow_view_set_follow (KcFlowView *view, gboolean follow)
{
  GtkAdjustment *adj;

  g_return_if_fail (KC_IS_FLOW_VIEW (view));

  view->follow = follow;
  adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (view->scroller));
  if (follow)
    gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj));
}

KcFlowModel *
kc_flow_view_get_model (KcFlowView *view)
{
  g_return_val_if_fail (KC_IS_FLOW_VIEW (view), NULL);
  return view->model;
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, gpointer user_data)
{
  KcFlowView *self = user_data;

  gtk_widget_grab_focus (self->area);
  kc_flow_view_select (self, kc_flow_render_item_at (self->model, x, y));
}

static gboolean
on_key (GtkEventControllerKey *controller, guint keyval, guint keycode,
        GdkModifierType state, gpointer user_data)
{
  KcFlowView *self = user_data;
  int n = kc_flow_model_get_n_items (self->model);

  switch (keyval) {
  case GDK_KEY_Down:
  case GDK_KEY_j:
    kc_flow_view_select (self, MIN (self->selected + 1, n - 1));
    return TRUE;
  case GDK_KEY_Up:
  case GDK_KEY_k:
    kc_flow_view_select (self, self->selected < 0 ? n - 1 : MAX (self->selected - 1, 0));
    return TRUE;
  case GDK_KEY_Home:
    kc_flow_view_select (self, n > 0 ? 0 : -1);
    return TRUE;
  case GDK_KEY_End:
    kc_flow_view_select (self, n - 1);
    return TRUE;
  case GDK_KEY_Escape:
    kc_flow_view_select (self, -1);
    return TRUE;
  default:
    return FALSE;
  }
}

static void
on_upper_changed (GtkAdjustment *adj, GParamSpec *pspec, gpointer user_data)
{
  KcFlowView *self = user_data;

  if (self->follow)
    gtk_adjustment_set_value (adj, gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj));
}

static void
on_value_changed (GtkAdjustment *adj, gpointer user_data)
{
  KcFlowView *self = user_data;

  self->follow = gtk_adjustment_get_value (adj) + gtk_adjustment_get_page_size (adj)
                 >= gtk_adjustment_get_upper (adj) - 1;
}

static void
on_model_changed (KcFlowModel *model, gpointer user_data)
{
  KcFlowView *self = user_data;
  int width, height;

  kc_flow_render_get_size (model, &width, &height);
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (self->area), width);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->area), height);
  /* Items are rebuilt on a change; the index may now name another event. */
  if (self->selected >= (int) kc_flow_model_get_n_items (model))
    self->selected = -1;
  update_details (self);
  gtk_widget_queue_draw (self->area);
}

static void
kc_flow_view_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  KcFlowView *self = KC_FLOW_VIEW (object);

  switch (prop_id) {
  case PROP_MODEL:
    self->model = g_value_dup_object (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_flow_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  KcFlowView *self = KC_FLOW_VIEW (object);

  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_object (value, self->model);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_flow_view_constructed (GObject *object)
{
  KcFlowView *self = KC_FLOW_VIEW (object);

  G_OBJECT_CLASS (kc_flow_view_parent_class)->constructed (object);

  if (self->model == NULL)
    self->model = kc_flow_model_new ();
  g_signal_connect_object (self->model, "changed", G_CALLBACK (on_model_changed), self, 0);
  on_model_changed (self->model, self);
}

static void
kc_flow_view_dispose (GObject *object)
{
  KcFlowView *self = KC_FLOW_VIEW (object);

  g_clear_pointer (&self->paned, gtk_widget_unparent);
  g_clear_object (&self->model);

  G_OBJECT_CLASS (kc_flow_view_parent_class)->dispose (object);
}

static void
kc_flow_view_class_init (KcFlowViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->set_property = kc_flow_view_set_property;
  object_class->get_property = kc_flow_view_get_property;
  object_class->constructed = kc_flow_view_constructed;
  object_class->dispose = kc_flow_view_dispose;

  props[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, KC_TYPE_FLOW_MODEL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "kc-flow-view");
}

static void
kc_flow_view_init (KcFlowView *self)
{
  GtkAdjustment *vadj;
  GtkWidget *text, *text_scroller;
  GtkGesture *click;
  GtkEventController *keys;

  self->selected = -1;

  self->area = gtk_drawing_area_new ();
  gtk_widget_set_name (self->area, "flow-diagram");
  gtk_widget_set_focusable (self->area, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->area), draw_cb, self, NULL);
  click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (self->area, GTK_EVENT_CONTROLLER (click));
  keys = gtk_event_controller_key_new ();
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key), self);
  gtk_widget_add_controller (self->area, keys);

  self->scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), self->area);
  gtk_widget_set_vexpand (self->scroller, TRUE);
  vadj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (self->scroller));
  g_signal_connect (vadj, "notify::upper", G_CALLBACK (on_upper_changed), self);
  g_signal_connect (vadj, "value-changed", G_CALLBACK (on_value_changed), self);

  text = gtk_text_view_new ();
  gtk_widget_set_name (text, "flow-details");
  gtk_text_view_set_editable (GTK_TEXT_VIEW (text), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (text), TRUE);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (text), 8);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (text), 6);
  self->details = gtk_text_view_get_buffer (GTK_TEXT_VIEW (text));
  text_scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (text_scroller), text);

  self->paned = gtk_paned_new (GTK_ORIENTATION_VERTICAL);
  gtk_paned_set_start_child (GTK_PANED (self->paned), self->scroller);
  gtk_paned_set_end_child (GTK_PANED (self->paned), text_scroller);
  gtk_paned_set_resize_end_child (GTK_PANED (self->paned), FALSE);
  gtk_paned_set_shrink_end_child (GTK_PANED (self->paned), FALSE);
  gtk_widget_set_size_request (text_scroller, -1, 240);
  gtk_widget_set_parent (self->paned, GTK_WIDGET (self));
}

GtkWidget *
kc_flow_view_new (KcFlowModel *model)
{
  g_return_val_if_fail (model == NULL || KC_IS_FLOW_MODEL (model), NULL);

  return g_object_new (KC_TYPE_FLOW_VIEW, "model", model, NULL);
}
