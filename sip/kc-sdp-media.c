/* kc-sdp-media.c: the audio part of SDP, read with sofia-sip's parser.
 *
 * sofia only ever sees a redacted copy (kc_sdp_redact), so no key from
 * a=key-mgmt or a=crypto ends up in its memory. The rewrite edits the text
 * line by line, splitting lines the way sofia does (any run of CR and LF,
 * leading blanks skipped), then parses its own output to prove that the
 * address and ports sofia reads there are the ones it meant to write.
 * Answering an offer (codec and suite) is in kc-sdp-media-negotiate.c.
 */
#define G_LOG_DOMAIN "kc-sdp-media"

#include "config.h"

#include "kc-sdp-media-private.h"
#include "kc-error.h"
#include "kc-sdp-key.h"

#include <openssl/crypto.h>
#include <sofia-sip/sdp.h>
#include <string.h>

#define SP_TAB      " \t"
#define LINE_END    "\r\n"
#define DIGITS      "0123456789"
/* sofia's token characters (RFC 4566 token). */
#define TOKEN_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
                    DIGITS "-!#$%&'*+.^_`{|}~"
/* How much of a peer's text an error message quotes. */
#define SHOWN_MAX   48

/* Text helpers -------------------------------------------------------------- */

/* Untrusted text for an error message: escaped and cut short. */
char *
kc_sdp_media_shown (const char *text,
                    gssize      len)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  g_autofree char *cut = g_strndup (text, MIN (n, SHOWN_MAX));
  g_autofree char *escaped = g_strescape (cut, NULL);

  if (n > SHOWN_MAX)
    return g_strconcat (escaped, "…", NULL);
  return g_steal_pointer (&escaped);
}

/* A decimal number in [min, max], blanks around it allowed, no sign. */
static gboolean
parse_number (const char *text,
              gssize      len,
              guint64     min,
              guint64     max,
              guint64    *out)
{
  g_autofree char *copy = len < 0 ? g_strdup (text) : g_strndup (text, len);

  g_strstrip (copy);
  return g_ascii_isdigit (copy[0])
         && g_ascii_string_to_unsigned (copy, 10, min, max, out, NULL);
}

static gboolean
check_size (const char *sdp,
            GError    **error)
{
  if (strnlen (sdp, KC_SDP_BODY_MAX + 1) > KC_SDP_BODY_MAX) {
    g_set_error (error, KC_ERROR, KC_ERROR_TOO_LARGE,
                 "The SDP is larger than %d KiB, the most Keycall reads", KC_SDP_BODY_MAX / 1024);
    return FALSE;
  }
  return TRUE;
}

/* "IP4" or "IP6" for an IP literal, NULL for anything else. */
static const char *
ip_family_token (const char *address)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

  if (inet == NULL)
    return NULL;
  return g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6 ? "IP6" : "IP4";
}

static gboolean
is_token_char (char c)
{
  return c != '\0' && strchr (TOKEN_CHARS, c) != NULL;
}

/* Past the bytes of [@p, @end) that are (@in) or are not in @set. Lines
 * hold no NUL, so strchr() never matches the set's terminator here. */
static const char *
skip (const char *p,
      const char *end,
      const char *set,
      gboolean    in)
{
  while (p < end && (strchr (set, *p) != NULL) == in)
    p++;
  return p;
}

/* Past a word and the blanks after it. */
static const char *
skip_word (const char *p,
           const char *end)
{
  return skip (skip (p, end, SP_TAB, FALSE), end, SP_TAB, TRUE);
}

/* The type letter of a line as sofia reads it (leading blanks skipped),
 * '\0' when it is no "x=" line; *rest is the value after "x=" and blanks. */
static char
line_kind (const char  *line,
           const char  *end,
           const char **rest)
{
  const char *s = skip (line, end, SP_TAB, TRUE);

  if (end - s < 2 || s[1] != '=')
    return '\0';
  *rest = skip (s + 2, end, SP_TAB, TRUE);
  return s[0];
}

