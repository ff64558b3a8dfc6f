"""Judge the values read back from one namespace by the chart's own rules.

The read-back entries of a namespace form one values dict (`engines`, `cacheBlendEngines`,
`coordinators`), which `lmcache_k8s.validate` checks exactly as Helm checks a values file;
each problem is then pinned to the object it was read from. The rules between a workload
and its side objects (`postrender.side_objects`) run on the same dict.
"""

from __future__ import annotations

from typing import Any

from lmcache_k8s.errors import Issue
from postrender.readback import ReadBack
from postrender.side_objects import check_side_objects

# `is required` alone would not say why a hand-written server needs the flag.
L1_REQUIRED = "is required (lmcache server refuses to start without --l1-size-gb)"


def check_namespace(readbacks: list[ReadBack]) -> tuple[list[Issue], list[Issue]]:
    """(errors, warnings) of one namespace's workloads, in the order they were found.

    Includes what reading each workload back revealed, an entry defined twice, every
    values rule and the side-object rules. Loads pydantic (lmcache_k8s.validate).
    """
    from lmcache_k8s.validate import check_values, warn_values  # pydantic: lazy

    values: dict[str, Any] = {"engines": {}, "cacheBlendEngines": {}, "coordinators": {}}
    owners: dict[str, str] = {}  # values path of an entry -> the object it was read from
    unobservable: set[str] = set()
    errors: list[Issue] = []
    warnings: list[Issue] = []
    for rb in readbacks:
        w = rb.workload
        errors.extend(rb.issues)
        warnings.extend(rb.notes)
        unobservable |= rb.unobservable
        if w.entry in values[w.values_map]:
            errors.append(Issue(w.base, f"also defined by {owners[w.base]}", w.obj.ref))
            continue
        values[w.values_map][w.entry] = rb.entry
        owners[w.base] = w.obj.ref
    for issue in check_values(values):
        if issue.message == "is required" and issue.path in unobservable:
            continue
        if issue.message == "is required" and issue.path.endswith(".l1.sizeGB"):
            issue = Issue(issue.path, L1_REQUIRED, issue.where)
        errors.append(_locate(issue, owners))
    for issue in warn_values(values):
        warnings.append(_locate(issue, owners))
    errors.extend(check_side_objects(readbacks, values["coordinators"]))
    return errors, warnings


def _locate(issue: Issue, owners: dict[str, str]) -> Issue:
    """Pin a values-path issue to the object its entry was read from (the longest match)."""
    if issue.where:
        return issue
    best = ""
    for base in owners:
        if (issue.path == base or issue.path.startswith(base + ".")) and len(base) > len(best):
            best = base
    return Issue(issue.path, issue.message, owners.get(best, ""))
