/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: IDC patch names, as read from directory listings. */
#include "config.h"

#include <string.h>

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  HgIdcName idc;

  if (hg_idc_name_parse ((const char *) data, size, &idc, &error))
    {
      g_assert (error == NULL);
      g_assert (idc.label == 0 || idc.label == 1);
      g_assert (idc.x >= 0 && idc.y >= 0);
      g_assert (hg_patient_id_is_valid (idc.patient, strlen (idc.patient)));
    }
  else
    g_assert (error != NULL && error->domain == HG_ERROR);
  return 0;
}
