"""The command line the chart's Deployment is written against."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from webhook.__main__ import build_parser, build_server, main
from webhook.kube import KubeConfig
from webhook.resolver import EngineResolver
from webhook.server import create_app
from webhook.tls import ReloadingTLS

from .conftest import TLSFiles


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "TLS_CERT", "TLS_KEY", "ENGINE_NAMESPACE", "LOG_LEVEL"):
        monkeypatch.delenv(f"LMCACHE_WEBHOOK_{name}", raising=False)
    args = build_parser().parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 8443)
    assert (args.tls_cert, args.tls_key) == ("/tls/tls.crt", "/tls/tls.key")
    assert args.log_level == "INFO"
    assert args.cache_ttl == 30.0


def test_every_flag_is_accepted() -> None:
    args = build_parser().parse_args(
        [
            "--host=127.0.0.1",
            "--port=9443",
            "--tls-cert=/c",
            "--tls-key=/k",
            "--engine-namespace=llm",
            "--log-level=debug",
            "--cache-ttl=5",
        ]
    )
    assert (args.port, args.engine_namespace, args.log_level, args.cache_ttl) == (
        9443,
        "llm",
        "DEBUG",
        5.0,
    )


def test_environment_sets_flags_and_command_line_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMCACHE_WEBHOOK_ENGINE_NAMESPACE", "from-env")
    monkeypatch.setenv("LMCACHE_WEBHOOK_PORT", "10443")
    monkeypatch.setenv("LMCACHE_WEBHOOK_CACHE_TTL", "7.5")
    monkeypatch.setenv("LMCACHE_WEBHOOK_TLS_CERT", "/env/tls.crt")
    args = build_parser().parse_args(["--port", "11443"])
    assert args.engine_namespace == "from-env"
    assert args.port == 11443
    assert args.cache_ttl == 7.5
    assert args.tls_cert == "/env/tls.crt"


@pytest.mark.parametrize(
    "argv", [["--cache-ttl", "0"], ["--port", "x"], ["--log-level", "LOUD"], ["--nope"]]
)
def test_invalid_values_are_rejected(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2


def test_invalid_environment_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMCACHE_WEBHOOK_CACHE_TTL", "-1")
    with pytest.raises(SystemExit):
        build_parser().parse_args([])


def test_outside_a_pod_without_api_settings_exits_2(
    monkeypatch: pytest.MonkeyPatch, tls_files: TLSFiles
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    argv = ["--engine-namespace", "llm", "--tls-cert", str(tls_files.cert_file)]
    assert main([*argv, "--tls-key", str(tls_files.key_file)]) == 2


def test_missing_certificate_exits_2(tmp_path: Path) -> None:
    argv = ["--engine-namespace", "llm", "--kube-api-url", "https://127.0.0.1:1"]
    assert main([*argv, "--tls-cert", str(tmp_path / "no.crt"), "--tls-key", "no.key"]) == 2


def test_in_cluster_config_reads_service_environment(tmp_path: Path) -> None:
    config = KubeConfig.in_cluster(
        environ={"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"},
        token_file=tmp_path / "t",
        ca_file=tmp_path / "ca",
    )
    assert config.base_url == "https://[fd00::1]:6443"
    assert config.token_file == tmp_path / "t"
    assert config.ca_file == tmp_path / "ca"
    default = KubeConfig.in_cluster(environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert default.base_url == "https://10.0.0.1:443"
    assert str(default.token_file) == "/var/run/secrets/kubernetes.io/serviceaccount/token"


def test_sigterm_drains_before_exit(tls_files: TLSFiles) -> None:
    async def nothing(namespace: str, name: str) -> None:
        return None

    app = create_app(EngineResolver(nothing, engine_namespace="llm"))
    server = build_server(
        app,
        ReloadingTLS(tls_files.cert_file, tls_files.key_file),
        host="127.0.0.1",
        port=0,
        shutdown_delay=0.2,
    )
    server.handle_exit(signal.SIGTERM, None)
    assert app.state.draining is True
    assert server.should_exit is False
    deadline = time.monotonic() + 5
    while not server.should_exit and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.should_exit is True


def test_the_server_needs_no_test_or_benchmark_package() -> None:
    # jsonpatch and hypothesis are dev dependencies: the image installs only `[webhook]`.
    code = (
        "import sys, webhook.__main__, webhook.server, webhook.admission\n"
        "print(sorted({'jsonpatch', 'hypothesis', 'pytest'} & set(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"
