/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"

#include "hg-engine-private.h"
#include "hg-threads-private.h"

/* The engine: per-op forward and backward passes over NHWC activations,
 * and the context that runs a plan (hg-model.c) batch by batch.
 *
 * Activations are NHWC, so the pixels of a whole batch are the rows of
 * one matrix and a convolution is im2col + one sgemm per band of output
 * rows: col[pixels × k·k·C] · Wᵀ[k·k·C × OC] → y[pixels × OC]. A band is
 * small enough for its im2col block to stay in L2; bands are the tasks
 * the worker pool shares. The backward pass is the same gemm transposed
 * plus col2im, and bands that would scatter into the same input rows run
 * in two phases (even bands, then odd ones) so no two workers add into
 * one element.
 *
 * Gradients flow into per-node buffers: the first op to write a node's
 * gradient stores it, later ones add (dy_set), so nothing is zeroed that
 * need not be. */

#define ROWS_PER_TASK_FLOATS 16384 /* elementwise ops: floats per task */
#define COL_BLOCK_FLOATS 131072    /* conv: im2col floats per band (512 KiB of 2 MiB L2) */
#define MAX_BAND_PIXELS 1024       /* conv: output pixels per band */
#define PREDICT_SLICE 64

/* ---- small helpers ------------------------------------------------------ */

static inline gsize
shape_size (HgShape s)
{
  return (gsize) s.h * s.w * s.c;
}

static inline int
ceil_div (gsize a,
          gsize b)
{
  return (int) ((a + b - 1) / b);
}

static float *
scratch (HgScratch *s,
         float    **buf,
         gsize     *cap,
         gsize      n)
{
  if (*cap < n)
    {
      g_free (*buf);
      *buf = g_new (float, n);
      *cap = n;
    }
  (void) s;
  return *buf;
}

static double *
scratch_d (HgScratch *s,
           gsize      n)
{
  if (s->dacc_cap < n)
    {
      g_free (s->dacc);
      s->dacc = g_new (double, n);
      s->dacc_cap = n;
    }
  return s->dacc;
}

static inline const float *
node_y (HgContext *ctx,
        int        node)
{
  return ctx->y[ctx->plan->steps[node].alias];
}

static guint64
rng_next (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* ---- input: NCHW [0,1] pixels → normalised NHWC ------------------------ */

typedef struct
{
  HgContext   *ctx;
  HgShape      s;
  const float *x;
  float       *y;
} InputJob;

static void
input_forward_task (gpointer data,
                    int      task,
                    int      worker)
{
  InputJob    *j = data;
  gsize        plane = (gsize) j->s.h * j->s.w;
  const float *x = j->x + (gsize) task * plane * j->s.c;
  float       *y = j->y + (gsize) task * plane * j->s.c;
  const float *mean = j->ctx->model->mean, *std = j->ctx->model->std;

  for (int c = 0; c < j->s.c; c++)
    {
      float inv = 1.0f / std[c], m = mean[c];

      for (gsize p = 0; p < plane; p++)
        y[p * j->s.c + c] = (x[c * plane + p] - m) * inv;
    }
}

static void
input_forward (HgContext   *ctx,
               const float *x,
               int          n)
{
  InputJob j = { ctx, ctx->arch->nodes[0].shape, x, ctx->y[0] };

  hg_parallel_for (n, input_forward_task, &j);
}

static void
input_backward_task (gpointer data,
                     int      task,
                     int      worker)
{
  InputJob    *j = data;
  gsize        plane = (gsize) j->s.h * j->s.w;
  const float *dy = j->x + (gsize) task * plane * j->s.c;
  float       *dx = j->y + (gsize) task * plane * j->s.c;
  const float *std = j->ctx->model->std;

  for (int c = 0; c < j->s.c; c++)
    {
      float inv = 1.0f / std[c];

      for (gsize p = 0; p < plane; p++)
        dx[c * plane + p] = dy[p * j->s.c + c] * inv;
    }
}

/* ---- conv2d ------------------------------------------------------------- */

typedef struct _ConvJob
{
  HgContext    *ctx;
  const HgNode *node;
  const HgStep *step;
  HgShape       in, out;
  int           k, stride, pad, oc;
  int           K; /* k·k·C */
  gboolean      pointwise;
  int           n; /* images */
  int           band_rows, bands, phase;
  int           ipt;       /* whole images per task (small maps), else 1 */
  gboolean      relu;      /* dy still to be masked by a fused ReLU */
  float        *pool_y;    /* a fused 2×2 max pool's output, or NULL */
  HgShape       pool;      /* its shape */
  gboolean      transient; /* no backward pass: conv output only in scratch */
  gsize         rows_per_task, rows;
  const float  *x;
  float        *y;
  const float  *dy;
  float        *dyw; /* dy, masked in place when a ReLU was fused */
  float        *dx;
  gboolean      dx_add, need_dx, need_dw;
  /* the input gradient as a convolution of dy (stride 1 only) */
  const struct _ConvJob *dual;
  const float           *wt; /* [C][k·k·OC]: W flipped and transposed */
} ConvJob;

/* memcpy of n floats, for the short runs of im2col: a first layer copies
 * k·3 floats at a time, and a call per run costs more than the copy.
 * Fixed-size memcpys compile to plain moves. */
static inline void
copy_floats (float       *dst,
             const float *src,
             gsize        n)
{
  if (n > 32)
    {
      memcpy (dst, src, n * sizeof (float));
      return;
    }
  for (; n >= 8; n -= 8, dst += 8, src += 8)
    memcpy (dst, src, 8 * sizeof (float));
  if (n >= 4)
    {
      memcpy (dst, src, 4 * sizeof (float));
      n -= 4, dst += 4, src += 4;
    }
  if (n >= 2)
    {
      memcpy (dst, src, 2 * sizeof (float));
      n -= 2, dst += 2, src += 2;
    }
  if (n == 1)
    *dst = *src;
}

static void
im2col_band (const ConvJob *j,
             const float   *x, /* one image */
             int            oy0,
             int            oy1,
             float         *col)
{
  int   C = j->in.c, W = j->in.w, H = j->in.h, k = j->k, s = j->stride, p = j->pad;
  int   ow = j->out.w;
  gsize kc = (gsize) k * C;

  for (int oy = oy0; oy < oy1; oy++)
    for (int ox = 0; ox < ow; ox++)
      {
        float *row = col + ((gsize) (oy - oy0) * ow + ox) * j->K;
        int    ix0 = ox * s - p;

        for (int ky = 0; ky < k; ky++)
          {
            int    iy = oy * s - p + ky;
            float *dst = row + ky * kc;

            if (iy < 0 || iy >= H)
              {
                memset (dst, 0, kc * sizeof (float));
                continue;
              }
            if (ix0 >= 0 && ix0 + k <= W)
              {
                copy_floats (dst, x + ((gsize) iy * W + ix0) * C, kc);
                continue;
              }
            for (int kx = 0; kx < k; kx++)
              {
                int ix = ix0 + kx;

                if (ix < 0 || ix >= W)
                  memset (dst + (gsize) kx * C, 0, C * sizeof (float));
                else
                  copy_floats (dst + (gsize) kx * C, x + ((gsize) iy * W + ix) * C, C);
              }
          }
      }
}

static void
col2im_band (const ConvJob *j,
             const float   *col,
             int            oy0,
             int            oy1,
             float         *dx) /* one image, added into */
{
  int   C = j->in.c, W = j->in.w, H = j->in.h, k = j->k, s = j->stride, p = j->pad;
  int   ow = j->out.w;
  gsize kc = (gsize) k * C;

  for (int oy = oy0; oy < oy1; oy++)
    for (int ox = 0; ox < ow; ox++)
      {
        const float *row = col + ((gsize) (oy - oy0) * ow + ox) * j->K;
        int          ix0 = ox * s - p;

        for (int ky = 0; ky < k; ky++)
          {
            int          iy = oy * s - p + ky;
            const float *src = row + ky * kc;

            if (iy < 0 || iy >= H)
              continue;
            if (ix0 >= 0 && ix0 + k <= W)
              {
                float *d = dx + ((gsize) iy * W + ix0) * C;

                for (gsize e = 0; e < kc; e++)
                  d[e] += src[e];
                continue;
              }
            for (int kx = 0; kx < k; kx++)
              {
                int ix = ix0 + kx;

                if (ix >= 0 && ix < W)
                  {
                    float       *d = dx + ((gsize) iy * W + ix) * C;
                    const float *sv = src + (gsize) kx * C;

                    for (int c = 0; c < C; c++)
                      d[c] += sv[c];
                  }
              }
          }
      }
}

static void
epilogue (float       *y,
          gsize        rows,
          int          c,
          const float *bias,
          gboolean     relu)
{
  if (bias != NULL && relu)
    for (gsize r = 0; r < rows; r++, y += c)
      for (int o = 0; o < c; o++)
        {
          float v = y[o] + bias[o];

          y[o] = v > 0.0f ? v : 0.0f;
        }
  else if (bias != NULL)
    for (gsize r = 0; r < rows; r++, y += c)
      for (int o = 0; o < c; o++)
        y[o] += bias[o];
  else if (relu)
    for (gsize e = 0; e < rows * c; e++)
      y[e] = y[e] > 0.0f ? y[e] : 0.0f;
}

/* Bands of whole output rows, at least k rows so that bands two apart
 * never touch the same input rows (see col2im); several whole images per
 * task when images are small, so each sgemm still has enough rows (and
 * OpenBLAS packs the weights once per task, not once per 36 pixels). */
static void
conv_plan_bands (ConvJob *j)
{
  /* In gsize: K · width passes 2³¹ for wide inputs with many channels. */
  int   rows_per_band = (int) MAX (1, COL_BLOCK_FLOATS / ((gsize) j->K * j->out.w));
  gsize pixels = (gsize) j->out.h * j->out.w;

  /* sgemm runs at its single-core peak for 128–1024 rows and loses up to
   * half beyond (measured on the conv shapes of the built-in nets) */
  rows_per_band = MIN (rows_per_band, MAX (1, MAX_BAND_PIXELS / j->out.w));
  rows_per_band = MAX (rows_per_band, j->k);
  rows_per_band = MIN (rows_per_band, j->out.h);
  j->band_rows = rows_per_band;
  j->bands = ceil_div (j->out.h, rows_per_band);
  j->ipt = 1;
  if (j->bands == 1)
    {
      gsize by_rows = MAX_BAND_PIXELS / pixels;
      gsize by_cache = COL_BLOCK_FLOATS / (pixels * j->K);
      gsize by_tasks = (gsize) ceil_div (j->n, 4 * (gsize) hg_threads_get_n_workers ());

      j->ipt = (int) MAX (1, MIN (MIN (by_rows, by_cache), by_tasks));
    }
}

/* How many tasks a pass over the bands has (phase: see col2im). */
static int
conv_n_tasks (const ConvJob *j,
              int            phase)
{
  if (j->ipt > 1)
    return phase <= 0 ? ceil_div (j->n, j->ipt) : 0;
  if (phase < 0)
    return j->n * j->bands;
  return j->n * (phase == 0 ? (j->bands + 1) / 2 : j->bands / 2);
}

/* Task → images [img0, img1), output rows [oy0, oy1) of each. phase −1:
 * every band; 0/1: even/odd bands. */
static void
conv_task_range (const ConvJob *j,
                 int            task,
                 int            phase,
                 int           *img0,
                 int           *img1,
                 int           *oy0,
                 int           *oy1)
{
  int per_image, band;

  if (j->ipt > 1)
    {
      *img0 = task * j->ipt;
      *img1 = MIN (j->n, *img0 + j->ipt);
      *oy0 = 0;
      *oy1 = j->out.h;
      return;
    }
  per_image = phase < 0 ? j->bands : phase == 0 ? (j->bands + 1) / 2
                                                : j->bands / 2;
  band = phase < 0 ? task % per_image : 2 * (task % per_image) + phase;
  *img0 = task / per_image;
  *img1 = *img0 + 1;
  *oy0 = band * j->band_rows;
  *oy1 = MIN (*oy0 + j->band_rows, j->out.h);
}

/* im2col of the task's rows of every image, one after the other */
static void
im2col_task (const ConvJob *j,
             const float   *x,
             int            img0,
             int            img1,
             int            oy0,
             int            oy1,
             float         *col)
{
  gsize per_image = (gsize) (oy1 - oy0) * j->out.w * j->K;

  for (int img = img0; img < img1; img++)
    im2col_band (j, x + (gsize) img * shape_size (j->in), oy0, oy1, col + (img - img0) * per_image);
}

static void
conv_setup (ConvJob   *j,
            HgContext *ctx,
            int        i,
            int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];

  memset (j, 0, sizeof *j);
  j->ctx = ctx;
  j->node = node;
  j->step = &ctx->plan->steps[i];
  j->in = ctx->arch->nodes[node->inputs[0]].shape;
  j->out = node->shape;
  j->k = node->p.conv.kernel;
  j->stride = node->p.conv.stride;
  j->pad = node->p.conv.padding;
  j->oc = node->p.conv.out_channels;
  j->K = j->k * j->k * j->in.c;
  j->pointwise = j->k == 1 && j->stride == 1 && j->pad == 0;
  j->rows = (gsize) n * j->out.h * j->out.w;
  j->n = n;

  if (j->pointwise)
    {
      /* cache-sized blocks, but at least four per worker */
      j->rows_per_task = MAX (64, COL_BLOCK_FLOATS / MAX (j->in.c, j->oc));
      j->rows_per_task = MIN (j->rows_per_task,
                              MAX (64, j->rows / (4 * (gsize) hg_threads_get_n_workers ())));
      return;
    }

  conv_plan_bands (j);
}

/* 2×2 max pooling of conv output rows [oy0, oy1) (oy0 even) of one image,
 * from src (those rows) into the pool's image. */
