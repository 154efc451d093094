/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

#define COMMAND "heatmap"
#define BAR_WIDTH 30

typedef struct
{
  gboolean tty;
  gboolean quiet;
  gint64   start_us;
  int      last_percent;
} Progress;

static void
on_progress (gsize    done,
             gsize    total,
             gpointer user_data)
{
  Progress *p = user_data;
  int       percent = total > 0 ? (int) (100 * done / total) : 100;
  double    elapsed = (g_get_monotonic_time () - p->start_us) / 1e6;

  if (p->quiet)
    return;
  if (p->tty)
    {
      char bar[BAR_WIDTH + 1];
      int  fill = (int) ((double) BAR_WIDTH * done / MAX (total, 1));

      for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>'
                                            : ' ';
      bar[BAR_WIDTH] = '\0';
      fprintf (stderr, "\r\033[K%s [%s] %3d%%  %zu/%zu  %.1f s", _ ("tiles"), bar, percent, done, total, elapsed);
      fflush (stderr);
    }
  else if (percent / 25 != p->last_percent / 25 || done == total)
    /* Logs of batch jobs get a line per quarter, not a line per batch. */
    fprintf (stderr, _ ("tiles: %zu/%zu (%d%%), %.1f s\n"), done, total, percent, elapsed);
  p->last_percent = percent;
}

