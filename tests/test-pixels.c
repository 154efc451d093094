/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>

#include "histoguard/histoguard.h"

static void
test_pixels_argb32_roundtrip (void)
{
  /* Opaque pixels survive ARGB32 -> CHW -> ARGB32 exactly. */
  guint32 in[6] = { 0xff000000, 0xffffffff, 0xff102030, 0xff808080, 0xffe0a0c0, 0xff01fe7f };
  guint32 out[6] = { 0 };
  float   chw[3 * 6];

  hg_pixels_argb32_to_chw ((const guint8 *) in, 3 * 4, 3, 2, chw);
  g_assert_cmpfloat_with_epsilon (chw[2], 0x10 / 255.0f, 1e-7);      /* R of pixel 2 */
  g_assert_cmpfloat_with_epsilon (chw[6 + 2], 0x20 / 255.0f, 1e-7);  /* G */
  g_assert_cmpfloat_with_epsilon (chw[12 + 2], 0x30 / 255.0f, 1e-7); /* B */

  hg_pixels_chw_to_argb32 (chw, 3, 2, (guint8 *) out, 3 * 4);
  for (int i = 0; i < 6; i++)
    g_assert_cmphex (out[i], ==, in[i]);
}

static void
test_pixels_argb32_transparent_is_white (void)
{
  /* Fully transparent is white; half-transparent premultiplied black is grey. */
  guint32 in[2] = { 0x00000000, 0x80000000 };
  float   chw[3 * 2];

  hg_pixels_argb32_to_chw ((const guint8 *) in, 2 * 4, 2, 1, chw);
  for (int c = 0; c < 3; c++)
    {
      g_assert_cmpfloat_with_epsilon (chw[c * 2 + 0], 1.0f, 1e-7);
      g_assert_cmpfloat_with_epsilon (chw[c * 2 + 1], 1.0f - 128 / 255.0f, 1e-6);
    }
}

static void
test_pixels_rgb8_padding_and_alpha (void)
{
  /* Rowstride larger than the row: the padding must be skipped. */
  guint8 rgb[2 * 8] = { 10, 20, 30, 40, 50, 60, 0xee, 0xee,
                        70, 80, 90, 100, 110, 120, 0xee, 0xee };
  guint8 rgba[4] = { 0, 0, 0, 0 };
  guint8 back[2 * 6];
  float  chw[3 * 4];

  hg_pixels_rgb8_to_chw (rgb, 8, 3, 2, 2, chw);
  g_assert_cmpfloat_with_epsilon (chw[3], 100 / 255.0f, 1e-7);
  g_assert_cmpfloat_with_epsilon (chw[8 + 3], 120 / 255.0f, 1e-7);

  hg_pixels_chw_to_rgb8 (chw, 2, 2, back, 6);
  g_assert_cmpmem (back, 6, rgb, 6);
  g_assert_cmpmem (back + 6, 6, rgb + 8, 6);

  hg_pixels_rgb8_to_chw (rgba, 4, 4, 1, 1, chw);
  g_assert_cmpfloat (chw[0], ==, 1.0f);
}

static void
test_pixels_clamp (void)
{
  float  chw[3] = { -0.5f, 1.5f, NAN };
  guint8 out[3];

  hg_pixels_chw_to_rgb8 (chw, 1, 1, out, 3);
  g_assert_cmpuint (out[0], ==, 0);
  g_assert_cmpuint (out[1], ==, 255);
  g_assert_cmpuint (out[2], ==, 0);
}

