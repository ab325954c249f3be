#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every doctest suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --preset release --output-on-failure
