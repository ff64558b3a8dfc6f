#!/usr/bin/env bash
# Static checks: ruff, helm lint --strict on every ci/ scenario (Helm 3 and 4), yamllint on values.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/bin:$root/.venv/bin:$PATH"
ruff check lmcache_k8s postrender webhook kubectl_lmcache tests scripts
ruff format --check lmcache_k8s postrender webhook kubectl_lmcache tests scripts
yamllint -c .yamllint charts/lmcache/values.yaml charts/lmcache/ci ct.yaml
for helm in helm3 helm4; do
  for values in charts/lmcache/ci/*-values.yaml; do
    # helm lint has no --api-versions: scenarios with CRD kinds set trustCRDsExist instead.
    "$helm" lint --strict charts/lmcache -f "$values" >/dev/null || { echo "$helm lint failed: $values"; exit 1; }
  done
done
echo "lint: ok"
