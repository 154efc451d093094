/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Writing an HgEvalReport as JSON, CSV and Markdown. Numbers are written
 * by hand rather than through json-glib so that 0.853 stays "0.853", not
 * "0.85299999999999998". */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-eval.h"

static void
append_json_string (GString    *out,
                    const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

/* Up to 6 significant digits; NAN and infinities are null. */
static void
append_number (GString *out,
               double   v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (v))
    g_string_append (out, "null");
  else
    g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

static void
append_key (GString    *out,
            const char *key)
{
  g_string_append_c (out, ' ');
  append_json_string (out, key);
  g_string_append (out, ": ");
}

char *
hg_eval_report_to_json (const HgEvalReport *report)
{
  GString *out = g_string_new ("{\n  \"results\": [");

  g_return_val_if_fail (report != NULL, NULL);

  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);
      const HgMetrics    *m = &r->metrics;

      g_string_append (out, i == 0 ? "\n    {" : ",\n    {");
      append_key (out, "model");
      append_json_string (out, r->model);
      g_string_append_c (out, ',');
      append_key (out, "defense");
      append_json_string (out, r->defense);
      g_string_append_c (out, ',');
      append_key (out, "attack");
      append_json_string (out, r->attack);
      g_string_append_c (out, ',');
      append_key (out, "eps");
      append_number (out, r->eps);
      g_string_append_c (out, ',');
      append_key (out, "adaptive");
      g_string_append (out, r->adaptive ? "true" : "false");
      g_string_append_c (out, ',');
      append_key (out, "n");
      g_string_append_printf (out, "%" G_GSIZE_FORMAT, m->n);
      g_string_append_c (out, ',');
      append_key (out, "accuracy");
      append_number (out, m->accuracy);
      g_string_append_c (out, ',');
      append_key (out, "balanced_accuracy");
      append_number (out, m->balanced_accuracy);
      g_string_append_c (out, ',');
      append_key (out, "ba_ci95");
      g_string_append_c (out, '[');
      append_number (out, m->ba_ci95[0]);
      g_string_append (out, ", ");
      append_number (out, m->ba_ci95[1]);
      g_string_append (out, "],");
      append_key (out, "sensitivity");
      append_number (out, m->sensitivity);
      g_string_append_c (out, ',');
      append_key (out, "specificity");
      append_number (out, m->specificity);
      g_string_append_c (out, ',');
      append_key (out, "attack_success_rate");
      append_number (out, r->attack_success_rate);
      g_string_append_c (out, ',');
      append_key (out, "mean_confidence");
      append_number (out, m->mean_confidence);
      g_string_append (out, " }");
    }
  g_string_append (out, "\n  ],\n  \"deepfool\": [");

  for (guint i = 0; i < report->deepfool->len; i++)
    {
      const HgEvalDeepFool *d = &g_array_index (report->deepfool, HgEvalDeepFool, i);

      g_string_append (out, i == 0 ? "\n    {" : ",\n    {");
      append_key (out, "model");
      append_json_string (out, d->model);
      g_string_append_c (out, ',');
      append_key (out, "norm");
      append_json_string (out, d->norm == HG_NORM_LINF ? "linf" : "l2");
      g_string_append_c (out, ',');
      append_key (out, "n");
      g_string_append_printf (out, "%" G_GSIZE_FORMAT, d->n);
      g_string_append_c (out, ',');
      append_key (out, "flipped");
      g_string_append_printf (out, "%" G_GSIZE_FORMAT, d->flipped);
      g_string_append_c (out, ',');
      append_key (out, "median");
      append_number (out, d->median);
      g_string_append_c (out, ',');
      append_key (out, "unit");
      append_json_string (out, d->norm == HG_NORM_LINF ? "1/255" : "[0,1] pixels");
      g_string_append (out, " }");
    }
  g_string_append (out, "\n  ],\n  \"detection\": [");

  for (guint i = 0; i < report->detection->len; i++)
    {
      const HgEvalDetection *d = &g_array_index (report->detection, HgEvalDetection, i);

      g_string_append (out, i == 0 ? "\n    {" : ",\n    {");
      append_key (out, "model");
      append_json_string (out, d->model);
      g_string_append_c (out, ',');
      append_key (out, "squeezers");
      append_json_string (out, report->detector != NULL ? report->detector : "");
      g_string_append_c (out, ',');
      append_key (out, "attack");
      append_json_string (out, d->attack);
      g_string_append_c (out, ',');
      append_key (out, "eps");
      append_number (out, d->eps);
      g_string_append_c (out, ',');
      append_key (out, "threshold");
      append_number (out, d->threshold);
      g_string_append_c (out, ',');
      append_key (out, "target_fpr");
      append_number (out, d->target_fpr);
      g_string_append_c (out, ',');
      append_key (out, "fpr");
      append_number (out, d->fpr);
      g_string_append_c (out, ',');
      append_key (out, "n_adversarial");
      g_string_append_printf (out, "%" G_GSIZE_FORMAT, d->n_adversarial);
      g_string_append_c (out, ',');
      append_key (out, "detection_rate");
      append_number (out, d->detection_rate);
      g_string_append_c (out, ',');
      append_key (out, "calibrated_on_evaluated_data");
      g_string_append (out, d->calibrated_on_evaluated_data ? "true" : "false");
      g_string_append (out, " }");
    }
  g_string_append (out, "\n  ],\n  \"flags\": [");

  for (guint i = 0; i < report->flags->len; i++)
    {
      const HgEvalFlag *f = &g_array_index (report->flags, HgEvalFlag, i);

      g_string_append (out, i == 0 ? "\n    {" : ",\n    {");
      append_key (out, "model");
      append_json_string (out, f->model);
      g_string_append_c (out, ',');
      append_key (out, "defense");
      append_json_string (out, f->defense);
      g_string_append_c (out, ',');
      append_key (out, "attack");
      append_json_string (out, f->attack);
      g_string_append_c (out, ',');
      append_key (out, "eps");
      append_number (out, f->eps);
      g_string_append_c (out, ',');
      append_key (out, "ba_non_adaptive");
      append_number (out, f->ba_non_adaptive);
      g_string_append_c (out, ',');
      append_key (out, "ba_adaptive");
      append_number (out, f->ba_adaptive);
      g_string_append_c (out, ',');
      append_key (out, "ba_undefended");
      append_number (out, f->ba_undefended);
      g_string_append (out, " }");
    }

  g_string_append (out, "\n  ],\n  \"meta\": {");
  append_key (out, "n");
  g_string_append_printf (out, "%" G_GSIZE_FORMAT ",", report->n);
  append_key (out, "n_positive");
  g_string_append_printf (out, "%" G_GSIZE_FORMAT ",", report->n_positive);
  append_key (out, "n_negative");
  g_string_append_printf (out, "%" G_GSIZE_FORMAT ",", report->n_negative);
  append_key (out, "steps");
  g_string_append_printf (out, "%d,", report->steps);
  append_key (out, "restarts");
  g_string_append_printf (out, "%d,", report->restarts);
  append_key (out, "eot_samples");
  g_string_append_printf (out, "%d,", report->eot_samples > 0 ? report->eot_samples : 8);
  append_key (out, "seed");
  g_string_append_printf (out, "%" G_GUINT64_FORMAT ",", report->seed);
  append_key (out, "ci");
  append_json_string (out, "stratified percentile bootstrap, 10000 resamples");
  g_string_append_c (out, ',');
  append_key (out, "seconds");
  append_number (out, report->seconds);
  g_string_append (out, " }\n}\n");

  return g_string_free (out, FALSE);
}

