/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Exit codes shared by every subcommand. */
enum
{
  HG_CLI_EXIT_OK = 0,
  HG_CLI_EXIT_FAILURE = 1,       /* the command ran and something went wrong */
  HG_CLI_EXIT_USAGE = 2,         /* the command line itself is wrong */
  HG_CLI_EXIT_INTERRUPTED = 130, /* Ctrl-C (SIGINT) or SIGTERM, as shells report it */
};

typedef struct
{
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
} HgCliCommand;

/* Prints "histoguard-cli: <what>: <why>" to stderr. */
void hg_cli_error (const char *what,
                   const char *format,
                   ...) G_GNUC_PRINTF (2, 3);
/* Parses argv with context; on failure prints the error and returns FALSE. */
gboolean hg_cli_parse (GOptionContext *context,
                       const char     *command,
                       int            *argc,
                       char         ***argv);
gboolean hg_cli_stderr_is_tty (void);
/* A cancellable that the first SIGINT or SIGTERM cancels; a second one
 * exits at once with HG_CLI_EXIT_INTERRUPTED. */
GCancellable *hg_cli_cancel_on_interrupt (void);
/* --threads N: N compute threads in all, one per core when N is 0.
 * OpenBLAS stays on one thread even when N is 1, so that two runs with
 * --threads 1 share a 2-core machine without either spilling onto the
 * other's core. */
void hg_cli_set_threads (int threads);

/* Subcommands, one per hg-cli-<name>.c. */
int hg_cli_attack (int    argc,
                   char **argv);
int hg_cli_eval (int    argc,
                 char **argv);
int hg_cli_slide_info (int    argc,
                       char **argv);
int hg_cli_heatmap (int    argc,
                    char **argv);
int hg_cli_info (int    argc,
                 char **argv);
int hg_cli_predict (int    argc,
                    char **argv);
int hg_cli_train (int    argc,
                  char **argv);

G_END_DECLS
