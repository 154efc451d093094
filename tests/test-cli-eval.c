/* SPDX-License-Identifier: GPL-3.0-or-later */
/* histoguard-cli eval and attack, run as a user would, on the committed
 * model and patches (tests/data/idc-tiny.safetensors, tests/data/idc). */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-cli.h"

static char *model, *patches, *splits, *scratch;

static char *
scratch_file (const char *name)
{
  return g_build_filename (scratch, name, NULL);
}

static HgCliRun *
run_argv (GPtrArray *argv)
{
  g_ptr_array_add (argv, NULL);
  return hg_test_cli_run ((const char *const *) argv->pdata);
}

/* ---- eval ----------------------------------------------------------------- */

static void
test_eval_outputs (void)
{
  g_autofree char *json_path = scratch_file ("r.json");
  g_autofree char *csv_path = scratch_file ("r.csv");
  g_autofree char *png_path = scratch_file ("r.png");
  g_autofree char *md_path = scratch_file ("r.md");
  g_autofree char *json = NULL;
  g_autofree char *md = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--data", patches, "--splits", splits,
                                               "--split", "train", "--attack", "fgsm,pgd", "--eps", "0,4,8",
                                               "--steps", "3", "--defense", "none,bits:4", "--adaptive",
                                               "--json", json_path, "--csv", csv_path, "--plot", png_path,
                                               "--markdown", md_path, NULL);
  JsonObject *root;
  JsonArray  *results;
  double      last = 2;

  g_assert_cmpint (run->exit_code, ==, 0);
  /* Not a terminal: no progress bar, nothing on stderr. */
  g_assert_cmpstr (run->err, ==, "");
  g_assert_true (g_str_has_prefix (run->out, "Balanced accuracy [95% interval] by ε (1/255):"));

  g_assert_true (g_file_get_contents (json_path, &json, NULL, &error));
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  results = json_object_get_array_member (root, "results");
  /* none: 2 attacks × 3 ε; bits:4: 2 × 3 non-adaptive + 2 × 3 adaptive. */
  g_assert_cmpuint (json_array_get_length (results), ==, 18);
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *o = json_array_get_object_element (results, i);

      g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "idc-tiny");
      /* 47 patches of the three train patients in tests/data/idc/splits.tsv. */
      g_assert_cmpint (json_object_get_int_member (o, "n"), ==, 47);
      if (strcmp (json_object_get_string_member (o, "defense"), "none") == 0 &&
          strcmp (json_object_get_string_member (o, "attack"), "pgd") == 0)
        {
          double ba = json_object_get_double_member (o, "balanced_accuracy");

          g_assert_cmpfloat (ba, <=, last);
          last = ba;
        }
    }
  g_assert_cmpfloat (last, <=, 0.25);

  g_assert_true (g_file_test (csv_path, G_FILE_TEST_IS_REGULAR));
  {
    g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (png_path, &error);

    g_assert_no_error (error);
    g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), >, 1000);
  }
  g_assert_true (g_file_get_contents (md_path, &md, NULL, &error));
  /* The plot beside the Markdown is linked by its name. */
  g_assert_nonnull (strstr (md, "![Balanced accuracy against ε](r.png)"));
  g_assert_nonnull (strstr (md, "| bits:4 | pgd | yes (adaptive) |"));
}

