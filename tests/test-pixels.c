/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/pixels/argb32-roundtrip", test_pixels_argb32_roundtrip);
  g_test_add_func ("/hg/pixels/argb32-transparent-is-white", test_pixels_argb32_transparent_is_white);
  g_test_add_func ("/hg/pixels/rgb8-padding-and-alpha", test_pixels_rgb8_padding_and_alpha);
  g_test_add_func ("/hg/pixels/clamp", test_pixels_clamp);

  return g_test_run ();
}
