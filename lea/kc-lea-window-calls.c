/* kc-lea-window-calls.c: the window's intercepted calls: one expander row
 * per call with its key, times, packet counts and recording, and the
 * player. See kc-lea-window.c for where the facts come from.
 */
#define G_LOG_DOMAIN "kc-lea-window"

#include "config.h"

#include "kc-lea-window-private.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

void
kc_lea_window_call_free (Call *c)
{
  g_free (c->wav);
  g_free (c->fp);
  g_free (c);
}

static GtkWidget *
detail_row (Call *c, const char *title, const char *name)
{
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *wname = kc_lea_window_widget_name (name, gtk_widget_get_name (c->row)
                                                      + strlen ("call-"), NULL);

  gtk_widget_set_name (row, wname);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), "—");
  adw_expander_row_add_row (ADW_EXPANDER_ROW (c->row), row);
  return row;
}

static void on_play (GtkButton *button, KcLeaWindow *self);

static Call *
call_row (KcLeaWindow *self, const char *call_id)
{
  Call *c;
  g_autofree char *wname = NULL;
  g_autofree char *play_name = NULL;

  if (call_id == NULL)
    return NULL;
  if ((c = g_hash_table_lookup (self->calls, call_id)) != NULL)
    return c;
  c = g_new0 (Call, 1);
  wname = kc_lea_window_widget_name ("call", call_id, NULL);
  c->row = adw_expander_row_new ();
  gtk_widget_set_name (c->row, wname);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (c->row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (c->row), call_id);
  c->play = gtk_button_new_from_icon_name ("media-playback-start-symbolic");
  play_name = kc_lea_window_widget_name ("play", call_id, NULL);
  gtk_widget_set_name (c->play, play_name);
  gtk_widget_set_valign (c->play, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (c->play, "flat");
  gtk_widget_set_sensitive (c->play, FALSE);
  gtk_widget_set_tooltip_text (c->play, _("Play the recording"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (c->play), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Play the recording"), -1);
  g_object_set_data (G_OBJECT (c->play), "kc-call", c);
  g_signal_connect (c->play, "clicked", G_CALLBACK (on_play), self);
  adw_expander_row_add_action (ADW_EXPANDER_ROW (c->row), c->play);
  c->fingerprint = detail_row (c, _("Key fingerprint"), "fingerprint");
  c->started = detail_row (c, _("Started"), "started");
  c->ended = detail_row (c, _("Ended"), "ended");
  c->forward = detail_row (c, _("Packets, caller to callee"), "forward");
  c->backward = detail_row (c, _("Packets, callee to caller"), "backward");
  c->lost = detail_row (c, _("Lost (both directions)"), "lost");
  c->refused = detail_row (c, _("Refused"), "refused");
  c->file = detail_row (c, _("Recording"), "file");
  gtk_widget_set_visible (self->no_calls, FALSE);
  adw_preferences_group_add (self->call_group, c->row);
  g_hash_table_insert (self->calls, g_strdup (call_id), c);
  return c;
}

static void
set_detail (GtkWidget *row, const char *text)
{
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), text ? text : "—");
}

static void
call_status (Call *c, const char *text)
{
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (c->row), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (c->row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  text, -1);
}

void
kc_lea_window_on_key_delivered (KcLeaWindow *self, KcEvent *e)
{
  Call *c = call_row (self, kc_event_get_call_id (e));
  g_autofree char *title = NULL;
  g_autofree char *text = NULL;

  if (c == NULL)
    return;
  /* Translators: the caller's and the callee's numbers. */
  title = g_strdup_printf (_("%s to %s"), attr (e, "caller") ? attr (e, "caller") : "?",
                           attr (e, "callee") ? attr (e, "callee") : "?");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (c->row), title);
  set_detail (c->fingerprint, kc_event_get_fingerprint (e));
  g_free (c->fp);
  c->fp = g_strdup (kc_event_get_fingerprint (e));
  set_detail (c->started, attr (e, "created"));
  /* Translators: the key's fingerprint, then the controller that delivered it. */
  text = g_strdup_printf (_("Key %s from %s; waiting for content"),
                          kc_event_get_fingerprint (e), controller_of (e));
  call_status (c, text);
}

void
kc_lea_window_on_content (KcLeaWindow *self, KcEvent *e)
{
  Call *c = call_row (self, kc_event_get_call_id (e));

  if (c == NULL)
    return;
  set_detail (c->file, attr (e, "file"));
  call_status (c, _("Recording"));
}

