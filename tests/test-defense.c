/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-defense.h"
#include "histoguard/hg-error.h"
#include "histoguard/hg-pixels.h"

typedef struct
{
  int    width, height;
  float *chw;
} Image;

static void
image_free (Image *image)
{
  g_free (image->chw);
  g_free (image);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Image, image_free)

static Image *
image_new (int width,
           int height)
{
  Image *image = g_new0 (Image, 1);

  image->width = width;
  image->height = height;
  image->chw = g_new0 (float, (gsize) 3 * width * height);
  return image;
}

static gsize
image_floats (const Image *image)
{
  return (gsize) 3 * image->width * image->height;
}

static Image *
load_fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "defense", name, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new_from_file (path, &error);
  Image *image;

  g_assert_no_error (error);
  image = image_new (gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf));
  hg_pixels_rgb8_to_chw (gdk_pixbuf_get_pixels (pixbuf), gdk_pixbuf_get_rowstride (pixbuf),
                         gdk_pixbuf_get_n_channels (pixbuf), image->width, image->height, image->chw);
  return image;
}

/* A smooth synthetic picture with edges and some texture, on the 8-bit grid. */
static Image *
synthetic_image (int     width,
                 int     height,
                 guint32 seed)
{
  Image *image = image_new (width, height);
  GRand *rand = g_rand_new_with_seed (seed);
  gsize  plane = (gsize) width * height;

  for (int c = 0; c < 3; c++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        {
          double v = 0.5 + 0.3 * sin (0.3 * x + c) * cos (0.2 * y) + (x > width / 2 ? 0.15 : -0.1);

          v += g_rand_double_range (rand, -0.05, 0.05);
          image->chw[c * plane + (gsize) y * width + x] = (float) (rint (CLAMP (v, 0, 1) * 255) / 255);
        }
  g_rand_free (rand);
  return image;
}

/* What GdkPixbuf's libjpeg makes of the image at this quality. */
static Image *
libjpeg_round_trip (const Image *image,
                    int          quality)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, image->width, image->height);
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type ("jpeg", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *buffer = NULL;
  g_autofree char *q = g_strdup_printf ("%d", quality);
  gsize            length;
  GdkPixbuf       *decoded;
  Image           *out = image_new (image->width, image->height);

  hg_pixels_chw_to_rgb8 (image->chw, image->width, image->height,
                         gdk_pixbuf_get_pixels (pixbuf), gdk_pixbuf_get_rowstride (pixbuf));
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "jpeg", &error, "quality", q, NULL);
  g_assert_no_error (error);
  gdk_pixbuf_loader_write (loader, (const guchar *) buffer, length, &error);
  g_assert_no_error (error);
  gdk_pixbuf_loader_close (loader, &error);
  g_assert_no_error (error);
  decoded = gdk_pixbuf_loader_get_pixbuf (loader);
  hg_pixels_rgb8_to_chw (gdk_pixbuf_get_pixels (decoded), gdk_pixbuf_get_rowstride (decoded),
                         gdk_pixbuf_get_n_channels (decoded), out->width, out->height, out->chw);
  return out;
}

static double
mean_abs_diff_255 (const float *a,
                   const float *b,
                   gsize        n,
                   double      *max_out)
{
  double sum = 0, max = 0;

  for (gsize i = 0; i < n; i++)
    {
      double d = fabs ((double) a[i] - b[i]) * 255.0;

      sum += d;
      max = MAX (max, d);
    }
  if (max_out != NULL)
    *max_out = max;
  return sum / n;
}

