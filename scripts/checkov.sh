#!/usr/bin/env bash
# Static security scan of the chart with checkov, in its own environment (.tools/checkov:
# checkov pins packaging<24, which the test tools do not accept).
#   bash scripts/checkov.sh            # JSON report on stdout
# The chart is rendered by checkov's helm framework with the values of a few ci/ scenarios
# that together produce every kind of object (engine, CacheBlend engine, coordinator,
# webhook, ServiceMonitors, cert-manager chain). checkov finds helm on PATH or checks nothing
# and exits 0, so this script refuses to run without it. tests/chart/test_checkov.py holds
# every finding to the accepted list in docs/security.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
checkov="$root/.tools/checkov/bin/checkov"
if [ ! -x "$checkov" ]; then
  echo "checkov is not installed: run bash scripts/setup.sh" >&2
  exit 2
fi
# checkov calls plain `helm`: give it Helm 3 under that name, first on PATH.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
helm3=$(PATH="$root/.tools/bin:$PATH" command -v helm3 || true)
if [ -z "$helm3" ]; then
  echo "helm3 not found: run bash scripts/setup.sh (without helm, checkov checks nothing)" >&2
  exit 2
fi
ln -s "$helm3" "$bin/helm"
ci=charts/lmcache/ci
PATH="$bin:$PATH" "$checkov" -d charts/lmcache --framework helm --skip-download \
  --compact -o json \
  --var-file "$ci/engine-production-values.yaml" --var-file "$ci/cacheblend-values.yaml" \
  --var-file "$ci/coordinator-prometheus-values.yaml" \
  --var-file "$ci/webhook-certmanager-values.yaml" || true  # exit 1 means findings: judged by the test
