#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then renders the chart for an example through the
# post-renderer: with Helm 3 (post-renderer executable) and Helm 4 (post-renderer plugin).
#   bash scripts/demo.sh [values.yaml] [namespace]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh >/dev/null
values=${1:-examples/quickstart-values.yaml}
namespace=${2:-llm}
export PATH="$root/.venv/bin:$root/.tools/bin:$PATH"
offline=(--api-versions monitoring.coreos.com/v1 --api-versions cert-manager.io/v1)

echo "# Helm 3: helm3 template demo charts/lmcache -f $values --post-renderer lmcache-postrender" >&2
helm3 template demo charts/lmcache -n "$namespace" -f "$values" "${offline[@]}" \
  --post-renderer "$(command -v lmcache-postrender)" >/tmp/lmcache-demo-helm3.yaml
# Helm 4 runs post-renderers as plugins; a private plugin dir keeps the user's Helm untouched.
helm4_home=$(mktemp -d)
trap 'rm -rf "$helm4_home"' EXIT
HELM_PLUGINS="$root/plugins" HELM_DATA_HOME="$helm4_home" HELM_CONFIG_HOME="$helm4_home" \
  HELM_CACHE_HOME="$helm4_home" \
  helm4 template demo charts/lmcache -n "$namespace" -f "$values" "${offline[@]}" \
  --post-renderer lmcache >/tmp/lmcache-demo-helm4.yaml
echo "# Helm 4: same objects through the 'lmcache' post-renderer plugin: /tmp/lmcache-demo-helm4.yaml" >&2
cat /tmp/lmcache-demo-helm3.yaml
