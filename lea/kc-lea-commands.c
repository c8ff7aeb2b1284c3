/* kc-lea-commands.c: see kc-lea-commands.h.
 *
 * The stream is read asynchronously in the main loop (GUnixInputStream
 * polls a non-blocking descriptor), one line at a time; the actions say
 * themselves what is wrong with a request, this file only splits lines.
 */
#define G_LOG_DOMAIN "keycall-lea"

#include "config.h"

#include "kc-lea-commands.h"

#include "kc-error.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <string.h>
#include <unistd.h>

struct _KcLeaCommands {
  GDataInputStream   *in;
  GCancellable       *cancel;
  char               *only_controller;
  KcLeaCommandTap     tap;
  KcLeaCommandStop    stop;
  KcLeaCommandRefused refused;
  gpointer            user_data;
};

static void read_next (KcLeaCommands *self);

static gboolean
run_line (KcLeaCommands *self, char *line, GError **error)
{
  gboolean is_tap = g_str_has_prefix (line, "tap ");
  char *body, *at, *colon;
  const char *controller;

  if (!is_tap && !g_str_has_prefix (line, "stop ")) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "unknown command; use “tap NUMBER[:future|current]@CONTROLLER” or "
                 "“stop TAP@CONTROLLER”");
    return FALSE;
  }
  body = g_strstrip (line + (is_tap ? 4 : 5));
  at = strrchr (body, '@');
  if (at != NULL)
    *at = '\0';
  controller = at != NULL ? at + 1 : self->only_controller;
  if (controller == NULL) {
    g_set_error (error, KC_ERROR, KC_ERROR_INVALID,
                 "name the controller after “@”: this run has more than one");
    return FALSE;
  }
  if (!is_tap)
    return self->stop (controller, body, self->user_data, error);
  colon = strchr (body, ':');
  if (colon != NULL)
    *colon = '\0';
  return self->tap (controller, colon ? colon + 1 : "future", body, self->user_data, error);
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, &error);
  KcLeaCommands *self = user_data;
  g_autofree char *copy = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* freed */
  if (line == NULL) {
    if (error != NULL)
      self->refused ("", error->message, self->user_data);
    return;   /* end of input: the program keeps running */
  }
  g_strstrip (line);
  copy = g_strdup (line);
  if (*line != '\0' && !run_line (self, line, &error))
    self->refused (copy, error->message, self->user_data);
  read_next (self);
}

static void
read_next (KcLeaCommands *self)
{
  g_data_input_stream_read_line_async (self->in, G_PRIORITY_DEFAULT, self->cancel, on_line,
                                       self);
}

KcLeaCommands *
kc_lea_commands_new (const char          *path,
                     const char          *only_controller,
                     KcLeaCommandTap      tap,
                     KcLeaCommandStop     stop,
                     KcLeaCommandRefused  refused,
                     gpointer             user_data,
                     GError             **error)
{
  KcLeaCommands *self;
  g_autoptr(GInputStream) in = NULL;
  int fd;

  g_return_val_if_fail (path != NULL && tap != NULL && stop != NULL && refused != NULL, NULL);

  fd = g_strcmp0 (path, "-") == 0 ? STDIN_FILENO : open (path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int saved = errno;

    g_set_error (error, KC_ERROR, KC_ERROR_IO, "cannot open %s: %s", path, g_strerror (saved));
    return NULL;
  }
  in = g_unix_input_stream_new (fd, fd != STDIN_FILENO);
  self = g_new0 (KcLeaCommands, 1);
  self->in = g_data_input_stream_new (in);
  self->cancel = g_cancellable_new ();
  self->only_controller = g_strdup (only_controller);
  self->tap = tap;
  self->stop = stop;
  self->refused = refused;
  self->user_data = user_data;
  read_next (self);
  return self;
}

void
kc_lea_commands_free (KcLeaCommands *self)
{
  if (self == NULL)
    return;
  /* The pending read finishes as cancelled and touches nothing. */
  g_cancellable_cancel (self->cancel);
  g_clear_object (&self->cancel);
  g_clear_object (&self->in);
  g_free (self->only_controller);
  g_free (self);
}
