/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The evaluation protocol on the committed model and patches
 * (tests/data/idc-tiny.safetensors, tests/data/idc), and its writers. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

#define SIZE 50
#define PIXELS (3 * SIZE * SIZE)

static float *data_x;
static int   *data_labels;
static gsize  data_n;

static void
load_fixtures (void)
{
  g_autofree char *patches = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) data = hg_dataset_open (patches, HG_DATASET_LAYOUT_IDC, HG_DATASET_ON_ERROR_FAIL, &error);

  g_assert_no_error (error);
  g_assert_true (hg_dataset_load (data, SIZE, SIZE, 0, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  data_n = hg_dataset_get_n_samples (data);
  data_x = g_new (float, data_n *PIXELS);
  data_labels = g_new (int, data_n);
  for (gsize i = 0; i < data_n; i++)
    {
      memcpy (data_x + i * PIXELS, hg_dataset_get_pixels (data, i), PIXELS * sizeof (float));
      data_labels[i] = hg_dataset_get_sample (data, i)->label;
    }
}

static HgModel *
load_model (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "idc-tiny.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  HgModel *model = hg_model_load (path, &error);

  g_assert_no_error (error);
  return model;
}

/* fgsm, pgd (3 steps), deepfool; ε 0, 4, 8; none, bits:4, jpeg:60;
 * adaptive; the detector. */
static void
standard_options (HgEvalOptions *options)
{
  static const HgAttackKind attacks[] = { HG_ATTACK_FGSM, HG_ATTACK_PGD, HG_ATTACK_DEEPFOOL };
  static const double       eps[] = { 0, 4, 8 };
  g_autoptr (GPtrArray) defenses = hg_defense_parse_list ("none,bits:4,jpeg:60", NULL);

  hg_eval_options_init (options);
  g_ptr_array_add (options->models, load_model ());
  g_ptr_array_add (options->model_names, g_strdup ("tiny"));
  for (guint i = 0; i < defenses->len; i++)
    g_ptr_array_add (options->defenses, hg_defense_ref (defenses->pdata[i]));
  g_array_append_vals (options->attacks, attacks, G_N_ELEMENTS (attacks));
  g_array_append_vals (options->eps, eps, G_N_ELEMENTS (eps));
  options->steps = 3;
  options->adaptive = TRUE;
  options->detector = hg_detector_new ("bits:5,median:3", NULL);
  options->batch_size = 16;
  options->seed = 11;
}

static HgEvalReport *
run (HgEvalOptions *options)
{
  HgEvalData data = { data_x, data_labels, data_n, SIZE, SIZE };
  g_autoptr (GError) error = NULL;
  HgEvalReport *report = hg_eval_run (options, &data, NULL, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (report);
  return report;
}

static const HgEvalResult *
find (const HgEvalReport *report,
      const char         *defense,
      const char         *attack,
      double              eps,
      gboolean            adaptive)
{
  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);

      if (strcmp (r->defense, defense) == 0 && strcmp (r->attack, attack) == 0 && r->eps == eps &&
          r->adaptive == adaptive)
        return r;
    }
  return NULL;
}