static void
check_jpeg_against_libjpeg (const Image *image,
                            const char  *what)
{
  static const int qualities[] = { 10, 30, 50, 75, 90, 100 };

  for (gsize q = 0; q < G_N_ELEMENTS (qualities); q++)
    {
      g_autoptr (Image) ours = image_new (image->width, image->height);
      g_autoptr (Image) theirs = libjpeg_round_trip (image, qualities[q]);
      gsize  n = image_floats (image);
      double max_diff, diff, distortion;

      hg_jpeg_round_trip (image->chw, image->width, image->height, qualities[q], ours->chw);
      diff = mean_abs_diff_255 (ours->chw, theirs->chw, n, &max_diff);
      distortion = mean_abs_diff_255 (image->chw, theirs->chw, n, NULL);
      g_test_message ("%s q=%d: mean |ours - libjpeg| %.3f levels (max %.0f); JPEG distortion %.3f",
                      what, qualities[q], diff, max_diff, distortion);

      /* Measured: mean 0.00-0.48 levels, max <= 11 (libjpeg's integer DCT
       * rounds a coefficient the other way now and then). */
      g_assert_cmpfloat (diff, <, 0.6);
      g_assert_cmpfloat (max_diff, <=, 12);
      /* And far below what JPEG itself changes, except at quality 100
       * where both are tiny. */
      if (qualities[q] < 100)
        g_assert_cmpfloat (diff, <=, 0.2 * distortion + 0.01);
      /* The output is on the 8-bit grid. */
      for (gsize i = 0; i < n; i++)
        g_assert_cmpfloat (fabsf (ours->chw[i] * 255 - rintf (ours->chw[i] * 255)), <, 1e-3);
    }
}

static void
test_jpeg_matches_libjpeg (void)
{
  static const char *fixtures[] = { "idc-class0.png", "idc-class1.png", "idc-edge.png" };

  for (gsize f = 0; f < G_N_ELEMENTS (fixtures); f++)
    {
      g_autoptr (Image) image = load_fixture (fixtures[f]);

      check_jpeg_against_libjpeg (image, fixtures[f]);
    }
}

static void
test_jpeg_odd_sizes (void)
{
  /* Sizes that are not multiples of the 16-pixel MCU, including odd
   * ones, exercise the edge replication on every side. */
  static const int sizes[][2] = { { 37, 23 }, { 8, 8 }, { 1, 1 }, { 17, 50 }, { 50, 9 } };

  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr (Image) image = synthetic_image (sizes[s][0], sizes[s][1], 7 + s);
      g_autofree char *what = g_strdup_printf ("%dx%d", sizes[s][0], sizes[s][1]);

      check_jpeg_against_libjpeg (image, what);
    }
}

static void
test_jpeg_quality_order (void)
{
  g_autoptr (Image) image = load_fixture ("idc-class1.png");
  gsize  n = image_floats (image);
  double last = INFINITY;

  /* Higher quality, smaller change. */
  for (int q = 10; q <= 100; q += 30)
    {
      g_autoptr (Image) out = image_new (image->width, image->height);
      double diff;

      hg_jpeg_round_trip (image->chw, image->width, image->height, q, out->chw);
      diff = mean_abs_diff_255 (image->chw, out->chw, n, NULL);
      g_assert_cmpfloat (diff, <, last);
      last = diff;
    }
  /* Even at 100, 4:2:0 chroma subsampling costs a few levels. */
  g_assert_cmpfloat (last, <, 4.0);
}

/* Reference median with the same mirrored edges, by full sorting. */
static int
compare_float (gconstpointer a,
               gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

static int
reflect (int i,
         int n)
{
  while (i < 0 || i >= n)
    i = i < 0 ? -i - 1 : 2 * n - i - 1;
  return i;
}

static void
test_median_reference (void)
{
  static const int kernels[] = { 3, 5, 7 };
  g_autoptr (Image) image = synthetic_image (13, 9, 3);
  gsize plane = 13 * 9;

  for (gsize k = 0; k < G_N_ELEMENTS (kernels); k++)
    {
      g_autoptr (Image) out = image_new (13, 9);
      int   r = kernels[k] / 2;
      float window[49];

      hg_median_filter (image->chw, 13, 9, kernels[k], out->chw);
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 9; y++)
          for (int x = 0; x < 13; x++)
            {
              int n = 0;

              for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++)
                  window[n++] = image->chw[c * plane + reflect (y + dy, 9) * 13 + reflect (x + dx, 13)];
              qsort (window, n, sizeof (float), compare_float);
              g_assert_cmpfloat (out->chw[c * plane + y * 13 + x], ==, window[n / 2]);
            }
    }
}

