/* test-ui-contacts.c: the address book: its file (validation, replace,
 * remove, damaged entries, privacy) and the phone page (add a contact from
 * the form, call it, see its name on the recent call, remove it).
 */
#include "config.h"

#include "ui-test.h"

#include "kc-contacts.h"
#include "kc-error.h"

#include <glib/gstdio.h>
#include <sys/stat.h>

static char *
book_path (const char *name)
{
  return g_build_filename (T.tmp, name, NULL);
}

static void
test_contacts_validation (void)
{
  static const struct { const char *name, *number, *error; } bad[] = {
    { "", "1002", "needs a name" },
    { "   ", "1002", "needs a name" },
    { "Bob\tSmith", "1002", "control character" },
    { "Bob", "", "The number" },
    { "Bob", "sip:bob@example.org", "The number" },
    { "Bob", "10a2", "The number" },
  };
  g_autofree char *long_name = g_strnfill (KC_CONTACT_NAME_MAX + 1, 'x');
  g_autoptr(KcContact) good = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(KcContact) c = kc_contact_new_from_input (bad[i].name, bad[i].number, &error);

    g_assert_null (c);
    g_assert_error (error, KC_ERROR, KC_ERROR_INVALID);
    if (strstr (error->message, bad[i].error) == NULL)
      g_error ("“%s”, “%s”: “%s” does not say “%s”", bad[i].name, bad[i].number,
               error->message, bad[i].error);
    g_clear_error (&error);
  }
  g_assert_null (kc_contact_new_from_input (long_name, "1002", &error));
  g_assert_nonnull (strstr (error->message, "longer than"));
  g_clear_error (&error);

  /* What the dial entry accepts, reduced to the number. */
  good = kc_contact_new_from_input ("  Zoë Ölund ", "sips:+44 (20) 1002", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (good->name, ==, "Zoë Ölund");
  g_assert_cmpstr (good->number, ==, "+44201002");
}

