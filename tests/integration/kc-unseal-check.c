/* kc-unseal-check: the law-enforcement side of an integration test.
 *
 * Opens the sealed call keys of a controller's store with the LEA private
 * key, prints only their fingerprints (never a key), and reports whether a
 * key's bytes, raw, hex or base64, occur in given files (a loopback capture,
 * event logs, the store file itself).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-secret.h"
#include "kc-store.h"

#define EXIT_FOUND 3

/* The `key` deliveries (docs/lawful-intercept.md) in @path, one JSON line
 * each, as the sealed records they carry. */
static GPtrArray *
read_deliveries (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_sealed_key_free);

  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonObject *o;
    KcSealedKey *k;
    const char *fp;
    guchar *raw;
    gsize len;

    if (*g_strstrip (lines[i]) == '\0')
      continue;
    if (!json_parser_load_from_data (parser, lines[i], -1, error))
      return NULL;
    o = json_node_get_object (json_parser_get_root (parser));
    if (o == NULL || g_strcmp0 (json_object_get_string_member_with_default (o, "op", ""), "key"))
      continue;
    k = g_new0 (KcSealedKey, 1);
    g_ptr_array_add (keys, k);
    if (!kc_key_id_from_hex (&k->key_id, json_object_get_string_member_with_default (o, "key_id",
                                                                                    ""), error))
      return NULL;
    k->call_id = g_strdup (json_object_get_string_member_with_default (o, "call", ""));
    raw = g_base64_decode (json_object_get_string_member_with_default (o, "enc", ""), &len);
    k->enc = g_bytes_new_take (raw, len);
    raw = g_base64_decode (json_object_get_string_member_with_default (o, "sealed", ""), &len);
    k->sealed = g_bytes_new_take (raw, len);
    fp = json_object_get_string_member_with_default (o, "fingerprint", "");
    g_strlcpy (k->fingerprint, fp, sizeof k->fingerprint);
  }
  return g_steal_pointer (&keys);
}

/* Case-insensitive search of @needle (ASCII) in binary @hay. */
static gboolean
contains_ascii_nocase (const guint8 *hay, gsize hay_len, const char *needle)
{
  gsize n = strlen (needle);

  if (n == 0 || n > hay_len)
    return FALSE;
  for (gsize i = 0; i + n <= hay_len; i++) {
    gsize j = 0;

    while (j < n && g_ascii_tolower (hay[i + j]) == g_ascii_tolower (needle[j]))
      j++;
    if (j == n)
      return TRUE;
  }
  return FALSE;
}

/* Which encoding of @key occurs in @data, or NULL. Base64 is tried at the
 * three alignments a key can have inside a longer payload (a KEY payload
 * puts it at offset 19), in the standard and URL-safe alphabets, using
 * only the 40 characters that depend on key bytes alone. */
