/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgSlideView"

#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <math.h>

#include "hg-slide-text.h"
#include "hg-slide-view.h"

/* Zoom steps: two of them double the magnification, like the pyramid. */
#define ZOOM_STEP G_SQRT2
/* Fitting leaves this many pixels around the slide. */
#define FIT_MARGIN 24
/* Tiles this far outside the view are decoded ahead of a pan. */
#define PREFETCH_TILES 1
#define PREFETCH_PRIORITY 1000
/* A press that moves less than this is a click, not a drag. */
#define CLICK_SLOP 4.0
#define ANIMATION_MS 220

typedef struct
{
  gint64 column;
  gint64 row;
  int    level;
} TileKey;

typedef struct
{
  GdkTexture *texture;
  guint64     frame; /* the last tile build that drew it */
} TextureEntry;

/* What a tile load's callback needs, whether or not the view still lives. */
typedef struct
{
  GWeakRef      view;
  TileKey       key;
  guint64       slide_id;
  GCancellable *cancellable;
} TileLoad;

struct _HgSlideView
{
  GtkWidget parent_instance;

  HgSlide      *slide;
  HgTileCache  *cache;
  HgViewport   *viewport;
  GdkTexture   *thumbnail;
  GCancellable *thumbnail_cancellable;

  GHashTable    *textures; /* TileKey → TextureEntry: what the last build drew */
  GHashTable    *pending;  /* TileKey → GCancellable of the load in flight */
  GHashTable    *failed;   /* TileKey set: not asked again until retry */
  GskRenderNode *tiles_node;
  guint64        frame;
  guint          n_tile_builds;
  GPtrArray     *overlays;

  guint    update_id;
  int      level;
  gboolean loading;
  gboolean fit_on_resize;
  gboolean error_reported;

  /* Input */
  gboolean      dragging;
  double        drag_start_x;
  double        drag_start_y;
  double        drag_start_center_x;
  double        drag_start_center_y;
  double        pinch_start_zoom;
  double        pinch_anchor_x; /* slide point under the fingers */
  double        pinch_anchor_y;
  gboolean      pointer_inside;
  double        pointer_x;
  double        pointer_y;
  AdwAnimation *animation;
  double        animation_from[3]; /* centre x, centre y, zoom */
  double        animation_to[3];
};

G_DEFINE_FINAL_TYPE (HgSlideView, hg_slide_view, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_SLIDE,
  PROP_CACHE,
  PROP_VIEWPORT,
  PROP_THUMBNAIL,
  PROP_LEVEL,
  PROP_LOADING,
  N_PROPS
};

enum
{
  VIEW_CHANGED,
  POINTER_CHANGED,
  TILE_ERROR,
  CLICKED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

static void queue_update (HgSlideView *self);

/* Tile keys. */

static guint
tile_key_hash (gconstpointer data)
{
  const TileKey *key = data;
  guint64        h = (guint64) key->column * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  h ^= (guint64) key->row * G_GUINT64_CONSTANT (0xc2b2ae3d27d4eb4f);
  h ^= (guint64) key->level * G_GUINT64_CONSTANT (0x165667b19e3779f9);

  return (guint) (h ^ (h >> 32));
}

static gboolean
tile_key_equal (gconstpointer a,
                gconstpointer b)
{
  const TileKey *ka = a, *kb = b;

  return ka->column == kb->column && ka->row == kb->row && ka->level == kb->level;
}

static TileKey *
tile_key_dup (const TileKey *key)
{
  return g_memdup2 (key, sizeof *key);
}

static void
texture_entry_free (gpointer data)
{
  TextureEntry *entry = data;

  g_object_unref (entry->texture);
  g_free (entry);
}

static void
tile_load_free (TileLoad *load)
{
  g_weak_ref_clear (&load->view);
  g_object_unref (load->cancellable);
  g_free (load);
}

/* Geometry. */

static double
widget_scale (HgSlideView *self)
{
  return gtk_widget_get_scale_factor (GTK_WIDGET (self));
}

void
hg_slide_view_get_transform (HgSlideView *self,
                             double      *scale,
                             double      *offset_x,
                             double      *offset_y)
{
  double zoom;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  zoom = hg_viewport_get_zoom (self->viewport);
  if (scale != NULL)
    *scale = zoom;
  if (offset_x != NULL)
    *offset_x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0 -
                hg_viewport_get_center_x (self->viewport) * zoom;
  if (offset_y != NULL)
    *offset_y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0 -
                hg_viewport_get_center_y (self->viewport) * zoom;
}

void
hg_slide_view_widget_to_slide (HgSlideView *self,
                               double       widget_x,
                               double       widget_y,
                               double      *slide_x,
                               double      *slide_y)
{
  double scale, ox, oy;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  hg_slide_view_get_transform (self, &scale, &ox, &oy);
  if (slide_x != NULL)
    *slide_x = (widget_x - ox) / scale;
  if (slide_y != NULL)
    *slide_y = (widget_y - oy) / scale;
}

void
hg_slide_view_slide_to_widget (HgSlideView *self,
                               double       slide_x,
                               double       slide_y,
                               double      *widget_x,
                               double      *widget_y)
{
  double scale, ox, oy;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  hg_slide_view_get_transform (self, &scale, &ox, &oy);
  if (widget_x != NULL)
    *widget_x = slide_x * scale + ox;
  if (widget_y != NULL)
    *widget_y = slide_y * scale + oy;
}

void
hg_slide_view_get_visible_area (HgSlideView     *self,
                                graphene_rect_t *area)
{
  double x0, y0, x1, y1;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));
  g_return_if_fail (area != NULL);

  hg_slide_view_widget_to_slide (self, 0, 0, &x0, &y0);
  hg_slide_view_widget_to_slide (self, gtk_widget_get_width (GTK_WIDGET (self)),
                                 gtk_widget_get_height (GTK_WIDGET (self)), &x1, &y1);
  graphene_rect_init (area, x0, y0, x1 - x0, y1 - y0);
}

