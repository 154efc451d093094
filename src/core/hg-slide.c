/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-pixels.h"

#include "hg-slide-private.h"

/* Patches are indexed in square buckets of this many level-0 pixels. */
#define PATCH_BUCKET 64

typedef struct
{
  gint64 width;
  gint64 height;
  double downsample;
} HgSlideLevel;

typedef struct
{
  char  *name;
  gint64 width;
  gint64 height;
} HgSlideAssociated;

struct _HgSlide
{
  GObject parent_instance;

  guint64       id;
  char         *path;
  char         *name;
  char         *vendor;
  HgSlideSource source;

  const HgSlideBackend *backend;
  gpointer              backend_data;

  GArray     *levels;     /* HgSlideLevel */
  GHashTable *properties; /* name → value */
  char      **property_names;
  GArray     *associated; /* HgSlideAssociated */
  char      **associated_names;

  double mpp_x;
  double mpp_y;
  double objective_power;

  GArray     *patches;       /* HgSlidePatch, or NULL */
  GPtrArray  *patch_files;   /* char *, parallel to patches */
  GHashTable *patch_buckets; /* bucket key → GArray of guint patch indices */
};

G_DEFINE_FINAL_TYPE (HgSlide, hg_slide, G_TYPE_OBJECT)

static guint64 next_slide_id = 1;
G_LOCK_DEFINE_STATIC (next_slide_id);

static void
associated_clear (gpointer data)
{
  HgSlideAssociated *assoc = data;

  g_free (assoc->name);
}

static void
hg_slide_finalize (GObject *object)
{
  HgSlide *self = HG_SLIDE (object);

  if (self->backend != NULL && self->backend->free != NULL)
    self->backend->free (self->backend_data);

  g_free (self->path);
  g_free (self->name);
  g_free (self->vendor);
  g_array_unref (self->levels);
  g_hash_table_unref (self->properties);
  g_strfreev (self->property_names);
  g_array_unref (self->associated);
  g_strfreev (self->associated_names);
  g_clear_pointer (&self->patches, g_array_unref);
  g_clear_pointer (&self->patch_files, g_ptr_array_unref);
  g_clear_pointer (&self->patch_buckets, g_hash_table_unref);

  G_OBJECT_CLASS (hg_slide_parent_class)->finalize (object);
}

static void
hg_slide_class_init (HgSlideClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hg_slide_finalize;
}

static void
hg_slide_init (HgSlide *self)
{
  G_LOCK (next_slide_id);
  self->id = next_slide_id++;
  G_UNLOCK (next_slide_id);
  self->levels = g_array_new (FALSE, TRUE, sizeof (HgSlideLevel));
  self->properties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->associated = g_array_new (FALSE, TRUE, sizeof (HgSlideAssociated));
  g_array_set_clear_func (self->associated, associated_clear);
}

/* Building, for the sources. */

HgSlide *
_hg_slide_new (const char   *path,
               HgSlideSource source,
               const char   *vendor)
{
  HgSlide *self = g_object_new (HG_TYPE_SLIDE, NULL);

  self->path = g_strdup (path);
  self->name = g_path_get_basename (path);
  self->source = source;
  self->vendor = g_strdup (vendor);

  return self;
}

void
_hg_slide_set_backend (HgSlide              *self,
                       const HgSlideBackend *backend,
                       gpointer              data)
{
  g_assert (self->backend == NULL);

  self->backend = backend;
  self->backend_data = data;
}

void
_hg_slide_add_level (HgSlide *self,
                     gint64   width,
                     gint64   height,
                     double   downsample)
{
  HgSlideLevel level = { width, height, downsample };

  g_array_append_val (self->levels, level);
}

void
_hg_slide_set_property (HgSlide    *self,
                        const char *name,
                        const char *value)
{
  g_hash_table_insert (self->properties, g_strdup (name), g_strdup (value));
}

void
_hg_slide_add_associated (HgSlide    *self,
                          const char *name,
                          gint64      width,
                          gint64      height)
{
  HgSlideAssociated assoc = { g_strdup (name), width, height };

  g_array_append_val (self->associated, assoc);
}

void
_hg_slide_set_mpp (HgSlide *self,
                   double   mpp_x,
                   double   mpp_y)
{
  self->mpp_x = mpp_x;
  self->mpp_y = mpp_y;
}

void
_hg_slide_set_objective_power (HgSlide *self,
                               double   power)
{
  self->objective_power = power;
}

static guint64
bucket_key (gint64 bx,
            gint64 by)
{
  return ((guint64) (guint32) by << 32) | (guint32) bx;
}

