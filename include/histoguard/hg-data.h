/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Finds a file or folder that ships in Histoguard's data/ (the demo slide,
 * models): first under $HISTOGUARD_DATADIR, then where `ninja install` put
 * it (PKGDATADIR), then in the source tree, so an uninstalled build runs
 * as is. Returns NULL when none of them has it. */
char *hg_data_find (const char *relative_path);

/* The bundled demo slide: one IDC patient's patches (data/demo/). */
#define HG_DATA_DEMO_SLIDE "demo/idc-8863"

G_END_DECLS
