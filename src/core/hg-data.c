/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "histoguard/hg-data.h"

char *
hg_data_find (const char *relative_path)
{
  const char *dirs[] = { g_getenv ("HISTOGUARD_DATADIR"), PKGDATADIR, SOURCE_DATADIR };

  g_return_val_if_fail (relative_path != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = NULL;

      if (dirs[i] == NULL || dirs[i][0] == '\0')
        continue;

      path = g_build_filename (dirs[i], relative_path, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&path);
    }

  return NULL;
}