static void
test_eval_usage_errors (void)
{
  static const struct
  {
    const char *args[4];
    int         code;
    const char *message;
  } cases[] = {
    { { "--attack", "cw" }, 2, "histoguard-cli: eval: --attack: unknown attack 'cw' (known: fgsm, bim, pgd, mifgsm, deepfool)\n" },
    { { "--attack", "fgsm,,pgd" }, 2, "histoguard-cli: eval: --attack: empty attack name (known: fgsm, bim, pgd, mifgsm, deepfool)\n" },
    { { "--defense", "gzip:9" }, 2, "histoguard-cli: eval: --defense: unknown defense 'gzip' in 'gzip:9' (known: none, jpeg:QUALITY, median:K, blur:SIGMA, bits:B, tv:WEIGHT, noise:SIGMA; chain with '+')\n" },
    { { "--defense", "none,median:4" }, 2, "histoguard-cli: eval: --defense: median kernel size must be odd, got '4' in 'median:4'\n" },
    { { "--eps", "0,-1" }, 2, "histoguard-cli: eval: --eps: ε must not be negative, got -1\n" },
    { { "--eps", "2,four" }, 2, "histoguard-cli: eval: --eps: 'four' is not a number (ε is in units of 1/255, e.g. 0,1,2,4,8)\n" },
    { { "--eps", "300" }, 2, "histoguard-cli: eval: --eps: ε is in units of 1/255 and at most 255, got 300\n" },
    { { "--steps", "0" }, 2, "histoguard-cli: eval: --steps must be from 1 to 10000, got 0\n" },
    { { "--detector", "none" }, 2, "histoguard-cli: eval: --detector: 'none' is not a squeezer (in 'none')\n" },
    { { "--split", "test" }, 2, "histoguard-cli: eval: --split needs --splits FILE\n" },
    { { "extra" }, 2, "histoguard-cli: eval: unexpected argument 'extra' (see 'histoguard-cli eval --help')\n" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      g_autoptr (HgCliRun) run = NULL;

      g_ptr_array_add (argv, (gpointer) "eval");
      g_ptr_array_add (argv, (gpointer) "--model");
      g_ptr_array_add (argv, model);
      g_ptr_array_add (argv, (gpointer) "--data");
      g_ptr_array_add (argv, patches);
      for (guint a = 0; a < G_N_ELEMENTS (cases[i].args) && cases[i].args[a] != NULL; a++)
        g_ptr_array_add (argv, (gpointer) cases[i].args[a]);
      run = run_argv (argv);
      g_assert_cmpint (run->exit_code, ==, cases[i].code);
      g_assert_cmpstr (run->err, ==, cases[i].message);
      g_assert_cmpstr (run->out, ==, "");
    }

  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--data", patches, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_cmpstr (run->err, ==, "histoguard-cli: eval: no --model given (see 'histoguard-cli eval --help')\n");
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_cmpstr (run->err, ==, "histoguard-cli: eval: no --data folder given (see 'histoguard-cli eval --help')\n");
  }
}

static void
test_eval_runtime_errors (void)
{
  g_autofree char *empty = scratch_file ("empty");
  g_autofree char *missing = scratch_file ("missing");
  g_autofree char *small_path = scratch_file ("small.safetensors");
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) small = hg_model_new_from_arch ("cnn:width=4,size=32", 1, &error);

  g_assert_no_error (error);
  g_assert_true (hg_model_save (small, small_path, &error));
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);

  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--data", empty, NULL);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: eval: "));
    g_assert_nonnull (strstr (run->err, empty));
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--data", missing, NULL);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_nonnull (strstr (run->err, missing));
  }
  {
    /* A model for 32×32 patches on 50×50 ones: refused, saying why. */
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", small_path, "--data", patches, NULL);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: eval: the models take 32×32 patches: "));
    g_assert_nonnull (strstr (run->err, "larger than the 32×32 input"));
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--model", small_path, "--data", patches, NULL);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_nonnull (strstr (run->err, "models take different image sizes"));
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", missing, "--data", patches, NULL);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_nonnull (strstr (run->err, missing));
  }
  {
    g_autofree char *bad_plot = g_build_filename (missing, "plot.png", NULL);
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--data", patches, "--eps", "0",
                                                 "--plot", bad_plot, "--quiet", NULL);

    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: eval: could not write the plot: "));
    g_assert_cmpstr (run->out, ==, "");
  }
  g_remove (small_path);
  g_rmdir (empty);
}

