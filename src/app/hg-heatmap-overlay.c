/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgHeatmapOverlay"

#include "config.h"

#include <math.h>
#include <string.h>

#include "hg-heatmap-overlay.h"
#include "hg-slide-view.h"

struct _HgHeatmapOverlay
{
  GObject parent_instance;

  HgTiling  *tiling;
  float     *values;
  guint8    *flags;
  gsize      n_values;
  gboolean   show_values;
  double     opacity;
  HgColormap colormap;
  double     min, max;
  double     threshold;
  gboolean   show_truth;
  gssize     selected;

  /* Outlines in level-0 coordinates, recomputed when their input changes. */
  double *threshold_segments;
  gsize   n_threshold_segments;
  double *truth_segments;
  gsize   n_truth_segments;
};

static void hg_heatmap_overlay_iface_init (HgSlideOverlayInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (HgHeatmapOverlay, hg_heatmap_overlay, G_TYPE_OBJECT, G_IMPLEMENT_INTERFACE (HG_TYPE_SLIDE_OVERLAY, hg_heatmap_overlay_iface_init))

enum
{
  PROP_0,
  PROP_SHOW_VALUES,
  PROP_OPACITY,
  PROP_COLORMAP,
  PROP_SHOW_TRUTH,
  PROP_SELECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

HgHeatmapOverlay *
hg_heatmap_overlay_new (void)
{
  return g_object_new (HG_TYPE_HEATMAP_OVERLAY, NULL);
}

static void
changed (HgHeatmapOverlay *self)
{
  hg_slide_overlay_changed (HG_SLIDE_OVERLAY (self));
}

static void
update_threshold_outline (HgHeatmapOverlay *self)
{
  g_autofree guint8 *selected = NULL;

  g_clear_pointer (&self->threshold_segments, g_free);
  self->n_threshold_segments = 0;
  if (self->tiling == NULL || self->values == NULL || isnan (self->threshold))
    return;

  selected = g_new (guint8, MAX (self->n_values, 1));
  for (gsize i = 0; i < self->n_values; i++)
    selected[i] = self->values[i] >= self->threshold;
  self->threshold_segments = hg_tiling_get_outline (self->tiling, selected, &self->n_threshold_segments);
}

static void
update_truth_outline (HgHeatmapOverlay *self)
{
  g_autofree guint8 *selected = NULL;
  gsize              n;
  const HgTile      *tiles;

  g_clear_pointer (&self->truth_segments, g_free);
  self->n_truth_segments = 0;
  if (self->tiling == NULL || !hg_tiling_has_ground_truth (self->tiling))
    return;

  tiles = hg_tiling_get_tiles (self->tiling, &n);
  selected = g_new (guint8, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    selected[i] = tiles[i].truth == HG_SLIDE_LABEL_IDC;
  self->truth_segments = hg_tiling_get_outline (self->tiling, selected, &self->n_truth_segments);
}

HgTiling *
hg_heatmap_overlay_get_tiling (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), NULL);

  return self->tiling;
}

void
hg_heatmap_overlay_set_tiling (HgHeatmapOverlay *self,
                               HgTiling         *tiling)
{
  g_return_if_fail (HG_IS_HEATMAP_OVERLAY (self));

  if (self->tiling == tiling)
    return;

  g_clear_pointer (&self->tiling, hg_tiling_unref);
  if (tiling != NULL)
    self->tiling = hg_tiling_ref (tiling);
  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->flags, g_free);
  self->n_values = 0;
  self->selected = -1;
  update_threshold_outline (self);
  update_truth_outline (self);
  changed (self);
}

void
hg_heatmap_overlay_set_values (HgHeatmapOverlay *self,
                               const float      *values,
                               const guint8     *flags,
                               gsize             n)
{
  g_return_if_fail (HG_IS_HEATMAP_OVERLAY (self));
  g_return_if_fail (self->tiling != NULL);
  g_return_if_fail (n == hg_tiling_get_n_tiles (self->tiling));

  g_free (self->values);
  g_free (self->flags);
  self->values = g_memdup2 (values, MAX (n, 1) * sizeof (float));
  self->flags = flags != NULL ? g_memdup2 (flags, MAX (n, 1)) : NULL;
  self->n_values = n;
  update_threshold_outline (self);
  changed (self);
}

