/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgExplorer"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "hg-explorer.h"
#include "hg-heatmap-overlay.h"
#include "hg-slide-text.h"
#include "hg-window.h"

/* Focus pictures: each model pixel becomes this many screen pixels. */
#define PICTURE_ZOOM 4
/* A pan settles for this long before the tiles in view are attacked. */
#define VIEW_SETTLE_MS 40
/* Tiles a detector's threshold is calibrated on, spread over the slide. */
#define CALIBRATION_TILES 512
/* The defences, as the panel offers them. */
#define JPEG_SPEC "jpeg:75"
#define MEDIAN_SPEC "median:3"
#define BITS_SPEC "bits:4"

struct _HgExplorer
{
  GObject parent_instance;

  HgSlidePage        *page;
  GSimpleActionGroup *actions;

  /* Settings */
  gboolean     active;
  HgAttackKind kind;
  double       eps;
  int          steps;
  HgLiveGoal   goal;
  gboolean     scope_view;
  gboolean     compare;
  gboolean     adaptive;
  gboolean     robust;
  gboolean     jpeg, median, bits, detector;
  gboolean     show_map;

  /* What the attack runs on */
  HgTiling       *tiling;
  HgModel        *model;
  HgModel        *robust_model;
  char           *robust_path;
  HgLiveAttack   *live;
  HgLivePipeline *pipelines[2];
  GHashTable     *thresholds; /* pipeline key → double* */
  GCancellable   *calibrate_cancellable;
  GArray         *visible; /* guint64 keys of the tiles in view */
  guint           settle_id;

  /* What it gave */
  guint64           last_serial;
  gboolean          busy;
  HgLiveResult     *result;
  HgHeatmapOverlay *overlays[2];
  GdkTexture       *pictures[2][3];
  char             *summary, *accuracy, *defended_summary, *defended_accuracy;
  char             *focus_text[2];
  char             *status;
  int               n_flipped, n_tiles;

  /* Robustness maps */
  HgLiveMap    *maps[2];
  GCancellable *map_cancellable;
  gboolean      map_running;
  double        map_progress;

  GtkFileChooserNative *export_chooser;
};

G_DEFINE_FINAL_TYPE (HgExplorer, hg_explorer, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_ACTIVE,
  PROP_ATTACK,
  PROP_EPSILON,
  PROP_STEPS,
  PROP_GOAL,
  PROP_SCOPE,
  PROP_COMPARE,
  PROP_ADAPTIVE,
  PROP_ROBUST_MODEL,
  PROP_JPEG,
  PROP_MEDIAN,
  PROP_BITS,
  PROP_DETECTOR,
  PROP_SHOW_MAP,
  /* Read-only */
  PROP_ITERATIVE,
  PROP_ROBUST_AVAILABLE,
  PROP_BUSY,
  PROP_MAP_RUNNING,
  PROP_MAP_PROGRESS,
  PROP_HAS_MAP,
  PROP_SUMMARY,
  PROP_ACCURACY,
  PROP_DEFENDED_SUMMARY,
  PROP_DEFENDED_ACCURACY,
  PROP_FOCUS_TEXT,
  PROP_DEFENDED_FOCUS_TEXT,
  PROP_STATUS,
  PROP_N_FLIPPED,
  PROP_N_TILES,
  N_PROPS
};

enum
{
  PICTURES_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

static void request_update (HgExplorer *self);
static void rebuild_pipelines (HgExplorer *self);
static void show_values (HgExplorer *self);

/* ---- small things ------------------------------------------------------------ */

static void
show_toast (HgExplorer *self,
            const char *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self->page));

  g_debug ("%s", message);
  if (HG_IS_WINDOW (root))
    hg_window_show_toast (HG_WINDOW (root), message);
  else
    g_message ("%s", message);
}

static void
set_string (HgExplorer *self,
            char      **field,
            const char *value,
            int         prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_busy (HgExplorer *self,
          gboolean    busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_status (HgExplorer *self,
            const char *status)
{
  set_string (self, &self->status, status, PROP_STATUS);
}

static int
positive_class (HgExplorer *self)
{
  HgHeatmap *heatmap = hg_slide_page_get_heatmap (self->page);

  if (heatmap != NULL)
    return hg_heatmap_get_positive_class (heatmap);
  return self->model != NULL ? hg_model_get_n_classes (self->model) - 1 : 1;
}

static const char *
class_name (HgExplorer *self,
            int         index)
{
  return self->model != NULL ? hg_model_get_class_name (self->model, index) : "?";
}

/* "idc-standard" for ".../idc-standard.safetensors". */
static char *
model_name (HgModel    *model,
            const char *path)
{
  g_autofree char *base = NULL;

  if (path == NULL)
    return g_strdup (hg_model_get_arch_name (model));
  base = g_path_get_basename (path);
  if (g_str_has_suffix (base, ".safetensors"))
    base[strlen (base) - strlen (".safetensors")] = '\0';
  return g_steal_pointer (&base);
}

static char *
defense_spec (HgExplorer *self)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();

  if (self->jpeg)
    g_ptr_array_add (parts, (gpointer) JPEG_SPEC);
  if (self->median)
    g_ptr_array_add (parts, (gpointer) MEDIAN_SPEC);
  if (self->bits)
    g_ptr_array_add (parts, (gpointer) BITS_SPEC);
  if (parts->len == 0)
    return NULL;
  g_ptr_array_add (parts, NULL);
  return g_strjoinv ("+", (char **) parts->pdata);
}

static HgModel *
defended_model (HgExplorer *self)
{
  return self->robust && self->robust_model != NULL ? self->robust_model : self->model;
}

static char *
threshold_key (HgModel    *model,
               const char *spec)
{
  return g_strdup_printf ("%p|%s", (gpointer) model, spec != NULL ? spec : "none");
}

/* ---- words ------------------------------------------------------------------ */

char *
hg_explorer_describe_attack (HgExplorer *self)
{
  const char      *goal;
  g_autofree char *eps = NULL;

  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);

  switch (self->goal)
    {
    case HG_LIVE_GOAL_BENIGN:
      goal = _ ("towards non-IDC");
      break;
    case HG_LIVE_GOAL_MALIGNANT:
      goal = _ ("towards IDC");
      break;
    case HG_LIVE_GOAL_UNTARGETED:
    default:
      goal = _ ("untargeted");
      break;
    }
  /* Translators: ε in units of 1/255, e.g. "8/255" */
  eps = g_strdup_printf (_ ("%g/255"), round (self->eps * 100) / 100);
  if (self->kind == HG_ATTACK_FGSM)
    /* Translators: attack, ε, goal: "FGSM, ε = 8/255, untargeted" */
    return g_strdup_printf (_ ("FGSM, ε = %s, %s"), eps, goal);
  /* Translators: attack, ε, steps, goal: "PGD, ε = 8/255, 10 steps, untargeted" */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s, ε = %s, %d step, %s", "%s, ε = %s, %d steps, %s", self->steps),
                          self->kind == HG_ATTACK_BIM ? "BIM" : "PGD", eps,
                          self->steps, goal);
}

/* The defended pipeline, e.g. "JPEG 75 + detector". */
static char *
describe_pipeline (HgExplorer *self)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);

  if (self->robust && self->robust_model != NULL)
    g_ptr_array_add (parts, g_strdup (_ ("adversarially trained model")));
  if (self->jpeg)
    g_ptr_array_add (parts, g_strdup (_ ("JPEG 75")));
  if (self->median)
    g_ptr_array_add (parts, g_strdup (_ ("median 3×3")));
  if (self->bits)
    g_ptr_array_add (parts, g_strdup (_ ("bit depth 4")));
  if (self->detector)
    g_ptr_array_add (parts, g_strdup (_ ("detector")));
  if (parts->len == 0)
    return g_strdup (_ ("no defence chosen"));
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (" + ", (char **) parts->pdata);
}

char *
hg_explorer_describe_pane (HgExplorer    *self,
                           HgExplorerPane pane)
{
  g_autofree char *pipeline = NULL;

  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);

  if (pane == HG_EXPLORER_UNDEFENDED)
    return g_strdup (_ ("Undefended model"));

  pipeline = describe_pipeline (self);
  return g_strdup_printf ("%s: %s\n%s", _ ("Defended"), pipeline,
                          self->adaptive ? _ ("Adaptive attack, crafted against this pipeline")
                                         : _ ("Transfer attack, crafted on the undefended model"));
}

/* ---- overlays and captions ----------------------------------------------- */

/* A pane's description as a caption: its first line in bold, the rest
 * smaller. */
static char *
caption_markup (const char *text,
                const char *extra)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", 2);
  g_autofree char *first = extra != NULL ? g_strdup_printf ("%s · %s", lines[0], extra) : g_strdup (lines[0]);

  if (lines[1] == NULL)
    return g_markup_printf_escaped ("%s", first);
  return g_markup_printf_escaped ("%s\n<span weight='normal' size='small'>%s</span>", first, lines[1]);
}

