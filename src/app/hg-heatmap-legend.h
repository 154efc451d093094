/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* The key to a heatmap overlay, drawn over the slide like the scale bar:
 * what the colours mean (a title and the colour map with its scale), and
 * the outlines shown (threshold, ground truth). */

#define HG_TYPE_HEATMAP_LEGEND (hg_heatmap_legend_get_type ())

G_DECLARE_FINAL_TYPE (HgHeatmapLegend, hg_heatmap_legend, HG, HEATMAP_LEGEND, GtkWidget)

GtkWidget *hg_heatmap_legend_new (void);
void       hg_heatmap_legend_set_title (HgHeatmapLegend *self,
                                        const char      *title);
void       hg_heatmap_legend_set_colormap (HgHeatmapLegend *self,
                                           HgColormap       colormap);
/* The values at the two ends of the scale. */
void hg_heatmap_legend_set_range (HgHeatmapLegend *self,
                                  double           min,
                                  double           max);
/* NaN: no threshold outline. */
void hg_heatmap_legend_set_threshold (HgHeatmapLegend *self,
                                      double           threshold);
/* NULL: no ground-truth outline; else what it outlines ("IDC"). */
void hg_heatmap_legend_set_truth_label (HgHeatmapLegend *self,
                                        const char      *label);

G_END_DECLS