gboolean
hg_slide_view_get_pointer (HgSlideView *self,
                           double      *slide_x,
                           double      *slide_y)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), FALSE);

  if (!self->pointer_inside || self->slide == NULL)
    return FALSE;

  hg_slide_view_widget_to_slide (self, self->pointer_x, self->pointer_y, slide_x, slide_y);
  return TRUE;
}

static void
slide_size (HgSlideView *self,
            double      *width,
            double      *height)
{
  gint64 w = 1, h = 1;

  if (self->slide != NULL)
    hg_slide_get_level_size (self->slide, 0, &w, &h);

  *width = (double) w;
  *height = (double) h;
}

double
hg_slide_view_get_fit_zoom (HgSlideView *self)
{
  double width, height;
  int    view_width, view_height;

  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), 1);

  slide_size (self, &width, &height);
  view_width = MAX (1, gtk_widget_get_width (GTK_WIDGET (self)) - 2 * FIT_MARGIN);
  view_height = MAX (1, gtk_widget_get_height (GTK_WIDGET (self)) - 2 * FIT_MARGIN);

  return MIN (view_width / width, view_height / height);
}

/* Zooming out to a quarter of the fit is enough to see the slide's place
 * on the glass; zooming in stops at HG_SLIDE_VIEW_MAX_MAGNIFICATION. */
static void
update_zoom_range (HgSlideView *self)
{
  double fit = hg_slide_view_get_fit_zoom (self);
  double max = HG_SLIDE_VIEW_MAX_MAGNIFICATION / widget_scale (self);

  hg_viewport_set_zoom_range (self->viewport, MIN (fit / 4, max), MAX (max, fit));
}

/* Rendering. */

static void
invalidate_tiles (HgSlideView *self)
{
  g_clear_pointer (&self->tiles_node, gsk_render_node_unref);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static int
choose_level (HgSlideView *self)
{
  double zoom = hg_viewport_get_zoom (self->viewport) * widget_scale (self);

  return hg_slide_get_best_level (self->slide, 1.0 / zoom);
}

static void
tile_range (HgSlideView *self,
            int          level,
            int          margin,
            gint64      *c0,
            gint64      *r0,
            gint64      *c1,
            gint64      *r1)
{
  graphene_rect_t area;
  double          span = HG_SLIDE_TILE_SIZE * hg_slide_get_level_downsample (self->slide, level);
  gint64          columns, rows;

  hg_slide_view_get_visible_area (self, &area);
  hg_slide_get_tile_grid (self->slide, level, &columns, &rows);

  *c0 = CLAMP ((gint64) floor (area.origin.x / span) - margin, 0, columns - 1);
  *r0 = CLAMP ((gint64) floor (area.origin.y / span) - margin, 0, rows - 1);
  *c1 = CLAMP ((gint64) floor ((area.origin.x + area.size.width) / span) + margin, 0, columns - 1);
  *r1 = CLAMP ((gint64) floor ((area.origin.y + area.size.height) / span) + margin, 0, rows - 1);
}

/* The tile's rectangle in widget pixels, snapped to device pixels so that
 * neighbours meet without seams. */
static graphene_rect_t
tile_rect (HgSlideView   *self,
           const TileKey *key)
{
  double scale = widget_scale (self);
  double ds = hg_slide_get_level_downsample (self->slide, key->level);
  gint64 width, height;
  double x0, y0, x1, y1;

  hg_slide_get_level_size (self->slide, key->level, &width, &height);
  hg_slide_view_slide_to_widget (self, key->column * HG_SLIDE_TILE_SIZE * ds,
                                 key->row * HG_SLIDE_TILE_SIZE * ds, &x0, &y0);
  hg_slide_view_slide_to_widget (self, MIN ((key->column + 1) * HG_SLIDE_TILE_SIZE, width) * ds,
                                 MIN ((key->row + 1) * HG_SLIDE_TILE_SIZE, height) * ds, &x1, &y1);
  x0 = round (x0 * scale) / scale;
  y0 = round (y0 * scale) / scale;
  x1 = round (x1 * scale) / scale;
  y1 = round (y1 * scale) / scale;

  return GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0);
}

/* The texture of a decoded tile, from the last build or the cache; NULL
 * when it has not been decoded (or was evicted). */
static GdkTexture *
get_texture (HgSlideView   *self,
             const TileKey *key)
{
  TextureEntry *entry = g_hash_table_lookup (self->textures, key);

  if (entry == NULL && self->cache != NULL)
    {
      g_autoptr (HgImage) image = hg_tile_cache_lookup (self->cache, self->slide, key->level,
                                                        key->column, key->row);

      if (image == NULL)
        return NULL;

      entry = g_new0 (TextureEntry, 1);
      entry->texture = hg_texture_new_for_image (image);
      g_hash_table_insert (self->textures, tile_key_dup (key), entry);
    }

  if (entry == NULL)
    return NULL;

  entry->frame = self->frame;
  return entry->texture;
}

static void
append_tile (HgSlideView           *self,
             GtkSnapshot           *snapshot,
             GdkTexture            *texture,
             const graphene_rect_t *rect)
{
  /* Tiles are opaque: their empty glass is already white. */
  gtk_snapshot_append_texture (snapshot, texture, rect);
}

static void
append_thumbnail (HgSlideView *self,
                  GtkSnapshot *snapshot)
{
  double          width, height, x0, y0, x1, y1;
  graphene_rect_t slide_rect;

  slide_size (self, &width, &height);
  hg_slide_view_slide_to_widget (self, 0, 0, &x0, &y0);
  hg_slide_view_slide_to_widget (self, width, height, &x1, &y1);
  slide_rect = GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0);
  gtk_snapshot_append_texture (snapshot, self->thumbnail, &slide_rect);
}

/* Draws the cached tiles of level that overlap level-0 span [x0, x1) ×
 * [y0, y1); returns whether the one under (cx, cy) was among them. */
