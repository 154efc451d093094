/* SPDX-License-Identifier: GPL-3.0-or-later */
/* histoguard-cli heatmap: the batch job of one slide. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-cli.h"
#include "hg-test-slides.h"

static const HgTestPatch patches[] = {
  { 1, 1, 50, 50, 0 },
  { 51, 1, 50, 50, 1 },
  { 1, 51, 50, 50, 1 },
  { 51, 51, 50, 50, 0 },
};

typedef struct
{
  char *dir;
  char *slide;
  char *model;
} Fixture;

static void
fixture_setup (Fixture      *f,
               gconstpointer data)
{
  f->dir = hg_test_make_tmpdir ("hg-cli-heatmap");
  f->slide = g_build_filename (f->dir, "slide", NULL);
  g_assert_cmpint (g_mkdir (f->slide, 0755), ==, 0);
  hg_test_write_patch_folder (f->slide, "7", patches, G_N_ELEMENTS (patches));
  f->model = g_test_build_filename (G_TEST_DIST, "data", "tiny-cnn.safetensors", NULL);
}

static void
fixture_teardown (Fixture      *f,
                  gconstpointer data)
{
  hg_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->slide);
  g_free (f->model);
}

static void
test_heatmap_outputs (Fixture      *f,
                      gconstpointer data)
{
  g_autofree char *png = g_build_filename (f->dir, "out.png", NULL);
  g_autofree char *csv = g_build_filename (f->dir, "out.csv", NULL);
  g_autofree char *geojson = g_build_filename (f->dir, "out.geojson", NULL);
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("heatmap", "--model", f->model, "--png", png, "--csv", csv,
                                               "--geojson", geojson, "--threshold", "0.5", "--truth",
                                               "--colormap", "magma", f->slide, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  JsonObject      *summary, *metrics;
  g_auto (GStrv) lines = NULL;

  g_assert_cmpint (run->exit_code, ==, 0);
  /* Not a terminal: a line per quarter, not a bar. */
  g_assert_nonnull (strstr (run->err, "tiles: 4/4 (100%)"));
  g_assert_null (strstr (run->err, "\r"));

  g_assert_true (json_parser_load_from_data (parser, run->out, -1, &error));
  g_assert_no_error (error);
  summary = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (summary, "tiles"), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (summary, "tiling"), ==, "patches");
  g_assert_cmpstr (json_object_get_string_member (summary, "positive_class"), ==, "IDC");
  g_assert_cmpstr (json_object_get_string_member (summary, "csv"), ==, csv);
  metrics = json_object_get_object_member (summary, "metrics");
  g_assert_nonnull (metrics);
  g_assert_cmpint (json_object_get_int_member (metrics, "n"), ==, 4);
  g_assert_true (json_object_has_member (metrics, "balanced_accuracy"));
  g_assert_true (json_object_has_member (metrics, "auc"));

  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "x,y,width,height,probability,label,ground_truth");
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  g_assert_true (g_str_has_prefix (lines[1], "1,1,50,50,"));
  g_assert_true (g_str_has_suffix (lines[1], ",0"));

  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  {
    g_autoptr (JsonParser) gp = json_parser_new ();

    g_assert_true (json_parser_load_from_file (gp, geojson, &error));
    g_assert_no_error (error);
  }
}

/* No slide with ground truth: metrics are null, glass is skipped. */
static void
test_heatmap_plain_image (Fixture      *f,
                          gconstpointer data)
{
  g_autofree char *tiff = g_build_filename (f->dir, "slide.tif", NULL);
  g_autoptr (HgCliRun) run = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *summary;

  hg_test_write_pyramid_tiff (tiff, 300, 200, 2, 64, HG_TEST_TIFF_DEFLATE);
  run = hg_test_cli_runv ("heatmap", "-q", "--model", f->model, "--min-tissue", "0", "--tile-size", "100", tiff, NULL);
  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_cmpstr (run->err, ==, "");
  g_assert_true (json_parser_load_from_data (parser, run->out, -1, NULL));
  summary = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (summary, "tiling"), ==, "grid");
  g_assert_cmpint (json_object_get_int_member (summary, "tiles"), ==, 6);
  g_assert_cmpint (json_object_get_int_member (summary, "level"), ==, 1);
  g_assert_true (json_object_get_null_member (summary, "metrics"));
}

static void
test_heatmap_errors (Fixture      *f,
                     gconstpointer data)
{
  struct
  {
    const char *argv[8];
    int         code;
    const char *message;
  } cases[] = {
    { { "heatmap", f->slide }, 2, "--model MODEL is required" },
    { { "heatmap", "--model", f->model }, 2, "no SLIDE given" },
    { { "heatmap", "--model", f->model, f->slide, f->slide }, 2, "one SLIDE at a time" },
    { { "heatmap", "--model", f->model, "--colormap", "jet", f->slide }, 2, "not 'jet'" },
    { { "heatmap", "--model", f->model, "--opacity", "2", f->slide }, 2, "--opacity must be" },
    { { "heatmap", "--model", f->model, "--threshold", "-1", f->slide }, 2, "--threshold must be" },
    { { "heatmap", "--model", f->model, "--frob", f->slide }, 2, "Unknown option --frob" },
    { { "heatmap", "--model", "/nonexistent.safetensors", f->slide }, 1, "/nonexistent.safetensors" },
    { { "heatmap", "--model", f->model, "/nonexistent-slide.svs" }, 1, "/nonexistent-slide.svs" },
    { { "heatmap", "--model", f->model, "--tile-size", "2", "--grid", f->slide }, 1, "a tile of 2 pixels" },
    { { "heatmap", "--model", f->model, "--csv", "/nonexistent-dir/x.csv", f->slide }, 1, "/nonexistent-dir/x.csv" },
    { { "heatmap", "--model", f->model, "--level", "9", f->slide }, 1, "has no level 9" },
    { { "heatmap", "--model", f->model, "--level", "-3", f->slide }, 2, "--level must be" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (HgCliRun) run = hg_test_cli_run (cases[i].argv);

      g_assert_cmpint (run->exit_code, ==, cases[i].code);
      /* After the progress lines, when it got that far. */
      g_assert_nonnull (strstr (run->err, "histoguard-cli: heatmap: "));
      if (strstr (run->err, cases[i].message) == NULL)
        g_error ("case %zu: expected “%s” in “%s”", i, cases[i].message, run->err);
      g_assert_cmpstr (run->out, ==, "");
    }
}

static void
test_heatmap_help (void)
{
  g_autoptr (HgCliRun) run = hg_test_cli_runv ("heatmap", "--help", NULL);
  g_autoptr (HgCliRun) top = hg_test_cli_runv ("--help", NULL);

  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_nonnull (strstr (run->out, "--geojson"));
  g_assert_nonnull (strstr (run->out, "QuPath"));
  g_assert_nonnull (strstr (top->out, "  heatmap "));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/hg/cli/heatmap/outputs", Fixture, NULL, fixture_setup, test_heatmap_outputs, fixture_teardown);
  g_test_add ("/hg/cli/heatmap/plain-image", Fixture, NULL, fixture_setup, test_heatmap_plain_image,
              fixture_teardown);
  g_test_add ("/hg/cli/heatmap/errors", Fixture, NULL, fixture_setup, test_heatmap_errors, fixture_teardown);
  g_test_add_func ("/hg/cli/heatmap/help", test_heatmap_help);

  return g_test_run ();
}
