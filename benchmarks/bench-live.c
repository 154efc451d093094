/* SPDX-License-Identifier: GPL-3.0-or-later */
/* benchmarks/live: how fast the live explorer follows its ε slider.
 *
 * A slider step is timed the way the explorer runs it: a request handed to
 * hg_live_attack_request(), computed on the attack's worker thread, and
 * its result delivered to the result function in this thread's main loop
 * (src/app/hg-explorer.c does exactly this). The tiles are the demo
 * slide's, tiled for the model and read through hg_live_read_tiling(), as
 * in the explorer. The reference is what the step would cost
 * without the kept gradient signs: FGSM from scratch (gradient and
 * forward) with hg_attack_run() on the same tiles. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/histoguard.h"

typedef struct
{
  guint64       waiting_for;
  HgLiveResult *result;
} Waiter;

static void
on_result (HgLiveAttack *live,
           HgLiveResult *result,
           const GError *error,
           gpointer      user_data)
{
  Waiter *w = user_data;

  if (error != NULL)
    g_error ("live attack: %s", error->message);
  if (hg_live_result_get_serial (result) == w->waiting_for && hg_live_result_is_complete (result))
    {
      g_clear_pointer (&w->result, hg_live_result_unref);
      w->result = hg_live_result_ref (result);
    }
}

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* One request through the worker, waited for in the main loop: ms. */
static double
step (HgLiveAttack  *live,
      Waiter        *w,
      HgLiveRequest *request)
{
  double t0 = now_ms ();

  g_clear_pointer (&w->result, hg_live_result_unref);
  w->waiting_for = hg_live_attack_request (live, request);
  while (w->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return now_ms () - t0;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

typedef struct
{
  double median, p90, min;
  int    n;
} Timing;

static Timing
summarise (double *v,
           int     n)
{
  Timing t;

  qsort (v, n, sizeof (double), compare_doubles);
  t.n = n;
  t.min = v[0];
  t.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  t.p90 = v[MIN (n - 1, (int) ceil (0.9 * n) - 1)];
  return t;
}

/* Drags the slider over 0 … 16 in quarter steps, up and down, for about
 * seconds (at least one sweep). */
static Timing
drag (HgLiveAttack  *live,
      Waiter        *w,
      HgLiveRequest *request,
      double         seconds)
{
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  double t0 = now_ms ();
  int    i = 0;

  while (times->len < 65 || now_ms () - t0 < seconds * 1000)
    {
      int    pos = i % 128; /* 0 … 64 and back */
      double ms;

      request->params.eps = 0.25 * (pos <= 64 ? pos : 128 - pos);
      ms = step (live, w, request);
      g_array_append_val (times, ms);
      i++;
    }
  return summarise ((double *) times->data, times->len);
}

static double
load_average (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return NAN;
  return g_ascii_strtod (text, NULL);
}

static void
print_row (const char   *what,
           const Timing *t,
           const char   *target)
{
  printf ("%-44s %9.1f %9.1f %9.1f   %s\n", what, t->median, t->p90, t->min, target);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *model_path = NULL, *slide_path = NULL;
  double           seconds = 3.0;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (HgLiveAttack) live = NULL;
  g_autoptr (HgLivePipeline) plain = NULL, jpeg = NULL;
  g_autoptr (HgDefense) jpeg_defense = NULL;
  g_autoptr (HgContext) ref_ctx = NULL;
  g_autofree guint64 *keys = NULL;
  g_autofree char    *model_name = NULL;
  GOptionEntry        entries[] = {
           { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model (default: data/models/idc-standard.safetensors, else a fresh default CNN)", "FILE" },
           { "slide", 's', 0, G_OPTION_ARG_FILENAME, &slide_path, "Slide (default: the demo slide)", "PATH" },
           { "seconds", 't', 0, G_OPTION_ARG_DOUBLE, &seconds, "Seconds per measurement (3)", "S" },
           { NULL }
  };
  g_autoptr (GOptionContext) options = g_option_context_new ("- time the live explorer's slider");
  HgLiveRequest request;
  Waiter        w = { 0 };
  Timing        t_tile, t_view, t_pair, t_ref, t_sync, t_forward;
  double        prep_ms, pair_prep_ms, load_start, load_end;
  gsize         n_tiles;
  int           n_view;

  g_option_context_add_main_entries (options, entries, NULL);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-live: %s\n", error->message);
      return 2;
    }
  if (slide_path == NULL)
    slide_path = g_build_filename (SOURCE_DATADIR, "demo", "idc-8863", NULL);
  if (model_path == NULL)
    {
      g_autofree char *standard = g_build_filename (SOURCE_DATADIR, "models", "idc-standard.safetensors", NULL);

      if (g_file_test (standard, G_FILE_TEST_EXISTS))
        model_path = g_steal_pointer (&standard);
    }

  load_start = load_average ();
  if (model_path != NULL)
    {
      model = hg_model_load (model_path, &error);
      model_name = g_path_get_basename (model_path);
    }
  else
    {
      model = hg_model_new_from_arch (NULL, 1, &error);
      model_name = g_strdup ("fresh default cnn (untrained: timing only)");
    }
  if (model == NULL)
    g_error ("%s", error->message);

  slide = hg_slide_open (slide_path, NULL, &error);
  if (slide == NULL)
    g_error ("%s", error->message);
  tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
  if (tiling == NULL)
    g_error ("%s", error->message);
  n_tiles = hg_tiling_get_n_tiles (tiling);
  n_view = (int) MIN (n_tiles, 300);
  keys = g_new (guint64, n_view);
  for (int i = 0; i < n_view; i++)
    keys[i] = i * n_tiles / n_view;

  live = hg_live_attack_new (hg_live_read_tiling, hg_tiling_ref (tiling), (GDestroyNotify) hg_tiling_unref);
  hg_live_attack_set_result_func (live, on_result, &w, NULL);
  plain = hg_live_pipeline_new (model, NULL);
  jpeg_defense = hg_defense_parse ("jpeg:75", &error);
  jpeg = hg_live_pipeline_new (model, jpeg_defense);

  /* 300 tiles in view, the standard model alone. */
  hg_live_request_init (&request);
  request.pipelines[0] = plain;
  request.n_pipelines = 1;
  request.keys = keys;
  request.n_keys = n_view;
  request.focus = 0;
  prep_ms = step (live, &w, &request); /* reads, clean predictions, gradients */
  t_view = drag (live, &w, &request, seconds);

  /* Synchronously, without the worker and the main loop. */
  {
    double v[40];

    for (int i = 0; i < 40; i++)
      {
        double t0 = now_ms ();
        g_autoptr (HgLiveResult) r = NULL;

        request.params.eps = 0.25 * (1 + i % 64);
        r = hg_live_attack_compute (live, &request, NULL, &error);
        g_assert_no_error (error);
        v[i] = now_ms () - t0;
      }
    t_sync = summarise (v, 40);
  }

  /* One selected tile. */
  request.n_keys = 1;
  step (live, &w, &request);
  t_tile = drag (live, &w, &request, seconds);

  /* Side by side: the same model through JPEG, a transfer attack. */
  request.n_keys = n_view;
  request.pipelines[1] = jpeg;
  request.craft[1] = HG_LIVE_TRANSFER;
  request.n_pipelines = 2;
  request.params.eps = 0;
  pair_prep_ms = step (live, &w, &request);
  t_pair = drag (live, &w, &request, seconds);

  /* The reference: FGSM from scratch on the same 300 tiles. */
  {
    g_autofree float *x = g_new (float, (gsize) n_view * 3 * 50 * 50);
    g_autofree float *x_adv = g_new (float, (gsize) n_view * 3 * 50 * 50);
    g_autofree float *logits = g_new (float, (gsize) n_view * 2);
    g_autofree int   *labels = g_new0 (int, n_view);
    g_autofree int   *truth = g_new (int, n_view);
    HgAttackParams    ap;
    double            v[12];

    if (!hg_live_read_tiling (keys, n_view, 50, 50, x, truth, tiling, &error))
      g_error ("%s", error->message);
    ref_ctx = hg_context_new (model);
    hg_model_predict (ref_ctx, x, n_view, logits);
    for (int i = 0; i < n_view; i++)
      labels[i] = logits[2 * i + 1] > logits[2 * i];
    /* The floor: the model's forward pass alone on the 300 tiles. */
    {
      double f[20];

      for (int i = 0; i < 20; i++)
        {
          double t0 = now_ms ();

          hg_model_predict (ref_ctx, x, n_view, logits);
          f[i] = now_ms () - t0;
        }
      t_forward = summarise (f, 20);
    }
    for (int i = 0; i < 12; i++)
      {
        double t0 = now_ms ();

        hg_attack_params_init (&ap, HG_ATTACK_FGSM, 1 + i);
        if (!hg_attack_run (ref_ctx, &ap, x, labels, n_view, x_adv, NULL, &error))
          g_error ("%s", error->message);
        hg_model_predict (ref_ctx, x_adv, n_view, logits);
        v[i] = now_ms () - t0;
      }
    t_ref = summarise (v, 12);
  }
  load_end = load_average ();

  printf ("Live explorer, FGSM: one slider step, request to delivered result\n");
  printf ("model %s, slide %s (%" G_GSIZE_FORMAT " tiles), %d workers, %d BLAS threads, load %.2f → %.2f\n\n",
          model_name, slide_path, n_tiles, hg_threads_get_n_workers (), hg_threads_get_blas_threads (),
          load_start, load_end);
  printf ("%-44s %9s %9s %9s   %s\n", "step (ms)", "median", "p90", "min", "target");
  print_row ("1 selected tile", &t_tile, "<= 16");
  print_row ("300 tiles in view", &t_view, "<= 100");
  print_row ("300 tiles, computed in the calling thread", &t_sync, "");
  print_row ("300 tiles, side by side (+ JPEG 75, transfer)", &t_pair, "");
  print_row ("reference: FGSM from scratch, 300 tiles", &t_ref, "");
  print_row ("floor: the model's forward pass, 300 tiles", &t_forward, "");
  printf ("\nfirst request on 300 tiles (read, clean pass, gradients): %.0f ms; "
          "adding the JPEG pane: %.0f ms\n",
          prep_ms, pair_prep_ms);
  printf ("the kept gradient signs make a 300-tile step %.1fx faster than the reference;\n"
          "the step costs %.2fx the bare forward pass (perturbing, the thread hop, the result)\n\n",
          t_ref.median / t_view.median, t_view.median / t_forward.median);

  printf ("{\"tile_step_ms\": %.2f, \"view300_step_ms\": %.2f, \"tile_step_p90_ms\": %.2f, "
          "\"view300_step_p90_ms\": %.2f, \"view300_sync_ms\": %.2f, \"side_by_side300_step_ms\": %.2f, "
          "\"reference_fgsm300_ms\": %.2f, \"speedup_vs_reference\": %.2f, \"forward300_ms\": %.2f, "
          "\"step_over_forward\": %.2f, \"first_request300_ms\": %.1f, "
          "\"workers\": %d, \"blas_threads\": %d, \"model\": \"%s\", \"load_start\": %.2f, \"load_end\": %.2f}\n",
          t_tile.median, t_view.median, t_tile.p90, t_view.p90, t_sync.median, t_pair.median, t_ref.median,
          t_ref.median / t_view.median, t_forward.median, t_view.median / t_forward.median, prep_ms, hg_threads_get_n_workers (), hg_threads_get_blas_threads (),
          model_path != NULL ? model_name : "fresh-cnn", load_start, load_end);
  g_clear_pointer (&w.result, hg_live_result_unref);
  return 0;
}
