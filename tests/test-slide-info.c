/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-cli.h"
#include "hg-test-slides.h"

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_slide_info_tiff (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-slide-info");
  g_autofree char *path = g_build_filename (dir, "pyramid.tif", NULL);
  g_autoptr (HgCliRun) run = NULL;
  g_autoptr (JsonObject) info = NULL;
  JsonArray  *levels;
  JsonObject *level;

  hg_test_write_pyramid_tiff (path, 1024, 512, 3, 256, HG_TEST_TIFF_JPEG);
  run = hg_test_cli_runv ("slide-info", path, NULL);
  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_cmpstr (run->err, ==, "");

  info = parse_object (run->out);
  g_assert_cmpstr (json_object_get_string_member (info, "vendor"), ==, "generic-tiff");
  g_assert_cmpstr (json_object_get_string_member (info, "source"), ==, "openslide");
  levels = json_object_get_array_member (info, "levels");
  g_assert_cmpuint (json_array_get_length (levels), ==, 3);
  level = json_array_get_object_element (levels, 2);
  g_assert_cmpint (json_object_get_int_member (level, "width"), ==, 256);
  g_assert_cmpint (json_object_get_int_member (level, "height"), ==, 128);
  g_assert_cmpfloat (json_object_get_double_member (level, "downsample"), ==, 4.0);
  g_assert_true (json_object_get_null_member (info, "mpp_x"));
  g_assert_true (json_object_get_null_member (info, "mpp_y"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (info, "associated")), ==, 0);
  g_assert_false (json_object_has_member (info, "ground_truth"));
  g_assert_false (json_object_has_member (info, "properties"));

  g_clear_pointer (&run, hg_cli_run_free);
  g_clear_pointer (&info, json_object_unref);
  run = hg_test_cli_runv ("slide-info", "--properties", path, NULL);
  g_assert_cmpint (run->exit_code, ==, 0);
  info = parse_object (run->out);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (info, "properties"),
                                                  "openslide.vendor"),
                   ==, "generic-tiff");

  hg_test_remove_tree (dir);
}

static void
test_slide_info_patches (void)
{
  static const HgTestPatch patches[] = {
    { 1, 1, 50, 50, 0 },
    { 51, 1, 50, 50, 1 },
    { 51, 51, 50, 30, 1 },
  };
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-slide-info");
  g_autoptr (HgCliRun) run = NULL;
  g_autoptr (JsonObject) info = NULL;

  hg_test_write_patch_folder (dir, "42", patches, G_N_ELEMENTS (patches));
  run = hg_test_cli_runv ("slide-info", dir, NULL);
  g_assert_cmpint (run->exit_code, ==, 0);

  info = parse_object (run->out);
  g_assert_cmpstr (json_object_get_string_member (info, "vendor"), ==, "idc-patches");
  g_assert_cmpint (json_object_get_int_member (info, "patches"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (info, "patches_idc"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (info, "patient"), ==, "42");
  g_assert_true (json_object_get_boolean_member (info, "ground_truth"));
  g_assert_cmpfloat (json_object_get_double_member (info, "mpp_x"), ==, HG_SLIDE_IDC_MPP);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (json_object_get_array_member (info, "levels"), 0), "width"), ==, 101);

  hg_test_remove_tree (dir);
}

static void
test_slide_info_real_svs (void)
{
  g_autofree char *path = hg_test_shared_data ("slides/CMU-1-Small-Region.svs");
  g_autoptr (HgCliRun) run = NULL;
  g_autoptr (JsonObject) info = NULL;
  JsonArray *associated;

  if (path == NULL)
    return;

  run = hg_test_cli_runv ("slide-info", path, NULL);
  g_assert_cmpint (run->exit_code, ==, 0);
  info = parse_object (run->out);
  g_assert_cmpstr (json_object_get_string_member (info, "vendor"), ==, "aperio");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (info, "mpp_x"), 0.499, 1e-9);
  associated = json_object_get_array_member (info, "associated");
  g_assert_cmpuint (json_array_get_length (associated), ==, 3);
}

static void
test_slide_info_errors (void)
{
  g_autofree char *dir = hg_test_make_tmpdir ("hg-test-slide-info");
  g_autofree char *empty = g_build_filename (dir, "empty.svs", NULL);
  g_autoptr (HgCliRun) run = NULL;

  hg_test_write_file (empty, "", 0);
  run = hg_test_cli_runv ("slide-info", empty, NULL);
  g_assert_cmpint (run->exit_code, ==, 1);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: slide-info: “empty.svs” is empty"));
  g_clear_pointer (&run, hg_cli_run_free);

  run = hg_test_cli_runv ("slide-info", dir, NULL);
  g_assert_cmpint (run->exit_code, ==, 1);
  g_assert_nonnull (strstr (run->err, "holds no IDC patches"));
  g_clear_pointer (&run, hg_cli_run_free);

  run = hg_test_cli_runv ("slide-info", NULL);
  g_assert_cmpint (run->exit_code, ==, 2);
  g_assert_cmpstr (run->err, ==,
                   "histoguard-cli: slide-info: no SLIDE given (see 'histoguard-cli slide-info --help')\n");
  g_clear_pointer (&run, hg_cli_run_free);

  run = hg_test_cli_runv ("slide-info", "a", "b", NULL);
  g_assert_cmpint (run->exit_code, ==, 2);
  g_clear_pointer (&run, hg_cli_run_free);

  run = hg_test_cli_runv ("slide-info", "--frobnicate", empty, NULL);
  g_assert_cmpint (run->exit_code, ==, 2);
  g_assert_true (g_str_has_prefix (run->err, "histoguard-cli: slide-info: Unknown option --frobnicate"));
  g_clear_pointer (&run, hg_cli_run_free);

  run = hg_test_cli_runv ("slide-info", "--help", NULL);
  g_assert_cmpint (run->exit_code, ==, 0);
  g_assert_nonnull (strstr (run->out, "SLIDE"));
  g_assert_nonnull (strstr (run->out, "--properties"));

  hg_test_remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/hg/cli/slide-info/tiff", test_slide_info_tiff);
  g_test_add_func ("/hg/cli/slide-info/patches", test_slide_info_patches);
  g_test_add_func ("/hg/cli/slide-info/real-svs", test_slide_info_real_svs);
  g_test_add_func ("/hg/cli/slide-info/errors", test_slide_info_errors);

  return g_test_run ();
}
