/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The engine's side of benchmarks/compare-torch and benchmarks/torch-crosscheck.
 *
 *   hg-bench init ARCH SEED OUT.safetensors
 *       a fresh model with non-trivial batch-norm statistics
 *   hg-bench probe MODEL INPUT.f32 N LABELS.i32 OUTDIR
 *       writes logits and input gradients (inference and training mode),
 *       training-mode parameter gradients (as a safetensors file) and
 *       each ReLU's decisions
 *   hg-bench time MODEL INPUT.f32 N [SECONDS]
 *       prints one JSON object of timings
 *   hg-bench profile MODEL INPUT.f32 N [SECONDS [train|input-grad]]
 *       where a training step's (or an FGSM step's: forward and input
 *       gradient) time goes: milliseconds per step in each node's forward
 *       and backward pass, and in the optimizer's update
 *
 * HG_BENCH_WINOGRAD=off|auto|always sets how 3×3 convolutions run (see
 * hg_engine_set_winograd; auto is the engine's default).
 */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "src/core/hg-engine-private.h"

static HgWinograd bench_winograd = HG_WINOGRAD_AUTO;

static double
now (void)
{
  return g_get_monotonic_time () * 1e-6;
}

static float *
read_floats (const char *path,
             gsize       count)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize length;

  if (!g_file_get_contents (path, &data, &length, &error))
    g_error ("%s", error->message);
  if (length != count * 4)
    g_error ("%s: %" G_GSIZE_FORMAT " bytes, expected %" G_GSIZE_FORMAT, path, length, count * 4);
  return (float *) data;
}

static void
write_floats (const char  *dir,
              const char  *name,
              const float *v,
              gsize        count)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;

  if (!g_file_set_contents (path, (const char *) v, (gssize) (count * 4), &error))
    g_error ("%s", error->message);
}

/* The ReLU decisions of the last pass, 1 where a ReLU node's output is
 * positive, NHWC, as relu_MODE_NODE.f32: torch-crosscheck takes ours where
 * its own pre-activation is too close to zero for float32 to decide. */
static void
write_relu_masks (const char *dir,
                  const char *mode,
                  HgContext  *ctx,
                  int         n)
{
  for (int i = 0; i < ctx->arch->n_nodes; i++)
    {
      const HgNode     *node = &ctx->arch->nodes[i];
      gsize             count = (gsize) n * node->shape.h * node->shape.w * node->shape.c;
      const float      *y = ctx->y[ctx->plan->steps[i].alias]; /* fused: its producer's */
      g_autofree float *mask = NULL;
      g_autofree char  *name = NULL;

      if (node->op != HG_OP_RELU)
        continue;
      mask = g_new (float, count);
      for (gsize e = 0; e < count; e++)
        mask[e] = y[e] > 0.0f ? 1.0f : 0.0f;
      name = g_strdup_printf ("relu_%s_%s.f32", mode, node->name);
      write_floats (dir, name, mask, count);
    }
}

static HgModel *
load (const char *path)
{
  g_autoptr (GError) error = NULL;
  HgModel *model = hg_model_load (path, &error);

  if (model == NULL)
    g_error ("%s", error->message);
  return model;
}

static int
cmd_init (int    argc,
          char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  guint64 state;

  if (argc != 5)
    return 2;
  model = hg_model_new_from_arch (argv[2], g_ascii_strtoull (argv[3], NULL, 10), &error);
  if (model == NULL)
    g_error ("%s", error->message);

  /* batch norm that is not the identity, so folding is exercised */
  state = 12345;
  for (guint i = 0; i < model->arch->tensors->len; i++)
    {
      HgTensorSpec *t = model->arch->tensors->pdata[i];
      const HgNode *node = &model->arch->nodes[t->node];
      float        *v = (t->trainable ? model->params : model->buffers) + t->offset;

      if (node->op != HG_OP_BATCHNORM)
        continue;
      for (gsize j = 0; j < t->numel; j++)
        {
          float u;

          state = state * 6364136223846793005ULL + 1442695040888963407ULL;
          u = (float) ((state >> 40) * (1.0 / 16777216.0));
          if (g_str_has_suffix (t->name, ".running_var"))
            v[j] = 0.5f + u;
          else if (g_str_has_suffix (t->name, ".running_mean"))
            v[j] = u - 0.5f;
          else if (g_str_has_suffix (t->name, ".weight"))
            v[j] = 0.75f + 0.5f * u;
          else
            v[j] = 0.2f * (u - 0.5f);
        }
    }
  hg_model_params_changed (model);
  if (!hg_model_save (model, argv[4], &error))
    g_error ("%s", error->message);
  return 0;
}

