/* kc-history.c: the local call history (kc-history.h). */
#define G_LOG_DOMAIN "keycall-ui"

#include "config.h"

#include "kc-history.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>

void
kc_history_entry_free (KcHistoryEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->number);
  g_free (entry->name);
  g_free (entry->outcome);
  g_free (entry);
}

char *
kc_history_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "keycall", "history", NULL);
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  const KcHistoryEntry *ea = *(KcHistoryEntry * const *) a;
  const KcHistoryEntry *eb = *(KcHistoryEntry * const *) b;

  return ea->time < eb->time ? 1 : ea->time > eb->time ? -1 : 0;
}

GPtrArray *
kc_history_load (const char  *path,
                 GError     **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_history_entry_free);
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) groups = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local)) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      return g_steal_pointer (&entries);
    g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                "Cannot read the call history %s: ", path);
    return NULL;
  }

  groups = g_key_file_get_groups (file, NULL);
  for (guint i = 0; groups[i] != NULL; i++) {
    KcHistoryEntry *e;
    char *number = g_key_file_get_string (file, groups[i], "number", NULL);

    if (number == NULL)
      continue;     /* a damaged entry is skipped, not fatal */
    e = g_new0 (KcHistoryEntry, 1);
    e->number = number;
    e->time = g_ascii_strtoll (groups[i], NULL, 10);
    e->name = g_key_file_get_string (file, groups[i], "name", NULL);
    e->incoming = g_key_file_get_boolean (file, groups[i], "incoming", NULL);
    e->answered = g_key_file_get_boolean (file, groups[i], "answered", NULL);
    e->duration = (guint) g_key_file_get_integer (file, groups[i], "duration", NULL);
    e->outcome = g_key_file_get_string (file, groups[i], "outcome", NULL);
    g_ptr_array_add (entries, e);
  }
  g_ptr_array_sort (entries, compare_newest_first);
  return g_steal_pointer (&entries);
}

gboolean
kc_history_add (const char           *path,
                const KcHistoryEntry *entry,
                GError              **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GPtrArray) old = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *group = NULL;
  g_autofree char *data = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL && entry != NULL && entry->number != NULL, FALSE);

  if ((old = kc_history_load (path, error)) == NULL)
    return FALSE;
  /* Newest first: keep room for the new entry. */
  for (guint i = 0; i < old->len && i < KC_HISTORY_MAX - 1; i++) {
    const KcHistoryEntry *e = g_ptr_array_index (old, i);
    g_autofree char *g = g_strdup_printf ("%" G_GINT64_FORMAT, e->time);

    g_key_file_set_string (file, g, "number", e->number);
    if (e->name != NULL)
      g_key_file_set_string (file, g, "name", e->name);
    g_key_file_set_boolean (file, g, "incoming", e->incoming);
    g_key_file_set_boolean (file, g, "answered", e->answered);
    g_key_file_set_integer (file, g, "duration", (int) e->duration);
    if (e->outcome != NULL)
      g_key_file_set_string (file, g, "outcome", e->outcome);
  }
  group = g_strdup_printf ("%" G_GINT64_FORMAT, entry->time);
  g_key_file_set_string (file, group, "number", entry->number);
  if (entry->name != NULL)
    g_key_file_set_string (file, group, "name", entry->name);
  g_key_file_set_boolean (file, group, "incoming", entry->incoming);
  g_key_file_set_boolean (file, group, "answered", entry->answered);
  g_key_file_set_integer (file, group, "duration", (int) entry->duration);
  if (entry->outcome != NULL)
    g_key_file_set_string (file, group, "outcome", entry->outcome);

  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                 "Cannot create %s for the call history: %s", dir, g_strerror (errno));
    return FALSE;
  }
  data = g_key_file_to_data (file, &len, NULL);
  /* Who called whom is private: only the user reads it. */
  return g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}
