/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-splits.h"

#include "hg-file-private.h"

/* A split file names each patient once: a few MB at most. */
#define MAX_FILE_BYTES ((gsize) 256 * 1024 * 1024)

typedef struct
{
  char   *patient;
  HgSplit split;
  guint   line;
} Entry;

struct _HgSplits
{
  GArray     *entries; /* Entry, file order */
  GHashTable *index;   /* patient -> position + 1 in entries */
};

static const char *const split_names[HG_SPLIT_N] = { "none", "train", "val", "test" };

const char *
hg_split_to_string (HgSplit split)
{
  if ((guint) split >= HG_SPLIT_N)
    return "none";
  return split_names[split];
}

gboolean
hg_split_from_string (const char *name,
                      HgSplit    *split)
{
  for (guint i = HG_SPLIT_TRAIN; i < HG_SPLIT_N; i++)
    if (g_strcmp0 (name, split_names[i]) == 0)
      {
        *split = (HgSplit) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
hg_patient_id_is_valid (const char *id,
                        gsize       length)
{
  if (length == 0 || length > HG_SPLITS_MAX_PATIENT_LEN || id[0] == '.')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-')
      return FALSE;
  return TRUE;
}

static void
entry_clear (gpointer p)
{
  g_free (((Entry *) p)->patient);
}

void
hg_splits_free (HgSplits *splits)
{
  if (splits == NULL)
    return;
  g_clear_pointer (&splits->index, g_hash_table_unref);
  g_clear_pointer (&splits->entries, g_array_unref);
  g_free (splits);
}

/* A printable, bounded rendering of untrusted text for error messages. */
static char *
quote_field (const char *s,
             gsize       len)
{
  GString *out = g_string_new ("'");

  for (gsize i = 0; i < len && i < 40; i++)
    {
      guchar c = (guchar) s[i];

      if (c >= 0x20 && c < 0x7f && c != '\'')
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "\\x%02x", c);
    }
  if (len > 40)
    g_string_append (out, "…");
  g_string_append_c (out, '\'');
  return g_string_free (out, FALSE);
}

/* Splits one line (without its newline) at tabs, trimming spaces. */
static GPtrArray *
split_fields (const char *line,
              gsize       len)
{
  GPtrArray  *fields = g_ptr_array_new_with_free_func (g_free);
  const char *start = line, *end = line + len;

  for (;;)
    {
      const char *tab = memchr (start, '\t', end - start);
      const char *stop = tab != NULL ? tab : end;
      const char *a = start, *b = stop;

      while (a < b && (*a == ' ' || *a == '\r'))
        a++;
      while (b > a && (b[-1] == ' ' || b[-1] == '\r'))
        b--;
      g_ptr_array_add (fields, g_strndup (a, b - a));
      if (tab == NULL)
        break;
      start = tab + 1;
    }
  return fields;
}

static gboolean
is_skipped_line (const char *line,
                 gsize       len)
{
  gsize i = 0;

  while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
    i++;
  return i == len || line[i] == '#';
}

HgSplits *
hg_splits_new_from_data (const char *data,
                         gsize       length,
                         GError    **error)
{
  g_autoptr (HgSplits) splits = NULL;
  const char *p = data, *end = data + length;
  int         patient_col = -1, split_col = -1;
  guint       n_cols = 0, line_no = 0;
  gboolean    have_header = FALSE;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length > HG_SPLITS_MAX_BYTES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("split file is %zu bytes, more than the limit of %d"),
                   length, HG_SPLITS_MAX_BYTES);
      return NULL;
    }
  if (length > 0 && memchr (data, '\0', length) != NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("split file contains a NUL byte: it is not a text file"));
      return NULL;
    }
  if (!g_utf8_validate_len (data, length, NULL))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("split file is not valid UTF-8 text"));
      return NULL;
    }

  splits = g_new0 (HgSplits, 1);
  splits->entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  g_array_set_clear_func (splits->entries, entry_clear);
  splits->index = g_hash_table_new (g_str_hash, g_str_equal);

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      const char *line = p;
      gsize       len = (nl != NULL ? nl : end) - p;
      g_autoptr (GPtrArray) fields = NULL;

      p = nl != NULL ? nl + 1 : end;
      line_no++;

      if (is_skipped_line (line, len))
        continue;

      fields = split_fields (line, len);

      if (!have_header)
        {
          for (guint i = 0; i < fields->len; i++)
            {
              const char *name = g_ptr_array_index (fields, i);

              if (g_ascii_strcasecmp (name, "patient") == 0 && patient_col < 0)
                patient_col = (int) i;
              else if (g_ascii_strcasecmp (name, "split") == 0 && split_col < 0)
                split_col = (int) i;
            }
          if (patient_col < 0 || split_col < 0)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("line %u: the header must name the tab-separated columns "
                              "'patient' and 'split'%s"),
                           line_no,
                           memchr (line, '\t', len) == NULL && memchr (line, ' ', len) != NULL
                               ? _ (" (columns must be separated by tabs, not spaces)")
                               : "");
              return NULL;
            }
          n_cols = fields->len;
          have_header = TRUE;
          continue;
        }

      {
        const char *patient, *split_name;
        Entry       entry;
        gpointer    seen;

        if (fields->len != n_cols)
          {
            g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                         _ ("line %u: expected %u tab-separated fields as in the header, found %u"),
                         line_no, n_cols, fields->len);
            return NULL;
          }

        patient = g_ptr_array_index (fields, patient_col);
        split_name = g_ptr_array_index (fields, split_col);

        if (!hg_patient_id_is_valid (patient, strlen (patient)))
          {
            g_autofree char *q = quote_field (patient, strlen (patient));

            g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                         _ ("line %u: invalid patient %s (expected 1 to %d letters, digits, "
                            "'.', '_' or '-')"),
                         line_no, q, HG_SPLITS_MAX_PATIENT_LEN);
            return NULL;
          }

        if (!hg_split_from_string (split_name, &entry.split))
          {
            g_autofree char *q = quote_field (split_name, strlen (split_name));

            g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                         _ ("line %u: unknown split %s for patient '%s' "
                            "(expected 'train', 'val' or 'test')"),
                         line_no, q, patient);
            return NULL;
          }

        seen = g_hash_table_lookup (splits->index, patient);
        if (seen != NULL)
          {
            const Entry *first = &g_array_index (splits->entries, Entry, GPOINTER_TO_UINT (seen) - 1);

            g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                         _ ("line %u: patient '%s' is listed twice (first on line %u)"),
                         line_no, patient, first->line);
            return NULL;
          }

        if (splits->entries->len >= HG_SPLITS_MAX_PATIENTS)
          {
            g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                         _ ("line %u: more than %d patients"), line_no, HG_SPLITS_MAX_PATIENTS);
            return NULL;
          }

        entry.patient = g_strdup (patient);
        entry.line = line_no;
        g_array_append_val (splits->entries, entry);
        g_hash_table_insert (splits->index,
                             g_array_index (splits->entries, Entry, splits->entries->len - 1).patient,
                             GUINT_TO_POINTER (splits->entries->len));
      }
    }

  if (!have_header)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("split file is empty (expected a header line 'patient<TAB>split')"));
      return NULL;
    }
  if (splits->entries->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("split file lists no patients"));
      return NULL;
    }

  return g_steal_pointer (&splits);
}

