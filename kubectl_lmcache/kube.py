"""The thin layer between the plugin and the Kubernetes API: lists and proxied GETs, raw JSON.

Connection settings come from the official `kubernetes` client, so kubeconfig files (the
`KUBECONFIG` list merged, contexts, client certificates, `exec` credential plugins of
`client.authentication.k8s.io/v1beta1` and `/v1`, as EKS and GKE write them) and in-cluster
service-account config behave as they do for kubectl. Responses are read as JSON, not as
the client's models: a list of thousands of pods decodes several times faster that way, and
the pure status functions work on the same dicts the recorded API responses hold.

Only two verbs are used: `list` (one call per kind, with a label selector, paged by 500 as
kubectl pages) and `get` on `pods/proxy` and `services/proxy` for `--probe`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
PAGE_SIZE = 500  # kubectl's --chunk-size default
USER_AGENT = "kubectl-lmcache"
INSTALL_HINT = "pip install 'lmcache-k8s[kubectl]'"


@dataclass(frozen=True)
class Kind:
    """A resource the plugin reads, spelled the way RBAC rules and API paths spell it."""

    kind: str
    plural: str
    group: str = ""  # "" is the core group
    version: str = "v1"

    @property
    def qualified(self) -> str:
        """`daemonsets.apps`, `pods`: the name in API messages and in `kubectl auth can-i`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None, name: str = "") -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        scope = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
        tail = f"/{quote(name, safe=':')}" if name else ""
        return f"{root}{scope}/{self.plural}{tail}"


PODS = Kind("Pod", "pods")
SERVICES = Kind("Service", "services")
CONFIGMAPS = Kind("ConfigMap", "configmaps")
EVENTS = Kind("Event", "events")
DAEMONSETS = Kind("DaemonSet", "daemonsets", "apps")
DEPLOYMENTS = Kind("Deployment", "deployments", "apps")


# --- errors -------------------------------------------------------------------------------
class KubeError(Exception):
    """Anything that stops the plugin from reading the cluster; str() is for the user."""


class NoClusterError(KubeError):
    """No kubeconfig and not in a pod, or a kubeconfig that names no usable cluster."""


class UnreachableError(KubeError):
    """The API server did not answer (refused, TLS failure, timeout)."""


class ApiStatusError(KubeError):
    """The API server answered with an error Status (401, 403, 404, 5xx...)."""

    def __init__(
        self, code: int, reason: str, message: str, verb: str, kind: Kind, namespace: str | None
    ) -> None:
        self.code, self.reason, self.api_message = code, reason, message
        self.verb, self.kind, self.namespace = verb, kind, namespace
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f'in namespace "{self.namespace}"' if self.namespace else "in all namespaces"
        if self.code == 403:
            # the API server's own sentence names the user; ours names what to grant
            said = self.api_message.partition(" is forbidden: ")[2] or self.api_message
            return (
                f"forbidden: cannot {self.verb} {self.kind.qualified} {where}: {said}"
                f' (RBAC verb "{self.verb}" on {self.kind.qualified} is needed)'
            )
        if self.code == 401:
            return f"the API server rejected the credentials (401 Unauthorized): {self.api_message}"
        return f"{self.verb} {self.kind.qualified} {where}: {self.code} {self.reason}: {self.api_message}"

    @property
    def short(self) -> str:
        """One clause for a table cell or a condition message."""
        reason = "forbidden" if self.code == 403 else f"{self.code} {self.reason}".strip()
        return f"cannot {self.verb} {self.kind.qualified}: {reason}"


def _status_error(
    code: int, body: bytes, verb: str, kind: Kind, namespace: str | None
) -> ApiStatusError:
    reason, message = "", body.decode("utf-8", "replace").strip()
    try:
        status = json.loads(body)
    except ValueError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        reason = str(status.get("reason") or "")
        message = str(status.get("message") or message)
    return ApiStatusError(code, reason, message or "(no message)", verb, kind, namespace)


# --- connecting ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """Where to connect, as the user chose it (flags, environment)."""

    kubeconfig: str | None = None  # --kubeconfig; else $KUBECONFIG; else ~/.kube/config
    context: str | None = None  # --context
    request_timeout: float = 30.0  # seconds per request
    service_account_dir: Path = SERVICE_ACCOUNT_DIR  # in-cluster token and CA


