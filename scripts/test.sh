#!/usr/bin/env bash
# The checks of `make test` (all) and `make test-py` (`scripts/test.sh py`: pytest under both
# backends only, no Debian packages, no notebooks), in order, with the time each step took.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
MODE=${1:-all}
case "$MODE" in all|py) ;; *) echo "usage: scripts/test.sh [all|py]" >&2; exit 2 ;; esac
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0 PYTHONHASHSEED=0 MPLBACKEND=Agg
JOBS=${KBOOK_TEST_JOBS:-2}
summary=()
failed=0
step() {  # step NAME COMMAND...
  local name=$1; shift
  echo; echo "==> $name"
  local start=$SECONDS
  "$@"; local status=$?
  local took=$((SECONDS - start))
  summary+=("$(printf '%-56s %4d s  %s' "$name" "$took" "$([ $status -eq 0 ] && echo ok || echo FAILED)")")
  [ $status -eq 0 ] || failed=1
}
total_start=$SECONDS
# tests/conftest.py marks `keras` every test that touches Keras (no hand-placed markers needed)
step "1a. pytest + doctests, TensorFlow backend" \
  env KERAS_BACKEND=tensorflow $PY -m pytest -q -n "$JOBS" -p no:cacheprovider tests src/kbook --doctest-modules
step "1b. pytest + doctests that use Keras, JAX backend" \
  env KERAS_BACKEND=jax JAX_PLATFORMS=cpu $PY -m pytest -q -n "$JOBS" -p no:cacheprovider -m keras tests src/kbook --doctest-modules
if [ "$MODE" = all ]; then
  step "2.  committed notebook outputs (kbook.book check)" \
    $PY -m kbook.book check
  step "3.  notebooks at smoke scale (nbmake)" \
    env KBOOK_SCALE=smoke $PY -m pytest -q -n "$JOBS" -p no:cacheprovider --durations=0 --nbmake --nbmake-timeout=300 notebooks
  step "4.  strict site build (jupyter-book -W -n)" \
    .venv/bin/jupyter-book build . --all -W -n --keep-going
  step "5.  browser check (headless Chromium)" \
    $PY scripts/browser_check.py _build/html
  step "6.  the wheel, installed and used outside the repository" \
    $PY scripts/wheel_check.py
fi
echo; echo "==> summary"
printf '%s\n' "${summary[@]}"
printf '%-56s %4d s\n' "total" "$((SECONDS - total_start))"
exit $failed
