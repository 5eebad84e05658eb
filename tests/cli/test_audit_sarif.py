"""SARIF of ``hardbase audit``: catalog rules, code scanning properties and fingerprints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import REPO
from hardbase.audit.run import AuditOptions, audit_paths
from hardbase.cli.audit import render_sarif
from hardbase.report.sarif import FINGERPRINT_KEY

CORPUS = REPO / "tests" / "assets" / "audit" / "corpus"


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    report = audit_paths(
        [CORPUS],
        ["docker run --privileged alpine"],
        AuditOptions(seccomp_root=CORPUS / "seccomp-root"),
    )
    log: dict[str, Any] = json.loads(render_sarif(report))
    run: dict[str, Any] = log["runs"][0]
    return run


def rule(run: dict[str, Any], rule_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == rule_id)
    return found


def test_rule_from_catalog(run: dict[str, Any]) -> None:
    privileged = rule(run, "HB-RUN-001")

    assert privileged["name"] == "Privileged container"
    assert privileged["properties"]["security-severity"] == "9.5"
    assert privileged["defaultConfiguration"]["level"] == "error"


def test_rule_help_uri_is_reference_url(run: dict[str, Any]) -> None:
    privileged = rule(run, "HB-RUN-001")

    assert privileged["helpUri"].startswith("https://kubernetes.io/")


def test_every_result_has_distinct_fingerprint(run: dict[str, Any]) -> None:
    prints = [result["partialFingerprints"][FINGERPRINT_KEY] for result in run["results"]]

    assert len(prints) > 1
    assert len(set(prints)) == len(prints)


def test_command_line_result_is_logical(run: dict[str, Any]) -> None:
    result = next(
        r
        for r in run["results"]
        if r["ruleId"] == "HB-RUN-001" and "physicalLocation" not in r["locations"][0]
    )

    logical = result["locations"][0]["logicalLocations"][0]
    assert logical == {"fullyQualifiedName": "--privileged", "kind": "member"}
