/* test-li-wire.c: the X3 copy header, LI times and X1/X2 message lines. */
#include "kc-test.h"

#include "kc-error.h"
#include "kc-li-wire.h"

#include <string.h>

#define assert_error(error, part)                                                     \
  do {                                                                                \
    ck_assert_msg ((error) != NULL, "expected an error containing “%s”", part);       \
    ck_assert_msg (g_error_matches ((error), KC_ERROR, KC_ERROR_INVALID),             \
                   "wrong error %d: %s", (error)->code, (error)->message);            \
    ck_assert_msg (strstr ((error)->message, part) != NULL,                           \
                   "message “%s” lacks “%s”", (error)->message, part);               \
  } while (0)

static const guint8 packet[] = { 0x80, 0x6f, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01 };

START_TEST (x3_round_trip)
{
  /* Both directions, RTP and RTCP, and a sequence number that uses all
   * four bytes: each must come back as it went. */
  for (int reverse = 0; reverse <= 1; reverse++)
    for (int rtcp = 0; rtcp <= 1; rtcp++) {
      KcDirection direction = reverse ? KC_DIRECTION_CALLEE_TO_CALLER
                                      : KC_DIRECTION_CALLER_TO_CALLEE;
      guint8 out[256];
      KcLiX3Copy copy;
      g_autoptr(GError) error = NULL;
      gsize len = kc_li_x3_encode (out, sizeof out, "abc@host", direction, rtcp,
                                   0xfedcba98u + reverse, packet, sizeof packet);

      ck_assert_uint_eq (len, kc_li_x3_header_len ("abc@host") + sizeof packet);
      ck_assert_uint_eq (kc_li_x3_header_len ("abc@host"), 10 + 8);
      ck_assert_mem_eq (out, "KX3\x01", 4);
      ck_assert_uint_eq (out[4], (reverse ? 1 : 0) | (rtcp ? 2 : 0));
      ck_assert_msg (kc_li_x3_decode (out, len, &copy, &error), "%s", error->message);
      ck_assert_int_eq (copy.direction, direction);
      ck_assert_int_eq (copy.rtcp, rtcp);
      ck_assert_uint_eq (copy.seq, 0xfedcba98u + reverse);
      ck_assert_str_eq (copy.call_id, "abc@host");
      ck_assert_uint_eq (copy.packet_len, sizeof packet);
      ck_assert_mem_eq (copy.packet, packet, sizeof packet);
      ck_assert_ptr_eq (copy.packet, out + 18);
    }
}
END_TEST

START_TEST (x3_buffer_too_small)
{
  guint8 out[64];
  gsize need = kc_li_x3_header_len ("c1") + sizeof packet;

  memset (out, 0xaa, sizeof out);
  ck_assert_uint_eq (kc_li_x3_encode (out, need - 1, "c1", KC_DIRECTION_CALLER_TO_CALLEE,
                                      FALSE, 1, packet, sizeof packet), 0);
  ck_assert_uint_eq (out[0], 0xaa);   /* nothing half written */
  ck_assert_uint_eq (kc_li_x3_encode (out, need, "c1", KC_DIRECTION_CALLER_TO_CALLEE, FALSE, 1,
                                      packet, sizeof packet), need);
}
END_TEST

