/* keycall-demo.c: the local demo behind `./run demo`.
 *
 * Provisions a demo network with keycall-admin, starts two gateway
 * controllers and two headless softphones on 127.0.0.1, places an encrypted
 * call from Alice (1001, at gc1) to Bob (2001, at gc2), prints the FIG. 3
 * flow of WO 00/45539 from the processes' own events, and checks with the
 * law-enforcement key that the stored key is the one both softphones used.
 * With a display it will open the windows once they exist.
 */
#define G_LOG_DOMAIN "keycall-demo"

#include "config.h"

#include "kc-demo-call.h"
#include "kc-tool.h"

#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-secret.h"
#include "kc-store.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  char     *net;          /* the network folder */
  char     *admin;        /* path of keycall-admin */
} Demo;

static gboolean bold_ok;

static void
heading (const char *text)
{
  printf (bold_ok ? "\n\033[1m%s\033[0m\n" : "\n%s\n", text);
}

/* Runs keycall-admin, echoing the command line and its output. */
static gboolean
admin (Demo *demo, GError **error, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GString) shown = g_string_new ("$ keycall-admin");
  g_autofree char *out = NULL, *err = NULL;
  const char *arg;
  int status;
  va_list ap;

  g_ptr_array_add (argv, demo->admin);
  g_ptr_array_add (argv, (char *) "--dir");
  g_ptr_array_add (argv, demo->net);
  va_start (ap, error);
  while ((arg = va_arg (ap, const char *)) != NULL) {
    g_autofree char *quoted = strchr (arg, ' ') ? g_shell_quote (arg) : g_strdup (arg);

    g_ptr_array_add (argv, (char *) arg);
    g_string_append_printf (shown, " %s", quoted);
  }
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  printf ("  %s\n", shown->str);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                     &out, &err, &status, error))
    return FALSE;
  if (out != NULL && *out != '\0') {
    g_auto(GStrv) lines = g_strsplit (g_strchomp (out), "\n", -1);

    for (char **l = lines; *l; l++)
      printf ("      %s\n", *l);
  }
  if (!g_spawn_check_wait_status (status, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED, "keycall-admin failed: %s",
                 err ? g_strchomp (err) : "no message");
    return FALSE;
  }
  return TRUE;
}

static gboolean
contains_bytes (const char *path, const guint8 *needle, gsize len)
{
  g_autofree char *data = NULL;
  gsize size = 0;

  if (!g_file_get_contents (path, &data, &size, NULL))
    return FALSE;
  return memmem (data, size, needle, len) != NULL;
}

/* Claim 10: what gc1 stored opens only with the LEA's private key, and it
 * is the key both softphones used. */
static gboolean
check_stored_key (Demo *demo, KcDemoCall *call, GError **error)
{
  g_autofree char *store_path = g_build_filename (demo->net, "controllers", "gc1", "store.db", NULL);
  g_autofree char *lea_key = g_build_filename (demo->net, "lea", "lea1", "seal.key", NULL);
  g_autoptr(KcStore) store = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(KcSecret) lea_sk = NULL, opened = NULL;
  KcSealedKey *stored;
  char fp[KC_FINGERPRINT_LEN];
  gboolean in_clear, same;

  heading ("Key storage 206 and lawful intercept (claim 10)");
  store = kc_store_open (store_path, KC_STORE_OPEN_READONLY, error);
  keys = store ? kc_store_key_list (store, 1, error) : NULL;
  if (keys == NULL)
    return FALSE;
  if (keys->len == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND, "gc1 stored no key for the call");
    return FALSE;
  }
  stored = keys->pdata[0];
  lea_sk = kc_hpke_private_key_load_pem (lea_key, error);
  opened = lea_sk ? kc_hpke_open_call_key (lea_sk, &stored->key_id, stored->call_id,
                                           stored->enc, stored->sealed, error) : NULL;
  if (opened == NULL)
    return FALSE;
  kc_secret_fingerprint (opened, fp);
  same = g_strcmp0 (fp, call->caller_fingerprint) == 0 && g_strcmp0 (fp, call->callee_fingerprint) == 0;
  printf ("  gc1/store.db holds the call's key sealed (HPKE, %" G_GSIZE_FORMAT " + %" G_GSIZE_FORMAT
          " bytes) for %s → %s\n", g_bytes_get_size (stored->enc), g_bytes_get_size (stored->sealed),
          stored->caller, stored->callee);
  printf ("  the LEA's private key opens it: K %s\n", fp);
  printf ("  Alice's key: K %s, Bob's key: K %s: %s\n",
          call->caller_fingerprint ? call->caller_fingerprint : "?",
          call->callee_fingerprint ? call->callee_fingerprint : "?",
          same ? "one key, held by both softphones" : "THEY DIFFER");
  kc_store_close (g_steal_pointer (&store));
  in_clear = contains_bytes (store_path, kc_secret_get_data (opened), kc_secret_get_len (opened));
  printf ("  the key's bytes appear in gc1/store.db: %s\n", in_clear ? "YES (this is a bug)" : "no, only sealed");
  if (!same || in_clear) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "the stored key does not match the call");
    return FALSE;
  }
  return TRUE;
}

