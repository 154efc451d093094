/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Defence chains: parsing, application in front of a model, and the
 * (BPDA) backward pass adaptive attacks use. */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histoguard/hg-defense.h"
#include "histoguard/hg-error.h"

struct _HgDefense
{
  gatomicrefcount ref_count;
  guint           n_transforms;
  HgTransform     transforms[HG_DEFENSE_MAX_TRANSFORMS];
  char           *spec;
};

typedef struct
{
  const char     *name;
  HgTransformKind kind;
  double          fallback; /* value when none is written */
  double          min, max;
  gboolean        integer;
  gboolean        odd;
  const char     *what; /* the parameter, for messages */
} TransformInfo;

static const TransformInfo transform_info[] = {
  { "jpeg", HG_TRANSFORM_JPEG, 75, 1, 100, TRUE, FALSE, N_ ("quality") },
  { "median", HG_TRANSFORM_MEDIAN, 3, 3, 15, TRUE, TRUE, N_ ("kernel size") },
  { "blur", HG_TRANSFORM_BLUR, 1, 0, 10, FALSE, FALSE, N_ ("sigma (pixels)") },
  { "bits", HG_TRANSFORM_BITS, 4, 1, 8, TRUE, FALSE, N_ ("bit depth") },
  { "tv", HG_TRANSFORM_TV, 0.1, 0, 10, FALSE, FALSE, N_ ("weight") },
  { "noise", HG_TRANSFORM_NOISE, 8, 0, 128, FALSE, FALSE, N_ ("sigma (1/255)") },
};

#define KNOWN_DEFENSES "none, jpeg:QUALITY, median:K, blur:SIGMA, bits:B, tv:WEIGHT, noise:SIGMA"

static const TransformInfo *
info_for_kind (HgTransformKind kind)
{
  for (gsize i = 0; i < G_N_ELEMENTS (transform_info); i++)
    if (transform_info[i].kind == kind)
      return &transform_info[i];
  g_return_val_if_reached (NULL);
}

static char *
format_transform (const HgTransform *t)
{
  const TransformInfo *info = info_for_kind (t->kind);
  char                 value[G_ASCII_DTOSTR_BUF_SIZE];

  if (info->integer)
    return g_strdup_printf ("%s:%d", info->name, (int) t->param);
  /* Shortest round-tripping form: "blur:1.5", not "blur:1.500000". */
  g_ascii_formatd (value, sizeof value, "%.6g", t->param);
  return g_strdup_printf ("%s:%s", info->name, value);
}

static gboolean
parse_transform (const char  *item,
                 const char  *spec,
                 HgTransform *out,
                 GError     **error)
{
  g_auto (GStrv) parts = g_strsplit (item, ":", 2);
  const char          *name = parts[0];
  const char          *text = parts[1];
  const TransformInfo *info = NULL;
  double               value;

  for (gsize i = 0; i < G_N_ELEMENTS (transform_info); i++)
    if (g_ascii_strcasecmp (transform_info[i].name, name) == 0)
      info = &transform_info[i];

  if (info == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("unknown defense '%s' in '%s' (known: %s; chain with '+')"),
                   name, spec, KNOWN_DEFENSES);
      return FALSE;
    }

  if (text == NULL)
    value = info->fallback;
  else
    {
      char *end = NULL;

      value = g_ascii_strtod (text, &end);
      if (*text == '\0' || end == NULL || *end != '\0' || !isfinite (value))
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("%s %s '%s' in '%s' is not a number"), info->name, _ (info->what), text, spec);
          return FALSE;
        }
    }

  if (info->integer && value != floor (value))
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("%s %s must be a whole number, got '%s' in '%s'"), info->name, _ (info->what), text, spec);
      return FALSE;
    }
  /* Integer ranges are inclusive; real ones exclude their lower end. */
  if (value > info->max || (info->integer ? value < info->min : value <= info->min))
    {
      if (info->integer)
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                     _ ("%s %s must be from %g to %g, got '%s' in '%s'"),
                     info->name, _ (info->what), info->min, info->max, text, spec);
      else
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                     _ ("%s %s must be above %g and at most %g, got '%s' in '%s'"),
                     info->name, _ (info->what), info->min, info->max, text, spec);
      return FALSE;
    }
  if (info->odd && ((long) value & 1) == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("%s %s must be odd, got '%s' in '%s'"), info->name, _ (info->what), text, spec);
      return FALSE;
    }

  out->kind = info->kind;
  out->param = value;
  return TRUE;
}

