/* kc-contacts.h: the softphone's address book, a small GKeyFile in
 * $XDG_DATA_HOME/keycall/contacts (names and numbers, nothing else), so
 * people call one another by name and see who is calling.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KC_CONTACT_NAME_MAX 100    /* characters */
#define KC_CONTACTS_MAX     1000

typedef struct {
  char *name;
  char *number;     /* as kc_number_from_input() reduces it */
} KcContact;

void        kc_contact_free           (KcContact   *contact);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcContact, kc_contact_free)

/* The default file: $XDG_DATA_HOME/keycall/contacts. */
char       *kc_contacts_default_path  (void);
/* Sorted by name as people sort (g_utf8_collate); an absent file is an
 * empty book; an entry that does not validate is skipped with a message. */
GPtrArray  *kc_contacts_load          (const char   *path,
                                       GError      **error);
/* A contact from what a person typed: a name (trimmed, 1 to
 * KC_CONTACT_NAME_MAX characters, no control characters) and anything the
 * dial entry accepts. KC_ERROR_INVALID saying which field is wrong. */
KcContact  *kc_contact_new_from_input (const char   *name,
                                       const char   *number,
                                       GError      **error);
/* Adds @contact (or replaces the one with the same number) and writes the
 * file, 0600. KC_ERROR_INVALID when the book is full. */
gboolean    kc_contacts_put           (const char      *path,
                                       const KcContact *contact,
                                       GError         **error);
/* Removes the contact with @number; absent is not an error. */
gboolean    kc_contacts_remove        (const char   *path,
                                       const char   *number,
                                       GError      **error);
/* The contact of @number in @contacts, or NULL. */
const KcContact *kc_contacts_lookup   (GPtrArray    *contacts,
                                       const char   *number);

G_END_DECLS