static void
pool_rows (const ConvJob *j,
           const float   *src,
           int            oy0,
           int            oy1,
           float         *dst)
{
  int   C = j->oc, ow = j->out.w;
  gsize row = (gsize) ow * C;

  for (int py = oy0 / 2; py < MIN (oy1 / 2, j->pool.h); py++)
    for (int px = 0; px < j->pool.w; px++)
      {
        const float *restrict a = src + (gsize) (2 * py - oy0) * row + (gsize) 2 * px * C;
        const float *restrict b = a + C;
        const float *restrict c = a + row;
        const float *restrict d = c + C;
        float *restrict y = dst + ((gsize) py * j->pool.w + px) * C;

        for (int ch = 0; ch < C; ch++)
          y[ch] = MAX (MAX (a[ch], b[ch]), MAX (c[ch], d[ch]));
      }
}

static void
conv_forward_task (gpointer data,
                   int      task,
                   int      worker)
{
  ConvJob      *j = data;
  HgScratch    *sc = &j->ctx->work[worker];
  const HgStep *st = j->step;

  if (j->pointwise)
    {
      gsize r0 = (gsize) task * j->rows_per_task;
      gsize r = MIN (j->rows_per_task, j->rows - r0);

      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) r, j->oc, j->in.c, 1.0f,
                   j->x + r0 * j->in.c, j->in.c, st->w, j->in.c, 0.0f, j->y + r0 * j->oc, j->oc);
      epilogue (j->y + r0 * j->oc, r, j->oc, st->b, st->relu);
      return;
    }

  {
    int    img0, img1, oy0, oy1;
    gsize  bp, row0;
    float *col;

    float *out;

    conv_task_range (j, task, -1, &img0, &img1, &oy0, &oy1);
    bp = (gsize) (img1 - img0) * (oy1 - oy0) * j->out.w;
    row0 = ((gsize) img0 * j->out.h + oy0) * j->out.w;
    col = scratch (sc, &sc->col, &sc->col_cap, bp * j->K);
    out = j->transient ? scratch (sc, &sc->dcol, &sc->dcol_cap, bp * j->oc) : j->y + row0 * j->oc;
    im2col_task (j, j->x, img0, img1, oy0, oy1, col);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) bp, j->oc, j->K, 1.0f, col, j->K,
                 st->w, j->K, 0.0f, out, j->oc);
    epilogue (out, bp, j->oc, st->b, st->relu);
    if (j->pool_y != NULL) /* while the band is in cache */
      for (int img = img0; img < img1; img++)
        pool_rows (j, out + (gsize) (img - img0) * (oy1 - oy0) * j->out.w * j->oc, oy0, oy1,
                   j->pool_y + (gsize) img * shape_size (j->pool));
  }
}

static void
mask_relu (float *restrict dy,
           const float *restrict y,
           gsize count)
{
  for (gsize e = 0; e < count; e++)
    dy[e] = y[e] > 0.0f ? dy[e] : 0.0f;
}

static void
accumulate_bias (float *restrict db,
                 const float *restrict dy,
                 gsize rows,
                 int   c)
{
  for (gsize r = 0; r < rows; r++, dy += c)
    for (int o = 0; o < c; o++)
      db[o] += dy[o];
}

/* ---- Winograd F(2×2, 3×3) ----------------------------------------------- */

/* A 3×3 convolution with stride 1 and padding 1 (all but the ResNet's
 * downsampling 3×3 convs in the built-in networks) runs as Winograd's
 * minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each 2×2 block of outputs costs 16
 * multiplies per channel pair instead of 36. The input is cut into 4×4
 * tiles two pixels apart and transformed (Bᵀ d B); the 16 transformed
 * positions are multiplied by the transformed weights (G g Gᵀ) as 16 sgemms
 * over a band of tiles; each tile's 16 results are transformed back
 * (Aᵀ m A) into its 2×2 outputs, where the bias, the ReLU and a fused 2×2 max
 * pool (whose windows are exactly the tiles) are applied. The input
 * gradient of such a conv is the same convolution of dy with the flipped,
 * transposed kernel, so it runs the same way; its weight gradient is taken
 * in the Winograd domain (see wino_dw_task). Rounding differs from im2col's
 * in the last bits (see test-engine's winograd cases). Channels are
 * contiguous (NHWC), so the transforms run on 4 channels at a time. */

#define WINO_TASK_FLOATS 196608 /* V and M of one task: 768 KiB */

static HgWinograd winograd_mode = HG_WINOGRAD_AUTO;

void
hg_engine_set_winograd (HgWinograd mode)
{
  winograd_mode = mode;
}

gboolean
hg_winograd_fits (const HgNode *node)
{
  return node->op == HG_OP_CONV2D && node->p.conv.kernel == 3 && node->p.conv.stride == 1 &&
         node->p.conv.padding == 1;
}

/* For a pass with c input and oc output channels (for dx: the conv's
 * output and input channels). With fewer than 8 either way (a first
 * layer's 3) the sgemms are too shallow or too narrow, and im2col was
 * faster on the built-in networks (benchmarks/hg-bench profile). */
static gboolean
use_winograd (const HgNode *node,
              int           c,
              int           oc)
{
  if (!hg_winograd_fits (node) || winograd_mode == HG_WINOGRAD_OFF)
    return FALSE;
  return winograd_mode == HG_WINOGRAD_ALWAYS || (c >= 8 && oc >= 8);
}

/* u = G g Gᵀ for each channel pair of w ([oc][3][3][c]), as [16][c][oc]; or
 * with flip, of the kernel of the input gradient (g flipped, input and
 * output channels swapped), as [16][oc][c]. */
void
hg_winograd_weights (const float *w,
                     int          oc,
                     int          c,
                     gboolean     flip,
                     float       *u)
{
  gsize pair = (gsize) c * oc;

  for (int o = 0; o < oc; o++)
    for (int ci = 0; ci < c; ci++)
      {
        float g[3][3], t[4][3];

        for (int i = 0; i < 3; i++)
          for (int k = 0; k < 3; k++)
            g[i][k] = flip ? w[(((gsize) o * 3 + 2 - i) * 3 + 2 - k) * c + ci]
                           : w[(((gsize) o * 3 + i) * 3 + k) * c + ci];
        for (int k = 0; k < 3; k++)
          {
            t[0][k] = g[0][k];
            t[1][k] = 0.5f * (g[0][k] + g[1][k] + g[2][k]);
            t[2][k] = 0.5f * (g[0][k] - g[1][k] + g[2][k]);
            t[3][k] = g[2][k];
          }
        for (int i = 0; i < 4; i++)
          {
            float r[4] = { t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]),
                           0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2] };

            for (int k = 0; k < 4; k++)
              u[(gsize) (i * 4 + k) * pair + (flip ? (gsize) o * c + ci : (gsize) ci * oc + o)] = r[k];
          }
      }
}

typedef float  HgV4 __attribute__ ((vector_size (16)));
typedef gint32 HgV4i __attribute__ ((vector_size (16)));

static inline HgV4
v4_load (const float *p)
{
  HgV4 v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v4_store (float *p,
          HgV4   v)
{
  memcpy (p, &v, sizeof v);
}

static inline HgV4
v4_max (HgV4 a,
        HgV4 b)
{
  HgV4i gt = a > b;

  return (HgV4) (((HgV4i) a & gt) | ((HgV4i) b & ~gt));
}

static inline float
f_load (const float *p)
{
  return *p;
}

static inline void
f_store (float *p,
         float  v)
{
  *p = v;
}

static inline float
f_max (float a,
       float b)
{
  return a > b ? a : b;
}

typedef struct
{
  HgContext   *ctx;
  HgShape      in; /* of x; the output has the same height and width */
  int          oc;
  int          n, th, tw;   /* images, tile rows and columns */
  int          band, bands; /* tile rows per task, bands per image */
  int          ipt;         /* whole images per task (small maps), else 1 */
  const float *x;
  const float *u;  /* [16][in.c][oc] */
  const float *dy; /* weight gradient: dy of the output, masked */
  const float *bias;
  gboolean     relu;
  gboolean     add;    /* y += the convolution (no bias, ReLU or pool) */
  float       *y;      /* NULL: not kept (only the pool is) */
  float       *pool_y; /* a fused 2×2 max pool's output, or NULL */
  HgShape      pool;
} WinoJob;

/* Bᵀ d B of the 4×4 tile whose pixels p[r][q] point to, one channel
 * (T float) or four (T HgV4) at c. */
#define WINO_INPUT(T, LOAD, STORE)                                                     \
  do                                                                                   \
    {                                                                                  \
      T t[4][4];                                                                       \
                                                                                       \
      for (int q = 0; q < 4; q++)                                                      \
        {                                                                              \
          T d0 = LOAD (p[0][q] + c), d1 = LOAD (p[1][q] + c), d2 = LOAD (p[2][q] + c), \
            d3 = LOAD (p[3][q] + c);                                                   \
                                                                                       \
          t[0][q] = d0 - d2;                                                           \
          t[1][q] = d1 + d2;                                                           \
          t[2][q] = d2 - d1;                                                           \
          t[3][q] = d1 - d3;                                                           \
        }                                                                              \
      for (int r = 0; r < 4; r++)                                                      \
        {                                                                              \
          STORE (v + (gsize) (r * 4 + 0) * C + c, t[r][0] - t[r][2]);                  \
          STORE (v + (gsize) (r * 4 + 1) * C + c, t[r][1] + t[r][2]);                  \
          STORE (v + (gsize) (r * 4 + 2) * C + c, t[r][2] - t[r][1]);                  \
          STORE (v + (gsize) (r * 4 + 3) * C + c, t[r][1] - t[r][3]);                  \
        }                                                                              \
    }                                                                                  \
  while (0)

static void
wino_input_tile (const WinoJob *j,
                 const float   *x, /* one image */
                 int            ty,
                 int            tx,
                 const float   *zeros, /* C of them, for the padding */
                 float *restrict v)    /* [16][C] */
{
  int          C = j->in.c, H = j->in.h, W = j->in.w, c = 0;
  const float *p[4][4];

  for (int r = 0; r < 4; r++)
    for (int q = 0; q < 4; q++)
      {
        int iy = 2 * ty - 1 + r, ix = 2 * tx - 1 + q;

        p[r][q] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x + ((gsize) iy * W + ix) * C : zeros;
      }
  for (; c + 4 <= C; c += 4)
    WINO_INPUT (HgV4, v4_load, v4_store);
  for (; c < C; c++)
    WINO_INPUT (float, f_load, f_store);
}

/* Aᵀ m A of one tile, at output channel o (T float) or o…o+3 (T HgV4):
 * its 2×2 outputs y[0..3], then the epilogue. */
#define WINO_OUTPUT(T, LOAD, STORE, MAX, ZERO)                                                   \
  do                                                                                             \
    {                                                                                            \
      T s0[4], s1[4], y[4];                                                                      \
                                                                                                 \
      for (int q = 0; q < 4; q++)                                                                \
        {                                                                                        \
          T m0 = LOAD (m + (gsize) q * OC + o), m1 = LOAD (m + (gsize) (4 + q) * OC + o),        \
            m2 = LOAD (m + (gsize) (8 + q) * OC + o), m3 = LOAD (m + (gsize) (12 + q) * OC + o); \
                                                                                                 \
          s0[q] = m0 + m1 + m2;                                                                  \
          s1[q] = m1 - m2 - m3;                                                                  \
        }                                                                                        \
      y[0] = s0[0] + s0[1] + s0[2];                                                              \
      y[1] = s0[1] - s0[2] - s0[3];                                                              \
      y[2] = s1[0] + s1[1] + s1[2];                                                              \
      y[3] = s1[1] - s1[2] - s1[3];                                                              \
      if (j->add)                                                                                \
        for (int e = 0; e < 4; e++)                                                              \
          STORE (out[e] + o, LOAD (out[e] + o) + y[e]);                                          \
      else                                                                                       \
        {                                                                                        \
          for (int e = 0; e < 4; e++)                                                            \
            {                                                                                    \
              y[e] += LOAD (bias + o);                                                           \
              if (j->relu)                                                                       \
                y[e] = MAX (y[e], ZERO);                                                         \
              STORE (out[e] + o, y[e]);                                                          \
            }                                                                                    \
          STORE (pool + o, MAX (MAX (y[0], y[1]), MAX (y[2], y[3])));                            \
        }                                                                                        \
    }                                                                                            \
  while (0)

static void
wino_output_tile (const WinoJob *j,
                  const float *restrict m, /* [16][OC] */
                  const float *bias,       /* OC, zeros if none */
                  float *const out[4],     /* the 2×2 outputs (or a sink) */
                  float       *pool)             /* the pooled output (or a sink) */
{
  int  OC = j->oc, o = 0;
  HgV4 zero4 = { 0.0f, 0.0f, 0.0f, 0.0f };

  for (; o + 4 <= OC; o += 4)
    WINO_OUTPUT (HgV4, v4_load, v4_store, v4_max, zero4);
  for (; o < OC; o++)
    WINO_OUTPUT (float, f_load, f_store, f_max, 0.0f);
}

/* A dy Aᵀ of one tile's 2×2 output gradients, at channel o (T float) or
 * o…o+3 (T HgV4). */
#define WINO_DY(T, LOAD, STORE)                                         \
  do                                                                    \
    {                                                                   \
      T a[4][2];                                                        \
                                                                        \
      for (int q = 0; q < 2; q++)                                       \
        {                                                               \
          T g0 = LOAD (g[q] + o), g1 = LOAD (g[2 + q] + o);             \
                                                                        \
          a[0][q] = g0;                                                 \
          a[1][q] = g0 + g1;                                            \
          a[2][q] = g0 - g1;                                            \
          a[3][q] = -g1;                                                \
        }                                                               \
      for (int r = 0; r < 4; r++)                                       \
        {                                                               \
          STORE (dt + (gsize) (r * 4 + 0) * OC + o, a[r][0]);           \
          STORE (dt + (gsize) (r * 4 + 1) * OC + o, a[r][0] + a[r][1]); \
          STORE (dt + (gsize) (r * 4 + 2) * OC + o, a[r][0] - a[r][1]); \
          STORE (dt + (gsize) (r * 4 + 3) * OC + o, -a[r][1]);          \
        }                                                               \
    }                                                                   \
  while (0)

static void
wino_dy_tile (const float *const g[4], /* the 2×2 gradients (or zeros) */
              int                OC,
              float *restrict dt) /* [16][OC] */
{
  int o = 0;

  for (; o + 4 <= OC; o += 4)
    WINO_DY (HgV4, v4_load, v4_store);
  for (; o < OC; o++)
    WINO_DY (float, f_load, f_store);
}

static void
wino_plan (WinoJob *j)
{
  int   workers = hg_threads_get_n_workers ();
  gsize per_tile = 16 * ((gsize) j->in.c + j->oc);
  int   tiles = (int) CLAMP (WINO_TASK_FLOATS / per_tile, 16, 1024);

  j->th = ceil_div (j->in.h, 2);
  j->tw = ceil_div (j->in.w, 2);
  j->band = CLAMP (tiles / j->tw, 1, j->th);
  j->bands = ceil_div (j->th, j->band);
  j->band = ceil_div (j->th, j->bands); /* as even as they go */
  j->ipt = 1;
  if (j->bands == 1)
    j->ipt = MAX (1, MIN (tiles / (j->th * j->tw), ceil_div (j->n, 4 * (gsize) workers)));
}

static int
wino_n_tasks (const WinoJob *j)
{
  return j->ipt > 1 ? ceil_div (j->n, j->ipt) : j->n * j->bands;
}

/* Where the 2×2 output pixels of tile (ty, tx) are in one image's output
 * map (floats from its start), or −1 beyond the map's edge. */
static void
wino_tile_pixels (const WinoJob *j,
                  int            ty,
                  int            tx,
                  gssize         px[4])
{
  for (int e = 0; e < 4; e++)
    {
      int oy = 2 * ty + e / 2, ox = 2 * tx + e % 2;

      px[e] = oy < j->in.h && ox < j->in.w ? ((gssize) oy * j->in.w + ox) * j->oc : -1;
    }
}

/* Task → images [img0, img1), tile rows [ty0, ty1) of each. */
static void
wino_task_range (const WinoJob *j,
                 int            task,
                 int           *img0,
                 int           *img1,
                 int           *ty0,
                 int           *ty1)
{
  if (j->ipt > 1)
    {
      *img0 = task * j->ipt;
      *img1 = MIN (j->n, *img0 + j->ipt);
      *ty0 = 0;
      *ty1 = j->th;
      return;
    }
  *img0 = task / j->bands;
  *img1 = *img0 + 1;
  *ty0 = (task % j->bands) * j->band;
  *ty1 = MIN (*ty0 + j->band, j->th);
}

static void
wino_task (gpointer data,
           int      task,
           int      worker)
{
  const WinoJob *j = data;
  HgScratch     *sc = &j->ctx->work[worker];
  int            C = j->in.c, OC = j->oc, img0, img1, ty0, ty1, rows;
  gsize          T, t, in_size = shape_size (j->in), out_size = (gsize) j->in.h * j->in.w * OC;
  float         *v, *m, *zeros, *sink, *nobias;

  wino_task_range (j, task, &img0, &img1, &ty0, &ty1);
  rows = ty1 - ty0;
  T = (gsize) (img1 - img0) * rows * j->tw;
  v = scratch (sc, &sc->col, &sc->col_cap, T * 16 * C + C);
  m = scratch (sc, &sc->dcol, &sc->dcol_cap, T * 16 * OC + 2 * (gsize) OC);
  zeros = v + T * 16 * C;
  sink = m + T * 16 * OC;
  nobias = sink + OC;
  memset (zeros, 0, C * sizeof (float));
  memset (sink, 0, 2 * (gsize) OC * sizeof (float));

  t = 0;
  for (int img = img0; img < img1; img++)
    for (int ty = ty0; ty < ty1; ty++)
      for (int tx = 0; tx < j->tw; tx++, t++)
        wino_input_tile (j, j->x + (gsize) img * in_size, ty, tx, zeros, v + t * 16 * C);

  for (int e = 0; e < 16; e++)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) T, OC, C, 1.0f, v + (gsize) e * C,
                 16 * C, j->u + (gsize) e * C * OC, OC, 0.0f, m + (gsize) e * OC, 16 * OC);

  t = 0;
  for (int img = img0; img < img1; img++)
    for (int ty = ty0; ty < ty1; ty++)
      for (int tx = 0; tx < j->tw; tx++, t++)
        {
          float *out[4], *pool = sink;
          gssize px[4];

          wino_tile_pixels (j, ty, tx, px);
          for (int e = 0; e < 4; e++)
            out[e] = j->y != NULL && px[e] >= 0 ? j->y + (gsize) img * out_size + px[e] : sink;
          if (j->pool_y != NULL && ty < j->pool.h && tx < j->pool.w)
            pool = j->pool_y + (gsize) img * shape_size (j->pool) + ((gsize) ty * j->pool.w + tx) * OC;
          wino_output_tile (j, m + t * 16 * OC, j->bias != NULL ? j->bias : nobias, out, pool);
        }
}

