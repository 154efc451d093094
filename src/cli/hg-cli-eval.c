/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

#define COMMAND "eval"

/* ---- progress bar --------------------------------------------------------- */

typedef struct
{
  GTimer  *timer;
  double   last_draw;
  int      last_percent;
  gboolean drawn;
} Progress;

static void
progress_cb (double      fraction,
             const char *stage,
             gpointer    user_data)
{
  Progress        *p = user_data;
  double           now = g_timer_elapsed (p->timer, NULL);
  int              percent = (int) floor (fraction * 100);
  char             bar[31];
  int              filled = (int) round (fraction * 30);
  g_autofree char *eta = NULL;

  /* At most ten redraws a second. */
  if (now - p->last_draw < 0.1 && percent == p->last_percent && fraction < 1)
    return;
  p->last_draw = now;
  p->last_percent = percent;
  p->drawn = TRUE;

  /* The look of histoguard-cli train's bar. */
  for (int i = 0; i < 30; i++)
    bar[i] = i < filled ? '=' : i == filled ? '>'
                                            : ' ';
  bar[30] = '\0';
  if (fraction > 0.02 && fraction < 1)
    {
      int left = (int) round (now / fraction * (1 - fraction));

      eta = g_strdup_printf ("ETA %d:%02d", left / 60, left % 60);
    }
  else
    eta = g_strdup_printf ("%d:%02d", (int) now / 60, (int) now % 60);
  fprintf (stderr, "\r\033[K[%s] %3d%%  %s  %s", bar, percent, eta, stage);
  fflush (stderr);
}

static void
progress_end (Progress *p)
{
  if (p->drawn)
    fprintf (stderr, "\r\033[K");
}

/* ---- parsing ---------------------------------------------------------------- */

/* "histoguard-cli eval --model …", for the record: paths as given. */
static char *
command_line_of (int    argc,
                 char **argv)
{
  GString *line = g_string_new ("histoguard-cli");

  for (int i = 0; i < argc; i++)
    {
      g_autofree char *quoted = g_shell_quote (argv[i]);

      g_string_append_c (line, ' ');
      g_string_append (line, strpbrk (argv[i], " '\"$\\") != NULL ? quoted : argv[i]);
    }
  return g_string_free (line, FALSE);
}

static GArray *
parse_eps_list (const char *text,
                GError    **error)
{
  g_autoptr (GArray) eps = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto (GStrv) items = g_strsplit (text, ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    {
      const char *item = g_strstrip (items[i]);
      char       *end = NULL;
      double      v = g_ascii_strtod (item, &end);

      if (*item == '\0' || end == NULL || *end != '\0' || !isfinite (v))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("--eps: '%s' is not a number (ε is in units of 1/255, e.g. 0,1,2,4,8)"), item);
          return NULL;
        }
      if (v < 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("--eps: ε must not be negative, got %s"), item);
          return NULL;
        }
      if (v > HG_ATTACK_MAX_EPS)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("--eps: ε is in units of 1/255 and at most %g, got %s"), HG_ATTACK_MAX_EPS, item);
          return NULL;
        }
      g_array_append_val (eps, v);
    }
  if (eps->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("--eps: no value given"));
      return NULL;
    }
  return g_steal_pointer (&eps);
}

/* "models/idc-standard.safetensors" → "idc-standard". */
static char *
model_name_for (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char            *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup (base);
}

