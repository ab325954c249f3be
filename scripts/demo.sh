#!/usr/bin/env bash
# Installs what is missing, builds dynfault and runs the main job: the quick campaign -> labels ->
# features -> evaluation -> report, into ./dynfault.db (resumes if it exists).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dynfault
exec build/release/cli/dynfault demo --db "${DYNFAULT_DB:-dynfault.db}" "$@"
