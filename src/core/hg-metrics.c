/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "histoguard/hg-metrics.h"

#include "hg-rng-private.h"

#define HG_RNG_STREAM_BOOTSTRAP G_GUINT64_CONSTANT (0x626f6f74) /* "boot" */

/* The cumulative distribution of Binomial(n, p) at 0..n, for sampling by
 * inversion. Computed in log space: n may be in the thousands. */
static double *
binomial_cdf (gsize  n,
              double p)
{
  double *cdf = g_new (double, n + 1);
  double  acc = 0;

  for (gsize k = 0; k <= n; k++)
    {
      double pmf;

      if (p <= 0)
        pmf = k == 0 ? 1 : 0;
      else if (p >= 1)
        pmf = k == n ? 1 : 0;
      else
        pmf = exp (lgamma (n + 1.0) - lgamma (k + 1.0) - lgamma (n - k + 1.0) + k * log (p) + (n - k) * log1p (-p));
      acc += pmf;
      cdf[k] = acc;
    }
  /* Guard the top against rounding: u < 1 must always find a k. */
  cdf[n] = INFINITY;
  return cdf;
}

static gsize
sample_cdf (const double *cdf,
            gsize         n,
            double        u)
{
  gsize lo = 0, hi = n;

  /* Smallest k with u < cdf[k]. */
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;

      if (u < cdf[mid])
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Percentile of sorted values, by linear interpolation between order
 * statistics (the "type 7" rule of R and numpy's default). */
static double
percentile (const double *sorted,
            gsize         n,
            double        q)
{
  double h = (n - 1) * q;
  gsize  lo = (gsize) floor (h);
  gsize  hi = MIN (lo + 1, n - 1);

  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

void
hg_metrics_balanced_accuracy_ci95 (gsize   tp,
                                   gsize   fn,
                                   gsize   tn,
                                   gsize   fp,
                                   guint64 seed,
                                   double  ci[2])
{
  gsize   n_pos = tp + fn, n_neg = tn + fp;
  double *pos_cdf = NULL, *neg_cdf = NULL, *values;
  HgRng   rng;

  if (n_pos == 0 && n_neg == 0)
    {
      ci[0] = ci[1] = NAN;
      return;
    }

  if (n_pos > 0)
    pos_cdf = binomial_cdf (n_pos, (double) tp / n_pos);
  if (n_neg > 0)
    neg_cdf = binomial_cdf (n_neg, (double) tn / n_neg);

  hg_rng_init (&rng, seed, HG_RNG_STREAM_BOOTSTRAP, 0);
  values = g_new (double, HG_METRICS_BOOTSTRAP);
  for (gsize b = 0; b < HG_METRICS_BOOTSTRAP; b++)
    {
      double sum = 0;
      int    parts = 0;

      if (pos_cdf != NULL)
        {
          sum += (double) sample_cdf (pos_cdf, n_pos, hg_rng_uniform (&rng)) / n_pos;
          parts++;
        }
      if (neg_cdf != NULL)
        {
          sum += (double) sample_cdf (neg_cdf, n_neg, hg_rng_uniform (&rng)) / n_neg;
          parts++;
        }
      values[b] = sum / parts;
    }
  qsort (values, HG_METRICS_BOOTSTRAP, sizeof (double), compare_double);
  ci[0] = percentile (values, HG_METRICS_BOOTSTRAP, 0.025);
  ci[1] = percentile (values, HG_METRICS_BOOTSTRAP, 0.975);

  g_free (values);
  g_free (pos_cdf);
  g_free (neg_cdf);
}

typedef struct
{
  float score;
  int   label;
} Ranked;

static int
compare_ranked (gconstpointer a,
                gconstpointer b)
{
  float x = ((const Ranked *) a)->score, y = ((const Ranked *) b)->score;

  return (x > y) - (x < y);
}

double
hg_metrics_auc (const int   *labels,
                const float *scores,
                gsize        n)
{
  g_autofree Ranked *ranked = NULL;
  double             rank_sum = 0;
  gsize              n_pos = 0, n_neg;

  g_return_val_if_fail (n == 0 || (labels != NULL && scores != NULL), NAN);

  ranked = g_new (Ranked, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    {
      ranked[i].score = scores[i];
      ranked[i].label = labels[i];
      n_pos += labels[i] == 1;
    }
  n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0)
    return NAN;

  /* Sum of the positives' ranks, tied scores sharing their mean rank. */
  qsort (ranked, n, sizeof (Ranked), compare_ranked);
  for (gsize i = 0; i < n;)
    {
      gsize  j = i;
      double mean_rank;
      gsize  pos_in_tie = 0;

      while (j < n && ranked[j].score == ranked[i].score)
        pos_in_tie += ranked[j++].label == 1;
      mean_rank = (i + 1 + j) / 2.0; /* ranks i+1 … j */
      rank_sum += pos_in_tie * mean_rank;
      i = j;
    }
  return (rank_sum - n_pos * (n_pos + 1) / 2.0) / ((double) n_pos * n_neg);
}

double
hg_metrics_attack_success_rate (const int *labels,
                                const int *clean_predictions,
                                const int *attacked_predictions,
                                gsize      n,
                                gsize     *n_eligible)
{
  gsize eligible = 0, flipped = 0;

  for (gsize i = 0; i < n; i++)
    if (clean_predictions[i] == labels[i])
      {
        eligible++;
        flipped += attacked_predictions[i] != labels[i];
      }
  if (n_eligible != NULL)
    *n_eligible = eligible;
  return eligible > 0 ? (double) flipped / eligible : NAN;
}

void
hg_metrics_compute (const int   *labels,
                    const int   *predictions,
                    const float *scores,
                    const float *confidences,
                    gsize        n,
                    guint64      seed,
                    HgMetrics   *out)
{
  double confidence_sum = 0;

  g_return_if_fail (out != NULL);
  g_return_if_fail (n == 0 || (labels != NULL && predictions != NULL));

  *out = (HgMetrics){ .n = n };
  for (gsize i = 0; i < n; i++)
    {
      gboolean positive = labels[i] == 1, correct = predictions[i] == labels[i];

      if (positive)
        *(correct ? &out->tp : &out->fn) += 1;
      else
        *(correct ? &out->tn : &out->fp) += 1;
      if (confidences != NULL)
        confidence_sum += confidences[i];
    }

  out->accuracy = n > 0 ? (double) (out->tp + out->tn) / n : NAN;
  out->sensitivity = out->tp + out->fn > 0 ? (double) out->tp / (out->tp + out->fn) : NAN;
  out->specificity = out->tn + out->fp > 0 ? (double) out->tn / (out->tn + out->fp) : NAN;
  if (isnan (out->sensitivity))
    out->balanced_accuracy = out->specificity;
  else if (isnan (out->specificity))
    out->balanced_accuracy = out->sensitivity;
  else
    out->balanced_accuracy = (out->sensitivity + out->specificity) / 2;
  hg_metrics_balanced_accuracy_ci95 (out->tp, out->fn, out->tn, out->fp, seed, out->ba_ci95);
  out->auc = scores != NULL ? hg_metrics_auc (labels, scores, n) : NAN;
  out->mean_confidence = confidences != NULL && n > 0 ? confidence_sum / n : NAN;
}
