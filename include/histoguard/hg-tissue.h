/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "hg-image.h"
#include "hg-slide.h"

G_BEGIN_DECLS

/* Where a slide has tissue: a mask over a small picture of the whole slide.
 *
 * H&E-stained tissue is coloured and empty glass is grey-white, so the
 * mask thresholds the HSV saturation of each pixel with Otsu's method
 * (the threshold that best separates the two modes of the histogram),
 * kept within [HG_TISSUE_MIN_THRESHOLD, HG_TISSUE_MAX_THRESHOLD] so that a
 * slide of nearly all glass or nearly all tissue is not split down the
 * middle of one mode. Transparent pixels (outside the scanned area) and
 * near-black ones (slide edges, dirt) are never tissue. */

#define HG_TISSUE_MIN_THRESHOLD 12 /* saturation, of 255 */
#define HG_TISSUE_MAX_THRESHOLD 30
#define HG_TISSUE_MIN_VALUE 24 /* darker pixels are not tissue */
/* The picture the mask is computed on, at most this many pixels a side. */
#define HG_TISSUE_MASK_SIZE 2048

typedef struct _HgTissueMask HgTissueMask;

/* Otsu's threshold of a 256-bin histogram: values above it are the
 * brighter class. 0 for an empty histogram. */
int hg_tissue_otsu_threshold (const guint64 histogram[256]);

/* The mask of slide, from its thumbnail of at most max_size pixels a side
 * (0: HG_TISSUE_MASK_SIZE). */
HgTissueMask *hg_tissue_mask_new (HgSlide *slide,
                                  int      max_size,
                                  GError **error);
/* The mask of an image that shows a slide of slide_width × slide_height
 * level-0 pixels. */
HgTissueMask *hg_tissue_mask_new_for_image (const HgImage *image,
                                            double         slide_width,
                                            double         slide_height);
void          hg_tissue_mask_free (HgTissueMask *mask);

int hg_tissue_mask_get_threshold (HgTissueMask *mask);
/* The mask itself: width × height bytes, 1 for tissue. */
const guint8 *hg_tissue_mask_get_data (HgTissueMask *mask,
                                       int          *width,
                                       int          *height);
/* The fraction of the level-0 rectangle that is tissue; the part outside
 * the slide counts as glass. */
double hg_tissue_mask_get_fraction (HgTissueMask *mask,
                                    double        x,
                                    double        y,
                                    double        width,
                                    double        height);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (HgTissueMask, hg_tissue_mask_free)

G_END_DECLS
