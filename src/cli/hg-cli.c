/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "hg-cli.h"

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
      hg_cli_error (command, "%s (see 'histoguard-cli %s --help')", error->message, command);
      return FALSE;
    }

  return TRUE;
}

gboolean
hg_cli_stderr_is_tty (void)
{
  return isatty (STDERR_FILENO);
}
