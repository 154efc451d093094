/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: patient-level split files. */
#include "config.h"

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSplits) splits = hg_splits_new_from_data ((const char *) data, size, &error);

  if (splits != NULL)
    {
      for (guint i = 0; i < hg_splits_get_n_patients (splits); i++)
        {
          HgSplit     split;
          const char *patient = hg_splits_get_patient (splits, i, &split);

          g_assert (split != HG_SPLIT_NONE);
          g_assert (hg_splits_lookup (splits, patient) == split);
        }
    }
  else
    g_assert (error != NULL && error->domain == HG_ERROR);
  return 0;
}