static void
test_eval_protocol (void)
{
  HgEvalOptions options;
  g_autoptr (HgEvalReport) report = NULL;
  static const char *defenses[] = { "none", "bits:4", "jpeg:60" };
  static const char *attacks[] = { "fgsm", "pgd" };

  standard_options (&options);
  report = run (&options);

  /* 3 defences × 2 ε-attacks × 3 ε non-adaptive, and 2 defences × 2
   * attacks × 3 ε adaptive: "none" has no adaptive version. */
  g_assert_cmpuint (report->results->len, ==, 3 * 2 * 3 + 2 * 2 * 3);
  g_assert_cmpuint (report->n, ==, data_n);
  g_assert_cmpuint (report->n_positive + report->n_negative, ==, data_n);

  for (gsize d = 0; d < G_N_ELEMENTS (defenses); d++)
    for (gsize a = 0; a < G_N_ELEMENTS (attacks); a++)
      {
        const HgEvalResult *clean = find (report, defenses[d], attacks[a], 0, FALSE);
        const HgEvalResult *other = find (report, defenses[d], attacks[a == 0], 0, FALSE);

        /* ε = 0 is the clean evaluation, whatever the attack. */
        g_assert_nonnull (clean);
        g_assert_cmpfloat (clean->attack_success_rate, ==, 0);
        g_assert_cmpfloat (clean->metrics.balanced_accuracy, ==, other->metrics.balanced_accuracy);
        g_assert_cmpuint (clean->metrics.n, ==, data_n);
        for (gsize e = 0; e < 3; e++)
          {
            const HgEvalResult *r = find (report, defenses[d], attacks[a], (double[]){ 0, 4, 8 }[e], FALSE);

            g_assert_nonnull (r);
            g_assert_cmpfloat (r->metrics.ba_ci95[0], <=, r->metrics.balanced_accuracy);
            g_assert_cmpfloat (r->metrics.ba_ci95[1], >=, r->metrics.balanced_accuracy);
            /* Adaptive rows exist for the real defences only. */
            if (d == 0)
              g_assert_null (find (report, defenses[d], attacks[a], (double[]){ 0, 4, 8 }[e], TRUE));
            else
              g_assert_nonnull (find (report, defenses[d], attacks[a], (double[]){ 0, 4, 8 }[e], TRUE));
          }
      }

  /* The bare model falls; PGD is at least as strong as FGSM. */
  g_assert_cmpfloat (find (report, "none", "pgd", 0, FALSE)->metrics.balanced_accuracy, >=, 0.9);
  g_assert_cmpfloat (find (report, "none", "pgd", 8, FALSE)->metrics.balanced_accuracy, <=,
                     find (report, "none", "fgsm", 8, FALSE)->metrics.balanced_accuracy);
  g_assert_cmpfloat (find (report, "none", "pgd", 8, FALSE)->metrics.balanced_accuracy, <=, 0.25);
  g_assert_cmpfloat (find (report, "none", "pgd", 8, FALSE)->attack_success_rate, >=, 0.75);

  /* DeepFool: one row per norm, every input flipped, L∞ below 8/255. */
  g_assert_cmpuint (report->deepfool->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      const HgEvalDeepFool *df = &g_array_index (report->deepfool, HgEvalDeepFool, i);

      g_assert_cmpuint (df->n, ==, data_n);
      g_assert_cmpuint (df->flipped, >=, data_n * 9 / 10);
      g_assert_true (isfinite (df->median) && df->median > 0);
      if (df->norm == HG_NORM_LINF)
        g_assert_cmpfloat (df->median, <, 8);
    }

  /* The detector: one row per attack and ε > 0, calibrated on these same
   * clean inputs, so its false-positive rate is at most the target. */
  g_assert_cmpuint (report->detection->len, ==, 2 * 2);
  for (guint i = 0; i < report->detection->len; i++)
    {
      const HgEvalDetection *det = &g_array_index (report->detection, HgEvalDetection, i);

      g_assert_true (det->calibrated_on_evaluated_data);
      g_assert_cmpfloat (det->fpr, <=, 0.05);
      g_assert_cmpfloat (det->eps, >, 0);
      g_assert_true (det->n_adversarial == 0 || (det->detection_rate >= 0 && det->detection_rate <= 1));
    }

  hg_eval_options_clear (&options);
}

static char *
json_without_seconds (HgEvalReport *report)
{
  report->seconds = 0;
  return hg_eval_report_to_json (report);
}

static void
test_eval_threads_deterministic (void)
{
  HgEvalOptions options;
  g_autoptr (HgEvalReport) one = NULL;
  g_autoptr (HgEvalReport) two = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autoptr (GPtrArray) defenses = hg_defense_parse_list ("none,noise:8", NULL);

  /* A randomised defence and random starts: still the same numbers on
   * one thread and on three. */
  standard_options (&options);
  g_ptr_array_set_size (options.defenses, 0);
  for (guint i = 0; i < defenses->len; i++)
    g_ptr_array_add (options.defenses, hg_defense_ref (defenses->pdata[i]));
  g_array_set_size (options.attacks, 1);
  g_array_index (options.attacks, HgAttackKind, 0) = HG_ATTACK_PGD;
  options.eot_samples = 2;
  options.n_threads = 1;
  one = run (&options);
  options.n_threads = 3;
  two = run (&options);
  a = json_without_seconds (one);
  b = json_without_seconds (two);
  g_assert_cmpstr (a, ==, b);
  hg_eval_options_clear (&options);
}

