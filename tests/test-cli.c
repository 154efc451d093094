/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "histoguard/histoguard.h"

#include "hg-test-cli.h"

static void
test_cli_help (void)
{
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("--help", NULL);

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_true (g_str_has_prefix (run->out, "Usage: histoguard-cli COMMAND"));
  g_assert_cmpstr (run->err, ==, "");
}

static void
test_cli_version (void)
{
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("--version", NULL);
  g_autofree char *expected = g_strdup_printf ("histoguard-cli %s\n", hg_version ());

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_cmpstr (run->out, ==, expected);
}

static void
test_cli_no_arguments (void)
{
  g_autoptr (HgCliRun) run = hg_test_cli_runv (NULL, NULL);

  g_assert_cmpint (run->exit_code, ==, 2);
  g_assert_true (g_str_has_prefix (run->err, "Usage: histoguard-cli"));
}

static void
test_cli_unknown_command (void)
{
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("frobnicate", NULL);

  g_assert_cmpint (run->exit_code, ==, 2);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_cmpstr (run->err, ==,
                   "histoguard-cli: unknown command 'frobnicate' (see 'histoguard-cli --help')\n");
}

static void
test_cli_unknown_option (void)
{
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("--frobnicate", NULL);

  g_assert_cmpint (run->exit_code, ==, 2);
  g_assert_cmpstr (run->err, ==,
                   "histoguard-cli: unknown option '--frobnicate' (see 'histoguard-cli --help')\n");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/cli/help", test_cli_help);
  g_test_add_func ("/hg/cli/version", test_cli_version);
  g_test_add_func ("/hg/cli/no-arguments", test_cli_no_arguments);
  g_test_add_func ("/hg/cli/unknown-command", test_cli_unknown_command);
  g_test_add_func ("/hg/cli/unknown-option", test_cli_unknown_option);

  return g_test_run ();
}