static void
test_contacts_file (void)
{
  g_autofree char *path = book_path ("contacts-file");
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  const char *names[] = { "bob", "Alice", "Émile" };
  const char *numbers[] = { "1002", "1001", "1003" };
  GStatBuf st;

  /* Absent: an empty book, not an error. */
  list = kc_contacts_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
  g_clear_pointer (&list, g_ptr_array_unref);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autoptr(KcContact) c = kc_contact_new_from_input (names[i], numbers[i], &error);

    g_assert_no_error (error);
    g_assert_true (kc_contacts_put (path, c, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  list = kc_contacts_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  /* In the order people sort names, not bytes. */
  g_assert_cmpstr (((KcContact *) g_ptr_array_index (list, 0))->name, ==, "Alice");
  g_assert_cmpstr (((KcContact *) g_ptr_array_index (list, 1))->name, ==, "bob");
  g_assert_cmpstr (((KcContact *) g_ptr_array_index (list, 2))->name, ==, "Émile");
  g_assert_cmpstr (kc_contacts_lookup (list, "1003")->name, ==, "Émile");
  g_assert_null (kc_contacts_lookup (list, "1009"));
  g_clear_pointer (&list, g_ptr_array_unref);

  /* The same number again renames; removing takes it out. */
  {
    g_autoptr(KcContact) c = kc_contact_new_from_input ("Bob Builder", "1002", &error);

    g_assert_true (kc_contacts_put (path, c, &error));
  }
  g_assert_true (kc_contacts_remove (path, "1001", &error));
  g_assert_true (kc_contacts_remove (path, "1009", &error));
  g_assert_no_error (error);
  list = kc_contacts_load (path, &error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (kc_contacts_lookup (list, "1002")->name, ==, "Bob Builder");
  g_assert_null (kc_contacts_lookup (list, "1001"));
  g_clear_pointer (&list, g_ptr_array_unref);

  /* A damaged entry is skipped; the others load. */
  g_assert_true (g_file_set_contents (path,
                                      "[1002]\nname=Bob\n"
                                      "[12ab]\nname=Bad Number\n"
                                      "[1003]\n"
                                      "[1004]\nname=Dora\n", -1, &error));
  list = kc_contacts_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((KcContact *) g_ptr_array_index (list, 0))->name, ==, "Bob");
  g_assert_cmpstr (((KcContact *) g_ptr_array_index (list, 1))->name, ==, "Dora");
  g_clear_pointer (&list, g_ptr_array_unref);

  /* Not a key file at all: an error naming the file, and nothing written. */
  g_assert_true (g_file_set_contents (path, "\x01\x02 not [ a key file", -1, &error));
  g_assert_null (kc_contacts_load (path, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  {
    g_autoptr(KcContact) c = kc_contact_new_from_input ("Eve", "1005", &error);
    g_autofree char *after = NULL;

    g_assert_false (kc_contacts_put (path, c, &error));
    g_clear_error (&error);
    g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
    g_assert_cmpstr (after, ==, "\x01\x02 not [ a key file");
  }
}

static GtkWidget *
contact_row (const char *number)
{
  g_autofree char *name = g_strdup_printf ("contact-%s", number);

  return find_in (find ("contacts"), name);
}

static void
test_contacts_window (void)
{
  g_autofree char *path = kc_contacts_default_path ();
  Proc *bob;
  GtkWidget *row, *history;

  if (!T.registered) {
    g_test_skip ("not registered");
    return;
  }
  g_unlink (path);
  kc_window_load_contacts (T.window);
  g_assert_false (gtk_widget_get_visible (find ("contacts")));

  /* The form opens with what the dial entry holds. */
  gtk_editable_set_text (GTK_EDITABLE (find ("dial-entry")), "1002");
  click ("contact-add");
  g_assert_true (gtk_revealer_get_reveal_child (
    GTK_REVEALER (gtk_widget_get_ancestor (find ("contact-name"), GTK_TYPE_REVEALER))));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find ("contact-number"))), ==, "1002");

  /* No name: the form says so and keeps what was typed. */
  click ("contact-save");
  g_assert_true (gtk_widget_get_visible (find ("contact-error")));
  g_assert_nonnull (strstr (label_text ("contact-error"), "needs a name"));
  g_assert_null (contact_row ("1002"));

  gtk_editable_set_text (GTK_EDITABLE (find ("contact-name")), "Bob <b>Smith</b>");
  click ("contact-save");
  g_assert_false (gtk_widget_get_visible (find ("contact-error")));
  row = contact_row ("1002");
  g_assert_nonnull (row);
  /* Shown as typed, never read as markup. */
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Bob <b>Smith</b>");
  g_assert_false (adw_preferences_row_get_use_markup (ADW_PREFERENCES_ROW (row)));

  /* Called from the book; the recent call then bears the contact's name. */
  bob = start_cta ("1002", "--answer", "--duration", "1", NULL);
  g_assert_nonnull (proc_wait_line (bob, "^registered 1002()"));
  click_widget (find_in (row, "contact-call"));
  g_assert_true (call_page_shown (NULL));
  g_assert_cmpstr (label_text ("peer-number"), ==, "1002");
  g_assert_true (wait_for (phone_page_shown, NULL, WAIT_S));
  g_assert_true (wait_for (proc_exited, bob, WAIT_S));
  g_assert_cmpint (bob->status, ==, 0);
  proc_free (bob);
  history = gtk_widget_get_first_child (find ("history"));
  g_assert_nonnull (history);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (history)), ==,
                   "Bob <b>Smith</b>");
  g_assert_false (adw_preferences_row_get_use_markup (ADW_PREFERENCES_ROW (history)));

  click_widget (find_in (contact_row ("1002"), "contact-remove"));
  g_assert_null (contact_row ("1002"));
  g_assert_false (gtk_widget_get_visible (find ("contacts")));
}

void
ui_contacts_add_tests (void)
{
  g_test_add_func ("/ui/contacts/validation", test_contacts_validation);
  g_test_add_func ("/ui/contacts/file", test_contacts_file);
  g_test_add_func ("/ui/contacts/window", test_contacts_window);
}
