"""A stand-in for the Kubernetes API over real TLS, answering the way a real API server does.

What it serves, shaped like the recorded responses of a real v1.36 API server in
`tests/testdata/k8s-responses/` (list envelopes without per-item kind/apiVersion, Status
bodies for 401/403/404 with the same message wording):

- GET one object: `/api/v1/namespaces/NS/configmaps/NAME`, `/apis/apps/v1/.../NAME`;
- lists, in one namespace or across all, with `labelSelector` (=, ==, !=, exists, !key,
  in, notin), `fieldSelector` (=, ==, != on dotted paths) and `limit`/`continue` paging;
- the pod and service proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`), answered
  from canned responses;
- `/version`, and the legacy discovery documents (`/api`, `/api/v1`, `/apis`,
  `/apis/GROUP/VERSION`) for the kinds above, which Helm needs before `lookup` and
  `--dry-run=server` work;
- writes, for the handover of docs/migrate.md: POST (create; 409 when it exists), PATCH
  (`application/merge-patch+json`; a DaemonSet's or Deployment's `spec.selector` is
  immutable: 422 as the API server words it) and DELETE with `propagationPolicy`
  (`Orphan` strips the ownerReferences to the deleted object from its dependents, as the
  garbage collector does; `Background`/`Foreground` delete the dependents too). Objects of
  the reference operator's CRDs and ServiceMonitors are served like built-in kinds.

Authentication is a bearer token. RBAC is a set of denied (verb, resource, namespace)
triples. Every request is recorded, so tests can assert how many calls a command made.
Watch is not implemented.
"""

from __future__ import annotations

import copy
import json
import re
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

RECORDED = Path(__file__).resolve().parent / "testdata" / "k8s-responses"


@dataclass(frozen=True)
class Resource:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How the API server names the resource in messages: `daemonsets.apps`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES = {
    r.plural: r
    for r in (
        Resource("", "v1", "Pod", "pods"),
        Resource("", "v1", "ConfigMap", "configmaps"),
        # cluster-scoped: stored under namespace ""
        Resource("", "v1", "Namespace", "namespaces"),
        Resource("", "v1", "Service", "services"),
        Resource("", "v1", "Event", "events"),
        Resource("apps", "v1", "DaemonSet", "daemonsets"),
        Resource("apps", "v1", "Deployment", "deployments"),
        Resource("apps", "v1", "ReplicaSet", "replicasets"),
        Resource("apps", "v1", "StatefulSet", "statefulsets"),
        Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"),
        Resource("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
        Resource("lmcache.lmcache.ai", "v1alpha1", "LMCacheEngine", "lmcacheengines"),
        Resource("lmcache.lmcache.ai", "v1alpha1", "CacheBlendEngine", "cacheblendengines"),
        Resource("lmcache.lmcache.ai", "v1alpha1", "LMCacheCoordinator", "lmcachecoordinators"),
        # what the chart renders besides its workloads (the webhook's and the disruption budget)
        Resource("", "v1", "ServiceAccount", "serviceaccounts"),
        Resource("", "v1", "Secret", "secrets"),
        Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets"),
        Resource("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        Resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        Resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles"),
        Resource("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings"),
        Resource(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
        ),
        Resource("cert-manager.io", "v1", "Certificate", "certificates"),
        Resource("cert-manager.io", "v1", "Issuer", "issuers"),
        Resource("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
        Resource("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses"),
    )
}
BY_KIND = {r.kind: r for r in RESOURCES.values()}
# stored under namespace "" (GET /api/v1/namespaces/NAME, /apis/rbac.../clusterroles/NAME)
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "MutatingWebhookConfiguration",
        "RuntimeClass",
    }
)

_DISCOVERY = re.compile(r"^/(?:api|apis)(?:/(?P<rest>[^/]+(?:/[^/]+)?))?$")


