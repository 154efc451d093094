#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what is missing, builds Histoguard and runs the whole test suite.
#
#   build-aux/test.sh [BUILDDIR] [-- MESON-TEST-ARGS…]
#
# GUI tests bring up their own Xvfb and session bus: no display is needed.

set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=_build
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  builddir=$1
  shift
fi
[ "${1:-}" = "--" ] && shift

"$srcdir/build-aux/setup.sh" --tests "$builddir"
cd "$srcdir"
ninja -C "$builddir"
meson test -C "$builddir" --print-errorlogs "$@"
