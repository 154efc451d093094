/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgSlidePage"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "hg-heatmap-cache.h"
#include "hg-heatmap-legend.h"
#include "hg-scale-bar.h"
#include "hg-slide-minimap.h"
#include "hg-slide-page.h"
#include "hg-slide-text.h"
#include "hg-window.h"

/* The inspector shows tiles this large (pixels a side, at most). */
#define INSPECTOR_SIZE 256
/* Exported overviews: the longest side. */
#define EXPORT_SIZE 2048

struct _HgSlidePage
{
  GtkWidget parent_instance;

  /* Template children */
  GtkOverlay      *stage;
  GtkBox          *panes;
  GtkOverlay      *overlay;
  HgSlideView     *view;
  GtkLabel        *caption;
  GtkOverlay      *compare_overlay;
  HgSlideView     *compare_view;
  GtkLabel        *compare_caption;
  GtkWidget       *bottom_bar;
  GtkRevealer     *minimap_revealer;
  HgSlideMinimap  *minimap;
  HgScaleBar      *scale_bar;
  GtkBox          *status_bar;
  GtkLabel        *position_label;
  GtkSpinner      *spinner;
  GtkLabel        *level_label;
  GtkMenuButton   *zoom_button;
  HgHeatmapLegend *legend;
  GtkBox          *heatmap_box;
  GtkLabel        *heatmap_label;

  /* Predictions */
  HgModel              *model;
  char                 *model_path;
  HgTilingOptions       tiling_options;
  HgTiling             *tiling;
  HgHeatmap            *heatmap;
  HgHeatmapOverlay     *heatmap_overlay;
  GCancellable         *tiling_cancellable;
  GCancellable         *run_cancellable;
  GCancellable         *explain_cancellable;
  GtkFileChooserNative *export_chooser;
  HgTileInspector      *inspector;
  char                 *status;
  double                progress;
  double                threshold;
  gboolean              running;
  gboolean              run_pending;
  gboolean              heatmap_visible;
  gboolean              threshold_enabled;
  /* The legend, when something else than the heatmap is explained. */
  char      *legend_title;
  HgColormap legend_colormap;
  double     legend_min, legend_max;
};

G_DEFINE_FINAL_TYPE (HgSlidePage, hg_slide_page, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_HEATMAP_VISIBLE,
  PROP_OPACITY,
  PROP_COLORMAP,
  PROP_THRESHOLD_ENABLED,
  PROP_THRESHOLD,
  PROP_SHOW_TRUTH,
  PROP_TILE_SIZE,
  PROP_RUNNING,
  PROP_PROGRESS,
  PROP_STATUS,
  PROP_HAS_TRUTH,
  PROP_SELECTED_TILE,
  N_PROPS
};

enum
{
  HEATMAP_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

static void start_run (HgSlidePage *self);
static void restart_predictions (HgSlidePage *self);
static void update_legend (HgSlidePage *self);

GtkWidget *
hg_slide_page_new (void)
{
  return g_object_new (HG_TYPE_SLIDE_PAGE, NULL);
}

HgSlideView *
hg_slide_page_get_view (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->view;
}

HgSlide *
hg_slide_page_get_slide (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return hg_slide_view_get_slide (self->view);
}

void
hg_slide_page_set_cache (HgSlidePage *self,
                         HgTileCache *cache)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  hg_slide_view_set_cache (self->view, cache);
  hg_slide_view_set_cache (self->compare_view, cache);
}

const char *
hg_slide_page_get_position_text (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return gtk_label_get_text (self->position_label);
}

const char *
hg_slide_page_get_zoom_text (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return gtk_menu_button_get_label (self->zoom_button);
}

/* "5.3, 4.5 mm": a point's position, one unit for both coordinates. */
static char *
format_micron_point (double x,
                     double y)
{
  if (MAX (x, y) >= 1000)
    /* Translators: a position on the slide (x, y) in millimetres */
    return g_strdup_printf (_ ("%.1f, %.1f mm"), x / 1000, y / 1000);
  /* Translators: a position on the slide (x, y) in micrometres */
  return g_strdup_printf (_ ("%.0f, %.0f µm"), x, y);
}

/* "11.2 × 9.3 mm": one unit for both sides, which keeps the status bar
 * short enough for longer translations beside the side panel. */
static char *
format_micron_size (double width,
                    double height)
{
  if (MAX (width, height) >= 1000)
    /* Translators: a slide's width and height in millimetres */
    return g_strdup_printf (_ ("%.1f × %.1f mm"), width / 1000, height / 1000);
  /* Translators: a slide's width and height in micrometres */
  return g_strdup_printf (_ ("%.0f × %.0f µm"), width, height);
}

static void
update_position (HgSlidePage *self)
{
  HgSlide *slide = hg_slide_view_get_slide (self->view);
  g_autoptr (GString) text = g_string_new (NULL);
  double   x, y, mpp_x = 0, mpp_y = 0;
  gint64   width, height;
  gboolean has_mpp;

  if (slide == NULL)
    {
      gtk_label_set_text (self->position_label, "");
      return;
    }

  has_mpp = hg_slide_get_mpp (slide, &mpp_x, &mpp_y);
  hg_slide_get_level_size (slide, 0, &width, &height);

  if (hg_slide_view_get_pointer (self->view, &x, &y) && x >= 0 && y >= 0 && x < width && y < height)
    {
      /* Translators: the slide pixel under the pointer */
      g_string_append_printf (text, _ ("x %'lld  y %'lld px"), (long long) floor (x),
                              (long long) floor (y));
      if (has_mpp)
        {
          g_autofree char *position = format_micron_point (x * mpp_x, y * mpp_y);

          g_string_append_printf (text, " · %s", position);
        }
      if (hg_slide_has_ground_truth (slide))
        switch (hg_slide_get_label_at (slide, x, y))
          {
          case HG_SLIDE_LABEL_IDC:
            g_string_append_printf (text, " · %s", _ ("IDC patch"));
            break;
          case HG_SLIDE_LABEL_BENIGN:
            g_string_append_printf (text, " · %s", _ ("Non-IDC patch"));
            break;
          case HG_SLIDE_LABEL_NONE:
          default:
            break;
          }
    }
  else
    {
      /* Translators: the slide's size in pixels */
      g_string_append_printf (text, _ ("%'lld × %'lld px"), (long long) width, (long long) height);
      if (has_mpp)
        {
          g_autofree char *size = format_micron_size (width * mpp_x, height * mpp_y);

          g_string_append_printf (text, " · %s", size);
        }
    }

  gtk_label_set_text (self->position_label, text->str);
}

