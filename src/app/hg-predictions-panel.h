/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-slide-page.h"

G_BEGIN_DECLS

/* The side panel of predictions: which model, run and stop, how the
 * heatmap looks (colour map, opacity, threshold outline, ground truth),
 * the slide's accuracy, balanced accuracy and AUC against its ground
 * truth, the tiling, and the exports. It drives an HgSlidePage and writes
 * the chosen model to the "model" key of the settings it is given. */

#define HG_TYPE_PREDICTIONS_PANEL (hg_predictions_panel_get_type ())

G_DECLARE_FINAL_TYPE (HgPredictionsPanel, hg_predictions_panel, HG, PREDICTIONS_PANEL, GtkWidget)

GtkWidget *hg_predictions_panel_new (void);
void       hg_predictions_panel_set_page (HgPredictionsPanel *self,
                                          HgSlidePage        *page);
void       hg_predictions_panel_set_settings (HgPredictionsPanel *self,
                                              GSettings          *settings);
/* The model the window loaded from path, or NULL and why there is none. */
void hg_predictions_panel_set_model (HgPredictionsPanel *self,
                                     HgModel            *model,
                                     const char         *path,
                                     const char         *error);
/* The model files that ship with Histoguard (*.safetensors in data/models),
 * sorted; free with g_strfreev. */
char **hg_predictions_panel_list_models (void);

G_END_DECLS
