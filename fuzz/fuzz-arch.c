/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: architecture descriptions (JSON). */
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
  g_autoptr (HgArch) arch = hg_arch_new_from_json ((const char *) data, size, &error);

  if (arch != NULL)
    {
      /* the canonical form parses back to itself */
      const char *json = hg_arch_get_json (arch);
      g_autoptr (HgArch) again = hg_arch_new_from_json (json, strlen (json), NULL);

      g_assert (error == NULL);
      g_assert (again != NULL);
      g_assert (strcmp (hg_arch_get_json (again), json) == 0);
    }
  else
    g_assert (error != NULL && error->domain == HG_ERROR);
  return 0;
}
