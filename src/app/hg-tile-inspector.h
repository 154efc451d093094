/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* One tile, close up: the tile enlarged, what the classifier gives each
 * class as bars, and two explanations (input-gradient saliency, Grad-CAM)
 * laid over the tile on demand. It shows whatever it is given — a slide
 * tile, an attacked tile, an amplified perturbation — and knows nothing
 * of models: the caller computes.
 *
 * Arrow keys emit ::move (dx, dy) so the caller can step to a neighbour. */

#define HG_TYPE_TILE_INSPECTOR (hg_tile_inspector_get_type ())

G_DECLARE_FINAL_TYPE (HgTileInspector, hg_tile_inspector, HG, TILE_INSPECTOR, GtkWidget)

typedef enum
{
  HG_TILE_INSPECTOR_TILE,
  HG_TILE_INSPECTOR_SALIENCY,
  HG_TILE_INSPECTOR_GRADCAM,
} HgTileInspectorView;

GtkWidget *hg_tile_inspector_new (void);
/* Back to "nothing selected". */
void hg_tile_inspector_clear (HgTileInspector *self);
void hg_tile_inspector_set_title (HgTileInspector *self,
                                  const char      *title,
                                  const char      *subtitle);
void hg_tile_inspector_set_image (HgTileInspector *self,
                                  GdkTexture      *image);
/* n probabilities and their class names; NULL: none (yet). */
void hg_tile_inspector_set_probabilities (HgTileInspector   *self,
                                          const float       *probs,
                                          const char *const *names,
                                          int                n);
/* Maps in [0,1], width × height each (nullable). */
void hg_tile_inspector_set_explanations (HgTileInspector *self,
                                         const float     *saliency,
                                         const float     *gradcam,
                                         int              width,
                                         int              height);
/* A line under the bars ("Ground truth: IDC"); NULL hides it. */
void                hg_tile_inspector_set_note (HgTileInspector *self,
                                                const char      *note);
HgTileInspectorView hg_tile_inspector_get_view (HgTileInspector *self);
void                hg_tile_inspector_set_view (HgTileInspector    *self,
                                                HgTileInspectorView view);

G_END_DECLS
