#!/usr/bin/env bash
# Retakes docs/dashboard.png: the Ray dashboard of a small sweep while its trials run.
#
#   bash docs/screenshot_dashboard.sh [OUT.png] [PAGE]      # PAGE: actors (default), jobs, overview, cluster
#
# Runs sweep/run.py (smoke profile, 3 rows, seed 1, long enough pretraining to be seen running)
# with its own local cluster, waits for its dashboard URL and for live trial actors, and
# photographs that page with headless Chromium (Debian: `apt-get install -y chromium`).
# Everything it starts is stopped at the end; the sweep itself is thrown away.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/dashboard.png}
PAGE=${2:-actors}
PY=${PY:-.venv/bin/python}
CHROMIUM=${CHROMIUM:-chromium}
command -v "$CHROMIUM" >/dev/null || { echo "no $CHROMIUM: apt-get install -y chromium (or set CHROMIUM=...)" >&2; exit 2; }

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then  # SIGINT: Tune stops the trials and the driver its cluster
    kill -INT -- "-$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export RAY_AUTH_MODE=disabled OMP_NUM_THREADS=1
setsid "$PY" sweep/run.py --space augmentations --profile smoke --rows gaussian,advmask,3kg \
  --tasks sex --fractions 1.0 --seeds 1 --storage "$work/results" --name dashboard-screenshot \
  --checkpoint-every 1000 --set profile.epochs=80 --set profile.patience=1000 >"$work/sweep.txt" 2>&1 &
pid=$!
disown "$pid"  # stopped by cleanup; no job notice from the shell

url=
for _ in $(seq 600); do
  url=$(sed -n 's/^dashboard: //p' "$work/sweep.txt" | head -n1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/sweep.txt" >&2; exit 1; }
  sleep 1
done
[ -n "$url" ] || { echo "no dashboard URL in the sweep's output" >&2; exit 1; }
echo "dashboard: $url"

for _ in $(seq 300); do  # until the trials run as actors
  curl -fsS "$url/api/v0/actors?limit=1000&detail=true" 2>/dev/null | grep -q '"class_name": *"ImplicitFunc".*"state": *"ALIVE"\|"state": *"ALIVE".*"class_name": *"ImplicitFunc"' && break
  sleep 1
done
sleep 3  # let the dashboard's own polling catch up

"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$work/chromium" --hide-scrollbars --virtual-time-budget=15000 \
  --window-size=1400,900 --screenshot="$OUT" "$url/#/$PAGE" 2>"$work/chromium.txt" || { cat "$work/chromium.txt" >&2; exit 1; }
echo "wrote $OUT"
