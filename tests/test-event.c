/* test-event.c: the event record, its JSON line, redaction, and the bus. */
#include <gio/gio.h>

#include "kc-test.h"

#include "kc-error.h"
#include "kc-event.h"
#include "kc-event-bus.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

/* base64 of the 30 bytes 0x00..0x1d: an AES_CM_128 key and salt. */
#define KEY_B64   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
#define CRYPTO    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY_B64
#define SDP_MSG   "INVITE sip:b@gc2 SIP/2.0\r\nCall-ID: c1\r\n\r\nv=0\r\nm=audio 4000 RTP/SAVP 0\r\n" \
                  CRYPTO "\r\n"

static void
key_fingerprint (char out[KC_FINGERPRINT_LEN])
{
  guint8 bytes[30];

  for (int i = 0; i < 30; i++)
    bytes[i] = i;
  kc_fingerprint_bytes (bytes, sizeof bytes, out);
}

/* No part of the key may survive, not even a prefix. */
static void
assert_no_key (const char *text)
{
  if (text == NULL)
    return;
  ck_assert_msg (strstr (text, "AAECAwQFBgcICQoL") == NULL, "key leaked in: %s", text);
  ck_assert_msg (strstr (text, "ExQVFhcYGRobHB") == NULL, "key tail leaked in: %s", text);
}

static KcEvent *
full_event (void)
{
  KcEvent *event = kc_event_new (KC_EVENT_KIND_KEY_SENT);

  kc_event_set_time (event, G_GINT64_CONSTANT (1700000000123456));
  kc_event_set_process (event, "gc1");
  kc_event_set_lane (event, "controller:gc1");
  kc_event_set_peer (event, "controller:gc2");
  kc_event_set_call_id (event, "a84b4c76e66710@pc33.example");
  kc_event_set_fig3 (event, 318);
  kc_event_set_summary (event, "318 key → destination controller \"quoted\" \\ é");
  kc_event_set_message (event, "INVITE sip:1002@gc2 SIP/2.0\r\nVia: SIP/2.0/TLS gc1\r\n"
                               "Subject: tab\there\r\n\r\nv=0\r\n");
  kc_event_set_fingerprint (event, "3f2a 91c0 7d4e 0b18");
  kc_event_set_key_id (event, "00112233445566778899aabbccddeeff");
  kc_event_set_attr (event, "method", "INVITE");
  kc_event_set_attr (event, "cseq", "1 INVITE");
  kc_event_set_attr_int (event, "status", 180);
  kc_event_set_attr (event, "reason", "");
  kc_event_set_seq (event, 42);
  return event;
}

START_TEST (test_kind_strings_stable)
{
  /* The wire format: these literals must never change. */
  static const char * const expected[] = {
    "sip-rx", "sip-tx", "tls-up", "tls-down", "register", "unregister",
    "key-created", "key-derived", "key-sealed", "key-stored", "key-sent",
    "key-ack", "key-ack-failed", "call-state", "media-start", "media-stats",
    "media-stop", "tap-request", "tap-refused", "key-delivered",
    "content-delivered", "cdr", "error", "step-hold", "step-release", "log",
  };

  ck_assert_int_eq (KC_EVENT_KIND_COUNT - 1, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      KcEventKind kind = KC_EVENT_KIND_UNKNOWN + 1 + i;

      ck_assert_str_eq (kc_event_kind_to_string (kind), expected[i]);
      ck_assert_int_eq (kc_event_kind_from_string (expected[i]), kind);
    }
  ck_assert_ptr_null (kc_event_kind_to_string (KC_EVENT_KIND_UNKNOWN));
  ck_assert_ptr_null (kc_event_kind_to_string (KC_EVENT_KIND_COUNT));
  ck_assert_int_eq (kc_event_kind_from_string ("SIP-RX"), KC_EVENT_KIND_UNKNOWN);
  ck_assert_int_eq (kc_event_kind_from_string ("unknown"), KC_EVENT_KIND_UNKNOWN);
  ck_assert_int_eq (kc_event_kind_from_string (NULL), KC_EVENT_KIND_UNKNOWN);
}
END_TEST

