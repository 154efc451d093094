/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

static const HgCliCommand commands[] = {
  { "attack", N_ ("Craft an adversarial version of one patch and show what it does"), hg_cli_attack },
  { "eval", N_ ("Measure robustness: models × defences × attacks × ε, with intervals"), hg_cli_eval },
  { "heatmap", N_ ("Classify every tile of a slide: heatmap picture, CSV and GeoJSON"), hg_cli_heatmap },
  { "info", N_ ("Print what a model file holds, as JSON"), hg_cli_info },
  { "predict", N_ ("Classify patch images with a model, one JSON line each"), hg_cli_predict },
  { "slide-info", N_ ("Describe a slide: levels, microns per pixel, associated images"), hg_cli_slide_info },
  { "train", N_ ("Train a classifier on patches, optionally adversarially"), hg_cli_train },
  { NULL, NULL, NULL },
};

static void
print_help (FILE *out)
{
  fprintf (out, "%s\n\n%s\n\n%s\n",
           _ ("Usage: histoguard-cli COMMAND [OPTION…]"),
           _ ("Batch work for Histoguard: models, attacks, defences and slides."),
           _ ("Commands:"));
  for (const HgCliCommand *c = commands; c->name != NULL; c++)
    fprintf (out, "  %-12s %s\n", c->name, _ (c->summary));
  fprintf (out, "\n%s\n  %-14s %s\n  %-14s %s\n\n%s\n",
           _ ("Options:"),
           "-h, --help", _ ("Show this help"),
           "--version", _ ("Show the version"),
           _ ("Run 'histoguard-cli COMMAND --help' for a command's options."));
}

int
main (int   argc,
      char *argv[])
{
  const char *name;
  const char *localedir;

  setlocale (LC_ALL, "");
  /* An uninstalled build (build-aux/run.sh, the tests) reads its
   * translations from the build tree. */
  localedir = g_getenv ("HISTOGUARD_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("histoguard-cli");

  if (argc < 2)
    {
      print_help (stderr);
      return HG_CLI_EXIT_USAGE;
    }

  name = argv[1];

  if (strcmp (name, "-h") == 0 || strcmp (name, "--help") == 0 || strcmp (name, "help") == 0)
    {
      print_help (stdout);
      return HG_CLI_EXIT_OK;
    }

  if (strcmp (name, "--version") == 0)
    {
      printf ("histoguard-cli %s\n", hg_version ());
      return HG_CLI_EXIT_OK;
    }

  if (name[0] == '-')
    {
      hg_cli_error (NULL, _ ("unknown option '%s' (see 'histoguard-cli --help')"), name);
      return HG_CLI_EXIT_USAGE;
    }

  for (const HgCliCommand *c = commands; c->name != NULL; c++)
    if (strcmp (c->name, name) == 0)
      return c->run (argc - 1, argv + 1);

  hg_cli_error (NULL, _ ("unknown command '%s' (see 'histoguard-cli --help')"), name);
  return HG_CLI_EXIT_USAGE;
}
