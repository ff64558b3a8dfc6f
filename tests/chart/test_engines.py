"""The chart's LMCache engine objects (SPEC 2.1-2.5), asserted exactly.

The post-renderer reads these objects back and must leave them unchanged, so the shapes
checked here (argv tokens, env order, probes, resources) are a contract, not a style.
"""

from __future__ import annotations

import json

import pytest

from postrender.consumers import CHECKSUM_PREFIX
from tests.chart.helpers import (
    args,
    container,
    engine,
    flag_value,
    notes,
    ok,
    pod_spec,
    rendered,
)
from tests.support import HELMS, NAMESPACE, RELEASE

helms = pytest.mark.parametrize("helm", HELMS)

DEFAULT_ARGS = [
    "--host", "0.0.0.0",
    "--port", "5555",
    "--http-host", "0.0.0.0",
    "--http-port", "8080",
    "--l1-size-gb", "60.0",
    "--chunk-size", "256",
    "--max-workers", "1",
    "--hash-algorithm", "blake3",
    "--eviction-policy", "LRU",
    "--eviction-trigger-watermark", "0.8",
    "--eviction-ratio", "0.2",
]  # fmt: skip

SELECTOR = {
    "app.kubernetes.io/name": "lmcache",
    "app.kubernetes.io/instance": RELEASE,
    "app.kubernetes.io/component": "cache-engine",
    "lmcache.ai/engine": "my-cache",
}


def one(helm: str = "helm3", **fields):
    """Render a single engine `my-cache` with `fields`."""
    return ok({"engines": {"my-cache": engine(**fields)}}, helm)


def daemonset(helm: str = "helm3", **fields):
    return one(helm, **fields).get("DaemonSet", "my-cache")


# --- objects, names, labels -----------------------------------------------------------------


@helms
def test_a_minimal_engine_renders_daemonset_services_and_connection_configmap(helm):
    assert one(helm).refs() == [
        "NetworkPolicy/my-cache",
        "ConfigMap/my-cache-connection",
        "Service/my-cache-metrics",
        "Service/my-cache",
        "DaemonSet/my-cache",
    ]


def test_every_object_is_in_the_release_namespace_with_the_standard_labels():
    out = ok({"engines": {"my-cache": engine()}}, namespace="inference")
    for doc in out.docs:
        assert doc["metadata"]["namespace"] == "inference"
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"].startswith("lmcache-")
        assert "app.kubernetes.io/version" in labels
        assert {k: labels[k] for k in SELECTOR} == SELECTOR


def test_entries_render_in_sorted_key_order():
    out = ok({"engines": {name: engine() for name in ("zeta", "alpha", "mid")}})
    assert [d["metadata"]["name"] for d in out.docs if d["kind"] == "DaemonSet"] == [
        "alpha",
        "mid",
        "zeta",
    ]


def test_selector_and_pod_labels_are_the_selector_labels():
    ds = daemonset()
    assert ds["spec"]["selector"]["matchLabels"] == SELECTOR
    assert ds["spec"]["template"]["metadata"]["labels"] == SELECTOR


def test_pod_labels_are_added_but_never_override_selector_labels():
    ds = daemonset(
        podLabels={"app.kubernetes.io/name": "evil", "lmcache.ai/engine": "other", "team": "ml"}
    )
    assert ds["spec"]["template"]["metadata"]["labels"] == {**SELECTOR, "team": "ml"}
    assert ds["spec"]["selector"]["matchLabels"] == SELECTOR


def test_pod_annotations_go_on_the_pod_template():
    ds = daemonset(podAnnotations={"example.com/owner": "ml-platform"})
    assert ds["spec"]["template"]["metadata"]["annotations"] == {"example.com/owner": "ml-platform"}
    assert "annotations" not in daemonset()["spec"]["template"]["metadata"]


# --- the server's command line --------------------------------------------------------------