static void
update_zoom (HgSlidePage *self)
{
  HgSlide         *slide = hg_slide_view_get_slide (self->view);
  HgViewport      *viewport = hg_slide_view_get_viewport (self->view);
  double           zoom = hg_viewport_get_zoom (viewport);
  double           power;
  int              level;
  g_autofree char *zoom_text = NULL;
  g_autofree char *level_text = NULL;
  g_autofree char *tooltip = NULL;

  if (slide == NULL)
    return;

  zoom_text = g_strdup_printf (zoom >= 0.1 ? "%.0f %%" : "%.1f %%", zoom * 100);
  gtk_menu_button_set_label (self->zoom_button, zoom_text);

  level = hg_slide_view_get_level (self->view);
  power = hg_slide_get_objective_power (slide);
  if (power > 0)
    /* Translators: the apparent magnification, then the pyramid level */
    level_text = g_strdup_printf (_ ("%.1f× · level %d of %d"), power * zoom, level + 1,
                                  hg_slide_get_level_count (slide));
  else
    /* Translators: the pyramid level being shown */
    level_text = g_strdup_printf (_ ("Level %d of %d"), level + 1,
                                  hg_slide_get_level_count (slide));
  gtk_label_set_text (self->level_label, level_text);

  tooltip = g_strdup_printf (_ ("Pyramid level %d is read at 1/%g of full resolution"), level,
                             hg_slide_get_level_downsample (slide, level));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->level_label), tooltip);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "slide.zoom-in",
                                 zoom < hg_viewport_get_max_zoom (viewport) * 0.999);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "slide.zoom-out",
                                 zoom > hg_viewport_get_min_zoom (viewport) * 1.001);
}

/* The overview is only useful while part of the slide is off screen. */
static void
update_minimap (HgSlidePage *self)
{
  HgSlide        *slide = hg_slide_view_get_slide (self->view);
  graphene_rect_t area;
  gint64          width, height;
  gboolean        whole = TRUE;

  if (slide != NULL)
    {
      hg_slide_get_level_size (slide, 0, &width, &height);
      hg_slide_view_get_visible_area (self->view, &area);
      whole = area.origin.x <= 0 && area.origin.y <= 0 &&
              area.origin.x + area.size.width >= width && area.origin.y + area.size.height >= height;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->minimap), !whole);
}

static void
on_view_changed (HgSlidePage *self)
{
  update_zoom (self);
  update_position (self);
  update_minimap (self);
}

static void
on_loading_changed (HgSlidePage *self)
{
  gtk_spinner_set_spinning (self->spinner, hg_slide_view_get_loading (self->view));
}

void
hg_slide_page_set_slide (HgSlidePage *self,
                         HgSlide     *slide)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  if (hg_slide_view_get_slide (self->view) == slide)
    return;

  hg_slide_view_set_slide (self->view, slide);
  /* The compare view takes the slide on a viewport of its own (which it
   * fits), then shares the main one: sharing makes it follow, not fit. */
  {
    g_autoptr (HgViewport) own = hg_viewport_new ();

    hg_slide_view_set_viewport (self->compare_view, own);
    hg_slide_view_set_slide (self->compare_view, slide);
    hg_slide_view_set_viewport (self->compare_view, hg_slide_view_get_viewport (self->view));
  }
  on_view_changed (self);
  restart_predictions (self);
}

HgSlideView *
hg_slide_page_get_compare_view (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->compare_view;
}

gboolean
hg_slide_page_get_compare (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), FALSE);

  return gtk_widget_get_visible (GTK_WIDGET (self->compare_overlay));
}

void
hg_slide_page_set_compare (HgSlidePage *self,
                           gboolean     compare)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  gtk_widget_set_visible (GTK_WIDGET (self->compare_overlay), compare);
  /* Two half-width panes have no room for the overview over their captions. */
  gtk_widget_set_visible (GTK_WIDGET (self->minimap_revealer), !compare);
}

static void
set_caption (GtkLabel   *label,
             const char *text)
{
  gtk_label_set_markup (label, text != NULL ? text : "");
  /* Each of its lines is ellipsized rather than wrapped ("lines" is 1 in
   * the template), so that it covers little of the slide; the whole text
   * is in the tooltip. */
  gtk_widget_set_tooltip_markup (GTK_WIDGET (label), text);
  gtk_widget_set_visible (GTK_WIDGET (label), text != NULL && *text != '\0');
}

void
hg_slide_page_set_captions (HgSlidePage *self,
                            const char  *caption,
                            const char  *compare_caption)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  set_caption (self->caption, caption);
  set_caption (self->compare_caption, compare_caption);
}

void
hg_slide_page_set_bottom_bar (HgSlidePage *self,
                              GtkWidget   *bar)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));
  g_return_if_fail (bar == NULL || GTK_IS_WIDGET (bar));

  if (self->bottom_bar == bar)
    return;
  if (self->bottom_bar != NULL)
    gtk_widget_unparent (self->bottom_bar);
  self->bottom_bar = bar;
  /* Below the views, not over them: nothing of the slide hides behind it. */
  if (bar != NULL)
    gtk_widget_insert_after (bar, GTK_WIDGET (self), GTK_WIDGET (self->stage));
}

