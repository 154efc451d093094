/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-image.h"
#include "hg-slide.h"

G_BEGIN_DECLS

/* Decoded slide tiles (the HG_SLIDE_TILE_SIZE grid of hg_slide_read_tile())
 * kept within a byte budget, least recently used first out, and a pool of
 * worker threads that decodes the missing ones.
 *
 * Entries are refcounted HgImages: a tile evicted while someone draws it
 * lives on until they let go (openslide-cache.c works the same way). One
 * cache can serve several slides and views; every function may be called
 * from any thread. Loads run in priority order (lower first; among equals,
 * the newest request first, since that is where the user looks), and a
 * load whose GCancellable fires before a worker reaches it is never
 * decoded. */

#define HG_TYPE_TILE_CACHE (hg_tile_cache_get_type ())

G_DECLARE_FINAL_TYPE (HgTileCache, hg_tile_cache, HG, TILE_CACHE, GObject)

HgTileCache *hg_tile_cache_new (guint64 budget_bytes);
void         hg_tile_cache_set_budget (HgTileCache *self,
                                       guint64      budget_bytes);
guint64      hg_tile_cache_get_budget (HgTileCache *self);
/* Bytes of the tiles the cache holds now. */
guint64 hg_tile_cache_get_size (HgTileCache *self);
guint   hg_tile_cache_get_n_tiles (HgTileCache *self);
/* Tiles decoded by loads since the cache was made. */
guint hg_tile_cache_get_n_decoded (HgTileCache *self);

/* A new reference, or NULL; a hit makes the tile the most recently used. */
HgImage *hg_tile_cache_lookup (HgTileCache *self,
                               HgSlide     *slide,
                               int          level,
                               gint64       column,
                               gint64       row);
void     hg_tile_cache_insert (HgTileCache *self,
                               HgSlide     *slide,
                               int          level,
                               gint64       column,
                               gint64       row,
                               HgImage     *tile);
void     hg_tile_cache_remove_slide (HgTileCache *self,
                                     HgSlide     *slide);
void     hg_tile_cache_clear (HgTileCache *self);

/* Looks the tile up, else decodes it on the calling thread and keeps it. */
HgImage *hg_tile_cache_load (HgTileCache  *self,
                             HgSlide      *slide,
                             int           level,
                             gint64        column,
                             gint64        row,
                             GCancellable *cancellable,
                             GError      **error);
/* The same on the worker pool; the callback runs in the thread-default
 * main context of the caller. */
void     hg_tile_cache_load_async (HgTileCache        *self,
                                   HgSlide            *slide,
                                   int                 level,
                                   gint64              column,
                                   gint64              row,
                                   int                 priority,
                                   GCancellable       *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
HgImage *hg_tile_cache_load_finish (HgTileCache  *self,
                                    GAsyncResult *result,
                                    GError      **error);

G_END_DECLS
