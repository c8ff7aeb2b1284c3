/* kc-lea-window-private.h: what the parts of KcLeaWindow share: its
 * struct, the tap and call rows, and the helpers kc-lea-window.c (the
 * controllers, taps and events), kc-lea-window-calls.c and
 * kc-lea-window-actions.c use. Not installed.
 */
#pragma once

#include "kc-lea-window.h"

#include <string.h>

G_BEGIN_DECLS

typedef struct {
  char       *controller;
  char       *kind;
  char       *number;
  char       *req;           /* the request in flight */
  char       *tap_id;        /* the controller's, once active */
  char       *stop_req;      /* our stop in flight */
  GtkWidget  *row;
  GtkWidget  *stop;          /* NULL without tap actions */
} Tap;

typedef struct {
  GtkWidget  *row;           /* AdwExpanderRow */
  GtkWidget  *play;
  GtkWidget  *started, *ended, *fingerprint, *forward, *backward, *lost, *refused, *file;
  char       *wav;
  char       *fp;
} Call;

struct _KcLeaWindow {
  AdwApplicationWindow  parent_instance;

  KcEventBus           *bus;
  guint                 listener;
  GHashTable           *controllers;   /* name → AdwActionRow */
  GPtrArray            *taps;          /* Tap */
  GHashTable           *calls;         /* Call-ID → Call */

  AdwPreferencesGroup  *controller_group;
  AdwPreferencesGroup  *tap_group;
  AdwPreferencesGroup  *call_group;
  GtkWidget            *no_taps;
  GtkWidget            *no_calls;
  GtkWidget            *player;        /* GtkMediaControls */
  GtkWidget            *player_title;
  GtkWidget            *player_box;

  /* kc_lea_window_set_tap_actions() */
  KcLeaWindowAddTap     add_tap;
  KcLeaWindowStopTap    stop_tap;
  gpointer              actions_data;
  AdwPreferencesGroup  *add_group;
  GtkWidget            *add_number;    /* AdwEntryRow */
  GtkWidget            *add_kind;      /* AdwComboRow */
  GtkWidget            *add_controller;
  GtkWidget            *add_button;
  GtkWidget            *add_error;     /* GtkLabel: plain text */
  GStrv                 controller_names;
};

/* The event accessors every part reads events with; inline, as they are
 * one-liners the parts would otherwise each repeat. */
static inline const char *
attr (KcEvent *e, const char *name)
{
  return kc_event_get_attr (e, name);
}

/* "controller:gc1" → "gc1". */
static inline const char *
controller_of (KcEvent *e)
{
  const char *peer = kc_event_get_peer (e);

  if (peer == NULL)
    return NULL;
  return g_str_has_prefix (peer, "controller:") ? peer + strlen ("controller:") : peer;
}

/* kc-lea-window.c: "@first-PART-PART…" from the parts up to NULL. */
char *kc_lea_window_widget_name       (const char  *first,
                                       ...);

/* kc-lea-window.c: the Stop button of @t's row (with tap actions). */
void  kc_lea_window_add_stop_button   (KcLeaWindow *self,
                                       Tap         *t);

/* kc-lea-window-calls.c: the calls list's share of the events. */
void  kc_lea_window_call_free         (Call        *c);
void  kc_lea_window_on_key_delivered  (KcLeaWindow *self,
                                       KcEvent     *e);
void  kc_lea_window_on_content        (KcLeaWindow *self,
                                       KcEvent     *e);
void  kc_lea_window_on_media_stop     (KcLeaWindow *self,
                                       KcEvent     *e);
void  kc_lea_window_on_call_error     (KcLeaWindow *self,
                                       KcEvent     *e);

G_END_DECLS
