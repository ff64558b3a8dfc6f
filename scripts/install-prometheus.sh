#!/usr/bin/env bash
# promtool and prometheus 2.42 from Debian's `prometheus` package, for the monitoring tests
# (promtool check/test rules) and scripts/render_dashboard_pictures.py. Only the two
# binaries are unpacked into .tools/bin: installing the package would also install (and on
# a machine with systemd, start) a Prometheus service listening on every address.
# Skipped when promtool is already on PATH. Needs root only for apt-get update.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if command -v promtool >/dev/null 2>&1 || [ -x .tools/bin/promtool ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
  if [ "$(id -u)" != 0 ]; then
    echo "promtool: cannot download Debian's prometheus package; run as root (apt-get update) or install it" >&2
    exit 1
  fi
  apt-get update -qq
  (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1)
fi
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/unpacked"
mkdir -p .tools/bin
install -m 0755 "$tmp/unpacked/usr/bin/promtool" "$tmp/unpacked/usr/bin/prometheus" .tools/bin/
.tools/bin/promtool --version | head -1
