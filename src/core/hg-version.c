/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "histoguard/hg-version.h"

const char *
hg_version (void)
{
  return PACKAGE_VERSION;
}
