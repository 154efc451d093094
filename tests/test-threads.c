/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stress: one model, one slide, many threads at once. Every thread gets
 * exactly what a single thread gets, bit for bit (the engine's own
 * threads test covers forward and gradient passes; these cover what is
 * built on them). Run under the ASan build, these also catch races that
 * corrupt memory. */
#include "config.h"

#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-model.h"
#include "hg-test-slides.h"

#define SIZE 50
#define PIXELS (3 * SIZE * SIZE)
#define N_THREADS 4
#define N_SAMPLES 6
#define ROUNDS 3

/* Every thread starts at once, so they race for the model's lazily built
 * inference plan and the engine's worker pool. */
typedef struct
{
  GMutex lock;
  GCond  cond;
  int    waiting;
} Barrier;

static void
barrier_wait (Barrier *b)
{
  g_mutex_lock (&b->lock);
  if (++b->waiting == N_THREADS)
    g_cond_broadcast (&b->cond);
  while (b->waiting < N_THREADS)
    g_cond_wait (&b->cond, &b->lock);
  g_mutex_unlock (&b->lock);
}

/* ---- attacks ------------------------------------------------------------ */

typedef struct
{
  HgAttackKind kind;
  const char  *defense; /* NULL: the bare model */
} AttackCase;

static const AttackCase attack_cases[] = {
  { HG_ATTACK_FGSM, NULL },
  { HG_ATTACK_PGD, NULL },             /* random start: per-sample streams */
  { HG_ATTACK_MIFGSM, "jpeg:60" },     /* BPDA through a defence */
  { HG_ATTACK_PGD, "noise:8+blur:1" }, /* EOT over a randomised one */
  { HG_ATTACK_DEEPFOOL, NULL },
};

typedef struct
{
  HgModel     *model;
  Barrier     *barrier;
  const float *x;
  const int   *labels;
  float       *x_adv; /* G_N_ELEMENTS (attack_cases) × N_SAMPLES × PIXELS */
  float       *logits;
} AttackWork;

