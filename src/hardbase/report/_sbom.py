"""Parts shared by the CycloneDX and SPDX writers: subject, package list, licenses, refs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hardbase.image.model import Image
from hardbase.packages.model import Inventory, Package
from hardbase.packages.purl import package_url

#: Name under which hardbase lists itself as the SBOM's creator.
TOOL_NAME = "hardbase"

#: Debian copyright-format 1.0 short names that differ from their SPDX identifier.
_DEBIAN_SHORT_NAMES = {"expat": "MIT", "zlib": "Zlib", "cc0": "CC0-1.0"}
#: Debian ``GPL-2+`` style names: a family, a version, and ``+`` for "or any later version".
_DEBIAN_VERSIONED = re.compile(
    r"^(?P<family>A?GPL|LGPL|GFDL)-(?P<version>\d+(?:\.\d+)?)(?P<later>\+?)$", re.IGNORECASE
)
#: Operators of Debian license expressions (``GPL-2+ or Artistic``), lower case in DEP-5.
_DEBIAN_OPERATOR = re.compile(r"\s+(or|and)\s+", re.IGNORECASE)
#: Tokens of an SPDX expression: parentheses, and identifiers or operators.
_EXPRESSION_TOKENS = re.compile(r"[()]|[^\s()]+")


@dataclass(frozen=True)
class SbomSubject:
    """The image an SBOM describes."""

    name: str
    """The image reference as the user gave it."""
    transport: str
    digest: str | None = None
    """Manifest digest, else config digest, when the image format records one."""
    architecture: str | None = None
    os: str | None = None


def subject_from_image(image: Image) -> SbomSubject:
    """Describe an opened image for the SBOM's metadata."""
    config = image.config
    return SbomSubject(
        name=image.reference,
        transport=image.transport,
        digest=image.manifest_digest or image.config_digest,
        architecture=config.architecture if config else None,
        os=config.os if config else None,
    )


def sbom_packages(inventory: Inventory) -> list[Package]:
    """Return the packages an SBOM lists: those whose files are in the image, in a stable order.

    Packages of which only configuration files remain (dpkg ``config-files``) and records
    without a usable status are left out.
    """
    return sorted(
        inventory.present,
        key=lambda p: (p.ecosystem, p.name, p.architecture or "", p.version, p.database),
    )


def package_refs(packages: Sequence[Package], inventory: Inventory) -> list[str]:
    """Return a unique reference per package: its purl, suffixed where two purls collide."""
    refs: list[str] = []
    seen: dict[str, int] = {}
    for package in packages:
        purl = package_url(package, inventory.distro).to_string()
        count = seen.get(purl, 0)
        seen[purl] = count + 1
        # Two records with one purl come from two databases (status and status.d/).
        refs.append(purl if count == 0 else f"{purl}#{count + 1}")
    return refs


def dependency_map(packages: Sequence[Package], refs: Sequence[str]) -> dict[str, list[str]]:
    """Return each package's reference mapped to the references of the packages it depends on.

    A dependency name resolves to the package of that name, else to the first package (in
    ``packages`` order) that provides it (dpkg ``Provides``, apk ``p:`` such as ``so:`` names).
    Names that resolve to nothing, as optional virtual packages do, are dropped.
    """
    by_name: dict[str, str] = {}
    by_provides: dict[str, str] = {}
    for package, ref in zip(packages, refs, strict=True):
        by_name.setdefault(package.name, ref)
        for name in package.provides:
            by_provides.setdefault(name, ref)
    result: dict[str, list[str]] = {}
    for package, ref in zip(packages, refs, strict=True):
        targets: list[str] = []
        for name in package.depends:
            target = by_name.get(name) or by_provides.get(name)
            if target is not None and target != ref and target not in targets:
                targets.append(target)
        result[ref] = sorted(targets)
    return result


