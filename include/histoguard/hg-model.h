/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "hg-arch.h"

G_BEGIN_DECLS

/* A classifier: an architecture (hg-arch.h), its weights and metadata.
 *
 * Inputs are planar NCHW float RGB in [0,1] (hg-pixels.h makes them):
 * x[((i * C + c) * H + y) * W + x]. The channel mean/std normalisation is
 * applied inside the model, so every gradient is with respect to the
 * [0,1] pixels that attacks perturb.
 *
 * Threads: an HgModel is refcounted and its weights never change during
 * inference, so any number of threads may run one model at once, each
 * with its own HgContext (per-thread scratch memory). Two models can run
 * at once. Training (HG_MODE_TRAINING, hg_model_train_step, optimizer
 * steps, hg_model_set_*) changes the model: do it from one thread while
 * no other thread uses that model.
 *
 * Files use the safetensors layout; tensor names and layouts are
 * PyTorch's (conv weights OIHW) so torch can read them directly.
 * "__metadata__" holds:
 *   format          "histoguard-model"    format_version "1"
 *   arch            the architecture description (JSON)
 *   input_size      "[height, width, channels]"
 *   mean, std       "[r, g, b]" channel normalisation of [0,1] pixels
 *   classes         "[\"non-IDC\", \"IDC\"]"
 * and provenance written by whoever made the model, e.g. command, data,
 * seed, epochs, val_metrics, test_metrics (JSON text), train_seconds. */

typedef struct _HgModel   HgModel;
typedef struct _HgContext HgContext;

/* Per-sample ceilings of one call (far above a 50×50 patch). */
#define HG_MODEL_MAX_BATCH 65536

HgModel *hg_model_load (const char *path,
                        GError    **error);
/* Parses a whole file image from memory (any bytes: safe for fuzzing). */
HgModel *hg_model_load_from_bytes (const guint8 *bytes,
                                   gsize         length,
                                   GError      **error);
/* Writes path atomically (temporary file, then rename). */
gboolean hg_model_save (HgModel    *model,
                        const char *path,
                        GError    **error);
GBytes  *hg_model_save_to_bytes (HgModel *model);
/* A fresh model for training: spec is a built-in architecture with
 * options ("cnn", "cnn:width=48", "densenet", "resnet") or the path of an
 * architecture JSON file; NULL means "cnn". Weights get He-normal
 * initialisation from seed (the same seed gives the same bytes on every
 * machine); batch norm starts as the identity. Classes default to
 * "class0", "class1", …; mean/std to 0.5/0.25 per channel. */
HgModel *hg_model_new_from_arch (const char *arch_name_or_json_path,
                                 guint64     seed,
                                 GError    **error);
HgModel *hg_model_new_from_arch_object (HgArch *arch,
                                        guint64 seed);
HgModel *hg_model_ref (HgModel *model);
void     hg_model_unref (HgModel *model);
/* A deep copy (weights, statistics, metadata): e.g. to keep the best
 * epoch's weights while training goes on. */
HgModel *hg_model_copy (HgModel *model);

HgArch     *hg_model_get_arch (HgModel *model);
const char *hg_model_get_arch_name (HgModel *model);
void        hg_model_get_input_size (HgModel *model,
                                     int     *height,
                                     int     *width,
                                     int     *channels);
int         hg_model_get_n_classes (HgModel *model);
const char *hg_model_get_class_name (HgModel *model,
                                     int      index);
gsize       hg_model_get_n_params (HgModel *model);

/* Metadata values are strings (JSON text for structured ones). The
 * returned string belongs to the model and stays valid until that key is
 * set again. Setting NULL removes a key. The structural keys (format,
 * format_version, arch, input_size, mean, std, classes) are derived from
 * the model and cannot be set here: use the setters below. */
const char *hg_model_get_metadata (HgModel    *model,
                                   const char *key);
void        hg_model_set_metadata (HgModel    *model,
                                   const char *key,
                                   const char *value);
/* NULL-terminated, sorted; free with g_strfreev. */
char   **hg_model_list_metadata (HgModel *model);
gboolean hg_model_set_normalization (HgModel     *model,
                                     const float *mean,
                                     const float *std,
                                     GError     **error);
void     hg_model_get_normalization (HgModel *model,
                                     float   *mean,
                                     float   *std);
gboolean hg_model_set_class_names (HgModel           *model,
                                   const char *const *names,
                                   GError           **error);

/* ---- running the network ---------------------------------------------- */

typedef enum
{
  /* Batch norm uses its running statistics, dropout is off. */
  HG_MODE_INFERENCE,
  /* Batch norm uses the batch's statistics and updates the running ones;
   * dropout is on (seeded by hg_context_set_seed). */
  HG_MODE_TRAINING,
  /* As training, but the running statistics are left alone: for crafting
   * adversarial examples "in training mode" without polluting them. */
  HG_MODE_TRAINING_NO_UPDATE,
} HgMode;

typedef enum
{
  HG_PASS_NONE = 0,
  /* The backward pass after this forward will accumulate parameter
   * gradients. Without it, inference uses batch norm folded into the
   * convolutions and fused ReLUs (exactly the same function, faster). */
  HG_PASS_PARAM_GRADS = 1 << 0,
  /* Runs every node as written (nothing folded, fused or skipped), so that
   * each node's own output and gradient can be read back with
   * hg_context_get_activation(): for explanations such as Grad-CAM. The
   * function computed is the same; it is slower than plain inference. */
  HG_PASS_KEEP_NODES = 1 << 1,
} HgPassFlags;