void
hg_slide_page_set_legend (HgSlidePage *self,
                          const char  *title,
                          HgColormap   colormap,
                          double       min,
                          double       max)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));
  g_return_if_fail (title == NULL || max > min);

  g_free (self->legend_title);
  self->legend_title = g_strdup (title);
  self->legend_colormap = colormap;
  self->legend_min = min;
  self->legend_max = max;
  update_legend (self);
}

GtkWidget *
hg_slide_page_get_panes (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return GTK_WIDGET (self->stage);
}

/* Predictions. */

static void
show_toast (HgSlidePage *self,
            const char  *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (HG_IS_WINDOW (root))
    hg_window_show_toast (HG_WINDOW (root), message);
  else
    g_message ("%s", message);
}

static void
set_status (HgSlidePage *self,
            const char  *status)
{
  if (g_strcmp0 (self->status, status) == 0)
    return;
  g_free (self->status);
  self->status = g_strdup (status);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static void
set_running (HgSlidePage *self,
             gboolean     running)
{
  if (self->running == running)
    return;
  self->running = running;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "heatmap.cancel", running);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
set_progress (HgSlidePage *self,
              double       progress)
{
  if (self->progress == progress)
    return;
  self->progress = progress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
}

const char *
hg_slide_page_get_heatmap_status (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->status;
}

static const char *
positive_class_name (HgSlidePage *self)
{
  if (self->heatmap != NULL)
    return hg_heatmap_get_class_name (self->heatmap, hg_heatmap_get_positive_class (self->heatmap));
  return "IDC";
}

/* The legend and the status bar follow what the overlay shows. */
static void
update_legend (HgSlidePage *self)
{
  gboolean shown = self->heatmap_visible && self->heatmap != NULL;
  gboolean truth = hg_heatmap_overlay_get_show_truth (self->heatmap_overlay) && self->tiling != NULL &&
                   hg_tiling_has_ground_truth (self->tiling);
  g_autofree char *title = NULL;

  if (self->legend_title != NULL)
    {
      hg_heatmap_legend_set_title (self->legend, self->legend_title);
      hg_heatmap_legend_set_colormap (self->legend, self->legend_colormap);
      hg_heatmap_legend_set_range (self->legend, self->legend_min, self->legend_max);
      hg_heatmap_legend_set_threshold (self->legend, NAN);
    }
  else
    {
      /* Translators: the legend's title: the probability of a class ("IDC") */
      title = g_strdup_printf (_ ("Probability of %s"), positive_class_name (self));
      hg_heatmap_legend_set_title (self->legend, title);
      hg_heatmap_legend_set_colormap (self->legend, hg_heatmap_overlay_get_colormap (self->heatmap_overlay));
      hg_heatmap_legend_set_range (self->legend, 0, 1);
      hg_heatmap_legend_set_threshold (self->legend, shown && self->threshold_enabled ? self->threshold : NAN);
    }
  hg_heatmap_legend_set_truth_label (self->legend, truth ? positive_class_name (self) : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->legend), shown || truth);

  gtk_widget_set_visible (GTK_WIDGET (self->heatmap_box), self->running);
  if (self->running)
    {
      /* Translators: in the status bar while the model runs */
      g_autofree char *text = g_strdup_printf (_ ("Predicting… %.0f %%"), 100 * self->progress);

      gtk_label_set_text (self->heatmap_label, text);
    }
}

static void
update_overlay_values (HgSlidePage *self)
{
  g_autofree float *scores = NULL;
  gsize             n;

  if (self->heatmap == NULL)
    return;
  n = hg_tiling_get_n_tiles (self->tiling);
  scores = g_new (float, MAX (n, 1));
  hg_heatmap_copy_scores (self->heatmap, scores);
  hg_heatmap_overlay_set_values (self->heatmap_overlay, scores, NULL, n);
}

static void
update_done_status (HgSlidePage *self)
{
  g_autofree char *text = NULL;
  gsize            n = hg_tiling_get_n_tiles (self->tiling);

  if (hg_heatmap_is_complete (self->heatmap))
    /* Translators: a number of tiles, then seconds */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'zu tile in %.1f s", "%'zu tiles in %.1f s", n), n,
                            hg_heatmap_get_seconds (self->heatmap));
  else
    /* Translators: a stopped run: tiles done of all tiles */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'zu of %'zu tile, stopped", "%'zu of %'zu tiles, stopped", n),
                            hg_heatmap_get_n_done (self->heatmap), n);
  set_status (self, text);
}

static void
heatmap_changed (HgSlidePage *self)
{
  update_overlay_values (self);
  update_legend (self);
  g_signal_emit (self, signals[HEATMAP_CHANGED], 0);
}

static void
on_run_progress (gsize    done,
                 gsize    total,
                 gpointer user_data)
{
  HgSlidePage *self = user_data;

  set_progress (self, total > 0 ? (double) done / total : 1);
  heatmap_changed (self);
}

