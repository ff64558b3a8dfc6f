"""Enforce the invariants every LMCache engine pod needs, whatever produced the manifest.

The chart renders all of them already, so on its output nothing here changes anything. On a
hand-written or patched workload each fix is made in place and reported as a warning naming
the field it changed; what cannot be fixed safely (an emptyDir over /dev/shm, a second
`--host`) is an error.
"""

from __future__ import annotations

import math
from typing import Any

from lmcache_k8s.errors import Issue
from lmcache_k8s.names import (
    ADVERTISE_IP_ENV,
    LOG_LEVEL_ENV,
    RESOURCE_OVERRIDES_ANNOTATION,
)
from lmcache_k8s.pod_refs import mount_path, shadowed_shm, shadowed_shm_message
from lmcache_k8s.values import GPU_VENDORS, ISOLATED_IPC_FLAG
from postrender.flags import Flag, parse_flags
from postrender.readback import ReadBack
from postrender.workloads import Program, Workload, containers, pod_spec_path

ANY_HOST = "0.0.0.0"
SHM = "/dev/shm"


def probes() -> dict[str, dict[str, Any]]:
    tcp = {"tcpSocket": {"port": "server"}}
    return {
        "startupProbe": {
            **tcp,
            "initialDelaySeconds": 5,
            "periodSeconds": 5,
            "failureThreshold": 30,
        },
        "livenessProbe": {**tcp, "periodSeconds": 10},
        "readinessProbe": {**tcp, "periodSeconds": 5},
    }


def resources_for(size_gb: float) -> dict[str, Any]:
    """requests cpu 4, memory ceil(size + 5)Gi; limits memory ceil(request x 1.5)Gi."""
    request = math.ceil(size_gb + 5)
    limit = math.ceil(request * 1.5)
    return {"requests": {"cpu": "4", "memory": f"{request}Gi"}, "limits": {"memory": f"{limit}Gi"}}


