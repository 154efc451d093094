/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Attacks on the small committed model tests/data/idc-tiny.safetensors
 * (see tests/make-idc-tiny-model.c) and the 67 real IDC patches of
 * tests/data/idc it was trained on. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

#define SIZE 50
#define PIXELS (3 * SIZE * SIZE)

static HgModel *model;
static float   *clean_x;
static int     *clean_labels;
static int      N;

static void
load_fixtures (void)
{
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "data", "idc-tiny.safetensors", NULL);
  g_autofree char *patches = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgDataset) data = NULL;

  model = hg_model_load (model_path, &error);
  g_assert_no_error (error);
  data = hg_dataset_open (patches, HG_DATASET_LAYOUT_IDC, HG_DATASET_ON_ERROR_FAIL, &error);
  g_assert_no_error (error);
  g_assert_true (hg_dataset_load (data, SIZE, SIZE, 0, HG_DATASET_ON_ERROR_FAIL, NULL, &error));
  g_assert_no_error (error);

  N = (int) hg_dataset_get_n_samples (data);
  clean_x = g_new (float, (gsize) N *PIXELS);
  clean_labels = g_new (int, N);
  for (int i = 0; i < N; i++)
    {
      memcpy (clean_x + (gsize) i * PIXELS, hg_dataset_get_pixels (data, i), PIXELS * sizeof (float));
      clean_labels[i] = hg_dataset_get_sample (data, i)->label;
    }
}

