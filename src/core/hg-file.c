/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "histoguard/hg-error.h"

#include "hg-file-private.h"

static const char *
describe_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return _ ("it is a folder, not a file");
  if (S_ISFIFO (mode))
    return _ ("it is a named pipe (FIFO), not a file");
  if (S_ISSOCK (mode))
    return _ ("it is a socket, not a file");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _ ("it is a device, not a file");
  return _ ("it is not a regular file");
}

int
hg_file_open_regular (const char *path,
                      gsize      *size,
                      GError    **error)
{
  struct stat st;
  int         fd;

  /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer;
   * it changes nothing for the regular files we go on to read. */
  fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, g_strerror (saved));
      return -1;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved = errno;

      close (fd);
      g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, g_strerror (saved));
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, describe_type (st.st_mode));
      return -1;
    }
  if (size != NULL)
    *size = (gsize) st.st_size;
  return fd;
}

GBytes *
hg_file_read (const char *path,
              gsize       max_bytes,
              GError    **error)
{
  g_autofree guint8 *data = NULL;
  gsize              size = 0, length = 0;
  int                fd = hg_file_open_regular (path, &size, error);

  if (fd < 0)
    return NULL;
  if (size > max_bytes)
    {
      close (fd);
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("the file is %zu bytes, more than the limit of %zu"),
                   size, max_bytes);
      return NULL;
    }

  /* The size may change while we read (another program writing): read
   * until end of file, within the limit, whatever fstat said. */
  data = g_try_malloc (MAX (size, 1));
  if (data == NULL)
    {
      close (fd);
      g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                   _ ("not enough memory to read %zu bytes"), size);
      return NULL;
    }
  for (;;)
    {
      gssize n;

      if (length == size)
        {
          guint8 probe;

          /* At the size fstat gave: check for more before growing. */
          n = read (fd, &probe, 1);
          if (n == 1)
            {
              if (size >= max_bytes)
                {
                  close (fd);
                  g_set_error (error, HG_ERROR, HG_ERROR_TOO_LARGE,
                               _ ("the file grew past the limit of %zu bytes while it was read"),
                               max_bytes);
                  return NULL;
                }
              size = MIN (max_bytes, MAX (2 * size, 4096));
              data = g_realloc (data, size);
              data[length++] = probe;
              continue;
            }
        }
      else
        n = read (fd, data + length, size - length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          close (fd);
          g_set_error_literal (error, HG_ERROR, HG_ERROR_IO, g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      length += (gsize) n;
    }
  close (fd);

  return g_bytes_new_take (g_steal_pointer (&data), length);
}
