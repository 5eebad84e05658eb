"""Match installed packages against distribution advisories and decide a verdict for each.

Debian and Ubuntu advisories name source packages, Alpine's secdb names
origin packages, so binary packages are grouped by their source name and
source version first. Each (vulnerability, source package) pair then gets one
`Decision`: the record that decided it, the release whose record that was and
the rule that applied. Decisions that leave the package vulnerable become
findings; the others stay in `MatchResult.decisions` as the explanation.
"""

from __future__ import annotations

import enum
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from hardbase.advisories.model import Advisory, AdvisoryStatus
from hardbase.packages.model import Distro, Inventory, Package
from hardbase.packages.osrelease import DEBIAN_CODENAMES
from hardbase.packages.purl import package_url
from hardbase.scan.findings import Finding, FindingKind, Severity
from hardbase.versions import compare_apk, compare_dpkg, is_valid_apk, is_valid_dpkg

logger = logging.getLogger(__name__)

__all__ = [
    "AdvisorySource",
    "Decision",
    "MatchResult",
    "Verdict",
    "match_vulnerabilities",
    "package_purl",
    "severity_from_urgency",
]

#: Feeds that only publish fixed versions (Debian's DSA and DLA lists). They
#: decide only where no per-release status record (tracker, secdb, OSV) exists.
ADVISORY_LIST_FEEDS = frozenset({"debian-dsa", "debian-dla"})

#: Preference among per-release status feeds when several describe one release.
_FEED_PREFERENCE = ("debian-tracker", "alpine-secdb", "osv")

UNSTABLE = "sid"

# A Debian version built for a specific release carries its number: "+deb11u5"
# and "~deb11u1" (stable and security updates), "~bpo11+1" (backports).
# Backports of Debian 5 to 7 were numbered 50, 60 and 70.
_RELEASE_SUFFIX = re.compile(r"[+~](?:deb(?P<deb>\d+)(?:u\d+)?|bpo(?P<bpo>\d+))(?![a-z])")

# End of security support, long-term support included for Debian and standard
# support for Ubuntu. NOTE: the dates are copied from the release tables that
# Debian, Alpine and Ubuntu publish, not fetched, so a release missing here is
# treated as supported until this table is extended.
END_OF_SUPPORT: Mapping[tuple[str, str], date] = {
    ("debian", "squeeze"): date(2016, 2, 29),
    ("debian", "wheezy"): date(2018, 5, 31),
    ("debian", "jessie"): date(2020, 6, 30),
    ("debian", "stretch"): date(2022, 6, 30),
    ("debian", "buster"): date(2024, 6, 30),
    ("debian", "bullseye"): date(2026, 8, 31),
    ("debian", "bookworm"): date(2028, 6, 30),
    ("alpine", "3.3"): date(2017, 11, 1),
    ("alpine", "3.4"): date(2018, 5, 1),
    ("alpine", "3.5"): date(2018, 11, 1),
    ("alpine", "3.6"): date(2019, 5, 1),
    ("alpine", "3.7"): date(2019, 11, 1),
    ("alpine", "3.8"): date(2020, 5, 1),
    ("alpine", "3.9"): date(2021, 1, 1),
    ("alpine", "3.10"): date(2021, 5, 1),
    ("alpine", "3.11"): date(2021, 11, 1),
    ("alpine", "3.12"): date(2022, 5, 1),
    ("alpine", "3.13"): date(2022, 11, 1),
    ("alpine", "3.14"): date(2023, 5, 1),
    ("alpine", "3.15"): date(2023, 11, 1),
    ("ubuntu", "xenial"): date(2021, 4, 30),
    ("ubuntu", "bionic"): date(2023, 5, 31),
    ("ubuntu", "focal"): date(2025, 5, 29),
}

_URGENCY_SEVERITY = {
    "unimportant": Severity.NEGLIGIBLE,
    "negligible": Severity.NEGLIGIBLE,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "critical": Severity.CRITICAL,
    "not yet assigned": Severity.UNKNOWN,
    "untriaged": Severity.UNKNOWN,
    "end-of-life": Severity.UNKNOWN,
}


class AdvisorySource(Protocol):
    """Source of advisories for matching: the advisory store, or a list in tests."""

    def advisories_for(
        self, distro: str, release: str | None, package_names: Iterable[str]
    ) -> list[Advisory]:
        """Return the advisories of these source packages in ``release``, or in all if None."""
        ...

    def releases(self, distro: str) -> set[str]:
        """Return the releases of ``distro`` that the source has records for."""
        ...