static guint
bucket_hash (gconstpointer key)
{
  return g_int64_hash (key);
}

void
_hg_slide_set_patches (HgSlide   *self,
                       GArray    *patches,
                       GPtrArray *files)
{
  g_assert (patches->len == files->len);

  self->patches = patches;
  self->patch_files = files;
  self->patch_buckets = g_hash_table_new_full (bucket_hash, g_int64_equal, g_free,
                                               (GDestroyNotify) g_array_unref);

  for (guint i = 0; i < patches->len; i++)
    {
      const HgSlidePatch *p = &g_array_index (patches, HgSlidePatch, i);

      for (gint64 by = p->y / PATCH_BUCKET; by <= (p->y + p->height - 1) / PATCH_BUCKET; by++)
        for (gint64 bx = p->x / PATCH_BUCKET; bx <= (p->x + p->width - 1) / PATCH_BUCKET; bx++)
          {
            guint64 key = bucket_key (bx, by);
            GArray *bucket = g_hash_table_lookup (self->patch_buckets, &key);

            if (bucket == NULL)
              {
                bucket = g_array_new (FALSE, FALSE, sizeof (guint));
                g_hash_table_insert (self->patch_buckets, g_memdup2 (&key, sizeof key), bucket);
              }
            g_array_append_val (bucket, i);
          }
    }
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Called once a source has built the slide: freezes the name lists. */
static void
hg_slide_seal (HgSlide *self)
{
  guint n = 0;

  self->property_names = (char **) g_hash_table_get_keys_as_array (self->properties, &n);
  /* The keys belong to the table: copy them so the strv is ours. */
  for (guint i = 0; i < n; i++)
    self->property_names[i] = g_strdup (self->property_names[i]);
  qsort (self->property_names, n, sizeof (char *), compare_strings);

  self->associated_names = g_new0 (char *, self->associated->len + 1);
  for (guint i = 0; i < self->associated->len; i++)
    self->associated_names[i] = g_strdup (g_array_index (self->associated, HgSlideAssociated, i).name);
}

/* Opening. */

static gboolean
has_whole_slide_suffix (const char *name)
{
  static const char *const suffixes[] = { ".svs", ".ndpi", ".mrxs", ".scn", ".vms", ".vmu",
                                          ".bif", ".svslide" };
  g_autofree char         *lower = g_ascii_strdown (name, -1);

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (lower, suffixes[i]))
      return TRUE;

  return FALSE;
}

/* Says, as well as the first bytes tell, why nobody could read the file. */
static void
set_unreadable_error (const char *path,
                      const char *name,
                      GError    **error)
{
  guint8   head[256] = { 0 };
  gssize   n = 0;
  FILE    *file = g_fopen (path, "rb");
  gboolean text = TRUE;

  if (file != NULL)
    {
      n = (gssize) fread (head, 1, sizeof head, file);
      fclose (file);
    }

  for (gssize i = 0; i < n; i++)
    if (head[i] < 0x20 && head[i] != '\n' && head[i] != '\r' && head[i] != '\t')
      text = FALSE;

  if (n >= 4 && (memcmp (head, "II*\0", 4) == 0 || memcmp (head, "MM\0*", 4) == 0 ||
                 memcmp (head, "II+\0", 4) == 0 || memcmp (head, "MM\0+", 4) == 0))
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                 _ ("“%s” is a TIFF file, but not a slide or image Histoguard can read: it is "
                    "probably truncated or damaged"),
                 name);
  else if (n > 0 && text)
    g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("“%s” is a text file, not a slide"),
                 name);
  else
    g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                 _ ("“%s” is neither a whole-slide file OpenSlide reads (SVS, NDPI, MRXS, SCN, "
                    "VMS, BIF, tiled TIFF) nor an image (PNG, JPEG, TIFF)"),
                 name);
}

