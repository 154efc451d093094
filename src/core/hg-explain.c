/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-explain.h"

#include "hg-model-private.h"

const char *
hg_explain_default_layer (HgModel *model)
{
  HgArch *arch;

  g_return_val_if_fail (model != NULL, NULL);

  arch = model->arch;
  for (int i = arch->n_nodes - 1; i > 0; i--)
    {
      const HgNode *node = &arch->nodes[i];

      if (node->shape.h * node->shape.w > 1 && node->op != HG_OP_MAXPOOL &&
          node->op != HG_OP_AVGPOOL && node->op != HG_OP_DROPOUT)
        return node->name;
    }
  return NULL;
}

static gboolean
has_node (HgModel    *model,
          const char *name)
{
  for (int i = 0; i < model->arch->n_nodes; i++)
    if (g_strcmp0 (model->arch->nodes[i].name, name) == 0)
      return TRUE;
  return FALSE;
}

static void
normalise (float *map,
           gsize  n)
{
  float max = 0;

  for (gsize i = 0; i < n; i++)
    max = MAX (max, map[i]);
  for (gsize i = 0; i < n; i++)
    map[i] = max > 0 ? map[i] / max : 0;
}

/* Bilinear, pixel centres aligned (as PyTorch's align_corners=False). */
static void
upsample (const float *src,
          int          sh,
          int          sw,
          float       *dst,
          int          dh,
          int          dw)
{
  for (int y = 0; y < dh; y++)
    {
      double fy = CLAMP ((y + 0.5) * sh / dh - 0.5, 0, sh - 1);
      int    y0 = (int) fy, y1 = MIN (y0 + 1, sh - 1);
      double wy = fy - y0;

      for (int x = 0; x < dw; x++)
        {
          double fx = CLAMP ((x + 0.5) * sw / dw - 0.5, 0, sw - 1);
          int    x0 = (int) fx, x1 = MIN (x0 + 1, sw - 1);
          double wx = fx - x0;
          double top = src[y0 * sw + x0] * (1 - wx) + src[y0 * sw + x1] * wx;
          double bottom = src[y1 * sw + x0] * (1 - wx) + src[y1 * sw + x1] * wx;

          dst[y * dw + x] = (float) (top * (1 - wy) + bottom * wy);
        }
    }
}

gboolean
hg_explain (HgContext   *ctx,
            const float *x,
            int          class_index,
            const char  *layer,
            float       *probs,
            float       *saliency,
            float       *gradcam,
            GError     **error)
{
  HgModel          *model;
  int               h, w, c, k;
  int               lh, lw, lc;
  gsize             plane;
  g_autofree float *logits = NULL;
  g_autofree float *dlogits = NULL;
  g_autofree float *grad_x = NULL;
  g_autofree float *alpha = NULL;
  g_autofree float *cam = NULL;
  const float      *act, *grad;

  g_return_val_if_fail (ctx != NULL && x != NULL, FALSE);

  model = hg_context_get_model (ctx);
  hg_model_get_input_size (model, &h, &w, &c);
  k = hg_model_get_n_classes (model);
  g_return_val_if_fail (class_index >= -1 && class_index < k, FALSE);

  if (layer == NULL)
    layer = hg_explain_default_layer (model);
  if (gradcam != NULL && layer == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("%s has no convolutional layer for Grad-CAM"), hg_model_get_arch_name (model));
      return FALSE;
    }
  if (gradcam != NULL && !has_node (model, layer))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT, _ ("%s has no layer called “%s”"),
                   hg_model_get_arch_name (model), layer);
      return FALSE;
    }

  logits = g_new (float, k);
  if (!hg_context_forward (ctx, HG_MODE_INFERENCE, HG_PASS_KEEP_NODES, x, 1, logits))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("%s could not run on the tile"),
                   hg_model_get_arch_name (model));
      return FALSE;
    }
  if (probs != NULL)
    hg_softmax (logits, 1, k, probs);
  if (class_index < 0)
    {
      class_index = 0;
      for (int i = 1; i < k; i++)
        if (logits[i] > logits[class_index])
          class_index = i;
    }
  if (saliency == NULL && gradcam == NULL)
    return TRUE;

  /* The gradient of the class's logit: a one-hot upstream gradient. */
  dlogits = g_new0 (float, k);
  dlogits[class_index] = 1.0f;
  plane = (gsize) h * w;
  grad_x = g_new (float, plane *c);
  if (!hg_context_backward (ctx, dlogits, grad_x))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("%s could not go back through the tile"),
                   hg_model_get_arch_name (model));
      return FALSE;
    }

  if (saliency != NULL)
    {
      for (gsize p = 0; p < plane; p++)
        {
          float m = 0;

          for (int ch = 0; ch < c; ch++)
            m = MAX (m, fabsf (grad_x[ch * plane + p]));
          saliency[p] = m;
        }
      normalise (saliency, plane);
    }

  if (gradcam != NULL)
    {
      act = hg_context_get_activation (ctx, layer, &lh, &lw, &lc);
      grad = hg_context_get_activation_grad (ctx, layer, NULL, NULL, NULL);
      g_assert (act != NULL);

      alpha = g_new0 (float, lc);
      cam = g_new0 (float, (gsize) lh *lw);
      /* The class does not depend on the layer (e.g. a branch): no map. */
      if (grad != NULL)
        {
          for (int p = 0; p < lh * lw; p++)
            for (int ch = 0; ch < lc; ch++)
              alpha[ch] += grad[(gsize) p * lc + ch];
          for (int ch = 0; ch < lc; ch++)
            alpha[ch] /= lh * lw;
          for (int p = 0; p < lh * lw; p++)
            {
              float sum = 0;

              for (int ch = 0; ch < lc; ch++)
                sum += alpha[ch] * act[(gsize) p * lc + ch];
              cam[p] = MAX (sum, 0.0f);
            }
        }
      upsample (cam, lh, lw, gradcam, h, w);
      normalise (gradcam, plane);
    }

  return TRUE;
}
