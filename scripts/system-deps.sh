#!/usr/bin/env bash
# The Debian packages `make test` needs: a CJK font for figure labels, Fashion-MNIST offline, and
# Chromium for the browser check. Installed with apt-get when running as root; otherwise we say
# exactly what to run. (`make test-py` needs none of them.)
set -euo pipefail
missing=()
fc-list 2>/dev/null | grep -qi "WenQuanYi Micro Hei" || [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
# the names scripts/browser_check.py looks for
browser=""
for name in chromium chromium-browser google-chrome; do
  command -v "$name" >/dev/null 2>&1 && { browser=$name; break; }
done
[ -n "$browser" ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "system-deps: missing Debian packages: ${missing[*]}" >&2
  echo "  install them first:  sudo apt-get install ${missing[*]}" >&2
  echo "  (or run \`make test-py\`: the pytest part of \`make test\`, which needs none of them)" >&2
  exit 1
fi