/* Whether the token at @rest (media type, attribute name) is @name. */
static gboolean
token_is (const char *rest,
          const char *end,
          const char *name)
{
  gsize len = skip (rest, end, TOKEN_CHARS, TRUE) - rest;

  return len == strlen (name) && g_ascii_strncasecmp (rest, name, len) == 0;
}

/* sofia ------------------------------------------------------------------- */

/* sofia 1.12.11 loops forever, allocating until memory runs out, on an m=
 * line whose format list has a word that starts with a non-token byte
 * ("m=video 1 X/Y 31 //"; fixed in 1.13.7). Such lines are refused before
 * sofia sees them: outside tokens only blanks, and '/' only between two
 * token characters. */
static gboolean
media_lines_safe (const char *sdp,
                  GError    **error)
{
  for (const char *line = sdp; *line != '\0';) {
    const char *end = line + strcspn (line, LINE_END), *rest = NULL, *p;

    for (p = line_kind (line, end, &rest) == 'm' ? rest : end; p < end; p++)
      if (!is_token_char (*p) && *p != ' ' && *p != '\t'
          && !(*p == '/' && p > rest && is_token_char (p[-1]) && is_token_char (p[1])))
        break;
    if (p < end) {
      g_autofree char *text = kc_sdp_media_shown (rest, end - rest);

      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "The SDP line m=%s holds a character SDP does not allow there", text);
      return FALSE;
    }
    line = end + strspn (end, LINE_END);
  }
  return TRUE;
}

gboolean
kc_sdp_sofia_safe (const char  *sdp,
                   GError     **error)
{
  g_return_val_if_fail (sdp != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return media_lines_safe (sdp, error);
}

/* sofia's view of an SDP body and its first m=audio. */
typedef struct {
  su_home_t      home[1];
  sdp_parser_t  *parser;
  sdp_media_t   *audio;
} Parsed;

static gboolean
parsed_init (Parsed     *p,
             const char *sdp,
             GError    **error)
{
  g_autofree char *text = kc_sdp_redact (sdp);
  sdp_session_t *session;

  memset (p, 0, sizeof *p);
  su_home_init (p->home);
  if (!media_lines_safe (text, error))
    return FALSE;
  /* The c= check is ours: sofia's wants one for every m=, not just audio. */
  p->parser = sdp_parse (p->home, text, (issize_t) strlen (text), sdp_f_c_missing);
  session = sdp_session (p->parser);
  if (session == NULL) {
    /* sofia quotes the line at fault: escape it like any peer text. */
    g_autofree char *problem = g_strescape (sdp_parsing_error (p->parser), NULL);

    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "The SDP does not parse: %s", problem);
    return FALSE;
  }
  for (p->audio = session->sdp_media; p->audio != NULL; p->audio = p->audio->m_next)
    if (p->audio->m_type == sdp_media_audio)
      break;
  if (p->audio == NULL) {
    g_set_error_literal (error, KC_ERROR, KC_ERROR_INVALID, "The SDP has no m=audio line");
    return FALSE;
  }
  if (p->audio->m_connections == NULL && session->sdp_connection == NULL) {
    g_set_error_literal (error, KC_ERROR, KC_ERROR_INVALID,
                         "The SDP has no c= line for its m=audio, at session or media level");
    return FALSE;
  }
  return TRUE;
}

static void
parsed_clear (Parsed *p)
{
  g_clear_pointer (&p->parser, sdp_parser_free);
  su_home_deinit (p->home);
}

/* Parse ------------------------------------------------------------------- */

/* The c= that applies to @m: media level, else session level. */
static gboolean
media_connection (const sdp_media_t *m,
                  char             **address,
                  GSocketFamily     *family,
                  GError           **error)
{
  const sdp_connection_t *c = m->m_connections ? m->m_connections : m->m_session->sdp_connection;
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (c->c_address);
  GSocketFamily declared = c->c_addrtype == sdp_addr_ip6 ? G_SOCKET_FAMILY_IPV6
                                                         : G_SOCKET_FAMILY_IPV4;

  if (inet == NULL) {
    g_autofree char *text = kc_sdp_media_shown (c->c_address, -1);

    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "c= address '%s' is not an IP address; Keycall needs a numeric address", text);
    return FALSE;
  }
  if (g_inet_address_get_family (inet) != declared) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID, "c= says %s but '%s' is an %s address",
                 declared == G_SOCKET_FAMILY_IPV6 ? "IP6" : "IP4", c->c_address,
                 declared == G_SOCKET_FAMILY_IPV6 ? "IPv4" : "IPv6");
    return FALSE;
  }
  *address = g_strdup (c->c_address);
  *family = declared;
  return TRUE;
}