@helms
def test_default_args_are_exactly_the_spec_order(helm):
    ds = daemonset(helm)
    assert container(ds)["command"] == ["/opt/venv/bin/lmcache", "server"]
    assert args(ds) == DEFAULT_ARGS


def test_every_field_flows_into_its_flag():
    ds = daemonset(
        l1={"sizeGB": 12.5},
        server={"port": 6555, "httpPort": 6556, "chunkSize": 512, "maxWorkers": 4,
                "hashAlgorithm": "sha256_cbor"},
        eviction={"triggerWatermark": 1, "evictionRatio": 0.05},
    )  # fmt: skip
    assert args(ds) == [
        "--host", "0.0.0.0",
        "--port", "6555",
        "--http-host", "0.0.0.0",
        "--http-port", "6556",
        "--l1-size-gb", "12.5",
        "--chunk-size", "512",
        "--max-workers", "4",
        "--hash-algorithm", "sha256_cbor",
        "--eviction-policy", "LRU",
        "--eviction-trigger-watermark", "1.0",
        "--eviction-ratio", "0.05",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("size", "printed"), [(0.04, "0.04"), (1, "1.0"), (60, "60.0"), (0.5, "0.5"), (1.25, "1.25")]
)
def test_l1_size_is_printed_exactly_never_rounded(size, printed):
    assert flag_value(args(daemonset(l1={"sizeGB": size})), "--l1-size-gb") == printed


def test_disabled_metrics_add_disable_metrics_and_drop_the_metrics_service():
    out = one(prometheus={"enabled": False})
    assert args(out.get("DaemonSet", "my-cache")) == [*DEFAULT_ARGS, "--disable-metrics"]
    assert not out.has("Service", "my-cache-metrics")
    assert not out.has("ServiceMonitor", "my-cache")


def test_each_l2_backend_is_one_adapter_flag_with_compact_sorted_json():
    ds = daemonset(
        l2Backends=[
            {"type": "resp", "port": 6379, "host": "redis.cache", "password": "$(REDIS_PASSWORD)"},
            {"type": "fs", "path": "/mnt/l2", "sizeGB": 0.5},
        ]
    )
    tail = args(ds)[len(DEFAULT_ARGS) :]
    assert tail == [
        "--l2-adapter",
        '{"host":"redis.cache","password":"$(REDIS_PASSWORD)","port":6379,"type":"resp"}',
        "--l2-adapter",
        '{"path":"/mnt/l2","sizeGB":0.5,"type":"fs"}',
    ]


def test_a_secret_reaches_the_adapter_only_through_env_substitution():
    secret_env = {
        "name": "REDIS_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "redis-credentials", "key": "password"}},
    }
    ds = daemonset(l2Backends=[{"type": "resp", "password": "$(REDIS_PASSWORD)"}], env=[secret_env])
    assert flag_value(args(ds), "--l2-adapter") == '{"password":"$(REDIS_PASSWORD)","type":"resp"}'
    assert container(ds)["env"][-1] == secret_env


def test_explicit_coordinator_url_adds_the_coordinator_flags():
    ds = daemonset(coordinator={"url": "https://coord.example.com:9300"})
    assert args(ds)[len(DEFAULT_ARGS) :] == [
        "--coordinator-url", "https://coord.example.com:9300",
        "--coordinator-heartbeat-interval", "5",
    ]  # fmt: skip
    assert "annotations" not in ds["metadata"]


def test_event_reporting_adds_its_flag_after_the_heartbeat():
    ds = daemonset(
        coordinator={"url": "http://c:9300", "heartbeatInterval": 2, "l2EventReporting": True}
    )
    assert args(ds)[len(DEFAULT_ARGS) :] == [
        "--coordinator-url", "http://c:9300",
        "--coordinator-heartbeat-interval", "2",
        "--coordinator-event-reporting",
    ]  # fmt: skip


