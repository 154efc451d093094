/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: a model file image (safetensors header, metadata,
 * architecture description, tensors), then one forward pass. */
#include "config.h"

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_load_from_bytes (data, size, &error);

  if (model != NULL)
    {
      g_autoptr (HgContext) ctx = NULL;
      int h, w, c;

      g_assert (error == NULL);
      hg_model_get_input_size (model, &h, &w, &c);
      /* Run only what is cheap: the fuzzer is after parser bugs. */
      if (hg_arch_get_flops (hg_model_get_arch (model)) < 1e7)
        {
          g_autofree float *x = g_new0 (float, (gsize) h *w *c);
          g_autofree float *logits = g_new (float, hg_model_get_n_classes (model));

          ctx = hg_context_new (model);
          g_assert (hg_model_forward (ctx, x, 1, logits));
        }
    }
  else
    g_assert (error != NULL && error->domain == HG_ERROR);
  return 0;
}
