/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgHeatmapLegend"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hg-heatmap-legend.h"

#define PAD 10
#define BAR_WIDTH 200
#define BAR_HEIGHT 12
#define TICK 4
#define GAP 6
#define KEY_WIDTH 22
#define N_TICKS 5

struct _HgHeatmapLegend
{
  GtkWidget parent_instance;

  HgColormap   colormap;
  double       min, max;
  double       threshold;
  char        *truth_label;
  PangoLayout *title;
  PangoLayout *ticks[N_TICKS];
  PangoLayout *threshold_text;
  PangoLayout *truth_text;
};

G_DEFINE_FINAL_TYPE (HgHeatmapLegend, hg_heatmap_legend, GTK_TYPE_WIDGET)

GtkWidget *
hg_heatmap_legend_new (void)
{
  return g_object_new (HG_TYPE_HEATMAP_LEGEND, NULL);
}

static void
update_texts (HgHeatmapLegend *self)
{
  g_autofree char *spoken = NULL;

  for (int i = 0; i < N_TICKS; i++)
    {
      char text[32];

      g_snprintf (text, sizeof text, "%g", self->min + (self->max - self->min) * i / (N_TICKS - 1));
      pango_layout_set_text (self->ticks[i], text, -1);
    }

  if (!isnan (self->threshold))
    {
      /* Translators: the outline of the tiles at or above a probability */
      g_autofree char *text = g_strdup_printf (_ ("At least %.2f"), self->threshold);

      pango_layout_set_text (self->threshold_text, text, -1);
    }
  if (self->truth_label != NULL)
    {
      /* Translators: %s is a class ("IDC"); the outline of where it truly is */
      g_autofree char *text = g_strdup_printf (_ ("%s (ground truth)"), self->truth_label);

      pango_layout_set_text (self->truth_text, text, -1);
    }

  /* Translators: the legend, for screen readers: title, then the scale */
  spoken = g_strdup_printf (_ ("%s, from %g to %g"), pango_layout_get_text (self->title), self->min, self->max);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
hg_heatmap_legend_set_title (HgHeatmapLegend *self,
                             const char      *title)
{
  g_return_if_fail (HG_IS_HEATMAP_LEGEND (self));

  pango_layout_set_text (self->title, title != NULL ? title : "", -1);
  update_texts (self);
}

void
hg_heatmap_legend_set_colormap (HgHeatmapLegend *self,
                                HgColormap       colormap)
{
  g_return_if_fail (HG_IS_HEATMAP_LEGEND (self));

  self->colormap = colormap;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
hg_heatmap_legend_set_range (HgHeatmapLegend *self,
                             double           min,
                             double           max)
{
  g_return_if_fail (HG_IS_HEATMAP_LEGEND (self));
  g_return_if_fail (max > min);

  self->min = min;
  self->max = max;
  update_texts (self);
}

void
hg_heatmap_legend_set_threshold (HgHeatmapLegend *self,
                                 double           threshold)
{
  g_return_if_fail (HG_IS_HEATMAP_LEGEND (self));

  self->threshold = threshold;
  update_texts (self);
}

void
hg_heatmap_legend_set_truth_label (HgHeatmapLegend *self,
                                   const char      *label)
{
  g_return_if_fail (HG_IS_HEATMAP_LEGEND (self));

  g_free (self->truth_label);
  self->truth_label = g_strdup (label);
  update_texts (self);
}

static int
text_height (PangoLayout *layout)
{
  int h;

  pango_layout_get_pixel_size (layout, NULL, &h);
  return h;
}

static int
key_rows (HgHeatmapLegend *self)
{
  return !isnan (self->threshold) + (self->truth_label != NULL);
}

static void
hg_heatmap_legend_measure (GtkWidget     *widget,
                           GtkOrientation orientation,
                           int            for_size,
                           int           *minimum,
                           int           *natural,
                           int           *minimum_baseline,
                           int           *natural_baseline)
{
  HgHeatmapLegend *self = HG_HEATMAP_LEGEND (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = BAR_WIDTH + 2 * PAD;
  else
    *minimum = *natural = PAD + text_height (self->title) + GAP + BAR_HEIGHT + TICK +
                          text_height (self->ticks[0]) +
                          key_rows (self) * (GAP + text_height (self->ticks[0])) + PAD;
}

static void
append_layout (GtkSnapshot   *snapshot,
               PangoLayout   *layout,
               float          x,
               float          y,
               const GdkRGBA *color)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
hg_heatmap_legend_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  HgHeatmapLegend *self = HG_HEATMAP_LEGEND (widget);
  int              width = gtk_widget_get_width (widget);
  int              height = gtk_widget_get_height (widget);
  GdkRGBA          background = { 0, 0, 0, 0.6 };
  GdkRGBA          white = { 1, 1, 1, 1 };
  GdkRGBA          dim = { 1, 1, 1, 0.8 };
  GdkRGBA          halo = { 0, 0, 0, 0.6 };
  float            x = PAD, y = PAD;
  int              tick_h = text_height (self->ticks[0]);

  gtk_snapshot_push_rounded_clip (snapshot, &(GskRoundedRect){
                                                .bounds = GRAPHENE_RECT_INIT (0, 0, width, height),
                                                .corner = { { 6, 6 }, { 6, 6 }, { 6, 6 }, { 6, 6 } },
                                            });
  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gtk_snapshot_pop (snapshot);

  append_layout (snapshot, self->title, x, y, &white);
  y += text_height (self->title) + GAP;

  /* The colour bar, one column per pixel. */
  for (int i = 0; i < BAR_WIDTH; i++)
    {
      guint8  rgb[3];
      GdkRGBA c;

      hg_colormap_lookup (self->colormap, (i + 0.5) / BAR_WIDTH, rgb);
      c = (GdkRGBA){ rgb[0] / 255.0f, rgb[1] / 255.0f, rgb[2] / 255.0f, 1 };
      gtk_snapshot_append_color (snapshot, &c, &GRAPHENE_RECT_INIT (x + i, y, 1, BAR_HEIGHT));
    }
  if (!isnan (self->threshold))
    {
      float tx = x + (float) (BAR_WIDTH * CLAMP ((self->threshold - self->min) / (self->max - self->min), 0, 1));

      gtk_snapshot_append_color (snapshot, &halo, &GRAPHENE_RECT_INIT (tx - 2, y - 3, 4, BAR_HEIGHT + 6));
      gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (tx - 1, y - 2, 2, BAR_HEIGHT + 4));
    }
  y += BAR_HEIGHT;

  for (int i = 0; i < N_TICKS; i++)
    {
      float tx = x + (float) BAR_WIDTH * i / (N_TICKS - 1);
      int   tw;

      pango_layout_get_pixel_size (self->ticks[i], &tw, NULL);
      gtk_snapshot_append_color (snapshot, &dim, &GRAPHENE_RECT_INIT (tx - (i == N_TICKS - 1), y, 1, TICK));
      append_layout (snapshot, self->ticks[i], CLAMP (tx - tw / 2.0f, 0, width - tw - 2), y + TICK, &dim);
    }
  y += TICK + tick_h;

  /* The key to the outlines, drawn as they look on the slide. */
  if (!isnan (self->threshold))
    {
      float ky = y + GAP + tick_h / 2.0f;

      gtk_snapshot_append_color (snapshot, &halo, &GRAPHENE_RECT_INIT (x, ky - 2, KEY_WIDTH, 4));
      gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (x + 1, ky - 1, KEY_WIDTH - 2, 2));
      append_layout (snapshot, self->threshold_text, x + KEY_WIDTH + 8, y + GAP, &dim);
      y += GAP + tick_h;
    }
  if (self->truth_label != NULL)
    {
      float   ky = y + GAP + tick_h / 2.0f;
      GdkRGBA cyan = { 0, 0.88f, 1, 1 };

      for (int dash = 0; dash < KEY_WIDTH; dash += 8)
        gtk_snapshot_append_color (snapshot, &cyan, &GRAPHENE_RECT_INIT (x + dash, ky - 1, MIN (5, KEY_WIDTH - dash), 2));
      append_layout (snapshot, self->truth_text, x + KEY_WIDTH + 8, y + GAP, &dim);
    }
}