@lru_cache(maxsize=4096)
def spdx_license(text: str) -> str | None:
    """Return the SPDX form of a recorded license, or None when it has none.

    SPDX identifiers in any case (``bsd-3-clause``), SPDX expressions, and Debian
    copyright-format short names and expressions (``GPL-2+ or Artistic-2.0``) are converted.
    Every identifier in the result is on the SPDX license list: ``GPL``, ``public-domain``,
    ``custom`` and other free text give None.
    """
    text = text.strip()
    if not text:
        return None
    # Deprecated SPDX identifiers such as LGPL-2.1+ give way to their current form.
    identifier = _debian_short_name(text)
    if identifier is not None:
        return identifier
    if _is_listed_expression(text):
        return text
    parts = _DEBIAN_OPERATOR.split(text)
    converted: list[str] = []
    for index, part in enumerate(parts):
        if index % 2 == 1:
            converted.append(part.upper())
            continue
        identifier = _debian_short_name(part)
        if identifier is None:
            return None
        converted.append(identifier)
    expression = " ".join(converted)
    return expression if _is_listed_expression(expression) else None


def _is_listed_expression(expression: str) -> bool:
    """Return True for an SPDX license expression whose identifiers are all SPDX-listed.

    The grammar is SPDX's: identifiers joined by ``AND``, ``OR`` and ``WITH``, with
    parentheses. license-expression would accept aliases such as ``GPL`` and costs a
    large index load, so this small parser checks identifiers against the SPDX list
    that cyclonedx-python-lib ships.
    """
    tokens = _EXPRESSION_TOKENS.findall(expression)
    position = _parse_or(tokens, 0)
    return bool(tokens) and position == len(tokens)


def _parse_or(tokens: list[str], position: int) -> int:
    position = _parse_and(tokens, position)
    while position != -1 and position < len(tokens) and tokens[position] == "OR":
        position = _parse_and(tokens, position + 1)
    return position


def _parse_and(tokens: list[str], position: int) -> int:
    position = _parse_license(tokens, position)
    while position != -1 and position < len(tokens) and tokens[position] == "AND":
        position = _parse_license(tokens, position + 1)
    return position


def _parse_license(tokens: list[str], position: int) -> int:
    if position >= len(tokens):
        return -1
    if tokens[position] == "(":
        position = _parse_or(tokens, position + 1)
        if position == -1 or position >= len(tokens) or tokens[position] != ")":
            return -1
        return position + 1
    if _listed_id(tokens[position]) != tokens[position]:
        return -1
    position += 1
    if position < len(tokens) and tokens[position] == "WITH":
        # NOTE: the shipped list mixes license and exception identifiers, so an exception
        # is only checked to be listed, not to be an exception.
        if position + 1 >= len(tokens) or _listed_id(tokens[position + 1]) is None:
            return -1
        position += 2
    return position


def _listed_id(word: str) -> str | None:
    return _spdx_ids().get(word.lower())


@lru_cache(maxsize=1)
def _spdx_ids() -> dict[str, str]:
    """Return the SPDX license and exception identifiers, keyed by their lower case form."""
    import cyclonedx.schema._res as schemas

    with Path(schemas.SPDX_JSON).open(encoding="utf-8") as handle:
        identifiers = json.load(handle)["enum"]
    return {identifier.lower(): identifier for identifier in identifiers}


def _debian_short_name(name: str) -> str | None:
    name = name.strip()
    mapped = _DEBIAN_SHORT_NAMES.get(name.lower())
    if mapped is not None:
        return mapped
    match = _DEBIAN_VERSIONED.match(name)
    if match:
        version = match.group("version")
        if "." not in version:
            version += ".0"
        suffix = "-or-later" if match.group("later") else "-only"
        return _listed_id(f"{match.group('family').upper()}-{version}{suffix}")
    return _listed_id(name)


def is_compound(expression: str) -> bool:
    """Return True for an SPDX expression with operators, False for a single identifier."""
    return " " in expression.strip() or "(" in expression


def declared_expression(licenses: Iterable[str]) -> str | None:
    """Return one SPDX expression joining every recorded license with AND, or None.

    None when no license is recorded or any of them has no SPDX form: a partial expression
    would claim more than the package states.
    """
    parts: list[str] = []
    for text in licenses:
        expression = spdx_license(text)
        if expression is None:
            return None
        part = f"({expression})" if is_compound(expression) else expression
        if part not in parts:
            parts.append(part)
    if not parts:
        return None
    if len(parts) == 1 and parts[0].startswith("("):
        return parts[0][1:-1]
    return " AND ".join(parts)
