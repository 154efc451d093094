/* SPDX-License-Identifier: GPL-3.0-or-later */
/* benchmarks/heatmap: how long a whole-slide heatmap takes, inference
 * included, on the IDC demo slide (one tile per patch, ~1,000) and on the
 * real CMU-1-Small-Region.svs (a grid at the model's scale, tissue only).
 * Run through benchmarks/heatmap; see --help.
 *
 * A slide's time is what the user waits for once the slide is open:
 * tiling (with tissue detection) + reading every tile + the model, the
 * median of --repeats runs. The reference measured in the same run is the
 * model alone on the same number of tiles already in memory, so the table
 * shows what reading and tiling add. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "histoguard/histoguard.h"

typedef struct
{
  const char *name;
  char       *path;
  double      open_s;
  double      tiling_s;
  double      total_s; /* tiling + tiles + model */
  double      model_s; /* the model alone, same tiles, in memory */
  gsize       n_tiles;
  gboolean    skipped;
} Result;

static int
compare_double (const void *a,
                const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *v,
        int     n)
{
  qsort (v, n, sizeof (double), compare_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static void
bench_slide (Result  *r,
             HgModel *model,
             int      repeats)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgContext) ctx = hg_context_new (model);
  g_autofree double *totals = g_new (double, repeats);
  g_autofree double *tilings = g_new (double, repeats);
  g_autofree double *models = g_new (double, repeats);
  double             t0;

  if (r->path == NULL || !g_file_test (r->path, G_FILE_TEST_EXISTS))
    {
      r->skipped = TRUE;
      return;
    }

  t0 = now ();
  slide = hg_slide_open (r->path, NULL, &error);
  if (slide == NULL)
    g_error ("%s", error->message);
  r->open_s = now () - t0;

  for (int i = 0; i < repeats; i++)
    {
      g_autoptr (HgTiling) tiling = NULL;
      g_autoptr (HgHeatmap) heatmap = NULL;
      g_autofree float *x = NULL;
      g_autofree float *logits = NULL;
      double            t1, t2;
      int               h, w, c;

      t0 = now ();
      tiling = hg_tiling_new_for_model (slide, model, NULL, &error);
      if (tiling == NULL)
        g_error ("%s", error->message);
      t1 = now ();
      heatmap = hg_heatmap_new_for_model (tiling, model);
      if (!hg_heatmap_run (heatmap, hg_heatmap_predict_batch, ctx, 0, NULL, NULL, NULL, &error))
        g_error ("%s", error->message);
      t2 = now ();
      tilings[i] = t1 - t0;
      totals[i] = t2 - t0;
      r->n_tiles = hg_tiling_get_n_tiles (tiling);

      /* The reference: the model on as many tiles, already in memory. */
      hg_model_get_input_size (model, &h, &w, &c);
      x = g_new (float, r->n_tiles * 3 * h * w);
      logits = g_new (float, r->n_tiles *hg_model_get_n_classes (model));
      for (gsize t = 0; t < r->n_tiles; t++)
        hg_tiling_read_tile (tiling, t, x + t * 3 * h * w, NULL);
      t0 = now ();
      hg_model_predict (ctx, x, (int) r->n_tiles, logits);
      models[i] = now () - t0;
    }
  r->tiling_s = median (tilings, repeats);
  r->total_s = median (totals, repeats);
  r->model_s = median (models, repeats);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autofree char   *model_path = NULL;
  g_autofree char   *idc = NULL;
  g_autofree char   *svs = NULL;
  const char        *shared = g_getenv ("HG_SHARED_DATA");
  int                repeats = 5;
  double             load[1] = { NAN };
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
      "Model file [data/models/idc-standard.safetensors, else a fresh default CNN: timing does not depend on the weights]", "MODEL" },
    { "idc", 0, 0, G_OPTION_ARG_FILENAME, &idc, "IDC patch folder [the demo slide]", "DIR" },
    { "svs", 0, 0, G_OPTION_ARG_FILENAME, &svs, "Whole-slide file [$HG_SHARED_DATA/slides/CMU-1-Small-Region.svs]", "FILE" },
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &repeats, "Runs per slide; the median is reported [5]", "N" },
    { NULL }
  };
  Result results[2] = { { .name = "IDC demo slide" }, { .name = "CMU-1-Small-Region.svs" } };

  g_option_context_set_summary (context, "Times whole-slide heatmaps, inference included.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-heatmap: %s\n", error->message);
      return 2;
    }
  repeats = CLAMP (repeats, 1, 100);

  if (model_path == NULL)
    model_path = hg_data_find ("models/idc-standard.safetensors");
  model = model_path != NULL ? hg_model_load (model_path, &error) : hg_model_new_from_arch ("cnn", 1, &error);
  if (model == NULL)
    g_error ("%s", error->message);

  results[0].path = idc != NULL ? g_strdup (idc) : hg_data_find (HG_DATA_DEMO_SLIDE);
  results[1].path = svs != NULL      ? g_strdup (svs)
                    : shared != NULL ? g_build_filename (shared, "slides", "CMU-1-Small-Region.svs", NULL)
                                     : NULL;

  for (int i = 0; i < 2; i++)
    bench_slide (&results[i], model, repeats);
  getloadavg (load, 1);

  printf ("Heatmap of a whole slide: %s (%s, %.1f MFLOP/tile), %d worker(s), median of %d runs, load %.2f\n\n",
          model_path != NULL ? model_path : "fresh default CNN", hg_model_get_arch_name (model),
          hg_arch_get_flops (hg_model_get_arch (model)) / 1e6, hg_threads_get_n_workers (), repeats,
          load[0]);
  printf ("%-24s %7s %8s %8s %9s %9s %8s %8s\n", "slide", "tiles", "open s", "tiling s", "heatmap s",
          "model s", "ratio", "tiles/s");
  for (int i = 0; i < 2; i++)
    {
      Result *r = &results[i];

      if (r->skipped)
        {
          printf ("%-24s skipped: %s not found\n", r->name, r->path != NULL ? r->path : "(no path)");
          continue;
        }
      printf ("%-24s %7zu %8.3f %8.3f %9.3f %9.3f %7.2fx %8.0f\n", r->name, r->n_tiles, r->open_s,
              r->tiling_s, r->total_s, r->model_s, r->total_s / MAX (r->model_s, 1e-9),
              r->n_tiles / MAX (r->total_s, 1e-9));
    }
  printf ("\nheatmap s = tiling (tissue detection) + reading every tile + the model, once the "
          "slide is open;\nmodel s = the model alone on the same tiles in memory; ratio = heatmap / model. "
          "Targets: IDC ≤ 1 s, SVS ≤ 3 s.\n\n");

  printf ("{\"idc_slide_s\": ");
  results[0].skipped ? printf ("null") : printf ("%.4f", results[0].total_s);
  printf (", \"svs_slide_s\": ");
  results[1].skipped ? printf ("null") : printf ("%.4f", results[1].total_s);
  printf (", \"idc_tiles\": %zu, \"svs_tiles\": %zu, \"idc_model_s\": %.4f, \"svs_model_s\": %.4f, "
          "\"arch\": \"%s\", \"workers\": %d, \"load\": %.2f}\n",
          results[0].n_tiles, results[1].n_tiles, results[0].model_s, results[1].model_s,
          hg_model_get_arch_name (model), hg_threads_get_n_workers (), load[0]);

  g_free (results[0].path);
  g_free (results[1].path);
  return 0;
}
