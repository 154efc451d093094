/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-explorer.h"

G_BEGIN_DECLS

/* The side panel of the live adversarial explorer: the attack (method, ε
 * slider and entry, steps, goal, which tiles), what it did (flipped
 * tiles, accuracy, the selected tile up close), the defences to compare
 * against, the robustness map, exports and presentation mode, each with
 * a plain-language explanation one click away. Its controls are the
 * "explorer." actions of an HgExplorer, which the window provides. */

#define HG_TYPE_ATTACK_PANEL (hg_attack_panel_get_type ())

G_DECLARE_FINAL_TYPE (HgAttackPanel, hg_attack_panel, HG, ATTACK_PANEL, GtkWidget)

GtkWidget  *hg_attack_panel_new (void);
HgExplorer *hg_attack_panel_get_explorer (HgAttackPanel *self);
void        hg_attack_panel_set_explorer (HgAttackPanel *self,
                                          HgExplorer    *explorer);

G_END_DECLS
