/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Finite-difference gradient checks for every op, with respect to the
 * input and the parameters, in inference and training mode; the fused
 * inference plan against the exact one; overfitting a tiny batch; several
 * threads running one model. */
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "../src/core/hg-engine-private.h"

typedef struct
{
  const char *name;
  const char *nodes; /* JSON list body */
  int         h, w, c;
} OpCase;

/* Each case ends in a dense layer so that the logits mix every value. */
static const OpCase op_cases[] = {
  { "conv3x3", "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":4,\"kernel\":3,\"padding\":1}", 6, 5, 3 },
  { "conv3x3-stride2",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":4,\"kernel\":3,\"stride\":2,\"padding\":1,\"bias\":false}",
    7, 7, 3 },
  /* fewer output than input channels: dx gathered, dy masked by the ReLU first */
  { "conv3x3-gather",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":3,\"kernel\":3,\"padding\":1},"
    "{\"name\":\"b\",\"op\":\"relu\"}",
    5, 6, 5 },
  { "conv5x5-gather", "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":2,\"kernel\":5,\"padding\":1}", 7, 6, 4 },
  { "conv1x1", "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":5,\"kernel\":1}", 4, 4, 3 },
  { "conv1x1-stride2", "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":5,\"kernel\":1,\"stride\":2}", 5, 5, 3 },
  { "conv5x5", "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":3,\"kernel\":5,\"padding\":2}", 6, 6, 2 },
  { "batchnorm", "{\"name\":\"a\",\"op\":\"batchnorm\"}", 4, 4, 3 },
  { "conv-batchnorm-relu",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":4,\"kernel\":3,\"padding\":1,\"bias\":false},"
    "{\"name\":\"b\",\"op\":\"batchnorm\"},{\"name\":\"c\",\"op\":\"relu\"}",
    5, 5, 3 },
  /* batch norm computing the max pool that reads it (see
   * hg_model_new_exact_plan), with and without a ReLU between, odd sizes */
  { "conv-batchnorm-relu-maxpool",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":4,\"kernel\":3,\"padding\":1,\"bias\":false},"
    "{\"name\":\"b\",\"op\":\"batchnorm\"},{\"name\":\"c\",\"op\":\"relu\"},"
    "{\"name\":\"d\",\"op\":\"maxpool\",\"kernel\":2}",
    7, 5, 3 },
  { "batchnorm-maxpool",
    "{\"name\":\"a\",\"op\":\"batchnorm\"},{\"name\":\"b\",\"op\":\"maxpool\",\"kernel\":2}", 6,
    7, 3 },
  { "relu", "{\"name\":\"a\",\"op\":\"relu\"}", 4, 4, 3 },
  { "maxpool", "{\"name\":\"a\",\"op\":\"maxpool\",\"kernel\":2}", 6, 6, 3 },
  /* odd sizes: the last row and column are in no window */
  { "maxpool-odd", "{\"name\":\"a\",\"op\":\"maxpool\",\"kernel\":2}", 7, 5, 3 },
  { "maxpool-overlap", "{\"name\":\"a\",\"op\":\"maxpool\",\"kernel\":3,\"stride\":2,\"padding\":1}", 7, 7, 2 },
  { "avgpool", "{\"name\":\"a\",\"op\":\"avgpool\",\"kernel\":2}", 6, 6, 3 },
  { "avgpool-overlap", "{\"name\":\"a\",\"op\":\"avgpool\",\"kernel\":3,\"stride\":1,\"padding\":1}", 5, 5, 2 },
  { "global-avgpool", "{\"name\":\"a\",\"op\":\"global_avgpool\"}", 4, 5, 3 },
  { "dense-relu", "{\"name\":\"a\",\"op\":\"dense\",\"units\":6},{\"name\":\"b\",\"op\":\"relu\"}", 3, 3, 3 },
  { "dropout", "{\"name\":\"a\",\"op\":\"dropout\",\"rate\":0.4}", 4, 4, 3 },
  { "concat",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":2,\"kernel\":1},"
    "{\"name\":\"b\",\"op\":\"concat\",\"inputs\":[\"input\",\"a\",\"input\"]}",
    4, 4, 3 },
  { "add",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":3,\"kernel\":3,\"padding\":1},"
    "{\"name\":\"b\",\"op\":\"add\",\"inputs\":[\"a\",\"input\"]}",
    4, 4, 3 },
  /* the conv computing its max pool in the inference plan; odd sizes,
   * and channels both in fours and not (Winograd's vector remainders) */
  { "conv-relu-maxpool",
    "{\"name\":\"a\",\"op\":\"conv2d\",\"channels\":6,\"kernel\":3,\"padding\":1},"
    "{\"name\":\"b\",\"op\":\"relu\"},{\"name\":\"c\",\"op\":\"maxpool\",\"kernel\":2}",
    7, 5, 5 },
};

/* The cases with a 3×3 conv that Winograd F(2×2, 3×3) can run (stride 1,
 * padding 1) run again with it forced, whatever their channels. */
static gboolean
has_winograd_conv (const OpCase *oc)
{
  return strstr (oc->nodes, "\"kernel\":3,\"padding\":1") != NULL;
}

typedef struct
{
  HgModel   *model;
  HgContext *ctx;
  HgContext *probe; /* evaluates the loss, so ctx keeps its forward state */
  int        n;
  float     *x;
  float     *r; /* loss = Σ logits · r */
  gsize      in_size;
  int        k;
} Fixture;

static guint64 rng_state;

static float
uniform (void)
{
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float) ((rng_state >> 40) * (1.0 / 16777216.0));
}

/* Random weights and statistics so that batch norm is not the identity
 * and nothing sits exactly at zero. */
static void
randomize (HgModel *model)
{
  gsize  n;
  float *p = hg_model_get_params (model, &n);

  for (gsize i = 0; i < n; i++)
    p[i] = (uniform () - 0.5f) * 1.2f;
  for (gsize i = 0; i < model->arch->n_buffers; i++)
    model->buffers[i] = 0.2f + uniform (); /* running mean and (positive) variance */
  hg_model_params_changed (model);
}

