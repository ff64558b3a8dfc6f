#!/usr/bin/env bash
# Installs checkov into its own virtualenv, .tools/checkov (about 300 MB, one minute, once):
# it pins packaging<24, which conflicts with the project's test tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.tools/checkov"
version=3.3.30
stamp="$venv/.checkov-$version"
[ -f "$stamp" ] && exit 0
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$version"
touch "$stamp"
