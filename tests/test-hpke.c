/* test-hpke.c: HPKE base mode against RFC 9180 A.1.1, and failure paths.
 * The PEM key files are tested in test-hpke-pem.c. */
#include "kc-error.h"
#include "kc-hpke.h"
#include "kc-keys.h"
#include "kc-test.h"

#include <string.h>

/* ---- the RFC 9180 vector file -------------------------------------- */

typedef struct {
  GHashTable *fields;      /* name -> GBytes, the values before the first "seq" */
  GPtrArray  *encryptions; /* GHashTable per "seq = N" block */
} Vector;

static GBytes *
hex_to_bytes (const char *hex)
{
  gsize len = strlen (hex);
  guint8 *buf;

  ck_assert_msg (len % 2 == 0, "odd-length hex in the vector file: %s", hex);
  buf = g_malloc (len / 2 + 1);
  for (gsize i = 0; i < len / 2; i++) {
    int hi = g_ascii_xdigit_value (hex[2 * i]);
    int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

    ck_assert_msg (hi >= 0 && lo >= 0, "bad hex in the vector file: %s", hex);
    buf[i] = (guint8) (hi << 4 | lo);
  }
  return g_bytes_new_take (buf, len / 2);
}

static GHashTable *
new_fields (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
}

static Vector
load_vector (void)
{
  g_autofree char *path = kc_test_data_path ("rfc9180-A.1.1.txt");
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  Vector v = { new_fields (), g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref) };
  GHashTable *current = v.fields;

  ck_assert_msg (g_file_get_contents (path, &text, NULL, &error),
                 "cannot read %s: %s", path, error ? error->message : "?");
  lines = g_strsplit (text, "\n", -1);
  for (char **line = lines; *line != NULL; line++) {
    g_auto(GStrv) kv = NULL;
    char *name, *value;

    g_strstrip (*line);
    if (**line == '\0' || **line == '#')
      continue;
    kv = g_strsplit (*line, "=", 2);
    ck_assert_msg (kv[1] != NULL, "line without '=' in the vector file: %s", *line);
    name = g_strstrip (kv[0]);
    value = g_strstrip (kv[1]);
    if (strcmp (name, "seq") == 0) {
      current = new_fields ();
      g_ptr_array_add (v.encryptions, current);
      g_hash_table_insert (current, g_strdup ("seq"),
                           g_bytes_new (value, strlen (value) + 1));
    } else if (strcmp (name, "mode") == 0 || g_str_has_suffix (name, "_id")) {
      g_hash_table_insert (current, g_strdup (name), g_bytes_new (value, strlen (value) + 1));
    } else {
      g_hash_table_insert (current, g_strdup (name), hex_to_bytes (value));
    }
  }
  ck_assert_uint_ge (v.encryptions->len, 3);
  return v;
}

static void
vector_clear (Vector *v)
{
  g_hash_table_unref (v->fields);
  g_ptr_array_unref (v->encryptions);
}

static GBytes *
field (GHashTable *fields, const char *name)
{
  GBytes *b = g_hash_table_lookup (fields, name);

  ck_assert_msg (b != NULL, "the vector file has no %s", name);
  return b;
}

static const guint8 *
field_data (GHashTable *fields, const char *name, gsize expected_len)
{
  GBytes *b = field (fields, name);

  if (expected_len > 0)
    ck_assert_uint_eq (g_bytes_get_size (b), expected_len);
  return g_bytes_get_data (b, NULL);
}

static void
assert_secret_is (const KcSecret *secret, GBytes *expected, const char *what)
{
  ck_assert_msg (secret != NULL, "%s is missing", what);
  ck_assert_uint_eq (kc_secret_get_len (secret), g_bytes_get_size (expected));
  ck_assert_msg (memcmp (kc_secret_get_data (secret), g_bytes_get_data (expected, NULL),
                         g_bytes_get_size (expected)) == 0, "%s differs from RFC 9180", what);
}

static KcSecret *
vector_sk_r (Vector *v)
{
  return kc_secret_new_from_data (field_data (v->fields, "skRm", 32), 32);
}

