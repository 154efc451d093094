/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-tiling.h"
#include "histoguard/hg-tissue.h"

#include "hg-threads-private.h"

/* Tiles smaller than this (level-0 pixels a side) are refused. */
#define MIN_TILE_SIZE 4

struct _HgTiling
{
  gatomicrefcount ref;
  HgSlide        *slide;
  HgTilingKind    kind;
  GArray         *tiles; /* HgTile */
  GHashTable     *cells; /* (column, row) packed → index + 1 */
  double          cell_w, cell_h;
  double          origin_x, origin_y;
  int             columns, rows;
  int             level;
  int             read_w, read_h;
  int             input_w, input_h;
  gboolean        has_truth;
};

static inline gpointer
cell_key (int column,
          int row)
{
  return GSIZE_TO_POINTER (((gsize) (guint32) column << 32 | (guint32) row) + 1);
}

void
hg_tiling_options_init (HgTilingOptions *options)
{
  g_return_if_fail (options != NULL);

  *options = (HgTilingOptions){ .tile_size = 0, .min_tissue = HG_TILING_MIN_TISSUE, .level = -1 };
}

double
hg_tiling_get_model_mpp (HgModel *model)
{
  const char *text = hg_model_get_metadata (model, "mpp");
  double      mpp;
  char       *end = NULL;

  if (text == NULL)
    return HG_SLIDE_IDC_MPP;
  mpp = g_ascii_strtod (text, &end);
  if (end == text || !isfinite (mpp) || mpp <= 0)
    return HG_SLIDE_IDC_MPP;
  return mpp;
}

double
hg_tiling_default_tile_size (HgSlide *slide,
                             int      input_width,
                             double   input_mpp)
{
  double mpp_x, mpp_y;

  g_return_val_if_fail (HG_IS_SLIDE (slide), 0);

  if (hg_slide_get_source (slide) == HG_SLIDE_SOURCE_PATCHES)
    return input_width;
  if (!hg_slide_get_mpp (slide, &mpp_x, &mpp_y) || mpp_x <= 0)
    return input_width;
  return round (input_width * input_mpp / mpp_x);
}

static void
add_tile (HgTiling     *tiling,
          const HgTile *tile)
{
  g_array_append_val (tiling->tiles, *tile);
  g_hash_table_insert (tiling->cells, cell_key (tile->column, tile->row),
                       GSIZE_TO_POINTER (tiling->tiles->len));
  if (tile->truth != HG_SLIDE_LABEL_NONE)
    tiling->has_truth = TRUE;
}

static void
tile_patches (HgTiling *tiling)
{
  gsize               n;
  const HgSlidePatch *patches = hg_slide_get_patches (tiling->slide, &n);
  gint64              step = 0, ox, oy;

  for (gsize i = 0; i < n; i++)
    step = MAX (step, MAX (patches[i].width, patches[i].height));
  step = MAX (step, 1);

  /* Patches sit on a grid of their own size; find its offset. */
  ox = n > 0 ? patches[0].x % step : 0;
  oy = n > 0 ? patches[0].y % step : 0;
  tiling->cell_w = tiling->cell_h = (double) step;
  tiling->origin_x = (double) ox;
  tiling->origin_y = (double) oy;

  for (gsize i = 0; i < n; i++)
    {
      HgTile tile = {
        .x = patches[i].x,
        .y = patches[i].y,
        .width = patches[i].width,
        .height = patches[i].height,
        .column = (int) ((patches[i].x - ox + step / 2) / step),
        .row = (int) ((patches[i].y - oy + step / 2) / step),
        .truth = patches[i].label,
        .tissue = 1.0f,
      };

      tiling->columns = MAX (tiling->columns, tile.column + 1);
      tiling->rows = MAX (tiling->rows, tile.row + 1);
      /* Two patches in one cell (not in IDC data): the first wins lookups. */
      if (g_hash_table_contains (tiling->cells, cell_key (tile.column, tile.row)))
        {
          g_array_append_val (tiling->tiles, tile);
          continue;
        }
      add_tile (tiling, &tile);
    }
}

