/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "hg-explorer.h"

G_BEGIN_DECLS

/* The presentation bar: a large ε slider over the bottom of the slide,
 * with ε and how many tiles flipped in large type, for lectures. It moves
 * and follows an HgExplorer's "epsilon". */

#define HG_TYPE_EPSILON_BAR (hg_epsilon_bar_get_type ())

G_DECLARE_FINAL_TYPE (HgEpsilonBar, hg_epsilon_bar, HG, EPSILON_BAR, GtkWidget)

GtkWidget *hg_epsilon_bar_new (HgExplorer *explorer);

G_END_DECLS
