"""SARIF of scan, audit and seccomp validate checked against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_sarif_fixture import scan_report

from hardbase.report.sarif import render_sarif

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SCHEMA_PATH = ASSETS / "report" / "sarif-schema-2.1.0.json"
AUDIT_CORPUS = ASSETS / "audit" / "corpus"
SECCOMP = ASSETS / "seccomp"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_report_matches_schema(validator: jsonschema.protocols.Validator) -> None:
    log = json.loads(render_sarif(scan_report()))

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]

    assert errors == []


def test_sarif_filtered_report_matches_schema(validator: jsonschema.protocols.Validator) -> None:
    log = json.loads(render_sarif(scan_report(vex=False, only_fixed=True)))

    assert list(validator.iter_errors(log)) == []


def test_sarif_schema_rejects_bad_level(validator: jsonschema.protocols.Validator) -> None:
    log: dict[str, Any] = json.loads(render_sarif(scan_report()))
    log["runs"][0]["results"][0]["level"] = "severe"

    assert not validator.is_valid(log)


@pytest.fixture(scope="module")
def audit_log() -> dict[str, Any]:
    """SARIF of ``hardbase audit`` on the corpus and a ``docker run`` command line."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hardbase",
            "audit",
            str(AUDIT_CORPUS),
            "--seccomp-root",
            str(AUDIT_CORPUS / "seccomp-root"),
            "--docker-run",
            "docker run --privileged --cap-add SYS_ADMIN alpine",
            "--format",
            "sarif",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    log: dict[str, Any] = json.loads(result.stdout)
    return log


def test_audit_sarif_matches_schema(
    validator: jsonschema.protocols.Validator, audit_log: dict[str, Any]
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(audit_log)]

    assert errors == []


def test_audit_sarif_covers_files_and_command_lines(audit_log: dict[str, Any]) -> None:
    locations = [result["locations"][0] for result in audit_log["runs"][0]["results"]]

    assert any("region" in location.get("physicalLocation", {}) for location in locations)
    assert any("physicalLocation" not in location for location in locations)


@pytest.mark.parametrize(
    "profile", ["schema-error.json", "shadowed-rule.json", "clean-allowlist.json"]
)
def test_seccomp_validate_sarif_matches_schema(
    validator: jsonschema.protocols.Validator, profile: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hardbase",
            "seccomp",
            "validate",
            "--format",
            "sarif",
            "--fail-on",
            "none",
            str(SECCOMP / profile),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    log = json.loads(result.stdout)

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]

    assert errors == []
