/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "histoguard/hg-error.h"
#include "histoguard/hg-tile-cache.h"

typedef struct
{
  guint64 slide_id;
  gint64  column;
  gint64  row;
  int     level;
} TileKey;

/* Lives in the hash table; the queue links it for LRU order. */
typedef struct
{
  TileKey  key;
  HgImage *tile;
  gsize    size;
  GList    link; /* data points back at this entry */
} Entry;

typedef struct
{
  HgSlide *slide;
  int      level;
  gint64   column;
  gint64   row;
  int      priority;
  guint64  sequence;
} LoadData;

struct _HgTileCache
{
  GObject parent_instance;

  GMutex      lock;
  GHashTable *entries; /* TileKey → Entry (owned) */
  GQueue      lru;     /* Entry links; head is the most recently used */
  guint64     budget;
  guint64     size;
  guint64     next_sequence;
  guint       n_decoded;

  GThreadPool *pool;
};

G_DEFINE_FINAL_TYPE (HgTileCache, hg_tile_cache, G_TYPE_OBJECT)

static guint
tile_key_hash (gconstpointer data)
{
  const TileKey *key = data;
  guint64        h = key->slide_id * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  h ^= (guint64) key->column * G_GUINT64_CONSTANT (0xc2b2ae3d27d4eb4f);
  h ^= (guint64) key->row * G_GUINT64_CONSTANT (0x165667b19e3779f9);
  h ^= (guint64) key->level * G_GUINT64_CONSTANT (0x27d4eb2f165667c5);

  return (guint) (h ^ (h >> 32));
}

static gboolean
tile_key_equal (gconstpointer a,
                gconstpointer b)
{
  const TileKey *ka = a, *kb = b;

  return ka->slide_id == kb->slide_id && ka->column == kb->column && ka->row == kb->row &&
         ka->level == kb->level;
}

/* The hash table's value destructor; the entry is already unlinked. */
static void
entry_free (gpointer data)
{
  Entry *entry = data;

  hg_image_unref (entry->tile);
  g_free (entry);
}

static void
remove_entry_locked (HgTileCache *self,
                     Entry       *entry)
{
  g_queue_unlink (&self->lru, &entry->link);
  self->size -= entry->size;
  g_hash_table_remove (self->entries, &entry->key);
}

static void
evict_locked (HgTileCache *self,
              guint64      incoming)
{
  while (self->size + incoming > self->budget && self->lru.tail != NULL)
    remove_entry_locked (self, self->lru.tail->data);
}

static void load_worker (gpointer job,
                         gpointer user_data);

static int
compare_jobs (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  const LoadData *la = g_task_get_task_data ((GTask *) a);
  const LoadData *lb = g_task_get_task_data ((GTask *) b);

  if (la->priority != lb->priority)
    return la->priority < lb->priority ? -1 : 1;
  if (la->sequence != lb->sequence)
    return la->sequence > lb->sequence ? -1 : 1;
  return 0;
}

HgTileCache *
hg_tile_cache_new (guint64 budget_bytes)
{
  HgTileCache *self = g_object_new (HG_TYPE_TILE_CACHE, NULL);

  self->budget = budget_bytes;

  return self;
}

static void
hg_tile_cache_finalize (GObject *object)
{
  HgTileCache *self = HG_TILE_CACHE (object);

  /* Every queued load holds a reference on us, so the pool is idle. */
  if (self->pool != NULL)
    g_thread_pool_free (self->pool, FALSE, TRUE);

  g_mutex_lock (&self->lock);
  while (self->lru.tail != NULL)
    remove_entry_locked (self, self->lru.tail->data);
  g_mutex_unlock (&self->lock);

  g_hash_table_unref (self->entries);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (hg_tile_cache_parent_class)->finalize (object);
}

static void
hg_tile_cache_class_init (HgTileCacheClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = hg_tile_cache_finalize;
}

static void
hg_tile_cache_init (HgTileCache *self)
{
  g_mutex_init (&self->lock);
  /* Keys live inside the entries, so the table frees only values. */
  self->entries = g_hash_table_new_full (tile_key_hash, tile_key_equal, NULL, entry_free);
  g_queue_init (&self->lru);
}

