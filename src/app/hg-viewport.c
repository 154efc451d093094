/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "HgViewport"

#include "config.h"

#include <math.h>

#include "hg-viewport.h"

struct _HgViewport
{
  GObject parent_instance;

  double center_x;
  double center_y;
  double zoom;
  double width;
  double height;
  double min_zoom;
  double max_zoom;
};

G_DEFINE_FINAL_TYPE (HgViewport, hg_viewport, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CENTER_X,
  PROP_CENTER_Y,
  PROP_ZOOM,
  PROP_MIN_ZOOM,
  PROP_MAX_ZOOM,
  N_PROPS
};

enum
{
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint       signals[N_SIGNALS];

HgViewport *
hg_viewport_new (void)
{
  return g_object_new (HG_TYPE_VIEWPORT, NULL);
}

double
hg_viewport_get_center_x (HgViewport *self)
{
  g_return_val_if_fail (HG_IS_VIEWPORT (self), 0);

  return self->center_x;
}

double
hg_viewport_get_center_y (HgViewport *self)
{
  g_return_val_if_fail (HG_IS_VIEWPORT (self), 0);

  return self->center_y;
}

double
hg_viewport_get_zoom (HgViewport *self)
{
  g_return_val_if_fail (HG_IS_VIEWPORT (self), 1);

  return self->zoom;
}

double
hg_viewport_get_min_zoom (HgViewport *self)
{
  g_return_val_if_fail (HG_IS_VIEWPORT (self), 0);

  return self->min_zoom;
}

double
hg_viewport_get_max_zoom (HgViewport *self)
{
  g_return_val_if_fail (HG_IS_VIEWPORT (self), 0);

  return self->max_zoom;
}

void
hg_viewport_get_bounds (HgViewport *self,
                        double     *width,
                        double     *height)
{
  g_return_if_fail (HG_IS_VIEWPORT (self));

  if (width != NULL)
    *width = self->width;
  if (height != NULL)
    *height = self->height;
}

void
hg_viewport_set (HgViewport *self,
                 double      center_x,
                 double      center_y,
                 double      zoom)
{
  gboolean moved_x, moved_y, zoomed;

  g_return_if_fail (HG_IS_VIEWPORT (self));

  if (!isfinite (center_x) || !isfinite (center_y) || !isfinite (zoom) || zoom <= 0)
    return;

  center_x = CLAMP (center_x, 0, self->width);
  center_y = CLAMP (center_y, 0, self->height);
  zoom = CLAMP (zoom, self->min_zoom, self->max_zoom);

  moved_x = center_x != self->center_x;
  moved_y = center_y != self->center_y;
  zoomed = zoom != self->zoom;
  if (!moved_x && !moved_y && !zoomed)
    return;

  self->center_x = center_x;
  self->center_y = center_y;
  self->zoom = zoom;

  g_object_freeze_notify (G_OBJECT (self));
  if (moved_x)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CENTER_X]);
  if (moved_y)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CENTER_Y]);
  if (zoomed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, signals[CHANGED], 0);
}

void
hg_viewport_set_center (HgViewport *self,
                        double      center_x,
                        double      center_y)
{
  g_return_if_fail (HG_IS_VIEWPORT (self));

  hg_viewport_set (self, center_x, center_y, self->zoom);
}

void
hg_viewport_set_zoom (HgViewport *self,
                      double      zoom)
{
  g_return_if_fail (HG_IS_VIEWPORT (self));

  hg_viewport_set (self, self->center_x, self->center_y, zoom);
}

void
hg_viewport_set_bounds (HgViewport *self,
                        double      width,
                        double      height)
{
  g_return_if_fail (HG_IS_VIEWPORT (self));
  g_return_if_fail (width >= 0 && height >= 0);

  self->width = width;
  self->height = height;
  hg_viewport_set (self, self->center_x, self->center_y, self->zoom);
}

void
hg_viewport_set_zoom_range (HgViewport *self,
                            double      min_zoom,
                            double      max_zoom)
{
  g_return_if_fail (HG_IS_VIEWPORT (self));
  g_return_if_fail (min_zoom > 0 && min_zoom <= max_zoom);

  g_object_freeze_notify (G_OBJECT (self));
  if (self->min_zoom != min_zoom)
    {
      self->min_zoom = min_zoom;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIN_ZOOM]);
    }
  if (self->max_zoom != max_zoom)
    {
      self->max_zoom = max_zoom;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ZOOM]);
    }
  hg_viewport_set (self, self->center_x, self->center_y, self->zoom);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
hg_viewport_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  HgViewport *self = HG_VIEWPORT (object);

  switch (prop_id)
    {
    case PROP_CENTER_X:
      g_value_set_double (value, self->center_x);
      break;

    case PROP_CENTER_Y:
      g_value_set_double (value, self->center_y);
      break;

    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;

    case PROP_MIN_ZOOM:
      g_value_set_double (value, self->min_zoom);
      break;

    case PROP_MAX_ZOOM:
      g_value_set_double (value, self->max_zoom);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_viewport_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  HgViewport *self = HG_VIEWPORT (object);

  switch (prop_id)
    {
    case PROP_CENTER_X:
      hg_viewport_set (self, g_value_get_double (value), self->center_y, self->zoom);
      break;

    case PROP_CENTER_Y:
      hg_viewport_set (self, self->center_x, g_value_get_double (value), self->zoom);
      break;

    case PROP_ZOOM:
      hg_viewport_set (self, self->center_x, self->center_y, g_value_get_double (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
hg_viewport_class_init (HgViewportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = hg_viewport_get_property;
  object_class->set_property = hg_viewport_set_property;

  properties[PROP_CENTER_X] =
      g_param_spec_double ("center-x", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CENTER_Y] =
      g_param_spec_double ("center-y", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
      g_param_spec_double ("zoom", NULL, NULL, G_MINDOUBLE, G_MAXDOUBLE, 1,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MIN_ZOOM] =
      g_param_spec_double ("min-zoom", NULL, NULL, G_MINDOUBLE, G_MAXDOUBLE, 1e-6,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_ZOOM] =
      g_param_spec_double ("max-zoom", NULL, NULL, G_MINDOUBLE, G_MAXDOUBLE, 1e6,
                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Once per change of centre and/or zoom, after the notifications. */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
hg_viewport_init (HgViewport *self)
{
  self->zoom = 1;
  self->min_zoom = 1e-6;
  self->max_zoom = 1e6;
}
