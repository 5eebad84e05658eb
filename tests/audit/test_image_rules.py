"""The rule catalog of the image checks and its documentation."""

from __future__ import annotations

import re
from pathlib import Path

from hardbase.audit import RULES
from hardbase.scan.findings import Severity

DOC = Path(__file__).resolve().parents[2] / "docs" / "hardening.md"
_ROW = re.compile(r"^\| (HB-[A-Z]+-\d{3}) \| (\w+)", re.MULTILINE)


def test_rule_ids_are_unique() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))


def test_rule_ids_follow_the_pattern() -> None:
    malformed = [rule.id for rule in RULES if not re.fullmatch(r"HB-[A-Z]+-\d{3}", rule.id)]
    assert malformed == []


def test_every_rule_has_a_fix() -> None:
    assert [rule.id for rule in RULES if not rule.fix.strip()] == []


def test_documentation_lists_every_rule_with_its_severity() -> None:
    documented = {
        rule_id: Severity.parse(level) for rule_id, level in _ROW.findall(DOC.read_text())
    }
    assert documented == {rule.id: rule.severity for rule in RULES}
