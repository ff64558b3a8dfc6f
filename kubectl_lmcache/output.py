"""Printing: kubectl-style tables, operator-shaped JSON/YAML, and `describe` text."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

import yaml

from .model import Consumer, Endpoint, Status, WarningEvent
from .timefmt import age

GIB = 1024**3


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """Left-aligned columns three spaces apart, as kubectl's tabwriter prints them."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=True)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=True)]
        lines.append(indent + "   ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def gib(used: int | None, total: int | None) -> str:
    if used is None or total is None:
        return "-"
    return f"{used / GIB:.1f}/{total / GIB:.1f}GiB"


def _probe_columns(s: Status) -> list[str]:
    if not s.is_engine:
        registered = s.registered_instances
        shown = str(registered) if registered is not None else ("?" if s.coordinator_probe else "-")
        return ["-", "-", shown]
    probes = [e.probe for e in s.endpoints if e.probe is not None]
    answered = [p for p in probes if not p.error]
    if not probes:
        return ["-", "-", "-"]
    if not answered:
        return ["?", "?", "?"]
    used = [p.l1_used_bytes for p in answered if p.l1_used_bytes is not None]
    total = [p.l1_capacity_bytes for p in answered if p.l1_capacity_bytes is not None]
    sessions = [p.active_sessions for p in answered if p.active_sessions is not None]
    known = [p.registered for p in answered if p.registered is not None]
    return [
        gib(sum(used), sum(total)) if used and total else "-",
        str(sum(sessions)) if sessions else "-",
        f"{sum(known)}/{len(probes)}" if known else "-",
    ]


def get_table(
    statuses: list[Status],
    now: datetime.datetime,
    *,
    all_namespaces: bool,
    wide: bool,
    probed: bool,
) -> str:
    headers = ["NAME", "KIND", "PHASE", "READY", "DESIRED", "ENDPOINT", "AGE"]
    if all_namespaces:
        headers.insert(0, "NAMESPACE")
    if wide:
        headers += ["CONFIG", "RELEASE"]
    if probed:
        headers += ["L1-USED", "SESSIONS", "REGISTERED"]
    rows = []
    for s in statuses:
        row = [s.name, s.kind, s.phase, _count(s.ready), _count(s.desired), s.endpoint or "-"]
        row.append(age(s.created, now))
        if all_namespaces:
            row.insert(0, s.namespace)
        if wide:
            config = s.condition("ConfigValid")
            row += [config.reason if config else "-", s.release or "-"]
        if probed:
            row += _probe_columns(s)
        rows.append(row)
    return table(headers, rows)


def as_list(statuses: list[Status]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [s.to_object() for s in statuses],
    }


def dump(document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=4) + "\n"
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


# --- describe -----------------------------------------------------------------------------


def _field(label: str, value: Any, width: int = 14) -> str:
    return f"{label + ':':<{width}}{value}\n"


def _endpoint_row(e: Endpoint, probed: bool) -> list[str]:
    row = [
        e.node or "<none>",
        e.host_ip or "<none>",
        e.pod,
        _count(e.port),
        _count(e.metrics_port),
        "true" if e.ready else "false",
    ]
    if probed:
        p = e.probe
        if p is None or p.error:
            row += ["-", "-", "-", (p.error if p else "not probed")]
        else:
            registered = "-" if p.registered is None else ("yes" if p.registered else "NO")
            sessions = _count(p.active_sessions)
            row += [gib(p.l1_used_bytes, p.l1_capacity_bytes), sessions, registered, ""]
    return row


def describe(
    s: Status,
    now: datetime.datetime,
    *,
    consumers: list[Consumer] | None,
    events: list[WarningEvent],
    notes: list[str],
    probed: bool,
    coordinated_engines: list[str] | None = None,
) -> str:
    out = []
    out.append(_field("Name", s.name))
    out.append(_field("Namespace", s.namespace))
    out.append(_field("Kind", s.kind))
    release = s.release or "<none>"
    if s.chart:
        release += f" (chart {s.chart})"
    out.append(_field("Release", release))
    out.append(_field("Created", f"{s.created or '<unknown>'} ({age(s.created, now)} ago)"))
    workload = s.workload or "<missing>"
    if s.workload and s.generation is not None:
        workload += f" (generation {s.generation}, observed {_count(s.observed_generation)})"
    out.append(_field("Workload", workload))
    if s.is_engine:
        connection = s.endpoint or "<no connection ConfigMap>"
        if s.connection_hash:
            connection += f" (ConfigMap {s.name}-connection, hash {s.connection_hash})"
        out.append(_field("Connection", connection))
        out.append(_field("Coordinator", s.coordinator_url or "<none>"))
    else:
        out.append(_field("Endpoint", s.endpoint or "<unknown>"))
    out.append("Status:\n")
    out.append(_field("  Phase", s.phase, 24))
    if s.is_engine:
        out.append(_field("  Ready Instances", _count(s.ready), 24))
        out.append(_field("  Desired Instances", _count(s.desired), 24))
    else:
        out.append(_field("  Replicas", _count(s.desired), 24))
        out.append(_field("  Ready Replicas", _count(s.ready), 24))
        if probed:
            registered = (
                str(s.registered_instances)
                if s.registered_instances is not None
                else f"? ({s.coordinator_probe or 'not probed'})"
            )
            out.append(_field("  Registered", registered, 24))
    out.append(_field("  Observed Generation", _count(s.observed_generation), 24))
    out.append("Conditions:\n")
    out.append(
        table(
            ["Type", "Status", "Reason", "Message"],
            [[c.type, c.status, c.reason, c.message] for c in s.conditions],
            indent="  ",
        )
    )
    if s.is_engine:
        headers = ["NODE", "HOST IP", "POD", "PORT", "METRICS PORT", "READY"]
        if probed:
            headers += ["L1 USED", "SESSIONS", "REGISTERED", "PROBE ERROR"]
        if s.endpoints:
            out.append("Endpoints:\n")
            out.append(table(headers, [_endpoint_row(e, probed) for e in s.endpoints], "  "))
        else:
            out.append(_field("Endpoints", "<none>"))
    else:
        pods = [
            [
                p["metadata"]["name"],
                (p.get("spec") or {}).get("nodeName") or "<none>",
                (p.get("status") or {}).get("phase", ""),
            ]
            for p in s.pods
        ]
        out.append(
            "Pods:\n" + table(["POD", "NODE", "PHASE"], pods, "  ")
            if pods
            else _field("Pods", "<none>")
        )
        if coordinated_engines is not None:
            out.append(_field("Engines", ", ".join(coordinated_engines) or "<none>"))
    if consumers is not None:
        out.append(_consumers(consumers))
    if s.notes:
        out.append("Notes:\n" + "".join(f"  {n}\n" for n in s.notes))
    out.append(_events(events, now))
    if notes:
        out.append("Not checked:\n" + "".join(f"  {n}\n" for n in notes))
    return "".join(out)


def _consumers(consumers: list[Consumer]) -> str:
    if not consumers:
        return _field(
            "Consumers", "<none> (no pod mounts, references or was injected with this connection)"
        )
    rows = [
        [c.namespace, c.pod, c.node or "<none>", c.wiring, c.state, c.detail] for c in consumers
    ]
    out = [
        "Consumers:\n",
        table(["NAMESPACE", "POD", "NODE", "WIRING", "STATE", "DETAIL"], rows, "  "),
    ]
    for c in consumers:
        lines = []
        if c.state in ("stale", "unknown") and c.why:
            lines.append(c.why)
        lines.extend(c.problems)
        if c.roll:
            lines.append(f"roll {c.owner}: {c.roll}")
        if lines:
            out.append(f"  {c.namespace}/{c.pod}:\n" + "".join(f"    {line}\n" for line in lines))
    return "".join(out)


def _events(events: list[WarningEvent], now: datetime.datetime) -> str:
    if not events:
        return _field("Events", "<no Warning events>")
    rows = [[age(e.last_seen, now), str(e.count), e.reason, e.object, e.message] for e in events]
    return "Events (Warning):\n" + table(
        ["LAST SEEN", "COUNT", "REASON", "OBJECT", "MESSAGE"], rows, "  "
    )
