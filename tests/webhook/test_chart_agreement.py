"""The webhook and the chart agree on every accepted value of `injection`.

For generated `cacheBlendEngines.<name>.injection` values that the chart's model accepts,
the real Helm renders the chart, the webhook parses the `<name>-connection` ConfigMap the
chart wrote, and the settings it ends up with must be the ones the model gives for the
same values. The engine's own image is set to the payload image, so the chart's image
helper (`lmcache.image`) and the webhook's `image_reference` are held to the same
spelling too, digests included.

One `helm template` per example (about 0.15 s), hence few examples; the strategy aims
them at the edges: defaults left out, digests, repeated or empty names, odd characters.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmcache_k8s.fields import PullPolicy
from lmcache_k8s.names import CONNECTION_SUFFIX, INJECTION_CONFIG_KEY, KV_TRANSFER_CONFIG_KEY
from lmcache_k8s.values import InjectionSpec
from tests.support import NAMESPACE, render
from webhook.connection import parse_connection_data
from webhook.inject import image_reference

ENGINE = "blend"
MODES = get_args(InjectionSpec.model_fields["cudagraph"].annotation)

# Any non-empty string is a valid repository, tag or name to the model; the alphabet
# adds what JSON, YAML and Go's template functions escape or treat specially.
text = st.text(
    st.one_of(
        st.sampled_from("abz09-_./:@ "),
        st.sampled_from("\"'\\<>&#{}%*!?|\t"),
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=12,
)
tags = st.one_of(
    text,
    st.text("0123456789abcdef", min_size=64, max_size=64).map("sha256:".__add__),
    st.sampled_from(["latest", "1.0", "sha256:", "v0.3.1"]),
)
payload_images = st.fixed_dictionaries(
    {"repository": text},
    optional={"tag": tags, "pullPolicy": st.sampled_from(get_args(PullPolicy))},
)
pull_secrets = st.lists(
    st.fixed_dictionaries({"name": st.one_of(text, st.sampled_from(["a", "b"]))}), max_size=3
)
injections = st.fixed_dictionaries(
    {"payloadImage": payload_images},
    optional={
        "imagePullSecrets": st.one_of(st.none(), pull_secrets),
        "targetContainer": st.one_of(st.none(), st.just(""), text),
        "cudagraph": st.sampled_from(MODES),
    },
)


def render_engine(injection: dict[str, Any]) -> tuple[dict[str, str], str]:
    """(data of the engine's connection ConfigMap, image of its server container)."""
    image = {k: v for k, v in injection["payloadImage"].items() if k != "pullPolicy"}
    values = {
        "cacheBlendEngines": {ENGINE: {"l1": {"sizeGB": 1}, "image": image, "injection": injection}}
    }
    with tempfile.TemporaryDirectory() as tmp:
        # JSON is YAML whose strings are always quoted: no value changes type on the way,
        # as `y` or `0o7` would between PyYAML's dialect and Helm's.
        path = Path(tmp) / "values.yaml"
        path.write_text(json.dumps(values, ensure_ascii=False))
        rendered = render(values_files=[path])
    assert rendered.returncode == 0, rendered.stderr
    configmap = rendered.get("ConfigMap", ENGINE + CONNECTION_SUFFIX)
    daemonset = rendered.get("DaemonSet", ENGINE)
    return configmap["data"], daemonset["spec"]["template"]["spec"]["containers"][0]["image"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(injection=injections)
def test_the_webhook_reads_what_the_model_says_about_the_values(injection: dict) -> None:
    model = InjectionSpec.model_validate(injection)  # every generated value is accepted
    data, engine_image = render_engine(injection)
    assert INJECTION_CONFIG_KEY in data

    engine = parse_connection_data(NAMESPACE, ENGINE, data)

    assert engine.injection is not None
    assert engine.injection.payloadImage == model.payloadImage  # defaults included
    assert engine.injection.cudagraph == model.cudagraph
    # Each secret once, in order; an empty or absent target means the first container.
    names = [secret.name for secret in model.imagePullSecrets or ()]
    assert engine.image_pull_secrets == tuple(dict.fromkeys(names))
    assert engine.target_container == (model.targetContainer or None)
    assert image_reference(engine.injection.payloadImage) == engine_image
    # The connector JSON reaches vLLM unchanged but for its spelling.
    assert json.loads(engine.kv_transfer_config) == json.loads(data[KV_TRANSFER_CONFIG_KEY])
    assert json.loads(engine.kv_transfer_config)["kv_connector"] == "CBKVConnector"
