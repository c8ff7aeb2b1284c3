#!/bin/bash
# test-data.sh: checks what Keycall installs for the desktop before it ships:
# the built .desktop and AppStream files pass their validators and carry the
# translations, the schema compiles strictly, every .po in po/LINGUAS is
# complete for the strings the sources hold today, and the icons are the SVG
# GTK expects. Prints TAP (registered in data/meson.build, suite unit).
#
#   tests/test-data.sh BUILT_DESKTOP BUILT_METAINFO DATA_SOURCE_DIR PO_DIR
set -u

DESKTOP=${1:?usage: test-data.sh DESKTOP METAINFO DATA_DIR PO_DIR}
METAINFO=${2:?usage: test-data.sh DESKTOP METAINFO DATA_DIR PO_DIR}
DATA=${3:?usage: test-data.sh DESKTOP METAINFO DATA_DIR PO_DIR}
PO=${4:?usage: test-data.sh DESKTOP METAINFO DATA_DIR PO_DIR}
APP_ID=org.keycall.Keycall
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keycall-data-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
n=0
out=

ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () {
  n=$((n + 1))
  echo "not ok $n - $1"
  printf '%s\n' "$out" | sed 's/^/# /'
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds and prints nothing
# (the validators print warnings even when they exit 0; a warning fails too).
check_quiet () {
  local what=$1
  shift
  if ! command -v "$1" >/dev/null; then
    out="$1 is not installed (see the package list in ./run)"
    not_ok "$what"
    return
  fi
  out=$("$@" 2>&1)
  if [ $? -eq 0 ] && [ -z "$out" ]; then ok "$what"; else not_ok "$what"; fi
}

# expect DESCRIPTION FILE EXTENDED-REGEX: ok when a line of FILE matches.
expect () {
  out="no line of $2 matches: $3"
  if grep -Eq -- "$3" "$2"; then ok "$1"; else not_ok "$1"; fi
}

# The launcher
check_quiet "desktop-file-validate accepts $APP_ID.desktop" desktop-file-validate "$DESKTOP"
expect "the launcher passes a URI to keycall (%u)" "$DESKTOP" '^Exec=keycall %u$'
for scheme in sip sips tel; do
  expect "the launcher handles $scheme: links" "$DESKTOP" \
    "^MimeType=(.*;)?x-scheme-handler/$scheme;"
done
expect "the launcher's icon is $APP_ID" "$DESKTOP" "^Icon=$APP_ID\$"

# AppStream: appstreamcli prints a success line, so only its status counts.
if command -v appstreamcli >/dev/null; then
  out=$(appstreamcli validate --no-net "$METAINFO" 2>&1)
  if [ $? -eq 0 ]; then ok "appstreamcli accepts $APP_ID.metainfo.xml"
  else not_ok "appstreamcli accepts $APP_ID.metainfo.xml"; fi
else
  out="appstreamcli is not installed (package appstream, see ./run)"
  not_ok "appstreamcli accepts $APP_ID.metainfo.xml"
fi
expect "the metainfo launches $APP_ID.desktop" "$METAINFO" \
  "<launchable type=\"desktop-id\">$APP_ID.desktop</launchable>"

check_quiet "glib-compile-schemas --strict accepts the schema" \
  glib-compile-schemas --strict --dry-run "$DATA"

# Translations: each language of LINGUAS is in the merged files, has no
# fuzzy or untranslated message, and covers every string of POTFILES.in as
# the sources are now (a fresh extraction, the glib preset's keywords).
langs=$(sed -e 's/#.*//' "$PO/LINGUAS" | tr -s ' \t' '\n\n' | sed '/^$/d')
out="po/LINGUAS lists no language"
if [ -n "$langs" ]; then ok "po/LINGUAS lists languages: $(echo $langs)"
else not_ok "po/LINGUAS lists languages"; fi

srcroot=$(cd "$PO/.." && pwd)
out=$(cd "$srcroot" && xgettext --from-code=UTF-8 --add-comments \
        --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
        --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
        --files-from=po/POTFILES.in --output="$WORK/keycall.pot" 2>&1)
if [ $? -eq 0 ] && [ -s "$WORK/keycall.pot" ]; then
  ok "xgettext extracts the strings of po/POTFILES.in"
else
  not_ok "xgettext extracts the strings of po/POTFILES.in"
fi
for file in "$APP_ID.desktop.in" "$APP_ID.metainfo.xml.in"; do
  expect "po/POTFILES.in lists data/$file" "$PO/POTFILES.in" "^data/$file\$"
done

for lang in $langs; do
  po=$PO/$lang.po
  # msgfmt --statistics: "N translated messages[, N fuzzy translations][, N untranslated messages]."
  out=$(msgfmt --check --statistics --output-file=/dev/null "$po" 2>&1)
  if [ $? -eq 0 ] && [[ "$out" =~ ^[1-9][0-9]*\ translated\ messages?\.$ ]]; then
    ok "$lang.po: $out"
  else
    not_ok "$lang.po is valid and fully translated"
  fi
  out=$(msgcmp --no-fuzzy-matching "$po" "$WORK/keycall.pot" 2>&1)
  if [ $? -eq 0 ]; then ok "$lang.po translates every string the sources hold"
  else not_ok "$lang.po translates every string the sources hold"; fi
  expect "the launcher's comment is translated to $lang" "$DESKTOP" "^Comment\\[$lang\\]=."
  expect "the metainfo summary is translated to $lang" "$METAINFO" \
    "<summary xml:lang=\"$lang\">[^<]"
done

# Icons: well-formed SVG of the size GNOME expects; the symbolic one uses
# only the elements GTK recolours (path, rect, circle) and no strokes.
svg_check () {
  python3 - "$@" <<'EOF'
import sys
import xml.etree.ElementTree as ET

path, size, symbolic = sys.argv[1], sys.argv[2], sys.argv[3] == "symbolic"
ns = "{http://www.w3.org/2000/svg}"
try:
    root = ET.parse(path).getroot()
except (OSError, ET.ParseError) as e:
    sys.exit(f"not a readable XML file: {e}")
if root.tag != ns + "svg":
    sys.exit(f"the root element is {root.tag}, not svg")
if root.get("viewBox") != f"0 0 {size} {size}":
    sys.exit(f"viewBox is {root.get('viewBox')!r}, not '0 0 {size} {size}'")
if symbolic:
    for el in root.iter():
        tag = el.tag.replace(ns, "")
        if tag not in ("svg", "g", "path", "rect", "circle"):
            sys.exit(f"<{tag}> is not recoloured by GTK")
        if el.get("stroke") not in (None, "none") or "stroke" in el.get("style", ""):
            sys.exit(f"<{tag}> has a stroke; symbolic icons are fills only")
EOF
}
icons=$DATA/icons/hicolor
for icon in "scalable/apps/$APP_ID.svg 128 full" "symbolic/apps/$APP_ID-symbolic.svg 16 symbolic"; do
  set -- $icon
  out=$(svg_check "$icons/$1" "$2" "$3" 2>&1)
  if [ $? -eq 0 ]; then ok "icon $1 is a ${2}×$2 SVG"; else not_ok "icon $1 is a ${2}×$2 SVG"; fi
done

echo "1..$n"
