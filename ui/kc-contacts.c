/* kc-contacts.c: the address book (kc-contacts.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-contacts.h"

#include "kc-error.h"
#include "kc-number.h"

#include <errno.h>
#include <glib/gstdio.h>

void
kc_contact_free (KcContact *contact)
{
  if (contact == NULL)
    return;
  g_free (contact->name);
  g_free (contact->number);
  g_free (contact);
}

char *
kc_contacts_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "keycall", "contacts", NULL);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  const KcContact *ca = *(KcContact * const *) a;
  const KcContact *cb = *(KcContact * const *) b;
  int order = g_utf8_collate (ca->name, cb->name);

  return order != 0 ? order : g_strcmp0 (ca->number, cb->number);
}

KcContact *
kc_contact_new_from_input (const char  *name,
                           const char  *number,
                           GError     **error)
{
  g_autofree char *trimmed = NULL;
  g_autofree char *dialable = NULL;
  g_autoptr(GError) local = NULL;
  KcContact *contact;

  g_return_val_if_fail (name != NULL && number != NULL, NULL);

  if (!g_utf8_validate (name, -1, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The name is not valid text");
    return NULL;
  }
  trimmed = g_strstrip (g_strdup (name));
  if (*trimmed == '\0') {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The contact needs a name");
    return NULL;
  }
  if (g_utf8_strlen (trimmed, -1) > KC_CONTACT_NAME_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The name is longer than %d characters",
                 KC_CONTACT_NAME_MAX);
    return NULL;
  }
  for (const char *p = trimmed; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p))) {
      g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The name holds a control character");
      return NULL;
    }
  if ((dialable = kc_number_from_input (number, &local)) == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The number: %s", local->message);
    return NULL;
  }
  contact = g_new0 (KcContact, 1);
  contact->name = g_steal_pointer (&trimmed);
  contact->number = g_steal_pointer (&dialable);
  return contact;
}

GPtrArray *
kc_contacts_load (const char  *path,
                  GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GPtrArray) contacts = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_contact_free);
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local)) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return g_steal_pointer (&contacts);
    g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                "Cannot read the contacts %s: ", path);
    return NULL;
  }

  /* One group per contact, named by its number. */
  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL && contacts->len < KC_CONTACTS_MAX; i++) {
    g_autofree char *name = g_key_file_get_string (file, groups[i], "name", NULL);
    KcContact *contact;

    g_clear_error (&local);
    contact = kc_contact_new_from_input (name != NULL ? name : "", groups[i], &local);
    if (contact == NULL) {
      g_message ("Skipping contact [%s] of %s: %s", groups[i], path, local->message);
      continue;
    }
    if (kc_contacts_lookup (contacts, contact->number) != NULL) {
      kc_contact_free (contact);
      continue;
    }
    g_ptr_array_add (contacts, contact);
  }
  g_ptr_array_sort (contacts, compare_names);
  return g_steal_pointer (&contacts);
}

static gboolean
save (const char *path,
      GPtrArray  *contacts,
      GError    **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *data = NULL;
  gsize len;

  for (guint i = 0; i < contacts->len; i++) {
    const KcContact *c = g_ptr_array_index (contacts, i);

    g_key_file_set_string (file, c->number, "name", c->name);
  }
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                 "Cannot create %s for the contacts: %s", dir, g_strerror (errno));
    return FALSE;
  }
  data = g_key_file_to_data (file, &len, NULL);
  /* Whom one knows is private: only the user reads it. */
  return g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}

gboolean
kc_contacts_put (const char      *path,
                 const KcContact *contact,
                 GError         **error)
{
  g_autoptr(GPtrArray) contacts = NULL;
  KcContact *copy;

  g_return_val_if_fail (path != NULL && contact != NULL, FALSE);

  if ((contacts = kc_contacts_load (path, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < contacts->len; i++)
    if (g_str_equal (((KcContact *) g_ptr_array_index (contacts, i))->number, contact->number)) {
      g_ptr_array_remove_index (contacts, i);
      break;
    }
  if (contacts->len >= KC_CONTACTS_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The address book is full (%d contacts); remove one first", KC_CONTACTS_MAX);
    return FALSE;
  }
  copy = g_new0 (KcContact, 1);
  copy->name = g_strdup (contact->name);
  copy->number = g_strdup (contact->number);
  g_ptr_array_add (contacts, copy);
  return save (path, contacts, error);
}

gboolean
kc_contacts_remove (const char  *path,
                    const char  *number,
                    GError     **error)
{
  g_autoptr(GPtrArray) contacts = NULL;

  g_return_val_if_fail (path != NULL && number != NULL, FALSE);

  if ((contacts = kc_contacts_load (path, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < contacts->len; i++)
    if (g_str_equal (((KcContact *) g_ptr_array_index (contacts, i))->number, number)) {
      g_ptr_array_remove_index (contacts, i);
      return save (path, contacts, error);
    }
  return TRUE;
}

const KcContact *
kc_contacts_lookup (GPtrArray  *contacts,
                    const char *number)
{
  g_return_val_if_fail (contacts != NULL, NULL);

  for (guint i = 0; number != NULL && i < contacts->len; i++) {
    const KcContact *c = g_ptr_array_index (contacts, i);

    if (g_str_equal (c->number, number))
      return c;
  }
  return NULL;
}
