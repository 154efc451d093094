/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "histoguard/hg-error.h"

#include "hg-decode-private.h"
#include "hg-file-private.h"

/* Bytes fed to a loader at a time. */
#define CHUNK (64 * 1024)
/* A PNG says its size at byte 16, a JPEG after its APPn segments (each
 * at most 64 KiB): refuse one that has not said it in this much. */
#define HEADER_MAX (1024 * 1024)
/* GdkPixbuf's TIFF loader reads the whole file before decoding, and the
 * first directory, which holds the size, may be at its end: TIFF files
 * are read whole, up to this. */
#define TIFF_MAX_BYTES ((gsize) 1 << 30)

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

/* ---- sizes from the headers --------------------------------------------- */

/* GdkPixbuf's loaders allocate the whole image as soon as they know its
 * size, whatever gdk_pixbuf_loader_set_size() asked (the PNG loader:
 * 10.8 GB for a 60000² header, found by fuzz/fuzz-patch), so the size is
 * read here first and a loader only ever sees images within the limits. */

typedef enum
{
  PROBE_OK,
  PROBE_SHORT, /* the data ends before the size */
  PROBE_BAD,
} Probe;

static guint
be16 (const guint8 *p)
{
  return (guint) p[0] << 8 | p[1];
}

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

static Probe
probe_png (const guint8 *data,
           gsize         length,
           guint32      *width,
           guint32      *height,
           const char  **why)
{
  if (length < 24)
    return PROBE_SHORT;
  if (be32 (data + 8) != 13 || memcmp (data + 12, "IHDR", 4) != 0)
    {
      *why = _ ("it does not start with an IHDR chunk");
      return PROBE_BAD;
    }
  *width = be32 (data + 16);
  *height = be32 (data + 20);
  return PROBE_OK;
}

static Probe
probe_jpeg (const guint8 *data,
            gsize         length,
            guint32      *width,
            guint32      *height,
            const char  **why)
{
  gsize pos = 2; /* after SOI */

  for (;;)
    {
      guint marker, segment;

      if (pos >= length)
        return PROBE_SHORT;
      if (data[pos] != 0xff)
        {
          *why = _ ("a marker is missing between its segments");
          return PROBE_BAD;
        }
      while (pos < length && data[pos] == 0xff)
        pos++; /* fill bytes */
      if (pos >= length)
        return PROBE_SHORT;
      marker = data[pos++];

      /* Markers without a segment. */
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8))
        continue;
      if (marker == 0xd9 || marker == 0xda)
        {
          *why = _ ("its image data starts before a frame header gives its size");
          return PROBE_BAD;
        }

      if (pos + 2 > length)
        return PROBE_SHORT;
      segment = be16 (data + pos);
      if (segment < 2)
        {
          *why = _ ("a segment has an impossible length");
          return PROBE_BAD;
        }

      /* SOF0…SOF15, except DHT (C4), JPG (C8) and DAC (CC). */
      if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc)
        {
          if (pos + 7 > length)
            return PROBE_SHORT;
          *height = be16 (data + pos + 3);
          *width = be16 (data + pos + 5);
          return PROBE_OK;
        }
      pos += segment;
    }
}

static Probe
probe_tiff (const guint8 *data,
            gsize         length,
            guint32      *width,
            guint32      *height,
            const char  **why)
{
  gboolean big = data[0] == 'M';
  guint32  ifd;
  guint    n;
  gboolean has_width = FALSE, has_height = FALSE;

#define U16(p) (big ? be16 (p) : (guint) ((p)[1] << 8 | (p)[0]))
#define U32(p) (big ? be32 (p) : (guint32) (p)[0] | (guint32) (p)[1] << 8 | (guint32) (p)[2] << 16 | (guint32) (p)[3] << 24)

  if (length < 8)
    return PROBE_SHORT;
  ifd = U32 (data + 4);
  if (ifd < 8 || (gsize) ifd + 2 > length)
    {
      *why = _ ("its first directory lies outside the file");
      return PROBE_BAD;
    }
  n = U16 (data + ifd);
  if ((gsize) ifd + 2 + (gsize) n * 12 > length)
    {
      *why = _ ("its first directory runs past the end of the file");
      return PROBE_BAD;
    }
  for (guint i = 0; i < n; i++)
    {
      const guint8 *e = data + ifd + 2 + (gsize) i * 12;
      guint         tag = U16 (e), type = U16 (e + 2);
      guint32       value;

      if (type == 3) /* SHORT */
        value = U16 (e + 8);
      else if (type == 4) /* LONG */
        value = U32 (e + 8);
      else
        continue;
      if (tag == 256)
        *width = value, has_width = TRUE;
      else if (tag == 257)
        *height = value, has_height = TRUE;
    }
#undef U16
#undef U32

  if (!has_width || !has_height)
    {
      *why = _ ("its first directory gives no width or height");
      return PROBE_BAD;
    }
  return PROBE_OK;
}

