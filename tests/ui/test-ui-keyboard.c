/* test-ui-keyboard.c: everything a person does with the mouse can be
 * reached with Tab alone: walks the focus chain of the phone page and of a
 * call in progress, as GTK moves it, and checks every control is on it.
 */
#include "config.h"

#include "ui-test.h"

/* The names of the focused widgets (or of their nearest named ancestor)
 * met while pressing Tab @presses times from the window's first focus. */
static GHashTable *
walk_tab_chain (guint presses)
{
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  gtk_window_set_focus (GTK_WINDOW (T.window), NULL);
  for (guint i = 0; i < presses; i++) {
    GtkWidget *focus;

    if (!gtk_widget_child_focus (GTK_WIDGET (T.window), GTK_DIR_TAB_FORWARD))
      gtk_window_set_focus (GTK_WINDOW (T.window), NULL);    /* wrapped around */
    for (focus = gtk_window_get_focus (GTK_WINDOW (T.window)); focus != NULL;
         focus = gtk_widget_get_parent (focus)) {
      const char *name = gtk_widget_get_name (focus);

      /* Unnamed widgets are named after their type by GTK. */
      if (name != NULL && !g_str_has_prefix (name, "Gtk") && !g_str_has_prefix (name, "Adw")) {
        g_hash_table_add (seen, g_strdup (name));
        break;
      }
    }
  }
  return seen;
}

static void
assert_reachable (GHashTable *seen,
                  const char *const *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (!g_hash_table_contains (seen, names[i])) {
      g_autoptr(GString) got = g_string_new (NULL);
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, seen);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_string_append_printf (got, " %s", (const char *) key);
      g_error ("“%s” cannot be reached with Tab (reached:%s)", names[i], got->str);
    }
}

static void
test_keyboard_phone (void)
{
  static const char *const phone[] = {
    "dial-entry", "dial-key-1", "dial-key-5", "dial-key-0", "dial-key-#", "call-button",
    "contact-add", NULL
  };
  g_autoptr(GHashTable) seen = NULL;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  g_assert_cmpstr (visible_page (), ==, "phone");
  gtk_editable_set_text (GTK_EDITABLE (find ("dial-entry")), "1002");
  seen = walk_tab_chain (120);
  assert_reachable (seen, phone);
}

static void
test_keyboard_call (void)
{
  static const char *const call[] = { "mute-button", "keypad-button", "hangup-button", NULL };
  g_autoptr(GHashTable) seen = NULL;
  Proc *bob;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  bob = start_cta ("1002", "--answer", "--duration", "30", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  gtk_editable_set_text (GTK_EDITABLE (find ("dial-entry")), "1002");
  click ("call-button");
  g_assert_true (wait_for (call_connected, NULL, WAIT_S));

  seen = walk_tab_chain (80);
  assert_reachable (seen, call);

  /* Hanging up by keyboard: the focused button activated with Enter. */
  gtk_widget_grab_focus (find ("hangup-button"));
  g_assert_true (gtk_widget_activate (gtk_window_get_focus (GTK_WINDOW (T.window))));
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  proc_free (bob);
}

void
ui_keyboard_add_tests (void)
{
  g_test_add_func ("/ui/keyboard/phone", test_keyboard_phone);
  g_test_add_func ("/ui/keyboard/call", test_keyboard_call);
}