static HgModel *
model_for (const OpCase *oc)
{
  g_autofree char *json = g_strdup_printf (
      "{\"name\":\"t\",\"input\":[%d,%d,%d],\"nodes\":[%s,"
      "{\"name\":\"out\",\"op\":\"dense\",\"units\":3}]}",
      oc->h, oc->w, oc->c, oc->nodes);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgArch) arch = hg_arch_new_from_json (json, strlen (json), &error);

  g_assert_no_error (error);
  return hg_model_new_from_arch_object (arch, 7);
}

static void
fixture_init (Fixture *f,
              HgModel *model,
              int      n)
{
  int h, w, c;

  f->model = model;
  f->ctx = hg_context_new (model);
  f->probe = hg_context_new (model);
  f->n = n;
  hg_model_get_input_size (model, &h, &w, &c);
  f->in_size = (gsize) h * w * c;
  f->k = hg_model_get_n_classes (model);
  f->x = g_new (float, n * f->in_size);
  f->r = g_new (float, n * f->k);
  for (gsize i = 0; i < n * f->in_size; i++)
    f->x[i] = uniform ();
  for (int i = 0; i < n * f->k; i++)
    f->r[i] = uniform () * 2.0f - 1.0f;
}

static void
fixture_clear (Fixture *f)
{
  hg_context_free (f->ctx);
  hg_context_free (f->probe);
  hg_model_unref (f->model);
  g_free (f->x);
  g_free (f->r);
}

/* Which window element each max-pool output took (the first equal to it). */
static void
append_argmax (GString   *signature,
               HgContext *ctx,
               int        i,
               int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];
  HgShape       in = ctx->arch->nodes[node->inputs[0]].shape, out = node->shape;
  const float  *x = ctx->y[ctx->plan->steps[node->inputs[0]].alias];
  const float  *y = ctx->y[ctx->plan->steps[i].alias];
  int           k = node->p.pool.kernel, s = node->p.pool.stride, p = node->p.pool.padding;

  for (int img = 0; img < n; img++)
    for (int oy = 0; oy < out.h; oy++)
      for (int ox = 0; ox < out.w; ox++)
        for (int c = 0; c < out.c; c++)
          {
            float v = y[(((gsize) img * out.h + oy) * out.w + ox) * out.c + c];
            char  at = '?';

            for (int ky = 0; ky < k && at == '?'; ky++)
              for (int kx = 0; kx < k && at == '?'; kx++)
                {
                  int iy = oy * s - p + ky, ix = ox * s - p + kx;

                  if (iy >= 0 && iy < in.h && ix >= 0 && ix < in.w &&
                      x[(((gsize) img * in.h + iy) * in.w + ix) * in.c + c] == v)
                    at = (char) ('a' + ky * k + kx);
                }
            g_string_append_c (signature, at);
          }
}

/* The loss at the current x and parameters, and a signature of every
 * ReLU/max-pool decision on the way (the exact plan is used so that every
 * decision is visible). */
static double
probe_loss (Fixture *f,
            HgMode   mode,
            GString *signature)
{
  HgContext        *ctx = f->probe;
  g_autofree float *logits = g_new (float, f->n * f->k);
  double            loss = 0.0;

  hg_context_set_seed (ctx, 99); /* the same dropout mask every time */
  g_assert_true (hg_context_forward (ctx, mode, HG_PASS_PARAM_GRADS, f->x, f->n, logits));
  for (int i = 0; i < f->n * f->k; i++)
    loss += (double) logits[i] * f->r[i];

  g_string_truncate (signature, 0);
  for (int i = 0; i < ctx->arch->n_nodes; i++)
    {
      const HgNode *node = &ctx->arch->nodes[i];
      gsize         count = (gsize) f->n * node->shape.h * node->shape.w * node->shape.c;

      if (node->op == HG_OP_RELU) /* run as its producer's epilogue or not */
        for (gsize e = 0; e < count; e++)
          g_string_append_c (signature, ctx->y[ctx->plan->steps[i].alias][e] > 0.0f ? '+' : '0');
      else if (node->op == HG_OP_MAXPOOL)
        append_argmax (signature, ctx, i, f->n);
    }
  return loss;
}

typedef struct
{
  int    checked, skipped;
  double max_err; /* largest |fd − analytic| / (|analytic| + scale·atol) */
} Stats;

/* Central difference of the loss in one float, compared with analytic. */
static void
check_one (Fixture    *f,
           HgMode      fd_mode,
           float      *value,
           float       analytic,
           double      scale,
           gboolean    is_param,
           Stats      *st,
           const char *what,
           gsize       index)
{
  const double eps = 2e-3, rtol = 2e-2, atol = 2e-3;
  g_autoptr (GString) s0 = g_string_new (NULL);
  g_autoptr (GString) sp = g_string_new (NULL);
  g_autoptr (GString) sm = g_string_new (NULL);
  float  orig = *value;
  double lp, lm, fd, err;

  probe_loss (f, fd_mode, s0);
  *value = orig + (float) eps;
  if (is_param)
    hg_model_params_changed (f->model);
  lp = probe_loss (f, fd_mode, sp);
  *value = orig - (float) eps;
  if (is_param)
    hg_model_params_changed (f->model);
  lm = probe_loss (f, fd_mode, sm);
  *value = orig;
  if (is_param)
    hg_model_params_changed (f->model);

  /* A ReLU or max pool changed its mind between the two points: the
   * function has a kink there and the difference quotient means nothing. */
  if (!g_string_equal (s0, sp) || !g_string_equal (s0, sm))
    {
      st->skipped++;
      return;
    }

  fd = (lp - lm) / (2.0 * eps);
  err = fabs (fd - analytic) / (rtol * fabs (analytic) + atol * scale);
  st->checked++;
  st->max_err = MAX (st->max_err, err);
  if (err > 1.0)
    g_error ("%s[%" G_GSIZE_FORMAT "]: finite difference %.6g, analytic %.6g (scale %.3g)", what,
             index, fd, analytic, scale);
}

