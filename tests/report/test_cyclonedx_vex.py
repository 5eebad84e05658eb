"""CycloneDX output with vulnerabilities, validated with cyclonedx-python-lib's schema."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from test_sarif_fixture import scan_report

from hardbase.report.cyclonedx_vex import render_cyclonedx_vex

SERIAL = UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(render_cyclonedx_vex(scan_report(), serial_number=SERIAL))


def vulnerabilities(document: dict[str, Any], vid: str) -> list[dict[str, Any]]:
    return [v for v in document["vulnerabilities"] if v["id"] == vid]


@pytest.mark.parametrize(
    ("version", "schema"), [("1.5", SchemaVersion.V1_5), ("1.6", SchemaVersion.V1_6)]
)
def test_cyclonedx_vex_valid_against_schema(version: str, schema: SchemaVersion) -> None:
    text = render_cyclonedx_vex(scan_report(), spec_version=version, serial_number=SERIAL)
    errors = JsonStrictValidator(schema).validate_str(text)
    assert errors is None, errors


def test_cyclonedx_vex_rejects_unknown_version() -> None:
    with pytest.raises(ValueError, match=r"1\.4"):
        render_cyclonedx_vex(scan_report(), spec_version="1.4")


def test_cyclonedx_vex_lists_vulnerabilities_only(document: dict[str, Any]) -> None:
    ids = sorted(v["id"] for v in document["vulnerabilities"])
    assert ids == [
        "CVE-2023-4154",
        "CVE-2023-5678",
        "CVE-2024-0727",
        "CVE-2024-0727",
        "CVE-2024-2961",
    ]


def test_cyclonedx_vex_affects_component_refs(document: dict[str, Any]) -> None:
    refs = {c["bom-ref"] for c in document["components"]}
    (samba,) = vulnerabilities(document, "CVE-2023-4154")
    affected = [a["ref"] for a in samba["affects"]]
    assert len(affected) == 2
    assert set(affected) <= refs
    assert any("/libldb2@" in ref for ref in affected)


def test_cyclonedx_vex_rating(document: dict[str, Any]) -> None:
    (glibc,) = vulnerabilities(document, "CVE-2024-2961")
    assert glibc["ratings"][0]["severity"] == "high"
    assert glibc["ratings"][0]["method"] == "other"
    assert glibc["source"]["name"] == "Debian Security Tracker"


def test_cyclonedx_vex_fixed_state(document: dict[str, Any]) -> None:
    (samba,) = vulnerabilities(document, "CVE-2023-4154")
    assert samba["analysis"]["state"] == "resolved"


def test_cyclonedx_vex_not_affected_justification(document: dict[str, Any]) -> None:
    states = {
        (v["analysis"]["state"], v["analysis"].get("justification"))
        for v in vulnerabilities(document, "CVE-2024-0727")
    }
    assert states == {("not_affected", "code_not_reachable"), ("not_affected", None)}


def test_cyclonedx_vex_affected_statement_exploitable(document: dict[str, Any]) -> None:
    (glibc,) = vulnerabilities(document, "CVE-2024-2961")
    assert glibc["analysis"]["state"] == "exploitable"


def test_cyclonedx_vex_shown_without_analysis(document: dict[str, Any]) -> None:
    (bash,) = vulnerabilities(document, "CVE-2023-5678")
    assert "analysis" not in bash