START_TEST (test_round_trip_every_field)
{
  g_autoptr(KcEvent) event = full_event ();
  g_autoptr(KcEvent) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = kc_event_to_json (event);
  g_autofree char *again = NULL;
  g_autofree const char **names = NULL;
  guint n_names;

  ck_assert_ptr_nonnull (line);
  ck_assert_ptr_null (strchr (line, '\n'));
  back = kc_event_from_json (line, -1, &error);
  ck_assert_msg (back != NULL, "%s", error ? error->message : "");
  ck_assert (kc_event_equal (event, back));
  ck_assert_int_eq (kc_event_get_time (back), G_GINT64_CONSTANT (1700000000123456));
  ck_assert_str_eq (kc_event_get_process (back), "gc1");
  ck_assert_str_eq (kc_event_get_lane (back), "controller:gc1");
  ck_assert_str_eq (kc_event_get_peer (back), "controller:gc2");
  ck_assert_str_eq (kc_event_get_call_id (back), "a84b4c76e66710@pc33.example");
  ck_assert_int_eq (kc_event_get_kind (back), KC_EVENT_KIND_KEY_SENT);
  ck_assert_str_eq (kc_event_get_kind_string (back), "key-sent");
  ck_assert_int_eq (kc_event_get_fig3 (back), 318);
  ck_assert_str_eq (kc_event_get_summary (back), kc_event_get_summary (event));
  ck_assert_str_eq (kc_event_get_message (back), kc_event_get_message (event));
  ck_assert_ptr_nonnull (strstr (kc_event_get_message (back), "\r\nSubject: tab\there\r\n"));
  ck_assert_str_eq (kc_event_get_fingerprint (back), "3f2a 91c0 7d4e 0b18");
  ck_assert_str_eq (kc_event_get_key_id (back), "00112233445566778899aabbccddeeff");
  ck_assert_str_eq (kc_event_get_attr (back, "status"), "180");
  ck_assert_str_eq (kc_event_get_attr (back, "reason"), "");
  ck_assert_uint_eq (kc_event_get_seq (back), 42);
  names = kc_event_get_attr_names (back, &n_names);
  ck_assert_uint_eq (n_names, 4);
  ck_assert_str_eq (names[0], "cseq");
  ck_assert_str_eq (names[3], "status");
  ck_assert_ptr_null (names[4]);
  /* Byte for byte: a log re-encoded by a relay is the same log. */
  again = kc_event_to_json (back);
  ck_assert_str_eq (again, line);
  /* One trailing newline (CRLF too) is part of a line. */
  {
    g_autofree char *with_nl = g_strconcat (line, "\r\n", NULL);
    g_autoptr(KcEvent) third = kc_event_from_json (with_nl, -1, NULL);

    ck_assert (third != NULL && kc_event_equal (third, event));
  }
}
END_TEST

START_TEST (test_json_shape)
{
  g_autoptr(KcEvent) event = full_event ();
  g_autofree char *line = kc_event_to_json (event);
  g_autoptr(JsonParser) parser = json_parser_new ();
  static const char * const keys[] = {
    "v", "t", "ts_us", "proc", "seq", "lane", "peer", "call", "kind", "fig3",
    "summary", "msg", "fp", "key_id", "attrs",
  };
  JsonObject *object;

  ck_assert (json_parser_load_from_data (parser, line, -1, NULL));
  object = json_node_get_object (json_parser_get_root (parser));
  ck_assert_uint_eq (json_object_get_size (object), G_N_ELEMENTS (keys));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    ck_assert_msg (json_object_has_member (object, keys[i]), "no \"%s\"", keys[i]);
  ck_assert_int_eq (json_object_get_int_member (object, "v"), 1);
  ck_assert_str_eq (json_object_get_string_member (object, "t"), "2023-11-14T22:13:20.123456Z");
  ck_assert_int_eq (json_object_get_int_member (object, "ts_us"), 1700000000123456);
  ck_assert_str_eq (json_object_get_string_member (object, "kind"), "key-sent");
  ck_assert_str_eq (json_object_get_string_member (json_object_get_object_member (object, "attrs"),
                                                   "status"), "180");
  /* Compact: no space after separators (the summary has none of these). */
  ck_assert_ptr_null (strstr (line, "\": "));
  ck_assert_ptr_null (strstr (line, ", \""));
}
END_TEST

START_TEST (test_round_trip_minimal)
{
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_LOG);
  g_autoptr(KcEvent) back = NULL;
  g_autofree char *line = NULL;

  kc_event_set_time (event, 0);
  kc_event_set_process (event, "lea");
  line = kc_event_to_json (event);
  ck_assert_ptr_nonnull (strstr (line, "\"t\":\"1970-01-01T00:00:00.000000Z\""));
  ck_assert_ptr_nonnull (strstr (line, "\"peer\":null"));
  ck_assert_ptr_nonnull (strstr (line, "\"attrs\":{}"));
  back = kc_event_from_json (line, -1, NULL);
  ck_assert_ptr_nonnull (back);
  ck_assert (kc_event_equal (event, back));
  ck_assert_ptr_null (kc_event_get_lane (back));
  ck_assert_ptr_null (kc_event_get_message (back));
  ck_assert_ptr_null (kc_event_get_fingerprint (back));
  ck_assert_int_eq (kc_event_get_fig3 (back), 0);
  ck_assert_uint_eq (kc_event_get_seq (back), 0);
  /* The fields the writer may leave out. */
  {
    g_autoptr(KcEvent) bare = kc_event_from_json ("{\"v\":1,\"ts_us\":5,\"proc\":\"gc2\","
                                                  "\"kind\":\"cdr\"}", -1, NULL);

    ck_assert_ptr_nonnull (bare);
    ck_assert_int_eq (kc_event_get_kind (bare), KC_EVENT_KIND_CDR);
    ck_assert_int_eq (kc_event_get_time (bare), 5);
  }
}
END_TEST

