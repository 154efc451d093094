/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

#define HG_TYPE_APPLICATION (hg_application_get_type ())

G_DECLARE_FINAL_TYPE (HgApplication, hg_application, HG, APPLICATION, AdwApplication)

HgApplication *hg_application_new (void);
GSettings     *hg_application_get_settings (HgApplication *self);
/* Decoded tiles of every window, within the "tile-cache-mib" budget. */
HgTileCache *hg_application_get_tile_cache (HgApplication *self);

G_END_DECLS
