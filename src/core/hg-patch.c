/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-patch.h"
#include "histoguard/hg-pixels.h"

/* Formats worth decoding as patches, recognised by their magic bytes. The
 * loader is then chosen by us, never by GdkPixbuf's sniffing: some of its
 * loaders (TGA, ICO, BMP…) allocate whatever the header asks for before we
 * can refuse the size (found by fuzz/fuzz-patch). */
static const char *
sniff_format (const guint8 *data,
              gsize         length)
{
  if (length >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return "png";
  if (length >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return "jpeg";
  if (length >= 4 && (memcmp (data, "II*\0", 4) == 0 || memcmp (data, "MM\0*", 4) == 0))
    return "tiff";
  return NULL;
}

typedef struct
{
  int      width, height;
  int      max_width, max_height;
  gboolean too_large;
} Probe;

static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  gpointer         user_data)
{
  Probe *probe = user_data;

  probe->width = width;
  probe->height = height;
  if (width > probe->max_width || height > probe->max_height)
    {
      probe->too_large = TRUE;
      /* Keeps GdkPixbuf from allocating the full image while we stop. */
      gdk_pixbuf_loader_set_size (loader, 1, 1);
    }
}

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
  g_autoptr (GdkPixbufLoader) loader = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree float *tmp = NULL;
  const char       *format_name;
  GdkPixbuf        *pixbuf;
  Probe             probe = { 0 };
  gsize             plane, off = 0;
  int               w, h, n_channels;

  g_return_val_if_fail (width > 0 && width <= HG_PATCH_MAX_SIDE, FALSE);
  g_return_val_if_fail (height > 0 && height <= HG_PATCH_MAX_SIDE, FALSE);

  if (length == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("the file is empty"));
      return FALSE;
    }
  if (length > HG_PATCH_MAX_FILE_BYTES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the file is %" G_GSIZE_FORMAT " bytes, more than the limit of %d for a patch"),
                   length, HG_PATCH_MAX_FILE_BYTES);
      return FALSE;
    }

  format_name = sniff_format (data, length);
  if (format_name == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("not a PNG, JPEG or TIFF image"));
      return FALSE;
    }

  probe.max_width = width;
  probe.max_height = height;
  loader = gdk_pixbuf_loader_new_with_type (format_name, &local_error);
  if (loader == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("cannot decode %s images here: %s"), format_name, local_error->message);
      return FALSE;
    }
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &probe);

  /* Fed in chunks so that a too-large image is refused once its header is
   * read, before the rest is decoded. */
  while (off < length && !probe.too_large)
    {
      gsize chunk = MIN (length - off, 64 * 1024);

      if (!gdk_pixbuf_loader_write (loader, data + off, chunk, &local_error))
        break;
      off += chunk;
    }
  if (local_error == NULL && !probe.too_large)
    gdk_pixbuf_loader_close (loader, &local_error);
  else
    gdk_pixbuf_loader_close (loader, NULL);

  if (probe.too_large)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the image is %d×%d pixels, larger than the %d×%d input"),
                   probe.width, probe.height, width, height);
      return FALSE;
    }
  if (local_error != NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("cannot decode the image: %s"),
                   local_error->message);
      return FALSE;
    }

  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("cannot decode the image: no pixels"));
      return FALSE;
    }

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
  g_autofree char *contents = NULL;
  GStatBuf         st;
  gsize            length;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("%s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("%s: not a regular file"), path);
      return FALSE;
    }
  if (st.st_size > HG_PATCH_MAX_FILE_BYTES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("%s: the file is %lld bytes, more than the limit of %d for a patch"), path,
                   (long long) st.st_size, HG_PATCH_MAX_FILE_BYTES);
      return FALSE;
    }
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, "%s", local_error->message);
      return FALSE;
    }
  if (!hg_patch_decode ((const guint8 *) contents, length, width, height, out, image_width,
                        image_height, &local_error))
    {
      g_set_error (error, HG_ERROR, local_error->code, "%s: %s", path, local_error->message);
      return FALSE;
    }
  return TRUE;
}