static void
format_clear (gpointer data)
{
  g_clear_pointer (&((KcSdpFormat *) data)->encoding, g_free);
}

/* One payload type as its rtpmap (or RFC 3551's table) gives it. */
static gboolean
add_format (GArray      *formats,
            guint        pt,
            const char  *encoding,
            guint64      rate,
            const char  *params,
            GError     **error)
{
  KcSdpFormat f = { pt, NULL, (guint) rate, 1 };
  guint64 channels = 1;
  g_autofree char *name = NULL;

  /* A dynamic type without rtpmap cannot be used: skipped. */
  if (encoding == NULL || *encoding == '\0')
    return TRUE;
  for (guint i = 0; i < formats->len; i++)
    if (g_array_index (formats, KcSdpFormat, i).pt == pt)
      return TRUE;   /* listed twice in m=: the first counts */
  name = kc_sdp_media_shown (encoding, -1);
  if (rate == 0 || rate > G_MAXUINT) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "a=rtpmap:%u %s: the clock rate is missing or out of range", pt, name);
    return FALSE;
  }
  if (params != NULL && !parse_number (params, -1, 1, 255, &channels)) {
    g_autofree char *what = kc_sdp_media_shown (params, -1);

    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "a=rtpmap:%u %s/%u/%s: the channel count is not a number from 1 to 255",
                 pt, name, f.clock_rate, what);
    return FALSE;
  }
  f.channels = (guint) channels;
  f.encoding = g_strdup (encoding);
  g_array_append_val (formats, f);
  return TRUE;
}

static gboolean
is_feedback_profile (const sdp_media_t *m)
{
  return m->m_proto == sdp_proto_x && m->m_proto_name != NULL
         && (g_ascii_strcasecmp (m->m_proto_name, "RTP/SAVPF") == 0
             || g_ascii_strcasecmp (m->m_proto_name, "RTP/AVPF") == 0);
}

/* sofia 1.12.11 reads rtpmaps only for RTP/AVP and RTP/SAVP; with the
 * feedback profiles (RFC 4585) they stay plain attributes. */
static gboolean
formats_from_attributes (const sdp_media_t *m,
                         GArray            *formats,
                         GError           **error)
{
  for (const sdp_list_t *l = m->m_format; l != NULL; l = l->l_next) {
    g_auto(GStrv) map = NULL;   /* encoding, rate, channels */
    guint64 pt, rate = 0;

    if (!parse_number (l->l_text, -1, 0, 127, &pt)) {
      g_autofree char *text = kc_sdp_media_shown (l->l_text, -1);

      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "m=audio format '%s' is not an RTP payload type (0-127)", text);
      return FALSE;
    }
    for (const sdp_attribute_t *a = m->m_attributes; a != NULL && map == NULL; a = a->a_next) {
      g_autofree char *value = NULL;
      g_auto(GStrv) words = NULL;
      guint64 mapped;

      if (a->a_value == NULL || g_ascii_strcasecmp (a->a_name, "rtpmap") != 0)
        continue;
      value = g_strstrip (g_strdup (a->a_value));
      words = g_strsplit_set (value, SP_TAB, 2);   /* "<pt> <encoding>/<rate>[/<channels>]" */
      if (words[0] != NULL && words[1] != NULL && parse_number (words[0], -1, 0, 127, &mapped)
          && mapped == pt)
        map = g_strsplit (g_strstrip (words[1]), "/", 3);
    }
    if (map != NULL) {
      if (map[1] != NULL && !parse_number (map[1], -1, 1, G_MAXUINT, &rate))
        rate = 0;
      if (!add_format (formats, (guint) pt, map[0], rate, map[1] ? map[2] : NULL, error))
        return FALSE;
    } else if (sdp_rtpmap_well_known[pt] != NULL) {
      const sdp_rtpmap_t *known = sdp_rtpmap_well_known[pt];

      if (!add_format (formats, (guint) pt, known->rm_encoding, known->rm_rate,
                       known->rm_params, error))
        return FALSE;
    }
  }
  return TRUE;
}