START_TEST (test_unknown_kind_preserved)
{
  const char *line = "{\"v\":1,\"ts_us\":1,\"proc\":\"gc9\",\"kind\":\"key-rotated.v2\","
                     "\"summary\":\"from a newer Keycall\",\"future_field\":[1,{\"x\":null}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEvent) event = kc_event_from_json (line, -1, &error);
  g_autofree char *again = NULL;
  g_autoptr(KcEvent) back = NULL;

  ck_assert_msg (event != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (kc_event_get_kind (event), KC_EVENT_KIND_UNKNOWN);
  ck_assert_str_eq (kc_event_get_kind_string (event), "key-rotated.v2");
  ck_assert_str_eq (kc_event_get_summary (event), "from a newer Keycall");
  again = kc_event_to_json (event);
  ck_assert_ptr_nonnull (strstr (again, "\"kind\":\"key-rotated.v2\""));
  back = kc_event_from_json (again, -1, NULL);
  ck_assert (back != NULL && kc_event_equal (back, event));
}
END_TEST

typedef struct {
  const char *line;
  int         code;
  const char *words;
} Rejection;

#define BASE "\"v\":1,\"ts_us\":1,\"proc\":\"gc1\",\"kind\":\"log\""

START_TEST (test_decode_rejections)
{
  static const Rejection cases[] = {
    { "", KC_ERROR_INVALID, "not a JSON object" },
    { "not json", KC_ERROR_INVALID, "not valid JSON" },
    { "[1]", KC_ERROR_INVALID, "not a JSON object" },
    { "{" BASE, KC_ERROR_INVALID, "not valid JSON" },
    { "{}", KC_ERROR_INVALID, "\"v\" is missing" },
    { "{\"v\":\"1\",\"ts_us\":1,\"proc\":\"a\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"v\" must be an integer" },
    { "{\"v\":2,\"ts_us\":\"x\"}", KC_ERROR_UNSUPPORTED, "version 2" },
    { "{\"v\":0,\"ts_us\":1,\"proc\":\"a\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"v\"" },
    { "{\"v\":1,\"proc\":\"a\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"ts_us\" is missing" },
    { "{\"v\":1,\"ts_us\":\"1\",\"proc\":\"a\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"ts_us\" must be an integer" },
    { "{\"v\":1,\"ts_us\":1.5,\"proc\":\"a\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"ts_us\" must be an integer" },
    { "{\"v\":1,\"ts_us\":-1,\"proc\":\"a\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"ts_us\" is out of range" },
    { "{\"v\":1,\"ts_us\":1,\"kind\":\"log\"}", KC_ERROR_INVALID, "\"proc\" is missing" },
    { "{\"v\":1,\"ts_us\":1,\"proc\":null,\"kind\":\"log\"}", KC_ERROR_INVALID, "\"proc\" is missing" },
    { "{\"v\":1,\"ts_us\":1,\"proc\":5,\"kind\":\"log\"}", KC_ERROR_INVALID, "\"proc\" must be a string" },
    { "{\"v\":1,\"ts_us\":1,\"proc\":\"\",\"kind\":\"log\"}", KC_ERROR_INVALID, "\"proc\" is empty" },
    { "{\"v\":1,\"ts_us\":1,\"proc\":\"a\"}", KC_ERROR_INVALID, "\"kind\" is missing" },
    { "{\"v\":1,\"ts_us\":1,\"proc\":\"a\",\"kind\":7}", KC_ERROR_INVALID, "\"kind\" must be a string" },
    { "{\"v\":1,\"ts_us\":1,\"proc\":\"a\",\"kind\":\"Key Sent\"}", KC_ERROR_INVALID, "\"kind\" is not" },
    { "{" BASE ",\"seq\":-1}", KC_ERROR_INVALID, "\"seq\" is out of range" },
    { "{" BASE ",\"seq\":\"3\"}", KC_ERROR_INVALID, "\"seq\" must be an integer" },
    { "{" BASE ",\"fig3\":1000}", KC_ERROR_INVALID, "\"fig3\" is out of range" },
    { "{" BASE ",\"fig3\":true}", KC_ERROR_INVALID, "\"fig3\" must be an integer" },
    { "{" BASE ",\"t\":1}", KC_ERROR_INVALID, "\"t\" must be a string" },
    { "{" BASE ",\"lane\":1}", KC_ERROR_INVALID, "\"lane\" must be a string" },
    { "{" BASE ",\"peer\":true}", KC_ERROR_INVALID, "\"peer\" must be a string" },
    { "{" BASE ",\"call\":[]}", KC_ERROR_INVALID, "\"call\" must be a string" },
    { "{" BASE ",\"summary\":{}}", KC_ERROR_INVALID, "\"summary\" must be a string" },
    { "{" BASE ",\"msg\":1}", KC_ERROR_INVALID, "\"msg\" must be a string" },
    { "{" BASE ",\"fp\":\"3F2A 91C0 7D4E 0B18\"}", KC_ERROR_INVALID, "\"fp\"" },
    { "{" BASE ",\"fp\":\"" KEY_B64 "\"}", KC_ERROR_INVALID, "\"fp\"" },
    { "{" BASE ",\"key_id\":\"0011\"}", KC_ERROR_INVALID, "\"key_id\"" },
    { "{" BASE ",\"attrs\":[]}", KC_ERROR_INVALID, "\"attrs\" must be an object" },
    { "{" BASE ",\"attrs\":{\"status\":180}}", KC_ERROR_INVALID, "\"attrs.status\" must be a string" },
    { "{" BASE ",\"attrs\":{\"bad name\":\"x\"}}", KC_ERROR_INVALID, "\"attrs\" has a member name" },
    /* What json-glib 1.6 alone would accept or get wrong. */
    { "{'v':1}", KC_ERROR_INVALID, "not valid JSON" },
    { "/* c */{" BASE "}", KC_ERROR_INVALID, "not valid JSON" },
    { "{" BASE "}{}", KC_ERROR_INVALID, "text after the object" },
    { "{" BASE ",\"fig3\":0x10}", KC_ERROR_INVALID, "not valid JSON" },
    { "{" BASE ",\"fig3\":01}", KC_ERROR_INVALID, "not valid JSON" },
    { "{" BASE ",\"seq\":18446744073709551617}", KC_ERROR_INVALID, "integer out of range" },
    { "{" BASE ",\"summary\":\"a\\u0000b\"}", KC_ERROR_INVALID, "\\u0000" },
    { "{" BASE ",\"summary\":\"tab\there\"}", KC_ERROR_INVALID, "control character" },
    { "{" BASE ",\"summary\":\"\\ud800\"}", KC_ERROR_INVALID, "surrogate" },
    { "{" BASE ",\"summary\":\"\\q\"}", KC_ERROR_INVALID, "bad escape" },
    { "{" BASE ",\"summary\":\"\xff\"}", KC_ERROR_INVALID, "UTF-8" },
    { "{" BASE ",\"attrs\":{\"a\":\"b\",}}", KC_ERROR_INVALID, "not valid JSON" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(KcEvent) event = kc_event_from_json (cases[i].line, -1, &error);

      ck_assert_msg (event == NULL, "case %u accepted: %s", i, cases[i].line);
      ck_assert_msg (g_error_matches (error, KC_ERROR, cases[i].code),
                     "case %u: wrong error %s", i, error ? error->message : "none");
      ck_assert_msg (strstr (error->message, cases[i].words) != NULL,
                     "case %u: \"%s\" lacks \"%s\"", i, error->message, cases[i].words);
    }
}
END_TEST

START_TEST (test_decode_limits)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) line = g_string_new ("{" BASE ",\"x\":[");
  g_autoptr(KcEvent) event = NULL;

  /* A crash in json-glib without the depth check. */
  for (int i = 0; i < 200000; i++)
    g_string_append_c (line, '[');
  event = kc_event_from_json (line->str, -1, &error);
  ck_assert_ptr_null (event);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_INVALID));
  ck_assert_ptr_nonnull (strstr (error->message, "nested too deeply"));
  g_clear_error (&error);

  /* Exactly the limit passes; one byte more does not. */
  g_string_assign (line, "{" BASE);
  while (line->len < KC_EVENT_LINE_MAX - 1)
    g_string_append_c (line, ' ');
  g_string_append (line, "}\n");
  event = kc_event_from_json (line->str, line->len, &error);
  ck_assert_msg (event != NULL, "%s", error ? error->message : "");
  g_clear_pointer (&event, kc_event_unref);
  g_string_insert_c (line, 1, ' ');
  event = kc_event_from_json (line->str, line->len, &error);
  ck_assert_ptr_null (event);
  ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_TOO_LARGE));
  ck_assert_ptr_nonnull (strstr (error->message, "1048577 bytes"));
}
END_TEST