HgContext *hg_context_new (HgModel *model);
void       hg_context_free (HgContext *ctx);
HgModel   *hg_context_get_model (HgContext *ctx);
/* Seeds the dropout generator of this context. */
void hg_context_set_seed (HgContext *ctx,
                          guint64    seed);

/* Inference: x is n×C×H×W, logits n×K. Keeps what a backward pass needs. */
gboolean hg_model_forward (HgContext   *ctx,
                           const float *x,
                           int          n,
                           float       *logits);
/* Inference on any number of samples in slices of 64, keeping nothing for
 * a backward pass: memory stays bounded (heatmaps). */
gboolean hg_model_predict (HgContext   *ctx,
                           const float *x,
                           int          n,
                           float       *logits);
/* Inference forward + backward of the summed softmax cross-entropy.
 * grad_x (n×C×H×W) receives d(Σᵢ CEᵢ)/dx, so sample i's gradient is its
 * own loss's gradient (FGSM/PGD take its sign). logits_out (n×K) may be
 * NULL. Returns Σᵢ CEᵢ, or NAN on a bad argument. */
float hg_model_loss_input_grad (HgContext   *ctx,
                                const float *x,
                                int          n,
                                const int   *labels,
                                float       *logits_out,
                                float       *grad_x);
/* After a forward on the same context (hg_model_forward or
 * hg_context_forward): back-propagates an upstream gradient dlogits
 * (n×K) to grad_x (n×C×H×W), for DeepFool, targeted and margin losses.
 * Can be called several times after one forward. */
gboolean hg_model_backward_input (HgContext   *ctx,
                                  const float *dlogits,
                                  float       *grad_x);

/* The general forms. hg_context_forward runs in any mode;
 * hg_context_backward back-propagates dlogits to grad_x (may be NULL)
 * and, if the forward had HG_PASS_PARAM_GRADS, adds the parameter
 * gradients into the context's gradient vector (see hg_context_get_grads;
 * zero it first with hg_context_zero_grads). */
gboolean hg_context_forward (HgContext   *ctx,
                             HgMode       mode,
                             HgPassFlags  flags,
                             const float *x,
                             int          n,
                             float       *logits);
gboolean hg_context_backward (HgContext   *ctx,
                              const float *dlogits,
                              float       *grad_x);
/* Forward in mode + summed cross-entropy + backward: returns Σᵢ CEᵢ,
 * grad_x (nullable) = d(Σᵢ CEᵢ)/dx; with HG_PASS_PARAM_GRADS the parameter
 * gradients of Σᵢ CEᵢ are added into the gradient vector. */
float hg_context_loss_backward (HgContext   *ctx,
                                HgMode       mode,
                                HgPassFlags  flags,
                                const float *x,
                                int          n,
                                const int   *labels,
                                float       *logits_out,
                                float       *grad_x);

/* A node's output after a forward pass with HG_PASS_KEEP_NODES, by its
 * name in the architecture: n × height × width × channels floats, NHWC, n
 * the batch of that pass. The shape arguments may be NULL. NULL (and a
 * warning) for an unknown name; NULL when the last forward pass did not
 * keep nodes. Valid until the next pass. */
const float *hg_context_get_activation (HgContext  *ctx,
                                        const char *node,
                                        int        *height,
                                        int        *width,
                                        int        *channels);
/* The gradient of that node's output, laid out the same way, after
 * hg_context_backward() (or hg_model_backward_input()) followed such a
 * pass; NULL when the backward pass did not reach the node. */
const float *hg_context_get_activation_grad (HgContext  *ctx,
                                             const char *node,
                                             int        *height,
                                             int        *width,
                                             int        *channels);

/* Parameter gradients, laid out like hg_model_get_params. */
float *hg_context_get_grads (HgContext *ctx,
                             gsize     *n_params);
void   hg_context_zero_grads (HgContext *ctx);

/* The trainable parameters as one vector (engine layout: conv weights
 * OHWI). Whoever writes them calls hg_model_params_changed afterwards. */
float *hg_model_get_params (HgModel *model,
                            gsize   *n_params);
void   hg_model_params_changed (HgModel *model);
/* The batch-norm running statistics (means and variances) as one vector,
 * e.g. for averaging weights over training steps. Whoever writes them
 * calls hg_model_params_changed afterwards. */
float *hg_model_get_buffers (HgModel *model,
                             gsize   *n_buffers);
/* Name of the tensor holding parameter index i, and whether weight decay
 * applies to it (conv and dense weights: yes; biases and batch norm: no). */
const char *hg_model_get_param_tensor (HgModel  *model,
                                       gsize     index,
                                       gboolean *decay);

/* softmax over each row of logits (n×k) into probs (may alias logits). */
void hg_softmax (const float *logits,
                 int          n,
                 int          k,
                 float       *probs);
/* Summed softmax cross-entropy of n rows; dlogits (nullable) gets
 * d(Σ CE)/dlogits = softmax − one-hot. */
float hg_softmax_cross_entropy (const float *logits,
                                int          n,
                                int          k,
                                const int   *labels,
                                float       *dlogits);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgModel, hg_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgContext, hg_context_free)

G_END_DECLS