static gboolean
append_level (HgSlideView *self,
              GtkSnapshot *snapshot,
              int          level,
              double       x0,
              double       y0,
              double       x1,
              double       y1,
              double       cx,
              double       cy)
{
  double   span = HG_SLIDE_TILE_SIZE * hg_slide_get_level_downsample (self->slide, level);
  gint64   columns, rows;
  TileKey  centre = { (gint64) (cx / span), (gint64) (cy / span), level };
  gboolean found = FALSE;

  if (get_texture (self, &centre) == NULL)
    return FALSE;

  /* Levels whose downsample is not a power of two do not line up with the
   * one asked for: their neighbours fill the edges. */
  hg_slide_get_tile_grid (self->slide, level, &columns, &rows);
  for (gint64 r = MAX (0, (gint64) (y0 / span)); r < rows && r * span < y1; r++)
    for (gint64 c = MAX (0, (gint64) (x0 / span)); c < columns && c * span < x1; c++)
      {
        TileKey     key = { c, r, level };
        GdkTexture *texture = get_texture (self, &key);

        if (texture != NULL)
          {
            graphene_rect_t rect = tile_rect (self, &key);

            append_tile (self, snapshot, texture, &rect);
            found = TRUE;
          }
      }

  return found;
}

/* While a tile loads, the nearest coarser level that has it stands in,
 * else the finer one the user just left, over the thumbnail; a neutral
 * grey only before even the thumbnail is there. */
static void
append_fallback (HgSlideView           *self,
                 GtkSnapshot           *snapshot,
                 const TileKey         *key,
                 const graphene_rect_t *rect)
{
  int    n_levels = hg_slide_get_level_count (self->slide);
  double ds = hg_slide_get_level_downsample (self->slide, key->level);
  double x0 = key->column * HG_SLIDE_TILE_SIZE * ds, y0 = key->row * HG_SLIDE_TILE_SIZE * ds;
  double x1 = x0 + HG_SLIDE_TILE_SIZE * ds, y1 = y0 + HG_SLIDE_TILE_SIZE * ds;
  double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;

  gtk_snapshot_push_clip (snapshot, rect);

  if (self->thumbnail != NULL)
    append_thumbnail (self, snapshot);
  else
    gtk_snapshot_append_color (snapshot, &(GdkRGBA){ 0.88, 0.88, 0.89, 1 }, rect);

  for (int level = key->level + 1; level < n_levels; level++)
    if (append_level (self, snapshot, level, x0, y0, x1, y1, cx, cy))
      {
        gtk_snapshot_pop (snapshot);
        return;
      }

  if (key->level > 0)
    {
      /* Whatever finer tiles are there, even if not the centre one. */
      double fine_span = HG_SLIDE_TILE_SIZE * hg_slide_get_level_downsample (self->slide, key->level - 1);
      gint64 columns, rows;

      hg_slide_get_tile_grid (self->slide, key->level - 1, &columns, &rows);
      for (gint64 r = MAX (0, (gint64) (y0 / fine_span)); r < rows && r * fine_span < y1; r++)
        for (gint64 c = MAX (0, (gint64) (x0 / fine_span)); c < columns && c * fine_span < x1; c++)
          {
            TileKey     fine = { c, r, key->level - 1 };
            GdkTexture *texture = get_texture (self, &fine);

            if (texture != NULL)
              {
                graphene_rect_t fine_rect = tile_rect (self, &fine);

                append_tile (self, snapshot, texture, &fine_rect);
              }
          }
    }

  gtk_snapshot_pop (snapshot);
}

static GskRenderNode *
build_tiles_node (HgSlideView *self)
{
  g_autoptr (GtkSnapshot) snapshot = gtk_snapshot_new ();
  GHashTableIter  iter;
  gpointer        key, value;
  double          width, height;
  double          x0, y0, x1, y1;
  gint64          c0, r0, c1, r1;
  int             level = choose_level (self);
  graphene_rect_t slide_rect;
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (GTK_WIDGET (self)),
                                               gtk_widget_get_height (GTK_WIDGET (self)));

  self->frame++;
  self->n_tile_builds++;

  slide_size (self, &width, &height);
  hg_slide_view_slide_to_widget (self, 0, 0, &x0, &y0);
  hg_slide_view_slide_to_widget (self, width, height, &x1, &y1);
  slide_rect = GRAPHENE_RECT_INIT (x0, y0, x1 - x0, y1 - y0);

  gtk_snapshot_push_clip (snapshot, &bounds);

  /* A soft shadow lifts the glass off the background while it is small
   * enough for the blur to be cheap. */
  if (slide_rect.size.width < 4 * bounds.size.width && slide_rect.size.height < 4 * bounds.size.height)
    gtk_snapshot_append_outset_shadow (snapshot, &GSK_ROUNDED_RECT_INIT (x0, y0, x1 - x0, y1 - y0),
                                       &(GdkRGBA){ 0, 0, 0, 0.3 }, 0, 1, 1, 6);

  /* Each tile, or what best stands in for it (see append_fallback). The
   * tiles cover the whole slide, so nothing is drawn twice. */

  tile_range (self, level, 0, &c0, &r0, &c1, &r1);
  for (gint64 r = r0; r <= r1; r++)
    for (gint64 c = c0; c <= c1; c++)
      {
        TileKey         tile = { c, r, level };
        graphene_rect_t rect = tile_rect (self, &tile);
        GdkTexture     *texture = get_texture (self, &tile);

        if (texture != NULL)
          append_tile (self, snapshot, texture, &rect);
        else
          append_fallback (self, snapshot, &tile, &rect);
      }

  gtk_snapshot_pop (snapshot);

  /* Textures not drawn this time go; the cache still has their pixels. */
  g_hash_table_iter_init (&iter, self->textures);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((TextureEntry *) value)->frame != self->frame)
      g_hash_table_iter_remove (&iter);

  return gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
}