float
hg_heatmap_overlay_get_value (HgHeatmapOverlay *self,
                              gsize             index)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), NAN);

  return self->values != NULL && index < self->n_values ? self->values[index] : NAN;
}

#define DEFINE_SETTER(name, type, field, prop, extra)                     \
  void hg_heatmap_overlay_set_##name (HgHeatmapOverlay *self, type value) \
  {                                                                       \
    g_return_if_fail (HG_IS_HEATMAP_OVERLAY (self));                      \
    if (self->field == value)                                             \
      return;                                                             \
    self->field = value;                                                  \
    extra;                                                                \
    changed (self);                                                       \
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);         \
  }

gboolean
hg_heatmap_overlay_get_show_values (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), FALSE);
  return self->show_values;
}

DEFINE_SETTER (show_values, gboolean, show_values, PROP_SHOW_VALUES, (void) 0)

double
hg_heatmap_overlay_get_opacity (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), 0);
  return self->opacity;
}

DEFINE_SETTER (opacity, double, opacity, PROP_OPACITY, (void) 0)

HgColormap
hg_heatmap_overlay_get_colormap (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), HG_COLORMAP_VIRIDIS);
  return self->colormap;
}

DEFINE_SETTER (colormap, HgColormap, colormap, PROP_COLORMAP, (void) 0)

double
hg_heatmap_overlay_get_threshold (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), NAN);
  return self->threshold;
}

void
hg_heatmap_overlay_set_threshold (HgHeatmapOverlay *self,
                                  double            threshold)
{
  g_return_if_fail (HG_IS_HEATMAP_OVERLAY (self));

  if (self->threshold == threshold || (isnan (self->threshold) && isnan (threshold)))
    return;
  self->threshold = threshold;
  update_threshold_outline (self);
  changed (self);
}

gboolean
hg_heatmap_overlay_get_show_truth (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), FALSE);
  return self->show_truth;
}

DEFINE_SETTER (show_truth, gboolean, show_truth, PROP_SHOW_TRUTH, (void) 0)

gssize
hg_heatmap_overlay_get_selected (HgHeatmapOverlay *self)
{
  g_return_val_if_fail (HG_IS_HEATMAP_OVERLAY (self), -1);
  return self->selected;
}

DEFINE_SETTER (selected, gssize, selected, PROP_SELECTED, (void) 0)

void
hg_heatmap_overlay_set_range (HgHeatmapOverlay *self,
                              double            min,
                              double            max)
{
  g_return_if_fail (HG_IS_HEATMAP_OVERLAY (self));
  g_return_if_fail (max > min);

  self->min = min;
  self->max = max;
  changed (self);
}

/* Drawing. */

typedef struct
{
  HgHeatmapOverlay *self;
  double            scale, ox, oy;
  graphene_rect_t   area; /* visible, level-0 */
  double            device_scale;
} DrawContext;

