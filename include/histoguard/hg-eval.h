/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-attack.h"
#include "hg-defense.h"
#include "hg-detector.h"
#include "hg-metrics.h"
#include "hg-model.h"

G_BEGIN_DECLS

/* A robustness evaluation: every model × defence × attack × ε on a
 * labelled set of patches, with intervals.
 *
 * Protocol, per model:
 *  - clean: each defence's predictions on the untouched inputs;
 *  - non-adaptive: the attack is crafted on the bare model (it does not
 *    know the defence) and the result goes through every defence — the
 *    paper's setting;
 *  - adaptive (options->adaptive): for each defence other than "none", the
 *    attack is crafted through the defence itself, with BPDA and EOT
 *    (hg-attack.h), and evaluated through it;
 *  - DeepFool, when listed among the attacks, is not an ε-attack: it
 *    reports the median size of each input's minimal flipping
 *    perturbation on the bare model, under L∞ and under L2;
 *  - the feature-squeezing detector, when set, scores clean inputs and the
 *    non-adaptive adversarial ones on the bare model; its threshold comes
 *    from the calibration data (or, without it, the evaluated data).
 *
 * Randomness is derived from options->seed per model, attack, ε and batch
 * of options->batch_size samples: results do not depend on n_threads.
 * A defence draws the same randomness for the clean and the attacked
 * version of an input. */

typedef struct
{
  GPtrArray  *models;      /* HgModel, all taking the data's image size */
  GPtrArray  *model_names; /* char *, one per model */
  GPtrArray  *defenses;    /* HgDefense; include "none" for the bare model */
  GArray     *attacks;     /* HgAttackKind */
  GArray     *eps;         /* double, in 1/255, each ≥ 0 */
  int         steps;       /* iterative attacks (10) */
  int         restarts;    /* PGD (1) */
  int         eot_samples; /* 0: 8 draws per gradient for randomised defences */
  gboolean    adaptive;
  HgDetector *detector; /* NULL: no detection; its threshold is set
                         * for each model in turn (the last stays) */
  double  detector_fpr; /* target false-positive rate (0.05) */
  guint64 seed;
  int     n_threads;  /* 0: one per processor */
  int     batch_size; /* 0: 64 */
} HgEvalOptions;

void hg_eval_options_init (HgEvalOptions *options);
/* Drops the arrays and the detector. */
void hg_eval_options_clear (HgEvalOptions *options);

/* Borrowed: n samples of 3 × height × width floats, labels 0 or 1. */
typedef struct
{
  const float *x;
  const int   *labels;
  gsize        n;
  int          width, height;
} HgEvalData;

typedef struct
{
  char     *model;
  char     *defense;
  char     *attack;
  double    eps;
  gboolean  adaptive;
  HgMetrics metrics;
  /* Of the inputs this model + defence gets right when clean, the
   * fraction it gets wrong under this attack (0 at ε = 0). */
  double attack_success_rate;
} HgEvalResult;

typedef struct
{
  char  *model;
  HgNorm norm;
  gsize  n;       /* inputs attacked */
  gsize  flipped; /* of which DeepFool flipped the prediction */
  /* Median perturbation norm over all n inputs, an unflipped input
   * counting as infinitely far (so NAN — no median — when fewer than
   * half flipped); L∞ in 1/255, L2 on [0,1] pixels. */
  double median;
} HgEvalDeepFool;

typedef struct
{
  char    *model;
  char    *attack;
  double   eps;
  double   threshold;
  double   target_fpr;
  double   fpr;            /* measured on the evaluated clean inputs */
  gsize    n_adversarial;  /* correctly classified inputs the attack fooled */
  double   detection_rate; /* fraction of those flagged; NAN when none */
  gboolean calibrated_on_evaluated_data;
} HgEvalDetection;

/* A defence whose robustness disappears under the adaptive attack: at
 * this ε its balanced accuracy drops by at least HG_EVAL_FLAG_DROP from
 * the non-adaptive to the adaptive attack, with disjoint 95% intervals. */
#define HG_EVAL_FLAG_DROP 0.10

typedef struct
{
  char  *model;
  char  *defense;
  char  *attack;
  double eps;
  double ba_non_adaptive;
  double ba_adaptive;
  double ba_undefended; /* the bare model under the same attack; NAN unless "none" ran */
} HgEvalFlag;

typedef struct
{
  GArray *results;   /* HgEvalResult, by model, defence, attack, adaptive, ε */
  GArray *deepfool;  /* HgEvalDeepFool */
  GArray *detection; /* HgEvalDetection */
  GArray *flags;     /* HgEvalFlag */
  char   *detector;  /* the squeezers, or NULL */
  gsize   n, n_positive, n_negative;
  int     steps, restarts, eot_samples;
  guint64 seed;
  double  seconds;
} HgEvalReport;

/* fraction in [0,1]; stage says what runs ("standard · pgd · jpeg:75
 * adaptive"). Called from worker threads, one call at a time. */
typedef void (*HgEvalProgressFunc) (double      fraction,
                                    const char *stage,
                                    gpointer    user_data);

/* calibration (may be NULL) is clean data for the detector's threshold. */
HgEvalReport *hg_eval_run (const HgEvalOptions *options,
                           const HgEvalData    *data,
                           const HgEvalData    *calibration,
                           HgEvalProgressFunc   progress,
                           gpointer             user_data,
                           GCancellable        *cancellable,
                           GError             **error);

/* An empty report (hg_eval_run makes the real ones). */
HgEvalReport *hg_eval_report_new (void);
void          hg_eval_report_free (HgEvalReport *report);
/* Recomputes report->flags from report->results: every adaptive row whose
 * non-adaptive counterpart (same model, defence, attack and ε) is better
 * by HG_EVAL_FLAG_DROP with disjoint intervals. hg_eval_run calls it. */
void hg_eval_report_update_flags (HgEvalReport *report);

/* {"results": [{"model", "defense", "attack", "eps", "adaptive", "n",
 * "accuracy", "balanced_accuracy", "ba_ci95": [low, high], "sensitivity",
 * "specificity", "attack_success_rate", "mean_confidence"}, …],
 * "deepfool": […], "detection": […], "flags": […], "meta": {…}};
 * undefined numbers are null. */
char *hg_eval_report_to_json (const HgEvalReport *report);
/* One row per result, with AUC and confusion counts besides. */
char *hg_eval_report_to_csv (const HgEvalReport *report);
/* Tables for people; plot_link (may be NULL) is embedded as an image. */
char *hg_eval_report_to_markdown (const HgEvalReport *report,
                                  const char         *plot_link);
/* Balanced accuracy against ε, one panel per attack, one line per model
 * and defence (dashed: adaptive), the 95% interval as a band; a PNG
 * written atomically. */
gboolean hg_eval_report_plot (const HgEvalReport *report,
                              const char         *title,
                              const char         *path,
                              GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgEvalReport, hg_eval_report_free)

G_END_DECLS
