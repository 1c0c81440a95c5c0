#!/usr/bin/env bash
# Open an HTML report (from `idk evaluate --report DIR`) in headless Chromium and take a
# screenshot to look at; also check that every embedded figure is a PNG that decodes.
# Needs Debian's chromium (`apt-get install -y chromium`).
# Usage: scripts/check_report_in_browser.sh runs/report [screenshot.png]
set -euo pipefail
dir=${1:?usage: $0 REPORT_DIR [SCREENSHOT]}
shot=${2:-$dir/screenshot.png}
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --hide-scrollbars \
  --window-size=1200,2600 --screenshot="$shot" "file://$(cd "$dir" && pwd)/index.html" 2>/dev/null
"$(dirname "$0")/../.venv/bin/python" - "$dir/index.html" <<'PY'
import base64, io, re, sys
from PIL import Image
page = open(sys.argv[1]).read()
figs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
sizes = [Image.open(io.BytesIO(base64.b64decode(f))).size for f in figs]
print(f"{len(figs)} figures decode: {sizes}")
PY
echo "screenshot: $shot"
