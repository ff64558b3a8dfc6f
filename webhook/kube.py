"""The Kubernetes API calls the webhook makes: GET a ConfigMap or a Namespace while it
serves, and DELETE its own MutatingWebhookConfiguration when the chart's pre-delete hook
runs it with --delete-configuration.

Raw httpx instead of a client library: one endpoint does not justify 160 MiB and half a
second of import time. The service-account token is read from disk on every request
because projected tokens are rotated by the kubelet; the CA bundle is re-read when its
file changes.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_TOKEN_FILE = SERVICE_ACCOUNT_DIR / "token"
DEFAULT_CA_FILE = SERVICE_ACCOUNT_DIR / "ca.crt"
NAMESPACE_FILE = SERVICE_ACCOUNT_DIR / "namespace"
# Admission has a 5 s budget in total; an API lookup must leave room for the rest.
DEFAULT_TIMEOUT = httpx.Timeout(2.0, connect=1.0)
USER_AGENT = "lmcache-webhook"


class KubeApiError(RuntimeError):
    """The API could not answer (5xx, 401, timeout, refused...). The webhook fails open."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KubeConfig:
    base_url: str
    token_file: Path
    ca_file: Path | None

    @classmethod
    def in_cluster(
        cls,
        *,
        api_url: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        environ: dict[str, str] | None = None,
    ) -> KubeConfig:
        """Where the API is and how to authenticate, as a pod sees it.

        Every part can be overridden so tests (and out-of-cluster debugging) can point
        the webhook at another server, token and CA.
        """
        env = os.environ if environ is None else environ
        if not api_url:
            host = env.get("KUBERNETES_SERVICE_HOST")
            port = env.get("KUBERNETES_SERVICE_PORT", "443")
            if not host:
                raise ValueError(
                    "KUBERNETES_SERVICE_HOST is not set: run in a pod or pass --kube-api-url"
                )
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"  # IPv6 literal
            api_url = f"https://{host}:{port}"
        return cls(
            base_url=api_url.rstrip("/"),
            token_file=Path(token_file) if token_file else DEFAULT_TOKEN_FILE,
            ca_file=Path(ca_file) if ca_file else DEFAULT_CA_FILE,
        )


def _file_signature(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class KubeClient:
    def __init__(
        self,
        config: KubeConfig,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._timeout = timeout
        self._transport = transport
        self._ca_signature: tuple[int, int, int] | None = None
        self._client: httpx.AsyncClient | None = None
        # Clients replaced after a CA change may still carry in-flight requests; they
        # are closed with this one.
        self._retired: list[httpx.AsyncClient] = []

    def _read_token(self) -> str:
        try:
            token = self.config.token_file.read_text().strip()
        except OSError as exc:
            raise KubeApiError(f"cannot read token {self.config.token_file}: {exc}") from None
        if not token:
            raise KubeApiError(f"token file {self.config.token_file} is empty")
        return token

    def token_readable(self) -> bool:
        try:
            return bool(self.config.token_file.read_text().strip())
        except OSError:
            return False

    def _http(self) -> httpx.AsyncClient:
        signature = _file_signature(self.config.ca_file)
        if self._client is not None and signature == self._ca_signature:
            return self._client
        if self._transport is not None:
            client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        else:
            try:
                verify = ssl.create_default_context(
                    cafile=str(self.config.ca_file) if self.config.ca_file else None
                )
            except (OSError, ssl.SSLError) as exc:
                raise KubeApiError(f"cannot load CA {self.config.ca_file}: {exc}") from None
            client = httpx.AsyncClient(verify=verify, timeout=self._timeout)
        if self._client is not None:
            log.info("kubernetes CA bundle changed; new connections use it")
            self._retired.append(self._client)
        self._client, self._ca_signature = client, signature
        return client

    async def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The ConfigMap, or None when it does not exist or may not be read (404/403)."""
        url = (
            f"{self.config.base_url}/api/v1/namespaces/{quote(namespace, safe='')}"
            f"/configmaps/{quote(name, safe='')}"
        )
        # 403 is expected: RBAC grants reads only where engines live, and a bare engine
        # name is first looked up in the pod's own namespace.
        return await self._get(url, absent=(403, 404))

    async def get_namespace(self, name: str) -> dict[str, Any] | None:
        """The Namespace, or None when it does not exist (404).

        A 403 raises KubeApiError: the chart's ClusterRole grants `get` on namespaces, so
        a refusal means the webhook cannot tell the namespace's Pod Security level.
        """
        url = f"{self.config.base_url}/api/v1/namespaces/{quote(name, safe='')}"
        return await self._get(url, absent=(404,))

    async def delete_mutating_webhook_configuration(self, name: str) -> bool:
        """DELETE the cluster-scoped MutatingWebhookConfiguration `name`.

        Returns True when it was deleted, False when it did not exist (404). Anything else
        (403 from a missing RBAC grant, 5xx, a timeout) raises KubeApiError.
        """
        url = (
            f"{self.config.base_url}/apis/admissionregistration.k8s.io/v1"
            f"/mutatingwebhookconfigurations/{quote(name, safe='')}"
        )
        try:
            response = await self._http().delete(url, headers=self._headers())
        except httpx.HTTPError as exc:
            raise KubeApiError(f"DELETE {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 202):
            raise KubeApiError(
                f"DELETE {url}: HTTP {response.status_code}: {response.text[:200]}",
                status=response.status_code,
            )
        return True

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._read_token()}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    async def _get(self, url: str, absent: tuple[int, ...]) -> dict[str, Any] | None:
        try:
            response = await self._http().get(url, headers=self._headers())
        except httpx.HTTPError as exc:
            raise KubeApiError(f"GET {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code in absent:
            return None
        if response.status_code != 200:
            raise KubeApiError(
                f"GET {url}: HTTP {response.status_code}: {response.text[:200]}",
                status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            raise KubeApiError(f"GET {url}: response is not JSON", status=200) from None
        if not isinstance(body, dict):
            raise KubeApiError(f"GET {url}: response is not an object", status=200)
        return body

    async def aclose(self) -> None:
        clients = [*self._retired, *([self._client] if self._client else [])]
        self._client, self._retired = None, []
        for client in clients:
            await client.aclose()


def own_namespace() -> str | None:
    """The namespace this pod runs in, from the service-account mount."""
    try:
        return NAMESPACE_FILE.read_text().strip() or None
    except OSError:
        return None