static void
refresh_inspector (HgSlidePage *self);

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (HgSlidePage) self = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = hg_heatmap_run_finish (self->heatmap, result, &error);

  /* Another slide or model took over: this run's heatmap is gone. */
  if (g_task_get_cancellable (G_TASK (result)) != self->run_cancellable)
    return;

  g_clear_object (&self->run_cancellable);
  set_running (self, FALSE);

  if (self->heatmap == NULL)
    return;

  if (ok)
    {
      g_autofree char *key = hg_heatmap_cache_key (hg_slide_view_get_slide (self->view), self->model_path,
                                                   &self->tiling_options);

      hg_heatmap_cache_insert (key, self->heatmap);
      set_progress (self, 1);
      update_done_status (self);
    }
  else if (g_error_matches (error, HG_ERROR, HG_ERROR_CANCELLED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    update_done_status (self);
  else
    {
      /* Translators: %s says why */
      g_autofree char *text = g_strdup_printf (_ ("The model could not run: %s"), error->message);

      set_status (self, text);
      show_toast (self, text);
    }

  heatmap_changed (self);
  refresh_inspector (self);
}

static void
start_run (HgSlidePage *self)
{
  HgSlide *slide = hg_slide_view_get_slide (self->view);

  if (self->running || slide == NULL || self->model == NULL)
    return;
  if (self->tiling == NULL)
    {
      self->run_pending = TRUE; /* once the tiles are known */
      return;
    }
  self->run_pending = FALSE;
  if (self->heatmap != NULL && hg_heatmap_is_complete (self->heatmap))
    return;

  if (self->heatmap == NULL)
    {
      g_autofree char *name = g_path_get_basename (self->model_path != NULL ? self->model_path : "model");

      self->heatmap = hg_heatmap_new_for_model (self->tiling, self->model);
      hg_heatmap_set_model_name (self->heatmap, name);
    }

  self->run_cancellable = g_cancellable_new ();
  set_progress (self, (double) hg_heatmap_get_n_done (self->heatmap) / MAX (hg_tiling_get_n_tiles (self->tiling), 1));
  set_running (self, TRUE);
  /* Translators: while the model runs */
  set_status (self, _ ("Predicting…"));
  update_legend (self);
  hg_heatmap_run_async (self->heatmap, hg_heatmap_predict_batch, hg_context_new (self->model),
                        (GDestroyNotify) hg_context_free, 0, on_run_progress, self,
                        self->run_cancellable, on_run_done, g_object_ref (self));
}

void
hg_slide_page_run_heatmap (HgSlidePage *self)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  start_run (self);
}

void
hg_slide_page_cancel_heatmap (HgSlidePage *self)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  self->run_pending = FALSE;
  g_cancellable_cancel (self->run_cancellable);
}

typedef struct
{
  HgSlide        *slide;
  HgModel        *model;
  HgTilingOptions options;
} TilingData;

static void
tiling_data_free (TilingData *data)
{
  g_object_unref (data->slide);
  hg_model_unref (data->model);
  g_free (data);
}

static void
tiling_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  TilingData *data = task_data;
  GError     *error = NULL;
  HgTiling   *tiling = hg_tiling_new_for_model (data->slide, data->model, &data->options, &error);

  if (tiling == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, tiling, (GDestroyNotify) hg_tiling_unref);
}

static void
on_tiling_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  HgSlidePage *self = HG_SLIDE_PAGE (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (HgTiling) tiling = g_task_propagate_pointer (G_TASK (result), &error);
  g_autofree char *key = NULL;

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  g_clear_object (&self->tiling_cancellable);

  if (tiling == NULL)
    {
      /* Translators: %s says why */
      g_autofree char *text = g_strdup_printf (_ ("The slide could not be cut into tiles: %s"), error->message);

      self->run_pending = FALSE;
      set_status (self, text);
      show_toast (self, text);
      return;
    }

  self->tiling = g_steal_pointer (&tiling);
  hg_heatmap_overlay_set_tiling (self->heatmap_overlay, self->tiling);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_TRUTH]);

  key = hg_heatmap_cache_key (hg_slide_view_get_slide (self->view), self->model_path, &self->tiling_options);
  self->heatmap = hg_heatmap_cache_lookup (key);
  if (self->heatmap != NULL)
    {
      set_progress (self, 1);
      update_done_status (self);
    }
  else
    set_status (self, NULL);
  heatmap_changed (self);

  if (self->run_pending || self->heatmap_visible)
    start_run (self);
}

static void
ensure_tiling (HgSlidePage *self)
{
  HgSlide    *slide = hg_slide_view_get_slide (self->view);
  TilingData *data;
  g_autoptr (GTask) task = NULL;

  if (self->tiling != NULL || self->tiling_cancellable != NULL || slide == NULL || self->model == NULL)
    return;

  data = g_new0 (TilingData, 1);
  data->slide = g_object_ref (slide);
  data->model = hg_model_ref (self->model);
  data->options = self->tiling_options;
  self->tiling_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->tiling_cancellable, on_tiling_done, NULL);
  g_task_set_source_tag (task, ensure_tiling);
  g_task_set_task_data (task, data, (GDestroyNotify) tiling_data_free);
  g_task_run_in_thread (task, tiling_thread);
}

static void
reset_predictions (HgSlidePage *self)
{
  g_cancellable_cancel (self->tiling_cancellable);
  g_clear_object (&self->tiling_cancellable);
  g_cancellable_cancel (self->run_cancellable);
  g_clear_object (&self->run_cancellable);
  g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->explain_cancellable);
  set_running (self, FALSE);
  set_progress (self, 0);
  set_status (self, NULL);
  g_clear_pointer (&self->heatmap, hg_heatmap_unref);
  g_clear_pointer (&self->tiling, hg_tiling_unref);
  hg_heatmap_overlay_set_tiling (self->heatmap_overlay, NULL);
  if (self->inspector != NULL)
    hg_tile_inspector_clear (self->inspector);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_TRUTH]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_TILE]);
  heatmap_changed (self);
}

static void
restart_predictions (HgSlidePage *self)
{
  gboolean pending = self->run_pending;

  reset_predictions (self);
  self->run_pending = pending;
  ensure_tiling (self);
}

void
hg_slide_page_set_model (HgSlidePage *self,
                         HgModel     *model,
                         const char  *path)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  if (self->model == model && g_strcmp0 (self->model_path, path) == 0)
    return;

  g_clear_pointer (&self->model, hg_model_unref);
  if (model != NULL)
    self->model = hg_model_ref (model);
  g_free (self->model_path);
  self->model_path = g_strdup (path);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "heatmap.run", model != NULL);
  restart_predictions (self);
}

HgModel *
hg_slide_page_get_model (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->model;
}

HgHeatmap *
hg_slide_page_get_heatmap (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->heatmap;
}

HgTiling *
hg_slide_page_get_tiling (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->tiling;
}

HgHeatmapOverlay *
hg_slide_page_get_heatmap_overlay (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), NULL);

  return self->heatmap_overlay;
}