/* FIG. 5: what lea1 did with the tap it asked for before the call. */
static gboolean
check_lea (KcDemoCall *call, GError **error)
{
  const char *recorded;

  if (call->lea == NULL)
    return TRUE;
  heading ("Lawful intercept (FIG. 5, claim 5): lea1 tapped Alice at gc1");
  recorded = call->lea_recorded ? call->lea_recorded + strlen ("recorded ") : "nothing";
  printf ("  gc1 delivered the call's sealed key (516); lea1 opened it: K %s\n",
          call->lea_fingerprint ? call->lea_fingerprint : "(none)");
  printf ("  gc1's relay copied the call's SRTP to lea1, which decrypted and recorded it:\n"
          "    %s\n    (left channel Alice, right channel Bob; a JSON record beside it)\n",
          recorded);
  if (call->lea_fingerprint == NULL || g_strcmp0 (call->lea_fingerprint,
                                                  call->caller_fingerprint) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_FAILED,
                 "lea1's key (%s) is not the key the softphones hold (%s)",
                 call->lea_fingerprint ? call->lea_fingerprint : "none",
                 call->caller_fingerprint ? call->caller_fingerprint : "none");
    return FALSE;
  }
  printf ("  the same key as both softphones'; the subscribers saw nothing of the tap.\n");
  return TRUE;
}

