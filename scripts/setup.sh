#!/usr/bin/env bash
# One idempotent setup: a virtualenv with the project and its test tools,
# plus Helm 3 and Helm 4 under .tools/bin, and the real lmcache CLI parser under
# .tools/lmcache-cli (scripts/install-real-cli.sh), and promtool/prometheus for the
# monitoring tests (scripts/install-prometheus.sh). Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
bash scripts/install-helm.sh
bash scripts/install-prometheus.sh
bash scripts/install-real-cli.sh
bash scripts/install-checkov.sh
