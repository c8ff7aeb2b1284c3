/* kc-audio-devices.c: PortAudio's lifetime and its device list, for the
 * device objects of kc-audio-device.c and for the preferences' list.
 *
 * PortAudio is loaded (Pa_Initialize) while any device object or device
 * listing needs it, and reloaded the next time after that, so a device
 * plugged in meanwhile, or a JACK server started, shows up. PortAudio reads
 * its device list only when it loads, and cannot reload under an open
 * stream: kc_audio_refresh_devices() reloads it at once when no stream is
 * open, else when the last one closes; device objects made before a reload
 * find their device again by name when they start.
 */
#define G_LOG_DOMAIN "keycall-audio"

#include "config.h"

#include "kc-audio-device-private.h"
#include "kc-error.h"

#include <pa_jack.h>
#include <portaudio.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define KC_AUDIO_JACK_CLIENT "keycall"

/* ---- PortAudio's lifetime and its noise ---- */

static guint pa_refs;
/* Set once a JACK stream had to be abandoned (its server quit or hung).
 * PortAudio 19.6 cannot drop its dead JACK client: Pa_CloseStream and
 * Pa_Terminate then wait ten minutes for JACK's process thread (measured
 * here). So PortAudio stays loaded for good, and its JACK devices are hidden:
 * JACK audio needs a new Keycall process after that. */
static gboolean jack_lost;
/* Streams open now; a reload asked for meanwhile waits for none. */
static guint open_streams;
static gboolean reload_pending;
/* Bumped each time the device list may have changed (a reload). */
static guint generation = 1;
static GHookList reload_hooks;

typedef void (*KcAlsaErrorHandler) (const char *file, int line, const char *function,
                                    int err, const char *fmt, ...);
typedef int  (*KcAlsaSetHandler)   (KcAlsaErrorHandler handler);
typedef void (*KcJackSetFunction)  (void (*func) (const char *));

static void on_alsa_message (const char *file, int line, const char *function,
                             int err, const char *fmt, ...) G_GNUC_PRINTF (5, 6);

static void
on_alsa_message (const char *file,
                 int         line,
                 const char *function,
                 int         err,
                 const char *fmt,
                 ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, fmt);
  text = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_debug ("ALSA %s: %s%s%s", function, text, err ? ": " : "",
           err ? g_strerror (abs (err)) : "");
}

static void
on_jack_message (const char *text)
{
  g_debug ("JACK: %s", text);
}

/* ALSA and JACK print to stderr while PortAudio probes them (no server, no
 * sound card). Their hooks send that to g_debug instead. PortAudio links
 * both libraries, so the hooks are looked up in what is already loaded
 * rather than linking libasound and libjack ourselves; a PortAudio built
 * without one simply has nothing to silence there. PortAudio replaces JACK's
 * error hook with its own silent one once a JACK server answers. */
static void
silence_backends (void)
{
  KcAlsaSetHandler alsa_set;
  KcJackSetFunction jack_set;

  *(void **) (&alsa_set) = dlsym (RTLD_DEFAULT, "snd_lib_error_set_handler");
  if (alsa_set != NULL)
    alsa_set (on_alsa_message);
  *(void **) (&jack_set) = dlsym (RTLD_DEFAULT, "jack_set_error_function");
  if (jack_set != NULL)
    jack_set (on_jack_message);
  *(void **) (&jack_set) = dlsym (RTLD_DEFAULT, "jack_set_info_function");
  if (jack_set != NULL)
    jack_set (on_jack_message);
}

char *
kc_audio_pa_error_text (PaError err)
{
  if (err == paUnanticipatedHostError)
    {
      const PaHostErrorInfo *host = Pa_GetLastHostErrorInfo ();

      if (host != NULL && host->errorText != NULL && *host->errorText != '\0')
        return g_strdup_printf ("%s (%s)", Pa_GetErrorText (err), host->errorText);
    }
  return g_strdup (Pa_GetErrorText (err));
}

gboolean
kc_audio_pa_ref (GError **error)
{
  PaError err;

  if (pa_refs++ > 0)
    return TRUE;

  silence_backends ();
  /* A name that says who we are in JACK's graph (qjackctl, jack_lsp). */
  PaJack_SetClientName (KC_AUDIO_JACK_CLIENT);
  err = Pa_Initialize ();
  if (err != paNoError)
    {
      g_autofree char *text = kc_audio_pa_error_text (err);

      pa_refs = 0;
      g_set_error (error, KC_ERROR, KC_ERROR_IO,
                   "Cannot start the audio system (PortAudio): %s", text);
      return FALSE;
    }
  return TRUE;
}

void
kc_audio_pa_unref (void)
{
  g_return_if_fail (pa_refs > 0);

  if (--pa_refs == 0 && !jack_lost)
    Pa_Terminate ();
}

gboolean
kc_audio_jack_is_lost (void)
{
  return jack_lost;
}