static int
cmd_probe (int    argc,
           char **argv)
{
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autoptr (HgModel) grads = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree float *x = NULL, *logits = NULL, *gx = NULL;
  g_autofree int   *labels = NULL;
  g_autofree char  *grad_path = NULL;
  int               n, h, w, c, k;
  gsize             in_size, n_params;

  if (argc != 7)
    return 2;
  model = load (argv[2]);
  n = atoi (argv[4]);
  hg_model_get_input_size (model, &h, &w, &c);
  k = hg_model_get_n_classes (model);
  in_size = (gsize) h * w * c;
  x = read_floats (argv[3], n * in_size);
  labels = (int *) read_floats (argv[5], n);
  logits = g_new (float, n *k);
  gx = g_new (float, n *in_size);
  ctx = hg_context_new (model);

  hg_model_loss_input_grad (ctx, x, n, labels, logits, gx);
  write_floats (argv[6], "logits_inference.f32", logits, n * k);
  write_floats (argv[6], "grad_inference.f32", gx, n * in_size);
  write_relu_masks (argv[6], "inference", ctx, n);

  hg_context_zero_grads (ctx);
  hg_context_loss_backward (ctx, HG_MODE_TRAINING_NO_UPDATE, HG_PASS_PARAM_GRADS, x, n, labels,
                            logits, gx);
  write_floats (argv[6], "logits_training.f32", logits, n * k);
  write_floats (argv[6], "grad_training.f32", gx, n * in_size);
  write_relu_masks (argv[6], "training", ctx, n);

  /* parameter gradients in file layout: a model whose weights are them */
  grads = hg_model_copy (model);
  hg_model_get_params (grads, &n_params);
  memcpy (hg_model_get_params (grads, NULL), hg_context_get_grads (ctx, NULL),
          n_params * sizeof (float));
  grad_path = g_build_filename (argv[6], "param_grads.safetensors", NULL);
  if (!hg_model_save (grads, grad_path, &error))
    g_error ("%s", error->message);
  return 0;
}

/* Runs fn until min_seconds passed (after a warm-up); returns seconds per call. */
typedef void (*Bench) (gpointer data);

static double
measure (Bench    fn,
         gpointer data,
         double   min_seconds)
{
  double t0, best = INFINITY;
  int    calls = 0;

  fn (data);
  fn (data);
  t0 = now ();
  /* best of short rounds: robust against other processes waking up */
  while (now () - t0 < min_seconds || calls < 3)
    {
      double r0 = now ();

      fn (data);
      best = MIN (best, now () - r0);
      calls++;
    }
  return best;
}

typedef struct
{
  HgContext   *ctx;
  HgOptimizer *opt;
  const float *x;
  int          n;
  const int   *labels;
  float       *logits;
  float       *gx;
  /* sgemm */
  int    size;
  float *a, *b, *c;
} Work;

static void
bench_inference (gpointer data)
{
  Work *w = data;

  hg_model_forward (w->ctx, w->x, w->n, w->logits);
}

static void
bench_predict (gpointer data)
{
  Work *w = data;

  hg_model_predict (w->ctx, w->x, w->n, w->logits);
}

static void
bench_input_grad (gpointer data)
{
  Work *w = data;

  hg_model_loss_input_grad (w->ctx, w->x, w->n, w->labels, w->logits, w->gx);
}

