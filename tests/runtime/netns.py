"""A throw-away pod network made of Linux network namespaces (needs root and `ip`).

    node namespace  <prefix>-node   bridge br0 10.244.0.1/16; Service cluster IPs on lo
    pod namespaces  <prefix>-<n>    eth0 10.244.x.y/16 (a veth whose peer is on br0),
                                    lo, default route via the node

The machine's own network is never touched: every veth is created inside the node
namespace with its peer placed straight into the pod's, and nothing routes out of the
node namespace, so a process binding 0.0.0.0 in a pod is reachable from the node and the
other pods only. Cluster DNS is emulated per pod by `/etc/netns/<ns>/hosts`, which
`ip netns exec` bind-mounts over `/etc/hosts` for the process it starts (see ip-netns(8));
the pod's `resolv.conf` names its own loopback, so no name lookup leaves the pod either.

Threads of this process enter the node namespace with setns(2) (`enter`), which changes
only the calling thread; sockets keep the namespace they were created in.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_RUN = Path("/run/netns")
NETNS_ETC = Path("/etc/netns")
POD_NET = ipaddress.ip_network("10.244.0.0/16")
SERVICE_NET = ipaddress.ip_network("10.96.0.0/16")
PREFIX = "lmkrt"
_libc = ctypes.CDLL(None, use_errno=True)


def ip_binary() -> str | None:
    return shutil.which("ip") or next(
        (p for p in ("/usr/sbin/ip", "/sbin/ip") if os.access(p, os.X_OK)), None
    )


def missing_prerequisites() -> list[str]:
    """Why this machine cannot build the pod network; [] when it can."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    if ip_binary() is None:
        missing.append("`ip` from iproute2")
    return missing


def _ip(*args: str) -> None:
    proc = subprocess.run([ip_binary() or "ip", *args], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")


def enter(netns: str) -> None:
    """Move the calling thread into a named network namespace."""
    fd = os.open(NETNS_RUN / netns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({netns}): {os.strerror(err)}")
    finally:
        os.close(fd)


@dataclass
class PodNet:
    netns: str
    ip: str


@dataclass
class PodNetwork:
    """The node namespace and the pod namespaces made so far; `close()` removes them all."""

    prefix: str
    node: str = ""
    node_ip: str = ""
    pods: list[PodNet] = field(default_factory=list)
    cluster_ips: list[str] = field(default_factory=list)

    @classmethod
    def create(cls) -> PodNetwork:
        prefix = f"{PREFIX}{os.getpid()}"
        _remove_stale()
        net = cls(prefix)
        net.node = f"{prefix}-node"
        gateway = POD_NET.network_address + 1
        net.node_ip = str(gateway)
        try:
            _ip("netns", "add", net.node)
            _ip("-n", net.node, "link", "set", "lo", "up")
            _ip("-n", net.node, "link", "add", "br0", "type", "bridge")
            _ip("-n", net.node, "addr", "add", f"{gateway}/{POD_NET.prefixlen}", "dev", "br0")
            _ip("-n", net.node, "link", "set", "br0", "up")
        except Exception:
            net.close()
            raise
        return net

    def add_pod(self, hosts: dict[str, str]) -> PodNet:
        """A new pod namespace on the bridge; `hosts` maps DNS names to addresses."""
        index = len(self.pods) + 1
        ns = f"{self.prefix}-{index}"
        address = POD_NET.network_address + 1 + index
        pod = PodNet(ns, str(address))
        self.pods.append(pod)  # before creating it, so close() removes a half-made one
        veth = f"veth{index}"
        _ip("netns", "add", ns)
        _ip(
            "-n",
            self.node,
            "link",
            "add",
            veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        )
        _ip("-n", self.node, "link", "set", veth, "master", "br0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", f"{address}/{POD_NET.prefixlen}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "route", "add", "default", "via", self.node_ip)
        self.set_hosts(pod, hosts)
        return pod

    def set_hosts(self, pod: PodNet, hosts: dict[str, str]) -> None:
        etc = NETNS_ETC / pod.netns
        etc.mkdir(parents=True, exist_ok=True)
        lines = ["127.0.0.1 localhost", f"{pod.ip} {pod.netns}"]
        lines += [f"{address} {name}" for name, address in sorted(hosts.items())]
        (etc / "hosts").write_text("\n".join(lines) + "\n")
        # No resolver outside the pod: a lookup that /etc/hosts does not answer fails at once.
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    def add_cluster_ip(self) -> str:
        """A Service cluster IP, local to the node namespace (pods route to it via the node)."""
        address = str(SERVICE_NET.network_address + 1 + len(self.cluster_ips))
        self.cluster_ips.append(address)
        _ip("-n", self.node, "addr", "add", f"{address}/32", "dev", "lo")
        return address

    def close(self) -> None:
        """Delete every namespace made here (their processes must be stopped first)."""
        for name in [p.netns for p in self.pods] + ([self.node] if self.node else []):
            with contextlib.suppress(RuntimeError):
                _ip("netns", "del", name)
            shutil.rmtree(NETNS_ETC / name, ignore_errors=True)
        self.pods.clear()
        self.node = ""


def _remove_stale() -> None:
    """Remove namespaces a killed earlier run of this tier left behind, once they are empty.

    Only names with this module's prefix whose owner process is gone, and only when no
    process runs in them (ip netns pids is empty): nothing anyone else made is touched.
    """
    if not NETNS_RUN.is_dir():
        return
    for path in NETNS_RUN.iterdir():
        name = path.name
        if not name.startswith(PREFIX):
            continue
        owner = name[len(PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or Path(f"/proc/{owner}").exists():
            continue
        pids = subprocess.run(
            [ip_binary() or "ip", "netns", "pids", name], capture_output=True, text=True
        ).stdout.split()
        if pids:
            continue
        with contextlib.suppress(RuntimeError):
            _ip("netns", "del", name)
        shutil.rmtree(NETNS_ETC / name, ignore_errors=True)
