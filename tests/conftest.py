"""Suite-wide hooks. The runtime tier's per-scenario summary is printed here because, under
pytest-xdist, only the controller writes the terminal and it loads this conftest only."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter) -> None:
    summaries, tier = {}, ""
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            props = dict(getattr(report, "user_properties", []) or [])
            if "runtime_summary" in props:
                summaries.setdefault(
                    props["runtime_summary"].split(" (", 1)[0], props["runtime_summary"]
                )
                tier = props.get("runtime_tier") or tier
    if not summaries:
        return
    terminalreporter.section("runtime tier: what started and what answered")
    for _, line in sorted(summaries.items()):
        terminalreporter.line(line)
    if tier:
        terminalreporter.line(f"tier: {tier}")
