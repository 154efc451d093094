/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gdk/gdk.h>

#include "histoguard/histoguard.h"

G_BEGIN_DECLS

/* How the app words and shows what a slide is, the same everywhere. */

/* "Aperio SVS", "Tiled TIFF", "IDC patch folder", "PNG image"… */
char *hg_slide_text_format (HgSlide *slide);
/* "2,220 × 2,967 px" */
char *hg_slide_text_dimensions (gint64 width,
                                gint64 height);
/* "0.499 µm per pixel · 20× objective", or NULL when unknown. */
char *hg_slide_text_resolution (HgSlide *slide);
/* "5 levels, down to 1/16" */
char *hg_slide_text_levels (HgSlide *slide);
/* "979 patches: 207 IDC, 772 non-IDC", or NULL without ground truth. */
char *hg_slide_text_patches (HgSlide *slide);
/* "Label", "Macro", "Thumbnail" or the name as given. */
const char *hg_slide_text_associated (const char *name);
/* A window subtitle: format and size. */
char *hg_slide_text_summary (HgSlide *slide);
/* The start of an export's file name: the slide's name without its
 * extension ("CMU-1" for CMU-1.svs; a patch folder's name as it is). */
char *hg_slide_text_file_stem (HgSlide *slide);

/* An opaque texture of an HgImage, transparent areas white (empty glass). */
GdkTexture *hg_texture_new_for_image (HgImage *image);

G_END_DECLS
