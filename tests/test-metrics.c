/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "histoguard/hg-metrics.h"

static void
test_metrics_hand (void)
{
  /* 3 positives (2 found), 5 negatives (4 right). */
  static const int   labels[] = { 1, 1, 1, 0, 0, 0, 0, 0 };
  static const int   predictions[] = { 1, 1, 0, 0, 0, 0, 1, 0 };
  static const float confidences[] = { 0.9f, 0.8f, 0.6f, 0.7f, 1.0f, 0.5f, 0.9f, 0.6f };
  HgMetrics          m;

  hg_metrics_compute (labels, predictions, NULL, confidences, 8, 1, &m);
  g_assert_cmpuint (m.n, ==, 8);
  g_assert_cmpuint (m.tp, ==, 2);
  g_assert_cmpuint (m.fn, ==, 1);
  g_assert_cmpuint (m.tn, ==, 4);
  g_assert_cmpuint (m.fp, ==, 1);
  g_assert_cmpfloat_with_epsilon (m.accuracy, 6 / 8.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.sensitivity, 2 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.specificity, 4 / 5.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.balanced_accuracy, (2 / 3.0 + 4 / 5.0) / 2, 1e-12);
  g_assert_cmpfloat_with_epsilon (m.mean_confidence, 6.0 / 8, 1e-6);
  g_assert_true (isnan (m.auc));
  g_assert_cmpfloat (m.ba_ci95[0], <=, m.balanced_accuracy);
  g_assert_cmpfloat (m.ba_ci95[1], >=, m.balanced_accuracy);
}

static void
test_metrics_one_class (void)
{
  static const int labels[] = { 0, 0, 0, 0 };
  static const int predictions[] = { 0, 1, 0, 0 };
  HgMetrics        m;

  hg_metrics_compute (labels, predictions, NULL, NULL, 4, 1, &m);
  g_assert_true (isnan (m.sensitivity));
  g_assert_cmpfloat (m.specificity, ==, 0.75);
  g_assert_cmpfloat (m.balanced_accuracy, ==, 0.75);
  g_assert_true (isnan (m.mean_confidence));

  hg_metrics_compute (NULL, NULL, NULL, NULL, 0, 1, &m);
  g_assert_true (isnan (m.accuracy));
  g_assert_true (isnan (m.balanced_accuracy));
  g_assert_true (isnan (m.ba_ci95[0]) && isnan (m.ba_ci95[1]));
}

static void
test_auc (void)
{
  static const int   labels[] = { 0, 0, 1, 1 };
  static const float scores[] = { 0.1f, 0.4f, 0.35f, 0.8f };
  /* Pairs (pos, neg): (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, *)
   * right: 3 of 4. */
  g_assert_cmpfloat (hg_metrics_auc (labels, scores, 4), ==, 0.75);

  {
    /* Ties count half: one tied pair of four. */
    static const int   l[] = { 0, 1, 0, 1 };
    static const float s[] = { 0.5f, 0.5f, 0.2f, 0.9f };

    g_assert_cmpfloat (hg_metrics_auc (l, s, 4), ==, (1 + 0.5 + 1 + 1) / 4.0);
  }
  {
    static const int   l[] = { 1, 1, 0 };
    static const float s[] = { 0.1f, 0.2f, 0.9f };

    g_assert_cmpfloat (hg_metrics_auc (l, s, 3), ==, 0.0);
    g_assert_true (isnan (hg_metrics_auc (l, s, 2)));
  }
}

static void
test_attack_success_rate (void)
{
  static const int labels[] = { 1, 0, 1, 0, 1 };
  static const int clean[] = { 1, 0, 0, 0, 1 };    /* 4 correct */
  static const int attacked[] = { 0, 0, 0, 1, 1 }; /* of those, 2 flipped */
  static const int none_right[] = { 0, 1, 0, 1, 0 };
  gsize            eligible;

  g_assert_cmpfloat (hg_metrics_attack_success_rate (labels, clean, attacked, 5, &eligible), ==, 0.5);
  g_assert_cmpuint (eligible, ==, 4);
  g_assert_true (isnan (hg_metrics_attack_success_rate (labels, none_right, attacked, 5, &eligible)));
  g_assert_cmpuint (eligible, ==, 0);
}

static double
binomial_pmf (int    n,
              int    k,
              double p)
{
  return exp (lgamma (n + 1.0) - lgamma (k + 1.0) - lgamma (n - k + 1.0)) * pow (p, k) * pow (1 - p, n - k);
}