HgSlide *
hg_slide_open (const char   *path,
               GCancellable *cancellable,
               GError      **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *name = NULL;
  HgSlide         *self = NULL;
  GStatBuf         st;

  g_return_val_if_fail (path != NULL, NULL);

  name = g_path_get_basename (path);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("“%s” cannot be opened: %s"), path,
                   g_strerror (saved));
      return NULL;
    }

  if (S_ISDIR (st.st_mode))
    self = _hg_slide_patches_open (path, cancellable, error);
  else if (!S_ISREG (st.st_mode))
    g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("“%s” is not a regular file"), name);
  else if (st.st_size == 0)
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                 _ ("“%s” is empty (0 bytes): it holds no slide"), name);
  else if ((self = _hg_slide_openslide_open (path, &local_error)) == NULL &&
           g_error_matches (local_error, HG_ERROR, HG_ERROR_UNSUPPORTED))
    {
      /* GdkPixbuf reads a truncated SVS as a plain TIFF of garbage: files
       * named as whole slides go to OpenSlide only. */
      g_clear_error (&local_error);
      if (!has_whole_slide_suffix (name))
        self = _hg_slide_image_open (path, cancellable, &local_error);
      if (self == NULL && (local_error == NULL ||
                           g_error_matches (local_error, HG_ERROR, HG_ERROR_UNSUPPORTED)))
        {
          g_clear_error (&local_error);
          set_unreadable_error (path, name, error);
        }
    }

  if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));

  if (self == NULL)
    return NULL;

  hg_slide_seal (self);
  return self;
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError  *error = NULL;
  HgSlide *slide = hg_slide_open (task_data, cancellable, &error);

  if (slide == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, slide, g_object_unref);
}

void
hg_slide_open_async (const char         *path,
                     GCancellable       *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer            user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, hg_slide_open_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_thread);
}

HgSlide *
hg_slide_open_finish (GAsyncResult *result,
                      GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hg_slide_open_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Properties. */

guint64
hg_slide_get_id (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), 0);

  return self->id;
}

const char *
hg_slide_get_path (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  return self->path;
}

const char *
hg_slide_get_name (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  return self->name;
}

HgSlideSource
hg_slide_get_source (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), HG_SLIDE_SOURCE_OPENSLIDE);

  return self->source;
}

const char *
hg_slide_get_vendor (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  return self->vendor;
}

int
hg_slide_get_level_count (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), 0);

  return (int) self->levels->len;
}

static const HgSlideLevel *
get_level (HgSlide *self,
           int      level)
{
  if (level < 0 || (guint) level >= self->levels->len)
    return NULL;

  return &g_array_index (self->levels, HgSlideLevel, level);
}

void
hg_slide_get_level_size (HgSlide *self,
                         int      level,
                         gint64  *width,
                         gint64  *height)
{
  const HgSlideLevel *l;

  g_return_if_fail (HG_IS_SLIDE (self));

  l = get_level (self, level);
  g_return_if_fail (l != NULL);

  if (width != NULL)
    *width = l->width;
  if (height != NULL)
    *height = l->height;
}

double
hg_slide_get_level_downsample (HgSlide *self,
                               int      level)
{
  const HgSlideLevel *l;

  g_return_val_if_fail (HG_IS_SLIDE (self), 1.0);

  l = get_level (self, level);
  g_return_val_if_fail (l != NULL, 1.0);

  return l->downsample;
}

int
hg_slide_get_best_level (HgSlide *self,
                         double   downsample)
{
  int best = 0;

  g_return_val_if_fail (HG_IS_SLIDE (self), 0);

  /* A little slack so that a level with downsample 4.0003 counts as 4. */
  for (guint i = 1; i < self->levels->len; i++)
    if (g_array_index (self->levels, HgSlideLevel, i).downsample <= downsample * 1.001)
      best = (int) i;

  return best;
}

void
hg_slide_get_tile_grid (HgSlide *self,
                        int      level,
                        gint64  *columns,
                        gint64  *rows)
{
  const HgSlideLevel *l;

  g_return_if_fail (HG_IS_SLIDE (self));

  l = get_level (self, level);
  g_return_if_fail (l != NULL);

  if (columns != NULL)
    *columns = (l->width + HG_SLIDE_TILE_SIZE - 1) / HG_SLIDE_TILE_SIZE;
  if (rows != NULL)
    *rows = (l->height + HG_SLIDE_TILE_SIZE - 1) / HG_SLIDE_TILE_SIZE;
}

gboolean
hg_slide_get_mpp (HgSlide *self,
                  double  *mpp_x,
                  double  *mpp_y)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), FALSE);

  if (mpp_x != NULL)
    *mpp_x = self->mpp_x;
  if (mpp_y != NULL)
    *mpp_y = self->mpp_y;

  return self->mpp_x > 0 && self->mpp_y > 0;
}

double
hg_slide_get_objective_power (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), 0);

  return self->objective_power;
}

const char *const *
hg_slide_get_property_names (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  return (const char *const *) self->property_names;
}

const char *
hg_slide_get_property (HgSlide    *self,
                       const char *name)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->properties, name);
}

const char *const *
hg_slide_get_associated_names (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  return (const char *const *) self->associated_names;
}

static const HgSlideAssociated *
find_associated (HgSlide    *self,
                 const char *name)
{
  for (guint i = 0; i < self->associated->len; i++)
    {
      const HgSlideAssociated *assoc = &g_array_index (self->associated, HgSlideAssociated, i);

      if (g_strcmp0 (assoc->name, name) == 0)
        return assoc;
    }

  return NULL;
}