@helms
def test_coordinator_ref_resolves_to_the_service_url_on_that_coordinators_port(helm):
    out = ok(
        {
            "engines": {"my-cache": engine(coordinator={"ref": {"name": "fleet"}})},
            "coordinators": {"fleet": {"port": 9400}},
        },
        helm,
        namespace="inference",
    )
    ds = out.get("DaemonSet", "my-cache")
    assert flag_value(args(ds), "--coordinator-url") == "http://fleet.inference.svc:9400"
    assert ds["metadata"]["annotations"] == {"lmcache.ai/coordinator-ref": "fleet"}


def test_all_optional_flags_keep_the_spec_order_and_extra_args_come_last():
    ds = daemonset(
        prometheus={"enabled": False},
        l2Backends=[{"type": "resp"}],
        coordinator={"url": "http://c:9300", "l2EventReporting": True},
        extraArgs=["--log-file", "/tmp/x"],
    )
    assert args(ds)[len(DEFAULT_ARGS) :] == [
        "--disable-metrics",
        "--l2-adapter", '{"type":"resp"}',
        "--coordinator-url", "http://c:9300",
        "--coordinator-heartbeat-interval", "5",
        "--coordinator-event-reporting",
        "--log-file", "/tmp/x",
    ]  # fmt: skip


# --- env, ports, probes, security -----------------------------------------------------------


def test_env_order_is_log_level_nvidia_then_user_env():
    env = container(daemonset(logLevel="DEBUG", env=[{"name": "A", "value": "1"}]))["env"]
    assert env == [
        {"name": "LMCACHE_LOG_LEVEL", "value": "DEBUG"},
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
        {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "all"},
        {"name": "A", "value": "1"},
    ]


def test_a_coordinator_adds_the_advertise_ip_from_the_pod_ip_before_user_env():
    env = container(
        daemonset(coordinator={"url": "http://c:9300"}, env=[{"name": "A", "value": "1"}])
    )["env"]
    assert [e["name"] for e in env] == [
        "LMCACHE_LOG_LEVEL",
        "NVIDIA_VISIBLE_DEVICES",
        "NVIDIA_DRIVER_CAPABILITIES",
        "LMCACHE_COORDINATOR_ADVERTISE_IP",
        "A",
    ]
    assert env[3]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}


def test_ports_are_server_and_http():
    assert container(daemonset(server={"port": 6555, "httpPort": 7000}))["ports"] == [
        {"name": "server", "containerPort": 6555, "protocol": "TCP"},
        {"name": "http", "containerPort": 7000, "protocol": "TCP"},
    ]


def test_probes_are_tcp_on_the_server_port():
    c = container(daemonset())
    tcp = {"tcpSocket": {"port": "server"}}
    assert c["startupProbe"] == {
        **tcp,
        "initialDelaySeconds": 5,
        "periodSeconds": 5,
        "failureThreshold": 30,
    }
    assert c["livenessProbe"] == {**tcp, "periodSeconds": 10}
    assert c["readinessProbe"] == {**tcp, "periodSeconds": 5}


def test_pod_uses_host_ipc_and_neither_host_network_nor_a_shm_emptydir():
    ds = daemonset()
    spec = pod_spec(ds)
    assert spec["hostIPC"] is True
    assert "hostNetwork" not in spec
    assert "volumes" not in spec
    assert "volumeMounts" not in container(ds)


def test_the_engine_gets_no_api_token_unless_it_names_a_service_account():
    assert pod_spec(daemonset())["automountServiceAccountToken"] is False
    assert "automountServiceAccountToken" not in pod_spec(daemonset(serviceAccountName="sa"))


def test_user_volumes_and_mounts_are_rendered_as_given():
    volumes = [{"name": "l2", "hostPath": {"path": "/mnt/nvme"}}]
    mounts = [{"name": "l2", "mountPath": "/mnt/l2"}]
    ds = daemonset(volumes=volumes, volumeMounts=mounts)
    assert pod_spec(ds)["volumes"] == volumes
    assert container(ds)["volumeMounts"] == mounts


