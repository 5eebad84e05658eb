"""Triage: hide findings by OpenVEX statements, an ignore file, severity and fix availability.

Every hidden finding keeps the reason that hid it. A reason is written
``category: detail``, and the category (``vex-not-affected``, ``vex-fixed``,
``ignored``, ``severity``, ``not-fixed``) is what summaries count by.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from packageurl import PackageURL
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hardbase.errors import InputError
from hardbase.scan.findings import Finding, FindingKind, Severity

logger = logging.getLogger(__name__)

__all__ = [
    "IgnoreEntry",
    "IgnoreFileError",
    "IgnoreRule",
    "TriageOptions",
    "TriageResult",
    "VexDocument",
    "VexError",
    "apply_triage",
    "load_ignore_file",
    "load_vex",
    "reason_category",
]

MAX_IGNORE_FILE_BYTES = 1024 * 1024
MAX_VEX_BYTES = 16 * 1024 * 1024

#: Reason categories, the text before the first colon of a reason.
VEX_NOT_AFFECTED = "vex-not-affected"
VEX_FIXED = "vex-fixed"
IGNORED = "ignored"
SEVERITY = "severity"
NOT_FIXED = "not-fixed"

_IGNORE_HINT = (
    "each entry needs 'id' and 'reason', and may have 'package' and 'expires' (YYYY-MM-DD)"
)
_VEX_HINT = "write an OpenVEX document (https://openvex.dev/ns/v0.2.0) with a 'statements' list"

Justification = Literal[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
]
VexStatus = Literal["not_affected", "affected", "fixed", "under_investigation"]


class IgnoreFileError(InputError):
    """An ignore file that cannot be read or does not follow its schema."""


class VexError(InputError):
    """An OpenVEX document that cannot be read or does not follow the OpenVEX schema."""


class IgnoreEntry(BaseModel):
    """One entry of ``.hardbase-ignore.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    """Vulnerability id (``CVE-…``) or hardening rule id (``HB-USER-001``)."""
    package: str | None = None
    """Source or binary package the entry is limited to; every package when absent."""
    reason: str = Field(min_length=1)
    """Justification for hiding the finding, shown with every finding the entry hides."""
    expires: date | None = None
    """Last day the entry hides findings; after it the findings are shown again."""


@dataclass(frozen=True)
class IgnoreRule:
    """An ignore entry with the place it was written."""

    entry: IgnoreEntry
    file: Path
    line: int
    """1-based line of the entry in the file."""

    @property
    def where(self) -> str:
        return f"{self.file} line {self.line}"

    def is_expired(self, today: date) -> bool:
        return self.entry.expires is not None and self.entry.expires < today

    def matches(self, finding: Finding) -> bool:
        if self.entry.id.upper() != finding.rule_id.upper():
            return False
        return self.entry.package is None or self.entry.package in _package_names(finding)


class _VexModel(BaseModel):
    # OpenVEX allows fields this code does not read, so extra keys are accepted.
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class VexVulnerability(_VexModel):
    """The vulnerability a statement is about."""

    name: str | None = None
    id: str | None = Field(default=None, alias="@id")
    aliases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _named(self) -> VexVulnerability:
        if not self.name and not self.id:
            raise ValueError("a vulnerability needs 'name' or '@id'")
        return self

    def names(self) -> set[str]:
        return {n.upper() for n in (self.name, self.id, *self.aliases) if n}


class VexComponent(_VexModel):
    """A product or subcomponent, named by ``@id`` or by a purl in ``identifiers``."""

    id: str | None = Field(default=None, alias="@id")
    identifiers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _named(self) -> VexComponent:
        if not self.id and not self.identifiers:
            raise ValueError("a product needs '@id' or 'identifiers'")
        return self

    def ids(self) -> list[str]:
        return [i for i in (self.id, self.identifiers.get("purl")) if i]


class VexProduct(VexComponent):
    """A product of a statement, with the subcomponents the statement is limited to."""

    subcomponents: tuple[VexComponent, ...] = ()


