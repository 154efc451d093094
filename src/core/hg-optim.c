/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-optim.h"

#include "hg-model-private.h"

typedef enum
{
  KIND_SGD,
  KIND_ADAM,
} OptimizerKind;

struct _HgOptimizer
{
  OptimizerKind kind;
  HgModel      *model;
  gsize         n;
  float         lr, momentum, weight_decay, beta1, beta2, eps;
  gboolean      nesterov;
  guint64       steps;
  float        *m, *v; /* SGD velocity; Adam moments */
  guint8       *decay; /* per parameter: weight decay applies */
};

static HgOptimizer *
optimizer_new (HgModel      *model,
               OptimizerKind kind)
{
  HgOptimizer *opt = g_new0 (HgOptimizer, 1);
  GPtrArray   *tensors = model->arch->tensors;

  opt->kind = kind;
  opt->model = hg_model_ref (model);
  opt->n = model->arch->n_params;
  opt->m = g_new0 (float, MAX (opt->n, 1));
  opt->v = kind == KIND_ADAM ? g_new0 (float, MAX (opt->n, 1)) : NULL;
  opt->decay = g_new0 (guint8, MAX (opt->n, 1));
  for (guint i = 0; i < tensors->len; i++)
    {
      HgTensorSpec *t = tensors->pdata[i];

      if (t->trainable && t->decay)
        memset (opt->decay + t->offset, 1, t->numel);
    }
  return opt;
}

HgOptimizer *
hg_optimizer_new_sgd (HgModel *model,
                      float    lr,
                      float    momentum,
                      float    weight_decay,
                      gboolean nesterov)
{
  HgOptimizer *opt = optimizer_new (model, KIND_SGD);

  opt->lr = lr;
  opt->momentum = momentum;
  opt->weight_decay = weight_decay;
  opt->nesterov = nesterov;
  return opt;
}

HgOptimizer *
hg_optimizer_new_adam (HgModel *model,
                       float    lr,
                       float    beta1,
                       float    beta2,
                       float    eps,
                       float    weight_decay)
{
  HgOptimizer *opt = optimizer_new (model, KIND_ADAM);

  opt->lr = lr;
  opt->beta1 = beta1;
  opt->beta2 = beta2;
  opt->eps = eps;
  opt->weight_decay = weight_decay;
  return opt;
}

void
hg_optimizer_free (HgOptimizer *opt)
{
  if (opt == NULL)
    return;
  hg_model_unref (opt->model);
  g_free (opt->m);
  g_free (opt->v);
  g_free (opt->decay);
  g_free (opt);
}

void
hg_optimizer_set_lr (HgOptimizer *opt,
                     float        lr)
{
  opt->lr = lr;
}

float
hg_optimizer_get_lr (HgOptimizer *opt)
{
  return opt->lr;
}

guint64
hg_optimizer_get_n_steps (HgOptimizer *opt)
{
  return opt->steps;
}

void
hg_optimizer_step (HgOptimizer *opt,
                   const float *grads,
                   float        grad_scale)
{
  float *p = opt->model->params;

  opt->steps++;
  if (opt->kind == KIND_SGD)
    {
      for (gsize i = 0; i < opt->n; i++)
        {
          float g = grads[i] * grad_scale + (opt->decay[i] ? opt->weight_decay * p[i] : 0.0f);

          if (opt->momentum != 0.0f)
            {
              /* PyTorch starts the buffer at the first gradient. */
              opt->m[i] = opt->steps == 1 ? g : opt->momentum * opt->m[i] + g;
              g = opt->nesterov ? g + opt->momentum * opt->m[i] : opt->m[i];
            }
          p[i] -= opt->lr * g;
        }
    }
  else
    {
      double bc1 = 1.0 - pow (opt->beta1, (double) opt->steps);
      double bc2 = 1.0 - pow (opt->beta2, (double) opt->steps);
      float  step = (float) (opt->lr / bc1);
      float  inv_sqrt_bc2 = (float) (1.0 / sqrt (bc2));

      for (gsize i = 0; i < opt->n; i++)
        {
          float g = grads[i] * grad_scale;

          if (opt->decay[i])
            p[i] -= opt->lr * opt->weight_decay * p[i];
          opt->m[i] = opt->beta1 * opt->m[i] + (1.0f - opt->beta1) * g;
          opt->v[i] = opt->beta2 * opt->v[i] + (1.0f - opt->beta2) * g * g;
          p[i] -= step * opt->m[i] / (sqrtf (opt->v[i]) * inv_sqrt_bc2 + opt->eps);
        }
    }
  hg_model_params_changed (opt->model);
}

float
hg_model_train_step (HgContext   *ctx,
                     HgOptimizer *opt,
                     const float *x,
                     int          n,
                     const int   *labels)
{
  float loss;

  g_return_val_if_fail (ctx != NULL && opt != NULL, NAN);
  g_return_val_if_fail (hg_context_get_model (ctx) == opt->model, NAN);
  g_return_val_if_fail (n >= 1, NAN);

  hg_context_zero_grads (ctx);
  loss = hg_context_loss_backward (ctx, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, x, n, labels, NULL,
                                   NULL);
  if (isnan (loss))
    return NAN;
  hg_optimizer_step (opt, hg_context_get_grads (ctx, NULL), 1.0f / n);
  return loss / n;
}

float
hg_lr_schedule_at (const HgLrSchedule *s,
                   int                 step)
{
  int   total = MAX (1, s->total_steps);
  float t;

  if (s->kind == HG_LR_ONE_CYCLE)
    {
      int   up = MAX (1, (int) (0.3 * total));
      float lo = s->base_lr / 25.0f;

      if (step < up)
        return lo + (s->base_lr - lo) * (float) step / up;
      t = MIN (1.0f, (float) (step - up) / MAX (1, total - up));
      return s->min_lr + (s->base_lr - s->min_lr) * 0.5f * (1.0f + cosf ((float) G_PI * t));
    }

  if (step < s->warmup_steps)
    return s->base_lr * (float) (step + 1) / s->warmup_steps;

  switch (s->kind)
    {
    case HG_LR_STEP:
      return s->base_lr * (step >= total * 3 / 4 ? s->gamma * s->gamma
                           : step >= total / 2   ? s->gamma
                                                 : 1.0f);
    case HG_LR_COSINE:
      t = MIN (1.0f, (float) (step - s->warmup_steps) / MAX (1, total - s->warmup_steps));
      return s->min_lr + (s->base_lr - s->min_lr) * 0.5f * (1.0f + cosf ((float) G_PI * t));
    case HG_LR_CONSTANT:
    case HG_LR_ONE_CYCLE:
    default:
      return s->base_lr;
    }
}

gboolean
hg_lr_schedule_kind_from_string (const char       *name,
                                 HgLrScheduleKind *kind)
{
  static const struct
  {
    const char      *name;
    HgLrScheduleKind kind;
  } names[] = {
    { "constant", HG_LR_CONSTANT },
    { "step", HG_LR_STEP },
    { "cosine", HG_LR_COSINE },
    { "one-cycle", HG_LR_ONE_CYCLE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i].name) == 0)
      {
        *kind = names[i].kind;
        return TRUE;
      }
  return FALSE;
}
