/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "histoguard/hg-error.h"

#include "hg-json-private.h"
#include "hg-safetensors-private.h"

static const struct
{
  const char *name;
  gsize       size;
} dtypes[] = {
  { "F64", 8 },
  { "F32", 4 },
  { "F16", 2 },
  { "BF16", 2 },
  { "I64", 8 },
  { "I32", 4 },
  { "I16", 2 },
  { "I8", 1 },
  { "U8", 1 },
  { "BOOL", 1 },
  { "U16", 2 },
  { "U32", 4 },
  { "U64", 8 },
  { "F8_E4M3", 1 },
  { "F8_E5M2", 1 },
};

static void
entry_free (gpointer data)
{
  HgSafetensorsEntry *e = data;

  g_free (e->name);
  g_free (e->dtype);
  g_free (e);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgSafetensorsEntry, entry_free)

static int
compare_keys (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
hg_safetensors_free (HgSafetensors *st)
{
  if (st == NULL)
    return;
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_clear_pointer (&st->entries, g_ptr_array_unref);
  g_free (st);
}

HgSafetensorsEntry *
hg_safetensors_lookup (HgSafetensors *st,
                       const char    *name)
{
  for (guint i = 0; i < st->entries->len; i++)
    {
      HgSafetensorsEntry *e = st->entries->pdata[i];

      if (strcmp (e->name, name) == 0)
        return e;
    }
  return NULL;
}

static gboolean
get_u64 (JsonNode *node,
         guint64  *out)
{
  gint64 v;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
parse_entry (HgSafetensors *st,
             const char    *name,
             JsonNode      *node,
             GError       **error)
{
  g_autoptr (HgSafetensorsEntry) e = NULL;
  JsonObject *obj;
  JsonNode   *dtype, *shape, *offsets;
  JsonArray  *shape_a, *offsets_a;
  gsize       elem_size = 0, bytes;
  guint64     begin, end;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("tensor '%s': entry is not an object"),
                   name);
      return FALSE;
    }
  obj = json_node_get_object (node);

  dtype = json_object_get_member (obj, "dtype");
  if (dtype == NULL || !JSON_NODE_HOLDS_VALUE (dtype) ||
      json_node_get_value_type (dtype) != G_TYPE_STRING)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("tensor '%s': no \"dtype\" string"),
                   name);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dtypes[i].name, json_node_get_string (dtype)) == 0)
      elem_size = dtypes[i].size;
  if (elem_size == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("tensor '%s': unknown dtype '%s'"), name,
                   json_node_get_string (dtype));
      return FALSE;
    }

  e = g_new0 (HgSafetensorsEntry, 1);
  e->name = g_strdup (name);
  e->dtype = g_strdup (json_node_get_string (dtype));

  shape = json_object_get_member (obj, "shape");
  if (shape == NULL || !JSON_NODE_HOLDS_ARRAY (shape) ||
      json_array_get_length (shape_a = json_node_get_array (shape)) > HG_SAFETENSORS_MAX_DIMS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("tensor '%s': \"shape\" must be a list of at most %d sizes"), name,
                   HG_SAFETENSORS_MAX_DIMS);
      return FALSE;
    }
  e->n_dims = (int) json_array_get_length (shape_a);
  e->numel = 1;
  for (int i = 0; i < e->n_dims; i++)
    {
      guint64 d;

      if (!get_u64 (json_array_get_element (shape_a, i), &d) || d > G_MAXINT32)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("tensor '%s': shape[%d] is not a size in [0, %d]"), name, i, G_MAXINT32);
          return FALSE;
        }
      e->dims[i] = (gint64) d;
      if (!g_size_checked_mul (&e->numel, e->numel, (gsize) d))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                       _ ("tensor '%s': the element count overflows"), name);
          return FALSE;
        }
    }

  offsets = json_object_get_member (obj, "data_offsets");
  if (offsets == NULL || !JSON_NODE_HOLDS_ARRAY (offsets) ||
      json_array_get_length (offsets_a = json_node_get_array (offsets)) != 2 ||
      !get_u64 (json_array_get_element (offsets_a, 0), &begin) ||
      !get_u64 (json_array_get_element (offsets_a, 1), &end))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("tensor '%s': \"data_offsets\" must be [begin, end]"), name);
      return FALSE;
    }
  if (begin > end || end > st->data_length)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("tensor '%s': data_offsets [%llu, %llu] lie outside the %zu data bytes of the file"),
                   name, (unsigned long long) begin, (unsigned long long) end, st->data_length);
      return FALSE;
    }
  if (!g_size_checked_mul (&bytes, e->numel, elem_size))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("tensor '%s': the byte size overflows"),
                   name);
      return FALSE;
    }
  if (bytes != end - begin)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("tensor '%s': shape needs %zu bytes but data_offsets span %llu"),
                   name, bytes, (unsigned long long) (end - begin));
      return FALSE;
    }
  e->begin = begin;
  e->end = end;

  g_ptr_array_add (st->entries, g_steal_pointer (&e));
  return TRUE;
}

static int
compare_begin (gconstpointer a,
               gconstpointer b)
{
  const HgSafetensorsEntry *ea = *(HgSafetensorsEntry *const *) a;
  const HgSafetensorsEntry *eb = *(HgSafetensorsEntry *const *) b;

  return ea->begin < eb->begin ? -1 : ea->begin > eb->begin;
}