static void
update_captions (HgExplorer *self)
{
  g_autofree char *left = NULL, *right = NULL;
  const char      *map = self->show_map && self->maps[0] != NULL ? _ ("robustness map") : NULL;

  if (self->page == NULL)
    return;
  if (self->active)
    {
      g_autofree char *text = hg_explorer_describe_pane (self, HG_EXPLORER_UNDEFENDED);

      left = caption_markup (text, map);
      if (self->compare)
        {
          /* Shorter than hg_explorer_describe_pane (): a long pipeline
           * must not wrap the bold line and push the caption over the
           * slide, least of all in presentation mode. */
          g_autofree char *pipeline = describe_pipeline (self);
          g_autofree char *defended = g_strdup_printf ("%s\n%s",
                                                       self->adaptive ? _ ("Defended, adaptive attack")
                                                                      : _ ("Defended, transfer attack"),
                                                       pipeline);

          right = caption_markup (defended, map);
        }
    }
  hg_slide_page_set_captions (self->page, left, right);
}

static void
update_legend (HgExplorer *self)
{
  if (self->page == NULL)
    return;
  if (self->active && self->show_map && self->maps[0] != NULL)
    hg_slide_page_set_legend (self->page, _ ("Smallest flipping ε (/255)"), HG_COLORMAP_MAGMA, 0,
                              HG_LIVE_MAX_EPS);
  else
    hg_slide_page_set_legend (self->page, NULL, HG_COLORMAP_VIRIDIS, 0, 1);
}

/* The page's own heatmap hides while the explorer draws over it. */
static void
sync_page_overlay (HgExplorer *self)
{
  HgHeatmapOverlay *page_overlay = hg_slide_page_get_heatmap_overlay (self->page);
  gboolean          visible;

  g_object_get (self->page, "heatmap-visible", &visible, NULL);
  hg_heatmap_overlay_set_show_values (page_overlay, visible && !self->active);
  for (int p = 0; p < 2; p++)
    {
      hg_heatmap_overlay_set_show_values (self->overlays[p], visible);
      hg_heatmap_overlay_set_opacity (self->overlays[p], hg_heatmap_overlay_get_opacity (page_overlay));
      hg_heatmap_overlay_set_selected (self->overlays[p], hg_slide_page_get_selected_tile (self->page));
    }
}

static void
attach_overlays (HgExplorer *self,
                 gboolean    attach)
{
  HgSlideView *views[2] = { hg_slide_page_get_view (self->page), hg_slide_page_get_compare_view (self->page) };

  for (int p = 0; p < 2; p++)
    {
      hg_slide_view_remove_overlay (views[p], HG_SLIDE_OVERLAY (self->overlays[p]));
      if (attach)
        hg_slide_view_add_overlay (views[p], HG_SLIDE_OVERLAY (self->overlays[p]));
    }
}

/* Values over the views: the map, or probabilities at ε where the attack
 * has them (flips marked, detector flags ringed) and, on the main view,
 * the clean heatmap elsewhere. */
static void
show_values (HgExplorer *self)
{
  gsize n;
  /* Not g_autofree: on an array it would free only the first element. */
  float     *values[2] = { NULL, NULL };
  guint8    *flags[2] = { NULL, NULL };
  HgHeatmap *heatmap;
  HgColormap colormap;

  if (self->tiling == NULL || self->page == NULL)
    return;
  heatmap = hg_slide_page_get_heatmap (self->page);
  colormap = hg_heatmap_overlay_get_colormap (hg_slide_page_get_heatmap_overlay (self->page));
  for (int p = 0; p < 2; p++)
    if (hg_heatmap_overlay_get_tiling (self->overlays[p]) != self->tiling)
      hg_heatmap_overlay_set_tiling (self->overlays[p], self->tiling);

  n = hg_tiling_get_n_tiles (self->tiling);
  for (int p = 0; p < 2; p++)
    {
      values[p] = g_new (float, MAX (n, 1));
      flags[p] = g_new0 (guint8, MAX (n, 1));
      for (gsize i = 0; i < n; i++)
        values[p][i] = NAN;
    }

  if (self->show_map && self->maps[0] != NULL)
    {
      for (int p = 0; p < 2; p++)
        if (self->maps[p] != NULL && hg_live_map_get_n_tiles (self->maps[p]) == (int) n)
          {
            hg_live_map_copy_eps (self->maps[p], values[p]);
            for (gsize i = 0; i < n; i++)
              if (isinf (values[p][i]))
                values[p][i] = HG_LIVE_MAX_EPS; /* not flipped in range: the top colour */
          }
      for (int p = 0; p < 2; p++)
        {
          hg_heatmap_overlay_set_colormap (self->overlays[p], HG_COLORMAP_MAGMA);
          hg_heatmap_overlay_set_range (self->overlays[p], 0, HG_LIVE_MAX_EPS);
          hg_heatmap_overlay_set_values (self->overlays[p], values[p], NULL, n);
        }
      goto out;
    }

  if (heatmap != NULL && hg_heatmap_get_tiling (heatmap) == self->tiling)
    hg_heatmap_copy_scores (heatmap, values[0]);

  if (self->result != NULL)
    {
      HgLiveResult  *r = self->result;
      const guint64 *keys = hg_live_result_get_keys (r);
      int            k = hg_live_result_get_n_classes (r), positive = positive_class (self);

      for (int p = 0; p < hg_live_result_get_n_pipelines (r) && p < 2; p++)
        {
          const float  *probs = hg_live_result_get_probs (r, p);
          const guint8 *f = hg_live_result_get_flags (r, p);

          for (int i = 0; i < hg_live_result_get_n_tiles (r); i++)
            {
              if (keys[i] >= n || !(f[i] & HG_LIVE_TILE_DONE))
                continue;
              values[p][keys[i]] = probs[(gsize) i * k + positive];
              flags[p][keys[i]] = ((f[i] & HG_LIVE_TILE_FLIPPED) ? HG_HEATMAP_OVERLAY_MARKED : 0) |
                                  ((f[i] & HG_LIVE_TILE_FLAGGED) ? HG_HEATMAP_OVERLAY_FLAGGED : 0);
            }
        }
    }

  for (int p = 0; p < 2; p++)
    {
      hg_heatmap_overlay_set_colormap (self->overlays[p], colormap);
      hg_heatmap_overlay_set_range (self->overlays[p], 0, 1);
      hg_heatmap_overlay_set_values (self->overlays[p], values[p], flags[p], n);
    }

out:
  for (int p = 0; p < 2; p++)
    {
      g_free (values[p]);
      g_free (flags[p]);
    }
}

/* ---- results -------------------------------------------------------------- */

/* A focus picture from planar floats, each pixel a PICTURE_ZOOM square. */
static GdkTexture *
picture_texture (const float *chw,
                 int          width,
                 int          height)
{
  g_autofree guint8 *rgb = g_new (guint8, (gsize) 3 * width * height);
  int                zw = width * PICTURE_ZOOM, zh = height * PICTURE_ZOOM;
  gsize              stride = (gsize) 3 * zw;
  guint8            *big = g_malloc (stride * zh);
  g_autoptr (GBytes) bytes = NULL;

  hg_pixels_chw_to_rgb8 (chw, width, height, rgb, (gsize) 3 * width);
  for (int y = 0; y < zh; y++)
    for (int x = 0; x < zw; x++)
      memcpy (big + y * stride + 3 * x, rgb + ((gsize) (y / PICTURE_ZOOM) * width + x / PICTURE_ZOOM) * 3, 3);
  bytes = g_bytes_new_take (big, stride * zh);
  return gdk_memory_texture_new (zw, zh, GDK_MEMORY_R8G8B8, bytes, stride);
}