static void
stroke_segments (cairo_t           *cr,
                 const DrawContext *d,
                 const double      *seg,
                 gsize              n,
                 double             r,
                 double             g,
                 double             b,
                 gboolean           dashed)
{
  if (n == 0)
    return;
  cairo_save (cr);
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_DEFAULT);
  for (gsize s = 0; s < n; s++)
    {
      cairo_move_to (cr, seg[4 * s] * d->scale + d->ox, seg[4 * s + 1] * d->scale + d->oy);
      cairo_line_to (cr, seg[4 * s + 2] * d->scale + d->ox, seg[4 * s + 3] * d->scale + d->oy);
    }
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_SQUARE);
  /* A dark halo under a light line reads on every colour of the map. */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
  cairo_set_line_width (cr, 4);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, r, g, b);
  cairo_set_line_width (cr, 2);
  if (dashed)
    cairo_set_dash (cr, (const double[]){ 6, 4 }, 2, 0);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw (cairo_t           *cr,
      const DrawContext *d)
{
  HgHeatmapOverlay *self = d->self;
  gsize             n;
  const HgTile     *tiles = hg_tiling_get_tiles (self->tiling, &n);
  double            span = self->max - self->min;

  /* Tiles meet exactly: no antialiasing seams between them. */
  cairo_set_antialias (cr, CAIRO_ANTIALIAS_NONE);
  if (self->show_values && self->values != NULL)
    for (gsize i = 0; i < n && i < self->n_values; i++)
      {
        const HgTile *t = &tiles[i];
        double        x0, y0, x1, y1;
        guint8        rgb[3];

        if (isnan (self->values[i]) || t->x + t->width < d->area.origin.x ||
            t->y + t->height < d->area.origin.y || t->x > d->area.origin.x + d->area.size.width ||
            t->y > d->area.origin.y + d->area.size.height)
          continue;

        x0 = round ((t->x * d->scale + d->ox) * d->device_scale) / d->device_scale;
        y0 = round ((t->y * d->scale + d->oy) * d->device_scale) / d->device_scale;
        x1 = round (((t->x + t->width) * d->scale + d->ox) * d->device_scale) / d->device_scale;
        y1 = round (((t->y + t->height) * d->scale + d->oy) * d->device_scale) / d->device_scale;
        hg_colormap_lookup (self->colormap, (self->values[i] - self->min) / span, rgb);
        cairo_set_source_rgba (cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, self->opacity);
        cairo_rectangle (cr, x0, y0, MAX (x1 - x0, 1.0 / d->device_scale), MAX (y1 - y0, 1.0 / d->device_scale));
        cairo_fill (cr);
      }

  if (self->show_truth)
    stroke_segments (cr, d, self->truth_segments, self->n_truth_segments, 0, 0.88, 1, TRUE);
  if (self->show_values)
    stroke_segments (cr, d, self->threshold_segments, self->n_threshold_segments, 1, 1, 1, FALSE);

  /* Marks: a dot in the tile, when there is room for one. */
  if (self->flags != NULL)
    {
      double radius = MIN (6, hg_tiling_get_n_tiles (self->tiling) > 0 ? tiles[0].width * d->scale / 4 : 0);

      cairo_set_antialias (cr, CAIRO_ANTIALIAS_DEFAULT);
      for (gsize i = 0; i < n && i < self->n_values && radius >= 1.5; i++)
        {
          double cx = (tiles[i].x + tiles[i].width / 2.0) * d->scale + d->ox;
          double cy = (tiles[i].y + tiles[i].height / 2.0) * d->scale + d->oy;

          if (self->flags[i] & HG_HEATMAP_OVERLAY_MARKED)
            {
              cairo_arc (cr, cx, cy, radius, 0, 2 * G_PI);
              cairo_set_source_rgba (cr, 0, 0, 0, 0.7);
              cairo_fill_preserve (cr);
              cairo_set_source_rgb (cr, 1, 1, 1);
              cairo_set_line_width (cr, 1.5);
              cairo_stroke (cr);
            }
          if (self->flags[i] & HG_HEATMAP_OVERLAY_FLAGGED)
            {
              guint32 c = HG_HEATMAP_OVERLAY_FLAGGED_COLOR;

              /* A ring with a dark halo, around where the dot goes. */
              cairo_new_sub_path (cr);
              cairo_arc (cr, cx, cy, radius + 2.5, 0, 2 * G_PI);
              cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
              cairo_set_line_width (cr, 3.5);
              cairo_stroke_preserve (cr);
              cairo_set_source_rgb (cr, ((c >> 16) & 0xff) / 255.0, ((c >> 8) & 0xff) / 255.0, (c & 0xff) / 255.0);
              cairo_set_line_width (cr, 2);
              cairo_stroke (cr);
            }
        }
    }

  if (self->selected >= 0 && (gsize) self->selected < n)
    {
      const HgTile *t = &tiles[self->selected];
      double        x0 = t->x * d->scale + d->ox, y0 = t->y * d->scale + d->oy;
      double        w = t->width * d->scale, h = t->height * d->scale;

      cairo_set_antialias (cr, CAIRO_ANTIALIAS_DEFAULT);
      cairo_rectangle (cr, x0 - 2, y0 - 2, w + 4, h + 4);
      cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
      cairo_set_line_width (cr, 5);
      cairo_stroke (cr);
      cairo_rectangle (cr, x0 - 2, y0 - 2, w + 4, h + 4);
      cairo_set_source_rgb (cr, 0.21, 0.52, 0.89); /* the accent blue */
      cairo_set_line_width (cr, 3);
      cairo_stroke (cr);
    }
}