class VexStatement(_VexModel):
    """One OpenVEX statement."""

    vulnerability: VexVulnerability
    products: tuple[VexProduct, ...] = Field(min_length=1)
    status: VexStatus
    justification: Justification | None = None
    impact_statement: str | None = None
    action_statement: str | None = None
    status_notes: str | None = None
    timestamp: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _older_forms(cls, data: Any) -> Any:
        # OpenVEX before 0.2.0 wrote the vulnerability and products as plain strings.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("vulnerability"), str):
            data["vulnerability"] = {"name": data["vulnerability"]}
        products = data.get("products")
        if isinstance(products, list):
            data["products"] = [{"@id": p} if isinstance(p, str) else p for p in products]
        return data

    @model_validator(mode="after")
    def _justified(self) -> VexStatement:
        if self.status == "not_affected" and not (self.justification or self.impact_statement):
            raise ValueError("a not_affected statement needs 'justification' or 'impact_statement'")
        return self


class VexDocument(_VexModel):
    """An OpenVEX document."""

    context: str = Field(alias="@context")
    id: str = Field(alias="@id")
    author: str
    timestamp: datetime
    version: int = 1
    statements: tuple[VexStatement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _openvex(self) -> VexDocument:
        if not self.context.startswith("https://openvex.dev/ns"):
            raise ValueError(f"'@context' is {self.context!r}, not an OpenVEX context")
        return self


@dataclass(frozen=True)
class _LoadedVex:
    document: VexDocument
    file: Path


@dataclass(frozen=True)
class TriageOptions:
    """Settings of triage: the filters, the ignore file and the VEX documents."""

    only_fixed: bool = False
    """Hide vulnerabilities without a published fix."""
    severities: frozenset[Severity] | None = None
    """Show only these severities; every severity when None."""
    ignore_file: Path | None = None
    vex_files: tuple[Path, ...] = ()
    image_ids: tuple[str, ...] = ()
    """Names of the scanned image that VEX products may use: references, digests, purls."""
    today: date | None = None
    """Day against which ignore entries expire; the current date when None."""


@dataclass(frozen=True)
class TriageResult:
    """Findings split into shown and hidden, with the reason for each hidden one."""

    shown: tuple[Finding, ...]
    suppressed: tuple[tuple[Finding, str], ...]
    """Hidden findings, each with its reason, ``category: detail``."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """``shown`` and each reason category, with the number of findings."""
    warnings: tuple[str, ...] = ()


def apply_triage(findings: Iterable[Finding], options: TriageOptions) -> TriageResult:
    """Split ``findings`` into shown and hidden ones.

    VEX statements decide first, then the ignore file, then the severity list,
    then ``only_fixed``. A VEX ``affected`` or ``under_investigation``
    statement keeps the finding and records the statement in its evidence.

    Raises:
        IgnoreFileError: when the ignore file is unreadable or invalid.
        VexError: when a VEX document is unreadable or invalid.
    """
    today = options.today or date.today()
    rules = load_ignore_file(options.ignore_file) if options.ignore_file else []
    documents = [_LoadedVex(load_vex(path), path) for path in options.vex_files]
    statements = _ordered_statements(documents)

    warnings = [
        f"{rule.where}: the ignore entry for {rule.entry.id} expired on {rule.entry.expires}, "
        "so its findings are shown again; renew or remove the entry"
        for rule in rules
        if rule.is_expired(today)
    ]
    active = [rule for rule in rules if not rule.is_expired(today)]

    shown: list[Finding] = []
    suppressed: list[tuple[Finding, str]] = []
    for finding in findings:
        finding, reason = _vex_reason(finding, statements, options.image_ids)
        reason = reason or _ignore_reason(finding, active) or _filter_reason(finding, options)
        if reason is None:
            shown.append(finding)
        else:
            suppressed.append((finding, reason))

    counts: dict[str, int] = {"shown": len(shown)}
    for _, reason in suppressed:
        category = reason_category(reason)
        counts[category] = counts.get(category, 0) + 1
    logger.info("triage: %s", ", ".join(f"{n} {k}" for k, n in counts.items()))
    return TriageResult(tuple(shown), tuple(suppressed), counts, tuple(warnings))


def reason_category(reason: str) -> str:
    """Return the category of a suppression reason, the text before its first colon."""
    return reason.split(":", 1)[0].strip()


def load_ignore_file(path: Path) -> list[IgnoreRule]:
    """Read and validate an ignore file: a YAML list of entries.

    Raises:
        IgnoreFileError: naming the file, and the line where it can, for
            unreadable YAML, a top level that is not a list, unknown or missing
            keys and values of the wrong type.
    """
    text = _read_limited(path, MAX_IGNORE_FILE_BYTES, IgnoreFileError)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        # The context mark is where the broken construct starts, such as an unclosed
        # quote. The problem mark may be the end of the file, so it is the fallback.
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        where = f"{path} line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context", None)
        if context:
            problem = f"{context}: {problem}"
        raise IgnoreFileError(f"{where}: invalid YAML: {problem}", hint=_IGNORE_HINT) from error
    except RecursionError:
        raise IgnoreFileError(
            f"{path}: invalid YAML: lists or mappings nested too deep", hint=_IGNORE_HINT
        ) from None
    if root is None:
        return []
    if not isinstance(root, yaml.SequenceNode):
        raise IgnoreFileError(
            f"{path} line {root.start_mark.line + 1}: expected a list of entries", hint=_IGNORE_HINT
        )
    return [_ignore_rule(path, number, node) for number, node in enumerate(root.value, start=1)]


def load_vex(path: Path) -> VexDocument:
    """Read and validate an OpenVEX JSON document.

    Raises:
        VexError: naming the file and the place for unreadable JSON and for
            fields that break the OpenVEX schema (a missing ``@context``,
            ``statements`` or ``status``, an unknown status or justification, a
            ``not_affected`` statement without a justification).
    """
    text = _read_limited(path, MAX_VEX_BYTES, VexError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise VexError(
            f"{path} line {error.lineno} column {error.colno}: invalid JSON: {error.msg}",
            hint=_VEX_HINT,
        ) from error
    except ValueError as error:
        # An integer past int()'s digit limit; the advice after ';' is no fix for a document.
        raise VexError(
            f"{path}: invalid JSON: {str(error).split(';')[0]}", hint=_VEX_HINT
        ) from None
    except RecursionError:
        raise VexError(
            f"{path}: invalid JSON: arrays or objects nested too deep", hint=_VEX_HINT
        ) from None
    try:
        return VexDocument.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = _location(first["loc"])
        raise VexError(
            f"{path}: invalid OpenVEX document at {location}: {first['msg']}", hint=_VEX_HINT
        ) from error


def _read_limited(path: Path, limit: int, error_type: type[InputError]) -> str:
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as error:
        raise error_type(
            f"{path}: cannot be read: {error.strerror}", hint="check the path"
        ) from error
    if len(raw) > limit:
        raise error_type(f"{path}: larger than {limit} bytes", hint="split or shorten the file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise error_type(f"{path}: not UTF-8 text", hint="save the file as UTF-8") from error


def _ignore_rule(path: Path, number: int, node: yaml.Node) -> IgnoreRule:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise IgnoreFileError(
            f"{path} line {line}: entry {number} is not a mapping", hint=_IGNORE_HINT
        )

    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    loader = yaml.SafeLoader("")
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in values:
            raise IgnoreFileError(
                f"{path} line {key_node.start_mark.line + 1}: key {key!r} appears twice",
                hint=_IGNORE_HINT,
            )
        try:
            values[key] = loader.construct_object(value_node, deep=True)
        except (ValueError, RecursionError, yaml.YAMLError) as error:
            # ValueError: an integer past int()'s digit limit; RecursionError: deep nesting.
            raise IgnoreFileError(
                f"{path} line {value_node.start_mark.line + 1}: {key!r} in entry {number} "
                f"cannot be read ({str(error).split(';')[0] or type(error).__name__})",
                hint=_IGNORE_HINT,
            ) from None
        lines[key] = key_node.start_mark.line + 1

    try:
        entry = IgnoreEntry.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        where = f"{path} line {lines.get(key, line)}"
        if first["type"] == "extra_forbidden":
            message = f"{where}: unknown key {key!r} in entry {number}"
        elif first["type"] == "missing":
            message = f"{where}: entry {number} has no {key!r}"
        else:
            message = f"{where}: {key!r} in entry {number}: {first['msg']}"
        raise IgnoreFileError(message, hint=_IGNORE_HINT) from error
    return IgnoreRule(entry, path, line)


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text or "the top level"


@dataclass(frozen=True)
class _Statement:
    statement: VexStatement
    file: Path
    number: int
    """1-based position of the statement in its document."""


def _ordered_statements(documents: Sequence[_LoadedVex]) -> list[_Statement]:
    """Return every statement, oldest first, so that a later statement overrides an earlier one."""
    ordered: list[tuple[datetime, int, _Statement]] = []
    for loaded in documents:
        for number, statement in enumerate(loaded.document.statements, start=1):
            stamp = _aware(statement.timestamp or loaded.document.timestamp)
            ordered.append((stamp, len(ordered), _Statement(statement, loaded.file, number)))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in ordered]


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _vex_reason(
    finding: Finding, statements: Sequence[_Statement], image_ids: Sequence[str]
) -> tuple[Finding, str | None]:
    decisive = None
    for item in statements:
        if _statement_applies(item.statement, finding, image_ids):
            decisive = item
    if decisive is None:
        return finding, None

    statement = decisive.statement
    where = f"{decisive.file.name} statement {decisive.number}"
    if statement.status == "not_affected":
        detail = statement.justification or statement.impact_statement
        return finding, f"{VEX_NOT_AFFECTED}: {detail} ({where})"
    if statement.status == "fixed":
        return finding, f"{VEX_FIXED}: {statement.status_notes or 'fixed'} ({where})"
    evidence = {**finding.evidence, "vex": f"{statement.status} ({where})"}
    return replace(finding, evidence=evidence), None


def _statement_applies(statement: VexStatement, finding: Finding, image_ids: Sequence[str]) -> bool:
    if finding.rule_id.upper() not in statement.vulnerability.names():
        return False
    purls = _finding_purls(finding)
    for product in statement.products:
        if _is_image(product, image_ids):
            if not product.subcomponents:
                return True
            if any(_component_matches(c, purls) for c in product.subcomponents):
                return True
        elif _component_matches(product, purls):
            return True
    return False


def _is_image(component: VexComponent, image_ids: Sequence[str]) -> bool:
    for identifier in component.ids():
        if identifier in image_ids:
            return True
        purl = _parse_purl(identifier)
        if purl is not None and purl.type == "oci" and purl.version in image_ids:
            return True
    return False


def _component_matches(component: VexComponent, purls: Sequence[PackageURL]) -> bool:
    for identifier in component.ids():
        pattern = _parse_purl(identifier)
        if pattern is not None and any(_purl_matches(pattern, p) for p in purls):
            return True
    return False


def _purl_matches(pattern: PackageURL, actual: PackageURL) -> bool:
    """Match a VEX purl against a package's: a part the VEX purl leaves out matches anything."""
    if (pattern.type, pattern.name) != (actual.type, actual.name):
        return False
    if pattern.namespace and pattern.namespace != actual.namespace:
        return False
    if pattern.version and pattern.version != actual.version:
        return False
    required_qualifiers = pattern.qualifiers if isinstance(pattern.qualifiers, dict) else {}
    package_qualifiers = actual.qualifiers if isinstance(actual.qualifiers, dict) else {}
    return all(package_qualifiers.get(k) == v for k, v in required_qualifiers.items())


def _parse_purl(text: str) -> PackageURL | None:
    if not text.startswith("pkg:"):
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        logger.warning("VEX product %r is not a valid purl; it matches nothing", text)
        return None


def _finding_purls(finding: Finding) -> list[PackageURL]:
    raw = finding.evidence.get("purls") or []
    parsed = [_parse_purl(str(p)) for p in raw]
    return [p for p in parsed if p is not None]


def _package_names(finding: Finding) -> set[str]:
    names = {finding.package} if finding.package else set()
    names.update(str(n) for n in finding.evidence.get("packages") or [])
    source = finding.evidence.get("source_package")
    if source:
        names.add(str(source))
    return names


def _ignore_reason(finding: Finding, rules: Sequence[IgnoreRule]) -> str | None:
    for rule in rules:
        if rule.matches(finding):
            until = f", until {rule.entry.expires}" if rule.entry.expires else ""
            return f"{IGNORED}: {rule.entry.reason} ({rule.where}{until})"
    return None


def _filter_reason(finding: Finding, options: TriageOptions) -> str | None:
    if options.severities is not None and finding.severity not in options.severities:
        listed = ",".join(str(s) for s in sorted(options.severities))
        return f"{SEVERITY}: {finding.severity} is not in --severity {listed}"
    vulnerability = finding.kind is FindingKind.VULNERABILITY
    if options.only_fixed and vulnerability and finding.evidence.get("verdict") != "fix-available":
        return f"{NOT_FIXED}: no fixed version is published (--only-fixed)"
    return None