static void
assert_open_error (GError *error, KcSecret *pt)
{
  ck_assert_ptr_null (pt);
  ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO),
                 "expected KC_ERROR_CRYPTO, got %s", error ? error->message : "no error");
  ck_assert_msg (strstr (error->message, "wrong key or damaged record") != NULL,
                 "unhelpful message: %s", error->message);
}

/* ---- RFC 9180 A.1.1 ----------------------------------------------- */

START_TEST (test_vector_suite_is_ours)
{
  Vector v = load_vector ();

  /* The file must describe the suite this module implements. */
  ck_assert_str_eq (g_bytes_get_data (field (v.fields, "mode"), NULL), "0");
  ck_assert_str_eq (g_bytes_get_data (field (v.fields, "kem_id"), NULL), "32");
  ck_assert_str_eq (g_bytes_get_data (field (v.fields, "kdf_id"), NULL), "1");
  ck_assert_str_eq (g_bytes_get_data (field (v.fields, "aead_id"), NULL), "1");
  vector_clear (&v);
}
END_TEST

START_TEST (test_vector_derive_keypair)
{
  Vector v = load_vector ();
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(KcSecret) sk_r = vector_sk_r (&v);
  g_autoptr(GError) error = NULL;
  GBytes *ikm = field (v.fields, "ikmE");
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];

  ck_assert (kc_hpke_derive_keypair (g_bytes_get_data (ikm, NULL), g_bytes_get_size (ikm),
                                     &sk, pk, &error));
  assert_secret_is (sk, field (v.fields, "skEm"), "skEm");
  ck_assert_mem_eq (pk, field_data (v.fields, "pkEm", 32), 32);

  ck_assert (kc_hpke_private_key_get_public (sk_r, pk, &error));
  ck_assert_mem_eq (pk, field_data (v.fields, "pkRm", 32), 32);
  vector_clear (&v);
}
END_TEST

START_TEST (test_vector_encap_decap)
{
  Vector v = load_vector ();
  g_autoptr(KcSecret) ss = NULL;
  g_autoptr(KcSecret) ss_r = NULL;
  g_autoptr(KcSecret) sk_r = vector_sk_r (&v);
  g_autoptr(GError) error = NULL;
  GBytes *ikm = field (v.fields, "ikmE");
  guint8 enc[KC_HPKE_ENC_LEN];

  ck_assert_msg (kc_hpke_encap_with_ikm (field_data (v.fields, "pkRm", 32),
                                         g_bytes_get_data (ikm, NULL), g_bytes_get_size (ikm),
                                         enc, &ss, &error),
                 "encap failed: %s", error ? error->message : "?");
  ck_assert_mem_eq (enc, field_data (v.fields, "enc", 32), 32);
  assert_secret_is (ss, field (v.fields, "shared_secret"), "shared_secret (encap)");

  ss_r = kc_hpke_decap (sk_r, field_data (v.fields, "enc", 32), &error);
  assert_secret_is (ss_r, field (v.fields, "shared_secret"), "shared_secret (decap)");
  vector_clear (&v);
}
END_TEST

