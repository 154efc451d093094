/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "histoguard/hg-error.h"

#include "hg-decode-private.h"
#include "hg-file-private.h"

#define CHUNK (64 * 1024)

const char *
hg_decode_sniff (const guint8 *data,
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
  const HgDecodeLimits *limits;
  HgDecodeInfo         *info;
  GdkPixbufLoader      *loader;
  int                   bottom; /* rows decoded: the lowest updated so far */
  gboolean              stop;   /* the header said enough */
  gboolean              too_large;
  gboolean              bad_size;
} Decoder;

static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  gpointer         user_data)
{
  Decoder *d = user_data;

  d->info->width = width;
  d->info->height = height;
  if (width <= 0 || height <= 0)
    d->bad_size = d->stop = TRUE;
  else if (width > d->limits->max_width || height > d->limits->max_height ||
           (gint64) width * height > d->limits->max_pixels)
    d->too_large = d->stop = TRUE;
  else if (d->limits->header_only)
    d->stop = TRUE;

  /* Keeps GdkPixbuf from allocating the full image while we stop. */
  if (d->stop)
    gdk_pixbuf_loader_set_size (loader, 1, 1);
}

static void
damaged (Decoder    *d,
         GError    **error,
         const char *why)
{
  g_strlcpy (d->info->detail, why, sizeof d->info->detail);
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("cannot decode the image: %s"), why);
}

static void
on_area_updated (GdkPixbufLoader *loader,
                 int              x,
                 int              y,
                 int              width,
                 int              height,
                 gpointer         user_data)
{
  Decoder *d = user_data;

  d->bottom = MAX (d->bottom, y + height);
}

/* Feeds data; the first call picks the loader from the magic bytes. */
static gboolean
decoder_write (Decoder      *d,
               const guint8 *data,
               gsize         length,
               GError      **error)
{
  g_autoptr (GError) local_error = NULL;

  if (d->loader == NULL)
    {
      d->info->format = hg_decode_sniff (data, length);
      if (d->info->format == NULL)
        {
          g_set_error_literal (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                               _ ("not a PNG, JPEG or TIFF image"));
          return FALSE;
        }
      d->loader = gdk_pixbuf_loader_new_with_type (d->info->format, &local_error);
      if (d->loader == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("cannot decode %s images here: %s"),
                       d->info->format, local_error->message);
          return FALSE;
        }
      g_signal_connect (d->loader, "size-prepared", G_CALLBACK (on_size_prepared), d);
      g_signal_connect (d->loader, "area-updated", G_CALLBACK (on_area_updated), d);
    }

  if (!gdk_pixbuf_loader_write (d->loader, data, length, &local_error) && !d->stop)
    {
      damaged (d, error, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static GdkPixbuf *
decoder_finish (Decoder *d,
                gboolean ok,
                GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;

  if (d->loader == NULL)
    return NULL; /* error already set */

  if (ok && !d->stop)
    ok = gdk_pixbuf_loader_close (d->loader, &local_error);
  else
    gdk_pixbuf_loader_close (d->loader, NULL);
  pixbuf = gdk_pixbuf_loader_get_pixbuf (d->loader);
  if (pixbuf != NULL)
    g_object_ref (pixbuf);
  g_clear_object (&d->loader);

  if (d->bad_size)
    {
      g_autofree char *why = g_strdup_printf (_ ("its header gives an impossible size %d×%d"),
                                              d->info->width, d->info->height);

      g_clear_error (error);
      damaged (d, error, why);
      return NULL;
    }
  if (d->too_large)
    {
      g_clear_error (error);
      if (d->info->width > d->limits->max_width || d->info->height > d->limits->max_height)
        g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                     _ ("the image is %d×%d pixels, larger than the %d×%d input"), d->info->width,
                     d->info->height, d->limits->max_width, d->limits->max_height);
      else
        g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                     _ ("the image is %d×%d pixels, more than the limit of %" G_GINT64_FORMAT
                        " pixels"),
                     d->info->width, d->info->height, d->limits->max_pixels);
      return NULL;
    }
  if (!ok)
    {
      if (local_error != NULL)
        damaged (d, error, local_error->message);
      return NULL;
    }
  if (d->limits->header_only)
    {
      if (d->info->width > 0)
        return NULL;
      damaged (d, error, _ ("it ends before its size"));
      return NULL;
    }
  if (pixbuf == NULL)
    {
      damaged (d, error, _ ("no pixels"));
      return NULL;
    }
  /* GdkPixbuf's PNG loader closes a file cut short without an error and
   * hands out the pixbuf as allocated, uninitialised below the last row
   * it got. Rows arrive top to bottom (for interlaced PNG and progressive
   * JPEG, pass by pass: a cut in a later pass is not seen), so a bottom
   * row never updated means the file ended early. */
  if (d->bottom < gdk_pixbuf_get_height (pixbuf))
    {
      g_autofree char *why = g_strdup_printf (_ ("the file ends after %d of its %d rows"),
                                              d->bottom, gdk_pixbuf_get_height (pixbuf));

      damaged (d, error, why);
      return NULL;
    }
  /* A loader may deliver another size than it announced: hold it to the
   * limits too. */
  if (gdk_pixbuf_get_width (pixbuf) > d->limits->max_width ||
      gdk_pixbuf_get_height (pixbuf) > d->limits->max_height ||
      (gint64) gdk_pixbuf_get_width (pixbuf) * gdk_pixbuf_get_height (pixbuf) > d->limits->max_pixels)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the image is %d×%d pixels, larger than the %d×%d input"),
                   gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf),
                   d->limits->max_width, d->limits->max_height);
      return NULL;
    }
  return g_steal_pointer (&pixbuf);
}