HgSafetensors *
hg_safetensors_parse (const guint8 *bytes,
                      gsize         length,
                      GError      **error)
{
  g_autoptr (HgSafetensors) st = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GPtrArray) sorted = NULL;
  g_autoptr (GList) members = NULL;
  JsonObject *obj;
  guint64     header_length = 0;

  if (length < 8)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("file of %zu bytes is too short for a safetensors header"),
                   length);
      return NULL;
    }
  for (int i = 7; i >= 0; i--)
    header_length = (header_length << 8) | bytes[i];
  if (header_length > length - 8)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("header length %llu exceeds the %zu bytes after it in the file"),
                   (unsigned long long) header_length, length - 8);
      return NULL;
    }
  if (header_length > HG_SAFETENSORS_MAX_HEADER || header_length < 2)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("header length %llu is absurd (expected 2 to %d bytes)"),
                   (unsigned long long) header_length, HG_SAFETENSORS_MAX_HEADER);
      return NULL;
    }

  root = hg_json_parse ((const char *) bytes + 8, header_length, "header", error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("header: not a JSON object"));
      return NULL;
    }
  obj = json_node_get_object (root);

  st = g_new0 (HgSafetensors, 1);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->entries = g_ptr_array_new_with_free_func (entry_free);
  st->data = bytes + 8 + header_length;
  st->data_length = length - 8 - header_length;

  members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode   *node = json_object_get_member (obj, name);

      if (strcmp (name, "__metadata__") == 0)
        {
          JsonObject *meta;
          g_autoptr (GList) keys = NULL;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("header: __metadata__ is not an object"));
              return NULL;
            }
          meta = json_node_get_object (node);
          keys = json_object_get_members (meta);
          for (GList *k = keys; k != NULL; k = k->next)
            {
              JsonNode *v = json_object_get_member (meta, k->data);

              if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
                {
                  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                               _ ("header: __metadata__ value of '%s' is not a string"),
                               (const char *) k->data);
                  return NULL;
                }
              g_hash_table_replace (st->metadata, g_strdup (k->data),
                                    g_strdup (json_node_get_string (v)));
            }
          continue;
        }

      if (!parse_entry (st, name, node, error))
        return NULL;
    }

  /* Tensors must not share bytes: a file that aliases them was not written
   * by a safetensors writer. */
  sorted = g_ptr_array_copy (st->entries, NULL, NULL);
  g_ptr_array_set_free_func (sorted, NULL); /* copied from entries: borrowed */
  g_ptr_array_sort (sorted, compare_begin);
  {
    HgSafetensorsEntry *prev = NULL;

    for (guint i = 0; i < sorted->len; i++)
      {
        HgSafetensorsEntry *e = sorted->pdata[i];

        if (e->begin == e->end)
          continue; /* empty tensors occupy nothing */
        if (prev != NULL && e->begin < prev->end)
          {
            g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                         _ ("tensors '%s' and '%s' overlap in the file"), prev->name, e->name);
            return NULL;
          }
        prev = e;
      }
  }

  return g_steal_pointer (&st);
}

static void
append_json_string (GString    *s,
                    const char *str)
{
  g_autoptr (JsonNode) node = json_node_init_string (json_node_alloc (), str);
  g_autofree char *quoted = hg_json_to_string (node);

  g_string_append (s, quoted);
}

GBytes *
hg_safetensors_build (GHashTable                *metadata,
                      const HgSafetensorsTensor *tensors,
                      int                        n_tensors)
{
  GString *header = g_string_new ("{");
  GString *file;
  gsize    offset = 0;
  gboolean first = TRUE;

  if (metadata != NULL && g_hash_table_size (metadata) > 0)
    {
      g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, NULL);
      guint                n = g_hash_table_size (metadata);

      /* Sorted keys: the same model always gives the same bytes. */
      g_qsort_with_data (keys, n, sizeof (gpointer), compare_keys, NULL);
      g_string_append (header, "\"__metadata__\":{");
      for (guint i = 0; i < n; i++)
        {
          if (i > 0)
            g_string_append_c (header, ',');
          append_json_string (header, keys[i]);
          g_string_append_c (header, ':');
          append_json_string (header, g_hash_table_lookup (metadata, keys[i]));
        }
      g_string_append_c (header, '}');
      first = FALSE;
    }

  for (int i = 0; i < n_tensors; i++)
    {
      gsize numel = 1;

      for (int d = 0; d < tensors[i].n_dims; d++)
        numel *= (gsize) tensors[i].dims[d];
      if (!first)
        g_string_append_c (header, ',');
      first = FALSE;
      append_json_string (header, tensors[i].name);
      g_string_append (header, ":{\"dtype\":\"F32\",\"shape\":[");
      for (int d = 0; d < tensors[i].n_dims; d++)
        g_string_append_printf (header, "%s%" G_GINT64_FORMAT, d ? "," : "", tensors[i].dims[d]);
      g_string_append_printf (header, "],\"data_offsets\":[%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT "]}",
                              offset, offset + numel * 4);
      offset += numel * 4;
    }
  g_string_append_c (header, '}');
  /* Pad with spaces so the data starts 8-byte aligned, as safetensors does. */
  while ((header->len % 8) != 0)
    g_string_append_c (header, ' ');

  file = g_string_sized_new (8 + header->len + offset);
  for (int i = 0; i < 8; i++)
    g_string_append_c (file, (char) ((guint64) header->len >> (8 * i)));
  g_string_append_len (file, header->str, header->len);
  for (int i = 0; i < n_tensors; i++)
    {
      gsize numel = 1;

      for (int d = 0; d < tensors[i].n_dims; d++)
        numel *= (gsize) tensors[i].dims[d];
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
      g_string_append_len (file, (const char *) tensors[i].data, (gssize) (numel * 4));
#else
      for (gsize j = 0; j < numel; j++)
        {
          guint32 v;

          memcpy (&v, &tensors[i].data[j], 4);
          v = GUINT32_TO_LE (v);
          g_string_append_len (file, (const char *) &v, 4);
        }
#endif
    }

  g_string_free (header, TRUE);
  return g_string_free_to_bytes (file);
}