static void
test_median_hand (void)
{
  /* One channel of a 3×3 image (all three channels equal). The centre's
   * window is the whole image: median of 0..8 is 4. The top-left
   * corner's mirrored window is {0,0,1, 0,0,1, 3,3,4}: median 1. */
  g_autoptr (Image) image = image_new (3, 3);
  g_autoptr (Image) out = image_new (3, 3);

  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 9; i++)
      image->chw[c * 9 + i] = i / 8.0f;
  hg_median_filter (image->chw, 3, 3, 3, out->chw);
  for (int c = 0; c < 3; c++)
    {
      g_assert_cmpfloat (out->chw[c * 9 + 4], ==, 4 / 8.0f);
      g_assert_cmpfloat (out->chw[c * 9 + 0], ==, 1 / 8.0f);
    }

  /* An isolated outlier disappears. */
  for (gsize i = 0; i < 27; i++)
    image->chw[i] = 0.5f;
  image->chw[4] = 1.0f;
  hg_median_filter (image->chw, 3, 3, 3, out->chw);
  for (gsize i = 0; i < 27; i++)
    g_assert_cmpfloat (out->chw[i], ==, 0.5f);
}

static void
test_blur (void)
{
  g_autoptr (Image) flat = image_new (11, 7);
  g_autoptr (Image) out = image_new (11, 7);
  g_autoptr (Image) image = synthetic_image (11, 7, 5);
  gsize  n = image_floats (flat);
  double before = 0, after = 0;

  /* A constant image is unchanged (normalised kernel, mirrored edges). */
  for (gsize i = 0; i < n; i++)
    flat->chw[i] = 0.25f;
  hg_gaussian_blur (flat->chw, 11, 7, 1.5, out->chw);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (out->chw[i], 0.25f, 1e-6);

  /* It smooths: less energy in horizontal differences. */
  hg_gaussian_blur (image->chw, 11, 7, 1.0, out->chw);
  for (gsize i = 0; i + 1 < n; i++)
    if ((i + 1) % 11 != 0)
      {
        before += fabs (image->chw[i + 1] - image->chw[i]);
        after += fabs (out->chw[i + 1] - out->chw[i]);
      }
  g_assert_cmpfloat (after, <, 0.7 * before);

  /* A single impulse spreads into the normalised 2-D Gaussian. */
  memset (flat->chw, 0, n * sizeof (float));
  flat->chw[3 * 11 + 5] = 1.0f;
  hg_gaussian_blur (flat->chw, 11, 7, 1.0, out->chw);
  {
    double g0 = 1.0, g1 = exp (-0.5), sum = 0;

    for (int i = -4; i <= 4; i++)
      sum += exp (-0.5 * i * i);
    g_assert_cmpfloat_with_epsilon (out->chw[3 * 11 + 5], g0 * g0 / (sum * sum), 1e-6);
    g_assert_cmpfloat_with_epsilon (out->chw[3 * 11 + 6], g0 * g1 / (sum * sum), 1e-6);
    g_assert_cmpfloat_with_epsilon (out->chw[2 * 11 + 6], g1 * g1 / (sum * sum), 1e-6);
  }
}

/* Found by fuzz/fuzz-defense: the float taps sum to 1 only up to
 * rounding, and a white image blurred came out at 1 + 2⁻²³. */
static void
test_blur_stays_in_range (void)
{
  static const double sigmas[] = { 0.3, 1.0, 2.5, 10.0 };
  g_autoptr (Image) white = image_new (16, 16);
  g_autoptr (Image) out = image_new (16, 16);
  gsize n = image_floats (white);

  for (gsize i = 0; i < n; i++)
    white->chw[i] = 1.0f;
  for (gsize s = 0; s < G_N_ELEMENTS (sigmas); s++)
    {
      hg_gaussian_blur (white->chw, 16, 16, sigmas[s], out->chw);
      for (gsize i = 0; i < n; i++)
        if (!(out->chw[i] >= 0.0f && out->chw[i] <= 1.0f))
          g_error ("blur:%g of a white image gives %.9g at %" G_GSIZE_FORMAT, sigmas[s],
                   out->chw[i], i);
    }
}

