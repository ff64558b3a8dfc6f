"""Suite-wide hooks for the runtime tier (tests/runtime).

Its tests run first, so the worker that starts its processes does so while the other worker
runs the rest of the suite. Its per-scenario summary is printed here because, under
pytest-xdist, only the controller writes the terminal, and it loads this conftest only.
"""

from __future__ import annotations


def pytest_collection_modifyitems(items) -> None:
    # A stable sort: the tier's tests move to the front, every other order is kept.
    items.sort(key=lambda item: "runtime_reports" not in getattr(item, "fixturenames", ()))


def pytest_terminal_summary(terminalreporter) -> None:
    summaries, tier = {}, ""
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []) or [])
            if "runtime_summary" in props:
                name = props["runtime_summary"].split(" (", 1)[0]
                summaries.setdefault(name, props["runtime_summary"])
                tier = props.get("runtime_tier") or tier
    if not summaries:
        return
    terminalreporter.section("runtime tier: what started and what answered")
    for _, line in sorted(summaries.items()):
        terminalreporter.line(line)
    if tier:
        terminalreporter.line(f"tier: {tier}")
