/* SPDX-License-Identifier: GPL-3.0-or-later */
/* benchmarks/viewer: how the slide viewer holds up on a slide of a real
 * size. Run through benchmarks/viewer (which brings up Xvfb); see --help.
 *
 * The 100,000 × 80,000 slide is a tiled, JPEG-compressed pyramidal BigTIFF
 * written here by hand: its tiles are real H&E tissue cut from the demo
 * slide (or white glass outside a tissue outline), encoded once and shared
 * by every tile position that shows them, so the file takes seconds and a
 * few megabytes instead of gigabytes. Every tile is still decoded by
 * OpenSlide on its own; only disk reads are (page-)cached. */
#include "config.h"

#include <adwaita.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <jpeglib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "histoguard/histoguard.h"

#include "hg-slide-page.h"
#include "hg-slide-view.h"

#define TILE 256
#define N_TISSUE_TILES 48

/* Writing the BigTIFF. */

typedef struct
{
  guint8 *data;
  gsize   size;
} Blob;

static Blob
encode_jpeg (const HgImage *image,
             int            quality)
{
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr       jerr;
  unsigned char              *out = NULL;
  unsigned long               out_size = 0;
  g_autofree guint8          *row = g_malloc ((gsize) TILE * 3);
  Blob                        blob;

  cinfo.err = jpeg_std_error (&jerr);
  jpeg_create_compress (&cinfo);
  jpeg_mem_dest (&cinfo, &out, &out_size);
  cinfo.image_width = TILE;
  cinfo.image_height = TILE;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults (&cinfo);
  jpeg_set_quality (&cinfo, quality, TRUE);
  jpeg_start_compress (&cinfo, TRUE);
  for (int y = 0; y < TILE; y++)
    {
      const guint32 *src = (const guint32 *) (hg_image_get_data (image) + (gsize) y * hg_image_get_stride (image));
      JSAMPROW       rows[1] = { row };

      for (int x = 0; x < TILE; x++)
        {
          /* Over white: the tissue's transparent gaps are glass. */
          guint a = src[x] >> 24;

          row[3 * x + 0] = (guint8) (((src[x] >> 16) & 0xff) + 255 - a);
          row[3 * x + 1] = (guint8) (((src[x] >> 8) & 0xff) + 255 - a);
          row[3 * x + 2] = (guint8) ((src[x] & 0xff) + 255 - a);
        }
      jpeg_write_scanlines (&cinfo, rows, 1);
    }
  jpeg_finish_compress (&cinfo);
  jpeg_destroy_compress (&cinfo);

  blob.data = g_memdup2 (out, out_size);
  blob.size = out_size;
  free (out);
  return blob;
}

/* Whether level-0 point (x, y) of a width × height slide is tissue: a few
 * overlapping blobs, about a third of the area, like a section on glass. */
static gboolean
is_tissue (double x,
           double y,
           double width,
           double height)
{
  static const double blobs[][4] = {
    /* centre x, centre y (fractions), radii x, y (fractions) */
    { 0.42, 0.48, 0.26, 0.30 },
    { 0.62, 0.40, 0.20, 0.22 },
    { 0.55, 0.66, 0.18, 0.16 },
    { 0.30, 0.30, 0.10, 0.12 },
  };
  double fx = x / width, fy = y / height;

  for (guint i = 0; i < G_N_ELEMENTS (blobs); i++)
    {
      double dx = (fx - blobs[i][0]) / blobs[i][2];
      double dy = (fy - blobs[i][1]) / blobs[i][3];

      if (dx * dx + dy * dy < 1)
        return TRUE;
    }

  return FALSE;
}

static void
put16 (GByteArray *out,
       guint16     v)
{
  g_byte_array_append (out, (guint8 *) &v, 2);
}

static void
put64 (GByteArray *out,
       guint64     v)
{
  g_byte_array_append (out, (guint8 *) &v, 8);
}

/* One BigTIFF IFD entry whose value fits in its 8 bytes. */
static void
entry_inline (GByteArray *out,
              guint16     tag,
              guint16     type,
              guint64     count,
              guint64     value)
{
  put16 (out, tag);
  put16 (out, type);
  put64 (out, count);
  put64 (out, value);
}

enum
{
  TIFF_SHORT = 3,
  TIFF_LONG = 4,
  TIFF_LONG8 = 16,
};

/* Writes a little-endian BigTIFF pyramid: width × height, halved until a
 * level fits in one tile. Returns FALSE with error set on I/O failure. */
