"""Problems as values: a path into the values plus a rule, printed all at once at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only annotations: the post-renderer's fast path does not load pydantic
    from pydantic import ValidationError


@dataclass(frozen=True, order=True)
class Issue:
    path: str  # dotted values path, e.g. engines.my-cache.l1.sizeGB
    message: str  # the rule, e.g. "must be greater than 0 (got 0)"
    where: str = ""  # the rendered object it was found on, e.g. DaemonSet/my-cache

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.path}: {self.message}"


def join_path(*parts: Any) -> str:
    return ".".join(str(p) for p in parts if p != "")


def _got(value: Any) -> str:
    return f" (got {value!r})" if isinstance(value, str) else f" (got {_number(value)})"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rule(err: dict[str, Any]) -> str:
    """Turn one pydantic error into the rule it broke, worded for values authors."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    bounds = {
        "greater_than": "must be greater than {gt}",
        "greater_than_equal": "must be at least {ge}",
        "less_than": "must be less than {lt}",
        "less_than_equal": "must be at most {le}",
    }
    if kind in bounds:
        return bounds[kind].format(**{k: _number(v) for k, v in ctx.items()}) + _got(value)
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field (check the spelling)"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        return f"must be one of {expected}{_got(value)}"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}{_got(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters{_got(value)}"
    types = {
        "int_type": "an integer",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "a string",
        "dict_type": "a map",
        "list_type": "a list",
        "model_type": "a map",
        "model_attributes_type": "a map",
    }
    if kind in types:
        return f"must be {types[kind]}{_got(value)}"
    return err["msg"] + _got(value)


def from_validation_error(exc: ValidationError, prefix: str = "", where: str = "") -> list[Issue]:
    issues = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        if loc and loc[-1] == "[key]":
            # pydantic reports a bad map key (pattern, length) at <map>.<key>.[key]
            loc = loc[:-1]
        issues.append(Issue(join_path(prefix, *loc), _rule(err), where))
    return issues
