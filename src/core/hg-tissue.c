/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "histoguard/hg-tissue.h"

struct _HgTissueMask
{
  int      width, height;
  double   scale_x, scale_y; /* mask pixels per level-0 pixel */
  int      threshold;
  guint8  *mask;
  guint32 *integral; /* (width + 1) × (height + 1) summed-area table */
};

int
hg_tissue_otsu_threshold (const guint64 histogram[256])
{
  double total = 0, sum = 0, sum_below = 0, weight_below = 0, best = -1;
  int    threshold = 0;

  for (int i = 0; i < 256; i++)
    {
      total += histogram[i];
      sum += (double) i * histogram[i];
    }
  if (total == 0)
    return 0;

  /* Maximise the between-class variance of {≤ t} and {> t}. */
  for (int t = 0; t < 255; t++)
    {
      double weight_above, mean_below, mean_above, between;

      weight_below += histogram[t];
      sum_below += (double) t * histogram[t];
      weight_above = total - weight_below;
      if (weight_below == 0)
        continue;
      if (weight_above == 0)
        break;
      mean_below = sum_below / weight_below;
      mean_above = (sum - sum_below) / weight_above;
      between = weight_below * weight_above * (mean_below - mean_above) * (mean_below - mean_above);
      if (between > best)
        {
          best = between;
          threshold = t;
        }
    }
  return threshold;
}

/* Saturation 0…255 of a premultiplied pixel, or -1 for one that cannot be
 * tissue (transparent or nearly black). Premultiplication scales max and
 * min alike, so it cancels out of (max − min) / max. */
static int
pixel_saturation (guint32 argb)
{
  int a = argb >> 24, r = (argb >> 16) & 0xff, g = (argb >> 8) & 0xff, b = argb & 0xff;
  int max = MAX (r, MAX (g, b)), min = MIN (r, MIN (g, b));

  if (a < 128 || max * 255 < HG_TISSUE_MIN_VALUE * a)
    return -1;
  return (max - min) * 255 / max;
}

HgTissueMask *
hg_tissue_mask_new_for_image (const HgImage *image,
                              double         slide_width,
                              double         slide_height)
{
  HgTissueMask *mask;
  guint64       histogram[256] = { 0 };
  int           w, h, threshold;
  gsize         stride;
  const guint8 *data;
  gint16       *sat;

  g_return_val_if_fail (image != NULL, NULL);
  g_return_val_if_fail (slide_width > 0 && slide_height > 0, NULL);

  w = hg_image_get_width (image);
  h = hg_image_get_height (image);
  stride = hg_image_get_stride (image);
  data = hg_image_get_data (image);
  sat = g_new (gint16, (gsize) w * h);

  for (int y = 0; y < h; y++)
    {
      const guint32 *row = (const guint32 *) (data + (gsize) y * stride);

      for (int x = 0; x < w; x++)
        {
          int s = pixel_saturation (row[x]);

          sat[(gsize) y * w + x] = (gint16) s;
          if (s >= 0)
            histogram[s]++;
        }
    }
  threshold = CLAMP (hg_tissue_otsu_threshold (histogram), HG_TISSUE_MIN_THRESHOLD,
                     HG_TISSUE_MAX_THRESHOLD);

  mask = g_new0 (HgTissueMask, 1);
  mask->width = w;
  mask->height = h;
  mask->scale_x = w / slide_width;
  mask->scale_y = h / slide_height;
  mask->threshold = threshold;
  mask->mask = g_new (guint8, (gsize) w * h);
  mask->integral = g_new0 (guint32, (gsize) (w + 1) * (h + 1));
  for (int y = 0; y < h; y++)
    {
      guint32 row_sum = 0;

      for (int x = 0; x < w; x++)
        {
          guint8 tissue = sat[(gsize) y * w + x] > threshold;

          mask->mask[(gsize) y * w + x] = tissue;
          row_sum += tissue;
          mask->integral[(gsize) (y + 1) * (w + 1) + x + 1] =
              mask->integral[(gsize) y * (w + 1) + x + 1] + row_sum;
        }
    }

  g_free (sat);
  return mask;
}

HgTissueMask *
hg_tissue_mask_new (HgSlide *slide,
                    int      max_size,
                    GError **error)
{
  g_autoptr (HgImage) thumbnail = NULL;
  gint64 width, height;

  g_return_val_if_fail (HG_IS_SLIDE (slide), NULL);

  thumbnail = hg_slide_read_thumbnail (slide, max_size > 0 ? max_size : HG_TISSUE_MASK_SIZE, error);
  if (thumbnail == NULL)
    return NULL;
  hg_slide_get_level_size (slide, 0, &width, &height);
  return hg_tissue_mask_new_for_image (thumbnail, (double) width, (double) height);
}

void
hg_tissue_mask_free (HgTissueMask *mask)
{
  if (mask == NULL)
    return;
  g_free (mask->mask);
  g_free (mask->integral);
  g_free (mask);
}

int
hg_tissue_mask_get_threshold (HgTissueMask *mask)
{
  g_return_val_if_fail (mask != NULL, 0);

  return mask->threshold;
}

const guint8 *
hg_tissue_mask_get_data (HgTissueMask *mask,
                         int          *width,
                         int          *height)
{
  g_return_val_if_fail (mask != NULL, NULL);

  if (width != NULL)
    *width = mask->width;
  if (height != NULL)
    *height = mask->height;
  return mask->mask;
}

double
hg_tissue_mask_get_fraction (HgTissueMask *mask,
                             double        x,
                             double        y,
                             double        width,
                             double        height)
{
  double fx0, fy0, fx1, fy1;
  gint64 x0, y0, x1, y1, cx0, cy0, cx1, cy1;
  double area, count;

  g_return_val_if_fail (mask != NULL, 0);

  if (width <= 0 || height <= 0)
    return 0;

  /* The mask pixels whose centres fall in the rectangle; at least one per
   * axis, so that a tile smaller than a mask pixel still gets a value. */
  fx0 = x * mask->scale_x;
  fy0 = y * mask->scale_y;
  fx1 = (x + width) * mask->scale_x;
  fy1 = (y + height) * mask->scale_y;
  x0 = (gint64) ceil (fx0 - 0.5);
  y0 = (gint64) ceil (fy0 - 0.5);
  x1 = MAX (x0 + 1, (gint64) ceil (fx1 - 0.5));
  y1 = MAX (y0 + 1, (gint64) ceil (fy1 - 0.5));
  area = (double) (x1 - x0) * (y1 - y0);

  cx0 = CLAMP (x0, 0, mask->width);
  cy0 = CLAMP (y0, 0, mask->height);
  cx1 = CLAMP (x1, 0, mask->width);
  cy1 = CLAMP (y1, 0, mask->height);
  if (cx1 <= cx0 || cy1 <= cy0)
    return 0;

  {
    gsize stride = (gsize) mask->width + 1;

    count = (double) mask->integral[cy1 * stride + cx1] - mask->integral[cy0 * stride + cx1] -
            mask->integral[cy1 * stride + cx0] + mask->integral[cy0 * stride + cx0];
  }
  return count / area;
}