gboolean
hg_slide_get_associated_size (HgSlide    *self,
                              const char *name,
                              gint64     *width,
                              gint64     *height)
{
  const HgSlideAssociated *assoc;

  g_return_val_if_fail (HG_IS_SLIDE (self), FALSE);

  assoc = find_associated (self, name);
  if (assoc == NULL)
    return FALSE;

  if (width != NULL)
    *width = assoc->width;
  if (height != NULL)
    *height = assoc->height;

  return TRUE;
}

HgImage *
hg_slide_read_associated (HgSlide    *self,
                          const char *name,
                          GError    **error)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (find_associated (self, name) == NULL || self->backend->read_associated == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” has no associated image named “%s”"), self->name, name);
      return NULL;
    }

  return self->backend->read_associated (self->backend_data, name, error);
}

/* Pixels. */

static gboolean
check_region (HgSlide *self,
              int      level,
              int      width,
              int      height,
              GError **error)
{
  if (get_level (self, level) == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("level %d does not exist: “%s” has levels 0 to %u"), level, self->name,
                   self->levels->len - 1);
      return FALSE;
    }

  if (width <= 0 || height <= 0)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   "region size %d × %d is empty or negative", width, height);
      return FALSE;
    }

  if ((gint64) width * height > HG_SLIDE_MAX_REGION_PIXELS)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("region size %d × %d exceeds the limit of %lld pixels per read"),
                   width, height, (long long) HG_SLIDE_MAX_REGION_PIXELS);
      return FALSE;
    }

  return TRUE;
}

HgImage *
hg_slide_read_region_image (HgSlide *self,
                            int      level,
                            gint64   x,
                            gint64   y,
                            int      width,
                            int      height,
                            GError **error)
{
  g_autoptr (HgImage) image = NULL;

  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  if (!check_region (self, level, width, height, error))
    return NULL;

  image = hg_image_new (width, height, error);
  if (image == NULL)
    return NULL;

  /* hg_image_new() zeroes, and its rows are exactly width * 4 bytes. */
  if (!self->backend->read_region (self->backend_data, level, x, y, width, height,
                                   (guint32 *) hg_image_get_mutable_data (image), error))
    return NULL;

  return g_steal_pointer (&image);
}

gboolean
hg_slide_read_region (HgSlide *self,
                      int      level,
                      gint64   x,
                      gint64   y,
                      int      width,
                      int      height,
                      guint8  *dest,
                      gsize    stride,
                      GError **error)
{
  g_autoptr (HgImage) image = NULL;
  const guint8 *src;

  g_return_val_if_fail (HG_IS_SLIDE (self), FALSE);
  g_return_val_if_fail (dest != NULL, FALSE);

  if (!check_region (self, level, width, height, error))
    return FALSE;

  if (stride < (gsize) width * 4)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("stride %zu is shorter than a row of %d pixels"), stride, width);
      return FALSE;
    }

  if (stride == (gsize) width * 4)
    {
      memset (dest, 0, stride * (gsize) height);
      return self->backend->read_region (self->backend_data, level, x, y, width, height,
                                         (guint32 *) dest, error);
    }

  image = hg_slide_read_region_image (self, level, x, y, width, height, error);
  if (image == NULL)
    return FALSE;

  src = hg_image_get_data (image);
  for (int row = 0; row < height; row++)
    memcpy (dest + (gsize) row * stride, src + (gsize) row * width * 4, (gsize) width * 4);

  return TRUE;
}

gboolean
hg_slide_read_region_chw (HgSlide *self,
                          int      level,
                          gint64   x,
                          gint64   y,
                          int      width,
                          int      height,
                          float   *out,
                          GError **error)
{
  g_autoptr (HgImage) image = NULL;

  g_return_val_if_fail (HG_IS_SLIDE (self), FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  image = hg_slide_read_region_image (self, level, x, y, width, height, error);
  if (image == NULL)
    return FALSE;

  hg_image_to_chw (image, out);
  return TRUE;
}

HgImage *
hg_slide_read_tile (HgSlide *self,
                    int      level,
                    gint64   column,
                    gint64   row,
                    GError **error)
{
  const HgSlideLevel *l;
  gint64              lx, ly;
  int                 width, height;

  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  l = get_level (self, level);
  if (l == NULL)
    {
      check_region (self, level, 1, 1, error);
      return NULL;
    }

  lx = column * HG_SLIDE_TILE_SIZE;
  ly = row * HG_SLIDE_TILE_SIZE;
  if (column < 0 || row < 0 || lx >= l->width || ly >= l->height)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT,
                   _ ("tile (%lld, %lld) is outside level %d of “%s”"),
                   (long long) column, (long long) row, level, self->name);
      return NULL;
    }

  width = (int) MIN (HG_SLIDE_TILE_SIZE, l->width - lx);
  height = (int) MIN (HG_SLIDE_TILE_SIZE, l->height - ly);

  return hg_slide_read_region_image (self, level, (gint64) llround (lx * l->downsample),
                                     (gint64) llround (ly * l->downsample), width, height, error);
}

