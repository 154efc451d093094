/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define HG_TYPE_PREFERENCES_WINDOW (hg_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (HgPreferencesWindow, hg_preferences_window, HG, PREFERENCES_WINDOW, AdwPreferencesWindow)

HgPreferencesWindow *hg_preferences_window_new (GSettings *settings);

G_END_DECLS
