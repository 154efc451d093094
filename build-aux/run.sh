#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds Histoguard and runs it from the build
# tree, on the demo slide unless other arguments are given.
#
#   build-aux/run.sh [ARGS…]

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=_build

"$srcdir/build-aux/setup.sh" "$builddir"
cd "$srcdir"
ninja -C "$builddir"

# Uninstalled, the app finds its schema here; models and the demo slide
# are read from data/ in the source tree.
export GSETTINGS_SCHEMA_DIR="$srcdir/$builddir/data${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}"
export HISTOGUARD_LOCALEDIR="$srcdir/$builddir/po"
if [ $# -eq 0 ]; then
  set -- --demo
fi
exec "$builddir/src/app/histoguard" "$@"