static gboolean
tile_grid (HgTiling              *tiling,
           const HgTilingOptions *options,
           GError               **error)
{
  g_autoptr (HgTissueMask) mask = NULL;
  gint64 width, height;
  gint64 step = (gint64) tiling->cell_w;

  hg_slide_get_level_size (tiling->slide, 0, &width, &height);
  tiling->columns = (int) MIN ((width + step - 1) / step, G_MAXINT);
  tiling->rows = (int) MIN ((height + step - 1) / step, G_MAXINT);
  if ((gint64) tiling->columns * tiling->rows > HG_TILING_MAX_TILES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("tiles of %lld pixels would cut %s into %d × %d tiles, more than "
                      "the %d Histoguard handles: choose larger tiles"),
                   (long long) step, hg_slide_get_name (tiling->slide), tiling->columns, tiling->rows,
                   HG_TILING_MAX_TILES);
      return FALSE;
    }

  if (options->min_tissue > 0)
    {
      g_autoptr (GError) mask_error = NULL;

      mask = hg_tissue_mask_new (tiling->slide, 0, &mask_error);
      /* A slide without any small picture: every cell counts. */
      if (mask == NULL)
        g_debug ("no tissue detection on %s: %s", hg_slide_get_name (tiling->slide),
                 mask_error->message);
    }

  for (int r = 0; r < tiling->rows; r++)
    for (int c = 0; c < tiling->columns; c++)
      {
        HgTile tile = {
          .x = c * step,
          .y = r * step,
          .column = c,
          .row = r,
          .truth = HG_SLIDE_LABEL_NONE,
          .tissue = 1.0f,
        };

        tile.width = (int) MIN (step, width - tile.x);
        tile.height = (int) MIN (step, height - tile.y);
        if (mask != NULL)
          {
            tile.tissue = (float) hg_tissue_mask_get_fraction (mask, tile.x, tile.y, step, step);
            if (tile.tissue < options->min_tissue)
              continue;
          }
        if (hg_slide_has_ground_truth (tiling->slide))
          tile.truth = hg_slide_get_label_at (tiling->slide, tile.x + tile.width / 2.0,
                                              tile.y + tile.height / 2.0);
        add_tile (tiling, &tile);
      }
  return TRUE;
}

HgTiling *
hg_tiling_new (HgSlide               *slide,
               int                    input_width,
               int                    input_height,
               double                 input_mpp,
               const HgTilingOptions *options,
               GError               **error)
{
  g_autoptr (HgTiling) tiling = NULL;
  HgTilingOptions defaults;
  double          tile_size;
  double          ds;
  gint64          width, height;

  g_return_val_if_fail (HG_IS_SLIDE (slide), NULL);
  g_return_val_if_fail (input_width > 0 && input_height > 0, NULL);

  if (options == NULL)
    {
      hg_tiling_options_init (&defaults);
      options = &defaults;
    }

  hg_slide_get_level_size (slide, 0, &width, &height);
  if (options->level >= hg_slide_get_level_count (slide))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("%s has no level %d: its levels are 0 to %d"), hg_slide_get_name (slide), options->level,
                   hg_slide_get_level_count (slide) - 1);
      return NULL;
    }
  tile_size = options->tile_size > 0 ? round (options->tile_size)
                                     : hg_tiling_default_tile_size (slide, input_width, input_mpp);
  if (!isfinite (tile_size) || tile_size < MIN_TILE_SIZE || tile_size > MAX (width, height))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("a tile of %g pixels does not fit %s (%lld × %lld): tiles must be from %d pixels to the slide's size"),
                   tile_size, hg_slide_get_name (slide), (long long) width, (long long) height, MIN_TILE_SIZE);
      return NULL;
    }

  tiling = g_new0 (HgTiling, 1);
  g_atomic_ref_count_init (&tiling->ref);
  tiling->slide = g_object_ref (slide);
  tiling->tiles = g_array_new (FALSE, FALSE, sizeof (HgTile));
  tiling->cells = g_hash_table_new (NULL, NULL);
  tiling->input_w = input_width;
  tiling->input_h = input_height;
  tiling->cell_w = tiling->cell_h = tile_size;

  if (hg_slide_get_source (slide) == HG_SLIDE_SOURCE_PATCHES && !options->grid &&
      options->tile_size <= 0)
    {
      tiling->kind = HG_TILING_PATCHES;
      tile_patches (tiling);
    }
  else
    {
      tiling->kind = HG_TILING_GRID;
      if (!tile_grid (tiling, options, error))
        return NULL;
    }

  /* Read from the coarsest level that still has the input's resolution. */
  ds = tiling->cell_w / input_width;
  tiling->level = options->level >= 0 ? options->level : hg_slide_get_best_level (slide, ds);
  ds = hg_slide_get_level_downsample (slide, tiling->level);
  tiling->read_w = MAX (1, (int) lround (tiling->cell_w / ds));
  tiling->read_h = MAX (1, (int) lround (tiling->cell_h / ds));

  return g_steal_pointer (&tiling);
}

