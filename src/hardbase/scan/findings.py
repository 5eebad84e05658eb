"""The finding model shared by hardening checks, pending updates and vulnerability matching."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardbase.errors import InputError


class Severity(enum.IntEnum):
    """Severity of a finding, ordered so that comparisons follow importance."""

    UNKNOWN = 0
    NEGLIGIBLE = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Return the severity named by ``text``, ignoring case; raise InputError if unknown."""
        try:
            return cls[text.strip().upper()]
        except KeyError as error:
            names = ", ".join(str(s) for s in cls)
            raise InputError(f"unknown severity {text!r}", hint=f"use one of {names}") from error


class FindingKind(enum.Enum):
    """Subject of a finding. The terminal report has one section per kind."""

    HARDENING = "hardening"
    PENDING_UPDATE = "pending-update"
    PACKAGE_STATE = "package-state"
    VULNERABILITY = "vulnerability"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """One thing a scan found, with the evidence that supports it and how to fix it."""

    rule_id: str
    """Stable identifier: a hardening rule (``HB-USER-001``) or a vulnerability id (``CVE-…``)."""
    kind: FindingKind
    severity: Severity
    title: str
    """One line that states what was found."""
    fix: str
    """One line that states what to do."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable facts: paths, values, versions, the record and rule that decided."""
    package: str | None = None
    references: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "kind": str(self.kind),
            "severity": str(self.severity),
            "title": self.title,
            "fix": self.fix,
            "package": self.package,
            "evidence": dict(self.evidence),
            "references": list(self.references),
        }