/* The Winograd-domain weights of a conv, forward or for dx: the inference
 * plan's, made once, or made now from the model's own (training). */
static const float *
wino_weights (HgContext     *ctx,
              const ConvJob *cj,
              gboolean       dx)
{
  const float *made = dx ? cj->step->wino_dx : cj->step->wino;
  gsize        size = 16 * (gsize) cj->in.c * cj->oc;

  if (made != NULL)
    return made;
  if (ctx->wino_cap < size)
    {
      g_free (ctx->wino);
      ctx->wino = g_new (float, size);
      ctx->wino_cap = size;
    }
  hg_winograd_weights (cj->step->w, cj->oc, cj->in.c, dx, ctx->wino);
  return ctx->wino;
}

/* The weight gradient in the Winograd domain: with V = Bᵀ d B of each
 * input tile and D = A dy Aᵀ of its 2×2 output gradients, dU[ξ] (c × oc)
 * = Σ over tiles of V[ξ]ᵀ D[ξ], one sgemm per ξ whose depth is the band's
 * tiles; wino_weight_grads takes it back to the 3×3 kernel. The
 * worker's accumulator holds dU, then the bias gradient. */
static void
wino_dw_task (gpointer data,
              int      task,
              int      worker)
{
  const WinoJob *j = data;
  HgScratch     *sc = &j->ctx->work[worker];
  int            C = j->in.c, OC = j->oc, H = j->in.h, W = j->in.w, img0, img1, ty0, ty1, rows;
  gsize          T, t, in_size = shape_size (j->in), out_size = (gsize) H * W * OC;
  float         *v, *d, *zeros, *acc = sc->acc;

  wino_task_range (j, task, &img0, &img1, &ty0, &ty1);
  rows = ty1 - ty0;
  T = (gsize) (img1 - img0) * rows * j->tw;
  v = scratch (sc, &sc->col, &sc->col_cap, T * 16 * C + MAX (C, OC));
  d = scratch (sc, &sc->dcol, &sc->dcol_cap, T * 16 * OC);
  zeros = v + T * 16 * C;
  memset (zeros, 0, MAX (C, OC) * sizeof (float));

  t = 0;
  for (int img = img0; img < img1; img++)
    for (int ty = ty0; ty < ty1; ty++)
      for (int tx = 0; tx < j->tw; tx++, t++)
        {
          const float *g[4];
          gssize       px[4];

          wino_input_tile (j, j->x + (gsize) img * in_size, ty, tx, zeros, v + t * 16 * C);
          wino_tile_pixels (j, ty, tx, px);
          for (int e = 0; e < 4; e++)
            g[e] = px[e] >= 0 ? j->dy + (gsize) img * out_size + px[e] : zeros;
          wino_dy_tile (g, OC, d + t * 16 * OC);
        }

  for (int e = 0; e < 16; e++)
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, C, OC, (int) T, 1.0f, v + (gsize) e * C,
                 16 * C, d + (gsize) e * OC, 16 * OC, 1.0f, acc + (gsize) e * C * OC, OC);

  if (j->bias != NULL) /* only whether there is one: Σ dy over the band */
    for (int img = img0; img < img1; img++)
      accumulate_bias (acc + 16 * (gsize) C * OC,
                       j->dy + (gsize) img * out_size + (gsize) 2 * ty0 * W * OC,
                       (gsize) (MIN (2 * ty1, H) - 2 * ty0) * W, OC);
}

/* gw ([oc][3][3][c]) += Gᵀ dU G of dU ([16][c][oc]). */
static void
wino_weight_grads (const float *du,
                   int          oc,
                   int          c,
                   float       *gw)
{
  gsize pair = (gsize) c * oc;

  for (int o = 0; o < oc; o++)
    for (int ci = 0; ci < c; ci++)
      {
        float m[4][4], t[3][4];

        for (int r = 0; r < 4; r++)
          for (int q = 0; q < 4; q++)
            m[r][q] = du[(gsize) (r * 4 + q) * pair + (gsize) ci * oc + o];
        for (int q = 0; q < 4; q++)
          {
            t[0][q] = m[0][q] + 0.5f * (m[1][q] + m[2][q]);
            t[1][q] = 0.5f * (m[1][q] - m[2][q]);
            t[2][q] = 0.5f * (m[1][q] + m[2][q]) + m[3][q];
          }
        for (int r = 0; r < 3; r++)
          {
            float *g = gw + (((gsize) o * 3 + r) * 3) * c + ci;

            g[0] += t[r][0] + 0.5f * (t[r][1] + t[r][2]);
            g[c] += 0.5f * (t[r][1] - t[r][2]);
            g[2 * (gsize) c] += 0.5f * (t[r][1] + t[r][2]) + t[r][3];
          }
      }
}

/* The workers' accumulators += the weight gradient (in the Winograd
 * domain) and bias gradient of a ConvJob set up for the backward pass,
 * its dy masked. */
static void
wino_dw_run (ConvJob *cj)
{
  WinoJob j = { 0 };

  j.ctx = cj->ctx;
  j.n = cj->n;
  j.in = cj->in;
  j.oc = cj->oc;
  j.x = cj->x;
  j.dy = cj->dyw;
  j.bias = cj->step->b;
  wino_plan (&j);
  hg_parallel_for (wino_n_tasks (&j), wino_dw_task, &j);
}

/* y = conv (x) of a ConvJob set up for the forward pass, or dx (+)= the
 * input gradient of one set up for the backward pass. */
static void
wino_run (ConvJob *cj,
          gboolean dx)
{
  WinoJob j = { 0 };

  j.ctx = cj->ctx;
  j.n = cj->n;
  if (!dx)
    {
      j.in = cj->in;
      j.oc = cj->oc;
      j.x = cj->x;
      j.u = wino_weights (cj->ctx, cj, FALSE);
      j.bias = cj->step->b;
      j.relu = cj->step->relu;
      j.y = cj->transient ? NULL : cj->y;
      j.pool_y = cj->pool_y;
      j.pool = cj->pool;
    }
  else
    {
      j.in = cj->out;
      j.oc = cj->in.c;
      j.x = cj->dyw;
      j.u = wino_weights (cj->ctx, cj, TRUE);
      j.add = cj->dx_add;
      j.y = cj->dx; /* every pixel: the tiles cover the map */
    }
  wino_plan (&j);
  hg_parallel_for (wino_n_tasks (&j), wino_task, &j);
}

static void
conv_forward (HgContext *ctx,
              int        i,
              int        n)
{
  ConvJob j;

  conv_setup (&j, ctx, i, n);
  j.x = node_y (ctx, j.node->inputs[0]);
  j.y = ctx->y[i];
  if (j.step->pool_into != 0 && !j.pointwise)
    {
      j.pool_y = ctx->y[j.step->pool_into];
      j.pool = ctx->arch->nodes[j.step->pool_into].shape;
      j.transient = ctx->transient;
      if (j.bands > 1 && j.band_rows % 2 != 0) /* bands of whole row pairs */
        {
          j.band_rows++;
          j.bands = ceil_div (j.out.h, j.band_rows);
        }
    }
  else if (j.step->pool_into != 0)
    g_assert_not_reached (); /* 1×1 convs are not fused (see the plan) */
  if (use_winograd (j.node, j.in.c, j.oc))
    {
      wino_run (&j, FALSE);
      return;
    }
  hg_parallel_for (j.pointwise ? ceil_div (j.rows, j.rows_per_task) : conv_n_tasks (&j, -1),
                   conv_forward_task, &j);
}

static void
conv_backward_task (gpointer data,
                    int      task,
                    int      worker)
{
  ConvJob      *j = data;
  HgScratch    *sc = &j->ctx->work[worker];
  const HgStep *st = j->step;
  gsize         wsize = (gsize) j->oc * j->K;
  float        *dw = sc->acc; /* [OC × K] then [OC] bias */

  if (j->pointwise)
    {
      gsize        r0 = (gsize) task * j->rows_per_task;
      gsize        r = MIN (j->rows_per_task, j->rows - r0);
      float       *dyb = j->dyw + r0 * j->oc;
      const float *x = j->x + r0 * j->in.c;

      if (j->relu)
        mask_relu (dyb, j->y + r0 * j->oc, r * j->oc);
      if (j->need_dw)
        {
          cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, j->oc, j->in.c, (int) r, 1.0f, dyb,
                       j->oc, x, j->in.c, 1.0f, dw, j->in.c);
          if (st->b != NULL)
            accumulate_bias (dw + wsize, dyb, r, j->oc);
        }
      if (j->need_dx)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) r, j->in.c, j->oc, 1.0f, dyb,
                     j->oc, st->w, j->in.c, j->dx_add ? 1.0f : 0.0f, j->dx + r0 * j->in.c, j->in.c);
      return;
    }

  {
    int    img0, img1, oy0, oy1;
    gsize  bp, row0;
    float *dyb;

    conv_task_range (j, task, j->phase, &img0, &img1, &oy0, &oy1);
    bp = (gsize) (img1 - img0) * (oy1 - oy0) * j->out.w;
    row0 = ((gsize) img0 * j->out.h + oy0) * j->out.w;
    dyb = j->dyw + row0 * j->oc;

    if (j->relu)
      mask_relu (dyb, j->y + row0 * j->oc, bp * j->oc);

    if (j->need_dw)
      {
        float *col = scratch (sc, &sc->col, &sc->col_cap, bp * j->K);

        im2col_task (j, j->x, img0, img1, oy0, oy1, col);
        cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, j->oc, j->K, (int) bp, 1.0f, dyb,
                     j->oc, col, j->K, 1.0f, dw, j->K);
        if (st->b != NULL) /* most convs have none: batch norm follows */
          accumulate_bias (dw + wsize, dyb, bp, j->oc);
      }
    if (j->need_dx)
      {
        float *dcol = scratch (sc, &sc->dcol, &sc->dcol_cap, bp * j->K);

        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, (int) bp, j->K, j->oc, 1.0f, dyb,
                     j->oc, st->w, j->K, 0.0f, dcol, j->K);
        for (int img = img0; img < img1; img++)
          col2im_band (j, dcol + (gsize) (img - img0) * (oy1 - oy0) * j->out.w * j->K, oy0, oy1,
                       j->dx + (gsize) img * shape_size (j->in));
      }
  }
}

