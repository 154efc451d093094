/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "hg-model-private.h"
#include "hg-threads-private.h"

G_BEGIN_DECLS

/* Scratch owned by one worker slot of one context. */
typedef struct
{
  float  *col; /* im2col block */
  gsize   col_cap;
  float  *dcol; /* its gradient */
  gsize   dcol_cap;
  float  *acc; /* partial parameter gradients of one layer */
  gsize   acc_cap;
  double *dacc; /* partial per-channel sums */
  gsize   dacc_cap;
  float  *sums; /* one task's per-channel sums */
  gsize   sums_cap;
} HgScratch;

/* What a node's forward pass keeps for its backward pass. */
typedef struct
{
  float *mean; /* batch norm: mean | invstd | scale | shift, c each */
  float *invstd;
  float *scale;
  float *shift;
  float *mask; /* dropout: 0 or 1/(1-rate) */
  gsize  mask_cap;
  /* batch norm whose 2×2 max pool is fused (HgStep.pool_into): Σ dy and
   * Σ dy·(x − μ) per channel, taken by the pool's backward pass */
  double  *grad_sums;
  gboolean grad_sums_ready;
  /* conv with a fused ReLU and 2×2 max pool: dy came masked from the pool */
  gboolean dy_masked;
} HgNodeState;

struct _HgContext
{
  HgModel     *model;
  HgArch      *arch;
  HgPlan      *exact_plan;
  HgPlan      *plain_plan; /* made on the first HG_PASS_KEEP_NODES pass */
  HgPlan      *plan;       /* of the last forward pass */
  HgMode       mode;
  HgPassFlags  flags;
  int          n;             /* batch of the last forward pass; 0: none to go back through */
  gboolean     transient;     /* hg_model_predict: no backward pass will follow */
  gboolean     backward_done; /* dy holds a backward pass of that forward pass */
  float      **y;             /* per node output, NHWC */
  gsize       *y_cap;
  float      **dy;
  gsize       *dy_cap;
  gboolean    *dy_set;
  HgNodeState *node_state;
  float       *grads;
  guint64      rng;
  HgScratch    work[HG_MAX_WORKERS];
  float       *wino; /* Winograd-domain weights of the conv running now */
  gsize        wino_cap;

  /* Benchmarks: seconds spent per node, forward and backward, while
   * profile is set (hg_context_set_profile). */
  gboolean profile;
  double  *forward_seconds;
  double  *backward_seconds;
};

/* For benchmarks and tests only. */
void hg_context_set_profile (HgContext *ctx,
                             gboolean   profile);

/* 3×3 convolutions with stride 1 and padding 1 run as Winograd
 * F(2×2, 3×3) when a pass has enough input and output channels (AUTO, the
 * default); tests and benchmarks can turn it off or force it (not
 * thread-safe: set it before any pass). */
typedef enum
{
  HG_WINOGRAD_OFF,
  HG_WINOGRAD_AUTO,
  HG_WINOGRAD_ALWAYS,
} HgWinograd;

void hg_engine_set_winograd (HgWinograd mode);

/* Whether node is a conv that can run as Winograd F(2×2, 3×3). */
gboolean hg_winograd_fits (const HgNode *node);
/* Its weights w ([oc][3][3][c]) in the Winograd domain, 16·c·oc floats:
 * for the forward pass, or with flip for the input gradient. */
void hg_winograd_weights (const float *w,
                          int          oc,
                          int          c,
                          gboolean     flip,
                          float       *u);

G_END_DECLS