START_TEST (test_vector_key_schedule)
{
  Vector v = load_vector ();
  g_autoptr(KcHpkeContext) sender = NULL;
  g_autoptr(KcHpkeContext) receiver = NULL;
  g_autoptr(KcSecret) sk_r = vector_sk_r (&v);
  g_autoptr(GError) error = NULL;
  GBytes *ikm = field (v.fields, "ikmE");
  GBytes *info = field (v.fields, "info");
  guint8 enc[KC_HPKE_ENC_LEN];
  KcHpkeContext *contexts[2];

  sender = kc_hpke_setup_base_sender_with_ikm (field_data (v.fields, "pkRm", 32),
                                               g_bytes_get_data (info, NULL), g_bytes_get_size (info),
                                               g_bytes_get_data (ikm, NULL), g_bytes_get_size (ikm),
                                               enc, &error);
  ck_assert_msg (sender != NULL, "sender setup failed: %s", error ? error->message : "?");
  ck_assert_mem_eq (enc, field_data (v.fields, "enc", 32), 32);
  receiver = kc_hpke_setup_base_receiver (sk_r, enc, g_bytes_get_data (info, NULL),
                                          g_bytes_get_size (info), &error);
  ck_assert_msg (receiver != NULL, "receiver setup failed: %s", error ? error->message : "?");

  contexts[0] = sender;
  contexts[1] = receiver;
  for (guint i = 0; i < 2; i++) {
    g_autoptr(KcSecret) key = NULL;
    g_autoptr(KcSecret) base_nonce = NULL;

    kc_hpke_context_get_key_schedule (contexts[i], &key, &base_nonce);
    assert_secret_is (key, field (v.fields, "key"), "key");
    assert_secret_is (base_nonce, field (v.fields, "base_nonce"), "base_nonce");
    ck_assert_uint_eq (kc_hpke_context_get_seq (contexts[i]), 0);
  }
  vector_clear (&v);
}
END_TEST

static guint64
encryption_seq (GHashTable *e)
{
  return g_ascii_strtoull (g_bytes_get_data (field (e, "seq"), NULL), NULL, 10);
}

START_TEST (test_vector_seal_exact_ciphertexts)
{
  Vector v = load_vector ();
  g_autoptr(KcHpkeContext) sender = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *ikm = field (v.fields, "ikmE");
  GBytes *info = field (v.fields, "info");
  guint8 enc[KC_HPKE_ENC_LEN];

  sender = kc_hpke_setup_base_sender_with_ikm (field_data (v.fields, "pkRm", 32),
                                               g_bytes_get_data (info, NULL), g_bytes_get_size (info),
                                               g_bytes_get_data (ikm, NULL), g_bytes_get_size (ikm),
                                               enc, &error);
  ck_assert_ptr_nonnull (sender);
  for (guint i = 0; i < v.encryptions->len; i++) {
    GHashTable *e = g_ptr_array_index (v.encryptions, i);
    GBytes *pt = field (e, "pt"), *aad = field (e, "aad");
    g_autoptr(GBytes) ct = NULL;

    /* The file lists consecutive sequence numbers from 0. */
    ck_assert_uint_eq (encryption_seq (e), i);
    ck_assert_uint_eq (kc_hpke_context_get_seq (sender), i);
    ck_assert_msg (kc_hpke_context_seal (sender, g_bytes_get_data (aad, NULL), g_bytes_get_size (aad),
                                         g_bytes_get_data (pt, NULL), g_bytes_get_size (pt),
                                         &ct, &error),
                   "seal %u failed: %s", i, error ? error->message : "?");
    ck_assert_msg (g_bytes_equal (ct, field (e, "ct")), "ciphertext %u differs from RFC 9180", i);
  }
  ck_assert_uint_eq (kc_hpke_context_get_seq (sender), v.encryptions->len);
  vector_clear (&v);
}
END_TEST

START_TEST (test_vector_open)
{
  Vector v = load_vector ();
  g_autoptr(KcHpkeContext) receiver = NULL;
  g_autoptr(KcSecret) sk_r = vector_sk_r (&v);
  g_autoptr(GError) error = NULL;
  GBytes *info = field (v.fields, "info");

  receiver = kc_hpke_setup_base_receiver (sk_r, field_data (v.fields, "enc", 32),
                                          g_bytes_get_data (info, NULL), g_bytes_get_size (info),
                                          &error);
  ck_assert_ptr_nonnull (receiver);
  for (guint i = 0; i < v.encryptions->len; i++) {
    GHashTable *e = g_ptr_array_index (v.encryptions, i);
    GBytes *ct = field (e, "ct"), *aad = field (e, "aad");
    g_autoptr(KcSecret) pt = kc_hpke_context_open (receiver, g_bytes_get_data (aad, NULL),
                                                   g_bytes_get_size (aad),
                                                   g_bytes_get_data (ct, NULL),
                                                   g_bytes_get_size (ct), &error);

    ck_assert_msg (pt != NULL, "open %u failed: %s", i, error ? error->message : "?");
    assert_secret_is (pt, field (e, "pt"), "opened plaintext");
  }

  /* Out of order: back to the last message by its sequence number. */
  {
    GHashTable *e = g_ptr_array_index (v.encryptions, v.encryptions->len - 1);
    GBytes *ct = field (e, "ct"), *aad = field (e, "aad");
    g_autoptr(KcSecret) pt = NULL;

    kc_hpke_context_set_seq (receiver, encryption_seq (e));
    pt = kc_hpke_context_open (receiver, g_bytes_get_data (aad, NULL), g_bytes_get_size (aad),
                               g_bytes_get_data (ct, NULL), g_bytes_get_size (ct), &error);
    assert_secret_is (pt, field (e, "pt"), "plaintext opened out of order");
  }
  vector_clear (&v);
}
END_TEST

