/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "histoguard/hg-error.h"

#include "hg-engine-private.h"
#include "hg-file-private.h"
#include "hg-json-private.h"
#include "hg-model-private.h"
#include "hg-safetensors-private.h"

#define FORMAT_NAME "histoguard-model"
/* The header, and parameters and buffers of at most 2²⁸ floats each
 * (hg-arch.c). */
#define MAX_FILE_BYTES ((gsize) HG_SAFETENSORS_MAX_HEADER + 8 + ((gsize) 2 << 30))
#define FORMAT_VERSION "1"

static const char *const structural_keys[] = {
  "format",
  "format_version",
  "arch",
  "input_size",
  "mean",
  "std",
  "classes",
  NULL,
};

static gboolean
is_structural (const char *key)
{
  for (int i = 0; structural_keys[i] != NULL; i++)
    if (strcmp (key, structural_keys[i]) == 0)
      return TRUE;
  return FALSE;
}

/* ---- lifetime ----------------------------------------------------------- */

static HgModel *
model_alloc (HgArch *arch)
{
  HgModel *model = g_new0 (HgModel, 1);
  int      c = arch->nodes[0].shape.c;

  g_atomic_ref_count_init (&model->ref);
  g_mutex_init (&model->plan_lock);
  model->arch = hg_arch_ref (arch);
  model->params = g_new0 (float, MAX (arch->n_params, 1));
  model->buffers = g_new0 (float, MAX (arch->n_buffers, 1));
  model->mean = g_new (float, c);
  model->std = g_new (float, c);
  model->class_names = g_new0 (char *, arch->n_classes + 1);
  model->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  model->generation = 1;
  return model;
}

HgModel *
hg_model_ref (HgModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_ref_count_inc (&model->ref);
  return model;
}

void
hg_model_unref (HgModel *model)
{
  if (model == NULL || !g_atomic_ref_count_dec (&model->ref))
    return;

  g_clear_pointer (&model->inference_plan, hg_plan_unref);
  g_mutex_clear (&model->plan_lock);
  hg_arch_unref (model->arch);
  g_free (model->params);
  g_free (model->buffers);
  g_free (model->mean);
  g_free (model->std);
  g_strfreev (model->class_names);
  g_hash_table_unref (model->metadata);
  g_free (model);
}

/* ---- structural metadata ------------------------------------------------ */

static char *
floats_to_json (const float *v,
                int          n)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < n; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      /* %.9g round-trips any float32. */
      g_ascii_formatd (buf, sizeof buf, "%.9g", v[i]);
      g_string_append_printf (s, "%s%s", i ? ", " : "", buf);
    }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
update_structural (HgModel *model)
{
  HgArch *arch = model->arch;
  int     c = arch->nodes[0].shape.c;

  g_hash_table_replace (model->metadata, g_strdup ("format"), g_strdup (FORMAT_NAME));
  g_hash_table_replace (model->metadata, g_strdup ("format_version"), g_strdup (FORMAT_VERSION));
  g_hash_table_replace (model->metadata, g_strdup ("arch"), g_strdup (arch->json));
  g_hash_table_replace (model->metadata, g_strdup ("input_size"),
                        g_strdup_printf ("[%d, %d, %d]", arch->nodes[0].shape.h,
                                         arch->nodes[0].shape.w, c));
  g_hash_table_replace (model->metadata, g_strdup ("mean"), floats_to_json (model->mean, c));
  g_hash_table_replace (model->metadata, g_strdup ("std"), floats_to_json (model->std, c));

  {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonNode) root = NULL;

    json_builder_begin_array (b);
    for (int i = 0; i < arch->n_classes; i++)
      json_builder_add_string_value (b, model->class_names[i]);
    json_builder_end_array (b);
    root = json_builder_get_root (b);
    g_hash_table_replace (model->metadata, g_strdup ("classes"), hg_json_to_string (root));
  }
}

static gboolean
check_normalization (const float *mean,
                     const float *std,
                     int          c,
                     GError     **error)
{
  for (int i = 0; i < c; i++)
    {
      if (!isfinite (mean[i]) || mean[i] < -10.0f || mean[i] > 10.0f)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("mean[%d] = %g is not a finite value in [-10, 10]"), i, mean[i]);
          return FALSE;
        }
      if (!isfinite (std[i]) || std[i] < 1e-4f || std[i] > 100.0f)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("std[%d] = %g is not a finite value in [0.0001, 100]"), i, std[i]);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
hg_model_set_normalization (HgModel     *model,
                            const float *mean,
                            const float *std,
                            GError     **error)
{
  int c = model->arch->nodes[0].shape.c;

  if (!check_normalization (mean, std, c, error))
    return FALSE;
  memcpy (model->mean, mean, c * sizeof (float));
  memcpy (model->std, std, c * sizeof (float));
  update_structural (model);
  return TRUE;
}

