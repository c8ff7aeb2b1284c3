/* keycall-lea-options.c: keycall-lea's arguments and configuration:
 * --controller, --tap and --past, and the LEA's lea.ini.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "keycall-lea-private.h"

#include "kc-error.h"
#include "kc-li-wire.h"
#include "kc-pki.h"

#include <string.h>

/* "gc1=127.0.0.1:5062", or "gc1" with the address lea.ini gives
 * ([controller gc1] li-address, kept there by keycall-admin). */
gboolean
lea_parse_controller (const char *text, GKeyFile *ini, char **name, char **host, guint16 *port,
                      GError **error)
{
  const char *eq = strchr (text, '=');
  g_autofree char *from_ini = NULL;
  const char *address, *colon;
  guint64 p = 0;

  *name = eq ? g_strndup (text, eq - text) : g_strdup (text);
  if (!kc_pki_check_name (*name, error))
    return FALSE;
  if (eq == NULL) {
    g_autofree char *group = g_strdup_printf ("controller %s", *name);

    from_ini = g_key_file_get_string (ini, group, "li-address", NULL);
    if (from_ini == NULL) {
      g_set_error (error, KC_ERROR, KC_ERROR_NOT_FOUND,
                   "--controller %s: lea.ini names no LI address for it; give NAME=HOST:PORT",
                   text);
      return FALSE;
    }
  }
  address = eq ? eq + 1 : from_ini;
  colon = strrchr (address, ':');
  if (colon == NULL || colon == address
      || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &p, NULL)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "--controller %s: give NAME=HOST:PORT (the controller's LI port)", text);
    return FALSE;
  }
  *host = g_strndup (address, colon - address);
  if (**host == '[' && (*host)[strlen (*host) - 1] == ']') {
    memmove (*host, *host + 1, strlen (*host));
    (*host)[strlen (*host) - 1] = '\0';
  }
  *port = (guint16) p;
  return TRUE;
}

/* Every controller lea.ini knows, as "NAME". */
GStrv
lea_controllers_from_ini (GKeyFile *ini)
{
  g_auto(GStrv) groups = g_key_file_get_groups (ini, NULL);
  GStrvBuilder *b = g_strv_builder_new ();
  GStrv out;

  for (char **g = groups; g && *g; g++)
    if (g_str_has_prefix (*g, "controller "))
      g_strv_builder_add (b, *g + strlen ("controller "));
  out = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return out;
}

void
lea_tap_arg_free (TapArg *t)
{
  g_free (t->number);
  g_free (t->controller);
  g_free (t);
}

/* Splits "TEXT@CONTROLLER". */
static char *
split_at (const char *text, char **controller)
{
  const char *at = strrchr (text, '@');

  *controller = at ? g_strdup (at + 1) : NULL;
  return at ? g_strndup (text, at - text) : g_strdup (text);
}

/* --tap NUMBER:KIND[@CONTROLLER], KIND future (the default) or current. */
TapArg *
lea_parse_tap (const char *text, GError **error)
{
  TapArg *t = g_new0 (TapArg, 1);
  g_autofree char *body = split_at (text, &t->controller);
  char *colon = strchr (body, ':');
  const char *kind = colon ? colon + 1 : "future";

  if (colon)
    *colon = '\0';
  t->number = g_strdup (body);
  if (g_strcmp0 (kind, "future") == 0)
    t->kind = KC_LEA_TAP_FUTURE;
  else if (g_strcmp0 (kind, "current") == 0)
    t->kind = KC_LEA_TAP_CURRENT;
  else {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "--tap %s: the kind is future or current (past keys: --past)", text);
    lea_tap_arg_free (t);
    return NULL;
  }
  if (!kc_pki_check_number (t->number, error)) {
    lea_tap_arg_free (t);
    return NULL;
  }
  return t;
}

static gboolean
parse_time_or_empty (const char *text, const char *what, gint64 *us)
{
  *us = 0;
  return *text == '\0' || kc_li_time_parse (text, what, us, NULL);
}

/* --past NUMBER[:FROM[:UNTIL]][@CONTROLLER]: the times are RFC 3339, whose
 * own colons make the split ambiguous, so the split that parses wins. */
TapArg *
lea_parse_past (const char *text, GError **error)
{
  TapArg *t = g_new0 (TapArg, 1);
  g_autofree char *body = split_at (text, &t->controller);
  char *colon = strchr (body, ':');
  gboolean ok = TRUE;

  t->kind = KC_LEA_TAP_PAST;
  if (colon != NULL) {
    char *rest = colon + 1;

    *colon = '\0';
    ok = parse_time_or_empty (rest, "FROM", &t->from_us);
    if (!ok) {
      for (char *c = strchr (rest, ':'); c != NULL && !ok; c = strchr (c + 1, ':')) {
        g_autofree char *from = g_strndup (rest, c - rest);

        ok = parse_time_or_empty (from, "FROM", &t->from_us)
             && parse_time_or_empty (c + 1, "UNTIL", &t->until_us);
      }
    }
  }
  t->number = g_strdup (body);
  if (!ok) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "--past %s: give NUMBER[:FROM[:UNTIL]] with RFC 3339 times, e.g. "
                 "1001:2026-11-28T16:00:00Z:2026-11-28T17:00:00Z", text);
    lea_tap_arg_free (t);
    return NULL;
  }
  if (!kc_pki_check_number (t->number, error)) {
    lea_tap_arg_free (t);
    return NULL;
  }
  return t;
}
void
lea_config_clear (LeaConfig *c)
{
  g_clear_pointer (&c->ini, g_key_file_unref);
  g_free (c->name);
  g_free (c->cert);
  g_free (c->key);
  g_free (c->ca);
  g_free (c->crl);
  g_free (c->seal_key);
}

static char *
config_path (const char *base, const char *value)
{
  return g_path_is_absolute (value) ? g_strdup (value) : g_build_filename (base, value, NULL);
}

gboolean
lea_config_load (const char *path, LeaConfig *c, GError **error)
{
  GKeyFile *kf = c->ini = g_key_file_new ();
  g_autofree char *base = g_path_get_dirname (path);
  g_autofree char *tls = NULL, *seal = NULL, *crl = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local)) {
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot read the LEA configuration %s: %s",
                 path, local->message);
    return FALSE;
  }
  c->name = g_key_file_get_string (kf, "lea", "name", NULL);
  tls = g_key_file_get_string (kf, "lea", "tls-dir", NULL);
  seal = g_key_file_get_string (kf, "lea", "seal-private-key", NULL);
  crl = g_key_file_get_string (kf, "lea", "crl", NULL);
  if (c->name == NULL || !kc_pki_check_name (c->name, NULL) || seal == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s: [lea] needs name (a lowercase DNS label) and seal-private-key; "
                 "`keycall-admin lea add NAME` writes both", path);
    return FALSE;
  }
  tls = config_path (base, tls ? tls : ".");
  c->cert = g_build_filename (tls, "cert.pem", NULL);
  c->key = g_build_filename (tls, "key.pem", NULL);
  c->ca = g_build_filename (tls, "cafile.pem", NULL);
  c->seal_key = config_path (base, seal);
  if (crl != NULL) {
    c->crl = config_path (base, crl);
  } else {
    g_autofree char *net_crl = g_build_filename (base, "..", "..", "crl.pem", NULL);

    if (g_file_test (net_crl, G_FILE_TEST_IS_REGULAR))
      c->crl = g_steal_pointer (&net_crl);
  }
  return TRUE;
}