static double
max_abs (const float *v,
         gsize        n)
{
  double m = 1e-6;

  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabs (v[i]));
  return m;
}

/* Checks d(Σ logits·r)/dx and, if param_grads, d/dθ for up to max_params
 * parameters, where the analytic gradients come from mode with flags. */
static void
check_gradients (Fixture    *f,
                 HgMode      mode,
                 HgPassFlags flags,
                 int         max_inputs,
                 int         max_params,
                 const char *label)
{
  HgMode            fd_mode = mode == HG_MODE_TRAINING ? HG_MODE_TRAINING_NO_UPDATE : mode;
  g_autofree float *grad_x = g_new (float, f->n * f->in_size);
  float            *params, *grads = NULL;
  gsize             n_params;
  Stats             st = { 0 };
  gsize             n_in = f->n * f->in_size;
  g_autofree float *grads_copy = NULL;

  hg_context_set_seed (f->ctx, 99);
  if (flags & HG_PASS_PARAM_GRADS)
    hg_context_zero_grads (f->ctx);
  g_assert_true (hg_context_forward (f->ctx, mode, flags, f->x, f->n, NULL));
  g_assert_true (hg_context_backward (f->ctx, f->r, grad_x));
  params = hg_model_get_params (f->model, &n_params);
  if (flags & HG_PASS_PARAM_GRADS)
    grads_copy = g_memdup2 (hg_context_get_grads (f->ctx, NULL), n_params * sizeof (float));
  grads = grads_copy;

  {
    double scale = max_abs (grad_x, n_in);
    gsize  step = MAX (1, n_in / (gsize) max_inputs);

    for (gsize i = 0; i < n_in; i += step)
      check_one (f, fd_mode, &f->x[i], grad_x[i], scale, FALSE, &st, "input", i);
  }

  if (grads != NULL)
    {
      double scale = max_abs (grads, n_params);
      gsize  step = MAX (1, n_params / (gsize) max_params);

      for (gsize i = 0; i < n_params; i += step)
        check_one (f, fd_mode, &params[i], grads[i], scale, TRUE, &st,
                   hg_model_get_param_tensor (f->model, i, NULL), i);
    }

  g_test_message ("%s: %d values checked, %d skipped at kinks, worst error %.2f of tolerance",
                  label, st.checked, st.skipped, st.max_err);
  /* Kinks are rare enough that most points must have been checked. */
  g_assert_cmpint (st.checked, >, st.skipped);
}

static void
op_gradients (const OpCase *oc)
{
  Fixture f;

  rng_state = 12345;
  fixture_init (&f, model_for (oc), 3);
  randomize (f.model);

  check_gradients (&f, HG_MODE_INFERENCE, HG_PASS_NONE, 400, 0, "inference, fused");
  check_gradients (&f, HG_MODE_INFERENCE, HG_PASS_PARAM_GRADS, 400, 400, "inference, exact");
  check_gradients (&f, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, 400, 400, "training");
  check_gradients (&f, HG_MODE_TRAINING_NO_UPDATE, HG_PASS_NONE, 400, 0, "training, no update");
  fixture_clear (&f);
}

static void
test_op_gradients (gconstpointer data)
{
  op_gradients (data);
}

static void
test_op_gradients_winograd (gconstpointer data)
{
  hg_engine_set_winograd (HG_WINOGRAD_ALWAYS);
  op_gradients (data);
  hg_engine_set_winograd (HG_WINOGRAD_AUTO);
}

static const char *const full_archs[] = {
  "cnn:size=20,width=4",
  "cnn:size=20,width=4,hidden=8",
  "densenet:size=20,growth=3,layers=2",
  "resnet:size=20,width=4,blocks=1",
};

static void
test_arch_gradients (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  HgModel *model = hg_model_new_from_arch (data, 3, &error);
  Fixture  f;

  g_assert_no_error (error);
  rng_state = 777;
  fixture_init (&f, model, 2);
  /* keep the init weights (ReLU networks with random ±0.6 weights blow
   * up), but give batch norm non-trivial statistics */
  for (gsize i = 0; i < model->arch->n_buffers; i++)
    model->buffers[i] = 0.5f + 0.5f * uniform ();
  hg_model_params_changed (model);

  check_gradients (&f, HG_MODE_INFERENCE, HG_PASS_NONE, 200, 0, "inference, fused");
  check_gradients (&f, HG_MODE_INFERENCE, HG_PASS_PARAM_GRADS, 100, 150, "inference, exact");
  check_gradients (&f, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, 100, 150, "training");
  fixture_clear (&f);
}

/* Logits, input gradient and, in training, parameter gradients of one
 * pass with hg_engine_set_winograd (mode). */
static void
pass_with (Fixture   *f,
           HgWinograd mode,
           HgMode     hg_mode,
           float     *logits,
           float     *grad,
           float     *params)
{
  gsize n_params;

  hg_engine_set_winograd (mode);
  hg_context_set_seed (f->ctx, 1);
  hg_context_zero_grads (f->ctx);
  g_assert_true (hg_context_forward (f->ctx, hg_mode, hg_mode == HG_MODE_INFERENCE ? HG_PASS_NONE : HG_PASS_PARAM_GRADS,
                                     f->x, f->n, logits));
  g_assert_true (hg_context_backward (f->ctx, f->r, grad));
  if (params != NULL)
    {
      const float *p = hg_context_get_grads (f->ctx, &n_params);

      memcpy (params, p, n_params * sizeof (float));
    }
  hg_engine_set_winograd (HG_WINOGRAD_AUTO);
}

static void
assert_close (const float *a,
              const float *b,
              gsize        n,
              double       rel)
{
  double scale = max_abs (b, n), worst = 0.0;

  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs ((double) a[i] - b[i]));
  g_test_message ("worst difference %.3g of %.3g", worst, scale);
  g_assert_cmpfloat (worst, <=, rel * scale);
}

