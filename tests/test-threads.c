/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Stress: one model, one slide, many threads at once. Every thread gets
 * exactly what a single thread gets, bit for bit (the engine's own
 * threads test covers forward and gradient passes; these cover what is
 * built on them: attacks, slide reads, the heatmap runner and the live
 * explorer under a spammed slider). Run under the ASan build, these also catch races that
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

/* ---- the inference runner ----------------------------------------------- */

typedef struct
{
  HgTiling *tiling;
  HgModel  *model;
  Barrier  *barrier;
  float    *scores; /* n_tiles */
} HeatmapWork;

static void
run_heatmap (HgTiling *tiling,
             HgModel  *model,
             int       batch,
             float    *scores)
{
  g_autoptr (HgHeatmap) heatmap = hg_heatmap_new_for_model (tiling, model);
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autoptr (GError) error = NULL;

  g_assert_true (hg_heatmap_run (heatmap, hg_heatmap_predict_batch, ctx, batch, NULL, NULL, NULL,
                                 &error));
  g_assert_no_error (error);
  g_assert_true (hg_heatmap_is_complete (heatmap));
  hg_heatmap_copy_scores (heatmap, scores);
}

static gpointer
heatmap_thread (gpointer data)
{
  HeatmapWork *w = data;

  barrier_wait (w->barrier);
  run_heatmap (w->tiling, w->model, 64, w->scores);
  return NULL;
}

typedef struct
{
  gsize         cancel_after; /* tiles */
  GCancellable *cancellable;
  gboolean      done;
  GError       *error;
} AsyncRun;

static void
on_progress (gsize    done,
             gsize    total,
             gpointer data)
{
  AsyncRun *run = data;

  if (done >= run->cancel_after)
    g_cancellable_cancel (run->cancellable);
}

static void
on_heatmap_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  AsyncRun *run = data;

  hg_heatmap_run_finish ((HgHeatmap *) source, result, &run->error);
  run->done = TRUE;
}

/* Several heatmaps of one slide and one model at once, each thread with
 * its own context, give what one thread gives; a run cancelled halfway and
 * resumed gives it too. */
