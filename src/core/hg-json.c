/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "histoguard/hg-error.h"

#include "hg-json-private.h"

gboolean
hg_json_check_depth (const char *data,
                     gsize       length,
                     const char *what,
                     GError    **error)
{
  int      depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char ch = data[i];

      if (in_string)
        {
          if (ch == '\\')
            i++;
          else if (ch == '"')
            in_string = FALSE;
          continue;
        }

      if (ch == '"')
        in_string = TRUE;
      else if (ch == '[' || ch == '{')
        {
          if (++depth > HG_JSON_MAX_DEPTH)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("%s: JSON nested deeper than %d levels (at byte %zu)"),
                           what, HG_JSON_MAX_DEPTH, i);
              return FALSE;
            }
        }
      else if (ch == ']' || ch == '}')
        depth--;
    }

  return TRUE;
}

JsonNode *
hg_json_parse (const char *data,
               gsize       length,
               const char *what,
               GError    **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  if (length > G_MAXSSIZE)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("%s: JSON text too large"), what);
      return NULL;
    }
  if (memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("%s: JSON text contains a NUL byte"), what);
      return NULL;
    }
  if (!hg_json_check_depth (data, length, what, error))
    return NULL;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("%s: invalid JSON: %s"), what,
                   local_error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("%s: empty JSON text"), what);
      return NULL;
    }

  return json_node_copy (root);
}

char *
hg_json_to_string (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();

  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}
