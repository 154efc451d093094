/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "histoguard/histoguard.h"

#include "hg-test-bad-files.h"
#include "hg-test-slides.h"

char *
hg_test_tiny_model_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
}

static void
put_le64 (guint8 *p,
          guint64 v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (guint8) (v >> (8 * i));
}

void
hg_test_bad_empty (const char *path)
{
  hg_test_write_file (path, "", 0);
}

void
hg_test_bad_text (const char *path)
{
  hg_test_write_file (path, "This is not a slide.\nJust some notes.\n", -1);
}

/* A 26-byte TIFF whose one tag, ImageDescription, claims 4,236,230,656
 * characters: OpenSlide 3.4 would allocate them all (fuzz-slide). */
void
hg_test_bad_tiff_huge_tag (const char *path)
{
  static const char tiff[] = "II*\0\x08\0\0\0"                        /* header, directory at 8 */
                             "\x01\0"                                 /* one entry */
                             "\x0e\x01\x02\0\0\xc0\x7f\xfc\x1a\0\0\0" /* 270, ASCII, count, offset */
                             "\0\0\0\0";                              /* no next directory */

  hg_test_write_file (path, tiff, sizeof tiff - 1);
}

void
hg_test_bad_fifo (const char *path)
{
  g_assert_cmpint (mkfifo (path, 0644), ==, 0);
}

void
hg_test_bad_folder (const char *path)
{
  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
}

/* A link to itself: every open fails with ELOOP. */
void
hg_test_bad_symlink_loop (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);

  g_assert_cmpint (symlink (base, path), ==, 0);
}

/* The tiny model's file with its JSON header rewritten by replacing
 * `from` with `to` (the data offsets count from the header's end, so the
 * tensors stay valid). */
static void
write_model_edited (const char *path,
                    const char *from,
                    const char *to)
{
  g_autofree char *model = hg_test_tiny_model_path ();
  g_autofree char *contents = NULL;
  g_autofree char *header = NULL;
  g_autoptr (GString) edited = NULL;
  g_autoptr (GByteArray) file = g_byte_array_new ();
  guint64 header_length = 0;
  gsize   length = 0;
  guint8  prefix[8];

  g_assert_true (g_file_get_contents (model, &contents, &length, NULL));
  for (int i = 7; i >= 0; i--)
    header_length = (header_length << 8) | (guint8) contents[i];
  header = g_strndup (contents + 8, header_length);
  edited = g_string_new (header);
  if (from != NULL)
    g_assert_cmpuint (g_string_replace (edited, from, to, 1), ==, 1);

  put_le64 (prefix, edited->len);
  g_byte_array_append (file, prefix, 8);
  g_byte_array_append (file, (const guint8 *) edited->str, (guint) edited->len);
  g_byte_array_append (file, (const guint8 *) contents + 8 + header_length,
                       (guint) (length - 8 - header_length));
  hg_test_write_file (path, file->data, file->len);
}

void
hg_test_bad_model_short (const char *path)
{
  hg_test_write_file (path, "\x10\0\0\0", 4);
}

/* The header claims 1000 bytes; 2 follow. */
void
hg_test_bad_model_truncated_header (const char *path)
{
  guint8 bytes[10];

  put_le64 (bytes, 1000);
  memcpy (bytes + 8, "{}", 2);
  hg_test_write_file (path, bytes, sizeof bytes);
}

/* A header length of 2⁶⁴ − 1: length + 8 overflows. */
void
hg_test_bad_model_oversized_header (const char *path)
{
  guint8 bytes[10];

  put_le64 (bytes, G_MAXUINT64);
  memcpy (bytes + 8, "{}", 2);
  hg_test_write_file (path, bytes, sizeof bytes);
}

void
hg_test_bad_model_not_json (const char *path)
{
  write_model_edited (path, "{\"__metadata__\":{", "{\"__metadata__\"{{");
}

/* Cut in the middle of the tensor data. */
void
hg_test_bad_model_truncated_data (const char *path)
{
  g_autofree char *model = hg_test_tiny_model_path ();
  g_autofree char *contents = NULL;
  gsize            length = 0;

  g_assert_true (g_file_get_contents (model, &contents, &length, NULL));
  hg_test_write_file (path, contents, (gssize) length - 1000);
}

static void
write_model_with (const char *path,
                  const char *tensor,
                  gsize       index,
                  float       value)
{
  g_autofree char *model_path = hg_test_tiny_model_path ();
  g_autoptr (HgModel) model = hg_model_load (model_path, NULL);
  g_autoptr (GError) error = NULL;
  gsize  n = 0;
  float *params = hg_model_get_params (model, &n);

  /* Parameters are stored in tensor order: find the tensor's first one. */
  for (gsize i = 0; i < n; i++)
    if (g_strcmp0 (hg_model_get_param_tensor (model, i, NULL), tensor) == 0)
      {
        params[i + index] = value;
        hg_model_params_changed (model);
        g_assert_true (hg_model_save (model, path, &error));
        g_assert_no_error (error);
        return;
      }
  g_assert_not_reached ();
}