@pytest.mark.parametrize(("value", "expected"), [(None, True), (True, True), (False, False)])
def test_privileged_follows_the_spec_and_defaults_to_true(value, expected):
    fields = {} if value is None else {"privileged": value}
    assert container(daemonset(**fields))["securityContext"] == {"privileged": expected}


def test_runtime_class_defaults_to_nvidia_and_empty_string_omits_it():
    assert pod_spec(daemonset())["runtimeClassName"] == "nvidia"
    assert pod_spec(daemonset(runtimeClassName="kata"))["runtimeClassName"] == "kata"
    assert "runtimeClassName" not in pod_spec(daemonset(runtimeClassName=""))


def test_node_selector_defaults_to_gpu_nodes_is_replaced_whole_and_empty_removes_it():
    assert pod_spec(daemonset())["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    custom = {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert pod_spec(daemonset(nodeSelector=custom))["nodeSelector"] == custom
    assert "nodeSelector" not in pod_spec(daemonset(nodeSelector={}))


def test_scheduling_fields_are_rendered_when_set_and_absent_otherwise():
    fields = {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "priorityClassName": "system-node-critical",
        "serviceAccountName": "lmcache",
        "imagePullSecrets": [{"name": "regcred"}],
    }  # fmt: skip
    spec = pod_spec(daemonset(**fields))
    for key, value in fields.items():
        assert spec[key] == value, key
    bare = pod_spec(daemonset())
    assert not set(fields) & set(bare)


# --- image and resources --------------------------------------------------------------------


def test_image_defaults_and_a_tag():
    c = container(daemonset())
    assert c["image"] == "lmcache/vllm-openai:latest"
    assert c["imagePullPolicy"] == "IfNotPresent"
    c = container(daemonset(image={"repository": "lmcache/standalone", "tag": "v0.1.0",
                                   "pullPolicy": "Always"}))  # fmt: skip
    assert (c["image"], c["imagePullPolicy"]) == ("lmcache/standalone:v0.1.0", "Always")


def test_a_digest_tag_is_joined_with_an_at_sign():
    digest = "sha256:" + "ab" * 32
    c = container(daemonset(image={"tag": digest}))
    assert c["image"] == f"lmcache/vllm-openai@{digest}"


@pytest.mark.parametrize(
    ("size", "memory_request", "memory_limit"),
    [(60, "65Gi", "98Gi"), (0.5, "6Gi", "9Gi"), (0.04, "6Gi", "9Gi"), (1, "6Gi", "9Gi"),
     (100, "105Gi", "158Gi"), (2.3, "8Gi", "12Gi")],
)  # fmt: skip
def test_resources_follow_the_l1_size_formula(size, memory_request, memory_limit):
    ds = daemonset(l1={"sizeGB": size})
    assert container(ds)["resources"] == {
        "requests": {"cpu": "4", "memory": memory_request},
        "limits": {"memory": memory_limit},
    }
    assert "annotations" not in ds["metadata"]


def test_resource_overrides_are_rendered_verbatim_and_annotated():
    overrides = {
        "requests": {"cpu": "8", "memory": "80Gi"},
        "limits": {"cpu": "16", "memory": "120Gi", "nvidia.com/gpu": "1"},
    }
    ds = daemonset(resourceOverrides=overrides)
    assert container(ds)["resources"] == overrides
    assert ds["metadata"]["annotations"] == {"lmcache.ai/resource-overrides": "true"}


def test_no_gpu_is_claimed():
    resources = container(daemonset())["resources"]
    assert "nvidia.com/gpu" not in json.dumps(resources)


# --- Services -------------------------------------------------------------------------------


@helms
def test_service_is_node_local_cluster_ip_on_the_server_port(helm):
    svc = one(helm, server={"port": 6555}).get("Service", "my-cache")
    assert svc["spec"] == {
        "type": "ClusterIP",
        "internalTrafficPolicy": "Local",
        "selector": SELECTOR,
        "ports": [{"name": "server", "port": 6555, "targetPort": "server", "protocol": "TCP"}],
    }


def test_metrics_service_is_headless_and_targets_the_http_port():
    svc = one(prometheus={"port": 9191}).get("Service", "my-cache-metrics")
    assert svc["spec"] == {
        "clusterIP": "None",
        "selector": SELECTOR,
        "ports": [{"name": "metrics", "port": 9191, "targetPort": "http", "protocol": "TCP"}],
    }


# --- connection ConfigMap -------------------------------------------------------------------

CONNECTION = """{
  "kv_connector": "LMCacheMPConnector",
  "kv_connector_extra_config": {
    "lmcache.mp.hash_algorithm": "blake3",
    "lmcache.mp.host": "tcp://my-cache.inference.svc.cluster.local",
    "lmcache.mp.isolated_ipc": false,
    "lmcache.mp.port": "6555"
  },
  "kv_connector_module_path": "lmcache.integration.vllm.lmcache_mp_connector",
  "kv_role": "kv_both"
}"""


@helms
def test_connection_configmap_is_byte_exact(helm):
    out = ok({"engines": {"my-cache": engine(server={"port": 6555})}}, helm, namespace="inference")
    cm = out.get("ConfigMap", "my-cache-connection")
    assert cm["data"] == {"kv-transfer-config.json": CONNECTION}
    parsed = json.loads(CONNECTION)
    assert json.dumps(parsed, indent=2, sort_keys=True) == CONNECTION


def test_connection_host_uses_the_cluster_domain_value():
    out = ok({"clusterDomain": "corp.internal", "engines": {"my-cache": engine()}})
    data = json.loads(
        out.get("ConfigMap", "my-cache-connection")["data"]["kv-transfer-config.json"]
    )
    assert data["kv_connector_extra_config"] == {
        "lmcache.mp.hash_algorithm": "blake3",
        "lmcache.mp.host": f"tcp://my-cache.{NAMESPACE}.svc.corp.internal",
        "lmcache.mp.isolated_ipc": False,
        "lmcache.mp.port": "5555",
    }


def test_connection_carries_the_servers_hash_algorithm():
    # vLLM's KV events expose chunk hashes: they must be the server's --hash-algorithm.
    out = ok({"engines": {"my-cache": engine(server={"hashAlgorithm": "sha256_cbor"})}})
    data = json.loads(
        out.get("ConfigMap", "my-cache-connection")["data"]["kv-transfer-config.json"]
    )
    assert data["kv_connector_extra_config"]["lmcache.mp.hash_algorithm"] == "sha256_cbor"


# --- ServiceMonitor -------------------------------------------------------------------------

MONITORED = {"prometheus": {"serviceMonitor": {"enabled": True, "interval": "15s",
                                               "labels": {"release": "prom",
                                                          "app.kubernetes.io/name": "x"}}}}  # fmt: skip


@helms
def test_service_monitor_selects_only_the_metrics_service(helm):
    out = one(helm, **MONITORED)
    sm = out.get("ServiceMonitor", "my-cache")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "15s"}]
    wanted = sm["spec"]["selector"]["matchLabels"]
    metrics = out.get("Service", "my-cache-metrics")["metadata"]["labels"]
    main = out.get("Service", "my-cache")["metadata"]["labels"]
    assert wanted.items() <= metrics.items()
    assert not wanted.items() <= main.items()


