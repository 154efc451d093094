/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "histoguard/hg-error.h"

G_DEFINE_QUARK (hg - error - quark, hg_error)