static char *
direction_counts (JsonObject *packets, const char *direction)
{
  JsonObject *d = packets && json_object_has_member (packets, direction)
                  ? json_object_get_object_member (packets, direction) : NULL;

  if (d == NULL)
    return g_strdup ("—");
  /* The numbers as text first: xgettext cannot see through G_GINT64_FORMAT. */
  g_autofree char *rtp = g_strdup_printf ("%" G_GINT64_FORMAT,
                                          json_object_get_int_member_with_default (d, "rtp", 0));
  g_autofree char *rtcp = g_strdup_printf ("%" G_GINT64_FORMAT,
                                           json_object_get_int_member_with_default (d, "rtcp", 0));

  /* Translators: packets recorded in one direction: media (RTP), then control (RTCP). */
  return g_strdup_printf (_("%s RTP, %s RTCP"), rtp, rtcp);
}

/* The record beside the WAV holds what the event does not: each
 * direction's counts, the call's times and the refusals by reason. */
static void
read_record (Call *c, const char *path)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) refused = g_string_new (NULL);
  JsonObject *rec, *packets = NULL, *why = NULL;
  g_autofree char *fwd = NULL, *back = NULL, *lost = NULL;
  g_autoptr(GList) members = NULL;

  if (path == NULL || !json_parser_load_from_file (parser, path, &error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_warning ("Cannot read the recording's record %s: %s", path ? path : "(none)",
               error ? error->message : "not a JSON object");
    return;
  }
  rec = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (rec, "packets"))
    packets = json_object_get_object_member (rec, "packets");
  fwd = direction_counts (packets, "caller-to-callee");
  back = direction_counts (packets, "callee-to-caller");
  set_detail (c->forward, fwd);
  set_detail (c->backward, back);
  set_detail (c->started, json_object_get_string_member_with_default (
    rec, "answered", json_object_get_string_member_with_default (rec, "created", NULL)));
  {
    g_autofree char *ended = g_strdup_printf ("%s (%s)",
      json_object_get_string_member_with_default (rec, "ended", "—"),
      json_object_get_string_member_with_default (rec, "outcome", "—"));

    set_detail (c->ended, ended);
  }
  lost = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member_with_default (rec, "lost", 0));
  set_detail (c->lost, lost);
  if (json_object_has_member (rec, "refused"))
    why = json_object_get_object_member (rec, "refused");
  members = why ? json_object_get_members (why) : NULL;
  for (GList *m = members; m; m = m->next) {
    gint64 n = json_object_get_int_member_with_default (why, m->data, 0);

    if (n > 0)
      g_string_append_printf (refused, "%s%s %" G_GINT64_FORMAT, refused->len ? ", " : "",
                              (const char *) m->data, n);
  }
  set_detail (c->refused, refused->len ? refused->str : _("none"));
}

void
kc_lea_window_on_media_stop (KcLeaWindow *self, KcEvent *e)
{
  Call *c = call_row (self, kc_event_get_call_id (e));
  g_autofree char *text = NULL;

  if (c == NULL)
    return;
  g_free (c->wav);
  c->wav = g_strdup (attr (e, "file"));
  set_detail (c->file, c->wav);
  /* Translators: how many packets were recorded (both directions), then the
   * key's fingerprint. */
  text = g_strdup_printf (_("Recorded: %s packets; key %s"),
                          attr (e, "packets") ? attr (e, "packets") : "0",
                          c->fp ? c->fp : "—");
  call_status (c, text);
  read_record (c, attr (e, "record"));
  gtk_widget_set_sensitive (c->play, c->wav != NULL);
}

void
kc_lea_window_on_call_error (KcLeaWindow *self, KcEvent *e)
{
  Call *c = call_row (self, kc_event_get_call_id (e));
  g_autofree char *text = g_strdup_printf (_("Problem: %s"), kc_event_get_summary (e));

  if (c != NULL)
    call_status (c, text);
}

static void
on_play (GtkButton *button, KcLeaWindow *self)
{
  Call *c = g_object_get_data (G_OBJECT (button), "kc-call");
  g_autoptr(GtkMediaStream) media = NULL;

  if (c == NULL || c->wav == NULL)
    return;
  media = gtk_media_file_new_for_filename (c->wav);
  gtk_media_controls_set_media_stream (GTK_MEDIA_CONTROLS (self->player), media);
  gtk_label_set_text (GTK_LABEL (self->player_title), c->wav);
  gtk_widget_set_visible (self->player_box, TRUE);
  gtk_media_stream_play (media);
  gtk_widget_grab_focus (self->player);
}