HgDefense *
hg_defense_parse (const char *spec,
                  GError    **error)
{
  g_autoptr (HgDefense) defense = NULL;
  g_auto (GStrv) items = NULL;
  g_autoptr (GString) canonical = NULL;

  g_return_val_if_fail (spec != NULL, NULL);

  defense = g_new0 (HgDefense, 1);
  g_atomic_ref_count_init (&defense->ref_count);

  if (*spec == '\0')
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("empty defense (known: %s)"), KNOWN_DEFENSES);
      return NULL;
    }

  if (g_ascii_strcasecmp (spec, "none") == 0)
    {
      defense->spec = g_strdup ("none");
      return g_steal_pointer (&defense);
    }

  items = g_strsplit (spec, "+", -1);
  canonical = g_string_new (NULL);
  for (guint i = 0; items[i] != NULL; i++)
    {
      g_autofree char *formatted = NULL;

      if (*items[i] == '\0')
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("empty step in defense chain '%s'"), spec);
          return NULL;
        }
      if (g_ascii_strcasecmp (items[i], "none") == 0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("'none' cannot be part of the chain '%s'"), spec);
          return NULL;
        }
      if (i >= HG_DEFENSE_MAX_TRANSFORMS)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                       _ ("defense chain '%s' is longer than %d steps"), spec, HG_DEFENSE_MAX_TRANSFORMS);
          return NULL;
        }
      if (!parse_transform (items[i], spec, &defense->transforms[i], error))
        return NULL;
      defense->n_transforms = i + 1;

      formatted = format_transform (&defense->transforms[i]);
      if (i > 0)
        g_string_append_c (canonical, '+');
      g_string_append (canonical, formatted);
    }

  defense->spec = g_string_free (g_steal_pointer (&canonical), FALSE);
  return g_steal_pointer (&defense);
}

GPtrArray *
hg_defense_parse_list (const char *list,
                       GError    **error)
{
  g_autoptr (GPtrArray) defenses = g_ptr_array_new_with_free_func ((GDestroyNotify) hg_defense_unref);
  g_auto (GStrv) items = NULL;

  g_return_val_if_fail (list != NULL, NULL);

  items = g_strsplit (list, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      char      *item = g_strstrip (items[i]);
      HgDefense *defense = hg_defense_parse (item, error);

      if (defense == NULL)
        return NULL;
      g_ptr_array_add (defenses, defense);
    }
  if (defenses->len == 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("empty list of defenses (known: %s)"), KNOWN_DEFENSES);
      return NULL;
    }
  return g_steal_pointer (&defenses);
}

HgDefense *
hg_defense_ref (HgDefense *defense)
{
  g_return_val_if_fail (defense != NULL, NULL);

  g_atomic_ref_count_inc (&defense->ref_count);
  return defense;
}

void
hg_defense_unref (HgDefense *defense)
{
  g_return_if_fail (defense != NULL);

  if (g_atomic_ref_count_dec (&defense->ref_count))
    {
      g_free (defense->spec);
      g_free (defense);
    }
}

const char *
hg_defense_get_spec (const HgDefense *defense)
{
  g_return_val_if_fail (defense != NULL, NULL);
  return defense->spec;
}

guint
hg_defense_get_n_transforms (const HgDefense *defense)
{
  g_return_val_if_fail (defense != NULL, 0);
  return defense->n_transforms;
}

const HgTransform *
hg_defense_get_transform (const HgDefense *defense,
                          guint            index)
{
  g_return_val_if_fail (defense != NULL, NULL);
  g_return_val_if_fail (index < defense->n_transforms, NULL);
  return &defense->transforms[index];
}

gboolean
hg_defense_is_identity (const HgDefense *defense)
{
  g_return_val_if_fail (defense != NULL, TRUE);
  return defense->n_transforms == 0;
}

gboolean
hg_defense_is_randomized (const HgDefense *defense)
{
  g_return_val_if_fail (defense != NULL, FALSE);

  for (guint i = 0; i < defense->n_transforms; i++)
    if (defense->transforms[i].kind == HG_TRANSFORM_NOISE)
      return TRUE;
  return FALSE;
}

