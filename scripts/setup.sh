#!/usr/bin/env bash
# One idempotent setup: a virtualenv with the project and its test tools,
# plus Helm 3 and Helm 4 under .tools/bin, the real lmcache CLI parser under
# .tools/lmcache-cli (scripts/install-real-cli.sh), promtool/prometheus for the monitoring
# tests (scripts/install-prometheus.sh), and what the runtime tier (tests/runtime) needs
# from Debian: redis-server, ip (iproute2), setpriv (util-linux). Safe to run again.
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
# The runtime tier's system tools: installed only when missing, and only as root with apt
# (CI is root on a fresh machine); without them the tier skips on a developer machine.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || missing+=(iproute2)
command -v setpriv >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # No service may start from the install (the tier starts its own redis-server):
    # a policy-rc.d that denies every start, unless the machine already has one.
    policy=/usr/sbin/policy-rc.d
    made_policy=
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$made_policy" ]; then rm -f "$policy"; fi
  else
    echo "runtime tier: missing ${missing[*]}; install them as root (apt-get install ${missing[*]}) or the tier skips" >&2
  fi
fi
