#!/usr/bin/env bash
# Installs the real lmcache 0.5.6 and vLLM 0.33.0 command-line parsers into .tools/lmcache-cli,
# so tests can feed every rendered `lmcache server` / `lmcache coordinator` command line and
# every vLLM command line the webhook produces to the real thing.
# Full installs pull CUDA builds of many GB; the parsers need only the wheels (without their
# dependencies), the CPU build of torch 2.13.0 and the small modules their imports reach.
# Set LMCACHE_K8S_SKIP_REAL_CLI=1 to skip (the real-CLI tests then skip with that reason).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/lmcache-cli"
if [ "${LMCACHE_K8S_SKIP_REAL_CLI:-}" = 1 ]; then
  echo "real lmcache CLI: skipped (LMCACHE_K8S_SKIP_REAL_CLI=1)"
  exit 0
fi
stamp="$venv/.lmcache-0.5.6-vllm-0.33.0"
if [ -f "$stamp" ]; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
# --no-warn-conflicts: the wheels are installed without their (CUDA) dependencies on purpose.
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-warn-conflicts)
"${pip[@]}" torch==2.13.0 "numpy<=2.2.6" numba sortedcontainers "prometheus_client>=0.18.0,<=0.24.1" \
  py-cpuinfo psutil aiohttp requests cachetools pyyaml cryptography \
  "opentelemetry-api>=1.20.0,<=1.40.0" "opentelemetry-sdk>=1.20.0" \
  "opentelemetry-exporter-prometheus>=0.50b0,<=0.61b0" msgspec pyzmq blake3 redis aiofiles aiofile \
  httpx fastapi uvicorn
"${pip[@]}" --no-deps lmcache==0.5.6
# vLLM's `vllm serve` parser, found by importing it until nothing was missing.
"${pip[@]}" packaging regex cbor2 "transformers>=5.16.1,<5.21.0" "tokenizers>=0.23.2" sentencepiece \
  "safetensors>=0.8.0" openai oss-harmony cloudpickle pillow pybase64 uvloop partial-json-parser \
  xgrammar llguidance
"${pip[@]}" --no-deps vllm==0.33.0
"$venv/bin/python" "$root/tests/real_cli_probe.py" --self-check
touch "$stamp"