static void
bench_train (gpointer data)
{
  Work *w = data;

  hg_model_train_step (w->ctx, w->opt, w->x, w->n, w->labels);
}

static void
bench_tile (gpointer data)
{
  Work *w = data;

  hg_model_loss_input_grad (w->ctx, w->x, 1, w->labels, w->logits, w->gx);
  hg_model_forward (w->ctx, w->gx /* the "perturbed" tile */, 1, w->logits);
}

static void
bench_sgemm (gpointer data)
{
  Work *w = data;

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, w->size, w->size, w->size, 1.0f, w->a,
               w->size, w->b, w->size, 0.0f, w->c, w->size);
}

static double
conv_flops (HgModel *model)
{
  HgArch *arch = model->arch;
  double  flops = 0.0;

  for (int i = 0; i < arch->n_nodes; i++)
    {
      const HgNode *node = &arch->nodes[i];

      if (node->op == HG_OP_CONV2D)
        flops += 2.0 * node->shape.h * node->shape.w * node->shape.c *
                 arch->nodes[node->inputs[0]].shape.c * node->p.conv.kernel * node->p.conv.kernel;
    }
  return flops;
}

/* hg_model_forward for about seconds: its rounds, and the seconds spent
 * in conv layers and in the rest. */
static void
profile_forward (HgContext   *ctx,
                 const float *x,
                 int          n,
                 float       *logits,
                 double       seconds,
                 int         *rounds,
                 double      *conv_seconds,
                 double      *other_seconds)
{
  double t0 = now ();

  *rounds = 0;
  *conv_seconds = *other_seconds = 0.0;
  hg_context_set_profile (ctx, TRUE);
  while (now () - t0 < seconds || *rounds < 3)
    {
      hg_model_forward (ctx, x, n, logits);
      (*rounds)++;
    }
  for (int i = 0; i < ctx->arch->n_nodes; i++)
    {
      if (ctx->arch->nodes[i].op == HG_OP_CONV2D)
        *conv_seconds += ctx->forward_seconds[i];
      else
        *other_seconds += ctx->forward_seconds[i];
    }
  hg_context_set_profile (ctx, FALSE);
}

