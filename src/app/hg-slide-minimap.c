/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgSlideMinimap"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hg-slide-minimap.h"

#define CORNER_RADIUS 6

struct _HgSlideMinimap
{
  GtkWidget parent_instance;

  HgSlideView *view;
};

G_DEFINE_FINAL_TYPE (HgSlideMinimap, hg_slide_minimap, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_VIEW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

GtkWidget *
hg_slide_minimap_new (void)
{
  return g_object_new (HG_TYPE_SLIDE_MINIMAP, NULL);
}

static GdkTexture *
get_thumbnail (HgSlideMinimap *self)
{
  return self->view != NULL ? hg_slide_view_get_thumbnail (self->view) : NULL;
}

static void
slide_size (HgSlideMinimap *self,
            double         *width,
            double         *height)
{
  gint64 w = 1, h = 1;

  if (self->view != NULL && hg_slide_view_get_slide (self->view) != NULL)
    hg_slide_get_level_size (hg_slide_view_get_slide (self->view), 0, &w, &h);

  *width = (double) w;
  *height = (double) h;
}

void
hg_slide_minimap_get_visible_rect (HgSlideMinimap  *self,
                                   graphene_rect_t *rect)
{
  graphene_rect_t area;
  graphene_rect_t bounds;
  double          width, height;
  double          sx, sy;

  g_return_if_fail (HG_IS_SLIDE_MINIMAP (self));

  graphene_rect_init (rect, 0, 0, 0, 0);
  if (self->view == NULL || get_thumbnail (self) == NULL)
    return;

  slide_size (self, &width, &height);
  sx = gtk_widget_get_width (GTK_WIDGET (self)) / width;
  sy = gtk_widget_get_height (GTK_WIDGET (self)) / height;
  hg_slide_view_get_visible_area (self->view, &area);
  graphene_rect_init (&bounds, 0, 0, gtk_widget_get_width (GTK_WIDGET (self)),
                      gtk_widget_get_height (GTK_WIDGET (self)));
  graphene_rect_init (rect, area.origin.x * sx, area.origin.y * sy, area.size.width * sx,
                      area.size.height * sy);
  if (!graphene_rect_intersection (rect, &bounds, rect))
    graphene_rect_init (rect, 0, 0, 0, 0);
}

static void
hg_slide_minimap_measure (GtkWidget     *widget,
                          GtkOrientation orientation,
                          int            for_size,
                          int           *minimum,
                          int           *natural,
                          int           *minimum_baseline,
                          int           *natural_baseline)
{
  HgSlideMinimap *self = HG_SLIDE_MINIMAP (widget);
  double          width, height, scale;

  *minimum = *natural = 0;
  if (get_thumbnail (self) == NULL)
    return;

  slide_size (self, &width, &height);
  scale = HG_SLIDE_MINIMAP_SIZE / MAX (width, height);
  *minimum = *natural = MAX (16, (int) round ((orientation == GTK_ORIENTATION_HORIZONTAL ? width : height) * scale));
}

static void
hg_slide_minimap_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  HgSlideMinimap *self = HG_SLIDE_MINIMAP (widget);
  GdkTexture     *thumbnail = get_thumbnail (self);
  int             width = gtk_widget_get_width (widget);
  int             height = gtk_widget_get_height (widget);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, width, height);
  graphene_rect_t visible;
  GskRoundedRect  frame;
  GdkRGBA         shade = { 0, 0, 0, 0.38 };
  GdkRGBA         outline = { 1, 1, 1, 0.95 };
  GdkRGBA         outline_dark = { 0, 0, 0, 0.5 };

  if (thumbnail == NULL || width <= 0 || height <= 0)
    return;

  gsk_rounded_rect_init_from_rect (&frame, &bounds, CORNER_RADIUS);
  gtk_snapshot_append_outset_shadow (snapshot, &frame, &(GdkRGBA){ 0, 0, 0, 0.35 }, 0, 1, 0, 4);
  gtk_snapshot_push_rounded_clip (snapshot, &frame);

  gtk_snapshot_append_color (snapshot, &(GdkRGBA){ 1, 1, 1, 1 }, &bounds);
  gtk_snapshot_append_texture (snapshot, thumbnail, &bounds);

  /* Dim what is off screen; outline what is on it. */
  hg_slide_minimap_get_visible_rect (self, &visible);
  if (visible.size.width > 0 && visible.size.height > 0 &&
      (visible.size.width < width - 0.5 || visible.size.height < height - 0.5))
    {
      float x0 = visible.origin.x, y0 = visible.origin.y;
      float x1 = x0 + visible.size.width, y1 = y0 + visible.size.height;

      gtk_snapshot_append_color (snapshot, &shade, &GRAPHENE_RECT_INIT (0, 0, width, y0));
      gtk_snapshot_append_color (snapshot, &shade, &GRAPHENE_RECT_INIT (0, y1, width, height - y1));
      gtk_snapshot_append_color (snapshot, &shade, &GRAPHENE_RECT_INIT (0, y0, x0, y1 - y0));
      gtk_snapshot_append_color (snapshot, &shade, &GRAPHENE_RECT_INIT (x1, y0, width - x1, y1 - y0));

      /* A light line inside a dark one: visible over pink and white alike. */
      gtk_snapshot_append_border (snapshot,
                                  &GSK_ROUNDED_RECT_INIT (x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2),
                                  (float[4]){ 1, 1, 1, 1 },
                                  (GdkRGBA[4]){ outline_dark, outline_dark, outline_dark, outline_dark });
      gtk_snapshot_append_border (snapshot, &GSK_ROUNDED_RECT_INIT (x0, y0, x1 - x0, y1 - y0),
                                  (float[4]){ 2, 2, 2, 2 },
                                  (GdkRGBA[4]){ outline, outline, outline, outline });
    }

  gtk_snapshot_pop (snapshot);

  gtk_snapshot_append_border (snapshot, &frame, (float[4]){ 1, 1, 1, 1 },
                              (GdkRGBA[4]){ outline_dark, outline_dark, outline_dark, outline_dark });
}

