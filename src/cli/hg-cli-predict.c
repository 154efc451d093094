/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "histoguard/histoguard.h"

#include "hg-cli.h"

#define COMMAND "predict"
/* Images decoded and classified at a time: bounds memory for long lists,
 * and for models with large inputs (up to 4096 × 4096) the pixels of one
 * chunk stay within CHUNK_FLOATS. */
#define CHUNK 256
#define CHUNK_FLOATS ((gsize) 1 << 26)

static void
print_prediction (HgModel     *model,
                  const char  *path,
                  const float *probs)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *text = NULL;
  int              k = hg_model_get_n_classes (model), best = 0;

  for (int c = 1; c < k; c++)
    if (probs[c] > probs[best])
      best = c;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, display);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, hg_model_get_class_name (model, best));
  json_builder_set_member_name (b, "probs");
  json_builder_begin_object (b);
  for (int c = 0; c < k; c++)
    {
      json_builder_set_member_name (b, hg_model_get_class_name (model, c));
      json_builder_add_double_value (b, probs[c]);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

/* histoguard-cli predict --model M IMAGE…: one JSON line per image. */
int
hg_cli_predict (int    argc,
                char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (HgContext) ctx = NULL;
  g_autofree char   *model_path = NULL;
  g_autofree float  *x = NULL;
  g_autofree float  *probs = NULL;
  g_autofree int    *index = NULL;
  int                threads = 0, h, w, c, k, chunk, status = HG_CLI_EXIT_OK;
  gsize              floats;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, N_ ("Model file (.safetensors)"), N_ ("MODEL") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_ ("Engine threads (0: one per core) [0]"), N_ ("N") },
    { NULL }
  };

  context = g_option_context_new (N_ ("IMAGE…"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                /* Translators: the JSON keys "file", "label" and "probs"
                                 * are what the command prints; keep them as they are. */
                                _ ("Classifies patch images (PNG, JPEG or TIFF no larger than the "
                                   "model's input; smaller ones\nare padded with white) and prints "
                                   "one JSON line per image, in order:\n"
                                   "  {\"file\": …, \"label\": …, \"probs\": {class: probability, …}}\n"
                                   "An image that cannot be read is reported on stderr and the exit "
                                   "status is 1."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!hg_cli_parse (context, COMMAND, &argc, &argv))
    return HG_CLI_EXIT_USAGE;
  if (model_path == NULL)
    {
      hg_cli_error (COMMAND, _ ("--model MODEL is required (see 'histoguard-cli predict --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  if (argc < 2)
    {
      hg_cli_error (COMMAND, _ ("no IMAGE given (see 'histoguard-cli predict --help')"));
      return HG_CLI_EXIT_USAGE;
    }
  if (threads < 0 || threads > 256)
    {
      hg_cli_error (COMMAND, _ ("--threads must be from 0 (one per core) to 256, not %d (see "
                                "'histoguard-cli predict --help')"),
                    threads);
      return HG_CLI_EXIT_USAGE;
    }

  hg_cli_set_threads (threads);
  model = hg_model_load (model_path, &error);
  if (model == NULL)
    {
      hg_cli_error (COMMAND, "%s", error->message);
      return HG_CLI_EXIT_FAILURE;
    }
  hg_model_get_input_size (model, &h, &w, &c);
  k = hg_model_get_n_classes (model);
  if (c != 3)
    {
      hg_cli_error (COMMAND, _ ("%s takes %d channels; only RGB models (3) classify images"),
                    model_path, c);
      return HG_CLI_EXIT_FAILURE;
    }

  floats = (gsize) 3 * h * w;
  chunk = (int) CLAMP (CHUNK_FLOATS / floats, 1, CHUNK);
  x = g_new (float, chunk *floats);
  probs = g_new (float, (gsize) chunk *k);
  index = g_new (int, chunk);
  ctx = hg_context_new (model);

  for (int first = 1; first < argc; first += chunk)
    {
      int last = MIN (argc, first + chunk), n = 0;

      /* Decode what can be decoded; report the rest by name. */
      for (int i = first; i < last; i++)
        {
          g_autoptr (GError) image_error = NULL;

          if (!hg_patch_load (argv[i], w, h, x + (gsize) n * floats, NULL, NULL, &image_error))
            {
              hg_cli_error (COMMAND, "%s", image_error->message);
              status = HG_CLI_EXIT_FAILURE;
              continue;
            }
          index[n++] = i;
        }
      if (n == 0)
        continue;
      if (!hg_model_predict (ctx, x, n, probs))
        {
          hg_cli_error (COMMAND, _ ("%s: the model failed to classify the images"), model_path);
          return HG_CLI_EXIT_FAILURE;
        }
      hg_softmax (probs, n, k, probs);
      for (int j = 0; j < n; j++)
        print_prediction (model, argv[index[j]], probs + (gsize) j * k);
      fflush (stdout);
    }
  return status;
}