static void
append_csv_field (GString    *out,
                  const char *s)
{
  if (strpbrk (s, ",\"\n\r") == NULL)
    {
      g_string_append (out, s);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_csv_number (GString *out,
                   double   v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_c (out, ',');
  if (isfinite (v))
    g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

char *
hg_eval_report_to_csv (const HgEvalReport *report)
{
  GString *out = g_string_new ("model,defense,attack,eps,adaptive,n,accuracy,balanced_accuracy,"
                               "ba_ci95_low,ba_ci95_high,sensitivity,specificity,auc,"
                               "attack_success_rate,mean_confidence,tp,fn,tn,fp\n");

  g_return_val_if_fail (report != NULL, NULL);

  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);
      const HgMetrics    *m = &r->metrics;
      char                eps[G_ASCII_DTOSTR_BUF_SIZE];

      append_csv_field (out, r->model);
      g_string_append_c (out, ',');
      append_csv_field (out, r->defense);
      g_string_append_c (out, ',');
      append_csv_field (out, r->attack);
      g_string_append_printf (out, ",%s,%s,%" G_GSIZE_FORMAT, g_ascii_formatd (eps, sizeof eps, "%g", r->eps),
                              r->adaptive ? "true" : "false", m->n);
      append_csv_number (out, m->accuracy);
      append_csv_number (out, m->balanced_accuracy);
      append_csv_number (out, m->ba_ci95[0]);
      append_csv_number (out, m->ba_ci95[1]);
      append_csv_number (out, m->sensitivity);
      append_csv_number (out, m->specificity);
      append_csv_number (out, m->auc);
      append_csv_number (out, r->attack_success_rate);
      append_csv_number (out, m->mean_confidence);
      g_string_append_printf (out, ",%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT "\n",
                              m->tp, m->fn, m->tn, m->fp);
    }
  return g_string_free (out, FALSE);
}

/* ---- Markdown --------------------------------------------------------------- */

static void
append_fixed (GString *out,
              double   v,
              int      digits)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];

  if (!isfinite (v))
    {
      g_string_append (out, "–");
      return;
    }
  g_snprintf (format, sizeof format, "%%.%df", digits);
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, format, v));
}