static void
move_view_to (HgSlideMinimap *self,
              double          x,
              double          y,
              gboolean        animate)
{
  double width, height;
  int    w = gtk_widget_get_width (GTK_WIDGET (self));
  int    h = gtk_widget_get_height (GTK_WIDGET (self));

  if (self->view == NULL || w <= 0 || h <= 0)
    return;

  slide_size (self, &width, &height);
  hg_slide_view_center_on (self->view, CLAMP (x, 0, w) / w * width, CLAMP (y, 0, h) / h * height,
                           animate);
}

static void
on_drag_begin (GtkGestureDrag *gesture,
               double          x,
               double          y,
               HgSlideMinimap *self)
{
  move_view_to (self, x, y, TRUE);
}

static void
on_drag_update (GtkGestureDrag *gesture,
                double          offset_x,
                double          offset_y,
                HgSlideMinimap *self)
{
  double x, y;

  gtk_gesture_drag_get_start_point (gesture, &x, &y);
  move_view_to (self, x + offset_x, y + offset_y, FALSE);
}

static void
on_thumbnail_changed (HgSlideMinimap *self)
{
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

HgSlideView *
hg_slide_minimap_get_view (HgSlideMinimap *self)
{
  g_return_val_if_fail (HG_IS_SLIDE_MINIMAP (self), NULL);

  return self->view;
}

void
hg_slide_minimap_set_view (HgSlideMinimap *self,
                           HgSlideView    *view)
{
  g_return_if_fail (HG_IS_SLIDE_MINIMAP (self));
  g_return_if_fail (view == NULL || HG_IS_SLIDE_VIEW (view));

  if (self->view == view)
    return;

  if (self->view != NULL)
    g_signal_handlers_disconnect_by_data (self->view, self);

  g_set_object (&self->view, view);

  if (view != NULL)
    {
      g_signal_connect_object (view, "notify::thumbnail", G_CALLBACK (on_thumbnail_changed), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (view, "view-changed", G_CALLBACK (gtk_widget_queue_draw), self,
                               G_CONNECT_SWAPPED);
    }

  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEW]);
}

static void
hg_slide_minimap_dispose (GObject *object)
{
  HgSlideMinimap *self = HG_SLIDE_MINIMAP (object);

  if (self->view != NULL)
    g_signal_handlers_disconnect_by_data (self->view, self);
  g_clear_object (&self->view);

  G_OBJECT_CLASS (hg_slide_minimap_parent_class)->dispose (object);
}

static void
hg_slide_minimap_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  HgSlideMinimap *self = HG_SLIDE_MINIMAP (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      g_value_set_object (value, self->view);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_slide_minimap_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  HgSlideMinimap *self = HG_SLIDE_MINIMAP (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      hg_slide_minimap_set_view (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_slide_minimap_class_init (HgSlideMinimapClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_slide_minimap_dispose;
  object_class->get_property = hg_slide_minimap_get_property;
  object_class->set_property = hg_slide_minimap_set_property;

  widget_class->measure = hg_slide_minimap_measure;
  widget_class->snapshot = hg_slide_minimap_snapshot;

  properties[PROP_VIEW] =
      g_param_spec_object ("view", NULL, NULL, HG_TYPE_SLIDE_VIEW,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "slideminimap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hg_slide_minimap_init (HgSlideMinimap *self)
{
  GtkGesture *drag = gtk_gesture_drag_new ();

  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "pointer");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), _ ("Overview: click or drag to move the view"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Overview"), -1);
}