static void
hg_slide_view_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  HgSlideView *self = HG_SLIDE_VIEW (widget);

  if (self->slide == NULL || gtk_widget_get_width (widget) <= 0 || gtk_widget_get_height (widget) <= 0)
    return;

  if (self->tiles_node == NULL)
    self->tiles_node = build_tiles_node (self);
  if (self->tiles_node != NULL)
    gtk_snapshot_append_node (snapshot, self->tiles_node);

  for (guint i = 0; i < self->overlays->len; i++)
    {
      gtk_snapshot_save (snapshot);
      hg_slide_overlay_snapshot (g_ptr_array_index (self->overlays, i), snapshot, self);
      gtk_snapshot_restore (snapshot);
    }
}

/* Loading. */

static void
set_loading (HgSlideView *self,
             gboolean     loading)
{
  if (self->loading == loading)
    return;

  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
on_tile_loaded (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  TileLoad *load = user_data;
  g_autoptr (HgSlideView) self = g_weak_ref_get (&load->view);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgImage) tile = hg_tile_cache_load_finish (HG_TILE_CACHE (source), result, &error);

  if (self == NULL || self->slide == NULL || hg_slide_get_id (self->slide) != load->slide_id)
    {
      tile_load_free (load);
      return;
    }

  /* A newer request for the same tile owns the pending entry. */
  if (g_hash_table_lookup (self->pending, &load->key) == load->cancellable)
    g_hash_table_remove (self->pending, &load->key);

  if (tile == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_hash_table_add (self->failed, tile_key_dup (&load->key));
      /* Once per slide: the window tells the user; debug logs keep the rest. */
      if (!self->error_reported)
        {
          self->error_reported = TRUE;
          g_message ("%s", error->message);
          g_signal_emit (self, signals[TILE_ERROR], 0, error);
        }
      else
        g_debug ("%s", error->message);
    }

  if (tile != NULL)
    invalidate_tiles (self);
  queue_update (self);
  tile_load_free (load);
}

static void
request_tile (HgSlideView   *self,
              const TileKey *key,
              int            priority)
{
  TileLoad *load;

  if (g_hash_table_contains (self->pending, key) || g_hash_table_contains (self->failed, key))
    return;

  load = g_new0 (TileLoad, 1);
  g_weak_ref_init (&load->view, self);
  load->key = *key;
  load->slide_id = hg_slide_get_id (self->slide);
  load->cancellable = g_cancellable_new ();
  g_hash_table_insert (self->pending, tile_key_dup (key), g_object_ref (load->cancellable));

  hg_tile_cache_load_async (self->cache, self->slide, key->level, key->column, key->row, priority,
                            load->cancellable, on_tile_loaded, load);
}

static gboolean
tile_in_range (const TileKey *key,
               int            level,
               gint64         c0,
               gint64         r0,
               gint64         c1,
               gint64         r1)
{
  return key->level == level && key->column >= c0 && key->column <= c1 && key->row >= r0 &&
         key->row <= r1;
}

/* Asks for the tiles the view needs, nearest the centre first, and
 * cancels those it no longer needs. */
static void
update_tiles (HgSlideView *self)
{
  GHashTableIter iter;
  gpointer       key, value;
  gint64         c0, r0, c1, r1; /* visible */
  gint64         p0, q0, p1, q1; /* visible and prefetched */
  double         mid_c, mid_r;
  gboolean       loading = FALSE;
  int            level;

  if (self->slide == NULL || self->cache == NULL || !gtk_widget_get_realized (GTK_WIDGET (self)) ||
      gtk_widget_get_width (GTK_WIDGET (self)) <= 0)
    {
      set_loading (self, FALSE);
      return;
    }

  level = choose_level (self);
  if (level != self->level)
    {
      self->level = level;
      invalidate_tiles (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LEVEL]);
    }

  tile_range (self, level, 0, &c0, &r0, &c1, &r1);
  tile_range (self, level, PREFETCH_TILES, &p0, &q0, &p1, &q1);

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!tile_in_range (key, level, p0, q0, p1, q1))
      {
        g_cancellable_cancel (value);
        g_hash_table_iter_remove (&iter);
      }

  mid_c = (c0 + c1) / 2.0;
  mid_r = (r0 + r1) / 2.0;
  for (gint64 r = q0; r <= q1; r++)
    for (gint64 c = p0; c <= p1; c++)
      {
        TileKey  tile = { c, r, level };
        gboolean visible = tile_in_range (&tile, level, c0, r0, c1, r1);
        int      priority = (int) ((c - mid_c) * (c - mid_c) + (r - mid_r) * (r - mid_r));
        g_autoptr (HgImage) cached = NULL;

        if (g_hash_table_contains (self->textures, &tile))
          continue;
        cached = hg_tile_cache_lookup (self->cache, self->slide, level, c, r);
        if (cached != NULL)
          {
            if (visible)
              invalidate_tiles (self); /* it came in through another view */
            continue;
          }

        request_tile (self, &tile, visible ? priority : PREFETCH_PRIORITY + priority);
        if (visible && g_hash_table_contains (self->pending, &tile))
          loading = TRUE;
      }

  set_loading (self, loading);
}

/* Where the view is, in words, for screen readers. */
static void
update_description (HgSlideView *self)
{
  g_autofree char *text = NULL;

  if (self->slide != NULL)
    /* Translators: the slide point at the centre of the view, and the zoom */
    text = g_strdup_printf (_ ("Centred on x %'.0f, y %'.0f at %.0f %% zoom"),
                            hg_viewport_get_center_x (self->viewport),
                            hg_viewport_get_center_y (self->viewport),
                            hg_viewport_get_zoom (self->viewport) * 100);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  text != NULL ? text : "", -1);
}

static gboolean
update_idle (gpointer data)
{
  HgSlideView *self = data;

  self->update_id = 0;
  update_tiles (self);
  update_description (self);
  g_signal_emit (self, signals[VIEW_CHANGED], 0);

  return G_SOURCE_REMOVE;
}

/* Coalesces everything that moved the view into one update, outside
 * layout and drawing. */
static void
queue_update (HgSlideView *self)
{
  if (self->update_id == 0)
    self->update_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, update_idle, self, NULL);
}