class Verdict(enum.Enum):
    """Conclusion of matching for one vulnerability in one source package."""

    FIX_AVAILABLE = "fix-available"
    """Vulnerable, and the release publishes a fixed version."""
    NO_FIX = "no-fix"
    """Vulnerable, and no fix is published yet."""
    MINOR_ISSUE = "minor-issue"
    """Vulnerable, but Debian plans no security update (``no-dsa``, ``ignored``)."""
    POSTPONED = "postponed"
    """Vulnerable, and Debian postponed the fix to a later update."""
    UNSUPPORTED = "unsupported"
    """Security support for the package in this release has ended."""
    UNDETERMINED = "undetermined"
    """The distribution has not yet decided whether the release is affected."""
    FIXED = "fixed"
    """The installed version includes the fix."""
    NOT_AFFECTED = "not-affected"
    """The release never shipped the vulnerable code."""

    def __str__(self) -> str:
        return self.value

    @property
    def is_reported(self) -> bool:
        """Whether the verdict leaves the package vulnerable or unknown, so it becomes a finding."""
        return self not in (Verdict.FIXED, Verdict.NOT_AFFECTED)


@dataclass(frozen=True)
class Decision:
    """One verdict with everything that led to it."""

    vulnerability_id: str
    source_package: str
    source_version: str
    packages: tuple[Package, ...]
    """Installed binary packages built from the source package."""
    verdict: Verdict
    rule: str
    """Stable name of the deciding rule: ``fixed-in-release``, ``other-release:bullseye``, ..."""
    advisory: Advisory
    """The record that decided."""
    release: str
    """Release whose record decided."""
    fixed_version: str | None
    severity: Severity
    hidden: bool = False
    """True when the verdict is not reported by default (urgency ``unimportant``)."""

    @property
    def record(self) -> str:
        """Name of the deciding record, such as ``DSA-5380-1``."""
        return record_name(self.advisory)


@dataclass(frozen=True)
class MatchResult:
    """Findings of one image, the notes that concern the whole image, and every decision."""

    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    """Image-level statements, such as a release that the data no longer covers."""
    warnings: tuple[str, ...] = ()
    """Records or packages skipped because of invalid data, each named."""
    decisions: tuple[Decision, ...] = ()
    """Every verdict, including the fixed and not-affected ones that produce no finding."""


@dataclass(frozen=True)
class _Ecosystem:
    """Matching settings of one distribution family."""

    feed_distro: str
    """The ``distro`` value of its advisories."""
    label: str
    compare: Callable[[str, str], int]
    is_valid: Callable[[str], bool]
    reference_url: str
    """Page about a vulnerability id, with ``{id}`` for the id."""


_DEBIAN = _Ecosystem(
    "debian",
    "Debian",
    compare_dpkg,
    is_valid_dpkg,
    "https://security-tracker.debian.org/tracker/{id}",
)
_UBUNTU = _Ecosystem(
    "ubuntu", "Ubuntu", compare_dpkg, is_valid_dpkg, "https://ubuntu.com/security/{id}"
)
_ALPINE = _Ecosystem(
    "alpine", "Alpine", compare_apk, is_valid_apk, "https://security.alpinelinux.org/vuln/{id}"
)


@dataclass
class _Context:
    """State of one matching run: the image's ecosystem and release, and the warnings so far."""

    ecosystem: _Ecosystem
    distro: Distro
    release: str
    release_past_support: bool
    include_unimportant: bool
    warnings: list[str] = field(default_factory=list)
    _warned: set[str] = field(default_factory=set)
    _purls: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    def purl(self, package: Package) -> str:
        """Return the package's purl, computed once per run: packageurl's normalising is slow."""
        key = (package.name, package.version, package.architecture)
        found = self._purls.get(key)
        if found is None:
            found = self._purls[key] = package_purl(package, self.distro)
        return found

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warnings.append(message)
            logger.warning("%s", message)


@dataclass(frozen=True)
class _SourceGroup:
    name: str
    version: str
    packages: tuple[Package, ...]


