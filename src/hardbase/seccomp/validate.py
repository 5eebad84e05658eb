"""Check a seccomp profile for mistakes that make it fail to load or fail to protect.

Each check returns findings with a stable id, a severity, the JSON path of
the offending value and the fix. Syscall names are resolved through the
system's libseccomp, the library runc and crun resolve them with.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hardbase.scan.findings import Severity
from hardbase.seccomp import arch as archmod
from hardbase.seccomp import rules as rulesmod
from hardbase.seccomp.arch import Architecture
from hardbase.seccomp.model import Profile, ProfileSchemaError, Syscall
from hardbase.seccomp.rules import ACTION_NAMES, Action, ActionKind, Context, Verdict
from hardbase.seccomp.siblings import siblings_of

logger = logging.getLogger(__name__)

#: Finding ids and what each one means; docs/seccomp.md lists them.
CHECKS: dict[str, str] = {
    "HB-SECCOMP-001": "the profile does not match the schema",
    "HB-SECCOMP-002": "unknown action",
    "HB-SECCOMP-003": "unknown architecture",
    "HB-SECCOMP-004": "syscall name unknown on the profile's architectures",
    "HB-SECCOMP-005": "rule shadowed by an earlier or unconditional rule",
    "HB-SECCOMP-006": "two conditional rules with the same conditions and different actions",
    "HB-SECCOMP-007": "allow-by-default profile",
    "HB-SECCOMP-008": "denied syscall bypassed through an allowed sibling",
    "HB-SECCOMP-009": "errnoRet on an action that returns no errno",
}


@dataclass(frozen=True)
class ProfileFinding:
    """One problem in a profile."""

    rule_id: str
    severity: Severity
    path: str
    """JSON path of the value at fault: ``syscalls[3].action``."""
    title: str
    fix: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "severity": str(self.severity),
            "path": self.path,
            "title": self.title,
            "fix": self.fix,
            "evidence": self.evidence,
        }


def schema_findings(error: ProfileSchemaError) -> list[ProfileFinding]:
    """Turn every schema issue of ``error`` into a finding."""
    return [
        ProfileFinding(
            "HB-SECCOMP-001",
            Severity.CRITICAL,
            issue.path,
            f"schema: {issue.message}",
            "correct the value at this path; container runtimes reject or misread it",
        )
        for issue in error.issues
    ]


def validate_profile(profile: Profile) -> list[ProfileFinding]:
    """Run every check on ``profile`` and return the findings, most severe first."""
    findings = [
        *_check_actions(profile),
        *_check_errno_ret(profile),
        *_check_architectures(profile),
        *_check_syscall_names(profile),
        *_check_shadowing(profile),
        *_check_default(profile),
        *_check_siblings(profile),
    ]
    return sorted(findings, key=lambda f: (-f.severity, f.path, f.rule_id))


def _suggest(value: str, choices: frozenset[str] | set[str]) -> str:
    close = difflib.get_close_matches(value, sorted(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _check_actions(profile: Profile) -> Iterator[ProfileFinding]:
    fix = "use one of " + ", ".join(sorted(ACTION_NAMES))
    if profile.default_action not in ACTION_NAMES:
        yield ProfileFinding(
            "HB-SECCOMP-002",
            Severity.CRITICAL,
            "defaultAction",
            f"unknown default action {profile.default_action}"
            + _suggest(profile.default_action, ACTION_NAMES),
            fix,
        )
    for index, rule in enumerate(profile.rules):
        if rule.action not in ACTION_NAMES:
            yield ProfileFinding(
                "HB-SECCOMP-002",
                Severity.CRITICAL,
                f"syscalls[{index}].action",
                f"unknown action {rule.action}; runc and crun refuse the whole profile"
                + _suggest(rule.action, ACTION_NAMES),
                fix,
            )


def _check_errno_ret(profile: Profile) -> Iterator[ProfileFinding]:
    with_errno = {ActionKind.ERRNO.value, ActionKind.TRACE.value}
    places = [("defaultErrnoRet", profile.default_action, profile.default_errno_ret)]
    places += [
        (f"syscalls[{i}].errnoRet", r.action, r.errno_ret) for i, r in enumerate(profile.rules)
    ]
    for path, action, errno_ret in places:
        if errno_ret is not None and action in ACTION_NAMES and action not in with_errno:
            yield ProfileFinding(
                "HB-SECCOMP-009",
                Severity.HIGH,
                path,
                f"errnoRet {errno_ret} given for {action}, which returns no errno; "
                "crun refuses the profile",
                "remove errnoRet, or use SCMP_ACT_ERRNO",
            )


def _named_architectures(profile: Profile) -> Iterator[tuple[str, str]]:
    for index, name in enumerate(profile.architectures or ()):
        yield f"architectures[{index}]", name
    for index, entry in enumerate(profile.arch_map or ()):
        yield f"archMap[{index}].architecture", entry.architecture
        for sub, name in enumerate(entry.sub_architectures):
            yield f"archMap[{index}].subArchitectures[{sub}]", name


def _check_architectures(profile: Profile) -> Iterator[ProfileFinding]:
    known = {a.scmp for a in archmod.ARCHITECTURES}
    for path, name in _named_architectures(profile):
        if archmod.by_scmp(name) is None:
            yield ProfileFinding(
                "HB-SECCOMP-003",
                Severity.CRITICAL,
                path,
                f"unknown architecture {name}; runc refuses the profile" + _suggest(name, known),
                "use an SCMP_ARCH_* name that libseccomp knows",
            )
    if profile.architectures and profile.arch_map:
        yield ProfileFinding(
            "HB-SECCOMP-003",
            Severity.HIGH,
            "archMap",
            "both architectures and archMap are set; Docker refuses such a profile",
            "keep archMap (one entry per host architecture) and drop architectures",
        )


def _profile_architectures(profile: Profile) -> tuple[Architecture, ...]:
    found = [archmod.by_scmp(name) for _, name in _named_architectures(profile)]
    known = tuple(dict.fromkeys(a for a in found if a is not None))
    return known or (archmod.host(),)


def _rule_architectures(
    rule: Syscall, profile_arches: tuple[Architecture, ...]
) -> tuple[Architecture, ...]:
    if rule.includes is None or not rule.includes.arches:
        return profile_arches
    wanted = set(rule.includes.arches)
    chosen = tuple(a for a in archmod.ARCHITECTURES if a.goarch in wanted)
    return chosen or profile_arches


def _check_syscall_names(profile: Profile) -> Iterator[ProfileFinding]:
    profile_arches = _profile_architectures(profile)
    version = archmod.libseccomp_version()
    default = _parse_or_none(profile.default_action, profile.default_errno_ret)
    for index, rule in enumerate(profile.rules):
        arches = _rule_architectures(rule, profile_arches)
        action = _parse_or_none(rule.action, rule.errno_ret)
        lost_denial = (
            action is not None
            and default is not None
            and action.verdict is Verdict.DENY
            and default.verdict is Verdict.ALLOW
        )
        for position, name in enumerate(rule.all_names):
            if any(archmod.exists(a, name) for a in arches):
                continue
            if archmod.known_anywhere(name):
                yield ProfileFinding(
                    "HB-SECCOMP-004",
                    Severity.LOW,
                    rule.name_path(index, position),
                    f"{name} is not a syscall on any architecture this rule applies to; "
                    "the runtime skips it",
                    "drop the name, or limit the rule with includes.arches",
                    {"libseccomp": version, "architectures": [a.scmp for a in arches]},
                )
                continue
            yield ProfileFinding(
                "HB-SECCOMP-004",
                Severity.HIGH if lost_denial else Severity.MEDIUM,
                rule.name_path(index, position),
                f"libseccomp {version} does not know syscall {name!r}; runc and crun skip it"
                + (", so it is not denied" if lost_denial else ""),
                "fix the spelling, or update libseccomp if the syscall is newer than it",
                {"libseccomp": version, "architectures": [a.scmp for a in arches]},
            )


def _parse_or_none(name: str, errno_ret: int | None) -> Action | None:
    try:
        return Action.parse(name, errno_ret)
    except ValueError:
        return None


def _can_coexist(first: Syscall, second: Syscall) -> bool:
    """Return False when the includes/excludes of two rules can never both hold."""
    for one, other in ((first, second), (second, first)):
        if one.includes and other.excludes:
            if set(one.includes.caps or ()) & set(other.excludes.caps or ()):
                return False
            arches = set(one.includes.arches or ())
            if arches and arches <= set(other.excludes.arches or ()):
                return False
    first_arches = set(first.includes.arches or ()) if first.includes else set()
    second_arches = set(second.includes.arches or ()) if second.includes else set()
    return not (first_arches and second_arches and not first_arches & second_arches)


@dataclass(frozen=True)
class _Named:
    index: int
    path: str
    rule: Syscall
    action: Action
    alternatives: frozenset[frozenset[tuple[int, int, int, str]]]


def _named_rules(profile: Profile, default: Action | None) -> dict[str, list[_Named]]:
    by_name: dict[str, list[_Named]] = {}
    for index, rule in enumerate(profile.rules):
        action = _parse_or_none(rule.action, rule.errno_ret)
        if action is None or action == default:
            continue
        alternatives = frozenset(
            frozenset((a.index, a.value, a.value_two, a.op.value) for a in group)
            for group in rulesmod.condition_alternatives(rule.args)
        )
        for position, name in enumerate(rule.all_names):
            by_name.setdefault(name, []).append(
                _Named(index, rule.name_path(index, position), rule, action, alternatives)
            )
    return by_name


def _check_shadowing(profile: Profile) -> Iterator[ProfileFinding]:
    default = _parse_or_none(profile.default_action, profile.default_errno_ret)
    for name, named in _named_rules(profile, default).items():
        # Rules alike in action, conditions and filters shadow alike, so only
        # the first of each kind is compared: a name repeated thousands of
        # times then costs linear time, not quadratic.
        distinct: dict[tuple[object, ...], _Named] = {}
        for later in named:
            for earlier in distinct.values():
                if earlier.action == later.action or not _can_coexist(earlier.rule, later.rule):
                    continue
                finding = _shadow_finding(name, earlier, later)
                if finding is not None:
                    yield finding
                    break
            key = (later.action, later.alternatives, later.rule.includes, later.rule.excludes)
            distinct.setdefault(key, later)


def _shadow_finding(name: str, earlier: _Named, later: _Named) -> ProfileFinding | None:
    evidence = {
        "syscall": name,
        "rules": [earlier.path, later.path],
        "actions": [str(earlier.action), str(later.action)],
    }
    if not earlier.alternatives and not later.alternatives:
        return ProfileFinding(
            "HB-SECCOMP-005",
            Severity.MEDIUM,
            later.path,
            f"{name} is named again with {later.action}; runc and crun (libseccomp 2.5) keep "
            f"the first rule, {earlier.path} with {earlier.action}, and drop this one",
            f"name {name} once, in the rule whose action you want",
            evidence,
        )
    if bool(earlier.alternatives) != bool(later.alternatives):
        winner, loser = (earlier, later) if not earlier.alternatives else (later, earlier)
        return ProfileFinding(
            "HB-SECCOMP-005",
            Severity.MEDIUM,
            loser.path,
            f"the conditional rule for {name} ({loser.action}) never applies: the "
            f"unconditional rule {winner.path} ({winner.action}) wins in libseccomp "
            "whichever comes first",
            f"drop one of the two rules, or give {winner.path} conditions too",
            evidence,
        )
    if earlier.alternatives & later.alternatives:
        return ProfileFinding(
            "HB-SECCOMP-006",
            Severity.CRITICAL,
            later.path,
            f"{name} has the same argument conditions as {earlier.path} but action "
            f"{later.action} instead of {earlier.action}; libseccomp returns EEXIST and "
            "runc and crun refuse to start the container",
            "keep one of the two rules",
            evidence,
        )
    return None


def _check_default(profile: Profile) -> Iterator[ProfileFinding]:
    default = _parse_or_none(profile.default_action, profile.default_errno_ret)
    if default is not None and default.verdict is Verdict.ALLOW:
        yield ProfileFinding(
            "HB-SECCOMP-007",
            Severity.HIGH,
            "defaultAction",
            f"default action {default} allows every syscall the profile does not list, "
            "including those added by future kernels",
            "make it an allowlist: defaultAction SCMP_ACT_ERRNO and allow the syscalls "
            "the program needs ('hardbase seccomp record' lists them)",
        )


def _possible_hosts(profile: Profile) -> tuple[Architecture, ...]:
    if profile.architectures:
        names = list(profile.architectures[:1])
    elif profile.arch_map:
        names = [entry.architecture for entry in profile.arch_map]
    else:
        return (archmod.host(),)
    found = tuple(a for a in (archmod.by_scmp(n) for n in names) if a is not None)
    return found or (archmod.host(),)


def _check_siblings(profile: Profile) -> Iterator[ProfileFinding]:
    default = _parse_or_none(profile.default_action, profile.default_errno_ret)
    if default is None or any(r.action not in ACTION_NAMES for r in profile.rules):
        return
    bypasses: dict[tuple[str, str], set[str]] = {}
    reasons: dict[tuple[str, str], tuple[str, str]] = {}
    for host in _possible_hosts(profile):
        context = Context(host)
        decisions = rulesmod.decisions(profile, context)
        for arch in rulesmod.filter_architectures(profile, host):
            for name, decision in decisions.items():
                if decision.rule is None or decision.verdict is not Verdict.DENY:
                    continue
                if not archmod.exists(arch, name):
                    continue
                for group, others in siblings_of(name):
                    for other in others:
                        if not archmod.exists(arch, other):
                            continue
                        verdict = decisions.get(other, rulesmod.decide((), default)).verdict
                        if verdict in (Verdict.ALLOW, Verdict.CONDITIONAL):
                            key = (decision.rule.path, other)
                            bypasses.setdefault(key, set()).add(arch.scmp)
                            reasons[key] = (name, group.operation)
    for (path, other), arches in sorted(bypasses.items()):
        name, operation = reasons[(path, other)]
        yield ProfileFinding(
            "HB-SECCOMP-008",
            Severity.HIGH,
            path,
            f"{name} is denied but {other} is allowed, and both {operation}: a program "
            f"that calls {other} is not stopped",
            f"deny {other} in the same rule as {name}",
            {"syscall": name, "sibling": other, "architectures": sorted(arches)},
        )