static void
cancel_all (HgSlideView *self)
{
  GHashTableIter iter;
  gpointer       value;

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_cancellable_cancel (value);
  g_hash_table_remove_all (self->pending);
  g_hash_table_remove_all (self->failed);
  g_hash_table_remove_all (self->textures);
}

void
hg_slide_view_retry (HgSlideView *self)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  g_hash_table_remove_all (self->failed);
  self->error_reported = FALSE;
  queue_update (self);
}

guint
hg_slide_view_get_n_tile_builds (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), 0);

  return self->n_tile_builds;
}

/* The thumbnail: the first picture of the slide, and the minimap's. */

static void
thumbnail_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GError  *error = NULL;
  HgImage *image = hg_slide_read_thumbnail (task_data, 1024, &error);

  if (image == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, image, (GDestroyNotify) hg_image_unref);
}

static void
on_thumbnail_loaded (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  HgSlideView *self = HG_SLIDE_VIEW (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgImage) image = g_task_propagate_pointer (G_TASK (result), &error);
  g_autoptr (GdkTexture) texture = NULL;

  if (image == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("no thumbnail: %s", error->message);
      return;
    }

  if (g_task_get_task_data (G_TASK (result)) != self->slide)
    return;

  texture = hg_texture_new_for_image (image);
  g_set_object (&self->thumbnail, texture);
  invalidate_tiles (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
}

static void
load_thumbnail (HgSlideView *self)
{
  g_autoptr (GTask) task = NULL;

  g_cancellable_cancel (self->thumbnail_cancellable);
  g_clear_object (&self->thumbnail_cancellable);
  if (self->slide == NULL)
    return;

  self->thumbnail_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->thumbnail_cancellable, on_thumbnail_loaded, NULL);
  g_task_set_source_tag (task, load_thumbnail);
  g_task_set_task_data (task, g_object_ref (self->slide), g_object_unref);
  g_task_run_in_thread (task, thumbnail_thread);
}

/* Navigation. */

static void
stop_animation (HgSlideView *self)
{
  if (self->animation != NULL)
    adw_animation_skip (self->animation);
}

static void
on_viewport_changed (HgSlideView *self)
{
  invalidate_tiles (self);
  queue_update (self);
}

/* At t the view is between from and to, zooming geometrically about the
 * one slide point that stays put on screen, so the move looks like a
 * single camera motion. */
static void
animation_value (double       value,
                 HgSlideView *self)
{
  const double *a = self->animation_from, *b = self->animation_to;
  double        zoom = exp (log (a[2]) + (log (b[2]) - log (a[2])) * value);
  double        cx, cy;

  if (fabs (a[2] - b[2]) > 1e-9 * b[2])
    {
      /* Fixed point f: (f - a) a_zoom = (f - b) b_zoom, per axis. */
      double fx = (a[0] * a[2] - b[0] * b[2]) / (a[2] - b[2]);
      double fy = (a[1] * a[2] - b[1] * b[2]) / (a[2] - b[2]);

      cx = fx + (a[0] - fx) * a[2] / zoom;
      cy = fy + (a[1] - fy) * a[2] / zoom;
    }
  else
    {
      cx = a[0] + (b[0] - a[0]) * value;
      cy = a[1] + (b[1] - a[1]) * value;
    }

  hg_viewport_set (self->viewport, cx, cy, zoom);
}

static void
on_animation_done (HgSlideView *self)
{
  g_clear_object (&self->animation);
}

static void
animate_to (HgSlideView *self,
            double       center_x,
            double       center_y,
            double       zoom,
            gboolean     animate)
{
  AdwAnimationTarget *target;

  stop_animation (self);
  zoom = CLAMP (zoom, hg_viewport_get_min_zoom (self->viewport),
                hg_viewport_get_max_zoom (self->viewport));

  if (!animate || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    {
      hg_viewport_set (self->viewport, center_x, center_y, zoom);
      return;
    }

  self->animation_from[0] = hg_viewport_get_center_x (self->viewport);
  self->animation_from[1] = hg_viewport_get_center_y (self->viewport);
  self->animation_from[2] = hg_viewport_get_zoom (self->viewport);
  self->animation_to[0] = center_x;
  self->animation_to[1] = center_y;
  self->animation_to[2] = zoom;

  target = adw_callback_animation_target_new ((AdwAnimationTargetFunc) animation_value, self, NULL);
  self->animation = adw_timed_animation_new (GTK_WIDGET (self), 0, 1, ANIMATION_MS, target);
  adw_timed_animation_set_easing (ADW_TIMED_ANIMATION (self->animation), ADW_EASE_OUT_CUBIC);
  g_signal_connect_swapped (self->animation, "done", G_CALLBACK (on_animation_done), self);
  adw_animation_play (self->animation);
}

void
hg_slide_view_zoom_to (HgSlideView *self,
                       double       zoom,
                       gboolean     animate)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  self->fit_on_resize = FALSE;
  animate_to (self, hg_viewport_get_center_x (self->viewport),
              hg_viewport_get_center_y (self->viewport), zoom, animate);
}

static double
target_zoom (HgSlideView *self)
{
  return self->animation != NULL ? self->animation_to[2] : hg_viewport_get_zoom (self->viewport);
}

void
hg_slide_view_zoom_in (HgSlideView *self)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  hg_slide_view_zoom_to (self, target_zoom (self) * ZOOM_STEP, TRUE);
}

void
hg_slide_view_zoom_out (HgSlideView *self)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  hg_slide_view_zoom_to (self, target_zoom (self) / ZOOM_STEP, TRUE);
}

static void
fit (HgSlideView *self,
     gboolean     animate)
{
  double width, height;

  slide_size (self, &width, &height);
  update_zoom_range (self);
  animate_to (self, width / 2, height / 2, hg_slide_view_get_fit_zoom (self), animate);
}

void
hg_slide_view_zoom_fit (HgSlideView *self)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  self->fit_on_resize = TRUE;
  fit (self, TRUE);
}