def match_vulnerabilities(
    inventory: Inventory,
    source: AdvisorySource,
    *,
    include_unimportant: bool = False,
    today: date | None = None,
) -> MatchResult:
    """Match the installed packages of ``inventory`` against the advisories of ``source``.

    The image's release decides, except for a Debian package whose version
    names another release (judged by that release's record) and a Debian
    package at or above the version fixed in unstable (fixed). Issues of
    urgency ``unimportant`` are left out unless ``include_unimportant`` is set.
    A release missing from ``source.releases()`` produces one note and no
    findings. ``today`` (default: the current date) decides whether the release
    is past its end of security support, which is also stated in a note.
    """
    distro = inventory.distro
    if distro is None:
        return MatchResult(notes=("the distribution is unknown, so no advisories were matched",))
    ecosystem = _ecosystem_for(distro)
    release = distro.release
    if ecosystem is None or release is None:
        name = distro.pretty_name or distro.id
        return MatchResult(
            notes=(f"no advisory feed covers {name}, so no advisories were matched",)
        )

    known = source.releases(ecosystem.feed_distro)
    release = _known_release(ecosystem, distro, release, known)
    if release is None:
        shown = distro.release or "?"
        end = END_OF_SUPPORT.get((ecosystem.feed_distro, shown))
        if end is not None and end < (today or date.today()):
            why = f"the release reached the end of its security support on {end}"
            action = "move to a supported release"
        else:
            why = "its feed was not imported, or the release is newer than the data"
            action = "run `hardbase db update`, or `hardbase db import` with a feed that covers it"
        return MatchResult(
            notes=(
                f"the advisory data has no records for {ecosystem.label} {shown}, so its "
                f"vulnerabilities are not reported: {why}; {action}",
            )
        )

    notes: list[str] = []
    end = END_OF_SUPPORT.get((ecosystem.feed_distro, release))
    past_support = end is not None and end < (today or date.today())
    if past_support:
        notes.append(
            f"{ecosystem.label} {release} reached the end of its security support on {end}: "
            "findings come from the records published until then, and vulnerabilities "
            "found later are not listed; move to a supported release"
        )

    context = _Context(ecosystem, distro, release, past_support, include_unimportant)
    # Half-configured and unpacked packages have their files in place, so they
    # are as exposed as installed ones.
    groups = _source_groups(inventory.present, context)
    names = sorted({g.name for g in groups})
    # Only these releases can decide: the image's own, the release a package's
    # version suffix names, and unstable for Debian's fixed-in-sid rule.
    releases = {release} | {r for g in groups if (r := _origin_release(g, context))}
    if ecosystem is _DEBIAN:
        releases.add(UNSTABLE)
    advisories = [
        advisory
        for name in sorted(releases)
        for advisory in source.advisories_for(ecosystem.feed_distro, name, names)
    ]
    by_package = _index(advisories, context)

    decisions: list[Decision] = []
    for group in groups:
        for vulnerability_id, records in sorted(by_package.get(group.name, {}).items()):
            decision = _decide(group, vulnerability_id, records, context)
            if decision is not None:
                decisions.append(decision)

    findings = tuple(
        _finding(d, context) for d in decisions if d.verdict.is_reported and not d.hidden
    )
    logger.info(
        "matched %d source packages of %s %s: %d decisions, %d findings",
        len(groups),
        ecosystem.label,
        release,
        len(decisions),
        len(findings),
    )
    return MatchResult(findings, tuple(notes), tuple(context.warnings), tuple(decisions))


def severity_from_urgency(urgency: str | None) -> Severity:
    """Map a distribution's urgency or severity word, or a CVSS base score, to a Severity.

    Debian's ``unimportant`` becomes negligible and ``not yet assigned`` unknown.
    The tracker's trailing ``*`` marks (``low**``) are ignored. Anything not
    recognised is unknown.
    """
    if not urgency:
        return Severity.UNKNOWN
    word = urgency.strip().rstrip("*").strip().lower()
    if word in _URGENCY_SEVERITY:
        return _URGENCY_SEVERITY[word]
    try:
        score = float(word)
    except ValueError:
        return Severity.UNKNOWN
    return _severity_from_score(score)


def package_purl(package: Package, distro: Distro | None) -> str:
    """Return the package URL of an installed package (``pkg:deb/debian/…``, ``pkg:apk/…``).

    It is the purl the SBOM writers use as ``bom-ref``, so VEX statements and
    CycloneDX ``affects`` entries name the same packages as the findings.
    """
    return str(package_url(package, distro).to_string())


