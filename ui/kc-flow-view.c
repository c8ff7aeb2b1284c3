/* kc-flow-view.c: the ladder (kc-flow-render) in a scrolled drawing area,
 * with the selected event's message below, as in sngrep.
 *
 * While the view is scrolled to the end it follows new events, so a live
 * call stays in sight; scrolled back, it stays where the person left it.
 * The lane headers are a drawing of their own above the scrolled rows, so
 * they stay in sight; they follow the rows sideways.
 */
#define G_LOG_DOMAIN "kc-flow-view"

#include "config.h"

#include "kc-flow-view.h"

#include "kc-flow-render.h"

#include <string.h>

#define HEADER_H KC_FLOW_RENDER_HEADER_H

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
  GtkWidget      *header;
  GtkWidget      *scroller;
  GtkWidget      *area;
  GtkTextBuffer  *details;
  GHashTable     *keys;             /* classroom: key id → KcSecret, borrowed; NULL: hidden */
  guint           update_id;
  gboolean        scroll_pending;   /* selected before the view had a size */
};

G_DEFINE_TYPE (KcFlowView, kc_flow_view, GTK_TYPE_WIDGET)


/* The rows are drawn by a canvas that scrolls itself (GtkScrollable): it
 * is only as large as the window shows, and each frame draws the rows in
 * sight. A plain drawing area in a viewport would be as tall as the whole
 * diagram (120,000 px for 10,000 events), and GTK would render all of it. */
#define KC_TYPE_FLOW_CANVAS (kc_flow_canvas_get_type ())
G_DECLARE_FINAL_TYPE (KcFlowCanvas, kc_flow_canvas, KC, FLOW_CANVAS, GtkDrawingArea)

enum {
  CANVAS_PROP_0,
  CANVAS_PROP_HADJUSTMENT,
  CANVAS_PROP_VADJUSTMENT,
  CANVAS_PROP_HSCROLL_POLICY,
  CANVAS_PROP_VSCROLL_POLICY,
};

struct _KcFlowCanvas {
  GtkDrawingArea       parent_instance;

  GtkAdjustment       *adj[2];      /* horizontal, vertical */
  GtkScrollablePolicy  policy[2];
  int                  content[2];  /* width, height */
};

G_DEFINE_TYPE_WITH_CODE (KcFlowCanvas, kc_flow_canvas, GTK_TYPE_DRAWING_AREA,
                         G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE, NULL))

static void
canvas_configure (KcFlowCanvas *self)
{
  int size[2] = { gtk_widget_get_width (GTK_WIDGET (self)), gtk_widget_get_height (GTK_WIDGET (self)) };

  for (int i = 0; i < 2; i++) {
    double upper = MAX (self->content[i], size[i]);

    if (self->adj[i] == NULL)
      continue;
    gtk_adjustment_configure (self->adj[i], CLAMP (gtk_adjustment_get_value (self->adj[i]), 0, upper - size[i]),
                              0, upper, 30, MAX (30, size[i] * 0.9), size[i]);
  }
}