static gboolean
read_attributes (const sdp_media_t *m,
                 KcSdpMedia        *media,
                 GError           **error)
{
  const sdp_attribute_t *a;
  guint64 value;

  if ((a = sdp_attribute_find (m->m_attributes, "rtcp")) != NULL) {
    const char *v = a->a_value ? a->a_value : "";

    if (!parse_number (v, strcspn (v, SP_TAB), 1, 65535, &value)) {
      g_autofree char *text = kc_sdp_media_shown (v, -1);

      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "a=rtcp:%s does not start with a port from 1 to 65535", text);
      return FALSE;
    }
    media->rtcp_port = (guint16) value;
  } else if (media->port == G_MAXUINT16) {
    g_set_error_literal (error, KC_ERROR, KC_ERROR_INVALID,
                         "m=audio port 65535 leaves no port for RTCP; use an even port "
                         "or add a=rtcp");
    return FALSE;
  } else if (media->port != 0) {
    media->rtcp_port = media->port + 1;
  }
  media->rtcp_mux = sdp_attribute_find (m->m_attributes, "rtcp-mux") != NULL;

  if ((a = sdp_attribute_find (m->m_attributes, "ptime")) != NULL) {
    if (a->a_value == NULL || !parse_number (a->a_value, -1, 1, 10000, &value)) {
      g_autofree char *text = kc_sdp_media_shown (a->a_value ? a->a_value : "", -1);

      g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                   "a=ptime:%s is not a packet time in milliseconds (1-10000)", text);
      return FALSE;
    }
    media->ptime = (guint) value;
  }

  if ((a = sdp_attribute_find (m->m_attributes, KC_SDP_SRTP_ATTRIBUTE)) != NULL) {
    g_auto(GStrv) names = g_strsplit_set (a->a_value ? a->a_value : "", SP_TAB, -1);

    media->srtp_listed = TRUE;
    for (guint i = 0; names[i] != NULL; i++) {
      KcSuite suite = kc_suite_from_string (names[i]);
      gboolean seen = FALSE;

      for (guint j = 0; j < media->suites->len; j++)
        seen |= g_array_index (media->suites, KcSuite, j) == suite;
      /* Unknown names are skipped: a newer peer may offer more. */
      if (suite != KC_SUITE_INVALID && !seen)
        g_array_append_val (media->suites, suite);
    }
  }
  return TRUE;
}

void
kc_sdp_media_free (KcSdpMedia *media)
{
  if (media == NULL)
    return;
  g_free (media->address);
  g_clear_pointer (&media->formats, g_array_unref);
  g_clear_pointer (&media->suites, g_array_unref);
  g_free (media);
}

