/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* Finished heatmaps of this process, per slide, model and tiling, so that
 * reopening a slide or switching back to a model shows its heatmap at
 * once. The key names the files and their modification times: a model
 * retrained into the same file is a different model. The least recently
 * used heatmaps go first. Main thread only. */

#define HG_HEATMAP_CACHE_SIZE 16

/* NULL when a file cannot be looked at. */
char      *hg_heatmap_cache_key (HgSlide               *slide,
                                 const char            *model_path,
                                 const HgTilingOptions *options);
HgHeatmap *hg_heatmap_cache_lookup (const char *key);
void       hg_heatmap_cache_insert (const char *key,
                                    HgHeatmap  *heatmap);
void       hg_heatmap_cache_clear (void);

G_END_DECLS