HgImage *
hg_slide_read_thumbnail (HgSlide *self,
                         int      max_size,
                         GError **error)
{
  const HgSlideLevel *base;
  g_autoptr (HgImage) source = NULL;
  double scale;
  int    width, height;
  int    level;

  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);
  g_return_val_if_fail (max_size > 0, NULL);

  base = get_level (self, 0);
  scale = MIN (1.0, (double) max_size / MAX (base->width, base->height));
  width = MAX (1, (int) lround (base->width * scale));
  height = MAX (1, (int) lround (base->height * scale));

  level = hg_slide_get_best_level (self, 1.0 / scale);
  {
    const HgSlideLevel *l = get_level (self, level);

    /* Reading the whole level is the sharpest thumbnail; a quarter of the
     * region limit keeps it quick. */
    if (l->width * l->height <= HG_SLIDE_MAX_REGION_PIXELS / 4)
      source = hg_slide_read_region_image (self, level, 0, 0, (int) l->width, (int) l->height,
                                           error);
    else if (find_associated (self, "thumbnail") != NULL)
      source = hg_slide_read_associated (self, "thumbnail", error);
    else
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED,
                   _ ("“%s” has no level small enough for a thumbnail (the smallest is "
                      "%lld × %lld) and no thumbnail image"),
                   self->name, (long long) l->width, (long long) l->height);
  }

  if (source == NULL)
    return NULL;

  if (hg_image_get_width (source) == width && hg_image_get_height (source) == height)
    return g_steal_pointer (&source);

  return hg_image_scale (source, width, height, error);
}

guint
hg_slide_get_reopen_count (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), 0);

  if (self->backend->get_reopen_count == NULL)
    return 0;

  return self->backend->get_reopen_count (self->backend_data);
}

/* IDC patches and ground truth. */

gboolean
hg_slide_has_ground_truth (HgSlide *self)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), FALSE);

  return self->patches != NULL;
}

const HgSlidePatch *
hg_slide_get_patches (HgSlide *self,
                      gsize   *n_patches)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);

  if (n_patches != NULL)
    *n_patches = self->patches != NULL ? self->patches->len : 0;

  return self->patches != NULL ? (const HgSlidePatch *) (gconstpointer) self->patches->data : NULL;
}

const char *
hg_slide_get_patch_file (HgSlide *self,
                         gsize    index)
{
  g_return_val_if_fail (HG_IS_SLIDE (self), NULL);
  g_return_val_if_fail (self->patch_files != NULL && index < self->patch_files->len, NULL);

  return g_ptr_array_index (self->patch_files, index);
}

gssize
hg_slide_find_patch (HgSlide *self,
                     double   x,
                     double   y)
{
  guint64 key;
  GArray *bucket;

  g_return_val_if_fail (HG_IS_SLIDE (self), -1);

  if (self->patch_buckets == NULL || !(x >= 0) || !(y >= 0) ||
      x >= (double) G_MAXINT32 * PATCH_BUCKET || y >= (double) G_MAXINT32 * PATCH_BUCKET)
    return -1;

  key = bucket_key ((gint64) (x / PATCH_BUCKET), (gint64) (y / PATCH_BUCKET));
  bucket = g_hash_table_lookup (self->patch_buckets, &key);
  if (bucket == NULL)
    return -1;

  for (guint i = 0; i < bucket->len; i++)
    {
      guint               index = g_array_index (bucket, guint, i);
      const HgSlidePatch *p = &g_array_index (self->patches, HgSlidePatch, index);

      if (x >= p->x && x < p->x + p->width && y >= p->y && y < p->y + p->height)
        return index;
    }

  return -1;
}

HgSlideLabel
hg_slide_get_label_at (HgSlide *self,
                       double   x,
                       double   y)
{
  gssize index = hg_slide_find_patch (self, x, y);

  if (index < 0)
    return HG_SLIDE_LABEL_NONE;

  return g_array_index (self->patches, HgSlidePatch, index).label;
}