HgTiling *
hg_tiling_new_for_model (HgSlide               *slide,
                         HgModel               *model,
                         const HgTilingOptions *options,
                         GError               **error)
{
  int h, w, c;

  g_return_val_if_fail (model != NULL, NULL);

  hg_model_get_input_size (model, &h, &w, &c);
  return hg_tiling_new (slide, w, h, hg_tiling_get_model_mpp (model), options, error);
}

HgTiling *
hg_tiling_ref (HgTiling *tiling)
{
  g_return_val_if_fail (tiling != NULL, NULL);

  g_atomic_ref_count_inc (&tiling->ref);
  return tiling;
}

void
hg_tiling_unref (HgTiling *tiling)
{
  if (tiling == NULL || !g_atomic_ref_count_dec (&tiling->ref))
    return;

  g_object_unref (tiling->slide);
  g_array_unref (tiling->tiles);
  g_hash_table_unref (tiling->cells);
  g_free (tiling);
}

HgSlide *
hg_tiling_get_slide (HgTiling *tiling)
{
  return tiling->slide;
}

HgTilingKind
hg_tiling_get_kind (HgTiling *tiling)
{
  return tiling->kind;
}

gsize
hg_tiling_get_n_tiles (HgTiling *tiling)
{
  return tiling->tiles->len;
}

const HgTile *
hg_tiling_get_tiles (HgTiling *tiling,
                     gsize    *n_tiles)
{
  if (n_tiles != NULL)
    *n_tiles = tiling->tiles->len;
  return (const HgTile *) tiling->tiles->data;
}

const HgTile *
hg_tiling_get_tile (HgTiling *tiling,
                    gsize     index)
{
  g_return_val_if_fail (index < tiling->tiles->len, NULL);

  return &g_array_index (tiling->tiles, HgTile, index);
}

gboolean
hg_tiling_has_ground_truth (HgTiling *tiling)
{
  return tiling->has_truth;
}

void
hg_tiling_get_cell_size (HgTiling *tiling,
                         double   *width,
                         double   *height)
{
  if (width != NULL)
    *width = tiling->cell_w;
  if (height != NULL)
    *height = tiling->cell_h;
}

void
hg_tiling_get_origin (HgTiling *tiling,
                      double   *x,
                      double   *y)
{
  if (x != NULL)
    *x = tiling->origin_x;
  if (y != NULL)
    *y = tiling->origin_y;
}

void
hg_tiling_get_grid_size (HgTiling *tiling,
                         int      *columns,
                         int      *rows)
{
  if (columns != NULL)
    *columns = tiling->columns;
  if (rows != NULL)
    *rows = tiling->rows;
}