void
hg_model_get_normalization (HgModel *model,
                            float   *mean,
                            float   *std)
{
  int c = model->arch->nodes[0].shape.c;

  if (mean != NULL)
    memcpy (mean, model->mean, c * sizeof (float));
  if (std != NULL)
    memcpy (std, model->std, c * sizeof (float));
}

gboolean
hg_model_set_class_names (HgModel           *model,
                          const char *const *names,
                          GError           **error)
{
  int n = 0;

  while (names[n] != NULL)
    n++;
  if (n != model->arch->n_classes)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "%d class names given for a model with %d classes", n, model->arch->n_classes);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    if (*names[i] == '\0' || !g_utf8_validate (names[i], -1, NULL))
      {
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                     "class name %d is empty or not UTF-8", i);
        return FALSE;
      }

  g_strfreev (model->class_names);
  model->class_names = g_strdupv ((char **) names);
  update_structural (model);
  return TRUE;
}

const char *
hg_model_get_metadata (HgModel    *model,
                       const char *key)
{
  g_return_val_if_fail (model != NULL && key != NULL, NULL);
  return g_hash_table_lookup (model->metadata, key);
}

void
hg_model_set_metadata (HgModel    *model,
                       const char *key,
                       const char *value)
{
  g_return_if_fail (model != NULL && key != NULL);
  g_return_if_fail (!is_structural (key));
  g_return_if_fail (value == NULL || g_utf8_validate (value, -1, NULL));

  if (value == NULL)
    g_hash_table_remove (model->metadata, key);
  else
    g_hash_table_replace (model->metadata, g_strdup (key), g_strdup (value));
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char **
hg_model_list_metadata (HgModel *model)
{
  guint  n;
  char **keys = (char **) g_hash_table_get_keys_as_array (model->metadata, &n);
  char **out = g_new0 (char *, n + 1);

  g_qsort_with_data (keys, n, sizeof (char *), compare_strings, NULL);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (keys[i]);
  g_free (keys);
  return out;
}

/* ---- accessors ---------------------------------------------------------- */

HgArch *
hg_model_get_arch (HgModel *model)
{
  return model->arch;
}

const char *
hg_model_get_arch_name (HgModel *model)
{
  return model->arch->name;
}

void
hg_model_get_input_size (HgModel *model,
                         int     *height,
                         int     *width,
                         int     *channels)
{
  hg_arch_get_input_size (model->arch, height, width, channels);
}

int
hg_model_get_n_classes (HgModel *model)
{
  return model->arch->n_classes;
}

const char *
hg_model_get_class_name (HgModel *model,
                         int      index)
{
  g_return_val_if_fail (index >= 0 && index < model->arch->n_classes, NULL);
  return model->class_names[index];
}

gsize
hg_model_get_n_params (HgModel *model)
{
  return model->arch->n_params;
}

float *
hg_model_get_params (HgModel *model,
                     gsize   *n_params)
{
  if (n_params != NULL)
    *n_params = model->arch->n_params;
  return model->params;
}

float *
hg_model_get_buffers (HgModel *model,
                      gsize   *n_buffers)
{
  if (n_buffers != NULL)
    *n_buffers = model->arch->n_buffers;
  return model->buffers;
}

void
hg_model_params_changed (HgModel *model)
{
  g_mutex_lock (&model->plan_lock);
  model->generation++;
  g_mutex_unlock (&model->plan_lock);
}

const char *
hg_model_get_param_tensor (HgModel  *model,
                           gsize     index,
                           gboolean *decay)
{
  GPtrArray *tensors = model->arch->tensors;

  for (guint i = 0; i < tensors->len; i++)
    {
      HgTensorSpec *t = tensors->pdata[i];

      if (t->trainable && index >= t->offset && index < t->offset + t->numel)
        {
          if (decay != NULL)
            *decay = t->decay;
          return t->name;
        }
    }
  return NULL;
}

/* ---- layouts ------------------------------------------------------------ */

/* The dense node's input shape, to reorder CHW-flattened weights. */
static HgShape
dense_input_shape (HgArch             *arch,
                   const HgTensorSpec *t)
{
  return arch->nodes[arch->nodes[t->node].inputs[0]].shape;
}

static void
file_to_engine (HgArch             *arch,
                const HgTensorSpec *t,
                const float        *src,
                float              *dst)
{
  switch (t->kind)
    {
    case HG_TENSOR_CONV_WEIGHT:
      {
        gsize oc = t->dims[0], c = t->dims[1], k = t->dims[2];

        for (gsize o = 0; o < oc; o++)
          for (gsize ci = 0; ci < c; ci++)
            for (gsize ky = 0; ky < k; ky++)
              for (gsize kx = 0; kx < k; kx++)
                dst[((o * k + ky) * k + kx) * c + ci] = src[((o * c + ci) * k + ky) * k + kx];
        break;
      }
    case HG_TENSOR_DENSE_WEIGHT:
      {
        HgShape s = dense_input_shape (arch, t);
        gsize   units = t->dims[0], in = t->dims[1];

        for (gsize o = 0; o < units; o++)
          for (gsize ci = 0; ci < (gsize) s.c; ci++)
            for (gsize y = 0; y < (gsize) s.h; y++)
              for (gsize x = 0; x < (gsize) s.w; x++)
                dst[o * in + (y * s.w + x) * s.c + ci] = src[o * in + (ci * s.h + y) * s.w + x];
        break;
      }
    case HG_TENSOR_PLAIN:
    default:
      memcpy (dst, src, t->numel * sizeof (float));
      break;
    }
}

static void
engine_to_file (HgArch             *arch,
                const HgTensorSpec *t,
                const float        *src,
                float              *dst)
{
  switch (t->kind)
    {
    case HG_TENSOR_CONV_WEIGHT:
      {
        gsize oc = t->dims[0], c = t->dims[1], k = t->dims[2];

        for (gsize o = 0; o < oc; o++)
          for (gsize ci = 0; ci < c; ci++)
            for (gsize ky = 0; ky < k; ky++)
              for (gsize kx = 0; kx < k; kx++)
                dst[((o * c + ci) * k + ky) * k + kx] = src[((o * k + ky) * k + kx) * c + ci];
        break;
      }
    case HG_TENSOR_DENSE_WEIGHT:
      {
        HgShape s = dense_input_shape (arch, t);
        gsize   units = t->dims[0], in = t->dims[1];

        for (gsize o = 0; o < units; o++)
          for (gsize ci = 0; ci < (gsize) s.c; ci++)
            for (gsize y = 0; y < (gsize) s.h; y++)
              for (gsize x = 0; x < (gsize) s.w; x++)
                dst[o * in + (ci * s.h + y) * s.w + x] = src[o * in + (y * s.w + x) * s.c + ci];
        break;
      }
    case HG_TENSOR_PLAIN:
    default:
      memcpy (dst, src, t->numel * sizeof (float));
      break;
    }
}

static float *
tensor_storage (HgModel            *model,
                const HgTensorSpec *t)
{
  return (t->trainable ? model->params : model->buffers) + t->offset;
}

/* ---- a fresh model ------------------------------------------------------ */

/* splitmix64 and Box-Muller in double: the same seed gives the same
 * weights on every machine and libc. */
typedef struct
{
  guint64  state;
  double   spare;
  gboolean has_spare;
} InitRng;

static guint64
rng_next (InitRng *r)
{
  guint64 z = (r->state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static double
rng_normal (InitRng *r)
{
  double u1, u2, radius;

  if (r->has_spare)
    {
      r->has_spare = FALSE;
      return r->spare;
    }
  do
    u1 = (rng_next (r) >> 11) * (1.0 / 9007199254740992.0);
  while (u1 <= 0.0);
  u2 = (rng_next (r) >> 11) * (1.0 / 9007199254740992.0);
  radius = sqrt (-2.0 * log (u1));
  r->spare = radius * sin (2.0 * G_PI * u2);
  r->has_spare = TRUE;
  return radius * cos (2.0 * G_PI * u2);
}

HgModel *
hg_model_new_from_arch_object (HgArch *arch,
                               guint64 seed)
{
  HgModel *model = model_alloc (arch);
  InitRng  rng = { seed, 0.0, FALSE };
  int      c = arch->nodes[0].shape.c;
  int      last = arch->n_nodes - 1;

  for (guint i = 0; i < arch->tensors->len; i++)
    {
      HgTensorSpec     *t = arch->tensors->pdata[i];
      g_autofree float *file = g_new (float, t->numel);
      const HgNode     *node = &arch->nodes[t->node];
      gboolean          is_weight = g_str_has_suffix (t->name, ".weight");
      double            std = 0.0, fill = 0.0;

      if (node->op == HG_OP_BATCHNORM)
        fill = (is_weight || g_str_has_suffix (t->name, ".running_var")) ? 1.0 : 0.0;
      else if (is_weight)
        {
          double fan_in = (double) t->numel / t->dims[0];

          /* He for layers followed by ReLU; LeCun for the classifier. */
          std = sqrt ((t->node == last ? 1.0 : 2.0) / fan_in);
        }

      for (gsize j = 0; j < t->numel; j++)
        file[j] = (float) (std > 0.0 ? std * rng_normal (&rng) : fill);
      file_to_engine (arch, t, file, tensor_storage (model, t));
    }

  for (int i = 0; i < c; i++)
    {
      model->mean[i] = 0.5f;
      model->std[i] = 0.25f;
    }
  for (int i = 0; i < arch->n_classes; i++)
    model->class_names[i] = g_strdup_printf ("class%d", i);

  update_structural (model);
  return model;
}

HgModel *
hg_model_new_from_arch (const char *arch_name_or_json_path,
                        guint64     seed,
                        GError    **error)
{
  g_autoptr (HgArch) arch = hg_arch_new (arch_name_or_json_path, error);

  if (arch == NULL)
    return NULL;
  return hg_model_new_from_arch_object (arch, seed);
}

HgModel *
hg_model_copy (HgModel *model)
{
  HgModel       *copy = model_alloc (model->arch);
  HgArch        *arch = model->arch;
  int            c = arch->nodes[0].shape.c;
  GHashTableIter iter;
  gpointer       key, value;

  memcpy (copy->params, model->params, arch->n_params * sizeof (float));
  memcpy (copy->buffers, model->buffers, arch->n_buffers * sizeof (float));
  memcpy (copy->mean, model->mean, c * sizeof (float));
  memcpy (copy->std, model->std, c * sizeof (float));
  g_strfreev (copy->class_names);
  copy->class_names = g_strdupv (model->class_names);
  g_hash_table_iter_init (&iter, model->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (copy->metadata, g_strdup (key), g_strdup (value));
  return copy;
}

/* ---- loading ------------------------------------------------------------ */

static gboolean
parse_float_list (const char *key,
                  const char *text,
                  int         n,
                  float      *out,
                  GError    **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonArray *a;

  root = hg_json_parse (text, strlen (text), key, &local_error);
  if (root == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("metadata '%s': %s"), key,
                   local_error->message);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (root) || json_array_get_length (a = json_node_get_array (root)) != (guint) n)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("metadata '%s' must be a list of %d numbers"), key, n);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);

      if (!JSON_NODE_HOLDS_VALUE (e) || (json_node_get_value_type (e) != G_TYPE_DOUBLE &&
                                         json_node_get_value_type (e) != G_TYPE_INT64))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("metadata '%s'[%d] is not a number"), key, i);
          return FALSE;
        }
      out[i] = (float) json_node_get_double (e);
    }
  return TRUE;
}