static void
test_eval_detector_calibration (void)
{
  g_autofree char *json_path = scratch_file ("det.json");
  g_autofree char *json = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--data", patches, "--splits", splits,
                                               "--attack", "fgsm", "--eps", "0,8", "--detector", "bits:5,median:3",
                                               "--json", json_path, "--quiet", NULL);
  JsonArray  *detection;
  JsonObject *row;

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_true (g_file_get_contents (json_path, &json, NULL, &error));
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  detection = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "detection");
  /* One attack, one ε > 0; the threshold from the val patients. */
  g_assert_cmpuint (json_array_get_length (detection), ==, 1);
  row = json_array_get_object_element (detection, 0);
  g_assert_false (json_object_get_boolean_member (row, "calibrated_on_evaluated_data"));
  g_assert_cmpstr (json_object_get_string_member (row, "squeezers"), ==, "bits:5,median:3");
  g_assert_cmpfloat (json_object_get_double_member (row, "eps"), ==, 8);
  g_assert_cmpfloat (json_object_get_double_member (row, "fpr"), >=, 0);
  g_assert_cmpfloat (json_object_get_double_member (row, "fpr"), <=, 1);
}

static void
test_eval_paper (void)
{
  g_autofree char *md_path = scratch_file ("paper.md");
  g_autofree char *other = g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
  g_autofree char *md = NULL;
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("eval", "--model", model, "--model", other, "--data", patches,
                                               "--attack", "fgsm,pgd", "--eps", "0,8", "--steps", "2",
                                               "--paper", "--markdown", md_path, "--quiet", NULL);

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_true (g_file_get_contents (md_path, &md, NULL, NULL));
  g_assert_true (g_str_has_prefix (md, "# Reproducing “Adversarial Attack and Defense in Breast Cancer Deep Learning Systems”\n"));
  g_assert_nonnull (strstr (md, "| standard | idc-tiny | `idc-tiny.safetensors` | cnn |"));
  g_assert_nonnull (strstr (md, "| standard, clean | 98.90% | 98.5% | 0.985 ["));
  g_assert_nonnull (strstr (md, "| standard, FGSM ε = 8/255 | 10.99% |"));
  g_assert_nonnull (strstr (md, "| defended, FGSM ε = 8/255 | 27.47% |"));
  g_assert_nonnull (strstr (md, "## What the paper did not measure: PGD-2"));
  g_assert_nonnull (strstr (md, "## Everything, with intervals"));

  {
    g_autoptr (HgCliRun) one = hg_test_cli_runv ("eval", "--model", model, "--data", patches, "--paper",
                                                 "--markdown", md_path, NULL);

    g_assert_cmpint (one->exit_code, ==, 2);
    g_assert_cmpstr (one->err, ==, "histoguard-cli: eval: --paper needs exactly two --model (standard, then defended) and --markdown FILE\n");
  }
}

/* ---- attack --------------------------------------------------------------- */

static void
read_rgb (const char *path,
          guint8     *out,
          int        *width,
          int        *height)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);
  int n_channels;

  g_assert_no_error (error);
  *width = gdk_pixbuf_get_width (pixbuf);
  *height = gdk_pixbuf_get_height (pixbuf);
  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  for (int y = 0; y < *height; y++)
    for (int x = 0; x < *width; x++)
      for (int c = 0; c < 3; c++)
        out[(y * *width + x) * 3 + c] =
            gdk_pixbuf_get_pixels (pixbuf)[y * gdk_pixbuf_get_rowstride (pixbuf) + x * n_channels + c];
}

static void
test_attack_writes (void)
{
  g_autofree char *in = g_test_build_filename (G_TEST_DIST, "data", "defense", "idc-class1.png", NULL);
  g_autofree char *out = scratch_file ("adv.png");
  g_autofree char *diff = scratch_file ("diff.png");
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, "--attack", "pgd", "--eps", "8",
                                               in, out, "--diff", diff, NULL);
  guint8 a[50 * 50 * 3], b[50 * 50 * 3];
  int    w, h;

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
  g_assert_true (g_str_has_prefix (run->out, "before:  IDC"));
  g_assert_nonnull (strstr (run->out, "\nafter:   non-IDC"));
  g_assert_nonnull (strstr (run->out, "pgd, ε 8/255: prediction flipped; perturbation L∞ 8.00/255"));

  /* The 8-bit adversarial image keeps to the budget. */
  read_rgb (in, a, &w, &h);
  read_rgb (out, b, &w, &h);
  g_assert_cmpint (w, ==, 50);
  for (gsize i = 0; i < sizeof a; i++)
    g_assert_cmpint (ABS ((int) a[i] - (int) b[i]), <=, 8);
  g_assert_true (g_file_test (diff, G_FILE_TEST_IS_REGULAR));
}

