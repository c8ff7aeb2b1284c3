/* kc-hpke-pem.c: the law-enforcement sealing key pair as PEM files.
 *
 * PKCS#8 and SubjectPublicKeyInfo, so keys made by `openssl genpkey` work
 * and keys saved here open in any tool; the private key file is treated as
 * the secret it is (0600, never overwritten, refused when others can read).
 */
#define G_LOG_DOMAIN "kc-hpke"

#include "kc-hpke.h"
#include "kc-hpke-private.h"
#include "kc-error.h"
#include "kc-vault.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PEM (64 * 1024)

static int
no_passphrase (char *buf, int size, int rwflag, void *data)
{
  return -1;   /* never prompt on the terminal */
}

static void
set_errno_error (GError **error, int errsv, const char *what, const char *path)
{
  KcErrorCode code = errsv == ENOENT ? KC_ERROR_NOT_FOUND
                     : errsv == EEXIST ? KC_ERROR_EXISTS
                     : errsv == EACCES ? KC_ERROR_PERMISSION : KC_ERROR_IO;

  g_set_error (error, KC_ERROR, code, "Cannot %s %s: %s", what, path, g_strerror (errsv));
}

/* "an EC P-256 key", "an RSA-2048 key", "an ED25519 key". */
static char *
describe_key (EVP_PKEY *pkey)
{
  g_autofree char *name = NULL;

  if (EVP_PKEY_is_a (pkey, "EC")) {
    char group[64] = "";
    const char *nist;

    EVP_PKEY_get_utf8_string_param (pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL);
    nist = EC_curve_nid2nist (OBJ_txt2nid (group));
    name = g_strdup_printf ("EC %s", nist != NULL ? nist : group);
  } else if (EVP_PKEY_is_a (pkey, "RSA")) {
    name = g_strdup_printf ("RSA-%d", EVP_PKEY_get_bits (pkey));
  } else {
    const char *type = EVP_PKEY_get0_type_name (pkey);

    name = g_ascii_strup (type != NULL ? type : "unknown", -1);
  }
  return g_strdup_printf ("%s %s", strchr ("AEFHILMNORSXU", name[0]) ? "an" : "a", name);
}

static gboolean
check_x25519 (EVP_PKEY *pkey, const char *path, GError **error)
{
  g_autofree char *what = NULL;

  if (EVP_PKEY_is_a (pkey, "X25519"))
    return TRUE;
  what = describe_key (pkey);
  g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
               "%s is %s key; the law-enforcement sealing key must be X25519 "
               "(make one with keycall-admin or “openssl genpkey -algorithm X25519”)",
               path, what);
  return FALSE;
}

/* Why a PEM read failed, from what the file looks like. */
static void
set_pem_error (const char *data, gsize len, const char *path, gboolean want_private,
               GError **error)
{
  if (g_strstr_len (data, len, "-----BEGIN ") == NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s is not a PEM file (expected a “-----BEGIN %s-----” line)",
                 path, want_private ? "PRIVATE KEY" : "PUBLIC KEY");
  else if (want_private && g_strstr_len (data, len, "ENCRYPTED") != NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "%s is protected by a passphrase; Keycall reads an unencrypted "
                 "PKCS#8 key kept with mode 0600 (openssl pkey -in OLD -out NEW)", path);
  else if (want_private && g_strstr_len (data, len, "PUBLIC KEY-----") != NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s holds a public key; the private key is needed here", path);
  else if (!want_private && g_strstr_len (data, len, "PRIVATE KEY-----") != NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s holds a private key; give the public key file instead "
                 "(the private key stays with law enforcement)", path);
  else
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "%s is a PEM file but holds no readable %s key", path,
                 want_private ? "private" : "public");
}

gboolean
kc_hpke_private_key_save_pem (const KcSecret *private_key,
                              const char     *path,
                              GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  EVP_PKEY *pkey;
  BIO *bio = BIO_new (BIO_s_secmem ());   /* the PEM text is the key */
  char *data = NULL;
  long len = 0;
  gboolean ok;

  g_return_val_if_fail (private_key != NULL && path != NULL, FALSE);
  g_return_val_if_fail (kc_secret_get_len (private_key) == KC_HPKE_PRIVATE_KEY_LEN, FALSE);

  pkey = kc_hpke_x25519_private (kc_secret_get_data (private_key));
  ok = pkey != NULL && bio != NULL
       && PEM_write_bio_PrivateKey (bio, pkey, NULL, NULL, 0, NULL, NULL) == 1
       && (len = BIO_get_mem_data (bio, &data)) > 0;
  EVP_PKEY_free (pkey);
  if (!ok) {
    BIO_free (bio);
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "OpenSSL could not encode the private key");
    return FALSE;
  }

  /* Created 0600 from the start, and never over an existing key: losing
   * the LEA private key makes every sealed call key unreadable. */
  ok = kc_file_write (path, data, (gsize) len, 0600, FALSE, &local_error);
  BIO_free (bio);
  if (g_error_matches (local_error, KC_ERROR, KC_ERROR_EXISTS))
    g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                 "%s already exists; Keycall never overwrites a private key "
                 "(move the old one away first if it is really no longer needed)", path);
  else if (!ok)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return ok;
}

