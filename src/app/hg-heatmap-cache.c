/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgHeatmapCache"

#include "config.h"

#include <glib/gstdio.h>

#include "hg-heatmap-cache.h"

typedef struct
{
  char      *key;
  HgHeatmap *heatmap;
} Entry;

static GQueue entries = G_QUEUE_INIT; /* most recently used first */

static void
entry_free (Entry *entry)
{
  g_free (entry->key);
  hg_heatmap_unref (entry->heatmap);
  g_free (entry);
}

static gboolean
file_stamp (const char *path,
            GString    *out)
{
  GStatBuf st;

  if (path == NULL || g_stat (path, &st) != 0)
    return FALSE;
  g_string_append_printf (out, "%s\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT "\n", path,
                          (gint64) st.st_mtime, (gint64) st.st_size);
  return TRUE;
}

char *
hg_heatmap_cache_key (HgSlide               *slide,
                      const char            *model_path,
                      const HgTilingOptions *options)
{
  g_autoptr (GString) key = g_string_new (NULL);
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (HG_IS_SLIDE (slide), NULL);
  g_return_val_if_fail (options != NULL, NULL);

  if (!file_stamp (hg_slide_get_path (slide), key) || !file_stamp (model_path, key))
    return NULL;
  g_string_append (key, g_ascii_dtostr (number, sizeof number, options->tile_size));
  g_string_append_c (key, '\t');
  g_string_append (key, g_ascii_dtostr (number, sizeof number, options->min_tissue));
  g_string_append_printf (key, "\t%d\t%d", options->grid, options->level);
  return g_string_free (g_steal_pointer (&key), FALSE);
}

HgHeatmap *
hg_heatmap_cache_lookup (const char *key)
{
  if (key == NULL)
    return NULL;

  for (GList *l = entries.head; l != NULL; l = l->next)
    {
      Entry *entry = l->data;

      if (g_str_equal (entry->key, key))
        {
          g_queue_unlink (&entries, l);
          g_queue_push_head_link (&entries, l);
          return hg_heatmap_ref (entry->heatmap);
        }
    }
  return NULL;
}

void
hg_heatmap_cache_insert (const char *key,
                         HgHeatmap  *heatmap)
{
  Entry *entry;

  g_return_if_fail (heatmap != NULL);

  if (key == NULL)
    return;

  for (GList *l = entries.head; l != NULL; l = l->next)
    if (g_str_equal (((Entry *) l->data)->key, key))
      {
        entry_free (l->data);
        g_queue_delete_link (&entries, l);
        break;
      }

  entry = g_new0 (Entry, 1);
  entry->key = g_strdup (key);
  entry->heatmap = hg_heatmap_ref (heatmap);
  g_queue_push_head (&entries, entry);
  while (entries.length > HG_HEATMAP_CACHE_SIZE)
    entry_free (g_queue_pop_tail (&entries));
}

void
hg_heatmap_cache_clear (void)
{
  g_queue_clear_full (&entries, (GDestroyNotify) entry_free);
}