static gboolean
load_structural (HgModel    *model,
                 GHashTable *meta,
                 GError    **error)
{
  HgArch     *arch = model->arch;
  int         c = arch->nodes[0].shape.c;
  const char *text;

  text = g_hash_table_lookup (meta, "input_size");
  if (text != NULL)
    {
      int   dims[3];
      float f[3];

      if (!parse_float_list ("input_size", text, 3, f, error))
        return FALSE;
      hg_arch_get_input_size (arch, &dims[0], &dims[1], &dims[2]);
      if (f[0] != dims[0] || f[1] != dims[1] || f[2] != dims[2])
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("metadata 'input_size' %s does not match the architecture's input [%d, %d, %d]"),
                       text, dims[0], dims[1], dims[2]);
          return FALSE;
        }
    }

  for (int i = 0; i < c; i++)
    {
      model->mean[i] = 0.5f;
      model->std[i] = 0.25f;
    }
  if ((text = g_hash_table_lookup (meta, "mean")) != NULL &&
      !parse_float_list ("mean", text, c, model->mean, error))
    return FALSE;
  if ((text = g_hash_table_lookup (meta, "std")) != NULL &&
      !parse_float_list ("std", text, c, model->std, error))
    return FALSE;
  {
    g_autoptr (GError) local_error = NULL;

    if (!check_normalization (model->mean, model->std, c, &local_error))
      {
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("metadata: %s"), local_error->message);
        return FALSE;
      }
  }

  text = g_hash_table_lookup (meta, "classes");
  if (text == NULL)
    {
      for (int i = 0; i < arch->n_classes; i++)
        model->class_names[i] = g_strdup_printf ("class%d", i);
    }
  else
    {
      g_autoptr (JsonNode) root = NULL;
      g_autoptr (GError) local_error = NULL;
      JsonArray *a;

      root = hg_json_parse (text, strlen (text), "classes", &local_error);
      if (root == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("metadata 'classes': %s"),
                       local_error->message);
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_ARRAY (root) ||
          json_array_get_length (a = json_node_get_array (root)) != (guint) arch->n_classes)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("metadata 'classes' must list %d class names (the architecture has %d outputs)"),
                       arch->n_classes, arch->n_classes);
          return FALSE;
        }
      for (int i = 0; i < arch->n_classes; i++)
        {
          JsonNode *e = json_array_get_element (a, i);

          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING ||
              *json_node_get_string (e) == '\0')
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("metadata 'classes'[%d] is not a non-empty string"), i);
              return FALSE;
            }
          model->class_names[i] = g_strdup (json_node_get_string (e));
        }
    }

  return TRUE;
}