void
hg_slide_view_zoom_original (HgSlideView *self)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  hg_slide_view_zoom_to (self, 1.0 / widget_scale (self), TRUE);
}

void
hg_slide_view_zoom_by (HgSlideView *self,
                       double       factor,
                       double       anchor_x,
                       double       anchor_y)
{
  double sx, sy, zoom;
  int    width, height;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  stop_animation (self);
  self->fit_on_resize = FALSE;

  width = gtk_widget_get_width (GTK_WIDGET (self));
  height = gtk_widget_get_height (GTK_WIDGET (self));
  hg_slide_view_widget_to_slide (self, anchor_x, anchor_y, &sx, &sy);
  zoom = CLAMP (hg_viewport_get_zoom (self->viewport) * factor,
                hg_viewport_get_min_zoom (self->viewport), hg_viewport_get_max_zoom (self->viewport));
  hg_viewport_set (self->viewport, sx - (anchor_x - width / 2.0) / zoom,
                   sy - (anchor_y - height / 2.0) / zoom, zoom);
}

void
hg_slide_view_pan_by (HgSlideView *self,
                      double       dx,
                      double       dy)
{
  double zoom;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  stop_animation (self);
  self->fit_on_resize = FALSE;
  zoom = hg_viewport_get_zoom (self->viewport);
  hg_viewport_set_center (self->viewport, hg_viewport_get_center_x (self->viewport) + dx / zoom,
                          hg_viewport_get_center_y (self->viewport) + dy / zoom);
}

void
hg_slide_view_center_on (HgSlideView *self,
                         double       slide_x,
                         double       slide_y,
                         gboolean     animate)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));

  self->fit_on_resize = FALSE;
  animate_to (self, slide_x, slide_y, target_zoom (self), animate);
}

/* Input. */

static void
on_drag_begin (GtkGestureDrag *gesture,
               double          x,
               double          y,
               HgSlideView    *self)
{
  if (self->slide == NULL)
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }

  stop_animation (self);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  self->dragging = FALSE;
  self->drag_start_x = x;
  self->drag_start_y = y;
  self->drag_start_center_x = hg_viewport_get_center_x (self->viewport);
  self->drag_start_center_y = hg_viewport_get_center_y (self->viewport);
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                HgSlideView    *self)
{
  double zoom = hg_viewport_get_zoom (self->viewport);

  if (!self->dragging && hypot (offset_x, offset_y) < CLICK_SLOP)
    return;

  self->dragging = TRUE;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
  self->fit_on_resize = FALSE;
  hg_viewport_set_center (self->viewport, self->drag_start_center_x - offset_x / zoom,
                          self->drag_start_center_y - offset_y / zoom);
}

static void
on_drag_end (GtkGestureDrag *gesture,
             double          offset_x,
             double          offset_y,
             HgSlideView    *self)
{
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grab");

  if (!self->dragging)
    {
      double sx, sy;

      hg_slide_view_widget_to_slide (self, self->drag_start_x, self->drag_start_y, &sx, &sy);
      g_signal_emit (self, signals[CLICKED], 0, sx, sy);
    }
}

static gboolean
on_scroll (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           HgSlideView              *self)
{
  GdkModifierType modifiers = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  gboolean        smooth = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_SURFACE;

  if (self->slide == NULL)
    return FALSE;

  if (modifiers & GDK_CONTROL_MASK)
    {
      /* Ctrl+scroll zooms about the pointer, like every image viewer. */
      double factor = exp (-dy * (smooth ? 0.01 : 0.25));

      hg_slide_view_zoom_by (self, factor,
                             self->pointer_inside ? self->pointer_x : gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
                             self->pointer_inside ? self->pointer_y : gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
      return TRUE;
    }

  if ((modifiers & GDK_SHIFT_MASK) && dx == 0)
    {
      dx = dy;
      dy = 0;
    }

  if (!smooth)
    {
      dx *= 64;
      dy *= 64;
    }
  hg_slide_view_pan_by (self, dx, dy);
  return TRUE;
}

static void
on_zoom_begin (GtkGesture       *gesture,
               GdkEventSequence *sequence,
               HgSlideView      *self)
{
  double x, y;

  stop_animation (self);
  self->pinch_start_zoom = hg_viewport_get_zoom (self->viewport);
  gtk_gesture_get_bounding_box_center (gesture, &x, &y);
  hg_slide_view_widget_to_slide (self, x, y, &self->pinch_anchor_x, &self->pinch_anchor_y);
}

static void
on_zoom_scale_changed (GtkGestureZoom *gesture,
                       double          scale,
                       HgSlideView    *self)
{
  double x, y, zoom;
  int    width = gtk_widget_get_width (GTK_WIDGET (self));
  int    height = gtk_widget_get_height (GTK_WIDGET (self));

  /* The slide point first between the fingers stays between them. */
  gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y);
  zoom = CLAMP (self->pinch_start_zoom * scale, hg_viewport_get_min_zoom (self->viewport),
                hg_viewport_get_max_zoom (self->viewport));
  self->fit_on_resize = FALSE;
  hg_viewport_set (self->viewport, self->pinch_anchor_x - (x - width / 2.0) / zoom,
                   self->pinch_anchor_y - (y - height / 2.0) / zoom, zoom);
}