void
hg_test_bad_model_nan (const char *path)
{
  write_model_with (path, "conv2.weight", 5, NAN);
}

void
hg_test_bad_model_inf (const char *path)
{
  write_model_with (path, "fc.bias", 1, -INFINITY);
}

/* Same element count, another shape. */
void
hg_test_bad_model_shape_mismatch (const char *path)
{
  write_model_edited (path, "\"shape\":[8,3,3,3]", "\"shape\":[3,8,3,3]");
}

void
hg_test_bad_model_offsets_outside (const char *path)
{
  write_model_edited (path, "\"data_offsets\":[25056,25064]", "\"data_offsets\":[25056,99999999]");
}

/* 2³¹ − 1 in each of four dimensions: the element count overflows 64 bits. */
void
hg_test_bad_model_shape_overflow (const char *path)
{
  write_model_edited (path, "\"shape\":[2],\"data_offsets\":[25056,25064]",
                      "\"shape\":[2147483647,2147483647,2147483647,2147483647],"
                      "\"data_offsets\":[25056,25064]");
}

/* 65536 × 65536 elements: 2³² overflows 32-bit arithmetic, not ours. */
void
hg_test_bad_model_shape_32bit (const char *path)
{
  write_model_edited (path, "\"shape\":[2],\"data_offsets\":[25056,25064]",
                      "\"shape\":[65536,65536],\"data_offsets\":[25056,25064]");
}

/* An input of 46341 × 46341: the pixel count passes 2³¹. */
void
hg_test_bad_model_input_overflow (const char *path)
{
  write_model_edited (path, "\\\"input\\\":[50,50,3]", "\\\"input\\\":[46341,46341,3]");
}

/* bn1.running_var[2] = −1, written into the tensor's bytes (data offsets
 * 960–992 in the tiny model). */
void
hg_test_bad_model_negative_variance (const char *path)
{
  g_autofree char *model = hg_test_tiny_model_path ();
  g_autofree char *contents = NULL;
  guint64          header_length = 0;
  gsize            length = 0;
  float            v = -1.0f;
  guint32          bits;

  g_assert_true (g_file_get_contents (model, &contents, &length, NULL));
  for (int i = 7; i >= 0; i--)
    header_length = (header_length << 8) | (guint8) contents[i];
  g_assert_nonnull (strstr (contents + 8, "\"bn1.running_var\":{\"dtype\":\"F32\",\"shape\":[8],"
                                          "\"data_offsets\":[960,992]}"));
  memcpy (&bits, &v, 4);
  bits = GUINT32_TO_LE (bits);
  memcpy (contents + 8 + header_length + 960 + 2 * 4, &bits, 4);
  hg_test_write_file (path, contents, (gssize) length);
}

void
hg_test_bad_model_unknown_format (const char *path)
{
  write_model_edited (path, "\"format\":\"histoguard-model\"", "\"format\":\"keras-model\"");
}

/* ---- images ------------------------------------------------------------- */

static guint32
crc32 (const guint8 *data,
       gsize         length)
{
  guint32 crc = 0xffffffffu;

  for (gsize i = 0; i < length; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
  return crc ^ 0xffffffffu;
}

static void
put_be32 (guint8 *p,
          guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

/* A PNG signature and IHDR, then a broken IDAT: enough for the size. */
void
hg_test_bad_png_header (const char *path,
                        guint32     width,
                        guint32     height)
{
  guint8  png[8 + 25 + 16] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                               0, 0, 0, 13, 'I', 'H', 'D', 'R' };
  guint8 *idat = png + 33;

  put_be32 (png + 16, width);
  put_be32 (png + 20, height);
  png[24] = 8; /* bit depth */
  png[25] = 2; /* RGB */
  put_be32 (png + 29, crc32 (png + 12, 17));
  put_be32 (idat, 4);
  memcpy (idat + 4, "IDAT\x01\x02\x03\x04", 8);
  put_be32 (idat + 12, crc32 (idat + 4, 8));
  hg_test_write_file (path, png, sizeof png);
}

void
hg_test_bad_jpeg_header (const char *path,
                         guint       width,
                         guint       height)
{
  /* SOI, an APP0 segment, then a baseline frame header (SOF0). */
  guint8 jpeg[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x06, 'J', 'F', 'I', 'F',
                    0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03,
                    0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01,
                    0xff, 0xd9 };

  jpeg[15] = (guint8) (height >> 8), jpeg[16] = (guint8) height;
  jpeg[17] = (guint8) (width >> 8), jpeg[18] = (guint8) width;
  hg_test_write_file (path, jpeg, sizeof jpeg);
}

void
hg_test_bad_tiff_header (const char *path,
                         guint32     width,
                         guint32     height)
{
  /* Little-endian, one directory of two LONG entries, no strips. */
  guint8  tiff[8 + 2 + 2 * 12 + 4] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0 };
  guint8 *e = tiff + 10;

  e[0] = 0x00, e[1] = 0x01, e[2] = 4, e[4] = 1;
  e[8] = (guint8) width, e[9] = (guint8) (width >> 8), e[10] = (guint8) (width >> 16), e[11] = (guint8) (width >> 24);
  e += 12;
  e[0] = 0x01, e[1] = 0x01, e[2] = 4, e[4] = 1;
  e[8] = (guint8) height, e[9] = (guint8) (height >> 8), e[10] = (guint8) (height >> 16), e[11] = (guint8) (height >> 24);
  hg_test_write_file (path, tiff, sizeof tiff);
}