/* ---- decoding ----------------------------------------------------------- */

typedef struct
{
  const HgDecodeLimits *limits;
  HgDecodeInfo         *info;
  GdkPixbufLoader      *loader;
  int                   bottom;  /* rows decoded: the lowest updated so far */
  gboolean              resized; /* the loader announced another size */
} Decoder;

static void
damaged (Decoder    *d,
         GError    **error,
         const char *why)
{
  g_strlcpy (d->info->detail, why, sizeof d->info->detail);
  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("cannot decode the image: %s"), why);
}

static gboolean
too_large (const HgDecodeLimits *limits,
           int                   width,
           int                   height,
           GError              **error)
{
  if (width > limits->max_width || height > limits->max_height)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the image is %d×%d pixels, larger than the %d×%d input"), width, height,
                   limits->max_width, limits->max_height);
      return TRUE;
    }
  if ((gint64) width * height > limits->max_pixels)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the image is %d×%d pixels, more than the limit of %lld pixels"),
                   width, height, (long long) limits->max_pixels);
      return TRUE;
    }
  return FALSE;
}

/* The header was checked; a loader that announces another size gets 1×1
 * and is stopped (none does today: a second line of defence). */
static void
on_size_prepared (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  gpointer         user_data)
{
  Decoder *d = user_data;

  if (width != d->info->width || height != d->info->height)
    {
      d->resized = TRUE;
      gdk_pixbuf_loader_set_size (loader, 1, 1);
    }
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

static gboolean
feed (Decoder      *d,
      const guint8 *data,
      gsize         length,
      GError      **error)
{
  for (gsize off = 0; off < length && !d->resized; off += CHUNK)
    {
      g_autoptr (GError) local_error = NULL;

      if (!gdk_pixbuf_loader_write (d->loader, data + off, MIN (length - off, CHUNK), &local_error))
        {
          if (!d->resized)
            damaged (d, error, local_error->message);
          return d->resized;
        }
    }
  return TRUE;
}

/* head: the start of the image (all of it when fd is -1); fd: where the
 * rest is read from. */
static GdkPixbuf *
decode (const guint8         *head,
        gsize                 head_length,
        int                   fd,
        const HgDecodeLimits *limits,
        HgDecodeInfo         *info,
        GError              **error)
{
  Decoder d = { .limits = limits, .info = info };
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autofree guint8 *buffer = NULL;
  const char        *why = NULL;
  guint32            width = 0, height = 0;
  gboolean           ok;
  Probe              probe;

  if (head_length == 0)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("the file is empty"));
      return NULL;
    }
  info->format = hg_decode_sniff (head, head_length);
  if (info->format == NULL)
    {
      g_set_error_literal (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("not a PNG, JPEG or TIFF image"));
      return NULL;
    }

  probe = strcmp (info->format, "png") == 0    ? probe_png (head, head_length, &width, &height, &why)
          : strcmp (info->format, "jpeg") == 0 ? probe_jpeg (head, head_length, &width, &height, &why)
                                               : probe_tiff (head, head_length, &width, &height, &why);
  if (probe == PROBE_SHORT)
    {
      damaged (&d, error, fd < 0 ? _ ("it ends before its size") : _ ("its first MiB does not give its size"));
      return NULL;
    }
  if (probe == PROBE_BAD)
    {
      damaged (&d, error, why);
      return NULL;
    }
  if (width == 0 || height == 0 || width > G_MAXINT || height > G_MAXINT)
    {
      g_autofree char *text = g_strdup_printf (_ ("its header gives an impossible size %u×%u"),
                                               width, height);

      damaged (&d, error, text);
      return NULL;
    }
  info->width = (int) width;
  info->height = (int) height;
  if (too_large (limits, info->width, info->height, error) || limits->header_only)
    return NULL;

  d.loader = gdk_pixbuf_loader_new_with_type (info->format, &local_error);
  if (d.loader == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("cannot decode %s images here: %s"),
                   info->format, local_error->message);
      return NULL;
    }
  g_signal_connect (d.loader, "size-prepared", G_CALLBACK (on_size_prepared), &d);
  g_signal_connect (d.loader, "area-updated", G_CALLBACK (on_area_updated), &d);

  ok = feed (&d, head, head_length, error);
  if (ok && fd >= 0)
    {
      buffer = g_malloc (CHUNK);
      while (ok && !d.resized)
        {
          gssize n = read (fd, buffer, CHUNK);

          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              int saved = errno;

              g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, g_strerror (saved));
              ok = FALSE;
            }
          else if (n == 0)
            break;
          else
            ok = feed (&d, buffer, (gsize) n, error);
        }
    }

  if (ok && !d.resized)
    ok = gdk_pixbuf_loader_close (d.loader, &local_error);
  else
    gdk_pixbuf_loader_close (d.loader, NULL);
  pixbuf = gdk_pixbuf_loader_get_pixbuf (d.loader);
  if (pixbuf != NULL)
    g_object_ref (pixbuf);
  g_clear_object (&d.loader);

  if (d.resized)
    {
      damaged (&d, error, _ ("the decoder found another size than its header"));
      return NULL;
    }
  if (!ok)
    {
      if (local_error != NULL)
        damaged (&d, error, local_error->message);
      return NULL;
    }
  if (pixbuf == NULL)
    {
      damaged (&d, error, _ ("no pixels"));
      return NULL;
    }
  /* GdkPixbuf's PNG loader closes a file cut short without an error and
   * hands out the pixbuf as allocated, uninitialised below the last row
   * it got. Rows arrive top to bottom (for interlaced PNG and progressive
   * JPEG, pass by pass: a cut in a later pass is not seen), so a bottom
   * row never updated means the file ended early. */
  if (d.bottom < gdk_pixbuf_get_height (pixbuf))
    {
      g_autofree char *text = g_strdup_printf (_ ("the file ends after %d of its %d rows"), d.bottom,
                                               gdk_pixbuf_get_height (pixbuf));

      damaged (&d, error, text);
      return NULL;
    }
  if (too_large (limits, gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf), error))
    return NULL;
  return g_steal_pointer (&pixbuf);
}