gboolean
kc_hpke_public_key_save_pem (const guint8 public_key[KC_HPKE_PUBLIC_KEY_LEN],
                             const char  *path,
                             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  EVP_PKEY *pkey;
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data = NULL;
  long len = 0;
  gboolean ok;

  g_return_val_if_fail (public_key != NULL && path != NULL, FALSE);

  pkey = kc_hpke_x25519_import (NULL, public_key);
  ok = pkey != NULL && bio != NULL
       && PEM_write_bio_PUBKEY (bio, pkey) == 1
       && (len = BIO_get_mem_data (bio, &data)) > 0;
  EVP_PKEY_free (pkey);
  if (!ok) {
    ERR_clear_error ();
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "OpenSSL could not encode the public key");
  } else if (!g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_CONSISTENT,
                                        0644, &local_error)) {
    ok = FALSE;
    g_set_error (error, KC_ERROR, KC_ERROR_IO, "%s", local_error->message);
  }
  BIO_free (bio);
  return ok;
}

KcSecret *
kc_hpke_private_key_load_pem (const char *path, GError **error)
{
  KcSecret *sk = NULL;
  EVP_PKEY *pkey = NULL;
  BIO *bio = NULL;
  struct stat st;
  char *data = NULL;
  gsize len = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    set_errno_error (error, errno, "read the private key file", path);
    return NULL;
  }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "%s is not a regular file", path);
    goto out;
  }
  if ((st.st_mode & 0077) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "The private key file %s can be accessed by other users (mode %04o); "
                 "run “chmod 600 %s” and find out who may have copied it",
                 path, (guint) (st.st_mode & 07777), path);
    goto out;
  }
  if (st.st_size > MAX_PEM) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "%s is %lld bytes; a key file is under %d", path,
                 (long long) st.st_size, MAX_PEM);
    goto out;
  }

  data = OPENSSL_secure_malloc ((gsize) st.st_size + 1);
  while (len < (gsize) st.st_size) {
    ssize_t n = read (fd, data + len, (gsize) st.st_size - len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      set_errno_error (error, errno, "read", path);
      goto out;
    }
    if (n == 0)
      break;
    len += (gsize) n;
  }

  bio = BIO_new_mem_buf (data, (int) len);
  pkey = bio != NULL ? PEM_read_bio_PrivateKey (bio, NULL, no_passphrase, NULL) : NULL;
  ERR_clear_error ();
  if (pkey == NULL)
    set_pem_error (data, len, path, TRUE, error);
  else if (check_x25519 (pkey, path, error) && (sk = kc_hpke_raw_private (pkey)) == NULL)
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "OpenSSL could not export the private key in %s", path);

out:
  EVP_PKEY_free (pkey);
  BIO_free (bio);
  if (data != NULL)
    OPENSSL_secure_clear_free (data, (gsize) st.st_size + 1);
  close (fd);
  return sk;
}

gboolean
kc_hpke_public_key_load_pem (const char *path,
                             guint8      public_key[KC_HPKE_PUBLIC_KEY_LEN],
                             GError    **error)
{
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GError) local_error = NULL;
  EVP_PKEY *pkey = NULL;
  BIO *bio = NULL;
  const char *data;
  gsize len;
  gboolean ok = FALSE;

  g_return_val_if_fail (path != NULL && public_key != NULL, FALSE);

  file = g_mapped_file_new (path, FALSE, &local_error);
  if (file == NULL) {
    g_set_error (error, KC_ERROR,
                 g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                 ? KC_ERROR_NOT_FOUND : KC_ERROR_IO,
                 "Cannot read the public key file: %s", local_error->message);
    return FALSE;
  }
  /* An empty file maps to NULL. */
  data = g_mapped_file_get_length (file) > 0 ? g_mapped_file_get_contents (file) : "";
  len = g_mapped_file_get_length (file);
  if (len > MAX_PEM) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "%s is %" G_GSIZE_FORMAT " bytes; a key file is under %d", path, len, MAX_PEM);
    return FALSE;
  }

  bio = BIO_new_mem_buf (data, (int) len);
  pkey = bio != NULL ? PEM_read_bio_PUBKEY (bio, NULL, no_passphrase, NULL) : NULL;
  ERR_clear_error ();
  if (pkey == NULL)
    set_pem_error (data, len, path, FALSE, error);
  else if (check_x25519 (pkey, path, error) && !(ok = kc_hpke_raw_public (pkey, public_key)))
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "OpenSSL could not export the public key in %s", path);
  EVP_PKEY_free (pkey);
  BIO_free (bio);
  return ok;
}
