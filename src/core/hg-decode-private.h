/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

G_BEGIN_DECLS

/* Decoding PNG, JPEG and TIFF images through GdkPixbuf, safely: the format
 * is recognised by its magic bytes and only that loader runs (GdkPixbuf's
 * own sniffing would hand a file to any loader, and some — TGA, ICO,
 * BMP… — allocate whatever their header asks for before a size can be
 * refused: found by fuzz/fuzz-patch); the size is read from the PNG, JPEG
 * or TIFF header by our own code and a too large image is refused before
 * any loader sees it (GdkPixbuf's loaders allocate the whole image as
 * soon as they know its size); files are read without blocking and only
 * when regular (hg-file-private.h).
 *
 * Errors: HG_ERROR_UNSUPPORTED "not a PNG, JPEG or TIFF image";
 * HG_ERROR_TOO_LARGE "the image is W×H pixels, larger than the MW×MH
 * input" (sides) or "…, more than the limit of N pixels" (area);
 * HG_ERROR_INVALID_DATA "cannot decode the image: …", where … (the
 * loader's words) is also in HgDecodeInfo.detail. */

typedef struct
{
  int      max_width; /* sides; G_MAXINT for no limit */
  int      max_height;
  gint64   max_pixels;  /* area */
  gboolean header_only; /* stop once the size is known (no loader runs) */
} HgDecodeLimits;

typedef struct
{
  const char *format; /* "png", "jpeg", "tiff", or NULL if unrecognised */
  int         width;  /* from the header, even when refused; else 0 */
  int         height;
  char        detail[256]; /* why a damaged image could not be decoded */
} HgDecodeInfo;

/* "png", "jpeg", "tiff" or NULL. */
const char *hg_decode_sniff (const guint8 *data,
                             gsize         length);

/* The decoded image; NULL with an error, or NULL without one for
 * header_only (info then holds the size). */
GdkPixbuf *hg_decode_image (const guint8         *data,
                            gsize                 length,
                            const HgDecodeLimits *limits,
                            HgDecodeInfo         *info,
                            GError              **error);
/* The same from a file, streamed in chunks. Errors about the file itself
 * are HG_ERROR_IO. */
GdkPixbuf *hg_decode_image_file (const char           *path,
                                 const HgDecodeLimits *limits,
                                 HgDecodeInfo         *info,
                                 GError              **error);

G_END_DECLS
