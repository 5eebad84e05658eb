"""SPDX 2.3 JSON SBOMs of an image's packages, written with spdx-tools.

The document DESCRIBES one package for the image (purpose ``CONTAINER``),
which CONTAINS a package for its distribution (``OPERATING_SYSTEM``) and
one per package whose files are in the image (``LIBRARY``), each with its
purl as a ``PACKAGE-MANAGER`` external reference. Packages DEPENDS_ON the
packages their recorded dependencies resolve to. ``licenseDeclared`` is an
SPDX expression only where every recorded license has an SPDX form, else
``NOASSERTION``; ``licenseConcluded`` is always ``NOASSERTION`` because
hardbase reads what packages declare and concludes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
from spdx_tools.spdx.model.actor import Actor, ActorType
from spdx_tools.spdx.model.document import CreationInfo, Document
from spdx_tools.spdx.model.package import (
    ExternalPackageRef,
    ExternalPackageRefCategory,
    PackagePurpose,
)
from spdx_tools.spdx.model.package import Package as SpdxPackage
from spdx_tools.spdx.model.relationship import Relationship, RelationshipType
from spdx_tools.spdx.model.spdx_no_assertion import SpdxNoAssertion
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
from spdx_tools.spdx.validation.uri_validators import validate_url

from hardbase import __version__
from hardbase.packages.model import Distro, Inventory, Package
from hardbase.packages.purl import distro_qualifier, package_url
from hardbase.report._sbom import (
    TOOL_NAME,
    SbomSubject,
    declared_expression,
    dependency_map,
    package_refs,
    sbom_packages,
)

logger = logging.getLogger(__name__)

SPDX_VERSION = "SPDX-2.3"
DOCUMENT_ID = "SPDXRef-DOCUMENT"
IMAGE_ID = "SPDXRef-Image"
#: Base of document namespaces, the default the SPDX specification suggests for tools.
NAMESPACE_BASE = "https://spdx.org/spdxdocs"

_MAINTAINER = re.compile(r"^\s*(?P<name>[^<]*?)\s*<(?P<email>[^>]*)>\s*$")
#: Words that mark a maintainer as a team rather than a person.
_TEAM_WORDS = re.compile(r"\b(team|maintainers|developers|group|project)\b", re.IGNORECASE)
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


class SpdxValidationError(ValueError):
    """The document built does not validate against SPDX 2.3: a bug in the writer."""


def spdx_json(
    inventory: Inventory,
    subject: SbomSubject,
    *,
    namespace_id: uuid.UUID | None = None,
    created: datetime | None = None,
    validate: bool = True,
) -> str:
    """Return an SPDX 2.3 JSON document listing the image's packages.

    ``namespace_id`` (the UUID in ``documentNamespace``) and ``created`` default to a random
    UUID and the current time; fix them to get byte-identical output. With ``validate``,
    spdx-tools' validator checks the document first and SpdxValidationError names what
    fails.
    """
    document = build_document(inventory, subject, namespace_id=namespace_id, created=created)
    if validate:
        messages = validate_full_spdx_document(document)
        if messages:
            details = "; ".join(m.validation_message for m in messages[:5])
            raise SpdxValidationError(f"the SPDX document is invalid: {details}")
    data = DocumentConverter().convert(document)  # type: ignore[no-untyped-call]
    _hyphenate_reference_categories(data)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build_document(
    inventory: Inventory,
    subject: SbomSubject,
    *,
    namespace_id: uuid.UUID | None = None,
    created: datetime | None = None,
) -> Document:
    """Build the spdx-tools model of an inventory; see :func:`spdx_json`."""
    slug = _ID_UNSAFE.sub("-", subject.name).strip("-") or "image"
    creation = CreationInfo(
        spdx_version=SPDX_VERSION,
        spdx_id=DOCUMENT_ID,
        name=subject.name,
        document_namespace=f"{NAMESPACE_BASE}/{slug}-{namespace_id or uuid.uuid4()}",
        creators=[Actor(ActorType.TOOL, f"{TOOL_NAME}-{__version__}")],
        created=(created or datetime.now(tz=UTC)).replace(microsecond=0),
    )
    image = SpdxPackage(
        spdx_id=IMAGE_ID,
        name=subject.name,
        download_location=SpdxNoAssertion(),
        version=subject.digest,
        files_analyzed=False,
        license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        primary_package_purpose=PackagePurpose.CONTAINER,
    )
    document = Document(creation_info=creation, packages=[image])
    document.relationships.append(Relationship(DOCUMENT_ID, RelationshipType.DESCRIBES, IMAGE_ID))

    if inventory.distro is not None:
        os_package = _os_package(inventory.distro)
        document.packages.append(os_package)
        document.relationships.append(
            Relationship(IMAGE_ID, RelationshipType.CONTAINS, os_package.spdx_id)
        )

    packages = sbom_packages(inventory)
    refs = package_refs(packages, inventory)
    ids = {ref: _package_id(package, ref) for package, ref in zip(packages, refs, strict=True)}
    for package, ref in zip(packages, refs, strict=True):
        document.packages.append(_package(package, ids[ref], inventory.distro))
        document.relationships.append(Relationship(IMAGE_ID, RelationshipType.CONTAINS, ids[ref]))
    for ref, targets in dependency_map(packages, refs).items():
        for target in targets:
            document.relationships.append(
                Relationship(ids[ref], RelationshipType.DEPENDS_ON, ids[target])
            )
    return document


def _package_id(package: Package, ref: str) -> str:
    # The name keeps the id readable; the digest of the unique ref keeps it unique.
    digest = hashlib.sha256(ref.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    readable = _ID_UNSAFE.sub("-", f"{package.ecosystem}-{package.name}").strip("-")
    return f"SPDXRef-Package-{readable}-{digest}"


def _os_package(distro: Distro) -> SpdxPackage:
    return SpdxPackage(
        spdx_id=f"SPDXRef-OperatingSystem-{_ID_UNSAFE.sub('-', distro_qualifier(distro) or '')}",
        name=distro.id,
        download_location=SpdxNoAssertion(),
        version=distro.version_id,
        files_analyzed=False,
        license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        description=distro.pretty_name,
        primary_package_purpose=PackagePurpose.OPERATING_SYSTEM,
    )


def _package(package: Package, spdx_id: str, distro: Distro | None) -> SpdxPackage:
    purl = package_url(package, distro).to_string()
    expression = declared_expression(package.licenses)
    declared = spdx_licensing.parse(expression) if expression else SpdxNoAssertion()
    comment = None
    if package.licenses:
        comment = "Licenses as recorded by the package: " + "; ".join(package.licenses)
    source_name = package.source_name or package.name
    source_version = package.source_version or package.version
    return SpdxPackage(
        spdx_id=spdx_id,
        name=package.name,
        download_location=SpdxNoAssertion(),
        version=package.version,
        supplier=supplier(package.maintainer),
        files_analyzed=False,
        homepage=_homepage(package),
        source_info=f"built from source package {source_name} {source_version}",
        license_concluded=SpdxNoAssertion(),
        license_declared=declared,
        license_comment=comment,
        copyright_text=SpdxNoAssertion(),
        description=package.description,
        comment=_state_comment(package),
        external_references=[
            ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl)
        ],
        primary_package_purpose=PackagePurpose.LIBRARY,
    )


def supplier(maintainer: str | None) -> Actor | SpdxNoAssertion:
    """Return the SPDX supplier for a maintainer such as ``APT Development Team <deity@...>``.

    Names with team, maintainers, developers, group or project are organizations, other
    names persons; a missing maintainer gives ``NOASSERTION``.
    """
    if not maintainer or not maintainer.strip():
        return SpdxNoAssertion()
    match = _MAINTAINER.match(maintainer)
    name, email = (match.group("name"), match.group("email")) if match else (maintainer, None)
    name = name.strip() or (email or "")
    if not name:
        return SpdxNoAssertion()
    kind = ActorType.ORGANIZATION if _TEAM_WORDS.search(name) else ActorType.PERSON
    return Actor(kind, name, email or None)


def _homepage(package: Package) -> str | SpdxNoAssertion:
    url = (package.homepage or "").strip()
    if url and not validate_url(url):
        return url
    return SpdxNoAssertion()


def _hyphenate_reference_categories(data: dict[str, Any]) -> None:
    # NOTE: spdx-tools 0.8 writes "PACKAGE_MANAGER", but the SPDX 2.3 JSON schema only accepts
    # "PACKAGE-MANAGER" (and "PERSISTENT-ID"), which syft and other readers expect.
    for package in data.get("packages", []):
        for reference in package.get("externalRefs", []):
            category = reference.get("referenceCategory")
            if isinstance(category, str):
                reference["referenceCategory"] = category.replace("_", "-")


def _state_comment(package: Package) -> str | None:
    if package.state == "installed" and package.selection in (None, "install"):
        return None
    selection = f", selection {package.selection}" if package.selection else ""
    return f"package state {package.state}{selection}"
