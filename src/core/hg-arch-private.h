/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "histoguard/hg-arch.h"

G_BEGIN_DECLS

/* An architecture is a list of nodes in execution order: node 0 is the
 * input, every other node reads earlier nodes, the last one gives the
 * logits. Activations are NHWC inside the engine (batch folded into the
 * rows of one sgemm); shapes below are per sample. */

typedef enum
{
  HG_OP_INPUT,
  HG_OP_CONV2D,
  HG_OP_BATCHNORM,
  HG_OP_RELU,
  HG_OP_MAXPOOL,
  HG_OP_AVGPOOL,
  HG_OP_GLOBAL_AVGPOOL,
  HG_OP_DENSE,
  HG_OP_DROPOUT,
  HG_OP_CONCAT,
  HG_OP_ADD,
  HG_N_OPS
} HgOpType;

typedef struct
{
  int h, w, c;
} HgShape;

typedef struct
{
  int      out_channels;
  int      kernel;
  int      stride;
  int      padding;
  gboolean bias;
} HgConvParams;

typedef struct
{
  float eps;
  float momentum;
} HgBatchNormParams;

typedef struct
{
  int kernel;
  int stride;
  int padding;
} HgPoolParams;

typedef struct
{
  int      units;
  gboolean bias;
} HgDenseParams;

typedef struct
{
  float rate;
} HgDropoutParams;

/* Where a node's tensors live: trainable ones in the model's parameter
 * vector, batch-norm running statistics in its buffer vector. */
typedef struct
{
  gsize weight; /* conv: [OC][KH][KW][C] (OHWI); dense: [out][in], in in HWC order */
  gsize bias;
  gsize running_mean;
  gsize running_var;
} HgNodeTensors;

typedef struct
{
  HgOpType op;
  char    *name;
  int      n_inputs;
  int     *inputs;
  HgShape  shape; /* output, per sample */
  union
  {
    HgConvParams      conv;
    HgBatchNormParams bn;
    HgPoolParams      pool;
    HgDenseParams     dense;
    HgDropoutParams   dropout;
  } p;
  HgNodeTensors t;
} HgNode;

/* One tensor as it is stored in a model file (PyTorch layout and names:
 * conv weights OIHW, dense weights [out][in] with in in CHW order). */
typedef enum
{
  HG_TENSOR_PLAIN,       /* same layout in the file and in memory */
  HG_TENSOR_CONV_WEIGHT, /* OIHW in the file, OHWI in memory */
  HG_TENSOR_DENSE_WEIGHT /* [out][C*H*W] in the file, [out][H*W*C] in memory */
} HgTensorKind;

typedef struct
{
  char        *name;
  HgTensorKind kind;
  gboolean     trainable; /* else a buffer (running statistics) */
  gboolean     decay;     /* weight decay applies (conv and dense weights) */
  int          node;
  int          n_dims;
  gint64       dims[4];
  gsize        numel;
  gsize        offset; /* into params or buffers */
} HgTensorSpec;

struct _HgArch
{
  gatomicrefcount ref;
  char           *name;
  char           *json; /* canonical description, as stored in model files */
  int             n_nodes;
  HgNode         *nodes;
  int             n_classes;
  gsize           n_params;
  gsize           n_buffers;
  GPtrArray      *tensors; /* HgTensorSpec, in node order */
  double          flops;   /* forward, per sample, 2 per multiply-add */
};

const char *hg_op_name (HgOpType op);

G_END_DECLS
