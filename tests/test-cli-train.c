/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-cli.h"

static char *root, *splits, *scratch;

static char *
scratch_file (const char *name)
{
  return g_build_filename (scratch, name, NULL);
}

/* ---- train: the command line -------------------------------------------- */

static void
test_train_usage_errors (void)
{
  static const struct
  {
    const char *args[4];
    const char *message;
  } cases[] = {
    { { "--epochs", "0" }, "--epochs must be from 1 to" },
    { { "--epochs", "many" }, "Cannot parse integer value “many” for --epochs" },
    { { "--batch", "1" }, "--batch must be from 2 to" },
    { { "--lr", "-0.1" }, "--lr must be above 0" },
    { { "--adv", "pgdd" }, "--adv must be none, fgsm, fgsm-rs, pgd or trades, not 'pgdd'" },
    { { "--eps", "-4" }, "--eps must be above 0" },
    { { "--eps", "300" }, "--eps must be above 0 and at most 255" },
    { { "--steps", "0" }, "--steps must be from 1 to 1000" },
    { { "--mix", "1.5" }, "--mix must be from 0 to 1" },
    { { "--beta", "0" }, "--beta must be above 0" },
    { { "--select", "best" }, "--select must be clean, robust or mean" },
    { { "--select", "robust" }, "--select robust needs a robustness check" },
    { { "--layout", "flat" }, "--layout must be auto, idc or folders" },
    { { "--on-error", "ignore" }, "--on-error must be fail or skip" },
    { { "--optimizer", "lbfgs" }, "--optimizer must be sgd or adam" },
    { { "--schedule", "wavy" }, "--schedule must be one-cycle, cosine, step or constant" },
    { { "--final-eps", "4,x" }, "--final-eps: 'x' is not an ε" },
    { { "--stain", "0.1" }, "--stain must be SCALE,SHIFT" },
    { { "--stain", "0.1,2" }, "--stain: '2' is not a number from 0 to 1" },
    { { "--threads", "-1" }, "--threads must be from 0" },
    { { "--arch", "lenet" }, "--arch: " },
    { { "--frobnicate" }, "Unknown option --frobnicate" },
    { { "extra" }, "unexpected argument 'extra'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      g_autoptr (HgCliRun) run = NULL;

      g_ptr_array_add (argv, (gpointer) "train");
      g_ptr_array_add (argv, (gpointer) "--data");
      g_ptr_array_add (argv, root);
      g_ptr_array_add (argv, (gpointer) "--out");
      g_ptr_array_add (argv, (gpointer) "/nonexistent/never-written.safetensors");
      for (guint j = 0; j < 4 && cases[i].args[j] != NULL; j++)
        g_ptr_array_add (argv, (gpointer) cases[i].args[j]);
      g_ptr_array_add (argv, NULL);

      run = hg_test_cli_run ((const char *const *) argv->pdata);
      g_test_message ("%s → %s", cases[i].args[0], run->err);
      g_assert_cmpint (run->exit_code, ==, 2);
      g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: train: "));
      g_assert_nonnull (strstr (run->err, cases[i].message));
      g_assert_cmpstr (run->out, ==, "");
    }
}

static void
test_train_required (void)
{
  g_autoptr (HgCliRun) no_data = hg_test_cli_runv ("train", "--out", "x.safetensors", NULL);
  g_autoptr (HgCliRun) no_out = hg_test_cli_runv ("train", "--data", root, NULL);
  g_autoptr (HgCliRun) help = hg_test_cli_runv ("train", "--help", NULL);

  g_assert_cmpint (no_data->exit_code, ==, 2);
  g_assert_nonnull (strstr (no_data->err, "--data DIR is required"));
  g_assert_cmpint (no_out->exit_code, ==, 2);
  g_assert_nonnull (strstr (no_out->err, "--out MODEL is required"));
  g_assert_cmpint (help->exit_code, ==, 0);
  g_assert_nonnull (strstr (help->out, "--adv"));
  g_assert_nonnull (strstr (help->out, "1/255"));
}

static void
test_train_data_errors (void)
{
  g_autofree char *out = scratch_file ("never.safetensors");
  g_autofree char *bad_splits = scratch_file ("bad-splits.tsv");
  g_autoptr (HgCliRun) missing = NULL;
  g_autoptr (HgCliRun) patients = NULL;
  g_autoptr (HgCliRun) classes = NULL;

  missing = hg_test_cli_runv ("train", "--data", "/nonexistent/patches", "--out", out, NULL);
  g_assert_cmpint (missing->exit_code, ==, 1);
  g_assert_cmpstr (missing->err, ==, "histoguard-cli: train: /nonexistent/patches: no such folder\n");

  g_assert_true (g_file_set_contents (bad_splits, "patient\tsplit\n9320\ttrain\n12930\tval\n", -1, NULL));
  patients = hg_test_cli_runv ("train", "--data", root, "--splits", bad_splits, "--out", out, NULL);
  g_assert_cmpint (patients->exit_code, ==, 1);
  g_assert_nonnull (strstr (patients->err, "3 patients of"));
  g_assert_nonnull (strstr (patients->err, "are not in the split file: 12749, 16552, 8864"));

  classes = hg_test_cli_runv ("train", "--data", root, "--arch", "cnn:classes=3", "--out", out, NULL);
  g_assert_cmpint (classes->exit_code, ==, 1);
  g_assert_nonnull (strstr (classes->err, "has 2 classes but the architecture 'cnn:classes=3' has 3"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* ---- train, info and predict on the fixtures ---------------------------- */

static JsonObject *
parse_object (const char *text,
              JsonParser *parser)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_train_predict (void)
{
  g_autofree char *out = scratch_file ("tiny.safetensors");
  g_autofree char *last_line = NULL;
  g_autofree char *img0 = g_build_filename (root, "12749", "0", "12749_idx5_x1001_y701_class0.png", NULL);
  g_autofree char *img1 = g_build_filename (root, "12749", "1", "12749_idx5_x2451_y1701_class1.png", NULL);
  g_autofree char *corrupt = scratch_file ("corrupt.png");
  g_autoptr (HgCliRun) train = NULL;
  g_autoptr (HgCliRun) predict = NULL;
  g_autoptr (HgCliRun) predict_bad = NULL;
  g_autoptr (HgCliRun) predict_usage = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (HgModel) model = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  JsonObject *summary, *test_metrics;

  train = hg_test_cli_runv ("train", "--data", root, "--splits", splits, "--arch", "cnn:width=8",
                            "--epochs", "3", "--batch", "16", "--seed", "3", "--threads", "1",
                            "--final-eval", "--final-eps", "4", "--out", out, NULL);
  g_test_message ("%s%s", train->out, train->err);
  g_assert_cmpint (train->exit_code, ==, 0);

  /* Epoch lines, then one JSON line. */
  lines = g_strsplit (g_strstrip (train->out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_true (g_str_has_prefix (lines[0], "epoch 1/3  loss "));
  g_assert_nonnull (strstr (lines[0], " val acc "));
  g_assert_nonnull (strstr (lines[0], "*best"));
  summary = parse_object (lines[3], parser);
  g_assert_cmpstr (json_object_get_string_member (summary, "out"), ==, out);
  g_assert_cmpint (json_object_get_int_member (summary, "epochs_run"), ==, 3);
  test_metrics = json_object_get_object_member (summary, "test");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (test_metrics, "clean"), "n"), ==, 10);
  g_assert_true (json_object_has_member (json_object_get_object_member (test_metrics, "pgd20"), "4"));
  g_assert_true (json_object_has_member (json_object_get_object_member (test_metrics, "fgsm"), "4"));

  /* The file carries its provenance. */
  model = hg_model_load (out, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (hg_model_get_metadata (model, "command"), "histoguard-cli train --data "));
  g_assert_cmpstr (hg_model_get_metadata (model, "seed"), ==, "3");
  g_assert_cmpstr (hg_model_get_metadata (model, "epochs"), ==, "3");
  g_assert_nonnull (hg_model_get_metadata (model, "best_epoch"));
  g_assert_nonnull (hg_model_get_metadata (model, "train_seconds"));
  g_assert_nonnull (strstr (hg_model_get_metadata (model, "data"), "\"patients\":3"));
  g_assert_nonnull (strstr (hg_model_get_metadata (model, "val_metrics"), "\"selection\""));
  g_assert_nonnull (strstr (hg_model_get_metadata (model, "test_metrics"), "\"pgd20\""));
  g_assert_nonnull (strstr (hg_model_get_metadata (model, "recipe"), "\"adv\":\"none\""));
  g_assert_cmpstr (hg_model_get_class_name (model, 1), ==, "IDC");
  /* --threads 1 is one compute thread in all: OpenBLAS too. */
  g_assert_nonnull (strstr (hg_model_get_metadata (model, "train_machine"), "\"threads\": 1, \"blas_threads\": 1,"));
  /* It names the processor, as a string, where /proc/cpuinfo does. */
  {
    g_autoptr (JsonParser) machine_parser = json_parser_new ();
    JsonObject      *machine = parse_object (hg_model_get_metadata (model, "train_machine"), machine_parser);
    g_autofree char *cpuinfo = NULL;

    g_assert_true (json_object_has_member (machine, "cpu"));
    if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL) && strstr (cpuinfo, "\nmodel name") != NULL)
      {
        const char *cpu = json_object_get_string_member (machine, "cpu");

        g_assert_nonnull (cpu);
        g_assert_cmpuint (strlen (cpu), >, 0);
        g_assert_nonnull (strstr (cpuinfo, cpu));
      }
  }

  /* predict: one line per readable image, in order; the bad one on stderr. */
  predict = hg_test_cli_runv ("predict", "--model", out, img0, img1, NULL);
  g_assert_cmpint (predict->exit_code, ==, 0);
  g_clear_pointer (&lines, g_strfreev);
  lines = g_strsplit (g_strstrip (predict->out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonObject *o = parse_object (lines[i], p);
      JsonObject *probs = json_object_get_object_member (o, "probs");
      double      p0 = json_object_get_double_member (probs, "non-IDC");
      double      p1 = json_object_get_double_member (probs, "IDC");
      const char *label = json_object_get_string_member (o, "label");

      g_assert_cmpstr (json_object_get_string_member (o, "file"), ==, i == 0 ? img0 : img1);
      g_assert_cmpfloat_with_epsilon (p0 + p1, 1.0, 1e-5);
      g_assert_cmpstr (label, ==, p1 > p0 ? "IDC" : "non-IDC");
    }

  g_assert_true (g_file_set_contents (corrupt, "\x89PNG\r\n\x1a\nnot really", -1, NULL));
  predict_bad = hg_test_cli_runv ("predict", "--model", out, corrupt, img1, NULL);
  g_assert_cmpint (predict_bad->exit_code, ==, 1);
  g_assert_true (g_str_has_prefix (predict_bad->err, "histoguard-cli: predict: "));
  g_assert_nonnull (strstr (predict_bad->err, corrupt));
  g_assert_nonnull (strstr (predict_bad->out, img1));

  predict_usage = hg_test_cli_runv ("predict", img1, NULL);
  g_assert_cmpint (predict_usage->exit_code, ==, 2);
  g_assert_nonnull (strstr (predict_usage->err, "--model MODEL is required"));
}

static void
test_predict_errors (void)
{
  g_autoptr (HgCliRun) no_images = hg_test_cli_runv ("predict", "--model", "m.safetensors", NULL);
  g_autoptr (HgCliRun) no_model = hg_test_cli_runv ("predict", "--model", "/nonexistent.safetensors", "x.png", NULL);

  g_assert_cmpint (no_images->exit_code, ==, 2);
  g_assert_nonnull (strstr (no_images->err, "no IMAGE given"));
  g_assert_cmpint (no_model->exit_code, ==, 1);
  g_assert_true (g_str_has_prefix (no_model->err, "histoguard-cli: predict: "));
}

/* ---- Ctrl-C -------------------------------------------------------------- */

static gboolean
on_timeout (gpointer data)
{
  g_error ("training did not write its first model in time");
  return G_SOURCE_REMOVE;
}

static void
test_train_interrupt (void)
{
  g_autofree char *out = scratch_file ("interrupted.safetensors");
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  guint            timeout;

  /* Many epochs: it is still training when interrupted. */
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                           g_getenv ("HG_CLI"), "train", "--data", root, "--splits", splits,
                           "--arch", "cnn:width=4", "--epochs", "100000", "--batch", "16",
                           "--threads", "1", "--out", out, NULL);
  g_assert_no_error (error);

  /* Wait (not a timed assertion: a generous safety net only) for the
   * first best epoch to be written, then press Ctrl-C. */
  timeout = g_timeout_add_seconds (120, on_timeout, NULL);
  while (!g_file_test (out, G_FILE_TEST_EXISTS))
    g_main_context_iteration (NULL, FALSE), g_usleep (20000);
  g_source_remove (timeout);
  g_subprocess_send_signal (proc, SIGINT);

  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &stdout_text, &stderr_text, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 130);
  g_assert_nonnull (strstr (stderr_text, "histoguard-cli: train: interrupted; "));
  g_assert_nonnull (strstr (stderr_text, " holds epoch "));

  /* The file is whole and loads. */
  model = hg_model_load (out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (hg_model_get_metadata (model, "val_metrics"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  root = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  splits = g_test_build_filename (G_TEST_DIST, "data", "idc", "splits.tsv", NULL);
  scratch = g_dir_make_tmp ("hg-cli-train-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/hg/cli/train/usage-errors", test_train_usage_errors);
  g_test_add_func ("/hg/cli/train/required", test_train_required);
  g_test_add_func ("/hg/cli/train/data-errors", test_train_data_errors);
  g_test_add_func ("/hg/cli/train/train-predict", test_train_predict);
  g_test_add_func ("/hg/cli/train/interrupt", test_train_interrupt);
  g_test_add_func ("/hg/cli/predict/errors", test_predict_errors);

  status = g_test_run ();

  {
    g_autoptr (GDir) dir = g_dir_open (scratch, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (scratch, name, NULL);

        g_remove (path);
      }
    g_rmdir (scratch);
  }
  g_free (root);
  g_free (splits);
  g_free (scratch);
  return status;
}
