/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/hg-error.h"

#include "hg-arch-private.h"
#include "hg-file-private.h"
#include "hg-json-private.h"

/* Limits that keep every size computation far from overflow and refuse
 * descriptions no 2-core laptop could run anyway. */
#define MAX_NODES 4096
#define MAX_INPUTS 1024
#define MAX_NAME 64
#define MAX_SPATIAL 4096
#define MAX_CHANNELS 16384
#define MAX_KERNEL 15
#define MAX_STRIDE 8
#define MAX_ACTIVATION ((gsize) 1 << 28) /* floats per sample per node */
/* The engine lowers a convolution to im2col over bands of at least
 * `kernel` output rows (or 1024 pixels): each worker holds
 * K · max(1024, kernel · out_width) floats, K = kernel² · in_channels.
 * The limits above allow 10¹¹ of them; this keeps it to 256 MiB. */
#define MAX_IM2COL ((gsize) 1 << 26)
#define MAX_PARAMS ((gsize) 1 << 28) /* 1 GiB of float32 */
#define MAX_JSON_LENGTH ((gsize) 16 * 1024 * 1024)

static const char *const op_names[HG_N_OPS] = {
  [HG_OP_INPUT] = "input",
  [HG_OP_CONV2D] = "conv2d",
  [HG_OP_BATCHNORM] = "batchnorm",
  [HG_OP_RELU] = "relu",
  [HG_OP_MAXPOOL] = "maxpool",
  [HG_OP_AVGPOOL] = "avgpool",
  [HG_OP_GLOBAL_AVGPOOL] = "global_avgpool",
  [HG_OP_DENSE] = "dense",
  [HG_OP_DROPOUT] = "dropout",
  [HG_OP_CONCAT] = "concat",
  [HG_OP_ADD] = "add",
};

/* Keys each op accepts besides name, op and inputs. */
static const char *const op_keys[HG_N_OPS][6] = {
  [HG_OP_CONV2D] = { "channels", "kernel", "stride", "padding", "bias", NULL },
  [HG_OP_BATCHNORM] = { "eps", "momentum", NULL },
  [HG_OP_MAXPOOL] = { "kernel", "stride", "padding", NULL },
  [HG_OP_AVGPOOL] = { "kernel", "stride", "padding", NULL },
  [HG_OP_DENSE] = { "units", "bias", NULL },
  [HG_OP_DROPOUT] = { "rate", NULL },
};

const char *
hg_op_name (HgOpType op)
{
  return op < HG_N_OPS ? op_names[op] : "?";
}

static void
tensor_spec_free (gpointer data)
{
  HgTensorSpec *t = data;

  g_free (t->name);
  g_free (t);
}

HgArch *
hg_arch_ref (HgArch *arch)
{
  g_return_val_if_fail (arch != NULL, NULL);
  g_atomic_ref_count_inc (&arch->ref);
  return arch;
}

void
hg_arch_unref (HgArch *arch)
{
  if (arch == NULL || !g_atomic_ref_count_dec (&arch->ref))
    return;

  for (int i = 0; i < arch->n_nodes; i++)
    {
      g_free (arch->nodes[i].name);
      g_free (arch->nodes[i].inputs);
    }
  g_free (arch->nodes);
  g_free (arch->name);
  g_free (arch->json);
  g_clear_pointer (&arch->tensors, g_ptr_array_unref);
  g_free (arch);
}

const char *
hg_arch_get_name (HgArch *arch)
{
  return arch->name;
}

const char *
hg_arch_get_json (HgArch *arch)
{
  return arch->json;
}

void
hg_arch_get_input_size (HgArch *arch,
                        int    *height,
                        int    *width,
                        int    *channels)
{
  if (height != NULL)
    *height = arch->nodes[0].shape.h;
  if (width != NULL)
    *width = arch->nodes[0].shape.w;
  if (channels != NULL)
    *channels = arch->nodes[0].shape.c;
}

int
hg_arch_get_n_classes (HgArch *arch)
{
  return arch->n_classes;
}

gsize
hg_arch_get_n_params (HgArch *arch)
{
  return arch->n_params;
}

double
hg_arch_get_flops (HgArch *arch)
{
  return arch->flops;
}

/* ---- reading the description ------------------------------------------ */

typedef struct
{
  const char *what; /* "node 3 ('conv1')" */
  JsonObject *obj;
} NodeReader;

static gboolean
read_int (NodeReader *r,
          const char *key,
          gint64      fallback,
          gint64      min,
          gint64      max,
          int        *out,
          GError    **error)
{
  JsonNode *node = json_object_get_member (r->obj, key);
  gint64    v;

  if (node == NULL)
    {
      if (fallback < min)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("architecture: %s has no \"%s\""),
                       r->what, key);
          return FALSE;
        }
      *out = (int) fallback;
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: \"%s\" must be an integer"), r->what, key);
      return FALSE;
    }

  v = json_node_get_int (node);
  if (v < min || v > max)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: \"%s\" is %lld, not in [%lld, %lld]"),
                   r->what, key, (long long) v, (long long) min, (long long) max);
      return FALSE;
    }

  *out = (int) v;
  return TRUE;
}

