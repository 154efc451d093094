/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The umbrella header of libhistoguard, the UI-free core. */
#pragma once

#include "hg-version.h"
#include "hg-error.h"
#include "hg-pixels.h"
#include "hg-image.h"
#include "hg-slide.h"
#include "hg-tile-cache.h"
#include "hg-data.h"
#include "hg-defense.h"
#include "hg-metrics.h"
#include "hg-splits.h"
#include "hg-patch.h"
#include "hg-dataset.h"
#include "hg-augment.h"
#include "hg-threads.h"
#include "hg-arch.h"
#include "hg-model.h"
#include "hg-optim.h"
#include "hg-train.h"
#include "hg-attack.h"
