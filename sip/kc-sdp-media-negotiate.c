/* kc-sdp-media-negotiate.c: answering an SDP offer: the first codec of
 * ours the offer has (at its proper clock rate), its telephone-event, and
 * an SRTP suite both sides enable.
 */
#define G_LOG_DOMAIN "kc-sdp-media"

#include "config.h"

#include "kc-sdp-media-private.h"
#include "kc-error.h"

#include <string.h>

/* How many offered codecs an error message names. */
#define LISTED_MAX  8

void
kc_sdp_choice_clear (KcSdpChoice *choice)
{
  g_return_if_fail (choice != NULL);

  g_free (choice->audio.encoding);
  memset (choice, 0, sizeof *choice);
  choice->dtmf_pt = -1;
  choice->suite = KC_SUITE_DEFAULT;
}

/* The clock rate each codec Keycall knows must have (RFC 7587, RFC 3551):
 * "opus/8000" would make the decoder run at the wrong speed. */
static gboolean
rate_fits (const KcSdpFormat *f)
{
  static const struct { const char *encoding; guint rate; } rates[] = {
    { "opus", 48000 }, { "PCMU", 8000 }, { "PCMA", 8000 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rates); i++)
    if (g_ascii_strcasecmp (f->encoding, rates[i].encoding) == 0)
      return f->clock_rate == rates[i].rate;
  return TRUE;
}

static gboolean
is_dtmf (const KcSdpFormat *f)
{
  return g_ascii_strcasecmp (f->encoding, "telephone-event") == 0;
}

static gboolean
suite_in (KcSuite        suite,
          const KcSuite *suites,
          guint          n_suites)
{
  for (guint i = 0; i < n_suites; i++)
    if (suites[i] == suite)
      return TRUE;
  return FALSE;
}

/* "opus/48000, PCMU/8000" */
static char *
list_codecs (const KcSdpMedia *offer)
{
  GString *text = g_string_new (NULL);
  guint n = 0;

  for (guint i = 0; i < offer->formats->len; i++) {
    const KcSdpFormat *f = &g_array_index (offer->formats, KcSdpFormat, i);
    g_autofree char *name = kc_sdp_media_shown (f->encoding, -1);

    if (is_dtmf (f))
      continue;
    if (n++ == LISTED_MAX) {
      g_string_append (text, ", …");
      break;
    }
    g_string_append_printf (text, "%s%s/%u", text->len > 0 ? ", " : "", name, f->clock_rate);
  }
  return g_string_free (text, FALSE);
}

static char *
list_suites (const KcSuite *suites,
             guint          n_suites)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n_suites; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", kc_suite_to_string (suites[i]));
  return g_string_free (text, FALSE);
}

gboolean
kc_sdp_media_negotiate (const KcSdpMedia   *offer,
                        const char * const *encodings,
                        const KcSuite      *suites,
                        guint               n_suites,
                        KcSdpChoice        *choice,
                        GError            **error)
{
  const GArray *formats, *offered_suites;
  const KcSdpFormat *audio = NULL;
  KcSuite suite = KC_SUITE_INVALID;
  gint dtmf_pt = -1;

  g_return_val_if_fail (offer != NULL && encodings != NULL && choice != NULL, FALSE);
  g_return_val_if_fail (suites != NULL || n_suites == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  formats = offer->formats;
  offered_suites = offer->suites;

  if (!offer->secure || offer->port == 0) {
    g_set_error_literal (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                         !offer->secure ? "The offer's audio is not RTP/SAVP; a Keycall phone "
                                          "sends audio only over SRTP"
                                        : "The offer disables its audio stream (m=audio port 0)");
    return FALSE;
  }

  for (guint i = 0; encodings[i] != NULL && audio == NULL; i++)
    for (guint j = 0; j < formats->len && audio == NULL; j++) {
      const KcSdpFormat *f = &g_array_index (formats, KcSdpFormat, j);

      if (g_ascii_strcasecmp (f->encoding, encodings[i]) == 0 && !is_dtmf (f) && rate_fits (f))
        audio = f;
    }
  if (audio == NULL) {
    g_autofree char *offered = list_codecs (offer);
    g_autofree char *ours = g_strjoinv (", ", (char **) encodings);

    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "None of the offered codecs (%s) is one this phone uses (%s)",
                 *offered ? offered : "none", *ours ? ours : "none");
    return FALSE;
  }
  /* RFC 4733 section 2.1: events on the clock of the audio they go with. */
  for (guint j = 0; j < formats->len && dtmf_pt < 0; j++) {
    const KcSdpFormat *f = &g_array_index (formats, KcSdpFormat, j);

    if (is_dtmf (f) && f->clock_rate == audio->clock_rate)
      dtmf_pt = (gint) f->pt;
  }

  if (!offer->srtp_listed && suite_in (KC_SUITE_DEFAULT, suites, n_suites))
    suite = KC_SUITE_DEFAULT;
  for (guint i = 0; i < offered_suites->len && suite == KC_SUITE_INVALID; i++)
    if (suite_in (g_array_index (offered_suites, KcSuite, i), suites, n_suites))
      suite = g_array_index (offered_suites, KcSuite, i);
  if (suite == KC_SUITE_INVALID) {
    g_autofree char *ours = list_suites (suites, n_suites);
    g_autofree char *offered = NULL;

    if (!offer->srtp_listed)
      offered = g_strdup_printf ("none listed, so %s", kc_suite_to_string (KC_SUITE_DEFAULT));
    else if (offered_suites->len == 0)
      offered = g_strdup ("only suites unknown to this phone");
    else
      offered = list_suites ((const KcSuite *) offered_suites->data, offered_suites->len);
    g_set_error (error, KC_ERROR, KC_ERROR_UNSUPPORTED,
                 "None of the offered SRTP suites (%s) is enabled on this phone (%s)",
                 offered, *ours ? ours : "none");
    return FALSE;
  }

  choice->audio = *audio;
  choice->audio.encoding = g_strdup (audio->encoding);
  choice->dtmf_pt = dtmf_pt;
  choice->suite = suite;
  return TRUE;
}
