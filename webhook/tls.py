"""A server SSLContext whose certificate follows the files on disk.

uvicorn hands one SSLContext to asyncio when it starts listening, and a context copies
its certificate into each connection when the connection is created. To serve a rotated
certificate without a restart, the context given to uvicorn carries an SNI callback:
OpenSSL calls it during every handshake (with `server_name=None` when the client sent no
SNI, for instance when it dialled an IP address). The callback compares the files'
inode, size and mtime with what was loaded and, when they changed, loads a fresh context
and moves the handshake onto it (`SSLObject.context = ...`). cert-manager's Secret
volume is updated by an atomic symlink swap, so certificate and key change together;
if a reload fails anyway (say, a key that does not match yet), the previous certificate
keeps being served and the reload is retried once the files change again.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
from pathlib import Path

log = logging.getLogger(__name__)

Signature = tuple[tuple[int, int, int, int], ...]


def _signature(*paths: Path) -> Signature | None:
    try:
        stats = [os.stat(path) for path in paths]  # follows the Secret volume's symlinks
    except OSError:
        return None
    return tuple((s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)


def server_context(
    cert_file: str | os.PathLike[str], key_file: str | os.PathLike[str]
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    context.set_alpn_protocols(["http/1.1"])  # uvicorn speaks HTTP/1.1 only
    return context


class ReloadingTLS:
    """Owns the context passed to the server and swaps in new certificates."""

    def __init__(self, cert_file: str | os.PathLike[str], key_file: str | os.PathLike[str]) -> None:
        self.cert_file = Path(cert_file)
        self.key_file = Path(key_file)
        self._lock = threading.Lock()
        self._seen = _signature(self.cert_file, self.key_file)
        self.reloads = 0
        self.failures = 0
        # The listening context: the first certificate plus the hook that keeps it current.
        self.context = server_context(self.cert_file, self.key_file)
        self.context.sni_callback = self._on_handshake
        self._current = self.context

    def current(self) -> ssl.SSLContext:
        """The context for the next handshake, reloaded first if the files changed."""
        signature = _signature(self.cert_file, self.key_file)
        if signature is None or signature == self._seen:
            return self._current
        with self._lock:
            if signature != self._seen:
                self._seen = signature
                try:
                    self._current = server_context(self.cert_file, self.key_file)
                except (OSError, ssl.SSLError) as exc:
                    self.failures += 1
                    log.warning("TLS certificate reload failed, serving the previous one: %s", exc)
                else:
                    self.reloads += 1
                    log.info("TLS certificate reloaded from %s", self.cert_file)
        return self._current

    def _on_handshake(
        self,
        connection: ssl.SSLObject | ssl.SSLSocket,
        server_name: str | None,
        context: ssl.SSLContext,
    ) -> None:
        current = self.current()
        if current is not context:
            connection.context = current
        return None