static void
test_heatmaps (void)
{
  g_autofree char *demo = g_build_filename (g_getenv ("HG_SOURCE_ROOT"), "data", "demo",
                                            "idc-8863", NULL);
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = hg_slide_open (demo, NULL, &error);
  g_autoptr (HgModel) model = hg_model_load (model_path, &error);
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (HgHeatmap) resumed = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autofree float *expected = NULL;
  g_autofree float *scores = NULL;
  HeatmapWork       work[N_THREADS];
  GThread          *threads[N_THREADS];
  Barrier           barrier = { 0 };
  AsyncRun          run = { 0 };
  gsize             n;

  g_assert_no_error (error);
  tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  g_assert_no_error (error);
  n = hg_tiling_get_n_tiles (tiling);
  expected = g_new (float, n);
  scores = g_new (float, n);
  run_heatmap (tiling, model, 0, expected);

  for (int t = 0; t < N_THREADS; t++)
    {
      work[t] = (HeatmapWork){ tiling, model, &barrier, g_new (float, n) };
      threads[t] = g_thread_new ("heatmap", heatmap_thread, &work[t]);
    }
  for (int t = 0; t < N_THREADS; t++)
    {
      g_thread_join (threads[t]);
      g_assert_cmpmem (work[t].scores, n * sizeof (float), expected, n * sizeof (float));
      g_free (work[t].scores);
    }

  /* Cancelled after a third of the tiles, then run again to the end. */
  resumed = hg_heatmap_new_for_model (tiling, model);
  ctx = hg_context_new (model);
  run.cancel_after = n / 3;
  run.cancellable = g_cancellable_new ();
  hg_heatmap_run_async (resumed, hg_heatmap_predict_batch, ctx, NULL, 32, on_progress, &run,
                        run.cancellable, on_heatmap_done, &run);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (run.error, HG_ERROR, HG_ERROR_CANCELLED);
  g_clear_error (&run.error);
  g_assert_false (hg_heatmap_is_complete (resumed));
  g_test_message ("cancelled with %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " tiles done",
                  hg_heatmap_get_n_done (resumed), n);
  g_assert_true (hg_heatmap_run (resumed, hg_heatmap_predict_batch, ctx, 32, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  hg_heatmap_copy_scores (resumed, scores);
  g_assert_cmpmem (scores, n * sizeof (float), expected, n * sizeof (float));
  g_object_unref (run.cancellable);
}

/* ---- the live explorer ---------------------------------------------------- */

typedef struct
{
  HgLiveAttack   *live;
  HgLivePipeline *pipeline;
  const guint64  *keys;
  int             n_keys;
  guint64         last_serial; /* of the last request made */
  gint            finished;    /* atomic */
} Spam;

typedef struct
{
  guint64       serial;
  HgLiveResult *result;
  guint         n_results;
} Delivered;

static void
on_live_result (HgLiveAttack *live,
                HgLiveResult *result,
                const GError *error,
                gpointer      data)
{
  Delivered *d = data;

  g_assert_no_error ((GError *) error);
  d->n_results++;
  if (hg_live_result_is_complete (result))
    {
      g_clear_pointer (&d->result, hg_live_result_unref);
      d->result = hg_live_result_ref (result);
      d->serial = hg_live_result_get_serial (result);
    }
}

static void
spam_request (Spam        *spam,
              HgAttackKind kind,
              double       eps)
{
  HgLiveRequest request;

  hg_live_request_init (&request);
  hg_live_params_init (&request.params, kind, eps);
  request.params.steps = 2;
  request.keys = spam->keys;
  request.n_keys = spam->n_keys;
  request.pipelines[0] = spam->pipeline;
  request.n_pipelines = 1;
  request.focus = 0;
  spam->last_serial = hg_live_attack_request (spam->live, &request);
}

/* A slider dragged from another thread: 300 requests as fast as they
 * come, kinds and goals switched, cancellations and cache clears thrown
 * in. Nothing crashes or leaks (the ASan build checks), and the result
 * that arrives last is the last request's, equal to computing it
 * directly. */
static gpointer
spam_thread (gpointer data)
{
  Spam *spam = data;

  for (int i = 0; i < 300; i++)
    {
      HgAttackKind kind = i % 37 == 0 ? HG_ATTACK_BIM : i % 53 == 0 ? HG_ATTACK_PGD
                                                                    : HG_ATTACK_FGSM;

      spam_request (spam, kind, (i * 7 % 33) * 0.5);
      if (i % 41 == 0)
        hg_live_attack_cancel (spam->live);
      if (i % 97 == 0)
        hg_live_attack_clear (spam->live);
      if (i % 10 == 0)
        g_usleep (2000);
    }
  spam_request (spam, HG_ATTACK_FGSM, 6);
  g_atomic_int_set (&spam->finished, TRUE);
  return NULL;
}

static void
test_live_spam (void)
{
  g_autofree char *folder = g_test_build_filename (G_TEST_DIST, "data", "idc", "patches", "16552", NULL);
  g_autofree char *model_path = g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = hg_slide_open (folder, NULL, &error);
  g_autoptr (HgModel) model = hg_model_load (model_path, &error);
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (HgLiveAttack) live = NULL;
  g_autoptr (HgLivePipeline) pipeline = NULL;
  g_autoptr (HgLiveResult) direct = NULL;
  g_autofree guint64 *keys = NULL;
  HgLiveRequest       request;
  HgLiveStats         stats;
  Delivered           d = { 0 };
  Spam                spam;
  GThread            *thread;
  int                 n;

  g_assert_no_error (error);
  tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  g_assert_no_error (error);
  n = (int) hg_tiling_get_n_tiles (tiling);
  keys = g_new (guint64, n);
  for (int i = 0; i < n; i++)
    keys[i] = (guint64) i;
  live = hg_live_attack_new (hg_live_read_tiling, hg_tiling_ref (tiling), (GDestroyNotify) hg_tiling_unref);
  pipeline = hg_live_pipeline_new (model, NULL);
  hg_live_attack_set_result_func (live, on_live_result, &d, NULL);

  spam = (Spam){ live, pipeline, keys, n, 0, FALSE };
  thread = g_thread_new ("spam", spam_thread, &spam);
  /* The main loop keeps delivering while the requests come. */
  while (!g_atomic_int_get (&spam.finished))
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  g_thread_join (thread);
  while (d.serial != spam.last_serial)
    g_main_context_iteration (NULL, TRUE);

  hg_live_attack_get_stats (live, &stats);
  g_test_message ("%u results for %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT " computed, %" G_GUINT64_FORMAT " superseded",
                  d.n_results, stats.n_requests, stats.n_computed, stats.n_superseded);
  g_assert_cmpuint (stats.n_requests, ==, 301);

  hg_live_request_init (&request);
  hg_live_params_init (&request.params, HG_ATTACK_FGSM, 6);
  request.params.steps = 2;
  request.keys = keys;
  request.n_keys = n;
  request.pipelines[0] = pipeline;
  request.n_pipelines = 1;
  request.focus = 0;
  direct = hg_live_attack_compute (live, &request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (hg_live_result_get_probs (d.result, 0), (gsize) n * 2 * sizeof (float),
                   hg_live_result_get_probs (direct, 0), (gsize) n * 2 * sizeof (float));
  g_assert_cmpmem (hg_live_result_get_flags (d.result, 0), (gsize) n,
                   hg_live_result_get_flags (direct, 0), (gsize) n);
  hg_live_result_unref (d.result);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/threads/attacks", test_attacks);
  g_test_add_func ("/hg/threads/slides", test_slides);
  g_test_add_func ("/hg/threads/heatmaps", test_heatmaps);
  g_test_add_func ("/hg/threads/live-spam", test_live_spam);

  return g_test_run ();
}
