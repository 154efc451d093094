#!/bin/sh
# Fails when a file with translatable strings is missing from po/POTFILES,
# or when POTFILES names a file that does not exist.
set -eu
top=${1:-$(dirname "$0")/..}
cd "$top"

status=0
listed=$(grep -v '^#' po/POTFILES | sed '/^$/d')

for f in $listed; do
  if [ ! -f "$f" ]; then
    echo "po/POTFILES lists $f, which does not exist"
    status=1
  fi
done

candidates=$( (grep -rlE '(^|[^A-Za-z0-9_])(_|N_|C_|NC_|g_dngettext|ngettext)[[:space:]]*\(' src --include='*.c' || true;
               grep -rl 'translatable="yes"' ui --include='*.ui' || true;
               ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml 2>/dev/null || true) | sort -u)

for f in $candidates; do
  if ! printf '%s\n' "$listed" | grep -qx "$f"; then
    echo "$f has translatable strings but is missing from po/POTFILES"
    status=1
  fi
done

[ $status -eq 0 ] && echo "po/POTFILES is complete ($(printf '%s\n' "$listed" | wc -l) files)"
exit $status
