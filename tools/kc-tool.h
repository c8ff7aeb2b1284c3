/* kc-tool.h: what the programs that drive Keycall's own programs share
 * (keycall-demo, bench-calls, the UI tests): finding a sibling program in
 * the build tree, and a TCP port to give a server about to start.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The path of @name: $@env if set (NULL: no variable), else the build tree
 * beside this executable (../@built_subdir/@name, then ./@name), else PATH;
 * NULL when none has it. */
char    *kc_tool_find_program (const char *env,
                               const char *built_subdir,
                               const char *name);

/* A TCP port free right now on 127.0.0.1, for a server started a moment
 * later: picked at random below the kernel's ephemeral range, since a port
 * from that range (what binding port 0 gives) can become the source port
 * of any process's outgoing connection before the server binds it. 0 only
 * when no port can be bound at all. */
guint16  kc_tool_free_port    (void);

G_END_DECLS
