/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "hg-cli.h"
#include "histoguard/histoguard.h"

void
hg_cli_error (const char *what,
              const char *format,
              ...)
{
  g_autofree char *why = NULL;
  va_list          args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);

  if (what != NULL)
    fprintf (stderr, "histoguard-cli: %s: %s\n", what, why);
  else
    fprintf (stderr, "histoguard-cli: %s\n", why);
}

gboolean
hg_cli_parse (GOptionContext *context,
              const char     *command,
              int            *argc,
              char         ***argv)
{
  g_autoptr (GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      hg_cli_error (command, _ ("%s (see 'histoguard-cli %s --help')"), error->message, command);
      return FALSE;
    }

  return TRUE;
}

gboolean
hg_cli_stderr_is_tty (void)
{
  return isatty (STDERR_FILENO);
}

static gboolean
on_interrupt (gpointer user_data)
{
  GCancellable *cancellable = user_data;

  if (g_cancellable_is_cancelled (cancellable))
    {
      /* A second Ctrl-C: stop now. Files are written atomically, so what
       * is on disk is whole either way. */
      g_autofree char *msg = g_strdup_printf ("\nhistoguard-cli: %s\n", _ ("interrupted again, exiting now"));

      if (write (STDERR_FILENO, msg, strlen (msg)) < 0)
        {
        }
      _exit (HG_CLI_EXIT_INTERRUPTED);
    }
  g_cancellable_cancel (cancellable);
  return G_SOURCE_CONTINUE;
}

static gpointer
interrupt_thread (gpointer data)
{
  g_main_loop_run (data);
  return NULL;
}

GCancellable *
hg_cli_cancel_on_interrupt (void)
{
  static GCancellable *cancellable;
  static gsize         once;

  if (g_once_init_enter (&once))
    {
      /* GLib's signal sources catch the signal in whichever thread it hits
       * and dispatch on this loop's thread, where cancelling is safe. */
      GMainContext *context = g_main_context_new ();
      GMainLoop    *loop = g_main_loop_new (context, FALSE);

      cancellable = g_cancellable_new ();
      for (int sig = 0; sig < 2; sig++)
        {
          GSource *source = g_unix_signal_source_new (sig == 0 ? SIGINT : SIGTERM);

          g_source_set_callback (source, on_interrupt, cancellable, NULL);
          g_source_attach (source, context);
          g_source_unref (source);
        }
      g_thread_unref (g_thread_new ("hg-signals", interrupt_thread, loop));
      g_main_context_unref (context);
      g_once_init_leave (&once, 1);
    }
  return cancellable;
}

void
hg_cli_set_threads (int threads)
{
  hg_threads_set (threads, 1);
}
