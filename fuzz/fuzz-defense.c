/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: defence chains as the command line and the app take
 * them ("none,jpeg:75,median:3+bits:4"), then each parsed chain applied
 * to, and back-propagated through, a small image.
 *
 * The first byte picks the image size (1 to 16 pixels a side: edges and
 * windows wider than the image are where filters go wrong); the rest is
 * the list. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

#define MAX_SIDE 16

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *text = NULL;
  static float     in[2 * 3 * MAX_SIDE * MAX_SIDE], out[2 * 3 * MAX_SIDE * MAX_SIDE];
  int              width, height;
  gsize            floats;

  if (size < 1)
    return 0;
  width = 1 + (data[0] & 0x0f);
  height = 1 + (data[0] >> 4);
  floats = (gsize) 3 * width * height;
  text = g_strndup ((const char *) data + 1, size - 1);

  list = hg_defense_parse_list (text, &error);
  if (list == NULL)
    {
      g_assert_true (error != NULL && error->domain == HG_ERROR);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, >=, 1);

  for (gsize i = 0; i < 2 * floats; i++)
    in[i] = (float) ((i * 37) % 256) / 255.0f;

  for (guint d = 0; d < list->len; d++)
    {
      HgDefense  *defense = g_ptr_array_index (list, d);
      const char *spec = hg_defense_get_spec (defense);
      g_autoptr (GError) again_error = NULL;
      g_autoptr (HgDefense) again = hg_defense_parse (spec, &again_error);

      /* The canonical spelling parses back to itself. */
      g_assert_no_error (again_error);
      g_assert_cmpstr (hg_defense_get_spec (again), ==, spec);
      g_assert_cmpuint (hg_defense_get_n_transforms (again), ==,
                        hg_defense_get_n_transforms (defense));
      g_assert_cmpuint (hg_defense_get_n_transforms (defense), <=, HG_DEFENSE_MAX_TRANSFORMS);

      hg_defense_apply (defense, in, 2, width, height, 7, out);
      for (gsize i = 0; i < 2 * floats; i++)
        g_assert_true (out[i] >= 0.0f && out[i] <= 1.0f);

      /* In place, too. */
      memcpy (out, in, 2 * floats * sizeof (float));
      hg_defense_apply (defense, out, 2, width, height, 7, out);
      for (gsize i = 0; i < 2 * floats; i++)
        g_assert_true (out[i] >= 0.0f && out[i] <= 1.0f);

      hg_defense_backward (defense, in, 2, width, height, out);
      for (gsize i = 0; i < 2 * floats; i++)
        g_assert_true (isfinite (out[i]));
    }
  return 0;
}
