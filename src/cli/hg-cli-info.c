/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

/* histoguard-cli info MODEL: what a model file holds, as JSON. */
int
hg_cli_info (int    argc,
             char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (JsonBuilder) b = NULL;
  g_autoptr (JsonGenerator) gen = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_auto (GStrv) keys = NULL;
  g_autofree char *text = NULL;
  int              h, w, c;

  context = g_option_context_new (_ ("MODEL"));
  g_option_context_set_summary (context,
                                _ ("Print a model's architecture, size, input, classes and "
                                   "metadata as JSON."));
  if (!hg_cli_parse (context, "info", &argc, &argv))
    return HG_CLI_EXIT_USAGE;
  if (argc != 2)
    {
      hg_cli_error ("info", _ ("expected one MODEL file (see 'histoguard-cli info --help')"));
      return HG_CLI_EXIT_USAGE;
    }

  model = hg_model_load (argv[1], &error);
  if (model == NULL)
    {
      hg_cli_error ("info", "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }

  hg_model_get_input_size (model, &h, &w, &c);
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "arch");
  json_builder_add_string_value (b, hg_model_get_arch_name (model));
  json_builder_set_member_name (b, "params");
  json_builder_add_int_value (b, (gint64) hg_model_get_n_params (model));
  json_builder_set_member_name (b, "input");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, h);
  json_builder_add_int_value (b, w);
  json_builder_add_int_value (b, c);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (int i = 0; i < hg_model_get_n_classes (model); i++)
    json_builder_add_string_value (b, hg_model_get_class_name (model, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "flops");
  json_builder_add_double_value (b, hg_arch_get_flops (hg_model_get_arch (model)));
  json_builder_set_member_name (b, "metadata");
  json_builder_begin_object (b);
  keys = hg_model_list_metadata (model);
  for (int i = 0; keys[i] != NULL; i++)
    {
      json_builder_set_member_name (b, keys[i]);
      json_builder_add_string_value (b, hg_model_get_metadata (model, keys[i]));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  return HG_CLI_EXIT_OK;
}