KcSdpMedia *
kc_sdp_media_parse (const char  *sdp,
                    GError     **error)
{
  static const KcSdpDirection modes[] = {   /* by sdp_mode_t */
    [sdp_inactive] = KC_SDP_INACTIVE, [sdp_sendonly] = KC_SDP_SENDONLY,
    [sdp_recvonly] = KC_SDP_RECVONLY, [sdp_sendrecv] = KC_SDP_SENDRECV,
  };
  g_autoptr(KcSdpMedia) media = NULL;
  const sdp_media_t *m;
  gboolean ok;
  Parsed p;

  g_return_val_if_fail (sdp != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_size (sdp, error))
    return NULL;
  media = g_new0 (KcSdpMedia, 1);
  media->formats = g_array_new (FALSE, TRUE, sizeof (KcSdpFormat));
  g_array_set_clear_func (media->formats, format_clear);
  media->suites = g_array_new (FALSE, FALSE, sizeof (KcSuite));

  ok = parsed_init (&p, sdp, error);
  m = p.audio;
  if (ok && m->m_port > G_MAXUINT16) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "m=audio port %lu is out of range (0-65535)", m->m_port);
    ok = FALSE;
  }
  if (ok) {
    media->port = (guint16) m->m_port;
    media->secure = m->m_proto == sdp_proto_srtp
                    || (is_feedback_profile (m)
                        && g_ascii_strcasecmp (m->m_proto_name, "RTP/SAVPF") == 0);
    media->direction = modes[m->m_mode & sdp_sendrecv];
    ok = media_connection (m, &media->address, &media->family, error);
    if (ok && is_feedback_profile (m))
      ok = formats_from_attributes (m, media->formats, error);
    for (const sdp_rtpmap_t *rm = m->m_rtpmaps; ok && rm != NULL; rm = rm->rm_next)
      ok = add_format (media->formats, rm->rm_pt, rm->rm_encoding, rm->rm_rate, rm->rm_params,
                       error);
    ok = ok && read_attributes (m, media, error);
  }
  parsed_clear (&p);
  return ok ? g_steal_pointer (&media) : NULL;
}

/* Direction --------------------------------------------------------------- */

static const char * const directions[] = { "sendrecv", "sendonly", "recvonly", "inactive" };

const char *
kc_sdp_direction_to_string (KcSdpDirection direction)
{
  g_return_val_if_fail ((guint) direction < G_N_ELEMENTS (directions), "inactive");
  return directions[direction];
}

gboolean
kc_sdp_direction_sends (KcSdpDirection direction)
{
  return direction == KC_SDP_SENDRECV || direction == KC_SDP_SENDONLY;
}

gboolean
kc_sdp_direction_receives (KcSdpDirection direction)
{
  return direction == KC_SDP_SENDRECV || direction == KC_SDP_RECVONLY;
}

KcSdpDirection
kc_sdp_direction_answer (KcSdpDirection offered,
                         gboolean       hold)
{
  switch (offered) {
  case KC_SDP_SENDRECV:
    return hold ? KC_SDP_SENDONLY : KC_SDP_SENDRECV;
  case KC_SDP_SENDONLY:
    return hold ? KC_SDP_INACTIVE : KC_SDP_RECVONLY;
  case KC_SDP_RECVONLY:
    return KC_SDP_SENDONLY;
  case KC_SDP_INACTIVE:
  default:
    return KC_SDP_INACTIVE;
  }
}

/* Build ------------------------------------------------------------------- */

char *
kc_sdp_media_build (const KcSdpBuild *build)
{
  const char *family;
  GString *sdp;

  g_return_val_if_fail (build != NULL && build->address != NULL, NULL);
  family = ip_family_token (build->address);
  g_return_val_if_fail (family != NULL, NULL);
  g_return_val_if_fail (build->formats != NULL && build->n_formats > 0, NULL);
  g_return_val_if_fail (build->suites != NULL || build->n_suites == 0, NULL);
  g_return_val_if_fail ((guint) build->direction < G_N_ELEMENTS (directions), NULL);
  for (guint i = 0; i < build->n_formats; i++)
    g_return_val_if_fail (build->formats[i].pt <= 127 && build->formats[i].encoding != NULL
                          && build->formats[i].clock_rate > 0, NULL);
  for (guint i = 0; i < build->n_suites; i++)
    g_return_val_if_fail (build->suites[i] >= 0 && build->suites[i] < KC_SUITE_COUNT, NULL);

  sdp = g_string_new ("v=0\r\n");
  g_string_append_printf (sdp, "o=- %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " IN %s %s\r\n",
                          build->session_id,
                          build->session_version ? build->session_version : build->session_id,
                          family, build->address);
  g_string_append_printf (sdp, "s=-\r\nc=IN %s %s\r\nt=0 0\r\n", family, build->address);
  g_string_append_printf (sdp, "m=audio %u RTP/SAVP", build->port);
  for (guint i = 0; i < build->n_formats; i++)
    g_string_append_printf (sdp, " %u", build->formats[i].pt);
  g_string_append (sdp, "\r\n");
  for (guint i = 0; i < build->n_formats; i++) {
    const KcSdpFormat *f = &build->formats[i];

    g_string_append_printf (sdp, "a=rtpmap:%u %s/%u", f->pt, f->encoding, f->clock_rate);
    if (f->channels > 1)
      g_string_append_printf (sdp, "/%u", f->channels);
    g_string_append (sdp, "\r\n");
    if (g_ascii_strcasecmp (f->encoding, "telephone-event") == 0)
      g_string_append_printf (sdp, "a=fmtp:%u 0-16\r\n", f->pt);   /* RFC 4733 DTMF events */
  }
  for (guint i = 0; i < build->n_suites; i++)
    g_string_append_printf (sdp, "%s%s%s", i == 0 ? "a=" KC_SDP_SRTP_ATTRIBUTE ":" : " ",
                            kc_suite_to_string (build->suites[i]),
                            i + 1 == build->n_suites ? "\r\n" : "");
  if (build->ptime > 0)
    g_string_append_printf (sdp, "a=ptime:%u\r\n", build->ptime);
  g_string_append_printf (sdp, "a=%s\r\n", directions[build->direction]);
  return g_string_free (sdp, FALSE);
}

