/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "histoguard/histoguard.h"

#include "hg-test-slides.h"

/* 64 × 64 ARGB32: 16 KiB a tile. */
#define TILE_BYTES (64 * 64 * 4)

static HgImage *
make_tile (guint32 colour)
{
  g_autoptr (GError) error = NULL;
  HgImage *tile = hg_image_new (64, 64, &error);
  guint32 *pixels;

  g_assert_no_error (error);
  pixels = (guint32 *) hg_image_get_mutable_data (tile);
  for (int i = 0; i < 64 * 64; i++)
    pixels[i] = colour;

  return tile;
}

/* A slide to key tiles by: the cache never reads it in these tests. */
static HgSlide *
make_slide (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "keys.tif", NULL);
  g_autoptr (GError) error = NULL;
  HgSlide *slide;

  hg_test_write_pyramid_tiff (path, 1024, 768, 2, 256, HG_TEST_TIFF_RAW);
  slide = hg_slide_open (path, NULL, &error);
  g_assert_no_error (error);

  return slide;
}

typedef struct
{
  char    *dir;
  HgSlide *slide;
} Fixture;

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  fixture->dir = hg_test_make_tmpdir ("hg-test-cache");
  fixture->slide = make_slide (fixture->dir);
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  g_clear_object (&fixture->slide);
  hg_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static gboolean
holds (HgTileCache *cache,
       HgSlide     *slide,
       gint64       column)
{
  g_autoptr (HgImage) tile = hg_tile_cache_lookup (cache, slide, 0, column, 0);

  return tile != NULL;
}

static void
test_lru (Fixture      *fixture,
          gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (3 * TILE_BYTES);

  for (int i = 0; i < 3; i++)
    {
      g_autoptr (HgImage) tile = make_tile (0xff000000u | i);

      hg_tile_cache_insert (cache, fixture->slide, 0, i, 0, tile);
    }
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 3);
  g_assert_cmpuint (hg_tile_cache_get_size (cache), ==, 3 * TILE_BYTES);

  /* Touch tile 0: tile 1 is now the least recently used, and goes. */
  g_assert_true (holds (cache, fixture->slide, 0));
  {
    g_autoptr (HgImage) tile = make_tile (0xff0000ffu);

    hg_tile_cache_insert (cache, fixture->slide, 0, 3, 0, tile);
  }
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 3);
  g_assert_true (holds (cache, fixture->slide, 0));
  g_assert_false (holds (cache, fixture->slide, 1));
  g_assert_true (holds (cache, fixture->slide, 2));
  g_assert_true (holds (cache, fixture->slide, 3));

  /* Same key again replaces, without growing. */
  {
    g_autoptr (HgImage) tile = make_tile (0xff00ff00u);
    g_autoptr (HgImage) back = NULL;

    hg_tile_cache_insert (cache, fixture->slide, 0, 3, 0, tile);
    back = hg_tile_cache_lookup (cache, fixture->slide, 0, 3, 0);
    g_assert_true (back == tile);
  }
  g_assert_cmpuint (hg_tile_cache_get_size (cache), ==, 3 * TILE_BYTES);

  /* Level and row are part of the key. */
  g_assert_null (hg_tile_cache_lookup (cache, fixture->slide, 1, 3, 0));
  g_assert_null (hg_tile_cache_lookup (cache, fixture->slide, 0, 3, 1));
}

static void
test_budget (Fixture      *fixture,
             gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (10 * TILE_BYTES);
  g_autoptr (HgImage) big = NULL;
  g_autoptr (GError) error = NULL;

  for (int i = 0; i < 10; i++)
    {
      g_autoptr (HgImage) tile = make_tile (0xff000000u);

      hg_tile_cache_insert (cache, fixture->slide, 0, i, 0, tile);
    }
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 10);

  hg_tile_cache_set_budget (cache, 4 * TILE_BYTES + 100);
  g_assert_cmpuint (hg_tile_cache_get_budget (cache), ==, 4 * TILE_BYTES + 100);
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 4);
  g_assert_cmpuint (hg_tile_cache_get_size (cache), <=, 4 * TILE_BYTES + 100);
  /* The newest stay. */
  g_assert_true (holds (cache, fixture->slide, 9));
  g_assert_false (holds (cache, fixture->slide, 5));

  /* Bigger than the whole budget: refused, nothing else flushed. */
  big = hg_image_new (256, 256, &error);
  g_assert_no_error (error);
  hg_tile_cache_insert (cache, fixture->slide, 0, 100, 0, big);
  g_assert_false (holds (cache, fixture->slide, 100));
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 4);

  hg_tile_cache_clear (cache);
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 0);
  g_assert_cmpuint (hg_tile_cache_get_size (cache), ==, 0);
}