static void
hg_heatmap_overlay_snapshot (HgSlideOverlay *overlay,
                             GtkSnapshot    *snapshot,
                             HgSlideView    *view)
{
  HgHeatmapOverlay *self = HG_HEATMAP_OVERLAY (overlay);
  int               width = gtk_widget_get_width (GTK_WIDGET (view));
  int               height = gtk_widget_get_height (GTK_WIDGET (view));
  DrawContext       d = { .self = self };
  cairo_t          *cr;

  if (self->tiling == NULL || width <= 0 || height <= 0 ||
      (!self->show_values && !self->show_truth && self->selected < 0 && self->flags == NULL))
    return;

  hg_slide_view_get_transform (view, &d.scale, &d.ox, &d.oy);
  hg_slide_view_get_visible_area (view, &d.area);
  d.device_scale = gtk_widget_get_scale_factor (GTK_WIDGET (view));

  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw (cr, &d);
  cairo_destroy (cr);
}

static void
hg_heatmap_overlay_iface_init (HgSlideOverlayInterface *iface)
{
  iface->snapshot = hg_heatmap_overlay_snapshot;
}

/* GObject. */

static void
hg_heatmap_overlay_finalize (GObject *object)
{
  HgHeatmapOverlay *self = HG_HEATMAP_OVERLAY (object);

  g_clear_pointer (&self->tiling, hg_tiling_unref);
  g_free (self->values);
  g_free (self->flags);
  g_free (self->threshold_segments);
  g_free (self->truth_segments);

  G_OBJECT_CLASS (hg_heatmap_overlay_parent_class)->finalize (object);
}

static void
hg_heatmap_overlay_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  HgHeatmapOverlay *self = HG_HEATMAP_OVERLAY (object);

  switch (prop_id)
    {
    case PROP_SHOW_VALUES:
      g_value_set_boolean (value, self->show_values);
      break;
    case PROP_OPACITY:
      g_value_set_double (value, self->opacity);
      break;
    case PROP_COLORMAP:
      g_value_set_int (value, self->colormap);
      break;
    case PROP_SHOW_TRUTH:
      g_value_set_boolean (value, self->show_truth);
      break;
    case PROP_SELECTED:
      g_value_set_int64 (value, self->selected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_heatmap_overlay_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  HgHeatmapOverlay *self = HG_HEATMAP_OVERLAY (object);

  switch (prop_id)
    {
    case PROP_SHOW_VALUES:
      hg_heatmap_overlay_set_show_values (self, g_value_get_boolean (value));
      break;
    case PROP_OPACITY:
      hg_heatmap_overlay_set_opacity (self, g_value_get_double (value));
      break;
    case PROP_COLORMAP:
      hg_heatmap_overlay_set_colormap (self, (HgColormap) g_value_get_int (value));
      break;
    case PROP_SHOW_TRUTH:
      hg_heatmap_overlay_set_show_truth (self, g_value_get_boolean (value));
      break;
    case PROP_SELECTED:
      hg_heatmap_overlay_set_selected (self, (gssize) g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_heatmap_overlay_class_init (HgHeatmapOverlayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hg_heatmap_overlay_finalize;
  object_class->get_property = hg_heatmap_overlay_get_property;
  object_class->set_property = hg_heatmap_overlay_set_property;

  properties[PROP_SHOW_VALUES] =
      g_param_spec_boolean ("show-values", NULL, NULL, TRUE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OPACITY] =
      g_param_spec_double ("opacity", NULL, NULL, 0, 1, 0.6,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COLORMAP] =
      g_param_spec_int ("colormap", NULL, NULL, 0, HG_N_COLORMAPS - 1, HG_COLORMAP_VIRIDIS,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_TRUTH] =
      g_param_spec_boolean ("show-truth", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED] =
      g_param_spec_int64 ("selected", NULL, NULL, -1, G_MAXINT64, -1,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
hg_heatmap_overlay_init (HgHeatmapOverlay *self)
{
  self->show_values = TRUE;
  self->opacity = 0.6;
  self->colormap = HG_COLORMAP_VIRIDIS;
  self->min = 0;
  self->max = 1;
  self->threshold = NAN;
  self->selected = -1;
}