def test_service_monitor_labels_are_added_but_cannot_override_selector_labels():
    labels = one(**MONITORED).get("ServiceMonitor", "my-cache")["metadata"]["labels"]
    assert labels["release"] == "prom"
    assert {k: labels[k] for k in SELECTOR} == SELECTOR


@helms
def test_service_monitor_without_the_api_fails_and_says_how_to_proceed(helm):
    out = rendered({"engines": {"my-cache": engine(**MONITORED)}}, helm, api_versions=())
    assert not out.ok
    assert "engines.my-cache.prometheus.serviceMonitor.enabled" in out.stderr
    assert "install the Prometheus Operator CRDs" in out.stderr
    assert "--api-versions monitoring.coreos.com/v1" in out.stderr


def test_trust_crds_exist_renders_the_service_monitor_without_the_api():
    monitored = {"prometheus": {"serviceMonitor": {"enabled": True, "trustCRDsExist": True}}}
    out = ok({"engines": {"my-cache": engine(**monitored)}}, api_versions=())
    assert out.get("ServiceMonitor", "my-cache")["spec"]["endpoints"][0]["interval"] == "30s"


def test_no_service_monitor_by_default():
    assert not one().has("ServiceMonitor", "my-cache")


# --- NOTES ----------------------------------------------------------------------------------