static void
test_evicted_tile_lives_on (Fixture      *fixture,
                            gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (TILE_BYTES);
  g_autoptr (HgImage) held = NULL;

  {
    g_autoptr (HgImage) tile = make_tile (0xff123456u);

    hg_tile_cache_insert (cache, fixture->slide, 0, 0, 0, tile);
  }
  held = hg_tile_cache_lookup (cache, fixture->slide, 0, 0, 0);
  {
    g_autoptr (HgImage) tile = make_tile (0xff654321u);

    hg_tile_cache_insert (cache, fixture->slide, 0, 1, 0, tile);
  }
  g_assert_false (holds (cache, fixture->slide, 0));
  /* Under ASan a freed tile would be caught here. */
  g_assert_cmphex (*(const guint32 *) hg_image_get_data (held), ==, 0xff123456u);
}

static void
test_remove_slide (Fixture      *fixture,
                   gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (100 * TILE_BYTES);
  g_autoptr (HgSlide) other = NULL;
  g_autofree char *other_dir = hg_test_make_tmpdir ("hg-test-cache-other");

  other = make_slide (other_dir);
  g_assert_cmpuint (hg_slide_get_id (other), !=, hg_slide_get_id (fixture->slide));

  for (int i = 0; i < 5; i++)
    {
      g_autoptr (HgImage) a = make_tile (0xff000000u);
      g_autoptr (HgImage) b = make_tile (0xffffffffu);

      hg_tile_cache_insert (cache, fixture->slide, 0, i, 0, a);
      hg_tile_cache_insert (cache, other, 0, i, 0, b);
    }
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 10);

  hg_tile_cache_remove_slide (cache, fixture->slide);
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 5);
  g_assert_false (holds (cache, fixture->slide, 2));
  g_assert_true (holds (cache, other, 2));
  g_assert_cmpuint (hg_tile_cache_get_size (cache), ==, 5 * TILE_BYTES);

  g_clear_object (&other);
  hg_test_remove_tree (other_dir);
}

typedef struct
{
  guint    pending;
  guint    loaded;
  guint    cancelled;
  gboolean pixels_ok;
} LoadState;

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  LoadState *state = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgImage) tile = hg_tile_cache_load_finish (HG_TILE_CACHE (source), result, &error);

  state->pending--;
  if (tile != NULL)
    {
      state->loaded++;
      if (hg_image_get_width (tile) <= 0)
        state->pixels_ok = FALSE;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    state->cancelled++;
  else
    g_error ("unexpected load error: %s", error->message);
}