static void
test_blur_backward_is_transpose (void)
{
  /* <A x, y> = <x, Aᵀ y> for random x, y; with sigma 2.5 the kernel is
   * wider than the image and reflects more than once. */
  static const double sigmas[] = { 0.5, 1.0, 2.5 };
  GRand              *rand = g_rand_new_with_seed (11);
  g_autoptr (Image) x = image_new (9, 6);
  g_autoptr (Image) y = image_new (9, 6);
  g_autoptr (Image) ax = image_new (9, 6);
  g_autoptr (Image) aty = image_new (9, 6);
  gsize n = image_floats (x);

  for (gsize i = 0; i < n; i++)
    {
      x->chw[i] = (float) g_rand_double (rand);
      y->chw[i] = (float) g_rand_double_range (rand, -1, 1);
    }
  for (gsize s = 0; s < G_N_ELEMENTS (sigmas); s++)
    {
      double lhs = 0, rhs = 0;

      hg_gaussian_blur (x->chw, 9, 6, sigmas[s], ax->chw);
      hg_gaussian_blur_backward (y->chw, 9, 6, sigmas[s], aty->chw);
      for (gsize i = 0; i < n; i++)
        {
          lhs += (double) ax->chw[i] * y->chw[i];
          rhs += (double) x->chw[i] * aty->chw[i];
        }
      g_assert_cmpfloat_with_epsilon (lhs, rhs, 1e-4 * fabs (lhs) + 1e-5);
    }
  g_rand_free (rand);
}

static void
test_bits (void)
{
  static const float in[] = { 0.0f, 0.3f, 0.5f, 0.84f, 1.0f, -0.2f, 1.3f };
  /* 2 bits: levels 0, 1/3, 2/3, 1. 0.3·3 = 0.9 → 1/3; 0.5·3 = 1.5 → 2/3
   * (rintf rounds half to even: 2); 0.84·3 = 2.52 → 1. */
  static const float two[] = { 0.0f, 1 / 3.0f, 2 / 3.0f, 1.0f, 1.0f, 0.0f, 1.0f };
  static const float one[] = { 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f };
  float              out[G_N_ELEMENTS (in)];
  g_autoptr (Image) image = load_fixture ("idc-class0.png");
  g_autoptr (Image) same = image_new (image->width, image->height);

  hg_bit_depth_reduce (in, G_N_ELEMENTS (in), 2, out);
  for (gsize i = 0; i < G_N_ELEMENTS (in); i++)
    g_assert_cmpfloat_with_epsilon (out[i], two[i], 1e-7);
  hg_bit_depth_reduce (in, G_N_ELEMENTS (in), 1, out);
  for (gsize i = 0; i < G_N_ELEMENTS (in); i++)
    g_assert_cmpfloat (out[i], ==, one[i]);

  /* 8 bits leaves an 8-bit image alone. */
  hg_bit_depth_reduce (image->chw, image_floats (image), 8, same->chw);
  for (gsize i = 0; i < image_floats (image); i++)
    g_assert_cmpfloat_with_epsilon (same->chw[i], image->chw[i], 1e-7);
}

static double
total_variation (const Image *image)
{
  gsize  plane = (gsize) image->width * image->height;
  double tv = 0;

  for (int c = 0; c < 3; c++)
    for (int y = 0; y < image->height; y++)
      for (int x = 0; x < image->width; x++)
        {
          const float *p = image->chw + c * plane + (gsize) y * image->width + x;
          double       gx = x + 1 < image->width ? p[1] - p[0] : 0;
          double       gy = y + 1 < image->height ? p[image->width] - p[0] : 0;

          tv += sqrt (gx * gx + gy * gy);
        }
  return tv;
}

