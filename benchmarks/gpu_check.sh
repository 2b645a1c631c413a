#!/usr/bin/env bash
# The GPU check from a fresh copy of the repository (docs/benchmarks.md):
#   bash benchmarks/gpu_check.sh [--wheels DIR] [--official PATH] [...]   # options: python -m benchmarks.gpu_check --help
# PYTHON picks the interpreter (default: python3, else python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
exec "$PYTHON" -m benchmarks.gpu_check "$@"