static void
test_pixels_rgb8_to_argb32 (void)
{
  /* Every (colour, alpha) pair premultiplies to round (c * a / 255). */
  guint8  rgba[256 * 4];
  guint32 out[256];

  for (int a = 0; a < 256; a++)
    {
      for (int c = 0; c < 256; c++)
        {
          rgba[c * 4 + 0] = c;
          rgba[c * 4 + 1] = 255 - c;
          rgba[c * 4 + 2] = c / 2;
          rgba[c * 4 + 3] = a;
        }
      hg_pixels_rgb8_to_argb32 (rgba, sizeof rgba, 4, 256, 1, (guint8 *) out, sizeof out);
      for (int c = 0; c < 256; c++)
        {
          guint32 want = ((guint32) a << 24) | ((guint32) lround (c * a / 255.0) << 16) |
                         ((guint32) lround ((255 - c) * a / 255.0) << 8) | (guint32) lround ((c / 2) * a / 255.0);

          g_assert_cmphex (out[c], ==, want);
        }
    }

  /* RGB is opaque, and the rowstride padding is skipped. */
  {
    guint8  rgb[2 * 8] = { 1, 2, 3, 4, 5, 6, 0xee, 0xee, 7, 8, 9, 10, 11, 12, 0xee, 0xee };
    guint32 px[4];

    hg_pixels_rgb8_to_argb32 (rgb, 8, 3, 2, 2, (guint8 *) px, 8);
    g_assert_cmphex (px[0], ==, 0xff010203);
    g_assert_cmphex (px[3], ==, 0xff0a0b0c);
  }
}

static void
test_pixels_argb32_to_rgb8 (void)
{
  /* Opaque passes through; transparent is white; half-covered black is grey. */
  guint32 in[4] = { 0xff102030, 0x00000000, 0x80000000, 0x80400000 };
  guint8  out[12];

  hg_pixels_argb32_to_rgb8 ((const guint8 *) in, sizeof in, 4, 1, out, sizeof out);
  g_assert_cmpuint (out[0], ==, 0x10);
  g_assert_cmpuint (out[1], ==, 0x20);
  g_assert_cmpuint (out[2], ==, 0x30);
  g_assert_cmpuint (out[3], ==, 255);
  g_assert_cmpuint (out[6], ==, 127);
  g_assert_cmpuint (out[9], ==, 0x40 + 127);
  g_assert_cmpuint (out[10], ==, 127);
}

static void
test_image_ops (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgImage) image = hg_image_new (5, 3, &error);
  g_autoptr (HgImage) half = NULL;
  g_autoptr (HgImage) scaled = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *dir = g_dir_make_tmp ("hg-test-image-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "out.png", NULL);
  guint32         *px;

  g_assert_no_error (error);
  g_assert_cmpuint (hg_image_get_stride (image), ==, 20);
  px = (guint32 *) hg_image_get_mutable_data (image);
  for (int i = 0; i < 15; i++)
    px[i] = 0xff000000u | (guint32) (i * 10);

  /* 5 × 3 halves to 3 × 2; the odd edge averages what is there. */
  half = hg_image_downsample_2x (image, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (half), ==, 3);
  g_assert_cmpint (hg_image_get_height (half), ==, 2);
  g_assert_cmphex (((const guint32 *) hg_image_get_data (half))[0], ==, 0xff000000u | ((0 + 10 + 50 + 60 + 2) / 4));
  g_assert_cmphex (((const guint32 *) hg_image_get_data (half))[5], ==, 0xff000000u | 140);

  scaled = hg_image_scale (image, 10, 6, &error);
  g_assert_no_error (error);
  g_assert_cmpint (hg_image_get_width (scaled), ==, 10);

  bytes = hg_image_get_bytes (image);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, 60);

  g_assert_true (hg_image_save_png (image, png, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  g_remove (png);
  g_rmdir (dir);

  g_assert_null (hg_image_new (0, 5, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hg_image_new (G_MAXINT, G_MAXINT, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_TOO_LARGE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/pixels/argb32-roundtrip", test_pixels_argb32_roundtrip);
  g_test_add_func ("/hg/pixels/argb32-transparent-is-white", test_pixels_argb32_transparent_is_white);
  g_test_add_func ("/hg/pixels/rgb8-padding-and-alpha", test_pixels_rgb8_padding_and_alpha);
  g_test_add_func ("/hg/pixels/clamp", test_pixels_clamp);
  g_test_add_func ("/hg/pixels/rgb8-to-argb32", test_pixels_rgb8_to_argb32);
  g_test_add_func ("/hg/pixels/argb32-to-rgb8", test_pixels_argb32_to_rgb8);
  g_test_add_func ("/hg/image/ops", test_image_ops);

  return g_test_run ();
}
