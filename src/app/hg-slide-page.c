/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgSlidePage"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hg-scale-bar.h"
#include "hg-slide-minimap.h"
#include "hg-slide-page.h"

struct _HgSlidePage
{
  GtkWidget parent_instance;

  /* Template children */
  GtkOverlay     *overlay;
  HgSlideView    *view;
  GtkRevealer    *minimap_revealer;
  HgSlideMinimap *minimap;
  HgScaleBar     *scale_bar;
  GtkBox         *status_bar;
  GtkLabel       *position_label;
  GtkSpinner     *spinner;
  GtkLabel       *level_label;
  GtkMenuButton  *zoom_button;
};

G_DEFINE_FINAL_TYPE (HgSlidePage, hg_slide_page, GTK_TYPE_WIDGET)

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

/* "1.2 mm" or "350 µm", to go beside pixel counts. */
static char *
format_microns (double microns)
{
  if (microns >= 1000)
    return g_strdup_printf (_ ("%.1f mm"), microns / 1000);
  return g_strdup_printf (_ ("%.0f µm"), microns);
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
          g_autofree char *mx = format_microns (x * mpp_x);
          g_autofree char *my = format_microns (y * mpp_y);

          g_string_append_printf (text, "  ·  %s, %s", mx, my);
        }
      if (hg_slide_has_ground_truth (slide))
        switch (hg_slide_get_label_at (slide, x, y))
          {
          case HG_SLIDE_LABEL_IDC:
            g_string_append_printf (text, "  ·  %s", _ ("IDC patch"));
            break;
          case HG_SLIDE_LABEL_BENIGN:
            g_string_append_printf (text, "  ·  %s", _ ("Non-IDC patch"));
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
          g_autofree char *mw = format_microns (width * mpp_x);
          g_autofree char *mh = format_microns (height * mpp_y);

          g_string_append_printf (text, "  ·  %s × %s", mw, mh);
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
    level_text = g_strdup_printf (_ ("%.1f×  ·  level %d of %d"), power * zoom, level + 1,
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

  hg_slide_view_set_slide (self->view, slide);
  on_view_changed (self);
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
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (object), HG_TYPE_SLIDE_PAGE);
  /* Children without a template binding (separators, frames) too. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (hg_slide_page_parent_class)->dispose (object);
}

static void
hg_slide_page_class_init (HgSlidePageClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_slide_page_dispose;

  g_type_ensure (HG_TYPE_SLIDE_VIEW);
  g_type_ensure (HG_TYPE_SLIDE_MINIMAP);
  g_type_ensure (HG_TYPE_SCALE_BAR);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/hg-slide-page.ui");
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, overlay);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, view);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, minimap_revealer);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, minimap);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, scale_bar);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, status_bar);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, position_label);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, spinner);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, level_label);
  gtk_widget_class_bind_template_child (widget_class, HgSlidePage, zoom_button);

  gtk_widget_class_install_action (widget_class, "slide.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-original", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "slide.zoom-to", "d", zoom_action);

  gtk_widget_class_set_css_name (widget_class, "slidepage");
}

static void
hg_slide_page_init (HgSlidePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (self->view, "view-changed", G_CALLBACK (on_view_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "pointer-changed", G_CALLBACK (update_position), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "notify::level", G_CALLBACK (update_zoom), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "notify::loading", G_CALLBACK (on_loading_changed), self,
                           G_CONNECT_SWAPPED);
}