static void
shape_to_string (GString      *s,
                 int           n,
                 const gint64 *dims)
{
  g_string_append_c (s, '[');
  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", dims[i]);
  g_string_append_c (s, ']');
}

static gboolean
load_tensors (HgModel       *model,
              HgSafetensors *st,
              GError       **error)
{
  HgArch *arch = model->arch;

  for (guint i = 0; i < st->entries->len; i++)
    {
      HgSafetensorsEntry *e = st->entries->pdata[i];
      gboolean            known = FALSE;

      for (guint j = 0; !known && j < arch->tensors->len; j++)
        known = strcmp (((HgTensorSpec *) arch->tensors->pdata[j])->name, e->name) == 0;
      /* PyTorch state dicts count batch-norm updates; we have no use for it. */
      if (!known && !g_str_has_suffix (e->name, ".num_batches_tracked"))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("tensor '%s' is not part of architecture '%s'"), e->name, arch->name);
          return FALSE;
        }
    }

  for (guint j = 0; j < arch->tensors->len; j++)
    {
      HgTensorSpec       *t = arch->tensors->pdata[j];
      HgSafetensorsEntry *e = hg_safetensors_lookup (st, t->name);
      g_autofree float   *file = NULL;
      gboolean            same = TRUE;

      if (e == NULL)
        {
          g_autoptr (GString) s = g_string_new (NULL);

          shape_to_string (s, t->n_dims, t->dims);
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("missing tensor '%s' (shape %s) required by architecture '%s'"), t->name,
                       s->str, arch->name);
          return FALSE;
        }
      if (strcmp (e->dtype, "F32") != 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                       _ ("tensor '%s' has dtype %s; only F32 is supported"), t->name, e->dtype);
          return FALSE;
        }
      same = e->n_dims == t->n_dims;
      for (int d = 0; same && d < t->n_dims; d++)
        same = e->dims[d] == t->dims[d];
      if (!same)
        {
          g_autoptr (GString) s = g_string_new (NULL);
          g_autoptr (GString) needed = g_string_new (NULL);

          shape_to_string (s, e->n_dims, e->dims);
          shape_to_string (needed, t->n_dims, t->dims);
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("tensor '%s' has shape %s but architecture '%s' needs %s"),
                       t->name, s->str, arch->name, needed->str);
          return FALSE;
        }

      file = g_new (float, t->numel);
      for (gsize k = 0; k < t->numel; k++)
        {
          guint32 bits;

          memcpy (&bits, st->data + e->begin + 4 * k, 4);
          bits = GUINT32_FROM_LE (bits);
          memcpy (&file[k], &bits, 4);
          if (!isfinite (file[k]))
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("tensor '%s' holds a non-finite value (%g) at index %zu"),
                           t->name, file[k], k);
              return FALSE;
            }
        }
      if (g_str_has_suffix (t->name, ".running_var"))
        for (gsize k = 0; k < t->numel; k++)
          if (file[k] < 0.0f)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("tensor '%s' holds a negative variance (%g) at index %zu"),
                           t->name, file[k], k);
              return FALSE;
            }
      file_to_engine (arch, t, file, tensor_storage (model, t));
    }

  return TRUE;
}