GdkPixbuf *
hg_decode_image (const guint8         *data,
                 gsize                 length,
                 const HgDecodeLimits *limits,
                 HgDecodeInfo         *info,
                 GError              **error)
{
  Decoder  d = { .limits = limits, .info = info };
  gsize    off = 0;
  gboolean ok = TRUE;

  memset (info, 0, sizeof *info);
  if (length == 0)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("the file is empty"));
      return NULL;
    }

  /* Fed in chunks so that a too-large image is refused once its header is
   * read, before the rest is decoded. */
  while (ok && off < length && !d.stop)
    {
      gsize chunk = MIN (length - off, CHUNK);

      ok = decoder_write (&d, data + off, chunk, error);
      off += chunk;
    }
  return decoder_finish (&d, ok, error);
}

GdkPixbuf *
hg_decode_image_file (const char           *path,
                      const HgDecodeLimits *limits,
                      HgDecodeInfo         *info,
                      GError              **error)
{
  g_autofree guint8 *buffer = NULL;
  Decoder            d = { .limits = limits, .info = info };
  gboolean           ok = TRUE, first = TRUE;
  int                fd;

  memset (info, 0, sizeof *info);
  fd = hg_file_open_regular (path, NULL, error);
  if (fd < 0)
    return NULL;

  buffer = g_malloc (CHUNK);
  while (ok && !d.stop)
    {
      gsize  filled = 0;
      gssize n = 0;

      /* Whole chunks (the first must hold the magic bytes), or the end. */
      while (filled < CHUNK && (n = read (fd, buffer + filled, CHUNK - filled)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            break;
          filled += (gsize) n;
        }
      if (n < 0)
        {
          int saved = errno;

          g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, g_strerror (saved));
          ok = FALSE;
          break;
        }
      if (filled == 0)
        {
          if (first)
            {
              g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("the file is empty"));
              ok = FALSE;
            }
          break;
        }
      ok = decoder_write (&d, buffer, filled, error);
      first = FALSE;
      if (filled < CHUNK)
        break;
    }
  close (fd);
  return decoder_finish (&d, ok, error);
}
