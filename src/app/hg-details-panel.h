/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* The side panel of a slide: a summary (format, size, resolution, pyramid,
 * ground truth), a button to every property, and the associated images
 * (label, macro, thumbnail), read off the main thread. */

#define HG_TYPE_DETAILS_PANEL (hg_details_panel_get_type ())

G_DECLARE_FINAL_TYPE (HgDetailsPanel, hg_details_panel, HG, DETAILS_PANEL, GtkWidget)

GtkWidget *hg_details_panel_new (void);
HgSlide   *hg_details_panel_get_slide (HgDetailsPanel *self);
void       hg_details_panel_set_slide (HgDetailsPanel *self,
                                       HgSlide        *slide);

G_END_DECLS