static void
test_ci_exact_small (void)
{
  /* tp 5, fn 1, tn 2, fp 4: the bootstrap distribution of the balanced
   * accuracy is that of (K1/6 + K0/6)/2 with K1 ~ Bin(6, 5/6) and
   * K0 ~ Bin(6, 2/6). Enumerate it (merging equal values) and read its
   * 2.5% and 97.5% quantiles. 10,000 resamples find the same mass points
   * unless a quantile sits within sampling noise (σ = 0.0016) of a jump
   * of the distribution: these counts keep both 0.016 away, which the
   * test checks too. By hand: 1/3 and 5/6. */
  double values[7 * 7], probs[7 * 7];
  int    n = 0;
  double ci[2];
  double lo = NAN, hi = NAN, cum = 0;

  for (int k1 = 0; k1 <= 6; k1++)
    for (int k0 = 0; k0 <= 6; k0++)
      {
        double v = (k1 + k0) / 12.0, p = binomial_pmf (6, k1, 5 / 6.0) * binomial_pmf (6, k0, 2 / 6.0);
        int    i;

        for (i = 0; i < n; i++)
          if (fabs (values[i] - v) < 1e-12)
            break;
        if (i == n)
          {
            values[n] = v;
            probs[n++] = 0;
          }
        probs[i] += p;
      }
  /* Selection sort by value. */
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (values[j] < values[i])
        {
          double v = values[i], p = probs[i];

          values[i] = values[j];
          probs[i] = probs[j];
          values[j] = v;
          probs[j] = p;
        }
  for (int i = 0; i < n; i++)
    {
      double before = cum;

      cum += probs[i];
      if (isnan (lo) && cum > 0.025)
        {
          lo = values[i];
          g_assert_cmpfloat (MIN (fabs (before - 0.025), fabs (cum - 0.025)), >, 0.015);
        }
      if (isnan (hi) && cum > 0.975)
        {
          hi = values[i];
          g_assert_cmpfloat (MIN (fabs (before - 0.975), fabs (cum - 0.975)), >, 0.015);
        }
    }
  g_assert_cmpfloat_with_epsilon (lo, 1 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (hi, 5 / 6.0, 1e-12);

  hg_metrics_balanced_accuracy_ci95 (5, 1, 2, 4, 7, ci);
  g_test_message ("exact quantiles %.4f %.4f, bootstrap %.4f %.4f", lo, hi, ci[0], ci[1]);
  g_assert_cmpfloat_with_epsilon (ci[0], lo, 1e-9);
  g_assert_cmpfloat_with_epsilon (ci[1], hi, 1e-9);
}

static void
test_ci_normal_large (void)
{
  /* 500 positives at sensitivity 0.8, 1500 negatives at specificity 0.9:
   * the standard error of the balanced accuracy is
   * ½·√(0.8·0.2/500 + 0.9·0.1/1500) = 0.009747, so the interval is about
   * 0.85 ± 1.96 · 0.009747 = [0.8309, 0.8691]. */
  double ci[2];
  double half = 1.959964 * 0.5 * sqrt (0.8 * 0.2 / 500 + 0.9 * 0.1 / 1500);

  hg_metrics_balanced_accuracy_ci95 (400, 100, 1350, 150, 1, ci);
  g_test_message ("normal %.4f %.4f, bootstrap %.4f %.4f", 0.85 - half, 0.85 + half, ci[0], ci[1]);
  g_assert_cmpfloat (fabs (ci[0] - (0.85 - half)), <, 0.0015);
  g_assert_cmpfloat (fabs (ci[1] - (0.85 + half)), <, 0.0015);
}

static void
test_ci_properties (void)
{
  double a[2], b[2], c[2];

  /* Deterministic for a seed; a different seed moves it only slightly. */
  hg_metrics_balanced_accuracy_ci95 (40, 10, 120, 30, 3, a);
  hg_metrics_balanced_accuracy_ci95 (40, 10, 120, 30, 3, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  hg_metrics_balanced_accuracy_ci95 (40, 10, 120, 30, 4, c);
  g_assert_cmpfloat (fabs (a[0] - c[0]), <, 0.01);
  g_assert_cmpfloat (fabs (a[1] - c[1]), <, 0.01);

  /* Ten times the data, a narrower interval (about √10 times). */
  hg_metrics_balanced_accuracy_ci95 (400, 100, 1200, 300, 3, b);
  g_assert_cmpfloat ((b[1] - b[0]) * 2.5, <, a[1] - a[0]);

  /* Perfect and hopeless classifiers have degenerate intervals. */
  hg_metrics_balanced_accuracy_ci95 (30, 0, 70, 0, 3, a);
  g_assert_cmpfloat (a[0], ==, 1.0);
  g_assert_cmpfloat (a[1], ==, 1.0);
  hg_metrics_balanced_accuracy_ci95 (0, 30, 0, 70, 3, a);
  g_assert_cmpfloat (a[0], ==, 0.0);
  g_assert_cmpfloat (a[1], ==, 0.0);

  /* One class only: the interval of its recall. */
  hg_metrics_balanced_accuracy_ci95 (0, 0, 90, 10, 3, a);
  g_assert_cmpfloat (a[0], <, 0.9);
  g_assert_cmpfloat (a[1], >, 0.9);
  g_assert_cmpfloat (a[1], <=, 1.0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/metrics/hand", test_metrics_hand);
  g_test_add_func ("/hg/metrics/one-class", test_metrics_one_class);
  g_test_add_func ("/hg/metrics/auc", test_auc);
  g_test_add_func ("/hg/metrics/attack-success-rate", test_attack_success_rate);
  g_test_add_func ("/hg/metrics/ci/exact-small", test_ci_exact_small);
  g_test_add_func ("/hg/metrics/ci/normal-large", test_ci_normal_large);
  g_test_add_func ("/hg/metrics/ci/properties", test_ci_properties);

  return g_test_run ();
}
