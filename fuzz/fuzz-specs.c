/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the short specifications users type on the command
 * line: built-in architectures with options ("cnn:width=48,hidden=128"),
 * attack lists ("fgsm,pgd"), detector squeezer lists ("bits:5,median:3"),
 * and the named choices (trainer, colour maps, live explorer goals).
 *
 * The first byte picks the parser; the rest is the text. */
#include "config.h"

#include <string.h>

#include "histoguard/histoguard.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

static void
fuzz_arch (const char *spec)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgArch) arch = NULL;

  /* A path would read a file: that is fuzz-arch's business. */
  if (strchr (spec, '/') != NULL || g_str_has_suffix (spec, ".json"))
    return;

  arch = hg_arch_new (spec, &error);
  if (arch != NULL)
    {
      int h, w, c;

      g_assert_no_error (error);
      hg_arch_get_input_size (arch, &h, &w, &c);
      g_assert_true (h >= 1 && w >= 1 && c >= 1);
      g_assert_cmpint (hg_arch_get_n_classes (arch), >=, 2);
      g_assert_cmpuint (hg_arch_get_n_params (arch), >=, 1);
    }
  else
    g_assert_true (error != NULL && error->domain == HG_ERROR);
}

static void
fuzz_attacks (const char *list)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) kinds = hg_attack_kind_parse_list (list, &error);

  if (kinds != NULL)
    {
      g_assert_no_error (error);
      for (guint i = 0; i < kinds->len; i++)
        {
          HgAttackKind kind = g_array_index (kinds, HgAttackKind, i), again;

          g_assert_true (hg_attack_kind_from_string (hg_attack_kind_to_string (kind), &again, NULL));
          g_assert_cmpint (again, ==, kind);
        }
    }
  else
    g_assert_true (error != NULL && error->domain == HG_ERROR);
}

static void
fuzz_detector (const char *squeezers)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDetector) detector = hg_detector_new (squeezers, &error);

  if (detector != NULL)
    {
      g_autoptr (HgDetector) again = hg_detector_new (hg_detector_get_spec (detector), &error);

      /* The canonical list parses back to itself. */
      g_assert_no_error (error);
      g_assert_cmpstr (hg_detector_get_spec (again), ==, hg_detector_get_spec (detector));
    }
  else
    g_assert_true (error != NULL && error->domain == HG_ERROR);
}

static void
fuzz_names (const char *name)
{
  HgAdvTraining    adv;
  HgSelect         select;
  HgLrScheduleKind schedule;
  HgSplit          split;
  HgColormap       colormap;
  HgLiveGoal       goal;

  if (hg_adv_training_from_string (name, &adv))
    g_assert_cmpstr (hg_adv_training_to_string (adv), ==, name);
  if (hg_select_from_string (name, &select))
    g_assert_cmpstr (hg_select_to_string (select), ==, name);
  hg_lr_schedule_kind_from_string (name, &schedule);
  if (hg_split_from_string (name, &split))
    g_assert_nonnull (hg_split_to_string (split));
  if (hg_colormap_from_name (name, &colormap))
    g_assert_nonnull (hg_colormap_get_name (colormap));
  if (hg_live_goal_from_string (name, &goal, NULL))
    g_assert_nonnull (hg_live_goal_to_string (goal));
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *text = NULL;

  if (size < 1)
    return 0;
  text = g_strndup ((const char *) data + 1, size - 1);
  switch (data[0] % 4)
    {
    case 0:
      fuzz_arch (text);
      break;
    case 1:
      fuzz_attacks (text);
      break;
    case 3:
      fuzz_detector (text);
      break;
    default:
      fuzz_names (text);
      break;
    }
  return 0;
}