static void
on_motion (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           HgSlideView              *self)
{
  self->pointer_inside = TRUE;
  self->pointer_x = x;
  self->pointer_y = y;
  g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

static void
on_leave (GtkEventControllerMotion *controller,
          HgSlideView              *self)
{
  self->pointer_inside = FALSE;
  g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

static void
pan_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  HgSlideView *self = HG_SLIDE_VIEW (widget);
  int          dx, dy;

  g_variant_get (parameter, "(ii)", &dx, &dy);
  /* Steps of a tenth of the view; the binding multiplies for Shift. */
  hg_slide_view_pan_by (self, dx * gtk_widget_get_width (widget) / 10.0,
                        dy * gtk_widget_get_height (widget) / 10.0);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HgSlideView *self = HG_SLIDE_VIEW (widget);

  if (self->slide == NULL)
    return;

  if (g_str_equal (action_name, "view.zoom-in"))
    hg_slide_view_zoom_in (self);
  else if (g_str_equal (action_name, "view.zoom-out"))
    hg_slide_view_zoom_out (self);
  else if (g_str_equal (action_name, "view.zoom-fit"))
    hg_slide_view_zoom_fit (self);
  else if (g_str_equal (action_name, "view.zoom-original"))
    hg_slide_view_zoom_original (self);
}

/* Properties. */

HgSlideView *
hg_slide_view_new (void)
{
  return g_object_new (HG_TYPE_SLIDE_VIEW, NULL);
}

HgSlide *
hg_slide_view_get_slide (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), NULL);

  return self->slide;
}

void
hg_slide_view_set_slide (HgSlideView *self,
                         HgSlide     *slide)
{
  double width, height;

  g_return_if_fail (HG_IS_SLIDE_VIEW (self));
  g_return_if_fail (slide == NULL || HG_IS_SLIDE (slide));

  if (self->slide == slide)
    return;

  stop_animation (self);
  cancel_all (self);
  g_clear_object (&self->thumbnail);
  g_set_object (&self->slide, slide);
  self->error_reported = FALSE;
  self->level = -1;

  if (slide != NULL)
    {
      slide_size (self, &width, &height);
      hg_viewport_set_bounds (self->viewport, width, height);
      self->fit_on_resize = TRUE;
      fit (self, FALSE);
      load_thumbnail (self);
    }

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), slide != NULL ? "grab" : NULL);
  invalidate_tiles (self);
  queue_update (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SLIDE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
}

HgTileCache *
hg_slide_view_get_cache (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), NULL);

  return self->cache;
}

void
hg_slide_view_set_cache (HgSlideView *self,
                         HgTileCache *cache)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));
  g_return_if_fail (cache == NULL || HG_IS_TILE_CACHE (cache));

  if (self->cache == cache)
    return;

  cancel_all (self);
  g_set_object (&self->cache, cache);
  invalidate_tiles (self);
  queue_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CACHE]);
}

HgViewport *
hg_slide_view_get_viewport (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), NULL);

  return self->viewport;
}

void
hg_slide_view_set_viewport (HgSlideView *self,
                            HgViewport  *viewport)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));
  g_return_if_fail (HG_IS_VIEWPORT (viewport));

  if (self->viewport == viewport)
    return;

  stop_animation (self);
  g_signal_handlers_disconnect_by_func (self->viewport, on_viewport_changed, self);
  g_set_object (&self->viewport, viewport);
  g_signal_connect_object (viewport, "changed", G_CALLBACK (on_viewport_changed), self,
                           G_CONNECT_SWAPPED);
  self->fit_on_resize = FALSE;
  if (self->slide != NULL)
    {
      double width, height;

      slide_size (self, &width, &height);
      hg_viewport_set_bounds (viewport, width, height);
      update_zoom_range (self);
    }
  on_viewport_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEWPORT]);
}

GdkTexture *
hg_slide_view_get_thumbnail (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), NULL);

  return self->thumbnail;
}

int
hg_slide_view_get_level (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), 0);

  /* From the zoom itself: ::notify::level may still be on its way. */
  return self->slide != NULL ? choose_level (self) : 0;
}

gboolean
hg_slide_view_get_loading (HgSlideView *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_VIEW (self), FALSE);

  return self->loading;
}

void
hg_slide_view_add_overlay (HgSlideView    *self,
                           HgSlideOverlay *overlay)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));
  g_return_if_fail (HG_IS_SLIDE_OVERLAY (overlay));

  g_ptr_array_add (self->overlays, g_object_ref (overlay));
  /* Only the overlay is redrawn: the tile layer stays cached. */
  g_signal_connect_object (overlay, "changed", G_CALLBACK (gtk_widget_queue_draw), self,
                           G_CONNECT_SWAPPED);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
hg_slide_view_remove_overlay (HgSlideView    *self,
                              HgSlideOverlay *overlay)
{
  g_return_if_fail (HG_IS_SLIDE_VIEW (self));
  g_return_if_fail (HG_IS_SLIDE_OVERLAY (overlay));

  g_signal_handlers_disconnect_by_data (overlay, self);
  if (g_ptr_array_remove (self->overlays, overlay))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* GtkWidget. */

static void
hg_slide_view_size_allocate (GtkWidget *widget,
                             int        width,
                             int        height,
                             int        baseline)
{
  HgSlideView *self = HG_SLIDE_VIEW (widget);

  if (self->slide != NULL)
    {
      update_zoom_range (self);
      if (self->fit_on_resize)
        fit (self, FALSE);
    }

  invalidate_tiles (self);
  queue_update (self);
}

static void
hg_slide_view_measure (GtkWidget     *widget,
                       GtkOrientation orientation,
                       int            for_size,
                       int           *minimum,
                       int           *natural,
                       int           *minimum_baseline,
                       int           *natural_baseline)
{
  *minimum = 64;
  *natural = 480;
}

static void
hg_slide_view_realize (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (hg_slide_view_parent_class)->realize (widget);

  queue_update (HG_SLIDE_VIEW (widget));
}

static void
on_scale_factor_changed (HgSlideView *self)
{
  if (self->slide != NULL)
    update_zoom_range (self);
  invalidate_tiles (self);
  queue_update (self);
}

static void
hg_slide_view_dispose (GObject *object)
{
  HgSlideView *self = HG_SLIDE_VIEW (object);

  g_clear_handle_id (&self->update_id, g_source_remove);
  if (self->animation != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->animation, self);
      adw_animation_reset (self->animation);
      g_clear_object (&self->animation);
    }
  g_cancellable_cancel (self->thumbnail_cancellable);
  g_clear_object (&self->thumbnail_cancellable);
  cancel_all (self);

  if (self->overlays != NULL)
    {
      for (guint i = 0; i < self->overlays->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->overlays, i), self);
      g_ptr_array_set_size (self->overlays, 0);
    }

  g_clear_pointer (&self->tiles_node, gsk_render_node_unref);
  g_clear_object (&self->thumbnail);
  g_clear_object (&self->slide);
  g_clear_object (&self->cache);
  g_clear_object (&self->viewport);

  G_OBJECT_CLASS (hg_slide_view_parent_class)->dispose (object);
}

