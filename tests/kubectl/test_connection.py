"""Reaching the cluster as kubectl does: kubeconfig contexts, exec plugins, in-cluster config."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_lmcache.cli import main
from kubectl_lmcache.commands.common import Context
from kubectl_lmcache.kube import DAEMONSETS, NoClusterError, Target, connect
from tests.support import ROOT

from .conftest import TOKEN, Api, write_kubeconfig

EXEC_PLUGIN = """#!/bin/sh
# an exec credential plugin, as `aws eks get-token` or gke-gcloud-auth-plugin behave
echo "called with $1" >> "$PLUGIN_LOG"
cat <<JSON
{"apiVersion": "$API_VERSION", "kind": "ExecCredential",
 "status": {"token": "%s", "expirationTimestamp": "2099-01-01T00:00:00Z"}}
JSON
"""


def run_with(connector, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), context=Context(out, err, connector))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "api_version", ["client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1"]
)
def test_exec_credential_plugins_provide_the_token(api: Api, kube_tls, tmp_path: Path, api_version):
    api.cluster.install()
    plugin = tmp_path / "get-token"
    plugin.write_text(EXEC_PLUGIN % TOKEN)
    plugin.chmod(0o755)
    log = tmp_path / "plugin.log"
    user = f"""- name: plugin-user
  user:
    exec:
      apiVersion: {api_version}
      command: {plugin}
      args: [eks-cluster]
      interactiveMode: Never
      env:
      - {{name: API_VERSION, value: {api_version}}}
      - {{name: PLUGIN_LOG, value: {log}}}"""
    kubeconfig = write_kubeconfig(
        tmp_path / "exec-kubeconfig", api.url, kube_tls.ca.pem, user=user, namespace="capture"
    )
    code, out, err = run_with(connect, "--kubeconfig", str(kubeconfig), "get")
    assert code == 0, err
    assert "my-cache" in out
    assert log.read_text() == "called with eks-cluster\n"


def test_in_cluster_config_uses_the_service_account(api: Api, kube_tls, tmp_path: Path):
    api.cluster.install(namespace="llm")
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(TOKEN)
    (sa / "ca.crt").write_bytes(kube_tls.ca.pem)
    (sa / "namespace").write_text("llm")
    port = api.url.rsplit(":", 1)[1]
    environ = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": port,
        "KUBECONFIG": str(tmp_path / "absent"),
    }

    def in_cluster(target: Target):
        return connect(Target(service_account_dir=sa), environ=environ)

    kube = in_cluster(Target())
    assert kube.namespace == "llm"
    assert [d["metadata"]["name"] for d in kube.list(DAEMONSETS, "llm")] == ["blend", "my-cache"]
    code, out, err = run_with(in_cluster, "get")
    assert code == 0, err
    assert "my-coordinator" in out


def test_no_kubeconfig_and_no_pod_is_a_clear_error(tmp_path: Path):
    environ = {"KUBECONFIG": str(tmp_path / "absent")}
    with pytest.raises(NoClusterError) as caught:
        connect(Target(), environ=environ)
    assert str(caught.value) == (
        f"no cluster: no kubeconfig at {tmp_path / 'absent'} (set --kubeconfig or KUBECONFIG)"
        " and not running in a pod"
    )
    code, out, err = run_with(lambda t: connect(t, environ=environ), "get")
    assert (code, out) == (1, "")
    assert err.startswith("error: no cluster: no kubeconfig at")


def test_a_named_kubeconfig_that_does_not_exist_is_an_error(tmp_path: Path):
    code, _, err = run_with(connect, "--kubeconfig", str(tmp_path / "nope"), "get")
    assert (code, err) == (1, f"error: the kubeconfig {tmp_path / 'nope'} does not exist\n")


def test_kubeconfig_is_a_path_list_like_kubectls(api: Api, tmp_path: Path):
    api.cluster.install()
    environ = {"KUBECONFIG": f"{tmp_path / 'first-missing'}{os.pathsep}{api.kubeconfig}"}
    kube = connect(Target(), environ=environ)
    assert kube.namespace == "capture"
    assert len(kube.list(DAEMONSETS, "capture")) == 2


def test_an_unreachable_api_server_fails_fast(kube_tls, tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    kubeconfig = write_kubeconfig(
        tmp_path / "kc",
        url,
        kube_tls.ca.pem,
        user=f"- name: plugin-user\n  user: {{token: {TOKEN}}}",
        namespace="x",
    )
    code, _, err = run_with(connect, "--kubeconfig", str(kubeconfig), "get")
    assert code == 1
    assert err.startswith(f"error: cannot reach the API server at {url}:")
    assert "refused" in err.lower()


def test_rejected_credentials_are_named(api: Api):
    api.state.token = "someone-else"
    result = api.run("get")
    assert result.code == 1
    assert (
        result.err
        == "error: the API server rejected the credentials (401 Unauthorized): Unauthorized\n"
    )


def test_the_console_script_is_a_kubectl_plugin(api: Api):
    """kubectl finds `kubectl-lmcache` on PATH and runs it as `kubectl lmcache`."""
    api.cluster.install()
    exe = ROOT / ".venv" / "bin" / "kubectl-lmcache"
    assert exe.exists(), "pip install -e '.[kubectl]' installs the console script"
    proc = subprocess.run(
        [str(exe), "get", "--kubeconfig", str(api.kubeconfig), "-o", "wide"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].split()[:3] == ["NAME", "KIND", "PHASE"]
    helped = subprocess.run(
        [sys.executable, "-m", "kubectl_lmcache", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0
    assert [w for w in ("get", "describe", "wait") if f"\n    {w} " in helped.stdout] == [
        "get",
        "describe",
        "wait",
    ]


def test_a_failing_exec_plugin_is_named_with_the_401(api: Api, kube_tls, tmp_path: Path):
    plugin = tmp_path / "get-token"
    plugin.write_text("#!/bin/sh\necho 'the SSO session has expired' >&2\nexit 1\n")
    plugin.chmod(0o755)
    user = f"""- name: plugin-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {plugin}
      interactiveMode: Never"""
    kubeconfig = write_kubeconfig(
        tmp_path / "kc", api.url, kube_tls.ca.pem, user=user, namespace="capture"
    )
    code, _, err = run_with(connect, "--kubeconfig", str(kubeconfig), "get")
    assert code == 1
    assert err.startswith("error: the API server rejected the credentials (401 Unauthorized)")
    assert "getting credentials failed:" in err
    assert "the SSO session has expired" in err


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("garbage: [\n", "is not valid YAML"),
        ("apiVersion: v1\nkind: Config\nclusters: 5\n", "cannot use the kubeconfig"),
    ],
)
def test_a_malformed_kubeconfig_is_one_line_not_a_traceback(tmp_path: Path, text, words):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, out, err = run_with(connect, "--kubeconfig", str(bad), "get")
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and words in err and "Traceback" not in err