/* dx for a stride-1 convolution, gathered rather than scattered:
 * dx = conv (dy, W flipped and transposed, padding k − 1 − p), one band of
 * dx rows per task. Its im2col block has k·k·OC columns where col2im's has
 * k·k·C, and no two tasks write the same element. */
static void
conv_dx_gather_task (gpointer data,
                     int      task,
                     int      worker)
{
  const ConvJob *j = data;
  const ConvJob *d = j->dual; /* input: dy (out shape), output: dx (in shape) */
  HgScratch     *sc = &j->ctx->work[worker];
  int            img0, img1, y0, y1;
  gsize          bp, row0;
  float         *col;

  conv_task_range (d, task, -1, &img0, &img1, &y0, &y1);
  bp = (gsize) (img1 - img0) * (y1 - y0) * d->out.w;
  row0 = ((gsize) img0 * d->out.h + y0) * d->out.w;
  col = scratch (sc, &sc->col, &sc->col_cap, bp * d->K);
  im2col_task (d, j->dyw, img0, img1, y0, y1, col);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) bp, j->in.c, d->K, 1.0f, col, d->K,
               j->wt, d->K, j->dx_add ? 1.0f : 0.0f, j->dx + row0 * j->in.c, j->in.c);
}

static void
conv_mask_task (gpointer data,
                int      task,
                int      worker)
{
  const ConvJob *j = data;
  gsize          per = (gsize) ROWS_PER_TASK_FLOATS;
  gsize          e0 = (gsize) task * per, count = j->rows * j->oc;

  mask_relu (j->dyw + e0, j->y + e0, MIN (per, count - e0));
}

static void
conv_backward (HgContext *ctx,
               int        i,
               int        n,
               float     *dx,
               gboolean   dx_add,
               gboolean   need_dw)
{
  ConvJob  j;
  gsize    wsize, acc_size;
  int      workers = hg_threads_get_n_workers ();
  gboolean wino_dw, wino_dx;

  conv_setup (&j, ctx, i, n);
  j.x = node_y (ctx, j.node->inputs[0]);
  j.y = ctx->y[i];
  j.dyw = ctx->dy[i];
  j.dx = dx;
  j.dx_add = dx_add;
  j.need_dx = dx != NULL;
  j.need_dw = need_dw;
  j.relu = j.step->relu && !ctx->node_state[i].dy_masked; /* see the max pool's backward */
  ctx->node_state[i].dy_masked = FALSE;
  wsize = (gsize) j.oc * j.K;
  wino_dw = need_dw && use_winograd (j.node, j.in.c, j.oc);
  wino_dx = use_winograd (j.node, j.oc, j.in.c);           /* the same test: wino_dw implies it */
  acc_size = wino_dw ? 16 * (gsize) j.in.c * j.oc : wsize; /* then the bias */

  if (need_dw)
    for (int w = 0; w < workers; w++)
      {
        HgScratch *sc = &ctx->work[w];

        memset (scratch (sc, &sc->acc, &sc->acc_cap, acc_size + j.oc), 0,
                (acc_size + j.oc) * sizeof (float));
      }

  if (j.pointwise)
    hg_parallel_for (ceil_div (j.rows, j.rows_per_task), conv_backward_task, &j);
  else if (j.stride == 1 && (j.oc <= j.in.c || wino_dx))
    {
      /* Fewer output than input channels, or Winograd: gather dx (see
       * conv_dx_gather_task and wino_run); dW on its own, by Winograd or
       * as usual without the dx part. */
      ConvJob           d;
      g_autofree float *wt = NULL;
      int               k = j.k, C = j.in.c, oc = j.oc;

      if (j.relu)
        {
          hg_parallel_for (ceil_div (j.rows * j.oc, ROWS_PER_TASK_FLOATS), conv_mask_task, &j);
          j.relu = FALSE; /* dy is masked now */
        }
      if (wino_dw)
        wino_dw_run (&j);
      else if (need_dw)
        {
          j.need_dx = FALSE;
          j.phase = -1;
          hg_parallel_for (conv_n_tasks (&j, -1), conv_backward_task, &j);
        }
      if (dx != NULL && wino_dx)
        wino_run (&j, TRUE);
      else if (dx != NULL)
        {
          d = j;
          d.in = j.out;
          d.out = j.in;
          d.pad = k - 1 - j.pad;
          d.K = k * k * oc;
          conv_plan_bands (&d);
          wt = g_new (float, (gsize) C *d.K);
          {
            const float *w = j.step->w;

            for (int c = 0; c < C; c++)
              for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++)
                  for (int o = 0; o < oc; o++)
                    wt[(((gsize) c * k + ky) * k + kx) * oc + o] =
                        w[(((gsize) o * k + (k - 1 - ky)) * k + (k - 1 - kx)) * C + c];
          }
          j.dual = &d;
          j.wt = wt;
          hg_parallel_for (conv_n_tasks (&d, -1), conv_dx_gather_task, &j);
        }
    }
  else
    {
      if (j.need_dx && !dx_add)
        memset (dx, 0, (gsize) n * shape_size (j.in) * sizeof (float));
      j.phase = 0;
      hg_parallel_for (conv_n_tasks (&j, 0), conv_backward_task, &j);
      j.phase = 1;
      hg_parallel_for (conv_n_tasks (&j, 1), conv_backward_task, &j);
    }

  if (need_dw)
    {
      float *gw = ctx->grads + j.node->t.weight;
      float *gb = j.node->p.conv.bias ? ctx->grads + j.node->t.bias : NULL;

      for (int w = 0; w < workers; w++)
        {
          float *acc = ctx->work[w].acc;

          if (wino_dw && w > 0) /* summed into worker 0's, transformed after */
            for (gsize e = 0; e < acc_size; e++)
              ctx->work[0].acc[e] += acc[e];
          else if (!wino_dw)
            for (gsize e = 0; e < wsize; e++)
              gw[e] += acc[e];
          if (gb != NULL)
            for (int o = 0; o < j.oc; o++)
              gb[o] += acc[acc_size + o];
        }
      if (wino_dw)
        wino_weight_grads (ctx->work[0].acc, j.oc, j.in.c, gw);
    }
}

/* 2×2, stride-2 max pooling of output rows [oy0, oy1) of one image: x
 * has shape in, y has out's width. */
static void
pool2_rows (const float *x,
            HgShape      in,
            int          out_w,
            int          oy0,
            int          oy1,
            float       *y)
{
  int   C = in.c;
  gsize row = (gsize) in.w * C;

  for (int oy = oy0; oy < oy1; oy++)
    for (int ox = 0; ox < out_w; ox++)
      {
        const float *restrict a = x + ((gsize) 2 * oy * in.w + 2 * ox) * C;
        const float *restrict b = a + C;
        const float *restrict c = a + row;
        const float *restrict d = c + C;
        float *restrict yo = y + ((gsize) oy * out_w + ox) * C;

        for (int ch = 0; ch < C; ch++)
          yo[ch] = MAX (MAX (a[ch], b[ch]), MAX (c[ch], d[ch]));
      }
}

/* ---- batch norm ---------------------------------------------------------- */

/* Per-channel work over NHWC rows. Sums are taken in float over one task's
 * rows (at most a few hundred, so vectorised and still accurate) and
 * added up across tasks in double. */

typedef struct
{
  HgContext    *ctx;
  const HgStep *step;
  int           c;
  gsize         rows, rows_per_task;
  const float  *x;
  float        *y;
  float        *dy;
  float        *dx;
  gboolean      dx_add;
  const float  *scale, *shift; /* forward: y = x·scale + shift */
  const float  *a, *b, *k;     /* backward: dx = a·dy + b·x + k */
  const float  *shift_by;      /* per-channel shift of the sums */
  double       *task_stats;    /* per task: mean[c], M2[c] */
  /* a fused 2×2 max pool (HgStep.pool_into): its output, the shapes, and
   * tasks of pool_rows output rows of one image */
  float  *pool_y;
  HgShape shape, pool;
  int     pool_rows, per_image;
} BnJob;

static void
add_partial (double      *acc,
             const float *part,
             int          n)
{
  for (int i = 0; i < n; i++)
    acc[i] += part[i];
}

/* Task t's rows: shift K = its first row, then Σ (x − K) and Σ (x − K)²
 * in float (the deviations are small, so nothing cancels), stored as
 * mean and M2 for an exact combination in double (Chan et al.). */
static void
bn_stats_task (gpointer data,
               int      task,
               int      worker)
{
  BnJob *j = data;
  gsize  r0 = (gsize) task * j->rows_per_task;
  gsize  r1 = MIN (r0 + j->rows_per_task, j->rows);
  int    c = j->c;
  const float *restrict x = j->x + r0 * c;
  const float *restrict shift = j->x + r0 * c;
  HgScratch *sc = &j->ctx->work[worker];
  float     *s = scratch (sc, &sc->sums, &sc->sums_cap, 2 * (gsize) c);
  float *restrict s1 = s;
  float *restrict s2 = s + c;
  double *out = j->task_stats + (gsize) task * 2 * c;
  double  count = (double) (r1 - r0);

  memset (s, 0, 2 * c * sizeof (float));
  for (gsize r = r0; r < r1; r++, x += c)
    for (int ch = 0; ch < c; ch++)
      {
        float d = x[ch] - shift[ch];

        s1[ch] += d;
        s2[ch] += d * d;
      }
  for (int ch = 0; ch < c; ch++)
    {
      out[ch] = shift[ch] + s1[ch] / count;
      out[c + ch] = MAX (0.0, s2[ch] - (double) s1[ch] * s1[ch] / count);
    }
}

static void
bn_apply_rows (const float *restrict x,
               float *restrict y,
               gsize rows,
               int   c,
               const float *restrict scale,
               const float *restrict shift,
               gboolean relu)
{
  if (relu)
    for (gsize r = 0; r < rows; r++, x += c, y += c)
      for (int ch = 0; ch < c; ch++)
        y[ch] = MAX (x[ch] * scale[ch] + shift[ch], 0.0f);
  else
    for (gsize r = 0; r < rows; r++, x += c, y += c)
      for (int ch = 0; ch < c; ch++)
        y[ch] = x[ch] * scale[ch] + shift[ch];
}

static void
bn_apply_task (gpointer data,
               int      task,
               int      worker)
{
  BnJob *j = data;
  gsize  r0 = (gsize) task * j->rows_per_task;
  gsize  r1 = MIN (r0 + j->rows_per_task, j->rows);

  bn_apply_rows (j->x + r0 * j->c, j->y + r0 * j->c, r1 - r0, j->c, j->scale, j->shift,
                 j->step->relu);
}

/* The batch norm of one task's rows of an image, then the 2×2 max pool
 * of those rows while they are in cache. The last task of an image also
 * normalises an odd last row, which no window reads. */
static void
bn_apply_pool_task (gpointer data,
                    int      task,
                    int      worker)
{
  BnJob *j = data;
  int    img = task / j->per_image;
  int    py0 = (task % j->per_image) * j->pool_rows;
  int    py1 = MIN (j->pool.h, py0 + j->pool_rows);
  int    y0 = 2 * py0, y1 = py1 == j->pool.h ? j->shape.h : 2 * py1;
  gsize  row = (gsize) j->shape.w * j->c;
  gsize  at = (gsize) img * shape_size (j->shape);
  float *y = j->y + at;

  bn_apply_rows (j->x + at + y0 * row, y + y0 * row, (gsize) (y1 - y0) * j->shape.w, j->c,
                 j->scale, j->shift, j->step->relu);
  pool2_rows (y, j->shape, j->pool.w, py0, py1, j->pool_y + (gsize) img * shape_size (j->pool));
}

/* y = x·scale + shift (and the fused ReLU, and the fused pool) */
static void
bn_apply (BnJob     *j,
          HgContext *ctx,
          int        i,
          int        n,
          int        tasks)
{
  int pool = j->step->pool_into;

  if (pool == 0)
    {
      hg_parallel_for (tasks, bn_apply_task, j);
      return;
    }
  j->shape = ctx->arch->nodes[i].shape;
  j->pool = ctx->arch->nodes[pool].shape;
  j->pool_y = ctx->y[pool];
  j->pool_rows = (int) MAX (1, ROWS_PER_TASK_FLOATS / (4 * (gsize) MAX (1, j->pool.w) * j->c));
  j->per_image = MAX (1, ceil_div (j->pool.h, j->pool_rows));
  hg_parallel_for (n * j->per_image, bn_apply_pool_task, j);
}

static void
zero_dacc (HgContext *ctx,
           gsize      n)
{
  int workers = hg_threads_get_n_workers ();

  for (int w = 0; w < workers; w++)
    memset (scratch_d (&ctx->work[w], n), 0, n * sizeof (double));
}

