/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "histoguard/hg-model.h"

#include "hg-arch-private.h"

G_BEGIN_DECLS

/* How one node runs in a plan. A node whose alias is another node does
 * not run: its output is that node's output (batch norm folded into the
 * convolution before it, a ReLU fused into its producer, dropout at
 * inference). */
typedef struct
{
  int          alias;
  gboolean     relu;      /* ReLU applied as the epilogue of this node */
  const float *w;         /* conv/dense weights, batch-norm gamma */
  const float *b;         /* conv/dense bias (NULL: none), batch-norm beta */
  const float *scale;     /* batch norm at inference: gamma / sqrt(var + eps) */
  const float *shift;     /* … beta - mean * scale */
  int          pool_into; /* conv, batch norm: the 2×2 max pool it computes as it goes (0: none) */
  int          pooled_by; /* that max pool: the node that computes it (0: none) */
  const float *wino;      /* inference plan, 3×3 conv: w in the Winograd domain (else NULL) */
  const float *wino_dx;   /* … and its input gradient's kernel */
} HgStep;

typedef struct
{
  gatomicrefcount ref;
  guint           generation; /* of the model weights it was built from */
  gboolean        fused;      /* inference plan: BN folded, ReLU fused */
  int             n_steps;
  HgStep         *steps;
  float          *storage; /* folded weights, scales and shifts */
} HgPlan;

struct _HgModel
{
  gatomicrefcount ref;
  HgArch         *arch;
  float          *params;  /* trainable, engine layout */
  float          *buffers; /* batch-norm running statistics */
  float          *mean, *std;
  char          **class_names;
  GHashTable     *metadata; /* provenance only: char* → char* */

  GMutex  plan_lock;
  guint   generation; /* bumped whenever params or buffers change */
  HgPlan *inference_plan;
};

/* The plan for inference with folded batch norm, built on first use after
 * the weights changed; returns a new reference. */
HgPlan *hg_model_get_inference_plan (HgModel *model);
/* The plan for training and exact inference, on the model's own weights. */
HgPlan *hg_model_new_exact_plan (HgModel *model);
/* Every node as written, nothing fused: each node has its own output and
 * gradient (HG_PASS_KEEP_NODES, for explanations). */
HgPlan *hg_model_new_plain_plan (HgModel *model);
HgPlan *hg_plan_ref (HgPlan *plan);
void    hg_plan_unref (HgPlan *plan);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgPlan, hg_plan_unref)

/* The class with the highest score (logit or probability) of k; the first
 * on ties. */
static inline int
hg_argmax (const float *v,
           int          k)
{
  int best = 0;

  for (int i = 1; i < k; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

G_END_DECLS