def discovery(path: str) -> dict[str, Any] | None:
    """The legacy (unaggregated) discovery document at `path`, or None when it is none.

    client-go asks for aggregated discovery first and falls back to these when the answer
    is plain `application/json`, as a real API server older than 1.26 answers.
    """
    m = _DISCOVERY.match(path)
    if m is None:
        return None
    rest = m["rest"]
    if path.startswith("/api/") or path == "/api":
        if rest is None:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        group, version = "", rest
    else:
        groups: dict[str, list[str]] = {}
        for r in RESOURCES.values():
            if r.group and r.version not in groups.setdefault(r.group, []):
                groups[r.group].append(r.version)
        if rest is None:
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                        "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                    }
                    for g, vs in sorted(groups.items())
                ],
            }
        group, _, version = rest.partition("/")
        if not version:
            return None
    resources = [
        {
            "name": r.plural,
            "singularName": r.kind.lower(),
            "namespaced": r.kind not in CLUSTER_SCOPED,
            "kind": r.kind,
            "verbs": ["create", "delete", "get", "list", "patch"],
        }
        for r in RESOURCES.values()
        if (r.group, r.version) == (group, version)
    ]
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


_COLLECTION = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?"
    r"(?:/proxy(?P<proxy>/.*)?)?$"
)


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None):
    """A metav1.Status as the API server writes it (see status-403-list-daemonsets.json)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


# --- selectors ----------------------------------------------------------------------------
class SelectorError(ValueError):
    pass


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


_SET = re.compile(r"^(?P<key>[^\s!=()]+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)$")
_EQ = re.compile(r"^(?P<key>[^\s!=()]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=(),]*)$")
_EXISTS = re.compile(r"^(?P<neg>!?)(?P<key>[^\s!=(),]+)$")


def label_matcher(selector: str) -> Callable[[dict[str, str]], bool]:
    """A predicate for a label selector string; SelectorError when it does not parse."""
    tests: list[Callable[[dict[str, str]], bool]] = []
    for req in _split_requirements(selector):
        if m := _SET.match(req):
            key, values = m["key"], {v.strip() for v in m["values"].split(",") if v.strip()}
            if m["op"] == "in":
                tests.append(lambda lb, k=key, vs=values: lb.get(k) in vs)
            else:
                tests.append(lambda lb, k=key, vs=values: lb.get(k) not in vs)
        elif m := _EQ.match(req):
            key, value = m["key"], m["value"]
            if m["op"] == "!=":
                tests.append(lambda lb, k=key, v=value: lb.get(k) != v)
            else:
                tests.append(lambda lb, k=key, v=value: k in lb and lb[k] == v)
        elif m := _EXISTS.match(req):
            key = m["key"]
            if m["neg"]:
                tests.append(lambda lb, k=key: k not in lb)
            else:
                tests.append(lambda lb, k=key: k in lb)
        else:
            raise SelectorError(f"unable to parse requirement: {req!r}")
    return lambda labels: all(t(labels) for t in tests)


def _dig(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def field_matcher(selector: str) -> Callable[[dict[str, Any]], bool]:
    tests = []
    for req in _split_requirements(selector):
        m = _EQ.match(req)
        if not m:
            raise SelectorError(f"invalid field selector: {req!r}")
        path, op, value = m["key"], m["op"], m["value"]
        if op == "!=":
            tests.append(lambda o, p=path, v=value: _dig(o, p) != v)
        else:
            tests.append(lambda o, p=path, v=value: _dig(o, p) == v)
    return lambda obj: all(t(obj) for t in tests)


# --- state --------------------------------------------------------------------------------
@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int


ProxyAnswer = tuple[int, Any] | Callable[[], tuple[int, Any]]


@dataclass
class FakeKubeState:
    token: str
    user: str = "system:serviceaccount:capture:nobody"
    # (plural, namespace, name) -> object, stored with kind and apiVersion
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    # namespaces where every request is refused (the webhook's RBAC tests)
    forbidden_namespaces: set[str] = field(default_factory=set)
    # (verb, plural, namespace or "" for the cluster scope) denied; "*" as namespace: all
    denied: set[tuple[str, str, str]] = field(default_factory=set)
    fail_status: int | None = None
    # (plural "pods"/"services", namespace, name, port, path) -> (status, JSON or text)
    proxy: dict[tuple[str, str, str, str, str], ProxyAnswer] = field(default_factory=dict)
    # the webhook's view: (namespace, name, status) of every GET of one object
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    resource_version: int = 1000
    # benchmarks only: remember filtered lists (objects must not be changed in place then)
    cache_lists: bool = False
    _list_cache: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- objects ----------------------------------------------------------------------------
    def put(self, obj: dict[str, Any], *, namespace: str | None = None) -> dict[str, Any]:
        """Store an object (a deep copy). `namespace` fills in metadata.namespace if unset."""
        obj = copy.deepcopy(obj)
        resource = BY_KIND[obj["kind"]]
        obj.setdefault("apiVersion", resource.api_version)
        meta = obj.setdefault("metadata", {})
        if namespace is not None:
            meta.setdefault("namespace", namespace)
        with self.lock:
            self.resource_version += 1
            meta.setdefault("resourceVersion", str(self.resource_version))
            scope = meta.get("namespace", "")
            meta.setdefault("uid", f"uid-{resource.plural}-{scope}-{meta['name']}")
            self.objects[(resource.plural, scope, meta["name"])] = obj
        return obj

    def put_all(self, objects: Iterable[dict[str, Any]]) -> None:
        for obj in objects:
            self.put(obj)

    def load_list(self, recorded: dict[str, Any]) -> None:
        """Store every item of a recorded list response (items carry no kind of their own)."""
        kind = recorded["kind"].removesuffix("List")
        for item in recorded["items"]:
            self.put({"kind": kind, "apiVersion": recorded["apiVersion"], **item})

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        return self.objects[(BY_KIND[kind].plural, namespace, name)]

    def delete(self, kind: str, namespace: str, name: str) -> None:
        with self.lock:
            self.resource_version += 1
            self.objects.pop((BY_KIND[kind].plural, namespace, name), None)

    def put_configmap(self, namespace: str, name: str, data: dict[str, str]) -> None:
        self.put(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": data,
            }
        )

    def put_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """A Namespace (cluster-scoped: GET /api/v1/namespaces/NAME) with these labels."""
        self.put(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": dict(labels or {})},
            }
        )

    def delete_configmap(self, namespace: str, name: str) -> None:
        self.delete("ConfigMap", namespace, name)

    def deny(self, verb: str, plural: str, namespace: str = "*") -> None:
        self.denied.add((verb, plural, namespace))

    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)

    def calls_to(self, fragment: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if fragment in c.path]

    # -- writes (POST, PATCH, DELETE) ---------------------------------------------------------
    def write(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Answer a write. `body` is the decoded JSON request body (None when empty)."""
        with self.lock:
            m = _COLLECTION.match(path.rstrip("/"))
            if not m or m["plural"] not in RESOURCES or m["proxy"] is not None:
                return 404, status_body(
                    404, "NotFound", "the server could not find the requested resource", {}
                )
            resource = RESOURCES[m["plural"]]
            if (m["group"] or "", m["version"] or m["core"]) != (resource.group, resource.version):
                return 404, status_body(
                    404, "NotFound", "the server could not find the requested resource", {}
                )
            namespace, name = unquote(m["ns"] or ""), unquote(m["name"] or "")
            verb = {"POST": "create", "PATCH": "patch", "DELETE": "delete"}[method]
            denied = self._forbidden(verb, resource, namespace, name)
            if denied:
                return denied
            if method == "POST":
                return self._create(resource, namespace, body or {})
            current = self.objects.get((resource.plural, namespace, name))
            if current is None:
                return 404, status_body(
                    404,
                    "NotFound",
                    f'{resource.qualified} "{name}" not found',
                    {"name": name, "group": resource.group, "kind": resource.plural},
                )
            if method == "PATCH":
                return self._patch(resource, current, body or {})
            policy = query.get("propagationPolicy") or (body or {}).get("propagationPolicy")
            return self._delete(resource, current, policy or "Background")

    def _create(self, resource: Resource, namespace: str, obj: dict[str, Any]):
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", namespace)
        key = (resource.plural, meta["namespace"], meta.get("name", ""))
        if key in self.objects:
            return 409, status_body(
                409, "AlreadyExists", f'{resource.qualified} "{key[2]}" already exists'
            )
        obj = {**obj, "kind": resource.kind, "apiVersion": resource.api_version}
        return 201, self.put(obj)

    def _patch(self, resource: Resource, current: dict[str, Any], patch: dict[str, Any]):
        updated = merge_patch(copy.deepcopy(current), patch)
        meta = updated["metadata"]
        for key in ("uid", "name", "namespace", "creationTimestamp"):
            if key in current["metadata"]:
                meta[key] = current["metadata"][key]
        if resource.kind in ("DaemonSet", "Deployment"):
            before = (current.get("spec") or {}).get("selector")
            after = (updated.get("spec") or {}).get("selector")
            if before != after:
                message = (
                    f'{resource.kind}.{resource.group} "{meta["name"]}" is invalid:'
                    f" spec.selector: Invalid value: {json.dumps(after)}: field is immutable"
                )
                return 422, status_body(422, "Invalid", message, {"name": meta["name"]})
        self.resource_version += 1
        meta["resourceVersion"] = str(self.resource_version)
        self.objects[(resource.plural, meta.get("namespace", ""), meta["name"])] = updated
        return 200, updated

    def _delete(self, resource: Resource, obj: dict[str, Any], policy: str):
        meta = obj["metadata"]
        self.resource_version += 1
        self.objects.pop((resource.plural, meta.get("namespace", ""), meta["name"]), None)
        uid = meta.get("uid")
        for key, other in list(self.objects.items()):
            refs = other.get("metadata", {}).get("ownerReferences") or []
            if not any(r.get("uid") == uid for r in refs):
                continue
            if policy == "Orphan":
                kept = [r for r in refs if r.get("uid") != uid]
                if kept:
                    other["metadata"]["ownerReferences"] = kept
                else:
                    other["metadata"].pop("ownerReferences")
            elif key in self.objects:
                self._delete(RESOURCES[key[0]], other, policy)
        return 200, obj  # the API server answers a delete with the deleted object

    # -- answering --------------------------------------------------------------------------
    def _forbidden(
        self, verb: str, resource: Resource, namespace: str, name: str = "", sub: str = ""
    ) -> tuple[int, Any] | None:
        """A 403 worded as the RBAC authorizer words it, or None when allowed."""
        denied = namespace in self.forbidden_namespaces or any(
            (verb, resource.plural + (f"/{sub}" if sub else ""), ns) in self.denied
            for ns in (namespace, "*")
        )
        if not denied:
            return None
        target = resource.plural + (f"/{sub}" if sub else "")
        scope = f"in the namespace {json.dumps(namespace)}" if namespace else "at the cluster scope"
        subject = f"{resource.qualified} {json.dumps(name)}" if name else resource.qualified
        message = (
            f"{subject} is forbidden: User {json.dumps(self.user)} cannot {verb} resource"
            f" {json.dumps(target)} in API group {json.dumps(resource.group)} {scope}"
        )
        details: dict[str, Any] = {"name": name} if name else {}
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
        return 403, status_body(403, "Forbidden", message, details)

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            if self.fail_status is not None:
                self.requests.append(("", path.rsplit("/", 1)[-1], str(self.fail_status)))
                return self.fail_status, status_body(
                    self.fail_status, "InternalError", "an error on the server has occurred"
                )
            path = path.rstrip("/") or "/"
            if path == "/version":
                return 200, json.loads((RECORDED / "version.json").read_text())
            document = discovery(path)
            if document is not None:
                return 200, document
            m = _COLLECTION.match(path)
            if not m or m["plural"] not in RESOURCES:
                return 404, status_body(
                    404, "NotFound", "the server could not find the requested resource", {}
                )
            resource = RESOURCES[m["plural"]]
            group = m["group"] or ""
            if (group, m["version"] or m["core"]) != (resource.group, resource.version):
                return 404, status_body(
                    404, "NotFound", "the server could not find the requested resource", {}
                )
            namespace = unquote(m["ns"] or "")
            name = unquote(m["name"] or "")
            if path.endswith("/proxy") or m["proxy"] is not None:
                return self._proxy(resource, namespace, name, m["proxy"] or "/")
            if name:
                return self._get(resource, namespace, name)
            return self._list(resource, namespace, query)

    def _get(self, resource: Resource, namespace: str, name: str) -> tuple[int, Any]:
        denied = self._forbidden("get", resource, namespace, name)
        if denied:
            self.requests.append((namespace, name, "403"))
            return denied
        obj = self.objects.get((resource.plural, namespace, name))
        if obj is None:
            self.requests.append((namespace, name, "404"))
            return 404, status_body(
                404,
                "NotFound",
                f'{resource.qualified} "{name}" not found',
                {"name": name, "group": resource.group, "kind": resource.plural}
                if resource.group
                else {"name": name, "kind": resource.plural},
            )
        self.requests.append((namespace, name, "200"))
        return 200, obj

    def _list(self, resource: Resource, namespace: str, query: dict[str, str]) -> tuple[int, Any]:
        denied = self._forbidden("list", resource, namespace)
        if denied:
            return denied
        key = (
            resource.plural,
            namespace,
            query.get("labelSelector", ""),
            query.get("fieldSelector", ""),
            str(self.resource_version),
        )
        items = self._list_cache.get(key) if self.cache_lists else None
        if items is None:
            try:
                items = self._select(resource, namespace, key[2], key[3])
            except SelectorError as exc:
                return 400, status_body(400, "BadRequest", str(exc))
            if self.cache_lists:
                self._list_cache[key] = items
        meta: dict[str, Any] = {"resourceVersion": str(self.resource_version)}
        start = int(query.get("continue") or 0)
        limit = int(query.get("limit") or 0)
        if limit:
            page = items[start : start + limit]
            if start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            items = page
        return 200, {
            "kind": resource.kind + "List",
            "apiVersion": resource.api_version,
            "metadata": meta,
            "items": items,
        }

    def _select(
        self, resource: Resource, namespace: str, label_selector: str, field_selector: str
    ) -> list[dict[str, Any]]:
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        items = []
        for (plural, ns, _name), obj in sorted(self.objects.items()):
            if plural != resource.plural or (namespace and ns != namespace):
                continue
            if not labels(obj["metadata"].get("labels") or {}) or not fields(obj):
                continue
            items.append({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
        return items

    def _proxy(self, resource: Resource, namespace: str, target: str, rest: str):
        denied = self._forbidden("get", resource, namespace, target, "proxy")
        if denied:
            return denied
        scheme_name_port = target.split(":")
        if len(scheme_name_port) == 3:  # scheme:name:port
            scheme_name_port = scheme_name_port[1:]
        name = scheme_name_port[0]
        port = scheme_name_port[1] if len(scheme_name_port) > 1 else ""
        if (resource.plural, namespace, name) not in self.objects:
            return 404, status_body(
                404,
                "NotFound",
                f'{resource.qualified} "{name}" not found',
                {"name": name, "kind": resource.plural},
            )
        answer = self.proxy.get((resource.plural, namespace, name, port, rest))
        if answer is None:
            # what the API server says when nothing listens behind the proxy
            return 503, status_body(
                503,
                "ServiceUnavailable",
                f"error trying to reach service: dial tcp 10.244.0.1:{port}: connect:"
                " connection refused",
            )
        return answer() if callable(answer) else answer


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: null removes a key, objects merge, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


def _handler(state: FakeKubeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body are two writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every response, as no real API server does
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def _send(self, status: int, body: Any) -> None:
            if isinstance(body, bytes | str):
                raw = body.encode() if isinstance(body, str) else body
                content_type = "text/plain; charset=utf-8"
            else:
                raw = json.dumps(body, separators=(",", ":")).encode()
                content_type = "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            # the API server takes the scheme in any case (client-go's in-cluster config
            # and the Python client's send "bearer")
            if scheme.lower() != "bearer" or token.strip() != state.token:
                status, body = 401, status_body(401, "Unauthorized", "Unauthorized")
                with state.lock:
                    state.requests.append(("", self.path, "401"))
            else:
                status, body = state.answer(parts.path, query)
            with state.lock:
                state.calls.append(Call("GET", parts.path, query, status))
            self._send(status, body)

        def _write(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or token.strip() != state.token:
                status, body = 401, status_body(401, "Unauthorized", "Unauthorized")
            elif self.command == "PATCH" and "merge-patch" not in (
                self.headers.get("Content-Type") or ""
            ):
                status, body = (
                    415,
                    status_body(
                        415, "UnsupportedMediaType", "only application/merge-patch+json is served"
                    ),
                )
            else:
                try:
                    decoded = json.loads(raw) if raw else None
                except ValueError as exc:
                    status, body = 400, status_body(400, "BadRequest", str(exc))
                else:
                    status, body = state.write(self.command, parts.path, query, decoded)
            with state.lock:
                state.calls.append(Call(self.command, parts.path, query, status))
            self._send(status, body)

        do_POST = do_PATCH = do_DELETE = _write  # noqa: N815

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