static void
test_eval_errors (void)
{
  HgEvalOptions options;
  HgEvalData    data = { data_x, data_labels, data_n, SIZE, SIZE };
  HgEvalData    empty = { data_x, data_labels, 0, SIZE, SIZE };
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) small = hg_model_new_from_arch ("cnn:width=4,size=32", 1, &error);
  g_autofree int *bad_labels = g_memdup2 (data_labels, data_n * sizeof (int));
  HgEvalData      bad = { data_x, bad_labels, data_n, SIZE, SIZE };
  double          negative = -1;

  g_assert_no_error (error);
  standard_options (&options);

  g_assert_null (hg_eval_run (&options, &empty, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "no samples to evaluate");
  g_clear_error (&error);

  bad_labels[3] = 2;
  g_assert_null (hg_eval_run (&options, &bad, NULL, NULL, NULL, NULL, &error));
  g_assert_cmpstr (error->message, ==, "sample 3 has label 2; the evaluation is for two classes (0 and 1)");
  g_clear_error (&error);

  g_array_append_val (options.eps, negative);
  g_assert_null (hg_eval_run (&options, &data, NULL, NULL, NULL, NULL, &error));
  g_assert_cmpstr (error->message, ==, "epsilon must be between 0 and 255 (in units of 1/255), got -1");
  g_clear_error (&error);
  g_array_set_size (options.eps, options.eps->len - 1);

  g_ptr_array_add (options.models, g_steal_pointer (&small));
  g_ptr_array_add (options.model_names, g_strdup ("small"));
  g_assert_null (hg_eval_run (&options, &data, NULL, NULL, NULL, NULL, &error));
  g_assert_cmpstr (error->message, ==, "model 'small' takes 32×32 images with 3 channels, but the data are 50×50 RGB");
  g_clear_error (&error);

  hg_eval_options_clear (&options);
}

