#!/usr/bin/env bash
# Installs the real lmcache 0.5.6 command-line parser into .tools/lmcache-cli, so tests can
# feed every rendered `lmcache server` / `lmcache coordinator` command line to it.
# The full lmcache install pulls CUDA builds of many GB; the parser needs only the wheel
# (without its dependencies), the CPU build of torch 2.13.0 and a few small modules.
# Set LMCACHE_K8S_SKIP_REAL_CLI=1 to skip (the real-CLI tests then skip with that reason).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/lmcache-cli"
if [ "${LMCACHE_K8S_SKIP_REAL_CLI:-}" = 1 ]; then
  echo "real lmcache CLI: skipped (LMCACHE_K8S_SKIP_REAL_CLI=1)"
  exit 0
fi
stamp="$venv/.lmcache-0.5.6"
if [ -f "$stamp" ]; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0 "numpy<=2.2.6" numba sortedcontainers "prometheus_client>=0.18.0,<=0.24.1" \
  py-cpuinfo psutil aiohttp requests cachetools pyyaml cryptography \
  "opentelemetry-api>=1.20.0,<=1.40.0" "opentelemetry-sdk>=1.20.0" \
  "opentelemetry-exporter-prometheus>=0.50b0,<=0.61b0" msgspec pyzmq blake3 redis aiofiles aiofile \
  httpx fastapi uvicorn
"${pip[@]}" --no-deps lmcache==0.5.6
"$venv/bin/python" "$root/tests/real_cli_probe.py" --self-check
touch "$stamp"
