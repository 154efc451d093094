/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-patch.h"
#include "histoguard/hg-pixels.h"

#include "hg-decode-private.h"
#include "hg-file-private.h"

gboolean
hg_patch_is_image_name (const char *name)
{
  static const char *const exts[] = { ".png", ".jpg", ".jpeg", ".tif", ".tiff", NULL };
  const char              *dot = strrchr (name, '.');

  if (dot == NULL || dot == name)
    return FALSE;
  for (guint i = 0; exts[i] != NULL; i++)
    if (g_ascii_strcasecmp (dot, exts[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
hg_patch_decode (const guint8 *data,
                 gsize         length,
                 int           width,
                 int           height,
                 float        *out,
                 int          *image_width,
                 int          *image_height,
                 GError      **error)
{
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autofree float *tmp = NULL;
  HgDecodeLimits    limits = { width, height, (gint64) width * height, FALSE };
  HgDecodeInfo      info;
  gsize             plane;
  int               w, h, n_channels;

  g_return_val_if_fail (width > 0 && width <= HG_PATCH_MAX_SIDE, FALSE);
  g_return_val_if_fail (height > 0 && height <= HG_PATCH_MAX_SIDE, FALSE);

  if (length > HG_PATCH_MAX_FILE_BYTES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the file is %zu bytes, more than the limit of %d for a patch"),
                   length, HG_PATCH_MAX_FILE_BYTES);
      return FALSE;
    }

  pixbuf = hg_decode_image (data, length, &limits, &info, error);
  if (pixbuf == NULL)
    return FALSE;

  w = gdk_pixbuf_get_width (pixbuf);
  h = gdk_pixbuf_get_height (pixbuf);
  n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (w <= 0 || h <= 0 || w > width || h > height)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the image is %d×%d pixels, larger than the %d×%d input"), w, h, width, height);
      return FALSE;
    }
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 ||
      (n_channels != 3 && n_channels != 4) ||
      (n_channels == 4) != !!gdk_pixbuf_get_has_alpha (pixbuf))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("unsupported pixel layout (%d channels, %d bits)"), n_channels,
                   gdk_pixbuf_get_bits_per_sample (pixbuf));
      return FALSE;
    }

  plane = (gsize) width * (gsize) height;
  if (w == width && h == height)
    {
      hg_pixels_rgb8_to_chw (gdk_pixbuf_read_pixels (pixbuf), gdk_pixbuf_get_rowstride (pixbuf),
                             n_channels, w, h, out);
    }
  else
    {
      /* Decode at the image's size, then place it top-left on white. */
      gsize tplane = (gsize) w * (gsize) h;

      tmp = g_new (float, 3 * tplane);
      hg_pixels_rgb8_to_chw (gdk_pixbuf_read_pixels (pixbuf), gdk_pixbuf_get_rowstride (pixbuf),
                             n_channels, w, h, tmp);
      for (gsize i = 0; i < 3 * plane; i++)
        out[i] = 1.0f;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
          memcpy (out + c * plane + (gsize) y * width, tmp + c * tplane + (gsize) y * w,
                  (gsize) w * sizeof (float));
    }

  if (image_width != NULL)
    *image_width = w;
  if (image_height != NULL)
    *image_height = h;
  return TRUE;
}

gboolean
hg_patch_load (const char *path,
               int         width,
               int         height,
               float      *out,
               int        *image_width,
               int        *image_height,
               GError    **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) contents = hg_file_read (path, HG_PATCH_MAX_FILE_BYTES, &local_error);
  const guint8 *data;
  gsize         length;

  if (contents == NULL)
    {
      if (local_error->code == HG_ERROR_TOO_LARGE)
        g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("%s: %s for a patch"), path,
                     local_error->message);
      else
        g_set_error (error, HG_ERROR, local_error->code, _ ("%s: %s"), path, local_error->message);
      return FALSE;
    }
  data = g_bytes_get_data (contents, &length);
  if (!hg_patch_decode (data, length, width, height, out, image_width, image_height,
                        &local_error))
    {
      g_set_error (error, HG_ERROR, local_error->code, "%s: %s", path, local_error->message);
      return FALSE;
    }
  return TRUE;
}
