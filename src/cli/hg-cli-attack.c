/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

#define COMMAND "attack"

/* Reads a patch at the model's size: smaller images are padded with
 * white as in the data sets (hg-patch.h), larger ones refused. */
static float *
load_image (const char *path,
            int         width,
            int         height,
            GError    **error)
{
  g_autofree float *chw = g_new (float, (gsize) 3 * width * height);
  int               image_width, image_height;

  if (!hg_patch_load (path, width, height, chw, &image_width, &image_height, error))
    return NULL;
  if (image_width != width || image_height != height)
    printf (_ ("%s is %d×%d: padded with white to the model's %d×%d\n"), path, image_width, image_height,
            width, height);
  return g_steal_pointer (&chw);
}

/* Writes planar floats as an 8-bit PNG, atomically. */
static gboolean
save_png (const float *chw,
          int          width,
          int          height,
          const char  *path,
          GError     **error)
{
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autofree char *buffer = NULL;
  gsize            length;

  hg_pixels_chw_to_rgb8 (chw, width, height, gdk_pixbuf_get_pixels (pixbuf), gdk_pixbuf_get_rowstride (pixbuf));
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &length, "png", error, NULL) ||
      !g_file_set_contents_full (path, buffer, length, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    {
      g_prefix_error (error, _ ("could not write '%s': "), path);
      return FALSE;
    }
  return TRUE;
}

/* Probabilities of x through the defence (may be NULL). */
static gboolean
predict (HgContext *ctx,
         HgDefense *defense,
         float     *x,
         int        width,
         int        height,
         float     *probs,
         GError   **error)
{
  HgModel          *model = hg_context_get_model (ctx);
  g_autofree float *defended = NULL;
  const float      *in = x;

  if (defense != NULL && !hg_defense_is_identity (defense))
    {
      defended = g_new (float, (gsize) 3 * width * height);
      hg_defense_apply (defense, x, 1, width, height, 0, defended);
      in = defended;
    }
  if (!hg_model_predict (ctx, in, 1, probs))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_FAILED, _ ("the model could not run"));
      return FALSE;
    }
  hg_softmax (probs, 1, hg_model_get_n_classes (model), probs);
  return TRUE;
}

static int
print_prediction (const char  *label,
                  HgModel     *model,
                  const float *probs)
{
  int k = hg_model_get_n_classes (model), best = 0;

  for (int c = 1; c < k; c++)
    if (probs[c] > probs[best])
      best = c;
  printf ("%-8s %-10s", label, hg_model_get_class_name (model, best));
  for (int c = 0; c < k; c++)
    printf ("  %s %.4f", hg_model_get_class_name (model, c), probs[c]);
  printf ("\n");
  return best;
}