static gboolean
read_float (NodeReader *r,
            const char *key,
            double      fallback,
            double      min,
            double      max,
            gboolean    max_inclusive,
            float      *out,
            GError    **error)
{
  JsonNode *node = json_object_get_member (r->obj, key);
  double    v;

  if (node == NULL)
    {
      *out = (float) fallback;
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || (json_node_get_value_type (node) != G_TYPE_DOUBLE &&
                                        json_node_get_value_type (node) != G_TYPE_INT64))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: \"%s\" must be a number"), r->what, key);
      return FALSE;
    }

  v = json_node_get_double (node);
  if (!isfinite (v) || v < min || v > max || (!max_inclusive && v == max))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: \"%s\" is %g, not in [%g, %g%c"), r->what, key, v, min, max,
                   max_inclusive ? ']' : ')');
      return FALSE;
    }

  *out = (float) v;
  return TRUE;
}

static gboolean
read_bool (NodeReader *r,
           const char *key,
           gboolean    fallback,
           gboolean   *out,
           GError    **error)
{
  JsonNode *node = json_object_get_member (r->obj, key);

  if (node == NULL)
    {
      *out = fallback;
      return TRUE;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: \"%s\" must be true or false"), r->what, key);
      return FALSE;
    }

  *out = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
valid_name (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > MAX_NAME)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '_' && name[i] != '-' && name[i] != '.')
      return FALSE;
  return TRUE;
}

static int
find_node (HgArch     *arch,
           int         before,
           const char *name)
{
  for (int i = 0; i < before; i++)
    if (strcmp (arch->nodes[i].name, name) == 0)
      return i;
  return -1;
}

static gboolean
check_keys (NodeReader *r,
            HgOpType    op,
            GError    **error)
{
  g_autoptr (GList) members = json_object_get_members (r->obj);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      gboolean    known = strcmp (key, "name") == 0 || strcmp (key, "op") == 0 ||
                       strcmp (key, "inputs") == 0;

      for (int i = 0; !known && op_keys[op][i] != NULL; i++)
        known = strcmp (key, op_keys[op][i]) == 0;

      if (!known)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("architecture: %s: unknown key \"%s\" for op \"%s\""), r->what, key,
                       op_names[op]);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
window_output (NodeReader *r,
               int         in,
               int         kernel,
               int         stride,
               int         padding,
               int        *out,
               GError    **error)
{
  int span = in + 2 * padding - kernel;

  if (span < 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: kernel %d does not fit an input of %d with padding %d"),
                   r->what, kernel, in, padding);
      return FALSE;
    }

  *out = span / stride + 1;
  return TRUE;
}

static gboolean
check_activation (NodeReader *r,
                  HgShape     s,
                  GError    **error)
{
  gsize n = (gsize) s.h * (gsize) s.w * (gsize) s.c;

  if (s.h < 1 || s.w < 1 || s.c < 1 || s.c > MAX_CHANNELS * 64 || n > MAX_ACTIVATION)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("architecture: %s: output %d×%d×%d is empty or too large"), r->what, s.h, s.w,
                   s.c);
      return FALSE;
    }
  return TRUE;
}

static void
add_tensor (HgArch      *arch,
            int          node,
            const char  *suffix,
            HgTensorKind kind,
            gboolean     trainable,
            gboolean     decay,
            int          n_dims,
            const gint64 dims[])
{
  HgTensorSpec *t = g_new0 (HgTensorSpec, 1);

  t->name = g_strdup_printf ("%s.%s", arch->nodes[node].name, suffix);
  t->kind = kind;
  t->trainable = trainable;
  t->decay = decay;
  t->node = node;
  t->n_dims = n_dims;
  t->numel = 1;
  for (int i = 0; i < n_dims; i++)
    {
      t->dims[i] = dims[i];
      t->numel *= (gsize) dims[i]; /* bounded by the per-op limits */
    }
  if (trainable)
    {
      t->offset = arch->n_params;
      arch->n_params += t->numel;
    }
  else
    {
      t->offset = arch->n_buffers;
      arch->n_buffers += t->numel;
    }
  g_ptr_array_add (arch->tensors, t);
}

