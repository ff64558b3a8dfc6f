"""Properties of the patch over generated pods.

For any pod and engine: the patch applied to the request pod gives exactly the pod the
injector produced; sending that pod again produces no patch; the input is not modified;
JSON-pointer escaping is right; a flag the webhook owns appears once.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmcache_k8s.names import (
    CACHEBLEND_ENGINE_ANNOTATION,
    CACHEBLEND_INJECTED_ANNOTATION,
    CONNECTION_HASH_ANNOTATION,
)
from lmcache_k8s.values import InjectionSpec
from webhook.args import parse_flag
from webhook.connection import EngineConfig
from webhook.inject import Injected, decide, requested_engine
from webhook.patch import make_patch, same_json

from .builders import KV_TRANSFER_CONFIG, apply_patch

ARG_TOKENS = [
    "--kv-transfer-config=x",
    "--model",
    "Qwen/Qwen3-8B",
    "--block-size",
    "32",
    "--block_size=16",
    "--enforce-eager",
    "--enforce-eager=true",
    "--no-enforce-eager",
    "false",
    "-pp",
    "2",
    "--pipeline-parallel-size=4",
    "--enable-chunked-prefill",
    "--no-async-scheduling",
    "--async-scheduling",
    "--attention-backend=FLASH_ATTN",
    "--compilation-config",
    '{"level": 3}',
    "--compilation-config.cudagraph_mode=FULL",
    "{}",
    "--",
    "-1",
]
NAMES = ["vllm", "server", "sidecar"]
ANNOTATION_KEYS = [
    CACHEBLEND_ENGINE_ANNOTATION,
    "lmcache.ai/cacheblend-container",
    "lmcache.ai/cacheblend-skip-reason",
    "example.com/tilde~key",
    "plain",
]
INJECTED = CACHEBLEND_INJECTED_ANNOTATION
text = st.text(alphabet="abc/~:-_ ", max_size=8)


def named(items: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(items, max_size=3, unique_by=lambda item: item["name"])


env_var = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(["PYTHONPATH", "HF_HOME"]), "value": text}),
    st.fixed_dictionaries(
        {
            "name": st.just("PYTHONPATH"),
            "valueFrom": st.just({"configMapKeyRef": {"name": "c", "key": "k"}}),
        }
    ),
)
container = st.fixed_dictionaries(
    {"name": st.sampled_from(NAMES), "image": st.just("vllm/vllm-openai:v0.33.0")},
    optional={
        "args": st.lists(st.sampled_from(ARG_TOKENS), max_size=10),
        "command": st.sampled_from([[], [], [], ["sh", "-c"]]),
        "env": st.lists(env_var, max_size=3),
        "volumeMounts": named(
            st.fixed_dictionaries(
                {
                    "name": st.sampled_from(["cb-plugin", "data"]),
                    "mountPath": st.sampled_from(["/cb-plugin", "/data"]),
                }
            )
        ),
    },
)
pods = st.fixed_dictionaries(
    {
        "apiVersion": st.just("v1"),
        "kind": st.just("Pod"),
        "metadata": st.fixed_dictionaries(
            {"annotations": st.dictionaries(st.sampled_from(ANNOTATION_KEYS), text, max_size=4)},
            optional={
                "namespace": st.just("llm"),
                "managedFields": st.just([{"manager": "kubectl", "operation": "Update"}]),
            },
        ),
        "spec": st.fixed_dictionaries(
            {"containers": named(container).filter(bool)},
            optional={
                "volumes": named(
                    st.fixed_dictionaries(
                        {"name": st.sampled_from(["cb-plugin", "data"]), "emptyDir": st.just({})}
                    )
                ),
                "initContainers": named(
                    st.fixed_dictionaries(
                        {"name": st.sampled_from(["cb-plugin-stage", "init"]), "image": text}
                    )
                ),
                "imagePullSecrets": st.lists(
                    st.fixed_dictionaries({"name": st.sampled_from(["a", "b"])}), max_size=2
                ),
                "hostIPC": st.booleans(),
            },
        ),
    }
)
injections = st.builds(
    InjectionSpec.model_validate,
    st.fixed_dictionaries(
        {
            "payloadImage": st.sampled_from(
                [{"repository": "r/cb", "tag": "1"}, {"repository": "r/cb", "tag": "sha256:0"}]
            ),
            "cudagraph": st.sampled_from(["eager", "piecewise", "full_decode_only"]),
            "imagePullSecrets": st.lists(st.sampled_from(["a", "b", "c"])).map(
                lambda names: [{"name": name} for name in names]
            ),
            "targetContainer": st.sampled_from([None, None, *NAMES]),
        }
    ),
)
# One in three without injection settings: skipped with payload-image-unset.
engine_configs = st.builds(
    EngineConfig,
    namespace=st.just("llm"),
    name=st.just("blend"),
    kv_transfer_config=st.just('{"kv_role":"kv_both"}'),
    injection=st.one_of(injections, injections, st.none()),
)
# Mostly engines that exist: injections are the interesting case.
engines = st.tuples(st.sampled_from([True, True, True, False]), engine_configs).map(
    lambda pair: pair[1] if pair[0] else None
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(pod=pods, engine=engines)
def test_patch_applied_to_request_pod_gives_mutated_pod(pod: dict, engine: Any) -> None:
    snapshot = copy.deepcopy(pod)
    outcome = decide(pod, engine)
    patch = make_patch(pod, outcome.pod)
    assert pod == snapshot
    assert apply_patch(pod, patch) == outcome.pod


@SETTINGS
@given(pod=pods, engine=engines)
def test_resending_the_mutated_pod_yields_no_patch(pod: dict, engine: Any) -> None:
    first = decide(pod, engine).pod
    if requested_engine(first) is None:
        return  # stamped: the server allows it without a decision, hence without a patch
    assert make_patch(first, decide(first, engine).pod) == []


@SETTINGS
@given(pod=pods, engine=engines)
def test_patch_paths_escape_slashes_and_never_touch_managed_fields(pod: dict, engine: Any) -> None:
    for op in make_patch(pod, decide(pod, engine).pod):
        assert not op["path"].startswith("/metadata/managedFields")
        if op["path"].startswith("/metadata/annotations/"):
            key = op["path"].removeprefix("/metadata/annotations/")
            assert "/" not in key
            assert key.replace("~1", "/").replace("~0", "~") in [
                *ANNOTATION_KEYS,
                INJECTED,
                CONNECTION_HASH_ANNOTATION,
            ]


@SETTINGS
@given(pod=pods, engine=engines)
def test_owned_flags_appear_exactly_once_after_injection(pod: dict, engine: Any) -> None:
    outcome = decide(pod, engine)
    if not isinstance(outcome, Injected):
        return
    target = next(c for c in outcome.pod["spec"]["containers"] if c["name"] == outcome.container)
    args = target["args"]
    options = args[: args.index("--")] if "--" in args else args
    names = [flag[0] for token in options if (flag := parse_flag(token)) is not None]
    for flag in ("--attention-backend", "--kv-transfer-config", "--block-size"):
        assert names.count(flag) == 1
    assert names.count("--pipeline-parallel-size") == 1
    assert "--enable-chunked-prefill" not in names
    assert "--async-scheduling" not in names
    cudagraph = engine.injection.cudagraph
    assert names.count("--enforce-eager") == (1 if cudagraph == "eager" else 0)
    assert "--no-enforce-eager" not in names
    if cudagraph == "full_decode_only":
        assert names.count("--compilation-config") == 1


def test_patch_escapes_annotation_keys_concretely() -> None:
    pod = {"metadata": {"annotations": {}}, "spec": {}}
    mutated = {"metadata": {"annotations": {"lmcache.ai/cacheblend-injected": "true"}}, "spec": {}}
    assert make_patch(pod, mutated) == [
        {
            "op": "add",
            "path": "/metadata/annotations/lmcache.ai~1cacheblend-injected",
            "value": "true",
        }
    ]


def test_kv_config_fixture_is_the_spec_connector() -> None:
    assert KV_TRANSFER_CONFIG["kv_connector"] == "CBKVConnector"


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "a", "a/b", "~", "~1"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.sampled_from(["a", "b", "x/y", "m~n", ""]), inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(source=json_values, target=json_values)
def test_diff_of_any_two_documents_applies_exactly(source: Any, target: Any) -> None:
    """The diff is generic: it must be exact for arbitrary JSON, not only for pods."""
    document = {"root": source}
    wanted = {"root": target}
    result = apply_patch(document, make_patch(document, wanted))
    assert same_json(result, wanted)
