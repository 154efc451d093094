/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-heatmap-overlay.h"
#include "hg-slide-view.h"
#include "hg-tile-inspector.h"
#include "hg-types.h"

G_BEGIN_DECLS

/* An HgSlideView with what goes around it: the overview, the scale bar
 * and a status bar with the position under the pointer, the pyramid level
 * and the zoom controls (actions "slide.zoom-in", "slide.zoom-out",
 * "slide.zoom-fit", "slide.zoom-original", "slide.zoom-to" (d)).
 *
 * Given a model, the page also predicts: it tiles the slide at the
 * model's scale, runs the model on every tile in the background
 * (cancellable through a GCancellable it owns; results cached per slide,
 * model and tiling), draws the heatmap with its legend, and fills a tile
 * inspector with the clicked tile, its probabilities and its explanations.
 * Actions: "heatmap.run", "heatmap.cancel", "heatmap.show" and
 * "heatmap.truth" (toggles), "heatmap.export" (s: "png", "csv",
 * "geojson"). */

#define HG_TYPE_SLIDE_PAGE (hg_slide_page_get_type ())

G_DECLARE_FINAL_TYPE (HgSlidePage, hg_slide_page, HG, SLIDE_PAGE, GtkWidget)

GtkWidget   *hg_slide_page_new (void);
HgSlideView *hg_slide_page_get_view (HgSlidePage *self);
HgSlide     *hg_slide_page_get_slide (HgSlidePage *self);
void         hg_slide_page_set_slide (HgSlidePage *self,
                                      HgSlide     *slide);
void         hg_slide_page_set_cache (HgSlidePage *self,
                                      HgTileCache *cache);
/* The model to predict with (NULL: none); path names it in the cache. */
void     hg_slide_page_set_model (HgSlidePage *self,
                                  HgModel     *model,
                                  const char  *path);
HgModel *hg_slide_page_get_model (HgSlidePage *self);
/* The heatmap of the slide and model, possibly partial; NULL before the
 * tiles are known. */
HgHeatmap        *hg_slide_page_get_heatmap (HgSlidePage *self);
HgTiling         *hg_slide_page_get_tiling (HgSlidePage *self);
HgHeatmapOverlay *hg_slide_page_get_heatmap_overlay (HgSlidePage *self);
void              hg_slide_page_run_heatmap (HgSlidePage *self);
void              hg_slide_page_cancel_heatmap (HgSlidePage *self);
/* The inspector the page fills when a tile is selected (not owned). */
void   hg_slide_page_set_inspector (HgSlidePage     *self,
                                    HgTileInspector *inspector);
gssize hg_slide_page_get_selected_tile (HgSlidePage *self);
void   hg_slide_page_select_tile (HgSlidePage *self,
                                  gssize       index);
/* Writes the heatmap as format ("png", "csv", "geojson") to path, off the
 * main thread; a toast says how it went. */
void hg_slide_page_export_heatmap (HgSlidePage *self,
                                   const char  *format,
                                   const char  *path);
/* What the heatmap is doing, in words ("979 tiles in 1.2 s"). */
const char *hg_slide_page_get_heatmap_status (HgSlidePage *self);

/* Side by side: a second view beside the first, sharing its zoom and
 * position (the adversarial explorer shows a defended model there). */
HgSlideView *hg_slide_page_get_compare_view (HgSlidePage *self);
gboolean     hg_slide_page_get_compare (HgSlidePage *self);
void         hg_slide_page_set_compare (HgSlidePage *self,
                                        gboolean     compare);
/* Captions over the top of the view and of the compare view, in Pango
 * markup; NULL hides one. */
void hg_slide_page_set_captions (HgSlidePage *self,
                                 const char  *caption,
                                 const char  *compare_caption);
/* A widget below the views (the presentation bar); NULL removes it. */
void hg_slide_page_set_bottom_bar (HgSlidePage *self,
                                   GtkWidget   *bar);
/* What the legend explains instead of the heatmap's probabilities (the
 * explorer's robustness map): a title, a colour map and its range; a NULL
 * title goes back to the heatmap's legend. */
void hg_slide_page_set_legend (HgSlidePage *self,
                               const char  *title,
                               HgColormap   colormap,
                               double       min,
                               double       max);
/* The views with everything drawn over them, for pictures of them. */
GtkWidget *hg_slide_page_get_panes (HgSlidePage *self);

/* The status bar's texts, for tests and screen readers alike. */
const char *hg_slide_page_get_position_text (HgSlidePage *self);
const char *hg_slide_page_get_zoom_text (HgSlidePage *self);

G_END_DECLS
