"""A stand-in for the Kubernetes API: ConfigMap GETs over real TLS, with a bearer token.

Only what the webhook calls is implemented. Every request is recorded so tests can
assert that a cache hit made none.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps/([^/?]+)$")


@dataclass
class FakeKubeState:
    token: str
    configmaps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    forbidden_namespaces: set[str] = field(default_factory=set)
    fail_status: int | None = None
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (ns, name, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put_configmap(self, namespace: str, name: str, data: dict[str, str]) -> None:
        with self.lock:
            self.configmaps[(namespace, name)] = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": data,
            }

    def delete_configmap(self, namespace: str, name: str) -> None:
        with self.lock:
            self.configmaps.pop((namespace, name), None)

    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)


def _handler(state: FakeKubeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            match = PATH.match(self.path)
            namespace, name = match.groups() if match else ("", self.path)
            with state.lock:
                if self.headers.get("Authorization") != f"Bearer {state.token}":
                    status, body = 401, {"kind": "Status", "reason": "Unauthorized"}
                elif state.fail_status is not None:
                    status, body = state.fail_status, {"kind": "Status", "reason": "InternalError"}
                elif match is None:
                    status, body = 404, {"kind": "Status", "reason": "NotFound"}
                elif namespace in state.forbidden_namespaces:
                    status, body = 403, {"kind": "Status", "reason": "Forbidden"}
                elif (namespace, name) in state.configmaps:
                    status, body = 200, state.configmaps[(namespace, name)]
                else:
                    status, body = 404, {"kind": "Status", "reason": "NotFound"}
                state.requests.append((namespace, name, str(status)))
            self._send(status, body)

    return Handler


class FakeKube:
    """Runs the fake API on a free loopback port in a daemon thread."""

    def __init__(self, state: FakeKubeState, cert_file: Path, key_file: Path) -> None:
        self.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeKube:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