static void
add_number (JsonBuilder *b,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_string (JsonBuilder *b,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* One JSON line on stdout: what was done, for job schedulers' logs. */
static void
print_summary (HgHeatmap  *heatmap,
               const char *slide_path,
               const char *model_path,
               const char *png,
               const char *csv,
               const char *geojson)
{
  HgTiling *tiling = hg_heatmap_get_tiling (heatmap);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  HgMetrics        metrics;
  double           cell;
  int              read_w, read_h;
  gsize            n = hg_tiling_get_n_tiles (tiling), positive = 0;

  for (gsize i = 0; i < n; i++)
    positive += hg_heatmap_get_label (heatmap, i) == hg_heatmap_get_positive_class (heatmap);

  hg_tiling_get_cell_size (tiling, &cell, NULL);
  hg_tiling_get_read_size (tiling, &read_w, &read_h);
  json_builder_begin_object (b);
  add_string (b, "slide", slide_path);
  add_string (b, "model", model_path);
  add_string (b, "tiling", hg_tiling_get_kind (tiling) == HG_TILING_PATCHES ? "patches" : "grid");
  json_builder_set_member_name (b, "tiles");
  json_builder_add_int_value (b, (gint64) n);
  json_builder_set_member_name (b, "positive_tiles");
  json_builder_add_int_value (b, (gint64) positive);
  add_string (b, "positive_class", hg_heatmap_get_class_name (heatmap, hg_heatmap_get_positive_class (heatmap)));
  add_number (b, "tile_size", cell);
  json_builder_set_member_name (b, "level");
  json_builder_add_int_value (b, hg_tiling_get_level (tiling));
  json_builder_set_member_name (b, "read_size");
  json_builder_add_int_value (b, read_w);
  add_number (b, "seconds", hg_heatmap_get_seconds (heatmap));
  json_builder_set_member_name (b, "metrics");
  if (hg_heatmap_compute_metrics (heatmap, &metrics))
    {
      g_autofree char *m = hg_train_metrics_to_json (&metrics);

      json_builder_add_value (b, json_from_string (m, NULL));
    }
  else
    json_builder_add_null_value (b);
  add_string (b, "png", png);
  add_string (b, "csv", csv);
  add_string (b, "geojson", geojson);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

/* histoguard-cli heatmap --model M SLIDE [--png OUT] [--csv OUT] [--geojson OUT] */
int
hg_cli_heatmap (int    argc,
                char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (HgTiling) tiling = NULL;
  g_autoptr (HgHeatmap) heatmap = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autofree char   *model_path = NULL, *png = NULL, *csv = NULL, *geojson = NULL;
  g_autofree char   *colormap_name = NULL;
  g_autofree char   *model_name = NULL;
  double             tile_size = 0, min_tissue = HG_TILING_MIN_TISSUE, opacity = 0.6, threshold = NAN;
  int                threads = 0, batch = HG_HEATMAP_BATCH, size = 2048, level = -1;
  gboolean           grid = FALSE, truth = FALSE, quiet = FALSE;
  HgTilingOptions    options;
  HgHeatmapStyle     style;
  Progress           progress = { 0 };
  GCancellable      *cancellable;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_ ("Model file (.safetensors)"), N_ ("MODEL") },
    { "png", 0, 0, G_OPTION_ARG_FILENAME, &png, N_ ("Write the slide's overview with the heatmap and a legend"), N_ ("OUT") },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, N_ ("Write one line per tile: x,y,width,height,probability,label,ground_truth"), N_ ("OUT") },
    { "geojson", 0, 0, G_OPTION_ARG_FILENAME, &geojson, N_ ("Write the tiles as GeoJSON detections for QuPath"), N_ ("OUT") },
    { "tile-size", 0, 0, G_OPTION_ARG_DOUBLE, &tile_size, N_ ("Tile side in level-0 pixels [from the model's scale and the slide's µm per pixel]"), N_ ("PX") },
    { "level", 0, 0, G_OPTION_ARG_INT, &level, N_ ("Pyramid level to read tiles from [the coarsest that keeps the model's resolution]"), N_ ("N") },
    { "grid", 0, 0, G_OPTION_ARG_NONE, &grid, N_ ("A grid of tiles even on a folder of IDC patches"), NULL },
    { "min-tissue", 0, 0, G_OPTION_ARG_DOUBLE, &min_tissue, N_ ("Skip grid tiles with less tissue than this fraction (0 keeps all) [0.1]"), N_ ("F") },
    { "colormap", 0, 0, G_OPTION_ARG_STRING, &colormap_name, N_ ("PNG colour map: viridis, magma or coolwarm [viridis]"), N_ ("NAME") },
    { "opacity", 0, 0, G_OPTION_ARG_DOUBLE, &opacity, N_ ("PNG: opacity of the heatmap, 0 to 1 [0.6]"), N_ ("A") },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &threshold, N_ ("PNG: outline the tiles whose probability is at least T"), N_ ("T") },
    { "truth", 0, 0, G_OPTION_ARG_NONE, &truth, N_ ("PNG: outline the ground truth, where the slide has one"), NULL },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, N_ ("PNG: longest side of the overview, in pixels [2048]"), N_ ("PX") },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_ ("Tiles read and classified at a time [128]"), N_ ("N") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_ ("Engine threads (0: one per core) [0]"), N_ ("N") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_ ("No progress on stderr"), NULL },
    { NULL }
  };

  context = g_option_context_new (N_ ("SLIDE"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (
      context,
      _ ("Classifies every tile of a slide with a model and writes the heatmap as a picture, a CSV "
         "table\nand GeoJSON for QuPath. On a folder of IDC patches there is one tile per patch; on "
         "other\nslides, tiles cover what the model's input covers at its scale, and tiles of bare "
         "glass\nare skipped. Prints one JSON line: tiles, timing and, where the slide has ground "
         "truth,\naccuracy, balanced accuracy and AUC."));
  g_option_context_set_description (context,
                                    _ ("Example (one slide per job):\n"
                                       "  histoguard-cli heatmap --model idc-standard.safetensors \\\n"
                                       "    --png slide.png --csv slide.csv --geojson slide.geojson slide.svs\n"
                                       "\n"
                                       "Exit status: 0 done, 1 failed, 2 wrong command line, 130 interrupted."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!hg_cli_parse (context, COMMAND, &argc, &argv))
    return HG_CLI_EXIT_USAGE;

  if (model_path == NULL)
    {
      hg_cli_error (COMMAND, _ ("--model MODEL is required (see 'histoguard-cli heatmap --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  if (argc != 2)
    {
      hg_cli_error (COMMAND, "%s", argc < 2 ? _ ("no SLIDE given (see 'histoguard-cli heatmap --help')") : _ ("one SLIDE at a time (see 'histoguard-cli heatmap --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  hg_heatmap_style_init (&style);
  if (colormap_name != NULL && !hg_colormap_from_name (colormap_name, &style.colormap))
    {
      hg_cli_error (COMMAND, _ ("--colormap must be viridis, magma or coolwarm, not '%s'"), colormap_name);
      return HG_CLI_EXIT_USAGE;
    }
  if (!(opacity >= 0 && opacity <= 1))
    {
      hg_cli_error (COMMAND, _ ("--opacity must be from 0 to 1, not %g"), opacity);
      return HG_CLI_EXIT_USAGE;
    }
  if (!isnan (threshold) && !(threshold >= 0 && threshold <= 1))
    {
      hg_cli_error (COMMAND, _ ("--threshold must be from 0 to 1, not %g"), threshold);
      return HG_CLI_EXIT_USAGE;
    }
  if (!(min_tissue >= 0 && min_tissue <= 1))
    {
      hg_cli_error (COMMAND, _ ("--min-tissue must be from 0 to 1, not %g"), min_tissue);
      return HG_CLI_EXIT_USAGE;
    }
  if (tile_size < 0 || !isfinite (tile_size))
    {
      hg_cli_error (COMMAND, _ ("--tile-size must be a positive number of pixels, not %g"), tile_size);
      return HG_CLI_EXIT_USAGE;
    }
  if (level < -1)
    {
      hg_cli_error (COMMAND, _ ("--level must be a pyramid level (0 is the full resolution), not %d"), level);
      return HG_CLI_EXIT_USAGE;
    }
  if (size < 64 || size > 16384)
    {
      hg_cli_error (COMMAND, _ ("--size must be from 64 to 16384 pixels, not %d"), size);
      return HG_CLI_EXIT_USAGE;
    }
  if (batch < 1 || batch > 4096)
    {
      hg_cli_error (COMMAND, _ ("--batch must be from 1 to 4096, not %d"), batch);
      return HG_CLI_EXIT_USAGE;
    }
  if (threads < 0 || threads > 256)
    {
      hg_cli_error (COMMAND, _ ("--threads must be from 0 (one per core) to 256, not %d"), threads);
      return HG_CLI_EXIT_USAGE;
    }
  style.opacity = opacity;
  style.threshold = threshold;
  style.show_truth = truth;

  hg_cli_set_threads (threads);
  cancellable = hg_cli_cancel_on_interrupt ();

  model = hg_model_load (model_path, &error);
  if (model == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }
  slide = hg_slide_open (argv[1], cancellable, &error);
  if (slide == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  hg_tiling_options_init (&options);
  options.tile_size = tile_size;
  options.min_tissue = min_tissue;
  options.grid = grid;
  options.level = level;
  tiling = hg_tiling_new_for_model (slide, model, &options, &error);
  if (tiling == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  heatmap = hg_heatmap_new_for_model (tiling, model);
  model_name = g_path_get_basename (model_path);
  hg_heatmap_set_model_name (heatmap, model_name);
  ctx = hg_context_new (model);
  progress.tty = hg_cli_stderr_is_tty ();
  progress.quiet = quiet;
  progress.start_us = g_get_monotonic_time ();
  progress.last_percent = -1;

  if (!hg_heatmap_run (heatmap, hg_heatmap_predict_batch, ctx, batch, on_progress, &progress,
                       cancellable, &error))
    {
      if (progress.tty && !quiet)
        fprintf (stderr, "\n");
      if (g_error_matches (error, HG_ERROR, HG_ERROR_CANCELLED))
        {
          hg_cli_error (COMMAND, "%s", _ ("interrupted: nothing written"));
          return HG_CLI_EXIT_INTERRUPTED;
        }
      hg_cli_error (COMMAND, "%s: %s", argv[1], error->message);
      return HG_CLI_EXIT_FAILURE;
    }
  if (progress.tty && !quiet)
    fprintf (stderr, "\n");

  if ((png != NULL && !hg_heatmap_save_png (heatmap, &style, size, png, &error)) ||
      (csv != NULL && !hg_heatmap_save_csv (heatmap, csv, &error)) ||
      (geojson != NULL && !hg_heatmap_save_geojson (heatmap, geojson, &error)))
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  print_summary (heatmap, argv[1], model_path, png, csv, geojson);
  return HG_CLI_EXIT_OK;
}
