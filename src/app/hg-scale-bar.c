/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgScaleBar"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "hg-scale-bar.h"

#define TARGET_LENGTH 110.0
#define PADDING_X 10
#define PADDING_Y 6
#define BAR_HEIGHT 6

struct _HgScaleBar
{
  GtkWidget parent_instance;

  HgSlideView *view;
  PangoLayout *layout;
  char        *label;
  double       length;
};

G_DEFINE_FINAL_TYPE (HgScaleBar, hg_scale_bar, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_VIEW,
  PROP_LABEL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

GtkWidget *
hg_scale_bar_new (void)
{
  return g_object_new (HG_TYPE_SCALE_BAR, NULL);
}

double
hg_scale_bar_pick_length (double microns_per_pixel,
                          double target_pixels)
{
  double target = microns_per_pixel * target_pixels;
  double decade, best = 0, best_error = G_MAXDOUBLE;

  if (!(target > 0) || !isfinite (target))
    return 0;

  decade = pow (10, floor (log10 (target)));
  for (int k = -1; k <= 1; k++)
    for (guint i = 0; i < 3; i++)
      {
        double candidate = (double[]){ 1, 2, 5 }[i] * decade * pow (10, k);
        double error = fabs (log (candidate / target));

        if (error < best_error)
          {
            best = candidate;
            best_error = error;
          }
      }

  return best;
}

static char *
format_length (double microns)
{
  if (microns >= 1000)
    /* Translators: a length in millimetres on the scale bar */
    return g_strdup_printf (_ ("%g mm"), microns / 1000);
  if (microns >= 1)
    /* Translators: a length in micrometres on the scale bar */
    return g_strdup_printf (_ ("%g µm"), microns);
  /* Translators: a length in nanometres on the scale bar */
  return g_strdup_printf (_ ("%g nm"), round (microns * 1000));
}

static void
update (HgScaleBar *self)
{
  HgSlide         *slide = self->view != NULL ? hg_slide_view_get_slide (self->view) : NULL;
  g_autofree char *label = NULL;
  double           mpp = 0, length = 0;

  if (slide != NULL && hg_slide_get_mpp (slide, &mpp, NULL))
    {
      double zoom = hg_viewport_get_zoom (hg_slide_view_get_viewport (self->view));
      double microns_per_pixel = mpp / zoom;
      double microns = hg_scale_bar_pick_length (microns_per_pixel, TARGET_LENGTH);

      if (microns > 0)
        {
          length = microns / microns_per_pixel;
          label = format_length (microns);
        }
    }

  if (g_strcmp0 (label, self->label) != 0)
    {
      g_free (self->label);
      self->label = g_steal_pointer (&label);
      pango_layout_set_text (self->layout, self->label != NULL ? self->label : "", -1);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                      self->label != NULL ? self->label : "", -1);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
    }

  if (fabs (length - self->length) > 0.25)
    {
      self->length = length;
      gtk_widget_queue_resize (GTK_WIDGET (self));
    }
}

const char *
hg_scale_bar_get_label (HgScaleBar *self)
{
  g_return_val_if_fail (HG_IS_SCALE_BAR (self), NULL);

  return self->label;
}

double
hg_scale_bar_get_length (HgScaleBar *self)
{
  g_return_val_if_fail (HG_IS_SCALE_BAR (self), 0);

  return self->length;
}

static void
hg_scale_bar_measure (GtkWidget     *widget,
                      GtkOrientation orientation,
                      int            for_size,
                      int           *minimum,
                      int           *natural,
                      int           *minimum_baseline,
                      int           *natural_baseline)
{
  HgScaleBar *self = HG_SCALE_BAR (widget);
  int         text_width, text_height;

  *minimum = *natural = 0;
  if (self->label == NULL)
    return;

  pango_layout_get_pixel_size (self->layout, &text_width, &text_height);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    *minimum = *natural = (int) ceil (MAX (self->length, text_width)) + 2 * PADDING_X;
  else
    *minimum = *natural = text_height + BAR_HEIGHT + 3 + 2 * PADDING_Y;
}

