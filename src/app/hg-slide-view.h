/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

#include "hg-slide-overlay.h"
#include "hg-types.h"
#include "hg-viewport.h"

G_BEGIN_DECLS

/* Shows a slide: tiles of the pyramid level that matches the zoom, decoded
 * by an HgTileCache's workers, a thumbnail (then coarser tiles) standing in
 * while they load, and HgSlideOverlays on top. Pan by dragging, scrolling
 * and arrow keys; zoom with Ctrl+scroll, pinch, +/-, 0 (fit) and 1 (1:1).
 *
 * Coordinates: "slide" means level-0 pixels, "widget" means this widget's
 * pixels; widget = slide × scale + offset (hg_slide_view_get_transform). */

#define HG_TYPE_SLIDE_VIEW (hg_slide_view_get_type ())

G_DECLARE_FINAL_TYPE (HgSlideView, hg_slide_view, HG, SLIDE_VIEW, GtkWidget)

/* The most a view magnifies level 0, beyond the scanner's resolution. */
#define HG_SLIDE_VIEW_MAX_MAGNIFICATION 4.0

HgSlideView *hg_slide_view_new (void);
HgSlide     *hg_slide_view_get_slide (HgSlideView *self);
/* Shows slide, fitted to the view. */
void         hg_slide_view_set_slide (HgSlideView *self,
                                      HgSlide     *slide);
HgTileCache *hg_slide_view_get_cache (HgSlideView *self);
void         hg_slide_view_set_cache (HgSlideView *self,
                                      HgTileCache *cache);
/* Views given the same viewport pan and zoom together. */
HgViewport *hg_slide_view_get_viewport (HgSlideView *self);
void        hg_slide_view_set_viewport (HgSlideView *self,
                                        HgViewport  *viewport);
/* The whole slide, small (NULL until it has loaded). */
GdkTexture *hg_slide_view_get_thumbnail (HgSlideView *self);
/* The pyramid level being drawn. */
int hg_slide_view_get_level (HgSlideView *self);
/* Whether tiles on screen are still being decoded. */
gboolean hg_slide_view_get_loading (HgSlideView *self);

void hg_slide_view_widget_to_slide (HgSlideView *self,
                                    double       widget_x,
                                    double       widget_y,
                                    double      *slide_x,
                                    double      *slide_y);
void hg_slide_view_slide_to_widget (HgSlideView *self,
                                    double       slide_x,
                                    double       slide_y,
                                    double      *widget_x,
                                    double      *widget_y);
void hg_slide_view_get_transform (HgSlideView *self,
                                  double      *scale,
                                  double      *offset_x,
                                  double      *offset_y);
/* The part of the slide's coordinate space on screen (may extend past
 * the slide's edges). */
void hg_slide_view_get_visible_area (HgSlideView     *self,
                                     graphene_rect_t *area);
/* The slide point under the pointer; FALSE when the pointer is elsewhere. */
gboolean hg_slide_view_get_pointer (HgSlideView *self,
                                    double      *slide_x,
                                    double      *slide_y);

/* The zoom at which the whole slide fits. */
double hg_slide_view_get_fit_zoom (HgSlideView *self);
void   hg_slide_view_zoom_in (HgSlideView *self);
void   hg_slide_view_zoom_out (HgSlideView *self);
void   hg_slide_view_zoom_fit (HgSlideView *self);
/* One level-0 pixel per screen pixel. */
void hg_slide_view_zoom_original (HgSlideView *self);
/* Zooms about the centre of the view, animated when animate is set. */
void hg_slide_view_zoom_to (HgSlideView *self,
                            double       zoom,
                            gboolean     animate);
/* Multiplies the zoom, keeping the slide point under (anchor_x, anchor_y). */
void hg_slide_view_zoom_by (HgSlideView *self,
                            double       factor,
                            double       anchor_x,
                            double       anchor_y);
/* Moves the view by (dx, dy) widget pixels. */
void hg_slide_view_pan_by (HgSlideView *self,
                           double       dx,
                           double       dy);
void hg_slide_view_center_on (HgSlideView *self,
                              double       slide_x,
                              double       slide_y,
                              gboolean     animate);

void hg_slide_view_add_overlay (HgSlideView    *self,
                                HgSlideOverlay *overlay);
void hg_slide_view_remove_overlay (HgSlideView    *self,
                                   HgSlideOverlay *overlay);
/* Forgets tiles that failed to load, so they are tried again. */
void hg_slide_view_retry (HgSlideView *self);
/* How often the cached tile layer was rebuilt: overlays alone do not. */
guint hg_slide_view_get_n_tile_builds (HgSlideView *self);

G_END_DECLS
