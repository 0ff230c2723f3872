#!/usr/bin/env bash
# The crawler chapter reads real web pages from the source distributions of two PyPI packages
# (gne, newspaper4k). Fetch them once into ~/.cache/kbook/sdists (or $KBOOK_SDIST_DIR); they are
# read from there at run time and never copied into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
dir=$($PY -c 'import os, kbook.data as d; print(os.path.expanduser(os.environ.get(d.SDIST_DIR_VARIABLE) or d.DEFAULT_SDIST_DIR))')
missing=$($PY -c '
import os, sys, kbook.data as d
root = sys.argv[1]
print(" ".join(f"{n}=={v}" for n, v in d.HTML_SDISTS.values() if not os.path.isfile(os.path.join(root, f"{n}-{v}.tar.gz"))))
' "$dir")
[ -z "$missing" ] && exit 0
echo "page-data: downloading the source distributions $missing into $dir"
mkdir -p "$dir"
$PY -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: -d "$dir" $missing 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory." || true; }
