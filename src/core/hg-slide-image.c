/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Plain images through GdkPixbuf, and the in-memory pyramid that they and
 * rebuilt IDC patch folders read from. */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-pixels.h"

#include "hg-decode-private.h"
#include "hg-slide-private.h"

typedef struct
{
  GPtrArray *levels; /* HgImage, level k downsampled by 2^k */
} MemoryData;

static gint64
floor_div (gint64 a,
           gint64 b)
{
  gint64 q = a / b;

  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static gboolean
memory_read_region_cb (gpointer data_,
                       int      level,
                       gint64   x,
                       gint64   y,
                       int      width,
                       int      height,
                       guint32 *dest,
                       GError **error)
{
  MemoryData    *data = data_;
  const HgImage *image = g_ptr_array_index (data->levels, level);
  gint64         downsample = G_GINT64_CONSTANT (1) << level;
  gint64         lx = floor_div (x, downsample);
  gint64         ly = floor_div (y, downsample);
  int            image_width = hg_image_get_width (image);
  int            image_height = hg_image_get_height (image);
  gint64         x0 = MAX (lx, 0);
  gint64         x1 = MIN (lx + width, (gint64) image_width);

  if (x0 >= x1)
    return TRUE; /* all outside: dest stays transparent */

  for (int row = 0; row < height; row++)
    {
      gint64 sy = ly + row;

      if (sy < 0 || sy >= image_height)
        continue;

      memcpy (dest + (gsize) row * width + (x0 - lx),
              hg_image_get_data (image) + (gsize) sy * hg_image_get_stride (image) + (gsize) x0 * 4,
              (gsize) (x1 - x0) * 4);
    }

  return TRUE;
}

static void
memory_free_cb (gpointer data_)
{
  MemoryData *data = data_;

  g_ptr_array_unref (data->levels);
  g_free (data);
}

static const HgSlideBackend memory_backend = {
  .name = "memory",
  .read_region = memory_read_region_cb,
  .free = memory_free_cb,
};

gboolean
_hg_slide_set_memory_pyramid (HgSlide      *self,
                              HgImage      *level0,
                              GCancellable *cancellable,
                              GError      **error)
{
  g_autoptr (GPtrArray) levels = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_image_unref);
  MemoryData *data;
  HgImage    *level = level0;

  g_ptr_array_add (levels, level0);
  _hg_slide_add_level (self, hg_image_get_width (level), hg_image_get_height (level), 1.0);

  /* Halve until the whole level fits in one tile: that is the overview. */
  while (MAX (hg_image_get_width (level), hg_image_get_height (level)) > HG_SLIDE_TILE_SIZE)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;

      level = hg_image_downsample_2x (level, error);
      if (level == NULL)
        return FALSE;

      g_ptr_array_add (levels, level);
      _hg_slide_add_level (self, hg_image_get_width (level), hg_image_get_height (level),
                           (double) (1u << (levels->len - 1)));
    }

  data = g_new0 (MemoryData, 1);
  data->levels = g_steal_pointer (&levels);
  _hg_slide_set_backend (self, &memory_backend, data);

  return TRUE;
}

HgSlide *
_hg_slide_image_open (const char   *path,
                      GCancellable *cancellable,
                      GError      **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GdkPixbuf) loaded = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *upper = NULL;
  HgDecodeLimits   limits = { G_MAXINT, G_MAXINT, HG_SLIDE_MAX_MEMORY_PIXELS, FALSE };
  HgDecodeInfo     info;
  HgImage         *level0;
  const char      *format_name;
  int              width = 0, height = 0;
  char             text[32];

  /* Only PNG, JPEG and TIFF, each through its own loader: GdkPixbuf's
   * other loaders are not worth their risk for slides. */
  loaded = hg_decode_image_file (path, &limits, &info, &local_error);
  format_name = info.format;
  upper = g_ascii_strup (format_name != NULL ? format_name : "", -1);
  if (loaded == NULL)
    {
      if (g_error_matches (local_error, HG_ERROR, HG_ERROR_IO))
        g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("“%s” cannot be read: %s"), name,
                     local_error->message);
      else if (format_name == NULL)
        g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("“%s” is not an image GdkPixbuf reads"),
                     name);
      else if (g_error_matches (local_error, HG_ERROR, HG_ERROR_TOO_LARGE))
        g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                     _ ("“%s” is %d × %d pixels; plain images are read into memory, up to %lld megapixels: save it as a tiled pyramidal TIFF to open it"),
                     name, info.width, info.height, (long long) (HG_SLIDE_MAX_MEMORY_PIXELS / 1000000));
      else if (g_error_matches (local_error, HG_ERROR, HG_ERROR_INVALID_DATA))
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("“%s” is a damaged %s image: %s"),
                     name, upper, info.detail);
      else
        g_set_error (error, HG_ERROR, local_error->code, _ ("“%s” cannot be read: %s"), name,
                     local_error->message);
      return NULL;
    }

  pixbuf = gdk_pixbuf_apply_embedded_orientation (loaded);
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 ||
      (gdk_pixbuf_get_n_channels (pixbuf) != 3 && gdk_pixbuf_get_n_channels (pixbuf) != 4))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("“%s” uses a pixel layout Histoguard does not read (%d channels of %d bits)"),
                   name, gdk_pixbuf_get_n_channels (pixbuf),
                   gdk_pixbuf_get_bits_per_sample (pixbuf));
      return NULL;
    }

  width = gdk_pixbuf_get_width (pixbuf);
  height = gdk_pixbuf_get_height (pixbuf);
  level0 = hg_image_new (width, height, error);
  if (level0 == NULL)
    return NULL;

  hg_pixels_rgb8_to_argb32 (gdk_pixbuf_read_pixels (pixbuf), gdk_pixbuf_get_rowstride (pixbuf),
                            gdk_pixbuf_get_n_channels (pixbuf), width, height,
                            hg_image_get_mutable_data (level0), hg_image_get_stride (level0));

  slide = _hg_slide_new (path, HG_SLIDE_SOURCE_IMAGE, format_name);
  _hg_slide_set_property (slide, "histoguard.source", "image");
  _hg_slide_set_property (slide, "image.format", format_name);
  g_snprintf (text, sizeof text, "%d", width);
  _hg_slide_set_property (slide, "image.width", text);
  g_snprintf (text, sizeof text, "%d", height);
  _hg_slide_set_property (slide, "image.height", text);

  if (!_hg_slide_set_memory_pyramid (slide, level0, cancellable, error))
    return NULL;

  return g_steal_pointer (&slide);
}
