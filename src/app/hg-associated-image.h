/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* One associated image of a slide (label, macro…) with its caption:
 * a spinner until set_image() or set_error() says how it went. */

#define HG_TYPE_ASSOCIATED_IMAGE (hg_associated_image_get_type ())

G_DECLARE_FINAL_TYPE (HgAssociatedImage, hg_associated_image, HG, ASSOCIATED_IMAGE, GtkWidget)

GtkWidget  *hg_associated_image_new (const char *name);
const char *hg_associated_image_get_name (HgAssociatedImage *self);
void        hg_associated_image_set_image (HgAssociatedImage *self,
                                           HgImage           *image);
void        hg_associated_image_set_error (HgAssociatedImage *self,
                                           const char        *message);

G_END_DECLS
