/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/histoguard.h"

#define SIDE 6
#define PLANE (SIDE * SIDE)

static void
fill_tissue (float *chw)
{
  /* Pinkish-purple, distinct values so permutations are visible. */
  for (int i = 0; i < PLANE; i++)
    {
      chw[i] = 0.55f + 0.01f * i;
      chw[PLANE + i] = 0.25f + 0.005f * i;
      chw[2 * PLANE + i] = 0.60f + 0.008f * i;
    }
}

static int
compare_floats (const void *a,
                const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

static void
test_augment_deterministic (void)
{
  HgAugment aug = HG_AUGMENT_INIT_DEFAULT;
  float     a[3 * PLANE], b[3 * PLANE], c[3 * PLANE];
  gboolean  any_differs = FALSE;

  for (guint64 index = 0; index < 20; index++)
    {
      fill_tissue (a);
      fill_tissue (b);
      fill_tissue (c);
      hg_augment_apply (&aug, 7, index, a, SIDE, SIDE);
      hg_augment_apply (&aug, 7, index, b, SIDE, SIDE);
      hg_augment_apply (&aug, 8, index, c, SIDE, SIDE);
      g_assert_cmpmem (a, sizeof a, b, sizeof b);
      any_differs = any_differs || memcmp (a, c, sizeof a) != 0;
      for (int i = 0; i < 3 * PLANE; i++)
        g_assert_true (a[i] >= 0.0f && a[i] <= 1.0f);
    }
  g_assert_true (any_differs);
}

static void
test_augment_geometry_permutes (void)
{
  /* Without stain jitter every output is a rearrangement of the input, the
   * same one in all three planes, and all eight symmetries occur. */
  HgAugment   aug = { TRUE, TRUE, 0.0f, 0.0f };
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  float       in[3 * PLANE], out[3 * PLANE], s_in[PLANE], s_out[PLANE];

  fill_tissue (in);
  for (guint64 index = 0; index < 200; index++)
    {
      int where = -1;

      memcpy (out, in, sizeof in);
      hg_augment_apply (&aug, 1, index, out, SIDE, SIDE);
      for (int c = 0; c < 3; c++)
        {
          memcpy (s_in, in + c * PLANE, sizeof s_in);
          memcpy (s_out, out + c * PLANE, sizeof s_out);
          qsort (s_in, PLANE, sizeof (float), compare_floats);
          qsort (s_out, PLANE, sizeof (float), compare_floats);
          g_assert_cmpmem (s_in, sizeof s_in, s_out, sizeof s_out);
        }
      /* Where did pixel 0 (top-left) and pixel 1 go? Identifies the symmetry. */
      for (int i = 0; i < PLANE; i++)
        if (out[i] == in[0])
          where = i;
      for (int i = 0; i < PLANE; i++)
        if (out[i] == in[1])
          g_hash_table_add (seen, g_strdup_printf ("%d-%d", where, i));
      for (int i = 0; i < PLANE; i++)
        {
          /* Planes move together. */
          int k;

          for (k = 0; k < PLANE && in[k] != out[i]; k++)
            ;
          g_assert_cmpint (k, <, PLANE);
          g_assert_cmpfloat (out[PLANE + i], ==, in[PLANE + k]);
          g_assert_cmpfloat (out[2 * PLANE + i], ==, in[2 * PLANE + k]);
        }
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 8);
  g_hash_table_unref (seen);
}

static void
test_augment_non_square (void)
{
  /* 3×2: only flips and half turns; never out of bounds. */
  HgAugment aug = { TRUE, TRUE, 0.0f, 0.0f };
  float     in[3 * 6], out[3 * 6];

  for (int i = 0; i < 18; i++)
    in[i] = i / 18.0f;
  for (guint64 index = 0; index < 50; index++)
    {
      memcpy (out, in, sizeof in);
      hg_augment_apply (&aug, 3, index, out, 3, 2);
      for (int i = 0; i < 6; i++)
        g_assert_true (out[i] < 6 / 18.0f);
    }
}

static void
test_augment_stain_is_mild (void)
{
  /* The default jitter moves a pixel by a few percent at most; turned off
   * it is the identity (up to float rounding of log/exp). */
  HgAugment mild = { FALSE, FALSE, 0.05f, 0.02f };
  HgAugment none = { FALSE, FALSE, 0.0f, 0.0f };
  float     in[3 * PLANE], out[3 * PLANE];
  float     worst = 0;

  fill_tissue (in);
  memcpy (out, in, sizeof in);
  hg_augment_apply (&none, 5, 0, out, SIDE, SIDE);
  g_assert_cmpmem (out, sizeof out, in, sizeof in);

  for (guint64 index = 0; index < 100; index++)
    {
      memcpy (out, in, sizeof in);
      hg_augment_apply (&mild, 5, index, out, SIDE, SIDE);
      for (int i = 0; i < 3 * PLANE; i++)
        worst = MAX (worst, fabsf (out[i] - in[i]));
    }
  g_test_message ("largest change: %.4f", worst);
  g_assert_cmpfloat (worst, >, 0.005f);
  g_assert_cmpfloat (worst, <, 0.08f);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/augment/deterministic", test_augment_deterministic);
  g_test_add_func ("/hg/augment/geometry-permutes", test_augment_geometry_permutes);
  g_test_add_func ("/hg/augment/non-square", test_augment_non_square);
  g_test_add_func ("/hg/augment/stain-is-mild", test_augment_stain_is_mild);

  return g_test_run ();
}