static void
reduce_dacc (HgContext *ctx,
             gsize      n,
             double    *out)
{
  int workers = hg_threads_get_n_workers ();

  memset (out, 0, n * sizeof (double));
  for (int w = 0; w < workers; w++)
    for (gsize e = 0; e < n; e++)
      out[e] += ctx->work[w].dacc[e];
}

static int
bn_setup (BnJob     *j,
          HgContext *ctx,
          int        i,
          int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];

  memset (j, 0, sizeof *j);
  j->ctx = ctx;
  j->step = &ctx->plan->steps[i];
  j->c = node->shape.c;
  j->rows = (gsize) n * node->shape.h * node->shape.w;
  j->rows_per_task = MAX (1, ROWS_PER_TASK_FLOATS / j->c);
  j->x = node_y (ctx, node->inputs[0]);
  j->y = ctx->y[i];
  return ceil_div (j->rows, j->rows_per_task);
}

static void
bn_forward (HgContext *ctx,
            int        i,
            int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];
  const HgStep *st = &ctx->plan->steps[i];
  HgNodeState  *state = &ctx->node_state[i];
  BnJob         j;
  int           c = node->shape.c;
  int           tasks = bn_setup (&j, ctx, i, n);

  if (st->scale != NULL)
    {
      /* fused inference plan: precomputed */
      j.scale = st->scale;
      j.shift = st->shift;
      bn_apply (&j, ctx, i, n, tasks);
      return;
    }

  if (ctx->mode == HG_MODE_INFERENCE)
    {
      const float *rm = ctx->model->buffers + node->t.running_mean;
      const float *rv = ctx->model->buffers + node->t.running_var;

      for (int ch = 0; ch < c; ch++)
        {
          state->mean[ch] = rm[ch];
          state->invstd[ch] = 1.0f / sqrtf (rv[ch] + node->p.bn.eps);
        }
    }
  else
    {
      g_autofree double *sums = g_new (double, 2 * c);
      double             m = (double) j.rows;

      g_autofree double *stats = g_new (double, (gsize) tasks * 2 * c);

      j.task_stats = stats;
      hg_parallel_for (tasks, bn_stats_task, &j);
      /* combine the tasks' (count, mean, M2) */
      for (int ch = 0; ch < c; ch++)
        {
          double count = 0.0, mean = 0.0, m2 = 0.0;

          for (int t = 0; t < tasks; t++)
            {
              double nb = (double) (MIN ((gsize) (t + 1) * j.rows_per_task, j.rows) -
                                    (gsize) t * j.rows_per_task);
              double mb = stats[(gsize) t * 2 * c + ch], m2b = stats[(gsize) t * 2 * c + c + ch];
              double delta = mb - mean, total = count + nb;

              mean += delta * nb / total;
              m2 += m2b + delta * delta * count * nb / total;
              count = total;
            }
          sums[ch] = mean;
          sums[c + ch] = m2 / count;
        }
      for (int ch = 0; ch < c; ch++)
        {
          double mu = sums[ch];
          double var = sums[c + ch];

          state->mean[ch] = (float) mu;
          state->invstd[ch] = (float) (1.0 / sqrt (var + node->p.bn.eps));
          if (ctx->mode == HG_MODE_TRAINING)
            {
              float *rm = ctx->model->buffers + node->t.running_mean;
              float *rv = ctx->model->buffers + node->t.running_var;
              float  mom = node->p.bn.momentum;
              double unbiased = m > 1.0 ? var * m / (m - 1.0) : var;

              rm[ch] = (1.0f - mom) * rm[ch] + mom * (float) mu;
              rv[ch] = (1.0f - mom) * rv[ch] + mom * (float) unbiased;
            }
        }
    }

  for (int ch = 0; ch < c; ch++)
    {
      state->scale[ch] = st->w[ch] * state->invstd[ch];
      state->shift[ch] = st->b[ch] - state->mean[ch] * state->scale[ch];
    }
  j.scale = state->scale;
  j.shift = state->shift;
  bn_apply (&j, ctx, i, n, tasks);
}

/* One row of bn_grad_sums_task, with a fused ReLU's mask: dy is read
 * unconditionally and selected, and every pointer is a restrict
 * parameter, which is what it takes for GCC to vectorise the loop. */
static inline void
bn_grad_sums_row_relu (float *restrict dy,
                       const float *restrict y,
                       const float *restrict x,
                       const float *restrict mean,
                       float *restrict s1,
                       float *restrict s2,
                       int c)
{
  for (int ch = 0; ch < c; ch++)
    {
      float d = dy[ch];
      float g = y[ch] > 0.0f ? d : 0.0f;

      dy[ch] = g;
      s1[ch] += g;
      s2[ch] += g * (x[ch] - mean[ch]);
    }
}

static inline void
bn_grad_sums_row (const float *restrict dy,
                  const float *restrict x,
                  const float *restrict mean,
                  float *restrict s1,
                  float *restrict s2,
                  int c)
{
  for (int ch = 0; ch < c; ch++)
    {
      s1[ch] += dy[ch];
      s2[ch] += dy[ch] * (x[ch] - mean[ch]);
    }
}

/* acc[0..c) += Σ dy, acc[c..2c) += Σ dy·(x − μ), masking dy in place first
 * when a ReLU was fused (so the dx pass reads it masked). */
static void
bn_grad_sums_task (gpointer data,
                   int      task,
                   int      worker)
{
  BnJob       *j = data;
  gsize        r0 = (gsize) task * j->rows_per_task;
  gsize        r1 = MIN (r0 + j->rows_per_task, j->rows);
  int          c = j->c;
  const float *x = j->x + r0 * c;
  float       *dy = j->dy + r0 * c;
  HgScratch   *sc = &j->ctx->work[worker];
  float       *s = scratch (sc, &sc->sums, &sc->sums_cap, 2 * (gsize) c);

  memset (s, 0, 2 * c * sizeof (float));
  if (j->step->relu)
    {
      const float *y = j->y + r0 * c;

      for (gsize r = r0; r < r1; r++, x += c, y += c, dy += c)
        bn_grad_sums_row_relu (dy, y, x, j->shift_by, s, s + c, c);
    }
  else
    for (gsize r = r0; r < r1; r++, x += c, dy += c)
      bn_grad_sums_row (dy, x, j->shift_by, s, s + c, c);
  add_partial (j->ctx->work[worker].dacc, s, 2 * c);
}

/* dx (+)= a·dy + b·x + k, per channel */
static void
bn_dx_task (gpointer data,
            int      task,
            int      worker)
{
  BnJob *j = data;
  gsize  r0 = (gsize) task * j->rows_per_task;
  gsize  r1 = MIN (r0 + j->rows_per_task, j->rows);
  int    c = j->c;
  const float *restrict x = j->x + r0 * c;
  const float *restrict dy = j->dy + r0 * c;
  float *restrict dx = j->dx + r0 * c;
  const float *restrict a = j->a;
  const float *restrict b = j->b;
  const float *restrict k = j->k;

  if (j->dx_add)
    for (gsize r = r0; r < r1; r++, x += c, dy += c, dx += c)
      for (int ch = 0; ch < c; ch++)
        dx[ch] += a[ch] * dy[ch] + b[ch] * x[ch] + k[ch];
  else
    for (gsize r = r0; r < r1; r++, x += c, dy += c, dx += c)
      for (int ch = 0; ch < c; ch++)
        dx[ch] = a[ch] * dy[ch] + b[ch] * x[ch] + k[ch];
}

static void
bn_backward (HgContext *ctx,
             int        i,
             int        n,
             float     *dx,
             gboolean   dx_add,
             gboolean   need_dw)
{
  const HgNode      *node = &ctx->arch->nodes[i];
  const HgStep      *st = &ctx->plan->steps[i];
  HgNodeState       *state = &ctx->node_state[i];
  BnJob              j;
  int                c = node->shape.c;
  int                tasks = bn_setup (&j, ctx, i, n);
  g_autofree double *sums = g_new0 (double, 2 * c);
  g_autofree float  *coef = g_new0 (float, 3 * c);
  gboolean           batch_stats = ctx->mode != HG_MODE_INFERENCE;
  double             m = (double) j.rows;

  j.dy = ctx->dy[i];
  j.dx = dx;
  j.dx_add = dx_add;
  j.shift_by = state->mean;

  if (st->scale != NULL)
    {
      /* fused inference plan: dx = dy·γ/√(σ²+ε), masked by a fused ReLU */
      for (int ch = 0; ch < c; ch++)
        coef[ch] = st->scale[ch];
      if (st->relu)
        mask_relu (j.dy, j.y, j.rows * c);
    }
  else
    {
      if (state->grad_sums_ready)
        {
          /* taken, and dy masked, by the fused max pool's backward pass */
          memcpy (sums, state->grad_sums, 2 * (gsize) c * sizeof (double));
          state->grad_sums_ready = FALSE;
        }
      else if (need_dw || batch_stats)
        {
          zero_dacc (ctx, 2 * c);
          hg_parallel_for (tasks, bn_grad_sums_task, &j);
          reduce_dacc (ctx, 2 * c, sums);
        }
      else if (st->relu)
        mask_relu (j.dy, j.y, j.rows * c);

      for (int ch = 0; ch < c; ch++)
        {
          double mu = state->mean[ch], inv = state->invstd[ch];
          double sum_dy = sums[ch], sum_dy_xhat = inv * sums[c + ch];

          if (need_dw)
            {
              ctx->grads[node->t.weight + ch] += (float) sum_dy_xhat;
              ctx->grads[node->t.bias + ch] += (float) sum_dy;
            }
          if (batch_stats)
            {
              /* dx = γ·invstd·(dy − Σdy/m − x̂·Σ(dy·x̂)/m), x̂ = (x − μ)·invstd */
              double g = st->w[ch] * inv;

              coef[ch] = (float) g;
              coef[c + ch] = (float) (-g * inv * sum_dy_xhat / m);
              coef[2 * c + ch] = (float) (g * (inv * mu * sum_dy_xhat - sum_dy) / m);
            }
          else
            /* running statistics are constants: dx = dy·γ/√(σ²+ε) */
            coef[ch] = (float) (st->w[ch] * inv);
        }
    }

  if (dx != NULL)
    {
      j.a = coef;
      j.b = coef + c;
      j.k = coef + 2 * c;
      hg_parallel_for (tasks, bn_dx_task, &j);
    }
}

/* ---- elementwise: relu, dropout, add, concat ------------------------------ */

typedef struct
{
  HgContext    *ctx;
  const HgNode *node;
  gsize         count, per_task;
  const float  *a;
  float        *out;
  const float  *mask;
  gboolean      add;
  /* concat */
  int   c_in, c_out, offset;
  gsize rows;
} EwJob;

static void
relu_forward_task (gpointer data,
                   int      task,
                   int      worker)
{
  EwJob *j = data;
  gsize  e0 = (gsize) task * j->per_task, e1 = MIN (e0 + j->per_task, j->count);
  const float *restrict a = j->a;
  float *restrict out = j->out;

  for (gsize e = e0; e < e1; e++)
    out[e] = a[e] > 0.0f ? a[e] : 0.0f;
}

/* dx (+)= dy where y > 0 */
static void
relu_backward_task (gpointer data,
                    int      task,
                    int      worker)
{
  EwJob *j = data;
  gsize  e0 = (gsize) task * j->per_task, e1 = MIN (e0 + j->per_task, j->count);
  const float *restrict mask = j->mask;
  const float *restrict a = j->a;
  float *restrict out = j->out;

  /* the fields in locals and the branch outside: loops that vectorise */
  if (j->add)
    for (gsize e = e0; e < e1; e++)
      {
        float g = a[e];

        out[e] += mask[e] > 0.0f ? g : 0.0f;
      }
  else
    for (gsize e = e0; e < e1; e++)
      {
        float g = a[e];

        out[e] = mask[e] > 0.0f ? g : 0.0f;
      }
}

/* out (+)= a (· mask) */
static void
copy_task (gpointer data,
           int      task,
           int      worker)
{
  EwJob *j = data;
  gsize  e0 = (gsize) task * j->per_task, e1 = MIN (e0 + j->per_task, j->count);

  if (j->mask != NULL)
    for (gsize e = e0; e < e1; e++)
      {
        float v = j->a[e] * j->mask[e];

        j->out[e] = j->add ? j->out[e] + v : v;
      }
  else if (j->add)
    for (gsize e = e0; e < e1; e++)
      j->out[e] += j->a[e];
  else
    memcpy (j->out + e0, j->a + e0, (e1 - e0) * sizeof (float));
}

static void
ew_run (EwJob         *j,
        gsize          count,
        HgParallelFunc fn)
{
  j->count = count;
  j->per_task = ROWS_PER_TASK_FLOATS;
  hg_parallel_for (ceil_div (count, j->per_task), fn, j);
}

static void
concat_task (gpointer data,
             int      task,
             int      worker)
{
  EwJob *j = data;
  gsize  rpt = MAX (1, ROWS_PER_TASK_FLOATS / j->c_out);
  gsize  r0 = (gsize) task * rpt, r1 = MIN (r0 + rpt, j->rows);

  for (gsize r = r0; r < r1; r++)
    {
      if (j->mask == NULL) /* forward: slice of out ← a */
        memcpy (j->out + r * j->c_out + j->offset, j->a + r * j->c_in, j->c_in * sizeof (float));
      else /* backward: dx (+)= slice of dy */
        {
          const float *src = j->a + r * j->c_out + j->offset;
          float       *dst = j->out + r * j->c_in;

          if (j->add)
            for (int c = 0; c < j->c_in; c++)
              dst[c] += src[c];
          else
            memcpy (dst, src, j->c_in * sizeof (float));
        }
    }
}

static void
concat_run (EwJob *j)
{
  gsize rpt = MAX (1, ROWS_PER_TASK_FLOATS / j->c_out);

  hg_parallel_for (ceil_div (j->rows, rpt), concat_task, j);
}