static void
set_heatmap_visible (HgSlidePage *self,
                     gboolean     visible)
{
  if (self->heatmap_visible == visible)
    return;

  self->heatmap_visible = visible;
  hg_heatmap_overlay_set_show_values (self->heatmap_overlay, visible);
  if (visible)
    {
      ensure_tiling (self);
      start_run (self);
    }
  update_legend (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEATMAP_VISIBLE]);
}

static void
update_threshold (HgSlidePage *self)
{
  hg_heatmap_overlay_set_threshold (self->heatmap_overlay, self->threshold_enabled ? self->threshold : NAN);
  update_legend (self);
}

/* The inspector. */

typedef struct
{
  HgTiling *tiling;
  HgModel  *model;
  gsize     index;
  /* Results */
  HgImage *image;
  float   *probs;
  float   *saliency;
  float   *gradcam;
  int      width, height;
} ExplainData;

static void
explain_data_free (ExplainData *data)
{
  hg_tiling_unref (data->tiling);
  hg_model_unref (data->model);
  g_clear_pointer (&data->image, hg_image_unref);
  g_free (data->probs);
  g_free (data->saliency);
  g_free (data->gradcam);
  g_free (data);
}

/* Small tiles (an IDC patch is what the model sees, 50 × 50) are blown up
 * pixel by pixel: crisp, as the model sees them, not smoothed. */
static HgImage *
enlarge (HgImage *image)
{
  int      w = hg_image_get_width (image), h = hg_image_get_height (image);
  int      factor = INSPECTOR_SIZE / MAX (w, h);
  HgImage *big;
  gsize    src_stride = hg_image_get_stride (image), dst_stride;
  guint8  *dst;

  if (factor < 2 || (big = hg_image_new (w * factor, h * factor, NULL)) == NULL)
    return hg_image_ref (image);

  dst = hg_image_get_mutable_data (big);
  dst_stride = hg_image_get_stride (big);
  for (int y = 0; y < h * factor; y++)
    {
      const guint32 *src_row = (const guint32 *) (hg_image_get_data (image) + (gsize) (y / factor) * src_stride);
      guint32       *dst_row = (guint32 *) (dst + (gsize) y * dst_stride);

      for (int x = 0; x < w * factor; x++)
        dst_row[x] = src_row[x / factor];
    }
  return big;
}

static void
explain_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ExplainData *data = task_data;
  g_autoptr (HgContext) ctx = hg_context_new (data->model);
  g_autofree float *x = NULL;
  GError           *error = NULL;

  hg_tiling_get_input_size (data->tiling, &data->width, &data->height);
  x = g_new (float, 3 * (gsize) data->width * data->height);
  data->probs = g_new (float, hg_model_get_n_classes (data->model));
  data->saliency = g_new (float, (gsize) data->width * data->height);
  data->gradcam = g_new (float, (gsize) data->width * data->height);

  data->image = hg_tiling_read_tile_image (data->tiling, data->index, INSPECTOR_SIZE, &error);
  if (data->image != NULL)
    {
      HgImage *big = enlarge (data->image);

      hg_image_unref (data->image);
      data->image = big;
    }
  if (data->image == NULL || !hg_tiling_read_tile (data->tiling, data->index, x, &error) ||
      !hg_explain (ctx, x, -1, NULL, data->probs, data->saliency, data->gradcam, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static char *
describe_tile (HgSlidePage  *self,
               const HgTile *tile)
{
  HgSlide *slide = hg_slide_view_get_slide (self->view);
  double   mpp_x, mpp_y;
  g_autoptr (GString) text = g_string_new (NULL);

  /* Translators: a tile's size in slide pixels */
  g_string_append_printf (text, _ ("%d × %d px"), tile->width, tile->height);
  if (slide != NULL && hg_slide_get_mpp (slide, &mpp_x, &mpp_y))
    g_string_append_printf (text, " (%.0f × %.0f µm)", tile->width * mpp_x, tile->height * mpp_y);
  if (hg_tiling_get_kind (self->tiling) == HG_TILING_GRID)
    /* Translators: how much of the tile is tissue, in percent */
    g_string_append_printf (text, _ (" · %.0f %% tissue"), 100.0 * tile->tissue);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
on_explained (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  HgSlidePage *self = HG_SLIDE_PAGE (source);
  g_autoptr (GError) error = NULL;
  ExplainData            *data = g_task_get_task_data (G_TASK (result));
  const HgTile           *tile;
  int                     k, best = 0;
  g_autofree const char **names = NULL;
  g_autoptr (GdkTexture) texture = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
        {
          /* Translators: %s says why */
          g_autofree char *text = g_strdup_printf (_ ("The tile could not be explained: %s"), error->message);

          show_toast (self, text);
        }
      return;
    }
  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))) || self->inspector == NULL ||
      data->tiling != self->tiling)
    return;

  tile = hg_tiling_get_tile (data->tiling, data->index);
  k = hg_model_get_n_classes (data->model);
  names = g_new0 (const char *, k + 1);
  for (int c = 0; c < k; c++)
    {
      names[c] = hg_model_get_class_name (data->model, c);
      if (data->probs[c] > data->probs[best])
        best = c;
    }

  texture = hg_texture_new_for_image (data->image);
  {
    /* Translators: a tile's place on the slide, in slide pixels */
    g_autofree char *title = g_strdup_printf (_ ("Tile at x %'lld, y %'lld"), (long long) tile->x,
                                              (long long) tile->y);
    g_autofree char *subtitle = describe_tile (self, tile);

    hg_tile_inspector_set_title (self->inspector, title, subtitle);
  }
  hg_tile_inspector_set_image (self->inspector, texture);
  hg_tile_inspector_set_probabilities (self->inspector, data->probs, names, k);
  hg_tile_inspector_set_explanations (self->inspector, data->saliency, data->gradcam, data->width, data->height);

  if (tile->truth != HG_SLIDE_LABEL_NONE)
    {
      const char      *truth = tile->truth == HG_SLIDE_LABEL_IDC ? positive_class_name (self) : NULL;
      g_autofree char *other = NULL;
      gboolean         right;
      g_autofree char *note = NULL;

      if (truth == NULL)
        {
          /* The negative class: the model's other class. */
          int positive = self->heatmap != NULL ? hg_heatmap_get_positive_class (self->heatmap) : k - 1;

          other = g_strdup (names[positive == 0 ? 1 : 0]);
          truth = other;
        }
      right = g_strcmp0 (names[best], truth) == 0;
      note = right ? g_markup_printf_escaped (_ ("Ground truth: <b>%s</b> — the model is right."), truth)
                   : g_markup_printf_escaped (_ ("Ground truth: <b>%s</b> — the model is wrong."), truth);
      hg_tile_inspector_set_note (self->inspector, note);
    }
  else
    hg_tile_inspector_set_note (self->inspector, NULL);
}