static char *
focus_words (HgExplorer   *self,
             HgLiveResult *r,
             int           pipeline,
             int           focus)
{
  int          k = hg_live_result_get_n_classes (r);
  const float *clean = hg_live_result_get_clean_probs (r, pipeline) + (gsize) focus * k;
  const float *adv = hg_live_result_get_probs (r, pipeline) + (gsize) focus * k;
  int          a = hg_live_result_get_clean_labels (r, pipeline)[focus];
  int          b = hg_live_result_get_labels (r, pipeline)[focus];
  guint8       flags = hg_live_result_get_flags (r, pipeline)[focus];
  g_autoptr (GString) text = g_string_new (NULL);

  if (!(flags & HG_LIVE_TILE_DONE))
    return g_strdup (_ ("Attacking…"));
  /* Translators: clean label (probability) → attacked label (probability) */
  g_string_append_printf (text, _ ("%s %.0f %% → %s %.0f %%"), class_name (self, a), 100 * clean[a],
                          class_name (self, b), 100 * adv[b]);
  if (flags & HG_LIVE_TILE_FLIPPED)
    g_string_append_printf (text, " · %s", _ ("flipped"));
  if (flags & HG_LIVE_TILE_FLAGGED)
    g_string_append_printf (text, " · %s", _ ("flagged"));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
update_pictures (HgExplorer *self)
{
  HgLiveResult *r = self->result;
  char         *words[2] = { NULL, NULL }; /* freed below: g_autofree frees one element */

  for (int p = 0; p < 2; p++)
    for (int i = 0; i < 3; i++)
      g_clear_object (&self->pictures[p][i]);

  for (int p = 0; r != NULL && self->page != NULL && p < hg_live_result_get_n_pipelines (r) && p < 2; p++)
    {
      const float      *clean, *adv;
      int               w, h;
      g_autofree float *amplified = NULL;
      const guint64    *keys = hg_live_result_get_keys (r);
      gssize            selected = hg_slide_page_get_selected_tile (self->page);
      int               focus = -1;

      if (!hg_live_result_get_focus (r, p, &clean, &adv, &w, &h))
        continue;
      for (int i = 0; i < hg_live_result_get_n_tiles (r) && focus < 0; i++)
        if ((gssize) keys[i] == selected)
          focus = i;
      if (focus < 0)
        continue;

      amplified = g_new (float, 3 * (gsize) w * h);
      hg_live_amplify_perturbation (clean, adv, 3 * (gsize) w * h, hg_live_result_get_params (r)->eps, amplified);
      self->pictures[p][HG_EXPLORER_CLEAN] = picture_texture (clean, w, h);
      self->pictures[p][HG_EXPLORER_PERTURBATION] = picture_texture (amplified, w, h);
      self->pictures[p][HG_EXPLORER_ATTACKED] = picture_texture (adv, w, h);
      words[p] = focus_words (self, r, p, focus);
    }

  set_string (self, &self->focus_text[0], words[0], PROP_FOCUS_TEXT);
  set_string (self, &self->focus_text[1], words[1], PROP_DEFENDED_FOCUS_TEXT);
  g_free (words[0]);
  g_free (words[1]);
  g_signal_emit (self, signals[PICTURES_CHANGED], 0);
}

static void
counts_words (HgExplorer         *self,
              const HgLiveCounts *c,
              gboolean            detector,
              char              **summary,
              char              **accuracy)
{
  g_autoptr (GString) text = g_string_new (NULL);

  /* Translators: flipped tiles of all tiles attacked */
  g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%d of %d tile flipped", "%d of %d tiles flipped", c->n_tiles),
                          c->n_flipped, c->n_tiles);
  if (c->n_done < c->n_tiles)
    /* Translators: how many tiles the attack has reached so far */
    g_string_append_printf (text, _ (" (%d done)"), c->n_done);
  if (detector)
    /* Translators: tiles the feature-squeezing detector flagged */
    g_string_append_printf (text, _ (" · %d caught by the detector"), c->n_flagged);
  *summary = g_string_free (g_steal_pointer (&text), FALSE);

  if (c->n_truth > 0)
    /* Translators: accuracy against the ground truth, clean → attacked */
    *accuracy = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Accuracy %.0f %% → %.0f %% (%d tile with ground truth)",
                                              "Accuracy %.0f %% → %.0f %% (%d tiles with ground truth)", c->n_truth),
                                 100.0 * c->n_clean_correct / c->n_truth, 100.0 * c->n_correct / c->n_truth,
                                 c->n_truth);
  else
    *accuracy = g_strdup (_ ("This slide has no ground truth to measure accuracy against"));
}

static void
update_counts (HgExplorer *self)
{
  /* Freed below: g_autofree on an array frees only its first element. */
  char        *summary[2] = { NULL, NULL }, *accuracy[2] = { NULL, NULL };
  HgLiveCounts counts = { 0 };
  int          n_flipped = 0, n_tiles = 0;

  for (int p = 0; self->result != NULL && p < hg_live_result_get_n_pipelines (self->result) && p < 2; p++)
    {
      hg_live_result_get_counts (self->result, p, &counts);
      counts_words (self, &counts, hg_live_result_get_scores (self->result, p) != NULL, &summary[p], &accuracy[p]);
      if (p == 0)
        {
          n_flipped = counts.n_flipped;
          n_tiles = counts.n_tiles;
        }
    }

  set_string (self, &self->summary, summary[0], PROP_SUMMARY);
  set_string (self, &self->accuracy, accuracy[0], PROP_ACCURACY);
  set_string (self, &self->defended_summary, summary[1], PROP_DEFENDED_SUMMARY);
  set_string (self, &self->defended_accuracy, accuracy[1], PROP_DEFENDED_ACCURACY);
  for (int p = 0; p < 2; p++)
    {
      g_free (summary[p]);
      g_free (accuracy[p]);
    }
  if (self->n_flipped != n_flipped)
    {
      self->n_flipped = n_flipped;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_FLIPPED]);
    }
  if (self->n_tiles != n_tiles)
    {
      self->n_tiles = n_tiles;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TILES]);
    }
}

static void
forget_result (HgExplorer *self)
{
  g_clear_pointer (&self->result, hg_live_result_unref);
  update_counts (self);
  update_pictures (self);
  show_values (self);
}

static void
on_live_result (HgLiveAttack *live,
                HgLiveResult *result,
                const GError *error,
                gpointer      user_data)
{
  HgExplorer *self = user_data;

  if (live != self->live)
    return;
  if (error != NULL)
    {
      /* Translators: %s says why */
      g_autofree char *text = g_strdup_printf (_ ("The attack stopped: %s"), error->message);

      set_status (self, text);
      set_busy (self, FALSE);
      return;
    }

  g_clear_pointer (&self->result, hg_live_result_unref);
  self->result = hg_live_result_ref (result);
  set_busy (self, hg_live_result_get_serial (result) < self->last_serial || !hg_live_result_is_complete (result) ||
                      self->settle_id != 0);
  set_status (self, NULL);
  update_counts (self);
  update_pictures (self);
  show_values (self);
}

/* ---- requests ------------------------------------------------------------- */

static void
update_visible (HgExplorer *self)
{
  HgSlideView    *view = hg_slide_page_get_view (self->page);
  graphene_rect_t area;
  gsize           n;
  const HgTile   *tiles;

  g_array_set_size (self->visible, 0);
  if (self->tiling == NULL)
    return;
  hg_slide_view_get_visible_area (view, &area);
  tiles = hg_tiling_get_tiles (self->tiling, &n);
  for (gsize i = 0; i < n; i++)
    {
      const HgTile *t = &tiles[i];
      guint64       key = i;

      if (t->x + t->width > area.origin.x && t->y + t->height > area.origin.y &&
          t->x < area.origin.x + area.size.width && t->y < area.origin.y + area.size.height)
        g_array_append_val (self->visible, key);
    }
}

static void
request_update (HgExplorer *self)
{
  HgLiveRequest    request;
  gssize           selected = hg_slide_page_get_selected_tile (self->page);
  guint64          selected_key = (guint64) selected;
  g_autofree char *status = NULL;

  if (!self->active)
    return;
  if (self->live == NULL || self->pipelines[0] == NULL)
    {
      set_status (self, self->model == NULL ? _ ("Choose a model in Predictions to attack it")
                                            : _ ("Cutting the slide into tiles…"));
      return;
    }

  hg_live_request_init (&request);
  request.params.kind = self->kind;
  request.params.eps = self->eps;
  request.params.steps = self->steps;
  request.params.goal = self->goal;
  request.pipelines[0] = self->pipelines[0];
  request.n_pipelines = 1;
  if (self->compare && self->pipelines[1] != NULL)
    {
      request.pipelines[1] = self->pipelines[1];
      request.craft[1] = self->adaptive ? HG_LIVE_ADAPTIVE : HG_LIVE_TRANSFER;
      request.n_pipelines = 2;
    }

  if (self->scope_view && self->visible->len <= HG_EXPLORER_MAX_VIEW_TILES)
    {
      request.keys = (const guint64 *) self->visible->data;
      request.n_keys = (int) self->visible->len;
      for (guint i = 0; i < self->visible->len && selected >= 0; i++)
        if (g_array_index (self->visible, guint64, i) == selected_key)
          request.focus = (int) i;
      if (request.n_keys == 0)
        status = g_strdup (_ ("No tiles in view"));
    }
  else
    {
      if (self->scope_view)
        /* Translators: tiles in view, then the most the explorer attacks at once */
        status = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'u tile in view, more than %'d: zoom in, or attack the selected tile",
                                               "%'u tiles in view, more than %'d: zoom in, or attack the selected tile",
                                               self->visible->len),
                                  self->visible->len, HG_EXPLORER_MAX_VIEW_TILES);
      if (selected >= 0)
        {
          request.keys = &selected_key;
          request.n_keys = 1;
          request.focus = 0;
        }
      else if (status == NULL)
        status = g_strdup (_ ("Click a tile to attack it"));
    }

  set_status (self, status);
  if (request.n_keys == 0)
    {
      hg_live_attack_cancel (self->live);
      self->last_serial = 0;
      set_busy (self, FALSE);
      forget_result (self);
      return;
    }
  self->last_serial = hg_live_attack_request (self->live, &request);
  set_busy (self, TRUE);
}

static gboolean
settle_done (gpointer data)
{
  HgExplorer *self = data;

  self->settle_id = 0;
  update_visible (self);
  if (self->scope_view)
    request_update (self);
  else
    set_busy (self, self->result != NULL && hg_live_result_get_serial (self->result) < self->last_serial);
  return G_SOURCE_REMOVE;
}

static void
on_view_changed (HgExplorer *self)
{
  if (!self->active || self->settle_id != 0)
    return;
  self->settle_id = g_timeout_add (VIEW_SETTLE_MS, settle_done, self);
  /* Tiles in view are about to change: what is shown is not final. */
  if (self->scope_view)
    set_busy (self, TRUE);
}

/* ---- pipelines and the detector's threshold ------------------------------------ */

typedef struct
{
  HgLiveAttack   *live;
  HgLivePipeline *pipeline;
  guint64        *keys;
  int             n_keys;
  char           *key;
} CalibrateData;