static gboolean
parse_node (HgArch     *arch,
            int         index,
            JsonObject *obj,
            GError    **error)
{
  HgNode          *node = &arch->nodes[index];
  g_autofree char *what = NULL;
  NodeReader       r;
  const char      *name, *op_name;
  JsonNode        *inputs;
  HgShape          in;
  int              op;

  name = json_object_get_string_member_with_default (obj, "name", NULL);
  if (name == NULL || !valid_name (name))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: node %d needs a \"name\" of 1–%d letters, digits, '_', '-' or '.'"),
                   index, MAX_NAME);
      return FALSE;
    }
  if (find_node (arch, index, name) >= 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: node %d: the name '%s' is used twice"), index, name);
      return FALSE;
    }
  node->name = g_strdup (name);
  what = g_strdup_printf ("node %d ('%s')", index, name);
  r.what = what;
  r.obj = obj;

  op_name = json_object_get_string_member_with_default (obj, "op", NULL);
  if (op_name == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("architecture: %s has no \"op\""), what);
      return FALSE;
    }
  for (op = 1; op < HG_N_OPS; op++)
    if (strcmp (op_name, op_names[op]) == 0)
      break;
  if (op == HG_N_OPS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("architecture: %s: unknown op '%s'"),
                   what, op_name);
      return FALSE;
    }
  node->op = op;
  if (!check_keys (&r, op, error))
    return FALSE;

  /* Inputs: by name, the previous node by default. */
  inputs = json_object_get_member (obj, "inputs");
  if (inputs == NULL)
    {
      node->n_inputs = 1;
      node->inputs = g_new (int, 1);
      node->inputs[0] = index - 1;
    }
  else
    {
      JsonArray *array;
      guint      n;

      if (!JSON_NODE_HOLDS_ARRAY (inputs) ||
          (n = json_array_get_length (array = json_node_get_array (inputs))) == 0 ||
          n > MAX_INPUTS)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("architecture: %s: \"inputs\" must be a list of 1–%d node names"), what,
                       MAX_INPUTS);
          return FALSE;
        }
      node->n_inputs = (int) n;
      node->inputs = g_new (int, n);
      for (guint i = 0; i < n; i++)
        {
          JsonNode   *e = json_array_get_element (array, i);
          const char *in_name;

          if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("architecture: %s: input %u is not a node name"), what, i);
              return FALSE;
            }
          in_name = json_node_get_string (e);
          node->inputs[i] = find_node (arch, index, in_name);
          if (node->inputs[i] < 0)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("architecture: %s: input '%s' is not an earlier node"), what, in_name);
              return FALSE;
            }
        }
    }

  if ((op == HG_OP_CONCAT || op == HG_OP_ADD) ? node->n_inputs < 2 : node->n_inputs != 1)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: %s: op '%s' takes %s, not %d"), what, op_name,
                   (op == HG_OP_CONCAT || op == HG_OP_ADD) ? _ ("two or more inputs") : _ ("one input"),
                   node->n_inputs);
      return FALSE;
    }

  in = arch->nodes[node->inputs[0]].shape;
  node->shape = in;

  switch ((HgOpType) op)
    {
    case HG_OP_CONV2D:
      {
        HgConvParams *p = &node->p.conv;
        gint64        dims[4];

        if (!read_int (&r, "channels", -1, 1, MAX_CHANNELS, &p->out_channels, error) ||
            !read_int (&r, "kernel", 3, 1, MAX_KERNEL, &p->kernel, error) ||
            !read_int (&r, "stride", 1, 1, MAX_STRIDE, &p->stride, error) ||
            !read_int (&r, "padding", 0, 0, p->kernel - 1, &p->padding, error) ||
            !read_bool (&r, "bias", TRUE, &p->bias, error) ||
            !window_output (&r, in.h, p->kernel, p->stride, p->padding, &node->shape.h, error) ||
            !window_output (&r, in.w, p->kernel, p->stride, p->padding, &node->shape.w, error))
          return FALSE;
        node->shape.c = p->out_channels;
        if (in.c > MAX_CHANNELS)
          {
            g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                         _ ("architecture: %s: %d input channels exceed %d"), what, in.c, MAX_CHANNELS);
            return FALSE;
          }
        {
          gsize im2col = (gsize) p->kernel * p->kernel * in.c *
                         MAX (1024, (gsize) p->kernel * node->shape.w);

          if (im2col > MAX_IM2COL)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                           _ ("architecture: %s: a %d×%d convolution of %d channels over rows of %d "
                              "pixels needs %zu floats of scratch memory per thread "
                              "(the limit is %zu)"),
                           what, p->kernel, p->kernel, in.c, node->shape.w, im2col,
                           (gsize) MAX_IM2COL);
              return FALSE;
            }
        }
        dims[0] = p->out_channels;
        dims[1] = in.c;
        dims[2] = dims[3] = p->kernel;
        if ((gsize) dims[0] * dims[1] * dims[2] * dims[3] > MAX_PARAMS)
          {
            g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE, _ ("architecture: %s: weights too large"),
                         what);
            return FALSE;
          }
        add_tensor (arch, index, "weight", HG_TENSOR_CONV_WEIGHT, TRUE, TRUE, 4, dims);
        node->t.weight = ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
        if (p->bias)
          {
            add_tensor (arch, index, "bias", HG_TENSOR_PLAIN, TRUE, FALSE, 1, dims);
            node->t.bias = ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
          }
        arch->flops += 2.0 * node->shape.h * node->shape.w * node->shape.c * in.c * p->kernel *
                       p->kernel;
        break;
      }

    case HG_OP_BATCHNORM:
      {
        gint64 dims[1] = { in.c };

        if (!read_float (&r, "eps", 1e-5, 1e-12, 1.0, TRUE, &node->p.bn.eps, error) ||
            !read_float (&r, "momentum", 0.1, 0.0, 1.0, TRUE, &node->p.bn.momentum, error))
          return FALSE;
        add_tensor (arch, index, "weight", HG_TENSOR_PLAIN, TRUE, FALSE, 1, dims);
        node->t.weight = ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
        add_tensor (arch, index, "bias", HG_TENSOR_PLAIN, TRUE, FALSE, 1, dims);
        node->t.bias = ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
        add_tensor (arch, index, "running_mean", HG_TENSOR_PLAIN, FALSE, FALSE, 1, dims);
        node->t.running_mean =
            ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
        add_tensor (arch, index, "running_var", HG_TENSOR_PLAIN, FALSE, FALSE, 1, dims);
        node->t.running_var =
            ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
        break;
      }

    case HG_OP_RELU:
      break;

    case HG_OP_MAXPOOL:
    case HG_OP_AVGPOOL:
      {
        HgPoolParams *p = &node->p.pool;

        if (!read_int (&r, "kernel", 2, 1, MAX_KERNEL, &p->kernel, error) ||
            !read_int (&r, "stride", p->kernel, 1, MAX_KERNEL, &p->stride, error) ||
            !read_int (&r, "padding", 0, 0, p->kernel / 2, &p->padding, error) ||
            !window_output (&r, in.h, p->kernel, p->stride, p->padding, &node->shape.h, error) ||
            !window_output (&r, in.w, p->kernel, p->stride, p->padding, &node->shape.w, error))
          return FALSE;
        break;
      }

    case HG_OP_GLOBAL_AVGPOOL:
      node->shape.h = node->shape.w = 1;
      break;

    case HG_OP_DENSE:
      {
        HgDenseParams *p = &node->p.dense;
        gsize          n_in = (gsize) in.h * in.w * in.c;
        gint64         dims[2];

        if (!read_int (&r, "units", -1, 1, 65536, &p->units, error) ||
            !read_bool (&r, "bias", TRUE, &p->bias, error))
          return FALSE;
        if (n_in * (gsize) p->units > MAX_PARAMS)
          {
            g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                         _ ("architecture: %s: %zu×%d weights are too many"), what,
                         n_in, p->units);
            return FALSE;
          }
        node->shape.h = node->shape.w = 1;
        node->shape.c = p->units;
        dims[0] = p->units;
        dims[1] = (gint64) n_in;
        add_tensor (arch, index, "weight",
                    (in.h == 1 && in.w == 1) ? HG_TENSOR_PLAIN : HG_TENSOR_DENSE_WEIGHT, TRUE, TRUE,
                    2, dims);
        node->t.weight = ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
        if (p->bias)
          {
            add_tensor (arch, index, "bias", HG_TENSOR_PLAIN, TRUE, FALSE, 1, dims);
            node->t.bias = ((HgTensorSpec *) arch->tensors->pdata[arch->tensors->len - 1])->offset;
          }
        arch->flops += 2.0 * (double) n_in * p->units;
        break;
      }

    case HG_OP_DROPOUT:
      if (!read_float (&r, "rate", 0.5, 0.0, 1.0, FALSE, &node->p.dropout.rate, error))
        return FALSE;
      break;

    case HG_OP_CONCAT:
      node->shape.c = 0;
      for (int i = 0; i < node->n_inputs; i++)
        {
          HgShape s = arch->nodes[node->inputs[i]].shape;

          if (s.h != in.h || s.w != in.w)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("architecture: %s: input '%s' is %d×%d, not %d×%d like '%s'"), what,
                           arch->nodes[node->inputs[i]].name, s.h, s.w, in.h, in.w,
                           arch->nodes[node->inputs[0]].name);
              return FALSE;
            }
          node->shape.c += s.c;
          if (node->shape.c > MAX_CHANNELS)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                           _ ("architecture: %s: more than %d channels"), what, MAX_CHANNELS);
              return FALSE;
            }
        }
      break;

    case HG_OP_ADD:
      for (int i = 1; i < node->n_inputs; i++)
        {
          HgShape s = arch->nodes[node->inputs[i]].shape;

          if (s.h != in.h || s.w != in.w || s.c != in.c)
            {
              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("architecture: %s: input '%s' is %d×%d×%d, not %d×%d×%d like '%s'"), what,
                           arch->nodes[node->inputs[i]].name, s.h, s.w, s.c, in.h, in.w, in.c,
                           arch->nodes[node->inputs[0]].name);
              return FALSE;
            }
        }
      break;

    case HG_OP_INPUT:
    case HG_N_OPS:
    default:
      g_assert_not_reached ();
    }

  if (!check_activation (&r, node->shape, error))
    return FALSE;

  if (arch->n_params > MAX_PARAMS || arch->n_buffers > MAX_PARAMS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("architecture: more than %zu parameters"), (gsize) MAX_PARAMS);
      return FALSE;
    }

  return TRUE;
}