class Enforcer:
    """Applies the fixes to one engine workload and collects what it did."""

    def __init__(self, readback: ReadBack) -> None:
        self.readback = readback
        self.workload: Workload = readback.workload
        self.program: Program = readback.workload.program  # type: ignore[assignment]
        self.where = self.workload.obj.ref
        self.pod_path = pod_spec_path(self.workload.obj.kind)
        self.container_path = f"{self.pod_path}.containers[{self.program.index}]"
        self.errors: list[Issue] = []
        self.changes: list[Issue] = []

    # -- reporting ------------------------------------------------------------------------
    def _changed(self, path: str, message: str) -> None:
        self.changes.append(Issue(path, message, self.where))
        self.workload.obj.touch()

    def _error(self, path: str, message: str) -> None:
        self.errors.append(Issue(path, message, self.where))

    # -- the invariants -------------------------------------------------------------------
    def run(self) -> None:
        self.host_ipc()
        self.bind_addresses()
        self.eviction_policy()
        self.env()
        self.ports()
        self.probes()
        self.shm()
        self.resources()

    @property
    def isolated(self) -> bool:
        """True when the server runs with --isolated-ipc (values `ipc: isolated`)."""
        return self.readback.entry.get("ipc") == "isolated"

    def host_ipc(self) -> None:
        pod = self.workload.pod
        if self.isolated:
            if "hostIPC" in pod:
                del pod["hostIPC"]
                self._changed(
                    f"{self.pod_path}.hostIPC",
                    f"removed: the server runs with {ISOLATED_IPC_FLAG} (ipc: isolated), which"
                    " shares nothing through the host IPC namespace; hostIPC would only fail"
                    " Pod Security baseline",
                )
            return
        if pod.get("hostIPC") is not True:
            pod["hostIPC"] = True
            self._changed(
                f"{self.pod_path}.hostIPC",
                "set to true: vLLM and LMCache share KV data over CUDA IPC, which needs the host"
                " IPC namespace",
            )

    def _flags(self) -> list[Flag]:
        return parse_flags([str(t) for t in self.program.flags()], set())

    def _locate(self, index: int) -> tuple[list[Any], int]:
        """The list and position holding the program's flag token number `index`."""
        for tokens, start in self.program.flag_lists():
            size = len(tokens) - start
            if index < size:
                return tokens, start + index
            index -= size
        tokens, start = self.program.flag_lists()[-1]
        return tokens, len(tokens)

    def _insert(self, index: int, new: list[str]) -> None:
        tokens, at = self._locate(index)
        tokens[at:at] = new

    def _remove(self, flag: Flag) -> None:
        tokens, at = self._locate(flag.index)
        del tokens[at : at + (1 if flag.inline or flag.value is None else 2)]

    def bind_addresses(self) -> None:
        """Exactly one `--host 0.0.0.0` and one `--http-host 0.0.0.0`."""
        for name, why in (
            ("--host", "the node-local Service must reach the ZMQ port"),
            ("--http-host", "the default 127.0.0.1 hides /metrics and health from the pod network"),
        ):
            found = [f for f in self._flags() if f.name == name]
            wrong = [f for f in found if f.value != ANY_HOST]
            if wrong:
                values = ", ".join(str(f.value) for f in wrong)
                self._error(
                    f"{self.workload.base}.extraArgs",
                    f"{name} {values} conflicts with {name} {ANY_HOST}, which the server needs"
                    f" ({why}); remove it",
                )
                continue
            if not found:
                self._insert(self._insert_point(name), [name, ANY_HOST])
                self._changed(f"{self.container_path}.args", f"added {name} {ANY_HOST}: {why}")
            for extra in reversed(found[1:]):
                self._remove(extra)
                self._changed(
                    f"{self.container_path}.args", f"removed a repeated {name} {ANY_HOST}"
                )

    def _insert_point(self, name: str) -> int:
        flags = self._flags()
        by_name = {f.name: f for f in reversed(flags)}  # first occurrence wins
        if name == "--host":
            return 0
        if "--http-port" in by_name:
            return by_name["--http-port"].index
        for after in ("--port", "--host"):
            if after in by_name:
                f = by_name[after]
                return f.index + (1 if f.inline or f.value is None else 2)
        return 0

    def eviction_policy(self) -> None:
        flags = self._flags()
        if any(f.name == "--eviction-policy" for f in flags):
            return  # its value is checked with the values rules (eviction.policy)
        before = [
            f for f in flags if f.name in ("--eviction-trigger-watermark", "--eviction-ratio")
        ]
        at = before[0].index if before else sum(len(t) - s for t, s in self.program.flag_lists())
        self._insert(at, ["--eviction-policy", "LRU"])
        self._changed(
            f"{self.container_path}.args",
            "added --eviction-policy LRU: lmcache server 0.5.6 refuses to start without it",
        )

    def env(self) -> None:
        container = self.program.container
        env = container.get("env")
        if env is None:
            env = []
        if not isinstance(env, list):
            return  # not a list: the Kubernetes schema rejects it
        path = f"{self.container_path}.env"
        anchor = _env_index(env, LOG_LEVEL_ENV)
        # NVIDIA_* only for NVIDIA engines: an AMD engine reaches its GPUs through device nodes
        vendor = GPU_VENDORS[self.readback.entry.get("gpuVendor", "nvidia")]
        for name in vendor["env"]:
            at = _env_index(env, name)
            if at is None:
                at = 0 if anchor is None else anchor + 1
                env.insert(at, {"name": name, "value": "all"})
                self._changed(path, f"added {name}=all: the server must see every GPU for CUDA IPC")
            elif env[at] != {"name": name, "value": "all"}:
                env[at] = {"name": name, "value": "all"}
                self._changed(path, f"set {name}=all: the server must see every GPU for CUDA IPC")
            anchor = at
        if self.readback.coordinator_url is not None or _has_coordinator(self.readback):
            if _env_index(env, ADVERTISE_IP_ENV) is None:
                env.insert(
                    (anchor or 0) + 1,
                    {
                        "name": ADVERTISE_IP_ENV,
                        "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                    },
                )
                self._changed(
                    path,
                    f"added {ADVERTISE_IP_ENV} from status.podIP: the coordinator must be told an"
                    " address the other engines can reach",
                )
        if env:
            container["env"] = env

    def ports(self) -> None:
        from lmcache_k8s.values import ServerSpec  # loaded by the values rules already

        defaults = ServerSpec.model_fields
        server = self.readback.entry.get("server", {})
        wanted = (
            ("server", server.get("port", defaults["port"].default)),
            ("http", server.get("httpPort", defaults["httpPort"].default)),
        )
        if wanted[0][1] == wanted[1][1]:
            return  # reported by the values rules (httpPort must differ from port)
        container = self.program.container
        ports = container.get("ports")
        if ports is None:
            ports = container["ports"] = []
        if not isinstance(ports, list):
            return
        path = f"{self.container_path}.ports"
        for name, number in wanted:
            if not isinstance(number, int) or isinstance(number, bool):
                continue  # reported by the values rules
            named = [p for p in ports if isinstance(p, dict) and p.get("name") == name]
            if named:
                if named[0].get("containerPort") != number:
                    named[0]["containerPort"] = number
                    self._changed(
                        path, f"port {name} set to {number}, the port the server listens on"
                    )
                continue
            same = [
                p
                for p in ports
                if isinstance(p, dict)
                and p.get("containerPort") == number
                and p.get("protocol", "TCP") == "TCP"
            ]
            if same:
                old = same[0].get("name")
                same[0]["name"] = name
                self._changed(path, f"port {number} renamed from {old!r} to {name!r}")
            else:
                ports.append({"name": name, "containerPort": number, "protocol": "TCP"})
                self._changed(path, f"added port {name} ({number}/TCP)")
        if not ports:
            del container["ports"]

    def probes(self) -> None:
        container = self.program.container
        for key, probe in probes().items():
            if container.get(key) != probe:
                container[key] = probe
                self._changed(
                    f"{self.container_path}.{key}",
                    "set to the TCP check on port server the engine needs"
                    " (startup 5s/5s x30, liveness 10s, readiness 5s)",
                )

    def shm(self) -> None:
        if self.isolated:
            return  # no host /dev/shm to hide: a private one is the pod's own business
        for shadow in shadowed_shm(self.workload.pod):
            self._error(
                f"{self.workload.base}.volumeMounts",
                shadowed_shm_message(shadow.container, shadow.volume),
            )

    def resources(self) -> None:
        annotation = self.workload.obj.annotations.get(RESOURCE_OVERRIDES_ANNOTATION)
        if annotation in ("true", True):
            return
        size = self.readback.entry.get("l1", {}).get("sizeGB")
        if not isinstance(size, int | float) or isinstance(size, bool) or size <= 0:
            return  # reported by the values rules
        wanted = resources_for(size)
        container = self.program.container
        if quantities(container.get("resources")) != quantities(wanted):
            container["resources"] = wanted
            self._changed(
                f"{self.container_path}.resources",
                f"set from l1.sizeGB={size} (requests cpu 4, memory"
                f" {wanted['requests']['memory']}; limits memory {wanted['limits']['memory']});"
                f' annotate the workload with {RESOURCE_OVERRIDES_ANNOTATION}: "true" to keep your own',
            )


def _env_index(env: list[Any], name: str) -> int | None:
    for i, item in enumerate(env):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return None


def _has_coordinator(readback: ReadBack) -> bool:
    coordinator = readback.entry.get("coordinator")
    return isinstance(coordinator, dict) and "url" in coordinator


def quantities(node: Any) -> Any:
    """Resources compared as Kubernetes does: `cpu: 4` and `cpu: "4"` are the same."""
    if isinstance(node, dict):
        return {k: quantities(v) for k, v in node.items()}
    if isinstance(node, int | float) and not isinstance(node, bool):
        return str(node)
    return node


def enforce(readback: ReadBack) -> tuple[list[Issue], list[Issue]]:
    """(errors, changes) for one engine workload; changes are already applied.

    Anything but an engine that runs `lmcache server` is left alone: ([], []).
    """
    if readback.workload.program is None or not readback.workload.is_engine:
        return [], []
    enforcer = Enforcer(readback)
    enforcer.run()
    return enforcer.errors, enforcer.changes


# -- consumers of an isolated-IPC engine ---------------------------------------------------
# postrender/consumers.py calls isolated_consumer on a workload whose every connection in the
# stream says "lmcache.mp.isolated_ipc": true (isolated_connection). In host mode consumers
# need hostIPC and must not hide the host's /dev/shm; in isolated mode the rules flip: no
# hostIPC is added (it would fail Pod Security baseline and buys nothing), and vLLM gets a
# private memory-backed /dev/shm (the container runtime's default is 64Mi, too small for the
# shared buffers); a pod's own /dev/shm emptyDir is then allowed.
SHM_VOLUME = "lmcache-shm"


def isolated_connection(kv_transfer_config: dict[str, Any]) -> bool:
    """True when a parsed kv-transfer-config connects to an engine in isolated IPC mode
    (an absent key is the connector's default, false; strings read as the connector does)."""
    from lmcache_k8s.lmcache_cli import resolved_mirrored

    extra = kv_transfer_config.get("kv_connector_extra_config")
    return resolved_mirrored(extra if isinstance(extra, dict) else {})["lmcache.mp.isolated_ipc"]


def isolated_consumer(
    pod: dict[str, Any], base: str, shm_size_limit: str
) -> tuple[list[Issue], list[Issue]]:
    """Shape a consumer pod spec for an isolated-IPC engine, in place: (changes, warnings).

    `pod` is the pod spec; `base` the field path of that pod spec for messages; the limit a
    quantity such as "16Gi" (the engine's consumerShmSizeLimit, carried by its ConfigMap).
    A pod with `hostIPC: true` is left alone with a warning: it works (the host's /dev/shm
    serves vLLM) but needs the privileged Pod Security profile, and the post-renderer does
    not drop a host namespace the user asked for. Otherwise every container without a
    /dev/shm mount gets the memory-backed emptyDir `lmcache-shm` there (a change each);
    a /dev/shm that is not memory-backed is kept with a warning.
    """
    changes: list[Issue] = []
    warnings: list[Issue] = []
    if pod.get("hostIPC") is True:
        warnings.append(
            Issue(
                f"{base}.hostIPC",
                "kept, but not needed: its engine runs with isolated IPC (no host IPC"
                " namespace), and hostIPC fails the Pod Security baseline profile; remove it"
                " to run under baseline",
            )
        )
        return changes, warnings
    volumes = pod.get("volumes")
    if volumes is None:
        volumes = []
    if not isinstance(volumes, list):
        return changes, warnings  # not a list: the Kubernetes schema rejects it
    by_name = {v.get("name"): v for v in volumes if isinstance(v, dict)}
    added = False
    for index, c in enumerate(containers(pod)):
        mounts = c.get("volumeMounts")
        if mounts is None:
            mounts = []
        if not isinstance(mounts, list):
            continue
        shm = [m for m in mounts if isinstance(m, dict) and mount_path(m) == SHM]
        if shm:
            volume = by_name.get(shm[0].get("name")) or {}
            if (volume.get("emptyDir") or {}).get("medium") != "Memory":
                warnings.append(
                    Issue(
                        f"{base}.containers[{index}].volumeMounts",
                        f"{SHM} is not a memory-backed emptyDir: vLLM's shared buffers would"
                        " live on the node's disk; use an emptyDir with medium: Memory",
                    )
                )
            continue
        mounts.append({"name": SHM_VOLUME, "mountPath": SHM})
        c["volumeMounts"] = mounts
        added = True
        changes.append(
            Issue(
                f"{base}.containers[{index}].volumeMounts",
                f"mounted {SHM_VOLUME} at {SHM}: its engine runs with isolated IPC, which needs"
                " a private memory-backed /dev/shm instead of the host's",
            )
        )
    if added and SHM_VOLUME not in by_name:
        volumes.append(
            {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shm_size_limit}}
        )
        pod["volumes"] = volumes
        changes.append(
            Issue(
                f"{base}.volumes",
                f"added {SHM_VOLUME}: a memory-backed emptyDir of {shm_size_limit} (the"
                " engine's consumerShmSizeLimit)",
            )
        )
    return changes, warnings