START_TEST (test_setter_redacts)
{
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_SIP_TX);
  g_autofree char *line = NULL;
  char fp[KC_FINGERPRINT_LEN];

  kc_event_set_process (event, "gc1");
  kc_event_set_message (event, SDP_MSG);
  kc_event_set_summary (event, "sent " CRYPTO);
  kc_event_set_attr (event, "sdp", CRYPTO);
  assert_no_key (kc_event_get_message (event));
  assert_no_key (kc_event_get_summary (event));
  assert_no_key (kc_event_get_attr (event, "sdp"));
  /* Redacted, not dropped: the rest of the message and the key's
   * fingerprint are still there for a person to read. */
  key_fingerprint (fp);
  ck_assert_ptr_nonnull (strstr (kc_event_get_message (event), "m=audio 4000 RTP/SAVP 0\r\n"));
  ck_assert_ptr_nonnull (strstr (kc_event_get_message (event), fp));
  line = kc_event_to_json (event);
  assert_no_key (line);
}
END_TEST

START_TEST (test_decode_redacts)
{
  /* As a foreign or older writer could have logged it. */
  const char *line = "{\"v\":1,\"ts_us\":1,\"proc\":\"gc1\",\"kind\":\"sip-rx\","
                     "\"summary\":\"got " CRYPTO "\","
                     "\"msg\":\"v=0\\r\\n" CRYPTO "\\r\\n\","
                     "\"attrs\":{\"sdp\":\"" CRYPTO "\"}}";
  g_autoptr(GError) error = NULL;
  g_autoptr(KcEvent) event = kc_event_from_json (line, -1, &error);
  g_autofree char *again = NULL;

  ck_assert_msg (event != NULL, "%s", error ? error->message : "");
  assert_no_key (kc_event_get_message (event));
  assert_no_key (kc_event_get_summary (event));
  assert_no_key (kc_event_get_attr (event, "sdp"));
  ck_assert_ptr_nonnull (strstr (kc_event_get_message (event), "v=0\r\n"));
  again = kc_event_to_json (event);
  assert_no_key (again);
}
END_TEST