static void
build_canonical (HgArch *arch)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  HgShape in = arch->nodes[0].shape;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, arch->name);
  json_builder_set_member_name (b, "input");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, in.h);
  json_builder_add_int_value (b, in.w);
  json_builder_add_int_value (b, in.c);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (int i = 1; i < arch->n_nodes; i++)
    {
      const HgNode *n = &arch->nodes[i];

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, n->name);
      json_builder_set_member_name (b, "op");
      json_builder_add_string_value (b, op_names[n->op]);
      if (n->n_inputs != 1 || n->inputs[0] != i - 1)
        {
          json_builder_set_member_name (b, "inputs");
          json_builder_begin_array (b);
          for (int j = 0; j < n->n_inputs; j++)
            json_builder_add_string_value (b, arch->nodes[n->inputs[j]].name);
          json_builder_end_array (b);
        }

#define INT_MEMBER(key, v)                   \
  do                                         \
    {                                        \
      json_builder_set_member_name (b, key); \
      json_builder_add_int_value (b, v);     \
    }                                        \
  while (0)

      switch (n->op)
        {
        case HG_OP_CONV2D:
          INT_MEMBER ("channels", n->p.conv.out_channels);
          INT_MEMBER ("kernel", n->p.conv.kernel);
          INT_MEMBER ("stride", n->p.conv.stride);
          INT_MEMBER ("padding", n->p.conv.padding);
          json_builder_set_member_name (b, "bias");
          json_builder_add_boolean_value (b, n->p.conv.bias);
          break;
        case HG_OP_BATCHNORM:
          json_builder_set_member_name (b, "eps");
          json_builder_add_double_value (b, n->p.bn.eps);
          json_builder_set_member_name (b, "momentum");
          json_builder_add_double_value (b, n->p.bn.momentum);
          break;
        case HG_OP_MAXPOOL:
        case HG_OP_AVGPOOL:
          INT_MEMBER ("kernel", n->p.pool.kernel);
          INT_MEMBER ("stride", n->p.pool.stride);
          INT_MEMBER ("padding", n->p.pool.padding);
          break;
        case HG_OP_DENSE:
          INT_MEMBER ("units", n->p.dense.units);
          json_builder_set_member_name (b, "bias");
          json_builder_add_boolean_value (b, n->p.dense.bias);
          break;
        case HG_OP_DROPOUT:
          json_builder_set_member_name (b, "rate");
          json_builder_add_double_value (b, n->p.dropout.rate);
          break;
        case HG_OP_INPUT:
        case HG_OP_RELU:
        case HG_OP_GLOBAL_AVGPOOL:
        case HG_OP_CONCAT:
        case HG_OP_ADD:
        case HG_N_OPS:
        default:
          break;
        }