static void
test_tv (void)
{
  g_autoptr (Image) clean = image_new (24, 24);
  g_autoptr (Image) noisy = image_new (24, 24);
  g_autoptr (Image) light = image_new (24, 24);
  g_autoptr (Image) strong = image_new (24, 24);
  g_autoptr (Image) flat = image_new (24, 24);
  g_autoptr (Image) out = image_new (24, 24);
  GRand *rand = g_rand_new_with_seed (3);
  gsize  n = image_floats (clean);

  /* Piecewise-constant image (TV's ideal case) plus noise. */
  for (gsize i = 0; i < n; i++)
    {
      int x = (i % 24), y = (i / 24) % 24;

      clean->chw[i] = (x < 12) ^ (y < 8) ? 0.7f : 0.3f;
      noisy->chw[i] = CLAMP (clean->chw[i] + (float) g_rand_double_range (rand, -0.15, 0.15), 0.0f, 1.0f);
      flat->chw[i] = 0.4f;
    }
  g_rand_free (rand);

  hg_tv_denoise (noisy->chw, 24, 24, 0.05, light->chw);
  hg_tv_denoise (noisy->chw, 24, 24, 0.2, strong->chw);
  /* Denoising brings the image closer to the clean one ... */
  g_assert_cmpfloat (mean_abs_diff_255 (light->chw, clean->chw, n, NULL), <,
                     0.7 * mean_abs_diff_255 (noisy->chw, clean->chw, n, NULL));
  /* ... and a larger weight smooths more. */
  g_assert_cmpfloat (total_variation (light), <, 0.5 * total_variation (noisy));
  g_assert_cmpfloat (total_variation (strong), <, total_variation (light));
  for (gsize i = 0; i < n; i++)
    g_assert_true (strong->chw[i] >= 0.0f && strong->chw[i] <= 1.0f);

  /* A constant image is a fixed point. */
  hg_tv_denoise (flat->chw, 24, 24, 0.1, out->chw);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (out->chw[i], 0.4f, 1e-6);
}

static void
test_noise (void)
{
  g_autoptr (Image) grey = image_new (40, 40);
  g_autoptr (Image) a = image_new (40, 40);
  g_autoptr (Image) b = image_new (40, 40);
  g_autoptr (Image) c = image_new (40, 40);
  gsize  n = image_floats (grey);
  double sum = 0, sum2 = 0;

  for (gsize i = 0; i < n; i++)
    grey->chw[i] = 0.5f;
  hg_gaussian_noise (grey->chw, n, 8, 42, 0, a->chw);
  hg_gaussian_noise (grey->chw, n, 8, 42, 0, b->chw);
  hg_gaussian_noise (grey->chw, n, 8, 42, 1, c->chw);
  g_assert_cmpmem (a->chw, n * sizeof (float), b->chw, n * sizeof (float));
  g_assert_cmpint (memcmp (a->chw, c->chw, n * sizeof (float)), !=, 0);
  for (gsize i = 0; i < n; i++)
    {
      double d = (a->chw[i] - 0.5) * 255;

      sum += d;
      sum2 += d * d;
    }
  /* 4800 draws: the mean is within 4 standard errors of 0 and the
   * standard deviation within 5% of 8. */
  g_assert_cmpfloat (fabs (sum / n), <, 4 * 8 / sqrt (n));
  g_assert_cmpfloat (fabs (sqrt (sum2 / n) - 8), <, 0.4);

  /* Clipped to the box. */
  hg_gaussian_noise (grey->chw, n, 128, 1, 0, a->chw);
  for (gsize i = 0; i < n; i++)
    g_assert_true (a->chw[i] >= 0.0f && a->chw[i] <= 1.0f);
}