static void
hg_scale_bar_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  HgScaleBar *self = HG_SCALE_BAR (widget);
  int         width = gtk_widget_get_width (widget);
  int         height = gtk_widget_get_height (widget);
  int         text_width, text_height;
  GdkRGBA     background = { 0, 0, 0, 0.6 };
  GdkRGBA     white = { 1, 1, 1, 1 };
  float       x0 = PADDING_X, x1 = PADDING_X + (float) self->length;
  float       y1 = height - PADDING_Y;

  if (self->label == NULL || width <= 0)
    return;

  gtk_snapshot_push_rounded_clip (snapshot, &(GskRoundedRect){
                                                .bounds = GRAPHENE_RECT_INIT (0, 0, width, height),
                                                .corner = { { 6, 6 }, { 6, 6 }, { 6, 6 }, { 6, 6 } },
                                            });
  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gtk_snapshot_pop (snapshot);

  pango_layout_get_pixel_size (self->layout, &text_width, &text_height);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x0, PADDING_Y));
  gtk_snapshot_append_layout (snapshot, self->layout, &white);
  gtk_snapshot_restore (snapshot);

  /* ├────┤: the bar and its end ticks. */
  gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (x0, y1 - 2, x1 - x0, 2));
  gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (x0, y1 - BAR_HEIGHT, 2, BAR_HEIGHT));
  gtk_snapshot_append_color (snapshot, &white, &GRAPHENE_RECT_INIT (x1 - 2, y1 - BAR_HEIGHT, 2, BAR_HEIGHT));
}

HgSlideView *
hg_scale_bar_get_view (HgScaleBar *self)
{
  g_return_val_if_fail (HG_IS_SCALE_BAR (self), NULL);

  return self->view;
}

void
hg_scale_bar_set_view (HgScaleBar  *self,
                       HgSlideView *view)
{
  g_return_if_fail (HG_IS_SCALE_BAR (self));
  g_return_if_fail (view == NULL || HG_IS_SLIDE_VIEW (view));

  if (self->view == view)
    return;

  if (self->view != NULL)
    g_signal_handlers_disconnect_by_data (self->view, self);

  g_set_object (&self->view, view);

  if (view != NULL)
    {
      g_signal_connect_object (view, "view-changed", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (view, "notify::slide", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
    }

  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEW]);
}

static void
hg_scale_bar_dispose (GObject *object)
{
  HgScaleBar *self = HG_SCALE_BAR (object);

  if (self->view != NULL)
    g_signal_handlers_disconnect_by_data (self->view, self);
  g_clear_object (&self->view);
  g_clear_object (&self->layout);
  g_clear_pointer (&self->label, g_free);

  G_OBJECT_CLASS (hg_scale_bar_parent_class)->dispose (object);
}

static void
hg_scale_bar_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  HgScaleBar *self = HG_SCALE_BAR (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      g_value_set_object (value, self->view);
      break;

    case PROP_LABEL:
      g_value_set_string (value, self->label);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_scale_bar_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  HgScaleBar *self = HG_SCALE_BAR (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      hg_scale_bar_set_view (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_scale_bar_class_init (HgScaleBarClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = hg_scale_bar_dispose;
  object_class->get_property = hg_scale_bar_get_property;
  object_class->set_property = hg_scale_bar_set_property;

  widget_class->measure = hg_scale_bar_measure;
  widget_class->snapshot = hg_scale_bar_snapshot;

  properties[PROP_VIEW] =
      g_param_spec_object ("view", NULL, NULL, HG_TYPE_SLIDE_VIEW,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABEL] =
      g_param_spec_string ("label", NULL, NULL, NULL,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "scalebar");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
hg_scale_bar_init (HgScaleBar *self)
{
  self->layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}