START_TEST (test_open_does_not_advance_on_failure)
{
  Vector v = load_vector ();
  g_autoptr(KcHpkeContext) receiver = NULL;
  g_autoptr(KcSecret) sk_r = vector_sk_r (&v);
  g_autoptr(KcSecret) pt = NULL;
  g_autoptr(GError) error = NULL;
  GHashTable *e1 = g_ptr_array_index (v.encryptions, 1);
  GHashTable *e0 = g_ptr_array_index (v.encryptions, 0);
  GBytes *info = field (v.fields, "info");

  receiver = kc_hpke_setup_base_receiver (sk_r, field_data (v.fields, "enc", 32),
                                          g_bytes_get_data (info, NULL), g_bytes_get_size (info),
                                          &error);
  /* Message 1 at sequence 0 must fail and leave the sequence at 0... */
  pt = kc_hpke_context_open (receiver, field_data (e1, "aad", 0), g_bytes_get_size (field (e1, "aad")),
                             field_data (e1, "ct", 0), g_bytes_get_size (field (e1, "ct")), &error);
  assert_open_error (error, pt);
  ck_assert_uint_eq (kc_hpke_context_get_seq (receiver), 0);
  g_clear_error (&error);
  /* ...so message 0 still opens. */
  pt = kc_hpke_context_open (receiver, field_data (e0, "aad", 0), g_bytes_get_size (field (e0, "aad")),
                             field_data (e0, "ct", 0), g_bytes_get_size (field (e0, "ct")), &error);
  assert_secret_is (pt, field (e0, "pt"), "message 0 after a failed open");
  ck_assert_uint_eq (kc_hpke_context_get_seq (receiver), 1);
  vector_clear (&v);
}
END_TEST

START_TEST (test_sequence_number_overflow)
{
  Vector v = load_vector ();
  g_autoptr(KcHpkeContext) receiver = NULL;
  g_autoptr(KcSecret) sk_r = vector_sk_r (&v);
  g_autoptr(KcSecret) pt = NULL;
  g_autoptr(GError) error = NULL;
  GHashTable *e0 = g_ptr_array_index (v.encryptions, 0);

  receiver = kc_hpke_setup_base_receiver (sk_r, field_data (v.fields, "enc", 32),
                                          NULL, 0, &error);
  kc_hpke_context_set_seq (receiver, G_MAXUINT64);
  pt = kc_hpke_context_open (receiver, NULL, 0, field_data (e0, "ct", 0),
                             g_bytes_get_size (field (e0, "ct")), &error);
  ck_assert_ptr_null (pt);
  ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE),
                 "expected TOO_LARGE, got %s", error ? error->message : "none");
  ck_assert_uint_eq (kc_hpke_context_get_seq (receiver), G_MAXUINT64);
  vector_clear (&v);
}
END_TEST

/* ---- round trips and failures with fresh keys -------------------- */

static const guint8 info_a[] = "keycall test info";
static const guint8 aad_a[] = "record 1";

