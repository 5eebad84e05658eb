"""Compare what two profiles do with each syscall on each architecture."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hardbase.seccomp import arch as archmod
from hardbase.seccomp import rules as rulesmod
from hardbase.seccomp.model import Profile
from hardbase.seccomp.rules import Context, Decision


@dataclass(frozen=True)
class DiffEntry:
    """One syscall on one architecture that the two profiles treat differently."""

    architecture: str
    syscall: str
    first: Decision
    second: Decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "syscall": self.syscall,
            "first": _decision_dict(self.first),
            "second": _decision_dict(self.second),
        }


def _decision_dict(decision: Decision) -> dict[str, Any]:
    return {
        "verdict": str(decision.verdict),
        "action": str(decision.action),
        "rule": decision.rule.path if decision.rule else None,
        "conditional_rules": [r.path for r in decision.conditional],
    }


def _differs(first: Decision, second: Decision) -> bool:
    if first.verdict != second.verdict:
        return True
    # Two conditional decisions differ when their conditions or actions do.
    conditions_first = {(r.action, r.conditions) for r in first.conditional}
    conditions_second = {(r.action, r.conditions) for r in second.conditional}
    return conditions_first != conditions_second


def diff_profiles(first: Profile, second: Profile, context: Context) -> tuple[DiffEntry, ...]:
    """Return every syscall whose verdict differs between ``first`` and ``second``.

    Both profiles are read as a runtime on ``context.host`` would load them.
    Syscalls neither profile names are compared too when the default actions
    differ, using every syscall libseccomp knows on the architecture.
    """
    default_first = rulesmod.default_action(first)
    default_second = rulesmod.default_action(second)
    decisions_first = rulesmod.decisions(first, context)
    decisions_second = rulesmod.decisions(second, context)
    arches = dict.fromkeys(
        [
            *rulesmod.filter_architectures(first, context.host),
            *rulesmod.filter_architectures(second, context.host),
        ]
    )
    entries: list[DiffEntry] = []
    for architecture in arches:
        names = set(decisions_first) | set(decisions_second)
        if default_first.verdict != default_second.verdict:
            names |= archmod.syscall_names(architecture)
        for name in sorted(names):
            if not archmod.exists(architecture, name):
                continue
            one = decisions_first.get(name) or rulesmod.decide((), default_first)
            other = decisions_second.get(name) or rulesmod.decide((), default_second)
            if _differs(one, other):
                entries.append(DiffEntry(architecture.scmp, name, one, other))
    return tuple(entries)


def render_diff_json(entries: tuple[DiffEntry, ...], first: str, second: str) -> str:
    """Return the diff as a JSON document naming both profiles."""
    document = {"first": first, "second": second, "differences": [e.to_dict() for e in entries]}
    return json.dumps(document, indent=2) + "\n"