static void
calibrate_data_free (CalibrateData *data)
{
  hg_live_attack_unref (data->live);
  hg_live_pipeline_unref (data->pipeline);
  g_free (data->keys);
  g_free (data->key);
  g_free (data);
}

static void
calibrate_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  CalibrateData *data = task_data;
  HgLiveRequest  request;
  GError        *error = NULL;
  g_autoptr (HgLiveResult) result = NULL;
  double *threshold;

  hg_live_request_init (&request);
  request.pipelines[0] = data->pipeline;
  request.n_pipelines = 1;
  request.keys = data->keys;
  request.n_keys = data->n_keys;
  result = hg_live_attack_compute (data->live, &request, cancellable, &error);
  if (result == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  threshold = g_new (double, 1);
  *threshold = hg_live_result_get_threshold (result, 0);
  g_task_return_pointer (task, threshold, g_free);
}

static void
on_calibrated (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  HgExplorer    *self = HG_EXPLORER (source);
  CalibrateData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  double *threshold = g_task_propagate_pointer (G_TASK (result), &error);

  if (threshold == NULL)
    {
      if (!g_error_matches (error, HG_ERROR, HG_ERROR_CANCELLED))
        {
          /* Translators: %s says why */
          g_autofree char *text = g_strdup_printf (_ ("The detector could not be calibrated: %s"), error->message);

          show_toast (self, text);
        }
      return;
    }
  g_hash_table_replace (self->thresholds, g_strdup (data->key), threshold);
  g_clear_object (&self->calibrate_cancellable);
  rebuild_pipelines (self);
  request_update (self);
}

/* Sets the detector's threshold on clean tiles of this slide, for
 * HG_LIVE_DETECTOR_FPR false alarms, in the background. */
static void
calibrate_detector (HgExplorer *self,
                    HgModel    *model,
                    HgDefense  *defense,
                    HgDetector *detector,
                    const char *key)
{
  CalibrateData *data;
  gsize          n = hg_tiling_get_n_tiles (self->tiling);
  g_autoptr (GTask) task = NULL;

  if (self->calibrate_cancellable != NULL)
    return; /* one at a time; the next rebuild asks again */

  data = g_new0 (CalibrateData, 1);
  data->live = hg_live_attack_ref (self->live);
  data->pipeline = hg_live_pipeline_new_full (model, defense, detector, NAN);
  data->n_keys = (int) MIN (n, CALIBRATION_TILES);
  data->keys = g_new (guint64, MAX (data->n_keys, 1));
  for (int i = 0; i < data->n_keys; i++)
    data->keys[i] = (guint64) i * n / data->n_keys;
  data->key = g_strdup (key);

  self->calibrate_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->calibrate_cancellable, on_calibrated, NULL);
  g_task_set_source_tag (task, calibrate_detector);
  g_task_set_task_data (task, data, (GDestroyNotify) calibrate_data_free);
  g_task_run_in_thread (task, calibrate_thread);
  set_status (self, _ ("Calibrating the detector on this slide…"));
}

static void
rebuild_pipelines (HgExplorer *self)
{
  g_autofree char *spec = defense_spec (self);
  g_autoptr (HgDefense) defense = NULL;
  HgModel *model2;

  g_clear_pointer (&self->pipelines[0], hg_live_pipeline_unref);
  g_clear_pointer (&self->pipelines[1], hg_live_pipeline_unref);
  if (self->model == NULL || self->live == NULL)
    return;

  self->pipelines[0] = hg_live_pipeline_new (self->model, NULL);
  if (spec != NULL)
    defense = hg_defense_parse (spec, NULL);
  model2 = defended_model (self);

  if (self->detector)
    {
      g_autoptr (HgDetector) detector = hg_detector_new (HG_DETECTOR_DEFAULT_SQUEEZERS, NULL);
      g_autofree char *key = threshold_key (model2, spec);
      double          *threshold = g_hash_table_lookup (self->thresholds, key);

      if (threshold != NULL)
        self->pipelines[1] = hg_live_pipeline_new_full (model2, defense, detector, *threshold);
      else
        {
          /* Until the threshold is known, the pane runs without the detector. */
          calibrate_detector (self, model2, defense, detector, key);
          self->pipelines[1] = hg_live_pipeline_new (model2, defense);
        }
    }
  else
    self->pipelines[1] = hg_live_pipeline_new (model2, defense);
}

/* ---- the page: slide, tiles, model ------------------------------------------- */

static void
cancel_map (HgExplorer *self)
{
  g_cancellable_cancel (self->map_cancellable);
  g_clear_object (&self->map_cancellable);
  if (self->map_running)
    {
      self->map_running = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_RUNNING]);
    }
}

static void
forget_maps (HgExplorer *self)
{
  gboolean had = self->maps[0] != NULL;

  cancel_map (self);
  g_clear_pointer (&self->maps[0], hg_live_map_unref);
  g_clear_pointer (&self->maps[1], hg_live_map_unref);
  self->map_progress = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_PROGRESS]);
  if (had)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_MAP]);
  update_captions (self);
  update_legend (self);
}

static void
drop_live (HgExplorer *self)
{
  forget_maps (self);
  g_cancellable_cancel (self->calibrate_cancellable);
  g_clear_object (&self->calibrate_cancellable);
  if (self->live != NULL)
    {
      hg_live_attack_set_result_func (self->live, NULL, NULL, NULL);
      hg_live_attack_cancel (self->live);
    }
  g_clear_pointer (&self->live, hg_live_attack_unref);
  g_clear_pointer (&self->pipelines[0], hg_live_pipeline_unref);
  g_clear_pointer (&self->pipelines[1], hg_live_pipeline_unref);
  g_clear_pointer (&self->tiling, hg_tiling_unref);
  g_hash_table_remove_all (self->thresholds);
  self->last_serial = 0;
  set_busy (self, FALSE);
  forget_result (self);
}

/* Follows the page's tiling and model. */
static void
sync_page (HgExplorer *self)
{
  HgTiling *tiling = hg_slide_page_get_tiling (self->page);
  HgModel  *model = hg_slide_page_get_model (self->page);

  if (tiling != self->tiling || model != self->model)
    {
      drop_live (self);
      g_clear_pointer (&self->model, hg_model_unref);
      if (model != NULL)
        self->model = hg_model_ref (model);
      if (tiling != NULL && model != NULL)
        {
          self->tiling = hg_tiling_ref (tiling);
          self->live = hg_live_attack_new (hg_live_read_tiling, hg_tiling_ref (tiling), (GDestroyNotify) hg_tiling_unref);
          hg_live_attack_set_result_func (self->live, on_live_result, self, NULL);
          rebuild_pipelines (self);
          update_visible (self);
        }
      request_update (self);
    }
  show_values (self);
}

static void
on_selected_tile (HgExplorer *self)
{
  sync_page_overlay (self);
  request_update (self);
}

/* ---- activation ------------------------------------------------------------ */

static void
set_active (HgExplorer *self,
            gboolean    active)
{
  if (self->active == active)
    return;
  self->active = active;

  attach_overlays (self, active);
  hg_slide_page_set_compare (self->page, active && self->compare);
  if (active)
    {
      /* The attack needs the tiles; the heatmap brings them. */
      g_object_set (self->page, "heatmap-visible", TRUE, NULL);
      sync_page (self);
      update_visible (self);
      request_update (self);
    }
  else
    {
      g_clear_handle_id (&self->settle_id, g_source_remove);
      if (self->live != NULL)
        hg_live_attack_cancel (self->live);
      set_busy (self, FALSE);
      set_status (self, NULL);
    }
  sync_page_overlay (self);
  update_captions (self);
  update_legend (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

/* ---- robustness maps --------------------------------------------------------- */

static void start_map (HgExplorer *self,
                       int         pane);

static void
on_map_progress (HgLiveMap *map,
                 int        done,
                 int        total,
                 gpointer   user_data)
{
  HgExplorer *self = user_data;
  int         panes = self->compare && self->pipelines[1] != NULL ? 2 : 1;
  int         pane = map == self->maps[1] ? 1 : 0;

  if (map != self->maps[pane])
    return; /* an older map */
  self->map_progress = (pane * (double) total + done) / ((double) panes * MAX (total, 1));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_PROGRESS]);
  if (self->show_map)
    show_values (self);
}

static void
on_map_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (HgExplorer) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (HgLiveMap) map = hg_live_attack_compute_map_finish (NULL, result, &error);

  if (map == NULL)
    {
      if (!g_error_matches (error, HG_ERROR, HG_ERROR_CANCELLED))
        {
          /* Translators: %s says why */
          g_autofree char *text = g_strdup_printf (_ ("The robustness map stopped: %s"), error->message);

          show_toast (self, text);
          cancel_map (self);
        }
      return;
    }
  if (map == self->maps[0] && self->compare && self->pipelines[1] != NULL)
    {
      start_map (self, 1);
      return;
    }
  if (map != self->maps[0] && map != self->maps[1])
    return; /* an older map */
  cancel_map (self);
  self->map_progress = 1;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_PROGRESS]);
  show_values (self);
}