START_TEST (test_round_trip_random_keys)
{
  static const gsize lengths[] = { 1, 16, KC_CALL_KEY_LEN, 1000, KC_SECRET_MAX_LEN };
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN], pk_again[KC_HPKE_PUBLIC_KEY_LEN];

  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  ck_assert_uint_eq (kc_secret_get_len (sk), KC_HPKE_PRIVATE_KEY_LEN);
  ck_assert (kc_hpke_private_key_get_public (sk, pk_again, &error));
  ck_assert_mem_eq (pk, pk_again, sizeof pk);

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++) {
    g_autoptr(KcSecret) pt = kc_secret_new_random (lengths[i], &error);
    g_autoptr(KcSecret) opened = NULL;
    g_autoptr(GBytes) enc = NULL, ct = NULL, enc2 = NULL, ct2 = NULL;

    ck_assert (kc_hpke_seal (pk, info_a, sizeof info_a, aad_a, sizeof aad_a, pt, &enc, &ct, &error));
    ck_assert_uint_eq (g_bytes_get_size (enc), KC_HPKE_ENC_LEN);
    ck_assert_uint_eq (g_bytes_get_size (ct), lengths[i] + KC_HPKE_TAG_LEN);
    opened = kc_hpke_open (sk, info_a, sizeof info_a, aad_a, sizeof aad_a, enc, ct, &error);
    ck_assert_msg (opened != NULL, "open failed: %s", error ? error->message : "?");
    ck_assert (kc_secret_equal (opened, pt));

    /* A fresh ephemeral key each time: sealing twice gives unrelated output. */
    ck_assert (kc_hpke_seal (pk, info_a, sizeof info_a, aad_a, sizeof aad_a, pt, &enc2, &ct2, &error));
    ck_assert (!g_bytes_equal (enc, enc2));
    ck_assert (!g_bytes_equal (ct, ct2));
  }
}
END_TEST

START_TEST (test_seal_rejects_bad_sizes)
{
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(KcHpkeContext) ctx = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) ct = NULL;
  g_autofree guint8 *big = g_malloc0 (KC_SECRET_MAX_LEN + 1);
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN], enc[KC_HPKE_ENC_LEN];

  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  ctx = kc_hpke_setup_base_sender (pk, NULL, 0, enc, &error);
  ck_assert (!kc_hpke_context_seal (ctx, NULL, 0, big, 0, &ct, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  ck_assert (!kc_hpke_context_seal (ctx, NULL, 0, big, KC_SECRET_MAX_LEN + 1, &ct, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE));
  g_clear_error (&error);
  /* Refused seals consume no sequence number. */
  ck_assert_uint_eq (kc_hpke_context_get_seq (ctx), 0);
  ck_assert_ptr_null (kc_hpke_setup_base_sender (pk, big, KC_HPKE_MAX_INFO_LEN + 1, enc, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE));
}
END_TEST

static GBytes *
flip_bit (GBytes *bytes, gsize byte, guint bit)
{
  gsize len;
  guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));

  ck_assert_uint_lt (byte, len);
  copy[byte] ^= (guint8) (1u << bit);
  return g_bytes_new_take (copy, len);
}

