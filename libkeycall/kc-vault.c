/* kc-vault.c: the controller's vault key, wrapping, and files for secrets. */
#define G_LOG_DOMAIN "kc-vault"

#include "kc-vault.h"
#include "kc-error.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _KcVault {
  KcSecret *key;
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)

KcVault *
kc_vault_new_from_key (const KcSecret *key)
{
  KcVault *vault;

  g_return_val_if_fail (key != NULL && kc_secret_get_len (key) == KC_VAULT_KEY_LEN, NULL);

  vault = g_new0 (KcVault, 1);
  vault->key = kc_secret_copy (key);
  return vault;
}

KcVault *
kc_vault_create (const char *path, gboolean replace, GError **error)
{
  g_autoptr(KcSecret) key = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if ((key = kc_secret_new_random (KC_VAULT_KEY_LEN, error)) == NULL
      || !kc_file_write (path, kc_secret_get_data (key), KC_VAULT_KEY_LEN, 0600, replace, error))
    return NULL;
  return kc_vault_new_from_key (key);
}

KcVault *
kc_vault_load (const char *path, GError **error)
{
  g_autoptr(KcSecret) key = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if ((key = kc_private_file_read (path, KC_SECRET_MAX_LEN, error)) == NULL)
    return NULL;
  if (kc_secret_get_len (key) != KC_VAULT_KEY_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "%s is not a Keycall vault key (%" G_GSIZE_FORMAT " bytes; expected %d)",
                 path, kc_secret_get_len (key), KC_VAULT_KEY_LEN);
    return NULL;
  }
  return kc_vault_new_from_key (key);
}

void
kc_vault_free (KcVault *vault)
{
  if (vault == NULL)
    return;
  kc_secret_free (vault->key);
  g_free (vault);
}

void
kc_vault_fingerprint (KcVault *vault, char out[KC_FINGERPRINT_LEN])
{
  g_return_if_fail (vault != NULL);
  kc_secret_fingerprint (vault->key, out);
}

/* The version byte is authenticated with the caller's AAD, so a wrapped
 * secret cannot be replayed under another format version. */
static gboolean
cipher_init (EVP_CIPHER_CTX *ctx, KcVault *vault, const guint8 *nonce, const char *aad,
             gboolean encrypt)
{
  const guint8 version = KC_VAULT_VERSION;
  int n;

  return EVP_CipherInit_ex (ctx, EVP_aes_256_gcm (), NULL, kc_secret_get_data (vault->key),
                            nonce, encrypt ? 1 : 0) == 1
         && EVP_CipherUpdate (ctx, NULL, &n, &version, 1) == 1
         && EVP_CipherUpdate (ctx, NULL, &n, (const guint8 *) aad, (int) strlen (aad)) == 1;
}

GBytes *
kc_vault_wrap (KcVault *vault, const KcSecret *secret, const char *aad, GError **error)
{
  g_autoptr(EVP_CIPHER_CTX) ctx = EVP_CIPHER_CTX_new ();
  gsize len, out_len;
  guint8 *out, *nonce, *ct;
  int n, m;

  g_return_val_if_fail (vault != NULL && secret != NULL && aad != NULL, NULL);

  len = kc_secret_get_len (secret);
  out_len = len + KC_VAULT_OVERHEAD;
  out = g_malloc (out_len);
  out[0] = KC_VAULT_VERSION;
  nonce = out + 1;
  ct = nonce + KC_VAULT_NONCE_LEN;

  if (RAND_bytes (nonce, KC_VAULT_NONCE_LEN) != 1
      || !cipher_init (ctx, vault, nonce, aad, TRUE)
      || EVP_EncryptUpdate (ctx, ct, &n, kc_secret_get_data (secret), (int) len) != 1
      || EVP_EncryptFinal_ex (ctx, ct + n, &m) != 1
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, KC_VAULT_TAG_LEN, ct + len) != 1) {
    g_free (out);
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO, "Cannot wrap the secret (AES-256-GCM failed)");
    return NULL;
  }
  return g_bytes_new_take (out, out_len);
}