gboolean
hg_defense_is_differentiable (const HgDefense *defense)
{
  g_return_val_if_fail (defense != NULL, TRUE);

  for (guint i = 0; i < defense->n_transforms; i++)
    switch (defense->transforms[i].kind)
      {
      case HG_TRANSFORM_BLUR:
      case HG_TRANSFORM_NOISE:
        break;
      case HG_TRANSFORM_JPEG:
      case HG_TRANSFORM_MEDIAN:
      case HG_TRANSFORM_BITS:
      case HG_TRANSFORM_TV:
      default:
        return FALSE;
      }
  return TRUE;
}

static void
apply_transform (const HgTransform *t,
                 const float       *in,
                 int                width,
                 int                height,
                 guint64            seed,
                 guint64            stream,
                 float             *out)
{
  gsize floats = (gsize) 3 * width * height;

  switch (t->kind)
    {
    case HG_TRANSFORM_JPEG:
      hg_jpeg_round_trip (in, width, height, (int) t->param, out);
      break;
    case HG_TRANSFORM_MEDIAN:
      hg_median_filter (in, width, height, (int) t->param, out);
      break;
    case HG_TRANSFORM_BLUR:
      hg_gaussian_blur (in, width, height, t->param, out);
      break;
    case HG_TRANSFORM_BITS:
      hg_bit_depth_reduce (in, floats, (int) t->param, out);
      break;
    case HG_TRANSFORM_TV:
      hg_tv_denoise (in, width, height, t->param, out);
      break;
    case HG_TRANSFORM_NOISE:
      hg_gaussian_noise (in, floats, t->param, seed, stream, out);
      break;
    default:
      g_assert_not_reached ();
    }
}

void
hg_defense_apply (const HgDefense *defense,
                  const float     *in,
                  gsize            n,
                  int              width,
                  int              height,
                  guint64          seed,
                  float           *out)
{
  gsize  floats;
  float *tmp;

  g_return_if_fail (defense != NULL);
  g_return_if_fail (width > 0 && height > 0 && width <= 16384 && height <= 16384);

  floats = (gsize) 3 * width * height;
  if (defense->n_transforms == 0)
    {
      if (out != in)
        memmove (out, in, n * floats * sizeof (float));
      return;
    }

  /* Ping-pong through one scratch image; the transforms need distinct
   * input and output buffers. */
  tmp = g_new (float, floats);
  for (gsize i = 0; i < n; i++)
    {
      const float *src = in + i * floats;
      float       *dst = out + i * floats;

      for (guint t = 0; t < defense->n_transforms; t++)
        {
          /* Write so that the last step lands in dst. */
          gboolean to_dst = ((defense->n_transforms - 1 - t) & 1) == 0;
          float   *target = to_dst ? dst : tmp;

          if (src == target)
            {
              /* Only possible at t = 0 when in == out. */
              memcpy (to_dst ? tmp : dst, src, floats * sizeof (float));
              src = to_dst ? tmp : dst;
            }
          apply_transform (&defense->transforms[t], src, width, height, seed, i, target);
          src = target;
        }
    }
  g_free (tmp);
}

void
hg_defense_backward (const HgDefense *defense,
                     const float     *grad_out,
                     gsize            n,
                     int              width,
                     int              height,
                     float           *grad_in)
{
  gsize  floats, plane;
  float *tmp = NULL;

  g_return_if_fail (defense != NULL);
  g_return_if_fail (width > 0 && height > 0 && width <= 16384 && height <= 16384);

  plane = (gsize) width * height;
  floats = 3 * plane;
  if (grad_in != grad_out)
    memmove (grad_in, grad_out, n * floats * sizeof (float));

  /* Only blur is not the identity here; the chain runs right to left. */
  for (guint t = defense->n_transforms; t-- > 0;)
    {
      const HgTransform *tr = &defense->transforms[t];

      if (tr->kind != HG_TRANSFORM_BLUR)
        continue;
      if (tmp == NULL)
        tmp = g_new (float, floats);
      for (gsize i = 0; i < n; i++)
        {
          memcpy (tmp, grad_in + i * floats, floats * sizeof (float));
          hg_gaussian_blur_backward (tmp, width, height, tr->param, grad_in + i * floats);
        }
    }
  g_free (tmp);
}