static void
start_map (HgExplorer *self,
           int         pane)
{
  HgLiveRequest       request;
  gsize               n = hg_tiling_get_n_tiles (self->tiling);
  g_autofree guint64 *keys = g_new (guint64, MAX (n, 1));

  for (gsize i = 0; i < n; i++)
    keys[i] = i;
  hg_live_request_init (&request);
  request.params.kind = self->kind;
  request.params.steps = self->steps;
  request.params.goal = self->goal;
  request.pipelines[0] = self->pipelines[0];
  request.n_pipelines = 1;
  if (pane == 1)
    {
      request.pipelines[1] = self->pipelines[1];
      request.craft[1] = self->adaptive ? HG_LIVE_ADAPTIVE : HG_LIVE_TRANSFER;
      request.n_pipelines = 2;
    }
  request.keys = keys;
  request.n_keys = (int) n;
  g_clear_pointer (&self->maps[pane], hg_live_map_unref);
  self->maps[pane] = hg_live_attack_compute_map_async (self->live, &request, pane, on_map_progress, self, NULL,
                                                       self->map_cancellable, on_map_done, g_object_ref (self));
  if (pane == 0)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_MAP]);
      update_captions (self);
      update_legend (self);
    }
}

static void
compute_map (HgExplorer *self)
{
  if (self->live == NULL || self->pipelines[0] == NULL)
    {
      show_toast (self, _ ("Choose a model and open a slide first"));
      return;
    }
  forget_maps (self);
  self->map_cancellable = g_cancellable_new ();
  self->map_running = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAP_RUNNING]);
  if (!self->show_map)
    {
      self->show_map = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_MAP]);
    }
  start_map (self, 0);
}

/* ---- settings ---------------------------------------------------------------- */

/* The attack or the pipelines changed: what was computed for the old ones
 * no longer holds. */
static void
attack_changed (HgExplorer *self,
                gboolean    pipelines)
{
  if (pipelines)
    rebuild_pipelines (self);
  forget_maps (self);
  update_captions (self);
  request_update (self);
}

static gboolean
load_robust_model (HgExplorer *self)
{
  g_autoptr (GError) error = NULL;

  if (self->robust_model != NULL)
    return TRUE;
  if (self->robust_path == NULL)
    {
      show_toast (self, _ ("No adversarially trained model is installed (models/idc-robust.safetensors)"));
      return FALSE;
    }
  self->robust_model = hg_model_load (self->robust_path, &error);
  if (self->robust_model == NULL)
    {
      /* Translators: %s says why */
      g_autofree char *text = g_strdup_printf (_ ("The adversarially trained model could not be read: %s"),
                                               error->message);

      show_toast (self, text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_flag (HgExplorer *self,
          gboolean   *field,
          gboolean    value,
          int         prop)
{
  if (*field == value)
    return FALSE;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
  return TRUE;
}

static const char *const  attack_names[] = { "fgsm", "bim", "pgd" };
static const HgAttackKind attack_kinds[] = { HG_ATTACK_FGSM, HG_ATTACK_BIM, HG_ATTACK_PGD };

static void
hg_explorer_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  HgExplorer *self = HG_EXPLORER (object);

  switch (prop_id)
    {
    case PROP_ACTIVE:
      set_active (self, g_value_get_boolean (value));
      break;
    case PROP_ATTACK:
      for (gsize i = 0; i < G_N_ELEMENTS (attack_names); i++)
        if (g_strcmp0 (g_value_get_string (value), attack_names[i]) == 0 && self->kind != attack_kinds[i])
          {
            self->kind = attack_kinds[i];
            g_object_notify_by_pspec (object, pspec);
            g_object_notify_by_pspec (object, properties[PROP_ITERATIVE]);
            attack_changed (self, FALSE);
          }
      break;
    case PROP_EPSILON:
      if (self->eps != g_value_get_double (value))
        {
          self->eps = g_value_get_double (value);
          g_object_notify_by_pspec (object, pspec);
          request_update (self);
        }
      break;
    case PROP_STEPS:
      if (self->steps != g_value_get_int (value))
        {
          self->steps = g_value_get_int (value);
          g_object_notify_by_pspec (object, pspec);
          if (self->kind != HG_ATTACK_FGSM)
            attack_changed (self, FALSE);
        }
      break;
    case PROP_GOAL:
      {
        HgLiveGoal goal;

        if (hg_live_goal_from_string (g_value_get_string (value), &goal, NULL) && goal != self->goal)
          {
            self->goal = goal;
            g_object_notify_by_pspec (object, pspec);
            attack_changed (self, FALSE);
          }
        break;
      }
    case PROP_SCOPE:
      if (set_flag (self, &self->scope_view, g_strcmp0 (g_value_get_string (value), "view") == 0, PROP_SCOPE))
        request_update (self);
      break;
    case PROP_COMPARE:
      if (set_flag (self, &self->compare, g_value_get_boolean (value), PROP_COMPARE))
        {
          hg_slide_page_set_compare (self->page, self->active && self->compare);
          attack_changed (self, FALSE);
        }
      break;
    case PROP_ADAPTIVE:
      if (set_flag (self, &self->adaptive, g_value_get_boolean (value), PROP_ADAPTIVE))
        attack_changed (self, FALSE);
      break;
    case PROP_ROBUST_MODEL:
      if (g_value_get_boolean (value) && !load_robust_model (self))
        {
          g_object_notify_by_pspec (object, pspec); /* stays off: tell the switch */
          break;
        }
      if (set_flag (self, &self->robust, g_value_get_boolean (value), PROP_ROBUST_MODEL))
        attack_changed (self, TRUE);
      break;
    case PROP_JPEG:
      if (set_flag (self, &self->jpeg, g_value_get_boolean (value), PROP_JPEG))
        attack_changed (self, TRUE);
      break;
    case PROP_MEDIAN:
      if (set_flag (self, &self->median, g_value_get_boolean (value), PROP_MEDIAN))
        attack_changed (self, TRUE);
      break;
    case PROP_BITS:
      if (set_flag (self, &self->bits, g_value_get_boolean (value), PROP_BITS))
        attack_changed (self, TRUE);
      break;
    case PROP_DETECTOR:
      if (set_flag (self, &self->detector, g_value_get_boolean (value), PROP_DETECTOR))
        {
          /* Flags do not change what flips: the map stays. */
          rebuild_pipelines (self);
          update_captions (self);
          request_update (self);
        }
      break;
    case PROP_SHOW_MAP:
      if (set_flag (self, &self->show_map, g_value_get_boolean (value), PROP_SHOW_MAP))
        {
          update_captions (self);
          update_legend (self);
          show_values (self);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_explorer_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  HgExplorer *self = HG_EXPLORER (object);

  switch (prop_id)
    {
    case PROP_ACTIVE:
      g_value_set_boolean (value, self->active);
      break;
    case PROP_ATTACK:
      for (gsize i = 0; i < G_N_ELEMENTS (attack_kinds); i++)
        if (attack_kinds[i] == self->kind)
          g_value_set_string (value, attack_names[i]);
      break;
    case PROP_EPSILON:
      g_value_set_double (value, self->eps);
      break;
    case PROP_STEPS:
      g_value_set_int (value, self->steps);
      break;
    case PROP_GOAL:
      g_value_set_string (value, hg_live_goal_to_string (self->goal));
      break;
    case PROP_SCOPE:
      g_value_set_string (value, self->scope_view ? "view" : "tile");
      break;
    case PROP_COMPARE:
      g_value_set_boolean (value, self->compare);
      break;
    case PROP_ADAPTIVE:
      g_value_set_boolean (value, self->adaptive);
      break;
    case PROP_ROBUST_MODEL:
      g_value_set_boolean (value, self->robust);
      break;
    case PROP_JPEG:
      g_value_set_boolean (value, self->jpeg);
      break;
    case PROP_MEDIAN:
      g_value_set_boolean (value, self->median);
      break;
    case PROP_BITS:
      g_value_set_boolean (value, self->bits);
      break;
    case PROP_DETECTOR:
      g_value_set_boolean (value, self->detector);
      break;
    case PROP_SHOW_MAP:
      g_value_set_boolean (value, self->show_map);
      break;
    case PROP_ITERATIVE:
      g_value_set_boolean (value, self->kind != HG_ATTACK_FGSM);
      break;
    case PROP_ROBUST_AVAILABLE:
      g_value_set_boolean (value, self->robust_path != NULL);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_MAP_RUNNING:
      g_value_set_boolean (value, self->map_running);
      break;
    case PROP_MAP_PROGRESS:
      g_value_set_double (value, self->map_progress);
      break;
    case PROP_HAS_MAP:
      g_value_set_boolean (value, self->maps[0] != NULL);
      break;
    case PROP_SUMMARY:
      g_value_set_string (value, self->summary);
      break;
    case PROP_ACCURACY:
      g_value_set_string (value, self->accuracy);
      break;
    case PROP_DEFENDED_SUMMARY:
      g_value_set_string (value, self->defended_summary);
      break;
    case PROP_DEFENDED_ACCURACY:
      g_value_set_string (value, self->defended_accuracy);
      break;
    case PROP_FOCUS_TEXT:
      g_value_set_string (value, self->focus_text[0]);
      break;
    case PROP_DEFENDED_FOCUS_TEXT:
      g_value_set_string (value, self->focus_text[1]);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_N_FLIPPED:
      g_value_set_int (value, self->n_flipped);
      break;
    case PROP_N_TILES:
      g_value_set_int (value, self->n_tiles);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* ---- actions --------------------------------------------------------------- */

static void
nudge_epsilon (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  HgExplorer *self = user_data;
  double      step = g_str_equal (g_action_get_name (G_ACTION (action)), "epsilon-up") ? 0.5 : -0.5;
  double      eps = CLAMP (round ((self->eps + step) * 4) / 4, 0, HG_LIVE_MAX_EPS);

  g_object_set (self, "epsilon", eps, NULL);
}

static void
map_action (GSimpleAction *action,
            GVariant      *parameter,
            gpointer       user_data)
{
  HgExplorer *self = user_data;

  if (g_str_equal (g_action_get_name (G_ACTION (action)), "compute-map"))
    compute_map (self);
  else
    cancel_map (self);
}

static void
on_export_response (GtkNativeDialog *dialog,
                    int              response,
                    HgExplorer      *self)
{
  const char *format = g_object_get_data (G_OBJECT (dialog), "format");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        hg_explorer_export (self, format, path);
      else
        show_toast (self, _ ("Comparisons can only be saved on this computer"));
    }
  g_clear_object (&self->export_chooser);
}

static void
export_action (GSimpleAction *action,
               GVariant      *parameter,
               gpointer       user_data)
{
  HgExplorer      *self = user_data;
  const char      *format = g_variant_get_string (parameter, NULL);
  GtkRoot         *root = gtk_widget_get_root (GTK_WIDGET (self->page));
  HgSlide         *slide = hg_slide_page_get_slide (self->page);
  g_autofree char *base = NULL, *name = NULL;

  if (self->result == NULL || slide == NULL)
    {
      show_toast (self, _ ("Attack some tiles first: there is nothing to save yet"));
      return;
    }
  if (self->export_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->export_chooser));
  g_clear_object (&self->export_chooser);
  self->export_chooser = gtk_file_chooser_native_new (g_str_equal (format, "png") ? _ ("Save Comparison Picture")
                                                                                  : _ ("Save Comparison Numbers"),
                                                      GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                      GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), _ ("_Cancel"));
  base = hg_slide_text_file_stem (slide);
  name = g_strdup_printf ("%s-attack-eps%g.%s", base, self->eps, g_str_equal (format, "png") ? "png" : "csv");
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->export_chooser), name);
  g_object_set_data_full (G_OBJECT (self->export_chooser), "format", g_strdup (format), g_free);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->export_chooser), TRUE);
  g_signal_connect (self->export_chooser, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->export_chooser));
}

