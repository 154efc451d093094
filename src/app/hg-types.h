/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Forward declarations, so headers can name each other's types. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _HgSlideOverlay HgSlideOverlay;
typedef struct _HgSlidePage    HgSlidePage;
typedef struct _HgSlideView    HgSlideView;
typedef struct _HgViewport     HgViewport;
typedef struct _HgWindow       HgWindow;

G_END_DECLS