static int
cmd_time (int    argc,
          char **argv)
{
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autoptr (HgOptimizer) opt = NULL;
  g_autofree float *x = NULL, *x_big = NULL, *logits = NULL, *gx = NULL;
  g_autofree int   *labels = NULL;
  double            seconds, t_inf, t_ig, t_train, t_tile, t_sgemm, t_slider, t_heatmap;
  double            conv_seconds, other_seconds, conv_seconds_im2col, other_im2col;
  int               n, h, w, c, k, rounds, rounds_im2col;
  gsize             in_size;
  Work              work;
  int               peak_threads;

  if (argc < 5)
    return 2;
  model = load (argv[2]);
  n = atoi (argv[4]);
  seconds = argc > 5 ? g_ascii_strtod (argv[5], NULL) : 2.0;
  hg_model_get_input_size (model, &h, &w, &c);
  k = hg_model_get_n_classes (model);
  in_size = (gsize) h * w * c;
  x = read_floats (argv[3], n * in_size);
  labels = g_new0 (int, MAX (n, 1000));
  for (int i = 0; i < MAX (n, 1000); i++)
    labels[i] = i % k;
  logits = g_new (float, 1000 * k);
  gx = g_new (float, n *in_size);
  ctx = hg_context_new (model);

  work = (Work){ ctx, NULL, x, n, labels, logits, gx, 0, NULL, NULL, NULL };
  t_inf = measure (bench_inference, &work, seconds);
  t_ig = measure (bench_input_grad, &work, seconds);
  t_tile = measure (bench_tile, &work, seconds);

  /* the live slider (300 tiles, one forward) and a heatmap (1000 tiles) */
  x_big = g_new (float, 1000 * in_size);
  for (int i = 0; i < 1000; i++)
    memcpy (x_big + i * in_size, x + (i % n) * in_size, in_size * sizeof (float));
  work.x = x_big;
  work.n = 300;
  t_slider = measure (bench_predict, &work, seconds);
  work.n = 1000;
  t_heatmap = measure (bench_predict, &work, seconds);
  work.x = x;
  work.n = n;

  /* where inference time goes; and the conv layers' time without
   * Winograd, whose 3×3 convs do 2.25× fewer multiplies than the FLOPs
   * counted */
  profile_forward (ctx, x, n, logits, seconds, &rounds, &conv_seconds, &other_seconds);
  hg_engine_set_winograd (HG_WINOGRAD_OFF);
  profile_forward (ctx, x, n, logits, seconds, &rounds_im2col, &conv_seconds_im2col, &other_im2col);
  hg_engine_set_winograd (bench_winograd);

  /* a training step last: it changes the weights */
  opt = hg_optimizer_new_sgd (model, 1e-4f, 0.9f, 5e-4f, FALSE);
  work.opt = opt;
  t_train = measure (bench_train, &work, seconds);

  /* cblas_sgemm's own peak, with every core the engine may use */
  peak_threads = MAX (hg_threads_get_n_workers (), hg_threads_get_blas_threads ());
  openblas_set_num_threads (peak_threads);
  work.size = 2048;
  work.a = g_new (float, (gsize) work.size *work.size);
  work.b = g_new (float, (gsize) work.size *work.size);
  work.c = g_new (float, (gsize) work.size *work.size);
  for (gsize i = 0; i < (gsize) work.size * work.size; i++)
    work.a[i] = work.b[i] = (float) (i % 17) * 0.01f;
  t_sgemm = measure (bench_sgemm, &work, seconds);
  openblas_set_num_threads (hg_threads_get_blas_threads ());
  g_free (work.a);
  g_free (work.b);
  g_free (work.c);

  printf ("{\"arch\": \"%s\", \"batch\": %d, \"flops_per_patch\": %.0f,"
          " \"inference_ms\": %.3f, \"input_grad_ms\": %.3f, \"train_step_ms\": %.3f,"
          " \"tile_fgsm_ms\": %.3f, \"slider_300_ms\": %.2f, \"heatmap_1000_ms\": %.2f,"
          " \"conv_gflops\": %.2f, \"conv_gflops_im2col\": %.2f, \"conv_share\": %.3f,"
          " \"sgemm_peak_gflops\": %.2f,"
          " \"workers\": %d, \"blas_threads\": %d}\n",
          hg_model_get_arch_name (model), n, hg_arch_get_flops (model->arch), t_inf * 1e3,
          t_ig * 1e3, t_train * 1e3, t_tile * 1e3, t_slider * 1e3, t_heatmap * 1e3,
          conv_flops (model) * n * rounds / conv_seconds / 1e9,
          conv_flops (model) * n * rounds_im2col / conv_seconds_im2col / 1e9,
          conv_seconds / (conv_seconds + other_seconds),
          2.0 * pow (work.size, 3) / t_sgemm / 1e9, hg_threads_get_n_workers (),
          hg_threads_get_blas_threads ());
  return 0;
}