static void
add_actions (HgExplorer *self)
{
  static const char *const property_actions[] = {
    "active",
    "attack",
    "epsilon",
    "steps",
    "goal",
    "scope",
    "compare",
    "adaptive",
    "robust-model",
    "jpeg",
    "median",
    "bits",
    "detector",
    "show-map",
  };
  const GActionEntry entries[] = {
    { .name = "epsilon-up", .activate = nudge_epsilon },
    { .name = "epsilon-down", .activate = nudge_epsilon },
    { .name = "compute-map", .activate = map_action },
    { .name = "cancel-map", .activate = map_action },
    { .name = "export", .activate = export_action, .parameter_type = "s" },
  };

  self->actions = g_simple_action_group_new ();
  for (gsize i = 0; i < G_N_ELEMENTS (property_actions); i++)
    {
      g_autoptr (GPropertyAction) action = g_property_action_new (property_actions[i], self, property_actions[i]);

      g_action_map_add_action (G_ACTION_MAP (self->actions), G_ACTION (action));
    }
  g_action_map_add_action_entries (G_ACTION_MAP (self->actions), entries, G_N_ELEMENTS (entries), self);
}

/* ---- GObject ----------------------------------------------------------------- */

static void
hg_explorer_dispose (GObject *object)
{
  HgExplorer *self = HG_EXPLORER (object);

  g_clear_handle_id (&self->settle_id, g_source_remove);
  if (self->export_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->export_chooser));
  g_clear_object (&self->export_chooser);
  drop_live (self);
  if (self->page != NULL)
    {
      attach_overlays (self, FALSE);
      g_signal_handlers_disconnect_by_data (self->page, self);
      g_signal_handlers_disconnect_by_data (hg_slide_page_get_view (self->page), self);
    }
  g_clear_object (&self->page);
  g_clear_object (&self->overlays[0]);
  g_clear_object (&self->overlays[1]);
  g_clear_object (&self->actions);
  for (int p = 0; p < 2; p++)
    for (int i = 0; i < 3; i++)
      g_clear_object (&self->pictures[p][i]);

  G_OBJECT_CLASS (hg_explorer_parent_class)->dispose (object);
}

static void
hg_explorer_finalize (GObject *object)
{
  HgExplorer *self = HG_EXPLORER (object);

  g_clear_pointer (&self->model, hg_model_unref);
  g_clear_pointer (&self->robust_model, hg_model_unref);
  g_free (self->robust_path);
  g_hash_table_unref (self->thresholds);
  g_array_unref (self->visible);
  g_free (self->summary);
  g_free (self->accuracy);
  g_free (self->defended_summary);
  g_free (self->defended_accuracy);
  g_free (self->focus_text[0]);
  g_free (self->focus_text[1]);
  g_free (self->status);

  G_OBJECT_CLASS (hg_explorer_parent_class)->finalize (object);
}

#define RW (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)
#define RO (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

static void
hg_explorer_class_init (HgExplorerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = hg_explorer_dispose;
  object_class->finalize = hg_explorer_finalize;
  object_class->get_property = hg_explorer_get_property;
  object_class->set_property = hg_explorer_set_property;

  properties[PROP_ACTIVE] = g_param_spec_boolean ("active", NULL, NULL, FALSE, RW);
  /* "fgsm", "bim" or "pgd" */
  properties[PROP_ATTACK] = g_param_spec_string ("attack", NULL, NULL, "fgsm", RW);
  /* In units of 1/255. */
  properties[PROP_EPSILON] = g_param_spec_double ("epsilon", NULL, NULL, 0, HG_LIVE_MAX_EPS, 0, RW);
  properties[PROP_STEPS] = g_param_spec_int ("steps", NULL, NULL, 1, 100, 10, RW);
  /* "untargeted", "benign" or "malignant" */
  properties[PROP_GOAL] = g_param_spec_string ("goal", NULL, NULL, "untargeted", RW);
  /* "tile" (the selected one) or "view" (every tile in view) */
  properties[PROP_SCOPE] = g_param_spec_string ("scope", NULL, NULL, "view", RW);
  properties[PROP_COMPARE] = g_param_spec_boolean ("compare", NULL, NULL, FALSE, RW);
  properties[PROP_ADAPTIVE] = g_param_spec_boolean ("adaptive", NULL, NULL, FALSE, RW);
  properties[PROP_ROBUST_MODEL] = g_param_spec_boolean ("robust-model", NULL, NULL, FALSE, RW);
  properties[PROP_JPEG] = g_param_spec_boolean ("jpeg", NULL, NULL, FALSE, RW);
  properties[PROP_MEDIAN] = g_param_spec_boolean ("median", NULL, NULL, FALSE, RW);
  properties[PROP_BITS] = g_param_spec_boolean ("bits", NULL, NULL, FALSE, RW);
  properties[PROP_DETECTOR] = g_param_spec_boolean ("detector", NULL, NULL, FALSE, RW);
  properties[PROP_SHOW_MAP] = g_param_spec_boolean ("show-map", NULL, NULL, FALSE, RW);
  properties[PROP_ITERATIVE] = g_param_spec_boolean ("iterative", NULL, NULL, FALSE, RO);
  properties[PROP_ROBUST_AVAILABLE] = g_param_spec_boolean ("robust-available", NULL, NULL, FALSE, RO);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, RO);
  properties[PROP_MAP_RUNNING] = g_param_spec_boolean ("map-running", NULL, NULL, FALSE, RO);
  properties[PROP_MAP_PROGRESS] = g_param_spec_double ("map-progress", NULL, NULL, 0, 1, 0, RO);
  properties[PROP_HAS_MAP] = g_param_spec_boolean ("has-map", NULL, NULL, FALSE, RO);
  properties[PROP_SUMMARY] = g_param_spec_string ("summary", NULL, NULL, NULL, RO);
  properties[PROP_ACCURACY] = g_param_spec_string ("accuracy", NULL, NULL, NULL, RO);
  properties[PROP_DEFENDED_SUMMARY] = g_param_spec_string ("defended-summary", NULL, NULL, NULL, RO);
  properties[PROP_DEFENDED_ACCURACY] = g_param_spec_string ("defended-accuracy", NULL, NULL, NULL, RO);
  properties[PROP_FOCUS_TEXT] = g_param_spec_string ("focus-text", NULL, NULL, NULL, RO);
  properties[PROP_DEFENDED_FOCUS_TEXT] = g_param_spec_string ("defended-focus-text", NULL, NULL, NULL, RO);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, RO);
  properties[PROP_N_FLIPPED] = g_param_spec_int ("n-flipped", NULL, NULL, 0, G_MAXINT, 0, RO);
  properties[PROP_N_TILES] = g_param_spec_int ("n-tiles", NULL, NULL, 0, G_MAXINT, 0, RO);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The focus pictures changed (hg_explorer_get_picture). */
  signals[PICTURES_CHANGED] = g_signal_new ("pictures-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                            NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hg_explorer_init (HgExplorer *self)
{
  self->kind = HG_ATTACK_FGSM;
  self->steps = 10;
  self->goal = HG_LIVE_GOAL_UNTARGETED;
  self->scope_view = TRUE;
  self->visible = g_array_new (FALSE, FALSE, sizeof (guint64));
  self->thresholds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (int p = 0; p < 2; p++)
    self->overlays[p] = hg_heatmap_overlay_new ();
  self->robust_path = hg_data_find ("models/idc-robust.safetensors");
  add_actions (self);
}

HgExplorer *
hg_explorer_new (HgSlidePage *page)
{
  HgExplorer *self;

  g_return_val_if_fail (HG_IS_SLIDE_PAGE (page), NULL);

  self = g_object_new (HG_TYPE_EXPLORER, NULL);
  self->page = g_object_ref (page);
  g_signal_connect_object (page, "heatmap-changed", G_CALLBACK (sync_page), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::selected-tile", G_CALLBACK (on_selected_tile), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::heatmap-visible", G_CALLBACK (sync_page_overlay), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::heatmap-opacity", G_CALLBACK (sync_page_overlay), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (page, "notify::colormap", G_CALLBACK (show_values), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (hg_slide_page_get_view (page), "view-changed", G_CALLBACK (on_view_changed), self,
                           G_CONNECT_SWAPPED);
  return self;
}

HgSlidePage *
hg_explorer_get_page (HgExplorer *self)
{
  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);
  return self->page;
}