#undef INT_MEMBER
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  arch->json = hg_json_to_string (root);
}

HgArch *
hg_arch_new_from_json (const char *json,
                       gsize       length,
                       GError    **error)
{
  g_autoptr (HgArch) arch = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *obj;
  JsonNode   *input, *nodes;
  JsonArray  *input_a, *nodes_a;
  const char *name;
  guint       n_nodes;
  int         dims[3];

  if (length > MAX_JSON_LENGTH)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("architecture: description of %zu bytes exceeds %zu"),
                   length, MAX_JSON_LENGTH);
      return NULL;
    }

  root = hg_json_parse (json, length, "architecture", error);
  if (root == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: the description must be a JSON object"));
      return NULL;
    }
  obj = json_node_get_object (root);

  {
    g_autoptr (GList) members = json_object_get_members (obj);

    for (GList *l = members; l != NULL; l = l->next)
      if (strcmp (l->data, "name") != 0 && strcmp (l->data, "input") != 0 &&
          strcmp (l->data, "nodes") != 0 && strcmp (l->data, "description") != 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("architecture: unknown key \"%s\" (expected name, input, nodes, description)"),
                       (const char *) l->data);
          return NULL;
        }
  }

  name = json_object_get_string_member_with_default (obj, "name", NULL);
  if (name == NULL || !valid_name (name))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: \"name\" must be 1–%d letters, digits, '_', '-' or '.'"), MAX_NAME);
      return NULL;
    }

  input = json_object_get_member (obj, "input");
  if (input == NULL || !JSON_NODE_HOLDS_ARRAY (input) ||
      json_array_get_length (input_a = json_node_get_array (input)) != 3)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: \"input\" must be [height, width, channels]"));
      return NULL;
    }
  for (guint i = 0; i < 3; i++)
    {
      JsonNode *e = json_array_get_element (input_a, i);
      gint64    max = i < 2 ? MAX_SPATIAL : 16;

      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64 ||
          json_node_get_int (e) < 1 || json_node_get_int (e) > max)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("architecture: \"input\"[%u] must be an integer in [1, %lld]"),
                       i, (long long) max);
          return NULL;
        }
      dims[i] = (int) json_node_get_int (e);
    }

  nodes = json_object_get_member (obj, "nodes");
  if (nodes == NULL || !JSON_NODE_HOLDS_ARRAY (nodes) ||
      (n_nodes = json_array_get_length (nodes_a = json_node_get_array (nodes))) == 0 ||
      n_nodes >= MAX_NODES)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("architecture: \"nodes\" must be a list of 1–%d nodes"), MAX_NODES - 1);
      return NULL;
    }

  arch = g_new0 (HgArch, 1);
  g_atomic_ref_count_init (&arch->ref);
  arch->name = g_strdup (name);
  arch->tensors = g_ptr_array_new_with_free_func (tensor_spec_free);
  arch->n_nodes = (int) n_nodes + 1;
  arch->nodes = g_new0 (HgNode, arch->n_nodes);
  arch->nodes[0].op = HG_OP_INPUT;
  arch->nodes[0].name = g_strdup ("input");
  arch->nodes[0].shape = (HgShape){ dims[0], dims[1], dims[2] };

  for (guint i = 0; i < n_nodes; i++)
    {
      JsonNode *e = json_array_get_element (nodes_a, i);

      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("architecture: node %u is not a JSON object"), i + 1);
          return NULL;
        }
      if (!parse_node (arch, (int) i + 1, json_node_get_object (e), error))
        return NULL;
    }

  {
    HgNode *last = &arch->nodes[arch->n_nodes - 1];

    if (last->shape.h != 1 || last->shape.w != 1 || last->shape.c < 2)
      {
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                     _ ("architecture: the last node '%s' gives %d×%d×%d values, not one logit per "
                        "class (1×1×K, K ≥ 2)"),
                     last->name, last->shape.h, last->shape.w, last->shape.c);
        return NULL;
      }
    arch->n_classes = last->shape.c;
  }

  build_canonical (arch);
  return g_steal_pointer (&arch);
}

/* ---- built-in architectures ------------------------------------------- */

typedef struct
{
  const char *key;
  int         value;
  int         min, max;
} IntOption;

typedef struct
{
  JsonBuilder *b;
  char         prev[MAX_NAME + 1];
} ArchWriter;

static void
begin_node (ArchWriter *w,
            const char *name,
            const char *op)
{
  json_builder_begin_object (w->b);
  json_builder_set_member_name (w->b, "name");
  json_builder_add_string_value (w->b, name);
  json_builder_set_member_name (w->b, "op");
  json_builder_add_string_value (w->b, op);
  g_strlcpy (w->prev, name, sizeof w->prev);
}

