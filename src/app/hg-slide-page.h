/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-slide-view.h"
#include "hg-types.h"

G_BEGIN_DECLS

/* An HgSlideView with what goes around it: the overview, the scale bar
 * and a status bar with the position under the pointer, the pyramid level
 * and the zoom controls (actions "slide.zoom-in", "slide.zoom-out",
 * "slide.zoom-fit", "slide.zoom-original", "slide.zoom-to" (d)). */

#define HG_TYPE_SLIDE_PAGE (hg_slide_page_get_type ())

G_DECLARE_FINAL_TYPE (HgSlidePage, hg_slide_page, HG, SLIDE_PAGE, GtkWidget)

GtkWidget   *hg_slide_page_new (void);
HgSlideView *hg_slide_page_get_view (HgSlidePage *self);
HgSlide     *hg_slide_page_get_slide (HgSlidePage *self);
void         hg_slide_page_set_slide (HgSlidePage *self,
                                      HgSlide     *slide);
void         hg_slide_page_set_cache (HgSlidePage *self,
                                      HgTileCache *cache);
/* The status bar's texts, for tests and screen readers alike. */
const char *hg_slide_page_get_position_text (HgSlidePage *self);
const char *hg_slide_page_get_zoom_text (HgSlidePage *self);

G_END_DECLS