int
hg_tiling_get_level (HgTiling *tiling)
{
  return tiling->level;
}

void
hg_tiling_get_read_size (HgTiling *tiling,
                         int      *width,
                         int      *height)
{
  if (width != NULL)
    *width = tiling->read_w;
  if (height != NULL)
    *height = tiling->read_h;
}

void
hg_tiling_get_input_size (HgTiling *tiling,
                          int      *width,
                          int      *height)
{
  if (width != NULL)
    *width = tiling->input_w;
  if (height != NULL)
    *height = tiling->input_h;
}

gssize
hg_tiling_find_cell (HgTiling *tiling,
                     int       column,
                     int       row)
{
  gpointer value;

  if (column < 0 || row < 0 || column >= tiling->columns || row >= tiling->rows)
    return -1;
  value = g_hash_table_lookup (tiling->cells, cell_key (column, row));
  return value != NULL ? (gssize) GPOINTER_TO_SIZE (value) - 1 : -1;
}

gssize
hg_tiling_find (HgTiling *tiling,
                double    x,
                double    y)
{
  double cx = floor ((x - tiling->origin_x) / tiling->cell_w);
  double cy = floor ((y - tiling->origin_y) / tiling->cell_h);
  gssize index;

  if (!isfinite (cx) || !isfinite (cy) || cx < 0 || cy < 0 || cx > G_MAXINT || cy > G_MAXINT)
    return -1;

  index = hg_tiling_find_cell (tiling, (int) cx, (int) cy);
  if (index >= 0)
    {
      const HgTile *t = hg_tiling_get_tile (tiling, index);

      if (x < t->x || y < t->y || x >= t->x + t->width || y >= t->y + t->height)
        return -1;
    }
  return index;
}

gssize
hg_tiling_get_neighbour (HgTiling *tiling,
                         gsize     index,
                         int       dx,
                         int       dy)
{
  const HgTile *t;
  int           limit = MAX (tiling->columns, tiling->rows);

  g_return_val_if_fail (index < tiling->tiles->len, -1);
  g_return_val_if_fail (dx >= -1 && dx <= 1 && dy >= -1 && dy <= 1, -1);

  if (dx == 0 && dy == 0)
    return (gssize) index;

  t = hg_tiling_get_tile (tiling, index);
  for (int step = 1; step <= limit; step++)
    {
      int    c = t->column + step * dx, r = t->row + step * dy;
      gssize found;

      if (c < 0 || r < 0 || c >= tiling->columns || r >= tiling->rows)
        break;
      found = hg_tiling_find_cell (tiling, c, r);
      if (found >= 0)
        return found;
    }
  return -1;
}

static HgImage *
read_cell (HgTiling *tiling,
           gsize     index,
           int       level,
           int       width,
           int       height,
           GError  **error)
{
  const HgTile *t = hg_tiling_get_tile (tiling, index);

  return hg_slide_read_region_image (tiling->slide, level, t->x, t->y, width, height, error);
}

gboolean
hg_tiling_read_tile (HgTiling *tiling,
                     gsize     index,
                     float    *chw,
                     GError  **error)
{
  g_autoptr (HgImage) region = NULL;

  g_return_val_if_fail (tiling != NULL && chw != NULL, FALSE);
  g_return_val_if_fail (index < tiling->tiles->len, FALSE);

  region = read_cell (tiling, index, tiling->level, tiling->read_w, tiling->read_h, error);
  if (region == NULL)
    return FALSE;

  if (tiling->read_w != tiling->input_w || tiling->read_h != tiling->input_h)
    {
      g_autoptr (HgImage) scaled = hg_image_scale (region, tiling->input_w, tiling->input_h, error);

      if (scaled == NULL)
        return FALSE;
      hg_image_to_chw (scaled, chw);
    }
  else
    hg_image_to_chw (region, chw);
  return TRUE;
}

