/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <cairo.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-heatmap.h"

/* Class colours of the GeoJSON export, as QuPath shows them: red for the
 * positive class, blue for the others. */
static const guint8 positive_rgb[3] = { 220, 50, 47 };
static const guint8 other_rgb[3] = { 38, 139, 210 };

static void
append_double (GString *out,
               double   value,
               int      decimals)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];

  g_snprintf (format, sizeof format, "%%.%df", decimals);
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, format, value));
}

static void
append_json_string (GString    *out,
                    const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static gboolean
save_text (char       *text,
           const char *path,
           GError    **error)
{
  g_autoptr (GError) local = NULL;
  gboolean ok = g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0666, &local);

  g_free (text);
  if (!ok)
    g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("could not write %s: %s"), path, local->message);
  return ok;
}

char *
hg_heatmap_to_csv (HgHeatmap *heatmap)
{
  HgTiling     *tiling = hg_heatmap_get_tiling (heatmap);
  gsize         n;
  const HgTile *tiles = hg_tiling_get_tiles (tiling, &n);
  GString      *out = g_string_new ("x,y,width,height,probability,label,ground_truth\n");
  int           positive = hg_heatmap_get_positive_class (heatmap);

  for (gsize i = 0; i < n; i++)
    {
      float score = hg_heatmap_get_score (heatmap, i);
      int   label = hg_heatmap_get_label (heatmap, i);

      g_string_append_printf (out, "%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%d,%d,", tiles[i].x,
                              tiles[i].y, tiles[i].width, tiles[i].height);
      if (isnan (score))
        g_string_append (out, ",,");
      else
        {
          append_double (out, score, 6);
          g_string_append_printf (out, ",%d,", label);
        }
      if (tiles[i].truth != HG_SLIDE_LABEL_NONE)
        /* Binary truth, positive = the scored class. */
        g_string_append_printf (out, "%d", tiles[i].truth == HG_SLIDE_LABEL_IDC ? positive : (positive == 0 ? 1 : 0));
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

gboolean
hg_heatmap_save_csv (HgHeatmap  *heatmap,
                     const char *path,
                     GError    **error)
{
  return save_text (hg_heatmap_to_csv (heatmap), path, error);
}

char *
hg_heatmap_to_geojson (HgHeatmap *heatmap)
{
  HgTiling         *tiling = hg_heatmap_get_tiling (heatmap);
  gsize             n;
  const HgTile     *tiles = hg_tiling_get_tiles (tiling, &n);
  int               k = hg_heatmap_get_n_classes (heatmap);
  int               positive = hg_heatmap_get_positive_class (heatmap);
  g_autofree float *p = g_new (float, k);
  GString          *out = g_string_new ("{\"type\":\"FeatureCollection\",\"features\":[");
  gboolean          first = TRUE;

  for (gsize i = 0; i < n; i++)
    {
      const HgTile *t = &tiles[i];
      int           label;
      const guint8 *rgb;
      gint64        x0 = t->x, y0 = t->y, x1 = t->x + t->width, y1 = t->y + t->height;

      if (!hg_heatmap_get_probabilities (heatmap, i, p))
        continue;
      label = 0;
      for (int c = 1; c < k; c++)
        if (p[c] > p[label])
          label = c;
      rgb = label == positive ? positive_rgb : other_rgb;

      g_string_append (out, first ? "\n" : ",\n");
      first = FALSE;
      /* A closed ring, counter-clockwise in image coordinates (y down). */
      g_string_append_printf (out,
                              "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                              "[[[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "],[%" G_GINT64_FORMAT
                              ",%" G_GINT64_FORMAT "],[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                              "],[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT "],[%" G_GINT64_FORMAT
                              ",%" G_GINT64_FORMAT "]]]},",
                              x0, y0, x0, y1, x1, y1, x1, y0, x0, y0);
      g_string_append (out, "\"properties\":{\"objectType\":\"detection\",\"classification\":{\"name\":");
      append_json_string (out, hg_heatmap_get_class_name (heatmap, label));
      g_string_append_printf (out, ",\"color\":[%d,%d,%d]},\"measurements\":{", rgb[0], rgb[1], rgb[2]);
      for (int c = 0; c < k; c++)
        {
          g_autofree char *name = g_strdup_printf ("Probability %s", hg_heatmap_get_class_name (heatmap, c));

          if (c > 0)
            g_string_append_c (out, ',');
          append_json_string (out, name);
          g_string_append_c (out, ':');
          append_double (out, p[c], 6);
        }
      if (t->truth != HG_SLIDE_LABEL_NONE)
        {
          g_autofree char *name = g_strdup_printf ("Ground truth %s", hg_heatmap_get_class_name (heatmap, positive));

          g_string_append_c (out, ',');
          append_json_string (out, name);
          g_string_append_printf (out, ":%d", t->truth == HG_SLIDE_LABEL_IDC);
        }
      g_string_append (out, "}}}");
    }
  g_string_append (out, "\n]}\n");
  return g_string_free (out, FALSE);
}

gboolean
hg_heatmap_save_geojson (HgHeatmap  *heatmap,
                         const char *path,
                         GError    **error)
{
  return save_text (hg_heatmap_to_geojson (heatmap), path, error);
}

/* ---- the picture ------------------------------------------------------------ */

#define LEGEND_WIDTH 210
#define LEGEND_MIN_HEIGHT 300
#define MARGIN 16

void
hg_heatmap_style_init (HgHeatmapStyle *style)
{
  g_return_if_fail (style != NULL);

  *style = (HgHeatmapStyle){
    .colormap = HG_COLORMAP_VIRIDIS,
    .opacity = 0.6,
    .threshold = NAN,
    .show_truth = FALSE,
    .legend = TRUE,
  };
}

static void
set_rgb (cairo_t *cr,
         guint32  rgb,
         double   alpha)
{
  cairo_set_source_rgba (cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                         (rgb & 0xff) / 255.0, alpha);
}

static void
stroke_outline (cairo_t  *cr,
                HgTiling *tiling,
                guint8   *selected,
                double    scale,
                guint32   rgb,
                gboolean  dashed)
{
  gsize              n_segments;
  g_autofree double *seg = hg_tiling_get_outline (tiling, selected, &n_segments);

  if (n_segments == 0)
    return;
  cairo_save (cr);
  for (gsize s = 0; s < n_segments; s++)
    {
      cairo_move_to (cr, seg[4 * s] * scale, seg[4 * s + 1] * scale);
      cairo_line_to (cr, seg[4 * s + 2] * scale, seg[4 * s + 3] * scale);
    }
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_SQUARE);
  /* A dark halo keeps the line visible on light and dark colours alike. */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
  cairo_set_line_width (cr, 3.5);
  cairo_stroke_preserve (cr);
  set_rgb (cr, rgb, 1);
  cairo_set_line_width (cr, 1.5);
  if (dashed)
    cairo_set_dash (cr, (const double[]){ 4, 3 }, 2, 0);
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_text (cairo_t    *cr,
           double      x,
           double      y,
           double      size,
           gboolean    bold,
           const char *text)
{
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                          bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
  cairo_move_to (cr, x, y);
  cairo_show_text (cr, text);
}

static void
draw_legend (cairo_t              *cr,
             HgHeatmap            *heatmap,
             const HgHeatmapStyle *style,
             double                x,
             double                height)
{
  HgTiling        *tiling = hg_heatmap_get_tiling (heatmap);
  const char      *positive = hg_heatmap_get_class_name (heatmap, hg_heatmap_get_positive_class (heatmap));
  g_autofree char *title = g_strdup_printf ("P(%s)", positive);
  double           bar_x = x + MARGIN, bar_y = MARGIN + 28, bar_w = 22;
  double           bar_h = MAX (120, height - bar_y - 150);
  double           y;
  HgMetrics        metrics;
  const char      *model = hg_heatmap_get_model_name (heatmap);

  cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
  draw_text (cr, bar_x, MARGIN + 12, 15, TRUE, title);

  /* The scale: 1 at the top. */
  for (int i = 0; i < (int) bar_h; i++)
    {
      set_rgb (cr, hg_colormap_lookup_rgb (style->colormap, 1.0 - (i + 0.5) / bar_h), 1);
      cairo_rectangle (cr, bar_x, bar_y + i, bar_w, 1);
      cairo_fill (cr);
    }
  cairo_set_source_rgba (cr, 0, 0, 0, 0.4);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, bar_x + 0.5, bar_y + 0.5, bar_w - 1, bar_h - 1);
  cairo_stroke (cr);

  for (int t = 0; t <= 4; t++)
    {
      double ty = bar_y + bar_h * (1 - t / 4.0);
      char   label[16];

      g_snprintf (label, sizeof label, "%.2f", t / 4.0);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      cairo_move_to (cr, bar_x + bar_w, ty);
      cairo_line_to (cr, bar_x + bar_w + 5, ty);
      cairo_stroke (cr);
      draw_text (cr, bar_x + bar_w + 9, ty + 4.5, 12, FALSE, label);
    }

  if (!isnan (style->threshold))
    {
      double ty = bar_y + bar_h * (1 - CLAMP (style->threshold, 0, 1));

      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_set_line_width (cr, 2);
      cairo_move_to (cr, bar_x - 4, ty);
      cairo_line_to (cr, bar_x + bar_w + 4, ty);
      cairo_stroke (cr);
    }

  y = bar_y + bar_h + 26;
  cairo_set_line_width (cr, 1);
  if (!isnan (style->threshold))
    {
      g_autofree char *text = g_strdup_printf ("P ≥ %.2f", style->threshold);

      cairo_set_source_rgba (cr, 0, 0, 0, 0.55);
      cairo_rectangle (cr, bar_x, y - 10, 22, 10);
      cairo_fill (cr);
      set_rgb (cr, HG_HEATMAP_THRESHOLD_COLOR, 1);
      cairo_rectangle (cr, bar_x + 1.5, y - 8.5, 19, 7);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      draw_text (cr, bar_x + 30, y, 12, FALSE, text);
      y += 20;
    }
  if (style->show_truth && hg_tiling_has_ground_truth (tiling))
    {
      g_autofree char *text = g_strdup_printf (_ ("%s (ground truth)"), positive);

      set_rgb (cr, HG_HEATMAP_TRUTH_COLOR, 1);
      cairo_set_line_width (cr, 2);
      cairo_set_dash (cr, (const double[]){ 4, 3 }, 2, 0);
      cairo_rectangle (cr, bar_x + 1, y - 9, 20, 8);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      cairo_set_source_rgb (cr, 0.2, 0.2, 0.2);
      draw_text (cr, bar_x + 30, y, 12, FALSE, text);
      y += 20;
    }

  cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
  if (hg_heatmap_compute_metrics (heatmap, &metrics))
    {
      char text[64];

      y += 6;
      g_snprintf (text, sizeof text, _ ("Accuracy %.3f"), metrics.accuracy);
      draw_text (cr, bar_x, y, 12, FALSE, text);
      /* Translators: balanced accuracy, shortened to fit the legend */
      g_snprintf (text, sizeof text, _ ("Balanced acc. %.3f"), metrics.balanced_accuracy);
      draw_text (cr, bar_x, y + 16, 12, FALSE, text);
      if (!isnan (metrics.auc))
        {
          g_snprintf (text, sizeof text, "AUC %.3f", metrics.auc);
          draw_text (cr, bar_x, y + 32, 12, FALSE, text);
        }
      y += 48;
    }
  if (model != NULL)
    draw_text (cr, bar_x, MAX (y + 6, height - MARGIN), 11, FALSE, model);
}

HgImage *
hg_heatmap_render (HgHeatmap            *heatmap,
                   const HgHeatmapStyle *style,
                   int                   max_size,
                   GError              **error)
{
  HgTiling      *tiling;
  HgSlide       *slide;
  HgHeatmapStyle defaults;
  g_autoptr (HgImage) thumbnail = NULL;
  g_autoptr (HgImage) out = NULL;
  cairo_surface_t   *surface, *thumb_surface;
  cairo_t           *cr;
  cairo_status_t     status;
  gint64             width, height;
  int                tw, th, ow, oh;
  double             scale, unit;
  gsize              n;
  const HgTile      *tiles;
  g_autofree guint8 *selected = NULL;

  g_return_val_if_fail (heatmap != NULL, NULL);
  g_return_val_if_fail (max_size > 0, NULL);

  if (style == NULL)
    {
      hg_heatmap_style_init (&defaults);
      style = &defaults;
    }
  tiling = hg_heatmap_get_tiling (heatmap);
  slide = hg_tiling_get_slide (tiling);
  tiles = hg_tiling_get_tiles (tiling, &n);

  thumbnail = hg_slide_read_thumbnail (slide, max_size, error);
  if (thumbnail == NULL)
    return NULL;
  hg_slide_get_level_size (slide, 0, &width, &height);
  tw = hg_image_get_width (thumbnail);
  th = hg_image_get_height (thumbnail);
  scale = (double) tw / width;
  /* The legend grows with the picture, so that it reads the same. */
  unit = MAX (1.0, MAX (tw, th) / 1000.0);
  ow = tw + (style->legend ? (int) ceil (LEGEND_WIDTH * unit) : 0);
  oh = style->legend ? MAX (th, (int) ceil (LEGEND_MIN_HEIGHT * unit)) : th;

  out = hg_image_new (ow, oh, error);
  if (out == NULL)
    return NULL;
  surface = cairo_image_surface_create_for_data (hg_image_get_mutable_data (out), CAIRO_FORMAT_ARGB32,
                                                 ow, oh, (int) hg_image_get_stride (out));
  thumb_surface = cairo_image_surface_create_for_data ((guint8 *) hg_image_get_data (thumbnail),
                                                       CAIRO_FORMAT_ARGB32, tw, th,
                                                       (int) hg_image_get_stride (thumbnail));
  /* As in hg_image_scale (): cairo refuses images wider than 32767
   * pixels, and leaks a pattern if given such a surface as a source. */
  status = cairo_surface_status (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (thumb_surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      cairo_surface_destroy (thumb_surface);
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("drawing a %d × %d heatmap failed: %s"), ow, oh,
                   cairo_status_to_string (status));
      return NULL;
    }
  cr = cairo_create (surface);

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_surface (cr, thumb_surface, 0, 0);
  cairo_paint (cr);

  /* The tiles, snapped to whole pixels so that neighbours meet. */
  for (gsize i = 0; i < n; i++)
    {
      float  score = hg_heatmap_get_score (heatmap, i);
      double x0, y0, x1, y1;

      if (isnan (score))
        continue;
      x0 = round (tiles[i].x * scale);
      y0 = round (tiles[i].y * scale);
      x1 = round ((tiles[i].x + tiles[i].width) * scale);
      y1 = round ((tiles[i].y + tiles[i].height) * scale);
      set_rgb (cr, hg_colormap_lookup_rgb (style->colormap, score), style->opacity);
      cairo_rectangle (cr, x0, y0, MAX (x1 - x0, 1), MAX (y1 - y0, 1));
      cairo_fill (cr);
    }

  selected = g_new0 (guint8, MAX (n, 1));
  if (style->show_truth && hg_tiling_has_ground_truth (tiling))
    {
      for (gsize i = 0; i < n; i++)
        selected[i] = tiles[i].truth == HG_SLIDE_LABEL_IDC;
      stroke_outline (cr, tiling, selected, scale, HG_HEATMAP_TRUTH_COLOR, TRUE);
    }
  if (!isnan (style->threshold))
    {
      for (gsize i = 0; i < n; i++)
        selected[i] = hg_heatmap_get_score (heatmap, i) >= style->threshold;
      stroke_outline (cr, tiling, selected, scale, HG_HEATMAP_THRESHOLD_COLOR, FALSE);
    }

  if (style->legend)
    {
      cairo_save (cr);
      cairo_translate (cr, tw, 0);
      cairo_scale (cr, unit, unit);
      draw_legend (cr, heatmap, style, 0, oh / unit);
      cairo_restore (cr);
    }

  cairo_destroy (cr);
  cairo_surface_flush (surface);
  cairo_surface_destroy (surface);
  cairo_surface_destroy (thumb_surface);
  return g_steal_pointer (&out);
}

gboolean
hg_heatmap_save_png (HgHeatmap            *heatmap,
                     const HgHeatmapStyle *style,
                     int                   max_size,
                     const char           *path,
                     GError              **error)
{
  g_autoptr (HgImage) image = hg_heatmap_render (heatmap, style, max_size, error);

  return image != NULL && hg_image_save_png (image, path, error);
}
