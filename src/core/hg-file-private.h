/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reading files that users point us at. open() of a named pipe blocks
 * until someone writes to it, a device such as /dev/zero never ends, and
 * a mapped file that another program truncates kills the reader with
 * SIGBUS: so files are opened without blocking, refused unless they are
 * regular files, and read into memory. Messages do not repeat the path;
 * callers put it in front. */

/* Opens path for reading; -1 with HG_ERROR_IO ("it is a folder, not a
 * file", "it is a named pipe (FIFO), not a file", "No such file or
 * directory", …) unless it is a regular file. *size gets its size. */
int hg_file_open_regular (const char *path,
                          gsize      *size,
                          GError    **error);

/* The whole regular file; HG_ERROR_TOO_LARGE when it has more than
 * max_bytes. */
GBytes *hg_file_read (const char *path,
                      gsize       max_bytes,
                      GError    **error);

G_END_DECLS