static void
refresh_inspector (HgSlidePage *self)
{
  gssize       selected = hg_heatmap_overlay_get_selected (self->heatmap_overlay);
  ExplainData *data;
  g_autoptr (GTask) task = NULL;

  g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->explain_cancellable);
  if (self->inspector == NULL || self->tiling == NULL || self->model == NULL || selected < 0)
    return;

  data = g_new0 (ExplainData, 1);
  data->tiling = hg_tiling_ref (self->tiling);
  data->model = hg_model_ref (self->model);
  data->index = (gsize) selected;
  self->explain_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->explain_cancellable, on_explained, NULL);
  g_task_set_source_tag (task, refresh_inspector);
  g_task_set_task_data (task, data, (GDestroyNotify) explain_data_free);
  g_task_run_in_thread (task, explain_thread);
}

gssize
hg_slide_page_get_selected_tile (HgSlidePage *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_PAGE (self), -1);

  return hg_heatmap_overlay_get_selected (self->heatmap_overlay);
}

void
hg_slide_page_select_tile (HgSlidePage *self,
                           gssize       index)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));
  g_return_if_fail (index < 0 || (self->tiling != NULL && (gsize) index < hg_tiling_get_n_tiles (self->tiling)));

  if (hg_heatmap_overlay_get_selected (self->heatmap_overlay) == index)
    return;

  hg_heatmap_overlay_set_selected (self->heatmap_overlay, index);
  if (index < 0 && self->inspector != NULL)
    hg_tile_inspector_clear (self->inspector);
  refresh_inspector (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_TILE]);
}

static void
on_view_clicked (HgSlidePage *self,
                 double       x,
                 double       y)
{
  gssize index;

  if (self->tiling == NULL)
    {
      if (self->model == NULL)
        show_toast (self, _ ("Choose a model to inspect tiles"));
      return;
    }
  index = hg_tiling_find (self->tiling, x, y);
  if (index >= 0)
    hg_slide_page_select_tile (self, index);
}

/* An arrow key in the inspector: the neighbouring tile, kept in view. */
static void
on_inspector_move (HgSlidePage *self,
                   int          dx,
                   int          dy)
{
  gssize          selected = hg_heatmap_overlay_get_selected (self->heatmap_overlay);
  gssize          next;
  const HgTile   *tile;
  graphene_rect_t area;

  if (self->tiling == NULL || selected < 0)
    return;
  next = hg_tiling_get_neighbour (self->tiling, selected, dx, dy);
  if (next < 0)
    {
      gtk_widget_error_bell (GTK_WIDGET (self));
      return;
    }
  hg_slide_page_select_tile (self, next);

  tile = hg_tiling_get_tile (self->tiling, next);
  hg_slide_view_get_visible_area (self->view, &area);
  if (tile->x < area.origin.x || tile->y < area.origin.y ||
      tile->x + tile->width > area.origin.x + area.size.width ||
      tile->y + tile->height > area.origin.y + area.size.height)
    hg_slide_view_center_on (self->view, tile->x + tile->width / 2.0, tile->y + tile->height / 2.0, TRUE);
}

void
hg_slide_page_set_inspector (HgSlidePage     *self,
                             HgTileInspector *inspector)
{
  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  if (self->inspector != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->inspector, self);
      g_object_remove_weak_pointer (G_OBJECT (self->inspector), (gpointer *) &self->inspector);
    }
  self->inspector = inspector;
  if (inspector != NULL)
    {
      g_object_add_weak_pointer (G_OBJECT (inspector), (gpointer *) &self->inspector);
      g_signal_connect_object (inspector, "move", G_CALLBACK (on_inspector_move), self, G_CONNECT_SWAPPED);
    }
  refresh_inspector (self);
}

/* Exports. */

typedef struct
{
  HgHeatmap     *heatmap;
  HgHeatmapStyle style;
  char          *format;
  char          *path;
} ExportData;

