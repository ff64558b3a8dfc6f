"""Fixtures shared by the webhook tests: certificates and a running webhook over TLS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from webhook.metrics import Metrics
from webhook.resolver import EngineResolver
from webhook.server import create_app
from webhook.tls import ReloadingTLS

from .builders import connection_data
from .pki import CertificateAuthority, Issued, write_pair
from .serving import RunningWebhook


@dataclass
class TLSFiles:
    ca: CertificateAuthority
    ca_file: Path
    cert_file: Path
    key_file: Path
    issued: Issued


def make_tls_files(directory: Path, name: str = "webhook") -> TLSFiles:
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority(f"{name}-ca")
    issued = ca.issue(f"{name}.llm.svc", ("localhost", f"{name}.llm.svc"))
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    write_pair(issued, cert_file, key_file)
    return TLSFiles(ca, ca.write(directory / "ca.crt"), cert_file, key_file, issued)


@pytest.fixture
def tls_files(tmp_path: Path) -> TLSFiles:
    return make_tls_files(tmp_path / "tls")


class MemoryConfigMaps:
    """An in-memory ConfigMap source for tests that are not about the API."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, str]] = {}
        self.calls = 0

    async def __call__(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.calls += 1
        data = self.data.get((namespace, name))
        return None if data is None else {"data": data}


@dataclass
class Webhook:
    url: str
    files: TLSFiles
    metrics: Metrics
    configmaps: MemoryConfigMaps


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    """One webhook over TLS for a module, with engine llm/blend known."""
    files = make_tls_files(tmp_path_factory.mktemp("webhook-tls"))
    configmaps = MemoryConfigMaps()
    configmaps.data[("llm", "blend-connection")] = connection_data()
    metrics = Metrics()
    resolver = EngineResolver(configmaps, engine_namespace="llm", ttl=300, metrics=metrics)
    app = create_app(resolver, metrics=metrics, body_timeout=1.0)
    with RunningWebhook(app, ReloadingTLS(files.cert_file, files.key_file)) as running:
        yield Webhook(running.url, files, metrics, configmaps)