/* Winograd F(2×2, 3×3) against im2col, at the built-in networks' own
 * channel counts (the gradient cases are too narrow to use it unforced):
 * the same logits, input gradients (fused inference plan) and parameter
 * gradients (training), to rounding. 9 images: with 2 workers, small maps
 * go several images to a task. (With other inputs a ReLU input within
 * rounding of zero can decide differently in the two, and its gradient
 * then differs by a whole element's; benchmarks/torch-crosscheck counts
 * such kinks. These inputs have none.) */
static void
test_winograd_matches_im2col (void)
{
  static const char *const archs[] = {
    "cnn",
    "cnn:size=21,channels=12-18-20", /* odd maps, channels not in fours */
    "densenet:size=24",
    "resnet:size=24",
  };

  for (gsize a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      g_autoptr (GError) error = NULL;
      HgModel          *model = hg_model_new_from_arch (archs[a], 5, &error);
      Fixture           f;
      gsize             n_params;
      g_autofree float *l1 = NULL, *l2 = NULL, *g1 = NULL, *g2 = NULL, *p1 = NULL, *p2 = NULL;

      g_assert_no_error (error);
      g_test_message ("%s", archs[a]);
      rng_state = 31337;
      fixture_init (&f, model, 9);
      hg_model_get_params (model, &n_params);
      l1 = g_new (float, f.n *f.k);
      l2 = g_new (float, f.n *f.k);
      g1 = g_new (float, f.n *f.in_size);
      g2 = g_new (float, f.n *f.in_size);
      p1 = g_new (float, n_params);
      p2 = g_new (float, n_params);

      pass_with (&f, HG_WINOGRAD_OFF, HG_MODE_INFERENCE, l1, g1, NULL);
      pass_with (&f, HG_WINOGRAD_AUTO, HG_MODE_INFERENCE, l2, g2, NULL);
      assert_close (l2, l1, f.n * f.k, 1e-5);
      assert_close (g2, g1, f.n * f.in_size, 1e-4);

      pass_with (&f, HG_WINOGRAD_OFF, HG_MODE_TRAINING_NO_UPDATE, l1, g1, p1);
      pass_with (&f, HG_WINOGRAD_AUTO, HG_MODE_TRAINING_NO_UPDATE, l2, g2, p2);
      assert_close (l2, l1, f.n * f.k, 1e-5);
      assert_close (g2, g1, f.n * f.in_size, 1e-4);
      assert_close (p2, p1, n_params, 1e-4);
      fixture_clear (&f);
    }
}

static void
test_arch_gradients_winograd (gconstpointer data)
{
  hg_engine_set_winograd (HG_WINOGRAD_ALWAYS);
  test_arch_gradients (data);
  hg_engine_set_winograd (HG_WINOGRAD_AUTO);
}

/* The fused inference plan computes the same function as the exact one. */
static void
test_fused_matches_exact (void)
{
  for (gsize a = 0; a < G_N_ELEMENTS (full_archs); a++)
    {
      g_autoptr (GError) error = NULL;
      HgModel          *model = hg_model_new_from_arch (full_archs[a], 5, &error);
      Fixture           f;
      int               k;
      g_autofree float *l1 = NULL, *l2 = NULL, *g1 = NULL, *g2 = NULL;

      g_assert_no_error (error);
      rng_state = 99;
      fixture_init (&f, model, 4);
      for (gsize i = 0; i < model->arch->n_buffers; i++)
        model->buffers[i] = 0.5f + 0.5f * uniform ();
      hg_model_params_changed (model);
      k = f.k;
      l1 = g_new (float, f.n *k);
      l2 = g_new (float, f.n *k);
      g1 = g_new (float, f.n *f.in_size);
      g2 = g_new (float, f.n *f.in_size);

      g_assert_true (hg_context_forward (f.ctx, HG_MODE_INFERENCE, HG_PASS_NONE, f.x, f.n, l1));
      g_assert_true (hg_context_backward (f.ctx, f.r, g1));
      g_assert_true (f.ctx->plan->fused);
      g_assert_true (hg_context_forward (f.ctx, HG_MODE_INFERENCE, HG_PASS_PARAM_GRADS, f.x, f.n, l2));
      g_assert_true (hg_context_backward (f.ctx, f.r, g2));
      g_assert_false (f.ctx->plan->fused);

      for (int i = 0; i < f.n * k; i++)
        g_assert_cmpfloat_with_epsilon (l1[i], l2[i], 1e-4 * max_abs (l2, f.n * k));
      for (gsize i = 0; i < f.n * f.in_size; i++)
        g_assert_cmpfloat_with_epsilon (g1[i], g2[i], 1e-4 * max_abs (g2, f.n * f.in_size));
      fixture_clear (&f);
    }
}

/* Training: the exact plan (fused ReLUs, pools computed by their batch
 * norms) gives the logits and gradients of the plain one, which runs
 * every node on its own. */