static gboolean
write_big_tiff (const char *path,
                gint64      width,
                gint64      height,
                HgSlide    *source,
                GError    **error)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GArray) tissue = g_array_new (FALSE, FALSE, sizeof (guint64) * 2);
  GRand  *rand = g_rand_new_with_seed (42);
  guint64 blank[2];
  gint64  src_w, src_h;
  int     n_levels = 0;
  guint64 next_ifd_fixup;

  /* Header: "II", 43, offset size 8, 0, first IFD (patched below). */
  g_byte_array_append (out, (const guint8 *) "II", 2);
  put16 (out, 43);
  put16 (out, 8);
  put16 (out, 0);
  next_ifd_fixup = out->len;
  put64 (out, 0);

  /* Tile data, once each. */
  hg_slide_get_level_size (source, 0, &src_w, &src_h);
  for (int i = 0; i < N_TISSUE_TILES; i++)
    {
      g_autoptr (HgImage) region = NULL;
      Blob    blob;
      guint64 placed[2];

      /* Tissue-rich crops of the demo slide (the middle half of it). */
      do
        {
          g_clear_pointer (&region, hg_image_unref);
          region = hg_slide_read_region_image (source, 0,
                                               src_w / 4 + g_rand_int_range (rand, 0, (gint32) (src_w / 2 - TILE)),
                                               src_h / 4 + g_rand_int_range (rand, 0, (gint32) (src_h / 2 - TILE)),
                                               TILE, TILE, error);
          if (region == NULL)
            return FALSE;
        }
      while (((const guint32 *) hg_image_get_data (region))[TILE * TILE / 2 + TILE / 2] >> 24 == 0);

      blob = encode_jpeg (region, 80);
      placed[0] = out->len;
      placed[1] = blob.size;
      g_byte_array_append (out, blob.data, blob.size);
      g_array_append_val (tissue, placed);
      g_free (blob.data);
    }
  {
    g_autoptr (HgImage) white = hg_image_new (TILE, TILE, error);
    Blob blob;

    memset (hg_image_get_mutable_data (white), 0xff, hg_image_get_size (white));
    blob = encode_jpeg (white, 80);
    blank[0] = out->len;
    blank[1] = blob.size;
    g_byte_array_append (out, blob.data, blob.size);
    g_free (blob.data);
  }
  g_rand_free (rand);

  for (gint64 w = width, h = height;; w = (w + 1) / 2, h = (h + 1) / 2)
    {
      gint64  columns = (w + TILE - 1) / TILE, rows = (h + TILE - 1) / TILE;
      guint64 n_tiles = (guint64) (columns * rows);
      guint64 offsets_at, counts_at, ifd_at;
      double  scale = (double) width / w;

      /* Tile offsets and byte counts: each position points at a shared blob. */
      g_autofree const guint64 **blobs = g_new (const guint64 *, n_tiles);

      for (gint64 r = 0; r < rows; r++)
        for (gint64 c = 0; c < columns; c++)
          blobs[r * columns + c] = is_tissue ((c + 0.5) * TILE * scale, (r + 0.5) * TILE * scale, width, height)
                                       ? &g_array_index (tissue, guint64, 2 * (guint) ((c * 7 + r * 13 + n_levels) % N_TISSUE_TILES))
                                       : blank;

      while (out->len % 8)
        g_byte_array_append (out, (const guint8 *) "", 1);
      offsets_at = out->len;
      for (guint64 i = 0; i < n_tiles; i++)
        put64 (out, blobs[i][0]);
      counts_at = out->len;
      for (guint64 i = 0; i < n_tiles; i++)
        put64 (out, blobs[i][1]);

      /* The IFD. */
      while (out->len % 8)
        g_byte_array_append (out, (const guint8 *) "", 1);
      ifd_at = out->len;
      memcpy (out->data + next_ifd_fixup, &ifd_at, 8);
      put64 (out, 12);                                                     /* entries */
      entry_inline (out, 254, TIFF_LONG, 1, n_levels > 0 ? 1 : 0);         /* NewSubfileType */
      entry_inline (out, 256, TIFF_LONG, 1, (guint64) w);                  /* ImageWidth */
      entry_inline (out, 257, TIFF_LONG, 1, (guint64) h);                  /* ImageLength */
      entry_inline (out, 258, TIFF_SHORT, 3, 8 | 8ull << 16 | 8ull << 32); /* BitsPerSample */
      entry_inline (out, 259, TIFF_SHORT, 1, 7);                           /* Compression: JPEG */
      entry_inline (out, 262, TIFF_SHORT, 1, 6);                           /* Photometric: YCbCr */
      entry_inline (out, 277, TIFF_SHORT, 1, 3);                           /* SamplesPerPixel */
      entry_inline (out, 284, TIFF_SHORT, 1, 1);                           /* PlanarConfig: contig */
      entry_inline (out, 322, TIFF_LONG, 1, TILE);                         /* TileWidth */
      entry_inline (out, 323, TIFF_LONG, 1, TILE);                         /* TileLength */
      /* A single value fits in the entry itself. */
      entry_inline (out, 324, TIFF_LONG8, n_tiles, n_tiles == 1 ? blobs[0][0] : offsets_at); /* TileOffsets */
      entry_inline (out, 325, TIFF_LONG8, n_tiles, n_tiles == 1 ? blobs[0][1] : counts_at);  /* TileByteCounts */
      next_ifd_fixup = out->len;
      put64 (out, 0);
      n_levels++;

      if (w <= TILE && h <= TILE)
        break;
    }

  if (!g_file_set_contents_full (path, (const char *) out->data, out->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    return FALSE;

  g_print ("wrote %s: %" G_GINT64_FORMAT " × %" G_GINT64_FORMAT ", %d levels, %.1f MB\n", path,
           width, height, n_levels, out->len / 1e6);
  return TRUE;
}

/* Measuring. */

typedef struct
{
  HgSlideView *view;
  GArray      *frame_ms;
  GArray      *cpu_ms;
  gint64       frame_start;
  double       cpu_start;
  int          frames_left;
  double       step;
  gboolean     done;
} PanRun;

static gboolean
tiles_ready (HgSlideView *view)
{
  HgSlide        *slide = hg_slide_view_get_slide (view);
  int             level = hg_slide_view_get_level (view);
  double          span = TILE * hg_slide_get_level_downsample (slide, level);
  graphene_rect_t area;
  gint64          columns, rows;

  if (!gtk_widget_get_mapped (GTK_WIDGET (view)) || hg_slide_view_get_loading (view))
    return FALSE;

  hg_slide_view_get_visible_area (view, &area);
  hg_slide_get_tile_grid (slide, level, &columns, &rows);
  for (gint64 r = MAX (0, (gint64) floor (area.origin.y / span)); r < rows && r * span < area.origin.y + area.size.height; r++)
    for (gint64 c = MAX (0, (gint64) floor (area.origin.x / span)); c < columns && c * span < area.origin.x + area.size.width; c++)
      {
        g_autoptr (HgImage) tile = hg_tile_cache_lookup (hg_slide_view_get_cache (view), slide, level, c, r);

        if (tile == NULL)
          return FALSE;
      }

  return TRUE;
}

static void
iterate_until_ready (HgSlideView *view)
{
  while (!tiles_ready (view))
    g_main_context_iteration (NULL, TRUE);
}

static void
iterate_ms (int ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

/* CPU time of the calling (drawing) thread: the frame's own work, without
 * waiting for the X server or for a core other processes hold. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
on_before_update (GdkFrameClock *clock,
                  PanRun        *run)
{
  if (run->frames_left <= 0)
    return;

  run->frame_start = g_get_monotonic_time ();
  run->cpu_start = thread_cpu_ms ();
  hg_slide_view_pan_by (run->view, run->step, run->step * 0.3);
}

static void
on_after_paint (GdkFrameClock *clock,
                PanRun        *run)
{
  double ms;

  if (run->frames_left <= 0 || run->frame_start == 0)
    return;

  ms = (g_get_monotonic_time () - run->frame_start) / 1000.0;
  g_array_append_val (run->frame_ms, ms);
  ms = thread_cpu_ms () - run->cpu_start;
  g_array_append_val (run->cpu_ms, ms);
  run->frame_start = 0;
  if (--run->frames_left == 0)
    run->done = TRUE;
}

static gboolean
keep_ticking (GtkWidget     *widget,
              GdkFrameClock *clock,
              gpointer       data)
{
  return G_SOURCE_CONTINUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double da = *(const double *) a, db = *(const double *) b;

  return da < db ? -1 : da > db;
}

static double
percentile (GArray *values,
            double  p)
{
  g_array_sort (values, compare_doubles);
  return g_array_index (values, double, MIN (values->len - 1, (guint) floor (p * values->len)));
}

static double
peak_rss_mb (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

typedef struct
{
  const char *name;
  double      first_tiles_ms;
  double      p50;
  double      p95;
  double      cpu_p50;
  double      cpu_p95;
  double      naive_first_ms;
  double      naive_frame_ms;
  guint       frames;
} Result;

/* A viewer without a cache or workers: one read of the whole visible area
 * at the view's level, per frame. */
static double
naive_read_ms (HgSlideView *view)
{
  HgSlide        *slide = hg_slide_view_get_slide (view);
  int             level = hg_slide_view_get_level (view);
  double          ds = hg_slide_get_level_downsample (slide, level);
  graphene_rect_t area;
  g_autoptr (HgImage) image = NULL;
  gint64 start = g_get_monotonic_time ();

  hg_slide_view_get_visible_area (view, &area);
  image = hg_slide_read_region_image (slide, level, (gint64) area.origin.x, (gint64) area.origin.y,
                                      (int) (area.size.width / ds), (int) (area.size.height / ds), NULL);
  return (g_get_monotonic_time () - start) / 1000.0;
}

static Result
measure (const char  *name,
         const char  *path,
         GtkWindow   *window,
         HgSlidePage *page,
         HgTileCache *cache,
         double       pan_zoom,
         int          n_frames)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (HgSlide) slide = NULL;
  HgSlideView   *view = hg_slide_page_get_view (page);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  PanRun         run = { .view = view,
                         .frame_ms = g_array_new (FALSE, FALSE, sizeof (double)),
                         .cpu_ms = g_array_new (FALSE, FALSE, sizeof (double)) };
  Result         result = { .name = name };
  gint64         start;
  gulong         before, after;
  guint          tick;

  hg_tile_cache_clear (cache);
  start = g_get_monotonic_time ();
  slide = hg_slide_open (path, NULL, &error);
  if (slide == NULL)
    g_error ("%s", error->message);
  hg_slide_page_set_slide (page, slide);
  iterate_until_ready (view);
  g_main_context_iteration (NULL, FALSE);
  result.first_tiles_ms = (g_get_monotonic_time () - start) / 1000.0;
  result.naive_first_ms = naive_read_ms (view);

  /* Into the tissue, at a working magnification, then pan steadily. */
  hg_slide_view_zoom_to (view, pan_zoom, FALSE);
  hg_slide_view_center_on (view, hg_viewport_get_center_x (hg_slide_view_get_viewport (view)) * 0.6,
                           hg_viewport_get_center_y (hg_slide_view_get_viewport (view)) * 0.7, FALSE);
  iterate_until_ready (view);
  result.naive_frame_ms = naive_read_ms (view);

  run.frames_left = n_frames;
  run.step = 24;
  before = g_signal_connect (clock, "before-paint", G_CALLBACK (on_before_update), &run);
  after = g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &run);
  tick = gtk_widget_add_tick_callback (GTK_WIDGET (window), keep_ticking, NULL, NULL);
  while (!run.done)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (GTK_WIDGET (window), tick);
  g_signal_handler_disconnect (clock, before);
  g_signal_handler_disconnect (clock, after);

  result.frames = run.frame_ms->len;
  result.p50 = percentile (run.frame_ms, 0.50);
  result.p95 = percentile (run.frame_ms, 0.95);
  result.cpu_p50 = percentile (run.cpu_ms, 0.50);
  result.cpu_p95 = percentile (run.cpu_ms, 0.95);
  g_array_unref (run.frame_ms);
  g_array_unref (run.cpu_ms);

  hg_slide_page_set_slide (page, NULL);
  iterate_ms (100);
  return result;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTileCache) cache = NULL;
  g_autofree char   *dir = NULL;
  g_autofree char   *big = NULL;
  g_autofree char   *demo = NULL;
  g_autofree char   *svs = NULL;
  g_autofree char   *workdir = NULL;
  const char        *shared = g_getenv ("HG_SHARED_DATA");
  int                frames = 240;
  int                budget_mib = 256;
  double             loadavg[3] = { 0 };
  GtkWindow         *window;
  HgSlidePage       *page;
  Result             results[2];
  guint              n_results = 0;
  const GOptionEntry entries[] = {
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &workdir, "Where to write (and keep) the generated slide", "DIR" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of panning to time (240)", "N" },
    { "cache-mib", 0, 0, G_OPTION_ARG_INT, &budget_mib, "Tile cache budget in MiB (256, the default preference)", "MIB" },
    { NULL }
  };

  context = g_option_context_new ("- time the slide viewer");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-viewer: %s\n", error->message);
      return 2;
    }

  gtk_init ();
  adw_init ();

  dir = workdir != NULL ? g_strdup (workdir) : g_build_filename (g_get_tmp_dir (), "histoguard-bench", NULL);
  g_mkdir_with_parents (dir, 0755);
  big = g_build_filename (dir, "pyramid-100000x80000.tif", NULL);
  if (!g_file_test (big, G_FILE_TEST_EXISTS))
    {
      g_autoptr (HgSlide) source = NULL;

      demo = hg_data_find (HG_DATA_DEMO_SLIDE);
      if (demo == NULL || (source = hg_slide_open (demo, NULL, &error)) == NULL)
        g_error ("the demo slide gives the tissue tiles: %s", error != NULL ? error->message : "not found");
      if (!write_big_tiff (big, 100000, 80000, source, &error))
        g_error ("%s", error->message);
    }

  cache = hg_tile_cache_new ((guint64) budget_mib << 20);
  window = GTK_WINDOW (gtk_window_new ());
  page = HG_SLIDE_PAGE (hg_slide_page_new ());
  hg_slide_page_set_cache (page, cache);
  gtk_window_set_child (window, GTK_WIDGET (page));
  gtk_window_set_default_size (window, 1280, 800);
  gtk_window_present (window);
  while (!gtk_widget_get_mapped (GTK_WIDGET (page)))
    g_main_context_iteration (NULL, TRUE);
  iterate_ms (300);

  results[n_results++] = measure ("100,000 × 80,000 TIFF", big, window, page, cache, 0.5, frames);

  if (shared != NULL)
    svs = g_build_filename (shared, "slides", "CMU-1-Small-Region.svs", NULL);
  if (svs != NULL && g_file_test (svs, G_FILE_TEST_EXISTS))
    results[n_results++] = measure ("CMU-1-Small-Region.svs", svs, window, page, cache, 1.0, frames);
  else
    g_print ("(no CMU-1-Small-Region.svs under $HG_SHARED_DATA: skipped)\n");

  getloadavg (loadavg, 3);
  g_print ("\n%-24s %12s %12s %10s %10s %10s %10s %12s\n", "slide", "first tiles",
           "naive view", "pan p50", "pan p95", "cpu p50", "cpu p95", "naive frame");
  for (guint i = 0; i < n_results; i++)
    g_print ("%-24s %9.1f ms %9.1f ms %7.2f ms %7.2f ms %7.2f ms %7.2f ms %9.1f ms\n",
             results[i].name, results[i].first_tiles_ms, results[i].naive_first_ms, results[i].p50,
             results[i].p95, results[i].cpu_p50, results[i].cpu_p95, results[i].naive_frame_ms);
  g_print ("\npan: wall time from the start of a frame to its end (what the eye gets);\n"
           "cpu: the drawing thread's own CPU time in it (without waiting for Xvfb or a core).\n"
           "naive: one read of the visible region at the view's level, no cache, no workers.\n");
  g_print ("\npeak RSS %.0f MB (cache budget %d MiB, limit %.0f MB); %u frames per slide; "
           "load average %.2f\n",
           peak_rss_mb (), budget_mib, budget_mib * 1.048576 + 150, results[0].frames, loadavg[0]);
  g_print ("p95 frame / naive per-frame read: %.3f\n", results[0].p95 / results[0].naive_frame_ms);

  g_print ("{\"first_tiles_ms\": %.1f, \"pan_frame_p50_ms\": %.2f, \"pan_frame_p95_ms\": %.2f, "
           "\"peak_rss_mb\": %.0f, \"cache_budget_mib\": %d, \"pan_cpu_p50_ms\": %.2f, "
           "\"pan_cpu_p95_ms\": %.2f, \"naive_frame_ms\": %.1f",
           results[0].first_tiles_ms, results[0].p50, results[0].p95, peak_rss_mb (), budget_mib,
           results[0].cpu_p50, results[0].cpu_p95, results[0].naive_frame_ms);
  if (n_results > 1)
    g_print (", \"svs_first_tiles_ms\": %.1f, \"svs_pan_frame_p50_ms\": %.2f, \"svs_pan_frame_p95_ms\": %.2f",
             results[1].first_tiles_ms, results[1].p50, results[1].p95);
  g_print (", \"load_average\": %.2f}\n", loadavg[0]);

  gtk_window_destroy (window);
  return 0;
}
