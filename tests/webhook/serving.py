"""Run the real webhook (uvicorn + reloading TLS) on loopback in a background thread."""

from __future__ import annotations

import socket
import threading
import time

from fastapi import FastAPI

from webhook.__main__ import build_server
from webhook.tls import ReloadingTLS

START_TIMEOUT = 10.0


class RunningWebhook:
    def __init__(self, app: FastAPI, tls: ReloadingTLS) -> None:
        # Bind here and hand the socket to uvicorn: no window for another process to
        # take a port we picked.
        # IPPROTO_TCP, as uvicorn's own listener has: asyncio sets TCP_NODELAY only then.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.server = build_server(app, tls, host="127.0.0.1", port=self.port, log_level="WARNING")
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> RunningWebhook:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("webhook server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT)
        self.sock.close()
