#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what Histoguard needs on Debian 12 and configures a build.
#
#   build-aux/setup.sh [--tests] [--fuzz] [--valgrind] [BUILDDIR]
#
# --tests adds what the test suite needs (Xvfb, dogtail…); --fuzz clang and
# its sanitizer and libFuzzer runtimes, and configures BUILDDIR as a fuzzing
# build (CC=clang, -Dfuzzing=true, ASan + UBSan); --valgrind adds valgrind.
# As root it installs missing packages with apt-get; otherwise it prints
# the exact apt-get line and stops, so nothing is half-done.

set -eu

want_tests=no
want_fuzz=no
want_valgrind=no
builddir=_build
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=yes ;;
    --fuzz) want_fuzz=yes ;;
    --valgrind) want_valgrind=yes ;;
    -h|--help)
      sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
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
    python3-dogtail python3-gi gir1.2-gtk-4.0 imagemagick xdotool locales"
fi
if [ "$want_fuzz" = yes ]; then
  # libclang-rt-14-dev: ASan, UBSan and libFuzzer; llvm: llvm-symbolizer,
  # so that sanitizer reports name files and lines.
  packages="$packages clang libclang-rt-14-dev llvm"
fi
if [ "$want_valgrind" = yes ]; then
  packages="$packages valgrind"
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
set --
if [ "$want_fuzz" = yes ]; then
  export CC=clang
  set -- -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false
fi
if [ -d "$builddir" ] && [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" "$@"
else
  meson setup "$builddir" "$@"
fi
