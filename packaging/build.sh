#!/usr/bin/env bash
# Build the one-folder desktop bundle "dist/CoRe-BT Viewer/" with PyInstaller.
#
#   packaging/build.sh            # uses .venv/bin/python (PYTHON=... to choose another)
#   nice -n 19 packaging/build.sh # on a shared machine
#
# Needs the project installed with the bundle extra: pip install -e '.[bundle]'.
# Output: dist/CoRe-BT Viewer/corebt-viewer (the app; no arguments = the demo cohort),
# the icon, corebt-viewer.desktop and install-desktop-entry.sh (adds it to the menu).
# Check it: "dist/CoRe-BT Viewer/corebt-viewer" --self-test
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
APP_DIR="$ROOT/dist/CoRe-BT Viewer"
cd "$ROOT"

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: PyInstaller is missing: $PYTHON -m pip install -e '.[bundle]'" >&2
    exit 1
fi
if [ ! -f resources/corebt-viewer.png ]; then
    "$PYTHON" packaging/make_icon.py
fi

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
    packaging/corebt-viewer.spec

cp resources/corebt-viewer.desktop resources/corebt-viewer.png resources/corebt-viewer.svg "$APP_DIR/"
cat > "$APP_DIR/install-desktop-entry.sh" <<'INSTALL'
#!/usr/bin/env bash
# Add CoRe-BT Viewer to the desktop menu of the current user (run from the bundle folder).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
APPS="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
ICONS="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
mkdir -p "$APPS" "$ICONS"
cp "$HERE/corebt-viewer.png" "$ICONS/corebt-viewer.png"
sed -e "s|^Exec=.*|Exec=\"$HERE/corebt-viewer\" %F|" \
    -e "s|^Icon=.*|Icon=$ICONS/corebt-viewer.png|" \
    "$HERE/corebt-viewer.desktop" > "$APPS/corebt-viewer.desktop"
chmod +x "$APPS/corebt-viewer.desktop"
echo "installed $APPS/corebt-viewer.desktop"
INSTALL
chmod +x "$APP_DIR/install-desktop-entry.sh"

echo "built $APP_DIR in $(( $(date +%s) - start )) s"
du -sh "$APP_DIR"