START_TEST (test_open_failures)
{
  g_autoptr(KcSecret) sk = NULL, other_sk = NULL;
  g_autoptr(KcSecret) pt = kc_secret_new_random (KC_CALL_KEY_LEN, NULL);
  g_autoptr(GBytes) enc = NULL, ct = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN], other_pk[KC_HPKE_PUBLIC_KEY_LEN];
  /* enc: first byte, middle, and bit 255 which X25519 itself ignores (the
   * KEM context still binds it); ct: body, first and last tag byte. */
  static const struct { gboolean in_enc; gsize byte; guint bit; } flips[] = {
    { TRUE, 0, 0 }, { TRUE, 15, 3 }, { TRUE, 31, 7 },
    { FALSE, 0, 0 }, { FALSE, KC_CALL_KEY_LEN - 1, 5 },
    { FALSE, KC_CALL_KEY_LEN, 0 }, { FALSE, KC_CALL_KEY_LEN + KC_HPKE_TAG_LEN - 1, 7 },
  };

  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  ck_assert (kc_hpke_keypair_generate (&other_sk, other_pk, &error));
  ck_assert (kc_hpke_seal (pk, info_a, sizeof info_a, aad_a, sizeof aad_a, pt, &enc, &ct, &error));

  {
    g_autoptr(KcSecret) r = kc_hpke_open (other_sk, info_a, sizeof info_a, aad_a, sizeof aad_a,
                                          enc, ct, &error);
    assert_open_error (error, r);
    g_clear_error (&error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (flips); i++) {
    g_autoptr(GBytes) bad = flip_bit (flips[i].in_enc ? enc : ct, flips[i].byte, flips[i].bit);
    g_autoptr(KcSecret) r = kc_hpke_open (sk, info_a, sizeof info_a, aad_a, sizeof aad_a,
                                          flips[i].in_enc ? bad : enc,
                                          flips[i].in_enc ? ct : bad, &error);
    assert_open_error (error, r);
    g_clear_error (&error);
  }
  {
    static const guint8 other_aad[] = "record 2";
    g_autoptr(KcSecret) r = kc_hpke_open (sk, info_a, sizeof info_a, other_aad, sizeof other_aad,
                                          enc, ct, &error);
    assert_open_error (error, r);
    g_clear_error (&error);
  }
  {
    g_autoptr(KcSecret) r = kc_hpke_open (sk, info_a, sizeof info_a - 1, aad_a, sizeof aad_a,
                                          enc, ct, &error);
    assert_open_error (error, r);
    g_clear_error (&error);
  }
  {
    g_autoptr(GBytes) short_ct = g_bytes_new_from_bytes (ct, 0, KC_HPKE_TAG_LEN);
    g_autoptr(GBytes) cut_ct = g_bytes_new_from_bytes (ct, 0, g_bytes_get_size (ct) - 1);
    g_autoptr(GBytes) short_enc = g_bytes_new_from_bytes (enc, 0, KC_HPKE_ENC_LEN - 1);
    GBytes *cts[] = { short_ct, cut_ct, ct };
    GBytes *encs[] = { enc, enc, short_enc };

    for (guint i = 0; i < G_N_ELEMENTS (cts); i++) {
      g_autoptr(KcSecret) r = kc_hpke_open (sk, info_a, sizeof info_a, aad_a, sizeof aad_a,
                                            encs[i], cts[i], &error);
      assert_open_error (error, r);
      g_clear_error (&error);
    }
  }
  /* Still opens with everything right: the failures above were the changes. */
  {
    g_autoptr(KcSecret) r = kc_hpke_open (sk, info_a, sizeof info_a, aad_a, sizeof aad_a,
                                          enc, ct, &error);
    ck_assert (r != NULL && kc_secret_equal (r, pt));
  }
}
END_TEST

/* u-coordinates of small order and their non-canonical forms (the points
 * libsodium blocks); X25519 with any of them gives the all-zero secret. */
static const char *small_order_points[] = {
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

START_TEST (test_small_order_keys_rejected)
{
  g_autoptr(KcSecret) sk = NULL;
  g_autoptr(KcSecret) pt = kc_secret_new_random (KC_CALL_KEY_LEN, NULL);
  g_autoptr(GError) error = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];

  ck_assert (kc_hpke_keypair_generate (&sk, pk, &error));
  for (guint i = 0; i < G_N_ELEMENTS (small_order_points); i++) {
    g_autoptr(GBytes) point = hex_to_bytes (small_order_points[i]);
    g_autoptr(GBytes) enc = NULL, ct = NULL;
    g_autoptr(KcSecret) ss = NULL;
    KcHpkeContext *ctx;

    /* As a recipient key: sealing must refuse. */
    ck_assert (!kc_hpke_seal (g_bytes_get_data (point, NULL), NULL, 0, NULL, 0, pt,
                              &enc, &ct, &error));
    ck_assert_msg (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO), "point %u sealed", i);
    ck_assert (strstr (error->message, "small-order") != NULL);
    ck_assert_ptr_null (enc);
    g_clear_error (&error);

    /* As an encapsulated key: the receiver must refuse. */
    ctx = kc_hpke_setup_base_receiver (sk, g_bytes_get_data (point, NULL), NULL, 0, &error);
    ck_assert_ptr_null (ctx);
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_CRYPTO));
    g_clear_error (&error);
    ss = kc_hpke_decap (sk, g_bytes_get_data (point, NULL), &error);
    ck_assert_ptr_null (ss);
    g_clear_error (&error);
  }
}
END_TEST