/* ---- pooling -------------------------------------------------------------- */

typedef struct
{
  HgContext    *ctx;
  const HgNode *node;
  HgShape       in, out;
  int           k, s, p;
  int           n, rows_per_task, per_image;
  gboolean      by_image;
  gboolean      add; /* backward: add into dx (else dx is uninitialised) */ /* windows overlap: one image per task */
  const float  *x;
  float        *y;
  const float  *dy;
  float        *dx;
  /* backward of a pool fused into a batch norm (+ ReLU): the norm's
   * input and mean, for its gradient sums */
  const float *bn_x;
  const float *mean;
  gboolean     relu; /* backward: mask by the ReLU fused into the input (see floor) */
} PoolJob;

static void
pool_range (PoolJob *j,
            int      task,
            int     *img0,
            int     *img1,
            int     *oy0,
            int     *oy1)
{
  if (j->by_image)
    {
      *img0 = task;
      *img1 = task + 1;
      *oy0 = 0;
      *oy1 = j->out.h;
    }
  else
    {
      *img0 = task / j->per_image;
      *img1 = *img0 + 1;
      *oy0 = (task % j->per_image) * j->rows_per_task;
      *oy1 = MIN (j->out.h, *oy0 + j->rows_per_task);
    }
}

/* Max pooling keeps no indices: the backward pass finds, in each window,
 * the first element equal to the maximum (scanning in the same order as
 * the forward pass, which keeps the first of equal maxima), so the
 * forward pass is a plain vectorised max. */
static void
maxpool_forward_task (gpointer data,
                      int      task,
                      int      worker)
{
  PoolJob *j = data;
  int      img0, img1, oy0, oy1, C = j->in.c;

  pool_range (j, task, &img0, &img1, &oy0, &oy1);
  for (int img = img0; img < img1; img++)
    {
      const float *x = j->x + (gsize) img * shape_size (j->in);
      float       *y = j->y + (gsize) img * shape_size (j->out);

      if (j->k == 2 && j->s == 2 && j->p == 0)
        {
          pool2_rows (x, j->in, j->out.w, oy0, oy1, y);
          continue;
        }

      for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < j->out.w; ox++)
          {
            float   *yo = y + ((gsize) oy * j->out.w + ox) * C;
            gboolean first = TRUE;

            for (int ky = 0; ky < j->k; ky++)
              {
                int iy = oy * j->s - j->p + ky;

                if (iy < 0 || iy >= j->in.h)
                  continue;
                for (int kx = 0; kx < j->k; kx++)
                  {
                    int          ix = ox * j->s - j->p + kx;
                    const float *xi;

                    if (ix < 0 || ix >= j->in.w)
                      continue;
                    xi = x + ((gsize) iy * j->in.w + ix) * C;
                    for (int c = 0; c < C; c++)
                      yo[c] = first ? xi[c] : MAX (yo[c], xi[c]);
                    first = FALSE;
                  }
              }
          }
    }
}

/* dx of one 2×2 window, C channels: the first of the window's maxima
 * (a, b, c, then d) takes the gradient, if the maximum is above floor (0
 * for a ReLU fused into the input, else −∞). Unconditional reads, selects
 * and restrict parameters, so that GCC vectorises it. */
static inline void
maxpool_grad_window (const float *restrict xa,
                     const float *restrict xb,
                     const float *restrict xc,
                     const float *restrict y,
                     const float *restrict g,
                     float *restrict da,
                     float *restrict db,
                     float *restrict dc,
                     float *restrict dd,
                     int      C,
                     gboolean add,
                     float    floor)
{
  if (add)
    for (int ch = 0; ch < C; ch++)
      {
        float v = y[ch], gv = g[ch];

        gv = v > floor ? gv : 0.0f;
        float rest_b = xa[ch] == v ? 0.0f : gv;
        float rest_c = xb[ch] == v ? 0.0f : rest_b;

        float ga = xa[ch] == v ? gv : 0.0f;
        float gb = xb[ch] == v ? rest_b : 0.0f;
        float gc = xc[ch] == v ? rest_c : 0.0f;
        float gd = xc[ch] == v ? 0.0f : rest_c;

        da[ch] += ga;
        db[ch] += gb;
        dc[ch] += gc;
        dd[ch] += gd;
      }
  else
    for (int ch = 0; ch < C; ch++)
      {
        float v = y[ch], gv = g[ch];

        gv = v > floor ? gv : 0.0f;
        float rest_b = xa[ch] == v ? 0.0f : gv;
        float rest_c = xb[ch] == v ? 0.0f : rest_b;
        float ga = xa[ch] == v ? gv : 0.0f;
        float gb = xb[ch] == v ? rest_b : 0.0f;
        float gc = xc[ch] == v ? rest_c : 0.0f;
        float gd = xc[ch] == v ? 0.0f : rest_c;

        da[ch] = ga;
        db[ch] = gb;
        dc[ch] = gc;
        dd[ch] = gd;
      }
}

/* 2×2 windows, dx written rather than added to: an odd last column or
 * row (of pool output rows [oy0, oy1) of one image) is in no window, and
 * its gradient is 0. */
static void
zero_outside_windows (const PoolJob *j,
                      float         *dx,
                      int            oy0,
                      int            oy1)
{
  int   C = j->in.c;
  gsize row = (gsize) j->in.w * C;

  for (int oy = oy0; oy < oy1 && j->in.w > 2 * j->out.w; oy++)
    for (int r = 2 * oy; r < 2 * oy + 2; r++)
      memset (dx + ((gsize) r * j->in.w + 2 * j->out.w) * C, 0,
              (gsize) (j->in.w - 2 * j->out.w) * C * sizeof (float));
  if (oy1 == j->out.h && j->in.h > 2 * j->out.h)
    memset (dx + (gsize) 2 * j->out.h * row, 0,
            (gsize) (j->in.h - 2 * j->out.h) * row * sizeof (float));
}

static void
maxpool_backward_task (gpointer data,
                       int      task,
                       int      worker)
{
  PoolJob *j = data;
  int      img0, img1, oy0, oy1, C = j->in.c;
  gboolean add = j->add;
  float    floor = j->relu ? 0.0f : -INFINITY;

  pool_range (j, task, &img0, &img1, &oy0, &oy1);
  for (int img = img0; img < img1; img++)
    {
      const float *x = j->x + (gsize) img * shape_size (j->in);
      const float *y = j->y + (gsize) img * shape_size (j->out);
      const float *dy = j->dy + (gsize) img * shape_size (j->out);
      float       *dx = j->dx + (gsize) img * shape_size (j->in);

      if (j->k == 2 && j->s == 2 && j->p == 0)
        {
          gsize row = (gsize) j->in.w * C;

          for (int oy = oy0; oy < oy1; oy++)
            for (int ox = 0; ox < j->out.w; ox++)
              {
                gsize  i00 = ((gsize) 2 * oy * j->in.w + 2 * ox) * C;
                gsize  o = ((gsize) oy * j->out.w + ox) * C;
                float *da = dx + i00;

                maxpool_grad_window (x + i00, x + i00 + C, x + i00 + row, y + o, dy + o, da,
                                     da + C, da + row, da + row + C, C, add, floor);
              }
          if (!j->add)
            zero_outside_windows (j, dx, oy0, oy1);
          continue;
        }

      for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < j->out.w; ox++)
          {
            gsize o = ((gsize) oy * j->out.w + ox) * C;

            for (int c = 0; c < C; c++)
              {
                gboolean found = FALSE;

                for (int ky = 0; ky < j->k && !found; ky++)
                  {
                    int iy = oy * j->s - j->p + ky;

                    if (iy < 0 || iy >= j->in.h)
                      continue;
                    for (int kx = 0; kx < j->k; kx++)
                      {
                        int   ix = ox * j->s - j->p + kx;
                        gsize e;

                        if (ix < 0 || ix >= j->in.w)
                          continue;
                        e = ((gsize) iy * j->in.w + ix) * C + c;
                        if (x[e] == y[o + c])
                          {
                            dx[e] += dy[o + c];
                            found = TRUE;
                            break;
                          }
                      }
                  }
              }
          }
    }
}

/* The same window, for a pool fused into a batch norm (x: its output,
 * u: its input): the gradient is masked by the norm's fused ReLU (floor
 * as in maxpool_grad_window: the window's maximum is the value that got
 * through it) and its batch-norm
 * sums are taken: s1 += Σ dy, s2 += Σ dy·(u − μ). */
static inline void
maxpool_bn_grad_window (const float *restrict xa,
                        const float *restrict xb,
                        const float *restrict xc,
                        const float *restrict ua,
                        const float *restrict ub,
                        const float *restrict uc,
                        const float *restrict ud,
                        const float *restrict y,
                        const float *restrict g,
                        const float *restrict mean,
                        float *restrict da,
                        float *restrict db,
                        float *restrict dc,
                        float *restrict dd,
                        float *restrict s1,
                        float *restrict s2,
                        int   C,
                        float floor)
{
  for (int ch = 0; ch < C; ch++)
    {
      float v = y[ch], gv = g[ch];

      gv = v > floor ? gv : 0.0f;
      float rest_b = xa[ch] == v ? 0.0f : gv;
      float rest_c = xb[ch] == v ? 0.0f : rest_b;
      float ga = xa[ch] == v ? gv : 0.0f;
      float gb = xb[ch] == v ? rest_b : 0.0f;
      float gc = xc[ch] == v ? rest_c : 0.0f;
      float gd = xc[ch] == v ? 0.0f : rest_c;
      float m = mean[ch];

      da[ch] = ga;
      db[ch] = gb;
      dc[ch] = gc;
      dd[ch] = gd;
      s1[ch] += gv;
      s2[ch] += ga * (ua[ch] - m) + gb * (ub[ch] - m) + gc * (uc[ch] - m) + gd * (ud[ch] - m);
    }
}

/* 2×2 max pool backward into the batch norm that computes it (see
 * hg_model_new_exact_plan): dx is written, not added to. */
static void
maxpool_bn_backward_task (gpointer data,
                          int      task,
                          int      worker)
{
  PoolJob   *j = data;
  int        img0, img1, oy0, oy1, C = j->in.c;
  gsize      row = (gsize) j->in.w * C;
  HgScratch *sc = &j->ctx->work[worker];
  float     *s = scratch (sc, &sc->sums, &sc->sums_cap, 2 * (gsize) C);
  float      floor = j->relu ? 0.0f : -INFINITY; /* see maxpool_grad_window */

  memset (s, 0, 2 * (gsize) C * sizeof (float));
  pool_range (j, task, &img0, &img1, &oy0, &oy1);
  for (int img = img0; img < img1; img++)
    {
      const float *x = j->x + (gsize) img * shape_size (j->in);
      const float *u = j->bn_x + (gsize) img * shape_size (j->in);
      const float *y = j->y + (gsize) img * shape_size (j->out);
      const float *dy = j->dy + (gsize) img * shape_size (j->out);
      float       *dx = j->dx + (gsize) img * shape_size (j->in);

      for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < j->out.w; ox++)
          {
            gsize  i00 = ((gsize) 2 * oy * j->in.w + 2 * ox) * C;
            gsize  o = ((gsize) oy * j->out.w + ox) * C;
            float *da = dx + i00;

            maxpool_bn_grad_window (x + i00, x + i00 + C, x + i00 + row, u + i00, u + i00 + C,
                                    u + i00 + row, u + i00 + row + C, y + o, dy + o, j->mean, da,
                                    da + C, da + row, da + row + C, s, s + C, C, floor);
          }
      zero_outside_windows (j, dx, oy0, oy1);
    }
  add_partial (sc->dacc, s, 2 * C);
}

static void
avgpool_task (gpointer data,
              int      task,
              int      worker)
{
  PoolJob *j = data;
  int      img0, img1, oy0, oy1, C = j->in.c;
  float    inv = 1.0f / (j->k * j->k); /* padding counts, as in PyTorch */

  pool_range (j, task, &img0, &img1, &oy0, &oy1);
  for (int img = img0; img < img1; img++)
    {
      const float *x = j->x + (gsize) img * shape_size (j->in);
      float       *y = j->y + (gsize) img * shape_size (j->out);
      const float *dy = j->dy + (gsize) img * shape_size (j->out);
      float       *dx = j->dx + (gsize) img * shape_size (j->in);

      for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < j->out.w; ox++)
          {
            gsize o = ((gsize) oy * j->out.w + ox) * C;

            if (j->dy == NULL)
              for (int c = 0; c < C; c++)
                y[o + c] = 0.0f;
            for (int ky = 0; ky < j->k; ky++)
              {
                int iy = oy * j->s - j->p + ky;

                if (iy < 0 || iy >= j->in.h)
                  continue;
                for (int kx = 0; kx < j->k; kx++)
                  {
                    int   ix = ox * j->s - j->p + kx;
                    gsize base;

                    if (ix < 0 || ix >= j->in.w)
                      continue;
                    base = ((gsize) iy * j->in.w + ix) * C;
                    if (j->dy == NULL)
                      for (int c = 0; c < C; c++)
                        y[o + c] += x[base + c];
                    else
                      for (int c = 0; c < C; c++)
                        dx[base + c] += dy[o + c] * inv;
                  }
              }
            if (j->dy == NULL)
              for (int c = 0; c < C; c++)
                y[o + c] *= inv;
          }
    }
}

static int
pool_setup (PoolJob   *j,
            HgContext *ctx,
            int        i,
            int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];

  memset (j, 0, sizeof *j);
  j->ctx = ctx;
  j->node = node;
  j->in = ctx->arch->nodes[node->inputs[0]].shape;
  j->out = node->shape;
  j->k = node->p.pool.kernel;
  j->s = node->p.pool.stride;
  j->p = node->p.pool.padding;
  j->n = n;
  j->by_image = j->s < j->k;
  j->x = node_y (ctx, node->inputs[0]);
  j->y = ctx->y[i];
  if (j->by_image)
    return n;
  j->rows_per_task = MAX (1, ROWS_PER_TASK_FLOATS / (j->out.w * j->out.c * j->k * j->k));
  j->rows_per_task = MIN (j->rows_per_task, j->out.h);
  j->per_image = ceil_div (j->out.h, j->rows_per_task); /* tasks never span images */
  return n * j->per_image;
}

