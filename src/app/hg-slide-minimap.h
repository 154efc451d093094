/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-slide-view.h"

G_BEGIN_DECLS

/* The whole slide, small, with the part an HgSlideView shows outlined;
 * clicking or dragging in it moves the view there. Empty (zero-sized)
 * until the view has a thumbnail. */

#define HG_TYPE_SLIDE_MINIMAP (hg_slide_minimap_get_type ())

G_DECLARE_FINAL_TYPE (HgSlideMinimap, hg_slide_minimap, HG, SLIDE_MINIMAP, GtkWidget)

/* The longest side of the minimap, in pixels. */
#define HG_SLIDE_MINIMAP_SIZE 176

GtkWidget   *hg_slide_minimap_new (void);
HgSlideView *hg_slide_minimap_get_view (HgSlideMinimap *self);
void         hg_slide_minimap_set_view (HgSlideMinimap *self,
                                        HgSlideView    *view);
/* The part of the minimap outlined as visible, in its own pixels. */
void hg_slide_minimap_get_visible_rect (HgSlideMinimap  *self,
                                        graphene_rect_t *rect);

G_END_DECLS