def record_name(advisory: Advisory) -> str:
    """Name the record an advisory came from: ``DSA-5380-1``, or ``debian-tracker CVE-…/bookworm``.

    A record named only by the vulnerability id gets the feed and release added,
    because the id alone does not say which statement decided.
    """
    own_name = (
        advisory.record != advisory.vulnerability_id or advisory.source in ADVISORY_LIST_FEEDS
    )
    if advisory.record and own_name:
        return advisory.record
    return f"{advisory.source} {advisory.vulnerability_id}/{advisory.release}"


def _severity_from_score(score: float) -> Severity:
    # CVSS v3 qualitative bands.
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.UNKNOWN


def _ecosystem_for(distro: Distro) -> _Ecosystem | None:
    if distro.id == "ubuntu" or "ubuntu" in distro.id_like:
        return _UBUNTU if distro.id == "ubuntu" else None
    if distro.id == "debian":
        return _DEBIAN
    if distro.id == "alpine":
        return _ALPINE
    # NOTE: derivatives (Raspbian, postmarketOS, ...) are not matched, because
    # their versions differ from the parent's and the parent's fixes would mislead.
    return None


def _known_release(
    ecosystem: _Ecosystem, distro: Distro, release: str, known: set[str]
) -> str | None:
    candidates = [release]
    if ecosystem is _UBUNTU and distro.version_id:
        # A feed may name an Ubuntu release by number (22.04) instead of by codename.
        candidates.append(distro.version_id)
    for candidate in candidates:
        if candidate in known:
            return candidate
    return None


def _source_groups(packages: Iterable[Package], context: _Context) -> list[_SourceGroup]:
    grouped: dict[tuple[str, str], list[Package]] = defaultdict(list)
    for package in packages:
        name = package.source_name or package.name
        version = package.source_version or package.version
        if not context.ecosystem.is_valid(version):
            context.warn(
                f"package {package.name}: installed version {version!r} is invalid, "
                "so it was not matched against advisories"
            )
            continue
        grouped[(name, version)].append(package)
    return [
        _SourceGroup(name, version, tuple(sorted(members, key=lambda p: p.name)))
        for (name, version), members in sorted(grouped.items())
    ]


def _index(
    advisories: Iterable[Advisory], context: _Context
) -> dict[str, dict[str, list[Advisory]]]:
    """Group usable advisories by source package and vulnerability id, skipping invalid ones."""
    index: dict[str, dict[str, list[Advisory]]] = defaultdict(lambda: defaultdict(list))
    for advisory in advisories:
        if advisory.distro != context.ecosystem.feed_distro:
            continue
        fixed = advisory.fixed_version
        if advisory.status is AdvisoryStatus.FIXED:
            if not fixed:
                context.warn(
                    f"{record_name(advisory)}: fixed record without a fixed version, skipped"
                )
                continue
            if fixed != "0" and not context.ecosystem.is_valid(fixed):
                context.warn(
                    f"{record_name(advisory)}: fixed version {fixed!r} of {advisory.package} "
                    "is invalid, record skipped"
                )
                continue
        introduced = getattr(advisory, "introduced_version", None)
        if isinstance(introduced, str) and not context.ecosystem.is_valid(introduced):
            context.warn(
                f"{record_name(advisory)}: introduced version {introduced!r} of "
                f"{advisory.package} is invalid, record skipped"
            )
            continue
        index[advisory.package][advisory.vulnerability_id].append(advisory)
    return index


def _origin_release(group: _SourceGroup, context: _Context) -> str | None:
    """Return the Debian release named by the version suffix, when it is not the image's."""
    if context.ecosystem is not _DEBIAN:
        return None
    found = None
    for match in _RELEASE_SUFFIX.finditer(group.version):
        number = match.group("deb") or match.group("bpo")
        if number in ("50", "60", "70"):
            number = number[0]
        found = DEBIAN_CODENAMES.get(number)
    if found is None or found == context.release:
        return None
    return found


def _decide(
    group: _SourceGroup, vulnerability_id: str, records: list[Advisory], context: _Context
) -> Decision | None:
    by_release: dict[str, list[Advisory]] = defaultdict(list)
    for record in records:
        by_release[record.release].append(record)

    decision = None
    origin = _origin_release(group, context)
    if origin is not None and origin in by_release:
        decision = _decide_in_release(group, by_release[origin], context, f"other-release:{origin}")
    if decision is None and context.release in by_release:
        decision = _decide_in_release(group, by_release[context.release], context, None)
    if decision is None:
        return None

    if decision.verdict.is_reported and context.ecosystem is _DEBIAN:
        decision = _fixed_in_unstable(group, by_release.get(UNSTABLE, []), decision, context)
    return decision