GdkPixbuf *
hg_decode_image (const guint8         *data,
                 gsize                 length,
                 const HgDecodeLimits *limits,
                 HgDecodeInfo         *info,
                 GError              **error)
{
  memset (info, 0, sizeof *info);
  return decode (data, length, -1, limits, info, error);
}

/* Reads into *buffer until it holds limit bytes or the file ends. */
static gboolean
read_up_to (int       fd,
            guint8  **buffer,
            gsize    *length,
            gsize     limit,
            gboolean *eof,
            GError  **error)
{
  while (*length < limit)
    {
      gsize  want = MIN (limit - *length, (gsize) 4 * CHUNK);
      gssize n;

      *buffer = g_realloc (*buffer, *length + want);
      n = read (fd, *buffer + *length, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, g_strerror (saved));
          return FALSE;
        }
      if (n == 0)
        {
          *eof = TRUE;
          return TRUE;
        }
      *length += (gsize) n;
    }
  return TRUE;
}

GdkPixbuf *
hg_decode_image_file (const char           *path,
                      const HgDecodeLimits *limits,
                      HgDecodeInfo         *info,
                      GError              **error)
{
  g_autofree guint8 *head = NULL;
  gsize              length = 0;
  gboolean           eof = FALSE;
  GdkPixbuf         *pixbuf;
  const char        *format;
  int                fd;

  memset (info, 0, sizeof *info);
  fd = hg_file_open_regular (path, NULL, error);
  if (fd < 0)
    return NULL;

  if (!read_up_to (fd, &head, &length, HEADER_MAX, &eof, error))
    {
      close (fd);
      return NULL;
    }
  format = hg_decode_sniff (head, length);
  if (!eof && g_strcmp0 (format, "tiff") == 0)
    {
      if (!read_up_to (fd, &head, &length, TIFF_MAX_BYTES, &eof, error))
        {
          close (fd);
          return NULL;
        }
      if (!eof)
        {
          close (fd);
          g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                       _ ("the file is a TIFF of more than %zu bytes"), TIFF_MAX_BYTES);
          return NULL;
        }
    }

  pixbuf = decode (head, length, eof ? -1 : fd, limits, info, error);
  close (fd);
  return pixbuf;
}
