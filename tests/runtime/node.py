"""What runs on the node: the kubelet's probes, a Prometheus scrape, kube-proxy's Services.

Every call here runs on threads that entered the node namespace (netns.enter), so an
address means what it means to a kubelet: a pod IP reaches the pod over the bridge, and
a process that bound 127.0.0.1 inside its pod is not reachable. Each function bounds its
own time and returns what answered; none of them raises for a network failure.

kube-proxy is modelled in its old userspace mode: for each Service port with a cluster IP,
a forwarder listens on clusterIP:port in the node namespace and relays every connection to
one endpoint's targetPort. Clients therefore see the Service port, and the backend sees the
node as the peer (the engine tells the coordinator its pod IP through the downward API).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import http.client
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.runtime import netns

# ZMTP 3 (the ZeroMQ wire protocol) opens with a 10-byte signature: 0xFF, 8 padding bytes,
# 0x7F (rfc.zeromq.org/spec/23). A ZMQ ROUTER socket sends it as soon as a peer connects.
ZMTP_FIRST, ZMTP_LAST = 0xFF, 0x7F


@dataclass
class HTTPAnswer:
    status: int
    content_type: str
    body: str

    @property
    def ok(self) -> bool:
        """Success as a kubelet's httpGet probe judges it: 200 <= status < 400."""
        return 200 <= self.status < 400


class Node:
    """A pool of threads inside the node namespace plus an event loop for the forwarders."""

    def __init__(self, node_netns: str, workers: int = 16) -> None:
        self.netns = node_netns
        self.pool = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix="node", initializer=netns.enter, initargs=(node_netns,)
        )
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="kube-proxy", daemon=True)
        self._thread.start()
        self._servers: list[asyncio.base_events.Server] = []

    def _run_loop(self) -> None:
        netns.enter(self.netns)
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        return self.pool.submit(fn, *args)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.pool.submit(fn, *args).result()

    # -- kube-proxy -----------------------------------------------------------------------

    def forward(self, cluster_ip: str, port: int, backends: Callable[[], list[tuple[str, int]]]):
        """Relay clusterIP:port to the first backend that accepts; `backends` is re-read
        per connection, like Endpoints. No backend accepting: the client is disconnected."""

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upstream = None
            for host, target in backends():
                with contextlib.suppress(OSError):
                    upstream = await asyncio.wait_for(asyncio.open_connection(host, target), 2)
                    break
            if upstream is None:
                writer.close()
                return
            up_reader, up_writer = upstream

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                with contextlib.suppress(OSError):
                    dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start() -> None:
            server = await asyncio.start_server(relay, cluster_ip, port)
            self._servers.append(server)

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.pool.shutdown(wait=True, cancel_futures=True)


# -- checks; call them through Node.submit/call so they run inside the node namespace -------


def tcp_open(host: str, port: int, timeout: float = 1.0) -> str:
    """ "" when a TCP connection opens (a tcpSocket probe's success), else the error."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def http_get(host: str, port: int, path: str, timeout: float = 1.0) -> HTTPAnswer | str:
    """GET http://host:port/path; the answer, or the error as text."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "kube-probe/1.35"})
        resp = conn.getresponse()
        body = resp.read(4 * 1024 * 1024).decode("utf-8", "replace")
        return HTTPAnswer(resp.status, resp.getheader("Content-Type") or "", body)
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


def zmtp_greeting(host: str, port: int, timeout: float = 2.0) -> str:
    """ "" when the peer speaks ZMTP (what vLLM's LMCache connector expects), else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            data = b""
            while len(data) < 10:
                chunk = sock.recv(10 - len(data))
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if len(data) == 10 and data[0] == ZMTP_FIRST and data[9] == ZMTP_LAST:
        return ""
    return f"no ZMTP greeting (got {data[:10]!r})"


def redis_command(host: str, port: int, password: str, *command: str, timeout: float = 2.0):
    """AUTH then one command over RESP2; the reply as text, or the error."""

    def encode(*parts: str) -> bytes:
        out = f"*{len(parts)}\r\n".encode()
        for part in parts:
            raw = part.encode()
            out += b"$%d\r\n%s\r\n" % (len(raw), raw)
        return out

    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            stream = sock.makefile("rb")
            replies = []
            for parts in (("AUTH", password), command):
                sock.sendall(encode(*parts))
                line = stream.readline().decode()
                if line.startswith("$"):
                    size = int(line[1:])
                    line = stream.read(size + 2).decode()[:-2] if size >= 0 else ""
                elif line.startswith("-"):
                    return f"error: {line.strip()}"
                replies.append(line.strip())
            return replies[-1]
    except OSError as exc:
        return f"error: {type(exc).__name__}: {exc}"
