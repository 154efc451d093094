/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "hg-model.h"

G_BEGIN_DECLS

/* Why a model says what it says about one image: two explanations of the
 * score (logit) z_c of a class c, both height × width maps in [0,1].
 *
 *  - Input-gradient saliency (Simonyan et al. 2014): |∂z_c/∂x| per pixel,
 *    the largest over the three channels, divided by its maximum. It shows
 *    the pixels a small change of which moves the score most — the same
 *    gradient FGSM follows.
 *  - Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k α_k A^k) over the feature
 *    maps A^k of a late convolutional layer, α_k the mean of ∂z_c/∂A^k,
 *    upsampled bilinearly to the image and divided by its maximum. It shows
 *    the regions whose features speak for c.
 *
 * One forward pass (HG_PASS_KEEP_NODES) and one backward pass give both. */

/* The layer Grad-CAM uses unless told otherwise: the last node that still
 * has a spatial extent (more than 1 × 1) and is not a pooling node — the
 * output of the last convolutional block. NULL when there is none. */
const char *hg_explain_default_layer (HgModel *model);

/* x: one image, 3 × H × W floats in [0,1]. probs (nullable): the model's
 * class probabilities. saliency and gradcam (nullable): H × W floats.
 * layer: NULL for hg_explain_default_layer(). class_index -1 explains
 * the class the model predicts. */
gboolean hg_explain (HgContext   *ctx,
                     const float *x,
                     int          class_index,
                     const char  *layer,
                     float       *probs,
                     float       *saliency,
                     float       *gradcam,
                     GError     **error);

G_END_DECLS
