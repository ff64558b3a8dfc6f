"""Fixtures for the plugin's tests: a fake API over real TLS, a kubeconfig, and a runner."""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kubectl_lmcache.cli import main
from kubectl_lmcache.commands.common import Context
from kubectl_lmcache.kube import connect
from kubectl_lmcache.timefmt import parse
from tests.fake_kube import FakeKube, FakeKubeState
from tests.webhook.pki import CertificateAuthority, write_pair

from .cluster import NOW, Cluster

TOKEN = "token-for-the-plugin"


@dataclass
class TLS:
    ca: CertificateAuthority
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="session")
def kube_tls(tmp_path_factory: pytest.TempPathFactory) -> TLS:
    directory = tmp_path_factory.mktemp("kube-tls")
    ca = CertificateAuthority("kubernetes-ca")
    issued = ca.issue("kube-apiserver", ("localhost", "kubernetes.default.svc"))
    cert, key = directory / "tls.crt", directory / "tls.key"
    write_pair(issued, cert, key)
    return TLS(ca, cert, key)


def write_kubeconfig(path: Path, url: str, ca_pem: bytes, *, user: str, namespace: str) -> Path:
    """A kubeconfig as `kubectl config` writes it: two contexts, the second one current."""
    ca_data = base64.b64encode(ca_pem).decode()
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {url}
    certificate-authority-data: {ca_data}
users:
{user}
contexts:
- name: fake
  context: {{cluster: fake, user: plugin-user, namespace: {namespace}}}
- name: fake-default-ns
  context: {{cluster: fake, user: plugin-user}}
current-context: fake
"""
    )
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Api:
    state: FakeKubeState
    url: str
    kubeconfig: Path
    cluster: Cluster
    now: datetime.datetime = field(default_factory=lambda: parse(NOW))
    sleeps: list[float] = field(default_factory=list)
    clock: float = 0.0
    on_sleep: list = field(default_factory=list)  # callables run at each sleep (state changes)

    def run(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.clock += seconds
            for change in self.on_sleep:
                change()

        ctx = Context(
            out, err, connect, now=lambda: self.now, monotonic=lambda: self.clock, sleep=sleep
        )
        code = main(["--kubeconfig", str(self.kubeconfig), *argv], context=ctx)
        return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def api(kube_tls: TLS, tmp_path: Path) -> Iterator[Api]:
    state = FakeKubeState(token=TOKEN)
    with FakeKube(state, kube_tls.cert_file, kube_tls.key_file) as server:
        user = f"- name: plugin-user\n  user: {{token: {TOKEN}}}"
        kubeconfig = write_kubeconfig(
            tmp_path / "kubeconfig", server.url, kube_tls.ca.pem, user=user, namespace="capture"
        )
        yield Api(state, server.url, kubeconfig, Cluster(state))