static int
argmax (const float *v,
        int          k)
{
  int best = 0;

  for (int i = 1; i < k; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

/* Fraction of the n inputs x the model (through defense, may be NULL)
 * gets right. */
static double
accuracy (HgContext   *ctx,
          HgDefense   *defense,
          const float *x,
          const int   *labels,
          int          n)
{
  g_autofree float *logits = g_new (float, (gsize) n * 2);
  g_autofree float *defended = NULL;
  int               right = 0;

  if (defense != NULL)
    {
      defended = g_new (float, (gsize) n *PIXELS);
      hg_defense_apply (defense, x, n, SIZE, SIZE, 0, defended);
      x = defended;
    }
  g_assert_true (hg_model_predict (ctx, x, n, logits));
  for (int i = 0; i < n; i++)
    right += argmax (logits + 2 * i, 2) == labels[i];
  return (double) right / n;
}

static float *
attack_n (HgContext   *ctx,
          HgAttackKind kind,
          double       eps,
          int          n,
          void (*tweak) (HgAttackParams *p, gpointer data),
          gpointer data)
{
  g_autoptr (GError) error = NULL;
  HgAttackParams params;
  float         *x_adv = g_new (float, (gsize) n *PIXELS);

  hg_attack_params_init (&params, kind, eps);
  params.seed = 7;
  if (tweak != NULL)
    tweak (&params, data);
  g_assert_true (hg_attack_run (ctx, &params, clean_x, clean_labels, n, x_adv, NULL, &error));
  g_assert_no_error (error);
  return x_adv;
}

static float *
attack (HgContext   *ctx,
        HgAttackKind kind,
        double       eps,
        void (*tweak) (HgAttackParams *p, gpointer data),
        gpointer data)
{
  return attack_n (ctx, kind, eps, N, tweak, data);
}

/* Every value inside [x − ε/255, x + ε/255] ∩ [0,1], checked in double. */
static void
assert_within_budget (const float *x,
                      const float *x_adv,
                      gsize        count,
                      double       eps)
{
  double e = eps / 255.0;

  for (gsize i = 0; i < count; i++)
    {
      double d = fabs ((double) x_adv[i] - (double) x[i]);

      if (!(d <= e) || !(x_adv[i] >= 0.0f) || !(x_adv[i] <= 1.0f))
        g_error ("element %" G_GSIZE_FORMAT ": x %.9g, x_adv %.9g, |d| %.12g > ε %.12g", i, x[i], x_adv[i], d, e);
    }
}

static void
test_fgsm_eps0 (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  static const HgAttackKind kinds[] = { HG_ATTACK_FGSM, HG_ATTACK_BIM, HG_ATTACK_PGD, HG_ATTACK_MIFGSM };

  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autofree float *x_adv = attack (ctx, kinds[k], 0, NULL, NULL);

      g_assert_cmpmem (x_adv, (gsize) N * PIXELS * sizeof (float), clean_x, (gsize) N * PIXELS * sizeof (float));
    }

  /* The gradient path too: a zero step changes nothing. */
  {
    g_autofree float *grad = g_new (float, (gsize) N *PIXELS);
    g_autofree float *x_adv = g_new (float, (gsize) N *PIXELS);
    HgAttackParams    params;

    hg_attack_params_init (&params, HG_ATTACK_FGSM, 0);
    g_assert_true (hg_attack_input_gradient (ctx, &params, clean_x, clean_labels, N, NULL, grad, NULL));
    hg_attack_fgsm_step (clean_x, grad, (gsize) N * PIXELS, 0, x_adv);
    g_assert_cmpmem (x_adv, (gsize) N * PIXELS * sizeof (float), clean_x, (gsize) N * PIXELS * sizeof (float));
  }
}

static void
set_target_1 (HgAttackParams *p,
              gpointer        data)
{
  p->target = 1;
}

static void
set_few_steps (HgAttackParams *p,
               gpointer        data)
{
  p->steps = 3;
  p->target = GPOINTER_TO_INT (data);
}

static void
set_restarts (HgAttackParams *p,
              gpointer        data)
{
  p->restarts = 3;
  p->steps = 5;
}

static void
set_deepfool_l2_cap (HgAttackParams *p,
                     gpointer        data)
{
  p->norm = HG_NORM_L2;
}

static void
set_defense (HgAttackParams *p,
             gpointer        data)
{
  p->defense = data;
  p->steps = 5;
}

static void
test_budget_exact (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (HgDefense) noise = hg_defense_parse ("noise:8+bits:5", NULL);
  /* Budgets whose bounds x ± ε/255 are not floats, integer or not. */
  static const double       eps_values[] = { 1, 2.5, 4, 8, 1 / 3.0, 16 };
  static const HgAttackKind kinds[] = { HG_ATTACK_FGSM, HG_ATTACK_BIM, HG_ATTACK_PGD, HG_ATTACK_MIFGSM, HG_ATTACK_DEEPFOOL };

  /* A dozen samples and few steps suffice: the bound is per element. */
  enum
  {
    FEW = 12
  };

  for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
    for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        g_autofree float *untargeted = attack_n (ctx, kinds[k], eps_values[e], FEW, set_few_steps, GINT_TO_POINTER (-1));
        g_autofree float *targeted = attack_n (ctx, kinds[k], eps_values[e], FEW, set_few_steps, GINT_TO_POINTER (1));

        assert_within_budget (clean_x, untargeted, (gsize) FEW * PIXELS, eps_values[e]);
        assert_within_budget (clean_x, targeted, (gsize) FEW * PIXELS, eps_values[e]);
      }

  {
    g_autofree float *restarts = attack_n (ctx, HG_ATTACK_PGD, 3, FEW, set_restarts, NULL);
    g_autofree float *deepfool = attack_n (ctx, HG_ATTACK_DEEPFOOL, 2, FEW, set_deepfool_l2_cap, NULL);
    g_autofree float *adaptive = attack_n (ctx, HG_ATTACK_PGD, 5, FEW, set_defense, noise);

    assert_within_budget (clean_x, restarts, (gsize) FEW * PIXELS, 3);
    assert_within_budget (clean_x, deepfool, (gsize) FEW * PIXELS, 2);
    assert_within_budget (clean_x, adaptive, (gsize) FEW * PIXELS, 5);
  }
}

