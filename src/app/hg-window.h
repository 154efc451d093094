/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "hg-application.h"
#include "hg-explorer.h"
#include "hg-slide-page.h"

G_BEGIN_DECLS

#define HG_TYPE_WINDOW (hg_window_get_type ())

G_DECLARE_FINAL_TYPE (HgWindow, hg_window, HG, WINDOW, AdwApplicationWindow)

HgWindow *hg_window_new (HgApplication *application);
void      hg_window_open (HgWindow *self,
                          GFile    *file);
void      hg_window_open_demo (HgWindow *self);
void      hg_window_show_toast (HgWindow   *self,
                                const char *message);
/* The slide shown, NULL on the empty page. */
HgSlide     *hg_window_get_slide (HgWindow *self);
HgSlidePage *hg_window_get_slide_page (HgWindow *self);
/* Whether a slide is being opened. */
gboolean hg_window_get_busy (HgWindow *self);

/* The live adversarial explorer of the window's slide page. */
HgExplorer *hg_window_get_explorer (HgWindow *self);

G_END_DECLS