class Kube:
    """A connected API client. `list` and `proxy_get` are all the plugin needs."""

    def __init__(
        self, api_client: Any, namespace: str, server: str, request_timeout: float
    ) -> None:
        self._api = api_client
        self.namespace = namespace  # the context's namespace: the default for -n
        self.server = server
        self._timeout = request_timeout
        # what went wrong while getting credentials (an exec plugin that failed), shown
        # with a 401 because the client sends the request without them
        self.credential_problems: list[str] = []

    # -- raw calls --------------------------------------------------------------------------
    def _get(self, path: str, query: Mapping[str, str], verb: str, kind: Kind, ns: str | None):
        url = path + (f"?{urlencode(query)}" if query else "")
        try:
            method, full_url, headers, _body, _post = self._api.param_serialize(
                "GET",
                url,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = self._api.call_api(
                method, full_url, header_params=headers, _request_timeout=self._timeout
            )
            response.read()
        except KubeError:
            raise
        except Exception as exc:  # urllib3, ssl, exec plugin failures: all mean "no answer"
            raise UnreachableError(
                f"cannot reach the API server at {self.server}: {_cause(exc)}"
            ) from None
        if response.status >= 400:
            error = _status_error(response.status, response.data or b"", verb, kind, ns)
            if response.status == 401 and self.credential_problems:
                error.args = (
                    f"{error}; getting credentials failed: {'; '.join(self.credential_problems)}",
                )
            raise error
        return response.data or b""

    def list(
        self,
        kind: Kind,
        namespace: str | None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[dict[str, Any]]:
        """Every object of `kind` in `namespace` (None: all namespaces) matching the selectors.

        One logical call per kind, paged by PAGE_SIZE. Items come back as the API sends them
        (no `kind`/`apiVersion` per item). Raises ApiStatusError (403 names the verb and
        resource), UnreachableError.
        """
        items: list[dict[str, Any]] = []
        query = {"limit": str(PAGE_SIZE)}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        while True:
            page = json.loads(self._get(kind.path(namespace), query, "list", kind, namespace))
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            query["continue"] = token

    def proxy_get(self, kind: Kind, namespace: str, name: str, port: int | str, path: str) -> bytes:
        """GET `path` from a pod or service port through the API server's proxy.

        Needs RBAC verb `get` on `pods/proxy` or `services/proxy`; no network route to the
        pod is needed. Raises ApiStatusError (503 when nothing listens), UnreachableError.
        """
        url = kind.path(namespace, f"{name}:{port}") + "/proxy/" + path.lstrip("/")
        proxied = Kind(kind.kind, f"{kind.plural}/proxy", kind.group, kind.version)
        return self._get(url, {}, "get", proxied, namespace)

    def close(self) -> None:
        self._api.close()


class _CapturedLog(logging.Handler):
    """Collects the kubernetes client's log errors (instead of printing them as it does)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip())

    def __enter__(self) -> _CapturedLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def _cause(exc: BaseException) -> str:
    """The innermost useful reason (urllib3 wraps the socket error in MaxRetryError)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return _cause(reason)
    return str(exc) or type(exc).__name__


def _require_client() -> None:
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        raise KubeError(f"the Kubernetes client library is not installed: {INSTALL_HINT}") from None


def kubeconfig_paths(target: Target, environ: Mapping[str, str]) -> str:
    """kubectl's order: --kubeconfig, then $KUBECONFIG (a path list), then ~/.kube/config."""
    return target.kubeconfig or environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG


def _any_exists(paths: str) -> bool:
    return any(p and Path(p).expanduser().exists() for p in paths.split(os.pathsep))


def connect(target: Target, environ: Mapping[str, str] | None = None) -> Kube:
    """A client for the cluster the user means; raises NoClusterError or KubeError.

    A kubeconfig wins when one exists (or is named); otherwise, inside a pod, the
    service-account token and CA are used, as kubectl does.
    """
    env = os.environ if environ is None else environ
    _require_client()
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import ConfigException, kube_config
    from kubernetes.config.incluster_config import InClusterConfigLoader

    configuration = Configuration()
    configuration.retries = 0  # a status command must fail fast on a dead endpoint
    paths = kubeconfig_paths(target, env)
    if target.kubeconfig or _any_exists(paths):
        if target.kubeconfig and not _any_exists(paths):
            raise NoClusterError(f"the kubeconfig {target.kubeconfig} does not exist")
        try:
            contexts, current = kube_config.list_kube_config_contexts(config_file=paths)
            with _CapturedLog() as log:  # the client logs exec plugin failures, then goes on
                kube_config.load_kube_config(
                    config_file=paths,
                    context=target.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise NoClusterError(f"cannot use the kubeconfig {paths}: {exc}") from None
        except yaml.YAMLError as exc:  # not YAML at all: one line, not a traceback
            raise NoClusterError(f"the kubeconfig {paths} is not valid YAML: {exc}") from None
        credential_problems = log.messages
        name = target.context or (current or {}).get("name")
        context = next((c for c in contexts or [] if c.get("name") == name), {})
        namespace = (context.get("context") or {}).get("namespace") or "default"
    elif env.get("KUBERNETES_SERVICE_HOST"):
        credential_problems = []
        sa = target.service_account_dir
        try:
            InClusterConfigLoader(
                token_filename=str(sa / "token"), cert_filename=str(sa / "ca.crt"), environ=env
            ).load_and_set(client_configuration=configuration)
        except ConfigException as exc:
            raise NoClusterError(f"in-cluster config is unusable: {exc}") from None
        try:
            namespace = (sa / "namespace").read_text().strip() or "default"
        except OSError:
            namespace = "default"
    else:
        raise NoClusterError(
            f"no cluster: no kubeconfig at {paths} (set --kubeconfig or KUBECONFIG) and not"
            " running in a pod"
        )
    client = ApiClient(configuration=configuration)
    client.user_agent = USER_AGENT
    kube = Kube(client, namespace, configuration.host, target.request_timeout)
    kube.credential_problems = credential_problems
    return kube