/* Rewrite ----------------------------------------------------------------- */

typedef struct {
  const char *address;
  const char *family;     /* "IP4" or "IP6" */
  guint16     port;
  gboolean    refused;    /* the m=audio has port 0: it stays so */
  gboolean    media_seen; /* past the session part */
  gboolean    audio_seen;
  gboolean    in_audio;   /* inside the first m=audio section */
} Rewrite;

/* o= and c= end in "<nettype> <addrtype> <address>": keep what comes
 * before the address type, write ours and the address, drop the rest
 * (a multicast TTL means nothing for a unicast relay). */
static gboolean
edit_address (GString       *out,
              const char    *line,
              const char    *rest,
              const char    *end,
              guint          skip_words,
              const Rewrite *rw)
{
  const char *addrtype = NULL, *p = rest;

  for (guint i = 0; i < skip_words + 2; i++) {
    if (i == skip_words)
      addrtype = p;
    if (p == end)
      return FALSE;
    p = skip_word (p, end);
  }
  g_string_append_len (out, line, addrtype - line);
  g_string_append_printf (out, "%s %s", rw->family, rw->address);
  return TRUE;
}

static void
edit_line (GString     *out,
           const char  *line,
           const char  *end,
           Rewrite     *rw)
{
  const char *rest = NULL, *p, *digits;
  gboolean done = FALSE;

  switch (line_kind (line, end, &rest)) {
  case 'o':   /* "<user> <id> <version> IN ..."; sofia reads it only before m= */
    done = !rw->media_seen && edit_address (out, line, rest, end, 4, rw);
    break;
  case 'c':
    done = edit_address (out, line, rest, end, 1, rw);
    break;
  case 'm':
    rw->media_seen = TRUE;
    rw->in_audio = !rw->audio_seen && token_is (rest, end, "audio");
    if (!rw->in_audio)
      break;
    rw->audio_seen = TRUE;
    if (rw->refused)
      break;
    /* sofia ends the media type at any non-token byte, then skips blanks. */
    p = skip (rest, end, TOKEN_CHARS, TRUE);
    p = skip (MIN (p + 1, end), end, SP_TAB, TRUE);
    digits = skip (p, end, DIGITS, TRUE);
    if (digits == p)
      break;   /* not a form this edits; rewrite_took() will say so */
    g_string_append_len (out, line, p - line);
    g_string_append_printf (out, "%u", rw->port);
    g_string_append_len (out, digits, end - digits);
    done = TRUE;
    break;
  case 'a':
    if (!rw->in_audio || rw->refused || !token_is (rest, end, "rtcp"))
      break;
    /* RFC 3605 "rtcp:<port> [IN <addrtype> <address>]"; sofia takes any
     * one byte after the name, then any colons, as the separator. */
    p = skip (rest, end, TOKEN_CHARS, TRUE);
    p = skip (MIN (p + 1, end), end, ":", TRUE);
    p = skip_word (skip (p, end, SP_TAB, TRUE), end);
    g_string_append_len (out, line, rest - line);
    g_string_append_printf (out, "rtcp:%u", rw->port + 1);
    if (p < end)
      g_string_append_printf (out, " IN %s %s", rw->family, rw->address);
    done = TRUE;
    break;
  default:
    break;
  }
  if (!done)
    g_string_append_len (out, line, end - line);
}

