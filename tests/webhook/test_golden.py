"""Golden cases: each input pod + engine ConfigMap gives exactly the committed output pod.

Regenerate the outputs with `UPDATE_GOLDEN=1 bash scripts/test.sh tests/webhook`, then
read the diff before committing it.
"""

from __future__ import annotations

import copy
from typing import get_args

import kubernetes_validate
import pytest
import yaml

from lmcache_k8s.connection import connection_hash
from lmcache_k8s.names import CLIENT_OF_LABEL, CONNECTION_HASH_ANNOTATION, HASH_SEED_ENV
from lmcache_k8s.values import InjectionSpec
from webhook.constants import SKIP_REASONS
from webhook.inject import Injected, Skipped, decide, requested_engine
from webhook.modes import KEYS, MODES, Mode
from webhook.patch import make_patch

from .builders import apply_patch
from .goldens import UPDATE, Case, case_paths, dump_pod, load_case

CASES = [load_case(path) for path in case_paths()]
SKIP_CASES = [case for case in CASES if case.expect != "injected"]


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def run(case: Case) -> Injected | Skipped:
    before = copy.deepcopy(case.pod)
    outcome = decide(case.pod, case.engine, case.mode, case.enforce_level)
    assert case.pod == before, "decide() must not modify its input"
    if UPDATE:
        case.golden.write_text(f"# Generated from {case.path.name}: {case.description}\n")
        with case.golden.open("a") as out:
            out.write(dump_pod(outcome.pod))
    return outcome


def test_output_matches_golden_file(case: Case) -> None:
    outcome = run(case)
    assert case.golden.exists(), f"missing {case.golden.name}: run with UPDATE_GOLDEN=1"
    assert outcome.pod == yaml.safe_load(case.golden.read_text())


def test_outcome_is_the_one_the_case_declares(case: Case) -> None:
    outcome = run(case)
    if case.expect == "injected":
        assert isinstance(outcome, Injected)
        annotations = outcome.pod["metadata"]["annotations"]
        assert annotations[KEYS[case.mode].injected_annotation] == "true"
        assert case.engine is not None
        assert annotations[CONNECTION_HASH_ANNOTATION] == connection_hash(
            case.engine.kv_transfer_config
        )
        assert outcome.pod["metadata"]["labels"][CLIENT_OF_LABEL] == case.engine.name
    else:
        assert isinstance(outcome, Skipped)
        assert outcome.reason.value == case.expect


@pytest.mark.parametrize("skip_case", SKIP_CASES, ids=lambda case: case.name)
def test_a_skip_changes_nothing_but_the_skip_annotation(skip_case: Case) -> None:
    outcome = run(skip_case)
    assert isinstance(outcome, Skipped)
    expected = copy.deepcopy(skip_case.pod)
    annotation = KEYS[skip_case.mode].skip_reason_annotation
    expected["metadata"].setdefault("annotations", {})[annotation] = skip_case.expect
    assert outcome.pod == expected


def test_patch_turns_the_request_pod_into_the_golden_pod(case: Case) -> None:
    outcome = run(case)
    patch = make_patch(case.pod, outcome.pod)
    assert patch, "every case changes at least one annotation"
    assert apply_patch(case.pod, patch) == yaml.safe_load(case.golden.read_text())


@pytest.mark.parametrize("kubernetes", ["1.29", "1.33", "1.35"])
def test_output_is_a_valid_pod(case: Case, kubernetes: str) -> None:
    outcome = run(case)
    kubernetes_validate.validate(outcome.pod, kubernetes, strict=True)


def test_injected_container_has_the_hash_seed(case: Case) -> None:
    """Both modes: PYTHONHASHSEED=0 unless the container already set it, never twice."""
    outcome = run(case)
    if not isinstance(outcome, Injected):
        return
    container = next(c for c in outcome.pod["spec"]["containers"] if c["name"] == outcome.container)
    seeds = [e for e in container["env"] if e["name"] == HASH_SEED_ENV]
    assert len(seeds) == 1
    before = next(c for c in case.pod["spec"]["containers"] if c["name"] == outcome.container)
    kept = [e for e in before.get("env") or [] if e["name"] == HASH_SEED_ENV]
    assert seeds == (kept or [{"name": HASH_SEED_ENV, "value": "0"}])


def test_a_second_pass_over_an_injected_pod_is_a_no_op(case: Case) -> None:
    outcome = run(case)
    if isinstance(outcome, Injected):
        assert requested_engine(outcome.pod, case.mode) is None


def test_every_skip_reason_and_cudagraph_mode_has_a_case() -> None:
    expectations = {case.expect for case in CASES}
    assert set(SKIP_REASONS) <= expectations
    for mode in MODES:
        by_mode = {case.expect for case in CASES if case.mode == mode}
        assert {"injected", "dev-shm-emptydir", "command-override"} <= by_mode, mode
    modes = {
        case.engine.injection.cudagraph
        for case in CASES
        if case.engine and case.engine.injection and case.expect == "injected"
    }
    assert modes == set(get_args(InjectionSpec.model_fields["cudagraph"].annotation))


def test_no_golden_file_is_orphaned() -> None:
    goldens = {p.name for p in case_paths()[0].parent.glob("*.injected.yaml")}
    assert goldens == {case.golden.name for case in CASES}


def test_a_pod_with_both_labels_belongs_to_the_cacheblend_mode() -> None:
    """Whichever webhook the API server calls first, the LMCache path leaves it alone."""
    both = next(case for case in CASES if case.name == "both-labels")
    assert requested_engine(both.pod, Mode.CACHEBLEND) == "blend"
    assert requested_engine(both.pod, Mode.LMCACHE) is None
    injected = run(both)
    assert isinstance(injected, Injected)
    assert requested_engine(injected.pod, Mode.LMCACHE) is None
