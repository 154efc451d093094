/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* What part of a slide is shown: the level-0 point at the centre of the
 * view and the zoom (view pixels per level-0 pixel). Kept apart from the
 * widget so that several views can share one and move together. The
 * centre stays on the slide and the zoom within its range. */

#define HG_TYPE_VIEWPORT (hg_viewport_get_type ())

G_DECLARE_FINAL_TYPE (HgViewport, hg_viewport, HG, VIEWPORT, GObject)

HgViewport *hg_viewport_new (void);
double      hg_viewport_get_center_x (HgViewport *self);
double      hg_viewport_get_center_y (HgViewport *self);
double      hg_viewport_get_zoom (HgViewport *self);
/* Moves and zooms at once: one ::changed. */
void hg_viewport_set (HgViewport *self,
                      double      center_x,
                      double      center_y,
                      double      zoom);
void hg_viewport_set_center (HgViewport *self,
                             double      center_x,
                             double      center_y);
void hg_viewport_set_zoom (HgViewport *self,
                           double      zoom);
/* The slide's level-0 size: the centre is kept within it. */
void   hg_viewport_set_bounds (HgViewport *self,
                               double      width,
                               double      height);
void   hg_viewport_get_bounds (HgViewport *self,
                               double     *width,
                               double     *height);
void   hg_viewport_set_zoom_range (HgViewport *self,
                                   double      min_zoom,
                                   double      max_zoom);
double hg_viewport_get_min_zoom (HgViewport *self);
double hg_viewport_get_max_zoom (HgViewport *self);

G_END_DECLS
