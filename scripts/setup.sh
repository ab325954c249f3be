#!/usr/bin/env bash
# Installs the Debian 12 packages dynfault needs (only the missing ones), then configures and
# builds. Usage: scripts/setup.sh [cmake --build target ...]   (default: all targets)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ cmake ninja-build pkg-config
  libtorch-dev libyaml-cpp-dev libsqlite3-dev libboost-program-options-dev
  nlohmann-json3-dev libxxhash-dev zlib1g-dev libxgboost-dev doctest-dev
  dataset-fashion-mnist sqlite3
  # The Python recorder's round trip (tests/runner/test_python_recorder.cpp) and the pandas
  # example of docs/export.md (tests/db/test_export_pandas.cpp) run Debian's python3.
  python3-torch python3-pandas
  # scripts/check_style.sh: .clang-format and .clang-tidy (Debian 12: version 14)
  clang-format clang-tidy
  # LibTorch links libblas.so.3; Debian's reference BLAS is ~5x slower than OpenBLAS for the
  # small matrix products of these programs (fashion_mlp clean run: 4.5 s vs 0.8 s, measured).
  libopenblas0-pthread
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset release >/dev/null
if [ $# -gt 0 ]; then
  cmake --build --preset release --parallel "$jobs" --target "$@"
else
  cmake --build --preset release --parallel "$jobs"
fi
