"""Start and stop the real lmcache processes on loopback, for the inventory and the pictures.

Every process listens on 127.0.0.1 only, on a port the kernel picked free, and is stopped by
its own pid. `lmcache server` needs about 20-40 s to start on two shared cores.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LMCACHE_PYTHON = ROOT / ".tools" / "lmcache-cli" / "bin" / "python"
SIDE = ROOT / "scripts" / "observability" / "lmcache_side.py"
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@dataclass
class Process:
    """One real process; `log` receives its stdout and stderr."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def start(self) -> Process:
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )
        out.close()
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s; only this process's own pid."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def get(url: str, timeout: float = 5.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
        return response.read().decode()


def wait_for(url: str, process: Process, timeout: float = 180.0) -> None:
    """Poll url until it answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited; see {process.log}")
        try:
            get(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise TimeoutError(
        f"{process.name}: {url} did not answer in {timeout:.0f} s; see {process.log}"
    )


@dataclass
class LMCacheFleet:
    """A coordinator, a cache engine (with a filesystem L2 adapter) and a CacheBlend engine.

    Flags follow what the chart renders (SPEC 2.2, 2.6, 2.7), bound to loopback, with a
    0.5 GB L1, plus `--supported-transfer-mode auto`: the chart's default transfer mode
    (lmcache_driven) moves KV data over CUDA IPC only, and this machine has no GPU, so the
    driver uses the engine-driven path lmcache's own adapters pick for CPU KV caches. The
    metric instruments are the same either way: they are declared at start-up.
    """

    workdir: Path
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def declarations(self, name: str) -> Path:
        return self.workdir / f"{name}.declarations.jsonl"

    def metrics_url(self, name: str) -> str:
        return f"http://{LOOPBACK}:{self.ports[name + '.http']}/metrics"

    def zmq_url(self, name: str) -> str:
        return f"tcp://{LOOPBACK}:{self.ports[name + '.zmq']}"

    def start(self) -> LMCacheFleet:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for key in ("coordinator.http", "engine.zmq", "engine.http", "blend.zmq", "blend.http"):
            self.ports[key] = free_port()
        coordinator_url = f"http://{LOOPBACK}:{self.ports['coordinator.http']}"
        common = [
            "--l1-size-gb", "0.5", "--chunk-size", "256", "--max-workers", "1",
            "--hash-algorithm", "blake3", "--eviction-policy", "LRU",
            "--eviction-trigger-watermark", "0.8", "--eviction-ratio", "0.2",
            "--supported-transfer-mode", "auto",
            "--coordinator-url", coordinator_url, "--coordinator-heartbeat-interval", "5",
            "--coordinator-event-reporting",
        ]  # fmt: skip
        l2_dir = self.workdir / "l2"
        l2_dir.mkdir(exist_ok=True)
        argv = {
            "coordinator": [
                "coordinator", "--host", LOOPBACK, "--port", str(self.ports["coordinator.http"]),
                "--instance-timeout", "30", "--health-check-interval", "10",
                "--eviction-check-interval", "5", "--eviction-ratio", "0.2",
                "--trigger-watermark", "1.0", "--chunk-size", "256", "--blend-probe-stride", "1",
                "--enable-blend-lookup",
            ],
            "engine": [
                "server", "--host", LOOPBACK, "--port", str(self.ports["engine.zmq"]),
                "--http-host", LOOPBACK, "--http-port", str(self.ports["engine.http"]), *common,
                "--l2-adapter", json.dumps({"type": "fs", "base_path": str(l2_dir)}),
            ],
            "blend": [
                "server", "--host", LOOPBACK, "--port", str(self.ports["blend.zmq"]),
                "--http-host", LOOPBACK, "--http-port", str(self.ports["blend.http"]), *common,
                "--engine-type", "blend", "--l1-align-bytes", "16777216",
            ],
        }  # fmt: skip
        for name, args in argv.items():
            self.declarations(name).unlink(missing_ok=True)
            self.processes[name] = Process(
                name,
                [str(LMCACHE_PYTHON), str(SIDE), "run", str(self.declarations(name)), "--", *args],
                self.workdir / f"{name}.log",
                env={"LMCACHE_LOG_LEVEL": "WARNING"},
            ).start()
            if name == "coordinator":
                wait_for(f"{coordinator_url}/healthz", self.processes[name])
        for name in ("engine", "blend"):
            wait_for(self.metrics_url(name), self.processes[name])
        return self

    def drive(self, name: str, *args: str) -> dict:
        """Run the CPU vLLM-worker driver against one engine; its JSON summary."""
        proc = subprocess.run(
            [str(LMCACHE_PYTHON), str(SIDE), "drive", self.zmq_url(name), *args],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "LMCACHE_LOG_LEVEL": "WARNING"},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"driving {name} failed:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()