void
hg_test_bad_png_huge (const char *path)
{
  hg_test_bad_png_header (path, 100000, 100000);
}

/* 46341² pixels: more than 2³¹, the product overflows an int. */
void
hg_test_bad_png_32bit (const char *path)
{
  hg_test_bad_png_header (path, 46341, 46341);
}

void
hg_test_bad_png_zero_width (const char *path)
{
  hg_test_bad_png_header (path, 0, 64);
}

GBytes *
hg_test_bad_encode_png (int width,
                        int height)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  char *buffer = NULL;
  gsize length = 0;

  /* Noise, so that the compressed data is long enough to cut. */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width * 3; x++)
      gdk_pixbuf_get_pixels (pixbuf)[y * gdk_pixbuf_get_rowstride (pixbuf) + x] =
          (guint8) ((x * 7919 + y * 104729) >> 3);
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", NULL, NULL));
  return g_bytes_new_take (buffer, length);
}

/* A valid PNG cut in half: GdkPixbuf's loader hands out a half-decoded
 * pixbuf for it without an error. */
void
hg_test_bad_png_truncated (const char *path)
{
  g_autoptr (GBytes) png = hg_test_bad_encode_png (50, 50);
  gsize         length = 0;
  const guint8 *data = g_bytes_get_data (png, &length);

  hg_test_write_file (path, data, (gssize) length / 2);
}

void
hg_test_bad_png_60 (const char *path)
{
  g_autoptr (GBytes) png = hg_test_bad_encode_png (60, 60);
  gsize         length = 0;
  const guint8 *data = g_bytes_get_data (png, &length);

  hg_test_write_file (path, data, (gssize) length);
}

/* A Windows bitmap that says it is 30000 × 30000, named .png. */
void
hg_test_bad_bmp_as_png (const char *path)
{
  guint8 bmp[54] = { 'B', 'M' };

  bmp[10] = 54;
  bmp[14] = 40;
  bmp[18] = 0x30, bmp[19] = 0x75; /* width 30000 */
  bmp[22] = 0x30, bmp[23] = 0x75; /* height 30000 */
  bmp[26] = 1;
  bmp[28] = 24;
  hg_test_write_file (path, bmp, sizeof bmp);
}

/* ---- patch folders ------------------------------------------------------ */

static const HgTestPatch good_patches[] = {
  { 1, 1, 50, 50, 0 },
  { 51, 1, 50, 50, 1 },
};

/* Good patches, and a named pipe where a third patch should be. */
void
hg_test_bad_folder_with_fifo (const char *path)
{
  g_autofree char *fifo = g_build_filename (path, "1", "77_idx5_x1_y51_class1.png", NULL);

  hg_test_write_patch_folder (path, "77", good_patches, G_N_ELEMENTS (good_patches));
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
}

/* Good patches, and a link from inside the folder to the folder itself. */
void
hg_test_bad_folder_with_loop (const char *path)
{
  g_autofree char *loop = g_build_filename (path, "0", "again", NULL);

  hg_test_write_patch_folder (path, "77", good_patches, G_N_ELEMENTS (good_patches));
  g_assert_cmpint (symlink ("..", loop), ==, 0);
}

void
hg_test_bad_folder_absurd_coordinate (const char *path)
{
  g_autofree char *file = g_build_filename (path, "0", "77_idx5_x4294967297_y1_class0.png", NULL);

  hg_test_write_patch_folder (path, "77", good_patches, G_N_ELEMENTS (good_patches));
  hg_test_write_file (file, "x", 1);
}

void
hg_test_bad_folder_huge_patch (const char *path)
{
  g_autofree char *file = g_build_filename (path, "0", "77_idx5_x101_y1_class0.png", NULL);

  hg_test_write_patch_folder (path, "77", good_patches, G_N_ELEMENTS (good_patches));
  hg_test_bad_png_header (file, 2000, 2000);
}