/* Loads one split of the data set at width × height into contiguous arrays. */
static gboolean
load_data (const char *dir,
           const char *splits_path,
           const char *split_name,
           int         width,
           int         height,
           float     **x_out,
           int       **labels_out,
           gsize      *n_out,
           GError    **error)
{
  g_autoptr (HgDataset) all = NULL;
  g_autoptr (HgDataset) part = NULL;
  HgDataset *ds;
  gsize      floats = (gsize) 3 * width * height, n, bytes;
  float     *x;
  int       *labels;

  all = hg_dataset_open (dir, HG_DATASET_LAYOUT_AUTO, HG_DATASET_ON_ERROR_FAIL, error);
  if (all == NULL)
    return FALSE;
  if (hg_dataset_get_n_samples (all) == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("no patches found in '%s'"), dir);
      return FALSE;
    }
  ds = all;
  if (splits_path != NULL)
    {
      g_autoptr (HgSplits) splits = hg_splits_new_from_file (splits_path, error);
      HgSplit split;

      if (splits == NULL)
        return FALSE;
      if (!hg_split_from_string (split_name, &split))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("--split: unknown split '%s' (train, val or test)"), split_name);
          return FALSE;
        }
      if (!hg_dataset_apply_splits (all, splits, error))
        return FALSE;
      part = hg_dataset_subset (all, split);
      if (hg_dataset_get_n_samples (part) == 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("no patches of split '%s' in '%s'"), split_name, dir);
          return FALSE;
        }
      ds = part;
    }

  if (!hg_dataset_load (ds, width, height, 0, HG_DATASET_ON_ERROR_FAIL, NULL, error))
    return FALSE;

  n = hg_dataset_get_n_samples (ds);
  if (!g_size_checked_mul (&bytes, n, floats * sizeof (float)))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("'%s' holds too many patches"), dir);
      return FALSE;
    }
  x = g_try_malloc (bytes);
  if (x == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("not enough memory for %zu patches of %d×%d"), n, width, height);
      return FALSE;
    }
  labels = g_new (int, n);
  for (gsize i = 0; i < n; i++)
    {
      memcpy (x + i * floats, hg_dataset_get_pixels (ds, i), floats * sizeof (float));
      labels[i] = hg_dataset_get_sample (ds, i)->label;
    }
  *x_out = x;
  *labels_out = labels;
  *n_out = n;
  return TRUE;
}

/* ---- the terminal summary --------------------------------------------------- */

static void
print_summary (const HgEvalReport *report)
{
  const char *series_model = NULL, *series_defense = NULL, *series_attack = NULL;
  gboolean    series_adaptive = FALSE;

  /* xgettext:no-c-format */
  printf ("%s\n", _ ("Balanced accuracy [95% interval] by ε (1/255):"));
  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);
      char                eps[G_ASCII_DTOSTR_BUF_SIZE];

      if (series_model == NULL || strcmp (series_model, r->model) != 0 || strcmp (series_defense, r->defense) != 0 ||
          strcmp (series_attack, r->attack) != 0 || series_adaptive != r->adaptive)
        {
          printf ("\n  %-16s %-16s %-8s %s\n   ", r->model, r->defense, r->attack,
                  r->adaptive ? _ ("adaptive") : "");
          series_model = r->model;
          series_defense = r->defense;
          series_attack = r->attack;
          series_adaptive = r->adaptive;
        }
      printf (" ε=%s: %.3f [%.2f, %.2f]", g_ascii_formatd (eps, sizeof eps, "%g", r->eps),
              r->metrics.balanced_accuracy, r->metrics.ba_ci95[0], r->metrics.ba_ci95[1]);
    }
  printf ("\n");

  for (guint i = 0; i < report->deepfool->len; i++)
    {
      const HgEvalDeepFool *d = &g_array_index (report->deepfool, HgEvalDeepFool, i);

      if (i == 0)
        printf ("\n%s\n", _ ("DeepFool minimal perturbation (median over all inputs):"));
      if (d->norm == HG_NORM_LINF)
        printf ("  %-16s L∞ %.2f/255  ", d->model, d->median);
      else
        printf ("  %-16s L2 %.4f     ", d->model, d->median);
      /* Translators: how many of the inputs DeepFool's minimal
       * perturbation changed the prediction of. */
      printf (g_dngettext (GETTEXT_PACKAGE, "(%zu of %zu flipped)", "(%zu of %zu flipped)", d->flipped), d->flipped, d->n);
      printf ("\n");
    }

  for (guint i = 0; i < report->detection->len; i++)
    {
      const HgEvalDetection *d = &g_array_index (report->detection, HgEvalDetection, i);
      const HgEvalDetection *prev = i > 0 ? &g_array_index (report->detection, HgEvalDetection, i - 1) : NULL;
      char                   eps[G_ASCII_DTOSTR_BUF_SIZE];

      if (i == 0)
        printf ("\n%s %s (%s)\n", _ ("Feature squeezing"), report->detector,
                d->calibrated_on_evaluated_data ? _ ("threshold from the evaluated data")
                                                : _ ("threshold from the calibration split"));
      /* Each model gets its own threshold. */
      if (prev == NULL || strcmp (prev->model, d->model) != 0)
        printf ("  %-16s %s %.3f, %s %.1f%%\n", d->model, _ ("threshold"), d->threshold,
                _ ("false positives on clean patches"), d->fpr * 100);
      printf ("    %-8s ε=%-4s %s %5.1f%% %s %" G_GSIZE_FORMAT "\n", d->attack,
              g_ascii_formatd (eps, sizeof eps, "%g", d->eps), _ ("detected"), d->detection_rate * 100,
              _ ("of the fooled"), d->n_adversarial);
    }

  for (guint i = 0; i < report->flags->len; i++)
    {
      const HgEvalFlag *f = &g_array_index (report->flags, HgEvalFlag, i);
      char              eps[G_ASCII_DTOSTR_BUF_SIZE];

      if (i == 0)
        printf ("\n");
      printf (_ ("FLAG: the robustness of %s in front of %s disappears under the adaptive %s attack at ε=%s: "
                 "balanced accuracy %.3f non-adaptive, %.3f adaptive\n"),
              f->defense, f->model, f->attack, g_ascii_formatd (eps, sizeof eps, "%g", f->eps),
              f->ba_non_adaptive, f->ba_adaptive);
    }
}

