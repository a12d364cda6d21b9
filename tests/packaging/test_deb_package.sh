#!/usr/bin/env bash
# Builds the .deb with CPack, checks what it holds, validates the .desktop entry and the AppStream
# metadata, installs it with dpkg (offline: its Depends are what scripts/install-deps installs),
# launches the installed /usr/bin/knee --screenshot offscreen, checks the PNG, and removes the package.
#   test_deb_package.sh BUILD_DIR VERSION
# Exit 0 pass, 1 fail, 77 skip (not root, no dpkg, or a knee package the test did not install is there).
set -euo pipefail
build=$1
version=$2
app_id=io.github.knee.Knee

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
for tool in dpkg dpkg-deb cpack desktop-file-validate appstreamcli; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps installs it)"
done
if dpkg-query -W -f='${Status}' knee 2>/dev/null | grep -q "install ok installed"; then
  skip "a knee package is installed already; not replacing it"
fi

work=$(mktemp -d)
installed=0
cleanup() {
  if [ "$installed" -eq 1 ]; then dpkg -r knee >/dev/null || echo "warning: dpkg -r knee failed"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== cpack -G DEB"
# Its own package directory, so a concurrent cpack in the same build tree does not race this one.
(cd "$build" && cpack -G DEB -B "$work/cpack" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/cpack/knee_"$version"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { cat "$work/cpack.log"; fail "no knee_${version}_*.deb produced"; }
echo "built $deb ($(stat -c %s "$deb") bytes)"

echo "== package metadata"
dpkg-deb -I "$deb" | sed 's/^/  /'
[ "$(dpkg-deb -f "$deb" Package)" = knee ] || fail "package name is not knee"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version is not $version"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libqt6widgets6 libqt6charts6 libyaml-cpp0.7 libprometheus-cpp-core1.0 qt6-qpa-plugins; do
  grep -q "$dep" <<<"$depends" || fail "Depends lacks $dep: $depends"
done

echo "== package contents"
dpkg-deb -c "$deb" | awk '{print $6}' >"$work/contents"
sed 's/^/  /' "$work/contents"
for f in ./usr/bin/knee ./usr/share/applications/$app_id.desktop ./usr/share/metainfo/$app_id.metainfo.xml \
         ./usr/share/icons/hicolor/scalable/apps/$app_id.svg; do
  grep -qx "$f" "$work/contents" || fail "the package lacks $f"
done
for size in 16 32 48 64 128 256; do
  grep -qx "./usr/share/icons/hicolor/${size}x${size}/apps/$app_id.png" "$work/contents" \
    || fail "the package lacks the ${size}x${size} PNG icon"
done

echo "== validate the .desktop entry and the AppStream metadata (from the package)"
dpkg-deb -x "$deb" "$work/root"
desktop-file-validate "$work/root/usr/share/applications/$app_id.desktop" || fail "desktop-file-validate"
appstreamcli validate --no-net "$work/root/usr/share/metainfo/$app_id.metainfo.xml" || fail "appstreamcli validate"
for size in 16 32 48 64 128 256; do
  png="$work/root/usr/share/icons/hicolor/${size}x${size}/apps/$app_id.png"
  # PNG signature, then the IHDR chunk's width and height (big-endian) at bytes 16..23.
  [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$png is not a PNG"
  w=$(od -An -tu1 -j16 -N4 "$png" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
  h=$(od -An -tu1 -j20 -N4 "$png" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
  [ "$w" = "$size" ] && [ "$h" = "$size" ] || fail "$png is ${w}x${h}, expected ${size}x${size}"
done

echo "== dpkg -i"
dpkg -i "$deb" || fail "dpkg -i (unsatisfied Depends? scripts/install-deps installs them)"
installed=1
dpkg-query -W -f='${Status}\n' knee | grep -q "install ok installed" || fail "knee is not installed after dpkg -i"
[ -x /usr/bin/knee ] || fail "/usr/bin/knee is missing"

echo "== /usr/bin/knee --screenshot (offscreen, in a scratch HOME)"
mkdir -p "$work/home" && chmod 700 "$work/home" # XDG_RUNTIME_DIR must be private
shot="$work/knee-installed.png"
env -i PATH=/usr/bin:/bin HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
    XDG_RUNTIME_DIR="$work/home" QT_QPA_PLATFORM=offscreen \
    timeout 120 /usr/bin/knee --screenshot "$shot" --after 1 || fail "/usr/bin/knee --screenshot exited with $?"
[ -f "$shot" ] || fail "no screenshot written"
bytes=$(stat -c %s "$shot")
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "the screenshot is not a PNG"
w=$(od -An -tu1 -j16 -N4 "$shot" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
h=$(od -An -tu1 -j20 -N4 "$shot" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
echo "screenshot: ${w}x${h}, $bytes bytes"
[ "$bytes" -gt 20000 ] && [ "$w" -ge 400 ] && [ "$h" -ge 300 ] || fail "the screenshot is trivial (${w}x${h}, $bytes bytes)"

echo "== dpkg -r"
dpkg -r knee >/dev/null || fail "dpkg -r knee"
installed=0
[ ! -e /usr/bin/knee ] || fail "/usr/bin/knee is still there after dpkg -r"
echo "PASS"
