"""Error and warning wording: a path into the values, then the rule, every problem at once."""

from __future__ import annotations

from lmcache_k8s.validate import check_values, warn_values


def messages(values: dict) -> list[str]:
    return [str(i) for i in check_values(values)]


def test_error_names_the_full_path_and_the_rule():
    assert messages({"engines": {"my-cache": {"l1": {"sizeGB": 0}}}}) == [
        "engines.my-cache.l1.sizeGB: must be greater than 0 (got 0)"
    ]


def test_every_error_is_reported_at_once():
    found = messages(
        {
            "engines": {
                "a": {"l1": {"sizeGB": -1}, "server": {"port": 80}, "logLevel": "TRACE"},
                "b": {"l1": {"sizeGB": 1}, "eviction": {"triggerWatermark": 1.5}},
            }
        }
    )
    assert sorted(found) == [
        "engines.a.l1.sizeGB: must be greater than 0 (got -1)",
        "engines.a.logLevel: must be one of DEBUG, INFO, WARNING or ERROR (got 'TRACE')",
        "engines.a.server.port: must be at least 1024 (got 80)",
        "engines.b.eviction.triggerWatermark: must be at most 1 (got 1.5)",
    ]


def test_unknown_keys_are_errors_but_adapter_keys_are_free_form():
    found = messages(
        {
            "engines": {
                "a": {
                    "l1": {"sizeGB": 1, "sizeGb": 2},
                    "l2Backends": [{"type": "redis", "url": "x"}],
                }
            }
        }
    )
    assert found == ["engines.a.l1.sizeGb: is not a known field (check the spelling)"]


def test_required_fields_and_wrong_types():
    assert messages({"engines": {"a": {}}}) == ["engines.a.l1: is required"]
    assert messages({"engines": {"a": {"l1": {"sizeGB": "60"}}}}) == [
        "engines.a.l1.sizeGB: must be a number (got '60')"
    ]


def test_relational_rules_report_even_when_fields_are_invalid():
    found = messages(
        {
            "engines": {"x": {"l1": {"sizeGB": 0}, "server": {"port": 6000, "httpPort": 6000}}},
            "coordinators": {"x": {}},
        }
    )
    assert "engines.x.server.httpPort: must differ from server.port (both 6000)" in found
    assert "coordinators.x: name already used by engines.x (their Services would collide)" in found
    assert "engines.x.l1.sizeGB: must be greater than 0 (got 0)" in found


def test_coordinator_reference_rules():
    found = messages(
        {
            "engines": {
                "a": {"l1": {"sizeGB": 1}, "coordinator": {"ref": {"name": "nope"}}},
                "b": {
                    "l1": {"sizeGB": 1},
                    "coordinator": {"ref": {"name": "c"}, "url": "http://c:1"},
                },
                "d": {
                    "l1": {"sizeGB": 1},
                    "server": {"chunkSize": 512},
                    "coordinator": {"ref": {"name": "c"}},
                },
            },
            "coordinators": {"c": {}},
        }
    )
    assert 'engines.a.coordinator.ref.name: no coordinator named "nope" in coordinators' in found
    assert "engines.b.coordinator: set exactly one of ref and url" in found
    assert (
        "coordinators.c.blendChunkSize: must equal the chunkSize of engines.d (512), which uses this"
        " coordinator (got 256)" in found
    )


def test_warnings_for_replicas_and_a_tight_instance_timeout():
    found = [
        str(w)
        for w in warn_values(
            {
                "engines": {
                    "a": {
                        "l1": {"sizeGB": 1},
                        "coordinator": {"ref": {"name": "c"}, "heartbeatInterval": 20},
                    }
                },
                "coordinators": {"c": {"replicas": 2}},
            }
        )
    ]
    assert len(found) == 2
    assert found[0].startswith(
        "coordinators.c.replicas: 2 replicas do not share the in-memory registry"
    )
    assert found[1].startswith(
        "coordinators.c.instanceTimeout: 30s is less than 3x the heartbeat interval"
    )


def test_valid_values_have_no_errors():
    assert messages({"engines": {"my-cache": {"l1": {"sizeGB": 0.04}}}}) == []