/* ---- Devices ---- */

static gboolean
is_jack_device (PaDeviceIndex index)
{
  const PaDeviceInfo *info = Pa_GetDeviceInfo (index);
  const PaHostApiInfo *api = info ? Pa_GetHostApiInfo (info->hostApi) : NULL;

  return api != NULL && api->type == paJACK;
}

static gboolean
is_usable (PaDeviceIndex index)
{
  return Pa_GetDeviceInfo (index) != NULL && !(jack_lost && is_jack_device (index));
}

gboolean
kc_audio_is_duplex (PaDeviceIndex index)
{
  const PaDeviceInfo *info = Pa_GetDeviceInfo (index);

  return is_usable (index) && info->maxInputChannels > 0 && info->maxOutputChannels > 0;
}

/* The device kc_audio_device_new (NULL) opens: JACK's when a JACK server
 * answered (it was running at Pa_Initialize), else the default host API's. */
PaDeviceIndex
kc_audio_default_device (void)
{
  PaHostApiIndex api_index = Pa_HostApiTypeIdToHostApiIndex (paJACK);
  const PaHostApiInfo *api = api_index >= 0 ? Pa_GetHostApiInfo (api_index) : NULL;

  if (api == NULL || api->deviceCount == 0 || jack_lost)
    {
      api_index = Pa_GetDefaultHostApi ();
      api = api_index >= 0 ? Pa_GetHostApiInfo (api_index) : NULL;
    }
  if (api == NULL || (jack_lost && api->type == paJACK))
    return paNoDevice;

  if (api->defaultInputDevice != paNoDevice && kc_audio_is_duplex (api->defaultInputDevice))
    return api->defaultInputDevice;
  if (api->defaultOutputDevice != paNoDevice && kc_audio_is_duplex (api->defaultOutputDevice))
    return api->defaultOutputDevice;
  for (int i = 0; i < api->deviceCount; i++)
    {
      PaDeviceIndex index = Pa_HostApiDeviceIndexToDeviceIndex (api_index, i);

      if (index >= 0 && kc_audio_is_duplex (index))
        return index;
    }
  return paNoDevice;
}

void
kc_audio_device_info_free (KcAudioDeviceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->host_api);
  g_free (info);
}

static GPtrArray *
list_loaded_devices (void)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) kc_audio_device_info_free);
  PaDeviceIndex chosen = kc_audio_default_device ();
  int count = Pa_GetDeviceCount ();

  for (int i = 0; i < count; i++)
    {
      const PaDeviceInfo *pa = Pa_GetDeviceInfo (i);
      const PaHostApiInfo *api = pa ? Pa_GetHostApiInfo (pa->hostApi) : NULL;
      KcAudioDeviceInfo *info;

      if (!is_usable (i))
        continue;
      info = g_new0 (KcAudioDeviceInfo, 1);
      info->name = g_strdup (pa->name);
      info->index = i;
      info->host_api = g_strdup (api ? api->name : "?");
      info->max_input_channels = pa->maxInputChannels;
      info->max_output_channels = pa->maxOutputChannels;
      info->is_default = (i == chosen);
      g_ptr_array_add (list, info);
    }
  return list;
}

/**
 * kc_audio_list_devices:
 *
 * Every device PortAudio sees, in PortAudio's order, for a preferences list.
 * Store the name, not the index: indices change when devices come and go.
 *
 * Returns: (transfer full) (element-type KcAudioDeviceInfo): the devices
 */
GPtrArray *
kc_audio_list_devices (GError **error)
{
  GPtrArray *list;

  if (!kc_audio_pa_ref (error))
    return NULL;
  list = list_loaded_devices ();
  kc_audio_pa_unref ();
  return list;
}

/* "“system” (JACK Audio Connection Kit, 2 in, 2 out), …" for error messages. */
char *
kc_audio_describe_devices (void)
{
  g_autoptr(GPtrArray) list = list_loaded_devices ();
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < list->len; i++)
    {
      KcAudioDeviceInfo *info = g_ptr_array_index (list, i);

      g_string_append_printf (text, "%s#%d “%s” (%s, %d in, %d out)", i ? ", " : "",
                              info->index, info->name, info->host_api,
                              info->max_input_channels, info->max_output_channels);
    }
  if (list->len == 0)
    g_string_append (text, "none (no sound card, and no JACK server running)");
  if (jack_lost)
    g_string_append (text, "; JACK devices are gone until Keycall restarts, "
                     "as their server quit during a call");
  return g_string_free (text, FALSE);
}

/* Case-insensitive: exact name first, then substring; JACK's before others
 * when a JACK server runs, then PortAudio's order. */