def test_notes_say_how_to_connect_vllm_and_warn_about_node_local_traffic():
    text = notes({"engines": {"my-cache": engine()}})
    assert "DaemonSet my-cache" in text
    assert "ConfigMap my-cache-connection" in text
    assert "hostIPC: true" in text
    assert "PYTHONHASHSEED=0" in text
    assert '--kv-transfer-config "$(cat /etc/lmcache/kv-transfer-config.json)"' in text
    assert "internalTrafficPolicy Local" in text
    assert "not ready" in text


def test_notes_say_which_vllm_workloads_roll_when_the_connection_changes():
    """Issue 9: consumers in the release roll by the post-renderer's checksum annotation;
    the NOTES say so, and how to roll one outside the release (found missing trying it)."""
    text = notes({"engines": {"my-cache": engine()}})
    assert f"{CHECKSUM_PREFIX}N-connection" in text
    assert "outside this release does not roll" in text
    assert "kubectl -n <namespace> rollout restart deployment/" in text


def test_notes_of_an_empty_release_say_what_to_add():
    assert "Nothing is deployed yet" in notes({})


# --- ipc mode -------------------------------------------------------------------------------


def test_host_ipc_is_the_default():
    ds = daemonset()
    assert pod_spec(ds)["hostIPC"] is True
    assert "--isolated-ipc" not in args(ds)


@helms
def test_isolated_ipc_drops_host_ipc_and_tells_server_and_vllm(helm):
    out = one(helm, ipc="isolated")
    ds = out.get("DaemonSet", "my-cache")
    assert "hostIPC" not in pod_spec(ds)
    assert args(ds) == [*DEFAULT_ARGS, "--isolated-ipc"]
    data = json.loads(
        out.get("ConfigMap", "my-cache-connection")["data"]["kv-transfer-config.json"]
    )
    assert data["kv_connector_extra_config"]["lmcache.mp.isolated_ipc"] is True


def test_an_isolated_engine_may_mount_its_own_dev_shm():
    shm = {
        "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}}],
        "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
    }
    ds = daemonset(ipc="isolated", **shm)
    assert {"name": "shm", "mountPath": "/dev/shm"} in container(ds)["volumeMounts"]


def test_notes_name_the_pod_security_profile_and_the_namespace_label():
    label = f"kubectl label namespace {NAMESPACE} pod-security.kubernetes.io/enforce="
    isolated = {"ipc": "isolated", "privileged": False}
    text = notes({"engines": {"a": engine(**isolated), "b": engine(**isolated)}})
    assert 'need the "baseline" profile' in text
    assert label + "baseline --overwrite" in text
    assert "LMCache issue #5168" in text
    # One host-mode (or privileged) engine makes the whole release need "privileged".
    text = notes({"engines": {"a": engine(**isolated), "b": engine()}})
    assert 'need the "privileged" profile\n(ipc: host or privileged: true in b)' in text
    assert label + "privileged --overwrite" in text


# --- gpuVendor -----------------------------------------------------------------------------

AMD_DEVICES = [
    {"name": "amd-kfd", "hostPath": {"path": "/dev/kfd", "type": "CharDevice"}},
    {"name": "amd-dri", "hostPath": {"path": "/dev/dri", "type": "Directory"}},
]