static void
test_exact_matches_plain (void)
{
  static const char *const archs[] = {
    "cnn:size=20,width=4",
    "cnn:size=21,width=4", /* odd maps: rows and columns outside every window */
    "densenet:size=20,growth=3,layers=2",
    "resnet:size=20,width=4,blocks=1",
  };

  for (gsize a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      g_autoptr (GError) error = NULL;
      HgModel          *model = hg_model_new_from_arch (archs[a], 5, &error);
      Fixture           f;
      gsize             n_params;
      g_autofree float *l1 = NULL, *l2 = NULL, *g1 = NULL, *g2 = NULL, *p1 = NULL;
      const float      *p2;
      gboolean          pools_fused = FALSE;

      g_assert_no_error (error);
      rng_state = 4242;
      fixture_init (&f, model, 5);
      hg_model_get_params (model, &n_params);
      l1 = g_new (float, f.n *f.k);
      l2 = g_new (float, f.n *f.k);
      g1 = g_new (float, f.n *f.in_size);
      g2 = g_new (float, f.n *f.in_size);

      hg_context_set_seed (f.ctx, 1); /* the same dropout masks */
      hg_context_zero_grads (f.ctx);
      g_assert_true (hg_context_forward (f.ctx, HG_MODE_TRAINING_NO_UPDATE, HG_PASS_PARAM_GRADS,
                                         f.x, f.n, l1));
      for (int i = 0; i < model->arch->n_nodes; i++)
        pools_fused |= f.ctx->plan->steps[i].pooled_by != 0;
      g_assert_true (hg_context_backward (f.ctx, f.r, g1));
      p1 = g_memdup2 (hg_context_get_grads (f.ctx, NULL), n_params * sizeof (float));

      hg_context_set_seed (f.ctx, 1);
      hg_context_zero_grads (f.ctx);
      g_assert_true (hg_context_forward (f.ctx, HG_MODE_TRAINING_NO_UPDATE,
                                         HG_PASS_PARAM_GRADS | HG_PASS_KEEP_NODES, f.x, f.n, l2));
      g_assert_true (hg_context_backward (f.ctx, f.r, g2));
      p2 = hg_context_get_grads (f.ctx, NULL);

      /* the CNNs are conv, batch norm, ReLU, max pool: their pools fuse */
      if (g_str_has_prefix (archs[a], "cnn"))
        g_assert_true (pools_fused);
      for (int i = 0; i < f.n * f.k; i++)
        g_assert_cmpfloat_with_epsilon (l1[i], l2[i], 1e-5 * max_abs (l2, f.n * f.k));
      for (gsize i = 0; i < f.n * f.in_size; i++)
        g_assert_cmpfloat_with_epsilon (g1[i], g2[i], 1e-4 * max_abs (g2, f.n * f.in_size));
      for (gsize i = 0; i < n_params; i++)
        g_assert_cmpfloat_with_epsilon (p1[i], p2[i], 1e-4 * max_abs (p2, n_params));
      fixture_clear (&f);
    }
}

/* hg_model_loss_input_grad: Σ CE and its gradient, per sample. */
static void
test_loss_input_grad (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_new_from_arch ("cnn:size=20,width=4", 11, &error);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  float x[2 * 1200], gx[2 * 1200], gx1[1200], logits[4], probs[4], d[4];
  int   labels[2] = { 0, 1 };
  float loss, loss1;

  g_assert_no_error (error);
  rng_state = 5;
  for (int i = 0; i < 2 * 1200; i++)
    x[i] = uniform ();

  loss = hg_model_loss_input_grad (ctx, x, 2, labels, logits, gx);
  hg_softmax (logits, 2, 2, probs);
  g_assert_cmpfloat_with_epsilon (loss, -logf (probs[0]) - logf (probs[3]), 1e-5);
  g_assert_cmpfloat_with_epsilon (hg_softmax_cross_entropy (logits, 2, 2, labels, d), loss, 1e-6);
  g_assert_cmpfloat_with_epsilon (d[0], probs[0] - 1.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (d[1], probs[1], 1e-6);

  /* sample 1's gradient does not depend on sample 0 (inference mode) */
  loss1 = hg_model_loss_input_grad (ctx, x + 1200, 1, labels + 1, NULL, gx1);
  g_assert_cmpfloat_with_epsilon (loss1, -logf (probs[3]), 1e-5);
  for (int i = 0; i < 1200; i++)
    g_assert_cmpfloat_with_epsilon (gx1[i], gx[1200 + i], 1e-6 + 1e-4 * fabsf (gx1[i]));

  /* backward_input with the CE gradient gives the same */
  g_assert_true (hg_model_forward (ctx, x, 2, logits));
  hg_softmax_cross_entropy (logits, 2, 2, labels, d);
  g_assert_true (hg_model_backward_input (ctx, d, gx));
  for (int i = 0; i < 1200; i++)
    g_assert_cmpfloat_with_epsilon (gx1[i], gx[1200 + i], 1e-6 + 1e-4 * fabsf (gx1[i]));
}

/* The whole training path can drive the loss of a tiny batch to ~0. */
static void
test_overfit (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_new_from_arch ("cnn:size=16,width=6,dropout=0", 1, &error);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (HgOptimizer) opt = hg_optimizer_new_adam (model, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f);
  enum
  {
    N = 8
  };
  float x[N * 768], logits[N * 2];
  int   labels[N];
  float first = 0.0f, loss = 0.0f;

  g_assert_no_error (error);
  rng_state = 42;
  for (int i = 0; i < N * 768; i++)
    x[i] = uniform ();
  for (int i = 0; i < N; i++)
    labels[i] = i % 2;

  for (int step = 0; step < 150; step++)
    {
      loss = hg_model_train_step (ctx, opt, x, N, labels);
      if (step == 0)
        first = loss;
    }
  g_test_message ("loss %.4f -> %.4f", first, loss);
  g_assert_cmpfloat (loss, <, 0.05f);
  g_assert_cmpfloat (loss, <, first / 10.0f);

  /* …and inference (running statistics) agrees on the batch. */
  g_assert_true (hg_model_forward (ctx, x, N, logits));
  for (int i = 0; i < N; i++)
    g_assert_cmpint (logits[2 * i + 1] > logits[2 * i], ==, labels[i]);
}

/* SGD with momentum and weight decay against a hand computation. */
static void
test_optimizer_sgd (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_new_from_arch ("cnn:size=8,width=1", 1, &error);
  g_autoptr (HgOptimizer) opt = hg_optimizer_new_sgd (model, 0.1f, 0.9f, 0.01f, FALSE);
  gsize             n;
  float            *p = hg_model_get_params (model, &n);
  g_autofree float *g = g_new (float, n);
  g_autofree float *p0 = g_memdup2 (p, n * sizeof (float));
  gboolean          decay;

  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    g[i] = 1.0f;
  hg_optimizer_step (opt, g, 0.5f);
  hg_optimizer_step (opt, g, 0.5f);
  for (gsize i = 0; i < n; i++)
    {
      float gi, v, pi;

      hg_model_get_param_tensor (model, i, &decay);
      gi = 0.5f + (decay ? 0.01f * p0[i] : 0.0f);
      v = gi;
      pi = p0[i] - 0.1f * v;
      gi = 0.5f + (decay ? 0.01f * pi : 0.0f);
      v = 0.9f * v + gi;
      pi -= 0.1f * v;
      g_assert_cmpfloat_with_epsilon (p[i], pi, 1e-6);
    }
  g_assert_cmpuint (hg_optimizer_get_n_steps (opt), ==, 2);
}

static void
test_lr_schedule (void)
{
  HgLrSchedule     s = { HG_LR_COSINE, 0.1f, 0.0f, 0.1f, 100, 0 };
  HgLrScheduleKind kind;

  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 0), 0.1f, 1e-6);
  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 50), 0.05f, 1e-6);
  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 100), 0.0f, 1e-6);
  s.kind = HG_LR_STEP;
  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 60), 0.01f, 1e-6);
  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 80), 0.001f, 1e-7);
  s.kind = HG_LR_ONE_CYCLE;
  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 30), 0.1f, 1e-6);
  g_assert_cmpfloat (hg_lr_schedule_at (&s, 0), <, 0.01f);
  s.kind = HG_LR_CONSTANT;
  s.warmup_steps = 10;
  g_assert_cmpfloat_with_epsilon (hg_lr_schedule_at (&s, 4), 0.05f, 1e-6);
  g_assert_true (hg_lr_schedule_kind_from_string ("one-cycle", &kind));
  g_assert_cmpint (kind, ==, HG_LR_ONE_CYCLE);
  g_assert_false (hg_lr_schedule_kind_from_string ("linear", &kind));
}

