/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Metrics of a binary classifier (class 1 = IDC = positive), with a 95%
 * interval for balanced accuracy.
 *
 * The interval is a stratified percentile bootstrap: positives and
 * negatives are resampled separately with their own counts (as the test
 * set was drawn: by class, the counts are fixed), HG_METRICS_BOOTSTRAP
 * times from a fixed seed, and the 2.5th and 97.5th percentiles of the
 * resampled balanced accuracies are reported. Resampling n_pos positives
 * with replacement makes the number of correct ones Binomial(n_pos,
 * sensitivity), so each replicate is drawn exactly from two binomials:
 * the result depends only on the four confusion counts, and is cheap. */

#define HG_METRICS_BOOTSTRAP 10000

typedef struct
{
  gsize  n;
  gsize  tp, fn, tn, fp;
  double accuracy;
  /* Mean of sensitivity and specificity; with one class absent, the
   * recall of the other. NAN when n is 0. */
  double balanced_accuracy;
  double ba_ci95[2];
  double sensitivity;     /* tp / (tp + fn); NAN without positives */
  double specificity;     /* tn / (tn + fp); NAN without negatives */
  double auc;             /* NAN without scores or with one class only */
  double mean_confidence; /* mean probability of the predicted class; NAN without */
} HgMetrics;

/* labels and predictions are 0 or 1. scores (the probability of class 1,
 * for AUC) and confidences (the probability of each predicted class) may
 * be NULL. seed fixes the bootstrap. */
void hg_metrics_compute (const int   *labels,
                         const int   *predictions,
                         const float *scores,
                         const float *confidences,
                         gsize        n,
                         guint64      seed,
                         HgMetrics   *out);

/* The bootstrap interval alone, from confusion counts. */
void hg_metrics_balanced_accuracy_ci95 (gsize   tp,
                                        gsize   fn,
                                        gsize   tn,
                                        gsize   fp,
                                        guint64 seed,
                                        double  ci[2]);

/* Area under the ROC curve by the Mann–Whitney statistic, ties counted
 * half; NAN when a class is absent. */
double hg_metrics_auc (const int   *labels,
                       const float *scores,
                       gsize        n);

/* Of the inputs classified correctly when clean, the fraction whose
 * prediction under attack is wrong. *n_eligible (may be NULL) receives
 * their number; NAN when it is 0. */
double hg_metrics_attack_success_rate (const int *labels,
                                       const int *clean_predictions,
                                       const int *attacked_predictions,
                                       gsize      n,
                                       gsize     *n_eligible);

G_END_DECLS
