#!/bin/sh
# Launcher of the lmcache Helm 4 post-renderer plugin: runs $LMCACHE_POSTRENDER_BIN when set,
# else `lmcache-postrender` from PATH, else `python3 -m postrender`.
# Helm 4 discards a plugin's stderr, so the post-renderer is told it runs as a plugin: it
# then also writes its errors to the terminal (its log file has them in every case).
LMCACHE_POSTRENDER_PLUGIN=helm4
export LMCACHE_POSTRENDER_PLUGIN
if [ -n "${LMCACHE_POSTRENDER_BIN:-}" ]; then
  exec "$LMCACHE_POSTRENDER_BIN" "$@"
fi
if command -v lmcache-postrender >/dev/null 2>&1; then
  exec lmcache-postrender "$@"
fi
if command -v python3 >/dev/null 2>&1 && python3 -c 'import postrender.cli' 2>/dev/null; then
  exec python3 -m postrender "$@"
fi
log=${LMCACHE_POSTRENDER_LOG:-${TMPDIR:-/tmp}/lmcache-postrender-$(id -u).log}
msg="lmcache-postrender: not found: install this project (pip install <path to lmcache-k8s>) so that lmcache-postrender is on PATH"
echo "$msg" >"$log" 2>/dev/null
echo "$msg" >&2
{ echo "$msg" >/dev/tty; } 2>/dev/null
exit 127