static void
wait_for (LoadState *state)
{
  while (state->pending > 0)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_load_async (Fixture      *fixture,
                 gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (64 * 1024 * 1024);
  g_autoptr (HgImage) tile = NULL;
  LoadState state = { .pixels_ok = TRUE };
  gint64    columns, rows;

  hg_slide_get_tile_grid (fixture->slide, 0, &columns, &rows);
  for (gint64 r = 0; r < rows; r++)
    for (gint64 c = 0; c < columns; c++)
      {
        state.pending++;
        hg_tile_cache_load_async (cache, fixture->slide, 0, c, r, (int) (r + c), NULL, on_loaded,
                                  &state);
      }
  wait_for (&state);
  g_assert_cmpuint (state.loaded, ==, columns * rows);
  g_assert_true (state.pixels_ok);
  g_assert_cmpuint (hg_tile_cache_get_n_decoded (cache), ==, columns * rows);

  tile = hg_tile_cache_lookup (cache, fixture->slide, 0, 2, 1);
  g_assert_nonnull (tile);
  g_assert_cmphex (*(const guint32 *) (hg_image_get_data (tile) + 5 * hg_image_get_stride (tile) + 7 * 4), ==,
                   hg_test_pattern_pixel (2 * 256 + 7, 256 + 5));

  /* Loading again is a hit: nothing decoded. */
  state.pending++;
  hg_tile_cache_load_async (cache, fixture->slide, 0, 0, 0, 0, NULL, on_loaded, &state);
  wait_for (&state);
  g_assert_cmpuint (hg_tile_cache_get_n_decoded (cache), ==, columns * rows);

  /* Bad coordinates come back as errors through the same path. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (HgImage) none = hg_tile_cache_load (cache, fixture->slide, 0, 99, 0, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, HG_ERROR, HG_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_cancel (Fixture      *fixture,
             gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (64 * 1024 * 1024);
  g_autoptr (GCancellable) gone = g_cancellable_new ();
  g_autoptr (GCancellable) later = g_cancellable_new ();
  LoadState state = { .pixels_ok = TRUE };

  /* Tiles that left the view before a worker got to them are never decoded. */
  g_cancellable_cancel (gone);
  for (int i = 0; i < 12; i++)
    {
      state.pending++;
      hg_tile_cache_load_async (cache, fixture->slide, 0, i % 4, i / 4, 0, gone, on_loaded, &state);
    }
  wait_for (&state);
  g_assert_cmpuint (state.cancelled, ==, 12);
  g_assert_cmpuint (hg_tile_cache_get_n_decoded (cache), ==, 0);
  g_assert_cmpuint (hg_tile_cache_get_n_tiles (cache), ==, 0);

  /* Cancelled while queued: every callback still runs, once. */
  state = (LoadState){ .pixels_ok = TRUE };
  for (int level = 0; level < 2; level++)
    for (int i = 0; i < 12; i++)
      {
        state.pending++;
        hg_tile_cache_load_async (cache, fixture->slide, level, i % 4, i / 4 % (level ? 2 : 3), 0,
                                  later, on_loaded, &state);
      }
  g_cancellable_cancel (later);
  wait_for (&state);
  g_assert_cmpuint (state.loaded + state.cancelled, ==, 24);
  g_assert_cmpuint (hg_tile_cache_get_n_decoded (cache), <=, state.loaded + 2 /* in flight */);
}

typedef struct
{
  HgTileCache *cache;
  HgSlide     *slide;
  guint        seed;
} StressData;

static gpointer
stress_thread (gpointer user_data)
{
  StressData *data = user_data;
  GRand      *rand = g_rand_new_with_seed (data->seed);

  for (int i = 0; i < 2000; i++)
    {
      gint64   column = g_rand_int_range (rand, 0, 32);
      HgImage *tile = hg_tile_cache_lookup (data->cache, data->slide, 0, column, 0);

      if (tile == NULL)
        {
          tile = make_tile (0xff000000u | (guint32) column);
          hg_tile_cache_insert (data->cache, data->slide, 0, column, 0, tile);
        }
      g_assert_cmphex (*(const guint32 *) hg_image_get_data (tile), ==, 0xff000000u | (guint32) column);
      hg_image_unref (tile);

      if (i % 500 == 0)
        hg_tile_cache_set_budget (data->cache, (guint64) g_rand_int_range (rand, 4, 16) * TILE_BYTES);
    }
  g_rand_free (rand);

  return NULL;
}

static void
test_threads (Fixture      *fixture,
              gconstpointer data)
{
  g_autoptr (HgTileCache) cache = hg_tile_cache_new (8 * TILE_BYTES);
  StressData stress[4];
  GThread   *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    {
      stress[i] = (StressData){ cache, fixture->slide, i + 7 };
      threads[i] = g_thread_new ("stress", stress_thread, &stress[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  g_assert_cmpuint (hg_tile_cache_get_size (cache), <=, hg_tile_cache_get_budget (cache));
  g_assert_cmpuint (hg_tile_cache_get_size (cache), ==, (guint64) hg_tile_cache_get_n_tiles (cache) * TILE_BYTES);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/hg/tile-cache/lru", test_lru);
  ADD ("/hg/tile-cache/budget", test_budget);
  ADD ("/hg/tile-cache/evicted-tile-lives-on", test_evicted_tile_lives_on);
  ADD ("/hg/tile-cache/remove-slide", test_remove_slide);
  ADD ("/hg/tile-cache/load-async", test_load_async);
  ADD ("/hg/tile-cache/cancel", test_cancel);
  ADD ("/hg/tile-cache/threads", test_threads);
#undef ADD

  return g_test_run ();
}