START_TEST (x3_bad_call_id)
{
  guint8 out[600];
  char long_id[KC_LI_X3_MAX_CALL_ID + 2];
  gsize len;
  KcLiX3Copy copy;

  memset (long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  ck_assert_uint_eq (kc_li_x3_encode (out, sizeof out, long_id, KC_DIRECTION_CALLER_TO_CALLEE,
                                      FALSE, 1, packet, sizeof packet), 0);
  /* 255 is the most that fits the length byte. */
  long_id[KC_LI_X3_MAX_CALL_ID] = '\0';
  len = kc_li_x3_encode (out, sizeof out, long_id, KC_DIRECTION_CALLER_TO_CALLEE, FALSE, 1,
                         packet, sizeof packet);
  ck_assert_uint_eq (len, 10 + KC_LI_X3_MAX_CALL_ID + sizeof packet);
  ck_assert (kc_li_x3_decode (out, len, &copy, NULL));
  ck_assert_uint_eq (strlen (copy.call_id), KC_LI_X3_MAX_CALL_ID);

  ck_assert_uint_eq (kc_li_x3_encode (out, sizeof out, "", KC_DIRECTION_CALLER_TO_CALLEE,
                                      FALSE, 1, packet, sizeof packet), 0);
  ck_assert_uint_eq (kc_li_x3_encode (out, sizeof out, "a b", KC_DIRECTION_CALLER_TO_CALLEE,
                                      FALSE, 1, packet, sizeof packet), 0);
  ck_assert_uint_eq (kc_li_x3_encode (out, sizeof out, "a\nb", KC_DIRECTION_CALLER_TO_CALLEE,
                                      FALSE, 1, packet, sizeof packet), 0);
  /* No packet: nothing to copy. */
  ck_assert_uint_eq (kc_li_x3_encode (out, sizeof out, "ab", KC_DIRECTION_CALLER_TO_CALLEE,
                                      FALSE, 1, packet, 0), 0);
}
END_TEST

START_TEST (x3_bad_datagrams)
{
  guint8 good[64];
  guint8 bad[64];
  gsize len = kc_li_x3_encode (good, sizeof good, "call-1", KC_DIRECTION_CALLER_TO_CALLEE, TRUE,
                               7, packet, sizeof packet);
  KcLiX3Copy copy;

  ck_assert_uint_gt (len, 0);
  /* Every truncation is refused, down to nothing. */
  for (gsize cut = 0; cut <= 16; cut++) {
    g_autoptr(GError) error = NULL;

    ck_assert_msg (!kc_li_x3_decode (good, cut, &copy, &error), "accepted %zu bytes", cut);
    assert_error (error, "not an X3 copy");
  }
  {
    g_autoptr(GError) error = NULL;

    memcpy (bad, good, len);
    bad[3] = 2;
    ck_assert (!kc_li_x3_decode (bad, len, &copy, &error));
    assert_error (error, "version 2");
  }
  {
    g_autoptr(GError) error = NULL;

    memcpy (bad, good, len);
    bad[0] = 'R';
    ck_assert (!kc_li_x3_decode (bad, len, &copy, &error));
    assert_error (error, "no KX3 header");
  }
  {
    g_autoptr(GError) error = NULL;

    memcpy (bad, good, len);
    bad[4] = 0x80;
    ck_assert (!kc_li_x3_decode (bad, len, &copy, &error));
    assert_error (error, "unknown flags");
  }
  {
    g_autoptr(GError) error = NULL;

    memcpy (bad, good, len);
    bad[11] = 0x01;   /* a control character in the Call-ID */
    ck_assert (!kc_li_x3_decode (bad, len, &copy, &error));
    assert_error (error, "not printable");
  }
  {
    g_autoptr(GError) error = NULL;

    memcpy (bad, good, len);
    bad[5] = 0;   /* empty Call-ID */
    ck_assert (!kc_li_x3_decode (bad, len, &copy, &error));
    assert_error (error, "empty");
  }
  {
    g_autoptr(GError) error = NULL;

    memcpy (bad, good, len);
    bad[5] = 200;   /* longer than the datagram */
    ck_assert (!kc_li_x3_decode (bad, len, &copy, &error));
    assert_error (error, "truncated");
  }
  {
    /* Garbage of every length never decodes as a copy of a wrong size. */
    guint8 noise[300];

    for (gsize i = 0; i < sizeof noise; i++)
      noise[i] = (guint8) g_random_int ();
    for (gsize n = 0; n < sizeof noise; n++) {
      if (kc_li_x3_decode (noise, n, &copy, NULL))
        ck_assert_uint_eq (10 + strlen (copy.call_id) + copy.packet_len, n);
    }
  }
}
END_TEST

START_TEST (time_round_trip)
{
  static const gint64 times[] = { 0, 1, 999999, G_GINT64_CONSTANT (1795881845123456),
                                  G_GINT64_CONSTANT (253402300799999999), -1,
                                  -G_GINT64_CONSTANT (1500000) };

  for (gsize i = 0; i < G_N_ELEMENTS (times); i++) {
    g_autofree char *text = kc_li_time_format (times[i]);
    g_autoptr(GError) error = NULL;
    gint64 back = 42;

    ck_assert_msg (kc_li_time_parse (text, "until", &back, &error), "%s: %s", text,
                   error->message);
    ck_assert_msg (back == times[i], "%s came back as %" G_GINT64_FORMAT, text, back);
  }
  {
    g_autofree char *text = kc_li_time_format (G_GINT64_CONSTANT (1795881845123456));

    ck_assert_str_eq (text, "2026-11-28T16:04:05.123456Z");
  }
  {
    gint64 us;

    /* Other offsets are accepted and converted to UTC. */
    ck_assert (kc_li_time_parse ("2026-11-28T17:04:05.5+01:00", "from", &us, NULL));
    ck_assert (us == G_GINT64_CONSTANT (1795881845500000));
    ck_assert (kc_li_time_parse ("2026-11-28T16:04:05Z", "from", &us, NULL));
    ck_assert (us == G_GINT64_CONSTANT (1795881845000000));
  }
}
END_TEST

START_TEST (time_bad)
{
  static const char *const bad[] = { "", "yesterday", "2026-11-28", "2026-11-28T16:04:05",
                                     "2026-11-28 16:04:05Z", "2026-13-28T16:04:05Z",
                                     "2026-11-28T25:04:05Z", "2026-11-28T16:04:05.1234567890123Zx",
                                     "2026-W48-6T16:04:05Z" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    gint64 us = 42;

    ck_assert_msg (!kc_li_time_parse (bad[i], "until", &us, &error), "accepted “%s”", bad[i]);
    assert_error (error, "until is not an RFC 3339 time");
    ck_assert (us == 42);
  }
  {
    g_autoptr(GError) error = NULL;
    gint64 us;

    ck_assert (!kc_li_time_parse (NULL, "from", &us, &error));
    assert_error (error, "from");
  }
}
END_TEST

static JsonObject *
parse (const char *line, GError **error)
{
  return kc_li_message_parse (line, strlen (line), error);
}

START_TEST (message_good)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) object = parse ("{\"v\":1,\"op\":\"tap\",\"req\":\"r1\",\"x\":[1,{}]}",
                                        &error);
  g_autofree char *line = NULL;
  g_autoptr(JsonObject) again = NULL;

  ck_assert_msg (object != NULL, "%s", error ? error->message : "");
  ck_assert_str_eq (json_object_get_string_member (object, "op"), "tap");
  ck_assert_str_eq (json_object_get_string_member (object, "req"), "r1");
  line = kc_li_message_to_line (object);
  ck_assert (g_str_has_suffix (line, "}\n"));
  ck_assert (strchr (line, '\n') == line + strlen (line) - 1);
  again = kc_li_message_parse (line, strlen (line) - 1, &error);
  ck_assert (again != NULL);
  ck_assert_str_eq (json_object_get_string_member (again, "req"), "r1");
}
END_TEST

