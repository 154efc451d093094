/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* json-glib parses recursively: refuse deeply nested input before it
 * reaches the parser, so a hostile file cannot exhaust the stack. */
#define HG_JSON_MAX_DEPTH 32

gboolean hg_json_check_depth (const char *data,
                              gsize       length,
                              const char *what,
                              GError    **error);
/* Parses data (length bytes, need not be NUL-terminated) into its root. */
JsonNode *hg_json_parse (const char *data,
                         gsize       length,
                         const char *what,
                         GError    **error);
char     *hg_json_to_string (JsonNode *node);

G_END_DECLS
