/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-slide-view.h"

G_BEGIN_DECLS

/* A bar of a round length (1, 2 or 5 × 10ⁿ µm) at the current zoom of an
 * HgSlideView, from the slide's microns per pixel. Empty (zero-sized) when
 * the slide does not say how big its pixels are. */

#define HG_TYPE_SCALE_BAR (hg_scale_bar_get_type ())

G_DECLARE_FINAL_TYPE (HgScaleBar, hg_scale_bar, HG, SCALE_BAR, GtkWidget)

GtkWidget   *hg_scale_bar_new (void);
HgSlideView *hg_scale_bar_get_view (HgScaleBar *self);
void         hg_scale_bar_set_view (HgScaleBar  *self,
                                    HgSlideView *view);
/* What the bar says ("200 µm", "1 mm"), or NULL when it shows nothing. */
const char *hg_scale_bar_get_label (HgScaleBar *self);
/* The bar's length in pixels. */
double hg_scale_bar_get_length (HgScaleBar *self);

/* The round length in µm whose bar is nearest target_pixels long, for a
 * scale of microns_per_pixel. */
double hg_scale_bar_pick_length (double microns_per_pixel,
                                 double target_pixels);

G_END_DECLS