START_TEST (test_round_trip_redacted_message)
{
  /* Decoding redacts again, so redaction must leave its own output alone
   * for a logged SIP message to read back unchanged. */
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_SIP_TX);
  g_autoptr(KcEvent) back = NULL;
  g_autofree char *line = NULL;

  kc_event_set_process (event, "gc1");
  kc_event_set_message (event, SDP_MSG);
  line = kc_event_to_json (event);
  back = kc_event_from_json (line, -1, NULL);
  ck_assert_ptr_nonnull (back);
  if (g_strcmp0 (kc_event_get_message (back), kc_event_get_message (event)) != 0)
    {
      /* One line, or TAP loses it. */
      g_autofree char *stored = g_strescape (kc_event_get_message (event), NULL);
      g_autofree char *read = g_strescape (kc_event_get_message (back), NULL);

      ck_abort_msg ("redaction is not idempotent: stored \"%s\", read back \"%s\"",
                    stored, read);
    }
}
END_TEST

START_TEST (test_setters_clean_and_cut)
{
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_LOG);
  g_autofree char *long_id = g_strnfill (1000, 'x');
  g_autoptr(GString) message = g_string_new (NULL);
  g_autoptr(KcEvent) back = NULL;
  g_autofree char *line = NULL;
  const char *stored;

  kc_event_set_process (event, "gc1");
  kc_event_set_call_id (event, long_id);
  ck_assert_uint_le (strlen (kc_event_get_call_id (event)), KC_EVENT_ID_MAX);
  ck_assert (g_str_has_suffix (kc_event_get_call_id (event), "…"));
  kc_event_set_lane (event, "cta:\x01" "1001\xff");
  ck_assert (g_utf8_validate (kc_event_get_lane (event), -1, NULL));
  ck_assert_ptr_null (strchr (kc_event_get_lane (event), '\x01'));
  kc_event_set_summary (event, "two\nlines");
  ck_assert_str_eq (kc_event_get_summary (event), "two lines");
  kc_event_set_lane (event, "");
  ck_assert_ptr_null (kc_event_get_lane (event));

  /* The worst case for JSON (every byte escaped as \u00XX) still makes a
   * line the decoder takes. */
  while (message->len < 2 * KC_EVENT_MESSAGE_MAX)
    g_string_append (message, "\x01\x02\x03\x04\x05\x06\x07\x08\r\n");
  kc_event_set_message (event, message->str);
  stored = kc_event_get_message (event);
  ck_assert_uint_le (strlen (stored), KC_EVENT_MESSAGE_MAX);
  ck_assert (g_str_has_suffix (stored, "\r\n…"));
  for (int i = 0; i < KC_EVENT_ATTRS_MAX; i++)
    {
      char name[16];
      g_autofree char *value = g_strnfill (5000, '\x1f');

      g_snprintf (name, sizeof name, "a%02d", i);
      kc_event_set_attr (event, name, value);
      ck_assert_uint_le (strlen (kc_event_get_attr (event, name)), KC_EVENT_ATTR_VALUE_MAX);
    }
  line = kc_event_to_json (event);
  ck_assert_uint_lt (strlen (line), KC_EVENT_LINE_MAX);
  back = kc_event_from_json (line, -1, NULL);
  ck_assert (back != NULL && kc_event_equal (back, event));
}
END_TEST