def _decide_in_release(
    group: _SourceGroup, records: list[Advisory], context: _Context, rule_override: str | None
) -> Decision | None:
    """Judge one release's records. DSA and DLA records count only when no status record exists."""
    status_records = [r for r in records if r.source not in ADVISORY_LIST_FEEDS]
    if status_records:
        return _judge(group, _preferred(status_records), context, rule_override, listed=False)
    if records:
        return _judge(group, records, context, rule_override, listed=True)
    return None


def _preferred(records: list[Advisory]) -> list[Advisory]:
    """Keep the records of the most preferred feed only."""
    for feed in _FEED_PREFERENCE:
        chosen = [r for r in records if r.source == feed]
        if chosen:
            return chosen
    first = records[0].source
    return [r for r in records if r.source == first]


def _judge(
    group: _SourceGroup,
    records: list[Advisory],
    context: _Context,
    rule_override: str | None,
    *,
    listed: bool,
) -> Decision:
    """Decide from the records of one feed for one release.

    A not-affected record (or fixed version "0") wins. Records whose affected
    range starts above the installed version do not apply. Among fixed records
    the highest fixed version counts, because a later record that names the
    same vulnerability again means the earlier fix was incomplete.
    """
    compare = context.ecosystem.compare

    def decide(record: Advisory, verdict: Verdict, rule: str, fixed: str | None) -> Decision:
        return _decision(group, record, verdict, rule_override or rule, fixed, context)

    never = [
        r for r in records if r.status is AdvisoryStatus.NOT_AFFECTED or r.fixed_version == "0"
    ]
    if never:
        return decide(never[0], Verdict.NOT_AFFECTED, "not-affected", None)

    applying = [r for r in records if not _below_introduced(group.version, r, compare)]
    if not applying:
        return decide(records[0], Verdict.NOT_AFFECTED, "outside-affected-range", None)

    fixed = [r for r in applying if r.status is AdvisoryStatus.FIXED]
    pending = [r for r in fixed if compare(group.version, str(r.fixed_version)) < 0]
    if pending:
        record = _highest_fix(pending, compare)
        rule = "fixed-in-advisory" if listed else "fixed-in-release"
        return decide(record, Verdict.FIX_AVAILABLE, rule, record.fixed_version)

    unfixed = [r for r in applying if r.status is not AdvisoryStatus.FIXED]
    if unfixed:
        verdict, rule = _open_verdict(unfixed[0])
        return decide(unfixed[0], verdict, rule, None)

    record = _highest_fix(fixed, compare)
    return decide(record, Verdict.FIXED, "fix-installed", record.fixed_version)


def _below_introduced(version: str, record: Advisory, compare: Callable[[str, str], int]) -> bool:
    introduced = getattr(record, "introduced_version", None)
    return isinstance(introduced, str) and compare(version, introduced) < 0


def _highest_fix(records: list[Advisory], compare: Callable[[str, str], int]) -> Advisory:
    best = records[0]
    for record in records[1:]:
        if compare(str(record.fixed_version), str(best.fixed_version)) > 0:
            best = record
    return best


def _open_verdict(record: Advisory) -> tuple[Verdict, str]:
    urgency = (record.urgency or "").strip().lower()
    if record.status is AdvisoryStatus.END_OF_LIFE or urgency == "end-of-life":
        return Verdict.UNSUPPORTED, "end-of-life"
    if record.status is AdvisoryStatus.UNDETERMINED:
        return Verdict.UNDETERMINED, "undetermined"
    reason = (record.nodsa_reason or "").strip().lower()
    if reason == "postponed":
        return Verdict.POSTPONED, "nodsa-postponed"
    if reason == "ignored":
        return Verdict.MINOR_ISSUE, "nodsa-ignored"
    if record.nodsa:
        return Verdict.MINOR_ISSUE, "nodsa"
    return Verdict.NO_FIX, "open-no-fix"


