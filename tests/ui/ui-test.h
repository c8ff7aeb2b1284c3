/* ui-test.h: what the UI tests share: a real network on 127.0.0.1 (a
 * controller provisioned with keycall-admin, headless softphones), their
 * stdout read line by line, main-loop waits and widgets found by name.
 */
#pragma once

#include "kc-application.h"
#include "kc-window.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define WAIT_S 20

typedef struct {
  GSubprocess      *proc;
  GDataInputStream *out;
  GPtrArray        *lines;
  gboolean          eof;
  gboolean          exited;
  int               status;
  char             *name;
} Proc;

typedef struct {
  char          *tmp;
  char          *net;
  char          *runtime;
  Proc          *controller;
  KcApplication *app;
  KcWindow      *window;
  gboolean       registered;
  GPtrArray     *notifications;   /* "summary|body|action labels" sent to the fake server */
} UiTest;

extern UiTest T;

/* Processes: @name, then argv (NULL-terminated). */
Proc       *proc_start        (const char *name, ...) G_GNUC_NULL_TERMINATED;
/* Group 1 of the first stdout line matching @pattern ("" without a group);
 * NULL if none came within WAIT_S. */
char       *proc_wait_line    (Proc *p, const char *pattern);
/* The group capturing a key fingerprint in keycall's stdout ("3f2a 91c0
 * 7d4e 0b18"), for proc_wait_line patterns: "^key received .*fingerprint "
 * KC_UI_FINGERPRINT_RE. */
#define KC_UI_FINGERPRINT_RE "((?:[0-9a-f]{4} ){3}[0-9a-f]{4})"
/* How many stdout lines so far match @pattern. */
guint       proc_count_lines  (Proc *p, const char *pattern);
gboolean    proc_exited       (gpointer data);
/* SIGTERM (then SIGKILL), wait, free. */
void        proc_free         (Proc *p);

/* Runs the main loop until @done(@data) or @seconds pass; returns @done. */
gboolean    wait_for          (gboolean (*done) (gpointer data), gpointer data, int seconds);
void        settle            (int ms);

/* The network: keycall-admin, the controller gc1, subscribers 1001-1003. */
void        admin             (const char *first, ...) G_GNUC_NULL_TERMINATED;
guint16     free_port         (void);
char       *profile_path      (const char *number);
/* keycall --headless for @number with up to six more arguments. */
Proc       *start_cta         (const char *number, ...) G_GNUC_NULL_TERMINATED;
void        make_network      (void);
void        start_notification_server (void);
void        private_dirs      (void);
void        remove_tree       (const char *path);

/* Widgets, found by name as a person finds them by label: in @root, or
 * (find) in the main window, asserting it exists. */
GtkWidget  *find_in           (GtkWidget *root, const char *name);
GtkWidget  *find              (const char *name);
const char *label_text        (const char *name);
/* Asserts @name is visible and sensitive, then clicks it. */
void        click             (const char *name);
void        click_widget      (GtkWidget *button);
const char *visible_page      (void);

/* Predicates for wait_for(). */
gboolean    status_registered (gpointer data);
gboolean    call_page_shown   (gpointer data);
gboolean    phone_page_shown  (gpointer data);
gboolean    call_connected    (gpointer data);
gboolean    call_secure       (gpointer data);
gboolean    answer_offered    (gpointer data);
void        on_label_changed  (GtkLabel *label, GParamSpec *pspec, GPtrArray *seen);

/* test-ui-calls.c: ringtone, URIs, preferences, DTMF, memory. */
void        ui_calls_add_tests (void);
/* test-ui-contacts.c: the address book. */
void        ui_contacts_add_tests (void);
/* test-ui-keyboard.c: every control on the Tab chain. */
void        ui_keyboard_add_tests (void);
/* test-ui-host.c: the embedded controller. */
void        ui_host_add_tests (void);

G_END_DECLS