void
hg_tile_cache_set_budget (HgTileCache *self,
                          guint64      budget_bytes)
{
  g_return_if_fail (HG_IS_TILE_CACHE (self));

  g_mutex_lock (&self->lock);
  self->budget = budget_bytes;
  evict_locked (self, 0);
  g_mutex_unlock (&self->lock);
}

guint64
hg_tile_cache_get_budget (HgTileCache *self)
{
  guint64 budget;

  g_return_val_if_fail (HG_IS_TILE_CACHE (self), 0);

  g_mutex_lock (&self->lock);
  budget = self->budget;
  g_mutex_unlock (&self->lock);

  return budget;
}

guint64
hg_tile_cache_get_size (HgTileCache *self)
{
  guint64 size;

  g_return_val_if_fail (HG_IS_TILE_CACHE (self), 0);

  g_mutex_lock (&self->lock);
  size = self->size;
  g_mutex_unlock (&self->lock);

  return size;
}

guint
hg_tile_cache_get_n_tiles (HgTileCache *self)
{
  guint n;

  g_return_val_if_fail (HG_IS_TILE_CACHE (self), 0);

  g_mutex_lock (&self->lock);
  n = g_hash_table_size (self->entries);
  g_mutex_unlock (&self->lock);

  return n;
}

guint
hg_tile_cache_get_n_decoded (HgTileCache *self)
{
  guint n;

  g_return_val_if_fail (HG_IS_TILE_CACHE (self), 0);

  g_mutex_lock (&self->lock);
  n = self->n_decoded;
  g_mutex_unlock (&self->lock);

  return n;
}

HgImage *
hg_tile_cache_lookup (HgTileCache *self,
                      HgSlide     *slide,
                      int          level,
                      gint64       column,
                      gint64       row)
{
  TileKey  key = { hg_slide_get_id (slide), column, row, level };
  HgImage *tile = NULL;
  Entry   *entry;

  g_return_val_if_fail (HG_IS_TILE_CACHE (self), NULL);

  g_mutex_lock (&self->lock);
  entry = g_hash_table_lookup (self->entries, &key);
  if (entry != NULL)
    {
      g_queue_unlink (&self->lru, &entry->link);
      g_queue_push_head_link (&self->lru, &entry->link);
      tile = hg_image_ref (entry->tile);
    }
  g_mutex_unlock (&self->lock);

  return tile;
}

void
hg_tile_cache_insert (HgTileCache *self,
                      HgSlide     *slide,
                      int          level,
                      gint64       column,
                      gint64       row,
                      HgImage     *tile)
{
  TileKey key = { hg_slide_get_id (slide), column, row, level };
  Entry  *entry;
  gsize   size;

  g_return_if_fail (HG_IS_TILE_CACHE (self));
  g_return_if_fail (tile != NULL);

  size = hg_image_get_size (tile);

  g_mutex_lock (&self->lock);

  entry = g_hash_table_lookup (self->entries, &key);
  if (entry != NULL)
    remove_entry_locked (self, entry);

  /* A tile bigger than the whole budget would only flush everything. */
  if (size <= self->budget)
    {
      evict_locked (self, size);

      entry = g_new0 (Entry, 1);
      entry->key = key;
      entry->tile = hg_image_ref (tile);
      entry->size = size;
      entry->link.data = entry;
      g_queue_push_head_link (&self->lru, &entry->link);
      g_hash_table_insert (self->entries, &entry->key, entry);
      self->size += size;
    }

  g_mutex_unlock (&self->lock);
}

void
hg_tile_cache_remove_slide (HgTileCache *self,
                            HgSlide     *slide)
{
  guint64 id;
  GList  *link;

  g_return_if_fail (HG_IS_TILE_CACHE (self));
  g_return_if_fail (HG_IS_SLIDE (slide));

  id = hg_slide_get_id (slide);

  g_mutex_lock (&self->lock);
  link = self->lru.head;
  while (link != NULL)
    {
      Entry *entry = link->data;

      link = link->next;
      if (entry->key.slide_id == id)
        remove_entry_locked (self, entry);
    }
  g_mutex_unlock (&self->lock);
}