HgModel *
hg_model_load_from_bytes (const guint8 *bytes,
                          gsize         length,
                          GError      **error)
{
  g_autoptr (HgSafetensors) st = NULL;
  g_autoptr (HgArch) arch = NULL;
  g_autoptr (HgModel) model = NULL;
  g_autoptr (GError) local_error = NULL;
  const char    *text;
  GHashTableIter iter;
  gpointer       key, value;

  st = hg_safetensors_parse (bytes, length, error);
  if (st == NULL)
    return NULL;

  text = g_hash_table_lookup (st->metadata, "format");
  if (text != NULL && strcmp (text, FORMAT_NAME) != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("metadata 'format' is '%s', not '%s'"), text, FORMAT_NAME);
      return NULL;
    }
  text = g_hash_table_lookup (st->metadata, "format_version");
  if (text != NULL && strcmp (text, FORMAT_VERSION) != 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("model format version '%s' is not supported (this build reads %s)"),
                   text, FORMAT_VERSION);
      return NULL;
    }

  text = g_hash_table_lookup (st->metadata, "arch");
  if (text == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("no 'arch' in the file's __metadata__: not a Histoguard model"));
      return NULL;
    }
  arch = hg_arch_new_from_json (text, strlen (text), &local_error);
  if (arch == NULL)
    {
      g_set_error (error, HG_ERROR, local_error->code, _ ("metadata 'arch': %s"), local_error->message);
      return NULL;
    }

  model = model_alloc (arch);
  if (!load_structural (model, st->metadata, error) || !load_tensors (model, st, error))
    return NULL;

  g_hash_table_iter_init (&iter, st->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!is_structural (key))
      g_hash_table_replace (model->metadata, g_strdup (key), g_strdup (value));
  update_structural (model);

  return g_steal_pointer (&model);
}

