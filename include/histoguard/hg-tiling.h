/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "hg-image.h"
#include "hg-model.h"
#include "hg-slide.h"

G_BEGIN_DECLS

/* The tiles a classifier looks at on a slide, at the model's scale.
 *
 * On a folder of IDC patches there is one tile per patch. On any other
 * slide the tiles are a grid of square cells whose side, in level-0
 * pixels, covers as much tissue as the model's input does at the model's
 * microns per pixel (the "mpp" metadata key of the model, else the IDC
 * patches' HG_SLIDE_IDC_MPP): 50 pixels at 4 µm are 400 pixels of a
 * 0.5 µm scan. Each tile is read from the coarsest pyramid level that is
 * at least as fine as the model's input and scaled to the input size.
 * Grid cells with less tissue than options->min_tissue (hg-tissue.h) are
 * left out; cells at the right and bottom edges are read past the slide
 * (white) and reported clipped to it.
 *
 * A tiling is immutable once made, and may be used from any thread. */

typedef enum
{
  HG_TILING_PATCHES,
  HG_TILING_GRID,
} HgTilingKind;

typedef struct
{
  gint64       x; /* level-0 top-left corner */
  gint64       y;
  int          width; /* level-0 extent, clipped to the slide */
  int          height;
  int          column; /* cell of the tiling's grid (hg_tiling_get_cell_size) */
  int          row;
  HgSlideLabel truth;  /* ground truth; HG_SLIDE_LABEL_NONE when unknown */
  float        tissue; /* fraction of the cell that is tissue (1 for patches) */
} HgTile;

#define HG_TILING_MIN_TISSUE 0.1
/* Tilings of more tiles than this are refused. */
#define HG_TILING_MAX_TILES (1 << 22)

typedef struct
{
  /* Level-0 pixels per tile side; 0: from the model's scale and the
   * slide's microns per pixel (the input size when the slide has none). */
  double tile_size;
  /* Grid cells with less tissue than this fraction are skipped; 0 keeps
   * every cell. */
  double min_tissue;
  /* A grid even on a folder of patches. */
  gboolean grid;
  /* The pyramid level tiles are read from (then scaled to the input);
   * -1: the coarsest that keeps the input's resolution. */
  int level;
} HgTilingOptions;

typedef struct _HgTiling HgTiling;

void hg_tiling_options_init (HgTilingOptions *options);

/* The microns per pixel a model was trained at. */
double hg_tiling_get_model_mpp (HgModel *model);
/* The tile side hg_tiling_new() would choose, in level-0 pixels. */
double hg_tiling_default_tile_size (HgSlide *slide,
                                    int      input_width,
                                    double   input_mpp);

HgTiling *hg_tiling_new (HgSlide               *slide,
                         int                    input_width,
                         int                    input_height,
                         double                 input_mpp,
                         const HgTilingOptions *options,
                         GError               **error);
HgTiling *hg_tiling_new_for_model (HgSlide               *slide,
                                   HgModel               *model,
                                   const HgTilingOptions *options,
                                   GError               **error);
HgTiling *hg_tiling_ref (HgTiling *tiling);
void      hg_tiling_unref (HgTiling *tiling);

HgSlide      *hg_tiling_get_slide (HgTiling *tiling);
HgTilingKind  hg_tiling_get_kind (HgTiling *tiling);
gsize         hg_tiling_get_n_tiles (HgTiling *tiling);
const HgTile *hg_tiling_get_tiles (HgTiling *tiling,
                                   gsize    *n_tiles);
const HgTile *hg_tiling_get_tile (HgTiling *tiling,
                                  gsize     index);
/* Whether some tile has a ground-truth label. */
gboolean hg_tiling_has_ground_truth (HgTiling *tiling);
/* The grid: cell (column, row) starts at level-0 point
 * (origin_x + column × cell_width, origin_y + row × cell_height). */
void hg_tiling_get_cell_size (HgTiling *tiling,
                              double   *width,
                              double   *height);
void hg_tiling_get_origin (HgTiling *tiling,
                           double   *x,
                           double   *y);
void hg_tiling_get_grid_size (HgTiling *tiling,
                              int      *columns,
                              int      *rows);
/* Where tiles are read: the pyramid level, and the pixels of that level
 * read per tile (then scaled to the input size). */
int  hg_tiling_get_level (HgTiling *tiling);
void hg_tiling_get_read_size (HgTiling *tiling,
                              int      *width,
                              int      *height);
void hg_tiling_get_input_size (HgTiling *tiling,
                               int      *width,
                               int      *height);

/* The tile covering level-0 point (x, y), or -1. */
gssize hg_tiling_find (HgTiling *tiling,
                       double    x,
                       double    y);
gssize hg_tiling_find_cell (HgTiling *tiling,
                            int       column,
                            int       row);
/* The nearest tile from index in direction (dx, dy) ∈ {-1, 0, 1}², skipping
 * empty cells; -1 when there is none. */
gssize hg_tiling_get_neighbour (HgTiling *tiling,
                                gsize     index,
                                int       dx,
                                int       dy);

/* The tile as the model sees it: 3 × input height × input width floats. */
gboolean hg_tiling_read_tile (HgTiling *tiling,
                              gsize     index,
                              float    *chw,
                              GError  **error);
/* Tiles indices[0 … n-1] into chw (n × 3 × input height × input width),
 * read in parallel on the engine's worker pool; fails with the first
 * tile that could not be read. */
gboolean hg_tiling_read_tiles (HgTiling    *tiling,
                               const gsize *indices,
                               int          n,
                               float       *chw,
                               GError     **error);
/* The tile's cell at size × size pixels (at most; from the best level),
 * for showing it larger than the model sees it. */
HgImage *hg_tiling_read_tile_image (HgTiling *tiling,
                                    gsize     index,
                                    int       size,
                                    GError  **error);

/* The boundary of the region made of the tiles whose selected[] byte is
 * set: level-0 segments x0, y0, x1, y1 (4 doubles each, clockwise around
 * the region), the sides that no selected neighbour shares. Free with
 * g_free. */
double *hg_tiling_get_outline (HgTiling     *tiling,
                               const guint8 *selected,
                               gsize        *n_segments);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTiling, hg_tiling_unref)

G_END_DECLS