static void
set_inputs (ArchWriter *w,
            int         n,
            char      **names)
{
  json_builder_set_member_name (w->b, "inputs");
  json_builder_begin_array (w->b);
  for (int i = 0; i < n; i++)
    json_builder_add_string_value (w->b, names[i]);
  json_builder_end_array (w->b);
}

static void
set_int (ArchWriter *w,
         const char *key,
         int         v)
{
  json_builder_set_member_name (w->b, key);
  json_builder_add_int_value (w->b, v);
}

/* Each helper returns the name of the node it added last (static buffer
 * in the writer), reading `from` (NULL: the previous node). */
static void
conv (ArchWriter *w,
      const char *name,
      const char *from,
      int         channels,
      int         kernel,
      int         stride,
      gboolean    bias)
{
  char *in = from != NULL ? g_strdup (from) : NULL;

  begin_node (w, name, "conv2d");
  if (in != NULL)
    set_inputs (w, 1, &in);
  set_int (w, "channels", channels);
  set_int (w, "kernel", kernel);
  set_int (w, "stride", stride);
  set_int (w, "padding", kernel / 2);
  json_builder_set_member_name (w->b, "bias");
  json_builder_add_boolean_value (w->b, bias);
  json_builder_end_object (w->b);
  g_free (in);
}

static void
simple (ArchWriter *w,
        const char *name,
        const char *op,
        const char *from)
{
  char *in = from != NULL ? g_strdup (from) : NULL;

  begin_node (w, name, op);
  if (in != NULL)
    set_inputs (w, 1, &in);
  json_builder_end_object (w->b);
  g_free (in);
}

static void
pool (ArchWriter *w,
      const char *name,
      const char *op,
      int         kernel)
{
  begin_node (w, name, op);
  set_int (w, "kernel", kernel);
  set_int (w, "stride", kernel);
  json_builder_end_object (w->b);
}

static void
dropout (ArchWriter *w,
         const char *name,
         double      rate)
{
  begin_node (w, name, "dropout");
  json_builder_set_member_name (w->b, "rate");
  json_builder_add_double_value (w->b, rate);
  json_builder_end_object (w->b);
}

static void
dense (ArchWriter *w,
       const char *name,
       int         units)
{
  begin_node (w, name, "dense");
  set_int (w, "units", units);
  json_builder_end_object (w->b);
}

static void
multi (ArchWriter *w,
       const char *name,
       const char *op,
       GPtrArray  *from)
{
  begin_node (w, name, op);
  set_inputs (w, (int) from->len, (char **) from->pdata);
  json_builder_end_object (w->b);
}

/* The default: three conv-BN-ReLU-maxpool stages (50 → 25 → 12 → 6), global
 * average pooling, dropout, a linear classifier. Channels 32-48-96 cost 34
 * MFLOP per 50×50 patch; width=32 (32-64-128, the reference network) costs
 * 49 (see README, "Choosing the default CNN"). */
static void
write_cnn (ArchWriter *w,
           const int   channels[3],
           int         hidden,
           int         dropout_pct,
           int         classes)
{
  for (int s = 0; s < 3; s++)
    {
      char name[32];

      g_snprintf (name, sizeof name, "conv%d", s + 1);
      conv (w, name, NULL, channels[s], 3, 1, FALSE);
      g_snprintf (name, sizeof name, "bn%d", s + 1);
      simple (w, name, "batchnorm", NULL);
      g_snprintf (name, sizeof name, "relu%d", s + 1);
      simple (w, name, "relu", NULL);
      g_snprintf (name, sizeof name, "pool%d", s + 1);
      pool (w, name, "maxpool", 2);
    }
  simple (w, "gap", "global_avgpool", NULL);
  if (hidden > 0)
    {
      dense (w, "fc1", hidden);
      simple (w, "fc1_relu", "relu", NULL);
    }
  if (dropout_pct > 0)
    dropout (w, "dropout", dropout_pct / 100.0);
  dense (w, "fc", classes);
}

static void
bn_relu_conv (ArchWriter *w,
              const char *prefix,
              const char *from,
              int         channels,
              int         kernel)
{
  g_autofree char *bn = g_strdup_printf ("%s_bn", prefix);
  g_autofree char *relu = g_strdup_printf ("%s_relu", prefix);
  g_autofree char *cv = g_strdup_printf ("%s_conv", prefix);

  simple (w, bn, "batchnorm", from);
  simple (w, relu, "relu", NULL);
  conv (w, cv, NULL, channels, kernel, 1, FALSE);
}

/* DenseNet-BC (Huang et al. 2017), scaled to 50×50 patches: a 3×3 stem at
 * full resolution and a max pool, then dense blocks at 25, 12 and 6 pixels. */