@helms
def test_an_amd_engine_has_no_nvidia_defaults_and_mounts_the_rocm_devices(helm):
    user = {"name": "models", "emptyDir": {}}
    ds = daemonset(
        helm,
        gpuVendor="amd",
        volumes=[user],
        volumeMounts=[{"name": "models", "mountPath": "/models"}],
    )
    pod = pod_spec(ds)
    assert "runtimeClassName" not in pod and "nodeSelector" not in pod
    assert not [e for e in container(ds)["env"] if e["name"].startswith("NVIDIA_")]
    assert pod["volumes"] == [*AMD_DEVICES, user]
    assert container(ds)["volumeMounts"] == [
        {"name": "amd-kfd", "mountPath": "/dev/kfd"},
        {"name": "amd-dri", "mountPath": "/dev/dri"},
        {"name": "models", "mountPath": "/models"},
    ]
    assert container(ds)["securityContext"] == {"privileged": True}
    assert "resources" in container(ds) and "amd.com/gpu" not in json.dumps(container(ds))


def test_an_amd_engine_takes_the_runtime_class_and_node_selector_it_is_given():
    pod = pod_spec(daemonset(gpuVendor="amd", runtimeClassName="rocm", nodeSelector={"g": "amd"}))
    assert pod["runtimeClassName"] == "rocm" and pod["nodeSelector"] == {"g": "amd"}


def test_an_explicit_nvidia_engine_renders_exactly_the_default():
    assert daemonset(gpuVendor="nvidia") == daemonset()


def test_a_cacheblend_engine_takes_gpu_vendor_too():
    from tests.chart.helpers import blend, ok

    out = ok({"cacheBlendEngines": {"cb": blend(gpuVendor="amd")}})
    pod = pod_spec(out.get("DaemonSet", "cb"))
    assert pod["volumes"][:2] == AMD_DEVICES and "runtimeClassName" not in pod


def test_notes_tell_an_amd_user_to_set_a_node_selector():
    from tests.chart.helpers import notes

    text = notes({"engines": {"my-cache": engine(gpuVendor="amd")}})
    assert "no nodeSelector is set, so the DaemonSet runs\n    on every node" in text
    labelled = notes({"engines": {"my-cache": engine(gpuVendor="amd", nodeSelector={"a": "b"})}})
    assert "gpuVendor: amd" in labelled and "runs on every node" not in labelled
    assert "gpuVendor" not in notes({"engines": {"my-cache": engine()}})
    # an AMD engine is never admitted by baseline, so its line does not suggest it
    assert "enforce label); ipc: isolated with privileged: false passes" not in text
    assert "enforce label); ipc: isolated with privileged: false passes" in notes(
        {"engines": {"my-cache": engine()}}
    )


def test_notes_tell_an_amd_user_the_default_image_is_built_for_cuda():
    from tests.chart.helpers import blend, notes

    cuda = "The image lmcache/vllm-openai is built for CUDA"
    assert cuda in notes({"engines": {"my-cache": engine(gpuVendor="amd")}})
    no_webhook = {"webhook": {"enabled": False}}
    assert cuda in notes({"cacheBlendEngines": {"cb": blend(gpuVendor="amd")}, **no_webhook})
    rocm = engine(gpuVendor="amd", image={"repository": "example.com/lmcache-rocm"})
    assert cuda not in notes({"engines": {"my-cache": rocm}})
    assert "built for CUDA" not in notes({"engines": {"my-cache": engine()}})


def test_notes_step_two_names_only_the_ipc_modes_the_release_has():
    from tests.chart.helpers import notes

    host = notes({"engines": {"a": engine()}})
    isolated = notes({"engines": {"a": engine(ipc="isolated", privileged=False)}})
    both = notes({"engines": {"a": engine(ipc="isolated"), "b": engine()}})
    assert "2. set hostIPC: true on the vLLM pod (CUDA IPC with the server needs it);\n" in host
    assert "2. give the vLLM pod a memory-backed emptyDir" in isolated
    assert "hostIPC: true" not in isolated
    assert "2. set hostIPC: true" in both and "for an engine\n     with ipc: isolated" in both