START_TEST (test_set_key)
{
  const guint8 bytes[32] = { 9, 8, 7 };
  g_autoptr(KcSecret) key = kc_secret_new_from_data (bytes, sizeof bytes);
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_KEY_CREATED);
  KcKeyId id = { { 0xde, 0xad, 0xbe, 0xef, [15] = 0x01 } };
  char fp[KC_FINGERPRINT_LEN];

  kc_event_set_key (event, &id, key);
  kc_secret_fingerprint (key, fp);
  ck_assert_str_eq (kc_event_get_fingerprint (event), fp);
  ck_assert_str_eq (kc_event_get_key_id (event), "deadbeef000000000000000000000001");
}
END_TEST

static int n_criticals;

static void
count_critical (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  n_criticals++;
}

START_TEST (test_frozen_is_read_only)
{
  g_autoptr(KcEvent) event = full_event ();
  g_autoptr(KcEvent) copy = NULL;

  /* Programmer errors are criticals; count them instead of aborting. */
  g_log_set_always_fatal (G_LOG_LEVEL_ERROR);
  g_log_set_handler ("kc-event", G_LOG_LEVEL_CRITICAL, count_critical, NULL);
  kc_event_freeze (event);
  kc_event_set_message (event, "replaced");
  kc_event_set_attr (event, "status", "500");
  ck_assert_int_eq (n_criticals, 2);
  ck_assert_str_eq (kc_event_get_attr (event, "status"), "180");
  ck_assert_ptr_null (strstr (kc_event_get_message (event), "replaced"));
  copy = kc_event_copy (event);
  ck_assert (!kc_event_is_frozen (copy));
  ck_assert (kc_event_equal (copy, event));
  kc_event_set_attr (copy, "status", "500");
  ck_assert (!kc_event_equal (copy, event));
  /* Malformed fingerprints are refused, not stored. */
  kc_event_set_fingerprint (copy, KEY_B64);
  ck_assert_int_eq (n_criticals, 3);
  ck_assert_str_eq (kc_event_get_fingerprint (copy), "3f2a 91c0 7d4e 0b18");
}
END_TEST

/* ----- Bus ----- */

typedef struct {
  GMutex     mutex;
  GString   *trace;       /* "<listener>:<seq> " */
  GPtrArray *events;
  GThread   *thread_seen;
  gboolean   wrong_thread;
  int        destroyed;
} Recorder;

typedef struct {
  Recorder   *recorder;
  char        name;
  KcEventBus *bus;
  guint       id;          /* set to remove itself on its first event */
  gboolean    emit_nested;
} Probe;

static void
on_probe_event (KcEvent *event, gpointer user_data)
{
  Probe *probe = user_data;
  Recorder *r = probe->recorder;

  ck_assert (kc_event_is_frozen (event));
  g_mutex_lock (&r->mutex);
  g_string_append_printf (r->trace, "%c%" G_GUINT64_FORMAT " ", probe->name,
                          kc_event_get_seq (event));
  g_ptr_array_add (r->events, kc_event_ref (event));
  if (r->thread_seen != NULL && r->thread_seen != g_thread_self ())
    r->wrong_thread = TRUE;
  g_mutex_unlock (&r->mutex);
  if (probe->id != 0)
    {
      kc_event_bus_remove_listener (probe->bus, probe->id);
      probe->id = 0;
    }
  if (probe->emit_nested)
    {
      g_autoptr(KcEvent) nested = kc_event_new (KC_EVENT_KIND_LOG);

      probe->emit_nested = FALSE;
      kc_event_bus_emit (probe->bus, nested);
    }
}

static void
on_probe_destroyed (gpointer user_data)
{
  Probe *probe = user_data;

  probe->recorder->destroyed++;
}

static void
recorder_init (Recorder *r)
{
  g_mutex_init (&r->mutex);
  r->trace = g_string_new (NULL);
  r->events = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_event_unref);
}

static void
recorder_clear (Recorder *r)
{
  g_string_free (r->trace, TRUE);
  g_ptr_array_unref (r->events);
  g_mutex_clear (&r->mutex);
}

static void
emit_log (KcEventBus *bus, const char *summary)
{
  g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_LOG);

  kc_event_set_summary (event, summary);
  kc_event_bus_emit (bus, event);
}