HgModel *
hg_model_load (const char *path,
               GError    **error)
{
  g_autoptr (GBytes) file = NULL;
  g_autoptr (GError) local_error = NULL;
  const guint8 *data;
  gsize         length;
  HgModel      *model;

  /* Read, not mapped: a file that another program truncates while we read
   * it must give an error, not SIGBUS. */
  file = hg_file_read (path, MAX_FILE_BYTES, &local_error);
  if (file == NULL)
    {
      g_set_error (error, HG_ERROR, local_error->code, _ ("cannot read model '%s': %s"), path,
                   local_error->message);
      return NULL;
    }

  data = g_bytes_get_data (file, &length);
  model = hg_model_load_from_bytes (data, length, &local_error);
  if (model == NULL)
    {
      g_set_error (error, HG_ERROR, local_error->code, _ ("model '%s': %s"), path,
                   local_error->message);
      return NULL;
    }
  return model;
}

/* ---- saving ------------------------------------------------------------- */

GBytes *
hg_model_save_to_bytes (HgModel *model)
{
  HgArch              *arch = model->arch;
  guint                n = arch->tensors->len;
  HgSafetensorsTensor *tensors = g_new0 (HgSafetensorsTensor, n);
  float              **file = g_new0 (float *, n);
  GBytes              *bytes;

  for (guint i = 0; i < n; i++)
    {
      HgTensorSpec *t = arch->tensors->pdata[i];

      file[i] = g_new (float, t->numel);
      engine_to_file (arch, t, tensor_storage (model, t), file[i]);
      tensors[i].name = t->name;
      tensors[i].n_dims = t->n_dims;
      tensors[i].dims = t->dims;
      tensors[i].data = file[i];
    }

  bytes = hg_safetensors_build (model->metadata, tensors, (int) n);

  for (guint i = 0; i < n; i++)
    g_free (file[i]);
  g_free (file);
  g_free (tensors);
  return bytes;
}

