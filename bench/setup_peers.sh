#!/usr/bin/env bash
# Create the separate venv that bench/grid_vs_peers.py uses for the peer
# systems (Celery with a Redis broker, and Ray). They never enter the
# project's own environment.
#
#   bash bench/setup_peers.sh [VENV]      # default: bench/.venv
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet "celery[redis]>=5.3" "redis>=5" "ray>=2.9"
"$venv/bin/python" -c "import celery, redis, ray; print('peers ready:', 'celery', celery.__version__, 'ray', ray.__version__)"