static void
export_data_free (ExportData *data)
{
  hg_heatmap_unref (data->heatmap);
  g_free (data->format);
  g_free (data->path);
  g_free (data);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportData *data = task_data;
  GError     *error = NULL;
  gboolean    ok;

  if (g_str_equal (data->format, "png"))
    ok = hg_heatmap_save_png (data->heatmap, &data->style, EXPORT_SIZE, data->path, &error);
  else if (g_str_equal (data->format, "csv"))
    ok = hg_heatmap_save_csv (data->heatmap, data->path, &error);
  else
    ok = hg_heatmap_save_geojson (data->heatmap, data->path, &error);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
on_exported (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  HgSlidePage *self = HG_SLIDE_PAGE (source);
  ExportData  *data = g_task_get_task_data (G_TASK (result));
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

void
hg_slide_page_export_heatmap (HgSlidePage *self,
                              const char  *format,
                              const char  *path)
{
  ExportData *data;
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (HG_IS_SLIDE_PAGE (self));

  if (self->heatmap == NULL)
    return;

  data = g_new0 (ExportData, 1);
  data->heatmap = hg_heatmap_ref (self->heatmap);
  data->format = g_strdup (format);
  data->path = g_strdup (path);
  hg_heatmap_style_init (&data->style);
  data->style.colormap = hg_heatmap_overlay_get_colormap (self->heatmap_overlay);
  data->style.opacity = hg_heatmap_overlay_get_opacity (self->heatmap_overlay);
  data->style.threshold = self->threshold_enabled ? self->threshold : NAN;
  data->style.show_truth = hg_heatmap_overlay_get_show_truth (self->heatmap_overlay);

  task = g_task_new (self, NULL, on_exported, NULL);
  g_task_set_source_tag (task, hg_slide_page_export_heatmap);
  g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
  g_task_run_in_thread (task, export_thread);
}

static void
on_export_response (GtkNativeDialog *dialog,
                    int              response,
                    HgSlidePage     *self)
{
  const char *format = g_object_get_data (G_OBJECT (dialog), "format");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        hg_slide_page_export_heatmap (self, format, path);
      else
        show_toast (self, _ ("Heatmaps can only be saved on this computer"));
    }
  g_clear_object (&self->export_chooser);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  HgSlidePage     *self = HG_SLIDE_PAGE (widget);
  const char      *format = g_variant_get_string (parameter, NULL);
  HgSlide         *slide = hg_slide_view_get_slide (self->view);
  GtkRoot         *root = gtk_widget_get_root (widget);
  g_autofree char *base = NULL;
  g_autofree char *name = NULL;
  const char      *title;

  if (self->heatmap == NULL || slide == NULL)
    return;

  if (g_str_equal (format, "png"))
    title = _ ("Save Heatmap Picture");
  else if (g_str_equal (format, "csv"))
    title = _ ("Save Tile Predictions");
  else if (g_str_equal (format, "geojson"))
    title = _ ("Save Detections for QuPath");
  else
    return;

  if (self->export_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->export_chooser));
  g_clear_object (&self->export_chooser);
  self->export_chooser = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                      GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), _ ("_Cancel"));
  base = hg_slide_text_file_stem (slide);
  name = g_strdup_printf ("%s-heatmap.%s", base, format);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->export_chooser), name);
  g_object_set_data_full (G_OBJECT (self->export_chooser), "format", g_strdup (format), g_free);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->export_chooser), TRUE);
  g_signal_connect (self->export_chooser, "response", G_CALLBACK (on_export_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->export_chooser));
}

static void
heatmap_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  HgSlidePage *self = HG_SLIDE_PAGE (widget);

  if (g_str_equal (action_name, "heatmap.run"))
    {
      ensure_tiling (self);
      self->run_pending = TRUE;
      start_run (self);
    }
  else if (g_str_equal (action_name, "heatmap.cancel"))
    hg_slide_page_cancel_heatmap (self);
}

static void
zoom_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  HgSlidePage *self = HG_SLIDE_PAGE (widget);

  if (hg_slide_view_get_slide (self->view) == NULL)
    return;

  if (g_str_equal (action_name, "slide.zoom-in"))
    hg_slide_view_zoom_in (self->view);
  else if (g_str_equal (action_name, "slide.zoom-out"))
    hg_slide_view_zoom_out (self->view);
  else if (g_str_equal (action_name, "slide.zoom-fit"))
    hg_slide_view_zoom_fit (self->view);
  else if (g_str_equal (action_name, "slide.zoom-original"))
    hg_slide_view_zoom_original (self->view);
  else if (g_str_equal (action_name, "slide.zoom-to"))
    hg_slide_view_zoom_to (self->view, g_variant_get_double (parameter), TRUE);
}

