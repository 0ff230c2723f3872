#!/usr/bin/env bash
# Create .venv and install requirements.txt into it (called by make when requirements change).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "kbook needs Python >= 3.10")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
start=$SECONDS
echo "bootstrap: installing requirements.txt into .venv (first time: a few minutes)"
# Some machines configure pip with find-links folders that do not exist; pip then prints one
# harmless warning per package. Keep the log readable, keep every other message.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory." || true; }
touch .venv/.requirements-installed
echo "bootstrap: done in $((SECONDS - start)) s"