GActionGroup *
hg_explorer_get_actions (HgExplorer *self)
{
  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);
  return G_ACTION_GROUP (self->actions);
}

HgLiveResult *
hg_explorer_get_result (HgExplorer *self)
{
  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);
  return self->result;
}

GdkTexture *
hg_explorer_get_picture (HgExplorer       *self,
                         HgExplorerPane    pane,
                         HgExplorerPicture picture)
{
  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);
  g_return_val_if_fail (pane <= HG_EXPLORER_DEFENDED && picture <= HG_EXPLORER_ATTACKED, NULL);
  return self->pictures[pane][picture];
}

HgLiveMap *
hg_explorer_get_map (HgExplorer    *self,
                     HgExplorerPane pane)
{
  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);
  g_return_val_if_fail (pane <= HG_EXPLORER_DEFENDED, NULL);
  return self->maps[pane];
}

/* ---- exports ----------------------------------------------------------------- */

static void
csv_field (GString    *out,
           const char *text)
{
  if (strpbrk (text, ",\"\n") == NULL)
    {
      g_string_append (out, text);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

char *
hg_explorer_to_csv (HgExplorer *self)
{
  HgLiveResult  *r;
  HgSlide       *slide;
  GString       *out;
  const guint64 *keys;
  const int     *truth;
  int            k, positive;
  char           eps[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (HG_IS_EXPLORER (self), NULL);

  r = self->result;
  slide = hg_slide_page_get_slide (self->page);
  if (r == NULL || slide == NULL || self->tiling == NULL)
    return NULL;

  keys = hg_live_result_get_keys (r);
  truth = hg_live_result_get_truth (r);
  k = hg_live_result_get_n_classes (r);
  positive = positive_class (self);
  g_ascii_formatd (eps, sizeof eps, "%.2f", hg_live_result_get_params (r)->eps);

  out = g_string_new ("slide,tile,x,y,width,height,ground_truth,pane,model,defences,detector,craft,attack,eps,"
                      "steps,goal,clean_label,clean_probability,label,probability,flipped,detector_score,"
                      "flagged,min_flip_eps\n");
  for (int p = 0; p < hg_live_result_get_n_pipelines (r); p++)
    {
      HgLivePipeline  *pipe = hg_live_result_get_pipeline (r, p);
      HgDefense       *defense = hg_live_pipeline_get_defense (pipe);
      const float     *probs = hg_live_result_get_probs (r, p);
      const float     *clean = hg_live_result_get_clean_probs (r, p);
      const float     *scores = hg_live_result_get_scores (r, p);
      const guint8    *flags = hg_live_result_get_flags (r, p);
      HgLiveMap       *map = p < 2 ? self->maps[p] : NULL;
      g_autofree char *model = model_name (hg_live_pipeline_get_model (pipe),
                                           hg_live_pipeline_get_model (pipe) == self->robust_model ? self->robust_path
                                                                                                   : NULL);

      if (hg_live_pipeline_get_model (pipe) == self->model)
        {
          g_free (model);
          /* A value of the CSV file, like the model names beside it. */
          model = g_strdup ("standard");
        }
      for (int i = 0; i < hg_live_result_get_n_tiles (r); i++)
        {
          const HgTile *t = hg_tiling_get_tile (self->tiling, keys[i]);
          const char   *attack = attack_names[0];
          char          num[3][G_ASCII_DTOSTR_BUF_SIZE];

          for (gsize a = 0; a < G_N_ELEMENTS (attack_kinds); a++)
            if (attack_kinds[a] == hg_live_result_get_params (r)->kind)
              attack = attack_names[a];
          if (!(flags[i] & HG_LIVE_TILE_DONE))
            continue;
          csv_field (out, hg_slide_get_name (slide));
          g_string_append_printf (out, ",%" G_GUINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%d,%d,", keys[i],
                                  t->x, t->y, t->width, t->height);
          if (truth[i] >= 0)
            csv_field (out, class_name (self, truth[i]));
          g_string_append_printf (out, ",%s,", p == 0 ? "undefended" : "defended");
          csv_field (out, model);
          g_string_append_printf (out, ",%s,%s,%s,%s,%s,%d,%s,", defense != NULL ? hg_defense_get_spec (defense) : "none",
                                  hg_live_pipeline_get_detector (pipe) != NULL ? "feature-squeezing" : "none",
                                  p == 0 ? "white-box" : hg_live_result_get_craft (r, p) == HG_LIVE_ADAPTIVE ? "adaptive"
                                                                                                             : "transfer",
                                  attack, eps, hg_live_result_get_params (r)->steps,
                                  hg_live_goal_to_string (hg_live_result_get_params (r)->goal));
          csv_field (out, class_name (self, hg_live_result_get_clean_labels (r, p)[i]));
          g_ascii_formatd (num[0], sizeof num[0], "%.6f", clean[(gsize) i * k + positive]);
          g_ascii_formatd (num[1], sizeof num[1], "%.6f", probs[(gsize) i * k + positive]);
          g_string_append_printf (out, ",%s,", num[0]);
          csv_field (out, class_name (self, hg_live_result_get_labels (r, p)[i]));
          g_string_append_printf (out, ",%s,%d,", num[1], (flags[i] & HG_LIVE_TILE_FLIPPED) != 0);
          if (scores != NULL)
            {
              g_ascii_formatd (num[2], sizeof num[2], "%.6f", scores[i]);
              g_string_append_printf (out, "%s,%d,", num[2], (flags[i] & HG_LIVE_TILE_FLAGGED) != 0);
            }
          else
            g_string_append (out, ",,");
          if (map != NULL && keys[i] < (guint64) hg_live_map_get_n_tiles (map))
            {
              float e = hg_live_map_get_eps (map, (int) keys[i]);

              if (isinf (e))
                g_string_append (out, "inf");
              else if (!isnan (e))
                {
                  g_ascii_formatd (num[2], sizeof num[2], "%.2f", e);
                  g_string_append (out, num[2]);
                }
            }
          g_string_append_c (out, '\n');
        }
    }
  return g_string_free (out, FALSE);
}

typedef struct
{
  char            *path;
  GBytes          *csv; /* or */
  cairo_surface_t *png;
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_free (data->path);
  g_clear_pointer (&data->csv, g_bytes_unref);
  g_clear_pointer (&data->png, cairo_surface_destroy);
  g_free (data);
}

static cairo_status_t
append_bytes (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportData *data = task_data;
  g_autoptr (GByteArray) bytes = NULL;
  GError *error = NULL;

  if (data->png != NULL)
    {
      bytes = g_byte_array_new ();
      if (cairo_surface_write_to_png_stream (data->png, append_bytes, bytes) != CAIRO_STATUS_SUCCESS)
        {
          g_task_return_new_error (task, HG_ERROR, HG_ERROR_FAILED, "%s", _ ("the picture could not be encoded"));
          return;
        }
    }
  if (!g_file_set_contents_full (data->path,
                                 bytes != NULL ? (const char *) bytes->data : g_bytes_get_data (data->csv, NULL),
                                 bytes != NULL ? (gssize) bytes->len : (gssize) g_bytes_get_size (data->csv),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
on_exported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  HgExplorer *self = HG_EXPLORER (source);
  ExportData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_filename_display_basename (data->path);
  g_autofree char *text = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    /* Translators: %s is a file name */
    text = g_strdup_printf (_ ("Saved “%s”"), name);
  else
    /* Translators: %s is a file name, then why */
    text = g_strdup_printf (_ ("Could not save “%s”: %s"), name, error->message);
  show_toast (self, text);
}

/* The panes as on screen, into a Cairo surface. */
static cairo_surface_t *
render_panes (HgExplorer *self)
{
  GtkWidget *panes = hg_slide_page_get_panes (self->page);
  int        width = gtk_widget_get_width (panes), height = gtk_widget_get_height (panes);
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GtkNative       *native = gtk_widget_get_native (panes);
  cairo_surface_t *surface;

  if (width <= 0 || height <= 0 || native == NULL || gtk_native_get_renderer (native) == NULL)
    return NULL;
  paintable = gtk_widget_paintable_new (panes);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return NULL;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (native), node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_surface_flush (surface);
  /* Cairo's ARGB32 is GDK's default download format. */
  gdk_texture_download (texture, cairo_image_surface_get_data (surface), cairo_image_surface_get_stride (surface));
  cairo_surface_mark_dirty (surface);
  return surface;
}

static int
draw_text (cairo_t    *cr,
           const char *markup,
           double      x,
           double      y,
           int         width,
           const char *font)
{
  g_autoptr (PangoLayout) layout = pango_cairo_create_layout (cr);
  g_autoptr (PangoFontDescription) desc = pango_font_description_from_string (font);
  int h;

  pango_layout_set_font_description (layout, desc);
  pango_layout_set_width (layout, width * PANGO_SCALE);
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_markup (layout, markup, -1);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
  pango_layout_get_pixel_size (layout, NULL, &h);
  return h;
}

/* The comparison as one picture: what was done above, the panes as on
 * screen, what the colours and marks mean below. */
static cairo_surface_t *
compose_picture (HgExplorer *self)
{
  g_autoptr (GString) header = g_string_new (NULL);
  cairo_surface_t *panes = render_panes (self);
  cairo_surface_t *out;
  cairo_t         *cr;
  g_autofree char *attack = hg_explorer_describe_attack (self);
  g_autofree char *left = hg_explorer_describe_pane (self, HG_EXPLORER_UNDEFENDED);
  g_autofree char *right = NULL;
  gboolean         map = self->show_map && self->maps[0] != NULL;
  HgColormap       colormap = map ? HG_COLORMAP_MAGMA : hg_heatmap_overlay_get_colormap (self->overlays[0]);
  HgSlide         *slide = hg_slide_page_get_slide (self->page);
  int              pw, ph, width, margin = 24, y, header_h, footer_h = 96;
  cairo_surface_t *probe;
  cairo_t         *probe_cr;

  if (panes == NULL)
    return NULL;
  pw = cairo_image_surface_get_width (panes);
  ph = cairo_image_surface_get_height (panes);
  width = MAX (pw + 2 * margin, 900);

  {
    g_autofree char *title = g_markup_printf_escaped ("<span size='x-large' weight='bold'>%s</span>\n",
                                                      _ ("Histoguard: adversarial attack"));
    g_autofree char *what = g_markup_printf_escaped ("<b>%s</b> · %s\n", hg_slide_get_name (slide), attack);
    g_autofree char *first = g_markup_printf_escaped ("<b>%s</b>: %s · %s", left, self->summary != NULL ? self->summary : "",
                                                      self->accuracy != NULL ? self->accuracy : "");

    g_string_append (header, title);
    g_string_append (header, what);
    g_string_append (header, first);
  }
  if (self->compare && self->pipelines[1] != NULL)
    {
      g_autofree char *second = NULL;

      right = hg_explorer_describe_pane (self, HG_EXPLORER_DEFENDED);
      {
        char *newline = strchr (right, '\n');

        /* One line: "Defended: JPEG 75 · Adaptive attack, …" */
        if (newline != NULL)
          {
            g_autofree char *joined = NULL;

            *newline = '\0';
            joined = g_strdup_printf ("%s · %s", right, newline + 1);
            g_free (right);
            right = g_steal_pointer (&joined);
          }
      }
      second = g_markup_printf_escaped ("\n<b>%s</b>: %s · %s", right,
                                        self->defended_summary != NULL ? self->defended_summary : "",
                                        self->defended_accuracy != NULL ? self->defended_accuracy : "");
      g_string_append (header, second);
    }

  /* Measure the header first. */
  probe = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  probe_cr = cairo_create (probe);
  header_h = draw_text (probe_cr, header->str, 0, 0, width - 2 * margin, "Sans 11") + 2 * margin;
  cairo_destroy (probe_cr);
  cairo_surface_destroy (probe);

  out = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, header_h + ph + footer_h);
  cr = cairo_create (out);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 0.12, 0.12, 0.12);
  draw_text (cr, header->str, margin, margin, width - 2 * margin, "Sans 11");

  cairo_set_source_surface (cr, panes, (width - pw) / 2.0, header_h);
  cairo_paint (cr);
  cairo_surface_destroy (panes);

  /* The legend: the colour scale, then the marks. */
  y = header_h + ph + 20;
  for (int i = 0; i < 256; i++)
    {
      guint8 rgb[3];

      hg_colormap_lookup (colormap, i / 255.0, rgb);
      cairo_set_source_rgb (cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
      cairo_rectangle (cr, margin + i, y, 1.5, 16);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 0.12, 0.12, 0.12);
  draw_text (cr, map ? "0" : "0", margin, y + 20, 40, "Sans 9");
  draw_text (cr, map ? "16/255" : "1", margin + 230, y + 20, 60, "Sans 9");
  {
    g_autofree char *title = map ? g_strdup (_ ("smallest ε that flips the tile"))
                                 : g_strdup_printf (_ ("probability of %s"), class_name (self, positive_class (self)));
    draw_text (cr, title, margin + 270, y, 260, "Sans 10");
  }
  if (!map)
    {
      double  x = margin + 540, cy = y + 8;
      guint32 c = HG_HEATMAP_OVERLAY_FLAGGED_COLOR;

      cairo_new_path (cr);
      cairo_arc (cr, x, cy, 6, 0, 2 * G_PI);
      cairo_set_source_rgba (cr, 0, 0, 0, 0.7);
      cairo_fill_preserve (cr);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_set_line_width (cr, 1.5);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.12, 0.12, 0.12);
      draw_text (cr, _ ("label flipped"), x + 12, y, 150, "Sans 10");
      if (self->detector && self->compare)
        {
          x += 160;
          cairo_new_path (cr);
          cairo_arc (cr, x, cy, 8.5, 0, 2 * G_PI);
          cairo_set_source_rgb (cr, ((c >> 16) & 0xff) / 255.0, ((c >> 8) & 0xff) / 255.0, (c & 0xff) / 255.0);
          cairo_set_line_width (cr, 2);
          cairo_stroke (cr);
          cairo_set_source_rgb (cr, 0.12, 0.12, 0.12);
          draw_text (cr, _ ("flagged by the detector"), x + 14, y, 200, "Sans 10");
        }
    }
  cairo_destroy (cr);
  return out;
}

static void
start_export (HgExplorer *self,
              ExportData *data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, on_exported, NULL);

  g_task_set_source_tag (task, hg_explorer_export);
  g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
  if (data->png == NULL && data->csv == NULL)
    {
      g_task_return_new_error (task, HG_ERROR, HG_ERROR_FAILED, "%s", _ ("there is no comparison on screen to save"));
      return;
    }
  g_task_run_in_thread (task, export_thread);
}

/* A picture is taken of the panes as drawn: right after a change they
 * have no frame yet, so wait for one (a few at most). */
#define EXPORT_MAX_FRAMES 60

typedef struct
{
  HgExplorer *self;
  ExportData *data;
  int         frames;
} PendingPicture;

static gboolean
picture_tick (GtkWidget     *widget,
              GdkFrameClock *clock,
              gpointer       user_data)
{
  PendingPicture *pending = user_data;

  pending->data->png = compose_picture (pending->self);
  if (pending->data->png == NULL && ++pending->frames < EXPORT_MAX_FRAMES)
    {
      gtk_widget_queue_draw (widget);
      return G_SOURCE_CONTINUE;
    }
  start_export (pending->self, g_steal_pointer (&pending->data));
  return G_SOURCE_REMOVE;
}

static void
pending_picture_free (gpointer data)
{
  PendingPicture *pending = data;

  g_clear_pointer (&pending->data, export_data_free);
  g_object_unref (pending->self);
  g_free (pending);
}

void
hg_explorer_export (HgExplorer *self,
                    const char *format,
                    const char *path)
{
  ExportData *data;

  g_return_if_fail (HG_IS_EXPLORER (self));
  g_return_if_fail (format != NULL && path != NULL);

  data = g_new0 (ExportData, 1);
  data->path = g_strdup (path);
  if (g_str_equal (format, "png"))
    {
      GtkWidget      *panes = hg_slide_page_get_panes (self->page);
      PendingPicture *pending;

      data->png = compose_picture (self);
      if (data->png == NULL && gtk_widget_get_mapped (panes))
        {
          pending = g_new0 (PendingPicture, 1);
          pending->self = g_object_ref (self);
          pending->data = data;
          gtk_widget_queue_draw (panes);
          gtk_widget_add_tick_callback (panes, picture_tick, pending, pending_picture_free);
          return;
        }
    }
  else
    {
      char *csv = hg_explorer_to_csv (self);

      if (csv != NULL)
        data->csv = g_bytes_new_take (csv, strlen (csv));
    }
  start_export (self, data);
}