PaDeviceIndex
kc_audio_find_device_by_name (const char *name,
                              gboolean   *found_half)
{
  g_autofree char *wanted = g_utf8_casefold (name, -1);
  PaDeviceIndex best = paNoDevice;
  int best_score = -1;
  int count = Pa_GetDeviceCount ();

  *found_half = FALSE;
  for (int i = 0; i < count; i++)
    {
      const PaDeviceInfo *info = Pa_GetDeviceInfo (i);
      g_autofree char *have = NULL;
      int score;

      if (!is_usable (i) || info->name == NULL)
        continue;
      have = g_utf8_casefold (info->name, -1);
      if (strstr (have, wanted) == NULL)
        continue;
      if (!kc_audio_is_duplex (i))
        {
          *found_half = TRUE;
          continue;
        }
      score = (strcmp (have, wanted) == 0 ? 2 : 0) + (is_jack_device (i) ? 1 : 0);
      if (score > best_score)
        {
          best = i;
          best_score = score;
        }
    }
  return best;
}

/* ---- Reloading the device list ---- */

static void
run_reload_hook (GHook    *hook,
                 gpointer  data)
{
  (void) data;
  ((KcAudioReloadFunc) hook->func) (hook->data);
}

/* Re-reads PortAudio's device list (no stream is open) and tells who asked
 * to be told. Unloaded, PortAudio has nothing to re-read: the next listing
 * loads it afresh. */
static void
reload_now (void)
{
  reload_pending = FALSE;
  if (pa_refs > 0)
    {
      PaError err;

      Pa_Terminate ();
      silence_backends ();
      PaJack_SetClientName (KC_AUDIO_JACK_CLIENT);
      err = Pa_Initialize ();
      if (err != paNoError)
        {
          /* Devices (and listings) still hold references; they fail with
           * PortAudio's own error until it loads again. Nothing better to
           * do than say so and try at the next reload. */
          g_autofree char *text = kc_audio_pa_error_text (err);

          g_warning ("Audio: reloading the audio system (PortAudio) failed: %s", text);
        }
    }
  generation++;
  g_debug ("audio device list reloaded (generation %u)", generation);
  if (reload_hooks.is_setup)
    g_hook_list_marshal (&reload_hooks, FALSE, run_reload_hook, NULL);
}

/**
 * kc_audio_refresh_devices:
 *
 * Makes PortAudio read its device list again, so devices plugged in or
 * removed since it loaded show up in kc_audio_list_devices(). PortAudio can
 * only do that while no stream is open: with one open, the reload waits
 * until the last stream stops. The functions added with
 * kc_audio_add_reload_notify() run after the reload either way. After a
 * JACK server was lost mid-call PortAudio cannot reload at all (see
 * jack_lost), and nothing happens.
 *
 * Returns: %TRUE when the list was read again now, %FALSE when the reload
 *   waits for a stream to stop (or cannot happen)
 */
gboolean
kc_audio_refresh_devices (void)
{
  if (jack_lost)
    {
      g_debug ("not reloading the audio devices: a lost JACK server holds PortAudio");
      return FALSE;
    }
  if (open_streams > 0)
    {
      reload_pending = TRUE;
      return FALSE;
    }
  reload_now ();
  return TRUE;
}

gboolean
kc_audio_refresh_is_pending (void)
{
  return reload_pending;
}

guint
kc_audio_get_open_streams (void)
{
  return open_streams;
}

guint
kc_audio_get_generation (void)
{
  return generation;
}

/**
 * kc_audio_add_reload_notify:
 * @func: called on the main thread after each reload of the device list
 *
 * Returns: an id for kc_audio_remove_reload_notify()
 */
gulong
kc_audio_add_reload_notify (KcAudioReloadFunc func,
                            gpointer          user_data)
{
  GHook *hook;

  g_return_val_if_fail (func != NULL, 0);

  if (!reload_hooks.is_setup)
    g_hook_list_init (&reload_hooks, sizeof (GHook));
  hook = g_hook_alloc (&reload_hooks);
  hook->func = (gpointer) func;
  hook->data = user_data;
  g_hook_append (&reload_hooks, hook);
  return hook->hook_id;
}

void
kc_audio_remove_reload_notify (gulong id)
{
  if (id != 0 && reload_hooks.is_setup)
    g_hook_destroy (&reload_hooks, id);
}

void
kc_audio_stream_opened (void)
{
  open_streams++;
}

/* A stream was closed (or abandoned): the last one lets a waiting reload
 * happen. */
void
kc_audio_stream_closed (void)
{
  g_return_if_fail (open_streams > 0);

  if (--open_streams > 0 || !reload_pending)
    return;
  /* Never after a lost JACK server: Pa_Terminate would wait on its dead
   * client for minutes (see jack_lost); the list stays as it is. */
  if (jack_lost)
    reload_pending = FALSE;
  else
    reload_now ();
}

/* A JACK stream could not be closed: its server is gone (see jack_lost). */
void
kc_audio_stream_abandoned (void)
{
  jack_lost = TRUE;
  kc_audio_stream_closed ();
}