/* ---- the paper reproduction ----------------------------------------------- */

/* Li & Liu, "Adversarial Attack and Defense in Breast Cancer Deep Learning
 * Systems", Bioengineering 2023, 10(8), 973: accuracy on their 91 test
 * images (90, 10, 88 and 25 of 91). */
#define PAPER_N 91
#define PAPER_STANDARD_CLEAN 98.90
#define PAPER_STANDARD_FGSM 10.99
#define PAPER_DEFENDED_CLEAN 96.70
#define PAPER_DEFENDED_FGSM 27.47

static const HgEvalResult *
find_result (const HgEvalReport *report,
             const char         *model,
             const char         *defense,
             const char         *attack,
             double              eps,
             gboolean            adaptive)
{
  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);

      if (strcmp (r->model, model) == 0 && strcmp (r->defense, defense) == 0 && strcmp (r->attack, attack) == 0 &&
          r->eps == eps && r->adaptive == adaptive)
        return r;
    }
  return NULL;
}

static void
append_ours (GString            *out,
             const HgEvalResult *r)
{
  if (r == NULL)
    {
      g_string_append (out, " – | – |");
      return;
    }
  g_string_append_printf (out, " %.1f%% | %.3f [%.3f, %.3f] |", 100 * r->metrics.accuracy,
                          r->metrics.balanced_accuracy, r->metrics.ba_ci95[0], r->metrics.ba_ci95[1]);
}

static void
append_model_rows (GString            *out,
                   const HgEvalReport *report,
                   const char         *model,
                   const char         *label,
                   double              paper_clean,
                   double              paper_fgsm,
                   GArray             *eps)
{
  g_string_append_printf (out, "| %s, clean | %.2f%% |", label, paper_clean);
  append_ours (out, find_result (report, model, "none", "fgsm", 0, FALSE));
  g_string_append (out, "\n");
  for (guint e = 0; e < eps->len; e++)
    {
      double v = g_array_index (eps, double, e);

      if (v == 0)
        continue;
      g_string_append_printf (out, "| %s, FGSM ε = %g/255 |", label, v);
      if (e == eps->len - 1)
        g_string_append_printf (out, " %.2f%% |", paper_fgsm);
      else
        g_string_append (out, " |");
      append_ours (out, find_result (report, model, "none", "fgsm", v, FALSE));
      g_string_append (out, "\n");
    }
}

