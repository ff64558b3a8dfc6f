"""`lmcache-webhook --delete-configuration`, the chart's pre-delete hook, against a fake
Kubernetes API over real TLS."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from webhook.__main__ import main

from .conftest import make_tls_files
from .fake_kube import FakeKube, FakeKubeState

NAME = "rel-lmcache-webhook.llm"


@pytest.fixture
def api(tmp_path: Path):
    tls = make_tls_files(tmp_path / "kube", name="kubernetes")
    state = FakeKubeState(token="hook-token")
    token = tmp_path / "token"
    token.write_text("hook-token\n")
    with FakeKube(state, tls.cert_file, tls.key_file) as server:
        flags = ["--kube-api-url", server.url, "--kube-token-file", str(token)]
        yield state, [*flags, "--kube-ca-file", str(tls.ca_file)]


def _configuration(name: str) -> dict:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [],
    }


def test_deletes_only_the_named_configuration_and_is_idempotent(api, caplog):
    caplog.set_level(logging.INFO)
    state, flags = api
    state.put(_configuration(NAME))
    state.put(_configuration("someone-elses"))
    assert main(["--delete-configuration", NAME, *flags]) == 0
    names = {name for (plural, _, name) in state.objects if plural.startswith("mutating")}
    assert names == {"someone-elses"}
    # A second run (the hook retried, or the configuration was never created) succeeds.
    assert main(["--delete-configuration", NAME, *flags]) == 0
    assert f"MutatingWebhookConfiguration {NAME} was not there" in caplog.text


def test_a_refusal_fails_the_hook_and_says_why(api, caplog):
    state, flags = api
    state.put(_configuration(NAME))
    state.deny("delete", "mutatingwebhookconfigurations")
    assert main(["--delete-configuration", NAME, *flags]) == 1
    assert f"could not delete MutatingWebhookConfiguration {NAME}" in caplog.text
    assert "HTTP 403" in caplog.text
    assert any(name == NAME for (_, _, name) in state.objects)