static void
test_attack_eps0 (void)
{
  g_autofree char *in = g_test_build_filename (G_TEST_DIST, "data", "defense", "idc-class0.png", NULL);
  g_autofree char *out = scratch_file ("same.png");
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, "--eps", "0", in, out, NULL);
  guint8 a[50 * 50 * 3], b[50 * 50 * 3];
  int    w, h;

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_nonnull (strstr (run->out, "fgsm, ε 0/255: prediction unchanged; perturbation L∞ 0.00/255, L2 0.0000\n"));
  read_rgb (in, a, &w, &h);
  read_rgb (out, b, &w, &h);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
}

static void
test_attack_errors (void)
{
  g_autofree char *in = g_test_build_filename (G_TEST_DIST, "data", "defense", "idc-class0.png", NULL);
  g_autofree char *out = scratch_file ("never.png");
  g_autofree char *big = scratch_file ("big.png");

  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, in, out, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_cmpstr (run->err, ==, "histoguard-cli: attack: no --eps given (in units of 1/255, e.g. --eps 4)\n");
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, "--eps", "-2", in, out, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_cmpstr (run->err, ==, "histoguard-cli: attack: --eps must be between 0 and 255 (in units of 1/255), got -2\n");
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, "--attack", "jsma", "--eps", "2", in, out, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_cmpstr (run->err, ==, "histoguard-cli: attack: --attack: unknown attack 'jsma' (known: fgsm, bim, pgd, mifgsm, deepfool)\n");
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, "--eps", "2", "--target", "lymphocyte", in, out, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
    g_assert_cmpstr (run->err, ==, "histoguard-cli: attack: --target: the model has no class 'lymphocyte' (classes: non-IDC, IDC)\n");
  }
  {
    g_autoptr (HgCliRun) run = hg_test_cli_runv ("attack", "--model", model, "--eps", "2", in, NULL);

    g_assert_cmpint (run->exit_code, ==, 2);
  }
  {
    /* Larger than the model's input: refused, not cropped. */
    g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 64);
    g_autoptr (GError) error = NULL;
    g_autoptr (HgCliRun) run = NULL;

    gdk_pixbuf_fill (pixbuf, 0xd0a0c0ff);
    g_assert_true (gdk_pixbuf_save (pixbuf, big, "png", &error, NULL));
    run = hg_test_cli_runv ("attack", "--model", model, "--eps", "2", big, out, NULL);
    g_assert_cmpint (run->exit_code, ==, 1);
    g_assert_nonnull (strstr (run->err, "larger than the 50×50 input"));
    g_remove (big);
  }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  model = g_test_build_filename (G_TEST_DIST, "data", "idc-tiny.safetensors", NULL);
  patches = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  splits = g_test_build_filename (G_TEST_DIST, "data", "idc", "splits.tsv", NULL);
  scratch = g_dir_make_tmp ("hg-cli-eval-XXXXXX", NULL);

  g_test_add_func ("/hg/cli/eval/outputs", test_eval_outputs);
  g_test_add_func ("/hg/cli/eval/usage-errors", test_eval_usage_errors);
  g_test_add_func ("/hg/cli/eval/runtime-errors", test_eval_runtime_errors);
  g_test_add_func ("/hg/cli/eval/paper", test_eval_paper);
  g_test_add_func ("/hg/cli/eval/detector-calibration", test_eval_detector_calibration);
  g_test_add_func ("/hg/cli/attack/writes", test_attack_writes);
  g_test_add_func ("/hg/cli/attack/eps0", test_attack_eps0);
  g_test_add_func ("/hg/cli/attack/errors", test_attack_errors);

  status = g_test_run ();

  /* Leave nothing behind. */
  {
    GDir       *dir = g_dir_open (scratch, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (scratch, name, NULL);

        g_remove (path);
      }
    g_clear_pointer (&dir, g_dir_close);
    g_rmdir (scratch);
  }
  g_free (model);
  g_free (patches);
  g_free (splits);
  g_free (scratch);
  return status;
}
