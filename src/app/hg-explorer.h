/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

#include "hg-slide-page.h"

G_BEGIN_DECLS

/* The live adversarial explorer of a slide page: attacks the tiles of the
 * page's slide with the page's model as the settings say, on an
 * HgLiveAttack's worker thread, and shows the results over the page's
 * views — probabilities at ε with flipped tiles marked on the main view;
 * with compare set, the defended pipeline beside it (flagged tiles
 * ringed) — and, when asked, the robustness map.
 *
 * Everything is a property, and every property an action of the group
 * hg_explorer_get_actions() ("explorer.epsilon", "explorer.attack", …),
 * so panels, bars and shortcuts stay in step. Results arrive on the main
 * thread; nothing here blocks it. */

#define HG_TYPE_EXPLORER (hg_explorer_get_type ())

G_DECLARE_FINAL_TYPE (HgExplorer, hg_explorer, HG, EXPLORER, GObject)

/* The panes, for the focus pictures and the numbers. */
typedef enum
{
  HG_EXPLORER_UNDEFENDED,
  HG_EXPLORER_DEFENDED,
} HgExplorerPane;

typedef enum
{
  HG_EXPLORER_CLEAN,        /* the tile */
  HG_EXPLORER_PERTURBATION, /* x_adv − x, amplified to fill grey ± ε */
  HG_EXPLORER_ATTACKED,     /* what the pane's model is shown (before a defence) */
} HgExplorerPicture;

/* The most tiles attacked at once in view; beyond, only the selected one. */
#define HG_EXPLORER_MAX_VIEW_TILES 2000

HgExplorer   *hg_explorer_new (HgSlidePage *page);
HgSlidePage  *hg_explorer_get_page (HgExplorer *self);
GActionGroup *hg_explorer_get_actions (HgExplorer *self);

/* The latest result (NULL before the first). */
HgLiveResult *hg_explorer_get_result (HgExplorer *self);
/* The focus tile (the selected one) as a picture, enlarged pixel by pixel;
 * NULL when there is none. */
GdkTexture *hg_explorer_get_picture (HgExplorer       *self,
                                     HgExplorerPane    pane,
                                     HgExplorerPicture picture);
/* The robustness map of a pane, possibly partial; NULL when none. */
HgLiveMap *hg_explorer_get_map (HgExplorer    *self,
                                HgExplorerPane pane);

/* What the comparison shows, in words: the attack ("FGSM, ε = 8/255,
 * untargeted") and each pane ("Standard model", "JPEG 75 + bit depth 4,
 * adaptive attack"). */
char *hg_explorer_describe_attack (HgExplorer *self);
char *hg_explorer_describe_pane (HgExplorer    *self,
                                 HgExplorerPane pane);

/* The comparison's numbers as CSV: one row per tile and pane. */
char *hg_explorer_to_csv (HgExplorer *self);
/* Writes the comparison (the panes as on screen, with the attack, the
 * defences and a legend) as PNG, or its numbers as CSV, atomically, off
 * the main thread; a toast says how it went. format: "png" or "csv". */
void hg_explorer_export (HgExplorer *self,
                         const char *format,
                         const char *path);

G_END_DECLS