HgSplits *
hg_splits_new_from_file (const char *path,
                         GError    **error)
{
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *data;
  gsize       length;
  HgSplits   *splits;

  file = hg_file_read (path, MAX_FILE_BYTES, &local_error);
  if (file == NULL)
    {
      g_set_error (error, HG_ERROR, local_error->code, _ ("%s: cannot read the split file: %s"),
                   path, local_error->message);
      return NULL;
    }

  data = g_bytes_get_data (file, &length);
  splits = hg_splits_new_from_data (data, length, &local_error);
  if (splits == NULL)
    {
      g_set_error (error, HG_ERROR, local_error->code, "%s: %s", path, local_error->message);
      return NULL;
    }
  return splits;
}

guint
hg_splits_get_n_patients (const HgSplits *splits)
{
  return splits->entries->len;
}

const char *
hg_splits_get_patient (const HgSplits *splits,
                       guint           i,
                       HgSplit        *split)
{
  const Entry *e;

  g_return_val_if_fail (i < splits->entries->len, NULL);

  e = &g_array_index (splits->entries, Entry, i);
  if (split != NULL)
    *split = e->split;
  return e->patient;
}

HgSplit
hg_splits_lookup (const HgSplits *splits,
                  const char     *patient)
{
  gpointer pos = g_hash_table_lookup (splits->index, patient);

  if (pos == NULL)
    return HG_SPLIT_NONE;
  return g_array_index (splits->entries, Entry, GPOINTER_TO_UINT (pos) - 1).split;
}