static const char *
find_key (const guint8 *data, gsize len, const KcSecret *key)
{
  const guint8 *k = kc_secret_get_data (key);
  gsize klen = kc_secret_get_len (key);
  const char *found = NULL;

  if (klen <= len && memmem (data, len, k, klen) != NULL)
    return "raw";

  {
    char *hex = g_malloc0 (klen * 2 + 1);

    for (gsize i = 0; i < klen; i++)
      g_snprintf (hex + 2 * i, 3, "%02x", k[i]);
    if (contains_ascii_nocase (data, len, hex))
      found = "hex";
    memset (hex, 0, klen * 2);
    g_free (hex);
    if (found)
      return found;
  }

  for (gsize shift = 0; shift < 3 && !found; shift++) {
    guint8 *buf = g_malloc0 (klen + 2);
    char *b64;
    gsize skip = shift == 0 ? 0 : 4;
    gsize full = ((shift + klen) / 3) * 4;    /* characters of whole groups */

    memcpy (buf + shift, k, klen);
    b64 = g_base64_encode (buf, shift + klen);
    if (full > skip + 8) {
      char *part = g_strndup (b64 + skip, full - skip);

      if (memmem (data, len, part, strlen (part)) != NULL)
        found = "base64";
      for (char *p = part; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
      if (!found && memmem (data, len, part, strlen (part)) != NULL)
        found = "base64url";
      memset (part, 0, strlen (part));
      g_free (part);
    }
    memset (b64, 0, strlen (b64));
    g_free (b64);
    memset (buf, 0, klen + 2);
    g_free (buf);
  }
  return found;
}

int
main (int argc, char **argv)
{
  g_autofree char *store_path = NULL;
  g_autofree char *lea_key_path = NULL;
  g_autofree char *call_id = NULL;
  g_autofree char *key_id_hex = NULL;
  g_auto (GStrv) search_files = NULL;
  g_autofree char *srtp_suite = NULL;
  g_autofree char *delivery_path = NULL;
  GOptionEntry entries[] = {
    { "delivery", 0, 0, G_OPTION_ARG_FILENAME, &delivery_path,
      "Open the keys of the LI `key` deliveries in FILE (JSON lines) instead of a store",
      "FILE" },
    { "srtp-suite", 0, 0, G_OPTION_ARG_STRING, &srtp_suite,
      "Also print each opened key's SRTP master key and salt, both directions, for SUITE, "
      "in hex (what a lawful-intercept decoder is given)", "SUITE" },
    { "store", 0, 0, G_OPTION_ARG_FILENAME, &store_path, "The controller's store", "PATH" },
    { "lea-key", 0, 0, G_OPTION_ARG_FILENAME, &lea_key_path, "The LEA's seal.key", "PATH" },
    { "call-id", 0, 0, G_OPTION_ARG_STRING, &call_id, "Only the key of this call", "CALL-ID" },
    { "key-id", 0, 0, G_OPTION_ARG_STRING, &key_id_hex, "Only this key", "HEX" },
    { "search-file", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &search_files,
      "Report whether a key occurs in FILE (repeatable)", "FILE" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (KcStore) store = NULL;
  g_autoptr (KcSecret) lea_key = NULL;
  g_autoptr (GPtrArray) keys = NULL;
  g_autoptr (GPtrArray) opened = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_secret_free);
  int status = EXIT_SUCCESS;

  kc_secure_heap_init ();
  context = g_option_context_new ("- open sealed call keys, print fingerprints");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("kc-unseal-check: %s\n", error->message);
    return 2;
  }
  if ((store_path == NULL && delivery_path == NULL) || lea_key_path == NULL) {
    g_printerr ("kc-unseal-check: --store (or --delivery) and --lea-key are required\n");
    return 2;
  }

  store = store_path ? kc_store_open (store_path, KC_STORE_OPEN_READONLY, &error) : NULL;
  if (store == NULL && delivery_path == NULL) {
    g_printerr ("kc-unseal-check: %s\n", error->message);
    return 1;
  }
  lea_key = kc_hpke_private_key_load_pem (lea_key_path, &error);
  if (lea_key == NULL) {
    g_printerr ("kc-unseal-check: %s\n", error->message);
    return 1;
  }

  if (delivery_path != NULL) {
    if ((keys = read_deliveries (delivery_path, &error)) == NULL) {
      g_printerr ("kc-unseal-check: %s: %s\n", delivery_path, error->message);
      return 1;
    }
    store_path = g_strdup (delivery_path);
  } else if (key_id_hex != NULL) {
    KcKeyId id;
    KcSealedKey *one;

    if (!kc_key_id_from_hex (&id, key_id_hex, &error)
        || (one = kc_store_get_key (store, &id, &error)) == NULL) {
      g_printerr ("kc-unseal-check: key %s: %s\n", key_id_hex, error->message);
      return 1;
    }
    keys = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_sealed_key_free);
    g_ptr_array_add (keys, one);
  } else {
    keys = kc_store_key_list (store, 0, &error);
    if (keys == NULL) {
      g_printerr ("kc-unseal-check: %s\n", error->message);
      return 1;
    }
  }

  for (guint i = 0; i < keys->len; i++) {
    KcSealedKey *sk = g_ptr_array_index (keys, i);
    char hex[KC_KEY_ID_TEXT_LEN];
    char fp[KC_FINGERPRINT_LEN];
    g_autoptr (GError) open_error = NULL;
    KcSecret *k;

    if (call_id != NULL && g_strcmp0 (sk->call_id, call_id) != 0)
      continue;
    kc_key_id_to_hex (&sk->key_id, hex);
    k = kc_hpke_open_call_key (lea_key, &sk->key_id, sk->call_id, sk->enc, sk->sealed,
                               &open_error);
    if (k == NULL) {
      g_print ("key %s call %s unopened (%s)\n", hex, sk->call_id, open_error->message);
      status = EXIT_FAILURE;
      continue;
    }
    kc_secret_fingerprint (k, fp);
    g_print ("key %s call %s fingerprint %s stored %s enc %zu sealed %zu\n", hex, sk->call_id,
             fp, sk->fingerprint, g_bytes_get_size (sk->enc), g_bytes_get_size (sk->sealed));
    if (srtp_suite != NULL) {
      KcSuite suite = kc_suite_from_string (srtp_suite);

      for (KcDirection d = KC_DIRECTION_CALLER_TO_CALLEE; d <= KC_DIRECTION_CALLEE_TO_CALLER; d++) {
        g_autoptr (KcSecret) ks = suite == KC_SUITE_INVALID ? NULL
                                    : kc_srtp_key_derive (k, suite, d, &open_error);
        g_autofree char *hexkey = NULL;

        if (ks == NULL) {
          g_printerr ("kc-unseal-check: --srtp-suite %s: %s\n", srtp_suite,
                      open_error ? open_error->message : "unknown suite");
          return 2;
        }
        hexkey = g_malloc (2 * kc_secret_get_len (ks) + 1);
        for (gsize b = 0; b < kc_secret_get_len (ks); b++)
          g_snprintf (hexkey + 2 * b, 3, "%02x", kc_secret_get_data (ks)[b]);
        g_print ("srtp %s call %s %s %s\n", hex, sk->call_id, kc_direction_to_string (d), hexkey);
      }
    }
    g_ptr_array_add (opened, k);
  }
  if (opened->len == 0) {
    g_printerr ("kc-unseal-check: no sealed key%s%s in %s opened\n",
                call_id ? " of call " : "", call_id ? call_id : "", store_path);
    return 1;
  }

  for (guint f = 0; search_files != NULL && search_files[f] != NULL; f++) {
    g_autofree char *contents = NULL;
    gsize len = 0;
    g_autoptr (GError) read_error = NULL;
    const char *how = NULL;

    if (!g_file_get_contents (search_files[f], &contents, &len, &read_error)) {
      g_printerr ("kc-unseal-check: %s\n", read_error->message);
      status = EXIT_FAILURE;
      continue;
    }
    for (guint i = 0; i < opened->len && how == NULL; i++)
      how = find_key ((const guint8 *) contents, len, g_ptr_array_index (opened, i));
    if (how != NULL) {
      g_print ("found %s in %s (%zu bytes)\n", how, search_files[f], len);
      if (status == EXIT_SUCCESS)
        status = EXIT_FOUND;
    } else {
      g_print ("clean %s (%zu bytes)\n", search_files[f], len);
    }
  }
  return status;
}