/* ---- threads --------------------------------------------------------------- */

#define THREAD_N 5
#define THREAD_RUNS 6

typedef struct
{
  HgModel     *model;
  const float *x;
  const int   *labels;
  gsize        in_size;
  float       *logits; /* out */
  float       *grad;   /* out */
} ThreadWork;

static gpointer
thread_main (gpointer data)
{
  ThreadWork *w = data;
  HgContext  *ctx = hg_context_new (w->model);

  for (int r = 0; r < THREAD_RUNS; r++)
    {
      hg_model_forward (ctx, w->x, THREAD_N, w->logits);
      hg_model_loss_input_grad (ctx, w->x, THREAD_N, w->labels, NULL, w->grad);
    }
  hg_context_free (ctx);
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_new_from_arch ("cnn", 9, &error);
  enum
  {
    T = 4
  };
  gsize             in_size = 3 * 50 * 50;
  g_autofree float *x = g_new (float, T *THREAD_N *in_size);
  int               labels[THREAD_N] = { 0, 1, 1, 0, 1 };
  ThreadWork        work[T];
  GThread          *threads[T];

  g_assert_no_error (error);
  rng_state = 2024;
  for (gsize i = 0; i < T * THREAD_N * in_size; i++)
    x[i] = uniform ();

  for (int t = 0; t < T; t++)
    {
      work[t] = (ThreadWork){ model, x + t * THREAD_N * in_size, labels, in_size,
                              g_new (float, THREAD_N * 2), g_new (float, THREAD_N *in_size) };
      threads[t] = g_thread_new ("test", thread_main, &work[t]);
    }
  for (int t = 0; t < T; t++)
    g_thread_join (threads[t]);

  /* The same, one thread at a time: bit for bit. */
  for (int t = 0; t < T; t++)
    {
      g_autoptr (HgContext) ctx = hg_context_new (model);
      g_autofree float *logits = g_new (float, THREAD_N * 2);
      g_autofree float *grad = g_new (float, THREAD_N *in_size);

      hg_model_forward (ctx, work[t].x, THREAD_N, logits);
      hg_model_loss_input_grad (ctx, work[t].x, THREAD_N, labels, NULL, grad);
      g_assert_cmpmem (logits, THREAD_N * 2 * sizeof (float), work[t].logits,
                       THREAD_N * 2 * sizeof (float));
      g_assert_cmpmem (grad, THREAD_N * in_size * sizeof (float), work[t].grad,
                       THREAD_N * in_size * sizeof (float));
      g_free (work[t].logits);
      g_free (work[t].grad);
    }
}

/* A batch gives each sample's own input gradient, and the sum of their
 * parameter gradients (inference mode: samples are independent). Batches
 * of small maps run several images per task, a path single samples
 * never take. */
static void
test_batch_equals_singles (void)
{
  static const char *const archs[] = { "densenet:size=20,growth=4,layers=2", "resnet:size=20,width=4",
                                       "cnn:size=24,width=4" };

  for (gsize a = 0; a < G_N_ELEMENTS (archs); a++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgModel) model = hg_model_new_from_arch (archs[a], 4, &error);
      g_autoptr (HgContext) ctx = hg_context_new (model);
      enum
      {
        N = 16
      };
      int               h, w, c, labels[N];
      gsize             in_size, n_params;
      g_autofree float *x = NULL, *gx = NULL, *g1 = NULL, *grads = NULL;
      const float      *sum;

      g_assert_no_error (error);
      hg_model_get_input_size (model, &h, &w, &c);
      in_size = (gsize) h * w * c;
      x = g_new (float, N *in_size);
      gx = g_new (float, N *in_size);
      g1 = g_new (float, in_size);
      rng_state = 8;
      for (gsize i = 0; i < N * in_size; i++)
        x[i] = uniform ();
      for (int i = 0; i < N; i++)
        labels[i] = i % 2;

      hg_context_zero_grads (ctx);
      hg_context_loss_backward (ctx, HG_MODE_INFERENCE, HG_PASS_PARAM_GRADS, x, N, labels, NULL, gx);
      hg_context_get_grads (ctx, &n_params);
      grads = g_memdup2 (hg_context_get_grads (ctx, NULL), n_params * sizeof (float));
      hg_context_zero_grads (ctx);
      for (int i = 0; i < N; i++)
        {
          hg_context_loss_backward (ctx, HG_MODE_INFERENCE, HG_PASS_PARAM_GRADS, x + i * in_size, 1,
                                    labels + i, NULL, g1);
          for (gsize e = 0; e < in_size; e++)
            g_assert_cmpfloat_with_epsilon (g1[e], gx[i * in_size + e],
                                            1e-5 + 1e-4 * fabsf (g1[e]));
        }
      sum = hg_context_get_grads (ctx, NULL);
      for (gsize e = 0; e < n_params; e++)
        g_assert_cmpfloat_with_epsilon (sum[e], grads[e], 1e-4 * (1.0 + fabsf (grads[e])));
    }
}

