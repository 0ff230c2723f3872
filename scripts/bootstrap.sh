#!/usr/bin/env bash
# Create .venv and install requirements.txt into it (called by make when requirements change).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "kbook needs Python >= 3.10")'
if [ ! -x .venv/bin/python ]; then
  # Debian and Ubuntu ship `venv` without ensurepip unless python3-venv is installed; say so
  # instead of leaving a half-made .venv behind.
  if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    echo "bootstrap: \`$PYTHON -m venv\` is unavailable (no ensurepip)." >&2
    echo "  On Debian/Ubuntu install it first:  sudo apt-get install python3-venv  (or python${version}-venv)" >&2
    exit 1
  fi
  "$PYTHON" -m venv .venv || { rm -rf .venv; echo "bootstrap: \`$PYTHON -m venv .venv\` failed" >&2; exit 1; }
fi
start=$SECONDS
echo "bootstrap: installing requirements.txt into .venv (first time: a few minutes)"
# Some machines configure pip with find-links folders that do not exist; pip then prints one
# harmless warning per package. Keep the log readable, keep every other message.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory." || true; }
touch .venv/.requirements-installed
echo "bootstrap: done in $((SECONDS - start)) s"