/* The longest the edited text can be, so that its buffer never grows:
 * a grown GString leaves its old buffer, with any key, unwiped. */
static gsize
rewrite_bound (const char *sdp,
               const char *address)
{
  gsize bound = strlen (sdp) + 1;

  for (const char *p = sdp; *p != '\0';) {
    const char *end = p + strcspn (p, LINE_END), *rest;
    char kind = line_kind (p, end, &rest);

    if (kind != '\0' && strchr ("ocma", kind) != NULL)
      bound += strlen (address) + 32;
    p = end + strspn (end, LINE_END);
  }
  return bound;
}

/* What sofia reads back from the edited text must be what was meant. */
static gboolean
rewrite_took (const char    *text,
              const Rewrite *rw)
{
  g_autofree char *address = NULL;
  GSocketFamily family;
  gboolean ok;
  Parsed p;

  ok = parsed_init (&p, text, NULL) && p.audio->m_port == (rw->refused ? 0 : rw->port)
       && media_connection (p.audio, &address, &family, NULL)
       && strcmp (address, rw->address) == 0;
  for (const sdp_attribute_t *a = ok ? p.audio->m_attributes : NULL; a != NULL; a = a->a_next) {
    guint64 rtcp;

    if (!rw->refused && g_ascii_strcasecmp (a->a_name, "rtcp") == 0)
      ok &= a->a_value != NULL
            && parse_number (a->a_value, strcspn (a->a_value, SP_TAB), 1, 65535, &rtcp)
            && rtcp == (guint64) rw->port + 1;
  }
  parsed_clear (&p);
  return ok;
}

char *
kc_sdp_media_rewrite (const char  *sdp,
                      const char  *address,
                      guint16      port,
                      GError     **error)
{
  Rewrite rw = { address, NULL, port, FALSE, FALSE, FALSE, FALSE };
  GString *out;
  char *text;
  gboolean ok;
  Parsed p;

  g_return_val_if_fail (sdp != NULL && address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_size (sdp, error))
    return NULL;
  if ((rw.family = ip_family_token (address)) == NULL) {
    g_autofree char *what = kc_sdp_media_shown (address, -1);

    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "The media address '%s' is not an IP address", what);
    return NULL;
  }
  if (port == 0 || port == G_MAXUINT16) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "Port %u cannot carry RTP: RTCP needs the next port, so use 1-65534", port);
    return NULL;
  }
  ok = parsed_init (&p, sdp, error);
  rw.refused = ok && p.audio->m_port == 0;
  parsed_clear (&p);
  if (!ok)
    return NULL;

  out = g_string_sized_new (rewrite_bound (sdp, address));
  for (const char *line = sdp; *line != '\0';) {
    const char *end = line + strcspn (line, LINE_END);
    gsize eol = strspn (end, LINE_END);

    edit_line (out, line, end, &rw);
    g_string_append_len (out, end, eol);   /* CRLF, LF or CR, as found */
    line = end + eol;
  }
  text = g_string_free (out, FALSE);
  if (!rewrite_took (text, &rw)) {
    OPENSSL_cleanse (text, strlen (text));
    g_free (text);
    g_set_error_literal (error, KC_ERROR, KC_ERROR_INVALID,
                         "The SDP's m=audio, c= or a=rtcp lines are written in a way this "
                         "rewrite cannot safely edit");
    return NULL;
  }
  return text;
}