START_TEST (test_bus_order_and_removal)
{
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  Recorder r = { 0 };
  Probe a = { &r, 'a', bus }, b = { &r, 'b', bus }, c = { &r, 'c', bus };
  guint id_b;

  recorder_init (&r);
  kc_event_bus_add_listener (bus, on_probe_event, &a, on_probe_destroyed);
  id_b = kc_event_bus_add_listener (bus, on_probe_event, &b, on_probe_destroyed);
  c.id = kc_event_bus_add_listener (bus, on_probe_event, &c, on_probe_destroyed);
  ck_assert_uint_ne (id_b, c.id);

  /* c removes itself inside its first delivery. */
  emit_log (bus, "one");
  ck_assert_str_eq (r.trace->str, "a1 b1 c1 ");
  ck_assert_int_eq (r.destroyed, 1);
  kc_event_bus_remove_listener (bus, id_b);
  ck_assert_int_eq (r.destroyed, 2);
  emit_log (bus, "two");
  ck_assert_str_eq (r.trace->str, "a1 b1 c1 a2 ");
  ck_assert_str_eq (kc_event_get_process (r.events->pdata[0]), "gc1");
  ck_assert_str_eq (kc_event_get_summary (r.events->pdata[3]), "two");

  /* A listener's own emit comes after the event it is handling. */
  g_string_truncate (r.trace, 0);
  b.emit_nested = TRUE;
  kc_event_bus_add_listener (bus, on_probe_event, &b, NULL);
  emit_log (bus, "three");
  ck_assert_str_eq (r.trace->str, "a3 b3 a4 b4 ");

  g_clear_pointer (&bus, kc_event_bus_unref);
  ck_assert_int_eq (r.destroyed, 3);
  recorder_clear (&r);
}
END_TEST

START_TEST (test_bus_keeps_given_seq)
{
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  g_autoptr(KcEvent) relayed = kc_event_new (KC_EVENT_KIND_LOG);
  Recorder r = { 0 };
  Probe a = { &r, 'a', bus };

  recorder_init (&r);
  kc_event_bus_add_listener (bus, on_probe_event, &a, NULL);
  kc_event_set_process (relayed, "gc2");
  kc_event_set_seq (relayed, 77);
  kc_event_freeze (relayed);
  kc_event_bus_emit (bus, relayed);
  emit_log (bus, "own");
  ck_assert_str_eq (r.trace->str, "a77 a1 ");
  ck_assert_ptr_eq (r.events->pdata[0], relayed);
  ck_assert_str_eq (kc_event_get_process (r.events->pdata[0]), "gc2");
  recorder_clear (&r);
}
END_TEST

typedef struct {
  KcEventBus *bus;
  int         count;
  gboolean    check_delivered;
  Recorder   *recorder;
  gboolean    missing;
} Emitter;

static gpointer
emitter_thread (gpointer data)
{
  Emitter *e = data;

  for (int i = 0; i < e->count; i++)
    {
      g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_MEDIA_STATS);
      gboolean seen = FALSE;

      kc_event_set_attr_int (event, "i", i);
      kc_event_bus_emit (e->bus, event);
      if (!e->check_delivered)
        continue;
      /* Synchronous mode: delivered before emit returned. */
      g_mutex_lock (&e->recorder->mutex);
      for (guint j = 0; j < e->recorder->events->len && !seen; j++)
        seen = e->recorder->events->pdata[j] == event;
      g_mutex_unlock (&e->recorder->mutex);
      if (!seen)
        e->missing = TRUE;
    }
  return NULL;
}

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

START_TEST (test_bus_cross_thread_marshalled)
{
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_DEFAULT);
  Recorder r = { 0 };
  Probe a = { &r, 'a', bus };
  Emitter e = { bus, 300 };
  gboolean timed_out = FALSE;
  guint timeout;
  GThread *thread;

  recorder_init (&r);
  r.thread_seen = g_thread_self ();
  kc_event_bus_add_listener (bus, on_probe_event, &a, NULL);
  thread = g_thread_new ("emitter", emitter_thread, &e);
  g_thread_join (thread);
  /* Nothing ran on the emitting thread: it all waits for this loop. */
  ck_assert_uint_eq (r.events->len, 0);
  emit_log (bus, "from the main thread");
  ck_assert_uint_eq (r.events->len, 301);

  timeout = g_timeout_add (10000, on_timeout, &timed_out);
  while (!timed_out && g_main_context_iteration (NULL, FALSE))
    ;
  g_source_remove (timeout);
  ck_assert (!r.wrong_thread);
  for (guint i = 0; i < r.events->len; i++)
    ck_assert_uint_eq (kc_event_get_seq (r.events->pdata[i]), i + 1);
  ck_assert_str_eq (kc_event_get_summary (r.events->pdata[300]), "from the main thread");
  recorder_clear (&r);
}
END_TEST

static void
on_exclusive_event (KcEvent *event, gpointer user_data)
{
  static int inside;
  Probe *probe = user_data;

  /* Listeners never run concurrently. */
  ck_assert_int_eq (g_atomic_int_add (&inside, 1), 0);
  g_usleep (10);
  g_atomic_int_add (&inside, -1);
  on_probe_event (event, probe);
}

START_TEST (test_bus_synchronous_threads)
{
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("gc1", KC_EVENT_BUS_SYNCHRONOUS);
  Recorder r = { 0 };
  Probe a = { &r, 'a', bus };
  Emitter e[4];
  GThread *threads[4];

  recorder_init (&r);
  kc_event_bus_add_listener (bus, on_exclusive_event, &a, NULL);
  for (int i = 0; i < 4; i++)
    {
      e[i] = (Emitter) { bus, 200, TRUE, &r, FALSE };
      threads[i] = g_thread_new ("emitter", emitter_thread, &e[i]);
    }
  for (int i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      ck_assert (!e[i].missing);
    }
  ck_assert_uint_eq (r.events->len, 800);
  for (guint i = 0; i < r.events->len; i++)
    ck_assert_uint_eq (kc_event_get_seq (r.events->pdata[i]), i + 1);
  recorder_clear (&r);
}
END_TEST

