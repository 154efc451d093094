#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what Histoguard needs on Debian 12 and configures a build.
#
#   build-aux/setup.sh [--tests] [BUILDDIR]
#
# As root it installs missing packages with apt-get; otherwise it prints
# the exact apt-get line and stops, so nothing is half-done.

set -eu

want_tests=no
builddir=_build
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=yes ;;
    -h|--help)
      sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0 ;;
    -*) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
    *) builddir=$arg ;;
  esac
done

srcdir=$(cd "$(dirname "$0")/.." && pwd)

packages="build-essential meson ninja-build pkg-config gettext
  libglib2.0-dev libgtk-4-dev libadwaita-1-dev libjson-glib-dev
  libopenblas-dev libopenslide-dev libgdk-pixbuf-2.0-dev libcairo2-dev
  libtiff-dev desktop-file-utils appstream-util"
if [ "$want_tests" = yes ]; then
  packages="$packages xvfb xauth dbus-x11 at-spi2-core
    python3-dogtail python3-gi gir1.2-gtk-4.0 imagemagick xdotool"
fi

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
  else
    echo "setup.sh: these Debian packages are missing:$missing" >&2
    echo "setup.sh: install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
  fi
fi

cd "$srcdir"
if [ -d "$builddir" ] && [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir"
else
  meson setup "$builddir"
fi