/* ---- call keys ----------------------------------------------------- */

START_TEST (test_call_key_round_trip_and_binding)
{
  g_autoptr(KcSecret) lea_sk = NULL, other_sk = NULL, opened = NULL, wrong_len = NULL;
  g_autoptr(KcSecret) call_key = kc_call_key_new_random (NULL);
  g_autoptr(GBytes) enc = NULL, sealed = NULL, enc2 = NULL, sealed2 = NULL;
  g_autoptr(GError) error = NULL;
  guint8 lea_pk[KC_HPKE_PUBLIC_KEY_LEN], other_pk[KC_HPKE_PUBLIC_KEY_LEN];
  KcKeyId key_id, other_id;
  char hex[KC_KEY_ID_TEXT_LEN];

  ck_assert (kc_hpke_keypair_generate (&lea_sk, lea_pk, &error));
  ck_assert (kc_hpke_keypair_generate (&other_sk, other_pk, &error));
  kc_key_id_generate (&key_id);
  kc_key_id_generate (&other_id);
  kc_key_id_to_hex (&key_id, hex);

  ck_assert (kc_hpke_seal_call_key (lea_pk, &key_id, "call-1@gc1", call_key, &enc, &sealed, &error));
  ck_assert_uint_eq (g_bytes_get_size (enc), KC_HPKE_ENC_LEN);
  ck_assert_uint_eq (g_bytes_get_size (sealed), KC_CALL_KEY_LEN + KC_HPKE_TAG_LEN);
  opened = kc_hpke_open_call_key (lea_sk, &key_id, "call-1@gc1", enc, sealed, &error);
  ck_assert_msg (opened != NULL, "open failed: %s", error ? error->message : "?");
  ck_assert (kc_secret_equal (opened, call_key));

  /* Moved to another record, or opened with another key: refused, and the
   * message names the key and call so an operator can find the record. */
  {
    g_autoptr(KcSecret) r = kc_hpke_open_call_key (lea_sk, &other_id, "call-1@gc1", enc, sealed, &error);
    assert_open_error (error, r);
    g_clear_error (&error);
  }
  {
    g_autoptr(KcSecret) r = kc_hpke_open_call_key (lea_sk, &key_id, "call-2@gc1", enc, sealed, &error);
    assert_open_error (error, r);
    ck_assert (strstr (error->message, "call-2@gc1") != NULL);
    g_clear_error (&error);
  }
  {
    g_autoptr(KcSecret) r = kc_hpke_open_call_key (other_sk, &key_id, "call-1@gc1", enc, sealed, &error);
    assert_open_error (error, r);
    ck_assert (strstr (error->message, hex) != NULL);
    g_clear_error (&error);
  }
  /* Another call's sealed key swapped into this record does not open. */
  ck_assert (kc_hpke_seal_call_key (lea_pk, &other_id, "call-2@gc1", call_key, &enc2, &sealed2, &error));
  {
    g_autoptr(KcSecret) r = kc_hpke_open_call_key (lea_sk, &key_id, "call-1@gc1", enc2, sealed2, &error);
    assert_open_error (error, r);
    g_clear_error (&error);
  }

  /* Sealing to another recipient, then back: each key opens only its own. */
  {
    g_autoptr(GBytes) enc3 = NULL, sealed3 = NULL, enc4 = NULL, sealed4 = NULL;
    g_autoptr(KcSecret) r3 = NULL, r4 = NULL, wrong = NULL;

    ck_assert (kc_hpke_seal_call_key (other_pk, &key_id, "call-1@gc1", call_key, &enc3, &sealed3, &error));
    ck_assert (kc_hpke_seal_call_key (lea_pk, &key_id, "call-1@gc1", call_key, &enc4, &sealed4, &error));
    r3 = kc_hpke_open_call_key (other_sk, &key_id, "call-1@gc1", enc3, sealed3, &error);
    r4 = kc_hpke_open_call_key (lea_sk, &key_id, "call-1@gc1", enc4, sealed4, &error);
    ck_assert (r3 != NULL && kc_secret_equal (r3, call_key));
    ck_assert (r4 != NULL && kc_secret_equal (r4, call_key));
    wrong = kc_hpke_open_call_key (lea_sk, &key_id, "call-1@gc1", enc3, sealed3, &error);
    assert_open_error (error, wrong);
    g_clear_error (&error);
  }

  /* Bad inputs. */
  ck_assert (!kc_hpke_seal_call_key (lea_pk, &key_id, "", call_key, &enc2, &sealed2, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  g_clear_error (&error);
  wrong_len = kc_secret_new_random (16, NULL);
  ck_assert (!kc_hpke_seal_call_key (lea_pk, &key_id, "call-3", wrong_len, &enc2, &sealed2, &error));
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
}
END_TEST

/* Shared state (fetched algorithms, the base point key, per-thread import
 * contexts) must hold up when several threads seal and open at once. */
static gpointer
seal_open_worker (gpointer data)
{
  const KcSecret *sk = data;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  guint failures = 0;

  if (!kc_hpke_private_key_get_public (sk, pk, NULL))
    return GUINT_TO_POINTER (1000);
  for (guint i = 0; i < 40; i++) {
    g_autoptr(KcSecret) key = kc_call_key_new_random (NULL);
    g_autoptr(KcSecret) opened = NULL;
    g_autoptr(GBytes) enc = NULL, sealed = NULL;
    KcKeyId id;

    kc_key_id_generate (&id);
    if (!kc_hpke_seal_call_key (pk, &id, "threaded", key, &enc, &sealed, NULL)) {
      failures++;
      continue;
    }
    opened = kc_hpke_open_call_key (sk, &id, "threaded", enc, sealed, NULL);
    if (opened == NULL || !kc_secret_equal (opened, key))
      failures++;
  }
  return GUINT_TO_POINTER (failures);
}

START_TEST (test_threads_seal_and_open)
{
  g_autoptr(KcSecret) sk = NULL;
  guint8 pk[KC_HPKE_PUBLIC_KEY_LEN];
  GThread *threads[4];

  ck_assert (kc_hpke_keypair_generate (&sk, pk, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("hpke", seal_open_worker, sk);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    ck_assert_uint_eq (GPOINTER_TO_UINT (g_thread_join (threads[i])), 0);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *s = suite_create ("hpke");
  TCase *vector = tcase_create ("rfc9180-A.1.1");
  TCase *use = tcase_create ("seal-open");

  tcase_add_test (vector, test_vector_suite_is_ours);
  tcase_add_test (vector, test_vector_derive_keypair);
  tcase_add_test (vector, test_vector_encap_decap);
  tcase_add_test (vector, test_vector_key_schedule);
  tcase_add_test (vector, test_vector_seal_exact_ciphertexts);
  tcase_add_test (vector, test_vector_open);
  tcase_add_test (vector, test_open_does_not_advance_on_failure);
  tcase_add_test (vector, test_sequence_number_overflow);
  suite_add_tcase (s, vector);

  tcase_add_test (use, test_round_trip_random_keys);
  tcase_add_test (use, test_seal_rejects_bad_sizes);
  tcase_add_test (use, test_open_failures);
  tcase_add_test (use, test_small_order_keys_rejected);
  tcase_add_test (use, test_call_key_round_trip_and_binding);
  tcase_add_test (use, test_threads_seal_and_open);
  suite_add_tcase (s, use);
  return s;
}

KC_TEST_MAIN (make_suite)