static void
run_attacks (HgContext   *ctx,
             const float *x,
             const int   *labels,
             float       *x_adv,
             float       *logits)
{
  for (gsize a = 0; a < G_N_ELEMENTS (attack_cases); a++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (HgDefense) defense = NULL;
      HgAttackParams params;

      hg_attack_params_init (&params, attack_cases[a].kind, 6);
      params.steps = 3;
      params.seed = 11 + a;
      if (attack_cases[a].defense != NULL)
        {
          defense = hg_defense_parse (attack_cases[a].defense, &error);
          g_assert_no_error (error);
          params.defense = defense;
          params.eot_samples = 2;
        }
      g_assert_true (hg_attack_run (ctx, &params, x, labels, N_SAMPLES,
                                    x_adv + a * N_SAMPLES * PIXELS, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_true (hg_model_predict (ctx, x_adv, N_SAMPLES, logits));
}

static gpointer
attack_thread (gpointer data)
{
  AttackWork *w = data;
  g_autoptr (HgContext) ctx = hg_context_new (w->model);

  barrier_wait (w->barrier);
  for (int r = 0; r < ROUNDS; r++)
    run_attacks (ctx, w->x, w->labels, w->x_adv, w->logits);
  return NULL;
}

static void
test_attacks (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = hg_model_load (path, &error);
  gsize             per_thread = G_N_ELEMENTS (attack_cases) * N_SAMPLES * PIXELS;
  g_autofree float *x = g_new (float, N_THREADS *N_SAMPLES *PIXELS);
  g_autofree int   *labels = g_new (int, N_THREADS *N_SAMPLES);
  AttackWork        work[N_THREADS];
  GThread          *threads[N_THREADS];
  Barrier           barrier = { 0 };

  /* The model is fresh: its inference plan is built by whichever thread
   * gets there first. */
  g_assert_no_error (error);
  hg_test_synthetic_patches (77, N_THREADS * N_SAMPLES, x, labels);
  for (int t = 0; t < N_THREADS; t++)
    {
      work[t] = (AttackWork){ model, &barrier, x + t * N_SAMPLES * PIXELS, labels + t * N_SAMPLES,
                              g_new (float, per_thread), g_new (float, N_SAMPLES * 2) };
      threads[t] = g_thread_new ("attack", attack_thread, &work[t]);
    }
  for (int t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);

  for (int t = 0; t < N_THREADS; t++)
    {
      g_autoptr (HgContext) ctx = hg_context_new (model);
      g_autofree float *x_adv = g_new (float, per_thread);
      g_autofree float *logits = g_new (float, N_SAMPLES * 2);

      run_attacks (ctx, work[t].x, work[t].labels, x_adv, logits);
      g_assert_cmpmem (x_adv, per_thread * sizeof (float), work[t].x_adv,
                       per_thread * sizeof (float));
      g_assert_cmpmem (logits, N_SAMPLES * 2 * sizeof (float), work[t].logits,
                       N_SAMPLES * 2 * sizeof (float));
      g_free (work[t].x_adv);
      g_free (work[t].logits);
    }
}

/* ---- slides ------------------------------------------------------------- */

typedef struct
{
  HgSlide *slide;
  Barrier *barrier;
  int      first; /* tile index to start from, so threads overlap */
  guint32 *sums;  /* one checksum per tile of every level */
} SlideWork;

static guint32
checksum (HgImage *image)
{
  const guint8 *data = hg_image_get_data (image);
  guint32       sum = 2166136261u;

  for (gsize i = 0; i < hg_image_get_size (image); i++)
    sum = (sum ^ data[i]) * 16777619u;
  return sum;
}

static guint
count_tiles (HgSlide *slide)
{
  guint n = 0;

  for (int level = 0; level < hg_slide_get_level_count (slide); level++)
    {
      gint64 columns, rows;

      hg_slide_get_tile_grid (slide, level, &columns, &rows);
      n += (guint) (columns * rows);
    }
  return n;
}

static guint32
read_tile (HgSlide *slide,
           guint    index)
{
  for (int level = 0; level < hg_slide_get_level_count (slide); level++)
    {
      gint64 columns, rows;

      hg_slide_get_tile_grid (slide, level, &columns, &rows);
      if (index < columns * rows)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (HgImage) tile = hg_slide_read_tile (slide, level, index % columns,
                                                         index / columns, &error);

          g_assert_no_error (error);
          return checksum (tile);
        }
      index -= (guint) (columns * rows);
    }
  g_assert_not_reached ();
}

static gpointer
slide_thread (gpointer data)
{
  SlideWork *w = data;
  guint      n = count_tiles (w->slide);

  barrier_wait (w->barrier);
  for (int r = 0; r < ROUNDS; r++)
    for (guint i = 0; i < n; i++)
      {
        guint index = (w->first + i) % n;

        w->sums[index] = read_tile (w->slide, index);
      }
  return NULL;
}

static void
check_slide (HgSlide *slide)
{
  guint               n = count_tiles (slide);
  g_autofree guint32 *expected = g_new (guint32, n);
  SlideWork           work[N_THREADS];
  GThread            *threads[N_THREADS];
  Barrier             barrier = { 0 };

  for (guint i = 0; i < n; i++)
    expected[i] = read_tile (slide, i);
  for (int t = 0; t < N_THREADS; t++)
    {
      work[t] = (SlideWork){ slide, &barrier, (int) (t * n / N_THREADS), g_new0 (guint32, n) };
      threads[t] = g_thread_new ("slide", slide_thread, &work[t]);
    }
  for (int t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpmem (work[t].sums, n * sizeof (guint32), expected, n * sizeof (guint32));
      g_free (work[t].sums);
    }
  g_test_message ("%u tiles read %d times by %d threads", n, ROUNDS, N_THREADS);
}

/* One OpenSlide handle and one in-memory pyramid, read from every thread. */
static void
test_slides (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-threads");
  g_autofree char *tiff = g_build_filename (dir, "pyramid.tif", NULL);
  g_autofree char *demo = g_build_filename (g_getenv ("HG_SOURCE_ROOT"), "data", "demo",
                                            "idc-8863", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) pyramid = NULL;
  g_autoptr (HgSlide) patches = NULL;

  hg_test_write_pyramid_tiff (tiff, 1200, 900, 3, 256, HG_TEST_TIFF_JPEG);
  pyramid = hg_slide_open (tiff, NULL, &error);
  g_assert_no_error (error);
  check_slide (pyramid);

  patches = hg_slide_open (demo, NULL, &error);
  g_assert_no_error (error);
  check_slide (patches);

  hg_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/threads/attacks", test_attacks);
  g_test_add_func ("/hg/threads/slides", test_slides);

  return g_test_run ();
}