static int
cmd_profile (int    argc,
             char **argv)
{
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autoptr (HgOptimizer) opt = NULL;
  g_autofree float *x = NULL, *gx = NULL;
  g_autofree int   *labels = NULL;
  double            seconds, t0, loss_seconds = 0.0, step_seconds = 0.0, total = 0.0;
  int               n, h, w, c, k, steps = 0;
  gboolean          train;

  if (argc < 5 || (argc > 6 && strcmp (argv[6], "train") != 0 && strcmp (argv[6], "input-grad") != 0))
    return 2;
  train = argc <= 6 || strcmp (argv[6], "train") == 0;
  model = load (argv[2]);
  n = atoi (argv[4]);
  seconds = argc > 5 ? g_ascii_strtod (argv[5], NULL) : 2.0;
  hg_model_get_input_size (model, &h, &w, &c);
  k = hg_model_get_n_classes (model);
  x = read_floats (argv[3], (gsize) n * h * w * c);
  labels = g_new0 (int, n);
  for (int i = 0; i < n; i++)
    labels[i] = i % k;
  gx = g_new (float, (gsize) n *h *w *c);
  ctx = hg_context_new (model);
  opt = hg_optimizer_new_sgd (model, 1e-4f, 0.9f, 5e-4f, FALSE);
  /* warm-up: buffers, first touch */
  if (train)
    hg_model_train_step (ctx, opt, x, n, labels);
  else
    hg_model_loss_input_grad (ctx, x, n, labels, NULL, gx);

  hg_context_set_profile (ctx, TRUE);
  t0 = now ();
  while (now () - t0 < seconds || steps < 3)
    {
      double t1 = now (), t2;

      if (train)
        {
          hg_context_zero_grads (ctx);
          hg_context_loss_backward (ctx, HG_MODE_TRAINING, HG_PASS_PARAM_GRADS, x, n, labels, NULL,
                                    NULL);
        }
      else
        hg_model_loss_input_grad (ctx, x, n, labels, NULL, gx);
      t2 = now ();
      if (train)
        hg_optimizer_step (opt, hg_context_get_grads (ctx, NULL), 1.0f / n);
      loss_seconds += t2 - t1;
      step_seconds += now () - t2;
      steps++;
    }

  printf ("%s, batch %d, %d %s steps: ms per step\n", hg_model_get_arch_name (model), n, steps,
          train ? "training" : "input-gradient");
  printf ("%-16s %-10s %9s %9s\n", "node", "op", "forward", "backward");
  for (int i = 0; i < model->arch->n_nodes; i++)
    if (ctx->forward_seconds[i] > 0.0 || ctx->backward_seconds[i] > 0.0)
      {
        printf ("%-16s %-10s %9.2f %9.2f\n", model->arch->nodes[i].name,
                hg_op_name (model->arch->nodes[i].op), ctx->forward_seconds[i] * 1e3 / steps,
                ctx->backward_seconds[i] * 1e3 / steps);
        total += ctx->forward_seconds[i] + ctx->backward_seconds[i];
      }
  printf ("%-27s %9.2f\n", "ops, total", total * 1e3 / steps);
  printf ("%-27s %9.2f\n", "rest of pass", (loss_seconds - total) * 1e3 / steps);
  printf ("%-27s %9.2f\n", "optimizer", step_seconds * 1e3 / steps);
  printf ("%-27s %9.2f\n", "step", (loss_seconds + step_seconds) * 1e3 / steps);
  hg_context_set_profile (ctx, FALSE); /* clears the counters */
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  int         rc = 2;
  const char *wino = g_getenv ("HG_BENCH_WINOGRAD");

  if (wino != NULL && strcmp (wino, "off") == 0)
    bench_winograd = HG_WINOGRAD_OFF;
  else if (wino != NULL && strcmp (wino, "always") == 0)
    bench_winograd = HG_WINOGRAD_ALWAYS;
  else if (wino != NULL && strcmp (wino, "auto") != 0)
    {
      fprintf (stderr, "hg-bench: HG_BENCH_WINOGRAD must be off, auto or always\n");
      return 2;
    }
  hg_engine_set_winograd (bench_winograd);

  if (argc >= 2 && strcmp (argv[1], "init") == 0)
    rc = cmd_init (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "probe") == 0)
    rc = cmd_probe (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "time") == 0)
    rc = cmd_time (argc, argv);
  else if (argc >= 2 && strcmp (argv[1], "profile") == 0)
    rc = cmd_profile (argc, argv);

  if (rc == 2)
    fprintf (stderr, "Usage: hg-bench init ARCH SEED OUT\n"
                     "       hg-bench probe MODEL INPUT.f32 N LABELS.i32 OUTDIR\n"
                     "       hg-bench time MODEL INPUT.f32 N [SECONDS]\n"
                     "       hg-bench profile MODEL INPUT.f32 N [SECONDS [train|input-grad]]\n");
  return rc;
}