static void
append_eps (GString *out,
            double   eps)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%g", eps));
}

static gboolean
str_in (GPtrArray  *list,
        const char *s)
{
  for (guint i = 0; i < list->len; i++)
    if (strcmp (list->pdata[i], s) == 0)
      return TRUE;
  return FALSE;
}

static GPtrArray *
distinct_models (const HgEvalReport *report)
{
  GPtrArray *models = g_ptr_array_new ();

  for (guint i = 0; i < report->results->len; i++)
    {
      const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);

      if (!str_in (models, r->model))
        g_ptr_array_add (models, r->model);
    }
  for (guint i = 0; i < report->deepfool->len; i++)
    {
      const HgEvalDeepFool *d = &g_array_index (report->deepfool, HgEvalDeepFool, i);

      if (!str_in (models, d->model))
        g_ptr_array_add (models, d->model);
    }
  return models;
}

char *
hg_eval_report_to_markdown (const HgEvalReport *report,
                            const char         *plot_link)
{
  GString *out = g_string_new (NULL);
  g_autoptr (GArray) eps = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GPtrArray) models = NULL;

  g_return_val_if_fail (report != NULL, NULL);

  for (guint i = 0; i < report->results->len; i++)
    {
      double e = g_array_index (report->results, HgEvalResult, i).eps;
      guint  j;

      for (j = 0; j < eps->len; j++)
        if (g_array_index (eps, double, j) == e)
          break;
      if (j == eps->len)
        g_array_append_val (eps, e);
    }
  models = distinct_models (report);

  g_string_append_printf (out,
                          "%" G_GSIZE_FORMAT " patches (%" G_GSIZE_FORMAT " IDC, %" G_GSIZE_FORMAT " non-IDC). "
                          "ε in units of 1/255 on [0,1] pixels (L∞). Iterative attacks: %d steps, "
                          "step 2.5·ε/steps (MI-FGSM: ε/steps), PGD with a random start and %d restart%s. "
                          "Adaptive attacks go through the defence with BPDA (identity gradient through "
                          "non-differentiable transforms) and EOT (%d draws) for randomised ones. "
                          "Cells: balanced accuracy [95%% interval: stratified bootstrap, 10,000 resamples].\n\n",
                          report->n, report->n_positive, report->n_negative, report->steps,
                          report->restarts, report->restarts == 1 ? "" : "s",
                          report->eot_samples > 0 ? report->eot_samples : 8);
  if (plot_link != NULL)
    g_string_append_printf (out, "![Balanced accuracy against ε](%s)\n\n", plot_link);

  if (report->flags->len > 0)
    {
      g_string_append (out, "**⚠ Robustness that disappears under an adaptive attack:**\n\n");
      for (guint i = 0; i < report->flags->len; i++)
        {
          const HgEvalFlag *f = &g_array_index (report->flags, HgEvalFlag, i);

          g_string_append_printf (out, "- `%s` in front of %s: under %s at ε = ", f->defense, f->model, f->attack);
          append_eps (out, f->eps);
          g_string_append (out, ", balanced accuracy ");
          append_fixed (out, f->ba_non_adaptive, 3);
          g_string_append (out, " against the non-adaptive attack, ");
          append_fixed (out, f->ba_adaptive, 3);
          g_string_append (out, " against the adaptive one");
          if (isfinite (f->ba_undefended))
            {
              g_string_append (out, " (no defence: ");
              append_fixed (out, f->ba_undefended, 3);
              g_string_append (out, ")");
            }
          g_string_append (out, ".\n");
        }
      g_string_append (out, "\n");
    }

  for (guint mi = 0; mi < models->len; mi++)
    {
      const char *model = models->pdata[mi];
      gboolean    any = FALSE;

      g_string_append_printf (out, "### %s\n\n", model);

      /* Balanced accuracy with its interval, one row per series. */
      for (guint i = 0; i < report->results->len; i++)
        {
          const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);

          if (strcmp (r->model, model) != 0)
            continue;
          if (!any)
            {
              g_string_append (out, "| defence | attack | attack sees the defence |");
              for (guint e = 0; e < eps->len; e++)
                {
                  g_string_append (out, " ε = ");
                  append_eps (out, g_array_index (eps, double, e));
                  g_string_append (out, " |");
                }
              g_string_append (out, "\n|---|---|---|");
              for (guint e = 0; e < eps->len; e++)
                g_string_append (out, "---|");
              g_string_append (out, "\n");
              any = TRUE;
            }
          /* A series starts at its first ε; print the whole row then. */
          if (i > 0)
            {
              const HgEvalResult *p = &g_array_index (report->results, HgEvalResult, i - 1);

              if (strcmp (p->model, r->model) == 0 && strcmp (p->defense, r->defense) == 0 &&
                  strcmp (p->attack, r->attack) == 0 && p->adaptive == r->adaptive)
                continue;
            }
          g_string_append_printf (out, "| %s | %s | %s |", r->defense, r->attack,
                                  strcmp (r->defense, "none") == 0 ? "–" : r->adaptive ? "yes (adaptive)"
                                                                                       : "no");
          for (guint e = 0; e < eps->len; e++)
            {
              double   want = g_array_index (eps, double, e);
              gboolean found = FALSE;

              for (guint j = i; j < report->results->len; j++)
                {
                  const HgEvalResult *s = &g_array_index (report->results, HgEvalResult, j);

                  if (strcmp (s->model, r->model) != 0 || strcmp (s->defense, r->defense) != 0 ||
                      strcmp (s->attack, r->attack) != 0 || s->adaptive != r->adaptive)
                    break;
                  if (s->eps == want)
                    {
                      g_string_append_c (out, ' ');
                      append_fixed (out, s->metrics.balanced_accuracy, 3);
                      g_string_append (out, " [");
                      append_fixed (out, s->metrics.ba_ci95[0], 2);
                      g_string_append (out, ", ");
                      append_fixed (out, s->metrics.ba_ci95[1], 2);
                      g_string_append (out, "] |");
                      found = TRUE;
                      break;
                    }
                }
              if (!found)
                g_string_append (out, " |");
            }
          g_string_append (out, "\n");
        }
      if (any)
        g_string_append (out, "\n");

      /* Everything else, per row. */
      if (any)
        {
          g_string_append (out, "<details><summary>All metrics</summary>\n\n"
                                "| defence | attack | adaptive | ε | accuracy | balanced accuracy [95% CI] | "
                                "sensitivity | specificity | AUC | attack success | mean confidence |\n"
                                "|---|---|---|---|---|---|---|---|---|---|---|\n");
          for (guint i = 0; i < report->results->len; i++)
            {
              const HgEvalResult *r = &g_array_index (report->results, HgEvalResult, i);
              const HgMetrics    *m = &r->metrics;

              if (strcmp (r->model, model) != 0)
                continue;
              g_string_append_printf (out, "| %s | %s | %s | ", r->defense, r->attack, r->adaptive ? "yes" : "no");
              append_eps (out, r->eps);
              g_string_append (out, " | ");
              append_fixed (out, m->accuracy, 3);
              g_string_append (out, " | ");
              append_fixed (out, m->balanced_accuracy, 3);
              g_string_append (out, " [");
              append_fixed (out, m->ba_ci95[0], 3);
              g_string_append (out, ", ");
              append_fixed (out, m->ba_ci95[1], 3);
              g_string_append (out, "] | ");
              append_fixed (out, m->sensitivity, 3);
              g_string_append (out, " | ");
              append_fixed (out, m->specificity, 3);
              g_string_append (out, " | ");
              append_fixed (out, m->auc, 3);
              g_string_append (out, " | ");
              append_fixed (out, r->attack_success_rate, 3);
              g_string_append (out, " | ");
              append_fixed (out, m->mean_confidence, 3);
              g_string_append (out, " |\n");
            }
          g_string_append (out, "\n</details>\n\n");
        }
    }

  if (report->deepfool->len > 0)
    {
      g_string_append (out, "### Minimal perturbations (DeepFool)\n\n"
                            "The median, over all inputs, of the smallest perturbation DeepFool found that "
                            "flips the bare model's prediction (an input it could not flip counts as "
                            "infinitely far).\n\n"
                            "| model | norm | median | flipped |\n|---|---|---|---|\n");
      for (guint i = 0; i < report->deepfool->len; i++)
        {
          const HgEvalDeepFool *d = &g_array_index (report->deepfool, HgEvalDeepFool, i);

          g_string_append_printf (out, "| %s | %s | ", d->model, d->norm == HG_NORM_LINF ? "L∞ (1/255)" : "L2 ([0,1] pixels)");
          append_fixed (out, d->median, d->norm == HG_NORM_LINF ? 2 : 4);
          g_string_append_printf (out, " | %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " |\n", d->flipped, d->n);
        }
      g_string_append (out, "\n");
    }

  if (report->detection->len > 0)
    {
      const HgEvalDetection *first = &g_array_index (report->detection, HgEvalDetection, 0);

      g_string_append_printf (out, "### Feature-squeezing detector (`%s`)\n\n"
                                   "Score: the largest L1 distance between the bare model's probabilities on an "
                                   "input and on its squeezed versions. Threshold for a %.0f%% false-positive rate "
                                   "on clean %s; detection rate over the correctly classified inputs the "
                                   "(non-adaptive) attack fooled.\n\n"
                                   "| model | attack | ε | threshold | false positives (clean) | fooled inputs | detected |\n"
                                   "|---|---|---|---|---|---|---|\n",
                              report->detector != NULL ? report->detector : "",
                              first->target_fpr * 100,
                              first->calibrated_on_evaluated_data ? "evaluated data (optimistic: no separate calibration set)" : "calibration data");
      for (guint i = 0; i < report->detection->len; i++)
        {
          const HgEvalDetection *d = &g_array_index (report->detection, HgEvalDetection, i);

          g_string_append_printf (out, "| %s | %s | ", d->model, d->attack);
          append_eps (out, d->eps);
          g_string_append (out, " | ");
          append_fixed (out, d->threshold, 3);
          g_string_append (out, " | ");
          append_fixed (out, d->fpr * 100, 1);
          g_string_append_printf (out, "%% | %" G_GSIZE_FORMAT " | ", d->n_adversarial);
          if (isfinite (d->detection_rate))
            {
              append_fixed (out, d->detection_rate * 100, 1);
              g_string_append (out, "%");
            }
          else
            g_string_append (out, "–");
          g_string_append (out, " |\n");
        }
      g_string_append (out, "\n");
    }

  return g_string_free (out, FALSE);
}
