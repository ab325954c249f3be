#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every doctest suite through CTest, then the
# style checks (STYLE.md section 8): clang-format in check mode on every C++ file and clang-tidy
# (.clang-tidy) on the libraries' sources. A finding fails the command like a failing test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --preset release --output-on-failure
scripts/check_style.sh
