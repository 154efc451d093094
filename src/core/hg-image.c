/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <cairo.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-image.h"
#include "histoguard/hg-pixels.h"

struct _HgImage
{
  gint    ref_count; /* atomic */
  int     width;
  int     height;
  gsize   stride;
  guint8 *data;
};

HgImage *
hg_image_new (int      width,
              int      height,
              GError **error)
{
  HgImage *self;
  gsize    stride;
  gsize    size;

  if (width <= 0 || height <= 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "image size %d × %d is empty or negative", width, height);
      return NULL;
    }

  if ((guint64) width * (guint64) height > HG_IMAGE_MAX_PIXELS ||
      !g_size_checked_mul (&stride, (gsize) width, 4) ||
      !g_size_checked_mul (&size, stride, (gsize) height))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("image size %d × %d exceeds the limit of %llu pixels"),
                   width, height, (unsigned long long) ((guint64) HG_IMAGE_MAX_PIXELS));
      return NULL;
    }

  self = g_new0 (HgImage, 1);
  self->data = g_try_malloc0 (size);
  if (self->data == NULL)
    {
      g_free (self);
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("out of memory for a %d × %d image (%zu bytes)"),
                   width, height, size);
      return NULL;
    }

  self->ref_count = 1;
  self->width = width;
  self->height = height;
  self->stride = stride;

  return self;
}

HgImage *
hg_image_ref (HgImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
hg_image_unref (HgImage *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_int_dec_and_test (&self->ref_count))
    {
      g_free (self->data);
      g_free (self);
    }
}

int
hg_image_get_width (const HgImage *self)
{
  return self->width;
}

int
hg_image_get_height (const HgImage *self)
{
  return self->height;
}

gsize
hg_image_get_stride (const HgImage *self)
{
  return self->stride;
}

gsize
hg_image_get_size (const HgImage *self)
{
  return self->stride * (gsize) self->height;
}

const guint8 *
hg_image_get_data (const HgImage *self)
{
  return self->data;
}

guint8 *
hg_image_get_mutable_data (HgImage *self)
{
  return self->data;
}

GBytes *
hg_image_get_bytes (HgImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_bytes_new_with_free_func (self->data, hg_image_get_size (self),
                                     (GDestroyNotify) hg_image_unref, hg_image_ref (self));
}

void
hg_image_to_chw (const HgImage *self,
                 float         *out)
{
  hg_pixels_argb32_to_chw (self->data, self->stride, self->width, self->height, out);
}

HgImage *
hg_image_downsample_2x (const HgImage *self,
                        GError       **error)
{
  int      width = (self->width + 1) / 2;
  int      height = (self->height + 1) / 2;
  HgImage *half = hg_image_new (width, height, error);

  if (half == NULL)
    return NULL;

  /* Averaging premultiplied channels is the correct box filter; at an odd
   * edge the missing neighbours count as the pixels that are there. */
  for (int y = 0; y < height; y++)
    {
      const guint32 *r0 = (const guint32 *) (self->data + (gsize) (2 * y) * self->stride);
      const guint32 *r1 = (const guint32 *) (self->data + (gsize) MIN (2 * y + 1, self->height - 1) * self->stride);
      guint32       *out = (guint32 *) (half->data + (gsize) y * half->stride);

      for (int x = 0; x < width; x++)
        {
          int     x0 = 2 * x, x1 = MIN (2 * x + 1, self->width - 1);
          guint32 p[4] = { r0[x0], r0[x1], r1[x0], r1[x1] };
          guint32 px = 0;

          for (int shift = 0; shift < 32; shift += 8)
            {
              guint sum = 2; /* rounds to nearest */

              for (int i = 0; i < 4; i++)
                sum += (p[i] >> shift) & 0xff;
              px |= (guint32) (sum / 4) << shift;
            }
          out[x] = px;
        }
    }

  return half;
}

static cairo_surface_t *
surface_for (const HgImage *image)
{
  return cairo_image_surface_create_for_data (image->data, CAIRO_FORMAT_ARGB32, image->width,
                                              image->height, (int) image->stride);
}

HgImage *
hg_image_scale (const HgImage *self,
                int            width,
                int            height,
                GError       **error)
{
  g_autoptr (HgImage) scaled = hg_image_new (width, height, error);
  cairo_surface_t *src, *dst;
  cairo_pattern_t *pattern;
  cairo_t         *cr;
  cairo_status_t   status;

  if (scaled == NULL)
    return NULL;

  src = surface_for (self);
  dst = surface_for (scaled);
  /* A surface in error (wider than cairo's 32767 pixels) stops here:
   * cairo 1.16 leaks a pattern when it is given one as a source. */
  status = cairo_surface_status (src);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (dst);
  if (status == CAIRO_STATUS_SUCCESS)
    {
      cr = cairo_create (dst);
      cairo_scale (cr, (double) width / self->width, (double) height / self->height);
      cairo_set_source_surface (cr, src, 0, 0);
      pattern = cairo_get_source (cr);
      cairo_pattern_set_filter (pattern, CAIRO_FILTER_GOOD);
      cairo_pattern_set_extend (pattern, CAIRO_EXTEND_PAD);
      cairo_set_operator (cr, CAIRO_OPERATOR_SOURCE);
      cairo_paint (cr);
      status = cairo_status (cr);
      cairo_destroy (cr);
    }
  cairo_surface_flush (dst);
  cairo_surface_destroy (dst);
  cairo_surface_destroy (src);

  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("scaling an image to %d × %d failed: %s"),
                   width, height, cairo_status_to_string (status));
      return NULL;
    }

  return g_steal_pointer (&scaled);
}

static cairo_status_t
append_to_byte_array (void                *closure,
                      const unsigned char *data,
                      unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
hg_image_save_png (const HgImage *self,
                   const char    *path,
                   GError       **error)
{
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_autoptr (GError) local_error = NULL;
  cairo_surface_t *surface = surface_for (self);
  cairo_status_t   status;

  status = cairo_surface_write_to_png_stream (surface, append_to_byte_array, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("encoding “%s” as PNG failed: %s"),
                   path, cairo_status_to_string (status));
      return FALSE;
    }

  if (!g_file_set_contents_full (path, (const char *) png->data, png->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("writing “%s” failed: %s"), path,
                   local_error->message);
      return FALSE;
    }

  return TRUE;
}
