/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whole-slide files through OpenSlide, with dead handles reopened. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <openslide.h>
#include <unistd.h>

#include "histoguard/hg-error.h"

#include "hg-slide-private.h"

/* No dimension of a real slide comes near this (4 m at 0.25 µm/px). */
#define MAX_DIMENSION (G_GINT64_CONSTANT (1) << 24)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (openslide_t, openslide_close)

/* How many directories check_tiff() walks: slides have a few dozen. */
#define MAX_TIFF_DIRECTORIES 4096
/* Directory entries read at a time (each 12 bytes, 20 in BigTIFF). */
#define TIFF_ENTRIES_PER_READ 64

/* Reads up to size bytes at offset; returns how many it got (0 on error). */
static gsize
read_some (int     fd,
           guint8 *buf,
           gsize   size,
           guint64 offset)
{
  ssize_t got;

  do
    got = pread (fd, buf, size, (off_t) offset);
  while (got < 0 && errno == EINTR);
  return got > 0 ? (gsize) got : 0;
}

static gboolean
read_at (int     fd,
         guint8 *buf,
         gsize   size,
         guint64 offset)
{
  return read_some (fd, buf, size, offset) == size;
}

static guint64
tiff_uint (const guint8 *p,
           int           bytes,
           gboolean      big_endian)
{
  guint64 v = 0;

  for (int i = 0; i < bytes; i++)
    v |= (guint64) p[big_endian ? bytes - 1 - i : i] << (8 * i);
  return v;
}

/* OpenSlide 3.4 reads a TIFF's directories before anything else, and
 * allocates each tag's values at the size the file claims before
 * checking it against the file: a 4 kB file can ask for 4 GB (found by
 * fuzz-slide). So the directories are walked here first, and a tag
 * whose values could not fit in the file is refused. Anything this walk
 * cannot follow (an offset past the end, an unknown type, a loop) is
 * left to OpenSlide, which reports it. */
static gboolean
check_tiff (const char *path,
            const char *name,
            GError    **error)
{
  static const guint8 type_size[19] = { 0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8 };
  guint8              head[16], entries[TIFF_ENTRIES_PER_READ * 20];
  gboolean            big_endian, big_tiff;
  guint64             file_size, dir;
  int                 entry_size, count_size, offset_size;
  GStatBuf            st;
  int                 fd;
  gboolean            ok = TRUE;
  gsize               got = 0;

  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    return TRUE; /* OpenSlide says why */
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || !read_at (fd, head, sizeof head, 0))
    goto out;
  file_size = (guint64) st.st_size;
  if (memcmp (head, "II", 2) == 0)
    big_endian = FALSE;
  else if (memcmp (head, "MM", 2) == 0)
    big_endian = TRUE;
  else
    goto out;
  switch (tiff_uint (head + 2, 2, big_endian))
    {
    case 42:
      big_tiff = FALSE;
      dir = tiff_uint (head + 4, 4, big_endian);
      break;
    case 43:
      big_tiff = TRUE;
      dir = tiff_uint (head + 8, 8, big_endian);
      break;
    default:
      goto out;
    }
  count_size = big_tiff ? 8 : 2;
  offset_size = big_tiff ? 8 : 4;
  entry_size = big_tiff ? 20 : 12;

  for (int d = 0; d < MAX_TIFF_DIRECTORIES && dir != 0 && dir < file_size; d++)
    {
      guint64 n;

      if (!read_at (fd, head, count_size, dir))
        break;
      n = tiff_uint (head, count_size, big_endian);
      if (n > (file_size - dir) / entry_size)
        break;
      for (guint64 i = 0; i < n; i++)
        {
          const guint8 *entry = entries + (i % TIFF_ENTRIES_PER_READ) * entry_size;
          guint         tag, type;
          guint64       count;

          if (i % TIFF_ENTRIES_PER_READ == 0)
            got = read_some (fd, entries, MIN (n - i, TIFF_ENTRIES_PER_READ) * entry_size,
                             dir + count_size + i * entry_size);
          if ((i % TIFF_ENTRIES_PER_READ + 1) * entry_size > got) /* the file ends in this entry */
            goto out;
          tag = (guint) tiff_uint (entry, 2, big_endian);
          type = (guint) tiff_uint (entry + 2, 2, big_endian);
          count = tiff_uint (entry + 4, offset_size, big_endian);
          if (type >= G_N_ELEMENTS (type_size) || type_size[type] == 0)
            continue;
          if (count > file_size / type_size[type])
            {
              g_autofree char *claimed = g_strdup_printf ("%" G_GUINT64_FORMAT, count);

              g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                           _ ("“%s” is a damaged TIFF: its tag %u claims %s values, more than "
                              "the whole file holds"),
                           name, tag, claimed);
              ok = FALSE;
              goto out;
            }
        }
      if (!read_at (fd, head, offset_size, dir + count_size + n * entry_size))
        break;
      dir = tiff_uint (head, offset_size, big_endian);
    }