int
hg_cli_attack (int    argc,
               char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autoptr (HgDefense) defense = NULL;
  g_autofree char   *model_path = NULL;
  g_autofree char   *attack_name = NULL;
  g_autofree char   *defense_spec = NULL;
  g_autofree char   *target_name = NULL;
  g_autofree char   *diff_path = NULL;
  g_autofree float  *x = NULL;
  g_autofree float  *x_adv = NULL;
  g_autofree float  *saved = NULL;
  g_autofree float  *probs = NULL;
  g_autofree int    *label = NULL;
  HgAttackParams     params;
  HgAttackKind       kind;
  double             eps = NAN, linf, l2;
  int                steps = 0, restarts = 1, width, height, channels, k, before, after, saved_label;
  gint64             seed = 0;
  gboolean           adaptive = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_ ("The model file"), N_ ("MODEL") },
    { "attack", 'a', 0, G_OPTION_ARG_STRING, &attack_name, N_ ("fgsm, bim, pgd, mifgsm or deepfool (default: fgsm)"), N_ ("NAME") },
    { "eps", 'e', 0, G_OPTION_ARG_DOUBLE, &eps, N_ ("L∞ budget in units of 1/255 (DeepFool: a cap, 0 = none)"), N_ ("EPS") },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, N_ ("Iterations (default: 10; DeepFool 50)"), N_ ("K") },
    { "restarts", 0, 0, G_OPTION_ARG_INT, &restarts, N_ ("PGD random restarts (default: 1)"), N_ ("R") },
    { "target", 't', 0, G_OPTION_ARG_STRING, &target_name, N_ ("Push towards this class (name or index) instead of away from the prediction"), N_ ("CLASS") },
    { "defense", 'D', 0, G_OPTION_ARG_STRING, &defense_spec, N_ ("Predict through this defence, e.g. jpeg:75+median:3"), N_ ("SPEC") },
    { "adaptive", 0, 0, G_OPTION_ARG_NONE, &adaptive, N_ ("Attack through the defence (BPDA, EOT)"), NULL },
    { "diff", 0, 0, G_OPTION_ARG_FILENAME, &diff_path, N_ ("Also write the perturbation, amplified, around mid-grey"), N_ ("DIFF.png") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_ ("Seed of random starts (default: 0)"), N_ ("S") },
    { NULL }
  };

  context = g_option_context_new (N_ ("IN.png OUT.png"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _ ("Crafts an adversarial version of one patch, writes it as OUT.png and prints\n"
                                   "the model's predictions before and after. Without --target the attack pushes\n"
                                   "away from the model's own prediction of IN.png."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!hg_cli_parse (context, COMMAND, &argc, &argv))
    return HG_CLI_EXIT_USAGE;

  if (argc != 3)
    {
      hg_cli_error (COMMAND, _ ("%s (see 'histoguard-cli attack --help')"),
                    argc < 3 ? _ ("give IN.png and OUT.png") : _ ("too many arguments"));
      return HG_CLI_EXIT_USAGE;
    }
  if (model_path == NULL)
    {
      hg_cli_error (COMMAND, _ ("no --model given (see 'histoguard-cli attack --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  if (!hg_attack_kind_from_string (attack_name != NULL ? attack_name : "fgsm", &kind, &error))
    {
      hg_cli_error (COMMAND, "--attack: %s", error->message);
      return HG_CLI_EXIT_USAGE;
    }
  if (isnan (eps))
    {
      if (kind != HG_ATTACK_DEEPFOOL)
        {
          hg_cli_error (COMMAND, _ ("no --eps given (in units of 1/255, e.g. --eps 4)"));
          return HG_CLI_EXIT_USAGE;
        }
      eps = 0;
    }
  if (!(eps >= 0) || eps > HG_ATTACK_MAX_EPS)
    {
      hg_cli_error (COMMAND, _ ("--eps must be between 0 and %g (in units of 1/255), got %g"), HG_ATTACK_MAX_EPS, eps);
      return HG_CLI_EXIT_USAGE;
    }
  if (defense_spec != NULL)
    {
      defense = hg_defense_parse (defense_spec, &error);
      if (defense == NULL)
        {
          hg_cli_error (COMMAND, "--defense: %s", error->message);
          return HG_CLI_EXIT_USAGE;
        }
    }
  if (adaptive && defense == NULL)
    {
      hg_cli_error (COMMAND, _ ("--adaptive needs --defense"));
      return HG_CLI_EXIT_USAGE;
    }

  model = hg_model_load (model_path, &error);
  if (model == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }
  hg_model_get_input_size (model, &height, &width, &channels);
  k = hg_model_get_n_classes (model);
  if (channels != 3)
    {
      hg_cli_error (COMMAND, _ ("model '%s' takes %d channels; attacks here work on RGB images"), model_path, channels);
      return HG_CLI_EXIT_FAILURE;
    }

  hg_attack_params_init (&params, kind, eps);
  if (steps != 0)
    params.steps = steps;
  params.restarts = restarts;
  params.seed = (guint64) seed;
  params.defense = adaptive ? defense : NULL;
  if (target_name != NULL)
    {
      char *end = NULL;
      long  index = strtol (target_name, &end, 10);

      params.target = -2;
      if (end != target_name && *end == '\0' && index >= 0 && index < k)
        params.target = (int) index;
      for (int c = 0; c < k && params.target < 0; c++)
        if (g_ascii_strcasecmp (hg_model_get_class_name (model, c), target_name) == 0)
          params.target = c;
      if (params.target < 0)
        {
          GString *names = g_string_new (NULL);

          for (int c = 0; c < k; c++)
            g_string_append_printf (names, "%s%s", c > 0 ? ", " : "", hg_model_get_class_name (model, c));
          hg_cli_error (COMMAND, _ ("--target: the model has no class '%s' (classes: %s)"), target_name, names->str);
          g_string_free (names, TRUE);
          return HG_CLI_EXIT_USAGE;
        }
    }
  if (!hg_attack_params_validate (&params, model, &error))
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_USAGE;
    }

  x = load_image (argv[1], width, height, &error);
  if (x == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  ctx = hg_context_new (model);
  probs = g_new (float, k);
  if (!predict (ctx, defense, x, width, height, probs, &error))
    goto failed;
  before = print_prediction (_ ("before:"), model, probs);

  /* The model's own prediction is the label to move away from. */
  label = g_new (int, 1);
  label[0] = before;
  x_adv = g_new (float, (gsize) 3 * width * height);
  if (!hg_attack_run (ctx, &params, x, label, 1, x_adv, NULL, &error))
    goto failed;

  if (!predict (ctx, defense, x_adv, width, height, probs, &error))
    goto failed;
  after = print_prediction (_ ("after:"), model, probs);

  /* OUT.png holds the 8-bit version, which rounding may move back
   * across the boundary (a minimal DeepFool step can be below 1/255). */
  saved = g_new (float, (gsize) 3 * width * height);
  {
    g_autofree guint8 *rgb = g_new (guint8, (gsize) 3 * width * height);

    hg_pixels_chw_to_rgb8 (x_adv, width, height, rgb, (gsize) 3 * width);
    hg_pixels_rgb8_to_chw (rgb, (gsize) 3 * width, 3, width, height, saved);
  }
  if (!predict (ctx, defense, saved, width, height, probs, &error))
    goto failed;
  saved_label = print_prediction (_ ("saved:"), model, probs);

  hg_attack_perturbation_norms (x, x_adv, 1, (gsize) 3 * width * height, &linf, &l2);
  if (kind == HG_ATTACK_DEEPFOOL && eps == 0)
    printf (_ ("%s: %s; perturbation L∞ %.2f/255, L2 %.4f"), hg_attack_kind_to_string (kind),
            after != before ? _ ("prediction flipped") : _ ("prediction unchanged"), linf, l2);
  else
    printf (_ ("%s, ε %g/255: %s; perturbation L∞ %.2f/255, L2 %.4f"), hg_attack_kind_to_string (kind), eps,
            after != before ? _ ("prediction flipped") : _ ("prediction unchanged"), linf, l2);
  if (defense != NULL)
    printf ("%s", adaptive ? _ (" (adaptive, through the defence)") : _ (" (crafted on the bare model, predicted through the defence)"));
  if (saved_label != after)
    printf (_ ("; rounding to 8 bits in %s undoes the flip"), argv[2]);
  printf ("\n");

  if (!save_png (x_adv, width, height, argv[2], &error))
    goto failed;

  if (diff_path != NULL)
    {
      gsize             count = (gsize) 3 * width * height;
      g_autofree float *diff = g_new (float, count);
      /* ±ε maps to the ends of the range; without a budget, the largest change. */
      double scale = eps > 0 ? eps / 255.0 : MAX (linf / 255.0, 1.0 / 255.0);

      for (gsize i = 0; i < count; i++)
        diff[i] = (float) CLAMP (0.5 + 0.5 * ((double) saved[i] - x[i]) / scale, 0.0, 1.0);
      if (!save_png (diff, width, height, diff_path, &error))
        goto failed;
    }
  return HG_CLI_EXIT_OK;

failed:
  hg_cli_error (COMMAND, "%s", error->message);
  return HG_CLI_EXIT_FAILURE;
}
