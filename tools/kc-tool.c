/* kc-tool.c: shared by the driving programs (kc-tool.h). */
#include "kc-tool.h"

#include <gio/gio.h>

char *
kc_tool_find_program (const char *env,
                      const char *built_subdir,
                      const char *name)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self ? g_path_get_dirname (self) : g_strdup (".");
  g_autofree char *built = g_build_filename (dir, "..", built_subdir, name, NULL);
  g_autofree char *beside = g_build_filename (dir, name, NULL);

  if (env != NULL && g_getenv (env) != NULL)
    return g_strdup (g_getenv (env));
  if (g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&built);
  if (g_file_test (beside, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&beside);
  return g_find_program_in_path (name);
}

static guint16
ephemeral_low (void)
{
  g_autofree char *text = NULL;
  guint64 low;

  if (g_file_get_contents ("/proc/sys/net/ipv4/ip_local_port_range", &text, NULL, NULL)
      && (low = g_ascii_strtoull (text, NULL, 10)) > 21000 && low <= 65535)
    return (guint16) low;
  return 32768;
}

static gboolean
bindable (guint16 port, guint16 *bound_port)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr(GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, address, FALSE, NULL))
    return FALSE;
  bound = g_socket_get_local_address (socket, NULL);
  *bound_port = bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
  return *bound_port != 0;
}

guint16
kc_tool_free_port (void)
{
  static GHashTable *given;
  guint16 low = ephemeral_low (), port;

  /* Never the same one twice in a process: its first server may not have
   * bound it yet. */
  if (given == NULL)
    given = g_hash_table_new (NULL, NULL);
  for (int i = 0; i < 200; i++) {
    guint16 candidate = (guint16) g_random_int_range (20000, low);

    if (!g_hash_table_contains (given, GUINT_TO_POINTER (candidate))
        && bindable (candidate, &port)) {
      g_hash_table_add (given, GUINT_TO_POINTER (port));
      return port;
    }
  }
  return bindable (0, &port) ? port : 0;
}
