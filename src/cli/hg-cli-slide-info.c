/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

#define COMMAND "slide-info"

static void
add_mpp (JsonBuilder *builder,
         const char  *name,
         gboolean     known,
         double       value)
{
  json_builder_set_member_name (builder, name);
  if (known)
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static const char *
source_name (HgSlideSource source)
{
  switch (source)
    {
    case HG_SLIDE_SOURCE_OPENSLIDE:
      return "openslide";
    case HG_SLIDE_SOURCE_IMAGE:
      return "image";
    case HG_SLIDE_SOURCE_PATCHES:
      return "patches";
    default:
      return "unknown";
    }
}

static JsonNode *
describe (HgSlide *slide,
          gboolean with_properties)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  const char *const *names;
  double             mpp_x = 0, mpp_y = 0;
  gboolean           has_mpp = hg_slide_get_mpp (slide, &mpp_x, &mpp_y);

  json_builder_begin_object (builder);

  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, hg_slide_get_path (slide));
  json_builder_set_member_name (builder, "source");
  json_builder_add_string_value (builder, source_name (hg_slide_get_source (slide)));
  json_builder_set_member_name (builder, "vendor");
  json_builder_add_string_value (builder, hg_slide_get_vendor (slide));

  json_builder_set_member_name (builder, "levels");
  json_builder_begin_array (builder);
  for (int level = 0; level < hg_slide_get_level_count (slide); level++)
    {
      gint64 width, height;

      hg_slide_get_level_size (slide, level, &width, &height);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "width");
      json_builder_add_int_value (builder, width);
      json_builder_set_member_name (builder, "height");
      json_builder_add_int_value (builder, height);
      json_builder_set_member_name (builder, "downsample");
      json_builder_add_double_value (builder, hg_slide_get_level_downsample (slide, level));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  add_mpp (builder, "mpp_x", has_mpp, mpp_x);
  add_mpp (builder, "mpp_y", has_mpp, mpp_y);
  add_mpp (builder, "objective_power", hg_slide_get_objective_power (slide) > 0,
           hg_slide_get_objective_power (slide));

  json_builder_set_member_name (builder, "associated");
  json_builder_begin_array (builder);
  names = hg_slide_get_associated_names (slide);
  for (guint i = 0; names[i] != NULL; i++)
    json_builder_add_string_value (builder, names[i]);
  json_builder_end_array (builder);

  if (hg_slide_has_ground_truth (slide))
    {
      gsize               n_patches = 0, n_idc = 0;
      const HgSlidePatch *patches = hg_slide_get_patches (slide, &n_patches);

      for (gsize i = 0; i < n_patches; i++)
        if (patches[i].label == HG_SLIDE_LABEL_IDC)
          n_idc++;

      json_builder_set_member_name (builder, "patient");
      json_builder_add_string_value (builder, hg_slide_get_property (slide, "idc.patient"));
      json_builder_set_member_name (builder, "patches");
      json_builder_add_int_value (builder, (gint64) n_patches);
      json_builder_set_member_name (builder, "patches_idc");
      json_builder_add_int_value (builder, (gint64) n_idc);
      json_builder_set_member_name (builder, "ground_truth");
      json_builder_add_boolean_value (builder, TRUE);
    }

  if (with_properties)
    {
      names = hg_slide_get_property_names (slide);
      json_builder_set_member_name (builder, "properties");
      json_builder_begin_object (builder);
      for (guint i = 0; names[i] != NULL; i++)
        {
          json_builder_set_member_name (builder, names[i]);
          json_builder_add_string_value (builder, hg_slide_get_property (slide, names[i]));
        }
      json_builder_end_object (builder);
    }

  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

int
hg_cli_slide_info (int    argc,
                   char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autoptr (JsonGenerator) generator = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char   *json = NULL;
  gboolean           with_properties = FALSE;
  const GOptionEntry entries[] = {
    { "properties", 'p', 0, G_OPTION_ARG_NONE, &with_properties,
      N_ ("Also print every property of the slide"), NULL },
    { NULL }
  };

  context = g_option_context_new (N_ ("SLIDE"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _ ("Prints what a slide is made of, as JSON: vendor, pyramid levels "
                                   "(width, height, downsample),\nmicrons per pixel, associated "
                                   "images and, for folders of IDC patches, the patch count.\n\n"
                                   "SLIDE is a whole-slide file OpenSlide reads (SVS, NDPI, MRXS, "
                                   "SCN, VMS, BIF, tiled TIFF),\na plain image (PNG, JPEG, TIFF) or "
                                   "a folder of IDC patches."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!hg_cli_parse (context, COMMAND, &argc, &argv))
    return HG_CLI_EXIT_USAGE;

  if (argc != 2)
    {
      hg_cli_error (COMMAND, _ ("%s (see 'histoguard-cli slide-info --help')"),
                    argc < 2 ? _ ("no SLIDE given") : _ ("give exactly one SLIDE"));
      return HG_CLI_EXIT_USAGE;
    }

  slide = hg_slide_open (argv[1], NULL, &error);
  if (slide == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  root = describe (slide, with_properties);
  generator = json_generator_new ();
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, NULL);
  printf ("%s\n", json);

  return HG_CLI_EXIT_OK;
}
