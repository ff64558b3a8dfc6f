"""ConfigValid on live objects: server defaults are no violation, real edits are."""

from __future__ import annotations

import copy

from kubectl_lmcache.configvalid import check, diff_paths, strip_server_fields, with_api_defaults

from .cluster import recorded


def live_manifests() -> list[dict]:
    """The recorded DaemonSet, Deployment and ConfigMap with only metadata and status removed:
    every default the API server filled in is still there."""
    out = []
    for name in ("list-daemonsets.json", "list-deployments.json", "list-configmaps.json"):
        data = recorded(name)
        for item in data["items"]:
            obj = {"apiVersion": data["apiVersion"], "kind": data["kind"][: -len("List")], **item}
            obj.pop("status", None)
            for key in (
                "managedFields",
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "generation",
            ):
                obj["metadata"].pop(key, None)
            out.append(obj)
    return out


def test_fix_ups_that_only_restate_api_defaults_do_not_fail_the_check():
    """The post-renderer rewrites probes that carry timeoutSeconds: 1 and the like; with the
    defaults applied to both sides nothing differs, so the engine stays valid."""
    verdicts = check(live_manifests())
    assert verdicts["DaemonSet/my-cache"].valid, verdicts["DaemonSet/my-cache"].messages
    assert verdicts["Deployment/my-coordinator"].valid


def test_a_real_edit_fails_among_cosmetic_fix_ups_with_only_its_own_line():
    manifests = live_manifests()
    del manifests[0]["spec"]["template"]["spec"]["hostIPC"]
    verdict = check(manifests)["DaemonSet/my-cache"]
    assert not verdict.valid
    assert verdict.messages == [
        "DaemonSet/my-cache: spec.template.spec.hostIPC: set to true: vLLM and LMCache share"
        " KV data over CUDA IPC, which needs the host IPC namespace"
    ]


def test_a_changed_probe_is_a_real_change():
    manifests = live_manifests()
    probe = manifests[0]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    probe["periodSeconds"] = 60
    verdict = check(manifests)["DaemonSet/my-cache"]
    assert not verdict.valid
    assert verdict.messages[0].startswith(
        "DaemonSet/my-cache: spec.template.spec.containers[0].livenessProbe: set to the TCP check"
    )


def test_stripping_keeps_what_the_chart_wrote():
    ds = recorded("list-daemonsets.json")["items"][0]
    manifest = strip_server_fields(ds, "DaemonSet", "apps/v1")
    assert manifest["metadata"]["annotations"] == {
        "lmcache.ai/coordinator-ref": "my-coordinator",
        "meta.helm.sh/release-name": "cap",
        "meta.helm.sh/release-namespace": "capture",
    }
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"] == {"tcpSocket": {"port": "server"}, "periodSeconds": 10}
    assert "status" not in manifest and "managedFields" not in manifest["metadata"]
    assert ds["status"]["numberReady"] == 2  # the input is not modified


def test_api_defaults_fill_only_the_pod_template_and_leave_the_input_alone():
    ds = strip_server_fields(recorded("list-daemonsets.json")["items"][0], "DaemonSet", "apps/v1")
    before = copy.deepcopy(ds)
    defaulted = with_api_defaults(ds)
    assert ds == before
    assert diff_paths(ds, defaulted) == [
        f"spec.template.spec.containers[0].{probe}.{field}"
        for probe in ("livenessProbe", "readinessProbe", "startupProbe")
        for field in ("failureThreshold", "successThreshold", "timeoutSeconds")
        if not (probe == "startupProbe" and field == "failureThreshold")
    ]