def _fixed_in_unstable(
    group: _SourceGroup, records: list[Advisory], decision: Decision, context: _Context
) -> Decision:
    """Mark a vulnerable verdict fixed when the installed version is at or above unstable's fix."""
    compare = context.ecosystem.compare
    for record in records:
        fixed = record.fixed_version
        if record.status is not AdvisoryStatus.FIXED or not fixed or fixed == "0":
            continue
        if compare(group.version, fixed) >= 0:
            return _decision(group, record, Verdict.FIXED, "fixed-in-sid", fixed, context)
    return decision


def _decision(
    group: _SourceGroup,
    record: Advisory,
    verdict: Verdict,
    rule: str,
    fixed_version: str | None,
    context: _Context,
) -> Decision:
    severity = severity_from_urgency(record.urgency)
    unimportant = (record.urgency or "").strip().lower() == "unimportant"
    # A release past its end of support is stated once in the notes, not per record.
    eol_collapsed = verdict is Verdict.UNSUPPORTED and context.release_past_support
    return Decision(
        vulnerability_id=record.vulnerability_id,
        source_package=group.name,
        source_version=group.version,
        packages=group.packages,
        verdict=verdict,
        rule=rule,
        advisory=record,
        release=record.release,
        fixed_version=fixed_version,
        severity=severity,
        hidden=(unimportant and not context.include_unimportant) or eol_collapsed,
    )


_TITLES = {
    Verdict.FIX_AVAILABLE: "vulnerable, fixed in {fixed}",
    Verdict.NO_FIX: "vulnerable, no fix published yet",
    Verdict.MINOR_ISSUE: "vulnerable, rated a minor issue with no security update planned",
    Verdict.POSTPONED: "vulnerable, the security update is postponed",
    Verdict.UNSUPPORTED: "security support for this package in {release} has ended",
    Verdict.UNDETERMINED: "not yet determined whether {release} is affected",
}


def _finding(decision: Decision, context: _Context) -> Finding:
    vid = decision.vulnerability_id
    binaries = ", ".join(p.name for p in decision.packages)
    state = _TITLES[decision.verdict].format(fixed=decision.fixed_version, release=decision.release)
    title = f"{vid} in {decision.source_package} {decision.source_version} ({binaries}): {state}"
    references = [context.ecosystem.reference_url.format(id=vid)]
    if vid.startswith("CVE-"):
        references.append(f"https://nvd.nist.gov/vuln/detail/{vid}")
    return Finding(
        rule_id=vid,
        kind=FindingKind.VULNERABILITY,
        severity=decision.severity,
        title=title,
        fix=_fix_text(decision, binaries),
        evidence=_evidence(decision, context),
        package=decision.source_package,
        references=tuple(references),
    )


def _fix_text(decision: Decision, binaries: str) -> str:
    verdict = decision.verdict
    if verdict is Verdict.FIX_AVAILABLE:
        return f"upgrade {binaries} to {decision.fixed_version} or later"
    if verdict is Verdict.UNSUPPORTED:
        return "move to a release that still supports the package, or remove the package"
    if verdict is Verdict.UNDETERMINED:
        return f"check {decision.record} again after the next advisory update"
    if verdict is Verdict.MINOR_ISSUE:
        return (
            "no security update is planned; upgrade at the next point release or remove the package"
        )
    return f"no fix yet: remove {binaries} if unused, or wait for an update"


def _evidence(decision: Decision, context: _Context) -> dict[str, object]:
    versions = sorted({p.version for p in decision.packages})
    evidence: dict[str, object] = {
        "verdict": str(decision.verdict),
        "rule": decision.rule,
        "record": decision.record,
        "feed": decision.advisory.source,
        "release": decision.release,
        "source_package": decision.source_package,
        "source_version": decision.source_version,
        "packages": [p.name for p in decision.packages],
        "installed_version": versions[0] if len(versions) == 1 else None,
    }
    if len(versions) > 1:
        evidence["installed_versions"] = [f"{p.name}={p.version}" for p in decision.packages]
    if decision.fixed_version is not None:
        evidence["fixed_version"] = decision.fixed_version
    if decision.advisory.urgency:
        evidence["urgency"] = decision.advisory.urgency
    if decision.advisory.nodsa:
        evidence["nodsa"] = decision.advisory.nodsa
    evidence["purls"] = [context.purl(p) for p in decision.packages]
    databases = sorted({p.database for p in decision.packages if p.database})
    if databases:
        evidence["database"] = databases[0]
    return evidence
