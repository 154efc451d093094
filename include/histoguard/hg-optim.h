/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "hg-model.h"

G_BEGIN_DECLS

/* Optimisers and learning-rate schedules for the trainer.
 *
 * A training step, spelled out (hg_model_train_step does exactly this):
 *
 *   hg_context_zero_grads (ctx);
 *   loss = hg_context_loss_backward (ctx, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS,
 *                                    x, n, labels, NULL, NULL);
 *   hg_optimizer_step (opt, hg_context_get_grads (ctx, NULL), 1.0f / n);
 *
 * Adversarial training crafts its batch first, on the same or another
 * context: hg_context_loss_backward (ctx, HG_MODE_INFERENCE or
 * HG_MODE_TRAINING_NO_UPDATE, HG_PASS_NONE, x, n, labels, NULL, grad_x)
 * gives d(Σ CE)/dx without touching parameter gradients or running
 * statistics; then one training step runs on the crafted batch.
 *
 * Weight decay applies to conv and dense weights only, never to biases
 * or batch norm (hg_model_get_param_tensor tells which is which). */

typedef struct _HgOptimizer HgOptimizer;

/* PyTorch's SGD: v = μ·v + g; p -= lr·v (Nesterov: p -= lr·(g + μ·v)),
 * g including weight_decay·p. */
HgOptimizer *hg_optimizer_new_sgd (HgModel *model,
                                   float    lr,
                                   float    momentum,
                                   float    weight_decay,
                                   gboolean nesterov);
/* AdamW (decoupled weight decay, Loshchilov & Hutter). */
HgOptimizer *hg_optimizer_new_adam (HgModel *model,
                                    float    lr,
                                    float    beta1,
                                    float    beta2,
                                    float    eps,
                                    float    weight_decay);
void         hg_optimizer_free (HgOptimizer *opt);
void         hg_optimizer_set_lr (HgOptimizer *opt,
                                  float        lr);
float        hg_optimizer_get_lr (HgOptimizer *opt);
guint64      hg_optimizer_get_n_steps (HgOptimizer *opt);
/* Updates the model's parameters from grads scaled by grad_scale (1/n for
 * the mean loss over a batch), then calls hg_model_params_changed. */
void hg_optimizer_step (HgOptimizer *opt,
                        const float *grads,
                        float        grad_scale);

/* One training step on a batch: training-mode forward (batch statistics,
 * running statistics updated, dropout), mean softmax cross-entropy,
 * backward, optimiser step. Returns the batch's mean loss before the
 * step (NAN on a bad argument). */
float hg_model_train_step (HgContext   *ctx,
                           HgOptimizer *opt,
                           const float *x,
                           int          n,
                           const int   *labels);

typedef enum
{
  HG_LR_CONSTANT,
  HG_LR_STEP,      /* × gamma at 50% and 75% of the steps */
  HG_LR_COSINE,    /* cosine from base_lr to min_lr */
  HG_LR_ONE_CYCLE, /* linear up to base_lr over the first 30%, cosine down to min_lr */
} HgLrScheduleKind;

typedef struct
{
  HgLrScheduleKind kind;
  float            base_lr;
  float            min_lr;
  float            gamma; /* HG_LR_STEP */
  int              total_steps;
  int              warmup_steps; /* linear warm-up from 0 (not for one-cycle) */
} HgLrSchedule;

float hg_lr_schedule_at (const HgLrSchedule *schedule,
                         int                 step);
/* "constant", "step", "cosine", "one-cycle". */
gboolean hg_lr_schedule_kind_from_string (const char       *name,
                                          HgLrScheduleKind *kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgOptimizer, hg_optimizer_free)

G_END_DECLS
