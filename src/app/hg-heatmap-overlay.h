/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

#include "hg-slide-overlay.h"

G_BEGIN_DECLS

/* Per-tile values drawn over a slide: each tile of an HgTiling filled with
 * the colour its value has in a colour map, at an opacity, plus outlines
 * (tiles at or above a threshold; tiles whose ground truth is positive),
 * per-tile marks and the selected tile.
 *
 * The values are any per-tile scalar: the probability of IDC for a
 * heatmap, a difference of probabilities with a diverging map
 * (value-min -1, value-max 1), … NaN leaves a tile undrawn. A tile whose
 * flags have HG_HEATMAP_OVERLAY_MARKED carries a dot (flipped by an attack,
 * for instance); one with HG_HEATMAP_OVERLAY_FLAGGED a ring around where
 * the dot goes (flagged by a detector). */

#define HG_TYPE_HEATMAP_OVERLAY (hg_heatmap_overlay_get_type ())

G_DECLARE_FINAL_TYPE (HgHeatmapOverlay, hg_heatmap_overlay, HG, HEATMAP_OVERLAY, GObject)

typedef enum
{
  HG_HEATMAP_OVERLAY_MARKED = 1 << 0,
  HG_HEATMAP_OVERLAY_FLAGGED = 1 << 1,
} HgHeatmapOverlayFlags;

/* The ring's colour, 0xRRGGBB, for legends and exports. */
#define HG_HEATMAP_OVERLAY_FLAGGED_COLOR 0xf6d32d

HgHeatmapOverlay *hg_heatmap_overlay_new (void);

HgTiling *hg_heatmap_overlay_get_tiling (HgHeatmapOverlay *self);
/* Forgets the values: they belong to the old tiles. */
void hg_heatmap_overlay_set_tiling (HgHeatmapOverlay *self,
                                    HgTiling         *tiling);
/* n values (and flags, nullable) per tile, in tiling order; copied. */
void  hg_heatmap_overlay_set_values (HgHeatmapOverlay *self,
                                     const float      *values,
                                     const guint8     *flags,
                                     gsize             n);
float hg_heatmap_overlay_get_value (HgHeatmapOverlay *self,
                                    gsize             index);

gboolean   hg_heatmap_overlay_get_show_values (HgHeatmapOverlay *self);
void       hg_heatmap_overlay_set_show_values (HgHeatmapOverlay *self,
                                               gboolean          show);
double     hg_heatmap_overlay_get_opacity (HgHeatmapOverlay *self);
void       hg_heatmap_overlay_set_opacity (HgHeatmapOverlay *self,
                                           double            opacity);
HgColormap hg_heatmap_overlay_get_colormap (HgHeatmapOverlay *self);
void       hg_heatmap_overlay_set_colormap (HgHeatmapOverlay *self,
                                            HgColormap        colormap);
/* The values drawn at the two ends of the colour map ([0, 1]). */
void hg_heatmap_overlay_set_range (HgHeatmapOverlay *self,
                                   double            min,
                                   double            max);
/* Outline of the tiles whose value is at least threshold; NaN: none. */
double   hg_heatmap_overlay_get_threshold (HgHeatmapOverlay *self);
void     hg_heatmap_overlay_set_threshold (HgHeatmapOverlay *self,
                                           double            threshold);
gboolean hg_heatmap_overlay_get_show_truth (HgHeatmapOverlay *self);
void     hg_heatmap_overlay_set_show_truth (HgHeatmapOverlay *self,
                                            gboolean          show);
/* The tile outlined as selected, or -1. */
gssize hg_heatmap_overlay_get_selected (HgHeatmapOverlay *self);
void   hg_heatmap_overlay_set_selected (HgHeatmapOverlay *self,
                                        gssize            index);

G_END_DECLS
