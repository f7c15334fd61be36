#!/usr/bin/env bash
# One-step set-up for a fresh Debian machine, then either launch the app or run the test suite.
#   bash scripts/setup.sh app    # install everything, open naf-app on the bundled apartment_1
#   bash scripts/setup.sh test   # install everything, run the whole test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"

APT_PACKAGES=(python3 python3-venv python3-dev gcc libportaudio2 libsndfile1 ffmpeg opus-tools sox
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 alsa-utils libasound2-plugins)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: please install as root: ${missing[*]}" >&2; exit 1; fi
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test]"

case "$mode" in
  app)
    shift || true
    exec .venv/bin/naf-app --scene apartment_1 "$@"
    ;;
  test)
    export QT_QPA_PLATFORM=offscreen
    .venv/bin/ruff check .
    .venv/bin/lint-imports
    exec .venv/bin/python -m pytest -q -p no:cacheprovider tests
    ;;
  *)
    echo "usage: bash scripts/setup.sh app|test" >&2; exit 2
    ;;
esac
