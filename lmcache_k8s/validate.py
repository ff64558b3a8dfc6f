"""Validate a values dict (or the values read back from a stream) against every rule."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from lmcache_k8s import relations
from lmcache_k8s.errors import Issue, from_validation_error
from lmcache_k8s.values import Values


def check_values(values: dict[str, Any]) -> list[Issue]:
    """Every error in `values` at once: field rules from the models, then relational rules."""
    issues: list[Issue] = []
    try:
        Values.model_validate(values)
    except ValidationError as exc:
        issues.extend(from_validation_error(exc))
    issues.extend(relations.errors(values))
    return issues


def warn_values(values: dict[str, Any]) -> list[Issue]:
    return relations.warnings(values)
