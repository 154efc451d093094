/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "hg-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (HgApplication) app = NULL;
  const char *localedir;

  setlocale (LC_ALL, "");
  /* An uninstalled build (build-aux/run.sh, the tests) reads its
   * translations from the build tree. */
  localedir = g_getenv ("HISTOGUARD_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_ ("Histoguard"));

  app = hg_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
