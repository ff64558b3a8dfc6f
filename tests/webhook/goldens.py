"""Loading the golden cases in testdata/: `<case>.yaml` in, `<case>.injected.yaml` out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from webhook.connection import EngineConfig, parse_connection_data
from webhook.modes import Mode

TESTDATA = Path(__file__).parent / "testdata"
GOLDEN_SUFFIX = ".injected.yaml"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
ENGINE_NAME = "blend"


@dataclass(frozen=True)
class Case:
    path: Path
    description: str
    expect: str  # "injected" or a skip reason
    namespace: str
    engine: EngineConfig | None
    pod: dict[str, Any]
    # `mode:` in the file, default cacheblend
    mode: Mode = Mode.CACHEBLEND
    # `podSecurityEnforce:` the namespace's pod-security.kubernetes.io/enforce, if labelled
    enforce_level: str | None = None

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".yaml")

    @property
    def golden(self) -> Path:
        return self.path.with_name(self.name + GOLDEN_SUFFIX)


def case_paths() -> list[Path]:
    return sorted(p for p in TESTDATA.glob("*.yaml") if not p.name.endswith(GOLDEN_SUFFIX))


def load_case(path: Path) -> Case:
    text = path.read_text()
    data = yaml.safe_load(text)
    first = text.splitlines()[0]
    engine = data.get("engine")
    return Case(
        path=path,
        description=first.lstrip("# ").strip(),
        expect=data["expect"],
        namespace=data["namespace"],
        engine=None
        if engine is None
        else parse_connection_data(data["namespace"], ENGINE_NAME, engine),
        pod=data["pod"],
        mode=Mode(data.get("mode", Mode.CACHEBLEND.value)),
        enforce_level=data.get("podSecurityEnforce"),
    )


def dump_pod(pod: dict[str, Any]) -> str:
    # Insertion order keeps the file readable next to its input; width avoids folding
    # the long JSON argument.
    return yaml.safe_dump(pod, sort_keys=False, width=10_000, default_flow_style=False)
