"""Times as kubectl shows them: RFC 3339 in, `5m`, `3h12m`, `2d` out."""

from __future__ import annotations

import datetime


def parse(timestamp: str) -> datetime.datetime | None:
    """An RFC 3339 timestamp from the API (`2026-11-29T18:07:35Z`, with or without fraction)."""
    if not timestamp:
        return None
    try:
        return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def sort_key(timestamp: str) -> datetime.datetime:
    """For max()/sorted() over API timestamps; a missing one sorts first."""
    return parse(timestamp) or EPOCH


def later(a: str, b: str) -> bool:
    """Is timestamp `a` after `b`? False when either is missing or malformed."""
    ta, tb = parse(a), parse(b)
    return ta is not None and tb is not None and ta > tb


def human_duration(seconds: float) -> str:
    """kubectl's AGE column: the same break points as its HumanDuration.

    Under 2 minutes in seconds; under 10 minutes as `XmYs`; under 3 hours in minutes;
    under 8 hours as `XhYm`; under 2 days in hours; under 8 days as `XdYh`; under 2 years
    in days; under 8 years as `XyYd`; then years.
    """
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    days = hours // 24
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return f"{days // 365}y" if days % 365 == 0 else f"{days // 365}y{days % 365}d"
    return f"{days // 365}y"


def age(timestamp: str, now: datetime.datetime) -> str:
    then = parse(timestamp)
    if then is None:
        return "<unknown>"
    return human_duration((now - then).total_seconds())


def parse_duration(text: str) -> float:
    """A Go duration (`5m`, `1m30s`, `90s`, `1h`, `500ms`) or plain seconds; ValueError if bad."""
    import re

    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 5m, 1h30m)")
    return sum(float(n) * units[u] for n, u in parts)