/* hg_model_predict slices big batches and agrees with one forward pass;
 * a batch of 1 agrees with the same sample inside a batch. */
static void
test_predict_slices (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_new_from_arch ("cnn:size=12,width=3", 9, &error);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  enum
  {
    N = 150
  };
  gsize             in_size = 3 * 12 * 12;
  g_autofree float *x = g_new (float, N *in_size);
  float             a[N * 2], b[N * 2], one[2];

  g_assert_no_error (error);
  rng_state = 3;
  for (gsize i = 0; i < N * in_size; i++)
    x[i] = uniform ();
  g_assert_true (hg_model_forward (ctx, x, N, a));
  g_assert_true (hg_model_predict (ctx, x, N, b));
  for (int i = 0; i < N * 2; i++)
    g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-5);
  g_assert_true (hg_model_forward (ctx, x + 77 * in_size, 1, one));
  g_assert_cmpfloat_with_epsilon (one[0], a[154], 1e-5);
  g_assert_cmpfloat_with_epsilon (one[1], a[155], 1e-5);
}

/* The ReLU and max-pool decisions after node first, to skip steps that
 * cross a kink. */
static void
decisions_after (HgContext *ctx,
                 int        n,
                 int        first,
                 GString   *signature)
{
  g_string_truncate (signature, 0);
  for (int i = first + 1; i < ctx->arch->n_nodes; i++)
    {
      const HgNode *node = &ctx->arch->nodes[i];
      gsize         count = (gsize) n * node->shape.h * node->shape.w * node->shape.c;

      if (node->op == HG_OP_RELU)
        for (gsize e = 0; e < count; e++)
          g_string_append_c (signature, ctx->y[i][e] > 0.0f ? '+' : '0');
      else if (node->op == HG_OP_MAXPOOL)
        append_argmax (signature, ctx, i, n);
    }
}

/* Explanations read a node's output and gradient (Grad-CAM). The loss
 * L = Σ logits · r is a function of any node A that cuts the graph, so
 * for a small step of the input both ways, L(x+hv) − L(x−hv) must match
 * ⟨∂L/∂A, A(x+hv) − A(x−hv)⟩: a finite-difference check of the gradient
 * read back, with the activations read back too. */
static void
check_activation_grad (const char        *arch,
                       const char *const *nodes)
{
  g_autoptr (GError) error = NULL;
  HgModel          *model = hg_model_new_from_arch (arch, 3, &error);
  Fixture           f;
  g_autofree float *logits = NULL, *fused = NULL, *xp = NULL, *a0 = NULL, *g0 = NULL;

  g_assert_no_error (error);
  rng_state = 21;
  randomize (model);
  fixture_init (&f, model, 2);
  logits = g_new (float, f.n *f.k);
  fused = g_new (float, f.n *f.k);
  xp = g_new (float, f.n *f.in_size);

  /* Nothing to read after a fused pass or a predict. */
  g_assert_true (hg_model_forward (f.ctx, f.x, f.n, fused));
  g_assert_null (hg_context_get_activation (f.ctx, nodes[0], NULL, NULL, NULL));

  for (const char *const *name = nodes; *name != NULL; name++)
    {
      int          h, w, c;
      gsize        size;
      const float *a, *g;

      g_assert_true (hg_context_forward (f.ctx, HG_MODE_INFERENCE, HG_PASS_KEEP_NODES, f.x, f.n, logits));
      for (int i = 0; i < f.n * f.k; i++)
        g_assert_cmpfloat_with_epsilon (logits[i], fused[i], 1e-4 * max_abs (fused, f.n * f.k));
      a = hg_context_get_activation (f.ctx, *name, &h, &w, &c);
      g_assert_nonnull (a);
      g_assert_null (hg_context_get_activation_grad (f.ctx, *name, NULL, NULL, NULL));
      size = (gsize) f.n * h * w * c;
      g_free (a0);
      a0 = g_memdup2 (a, size * sizeof (float));
      g_assert_true (hg_context_backward (f.ctx, f.r, NULL));
      g = hg_context_get_activation_grad (f.ctx, *name, NULL, NULL, NULL);
      g_assert_nonnull (g);
      g_free (g0);
      g0 = g_memdup2 (g, size * sizeof (float));

      int index = -1, checked = 0;
      g_autoptr (GString) sig_plus = g_string_new (NULL);
      g_autoptr (GString) sig_minus = g_string_new (NULL);

      for (int i = 0; i < model->arch->n_nodes; i++)
        if (g_str_equal (model->arch->nodes[i].name, *name))
          index = i;

      for (int dir = 0; dir < 8; dir++)
        {
          g_autofree float *v = g_new (float, f.n *f.in_size);

          for (gsize i = 0; i < f.n * f.in_size; i++)
            v[i] = uniform () * 2.0f - 1.0f;

          /* The largest step that crosses no kink downstream. */
          for (float step = 1e-2f; step > 2e-4f; step /= 3)
            {
              g_autofree float *ap = NULL;
              double            lp = 0, lm = 0, predicted = 0;

              for (int sign = 1; sign >= -1; sign -= 2)
                {
                  double loss = 0;

                  for (gsize i = 0; i < f.n * f.in_size; i++)
                    xp[i] = f.x[i] + sign * step * v[i];
                  g_assert_true (hg_context_forward (f.probe, HG_MODE_INFERENCE, HG_PASS_KEEP_NODES, xp, f.n, logits));
                  for (int i = 0; i < f.n * f.k; i++)
                    loss += (double) logits[i] * f.r[i];
                  a = hg_context_get_activation (f.probe, *name, NULL, NULL, NULL);
                  decisions_after (f.probe, f.n, index, sign > 0 ? sig_plus : sig_minus);
                  if (sign > 0)
                    {
                      lp = loss;
                      ap = g_memdup2 (a, size * sizeof (float));
                    }
                  else
                    {
                      lm = loss;
                      for (gsize i = 0; i < size; i++)
                        predicted += (double) g0[i] * (ap[i] - a[i]);
                    }
                }

              if (!g_string_equal (sig_plus, sig_minus))
                continue;
              if (g_test_verbose ())
                g_test_message ("%s: step %g: %g vs %g", *name, step, lp - lm, predicted);
              g_assert_cmpfloat_with_epsilon (lp - lm, predicted,
                                              1e-6 + 2e-3 * MAX (fabs (lp - lm), fabs (predicted)));
              checked++;
              break;
            }
        }
      g_assert_cmpint (checked, >=, 4);
    }

  /* The input node is the normalised image. */
  g_assert_true (hg_context_forward (f.ctx, HG_MODE_INFERENCE, HG_PASS_KEEP_NODES, f.x, f.n, logits));
  {
    int          h, w, c;
    const float *in = hg_context_get_activation (f.ctx, "input", &h, &w, &c);
    float        mean[3], std[3];

    hg_model_get_normalization (model, mean, std);
    g_assert_nonnull (in);
    /* NHWC against the NCHW input: pixel (1, 2), channel 1 of sample 0 */
    g_assert_cmpfloat_with_epsilon (in[(1 * w + 2) * c + 1],
                                    (f.x[(1 * h + 1) * w + 2] - mean[1]) / std[1], 1e-5);
  }

  g_test_expect_message ("Histoguard", G_LOG_LEVEL_WARNING, "*no node called*");
  g_assert_null (hg_context_get_activation (f.ctx, "no-such-node", NULL, NULL, NULL));
  g_test_assert_expected_messages ();

  fixture_clear (&f);
}