void
hg_tile_cache_clear (HgTileCache *self)
{
  g_return_if_fail (HG_IS_TILE_CACHE (self));

  g_mutex_lock (&self->lock);
  while (self->lru.tail != NULL)
    remove_entry_locked (self, self->lru.tail->data);
  g_mutex_unlock (&self->lock);
}

HgImage *
hg_tile_cache_load (HgTileCache  *self,
                    HgSlide      *slide,
                    int           level,
                    gint64        column,
                    gint64        row,
                    GCancellable *cancellable,
                    GError      **error)
{
  HgImage *tile;

  g_return_val_if_fail (HG_IS_TILE_CACHE (self), NULL);
  g_return_val_if_fail (HG_IS_SLIDE (slide), NULL);

  tile = hg_tile_cache_lookup (self, slide, level, column, row);
  if (tile != NULL)
    return tile;

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  tile = hg_slide_read_tile (slide, level, column, row, error);
  if (tile == NULL)
    return NULL;

  g_mutex_lock (&self->lock);
  self->n_decoded++;
  g_mutex_unlock (&self->lock);

  hg_tile_cache_insert (self, slide, level, column, row, tile);
  return tile;
}

static void
load_data_free (gpointer data)
{
  LoadData *load = data;

  g_object_unref (load->slide);
  g_free (load);
}

static void
load_worker (gpointer job,
             gpointer user_data)
{
  g_autoptr (GTask) task = job;
  HgTileCache *self = g_task_get_source_object (task);
  LoadData    *load = g_task_get_task_data (task);
  GError      *error = NULL;
  HgImage     *tile;

  /* The view has moved on: never decode what nobody will see. */
  if (g_task_return_error_if_cancelled (task))
    return;

  tile = hg_tile_cache_load (self, load->slide, load->level, load->column, load->row,
                             g_task_get_cancellable (task), &error);
  if (tile == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, tile, (GDestroyNotify) hg_image_unref);
}

/* One core stays free for the thread that draws: a pan must not wait for
 * decoding it does not need yet. */
static int
n_workers (void)
{
  return CLAMP ((int) g_get_num_processors () - 1, 1, 8);
}

void
hg_tile_cache_load_async (HgTileCache        *self,
                          HgSlide            *slide,
                          int                 level,
                          gint64              column,
                          gint64              row,
                          int                 priority,
                          GCancellable       *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer            user_data)
{
  g_autoptr (GError) error = NULL;
  GTask    *task;
  LoadData *load;

  g_return_if_fail (HG_IS_TILE_CACHE (self));
  g_return_if_fail (HG_IS_SLIDE (slide));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, hg_tile_cache_load_async);

  load = g_new0 (LoadData, 1);
  load->slide = g_object_ref (slide);
  load->level = level;
  load->column = column;
  load->row = row;
  load->priority = priority;

  g_mutex_lock (&self->lock);
  load->sequence = self->next_sequence++;
  if (self->pool == NULL)
    {
      self->pool = g_thread_pool_new (load_worker, NULL, n_workers (), FALSE, &error);
      if (self->pool != NULL)
        g_thread_pool_set_sort_function (self->pool, compare_jobs, NULL);
    }
  g_mutex_unlock (&self->lock);

  g_task_set_task_data (task, load, load_data_free);

  if (self->pool == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_FAILED,
                               _ ("cannot start the tile decoding threads: %s"), error->message);
      g_object_unref (task);
      return;
    }

  /* The pool owns the task until a worker returns it. */
  g_thread_pool_push (self->pool, task, NULL);
}

HgImage *
hg_tile_cache_load_finish (HgTileCache  *self,
                           GAsyncResult *result,
                           GError      **error)
{
  g_return_val_if_fail (HG_IS_TILE_CACHE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == hg_tile_cache_load_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