out:
  close (fd);
  return ok;
}

/* An openslide_t shared by the threads reading through it: closed when the
 * last of them lets go, so a reopen never pulls it from under a reader. */
typedef struct
{
  gint         ref_count; /* atomic */
  openslide_t *osr;
} Handle;

typedef struct
{
  char  *path;
  char  *name;
  GMutex lock;
  /* Guarded by lock: */
  Handle *handle; /* NULL after an error, until the next read reopens */
  guint   reopen_count;
  guint   failures;     /* failed reads and reopenings since the last good read */
  char   *dead_message; /* set when we gave up on the file */
} OpenSlideData;

static Handle *
handle_new (openslide_t *osr)
{
  Handle *handle = g_new0 (Handle, 1);

  handle->ref_count = 1;
  handle->osr = osr;

  return handle;
}

static Handle *
handle_ref (Handle *handle)
{
  g_atomic_int_inc (&handle->ref_count);
  return handle;
}

static void
handle_unref (Handle *handle)
{
  if (g_atomic_int_dec_and_test (&handle->ref_count))
    {
      openslide_close (handle->osr);
      g_free (handle);
    }
}

static void
give_up_locked (OpenSlideData *data,
                const char    *why)
{
  data->failures++;
  if (data->failures > HG_SLIDE_MAX_REOPENS && data->dead_message == NULL)
    data->dead_message = g_strdup (why);
}

/* A reference to a live handle, reopening the file if the last one died. */
static Handle *
acquire (OpenSlideData *data,
         GError       **error)
{
  Handle *handle = NULL;

  g_mutex_lock (&data->lock);

  if (data->dead_message == NULL && data->handle == NULL)
    {
      g_autoptr (openslide_t) osr = openslide_open (data->path);
      const char *why = osr == NULL ? "it is no longer a slide OpenSlide recognises"
                                    : openslide_get_error (osr);

      if (osr != NULL && why == NULL)
        {
          data->handle = handle_new (g_steal_pointer (&osr));
          data->reopen_count++;
          g_debug ("reopened “%s” (%u times so far)", data->path, data->reopen_count);
        }
      else
        {
          give_up_locked (data, why);
          if (data->dead_message == NULL)
            g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("“%s” could not be reopened: %s"),
                         data->name, why);
        }
    }

  if (data->dead_message != NULL)
    {
      g_clear_error (error);
      g_set_error (error, HG_ERROR, HG_ERROR_IO, _ ("“%s” can no longer be read: %s"), data->name,
                   data->dead_message);
    }
  else if (data->handle != NULL)
    handle = handle_ref (data->handle);

  g_mutex_unlock (&data->lock);

  return handle;
}

/* An error sticks to an openslide_t for good: drop it so the next read
 * opens the file afresh. */
static void
retire (OpenSlideData *data,
        Handle        *handle,
        const char    *why)
{
  g_mutex_lock (&data->lock);
  if (data->handle == handle)
    {
      data->handle = NULL;
      handle_unref (handle);
    }
  give_up_locked (data, why);
  g_mutex_unlock (&data->lock);
}

