/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* Everything known about a slide: file, size, resolution, pyramid levels,
 * ground truth and every raw property, searchable. */

#define HG_TYPE_PROPERTIES_WINDOW (hg_properties_window_get_type ())

G_DECLARE_FINAL_TYPE (HgPropertiesWindow, hg_properties_window, HG, PROPERTIES_WINDOW, AdwPreferencesWindow)

HgPropertiesWindow *hg_properties_window_new (HgSlide *slide);
HgSlide            *hg_properties_window_get_slide (HgPropertiesWindow *self);

G_END_DECLS