static void
test_project (void)
{
  /* Awkward values: near 0 and 1, tiny, and random floats; budgets whose
   * float rounding of x ± ε lands outside the ball. */
  GRand *rand = g_rand_new_with_seed (3);
  enum
  {
    COUNT = 20000
  };
  g_autofree float   *x = g_new (float, COUNT);
  g_autofree float   *v = g_new (float, COUNT);
  static const double eps_values[] = { 1 / 3.0, 1, 2.5, 7, 8, 255 };

  for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
    {
      double bound = eps_values[e] / 255.0;

      for (int i = 0; i < COUNT; i++)
        {
          x[i] = i < 4 ? (float[]){ 0.0f, 1.0f, 1e-30f, 0.99999994f }[i] : (float) g_rand_double (rand);
          /* Far outside, slightly outside, or NaN. */
          v[i] = i % 7 == 0 ? NAN : x[i] + (float) g_rand_double_range (rand, -3 * bound, 3 * bound);
        }
      hg_attack_project (x, v, COUNT, eps_values[e]);
      assert_within_budget (x, v, COUNT, eps_values[e]);

      /* It is a projection: values already inside stay put. */
      for (int i = 0; i < COUNT; i++)
        {
          /* Not inside CLAMP, which evaluates its argument more than once. */
          float moved = x[i] + (float) g_rand_double_range (rand, -0.5 * bound, 0.5 * bound);

          v[i] = CLAMP (moved, 0.0f, 1.0f);
        }
      {
        g_autofree float *copy = g_memdup2 (v, COUNT * sizeof (float));

        for (int i = 0; i < COUNT; i++)
          if (fabs ((double) v[i] - x[i]) > bound)
            copy[i] = v[i] = x[i];
        hg_attack_project (x, v, COUNT, eps_values[e]);
        g_assert_cmpmem (v, COUNT * sizeof (float), copy, COUNT * sizeof (float));
      }
    }
  g_rand_free (rand);
}

static void
test_pgd_not_weaker_than_fgsm (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  static const double eps_values[] = { 1, 2, 4, 8 };

  for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
    {
      g_autofree float *fgsm = attack (ctx, HG_ATTACK_FGSM, eps_values[e], NULL, NULL);
      g_autofree float *pgd = attack (ctx, HG_ATTACK_PGD, eps_values[e], NULL, NULL);
      double            a_fgsm = accuracy (ctx, NULL, fgsm, clean_labels, N);
      double            a_pgd = accuracy (ctx, NULL, pgd, clean_labels, N);

      g_test_message ("eps %g: accuracy under FGSM %.3f, PGD-10 %.3f", eps_values[e], a_fgsm, a_pgd);
      g_assert_cmpfloat (a_pgd, <=, a_fgsm);
    }
}

static void
test_accuracy_falls (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  static const double eps_values[] = { 0, 1, 2, 4, 8, 16 };
  double              last = INFINITY;

  for (gsize e = 0; e < G_N_ELEMENTS (eps_values); e++)
    {
      g_autofree float *x_adv = attack (ctx, HG_ATTACK_PGD, eps_values[e], NULL, NULL);
      double            a = accuracy (ctx, NULL, x_adv, clean_labels, N);

      g_test_message ("eps %g: accuracy under PGD-10 %.3f", eps_values[e], a);
      if (e == 0)
        g_assert_cmpfloat (a, >=, 0.85);
      /* Monotone up to one sample of noise. */
      g_assert_cmpfloat (a, <=, last + 1.0 / N);
      last = a;
    }
  g_assert_cmpfloat (last, <=, 0.05);
}

static void
test_bpda_defeats_bits (void)
{
  /* A pure bit-depth defence in front of the model, attacked through it
   * with BPDA (the identity in place of the rounding's zero gradient):
   * the defended accuracy goes to (almost) nothing, and the adaptive
   * attack is at least as strong as one crafted on the bare model. */
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (HgDefense) bits = hg_defense_parse ("bits:4", NULL);
  double            clean = accuracy (ctx, bits, clean_x, clean_labels, N);
  g_autofree float *oblivious = attack (ctx, HG_ATTACK_PGD, 8, NULL, NULL);
  g_autofree float *adaptive = g_new (float, (gsize) N *PIXELS);
  double            a_oblivious, a_adaptive;
  HgAttackParams    params;

  hg_attack_params_init (&params, HG_ATTACK_PGD, 8);
  params.defense = bits;
  params.steps = 20;
  params.seed = 7;
  g_assert_true (hg_attack_run (ctx, &params, clean_x, clean_labels, N, adaptive, NULL, NULL));

  a_oblivious = accuracy (ctx, bits, oblivious, clean_labels, N);
  a_adaptive = accuracy (ctx, bits, adaptive, clean_labels, N);
  g_test_message ("bits:4 at eps 8: clean %.3f, PGD on the bare model %.3f, BPDA-PGD %.3f",
                  clean, a_oblivious, a_adaptive);
  g_assert_cmpfloat (clean, >=, 0.85);
  g_assert_cmpfloat (a_adaptive, <=, 0.10);
  g_assert_cmpfloat (a_adaptive, <=, a_oblivious + 1.0 / N);
}

