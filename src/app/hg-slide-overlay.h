/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-types.h"

G_BEGIN_DECLS

/* Something drawn over the slide in an HgSlideView: a heatmap, tile
 * outlines, the ground truth. The view snapshots its tiles once into a
 * cached render node and its overlays on top every frame, so an overlay
 * that changes many times a second (emitting ::changed) costs only its
 * own drawing.
 *
 * snapshot() draws in widget coordinates; hg_slide_view_get_transform()
 * maps level-0 slide coordinates to them, and
 * hg_slide_view_get_visible_area() says which part of the slide is on
 * screen, so an overlay can skip the rest. */

#define HG_TYPE_SLIDE_OVERLAY (hg_slide_overlay_get_type ())

G_DECLARE_INTERFACE (HgSlideOverlay, hg_slide_overlay, HG, SLIDE_OVERLAY, GObject)

struct _HgSlideOverlayInterface
{
  GTypeInterface parent_iface;

  void (*snapshot) (HgSlideOverlay *self,
                    GtkSnapshot    *snapshot,
                    HgSlideView    *view);
};

void hg_slide_overlay_snapshot (HgSlideOverlay *self,
                                GtkSnapshot    *snapshot,
                                HgSlideView    *view);
/* Asks every view showing the overlay to draw it again. */
void hg_slide_overlay_changed (HgSlideOverlay *self);

G_END_DECLS
