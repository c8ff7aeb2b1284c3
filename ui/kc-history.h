/* kc-history.h: the softphone's local call history, a small GKeyFile in
 * $XDG_DATA_HOME/keycall/history (numbers, times, outcomes; never keys).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KC_HISTORY_MAX 50

typedef struct {
  gint64    time;           /* UNIX µs the call started */
  char     *number;
  char     *name;           /* the peer's display name, or NULL */
  gboolean  incoming;
  gboolean  answered;
  guint     duration;       /* seconds talked */
  char     *outcome;        /* "ended 200 remote hangup", as kc_cta_call_describe_end() */
} KcHistoryEntry;

void        kc_history_entry_free (KcHistoryEntry       *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KcHistoryEntry, kc_history_entry_free)

/* The default file: $XDG_DATA_HOME/keycall/history. */
char       *kc_history_default_path (void);
/* Newest first; an absent file is an empty history. */
GPtrArray  *kc_history_load       (const char           *path,
                                   GError              **error);
/* Adds @entry, keeps the newest KC_HISTORY_MAX, writes the file 0600. */
gboolean    kc_history_add        (const char           *path,
                                   const KcHistoryEntry *entry,
                                   GError              **error);

G_END_DECLS
