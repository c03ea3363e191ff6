#!/usr/bin/env bash
# Fresh machine to first result: install, build, run the default pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/sigx run pipelines/quickstart.toml "$@"
