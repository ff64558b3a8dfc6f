"""The metric inventory: which names exist, and which names a PromQL expression uses.

`inventory.json` beside this module is written by scripts/metric_inventory.py from the real
processes (see its docstring for how each name is obtained). A dashboard or alert may use
a series name only when it is in there: a name one suffix off gives an empty panel and an
alert that never fires.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

INVENTORY_FILE = Path(__file__).resolve().parent / "inventory.json"


@functools.cache
def load() -> dict[str, Any]:
    """The parsed inventory.json; raises FileNotFoundError when it was never generated."""
    return json.loads(INVENTORY_FILE.read_text())


def series_names() -> dict[str, tuple[str, str]]:
    """Every exported series name -> (a source exporting it, how it was obtained there).

    Sources are engine, cacheblend-engine, coordinator, webhook and documented. A
    histogram contributes its _bucket, _count and _sum series, a counter its _total.
    """
    out: dict[str, tuple[str, str]] = {}
    for source, data in load()["sources"].items():
        for metric in data["metrics"].values():
            for sample in metric["samples"]:
                # A name observed on any process counts as observed (the default engine
                # declares the CacheBlend instruments too, but only a blend engine uses them).
                if sample not in out or (
                    metric["obtained"] == "observed" and out[sample][1] != "observed"
                ):
                    out[sample] = (source, metric["obtained"])
    return out


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects, found with a real PromQL parser.

    Uses promql-parser (a Rust port of Prometheus' parser): every vector and matrix
    selector's name, or its `__name__` equality matcher. Raises ValueError when the
    expression does not parse.
    """
    import promql_parser

    try:
        ast = promql_parser.parse(expr)
    except Exception as exc:  # the binding raises its own error types
        raise ValueError(f"does not parse: {expr!r}: {exc}") from exc
    names: set[str] = set()
    _walk(ast, names)
    return names


def _selector_name(selector: Any) -> str | None:
    if getattr(selector, "name", None):
        return selector.name
    for matcher in getattr(getattr(selector, "matchers", None), "matchers", []) or []:
        if matcher.name == "__name__" and str(matcher.op).endswith("Equal"):
            return matcher.value
    return None


def _walk(node: Any, names: set[str]) -> None:
    import promql_parser

    if isinstance(node, promql_parser.VectorSelector):
        name = _selector_name(node)
        if name:
            names.add(name)
        return
    if isinstance(node, promql_parser.MatrixSelector):
        _walk(node.vector_selector, names)
        return
    for attr in ("expr", "lhs", "rhs", "param"):
        child = getattr(node, attr, None)
        if child is not None and not isinstance(child, (str, int, float)):
            _walk(child, names)
    for arg in getattr(node, "args", None) or []:
        _walk(arg, names)
