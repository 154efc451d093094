#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Retakes data/screenshots/main-window.png, heatmap.png and
# tile-inspector.png from the running app on the demo slide with the
# shipped models, under Xvfb:
#
#   xvfb-run -a -s '-screen 0 1280x800x24' build-aux/take-screenshots.sh [BUILDDIR]
#
# Needs xdotool and ImageMagick's import. The pointer positions assume the
# 1280×800 screen and the demo slide fitted in the window. Look at the
# results before committing them.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-_build}
cd "$srcdir"
for tool in xdotool import; do
  command -v $tool >/dev/null || { echo "take-screenshots.sh: $tool is missing" >&2; exit 1; }
done
export GSETTINGS_SCHEMA_DIR="$srcdir/$builddir/data" GSETTINGS_BACKEND=memory
export HISTOGUARD_LOCALEDIR="$srcdir/$builddir/po" GSK_RENDERER=cairo LC_ALL=C.UTF-8
"$builddir/src/app/histoguard" --demo &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 10
wid=$(xdotool search --onlyvisible --name idc-8863 | head -n 1)
xdotool windowfocus "$wid"
# The viewer at 1100×720, zoomed in three steps, the pointer on tissue.
xdotool windowsize "$wid" 1100 720
sleep 2
for step in 1 2 3; do
  xdotool key ctrl+plus
  sleep 1
done
sleep 2
xdotool mousemove 300 330
sleep 2
import -window root -crop 1100x720+0+0 data/screenshots/main-window.png
xdotool windowsize "$wid" 1280 800
sleep 2
xdotool key ctrl+0
sleep 2
# The Predictions panel (the heatmap runs), then H and G as a user would.
xdotool mousemove 1008 80 click 1
sleep 6
xdotool key h
sleep 1
xdotool key g
sleep 3
xdotool mousemove 420 400
sleep 2
import -window root -crop 1280x800+0+0 data/screenshots/heatmap.png
# A tile in the tumour: the inspector, with Grad-CAM.
xdotool mousemove 436 413 click 1
sleep 4
xdotool mousemove 1147 593 click 1
sleep 3
xdotool mousemove 450 430
sleep 1
import -window root -crop 1280x800+0+0 data/screenshots/tile-inspector.png
echo "take-screenshots.sh: wrote data/screenshots/main-window.png, heatmap.png and tile-inspector.png"
