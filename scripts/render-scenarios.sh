#!/usr/bin/env bash
# Renders every charts/lmcache/ci scenario with Helm 3 and Helm 4 into one folder, one file per
# scenario and Helm version, so two commits can be compared byte for byte:
#   bash scripts/render-scenarios.sh /tmp/before            # at the old commit
#   bash scripts/render-scenarios.sh /tmp/after             # at the new commit
#   diff -r /tmp/before /tmp/after && echo identical
# A scenario that fails to render is written as its error text, so failures are compared too.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: render-scenarios.sh OUTPUT_DIR}
mkdir -p "$out"
export PATH="$root/.tools/bin:$root/.venv/bin:$PATH"
offline=(--api-versions monitoring.coreos.com/v1 --api-versions cert-manager.io/v1)
for values in "$root"/charts/lmcache/ci/*-values.yaml; do
  scenario=$(basename "$values" -values.yaml)
  for helm in helm3 helm4; do
    "$helm" template rel "$root/charts/lmcache" -n llm -f "$values" "${offline[@]}" \
      >"$out/$scenario.$helm.yaml" 2>&1 || echo "exit $?" >>"$out/$scenario.$helm.yaml"
  done
done
# The webhook's helm TLS mode generates a new certificate on every render: mask it.
sed -i -E 's/^(  (tls\.crt|tls\.key|ca\.crt): ).*/\1<generated>/; s/(caBundle: ).*/\1<generated>/' "$out"/*.yaml
echo "rendered $(ls "$out" | wc -l) files into $out"
