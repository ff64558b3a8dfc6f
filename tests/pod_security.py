"""A test-only evaluator of the Kubernetes Pod Security Standards "baseline" and "restricted".

No maintained implementation of the standards installs from PyPI (the reference one is the
Go module k8s.io/pod-security-admission), so this is a table of the baseline controls as
published at https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline
(policy version v1.35), and "restricted" adds the controls of the section below it on that
page: each control is a function of a pod spec and its annotations that
returns the violations it finds, phrased like the admission controller's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

ALLOWED_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def _contexts(pod: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "pod", pod.get("securityContext") or {}
    for c in _containers(pod):
        yield f"container {c.get('name')}", c.get("securityContext") or {}


def host_process(pod, _annotations):
    return [
        f"{w}: hostProcess"
        for w, ctx in _contexts(pod)
        if (ctx.get("windowsOptions") or {}).get("hostProcess")
    ]


def host_namespaces(pod, _annotations):
    return [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]


def privileged(pod, _annotations):
    return [f"{w}: privileged" for w, ctx in _contexts(pod) if w != "pod" and ctx.get("privileged")]


def capabilities(pod, _annotations):
    out = []
    for w, ctx in _contexts(pod):
        added = set((ctx.get("capabilities") or {}).get("add") or []) - ALLOWED_CAPABILITIES
        if added:
            out.append(f"{w}: non-default capabilities {sorted(added)}")
    return out


def host_path_volumes(pod, _annotations):
    return [f"hostPath volume {v.get('name')}" for v in pod.get("volumes") or [] if "hostPath" in v]


def host_ports(pod, _annotations):
    return [
        f"container {c.get('name')}: hostPort {p['hostPort']}"
        for c in _containers(pod)
        for p in c.get("ports") or []
        if p.get("hostPort")
    ]


def apparmor(pod, annotations):
    out = []
    for w, ctx in _contexts(pod):
        kind = (ctx.get("appArmorProfile") or {}).get("type")
        if kind not in (None, "RuntimeDefault", "Localhost"):
            out.append(f"{w}: appArmorProfile {kind}")
    for key, value in (annotations or {}).items():
        if key.startswith(APPARMOR_ANNOTATION) and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            out.append(f"annotation {key}={value}")
    return out


def selinux(pod, _annotations):
    out = []
    for w, ctx in _contexts(pod):
        options = ctx.get("seLinuxOptions") or {}
        if (
            options.get("type", "") not in SELINUX_TYPES
            or options.get("user")
            or options.get("role")
        ):
            out.append(f"{w}: seLinuxOptions {options}")
    return out


def proc_mount(pod, _annotations):
    return [
        f"{w}: procMount {ctx['procMount']}"
        for w, ctx in _contexts(pod)
        if ctx.get("procMount") not in (None, "Default")
    ]


def seccomp(pod, _annotations):
    return [
        f"{w}: seccompProfile Unconfined"
        for w, ctx in _contexts(pod)
        if (ctx.get("seccompProfile") or {}).get("type") == "Unconfined"
    ]


def sysctls(pod, _annotations):
    names = {s.get("name") for s in (pod.get("securityContext") or {}).get("sysctls") or []}
    return [f"unsafe sysctl {n}" for n in sorted(names - SAFE_SYSCTLS)]


BASELINE: dict[str, Callable[[dict, dict], list[str]]] = {
    "HostProcess": host_process,
    "Host Namespaces": host_namespaces,
    "Privileged Containers": privileged,
    "Capabilities": capabilities,
    "HostPath Volumes": host_path_volumes,
    "Host Ports": host_ports,
    "AppArmor": apparmor,
    "SELinux": selinux,
    "/proc Mount Type": proc_mount,
    "Seccomp": seccomp,
    "Sysctls": sysctls,
}


def baseline_violations(
    pod: dict[str, Any], annotations: dict[str, str] | None = None
) -> list[str]:
    """Every baseline control a pod spec breaks, as "<control>: <detail>"; [] when it passes."""
    return [
        f"{control}: {detail}"
        for control, check in BASELINE.items()
        for detail in check(pod, annotations or {})
    ]


# -- restricted: every baseline control, plus these ---------------------------------------
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip


def volume_types(pod, _annotations):
    out = []
    for v in pod.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            out.append(f"volume {v.get('name')}: {sorted(kinds - RESTRICTED_VOLUMES)}")
    return out


def _containers_only(pod):
    return [
        (f"container {c.get('name')}", c.get("securityContext") or {}) for c in _containers(pod)
    ]


def privilege_escalation(pod, _annotations):
    return [
        f"{w}: allowPrivilegeEscalation != false"
        for w, ctx in _containers_only(pod)
        if ctx.get("allowPrivilegeEscalation") is not False
    ]


def run_as_non_root(pod, _annotations):
    at_pod = (pod.get("securityContext") or {}).get("runAsNonRoot")
    return [
        f"{w}: runAsNonRoot != true"
        for w, ctx in _containers_only(pod)
        if ctx.get("runAsNonRoot", at_pod) is not True
    ]


def run_as_user(pod, _annotations):
    return [f"{w}: runAsUser=0" for w, ctx in _contexts(pod) if ctx.get("runAsUser") == 0]


def restricted_seccomp(pod, _annotations):
    at_pod = ((pod.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    return [
        f"{w}: seccompProfile unset"
        for w, ctx in _containers_only(pod)
        if (ctx.get("seccompProfile") or {}).get("type", at_pod)
        not in ("RuntimeDefault", "Localhost")
    ]


def restricted_capabilities(pod, _annotations):
    out = []
    for w, ctx in _containers_only(pod):
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{w}: capabilities not dropping ALL")
        added = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            out.append(f"{w}: adds {sorted(added)}")
    return out


RESTRICTED: dict[str, Callable[[dict, dict], list[str]]] = {
    **BASELINE,
    "Volume Types": volume_types,
    "Privilege Escalation": privilege_escalation,
    "Running as Non-root": run_as_non_root,
    "Running as Non-root user": run_as_user,
    "Seccomp (restricted)": restricted_seccomp,
    "Capabilities (restricted)": restricted_capabilities,
}


def violations(
    level: str, pod: dict[str, Any], annotations: dict[str, str] | None = None
) -> list[str]:
    """Every control of `level` ("privileged", "baseline", "restricted") a pod spec breaks."""
    table = {"privileged": {}, "baseline": BASELINE, "restricted": RESTRICTED}[level]
    return [
        f"{control}: {detail}"
        for control, check in table.items()
        for detail in check(pod, annotations or {})
    ]