/* The paper's numbers beside ours, then what the paper did not measure. */
static char *
paper_markdown (const HgEvalReport *report,
                GPtrArray          *models,
                GPtrArray          *names,
                GPtrArray          *paths,
                GArray             *eps,
                const char         *plot_link,
                const char         *command_line)
{
  GString         *out = g_string_new (NULL);
  const char      *standard = names->pdata[0], *defended = names->pdata[1];
  g_autofree char *rest = hg_eval_report_to_markdown (report, NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y-%m-%d");
  gboolean         has_pgd = FALSE;

  g_string_append (out,
                   "# Reproducing “Adversarial Attack and Defense in Breast Cancer Deep Learning Systems”\n\n"
                   "Li & Liu (Bioengineering 2023, 10(8), 973) fine-tuned a DenseNet121 on breast-cancer "
                   "pathology images, attacked it with FGSM, and retrained it on adversarial examples as a "
                   "defence. They report accuracy on 91 test images, without intervals, against the one "
                   "attack the defence was trained on.\n\n"
                   "Histoguard repeats the experiment on the IDC patches (50×50, patients split into train, "
                   "validation and test; only test patients here), with its own CNNs trained in C, and adds "
                   "what the paper did not measure: balanced accuracy with 95% intervals, PGD, input-transform "
                   "defences attacked both obliviously and adaptively (BPDA, EOT), minimal perturbations "
                   "(DeepFool) and a feature-squeezing detector.\n\n");
  g_string_append_printf (out, "Generated on %s by:\n\n    %s\n\n", date, command_line);

  g_string_append (out, "## Models\n\n| role | name | file | architecture | parameters | trained by |\n"
                        "|---|---|---|---|---|---|\n");
  for (guint i = 0; i < models->len; i++)
    {
      HgModel         *model = models->pdata[i];
      const char      *command = hg_model_get_metadata (model, "command");
      g_autofree char *base = g_path_get_basename (paths->pdata[i]);

      g_string_append_printf (out, "| %s | %s | `%s` | %s | %" G_GSIZE_FORMAT " | %s%s%s |\n",
                              i == 0 ? "standard" : i == 1 ? "defended (adversarially trained)"
                                                           : "other",
                              (const char *) names->pdata[i], base, hg_model_get_arch_name (model),
                              hg_model_get_n_params (model), command != NULL ? "`" : "",
                              command != NULL ? command : "unknown", command != NULL ? "`" : "");
    }

  g_string_append_printf (out,
                          "\n## The paper's table beside ours\n\n"
                          "The paper's accuracies are on %d images; ours on %" G_GSIZE_FORMAT " test patches, "
                          "%" G_GSIZE_FORMAT " of them IDC: with classes this unbalanced, accuracy flatters a "
                          "model that favours the majority, and balanced accuracy is the figure to read. "
                          "The paper reports one FGSM budget, shown in the row of our largest ε; ours span a "
                          "range of ε in units of 1/255.\n\n"
                          "| model, condition | paper: accuracy | Histoguard: accuracy | balanced accuracy [95%% CI] |\n"
                          "|---|---|---|---|\n",
                          PAPER_N, report->n, report->n_positive);
  append_model_rows (out, report, standard, "standard", PAPER_STANDARD_CLEAN, PAPER_STANDARD_FGSM, eps);
  append_model_rows (out, report, defended, "defended", PAPER_DEFENDED_CLEAN, PAPER_DEFENDED_FGSM, eps);

  for (guint i = 0; i < report->results->len && !has_pgd; i++)
    has_pgd = strcmp (g_array_index (report->results, HgEvalResult, i).attack, "pgd") == 0;
  if (has_pgd)
    {
      g_string_append_printf (out, "\n## What the paper did not measure: PGD-%d\n\n"
                                   "FGSM takes one step; PGD takes %d from a random start, so a defence "
                                   "that only learned FGSM's single step cannot hide behind it.\n\n"
                                   "| model | ε | accuracy | balanced accuracy [95%% CI] |\n|---|---|---|---|\n",
                              report->steps, report->steps);
      for (guint m = 0; m < 2; m++)
        for (guint e = 0; e < eps->len; e++)
          {
            double v = g_array_index (eps, double, e);

            if (v == 0)
              continue;
            g_string_append_printf (out, "| %s | %g/255 |", m == 0 ? standard : defended, v);
            append_ours (out, find_result (report, m == 0 ? standard : defended, "none", "pgd", v, FALSE));
            g_string_append (out, "\n");
          }
    }

  g_string_append (out, "\n## Everything, with intervals\n\n");
  if (plot_link != NULL)
    g_string_append_printf (out, "![Balanced accuracy against ε](%s)\n\n", plot_link);
  g_string_append (out, rest);
  return g_string_free (out, FALSE);
}

static gboolean
write_text (const char *path,
            const char *text,
            const char *what,
            GError    **error)
{
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    {
      g_prefix_error (error, _ ("could not write the %s: "), what);
      return FALSE;
    }
  return TRUE;
}

int
hg_cli_eval (int    argc,
             char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) model_paths = NULL;
  g_autofree char  *data_dir = NULL;
  g_autofree char  *splits_path = NULL;
  g_autofree char  *split_name = NULL;
  g_autofree char  *attack_list = NULL;
  g_autofree char  *eps_text = NULL;
  g_autofree char  *defense_list = NULL;
  g_autofree char  *detector_spec = NULL;
  g_autofree char  *calibration_split = NULL;
  g_autofree char  *json_path = NULL;
  g_autofree char  *csv_path = NULL;
  g_autofree char  *plot_path = NULL;
  g_autofree char  *markdown_path = NULL;
  g_autofree char  *title = NULL;
  g_autofree char  *command_line = NULL;
  g_autofree float *x = NULL;
  g_autofree int   *labels = NULL;
  g_autofree float *calib_x = NULL;
  g_autofree int   *calib_labels = NULL;
  g_autoptr (HgEvalReport) report = NULL;
  HgEvalOptions      options;
  HgEvalData         data = { 0 }, calibration = { 0 };
  Progress           progress = { 0 };
  gint64             seed = 0;
  int                steps = 10, restarts = 1, eot = 0, threads = 0;
  double             detector_fpr = 0.05;
  gboolean           adaptive = FALSE, quiet = FALSE, paper = FALSE;
  int                width = 0, height = 0;
  int                status = HG_CLI_EXIT_OK;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME_ARRAY, &model_paths, N_ ("A model file (repeat for several)"), N_ ("MODEL") },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, N_ ("Folder of labelled patches (IDC layout or <class>/<image>)"), N_ ("DIR") },
    { "splits", 0, 0, G_OPTION_ARG_FILENAME, &splits_path, N_ ("Patient split file (as idc/splits.tsv)"), N_ ("FILE") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, N_ ("Split to evaluate with --splits (default: test)"), N_ ("NAME") },
    { "attack", 'a', 0, G_OPTION_ARG_STRING, &attack_list, N_ ("Attacks: fgsm, bim, pgd, mifgsm, deepfool (default: fgsm)"), N_ ("LIST") },
    { "eps", 'e', 0, G_OPTION_ARG_STRING, &eps_text, N_ ("ε values in units of 1/255 (default: 0,1,2,4,8)"), N_ ("LIST") },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, N_ ("Iterations of BIM, PGD and MI-FGSM (default: 10)"), N_ ("K") },
    { "restarts", 0, 0, G_OPTION_ARG_INT, &restarts, N_ ("PGD random restarts (default: 1)"), N_ ("R") },
    { "defense", 'D', 0, G_OPTION_ARG_STRING, &defense_list,
      N_ ("Defences in front of the model: none, jpeg:Q, median:K, blur:S, bits:B, tv:W, noise:S; "
          "chain with '+' (default: none)"),
      N_ ("LIST") },
    { "adaptive", 0, 0, G_OPTION_ARG_NONE, &adaptive, N_ ("Also attack through each defence (BPDA, EOT)"), NULL },
    { "eot", 0, 0, G_OPTION_ARG_INT, &eot, N_ ("EOT draws per gradient for randomised defences (default: 8)"), N_ ("N") },
    { "detector", 0, 0, G_OPTION_ARG_STRING, &detector_spec,
      N_ ("Evaluate the feature-squeezing detector with these squeezers (e.g. bits:5,median:3)"), N_ ("LIST") },
    { "detector-fpr", 0, 0, G_OPTION_ARG_DOUBLE, &detector_fpr, N_ ("Its target false-positive rate (default: 0.05)"), N_ ("RATE") },
    { "calibration-split", 0, 0, G_OPTION_ARG_STRING, &calibration_split,
      N_ ("Split for the detector's threshold (default with --splits: val)"), N_ ("NAME") },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, N_ ("Write the results as JSON"), N_ ("FILE") },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path, N_ ("Write the results as CSV"), N_ ("FILE") },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot_path, N_ ("Draw balanced accuracy against ε as PNG"), N_ ("FILE") },
    { "markdown", 0, 0, G_OPTION_ARG_FILENAME, &markdown_path, N_ ("Write the results as Markdown tables"), N_ ("FILE") },
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, N_ ("Title of the plot"), N_ ("TEXT") },
    { "paper", 0, 0, G_OPTION_ARG_NONE, &paper,
      N_ ("Write the Markdown as the paper reproduction: the paper's numbers beside ours "
          "(first --model: standard, second: adversarially trained)"),
      NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_ ("Seed of random starts, randomised defences, bootstrap (default: 0)"), N_ ("S") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_ ("Worker threads (default: one per core)"), N_ ("N") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_ ("Print no summary and no progress"), NULL },
    { NULL }
  };

  /* Numbers in the summary, the Markdown and the plot use '.', whatever
   * the language: they are data, read by programs as often as by people. */
  setlocale (LC_NUMERIC, "C");
  command_line = command_line_of (argc, argv);
  context = g_option_context_new (NULL);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                /* xgettext:no-c-format */
                                _ ("Evaluates models against attacks and defences on labelled patches:\n"
                                   "every model × defence × attack × ε, with balanced accuracy and its 95% interval.\n"
                                   "Non-adaptive attacks are crafted on the bare model and evaluated through each\n"
                                   "defence; --adaptive adds attacks crafted through the defence itself."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!hg_cli_parse (context, COMMAND, &argc, &argv))
    return HG_CLI_EXIT_USAGE;

  if (argc > 1)
    {
      hg_cli_error (COMMAND, _ ("unexpected argument '%s' (see 'histoguard-cli eval --help')"), argv[1]);
      return HG_CLI_EXIT_USAGE;
    }
  if (model_paths == NULL || model_paths[0] == NULL)
    {
      hg_cli_error (COMMAND, _ ("no --model given (see 'histoguard-cli eval --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  if (data_dir == NULL)
    {
      hg_cli_error (COMMAND, _ ("no --data folder given (see 'histoguard-cli eval --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  if (paper && (g_strv_length (model_paths) != 2 || markdown_path == NULL))
    {
      hg_cli_error (COMMAND, _ ("--paper needs exactly two --model (standard, then defended) and --markdown FILE"));
      return HG_CLI_EXIT_USAGE;
    }
  if (split_name != NULL && splits_path == NULL)
    {
      hg_cli_error (COMMAND, _ ("--split needs --splits FILE"));
      return HG_CLI_EXIT_USAGE;
    }
  if (steps < 1 || steps > HG_ATTACK_MAX_STEPS)
    {
      hg_cli_error (COMMAND, _ ("--steps must be from 1 to %d, got %d"), HG_ATTACK_MAX_STEPS, steps);
      return HG_CLI_EXIT_USAGE;
    }
  if (restarts < 1 || restarts > HG_ATTACK_MAX_RESTARTS)
    {
      hg_cli_error (COMMAND, _ ("--restarts must be from 1 to %d, got %d"), HG_ATTACK_MAX_RESTARTS, restarts);
      return HG_CLI_EXIT_USAGE;
    }
  if (eot < 0 || eot > HG_ATTACK_MAX_EOT)
    {
      hg_cli_error (COMMAND, _ ("--eot must be from 1 to %d, got %d"), HG_ATTACK_MAX_EOT, eot);
      return HG_CLI_EXIT_USAGE;
    }
  if (!(detector_fpr >= 0 && detector_fpr <= 1))
    {
      hg_cli_error (COMMAND, _ ("--detector-fpr must be between 0 and 1, got %g"), detector_fpr);
      return HG_CLI_EXIT_USAGE;
    }
  if (threads < 0 || threads > 256)
    {
      hg_cli_error (COMMAND, _ ("--threads must be from 0 (one per core) to 256, not %d"), threads);
      return HG_CLI_EXIT_USAGE;
    }

  hg_eval_options_init (&options);
  options.steps = steps;
  options.restarts = restarts;
  options.eot_samples = eot;
  options.adaptive = adaptive;
  options.detector_fpr = detector_fpr;
  options.seed = (guint64) seed;
  options.n_threads = threads;

  /* Everything the command line names, checked before any work. */
  {
    g_autoptr (GArray) attacks = hg_attack_kind_parse_list (attack_list != NULL ? attack_list : "fgsm", &error);
    g_autoptr (GArray) eps = NULL;
    g_autoptr (GPtrArray) defenses = NULL;

    if (attacks == NULL)
      {
        hg_cli_error (COMMAND, "--attack: %s", error->message);
        status = HG_CLI_EXIT_USAGE;
        goto out;
      }
    g_array_append_vals (options.attacks, attacks->data, attacks->len);

    eps = parse_eps_list (eps_text != NULL ? eps_text : "0,1,2,4,8", &error);
    if (eps == NULL)
      {
        hg_cli_error (COMMAND, "%s", error->message);
        status = HG_CLI_EXIT_USAGE;
        goto out;
      }
    g_array_append_vals (options.eps, eps->data, eps->len);

    defenses = hg_defense_parse_list (defense_list != NULL ? defense_list : "none", &error);
    if (defenses == NULL)
      {
        hg_cli_error (COMMAND, "--defense: %s", error->message);
        status = HG_CLI_EXIT_USAGE;
        goto out;
      }
    for (guint i = 0; i < defenses->len; i++)
      g_ptr_array_add (options.defenses, hg_defense_ref (defenses->pdata[i]));

    if (detector_spec != NULL)
      {
        options.detector = hg_detector_new (detector_spec, &error);
        if (options.detector == NULL)
          {
            hg_cli_error (COMMAND, "--detector: %s", error->message);
            status = HG_CLI_EXIT_USAGE;
            goto out;
          }
      }
  }

  for (guint i = 0; model_paths[i] != NULL; i++)
    {
      HgModel *model = hg_model_load (model_paths[i], &error);
      int      h, w, c;
      char    *name;

      if (model == NULL)
        {
          hg_cli_error (COMMAND, "%s", error->message);
          status = HG_CLI_EXIT_FAILURE;
          goto out;
        }
      hg_model_get_input_size (model, &h, &w, &c);
      if (i == 0)
        {
          width = w;
          height = h;
        }
      else if (w != width || h != height)
        {
          hg_cli_error (COMMAND, _ ("models take different image sizes: '%s' %d×%d, '%s' %d×%d"),
                        model_paths[0], width, height, model_paths[i], w, h);
          hg_model_unref (model);
          status = HG_CLI_EXIT_FAILURE;
          goto out;
        }
      name = model_name_for (model_paths[i]);
      for (guint j = 0; j < options.model_names->len; j++)
        if (strcmp (options.model_names->pdata[j], name) == 0)
          {
            char *unique = g_strdup_printf ("%s-%u", name, i + 1);

            g_free (name);
            name = unique;
            break;
          }
      g_ptr_array_add (options.models, model);
      g_ptr_array_add (options.model_names, name);
    }

  if (!load_data (data_dir, splits_path, split_name != NULL ? split_name : "test", width, height,
                  &x, &labels, &data.n, &error))
    {
      /* The likely cause of an image that does not fit is the model. */
      if (g_error_matches (error, HG_ERROR, HG_ERROR_TOO_LARGE) || strstr (error->message, "larger than") != NULL)
        hg_cli_error (COMMAND, _ ("the models take %d×%d patches: %s"), width, height, error->message);
      else
        hg_cli_error (COMMAND, "%s", error->message);
      status = HG_CLI_EXIT_FAILURE;
      goto out;
    }
  data.x = x;
  data.labels = labels;
  data.width = width;
  data.height = height;

  if (options.detector != NULL && (splits_path != NULL || calibration_split != NULL))
    {
      const char *name = calibration_split != NULL ? calibration_split : "val";

      if (splits_path == NULL)
        {
          hg_cli_error (COMMAND, _ ("--calibration-split needs --splits FILE"));
          status = HG_CLI_EXIT_USAGE;
          goto out;
        }
      if (!load_data (data_dir, splits_path, name, width, height, &calib_x, &calib_labels, &calibration.n, &error))
        {
          hg_cli_error (COMMAND, _ ("detector calibration: %s"), error->message);
          status = HG_CLI_EXIT_FAILURE;
          goto out;
        }
      calibration.x = calib_x;
      calibration.labels = calib_labels;
      calibration.width = width;
      calibration.height = height;
    }

  progress.timer = g_timer_new ();
  report = hg_eval_run (&options, &data, calibration.n > 0 ? &calibration : NULL,
                        !quiet && hg_cli_stderr_is_tty () ? progress_cb : NULL, &progress, NULL, &error);
  progress_end (&progress);
  g_timer_destroy (progress.timer);
  if (report == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      status = error->code == HG_ERROR_INVALID_ARGUMENT ? HG_CLI_EXIT_USAGE : HG_CLI_EXIT_FAILURE;
      goto out;
    }

  if (!quiet)
    print_summary (report);

  {
    g_autofree char *json = json_path != NULL ? hg_eval_report_to_json (report) : NULL;
    g_autofree char *csv = csv_path != NULL ? hg_eval_report_to_csv (report) : NULL;
    g_autofree char *plot_link = NULL;
    g_autofree char *markdown = NULL;

    if (json != NULL && !write_text (json_path, json, "JSON", &error))
      goto write_failed;
    if (csv != NULL && !write_text (csv_path, csv, "CSV", &error))
      goto write_failed;
    if (plot_path != NULL && !hg_eval_report_plot (report, title, plot_path, &error))
      goto write_failed;
    if (markdown_path != NULL)
      {
        /* Link the plot relative to the Markdown file when both are written. */
        if (plot_path != NULL)
          {
            g_autofree char *md_dir = g_path_get_dirname (markdown_path);
            g_autofree char *plot_dir = g_path_get_dirname (plot_path);

            plot_link = strcmp (md_dir, plot_dir) == 0 ? g_path_get_basename (plot_path) : g_canonicalize_filename (plot_path, NULL);
          }
        if (paper)
          {
            g_autoptr (GPtrArray) paths = g_ptr_array_new ();

            for (guint i = 0; model_paths[i] != NULL; i++)
              g_ptr_array_add (paths, model_paths[i]);
            markdown = paper_markdown (report, options.models, options.model_names, paths, options.eps,
                                       plot_link, command_line);
          }
        else
          markdown = hg_eval_report_to_markdown (report, plot_link);
        if (!write_text (markdown_path, markdown, "Markdown", &error))
          goto write_failed;
      }
  }
  goto out;

write_failed:
  hg_cli_error (COMMAND, "%s", error->message);
  status = HG_CLI_EXIT_FAILURE;

out:
  hg_eval_options_clear (&options);
  return status;
}