typedef struct
{
  HgTiling    *tiling;
  const gsize *indices;
  float       *chw;
  gsize        floats; /* per tile */
  GMutex       lock;
  GError      *error; /* the first failure */
} ReadJob;

static void
read_task (gpointer data,
           int      task,
           int      worker)
{
  ReadJob *j = data;
  GError  *error = NULL;

  if (!hg_tiling_read_tile (j->tiling, j->indices[task], j->chw + (gsize) task * j->floats, &error))
    {
      g_mutex_lock (&j->lock);
      if (j->error == NULL)
        j->error = error;
      else
        g_error_free (error);
      g_mutex_unlock (&j->lock);
    }
}

gboolean
hg_tiling_read_tiles (HgTiling    *tiling,
                      const gsize *indices,
                      int          n,
                      float       *chw,
                      GError     **error)
{
  ReadJob job = { tiling, indices, chw, 3 * (gsize) tiling->input_w * tiling->input_h, { 0 }, NULL };

  g_return_val_if_fail (tiling != NULL && n >= 0, FALSE);
  g_return_val_if_fail (n == 0 || (indices != NULL && chw != NULL), FALSE);
  for (int i = 0; i < n; i++)
    g_return_val_if_fail (indices[i] < tiling->tiles->len, FALSE);

  g_mutex_init (&job.lock);
  hg_parallel_for (n, read_task, &job);
  g_mutex_clear (&job.lock);
  if (job.error != NULL)
    {
      g_propagate_error (error, job.error);
      return FALSE;
    }
  return TRUE;
}

HgImage *
hg_tiling_read_tile_image (HgTiling *tiling,
                           gsize     index,
                           int       size,
                           GError  **error)
{
  g_autoptr (HgImage) region = NULL;
  int    level, width, height;
  double ds;

  g_return_val_if_fail (tiling != NULL, NULL);
  g_return_val_if_fail (index < tiling->tiles->len, NULL);
  g_return_val_if_fail (size > 0, NULL);

  level = hg_slide_get_best_level (tiling->slide, tiling->cell_w / size);
  ds = hg_slide_get_level_downsample (tiling->slide, level);
  width = MAX (1, (int) lround (tiling->cell_w / ds));
  height = MAX (1, (int) lround (tiling->cell_h / ds));
  region = read_cell (tiling, index, level, width, height, error);
  if (region == NULL)
    return NULL;
  if (width <= size && height <= size)
    return g_steal_pointer (&region);
  return hg_image_scale (region, MIN (width, size), MIN (height, size), error);
}

double *
hg_tiling_get_outline (HgTiling     *tiling,
                       const guint8 *selected,
                       gsize        *n_segments)
{
  GArray *segments = g_array_new (FALSE, FALSE, sizeof (double));

  g_return_val_if_fail (tiling != NULL && selected != NULL && n_segments != NULL, NULL);

  for (guint i = 0; i < tiling->tiles->len; i++)
    {
      const HgTile *t = hg_tiling_get_tile (tiling, i);
      double        x0 = (double) t->x, y0 = (double) t->y;
      double        x1 = x0 + t->width, y1 = y0 + t->height;
      const struct
      {
        int    dc, dr;
        double ax, ay, bx, by;
      } sides[4] = {
        { 0, -1, x0, y0, x1, y0 },
        { 1, 0, x1, y0, x1, y1 },
        { 0, 1, x1, y1, x0, y1 },
        { -1, 0, x0, y1, x0, y0 },
      };

      if (!selected[i])
        continue;
      for (int s = 0; s < 4; s++)
        {
          gssize other = hg_tiling_find_cell (tiling, t->column + sides[s].dc, t->row + sides[s].dr);
          double seg[4] = { sides[s].ax, sides[s].ay, sides[s].bx, sides[s].by };

          if (other >= 0 && selected[other])
            continue;
          g_array_append_vals (segments, seg, 4);
        }
    }

  *n_segments = segments->len / 4;
  return (double *) g_array_free (segments, FALSE);
}
