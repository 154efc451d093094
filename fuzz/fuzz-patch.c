/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: decoding a patch image (through GdkPixbuf) with padding. */
#include "config.h"

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  static float out[3 * 50 * 50];
  int          w = 0, h = 0;

  if (hg_patch_decode (data, size, 50, 50, out, &w, &h, &error))
    {
      g_assert (w >= 1 && w <= 50 && h >= 1 && h <= 50);
      for (int i = 0; i < 3 * 50 * 50; i++)
        g_assert (out[i] >= 0.0f && out[i] <= 1.0f);
    }
  else
    g_assert (error != NULL && error->domain == HG_ERROR);
  return 0;
}
