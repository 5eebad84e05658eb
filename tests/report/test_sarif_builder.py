"""The shared SARIF builder: rules, severities, locations and fingerprints of real findings."""

from __future__ import annotations

from typing import Any

from hardbase.report.sarif import (
    FINGERPRINT_KEY,
    SarifEntry,
    SarifLocation,
    SarifRule,
    build_sarif_log,
    first_url,
)
from hardbase.scan.findings import Finding, FindingKind, Severity


def finding(rule_id: str, severity: Severity, title: str = "setting at fault") -> Finding:
    return Finding(
        rule_id=rule_id,
        kind=FindingKind.HARDENING,
        severity=severity,
        title=title,
        fix="change the setting",
    )


def catalog_rule(found: Finding) -> SarifRule:
    return SarifRule(
        id=found.rule_id,
        name="Catalog name",
        short_description="Catalog name",
        help="catalog fix",
        severity=Severity.LOW,
        help_uri="https://example.org/rules",
    )


def run_of(entries: list[SarifEntry]) -> dict[str, Any]:
    run: dict[str, Any] = build_sarif_log(entries, catalog_rule)["runs"][0]
    return run


FILE = SarifLocation(path="deploy/app.yaml", start_line=4, start_column=7)


def test_rule_raised_to_highest_result() -> None:
    run = run_of(
        [
            SarifEntry(finding("HB-X-001", Severity.LOW), FILE),
            SarifEntry(finding("HB-X-001", Severity.HIGH), FILE, identity=("second",)),
        ]
    )

    rule = run["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "8.0"
    assert rule["defaultConfiguration"]["level"] == "error"
    assert [result["level"] for result in run["results"]] == ["note", "error"]


def test_rule_keeps_catalog_text() -> None:
    run = run_of([SarifEntry(finding("HB-X-001", Severity.LOW), FILE)])

    rule = run["tool"]["driver"]["rules"][0]
    assert rule["name"] == "Catalog name"
    assert rule["help"] == {"text": "catalog fix"}
    assert rule["helpUri"] == "https://example.org/rules"


def test_one_rule_per_id_in_first_order() -> None:
    run = run_of(
        [
            SarifEntry(finding("HB-X-002", Severity.LOW), FILE),
            SarifEntry(finding("HB-X-001", Severity.LOW), FILE),
            SarifEntry(finding("HB-X-002", Severity.LOW), FILE, identity=("other",)),
        ]
    )

    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["HB-X-002", "HB-X-001"]
    assert [result["ruleIndex"] for result in run["results"]] == [0, 1, 0]


def test_file_location_has_region() -> None:
    run = run_of([SarifEntry(finding("HB-X-001", Severity.LOW), FILE)])

    physical = run["results"][0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "deploy/app.yaml"}
    assert physical["region"] == {"startLine": 4, "startColumn": 7}


def test_path_is_percent_encoded() -> None:
    location = SarifLocation(path="my deploy/app#1.yaml")
    run = run_of([SarifEntry(finding("HB-X-001", Severity.LOW), location)])

    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20deploy/app%231.yaml"


def test_location_without_file_is_logical() -> None:
    location = SarifLocation(path=None, logical_full_name="--privileged", logical_kind="member")
    run = run_of([SarifEntry(finding("HB-X-001", Severity.LOW), location)])

    written = run["results"][0]["locations"][0]
    assert "physicalLocation" not in written
    assert written["logicalLocations"] == [{"fullyQualifiedName": "--privileged", "kind": "member"}]


def test_identity_separates_fingerprints() -> None:
    run = run_of(
        [
            SarifEntry(finding("HB-X-001", Severity.LOW), FILE, identity=("containers[0]",)),
            SarifEntry(finding("HB-X-001", Severity.LOW), FILE, identity=("containers[1]",)),
        ]
    )

    prints = [result["partialFingerprints"][FINGERPRINT_KEY] for result in run["results"]]
    assert prints[0] != prints[1]


def test_fingerprint_ignores_line() -> None:
    moved = SarifLocation(path="deploy/app.yaml", start_line=40)
    run = run_of(
        [
            SarifEntry(finding("HB-X-001", Severity.LOW), FILE),
            SarifEntry(finding("HB-X-001", Severity.LOW), moved),
        ]
    )

    prints = [result["partialFingerprints"][FINGERPRINT_KEY] for result in run["results"]]
    assert prints[0] == prints[1]


def test_suppression_carries_justification() -> None:
    entry = SarifEntry(finding("HB-X-001", Severity.LOW), FILE, suppression="ignored: accepted")
    run = run_of([entry])

    assert run["results"][0]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "ignored: accepted"}
    ]


def test_run_properties_only_when_given() -> None:
    entry = SarifEntry(finding("HB-X-001", Severity.LOW), FILE)

    assert "properties" not in run_of([entry])
    with_properties = build_sarif_log([entry], catalog_rule, properties={"image": "x"})
    assert with_properties["runs"][0]["properties"] == {"image": "x"}


def test_first_url_after_title() -> None:
    references = [
        "CIS Docker Benchmark 4.1: Ensure that a user for the container has been created",
        "Kubernetes Pod Security Standards: https://kubernetes.io/docs/concepts/security/",
    ]

    assert first_url(references) == "https://kubernetes.io/docs/concepts/security/"
    assert first_url(references[:1]) is None