static void
hg_slide_view_finalize (GObject *object)
{
  HgSlideView *self = HG_SLIDE_VIEW (object);

  g_hash_table_unref (self->textures);
  g_hash_table_unref (self->pending);
  g_hash_table_unref (self->failed);
  g_ptr_array_unref (self->overlays);

  G_OBJECT_CLASS (hg_slide_view_parent_class)->finalize (object);
}

static void
hg_slide_view_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  HgSlideView *self = HG_SLIDE_VIEW (object);

  switch (prop_id)
    {
    case PROP_SLIDE:
      g_value_set_object (value, self->slide);
      break;

    case PROP_CACHE:
      g_value_set_object (value, self->cache);
      break;

    case PROP_VIEWPORT:
      g_value_set_object (value, self->viewport);
      break;

    case PROP_THUMBNAIL:
      g_value_set_object (value, self->thumbnail);
      break;

    case PROP_LEVEL:
      g_value_set_int (value, hg_slide_view_get_level (self));
      break;

    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_slide_view_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  HgSlideView *self = HG_SLIDE_VIEW (object);

  switch (prop_id)
    {
    case PROP_SLIDE:
      hg_slide_view_set_slide (self, g_value_get_object (value));
      break;

    case PROP_CACHE:
      hg_slide_view_set_cache (self, g_value_get_object (value));
      break;

    case PROP_VIEWPORT:
      hg_slide_view_set_viewport (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
add_pan_binding (GtkWidgetClass *widget_class,
                 guint           keyval,
                 guint           keypad,
                 int             dx,
                 int             dy)
{
  gtk_widget_class_add_binding_action (widget_class, keyval, 0, "view.pan", "(ii)", dx, dy);
  gtk_widget_class_add_binding_action (widget_class, keypad, 0, "view.pan", "(ii)", dx, dy);
  gtk_widget_class_add_binding_action (widget_class, keyval, GDK_SHIFT_MASK, "view.pan", "(ii)",
                                       dx * 8, dy * 8);
}

static void
hg_slide_view_class_init (HgSlideViewClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_slide_view_dispose;
  object_class->finalize = hg_slide_view_finalize;
  object_class->get_property = hg_slide_view_get_property;
  object_class->set_property = hg_slide_view_set_property;

  widget_class->snapshot = hg_slide_view_snapshot;
  widget_class->size_allocate = hg_slide_view_size_allocate;
  widget_class->measure = hg_slide_view_measure;
  widget_class->realize = hg_slide_view_realize;

  properties[PROP_SLIDE] =
      g_param_spec_object ("slide", NULL, NULL, HG_TYPE_SLIDE,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CACHE] =
      g_param_spec_object ("cache", NULL, NULL, HG_TYPE_TILE_CACHE,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_VIEWPORT] =
      g_param_spec_object ("viewport", NULL, NULL, HG_TYPE_VIEWPORT,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_THUMBNAIL] =
      g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_TEXTURE,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LEVEL] =
      g_param_spec_int ("level", NULL, NULL, 0, G_MAXINT, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
      g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* After the viewport or the widget's size changed, once per batch. */
  signals[VIEW_CHANGED] = g_signal_new ("view-changed", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[POINTER_CHANGED] = g_signal_new ("pointer-changed", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The first tile of the slide that could not be read. */
  signals[TILE_ERROR] = g_signal_new ("tile-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /* A click (not a drag) on the slide, in slide coordinates. */
  signals[CLICKED] = g_signal_new ("clicked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);

  gtk_widget_class_install_action (widget_class, "view.pan", "(ii)", pan_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-original", NULL, zoom_action);

  add_pan_binding (widget_class, GDK_KEY_Left, GDK_KEY_KP_Left, -1, 0);
  add_pan_binding (widget_class, GDK_KEY_Right, GDK_KEY_KP_Right, 1, 0);
  add_pan_binding (widget_class, GDK_KEY_Up, GDK_KEY_KP_Up, 0, -1);
  add_pan_binding (widget_class, GDK_KEY_Down, GDK_KEY_KP_Down, 0, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "view.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "view.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "view.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "view.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_0, 0, "view.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, 0, "view.zoom-original", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_1, 0, "view.zoom-original", NULL);

  gtk_widget_class_set_css_name (widget_class, "slideview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hg_slide_view_init (HgSlideView *self)
{
  GtkGesture         *drag = gtk_gesture_drag_new ();
  GtkGesture         *zoom = gtk_gesture_zoom_new ();
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->textures = g_hash_table_new_full (tile_key_hash, tile_key_equal, g_free, texture_entry_free);
  self->pending = g_hash_table_new_full (tile_key_hash, tile_key_equal, g_free, g_object_unref);
  self->failed = g_hash_table_new_full (tile_key_hash, tile_key_equal, g_free, NULL);
  self->overlays = g_ptr_array_new_with_free_func (g_object_unref);
  self->level = -1;

  self->viewport = hg_viewport_new ();
  g_signal_connect_object (self->viewport, "changed", G_CALLBACK (on_viewport_changed), self,
                           G_CONNECT_SWAPPED);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (on_drag_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  g_signal_connect (zoom, "begin", G_CALLBACK (on_zoom_begin), self);
  g_signal_connect (zoom, "scale-changed", G_CALLBACK (on_zoom_scale_changed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (zoom));

  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  g_signal_connect (motion, "enter", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  g_signal_connect (self, "notify::scale-factor", G_CALLBACK (on_scale_factor_changed), NULL);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Slide"), -1);
}
