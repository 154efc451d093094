/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "hg-test-cli.h"

typedef struct
{
  gboolean done;
  char    *out;
  char    *err;
  GError  *error;
} Communication;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communication *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err,
                                        &c->error);
  c->done = TRUE;
}

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

HgCliRun *
hg_test_cli_run (const char *const *argv)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) timeout = NULL;
  g_autofree char *command = NULL;
  const char      *cli = g_getenv ("HG_CLI");
  const char      *wrapper = g_getenv ("HG_TEST_WRAPPER");
  g_auto (GStrv) wrapper_argv = NULL;
  Communication c = { 0 };
  gboolean      timed_out = FALSE;
  HgCliRun     *run;

  g_assert_nonnull (cli);

  /* A checker such as valgrind (the "valgrind" test setup) runs the CLI. */
  if (wrapper != NULL && *wrapper != '\0')
    {
      wrapper_argv = g_strsplit (wrapper, " ", -1);
      for (guint i = 0; wrapper_argv[i] != NULL; i++)
        g_ptr_array_add (args, wrapper_argv[i]);
    }
  g_ptr_array_add (args, (gpointer) cli);
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  command = g_strjoinv (" ", (char **) args->pdata);

  /* Standard input is /dev/null: a command that waits for input fails
   * instead of hanging the test. */
  proc = g_subprocess_newv ((const char *const *) args->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  g_assert_no_error (error);

  /* A command that hangs (on a named pipe, say) fails the test with its
   * command line rather than running into meson's timeout. */
  g_main_context_push_thread_default (context);
  timeout = g_timeout_source_new_seconds (wrapper_argv != NULL ? 20 * HG_TEST_CLI_TIMEOUT
                                                               : HG_TEST_CLI_TIMEOUT);
  g_source_set_callback (timeout, on_timeout, &timed_out, NULL);
  g_source_attach (timeout, context);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, on_communicated, &c);
  while (!c.done && !timed_out)
    g_main_context_iteration (context, TRUE);
  if (!c.done)
    {
      g_subprocess_force_exit (proc);
      while (!c.done)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);
  if (timed_out && !g_subprocess_get_if_exited (proc))
    g_error ("'%s' did not finish within %d s: it hangs", command,
             wrapper_argv != NULL ? 20 * HG_TEST_CLI_TIMEOUT : HG_TEST_CLI_TIMEOUT);
  g_assert_no_error (c.error);
  g_assert_true (g_subprocess_get_if_exited (proc));

  run = g_new0 (HgCliRun, 1);
  run->out = c.out;
  run->err = c.err;
  run->exit_code = g_subprocess_get_exit_status (proc);

  return run;
}

HgCliRun *
hg_test_cli_runv (const char *first,
                  ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  return hg_test_cli_run ((const char *const *) args->pdata);
}

void
hg_cli_run_free (HgCliRun *run)
{
  if (run == NULL)
    return;

  g_free (run->out);
  g_free (run->err);
  g_free (run);
}