START_TEST (message_bad)
{
  static const struct { const char *line; const char *part; } bad[] = {
    { "[1,2]", "not valid JSON" },
    { "\"tap\"", "not valid JSON" },
    { "", "not valid JSON" },
    { "{\"v\":1,\"op\":\"tap\"} {}", "not valid JSON" },
    { "{\"v\":1,'op':\"tap\"}", "not valid JSON" },
    { "{\"op\":\"tap\"}", "\"v\":1" },
    { "{\"v\":2,\"op\":\"tap\"}", "\"v\":1" },
    { "{\"v\":\"1\",\"op\":\"tap\"}", "\"v\":1" },
    { "{\"v\":1.0,\"op\":\"tap\"}", "\"v\":1" },
    { "{\"v\":1}", "\"op\"" },
    { "{\"v\":1,\"op\":7}", "\"op\"" },
    { "{\"v\":1,\"op\":null}", "\"op\"" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) object = parse (bad[i].line, &error);

    ck_assert_msg (object == NULL, "accepted %s", bad[i].line);
    assert_error (error, bad[i].part);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) object = parse ("{\"v\":1,\"op\":\"tap\",\"n\":\"\xff\xfe\"}", &error);

    ck_assert (object == NULL);
    assert_error (error, "UTF-8");
  }
  {
    /* Deep nesting is refused before json-glib recurses into it. */
    GString *deep = g_string_new ("{\"v\":1,\"op\":\"tap\",\"x\":");
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) object = NULL;

    for (int i = 0; i < 10000; i++)
      g_string_append_c (deep, '[');
    for (int i = 0; i < 10000; i++)
      g_string_append_c (deep, ']');
    g_string_append_c (deep, '}');
    object = kc_li_message_parse (deep->str, deep->len, &error);
    ck_assert (object == NULL);
    assert_error (error, "not valid JSON");
    g_string_free (deep, TRUE);
  }
  {
    /* One byte over the limit, even though it is valid JSON. */
    gsize n = KC_LI_LINE_MAX + 1;
    g_autofree char *line = g_malloc (n + 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) object = NULL;
    const char *head = "{\"v\":1,\"op\":\"tap\",\"pad\":\"";

    memset (line, 'a', n);
    memcpy (line, head, strlen (head));
    memcpy (line + n - 2, "\"}", 2);
    line[n] = '\0';
    object = kc_li_message_parse (line, n, &error);
    ck_assert (object == NULL);
    assert_error (error, "longer than 65536");
    g_clear_error (&error);
    /* At the limit it is fine. */
    memcpy (line + n - 3, "\"}", 2);
    object = kc_li_message_parse (line, n - 1, &error);
    ck_assert_msg (object != NULL, "%s", error ? error->message : "");
  }
}
END_TEST

static Suite *
li_wire_suite (void)
{
  Suite *s = suite_create ("li-wire");
  TCase *tc = tcase_create ("core");

  tcase_add_test (tc, x3_round_trip);
  tcase_add_test (tc, x3_buffer_too_small);
  tcase_add_test (tc, x3_bad_call_id);
  tcase_add_test (tc, x3_bad_datagrams);
  tcase_add_test (tc, time_round_trip);
  tcase_add_test (tc, time_bad);
  tcase_add_test (tc, message_good);
  tcase_add_test (tc, message_bad);
  suite_add_tcase (s, tc);
  return s;
}

KC_TEST_MAIN (li_wire_suite)