/* ---- global average pool, dense ------------------------------------------ */

static void
gap_forward (HgContext *ctx,
             int        i,
             int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];
  HgShape       in = ctx->arch->nodes[node->inputs[0]].shape;
  const float  *x = node_y (ctx, node->inputs[0]);
  float        *y = ctx->y[i];
  gsize         plane = (gsize) in.h * in.w;
  float         inv = 1.0f / (float) plane;

  for (int img = 0; img < n; img++)
    {
      float       *yo = y + (gsize) img * in.c;
      const float *xi = x + (gsize) img * plane * in.c;

      memset (yo, 0, in.c * sizeof (float));
      for (gsize p = 0; p < plane; p++, xi += in.c)
        for (int c = 0; c < in.c; c++)
          yo[c] += xi[c];
      for (int c = 0; c < in.c; c++)
        yo[c] *= inv;
    }
}

static void
gap_backward (HgContext *ctx,
              int        i,
              int        n,
              float     *dx,
              gboolean   dx_add)
{
  const HgNode *node = &ctx->arch->nodes[i];
  HgShape       in = ctx->arch->nodes[node->inputs[0]].shape;
  const float  *dy = ctx->dy[i];
  gsize         plane = (gsize) in.h * in.w;
  float         inv = 1.0f / (float) plane;

  for (int img = 0; img < n; img++)
    {
      const float *g = dy + (gsize) img * in.c;
      float       *d = dx + (gsize) img * plane * in.c;

      for (gsize p = 0; p < plane; p++, d += in.c)
        for (int c = 0; c < in.c; c++)
          d[c] = dx_add ? d[c] + g[c] * inv : g[c] * inv;
    }
}

static void
dense_forward (HgContext *ctx,
               int        i,
               int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];
  const HgStep *st = &ctx->plan->steps[i];
  int           in = (int) shape_size (ctx->arch->nodes[node->inputs[0]].shape);
  int           units = node->p.dense.units;

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, units, in, 1.0f,
               node_y (ctx, node->inputs[0]), in, st->w, in, 0.0f, ctx->y[i], units);
  epilogue (ctx->y[i], n, units, st->b, st->relu);
}

static void
dense_backward (HgContext *ctx,
                int        i,
                int        n,
                float     *dx,
                gboolean   dx_add,
                gboolean   need_dw)
{
  const HgNode *node = &ctx->arch->nodes[i];
  const HgStep *st = &ctx->plan->steps[i];
  int           in = (int) shape_size (ctx->arch->nodes[node->inputs[0]].shape);
  int           units = node->p.dense.units;
  float        *dy = ctx->dy[i];

  if (st->relu)
    mask_relu (dy, ctx->y[i], (gsize) n * units);
  if (need_dw)
    {
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, units, in, n, 1.0f, dy, units,
                   node_y (ctx, node->inputs[0]), in, 1.0f, ctx->grads + node->t.weight, in);
      if (node->p.dense.bias)
        accumulate_bias (ctx->grads + node->t.bias, dy, n, units);
    }
  if (dx != NULL)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, units, 1.0f, dy, units, st->w,
                 in, dx_add ? 1.0f : 0.0f, dx, in);
}

/* ---- the context ----------------------------------------------------------- */

HgContext *
hg_context_new (HgModel *model)
{
  HgContext *ctx = g_new0 (HgContext, 1);
  int        n_nodes = model->arch->n_nodes;

  ctx->model = hg_model_ref (model);
  ctx->arch = model->arch;
  ctx->exact_plan = hg_model_new_exact_plan (model);
  ctx->y = g_new0 (float *, n_nodes);
  ctx->dy = g_new0 (float *, n_nodes);
  ctx->y_cap = g_new0 (gsize, n_nodes);
  ctx->dy_cap = g_new0 (gsize, n_nodes);
  ctx->dy_set = g_new0 (gboolean, n_nodes);
  ctx->node_state = g_new0 (HgNodeState, n_nodes);
  ctx->forward_seconds = g_new0 (double, 2 * (gsize) n_nodes);
  ctx->backward_seconds = ctx->forward_seconds + n_nodes;
  ctx->rng = G_GUINT64_CONSTANT (0x5EED5EED5EED5EED);
  for (int i = 0; i < n_nodes; i++)
    {
      const HgNode *node = &model->arch->nodes[i];

      if (node->op == HG_OP_BATCHNORM)
        {
          /* mean, invstd, scale, shift */
          ctx->node_state[i].mean = g_new0 (float, 4 * (gsize) node->shape.c);
          ctx->node_state[i].invstd = ctx->node_state[i].mean + node->shape.c;
          ctx->node_state[i].scale = ctx->node_state[i].mean + 2 * node->shape.c;
          ctx->node_state[i].shift = ctx->node_state[i].mean + 3 * node->shape.c;
          ctx->node_state[i].grad_sums = g_new0 (double, 2 * (gsize) node->shape.c);
        }
    }
  return ctx;
}

void
hg_context_free (HgContext *ctx)
{
  int n_nodes;

  if (ctx == NULL)
    return;

  n_nodes = ctx->arch->n_nodes;
  for (int i = 0; i < n_nodes; i++)
    {
      g_free (ctx->y[i]);
      g_free (ctx->dy[i]);
      g_free (ctx->node_state[i].mean);
      g_free (ctx->node_state[i].grad_sums);
      g_free (ctx->node_state[i].mask);
    }
  g_free (ctx->wino);
  for (int w = 0; w < HG_MAX_WORKERS; w++)
    {
      g_free (ctx->work[w].col);
      g_free (ctx->work[w].dcol);
      g_free (ctx->work[w].acc);
      g_free (ctx->work[w].dacc);
      g_free (ctx->work[w].sums);
    }
  g_free (ctx->y);
  g_free (ctx->dy);
  g_free (ctx->y_cap);
  g_free (ctx->dy_cap);
  g_free (ctx->dy_set);
  g_free (ctx->node_state);
  g_free (ctx->forward_seconds);
  g_free (ctx->grads);
  g_clear_pointer (&ctx->plan, hg_plan_unref);
  g_clear_pointer (&ctx->exact_plan, hg_plan_unref);
  g_clear_pointer (&ctx->plain_plan, hg_plan_unref);
  hg_model_unref (ctx->model);
  g_free (ctx);
}

HgModel *
hg_context_get_model (HgContext *ctx)
{
  return ctx->model;
}

void
hg_context_set_profile (HgContext *ctx,
                        gboolean   profile)
{
  ctx->profile = profile;
  memset (ctx->forward_seconds, 0, 2 * (gsize) ctx->arch->n_nodes * sizeof (double));
}

void
hg_context_set_seed (HgContext *ctx,
                     guint64    seed)
{
  ctx->rng = seed;
}

float *
hg_context_get_grads (HgContext *ctx,
                      gsize     *n_params)
{
  gsize n = ctx->arch->n_params;

  if (ctx->grads == NULL)
    ctx->grads = g_new0 (float, MAX (n, 1));
  if (n_params != NULL)
    *n_params = n;
  return ctx->grads;
}

void
hg_context_zero_grads (HgContext *ctx)
{
  memset (hg_context_get_grads (ctx, NULL), 0, MAX (ctx->arch->n_params, 1) * sizeof (float));
}

static gboolean
ensure (float **buf,
        gsize  *cap,
        gsize   n)
{
  if (*cap >= n)
    return TRUE;
  g_free (*buf);
  *buf = g_try_new (float, n);
  *cap = *buf != NULL ? n : 0;
  return *buf != NULL;
}

static gboolean
ensure_forward_buffers (HgContext *ctx,
                        int        n)
{
  for (int i = 0; i < ctx->arch->n_nodes; i++)
    {
      const HgNode *node = &ctx->arch->nodes[i];
      gsize         count;

      if (ctx->plan->steps[i].alias != i)
        continue;
      if (!g_size_checked_mul (&count, shape_size (node->shape), (gsize) n) ||
          !ensure (&ctx->y[i], &ctx->y_cap[i], count))
        return FALSE;
      if (node->op == HG_OP_DROPOUT &&
          !ensure (&ctx->node_state[i].mask, &ctx->node_state[i].mask_cap, count))
        return FALSE;
    }
  return TRUE;
}

static void
run_pool (HgContext     *ctx,
          int            i,
          int            n,
          HgParallelFunc fn,
          const float   *dy,
          float         *dx,
          gboolean       add)
{
  PoolJob j;
  int     tasks = pool_setup (&j, ctx, i, n);

  j.dy = dy;
  j.dx = dx;
  j.add = add;
  hg_parallel_for (tasks, fn, &j);
}

static void
dropout_forward (HgContext *ctx,
                 int        i,
                 int        n)
{
  const HgNode *node = &ctx->arch->nodes[i];
  gsize         count = (gsize) n * shape_size (node->shape);
  const float  *x = node_y (ctx, node->inputs[0]);
  float        *y = ctx->y[i];
  float        *mask = ctx->node_state[i].mask;

  if (ctx->mode == HG_MODE_INFERENCE)
    {
      memcpy (y, x, count * sizeof (float));
      return;
    }

  {
    float rate = node->p.dropout.rate, keep = 1.0f / (1.0f - rate);

    for (gsize e = 0; e < count; e++)
      {
        float u = (float) ((rng_next (&ctx->rng) >> 40) * (1.0 / 16777216.0));

        mask[e] = u >= rate ? keep : 0.0f;
        y[e] = x[e] * mask[e];
      }
  }
}

static void
forward_node (HgContext   *ctx,
              int          i,
              int          n,
              const float *x)
{
  const HgNode *node = &ctx->arch->nodes[i];

  switch (node->op)
    {
    case HG_OP_INPUT:
      input_forward (ctx, x, n);
      break;
    case HG_OP_CONV2D:
      conv_forward (ctx, i, n);
      break;
    case HG_OP_BATCHNORM:
      bn_forward (ctx, i, n);
      break;
    case HG_OP_RELU:
      {
        EwJob j = { .a = node_y (ctx, node->inputs[0]), .out = ctx->y[i] };

        ew_run (&j, (gsize) n * shape_size (node->shape), relu_forward_task);
        break;
      }
    case HG_OP_MAXPOOL:
      run_pool (ctx, i, n, maxpool_forward_task, NULL, NULL, FALSE);
      break;
    case HG_OP_AVGPOOL:
      run_pool (ctx, i, n, avgpool_task, NULL, NULL, FALSE);
      break;
    case HG_OP_GLOBAL_AVGPOOL:
      gap_forward (ctx, i, n);
      break;
    case HG_OP_DENSE:
      dense_forward (ctx, i, n);
      break;
    case HG_OP_DROPOUT:
      dropout_forward (ctx, i, n);
      break;
    case HG_OP_CONCAT:
      {
        EwJob j = { .out = ctx->y[i], .c_out = node->shape.c, .rows = (gsize) n * node->shape.h * node->shape.w };

        for (int k = 0; k < node->n_inputs; k++)
          {
            j.a = node_y (ctx, node->inputs[k]);
            j.c_in = ctx->arch->nodes[node->inputs[k]].shape.c;
            concat_run (&j);
            j.offset += j.c_in;
          }
        break;
      }
    case HG_OP_ADD:
      {
        EwJob j = { .out = ctx->y[i] };
        gsize count = (gsize) n * shape_size (node->shape);

        for (int k = 0; k < node->n_inputs; k++)
          {
            j.a = node_y (ctx, node->inputs[k]);
            j.add = k > 0;
            ew_run (&j, count, copy_task);
          }
        break;
      }
    case HG_N_OPS:
    default:
      g_assert_not_reached ();
    }
}

gboolean
hg_context_forward (HgContext   *ctx,
                    HgMode       mode,
                    HgPassFlags  flags,
                    const float *x,
                    int          n,
                    float       *logits)
{
  int last;

  g_return_val_if_fail (ctx != NULL && x != NULL, FALSE);
  g_return_val_if_fail (n >= 1 && n <= HG_MODEL_MAX_BATCH, FALSE);
  g_return_val_if_fail (mode == HG_MODE_INFERENCE || mode == HG_MODE_TRAINING ||
                            mode == HG_MODE_TRAINING_NO_UPDATE,
                        FALSE);

  ctx->n = 0;
  ctx->backward_done = FALSE;
  g_clear_pointer (&ctx->plan, hg_plan_unref);
  if (flags & HG_PASS_KEEP_NODES)
    {
      if (ctx->plain_plan == NULL)
        ctx->plain_plan = hg_model_new_plain_plan (ctx->model);
      ctx->plan = hg_plan_ref (ctx->plain_plan);
    }
  else if (mode == HG_MODE_INFERENCE && !(flags & HG_PASS_PARAM_GRADS))
    ctx->plan = hg_model_get_inference_plan (ctx->model);
  else
    ctx->plan = hg_plan_ref (ctx->exact_plan);
  ctx->mode = mode;
  ctx->flags = flags;

  if (!ensure_forward_buffers (ctx, n))
    {
      g_warning ("Not enough memory to run %s on a batch of %d", ctx->arch->name, n);
      return FALSE;
    }

  for (int i = 0; i < ctx->arch->n_nodes; i++)
    if (ctx->plan->steps[i].alias == i && ctx->plan->steps[i].pooled_by == 0)
      {
        gint64 t0 = ctx->profile ? g_get_monotonic_time () : 0;

        forward_node (ctx, i, n, x);
        if (ctx->profile)
          ctx->forward_seconds[i] += (g_get_monotonic_time () - t0) * 1e-6;
      }

  if (mode == HG_MODE_TRAINING)
    hg_model_params_changed (ctx->model); /* running statistics moved */

  last = ctx->plan->steps[ctx->arch->n_nodes - 1].alias;
  if (logits != NULL)
    memcpy (logits, ctx->y[last], (gsize) n * ctx->arch->n_classes * sizeof (float));
  ctx->n = n;
  return TRUE;
}

