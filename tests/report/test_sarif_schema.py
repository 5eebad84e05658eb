"""SARIF output validated against the official SARIF 2.1.0 JSON schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_sarif_fixture import scan_report

from hardbase.report.sarif import render_sarif

SCHEMA_PATH = Path(__file__).parents[1] / "assets" / "report" / "sarif-schema-2.1.0.json"


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