static void
test_activation_grad (void)
{
  /* A max pool after a ReLU sees ties at zero, whose winner a small step
   * can change: the checked nodes are followed by piecewise-linear ops
   * whose kinks a small step does not cross. */
  g_autofree char *smooth = g_build_filename (g_get_tmp_dir (), "hg-test-smooth-arch.json", NULL);
  const char      *json = "{\"name\":\"smooth\",\"input\":[10,10,3],\"nodes\":["
                          "{\"name\":\"conv1\",\"op\":\"conv2d\",\"channels\":6,\"kernel\":3,\"padding\":1},"
                          "{\"name\":\"bn1\",\"op\":\"batchnorm\"},{\"name\":\"relu1\",\"op\":\"relu\"},"
                          "{\"name\":\"conv2\",\"op\":\"conv2d\",\"channels\":8,\"kernel\":3,\"padding\":1},"
                          "{\"name\":\"relu2\",\"op\":\"relu\"},{\"name\":\"gap\",\"op\":\"global_avgpool\"},"
                          "{\"name\":\"fc\",\"op\":\"dense\",\"units\":2}]}";

  g_assert_true (g_file_set_contents (smooth, json, -1, NULL));
  check_activation_grad (smooth, (const char *const[]){ "relu2", "conv2", "relu1", NULL });
  check_activation_grad ("cnn:size=12,width=4,dropout=30", (const char *const[]){ "gap", "pool3", NULL });
  check_activation_grad ("resnet:size=12,width=4,blocks=1", (const char *const[]){ "s3_b1_relu", NULL });
  g_unlink (smooth);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (op_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/hg/engine/gradient/%s", op_cases[i].name);

      g_test_add_data_func (path, &op_cases[i], test_op_gradients);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (op_cases); i++)
    if (has_winograd_conv (&op_cases[i]))
      {
        g_autofree char *path = g_strdup_printf ("/hg/engine/gradient/winograd/%s", op_cases[i].name);

        g_test_add_data_func (path, &op_cases[i], test_op_gradients_winograd);
      }
  for (gsize i = 0; i < G_N_ELEMENTS (full_archs); i++)
    {
      g_autofree char *name = g_strdelimit (g_strdup (full_archs[i]), ":,=", '-');
      g_autofree char *path = g_strdup_printf ("/hg/engine/gradient/arch-%s", name);

      g_test_add_data_func (path, full_archs[i], test_arch_gradients);
      g_free (path);
      path = g_strdup_printf ("/hg/engine/gradient/winograd/arch-%s", name);
      g_test_add_data_func (path, full_archs[i], test_arch_gradients_winograd);
    }
  g_test_add_func ("/hg/engine/winograd-matches-im2col", test_winograd_matches_im2col);
  g_test_add_func ("/hg/engine/fused-matches-exact", test_fused_matches_exact);
  g_test_add_func ("/hg/engine/exact-matches-plain", test_exact_matches_plain);
  g_test_add_func ("/hg/engine/loss-input-grad", test_loss_input_grad);
  g_test_add_func ("/hg/engine/activation-grad", test_activation_grad);
  g_test_add_func ("/hg/engine/predict-slices", test_predict_slices);
  g_test_add_func ("/hg/engine/batch-equals-singles", test_batch_equals_singles);
  g_test_add_func ("/hg/engine/overfit", test_overfit);
  g_test_add_func ("/hg/engine/optimizer-sgd", test_optimizer_sgd);
  g_test_add_func ("/hg/engine/lr-schedule", test_lr_schedule);
  g_test_add_func ("/hg/engine/threads", test_threads);

  return g_test_run ();
}