static gboolean
provision (Demo *demo, GError **error)
{
  g_autofree char *port1 = g_strdup_printf ("%u", kc_tool_free_port ());
  g_autofree char *port2 = g_strdup_printf ("%u", kc_tool_free_port ());
  g_autofree char *alice = g_build_filename (demo->net, "alice.kcprofile", NULL);
  g_autofree char *bob = g_build_filename (demo->net, "bob.kcprofile", NULL);

  heading ("Provisioning (FIG. 1: provisioning server 122, CSR 120)");
  return admin (demo, error, "init", "--name", "demo", NULL)
         && admin (demo, error, "controller", "add", "gc1", "--host", "127.0.0.1",
                   "--port", port1, "--prefix", "1", NULL)
         && admin (demo, error, "controller", "add", "gc2", "--host", "127.0.0.1",
                   "--port", port2, "--prefix", "2", NULL)
         && admin (demo, error, "lea", "add", "lea1", NULL)
         && admin (demo, error, "subscriber", "add", "1001", "--name", "Alice",
                   "--controller", "gc1", NULL)
         && admin (demo, error, "subscriber", "add", "2001", "--name", "Bob",
                   "--controller", "gc2", NULL)
         && admin (demo, error, "profile", "export", "1001", "-o", alice, NULL)
         && admin (demo, error, "profile", "export", "2001", "-o", bob, NULL)
         && admin (demo, error, "subscriber", "list", NULL);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL, *mode = NULL;
  gboolean keep = FALSE, no_window = FALSE, step = FALSE;
  GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, "Network folder to create (kept afterwards)", "DIR" },
    { "keep", 'k', 0, G_OPTION_ARG_NONE, &keep, "Keep the temporary network folder and its logs", NULL },
    { "key-mode", 'm', 0, G_OPTION_ARG_STRING, &mode, "random (claim 2, default) or derived (claim 3)", "MODE" },
    { "step", 's', 0, G_OPTION_ARG_NONE, &step, "With the window: gc1 holds each FIG. 3 message until Next is pressed (for a class)", NULL },
    { "no-window", 'n', 0, G_OPTION_ARG_NONE, &no_window, "Do not open the controller window, even with a display", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- the Keycall local demo");
  g_autoptr(GError) error = NULL;
  g_autofree char *controller = NULL, *keycall = NULL, *flow = NULL, *lea = NULL;
  gboolean display = g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL;
  KcDemoCall call = { 0 };
  Demo demo = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    fprintf (stderr, "keycall-demo: %s\n", error->message);
    return 2;
  }
  if (mode != NULL && strcmp (mode, "random") != 0 && strcmp (mode, "derived") != 0) {
    fprintf (stderr, "keycall-demo: --key-mode is “random” or “derived”, not “%s”\n", mode);
    return 2;
  }
  bold_ok = isatty (STDOUT_FILENO);
  kc_secure_heap_init ();

  demo.admin = kc_tool_find_program (NULL, "admin", "keycall-admin");
  controller = kc_tool_find_program (NULL, "controller", "keycall-controller");
  keycall = kc_tool_find_program (NULL, "ui", "keycall");
  if (demo.admin == NULL || controller == NULL || keycall == NULL) {
    fprintf (stderr, "keycall-demo: keycall-admin, keycall-controller and keycall must be built "
             "next to this program or be in PATH\n");
    return 1;
  }
  if (dir != NULL) {
    if (g_file_test (dir, G_FILE_TEST_EXISTS)) {
      fprintf (stderr, "keycall-demo: %s exists; give a new folder for the demo network\n", dir);
      return 1;
    }
    demo.net = g_strdup (dir);
    keep = TRUE;
  } else {
    g_autofree char *tmp = g_dir_make_tmp ("keycall-demo-XXXXXX", &error);

    if (tmp == NULL) {
      fprintf (stderr, "keycall-demo: %s\n", error->message);
      return 1;
    }
    demo.net = g_build_filename (tmp, "net", NULL);
  }

  call.net = demo.net;
  call.controller = controller;
  call.keycall = keycall;
  call.derived = mode != NULL && strcmp (mode, "derived") == 0;
  if ((lea = kc_tool_find_program (NULL, "lea", "keycall-lea")) == NULL)
    printf ("keycall-lea is not built: the demo runs without lawful intercept.\n");
  call.lea = lea;
  if (display && !no_window) {
    if ((flow = kc_tool_find_program (NULL, "ui", "keycall-flow")) == NULL)
      printf ("keycall-flow (the controller window) is not built: the demo runs without it.\n");
    call.flow = flow;
  }
  if (step && call.flow == NULL) {
    fprintf (stderr, "keycall-demo: --step needs the controller window (a display, no --no-window)\n");
    return 2;
  }
  call.step = step;

  printf ("Keycall %s: the local demo (%s key mode). Network folder: %s\n", PACKAGE_VERSION,
          call.derived ? "derived, claim 3" : "random, claim 2", demo.net);
  if (call.flow != NULL)
    printf ("With a display: the controller window draws the call live; the softphones run "
            "headless, speaking from audio files.\n");
  else
    printf ("No controller window (%s): the call runs headless and its flow is printed below.\n",
            display ? "--no-window" : "no display");

  ok = provision (&demo, &error);
  if (ok) {
    heading ("An encrypted call: Alice (1001, at gc1) calls Bob (2001, at gc2)");
    ok = kc_demo_call_run (&call, &error) && check_stored_key (&demo, &call, &error)
         && check_lea (&call, &error);
  }
  if (!ok)
    fprintf (stderr, "\nkeycall-demo: %s\n", error ? error->message : "a check failed (see above)");
  else
    printf ("\nDone: one key per call, created and sealed by gc1, acknowledged by both "
            "softphones, open to the LEA only%s.\n",
            call.lea ? ", handed to it sealed when it asked" : "");

  if (keep || !ok) {
    printf ("The network folder and the processes' logs (logs/) are kept: %s\n", demo.net);
  } else {
    g_autofree char *parent = g_path_get_dirname (demo.net);
    g_autofree char *quoted = g_shell_quote (parent);
    g_autofree char *cmd = g_strdup_printf ("rm -rf %s", quoted);

    if (system (cmd) != 0)
      g_warning ("could not remove %s", parent);
  }
  g_free (call.caller_fingerprint);
  g_free (call.callee_fingerprint);
  g_free (call.lea_fingerprint);
  g_free (call.lea_recorded);
  g_free (demo.net);
  g_free (demo.admin);
  return ok ? 0 : 1;
}