static void
test_eval_cancel (void)
{
  HgEvalOptions options;
  HgEvalData    data = { data_x, data_labels, data_n, SIZE, SIZE };
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  standard_options (&options);
  g_cancellable_cancel (cancellable);
  g_assert_null (hg_eval_run (&options, &data, NULL, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  hg_eval_options_clear (&options);
}

static void
add_row (HgEvalReport *report,
         const char   *defense,
         double        eps,
         gboolean      adaptive,
         double        ba,
         double        low,
         double        high)
{
  HgEvalResult r = {
    .model = g_strdup ("m"),
    .defense = g_strdup (defense),
    .attack = g_strdup ("pgd"),
    .eps = eps,
    .adaptive = adaptive,
    .metrics = { .n = 100, .balanced_accuracy = ba, .ba_ci95 = { low, high }, .accuracy = ba, .sensitivity = NAN, .specificity = ba, .auc = NAN, .mean_confidence = 0.5 },
    .attack_success_rate = NAN,
  };

  g_array_append_val (report->results, r);
}

static void
test_flags (void)
{
  g_autoptr (HgEvalReport) report = hg_eval_report_new ();
  const HgEvalFlag *flag;

  add_row (report, "none", 4, FALSE, 0.10, 0.05, 0.15);
  /* Looks robust, is not: flagged. */
  add_row (report, "jpeg:75", 4, FALSE, 0.80, 0.74, 0.86);
  add_row (report, "jpeg:75", 4, TRUE, 0.12, 0.07, 0.17);
  /* A drop of 0.10 but overlapping intervals: not flagged. */
  add_row (report, "bits:4", 4, FALSE, 0.50, 0.40, 0.60);
  add_row (report, "bits:4", 4, TRUE, 0.40, 0.30, 0.50);
  /* Disjoint intervals but a drop below 0.10: not flagged. */
  add_row (report, "median:3", 4, FALSE, 0.50, 0.48, 0.52);
  add_row (report, "median:3", 4, TRUE, 0.42, 0.40, 0.44);
  /* ε = 0 never is. */
  add_row (report, "tv:0.1", 0, FALSE, 0.90, 0.85, 0.95);
  add_row (report, "tv:0.1", 0, TRUE, 0.50, 0.45, 0.55);

  hg_eval_report_update_flags (report);
  g_assert_cmpuint (report->flags->len, ==, 1);
  flag = &g_array_index (report->flags, HgEvalFlag, 0);
  g_assert_cmpstr (flag->defense, ==, "jpeg:75");
  g_assert_cmpfloat (flag->ba_non_adaptive, ==, 0.80);
  g_assert_cmpfloat (flag->ba_adaptive, ==, 0.12);
  g_assert_cmpfloat (flag->ba_undefended, ==, 0.10);

  /* Idempotent. */
  hg_eval_report_update_flags (report);
  g_assert_cmpuint (report->flags->len, ==, 1);

  /* And written out. */
  {
    g_autofree char *json = hg_eval_report_to_json (report);
    g_autofree char *md = hg_eval_report_to_markdown (report, NULL);

    g_assert_nonnull (strstr (json, "\"flags\": [\n    { \"model\": \"m\", \"defense\": \"jpeg:75\", \"attack\": \"pgd\", \"eps\": 4, "
                                    "\"ba_non_adaptive\": 0.8, \"ba_adaptive\": 0.12, \"ba_undefended\": 0.1 }"));
    /* Undefined numbers are null. */
    g_assert_nonnull (strstr (json, "\"sensitivity\": null"));
    g_assert_nonnull (strstr (md, "Robustness that disappears under an adaptive attack"));
    g_assert_nonnull (strstr (md, "`jpeg:75` in front of m: under pgd at ε = 4, balanced accuracy 0.800"));
  }
}

static void
test_writers (void)
{
  HgEvalOptions options;
  g_autoptr (HgEvalReport) report = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *md = NULL;
  g_autofree char *dir = g_dir_make_tmp ("hg-eval-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "plot.png", NULL);
  g_auto (GStrv) lines = NULL;
  static const char *const keys[] = { "accuracy", "adaptive", "attack", "attack_success_rate", "ba_ci95",
                                      "balanced_accuracy", "defense", "eps", "mean_confidence", "model", "n",
                                      "sensitivity", "specificity", NULL };
  JsonArray               *results;

  standard_options (&options);
  g_array_set_size (options.attacks, 1); /* FGSM only: quick */
  report = run (&options);

  /* JSON: {"results": [...]} with exactly the keys per result. */
  json = hg_eval_report_to_json (report);
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  results = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "results");
  g_assert_cmpuint (json_array_get_length (results), ==, report->results->len);
  for (guint i = 0; i < json_array_get_length (results); i++)
    {
      JsonObject *o = json_array_get_object_element (results, i);
      g_autoptr (GList) members = json_object_get_members (o);
      JsonArray *ci = json_object_get_array_member (o, "ba_ci95");
      guint      k = 0;

      members = g_list_sort (members, (GCompareFunc) strcmp);
      for (GList *l = members; l != NULL; l = l->next, k++)
        g_assert_cmpstr (l->data, ==, keys[k]);
      g_assert_null (keys[k]);
      g_assert_cmpuint (json_array_get_length (ci), ==, 2);
      g_assert_cmpfloat (json_array_get_double_element (ci, 0), <=, json_object_get_double_member (o, "balanced_accuracy"));
    }

  /* CSV: a header and one line per result. */
  csv = hg_eval_report_to_csv (report);
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "model,defense,attack,eps,adaptive,n,accuracy,balanced_accuracy,ba_ci95_low,"
                                 "ba_ci95_high,sensitivity,specificity,auc,attack_success_rate,mean_confidence,"
                                 "tp,fn,tn,fp");
  g_assert_cmpuint (g_strv_length (lines), ==, report->results->len + 2); /* + header, + trailing "" */
  g_assert_true (g_str_has_prefix (lines[1], "tiny,none,fgsm,0,false,67,"));

  /* Markdown: the table and the plot link. */
  md = hg_eval_report_to_markdown (report, "plot.png");
  g_assert_nonnull (strstr (md, "![Balanced accuracy against ε](plot.png)"));
  g_assert_nonnull (strstr (md, "### tiny"));
  g_assert_nonnull (strstr (md, "| defence | attack | attack sees the defence | ε = 0 | ε = 4 | ε = 8 |"));
  g_assert_nonnull (strstr (md, "### Feature-squeezing detector (`bits:5,median:3`)"));

  /* The plot: a PNG, twice its logical size, with two columns of panels'
   * worth of width for one attack plus the margins. */
  g_assert_true (hg_eval_report_plot (report, "Test", png, &error));
  g_assert_no_error (error);
  {
    g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (png, &error);

    g_assert_no_error (error);
    g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), >=, 900);
    g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), >=, 700);
  }
  g_remove (png);
  g_rmdir (dir);

  /* Into a folder that does not exist: an error naming the path. */
  g_assert_false (hg_eval_report_plot (report, NULL, "/nonexistent/plot.png", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent/plot.png"));

  hg_eval_options_clear (&options);
}

static void
test_detector (void)
{
  static const float clean[] = { 0.1f, 0.5f, 0.2f, 0.9f, 0.3f, 0.0f, 0.7f, 0.4f, 0.8f, 0.6f };
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDetector) detector = hg_detector_new ("bits:8, median:3+bits:4", &error);
  g_autoptr (HgDetector) identity = hg_detector_new ("bits:8", &error);
  g_autoptr (HgModel) model = load_model ();
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree float *scores = g_new (float, data_n);

  g_assert_no_error (error);
  g_assert_cmpstr (hg_detector_get_spec (detector), ==, "bits:8,median:3+bits:4");

  /* Thresholds by hand: 10 clean scores; 20% may be flagged, so the
   * third largest (0.7) is the threshold and 0.8, 0.9 lie above it. */
  g_assert_cmpfloat (hg_detector_calibrate (detector, clean, 10, 0.2), ==, 0.7f);
  g_assert_true (hg_detector_is_flagged (detector, 0.71f));
  g_assert_false (hg_detector_is_flagged (detector, 0.7f));
  g_assert_cmpfloat (hg_detector_calibrate (detector, clean, 10, 0.0), ==, 0.9f);
  g_assert_cmpfloat (hg_detector_calibrate (detector, clean, 10, 0.05), ==, 0.9f);
  g_assert_cmpfloat (hg_detector_calibrate (detector, clean, 10, 1.0), ==, -INFINITY);

  /* Squeezing 8-bit patches to 8 bits changes nothing (but an ulp: x/255
   * against x·(1/255)): every score 0, give or take rounding. Under
   * valgrind OpenBLAS picks other kernels, which sum in another order:
   * 1.04e-6 was seen there. */
  g_assert_true (hg_detector_score (identity, ctx, data_x, (int) data_n, NULL, 0, scores, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < data_n; i++)
    g_assert_cmpfloat (scores[i], <=, 1e-5);

  /* Otherwise scores are L1 distances between distributions: in [0, 2],
   * and not all 0. */
  {
    double sum = 0;

    g_assert_true (hg_detector_score (detector, ctx, data_x, (int) data_n, NULL, 0, scores, &error));
    for (gsize i = 0; i < data_n; i++)
      {
        g_assert_cmpfloat (scores[i], >=, 0);
        g_assert_cmpfloat (scores[i], <=, 2);
        sum += scores[i];
      }
    g_assert_cmpfloat (sum, >, 0);
  }

  g_assert_null (hg_detector_new ("none", &error));
  g_assert_cmpstr (error->message, ==, "'none' is not a squeezer (in 'none')");
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  load_fixtures ();

  g_test_add_func ("/hg/eval/protocol", test_eval_protocol);
  g_test_add_func ("/hg/eval/threads-deterministic", test_eval_threads_deterministic);
  g_test_add_func ("/hg/eval/errors", test_eval_errors);
  g_test_add_func ("/hg/eval/cancel", test_eval_cancel);
  g_test_add_func ("/hg/eval/flags", test_flags);
  g_test_add_func ("/hg/eval/detector", test_detector);
  g_test_add_func ("/hg/eval/writers", test_writers);

  status = g_test_run ();
  g_free (data_x);
  g_free (data_labels);
  return status;
}