static void
test_targeted (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree float *x_adv = attack (ctx, HG_ATTACK_PGD, 16, set_target_1, NULL);
  g_autofree float *logits = g_new (float, (gsize) N * 2);
  int               reached = 0;

  g_assert_true (hg_model_predict (ctx, x_adv, N, logits));
  for (int i = 0; i < N; i++)
    reached += argmax (logits + 2 * i, 2) == 1;
  g_test_message ("targeted PGD to class 1 at eps 16: %d of %d", reached, N);
  g_assert_cmpint (reached, >=, N * 9 / 10);
}

static void
test_deepfool (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  static const HgNorm norms[] = { HG_NORM_LINF, HG_NORM_L2 };

  for (gsize k = 0; k < G_N_ELEMENTS (norms); k++)
    {
      g_autofree float *x_adv = g_new (float, (gsize) N *PIXELS);
      g_autofree float *half = g_new (float, (gsize) N *PIXELS);
      g_autofree float *l0 = g_new (float, (gsize) N * 2);
      g_autofree float *l1 = g_new (float, (gsize) N * 2);
      g_autofree float *l2 = g_new (float, (gsize) N * 2);
      HgAttackParams    params;
      int               flipped = 0, half_flipped = 0;

      hg_attack_params_init (&params, HG_ATTACK_DEEPFOOL, 0);
      params.norm = norms[k];
      g_assert_true (hg_attack_run (ctx, &params, clean_x, NULL, N, x_adv, NULL, NULL));
      for (gsize i = 0; i < (gsize) N * PIXELS; i++)
        half[i] = clean_x[i] + 0.5f * (x_adv[i] - clean_x[i]);
      g_assert_true (hg_model_predict (ctx, clean_x, N, l0));
      g_assert_true (hg_model_predict (ctx, x_adv, N, l1));
      g_assert_true (hg_model_predict (ctx, half, N, l2));
      for (int i = 0; i < N; i++)
        {
          flipped += argmax (l0 + 2 * i, 2) != argmax (l1 + 2 * i, 2);
          half_flipped += argmax (l0 + 2 * i, 2) != argmax (l2 + 2 * i, 2);
        }
      g_test_message ("DeepFool %s: flipped %d, at half the perturbation %d", norms[k] == HG_NORM_L2 ? "L2" : "Linf",
                      flipped, half_flipped);
      /* It flips almost everything, and it is close to minimal: half of
       * its perturbation flips few. */
      g_assert_cmpint (flipped, >=, N * 9 / 10);
      g_assert_cmpint (half_flipped, <=, N / 4);
    }
}

static void
test_mifgsm_and_bim (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree float *fgsm = attack (ctx, HG_ATTACK_FGSM, 4, NULL, NULL);
  g_autofree float *bim = attack (ctx, HG_ATTACK_BIM, 4, NULL, NULL);
  g_autofree float *mi = attack (ctx, HG_ATTACK_MIFGSM, 4, NULL, NULL);
  double            a_fgsm = accuracy (ctx, NULL, fgsm, clean_labels, N);

  g_test_message ("eps 4: FGSM %.3f, BIM %.3f, MI-FGSM %.3f", a_fgsm,
                  accuracy (ctx, NULL, bim, clean_labels, N), accuracy (ctx, NULL, mi, clean_labels, N));
  g_assert_cmpfloat (accuracy (ctx, NULL, bim, clean_labels, N), <=, a_fgsm);
  g_assert_cmpfloat (accuracy (ctx, NULL, mi, clean_labels, N), <=, a_fgsm);
}