static float *
grad_buffer (HgContext *ctx,
             int        node,
             gboolean  *add)
{
  int   a = ctx->plan->steps[node].alias;
  gsize count = (gsize) ctx->n * shape_size (ctx->arch->nodes[a].shape);

  if (!ensure (&ctx->dy[a], &ctx->dy_cap[a], count))
    return NULL;
  *add = ctx->dy_set[a];
  ctx->dy_set[a] = TRUE;
  return ctx->dy[a];
}

static gboolean
backward_node (HgContext *ctx,
               int        i,
               gboolean   need_input_grad,
               gboolean   need_dw)
{
  const HgNode *node = &ctx->arch->nodes[i];
  int           n = ctx->n;
  gboolean      add = FALSE;
  float        *dx = NULL;

  /* Ops with one input: where their input gradient goes. */
  if (node->n_inputs == 1 && (node->inputs[0] != 0 || need_input_grad))
    {
      dx = grad_buffer (ctx, node->inputs[0], &add);
      if (dx == NULL)
        return FALSE;
    }

  switch (node->op)
    {
    case HG_OP_CONV2D:
      conv_backward (ctx, i, n, dx, add, need_dw);
      break;
    case HG_OP_BATCHNORM:
      bn_backward (ctx, i, n, dx, add, need_dw);
      break;
    case HG_OP_RELU:
      if (dx != NULL)
        {
          EwJob j = { .a = ctx->dy[i], .mask = ctx->y[i], .out = dx, .add = add };

          ew_run (&j, (gsize) n * shape_size (node->shape), relu_backward_task);
        }
      break;
    case HG_OP_MAXPOOL:
      if (dx != NULL && ctx->plan->steps[i].pooled_by != 0 && !add &&
          ctx->arch->nodes[ctx->plan->steps[i].pooled_by].op == HG_OP_BATCHNORM)
        {
          int          bn = ctx->plan->steps[i].pooled_by;
          HgNodeState *state = &ctx->node_state[bn];
          PoolJob      j;
          int          tasks = pool_setup (&j, ctx, i, n);
          int          c = ctx->arch->nodes[bn].shape.c;

          j.dy = ctx->dy[i];
          j.dx = dx;
          j.bn_x = node_y (ctx, ctx->arch->nodes[bn].inputs[0]);
          j.mean = state->mean;
          j.relu = ctx->plan->steps[bn].relu;
          zero_dacc (ctx, 2 * (gsize) c);
          hg_parallel_for (tasks, maxpool_bn_backward_task, &j);
          reduce_dacc (ctx, 2 * (gsize) c, state->grad_sums);
          state->grad_sums_ready = TRUE;
        }
      else if (dx != NULL)
        {
          gboolean windows = node->p.pool.kernel == 2 && node->p.pool.stride == 2 &&
                             node->p.pool.padding == 0;
          int     by = ctx->plan->steps[i].pooled_by;
          PoolJob j;
          int     tasks = pool_setup (&j, ctx, i, n);

          /* the 2×2 path writes every element; the general one adds */
          if (!add && !windows)
            memset (dx, 0,
                    (gsize) n * shape_size (ctx->arch->nodes[node->inputs[0]].shape) *
                        sizeof (float));
          j.dy = ctx->dy[i];
          j.dx = dx;
          j.add = add || !windows;
          /* A conv that computes this pool (fused plan) has it as its only
           * reader: the conv's ReLU mask is applied here, on the way, and
           * the conv's backward pass skips its own pass over y and dy. */
          if (by != 0 && ctx->arch->nodes[by].op == HG_OP_CONV2D && windows && !add &&
              ctx->plan->steps[by].relu)
            {
              j.relu = TRUE;
              ctx->node_state[by].dy_masked = TRUE;
            }
          hg_parallel_for (tasks, maxpool_backward_task, &j);
        }
      break;
    case HG_OP_AVGPOOL:
      if (dx != NULL)
        {
          if (!add)
            memset (dx, 0,
                    (gsize) n * shape_size (ctx->arch->nodes[node->inputs[0]].shape) *
                        sizeof (float));
          run_pool (ctx, i, n, avgpool_task, ctx->dy[i], dx, TRUE);
        }
      break;
    case HG_OP_GLOBAL_AVGPOOL:
      if (dx != NULL)
        gap_backward (ctx, i, n, dx, add);
      break;
    case HG_OP_DENSE:
      dense_backward (ctx, i, n, dx, add, need_dw);
      break;
    case HG_OP_DROPOUT:
      if (dx != NULL)
        {
          EwJob j = { .a = ctx->dy[i], .out = dx, .add = add, .mask = ctx->mode == HG_MODE_INFERENCE ? NULL : ctx->node_state[i].mask };

          ew_run (&j, (gsize) n * shape_size (node->shape), copy_task);
        }
      break;
    case HG_OP_CONCAT:
      {
        int offset = 0;

        for (int k = 0; k < node->n_inputs; k++)
          {
            int c_in = ctx->arch->nodes[node->inputs[k]].shape.c;

            if (node->inputs[k] != 0 || need_input_grad)
              {
                EwJob j = { .a = ctx->dy[i], .mask = ctx->dy[i] /* marks backward */, .c_in = c_in, .c_out = node->shape.c, .offset = offset, .rows = (gsize) n * node->shape.h * node->shape.w };

                j.out = grad_buffer (ctx, node->inputs[k], &j.add);
                if (j.out == NULL)
                  return FALSE;
                concat_run (&j);
              }
            offset += c_in;
          }
        break;
      }
    case HG_OP_ADD:
      for (int k = 0; k < node->n_inputs; k++)
        if (node->inputs[k] != 0 || need_input_grad)
          {
            EwJob j = { .a = ctx->dy[i] };

            j.out = grad_buffer (ctx, node->inputs[k], &j.add);
            if (j.out == NULL)
              return FALSE;
            ew_run (&j, (gsize) n * shape_size (node->shape), copy_task);
          }
      break;
    case HG_OP_INPUT:
    case HG_N_OPS:
    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

gboolean
hg_context_backward (HgContext   *ctx,
                     const float *dlogits,
                     float       *grad_x)
{
  int      n = ctx->n, last;
  gboolean add, need_dw;
  float   *dy;

  g_return_val_if_fail (ctx != NULL && dlogits != NULL, FALSE);
  g_return_val_if_fail (n > 0, FALSE); /* no forward pass to go back through */

  need_dw = (ctx->flags & HG_PASS_PARAM_GRADS) != 0;
  if (need_dw)
    hg_context_get_grads (ctx, NULL);

  memset (ctx->dy_set, 0, ctx->arch->n_nodes * sizeof (gboolean));
  for (int i = 0; i < ctx->arch->n_nodes; i++)
    ctx->node_state[i].grad_sums_ready = ctx->node_state[i].dy_masked = FALSE;
  ctx->backward_done = FALSE;
  last = ctx->arch->n_nodes - 1;
  dy = grad_buffer (ctx, last, &add);
  if (dy == NULL)
    return FALSE;
  memcpy (dy, dlogits, (gsize) n * ctx->arch->n_classes * sizeof (float));

  for (int i = last; i >= 1; i--)
    if (ctx->plan->steps[i].alias == i && ctx->dy_set[i])
      {
        gint64 t0 = ctx->profile ? g_get_monotonic_time () : 0;

        if (!backward_node (ctx, i, grad_x != NULL, need_dw))
          {
            g_warning ("Not enough memory for the backward pass of %s", ctx->arch->name);
            return FALSE;
          }
        if (ctx->profile)
          ctx->backward_seconds[i] += (g_get_monotonic_time () - t0) * 1e-6;
      }

  if (grad_x != NULL)
    {
      InputJob j = { ctx, ctx->arch->nodes[0].shape, ctx->dy[0], grad_x };

      if (ctx->dy_set[0])
        hg_parallel_for (n, input_backward_task, &j);
      else
        memset (grad_x, 0, (gsize) n * shape_size (j.s) * sizeof (float));
    }

  ctx->backward_done = TRUE;
  return TRUE;
}

/* ---- reading nodes back (explanations) ------------------------------------- */

static int
find_node (HgContext  *ctx,
           const char *name)
{
  for (int i = 0; i < ctx->arch->n_nodes; i++)
    if (g_strcmp0 (ctx->arch->nodes[i].name, name) == 0)
      return i;
  return -1;
}

static const float *
node_buffer (HgContext  *ctx,
             const char *name,
             gboolean    grad,
             int        *height,
             int        *width,
             int        *channels)
{
  int     i;
  HgShape s;

  g_return_val_if_fail (ctx != NULL && name != NULL, NULL);

  i = find_node (ctx, name);
  if (i < 0)
    {
      g_warning ("%s has no node called “%s”", ctx->arch->name, name);
      return NULL;
    }
  s = ctx->arch->nodes[i].shape;
  if (height != NULL)
    *height = s.h;
  if (width != NULL)
    *width = s.w;
  if (channels != NULL)
    *channels = s.c;

  /* Only the plain plan gives every node a buffer of its own. */
  if (ctx->n == 0 || ctx->plan == NULL || ctx->plan != ctx->plain_plan)
    return NULL;
  if (!grad)
    return ctx->y[i];
  if (!ctx->backward_done || !ctx->dy_set[i])
    return NULL;
  return ctx->dy[i];
}

const float *
hg_context_get_activation (HgContext  *ctx,
                           const char *node,
                           int        *height,
                           int        *width,
                           int        *channels)
{
  return node_buffer (ctx, node, FALSE, height, width, channels);
}

const float *
hg_context_get_activation_grad (HgContext  *ctx,
                                const char *node,
                                int        *height,
                                int        *width,
                                int        *channels)
{
  return node_buffer (ctx, node, TRUE, height, width, channels);
}

/* ---- public entry points ------------------------------------------------------ */

gboolean
hg_model_forward (HgContext   *ctx,
                  const float *x,
                  int          n,
                  float       *logits)
{
  return hg_context_forward (ctx, HG_MODE_INFERENCE, HG_PASS_NONE, x, n, logits);
}

gboolean
hg_model_predict (HgContext   *ctx,
                  const float *x,
                  int          n,
                  float       *logits)
{
  gsize in = shape_size (ctx->arch->nodes[0].shape);
  int   k = ctx->arch->n_classes;

  g_return_val_if_fail (n >= 0, FALSE);
  for (int off = 0; off < n; off += PREDICT_SLICE)
    {
      int m = MIN (PREDICT_SLICE, n - off);

      gboolean ok;

      ctx->transient = TRUE;
      ok = hg_context_forward (ctx, HG_MODE_INFERENCE, HG_PASS_NONE, x + (gsize) off * in, m,
                               logits + (gsize) off * k);
      ctx->transient = FALSE;
      if (!ok)
        return FALSE;
    }
  ctx->n = 0; /* only the last slice is held: no backward after this */
  return TRUE;
}

gboolean
hg_model_backward_input (HgContext   *ctx,
                         const float *dlogits,
                         float       *grad_x)
{
  g_return_val_if_fail (grad_x != NULL, FALSE);
  return hg_context_backward (ctx, dlogits, grad_x);
}

float
hg_context_loss_backward (HgContext   *ctx,
                          HgMode       mode,
                          HgPassFlags  flags,
                          const float *x,
                          int          n,
                          const int   *labels,
                          float       *logits_out,
                          float       *grad_x)
{
  int               k = ctx->arch->n_classes;
  g_autofree float *logits = NULL;
  float             loss;

  g_return_val_if_fail (labels != NULL, NAN);
  for (int i = 0; i < n; i++)
    g_return_val_if_fail (labels[i] >= 0 && labels[i] < k, NAN);

  logits = g_new (float, 2 * (gsize) MAX (n, 1) * k);
  if (!hg_context_forward (ctx, mode, flags, x, n, logits))
    return NAN;
  if (logits_out != NULL)
    memcpy (logits_out, logits, (gsize) n * k * sizeof (float));

  loss = hg_softmax_cross_entropy (logits, n, k, labels, logits + (gsize) n * k);
  if (!hg_context_backward (ctx, logits + (gsize) n * k, grad_x))
    return NAN;
  return loss;
}

float
hg_model_loss_input_grad (HgContext   *ctx,
                          const float *x,
                          int          n,
                          const int   *labels,
                          float       *logits_out,
                          float       *grad_x)
{
  return hg_context_loss_backward (ctx, HG_MODE_INFERENCE, HG_PASS_NONE, x, n, labels, logits_out,
                                   grad_x);
}

void
hg_softmax (const float *logits,
            int          n,
            int          k,
            float       *probs)
{
  for (int i = 0; i < n; i++)
    {
      const float *z = logits + (gsize) i * k;
      float       *p = probs + (gsize) i * k;
      float        max = z[0];
      double       sum = 0.0;

      for (int c = 1; c < k; c++)
        max = MAX (max, z[c]);
      for (int c = 0; c < k; c++)
        {
          p[c] = expf (z[c] - max);
          sum += p[c];
        }
      for (int c = 0; c < k; c++)
        p[c] = (float) (p[c] / sum);
    }
}

float
hg_softmax_cross_entropy (const float *logits,
                          int          n,
                          int          k,
                          const int   *labels,
                          float       *dlogits)
{
  double total = 0.0;

  for (int i = 0; i < n; i++)
    {
      const float *z = logits + (gsize) i * k;
      float        max = z[0];
      double       sum = 0.0;

      for (int c = 1; c < k; c++)
        max = MAX (max, z[c]);
      for (int c = 0; c < k; c++)
        sum += exp ((double) z[c] - max);
      total += log (sum) - ((double) z[labels[i]] - max);

      if (dlogits != NULL)
        for (int c = 0; c < k; c++)
          dlogits[(gsize) i * k + c] =
              (float) (exp ((double) z[c] - max) / sum) - (c == labels[i] ? 1.0f : 0.0f);
    }

  return (float) total;
}
