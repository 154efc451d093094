/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Colour maps for per-tile values, shared by the heatmap overlay, its
 * legend and the exported pictures, so that the same value has the same
 * colour everywhere.
 *
 * viridis and magma are perceptually uniform and readable by colour-blind
 * viewers: equal steps of probability look like equal steps of colour.
 * coolwarm is diverging, blue below its middle and red above, for signed
 * differences (defended minus undefended, attacked minus clean) mapped so
 * that 0 is the middle. */

typedef enum
{
  HG_COLORMAP_VIRIDIS,
  HG_COLORMAP_MAGMA,
  HG_COLORMAP_COOLWARM,
  HG_N_COLORMAPS
} HgColormap;

/* "viridis", "magma", "coolwarm" (as in matplotlib). */
const char *hg_colormap_get_name (HgColormap map);
gboolean    hg_colormap_from_name (const char *name,
                                   HgColormap *map);
gboolean    hg_colormap_is_diverging (HgColormap map);
/* The colour at t in [0,1] (clamped), interpolated between 256 entries;
 * NaN gives a neutral grey. */
void hg_colormap_lookup (HgColormap map,
                         double     t,
                         guint8     rgb[3]);
/* Same, as 0xRRGGBB. */
guint32 hg_colormap_lookup_rgb (HgColormap map,
                                double     t);

G_END_DECLS