static void
test_deterministic (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree float *a = attack (ctx, HG_ATTACK_PGD, 4, NULL, NULL);
  g_autofree float *b = attack (ctx, HG_ATTACK_PGD, 4, NULL, NULL);
  g_autofree float *c = NULL;
  HgAttackParams    params;

  g_assert_cmpmem (a, (gsize) N * PIXELS * sizeof (float), b, (gsize) N * PIXELS * sizeof (float));

  /* Another seed, another random start. */
  hg_attack_params_init (&params, HG_ATTACK_PGD, 4);
  params.seed = 8;
  c = g_new (float, (gsize) N *PIXELS);
  g_assert_true (hg_attack_run (ctx, &params, clean_x, clean_labels, N, c, NULL, NULL));
  g_assert_cmpint (memcmp (a, c, (gsize) N * PIXELS * sizeof (float)), !=, 0);
}

static void
test_cancel (void)
{
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree float *x_adv = g_new (float, (gsize) N *PIXELS);
  HgAttackParams    params;

  hg_attack_params_init (&params, HG_ATTACK_PGD, 4);
  g_cancellable_cancel (cancellable);
  g_assert_false (hg_attack_run (ctx, &params, clean_x, clean_labels, N, x_adv, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_params_errors (void)
{
  HgAttackParams params;
  g_autoptr (GError) error = NULL;
  HgAttackKind kind;
  g_autoptr (GArray) list = NULL;

  hg_attack_params_init (&params, HG_ATTACK_PGD, -1);
  g_assert_false (hg_attack_params_validate (&params, model, &error));
  g_assert_cmpstr (error->message, ==, "epsilon must be between 0 and 255 (in units of 1/255), got -1");
  g_clear_error (&error);

  hg_attack_params_init (&params, HG_ATTACK_PGD, 4);
  params.steps = 0;
  g_assert_false (hg_attack_params_validate (&params, model, &error));
  g_assert_cmpstr (error->message, ==, "steps must be from 1 to 10000, got 0");
  g_clear_error (&error);

  hg_attack_params_init (&params, HG_ATTACK_PGD, 4);
  params.target = 2;
  g_assert_false (hg_attack_params_validate (&params, model, &error));
  g_assert_cmpstr (error->message, ==, "target class must be -1 (untargeted) or from 0 to 1, got 2");
  g_clear_error (&error);

  hg_attack_params_init (&params, HG_ATTACK_PGD, 4);
  params.mode = HG_MODE_TRAINING;
  g_assert_false (hg_attack_params_validate (&params, model, &error));
  g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (hg_attack_kind_from_string ("cw", &kind, &error));
  g_assert_cmpstr (error->message, ==, "unknown attack 'cw' (known: fgsm, bim, pgd, mifgsm, deepfool)");
  g_clear_error (&error);
  g_assert_true (hg_attack_kind_from_string ("I-FGSM", &kind, NULL));
  g_assert_cmpint (kind, ==, HG_ATTACK_BIM);

  list = hg_attack_kind_parse_list ("fgsm, pgd,deepfool", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_assert_cmpint (g_array_index (list, HgAttackKind, 2), ==, HG_ATTACK_DEEPFOOL);
  g_assert_null (hg_attack_kind_parse_list ("fgsm,,pgd", &error));
  g_assert_cmpstr (error->message, ==, "empty attack name (known: fgsm, bim, pgd, mifgsm, deepfool)");
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  load_fixtures ();

  g_test_add_func ("/hg/attack/fgsm-eps0-changes-nothing", test_fgsm_eps0);
  g_test_add_func ("/hg/attack/budget-exact", test_budget_exact);
  g_test_add_func ("/hg/attack/project", test_project);
  g_test_add_func ("/hg/attack/pgd-not-weaker-than-fgsm", test_pgd_not_weaker_than_fgsm);
  g_test_add_func ("/hg/attack/accuracy-falls", test_accuracy_falls);
  g_test_add_func ("/hg/attack/bpda-defeats-bits", test_bpda_defeats_bits);
  g_test_add_func ("/hg/attack/targeted", test_targeted);
  g_test_add_func ("/hg/attack/deepfool", test_deepfool);
  g_test_add_func ("/hg/attack/bim-mifgsm", test_mifgsm_and_bim);
  g_test_add_func ("/hg/attack/deterministic", test_deterministic);
  g_test_add_func ("/hg/attack/cancel", test_cancel);
  g_test_add_func ("/hg/attack/params-errors", test_params_errors);

  status = g_test_run ();
  g_free (clean_x);
  g_free (clean_labels);
  hg_model_unref (model);
  return status;
}
