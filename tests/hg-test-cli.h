/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Runs the built histoguard-cli ($HG_CLI) and captures what it printed. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  int   exit_code;
  char *out;
  char *err;
} HgCliRun;

/* A run that takes longer fails the test (it hangs). */
#define HG_TEST_CLI_TIMEOUT 120

/* argv is NULL-terminated and excludes the program name. */
HgCliRun *hg_test_cli_run (const char *const *argv);
HgCliRun *hg_test_cli_runv (const char *first,
                            ...) G_GNUC_NULL_TERMINATED;
void      hg_cli_run_free (HgCliRun *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgCliRun, hg_cli_run_free)

G_END_DECLS