static void
write_densenet (ArchWriter *w,
                int         growth,
                int         layers,
                int         dropout_pct,
                int         classes)
{
  g_autoptr (GPtrArray) feats = g_ptr_array_new_with_free_func (g_free);
  int channels = 2 * growth;

  conv (w, "stem_conv", NULL, channels, 3, 1, FALSE);
  simple (w, "stem_bn", "batchnorm", NULL);
  simple (w, "stem_relu", "relu", NULL);
  pool (w, "stem_pool", "maxpool", 2);

  for (int blk = 1; blk <= 3; blk++)
    {
      g_ptr_array_set_size (feats, 0);
      g_ptr_array_add (feats, g_strdup (w->prev));
      for (int l = 1; l <= layers; l++)
        {
          g_autofree char *p1 = g_strdup_printf ("b%d_l%d_1", blk, l);
          g_autofree char *p2 = g_strdup_printf ("b%d_l%d_2", blk, l);
          g_autofree char *cat = g_strdup_printf ("b%d_l%d_cat", blk, l);
          const char      *from = NULL;

          if (feats->len > 1)
            {
              multi (w, cat, "concat", feats);
              from = NULL;
            }
          else
            from = feats->pdata[0];
          bn_relu_conv (w, p1, from, 4 * growth, 1);
          bn_relu_conv (w, p2, NULL, growth, 3);
          g_ptr_array_add (feats, g_strdup (w->prev));
          channels += growth;
        }
      {
        g_autofree char *cat = g_strdup_printf ("b%d_out", blk);

        multi (w, cat, "concat", feats);
      }
      if (blk < 3)
        {
          g_autofree char *t = g_strdup_printf ("t%d", blk);
          g_autofree char *tp = g_strdup_printf ("t%d_pool", blk);

          channels /= 2;
          bn_relu_conv (w, t, NULL, channels, 1);
          pool (w, tp, "avgpool", 2);
        }
    }
  simple (w, "final_bn", "batchnorm", NULL);
  simple (w, "final_relu", "relu", NULL);
  simple (w, "gap", "global_avgpool", NULL);
  if (dropout_pct > 0)
    dropout (w, "dropout", dropout_pct / 100.0);
  dense (w, "fc", classes);
}

/* ResNet (He et al. 2016) basic blocks, three stages at 25, 13 and 7 pixels. */
static void
write_resnet (ArchWriter *w,
              int         width,
              int         blocks,
              int         dropout_pct,
              int         classes)
{
  int channels = width;

  conv (w, "stem_conv", NULL, width, 3, 1, FALSE);
  simple (w, "stem_bn", "batchnorm", NULL);
  simple (w, "stem_relu", "relu", NULL);
  pool (w, "stem_pool", "maxpool", 2);

  for (int s = 1; s <= 3; s++)
    {
      int out = width << (s - 1);

      for (int b = 1; b <= blocks; b++)
        {
          g_autofree char *in = g_strdup (w->prev);
          g_autofree char *shortcut = g_strdup (in);
          g_autofree char *c1 = g_strdup_printf ("s%d_b%d_conv1", s, b);
          g_autofree char *n1 = g_strdup_printf ("s%d_b%d_bn1", s, b);
          g_autofree char *r1 = g_strdup_printf ("s%d_b%d_relu1", s, b);
          g_autofree char *c2 = g_strdup_printf ("s%d_b%d_conv2", s, b);
          g_autofree char *n2 = g_strdup_printf ("s%d_b%d_bn2", s, b);
          g_autofree char *add = g_strdup_printf ("s%d_b%d_add", s, b);
          g_autofree char *relu = g_strdup_printf ("s%d_b%d_relu", s, b);
          int              stride = (b == 1 && s > 1) ? 2 : 1;
          g_autoptr (GPtrArray) sum = g_ptr_array_new ();

          if (stride != 1 || channels != out)
            {
              g_autofree char *pc = g_strdup_printf ("s%d_b%d_proj", s, b);
              g_autofree char *pn = g_strdup_printf ("s%d_b%d_proj_bn", s, b);

              begin_node (w, pc, "conv2d");
              set_inputs (w, 1, &in);
              set_int (w, "channels", out);
              set_int (w, "kernel", 1);
              set_int (w, "stride", stride);
              set_int (w, "padding", 0);
              json_builder_set_member_name (w->b, "bias");
              json_builder_add_boolean_value (w->b, FALSE);
              json_builder_end_object (w->b);
              simple (w, pn, "batchnorm", NULL);
              g_free (shortcut);
              shortcut = g_strdup (pn);
            }

          conv (w, c1, in, out, 3, stride, FALSE);
          simple (w, n1, "batchnorm", NULL);
          simple (w, r1, "relu", NULL);
          conv (w, c2, NULL, out, 3, 1, FALSE);
          simple (w, n2, "batchnorm", NULL);
          g_ptr_array_add (sum, n2);
          g_ptr_array_add (sum, shortcut);
          multi (w, add, "add", sum);
          simple (w, relu, "relu", NULL);
          channels = out;
        }
    }
  simple (w, "gap", "global_avgpool", NULL);
  if (dropout_pct > 0)
    dropout (w, "dropout", dropout_pct / 100.0);
  dense (w, "fc", classes);
}

static const char *const builtin_names[] = { "cnn", "densenet", "resnet", NULL };

const char *const *
hg_arch_list_builtin (void)
{
  return builtin_names;
}

