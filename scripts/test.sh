#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every doctest suite through CTest, then the
# style checks (STYLE.md section 8): clang-format in check mode on every C++ file and clang-tidy
# (.clang-tidy) on every library source, the LibTorch units of runner/ included (those take
# 30-80 s each: a few minutes of the command's time). A finding fails it like a failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --preset release --output-on-failure
scripts/check_style.sh