static void
test_parse (void)
{
  static const struct
  {
    const char *spec, *canonical;
    guint       n;
    gboolean    randomized, differentiable;
  } good[] = {
    { "none", "none", 0, FALSE, TRUE },
    { "NONE", "none", 0, FALSE, TRUE },
    { "jpeg:75", "jpeg:75", 1, FALSE, FALSE },
    { "jpeg", "jpeg:75", 1, FALSE, FALSE },
    { "median:3", "median:3", 1, FALSE, FALSE },
    { "blur:1.50", "blur:1.5", 1, FALSE, TRUE },
    { "bits:4", "bits:4", 1, FALSE, FALSE },
    { "tv:0.1", "tv:0.1", 1, FALSE, FALSE },
    { "noise:8", "noise:8", 1, TRUE, TRUE },
    { "Jpeg:50+median:5+bits:5", "jpeg:50+median:5+bits:5", 3, FALSE, FALSE },
    { "blur:0.5+noise:4", "blur:0.5+noise:4", 2, TRUE, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgDefense) defense = hg_defense_parse (good[i].spec, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (hg_defense_get_spec (defense), ==, good[i].canonical);
      g_assert_cmpuint (hg_defense_get_n_transforms (defense), ==, good[i].n);
      g_assert_cmpint (hg_defense_is_identity (defense), ==, good[i].n == 0);
      g_assert_cmpint (hg_defense_is_randomized (defense), ==, good[i].randomized);
      g_assert_cmpint (hg_defense_is_differentiable (defense), ==, good[i].differentiable);
    }

  {
    g_autoptr (HgDefense) d = hg_defense_parse ("median:5+blur:2", NULL);

    g_assert_cmpint (hg_defense_get_transform (d, 0)->kind, ==, HG_TRANSFORM_MEDIAN);
    g_assert_cmpfloat (hg_defense_get_transform (d, 0)->param, ==, 5);
    g_assert_cmpint (hg_defense_get_transform (d, 1)->kind, ==, HG_TRANSFORM_BLUR);
    g_assert_cmpfloat (hg_defense_get_transform (d, 1)->param, ==, 2);
  }
}

static void
test_parse_errors (void)
{
  static const struct
  {
    const char *spec, *message;
  } bad[] = {
    { "", "empty defense (known: none, jpeg:QUALITY, median:K, blur:SIGMA, bits:B, tv:WEIGHT, noise:SIGMA)" },
    { "gzip:9", "unknown defense 'gzip' in 'gzip:9' (known: none, jpeg:QUALITY, median:K, blur:SIGMA, bits:B, tv:WEIGHT, noise:SIGMA; chain with '+')" },
    { "jpeg:75+foo", "unknown defense 'foo' in 'jpeg:75+foo' (known: none, jpeg:QUALITY, median:K, blur:SIGMA, bits:B, tv:WEIGHT, noise:SIGMA; chain with '+')" },
    { "jpeg:0", "jpeg quality must be from 1 to 100, got '0' in 'jpeg:0'" },
    { "jpeg:101", "jpeg quality must be from 1 to 100, got '101' in 'jpeg:101'" },
    { "jpeg:7.5", "jpeg quality must be a whole number, got '7.5' in 'jpeg:7.5'" },
    { "jpeg:high", "jpeg quality 'high' in 'jpeg:high' is not a number" },
    { "jpeg:", "jpeg quality '' in 'jpeg:' is not a number" },
    { "median:4", "median kernel size must be odd, got '4' in 'median:4'" },
    { "median:1", "median kernel size must be from 3 to 15, got '1' in 'median:1'" },
    { "blur:0", "blur sigma (pixels) must be above 0 and at most 10, got '0' in 'blur:0'" },
    { "blur:-1", "blur sigma (pixels) must be above 0 and at most 10, got '-1' in 'blur:-1'" },
    { "blur:nan", "blur sigma (pixels) 'nan' in 'blur:nan' is not a number" },
    { "bits:9", "bits bit depth must be from 1 to 8, got '9' in 'bits:9'" },
    { "jpeg:75++bits:4", "empty step in defense chain 'jpeg:75++bits:4'" },
    { "none+jpeg:75", "'none' cannot be part of the chain 'none+jpeg:75'" },
    { "bits:1+bits:2+bits:3+bits:4+bits:5+bits:6+bits:7+bits:8+bits:8",
      "defense chain 'bits:1+bits:2+bits:3+bits:4+bits:5+bits:6+bits:7+bits:8+bits:8' is longer than 8 steps" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      HgDefense *defense = hg_defense_parse (bad[i].spec, &error);

      g_assert_null (defense);
      g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, ==, bad[i].message);
    }
}

static void
test_parse_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = hg_defense_parse_list ("none,jpeg:75, median:3+bits:4", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpstr (hg_defense_get_spec (list->pdata[0]), ==, "none");
  g_assert_cmpstr (hg_defense_get_spec (list->pdata[1]), ==, "jpeg:75");
  g_assert_cmpstr (hg_defense_get_spec (list->pdata[2]), ==, "median:3+bits:4");

  g_assert_null (hg_defense_parse_list ("none,,jpeg", &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (hg_defense_parse_list ("none,median:4", &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "median kernel size must be odd, got '4' in 'median:4'");
}

static void
test_chain_apply (void)
{
  g_autoptr (HgDefense) chain = hg_defense_parse ("jpeg:60+median:3+bits:5", NULL);
  g_autoptr (HgDefense) none = hg_defense_parse ("none", NULL);
  g_autoptr (Image) a = load_fixture ("idc-class0.png");
  g_autoptr (Image) b = load_fixture ("idc-class1.png");
  int               w = a->width, h = a->height;
  gsize             floats = image_floats (a);
  g_autofree float *batch = g_new (float, 2 * floats);
  g_autofree float *out = g_new (float, 2 * floats);
  g_autofree float *step1 = g_new (float, floats);
  g_autofree float *step2 = g_new (float, floats);
  g_autofree float *expected = g_new (float, floats);

  memcpy (batch, a->chw, floats * sizeof (float));
  memcpy (batch + floats, b->chw, floats * sizeof (float));

  /* The chain is the composition, left to right, image by image. */
  hg_defense_apply (chain, batch, 2, w, h, 0, out);
  for (int i = 0; i < 2; i++)
    {
      hg_jpeg_round_trip (batch + i * floats, w, h, 60, step1);
      hg_median_filter (step1, w, h, 3, step2);
      hg_bit_depth_reduce (step2, floats, 5, expected);
      g_assert_cmpmem (out + i * floats, floats * sizeof (float), expected, floats * sizeof (float));
    }

  /* In place gives the same. */
  hg_defense_apply (chain, batch, 2, w, h, 0, batch);
  g_assert_cmpmem (batch, 2 * floats * sizeof (float), out, 2 * floats * sizeof (float));

  /* "none" copies. */
  hg_defense_apply (none, a->chw, 1, w, h, 0, out);
  g_assert_cmpmem (out, floats * sizeof (float), a->chw, floats * sizeof (float));
}

static void
test_chain_apply_in_place_even (void)
{
  /* Two steps in place: the first step must not read what it writes. */
  g_autoptr (HgDefense) chain = hg_defense_parse ("median:3+blur:1", NULL);
  g_autoptr (Image) a = load_fixture ("idc-edge.png");
  gsize             floats = image_floats (a);
  g_autofree float *copy = g_memdup2 (a->chw, floats * sizeof (float));
  g_autofree float *out = g_new (float, floats);

  hg_defense_apply (chain, copy, 1, a->width, a->height, 0, out);
  hg_defense_apply (chain, copy, 1, a->width, a->height, 0, copy);
  g_assert_cmpmem (copy, floats * sizeof (float), out, floats * sizeof (float));
}

static void
test_chain_random_streams (void)
{
  /* Image i of a batch draws from stream i: the same image gets different
   * noise at different positions, and the same noise for the same seed. */
  g_autoptr (HgDefense) noise = hg_defense_parse ("noise:8", NULL);
  g_autoptr (Image) a = load_fixture ("idc-class0.png");
  gsize             floats = image_floats (a);
  g_autofree float *batch = g_new (float, 2 * floats);
  g_autofree float *out1 = g_new (float, 2 * floats);
  g_autofree float *out2 = g_new (float, 2 * floats);
  g_autofree float *single = g_new (float, floats);

  memcpy (batch, a->chw, floats * sizeof (float));
  memcpy (batch + floats, a->chw, floats * sizeof (float));
  hg_defense_apply (noise, batch, 2, a->width, a->height, 9, out1);
  hg_defense_apply (noise, batch, 2, a->width, a->height, 9, out2);
  g_assert_cmpmem (out1, 2 * floats * sizeof (float), out2, 2 * floats * sizeof (float));
  g_assert_cmpint (memcmp (out1, out1 + floats, floats * sizeof (float)), !=, 0);
  hg_gaussian_noise (a->chw, floats, 8, 9, 1, single);
  g_assert_cmpmem (out1 + floats, floats * sizeof (float), single, floats * sizeof (float));
}

static void
test_chain_backward (void)
{
  g_autoptr (HgDefense) bpda = hg_defense_parse ("jpeg:75+median:3+bits:4+tv:0.1+noise:4", NULL);
  g_autoptr (HgDefense) blur = hg_defense_parse ("bits:4+blur:1+jpeg:90+blur:2", NULL);
  GRand            *rand = g_rand_new_with_seed (5);
  gsize             floats = 3 * 12 * 10;
  g_autofree float *g = g_new (float, 2 * floats);
  g_autofree float *out = g_new (float, 2 * floats);
  g_autofree float *tmp = g_new (float, floats);
  g_autofree float *expected = g_new (float, floats);

  for (gsize i = 0; i < 2 * floats; i++)
    g[i] = (float) g_rand_double_range (rand, -1, 1);
  g_rand_free (rand);

  /* Straight through every non-differentiable step. */
  hg_defense_backward (bpda, g, 2, 12, 10, out);
  g_assert_cmpmem (out, 2 * floats * sizeof (float), g, 2 * floats * sizeof (float));

  /* Blur's transposes, in reverse order (they commute here, but the
   * order is still the chain's). */
  hg_defense_backward (blur, g, 2, 12, 10, out);
  for (int i = 0; i < 2; i++)
    {
      hg_gaussian_blur_backward (g + i * floats, 12, 10, 2, tmp);
      hg_gaussian_blur_backward (tmp, 12, 10, 1, expected);
      for (gsize j = 0; j < floats; j++)
        g_assert_cmpfloat_with_epsilon (out[i * floats + j], expected[j], 1e-6);
    }

  /* In place too. */
  hg_defense_backward (blur, g, 2, 12, 10, g);
  g_assert_cmpmem (g, 2 * floats * sizeof (float), out, 2 * floats * sizeof (float));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/defense/jpeg/matches-libjpeg", test_jpeg_matches_libjpeg);
  g_test_add_func ("/hg/defense/jpeg/odd-sizes", test_jpeg_odd_sizes);
  g_test_add_func ("/hg/defense/jpeg/quality-order", test_jpeg_quality_order);
  g_test_add_func ("/hg/defense/median/reference", test_median_reference);
  g_test_add_func ("/hg/defense/median/hand", test_median_hand);
  g_test_add_func ("/hg/defense/blur/values", test_blur);
  g_test_add_func ("/hg/defense/blur/stays-in-range", test_blur_stays_in_range);
  g_test_add_func ("/hg/defense/blur/backward-is-transpose", test_blur_backward_is_transpose);
  g_test_add_func ("/hg/defense/bits", test_bits);
  g_test_add_func ("/hg/defense/tv", test_tv);
  g_test_add_func ("/hg/defense/noise", test_noise);
  g_test_add_func ("/hg/defense/parse/good", test_parse);
  g_test_add_func ("/hg/defense/parse/errors", test_parse_errors);
  g_test_add_func ("/hg/defense/parse/list", test_parse_list);
  g_test_add_func ("/hg/defense/chain/apply", test_chain_apply);
  g_test_add_func ("/hg/defense/chain/apply-in-place", test_chain_apply_in_place_even);
  g_test_add_func ("/hg/defense/chain/random-streams", test_chain_random_streams);
  g_test_add_func ("/hg/defense/chain/backward", test_chain_backward);

  return g_test_run ();
}