static void
hg_heatmap_legend_dispose (GObject *object)
{
  HgHeatmapLegend *self = HG_HEATMAP_LEGEND (object);

  g_clear_object (&self->title);
  for (int i = 0; i < N_TICKS; i++)
    g_clear_object (&self->ticks[i]);
  g_clear_object (&self->threshold_text);
  g_clear_object (&self->truth_text);
  g_clear_pointer (&self->truth_label, g_free);

  G_OBJECT_CLASS (hg_heatmap_legend_parent_class)->dispose (object);
}

static void
hg_heatmap_legend_class_init (HgHeatmapLegendClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_heatmap_legend_dispose;
  widget_class->measure = hg_heatmap_legend_measure;
  widget_class->snapshot = hg_heatmap_legend_snapshot;

  gtk_widget_class_set_css_name (widget_class, "heatmaplegend");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hg_heatmap_legend_init (HgHeatmapLegend *self)
{
  PangoAttrList *bold = pango_attr_list_new ();
  PangoAttrList *small = pango_attr_list_new ();

  pango_attr_list_insert (bold, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
  pango_attr_list_insert (small, pango_attr_scale_new (0.85));
  pango_attr_list_insert (small, pango_attr_font_features_new ("tnum=1"));

  self->min = 0;
  self->max = 1;
  self->threshold = NAN;
  self->title = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  pango_layout_set_attributes (self->title, bold);
  for (int i = 0; i < N_TICKS; i++)
    {
      self->ticks[i] = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
      pango_layout_set_attributes (self->ticks[i], small);
    }
  self->threshold_text = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  pango_layout_set_attributes (self->threshold_text, small);
  self->truth_text = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  pango_layout_set_attributes (self->truth_text, small);
  pango_attr_list_unref (bold);
  pango_attr_list_unref (small);

  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
  update_texts (self);
}