START_TEST (test_bus_log_file)
{
  g_autofree char *dir = kc_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "events.jsonl", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(KcEventBus) bus = kc_event_bus_new ("cta-1001", KC_EVENT_BUS_DEFAULT);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  Recorder r = { 0 };
  Probe a = { &r, 'a', bus };
  struct stat st;

  recorder_init (&r);
  kc_event_bus_add_listener (bus, on_probe_event, &a, NULL);
  /* An existing, world-readable log: kept, appended to, made private. */
  ck_assert (g_file_set_contents (path, "old line\n", -1, NULL));
  ck_assert_int_eq (chmod (path, 0644), 0);
  ck_assert_msg (kc_event_bus_add_log_file (bus, path, &error), "%s",
                 error ? error->message : "");
  ck_assert_int_eq (stat (path, &st), 0);
  ck_assert_int_eq (st.st_mode & 07777, 0600);

  {
    g_autoptr(KcEvent) event = full_event ();

    kc_event_set_seq (event, 0);
    kc_event_bus_emit (bus, event);
  }
  emit_log (bus, "second");
  {
    g_autoptr(KcEvent) event = kc_event_new (KC_EVENT_KIND_SIP_TX);

    kc_event_set_message (event, SDP_MSG);
    kc_event_bus_emit (bus, event);
  }

  ck_assert (g_file_get_contents (path, &contents, NULL, NULL));
  assert_no_key (contents);
  lines = g_strsplit (contents, "\n", -1);
  ck_assert_uint_eq (g_strv_length (lines), 5);   /* old, 3 events, "" */
  ck_assert_str_eq (lines[0], "old line");
  ck_assert_str_eq (lines[4], "");
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(KcEvent) back = kc_event_from_json (lines[i + 1], -1, &error);
      g_autofree char *json = kc_event_to_json (r.events->pdata[i]);

      ck_assert_msg (back != NULL, "line %d: %s", i + 1, error ? error->message : "");
      ck_assert_str_eq (lines[i + 1], json);
      ck_assert_uint_eq (kc_event_get_seq (back), i + 1);
      ck_assert_str_eq (kc_event_get_process (back), i == 0 ? "gc1" : "cta-1001");
    }
  /* The key-free events read back exactly (see the redacted round trip). */
  {
    g_autoptr(KcEvent) first = kc_event_from_json (lines[1], -1, NULL);

    ck_assert (kc_event_equal (first, r.events->pdata[0]));
  }

  /* A new file starts private; a folder is refused. */
  {
    g_autofree char *fresh = g_build_filename (dir, "fresh.jsonl", NULL);

    ck_assert (kc_event_bus_add_log_file (bus, fresh, NULL));
    ck_assert_int_eq (stat (fresh, &st), 0);
    ck_assert_int_eq (st.st_mode & 07777, 0600);
    ck_assert (!kc_event_bus_add_log_file (bus, dir, &error));
    ck_assert (g_error_matches (error, KC_ERROR, KC_ERROR_IO));
    ck_assert_ptr_nonnull (strstr (error->message, dir));
  }
  recorder_clear (&r);
  kc_test_rmtree (dir);
}
END_TEST

static Suite *
make_suite (void)
{
  Suite *suite = suite_create ("event");
  TCase *tc = tcase_create ("event");
  TCase *bus = tcase_create ("bus");

  tcase_add_test (tc, test_kind_strings_stable);
  tcase_add_test (tc, test_round_trip_every_field);
  tcase_add_test (tc, test_json_shape);
  tcase_add_test (tc, test_round_trip_minimal);
  tcase_add_test (tc, test_unknown_kind_preserved);
  tcase_add_test (tc, test_decode_rejections);
  tcase_add_test (tc, test_decode_limits);
  tcase_add_test (tc, test_setter_redacts);
  tcase_add_test (tc, test_decode_redacts);
  tcase_add_test (tc, test_round_trip_redacted_message);
  tcase_add_test (tc, test_setters_clean_and_cut);
  tcase_add_test (tc, test_set_key);
  tcase_add_test (tc, test_frozen_is_read_only);
  suite_add_tcase (suite, tc);

  tcase_add_test (bus, test_bus_order_and_removal);
  tcase_add_test (bus, test_bus_keeps_given_seq);
  tcase_add_test (bus, test_bus_cross_thread_marshalled);
  tcase_add_test (bus, test_bus_synchronous_threads);
  tcase_add_test (bus, test_bus_log_file);
  suite_add_tcase (suite, bus);
  return suite;
}

KC_TEST_MAIN (make_suite)