gboolean
hg_model_save (HgModel    *model,
               const char *path,
               GError    **error)
{
  g_autoptr (GBytes) bytes = hg_model_save_to_bytes (model);
  g_autoptr (GError) local_error = NULL;
  gsize         length;
  const guint8 *data = g_bytes_get_data (bytes, &length);

  if (!g_file_set_contents_full (path, (const char *) data, (gssize) length,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("cannot write model '%s': %s"), path,
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- plans -------------------------------------------------------------- */

HgPlan *
hg_plan_ref (HgPlan *plan)
{
  g_atomic_ref_count_inc (&plan->ref);
  return plan;
}

void
hg_plan_unref (HgPlan *plan)
{
  if (plan == NULL || !g_atomic_ref_count_dec (&plan->ref))
    return;
  g_free (plan->steps);
  g_free (plan->storage);
  g_free (plan);
}

static HgPlan *
plan_alloc (HgModel *model,
            gboolean fused)
{
  HgArch *arch = model->arch;
  HgPlan *plan = g_new0 (HgPlan, 1);

  g_atomic_ref_count_init (&plan->ref);
  plan->fused = fused;
  plan->n_steps = arch->n_nodes;
  plan->steps = g_new0 (HgStep, arch->n_nodes);
  for (int i = 0; i < arch->n_nodes; i++)
    {
      const HgNode *node = &arch->nodes[i];
      HgStep       *s = &plan->steps[i];

      s->alias = i;
      switch (node->op)
        {
        case HG_OP_CONV2D:
          s->w = model->params + node->t.weight;
          s->b = node->p.conv.bias ? model->params + node->t.bias : NULL;
          break;
        case HG_OP_DENSE:
          s->w = model->params + node->t.weight;
          s->b = node->p.dense.bias ? model->params + node->t.bias : NULL;
          break;
        case HG_OP_BATCHNORM:
          s->w = model->params + node->t.weight;
          s->b = model->params + node->t.bias;
          break;
        case HG_OP_INPUT:
        case HG_OP_RELU:
        case HG_OP_MAXPOOL:
        case HG_OP_AVGPOOL:
        case HG_OP_GLOBAL_AVGPOOL:
        case HG_OP_DROPOUT:
        case HG_OP_CONCAT:
        case HG_OP_ADD:
        case HG_N_OPS:
        default:
          break;
        }
    }
  return plan;
}

/* Counts the readers of each node; reader[i] is the last one. */
static void
count_readers (HgArch *arch,
               int    *readers,
               int    *reader)
{
  for (int i = 1; i < arch->n_nodes; i++)
    for (int j = 0; j < arch->nodes[i].n_inputs; j++)
      {
        readers[arch->nodes[i].inputs[j]]++;
        reader[arch->nodes[i].inputs[j]] = i;
      }
}

/* A 2×2, stride-2 max pool without padding. */
static gboolean
is_pool2 (const HgNode *node)
{
  return node->op == HG_OP_MAXPOOL && node->p.pool.kernel == 2 && node->p.pool.stride == 2 &&
         node->p.pool.padding == 0;
}

/* Training and exact inference: every node runs on the model's own
 * weights, except that
 * - a ReLU that is the sole reader of a conv, dense or batch-norm node
 *   runs as that node's epilogue (its backward pass is the same mask,
 *   taken from the fused output);
 * - a 2×2 max pool that is the sole reader of a batch norm (and its ReLU)
 *   is computed by the batch norm while its rows are in cache, and its
 *   backward pass takes the batch norm's gradient sums on the way. Both
 *   outputs are still kept. */
HgPlan *
hg_model_new_exact_plan (HgModel *model)
{
  HgArch *arch = model->arch;
  HgPlan *plan = plan_alloc (model, FALSE);
  int    *readers = g_new0 (int, arch->n_nodes);
  int    *reader = g_new0 (int, arch->n_nodes);

  count_readers (arch, readers, reader);
  for (int i = 1; i < arch->n_nodes; i++)
    {
      HgOpType op = arch->nodes[i].op;

      if ((op == HG_OP_CONV2D || op == HG_OP_DENSE || op == HG_OP_BATCHNORM) && readers[i] == 1 &&
          arch->nodes[reader[i]].op == HG_OP_RELU)
        {
          plan->steps[i].relu = TRUE;
          plan->steps[reader[i]].alias = i;
        }
    }
  for (int i = 1; i < arch->n_nodes; i++)
    if (arch->nodes[i].op == HG_OP_BATCHNORM && readers[i] == 1)
      {
        int next = plan->steps[i].relu ? (readers[reader[i]] == 1 ? reader[reader[i]] : -1)
                                       : reader[i];

        if (next > 0 && is_pool2 (&arch->nodes[next]))
          {
            plan->steps[i].pool_into = next;
            plan->steps[next].pooled_by = i;
          }
      }
  g_free (readers);
  g_free (reader);
  return plan;
}

HgPlan *
hg_model_new_plain_plan (HgModel *model)
{
  return plan_alloc (model, FALSE);
}

/* Inference only: fold each batch norm that is the sole reader of a
 * convolution into that convolution's weights and bias, turn the other
 * batch norms into a per-channel scale and shift, run a ReLU that is the
 * sole reader of a conv/dense/batch norm as its epilogue, and skip
 * dropout. The function computed is the same; the forward pass touches
 * memory once per layer instead of three times. */
static HgPlan *
build_inference_plan (HgModel *model)
{
  HgArch *arch = model->arch;
  HgPlan *plan = plan_alloc (model, TRUE);
  int    *readers = g_new0 (int, arch->n_nodes);
  int    *reader = g_new0 (int, arch->n_nodes);
  gsize   storage = 0, used = 0;

  count_readers (arch, readers, reader);

  for (int i = 0; i < arch->n_nodes; i++)
    {
      const HgNode *node = &arch->nodes[i];

      if (node->op == HG_OP_CONV2D)
        storage += (gsize) node->p.conv.out_channels * node->p.conv.kernel * node->p.conv.kernel *
                       arch->nodes[node->inputs[0]].shape.c +
                   node->p.conv.out_channels;
      else if (node->op == HG_OP_BATCHNORM)
        storage += 2 * (gsize) node->shape.c;
      if (hg_winograd_fits (node)) /* its forward and dx weights */
        storage += 2 * 16 * (gsize) node->p.conv.out_channels * arch->nodes[node->inputs[0]].shape.c;
    }
  plan->storage = g_new (float, MAX (storage, 1));

  for (int i = 1; i < arch->n_nodes; i++)
    {
      const HgNode *node = &arch->nodes[i];
      HgStep       *s = &plan->steps[i];
      int           next = readers[i] == 1 ? reader[i] : -1;

      switch (node->op)
        {
        case HG_OP_CONV2D:
          if (next >= 0 && arch->nodes[next].op == HG_OP_BATCHNORM)
            {
              const HgNode *bn = &arch->nodes[next];
              int           oc = node->p.conv.out_channels;
              gsize         k = (gsize) node->p.conv.kernel * node->p.conv.kernel *
                        arch->nodes[node->inputs[0]].shape.c;
              const float *gamma = model->params + bn->t.weight;
              const float *beta = model->params + bn->t.bias;
              const float *rm = model->buffers + bn->t.running_mean;
              const float *rv = model->buffers + bn->t.running_var;
              float       *w = plan->storage + used;
              float       *b = w + (gsize) oc * k;

              used += (gsize) oc * k + oc;
              for (int o = 0; o < oc; o++)
                {
                  float scale = gamma[o] / sqrtf (rv[o] + bn->p.bn.eps);
                  float bias = s->b != NULL ? s->b[o] : 0.0f;

                  for (gsize j = 0; j < k; j++)
                    w[o * k + j] = s->w[o * k + j] * scale;
                  b[o] = beta[o] + (bias - rm[o]) * scale;
                }
              s->w = w;
              s->b = b;
              plan->steps[next].alias = i;
              next = readers[next] == 1 ? reader[next] : -1;
            }
          if (next >= 0 && arch->nodes[next].op == HG_OP_RELU)
            {
              s->relu = TRUE;
              plan->steps[next].alias = i;
              next = readers[next] == 1 ? reader[next] : -1;
            }
          if (hg_winograd_fits (node))
            {
              int    oc = node->p.conv.out_channels, c = arch->nodes[node->inputs[0]].shape.c;
              gsize  size = 16 * (gsize) oc * c;
              float *u = plan->storage + used;

              used += 2 * size;
              hg_winograd_weights (s->w, oc, c, FALSE, u);
              hg_winograd_weights (s->w, oc, c, TRUE, u + size);
              s->wino = u;
              s->wino_dx = u + size;
            }
          /* a 2×2 max pool reading only this: pooled band by band */
          if (next >= 0 && is_pool2 (&arch->nodes[next]))
            {
              s->pool_into = next;
              plan->steps[next].pooled_by = i;
            }
          break;

        case HG_OP_BATCHNORM:
          if (s->alias != i)
            break; /* folded into its convolution */
          {
            int          c = node->shape.c;
            float       *scale = plan->storage + used;
            float       *shift = scale + c;
            const float *rm = model->buffers + node->t.running_mean;
            const float *rv = model->buffers + node->t.running_var;

            used += 2 * (gsize) c;
            for (int ch = 0; ch < c; ch++)
              {
                scale[ch] = s->w[ch] / sqrtf (rv[ch] + node->p.bn.eps);
                shift[ch] = s->b[ch] - rm[ch] * scale[ch];
              }
            s->scale = scale;
            s->shift = shift;
            if (next >= 0 && arch->nodes[next].op == HG_OP_RELU)
              {
                s->relu = TRUE;
                plan->steps[next].alias = i;
              }
          }
          break;

        case HG_OP_DENSE:
          if (next >= 0 && arch->nodes[next].op == HG_OP_RELU)
            {
              s->relu = TRUE;
              plan->steps[next].alias = i;
            }
          break;

        case HG_OP_DROPOUT:
          s->alias = plan->steps[node->inputs[0]].alias;
          break;

        case HG_OP_INPUT:
        case HG_OP_RELU:
        case HG_OP_MAXPOOL:
        case HG_OP_AVGPOOL:
        case HG_OP_GLOBAL_AVGPOOL:
        case HG_OP_CONCAT:
        case HG_OP_ADD:
        case HG_N_OPS:
        default:
          break;
        }
    }

  g_assert (used <= storage);
  g_free (readers);
  g_free (reader);
  return plan;
}

HgPlan *
hg_model_get_inference_plan (HgModel *model)
{
  HgPlan *plan;

  g_mutex_lock (&model->plan_lock);
  if (model->inference_plan == NULL || model->inference_plan->generation != model->generation)
    {
      g_clear_pointer (&model->inference_plan, hg_plan_unref);
      model->inference_plan = build_inference_plan (model);
      model->inference_plan->generation = model->generation;
    }
  plan = hg_plan_ref (model->inference_plan);
  g_mutex_unlock (&model->plan_lock);
  return plan;
}
