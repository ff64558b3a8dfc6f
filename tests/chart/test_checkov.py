"""checkov on the chart: it must scan something, and every finding is fixed or accepted.

The accepted findings, with their reasons, are the table in docs/security.md; this test
reads that table, so the document and the scan cannot drift apart.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import subprocess
from typing import Any

import pytest

from tests.support import ROOT

SECURITY_DOC = ROOT / "docs" / "security.md"
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


@functools.cache
def accepted() -> dict[str, list[str]]:
    """check id -> `folder/Kind` patterns from the table in docs/security.md."""
    text = SECURITY_DOC.read_text()
    table = text.split("<!-- BEGIN ACCEPTED FINDINGS -->")[1].split(
        "<!-- END ACCEPTED FINDINGS -->"
    )[0]
    out: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("CKV"):
            continue
        out[cells[0]] = re.findall(r"`([^`]+)`", cells[1])
    return out


@functools.cache
def report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed: run bash scripts/setup.sh")
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "checkov.sh")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def where(finding: dict[str, Any]) -> str:
    """`folder/Kind` of a finding: the template folder and the object kind."""
    folder = finding["file_path"].split("/templates/", 1)[-1].split("/", 1)[0]
    kind = finding["resource"].split(".", 1)[0]
    return f"{folder}/{kind}"


def test_checkov_scans_every_kind_of_object():
    summary = report()["summary"]
    assert summary["parsing_errors"] == 0
    # Engines, blend engines, a coordinator and the webhook: a scan of nothing passes vacuously.
    assert summary["resource_count"] >= 20, summary
    kinds = {where(f) for f in report()["results"]["passed_checks"]}
    for expected in ("engines/DaemonSet", "coordinators/Deployment", "webhook/Deployment"):
        assert expected in kinds


def test_every_finding_is_fixed_or_accepted_in_docs_security():
    unexplained = []
    for finding in report()["results"]["failed_checks"]:
        patterns = accepted().get(finding["check_id"], [])
        if not any(fnmatch.fnmatchcase(where(finding), p) for p in patterns):
            unexplained.append(f"{finding['check_id']} {where(finding)} {finding['resource']}")
    assert not unexplained, (
        "checkov findings neither fixed nor accepted in docs/security.md:\n"
        + "\n".join(unexplained)
    )


def test_every_accepted_finding_still_occurs():
    """An accepted finding that no longer occurs was fixed: take it out of the table."""
    seen = {f["check_id"] for f in report()["results"]["failed_checks"]}
    assert set(accepted()) <= seen, sorted(set(accepted()) - seen)
