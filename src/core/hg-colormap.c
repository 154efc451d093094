/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/hg-colormap.h"

#include "hg-colormap-tables.h"

static const struct
{
  const char *name;
  const guint8 (*table)[3];
  gboolean diverging;
} maps[HG_N_COLORMAPS] = {
  [HG_COLORMAP_VIRIDIS] = { "viridis", viridis_table, FALSE },
  [HG_COLORMAP_MAGMA] = { "magma", magma_table, FALSE },
  [HG_COLORMAP_COOLWARM] = { "coolwarm", coolwarm_table, TRUE },
};

const char *
hg_colormap_get_name (HgColormap map)
{
  g_return_val_if_fail (map < HG_N_COLORMAPS, NULL);

  return maps[map].name;
}

gboolean
hg_colormap_from_name (const char *name,
                       HgColormap *map)
{
  for (int i = 0; i < HG_N_COLORMAPS; i++)
    if (g_strcmp0 (name, maps[i].name) == 0)
      {
        *map = (HgColormap) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
hg_colormap_is_diverging (HgColormap map)
{
  g_return_val_if_fail (map < HG_N_COLORMAPS, FALSE);

  return maps[map].diverging;
}

void
hg_colormap_lookup (HgColormap map,
                    double     t,
                    guint8     rgb[3])
{
  const guint8 (*table)[3];
  double pos, frac;
  int    i;

  g_return_if_fail (map < HG_N_COLORMAPS);

  if (isnan (t))
    {
      rgb[0] = rgb[1] = rgb[2] = 128;
      return;
    }

  table = maps[map].table;
  pos = CLAMP (t, 0.0, 1.0) * 255.0;
  i = MIN ((int) pos, 254);
  frac = pos - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (guint8) lround (table[i][c] + (table[i + 1][c] - table[i][c]) * frac);
}

guint32
hg_colormap_lookup_rgb (HgColormap map,
                        double     t)
{
  guint8 rgb[3];

  hg_colormap_lookup (map, t, rgb);
  return ((guint32) rgb[0] << 16) | ((guint32) rgb[1] << 8) | rgb[2];
}