static gboolean
openslide_read_region_cb (gpointer data_,
                          int      level,
                          gint64   x,
                          gint64   y,
                          int      width,
                          int      height,
                          guint32 *dest,
                          GError **error)
{
  OpenSlideData   *data = data_;
  g_autofree char *why = NULL;

  /* One try on the handle we have, one more on a reopened one. */
  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_autoptr (GError) local_error = NULL;
      Handle     *handle = acquire (data, &local_error);
      const char *message;

      if (handle == NULL)
        {
          if (why != NULL)
            g_prefix_error (&local_error, _ ("reading level %d at (%lld, %lld) of “%s” failed (%s); "),
                            level, (long long) x, (long long) y, data->name, why);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }

      openslide_read_region (handle->osr, dest, x, y, level, width, height);
      message = openslide_get_error (handle->osr);

      if (message == NULL)
        {
          g_mutex_lock (&data->lock);
          data->failures = 0;
          g_mutex_unlock (&data->lock);
          handle_unref (handle);
          return TRUE;
        }

      g_free (why);
      why = g_strdup (message);
      retire (data, handle, why);
      handle_unref (handle);
    }

  g_set_error (error, HG_ERROR, HG_ERROR_IO,
               _ ("reading level %d at (%lld, %lld) of “%s” failed: %s"),
               level, (long long) x, (long long) y, data->name, why);
  return FALSE;
}

static HgImage *
openslide_read_associated_cb (gpointer    data_,
                              const char *name,
                              GError    **error)
{
  OpenSlideData *data = data_;
  g_autoptr (HgImage) image = NULL;
  Handle     *handle;
  gint64      width = -1, height = -1;
  const char *message;

  handle = acquire (data, error);
  if (handle == NULL)
    return NULL;

  openslide_get_associated_image_dimensions (handle->osr, name, &width, &height);
  if (width <= 0 || height <= 0 || width > G_MAXINT || height > G_MAXINT)
    g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                 _ ("the associated image “%s” of “%s” has an impossible size (%lld × %lld)"),
                 name, data->name, (long long) width, (long long) height);
  else if ((image = hg_image_new ((int) width, (int) height, error)) != NULL)
    {
      openslide_read_associated_image (handle->osr, name,
                                       (guint32 *) hg_image_get_mutable_data (image));
      message = openslide_get_error (handle->osr);
      if (message != NULL)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_IO,
                       _ ("reading the associated image “%s” of “%s” failed: %s"), name, data->name,
                       message);
          g_clear_pointer (&image, hg_image_unref);
          retire (data, handle, message);
        }
    }

  handle_unref (handle);
  return g_steal_pointer (&image);
}

static guint
openslide_get_reopen_count_cb (gpointer data_)
{
  OpenSlideData *data = data_;
  guint          count;

  g_mutex_lock (&data->lock);
  count = data->reopen_count;
  g_mutex_unlock (&data->lock);

  return count;
}

static void
openslide_free_cb (gpointer data_)
{
  OpenSlideData *data = data_;

  g_clear_pointer (&data->handle, handle_unref);
  g_mutex_clear (&data->lock);
  g_free (data->path);
  g_free (data->name);
  g_free (data->dead_message);
  g_free (data);
}

static const HgSlideBackend openslide_backend = {
  .name = "openslide",
  .read_region = openslide_read_region_cb,
  .read_associated = openslide_read_associated_cb,
  .get_reopen_count = openslide_get_reopen_count_cb,
  .free = openslide_free_cb,
};

static double
property_double (openslide_t *osr,
                 const char  *name)
{
  const char *text = openslide_get_property_value (osr, name);
  char       *end = NULL;
  double      value;

  if (text == NULL)
    return 0;

  value = g_ascii_strtod (text, &end);
  if (end == text || !isfinite (value) || value <= 0)
    return 0;

  return value;
}