KcSecret *
kc_vault_unwrap (KcVault *vault, GBytes *wrapped, const char *aad, GError **error)
{
  g_autoptr(EVP_CIPHER_CTX) ctx = EVP_CIPHER_CTX_new ();
  g_autoptr(KcSecret) secret = NULL;
  const guint8 *data, *nonce, *ct;
  gsize size, len;
  int n, m;

  g_return_val_if_fail (vault != NULL && wrapped != NULL && aad != NULL, NULL);

  data = g_bytes_get_data (wrapped, &size);
  if (size <= KC_VAULT_OVERHEAD || size - KC_VAULT_OVERHEAD > KC_SECRET_MAX_LEN) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT,
                 "The wrapped secret is %" G_GSIZE_FORMAT " bytes, which no vault produces",
                 size);
    return NULL;
  }
  if (data[0] != KC_VAULT_VERSION) {
    g_set_error (error, KC_ERROR, KC_ERROR_FOREIGN,
                 "The wrapped secret has format version %u; this Keycall reads version %d",
                 data[0], KC_VAULT_VERSION);
    return NULL;
  }
  nonce = data + 1;
  ct = nonce + KC_VAULT_NONCE_LEN;
  len = size - KC_VAULT_OVERHEAD;
  secret = kc_secret_new (len);

  if (!cipher_init (ctx, vault, nonce, aad, FALSE)
      || EVP_DecryptUpdate (ctx, kc_secret_get_mutable (secret), &n, ct, (int) len) != 1
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, KC_VAULT_TAG_LEN,
                              (void *) (ct + len)) != 1
      || EVP_DecryptFinal_ex (ctx, kc_secret_get_mutable (secret) + n, &m) != 1) {
    g_set_error (error, KC_ERROR, KC_ERROR_CRYPTO,
                 "Cannot unwrap the secret of “%s”: wrong vault key, wrong owner, or "
                 "damaged data", aad);
    return NULL;
  }
  return g_steal_pointer (&secret);
}

/* Files holding secrets */

static gboolean
set_io_error (GError **error, int errsv, const char *what, const char *path)
{
  int code = errsv == ENOENT ? KC_ERROR_NOT_FOUND
           : errsv == EEXIST ? KC_ERROR_EXISTS
           : errsv == EACCES || errsv == EPERM ? KC_ERROR_PERMISSION
           : KC_ERROR_IO;

  g_set_error (error, KC_ERROR, code, "Cannot %s %s: %s", what, path, g_strerror (errsv));
  return FALSE;
}

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    data += n;
    len -= (gsize) n;
  }
  return TRUE;
}

gboolean
kc_file_write (const char *path,
                   const void *data,
                   gsize       len,
                   int         mode,
                   gboolean    replace,
                   GError    **error)
{
  g_autofree char *tmp = NULL;
  const char *target;
  int fd, errsv;

  g_return_val_if_fail (path != NULL && (data != NULL || len == 0), FALSE);

  if (!replace) {
    fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0 && errno == EEXIST) {
      g_set_error (error, KC_ERROR, KC_ERROR_EXISTS,
                   "%s already exists; refusing to overwrite it",
                   path);
      return FALSE;
    }
    target = path;
  } else {
    tmp = g_strconcat (path, ".XXXXXX", NULL);
    fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, mode);
    target = tmp;
  }
  if (fd < 0)
    return set_io_error (error, errno, "create", target);

  /* The umask may only have removed bits; set exactly what was asked. */
  if (fchmod (fd, mode) < 0 || !write_all (fd, data, len) || fsync (fd) < 0) {
    errsv = errno;
    close (fd);
    unlink (target);
    return set_io_error (error, errsv, "write", target);
  }
  if (close (fd) < 0) {
    errsv = errno;
    unlink (target);
    return set_io_error (error, errsv, "write", target);
  }
  if (tmp != NULL && rename (tmp, path) < 0) {
    errsv = errno;
    unlink (tmp);
    return set_io_error (error, errsv, "replace", path);
  }
  return TRUE;
}

KcSecret *
kc_private_file_read (const char *path, gsize max_len, GError **error)
{
  g_autoptr(KcSecret) secret = NULL;
  struct stat st;
  gsize done = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  max_len = MIN (max_len, KC_SECRET_MAX_LEN);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    set_io_error (error, errno, "open", path);
    return NULL;
  }
  if (fstat (fd, &st) < 0) {
    set_io_error (error, errno, "inspect", path);
    close (fd);
    return NULL;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "%s is not a regular file", path);
  } else if ((st.st_mode & 077) != 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_PERMISSION,
                 "%s holds a secret but group or others may access it (mode %04o); "
                 "run 'chmod 600 %s'", path, (unsigned) (st.st_mode & 07777), path);
  } else if (st.st_size == 0) {
    g_set_error (error, KC_ERROR, KC_ERROR_CORRUPT, "%s is empty", path);
  } else if ((guint64) st.st_size > max_len) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "%s is %" G_GINT64_FORMAT " bytes; the limit is %" G_GSIZE_FORMAT,
                 path, (gint64) st.st_size, max_len);
  } else {
    secret = kc_secret_new ((gsize) st.st_size);
    while (done < (gsize) st.st_size) {
      ssize_t n = read (fd, kc_secret_get_mutable (secret) + done, (gsize) st.st_size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        g_set_error (error, KC_ERROR, KC_ERROR_IO, "Cannot read %s: %s", path,
                     n < 0 ? g_strerror (errno) : "the file shrank while reading");
        g_clear_pointer (&secret, kc_secret_free);
        break;
      }
      done += (gsize) n;
    }
  }
  close (fd);
  return g_steal_pointer (&secret);
}

