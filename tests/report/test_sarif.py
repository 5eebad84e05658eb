"""SARIF output of a real scan report: structure, GitHub code scanning properties, suppressions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_sarif_fixture import scan_report

from hardbase.report.sarif import FINGERPRINT_KEY, render_sarif


@pytest.fixture(scope="module")
def log() -> dict[str, Any]:
    return json.loads(render_sarif(scan_report()))


def results_by_id(log: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for result in log["runs"][0]["results"]:
        found.setdefault(result["ruleId"], []).append(result)
    return found


def test_sarif_one_run_of_hardbase(log: dict[str, Any]) -> None:
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    assert log["runs"][0]["tool"]["driver"]["name"] == "hardbase"


def test_sarif_rule_per_id(log: dict[str, Any]) -> None:
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert ids == sorted(set(ids), key=ids.index)
    assert set(ids) == {
        "CVE-2023-5678",
        "CVE-2024-2961",
        "CVE-2024-0727",
        "CVE-2023-4154",
        "HB-USER-001",
    }


def test_sarif_rule_index_points_at_rule(log: dict[str, Any]) -> None:
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    for result in log["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_security_severity_and_level(log: dict[str, Any]) -> None:
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["CVE-2024-2961"]["properties"]["security-severity"] == "8.0"
    assert rules["CVE-2023-5678"]["properties"]["security-severity"] == "5.5"
    assert results_by_id(log)["CVE-2024-2961"][0]["level"] == "error"
    assert results_by_id(log)["CVE-2023-5678"][0]["level"] == "warning"
    assert results_by_id(log)["CVE-2024-0727"][0]["level"] == "note"


def test_sarif_vulnerability_location(log: dict[str, Any]) -> None:
    location = results_by_id(log)["CVE-2023-5678"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "var/lib/dpkg/status"
    assert location["logicalLocations"][0]["name"] == "oci:bookworm-mixed:latest"


def test_sarif_hardening_location(log: dict[str, Any]) -> None:
    location = results_by_id(log)["HB-USER-001"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "etc/passwd"


def test_sarif_fingerprints_distinct_and_stable(log: dict[str, Any]) -> None:
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in log["runs"][0]["results"]]
    again = json.loads(render_sarif(scan_report()))
    assert len(set(prints)) == len(prints)
    assert prints == [
        r["partialFingerprints"][FINGERPRINT_KEY] for r in again["runs"][0]["results"]
    ]


def test_sarif_suppressed_results_carry_reason(log: dict[str, Any]) -> None:
    fixed = results_by_id(log)["CVE-2023-4154"][0]
    assert fixed["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "vex-fixed: patched in the image build (statements.json statement 2)",
        }
    ]
    assert "suppressions" not in results_by_id(log)["CVE-2023-5678"][0]


def test_sarif_leaves_out_filtered_findings() -> None:
    log = json.loads(render_sarif(scan_report(vex=False, only_fixed=True)))
    assert "CVE-2024-2961" not in results_by_id(log)