static void
canvas_set_content (KcFlowCanvas *self, int width, int height)
{
  self->content[0] = width;
  self->content[1] = height;
  canvas_configure (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static double
canvas_offset (KcFlowCanvas *self, int axis)
{
  return self->adj[axis] ? gtk_adjustment_get_value (self->adj[axis]) : 0;
}

static void
canvas_set_adjustment (KcFlowCanvas *self, int axis, GtkAdjustment *adj)
{
  if (adj == NULL)
    adj = gtk_adjustment_new (0, 0, 0, 0, 0, 0);
  if (self->adj[axis] == adj)
    return;
  if (self->adj[axis] != NULL) {
    g_signal_handlers_disconnect_by_func (self->adj[axis], gtk_widget_queue_draw, self);
    g_object_unref (self->adj[axis]);
  }
  self->adj[axis] = g_object_ref_sink (adj);
  g_signal_connect_swapped (adj, "value-changed", G_CALLBACK (gtk_widget_queue_draw), self);
  canvas_configure (self);
}

static void
kc_flow_canvas_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  KcFlowCanvas *self = KC_FLOW_CANVAS (object);

  switch (prop_id) {
  case CANVAS_PROP_HADJUSTMENT:
  case CANVAS_PROP_VADJUSTMENT:
    canvas_set_adjustment (self, prop_id == CANVAS_PROP_VADJUSTMENT, g_value_get_object (value));
    break;
  case CANVAS_PROP_HSCROLL_POLICY:
  case CANVAS_PROP_VSCROLL_POLICY:
    self->policy[prop_id == CANVAS_PROP_VSCROLL_POLICY] = g_value_get_enum (value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_flow_canvas_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  KcFlowCanvas *self = KC_FLOW_CANVAS (object);

  switch (prop_id) {
  case CANVAS_PROP_HADJUSTMENT:
  case CANVAS_PROP_VADJUSTMENT:
    g_value_set_object (value, self->adj[prop_id == CANVAS_PROP_VADJUSTMENT]);
    break;
  case CANVAS_PROP_HSCROLL_POLICY:
  case CANVAS_PROP_VSCROLL_POLICY:
    g_value_set_enum (value, self->policy[prop_id == CANVAS_PROP_VSCROLL_POLICY]);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
kc_flow_canvas_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  GTK_WIDGET_CLASS (kc_flow_canvas_parent_class)->size_allocate (widget, width, height, baseline);
  canvas_configure (KC_FLOW_CANVAS (widget));
}

static void
kc_flow_canvas_dispose (GObject *object)
{
  KcFlowCanvas *self = KC_FLOW_CANVAS (object);

  for (int i = 0; i < 2; i++)
    if (self->adj[i] != NULL) {
      g_signal_handlers_disconnect_by_func (self->adj[i], gtk_widget_queue_draw, self);
      g_clear_object (&self->adj[i]);
    }
  G_OBJECT_CLASS (kc_flow_canvas_parent_class)->dispose (object);
}

static void
kc_flow_canvas_class_init (KcFlowCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->set_property = kc_flow_canvas_set_property;
  object_class->get_property = kc_flow_canvas_get_property;
  object_class->dispose = kc_flow_canvas_dispose;
  widget_class->size_allocate = kc_flow_canvas_size_allocate;
  g_object_class_override_property (object_class, CANVAS_PROP_HADJUSTMENT, "hadjustment");
  g_object_class_override_property (object_class, CANVAS_PROP_VADJUSTMENT, "vadjustment");
  g_object_class_override_property (object_class, CANVAS_PROP_HSCROLL_POLICY, "hscroll-policy");
  g_object_class_override_property (object_class, CANVAS_PROP_VSCROLL_POLICY, "vscroll-policy");
}

static void
kc_flow_canvas_init (KcFlowCanvas *self)
{
}

/* The rows area is the diagram without its header: drawn shifted up by
 * the header and the scroll offset. */
static void
draw_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  KcFlowView *self = user_data;
  KcFlowCanvas *canvas = KC_FLOW_CANVAS (area);

  cairo_rectangle (cr, 0, 0, width, height);
  cairo_clip (cr);
  cairo_translate (cr, -canvas_offset (canvas, 0), -canvas_offset (canvas, 1) - HEADER_H);
  kc_flow_render_draw (self->model, cr, self->selected);
}

static void
draw_header_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  KcFlowView *self = user_data;
  GtkAdjustment *hadj = gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (self->scroller));

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_translate (cr, -gtk_adjustment_get_value (hadj), 0);
  kc_flow_render_draw_header (self->model, cr);
}

static void
append_field (GString *text, const char *name, const char *value)
{
  if (value != NULL && *value != '\0')
    g_string_append_printf (text, "%-12s %s\n", name, value);
}

static void
append_event (GString *text, KcEvent *e, gint64 t0, GHashTable *keys)
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
  if (keys != NULL && kc_event_get_key_id (e) != NULL) {
    KcSecret *key = g_hash_table_lookup (keys, kc_event_get_key_id (e));

    /* Classroom only: the window socket revealed it, the banner is up. */
    if (key != NULL) {
      const guint8 *data = kc_secret_get_data (key);

      g_string_append_printf (text, "%-12s ", "KEY");
      for (gsize i = 0; i < kc_secret_get_len (key); i++)
        g_string_append_printf (text, "%02x%s", data[i], i % 2 && i + 1 < kc_secret_get_len (key)
                                                          ? " " : "");
      g_string_append (text, "   (revealed for the class)\n");
    }
  }
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
  {
    g_autofree char *what = kc_flow_render_item_text (view->model, view->selected);

    g_string_append_printf (text, "%s%s%s\n\n", what, item->words ? " — " : "",
                            item->words ? item->words : "");
  }
  append_event (text, item->event, t0, view->keys);
  msg = kc_event_get_message (item->event);
  if (msg != NULL) {
    g_autofree char *lf = NULL;
    g_auto(GStrv) lines = g_strsplit (msg, "\r\n", -1);

    lf = g_strjoinv ("\n", lines);
    g_string_append_printf (text, "\n%s", lf);
  }
  if (item->key_event != NULL) {
    g_string_append (text, "\n── the key event sent with it ──\n");
    append_event (text, item->key_event, t0, view->keys);
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

  self->scroll_pending = FALSE;
  if (self->selected < 0)
    return;
  kc_flow_render_item_rows (self->model, self->selected, &top, &bottom);
  if (page <= 0 || gtk_adjustment_get_upper (adj) < bottom - HEADER_H) {
    /* Not laid out yet (a selection made as the window opens): later. */
    self->scroll_pending = TRUE;
    return;
  }
  top -= HEADER_H;
  bottom -= HEADER_H;
  /* A step or two beyond the edge scrolls by as much; farther, the row
   * comes to the middle, with what led to it and what follows. */
  if (top < value - page || bottom > value + 2 * page)
    gtk_adjustment_set_value (adj, MAX (0, top - (page - (bottom - top)) / 2));
  else if (top < value)
    gtk_adjustment_set_value (adj, MAX (0, top));
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
  x += canvas_offset (KC_FLOW_CANVAS (self->area), 0);
  y += canvas_offset (KC_FLOW_CANVAS (self->area), 1);
  kc_flow_view_select (self, kc_flow_render_item_at (self->model, x, y + HEADER_H));
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

  if (self->scroll_pending) {
    scroll_to_selected (self);
    return;
  }
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
update (KcFlowView *self)
{
  KcFlowModel *model = self->model;
  int width, height;

  kc_flow_render_get_size (model, &width, &height);
  canvas_set_content (KC_FLOW_CANVAS (self->area), width, height - HEADER_H);
  /* Items are rebuilt on a change; the index may now name another event. */
  if (self->selected >= (int) kc_flow_model_get_n_items (model))
    self->selected = -1;
  update_details (self);
  gtk_widget_queue_draw (self->area);
  gtk_widget_queue_draw (self->header);
}

static gboolean
on_update (gpointer user_data)
{
  KcFlowView *self = user_data;

  self->update_id = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

/* A socket replaying a thousand events, or a replay at high speed, changes
 * the model far more often than a frame: one update per main-loop pass. */
static void
on_model_changed (KcFlowModel *model, gpointer user_data)
{
  KcFlowView *self = user_data;

  if (self->update_id == 0)
    self->update_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE - 10, on_update, self, NULL);
}

static void
on_hscroll (GtkAdjustment *adj, gpointer user_data)
{
  gtk_widget_queue_draw (((KcFlowView *) user_data)->header);
}

void
kc_flow_view_flush (KcFlowView *view)
{
  g_return_if_fail (KC_IS_FLOW_VIEW (view));

  g_clear_handle_id (&view->update_id, g_source_remove);
  update (view);
}

GtkWidget *
kc_flow_view_get_header (KcFlowView *view)
{
  g_return_val_if_fail (KC_IS_FLOW_VIEW (view), NULL);
  return view->header;
}

GtkAdjustment *
kc_flow_view_get_vadjustment (KcFlowView *view)
{
  g_return_val_if_fail (KC_IS_FLOW_VIEW (view), NULL);
  return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (view->scroller));
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
  update (self);
}

static void
kc_flow_view_dispose (GObject *object)
{
  KcFlowView *self = KC_FLOW_VIEW (object);

  g_clear_handle_id (&self->update_id, g_source_remove);
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
  GtkWidget *text, *text_scroller, *top;
  GtkGesture *click;
  GtkEventController *keys;

  self->selected = -1;

  self->area = g_object_new (KC_TYPE_FLOW_CANVAS, NULL);
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
  g_signal_connect (vadj, "notify::page-size", G_CALLBACK (on_upper_changed), self);
  g_signal_connect (vadj, "value-changed", G_CALLBACK (on_value_changed), self);
  g_signal_connect (gtk_scrolled_window_get_hadjustment (GTK_SCROLLED_WINDOW (self->scroller)),
                    "value-changed", G_CALLBACK (on_hscroll), self);

  self->header = gtk_drawing_area_new ();
  gtk_widget_set_name (self->header, "flow-header");
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->header), (int) HEADER_H);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->header), draw_header_cb, self, NULL);
  top = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_box_append (GTK_BOX (top), self->header);
  gtk_box_append (GTK_BOX (top), self->scroller);

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
  gtk_paned_set_start_child (GTK_PANED (self->paned), top);
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

void
kc_flow_view_set_revealed_keys (KcFlowView *view, GHashTable *keys)
{
  g_return_if_fail (KC_IS_FLOW_VIEW (view));

  view->keys = keys;
  update_details (view);
}