static void
hg_slide_page_dispose (GObject *object)
{
  HgSlidePage *self = HG_SLIDE_PAGE (object);
  GtkWidget   *child;

  /* Cancelled first: a progress update in flight then finds it so. */
  g_cancellable_cancel (self->run_cancellable);
  g_cancellable_cancel (self->tiling_cancellable);
  g_cancellable_cancel (self->explain_cancellable);
  g_clear_object (&self->run_cancellable);
  g_clear_object (&self->tiling_cancellable);
  g_clear_object (&self->explain_cancellable);
  if (self->export_chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->export_chooser));
  g_clear_object (&self->export_chooser);
  hg_slide_page_set_inspector (self, NULL);
  g_clear_pointer (&self->heatmap, hg_heatmap_unref);
  g_clear_pointer (&self->tiling, hg_tiling_unref);
  g_clear_pointer (&self->model, hg_model_unref);
  g_clear_pointer (&self->model_path, g_free);
  g_clear_pointer (&self->status, g_free);
  g_clear_pointer (&self->legend_title, g_free);
  if (self->bottom_bar != NULL)
    gtk_widget_unparent (g_steal_pointer (&self->bottom_bar));
  if (self->heatmap_overlay != NULL && self->view != NULL)
    hg_slide_view_remove_overlay (self->view, HG_SLIDE_OVERLAY (self->heatmap_overlay));
  g_clear_object (&self->heatmap_overlay);

  gtk_widget_dispose_template (GTK_WIDGET (object), HG_TYPE_SLIDE_PAGE);
  /* Children without a template binding (separators, frames) too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (hg_slide_page_parent_class)->dispose (object);
}

static void
hg_slide_page_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  HgSlidePage *self = HG_SLIDE_PAGE (object);

  switch (prop_id)
    {
    case PROP_HEATMAP_VISIBLE:
      g_value_set_boolean (value, self->heatmap_visible);
      break;
    case PROP_OPACITY:
      g_value_set_double (value, hg_heatmap_overlay_get_opacity (self->heatmap_overlay));
      break;
    case PROP_COLORMAP:
      g_value_set_string (value, hg_colormap_get_name (hg_heatmap_overlay_get_colormap (self->heatmap_overlay)));
      break;
    case PROP_THRESHOLD_ENABLED:
      g_value_set_boolean (value, self->threshold_enabled);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_SHOW_TRUTH:
      g_value_set_boolean (value, hg_heatmap_overlay_get_show_truth (self->heatmap_overlay));
      break;
    case PROP_TILE_SIZE:
      g_value_set_double (value, self->tiling_options.tile_size);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_HAS_TRUTH:
      g_value_set_boolean (value, self->tiling != NULL && hg_tiling_has_ground_truth (self->tiling));
      break;
    case PROP_SELECTED_TILE:
      g_value_set_int64 (value, hg_heatmap_overlay_get_selected (self->heatmap_overlay));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_slide_page_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  HgSlidePage *self = HG_SLIDE_PAGE (object);

  switch (prop_id)
    {
    case PROP_HEATMAP_VISIBLE:
      set_heatmap_visible (self, g_value_get_boolean (value));
      break;
    case PROP_OPACITY:
      if (hg_heatmap_overlay_get_opacity (self->heatmap_overlay) != g_value_get_double (value))
        {
          hg_heatmap_overlay_set_opacity (self->heatmap_overlay, g_value_get_double (value));
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_COLORMAP:
      {
        HgColormap map;

        if (!hg_colormap_from_name (g_value_get_string (value), &map))
          map = HG_COLORMAP_VIRIDIS;
        if (hg_heatmap_overlay_get_colormap (self->heatmap_overlay) != map)
          {
            hg_heatmap_overlay_set_colormap (self->heatmap_overlay, map);
            update_legend (self);
            g_object_notify_by_pspec (object, pspec);
          }
        break;
      }
    case PROP_THRESHOLD_ENABLED:
      if (self->threshold_enabled != g_value_get_boolean (value))
        {
          self->threshold_enabled = g_value_get_boolean (value);
          update_threshold (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_THRESHOLD:
      if (self->threshold != g_value_get_double (value))
        {
          self->threshold = g_value_get_double (value);
          update_threshold (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_SHOW_TRUTH:
      if (hg_heatmap_overlay_get_show_truth (self->heatmap_overlay) != g_value_get_boolean (value))
        {
          hg_heatmap_overlay_set_show_truth (self->heatmap_overlay, g_value_get_boolean (value));
          update_legend (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_TILE_SIZE:
      if (self->tiling_options.tile_size != g_value_get_double (value))
        {
          self->tiling_options.tile_size = g_value_get_double (value);
          restart_predictions (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_slide_page_class_init (HgSlidePageClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_slide_page_dispose;
  object_class->get_property = hg_slide_page_get_property;
  object_class->set_property = hg_slide_page_set_property;

  properties[PROP_HEATMAP_VISIBLE] =
      g_param_spec_boolean ("heatmap-visible", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OPACITY] =
      g_param_spec_double ("heatmap-opacity", NULL, NULL, 0, 1, 0.6,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COLORMAP] =
      g_param_spec_string ("colormap", NULL, NULL, "viridis",
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_THRESHOLD_ENABLED] =
      g_param_spec_boolean ("threshold-enabled", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_THRESHOLD] =
      g_param_spec_double ("threshold", NULL, NULL, 0, 1, 0.5,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_TRUTH] =
      g_param_spec_boolean ("show-truth", NULL, NULL, FALSE,
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Level-0 pixels per tile side; 0: from the model's scale. */
  properties[PROP_TILE_SIZE] =
      g_param_spec_double ("tile-size", NULL, NULL, 0, 1e6, 0,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
      g_param_spec_boolean ("running", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROGRESS] =
      g_param_spec_double ("progress", NULL, NULL, 0, 1, 0,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
      g_param_spec_string ("status", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_TRUTH] =
      g_param_spec_boolean ("has-truth", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_TILE] =
      g_param_spec_int64 ("selected-tile", NULL, NULL, -1, G_MAXINT64, -1,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The heatmap's values or state changed: a batch came in, the run ended,
   * another slide or model. */
  signals[HEATMAP_CHANGED] = g_signal_new ("heatmap-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (HG_TYPE_SLIDE_VIEW);
  g_type_ensure (HG_TYPE_SLIDE_MINIMAP);
  g_type_ensure (HG_TYPE_SCALE_BAR);
  g_type_ensure (HG_TYPE_HEATMAP_LEGEND);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-slide-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, stage);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, panes);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, overlay);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, view);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, caption);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, compare_overlay);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, compare_view);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, compare_caption);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, minimap_revealer);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, minimap);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, scale_bar);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, status_bar);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, position_label);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, spinner);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, level_label);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, zoom_button);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, legend);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, heatmap_box);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, heatmap_label);

  gtk_widget_class_install_action (widget_class, "slide.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-original", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-to", "d", zoom_action);
  gtk_widget_class_install_action (widget_class, "heatmap.run", NULL, heatmap_action);
  gtk_widget_class_install_action (widget_class, "heatmap.cancel", NULL, heatmap_action);
  gtk_widget_class_install_action (widget_class, "heatmap.export", "s", export_action);
  gtk_widget_class_install_property_action (widget_class, "heatmap.show", "heatmap-visible");
  gtk_widget_class_install_property_action (widget_class, "heatmap.truth", "show-truth");

  gtk_widget_class_set_css_name (widget_class, "slidepage");
}

static void
hg_slide_page_init (HgSlidePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  hg_tiling_options_init (&self->tiling_options);
  self->threshold = 0.5;
  self->heatmap_overlay = hg_heatmap_overlay_new ();
  hg_heatmap_overlay_set_show_values (self->heatmap_overlay, FALSE);
  hg_slide_view_add_overlay (self->view, HG_SLIDE_OVERLAY (self->heatmap_overlay));
  g_signal_connect_object (self->view, "clicked", G_CALLBACK (on_view_clicked), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->compare_view, "clicked", G_CALLBACK (on_view_clicked), self, G_CONNECT_SWAPPED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "heatmap.run", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "heatmap.cancel", FALSE);
  update_legend (self);

  g_signal_connect_object (self->view, "view-changed", G_CALLBACK (on_view_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "pointer-changed", G_CALLBACK (update_position), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "notify::level", G_CALLBACK (update_zoom), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "notify::loading", G_CALLBACK (on_loading_changed), self,
                           G_CONNECT_SWAPPED);
}
