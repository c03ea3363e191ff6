#!/usr/bin/env bash
# What Python costs around sigx (bench/python_bench.py): `import sigx`, Model.apply against
# `sigx apply`'s compute on 60 s at 16 kHz, and a Python streaming plugin's overhead per
# block. Run on a quiet machine: nothing else busy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py build "$work"