HgSlide *
_hg_slide_openslide_open (const char *path,
                          GError    **error)
{
  g_autoptr (openslide_t) osr = NULL;
  g_autoptr (HgSlide) slide = NULL;
  g_autofree char   *name = g_path_get_basename (path);
  const char        *vendor;
  const char        *message;
  const char *const *names;
  OpenSlideData     *data;
  int                n_levels;
  guint32            probe = 0;

  if (!check_tiff (path, name, error))
    return NULL;
  vendor = openslide_detect_vendor (path);
  if (vendor == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("OpenSlide does not recognise “%s”"),
                   name);
      return NULL;
    }

  osr = openslide_open (path);
  if (osr == NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_UNSUPPORTED, _ ("OpenSlide does not recognise “%s”"),
                   name);
      return NULL;
    }

  message = openslide_get_error (osr);
  if (message != NULL)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                   _ ("“%s” looks like a %s slide but is damaged: %s"), name, vendor, message);
      return NULL;
    }

  slide = _hg_slide_new (path, HG_SLIDE_SOURCE_OPENSLIDE, vendor);

  n_levels = openslide_get_level_count (osr);
  if (n_levels < 1)
    {
      g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA, _ ("“%s” has no pyramid levels"), name);
      return NULL;
    }

  for (int level = 0; level < n_levels; level++)
    {
      gint64 width = -1, height = -1;
      double downsample = openslide_get_level_downsample (osr, level);

      openslide_get_level_dimensions (osr, level, &width, &height);
      if (width <= 0 || height <= 0 || width > MAX_DIMENSION || height > MAX_DIMENSION)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                       _ ("level %d of “%s” is %lld × %lld pixels: each side must be from 1 to %lld"),
                       level, name, (long long) width, (long long) height, (long long) MAX_DIMENSION);
          return NULL;
        }
      if (!isfinite (downsample) || downsample < 1.0)
        {
          g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                       _ ("level %d of “%s” has an impossible downsample (%g)"), level, name,
                       downsample);
          return NULL;
        }
      _hg_slide_add_level (slide, width, height, downsample);
    }

  /* OpenSlide lists a key without a value for an Aperio description
   * field that has no '=' (found by fuzz/fuzz-slide): leave those out, so
   * that every listed property has text. */
  names = openslide_get_property_names (osr);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      const char *value = openslide_get_property_value (osr, names[i]);

      if (value != NULL)
        _hg_slide_set_property (slide, names[i], value);
    }
  _hg_slide_set_property (slide, "histoguard.source", "openslide");

  _hg_slide_set_mpp (slide, property_double (osr, OPENSLIDE_PROPERTY_NAME_MPP_X),
                     property_double (osr, OPENSLIDE_PROPERTY_NAME_MPP_Y));
  _hg_slide_set_objective_power (slide,
                                 property_double (osr, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER));

  names = openslide_get_associated_image_names (osr);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      gint64 width = -1, height = -1;

      openslide_get_associated_image_dimensions (osr, names[i], &width, &height);
      if (width > 0 && height > 0)
        _hg_slide_add_associated (slide, names[i], width, height);
    }

  /* A damaged file often opens and then fails on its first pixels: read
   * one from the smallest level, so the error comes now, in words. */
  {
    gint64 width, height;

    hg_slide_get_level_size (slide, n_levels - 1, &width, &height);
    openslide_read_region (osr, &probe,
                           (gint64) (width / 2 * hg_slide_get_level_downsample (slide, n_levels - 1)),
                           (gint64) (height / 2 * hg_slide_get_level_downsample (slide, n_levels - 1)),
                           n_levels - 1, 1, 1);
    message = openslide_get_error (osr);
    if (message != NULL)
      {
        g_set_error (error, HG_ERROR, HG_ERROR_INVALID_DATA,
                     _ ("“%s” looks like a %s slide but its pixels cannot be read: %s"), name, vendor,
                     message);
        return NULL;
      }
  }

  data = g_new0 (OpenSlideData, 1);
  data->path = g_strdup (path);
  data->name = g_steal_pointer (&name);
  g_mutex_init (&data->lock);
  data->handle = handle_new (g_steal_pointer (&osr));
  _hg_slide_set_backend (slide, &openslide_backend, data);

  return g_steal_pointer (&slide);
}