static gboolean
parse_options (const char *name,
               const char *text,
               IntOption  *opts,
               int         n_opts,
               int        *channels, /* "channels=A-B-C", or NULL: not an option */
               GError    **error)
{
  g_auto (GStrv) pairs = NULL;

  if (text == NULL || *text == '\0')
    return TRUE;

  pairs = g_strsplit (text, ",", -1);
  for (int i = 0; pairs[i] != NULL; i++)
    {
      char  *eq = strchr (pairs[i], '=');
      char  *end = NULL;
      gint64 v;
      int    j;

      if (eq == NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("architecture '%s': option '%s' is not KEY=VALUE"), name, pairs[i]);
          return FALSE;
        }
      *eq = '\0';
      if (channels != NULL && strcmp (pairs[i], "channels") == 0)
        {
          g_auto (GStrv) parts = g_strsplit (eq + 1, "-", -1);

          for (int c = 0; c < 3; c++)
            {
              v = parts[c] != NULL ? g_ascii_strtoll (parts[c], &end, 10) : 0;
              if (parts[c] == NULL || end == parts[c] || *end != '\0' || v < 1 || v > 4096 ||
                  (c == 2 && parts[3] != NULL))
                {
                  g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                               _ ("architecture '%s': channels=%s is not three sizes A-B-C in [1, 4096]"),
                               name, eq + 1);
                  return FALSE;
                }
              channels[c] = (int) v;
            }
          continue;
        }
      for (j = 0; j < n_opts; j++)
        if (strcmp (opts[j].key, pairs[i]) == 0)
          break;
      if (j == n_opts)
        {
          GString *known = g_string_new (NULL);

          for (int k = 0; k < n_opts; k++)
            g_string_append_printf (known, "%s%s", k ? ", " : "", opts[k].key);
          if (channels != NULL)
            g_string_append (known, ", channels");
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("architecture '%s': unknown option '%s' (known: %s)"), name, pairs[i],
                       known->str);
          g_string_free (known, TRUE);
          return FALSE;
        }
      v = g_ascii_strtoll (eq + 1, &end, 10);
      if (end == eq + 1 || *end != '\0' || v < opts[j].min || v > opts[j].max)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("architecture '%s': option %s=%s is not an integer in [%d, %d]"), name,
                       opts[j].key, eq + 1, opts[j].min, opts[j].max);
          return FALSE;
        }
      opts[j].value = (int) v;
    }

  return TRUE;
}

static HgArch *
new_builtin (const char *name,
             const char *options,
             GError    **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *json = NULL;
  ArchWriter       w = { b, "input" };
  IntOption        opts[6];
  int              n_opts = 0, size, classes;
  int              channels[3] = { 32, 48, 96 };

#define OPT(k, v, lo, hi) (opts[n_opts++] = (IntOption){ k, v, lo, hi })
  OPT ("size", 50, 8, 1024);
  OPT ("classes", 2, 2, 1000);
  if (strcmp (name, "cnn") == 0)
    {
      OPT ("width", 0, 1, 1024); /* 0: channels as given, by default 32-48-96 */
      OPT ("hidden", 0, 0, 4096);
      OPT ("dropout", 20, 0, 90); /* percent */
    }
  else if (strcmp (name, "densenet") == 0)
    {
      OPT ("growth", 12, 1, 256);
      OPT ("layers", 4, 1, 32);
      OPT ("dropout", 0, 0, 90);
    }
  else if (strcmp (name, "resnet") == 0)
    {
      OPT ("width", 16, 1, 512);
      OPT ("blocks", 2, 1, 16);
      OPT ("dropout", 0, 0, 90);
    }
  else
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("unknown architecture '%s' (built-in: cnn, densenet, resnet; or a .json file)"),
                   name);
      return NULL;
    }
#undef OPT

  if (!parse_options (name, options, opts, n_opts, strcmp (name, "cnn") == 0 ? channels : NULL,
                      error))
    return NULL;
  if (strcmp (name, "cnn") == 0 && opts[2].value > 0)
    {
      if (options != NULL && strstr (options, "channels=") != NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("architecture 'cnn': give width or channels, not both"));
          return NULL;
        }
      channels[0] = opts[2].value;
      channels[1] = 2 * opts[2].value;
      channels[2] = 4 * opts[2].value;
    }
  size = opts[0].value;
  classes = opts[1].value;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  json_builder_set_member_name (b, "input");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, size);
  json_builder_add_int_value (b, size);
  json_builder_add_int_value (b, 3);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  if (strcmp (name, "cnn") == 0)
    write_cnn (&w, channels, opts[3].value, opts[4].value, classes);
  else if (strcmp (name, "densenet") == 0)
    write_densenet (&w, opts[2].value, opts[3].value, opts[4].value, classes);
  else
    write_resnet (&w, opts[2].value, opts[3].value, opts[4].value, classes);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json = hg_json_to_string (root);
  return hg_arch_new_from_json (json, strlen (json), error);
}

HgArch *
hg_arch_new (const char *spec,
             GError    **error)
{
  g_autofree char *name = NULL;
  const char      *colon;

  if (spec == NULL || *spec == '\0')
    spec = "cnn";

  if (g_str_has_suffix (spec, ".json") || strchr (spec, '/') != NULL)
    {
      g_autoptr (GBytes) contents = NULL;
      g_autoptr (GError) local_error = NULL;
      const char *data;
      gsize       length;
      HgArch     *arch;

      contents = hg_file_read (spec, MAX_JSON_LENGTH, &local_error);
      if (contents == NULL)
        {
          g_set_error (error, HG_ERROR, local_error->code,
                       _ ("cannot read architecture file '%s': %s"), spec, local_error->message);
          return NULL;
        }
      data = g_bytes_get_data (contents, &length);
      arch = hg_arch_new_from_json (data, length, &local_error);
      if (arch == NULL)
        {
          g_set_error (error, HG_ERROR, local_error->code, "%s: %s", spec, local_error->message);
          return NULL;
        }
      return arch;
    }

  colon = strchr (spec, ':');
  name = colon != NULL ? g_strndup (spec, colon - spec) : g_strdup (spec);
  return new_builtin (name, colon != NULL ? colon + 1 : NULL, error);
}
