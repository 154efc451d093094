/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-defense.h"
#include "hg-model.h"

G_BEGIN_DECLS

/* Adversarial attacks on planar NCHW [0,1] images, through an HgContext.
 *
 * Budgets are L∞ on [0,1] pixels with ε in units of 1/255 (ε = 8 allows
 * every channel of every pixel to move by 8/255). Every result satisfies
 * |x_adv − x| ≤ ε/255 and 0 ≤ x_adv ≤ 1 exactly, in real arithmetic, not
 * just up to float rounding (see hg_attack_project).
 *
 * Untargeted attacks raise the cross-entropy of the true label; targeted
 * ones lower the cross-entropy of params->target.
 *
 *   FGSM     one step of ε · sign(∇) (Goodfellow et al., ICLR 2015).
 *   BIM      I-FGSM (Kurakin et al., 2017): steps of size step, projected
 *            after each; starts at x.
 *   PGD      BIM from a uniformly random start in the ε-ball, repeated
 *            restarts times (Madry et al., ICLR 2018).
 *   MI-FGSM  BIM with an accumulated, L1-normalised gradient with decay
 *            momentum (Dong et al., CVPR 2018).
 *   DeepFool the minimal perturbation that flips the prediction, by
 *            linearising the classifier (Moosavi-Dezfooli et al., CVPR
 *            2016), under the L2 or L∞ norm; ε is ignored (0 = unbounded)
 *            or, when positive, caps the perturbation.
 *
 * The iterative attacks return, per sample, the best iterate they
 * evaluated over all steps and restarts: a misclassified one (the target
 * class, for targeted attacks) if any, with the highest loss among those.
 *
 * Adaptive attacks: with params->defense set, the attack sees the model
 * as the defence sees it — each forward pass runs the transform chain
 * first, and gradients come back through hg_defense_backward (BPDA: the
 * identity for non-differentiable transforms). For randomised defences
 * each gradient is averaged over eot_samples draws (EOT, Athalye et al.,
 * ICML 2018). Without a defence the attack sees the bare model: that is
 * the non-adaptive ("oblivious") attack, evaluated afterwards through the
 * defence.
 *
 * Randomness (random starts, EOT draws) comes from params->seed: sample i
 * of a call draws from its own stream, so results do not depend on batch
 * splitting inside the call. Callers that split a data set into several
 * calls should vary the seed per call. */

typedef enum
{
  HG_ATTACK_FGSM,
  HG_ATTACK_BIM,
  HG_ATTACK_PGD,
  HG_ATTACK_MIFGSM,
  HG_ATTACK_DEEPFOOL,
} HgAttackKind;

typedef enum
{
  HG_NORM_LINF,
  HG_NORM_L2,
} HgNorm;

typedef struct
{
  HgAttackKind kind;
  double       eps;        /* L∞ budget in 1/255, ≥ 0 */
  int          steps;      /* iterations of BIM, PGD, MI-FGSM (10); DeepFool's cap (50) */
  double       step;       /* step size in 1/255; 0 = the default:
                            * 2.5 · ε / steps for BIM and PGD, ε / steps
                            * for MI-FGSM (as in their papers) */
  gboolean   random_start; /* PGD: TRUE; BIM and MI-FGSM: FALSE */
  int        restarts;     /* runs of PGD (1); others run once */
  int        target;       /* class to reach, or -1 for untargeted */
  double     momentum;     /* MI-FGSM decay μ (1.0) */
  HgNorm     norm;         /* DeepFool's norm (L∞) */
  double     overshoot;    /* DeepFool's overshoot (0.02) */
  HgDefense *defense;      /* NULL: attack the bare model */
  int        eot_samples;  /* gradient draws per step for a randomised
                            * defence; 0 = 8 when it is randomised, else 1 */
  HgMode mode;             /* HG_MODE_INFERENCE, or HG_MODE_TRAINING_NO_UPDATE
                            * to craft with batch statistics */
  guint64 seed;
} HgAttackParams;

/* The largest ε accepted, in 1/255. */
#define HG_ATTACK_MAX_EPS 255.0
#define HG_ATTACK_MAX_STEPS 10000
#define HG_ATTACK_MAX_RESTARTS 100
#define HG_ATTACK_MAX_EOT 1000

/* Fills params with the defaults above for kind and eps. */
void hg_attack_params_init (HgAttackParams *params,
                            HgAttackKind    kind,
                            double          eps);

/* "fgsm", "bim", "pgd", "mifgsm", "deepfool". Parsing also accepts
 * "i-fgsm", "ifgsm", "mi-fgsm" and any case. */
const char *hg_attack_kind_to_string (HgAttackKind kind);
gboolean    hg_attack_kind_from_string (const char   *name,
                                        HgAttackKind *kind,
                                        GError      **error);
/* Parses a comma-separated list into a GArray of HgAttackKind. */
GArray *hg_attack_kind_parse_list (const char *list,
                                   GError    **error);

/* Checks params against the model of ctx: HG_ERROR_INVALID_ARGUMENT
 * naming the field and value. */
gboolean hg_attack_params_validate (const HgAttackParams *params,
                                    HgModel              *model,
                                    GError              **error);

/* Attacks n samples (x: n × C × H × W of the model's input size, labels:
 * their true classes) into x_adv (same shape; must not overlap x). Runs
 * on the calling thread with ctx (the engine may use its worker pool).
 * Fails with HG_ERROR_INVALID_ARGUMENT on bad params and
 * HG_ERROR_CANCELLED when cancelled. */
gboolean hg_attack_run (HgContext            *ctx,
                        const HgAttackParams *params,
                        const float          *x,
                        const int            *labels,
                        int                   n,
                        float                *x_adv,
                        GCancellable         *cancellable,
                        GError              **error);

/* The gradient with respect to x of the attack's summed loss (untargeted:
 * Σ CE(label); targeted: −Σ CE(target), so that ascending it always
 * helps the attacker), through params->defense with BPDA and EOT as
 * hg_attack_run does. logits (n × K, may be NULL) receives the logits at
 * x (of the first draw). Lets callers reuse one gradient, e.g. FGSM at
 * several ε. */
gboolean hg_attack_input_gradient (HgContext            *ctx,
                                   const HgAttackParams *params,
                                   const float          *x,
                                   const int            *labels,
                                   int                   n,
                                   float                *logits,
                                   float                *grad,
                                   GError              **error);

/* x_adv = project(x + eps/255 · sign(grad)): one FGSM step from a gradient
 * of hg_attack_input_gradient. count is the number of floats. */
void hg_attack_fgsm_step (const float *x,
                          const float *grad,
                          gsize        count,
                          double       eps,
                          float       *x_adv);

/* Projects x_adv in place onto {v : |v − x| ≤ eps/255, 0 ≤ v ≤ 1}: the
 * bounds x ± eps/255 are the extreme floats inside the ball in real
 * arithmetic (float rounding of x ± ε is corrected by an ulp either way),
 * so the result is inside exactly and values inside stay put. NaN goes to
 * the lower bound. count is the number of floats. */
void hg_attack_project (const float *x,
                        float       *x_adv,
                        gsize        count,
                        double       eps);

/* Per-sample L∞ (in 1/255) and L2 (on [0,1] pixels) norms of x_adv − x;
 * either output may be NULL. floats_per_sample is C × H × W. */
void hg_attack_perturbation_norms (const float *x,
                                   const float *x_adv,
                                   int          n,
                                   gsize        floats_per_sample,
                                   double      *linf,
                                   double      *l2);

G_END_DECLS
